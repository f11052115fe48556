//! The public listener's open connections: counted against `limits.max_connections` (actix
//! stops accepting at its per-worker share; the gate logs that the cap was reached, so an
//! operator sees why visitors wait), and watched for a request head that never completes.
//!
//! actix times out only the *first* request head of a connection (`limits.header_timeout`);
//! on a keep-alive connection a client could send one quick request and then trickle the next
//! head a byte at a time for as long as it likes. A connection with no request in flight is
//! either idle — actix closes it after `limits.keep_alive` — or receiving a head. So one that
//! has had nothing in flight for longer than keep-alive plus the header timeout is trickling,
//! and [`Connections::reap`] shuts it down. "In flight" lasts until the response body is
//! taken whole by the connection: [`TrackedBody`] hands it over in pieces no larger than actix's
//! write buffer, so at most about 64 KB still wait to be written when it ends.

use std::any::Any;
use std::collections::HashMap;
use std::net::Shutdown;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use bytes::Bytes;

/// Largest piece of a response body handed to the connection at once: actix's write buffer, so a
/// page that fits is still written in one go with its head.
const PIECE: usize = 32 * 1024;
/// How often connections are checked.
const REAP_EVERY: Duration = Duration::from_secs(1);
/// Least time between two "connection cap reached" log lines.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The open connections of one listener.
pub struct Connections {
    open: Mutex<HashMap<u64, Arc<Conn>>>,
    next_id: AtomicU64,
    /// `limits.max_connections`.
    cap: usize,
    /// Longest a connection may have nothing in flight (keep-alive + header timeout).
    stall_limit: Duration,
    epoch: Instant,
    last_warning: Mutex<Option<Instant>>,
}

struct Conn {
    /// The connection's socket (a second handle on it), only ever used to shut it down.
    socket: Option<std::net::TcpStream>,
    in_flight: AtomicUsize,
    /// When the last request in flight ended, in ms since the registry's epoch.
    idle_since_ms: AtomicU64,
}

/// Kept in a connection's data while it is open; takes it off the registry when it closes.
pub struct Tracked {
    registry: Weak<Connections>,
    id: u64,
    conn: Arc<Conn>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Some(registry) = self.registry.upgrade() {
            registry.lock().remove(&self.id);
        }
    }
}

