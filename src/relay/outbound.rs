//! The relay's side towards Google: one HTTP client for the process (awc, on the actix system
//! the gate was started in, like the forms' webhook sender), behind two bounded queues.
//!
//! * Hits: the browser has had its 204 before a hit is queued. Up to `senders` hits are in
//!   flight at once, each with `timeout`; when the queue is full, or Google is unreachable, too
//!   slow or refuses, the hit is dropped and counted in `/metrics` — never sent again, so a hit
//!   can never reach Google twice.
//! * Script fetches: a handler waiting for gtag.js / gtm.js hands the request over and awaits
//!   the answer (status, headers, body of at most `max_script_bytes`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::{header, Method};
use awc::error::SendRequestError;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::metrics::Metrics;

/// Script fetches waiting for the client; the script cache fetches one at a time.
const FETCH_QUEUE: usize = 8;
/// Most bytes of Google's answer to a hit that are read (so the connection can be reused).
const HIT_ANSWER_MAX: usize = 64 * 1024;

/// One hit as Google gets it.
#[derive(Debug, Clone)]
pub(crate) struct OutHit {
    /// `GET` or `POST`, as the browser sent it.
    pub method: Method,
    /// The collection URL with the rewritten query.
    pub url: String,
    /// The reduced user agent.
    pub user_agent: String,
    /// The rewritten body (events, one per line); empty for most hits.
    pub body: Bytes,
}

/// What Google answered to a script request.
pub(crate) struct Fetched {
    pub head: http::response::Parts,
    pub body: Bytes,
}

/// Why a script could not be fetched.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("Google could not be reached: {0}")]
    Unreachable(String),
    #[error("Google did not answer within the relay timeout")]
    Timeout,
    #[error("the answer is larger than the gate accepts")]
    TooLarge,
    #[error("the script fetcher is busy or stopped")]
    Busy,
    #[error("Google's answer could not be read: {0}")]
    Unreadable(String),
}

struct Fetch {
    request: http::request::Parts,
    reply: oneshot::Sender<Result<Fetched, FetchError>>,
}

struct Receivers {
    hits: mpsc::Receiver<OutHit>,
    fetches: mpsc::Receiver<Fetch>,
}

/// How the client behaves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub senders: usize,
    pub timeout: Duration,
    pub max_script_bytes: usize,
}

/// The queues in front of the client.
pub(crate) struct Outbound {
    hits: mpsc::Sender<OutHit>,
    fetches: mpsc::Sender<Fetch>,
    /// Taken by the client's tasks when they start.
    receivers: Mutex<Option<Receivers>>,
    limits: Limits,
    metrics: Arc<Metrics>,
}

impl Outbound {
    pub fn new(queue_capacity: usize, limits: Limits, metrics: Arc<Metrics>) -> Self {
        let (hits, hit_rx) = mpsc::channel(queue_capacity.max(1));
        let (fetches, fetch_rx) = mpsc::channel(FETCH_QUEUE);
        Self {
            hits,
            fetches,
            receivers: Mutex::new(Some(Receivers {
                hits: hit_rx,
                fetches: fetch_rx,
            })),
            limits,
            metrics,
        }
    }

    /// Queue a hit; never waits. A full queue drops it (counted as `queue_full`).
    pub fn send(&self, hit: OutHit) {
        if self.hits.try_send(hit).is_err() {
            self.metrics.relay_hit("queue_full");
        }
    }

    /// Fetch a script with exactly these request headers (the cache adds its validators).
    pub async fn fetch(&self, request: http::request::Parts) -> Result<Fetched, FetchError> {
        let (reply, answer) = oneshot::channel();
        self.fetches
            .try_send(Fetch { request, reply })
            .map_err(|_| FetchError::Busy)?;
        answer.await.map_err(|_| FetchError::Busy)?
    }

