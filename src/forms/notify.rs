//! The notification webhooks: `notify_webhook` of a form (an entry arrived — form id, entry id
//! and time, never what it says) and `dsr.notify_webhook` (requests due soon — ids and dates
//! only). One HTTP client for the process, fed through a bounded queue: a submission never
//! waits for a hook, and when the hooks are slower than the notifications the queue fills and
//! further notifications are dropped, counted and logged.
//!
//! An entry's notification is sent only if, when its turn comes, the entry is still there and
//! not restricted: a hook that fell behind never learns of an entry restricted (or erased)
//! meanwhile.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use url::Url;

use crate::store::Store;

/// Notifications waiting to be sent before new ones are dropped.
pub const QUEUE_CAPACITY: usize = 256;
/// How long one notification may take (connect, send, answer).
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a form's hook receives, as JSON.
#[derive(Debug, Serialize)]
struct EntryPayload {
    form: String,
    entry_id: String,
    /// Unix seconds.
    created: u64,
}

#[derive(Debug)]
enum Payload {
    Entry(EntryPayload),
    /// Another notification, sent as it is (`what` names it in logs).
    Other {
        what: &'static str,
        body: serde_json::Value,
    },
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

    fn queue(&self, notification: Notification, what: &str) {
        if self.tx.try_send(notification).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(what, dropped, "webhook queue full; notification dropped");
        }
    }

    /// Queue a notification for `url` that entry `entry_id` of `form` arrived at `created`
    /// (Unix seconds); never waits.
    pub fn send(&self, url: &Url, form: &str, entry_id: &str, created: u64) {
        let notification = Notification {
            url: url.clone(),
            payload: Payload::Entry(EntryPayload {
                form: form.to_owned(),
                entry_id: entry_id.to_owned(),
                created,
            }),
        };
        self.queue(notification, form);
    }

    /// Queue `body` for `url`; `what` names it in logs. Never waits.
    pub fn send_json(&self, url: &Url, what: &'static str, body: serde_json::Value) {
        let notification = Notification {
            url: url.clone(),
            payload: Payload::Other { what, body },
        };
        self.queue(notification, what);
    }

    /// Notifications dropped since start.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Start sending on the current actix system (the awc client stays on its thread); `None`
    /// if it was started before. `store` is where entries are checked before their
    /// notification goes out.
    pub fn spawn(&self, store: Store) -> Option<actix_web::rt::task::JoinHandle<()>> {
        let rx = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()?;
        Some(actix_web::rt::spawn(send_all(rx, store)))
    }
}

/// Whether an entry's notification may still go out: the entry exists and is not restricted.
/// When the store cannot say, it does not go out (a restriction must hold).
async fn still_listed(store: &Store, entry: &EntryPayload) -> bool {
    match store.get_form_entry(&entry.form, &entry.entry_id).await {
        Ok(Some(record)) => !record.restricted,
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(form = %entry.form, error = %e, "form webhook skipped: store unavailable");
            false
        }
    }
}

/// Sends queued notifications one at a time until the service is gone.
async fn send_all(mut rx: mpsc::Receiver<Notification>, store: Store) {
    // A redirect from the hook is not followed: one notification, one request.
    let client = awc::Client::builder()
        .timeout(WEBHOOK_TIMEOUT)
        .disable_redirects()
        .finish();
    while let Some(n) = rx.recv().await {
        let (what, sent) = match &n.payload {
            Payload::Entry(entry) => {
                if !still_listed(&store, entry).await {
                    continue;
                }
                (
                    entry.form.as_str(),
                    client.post(n.url.as_str()).send_json(entry).await,
                )
            }
            Payload::Other { what, body } => {
                (*what, client.post(n.url.as_str()).send_json(body).await)
            }
        };
        match sent {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => {
                tracing::warn!(
                    what,
                    status = resp.status().as_u16(),
                    "webhook refused the notification"
                )
            }
            Err(e) => tracing::warn!(what, error = %e, "webhook not reached"),
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
        notifier.send_json(&url, "dsr", serde_json::json!({}));
        assert_eq!(notifier.dropped(), 1);
    }

    #[actix_web::test]
    async fn restricted_and_erased_entries_are_not_notified() {
        let store = Store::memory();
        let record = |id: &str, restricted: bool| crate::store::FormEntryRecord {
            id: id.to_owned(),
            form: "contact".to_owned(),
            created: 1,
            ciphertext: vec![1, 2, 3],
            email_hash: None,
            lookup_hashes: Vec::new(),
            restricted,
        };
        let hour = Duration::from_secs(3600);
        for (id, restricted) in [("open", false), ("kept", true)] {
            store
                .put_form_entry("contact", &record(id, restricted), hour)
                .await
                .unwrap();
        }
        let payload = |id: &str| EntryPayload {
            form: "contact".to_owned(),
            entry_id: id.to_owned(),
            created: 1,
        };
        assert!(still_listed(&store, &payload("open")).await);
        assert!(!still_listed(&store, &payload("kept")).await);
        assert!(!still_listed(&store, &payload("erased")).await);
        store
            .set_form_entry_restricted("contact", "kept", false)
            .await
            .unwrap();
        assert!(still_listed(&store, &payload("kept")).await);
    }
}
