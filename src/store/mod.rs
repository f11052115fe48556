//! The one boundary to persistence: consent receipts, contact-form entries and their indexes,
//! daily counters, unique counts and bounded value sets, the daily visitor-hashing salts, dashboard
//! sessions and API tokens, the audit log and rate-limit counters.
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
//! Receipts are also kept in a time index (by decision time, per action) so they can be listed
//! and counted by date range; the banner texts receipts refer to are archived by their hash.
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
use crate::metrics::Metrics;

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

    /// `unavailable`, `timeout`, `full` or `corrupt` (the metrics' label).
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Timeout => "timeout",
            StoreError::Full { .. } => "full",
            StoreError::Corrupt(_) => "corrupt",
        }
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
    /// Further keyed hashes that find the entry for a data-subject request (name, phone
    /// number), indexed like `email_hash`. Hex text without spaces.
    pub lookup_hashes: Vec<String>,
    /// Restricted (GDPR art. 18): kept, but left out of the form's list, its count and
    /// everything built on them (inbox, exports). Found by id and by hash all the same.
    pub restricted: bool,
}

impl FormEntryRecord {
    /// Every hash the entry is indexed by: the e-mail hash, then the lookup hashes, each once.
    pub fn indexed_hashes(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for h in self.email_hash.iter().chain(&self.lookup_hashes) {
            if !h.is_empty() && !all.contains(h) {
                all.push(h.clone());
            }
        }
        all
    }
}

/// One page of a form's entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormPage {
    pub entries: Vec<FormEntryRecord>,
    /// Number of unexpired entries of the form (all pages).
    pub total: usize,
}

/// A stored data-subject request: opaque (sealed) bytes and the version that
/// [`Store::put_dsr_request`] checks against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrRecord {
    pub id: String,
    /// 1 after the first put, one more with every put.
    pub version: u64,
    pub data: Vec<u8>,
}

/// One write of a data-subject request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsrWrite<'a> {
    pub id: &'a str,
    pub data: &'a [u8],
    /// The version the caller read, or `None` for a request that must not exist yet. A put
    /// whose expectation does not hold changes nothing.
    pub expected_version: Option<u64>,
    /// For an open request, the day its answer is due (days since 1970-01-01, UTC), which
    /// [`Store::count_dsr_due`] counts by; `None` once it is closed.
    pub due_day: Option<u64>,
    /// The request (and its place in the indexes) expires this long after the put.
    pub ttl: Duration,
}

/// Most requests [`Store::list_dsr_requests`] returns.
pub const MAX_DSR_REQUESTS: usize = 10_000;

/// One decision in the receipt time index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptIndexEntry<'a> {
    /// The consent id the receipt belongs to.
    pub id: &'a str,
    /// Its position in the id's history, 1-based, as returned by [`Store::put_receipt`].
    pub seq: u64,
    /// What the visitor did (`accept_all`, …); opaque to the store, one index per value.
    pub action: &'a str,
    /// Decision time, unix milliseconds. Lists are ordered by it.
    pub time_ms: u64,
    /// The receipt as stored, so a page of the index is one read.
    pub receipt: &'a [u8],
}

/// Which part of the receipt time index to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptQuery<'a> {
    /// First decision time included, unix milliseconds.
    pub from_ms: u64,
    /// Last decision time included, unix milliseconds.
    pub to_ms: u64,
    /// Only this action; `None` for all.
    pub action: Option<&'a str>,
    /// Newest first (ties: larger member first, like Redis `ZRANGE … REV`); else oldest first.
    pub newest_first: bool,
    /// Entries to skip.
    pub offset: usize,
    /// Most entries returned; callers bound it (a page, not the whole index).
    pub limit: usize,
}

/// One page of indexed receipts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptPage {
    /// The stored receipts, in the requested order.
    pub receipts: Vec<Vec<u8>>,
    /// Unexpired receipts matching the range and action (all pages).
    pub total: usize,
}

