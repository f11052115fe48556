//! The one boundary to persistence: consent receipts, contact-form entries and their indexes,
//! daily counters and unique counts, dashboard sessions, the audit log and rate-limit counters.
//!
//! [`Store`] is a cheap-to-clone handle over one of two backends with the same semantics:
//! * **Redis** (`backend = "redis"` or `"redis_cluster"`, [`redis`](self::redis)): the production
//!   backend. One shared multiplexed connection (a `ConnectionManager`, or a cluster connection)
//!   per process; several keys that change together change in one `MULTI`; every key that can
//!   hold personal data has a TTL; a record's keys share a hash tag so all of it runs on Redis
//!   Cluster. Every operation is bounded by `store.timeout`.
//! * **Embedded** (`backend = "memory"`, [`memory`]): in-process, the default for
//!   `consentgate demo` and single-process use. Same TTL expiry, index order and atomic
//!   multi-key updates; it counts uniques exactly. It does **not** survive a restart and cannot
//!   be shared by several gates (each gate would see only its own receipts, entries, sessions and
//!   rate limits) — use Redis for either.
//!
//! Values are opaque bytes: callers serialise (and encrypt, for form entries). Errors are typed:
//! [`StoreError::Unavailable`] and [`StoreError::Timeout`] are what callers map to HTTP 503.

mod layout;
pub mod memory;
pub mod redis;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::config::{StoreBackend, StoreConfig};

pub use layout::KeyLayout;
pub use memory::{Held, MemoryLimits};

/// Why a store operation failed. Callers map `Unavailable` and `Timeout` to 503.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached (connection refused or lost, cluster down). The reason is
    /// for logs; it never contains stored data.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The operation did not finish within `store.timeout`. For a write this does not say
    /// whether it happened: Redis may still apply a command that was sent before the timeout.
    #[error("store operation timed out")]
    Timeout,
    /// The backend answered with something this version cannot read (wrong type, bad field).
    #[error("store data corrupt: {0}")]
    Corrupt(String),
    /// The embedded store holds `store.memory_max_bytes` already; nothing was written. Room comes
    /// back as records expire or are deleted.
    #[error("embedded store full ({limit_bytes} bytes, store.memory_max_bytes)")]
    Full { limit_bytes: usize },
}

impl StoreError {
    /// True for the errors that mean "try again later" (HTTP 503), false for `Corrupt`.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_) | StoreError::Timeout | StoreError::Full { .. }
        )
    }
}

/// One page of a consent id's receipt history, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptHistory {
    pub receipts: Vec<Vec<u8>>,
    /// Receipts in the whole (capped) history.
    pub total: usize,
}

/// One captured contact-form submission. `ciphertext` is opaque to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormEntryRecord {
    /// Unique within its form (callers generate it randomly).
    pub id: String,
    /// The configured form id this entry belongs to.
    pub form: String,
    /// Submission time, unix seconds. Lists are ordered by it, newest first.
    pub created: u64,
    /// The encrypted submission.
    pub ciphertext: Vec<u8>,
    /// Keyed hash of the submitter's e-mail address, indexed for access/erasure requests.
    pub email_hash: Option<String>,
}

/// One page of a form's entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormPage {
    pub entries: Vec<FormEntryRecord>,
    /// Number of unexpired entries of the form (all pages).
    pub total: usize,
}

/// Handle to the configured store. Cheap to clone (an `Arc`), `Send + Sync + 'static`.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<memory::MemoryStore>),
    Redis(Arc<redis::RedisStore>),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_name())
            .finish()
    }
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Memory(m) => m.$method($($arg),*),
            Backend::Redis(r) => r.$method($($arg),*).await,
        }
    };
}

impl Store {
    /// A fresh embedded store with default limits (see [`memory::MemoryLimits`]).
    pub fn memory() -> Store {
        Store::memory_with(memory::MemoryLimits::default())
    }