/// One request and its response body in flight on a connection.
struct InFlight {
    conn: Arc<Conn>,
    epoch: Instant,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = ms_since(self.epoch);
        self.conn.idle_since_ms.store(now, Ordering::SeqCst);
        self.conn.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Connections {
    /// A registry for a listener with `cap` connections, closing connections that receive a
    /// head for longer than `stall_limit` after their last request.
    pub fn new(cap: usize, stall_limit: Duration) -> Arc<Connections> {
        Arc::new(Connections {
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            cap,
            stall_limit,
            epoch: Instant::now(),
            last_warning: Mutex::new(None),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Conn>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Register a new connection (`HttpServer::on_connect`); says in the log when the cap is
    /// reached, at most once a minute.
    pub fn on_connect(self: &Arc<Self>, io: &dyn Any, data: &mut Extensions) {
        let socket = io
            .downcast_ref::<actix_web::rt::net::TcpStream>()
            .and_then(|tcp| tcp.as_fd().try_clone_to_owned().ok())
            .map(std::net::TcpStream::from);
        let conn = Arc::new(Conn {
            socket,
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(ms_since(self.epoch)),
        });
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let open = {
            let mut open = self.lock();
            open.insert(id, conn.clone());
            open.len()
        };
        data.insert(Tracked {
            registry: Arc::downgrade(self),
            id,
            conn,
        });
        if open >= self.cap {
            self.warn_cap(open);
        }
    }

    fn warn_cap(&self, open: usize) {
        let mut last = self.last_warning.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < WARN_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            open,
            cap = self.cap,
            "public listener at its connection cap (limits.max_connections): new connections \
             wait in the backlog until others close"
        );
    }

    /// Shut down every connection that has had nothing in flight for longer than the stall
    /// limit; returns how many.
    pub fn reap(&self) -> usize {
        self.reap_at(ms_since(self.epoch))
    }

    /// [`Connections::reap`] at `now`, in ms since the registry's epoch.
    fn reap_at(&self, now: u64) -> usize {
        let limit = u64::try_from(self.stall_limit.as_millis()).unwrap_or(u64::MAX);
        let stalled: Vec<Arc<Conn>> = self
            .lock()
            .values()
            .filter(|c| {
                c.in_flight.load(Ordering::SeqCst) == 0
                    && now.saturating_sub(c.idle_since_ms.load(Ordering::SeqCst)) > limit
            })
            .cloned()
            .collect();
        for conn in &stalled {
            if let Some(socket) = &conn.socket {
                // actix sees the end of the stream and drops the connection (and its entry).
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        if !stalled.is_empty() {
            tracing::debug!(
                closed = stalled.len(),
                "closed connections that did not finish a request head in time"
            );
        }
        stalled.len()
    }

    /// Check the connections every second on the current runtime until the registry is gone.
    pub fn spawn_reaper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let registry = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REAP_EVERY);
            loop {
                tick.tick().await;
                match registry.upgrade() {
                    Some(registry) => {
                        registry.reap();
                    }
                    None => return,
                }
            }
        })
    }
}

/// Middleware: a request and its response body count as in flight on their connection.
pub async fn track_request<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<TrackedBody>, actix_web::Error> {
    let in_flight = req.conn_data::<Tracked>().and_then(|tracked| {
        let registry = tracked.registry.upgrade()?;
        tracked.conn.in_flight.fetch_add(1, Ordering::SeqCst);
        Some(InFlight {
            conn: tracked.conn.clone(),
            epoch: registry.epoch,
        })
    });
    let res = next.call(req).await?;
    Ok(res.map_body(|_, body| TrackedBody {
        body: body.boxed(),
        pending: Bytes::new(),
        _in_flight: in_flight,
    }))
}

/// A response body that keeps its request in flight until the connection has taken all of it,
/// handed over in pieces of at most [`PIECE`] bytes.
pub struct TrackedBody {
    body: BoxBody,
    /// What is left of a chunk larger than a piece.
    pending: Bytes,
    _in_flight: Option<InFlight>,
}

impl MessageBody for TrackedBody {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if this.pending.is_empty() {
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.pending = chunk,
                other => return other,
            }
        }
        let piece = this.pending.split_to(this.pending.len().min(PIECE));
        Poll::Ready(Some(Ok(piece)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(registry: &Arc<Connections>, id: u64) -> Arc<Conn> {
        let conn = Arc::new(Conn {
            socket: None,
            in_flight: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        });
        registry.lock().insert(id, conn.clone());
        conn
    }

    #[test]
    fn only_connections_without_a_request_for_too_long_are_reaped() {
        let registry = Connections::new(10, Duration::from_secs(10));
        let busy = conn(&registry, 1);
        busy.in_flight.store(1, Ordering::SeqCst);
        let recent = conn(&registry, 2);
        recent.idle_since_ms.store(5_000, Ordering::SeqCst);
        conn(&registry, 3);
        assert_eq!(registry.reap_at(10_000), 0, "none past the limit yet");
        assert_eq!(
            registry.reap_at(10_001),
            1,
            "the third has been idle past it"
        );
        assert_eq!(
            registry.reap_at(20_000),
            2,
            "then the second; never the busy one"
        );
    }

    #[test]
    fn a_finished_request_marks_its_connection_idle_from_then() {
        let registry = Connections::new(10, Duration::from_secs(60));
        let c = conn(&registry, 1);
        c.in_flight.store(1, Ordering::SeqCst);
        drop(InFlight {
            conn: c.clone(),
            epoch: registry.epoch,
        });
        assert_eq!(c.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(registry.reap(), 0);
    }

    #[actix_web::test]
    async fn a_large_body_is_handed_over_in_pieces() {
        let body = TrackedBody {
            body: BoxBody::new(Bytes::from(vec![b'x'; 40 * 1024])),
            pending: Bytes::new(),
            _in_flight: None,
        };
        assert_eq!(body.size(), BodySize::Sized(40 * 1024));
        let mut body = std::pin::pin!(body);
        let mut pieces = Vec::new();
        while let Some(piece) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
            pieces.push(piece.unwrap().len());
        }
        assert_eq!(pieces, [PIECE, 8 * 1024]);
    }
}
