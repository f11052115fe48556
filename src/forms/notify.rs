//! The optional notification webhook (`notify_webhook`): the operator learns that an entry
//! arrived — form id, entry id and time, never what it says. One HTTP client for the process,
//! fed through a bounded queue: a submission never waits for the hook, and when the hook is
//! slower than the submissions the queue fills and further notifications are dropped, counted
//! and logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

/// Notifications waiting to be sent before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 256;
/// How long one notification may take (connect, send, answer).
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the hook receives, as JSON.
#[derive(Debug, Serialize)]
struct Payload {
    form: String,
    entry_id: String,
    /// Unix seconds.
    created: u64,
}

struct Notification {
    url: Url,
    payload: Payload,
}

/// The queue in front of the webhook client.
pub(crate) struct Notifier {
    tx: mpsc::Sender<Notification>,
    /// Taken by the sending task when it starts.
    rx: Mutex<Option<mpsc::Receiver<Notification>>>,
    dropped: AtomicU64,
}

impl Notifier {
    pub fn new(capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
            dropped: AtomicU64::new(0),
        }
    }

    /// Queue a notification for `url` that entry `entry_id` of `form` arrived at `created`
    /// (Unix seconds); never waits.
    pub fn send(&self, url: &Url, form: &str, entry_id: &str, created: u64) {
        let notification = Notification {
            url: url.clone(),
            payload: Payload {
                form: form.to_owned(),
                entry_id: entry_id.to_owned(),
                created,
            },
        };
        if self.tx.try_send(notification).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                form,
                dropped,
                "form webhook queue full; notification dropped"
            );
        }
    }

    /// Notifications dropped since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Start sending on the current actix system (the awc client stays on its thread); `None`
    /// if it was started before.
    pub fn spawn(&self) -> Option<actix_web::rt::task::JoinHandle<()>> {
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(actix_web::rt::spawn(send_all(rx)))
    }
}

/// Sends queued notifications one at a time until the service is gone.
async fn send_all(mut rx: mpsc::Receiver<Notification>) {
    // A redirect from the hook is not followed: one notification, one request.
    let client = awc::Client::builder()
        .timeout(WEBHOOK_TIMEOUT)
        .disable_redirects()
        .finish();
    while let Some(n) = rx.recv().await {
        let form = &n.payload.form;
        match client.post(n.url.as_str()).send_json(&n.payload).await {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => {
                tracing::warn!(
                    form,
                    status = resp.status().as_u16(),
                    "form webhook refused the notification"
                )
            }
            Err(e) => tracing::warn!(form, error = %e, "form webhook not reached"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts() {
        let notifier = Notifier::new(1);
        let url: Url = "http://127.0.0.1:9/hook".parse().unwrap();
        notifier.send(&url, "contact", "abc", 1);
        notifier.send(&url, "contact", "abc", 1);
        assert_eq!(notifier.dropped(), 1);
    }
}