    /// A fresh embedded store with the given limits.
    pub fn memory_with(limits: memory::MemoryLimits) -> Store {
        Store::memory_with_clock(limits, crate::clock::SystemClock::shared())
    }

    /// A fresh embedded store whose expiry follows `clock` (tests move a `TestClock`).
    pub fn memory_with_clock(
        limits: memory::MemoryLimits,
        clock: crate::clock::SharedClock,
    ) -> Store {
        Store {
            backend: Backend::Memory(Arc::new(memory::MemoryStore::with_clock(limits, clock))),
        }
    }

    /// Open the configured backend. For Redis this does not wait for the server: if it is down
    /// at start, operations fail with [`StoreError::Unavailable`] until it is reachable, and the
    /// store reconnects by itself. Fails only on an unusable `redis_url`.
    pub async fn connect(cfg: &StoreConfig) -> Result<Store, StoreError> {
        let backend = match cfg.backend {
            StoreBackend::Memory => {
                Backend::Memory(Arc::new(memory::MemoryStore::new(memory::MemoryLimits {
                    audit_max_entries: cfg.audit_max_entries,
                    audit_retention: cfg.audit_retention,
                    receipt_history_max: cfg.receipt_history_max,
                    max_bytes: cfg.memory_max_bytes,
                    ..memory::MemoryLimits::default()
                })))
            }
            StoreBackend::Redis | StoreBackend::RedisCluster => {
                Backend::Redis(Arc::new(redis::RedisStore::open(cfg)?))
            }
        };
        let store = Store { backend };
        if !matches!(store.backend, Backend::Memory(_)) {
            store.warm_up();
        }
        Ok(store)
    }