    /// Start the client on the current actix system; `false` if it was started before. Its
    /// tasks end when the relay is gone (its queues closed).
    pub fn spawn(&self) -> bool {
        let Some(rx) = self
            .receivers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return false;
        };
        let limits = self.limits;
        // The connector's own limit is a little above the senders, so a script fetch never
        // waits behind a full set of hits.
        let connector = awc::Connector::new()
            .timeout(limits.timeout)
            .limit(limits.senders + 2);
        let client = awc::Client::builder()
            .connector(connector)
            .timeout(limits.timeout)
            .disable_redirects()
            .no_default_headers()
            .finish();
        actix_web::rt::spawn(send_hits(
            client.clone(),
            rx.hits,
            limits.senders,
            self.metrics.clone(),
        ));
        actix_web::rt::spawn(fetch_scripts(client, rx.fetches, limits.max_script_bytes));
        true
    }
}

/// Takes a hit off the queue only when one of the `senders` is free, so the queue (not an
/// unbounded set of tasks) is what fills up when Google is slow.
async fn send_hits(
    client: awc::Client,
    mut hits: mpsc::Receiver<OutHit>,
    senders: usize,
    metrics: Arc<Metrics>,
) {
    let free = Arc::new(Semaphore::new(senders.max(1)));
    loop {
        let Ok(permit) = free.clone().acquire_owned().await else {
            return;
        };
        let Some(hit) = hits.recv().await else {
            return;
        };
        let (client, metrics) = (client.clone(), metrics.clone());
        actix_web::rt::spawn(async move {
            metrics.relay_hit(send_hit(&client, hit).await);
            drop(permit);
        });
    }
}

/// Sends one hit, once; the outcome for the metrics.
async fn send_hit(client: &awc::Client, hit: OutHit) -> &'static str {
    let request = client
        .request(hit.method.clone(), &hit.url)
        .insert_header((header::USER_AGENT, hit.user_agent));
    let sent = if hit.method == Method::GET {
        request.send().await
    } else if hit.body.is_empty() {
        request.send_body(hit.body).await
    } else {
        request
            .insert_header((header::CONTENT_TYPE, "text/plain;charset=UTF-8"))
            .send_body(hit.body)
            .await
    };
    match sent {
        Ok(mut response) => {
            // Read (bounded) so the connection can carry the next hit.
            let _ = response.body().limit(HIT_ANSWER_MAX).await;
            if response.status().is_success() {
                "forwarded"
            } else {
                tracing::debug!(status = response.status().as_u16(), "Google refused a hit");
                "refused"
            }
        }
        Err(SendRequestError::Timeout) => "timeout",
        Err(SendRequestError::Connect(e)) => {
            tracing::debug!(error = %e, "Google not reached for a hit");
            "unreachable"
        }
        Err(e) => {
            tracing::debug!(error = %e, "a hit could not be sent");
            "failed"
        }
    }
}

/// Fetches scripts one after another (the cache asks rarely: once per script per freshness
/// lifetime).
async fn fetch_scripts(client: awc::Client, mut fetches: mpsc::Receiver<Fetch>, max: usize) {
    while let Some(job) = fetches.recv().await {
        let answer = fetch(&client, &job.request, max).await;
        // The handler may have gone (its visitor left): nothing to answer then.
        let _ = job.reply.send(answer);
    }
}

/// One GET with exactly `request`'s headers; the body (of a 200 only) read up to `max` bytes.
pub(super) async fn fetch(
    client: &awc::Client,
    request: &http::request::Parts,
    max: usize,
) -> Result<Fetched, FetchError> {
    let mut out = client.get(request.uri.to_string());
    for (name, value) in &request.headers {
        out = out.append_header((name.as_str(), value.as_bytes()));
    }
    let mut response = out.send().await.map_err(|e| match e {
        SendRequestError::Timeout => FetchError::Timeout,
        other => FetchError::Unreachable(other.to_string()),
    })?;
    let mut head = http::Response::builder().status(response.status().as_u16());
    for (name, value) in response.headers() {
        head = head.header(name.as_str(), value.as_bytes());
    }
    let (head, ()) = head
        .body(())
        .map_err(|e| FetchError::Unreadable(e.to_string()))?
        .into_parts();
    let body = if head.status == http::StatusCode::OK {
        response.body().limit(max).await.map_err(|e| match e {
            awc::error::PayloadError::Overflow => FetchError::TooLarge,
            other => FetchError::Unreadable(other.to_string()),
        })?
    } else {
        // Only the status matters (304, or a failure).
        let _ = response.body().limit(HIT_ANSWER_MAX).await;
        Bytes::new()
    };
    Ok(Fetched { head, body })
}