/// One archived version of the banner texts, content-addressed by the hash receipts carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextVersionRecord {
    /// Exactly the bytes the hash was computed over.
    pub body: Vec<u8>,
    /// Policy revision in force when it was first used.
    pub revision: u32,
    /// Language of the texts (`nl`, `en`).
    pub language: String,
    /// First and last time a receipt referred to it, unix seconds.
    pub first_used: u64,
    pub last_used: u64,
}

/// Id of an audit log entry: unix milliseconds and a sequence number within that
/// millisecond, written `"<ms>-<seq>"`. Ids increase with every append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId {
    pub ms: u64,
    pub seq: u64,
}

impl std::fmt::Display for AuditId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// Why a text is not an [`AuditId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an audit id (expected <milliseconds>-<sequence>)")]
pub struct BadAuditId;

impl std::str::FromStr for AuditId {
    type Err = BadAuditId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ms, seq) = s.split_once('-').ok_or(BadAuditId)?;
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 20 && t.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(BadAuditId);
        }
        Ok(AuditId {
            ms: ms.parse().map_err(|_| BadAuditId)?,
            seq: seq.parse().map_err(|_| BadAuditId)?,
        })
    }
}

/// Handle to the configured store. Cheap to clone (an `Arc`), `Send + Sync + 'static`.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Where failed operations are counted ([`Store::observed_by`]).
    metrics: Option<Arc<Metrics>>,
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
    ($self:ident . $method:ident ( $($arg:expr),* )) => {{
        let result = match &$self.backend {
            Backend::Memory(m) => m.$method($($arg),*),
            Backend::Redis(r) => r.$method($($arg),*).await,
        };
        if let (Err(e), Some(metrics)) = (&result, &$self.metrics) {
            metrics.store_error(e.kind());
        }
        result
    }};
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
            metrics: None,
        }
    }

    /// This store (the same data) with every failed operation counted in `metrics`.
    pub fn observed_by(mut self, metrics: Arc<Metrics>) -> Store {
        self.metrics = Some(metrics);
        self
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
        let store = Store {
            backend,
            metrics: None,
        };
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
    /// Returns the decision's number among all the id's decisions, 1-based, counted on even
    /// when the oldest fall out of the history (what [`ReceiptIndexEntry::seq`] wants).
    pub async fn put_receipt(
        &self,
        id: &str,
        receipt: &[u8],
        ttl: Duration,
    ) -> Result<u64, StoreError> {
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

    /// Delete the current receipt and the history of `id`, and take its decisions out of the
    /// receipt time index. True if anything existed.
    pub async fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_receipt(id))
    }

    /// Add one decision to the receipt time index. Its membership expires `ttl` after this
    /// call (use the receipt's TTL); [`Store::delete_receipt`] removes it earlier.
    pub async fn index_receipt(
        &self,
        entry: &ReceiptIndexEntry<'_>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.index_receipt(entry, ttl))
    }

    /// A page of indexed receipts in a time range, optionally of one action; never expired
    /// ones (listing sweeps the index first).
    pub async fn list_receipts(&self, query: &ReceiptQuery<'_>) -> Result<ReceiptPage, StoreError> {
        dispatch!(self.list_receipts(query))
    }

    /// Unexpired indexed receipts per action in a time range (unix ms, both ends included).
    /// Actions without receipts in the range are absent.
    pub async fn count_receipts(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        dispatch!(self.count_receipts(from_ms, to_ms))
    }

    /// Drop index members whose receipt TTL has passed; returns how many.
    pub async fn sweep_receipt_index(&self) -> Result<usize, StoreError> {
        dispatch!(self.sweep_receipt_index())
    }

    // ---- banner text archive ----

    /// Archive the banner texts `body` under `hash` (kept as first stored; the revision and
    /// language too) and note a use at `used_at` (unix s; first and last use are kept). The
    /// archive entry lives at least `ttl` from now: each use can only extend it.
    pub async fn archive_texts(
        &self,
        hash: &str,
        body: &[u8],
        revision: u32,
        language: &str,
        used_at: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.archive_texts(hash, body, revision, language, used_at, ttl))
    }

    /// The archived texts with this hash, if any.
    pub async fn get_texts(&self, hash: &str) -> Result<Option<TextVersionRecord>, StoreError> {
        dispatch!(self.get_texts(hash))
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

    /// `(form, id)` of every unexpired entry, in any form, restricted or not, whose
    /// `email_hash` or one of whose `lookup_hashes` equals `hash`. Sorted by form, then id.
    pub async fn find_form_entries_by_hash(
        &self,
        hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        dispatch!(self.find_form_entries_by_hash(hash))
    }

    /// Restrict an entry (take it out of its form's list, keep it) or lift the restriction
    /// (put it back); its expiry does not change. True if the entry exists.
    pub async fn set_form_entry_restricted(
        &self,
        form: &str,
        id: &str,
        restricted: bool,
    ) -> Result<bool, StoreError> {
        dispatch!(self.set_form_entry_restricted(form, id, restricted))
    }

    /// The data key `name` of `form` (opaque, wrapped by the caller): the one already stored,
    /// or else `wrapped`, which is stored. Either way it lives at least `ttl` from now (a
    /// longer remaining life is kept). Several gates asking at once all get the same key.
    pub async fn ensure_form_data_key(
        &self,
        form: &str,
        name: &str,
        wrapped: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        dispatch!(self.ensure_form_data_key(form, name, wrapped, ttl))
    }

    /// The data key `name` of `form`, unless it has expired.
    pub async fn get_form_data_key(
        &self,
        form: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.get_form_data_key(form, name))
    }

    /// Drop index members of `form` whose entry has expired; returns how many. Listing does
    /// this by itself; a periodic call keeps indexes of forms nobody looks at small.
    pub async fn sweep_form_index(&self, form: &str) -> Result<usize, StoreError> {
        dispatch!(self.sweep_form_index(form))
    }

    // ---- data-subject requests ----

    /// Create or replace a request if `write.expected_version` holds; returns the new version,
    /// or `None` when another write came first (nothing changed).
    pub async fn put_dsr_request(&self, write: &DsrWrite<'_>) -> Result<Option<u64>, StoreError> {
        dispatch!(self.put_dsr_request(write))
    }

    /// One request, unless it expired or was deleted.
    pub async fn get_dsr_request(&self, id: &str) -> Result<Option<DsrRecord>, StoreError> {
        dispatch!(self.get_dsr_request(id))
    }

    /// Every unexpired request (at most [`MAX_DSR_REQUESTS`]), in no particular order.
    pub async fn list_dsr_requests(&self) -> Result<Vec<DsrRecord>, StoreError> {
        dispatch!(self.list_dsr_requests())
    }

    /// Open requests whose answer is due on or before `day` (days since 1970-01-01, UTC).
    pub async fn count_dsr_due(&self, day: u64) -> Result<u64, StoreError> {
        dispatch!(self.count_dsr_due(day))
    }

    /// Delete a request. True if it existed.
    pub async fn delete_dsr_request(&self, id: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_dsr_request(id))
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
        self.add_uniques(name, day, &[member]).await
    }

    /// [`Store::add_unique`] for several members in one call.
    pub async fn add_uniques(
        &self,
        name: &str,
        day: &str,
        members: &[&[u8]],
    ) -> Result<(), StoreError> {
        dispatch!(self.add_uniques(name, day, members))
    }

    /// Distinct members seen on `day` (Redis: estimate, ~0.81 % standard error).
    pub async fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        dispatch!(self.count_unique(name, day))
    }

    /// [`Store::count_unique`] of each `(name, day)`, in the same order.
    pub async fn count_uniques(&self, keys: &[(String, String)]) -> Result<Vec<u64>, StoreError> {
        dispatch!(self.count_uniques(keys))
    }

    /// Bound the distinct values counted on a day: each of `values` already admitted for
    /// `(name, day)`, or new while fewer than `max` are, is admitted (`true`), the rest not.
    /// Atomic, so several gates together admit at most `max`. The set expires `ttl` after its
    /// last change (only the day itself needs it).
    pub async fn admit(
        &self,
        name: &str,
        day: &str,
        values: &[&str],
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        dispatch!(self.admit(name, day, values, max, ttl))
    }

    // ---- daily salts (visitor hashing; never shown or exported) ----

    /// The salt of `day`: the stored one, or `candidate` when there was none (it is then stored
    /// and expires `ttl` from now). Every gate on the store gets the same salt for a day.
    pub async fn daily_salt(
        &self,
        day: &str,
        candidate: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        dispatch!(self.daily_salt(day, candidate, ttl))
    }

    /// The stored salt of `day`, if it is still there.
    pub async fn get_salt(&self, day: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.get_salt(day))
    }

    /// Forget the salt of `day` (deleting a missing one is not an error).
    pub async fn delete_salt(&self, day: &str) -> Result<(), StoreError> {
        dispatch!(self.delete_salt(day))
    }

    // ---- API tokens (stored by their hash) ----

    /// Store a token record under the token's hash, kept at least `ttl` (the record carries
    /// its own expiry, which callers check).
    pub async fn put_api_token(
        &self,
        hash: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_api_token(hash, record, ttl))
    }

    /// The record stored under `hash`, if any.
    pub async fn get_api_token(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        dispatch!(self.get_api_token(hash))
    }

    /// Every token record with its hash, sorted by hash.
    pub async fn list_api_tokens(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        dispatch!(self.list_api_tokens())
    }

    /// Delete the record under `hash`; true if it existed.
    pub async fn delete_api_token(&self, hash: &str) -> Result<bool, StoreError> {
        dispatch!(self.delete_api_token(hash))
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
        let page = self.read_audit_page(None, limit).await?;
        Ok(page
            .into_iter()
            .map(|(id, e)| (id.to_string(), e))
            .collect())
    }

    /// Up to `limit` entries older than `before` (all entries when `None`), newest first: pass
    /// the last id of one page as `before` to read the next.
    pub async fn read_audit_page(
        &self,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<Vec<(AuditId, Vec<u8>)>, StoreError> {
        dispatch!(self.read_audit_page(before, limit))
    }

    // ---- shared values ----

    /// The value stored under `name`, or, if there is none, `value`, stored now to expire
    /// `ttl` from now. Atomic: every caller (every gate on one Redis) that races for an absent
    /// name gets back the one value that was stored, and a stored value is never changed or
    /// kept longer. For secrets that every gate must use alike for a while and that must then
    /// be gone (the analytics relay's client-id key).
    pub async fn put_if_absent(
        &self,
        name: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        dispatch!(self.put_if_absent(name, value, ttl))
    }

    // ---- rate limits ----

    /// Count a hit on `key` in a fixed window that starts with the first hit and lasts `window`;
    /// returns the number of hits in the current window, this one included.
    pub async fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        dispatch!(self.hit_rate_limit(key, window))
    }

    /// Hits on `key` in its current window, without counting one; 0 when no window is open.
    pub async fn peek_rate_limit(&self, key: &str) -> Result<u64, StoreError> {
        dispatch!(self.peek_rate_limit(key))
    }

    /// Close the window of `key` (its count starts again from 0). Clearing a key without a
    /// window is not an error.
    pub async fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        dispatch!(self.clear_rate_limit(key))
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

    #[test]
    fn audit_ids_round_trip_and_refuse_anything_else() {
        let id: AuditId = "1700000000123-7".parse().unwrap();
        assert_eq!(
            id,
            AuditId {
                ms: 1_700_000_000_123,
                seq: 7
            }
        );
        assert_eq!(id.to_string(), "1700000000123-7");
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "1-2-3",
            "a-1",
            "1-+2",
            "(1-2",
            "99999999999999999999999-1",
        ] {
            assert!(bad.parse::<AuditId>().is_err(), "{bad}");
        }
    }
}