    /// Opens the connection in the background on the caller's runtime (for the server: the
    /// main one, which lives as long as the process), so its driver task does not end up on
    /// whichever worker happens to make the first call, and the log says early whether Redis
    /// is reachable.
    fn warm_up(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            let backend = store.backend_name();
            match store.ping().await {
                Ok(()) => tracing::info!(backend, "store reachable"),
                Err(e) => tracing::warn!(
                    backend,
                    error = %e,
                    "store not reachable yet; requests that need it get 503 until it is"
                ),
            }
        });
    }

    /// `"memory"`, `"redis"` or `"redis_cluster"`, for logs and `/_gate/readyz`.
    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Memory(_) => "memory",
            Backend::Redis(r) => r.backend_name(),
        }
    }

    /// Round trip to the backend (for `/_gate/readyz`). Always `Ok` for the embedded store.
    pub async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self.ping())
    }

    /// For the embedded store, how many receipts and form entries it holds — what stopping
    /// the process loses; `None` for Redis, which keeps them.
    pub fn held_in_memory(&self) -> Option<Held> {
        match &self.backend {
            Backend::Memory(m) => Some(m.held()),
            Backend::Redis(_) => None,
        }
    }

    // ---- consent receipts ----

    /// Make `receipt` the current receipt of `id` and append it to the id's history, in one
    /// atomic step; the history keeps the newest `store.receipt_history_max` (the oldest are
    /// dropped). Both expire `ttl` after this call (the history's TTL is refreshed).
    pub async fn put_receipt(
        &self,
        id: &str,
        receipt: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_receipt(id, receipt, ttl))
    }

    /// The current receipt of `id`, if any and not expired.
    pub async fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.get_receipt(id))
    }

    /// A page of the receipts put for `id` (until they expired or were deleted, at most the
    /// newest `store.receipt_history_max`), oldest first: `limit` receipts from `offset`, and the
    /// length of the whole history.
    pub async fn receipt_history(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<ReceiptHistory, StoreError> {
        dispatch!(self.receipt_history(id, offset, limit))
    }

    /// Delete the current receipt and the history of `id`. True if anything existed.
    pub async fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_receipt(id))
    }

    // ---- contact-form entries ----

    /// Store an entry (replacing one with the same form and id) and index it by time and, if
    /// present, by e-mail hash. Entry and index membership expire `ttl` after this call.
    pub async fn put_form_entry(
        &self,
        form: &str,
        entry: &FormEntryRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_form_entry(form, entry, ttl))
    }

    /// One entry, if it exists and has not expired.
    pub async fn get_form_entry(
        &self,
        form: &str,
        id: &str,
    ) -> Result<Option<FormEntryRecord>, StoreError> {
        dispatch!(self.get_form_entry(form, id))
    }

    /// A page of a form's entries, newest first (ties: larger id first); never expired ones.
    /// `offset` and `limit` count entries; `total` counts all unexpired entries of the form.
    pub async fn list_form_entries(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<FormPage, StoreError> {
        dispatch!(self.list_form_entries(form, offset, limit))
    }

    /// Delete an entry and remove it from every index. True if it existed.
    pub async fn delete_form_entry(&self, form: &str, id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_form_entry(form, id))
    }

    /// `(form, id)` of every unexpired entry, in any form, whose `email_hash` equals the given
    /// one. Sorted by form, then id.
    pub async fn find_form_entries_by_email(
        &self,
        email_hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.find_form_entries_by_email(email_hash))
    }

    /// Drop index members of `form` whose entry has expired; returns how many. Listing does
    /// this by itself; a periodic call keeps indexes of forms nobody looks at small.
    pub async fn sweep_form_index(&self, form: &str) -> Result<usize, StoreError> {
        dispatch!(self.sweep_form_index(form))
    }

    // ---- counters (no personal data) ----

    /// Add each `(field, delta)` to the counter hash of `(name, day)`, in one atomic call.
    /// `day` is `"YYYY-MM-DD"`. Counters do not expire.
    pub async fn incr_counters(
        &self,
        name: &str,
        day: &str,
        fields: &[(&str, i64)],
    ) -> Result<(), StoreError> {
        dispatch!(self.incr_counters(name, day, fields))
    }

    /// The counter hash of `name` for each of `days`, in the same order (empty map for a day
    /// without counts).
    pub async fn read_counters(
        &self,
        name: &str,
        days: &[String],
    ) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        dispatch!(self.read_counters(name, days))
    }

    /// Count `member` as seen on `day` (HyperLogLog on Redis, exact in the embedded store; the
    /// embedded store keeps only a 64-bit hash of the member).
    pub async fn add_unique(&self, name: &str, day: &str, member: &[u8]) -> Result<(), StoreError> {
        dispatch!(self.add_unique(name, day, member))
    }

    /// Distinct members seen on `day` (Redis: estimate, ~0.81 % standard error).
    pub async fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        dispatch!(self.count_unique(name, day))
    }

    // ---- dashboard sessions ----

    /// Store a session that expires after `idle` without a `get_session`.
    pub async fn put_session(
        &self,
        id: &str,
        data: &[u8],
        idle: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_session(id, data, idle))
    }

    /// The session's data, refreshing its idle expiry to `idle` from now.
    pub async fn get_session(
        &self,
        id: &str,
        idle: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.get_session(id, idle))
    }

    /// Forget a session (logout). Deleting a missing session is not an error.
    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        dispatch!(self.delete_session(id))
    }

    // ---- audit log ----

    /// Append an entry; returns its id (`"<unix ms>-<seq>"`, increasing). The log keeps at most
    /// `store.audit_max_entries` entries (approximately, on Redis) and none older than
    /// `store.audit_retention`.
    pub async fn append_audit(&self, entry: &[u8]) -> Result<String, StoreError> {
        dispatch!(self.append_audit(entry))
    }

    /// The newest `limit` entries, newest first.
    pub async fn read_audit(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        dispatch!(self.read_audit(limit))
    }

    // ---- rate limits ----

    /// Count a hit on `key` in a fixed window that starts with the first hit and lasts `window`;
    /// returns the number of hits in the current window, this one included.
    pub async fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        dispatch!(self.hit_rate_limit(key, window))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_handle_can_be_shared_across_tasks() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<Store>();
        assert_eq!(Store::memory().backend_name(), "memory");
    }
}
