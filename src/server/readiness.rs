//! Readiness: whether the upstream answers a TCP connection and the store a ping. Each check
//! opens a connection to the upstream, so one result answers for [`READINESS_TTL`] and only one
//! check runs at a time.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Mutex;

use crate::proxy::ProxySettings;
use crate::store::Store;

/// How long one readiness check answers for.
pub const READINESS_TTL: Duration = Duration::from_secs(1);

/// The result of one readiness check, as the admin listener shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub upstream: &'static str,
    pub store: &'static str,
    pub store_backend: &'static str,
}

/// The last readiness check and when it was made; one check runs at a time.
#[derive(Default)]
pub struct ReadinessCache {
    last: Mutex<Option<(Instant, Readiness)>>,
}

impl ReadinessCache {
    /// A result at most [`READINESS_TTL`] old: the cached one, or a new check (callers that
    /// arrive meanwhile wait for it instead of starting their own).
    pub async fn get(&self, upstream: &ProxySettings, store: &Store) -> Readiness {
        let mut last = self.last.lock().await;
        if let Some((at, readiness)) = last.as_ref() {
            if at.elapsed() < READINESS_TTL {
                return readiness.clone();
            }
        }
        let readiness = check(upstream, store).await;
        *last = Some((Instant::now(), readiness.clone()));
        readiness
    }
}

async fn check(upstream: &ProxySettings, store: &Store) -> Readiness {
    let (upstream_ok, ping) = tokio::join!(upstream.reachable(), store.ping());
    let store_ok = ping.is_ok();
    Readiness {
        ready: upstream_ok && store_ok,
        upstream: if upstream_ok { "ok" } else { "unreachable" },
        store: if store_ok { "ok" } else { "unavailable" },
        store_backend: store.backend_name(),
    }
}
