//! The embedded store: everything in one in-process map behind a mutex, with the same
//! semantics as the Redis backend — TTL expiry, newest-first form index, multi-key updates that
//! are atomic (one lock), bounded audit log, receipt histories capped to the newest
//! [`MemoryLimits::receipt_history_max`]. Uniques are counted exactly (a 64-bit hash per member,
//! never the member itself).
//!
//! What it does not give: data does not survive a restart, and several gates cannot share it
//! (each would see only its own receipts, entries, sessions and rate limits). Use Redis for
//! either.
//!
//! Growth is bounded: what it holds is counted in bytes (keys, values and a fixed overhead per
//! record), and a write that would take it past [`MemoryLimits::max_bytes`] is refused with
//! [`StoreError::Full`] (HTTP 503) instead of growing without end; deletions and expiry make room
//! again. Expired records are invisible at once and purged from memory at most
//! [`MemoryLimits::purge_interval`] after they expire (checked on every call, no background
//! task, so `Store::memory()` needs no runtime). Unique-member sets of a day that has not been
//! written for [`MemoryLimits::unique_freeze_after`] are reduced to their count.
//!
//! Values are shared (`Arc`) between the map and a reader, so a read holds the lock only for
//! reference counts, never for copying a record.
//!
//! Time comes from the injected [`Clock`](crate::clock::Clock) (wall-clock milliseconds, like
//! the deadlines Redis keeps), so tests move a `TestClock` instead of sleeping.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};

use super::{
    AuditId, DsrRecord, DsrWrite, FormEntryRecord, FormPage, KeyLayout, ReceiptHistory,
    ReceiptIndexEntry, ReceiptPage, ReceiptQuery, StoreError, TextVersionRecord, MAX_DSR_REQUESTS,
};

/// Bounds of the embedded store.
#[derive(Debug, Clone)]
pub struct MemoryLimits {
    /// Most audit entries kept. Default 10000.
    pub audit_max_entries: usize,
    /// Audit entries older than this are dropped. Default 180 days.
    pub audit_retention: Duration,
    /// How often expired records are purged from memory. Default 1 s.
    pub purge_interval: Duration,
    /// A day's unique set untouched this long keeps only its count. Default 48 h.
    pub unique_freeze_after: Duration,
    /// Most receipts kept in one id's history, the oldest dropped first. Default 50.
    pub receipt_history_max: usize,
    /// Most bytes held (keys, values, a fixed overhead per record); writes beyond are refused
    /// with [`StoreError::Full`]. Default 256 MiB.
    pub max_bytes: usize,
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self {
            audit_max_entries: 10_000,
            audit_retention: Duration::from_secs(180 * 24 * 3600),
            purge_interval: Duration::from_secs(1),
            unique_freeze_after: Duration::from_secs(48 * 3600),
            receipt_history_max: 50,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// What a record costs besides its keys and values (map slot, allocation headers, deadline):
/// an estimate, so the bound holds for many small records too.
const OVERHEAD: usize = 64;
/// What one member of a unique set or one item of a list costs.
const ITEM: usize = 16;

/// The receipts of one id, oldest first; the current receipt is the last one put.
struct Receipt {
    history: VecDeque<Arc<[u8]>>,
    /// Decisions ever put for the id (the history stops growing at its cap; this does not).
    seq: u64,
    expires: u64,
}

impl Receipt {
    fn size(id: &str, history: &VecDeque<Arc<[u8]>>) -> usize {
        OVERHEAD + id.len() + history.iter().map(|r| r.len() + ITEM).sum::<usize>()
    }
}

struct StoredEntry {
    record: Arc<FormEntryRecord>,
    expires: u64,
}

impl StoredEntry {
    /// The entry, its place in the form index and in the lookup (e-mail, name, phone) index.
    fn size(record: &FormEntryRecord) -> usize {
        let lookup: usize = record
            .indexed_hashes()
            .iter()
            .map(|h| OVERHEAD + h.len())
            .sum();
        2 * OVERHEAD + 2 * record.id.len() + record.form.len() + record.ciphertext.len() + lookup
    }
}

#[derive(Default)]
struct Form {
    entries: HashMap<String, StoredEntry>,
    /// (created, id) of unrestricted entries; iterated in reverse for newest first — the order
    /// of Redis `ZREVRANGE`.
    index: BTreeSet<(u64, String)>,
    /// (created, id) of restricted entries: kept, never listed.
    restricted: BTreeSet<(u64, String)>,
    /// Expired entries the periodic purge dropped since the last list or sweep of this form;
    /// reported by `sweep_form_index` as Redis would report them.
    swept_pending: usize,
}

impl Form {
    fn remove(&mut self, id: &str) -> Option<StoredEntry> {
        let old = self.entries.remove(id)?;
        let key = (old.record.created, id.to_owned());
        self.index.remove(&key);
        self.restricted.remove(&key);
        Some(old)
    }

    /// Removes expired entries; returns them so the caller can clean the lookup index.
    fn sweep(&mut self, now: u64) -> Vec<StoredEntry> {
        let expired: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        expired.iter().filter_map(|id| self.remove(id)).collect()
    }
}

struct IndexedReceipt {
    time_ms: u64,
    action: String,
    receipt: Arc<[u8]>,
    expires: u64,
}

impl IndexedReceipt {
    fn size(&self, member: &str) -> usize {
        OVERHEAD + member.len() + self.action.len() + self.receipt.len()
    }
}

/// The receipt time index: one ordering for every action (Redis keeps one zset per action
/// too; filtering the single ordering gives the same pages).
#[derive(Default)]
struct ReceiptIndex {
    /// (decision time ms, member); iterated in reverse for newest first, like `ZRANGE … REV`.
    by_time: BTreeSet<(u64, String)>,
    members: HashMap<String, IndexedReceipt>,
    /// Expired members the periodic purge dropped since the last list, count or sweep;
    /// reported by `sweep_receipt_index` as Redis would report them.
    swept_pending: usize,
}

impl ReceiptIndex {
    /// Take a member out; the bytes it held (0 if it was not there).
    fn remove(&mut self, member: &str) -> usize {
        match self.members.remove(member) {
            Some(old) => {
                self.by_time.remove(&(old.time_ms, member.to_owned()));
                old.size(member)
            }
            None => 0,
        }
    }

    /// Take the expired members out: how many, and the bytes they held.
    fn sweep(&mut self, now: u64) -> (usize, usize) {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.expires <= now)
            .map(|(k, _)| k.clone())
            .collect();
        let freed = expired.iter().map(|member| self.remove(member)).sum();
        (expired.len(), freed)
    }

    /// Unexpired members in `[from_ms, to_ms]`, oldest first, optionally of one action.
    fn range(&self, from_ms: u64, to_ms: u64, action: Option<&str>) -> Vec<&IndexedReceipt> {
        self.by_time
            .range((from_ms, String::new())..)
            .take_while(|(t, _)| *t <= to_ms)
            .filter_map(|(_, member)| self.members.get(member))
            .filter(|m| action.is_none_or(|a| a == m.action))
            .collect()
    }
}

fn text_size(hash: &str, record: &TextVersionRecord) -> usize {
    OVERHEAD + hash.len() + record.body.len() + record.language.len()
}

enum Unique {
    Live {
        members: HashSet<u64>,
        touched: u64,
    },
    /// Count of a set that was frozen, plus members added after that.
    Frozen {
        count: u64,
        late: HashSet<u64>,
    },
}

struct Expiring {
    data: Arc<[u8]>,
    expires: u64,
}

struct StoredRequest {
    version: u64,
    data: Arc<[u8]>,
    due_day: Option<u64>,
    expires: u64,
}

impl StoredRequest {
    fn size(id: &str, data: &[u8]) -> usize {
        2 * OVERHEAD + 2 * id.len() + data.len()
    }
}

struct RateWindow {
    count: u64,
    expires: u64,
}

#[derive(Default)]
struct State {
    receipts: HashMap<String, Receipt>,
    forms: HashMap<String, Form>,
    /// e-mail, name or phone hash → (form, id)
    emails: HashMap<String, BTreeSet<(String, String)>>,
    /// (form, name) → wrapped data key.
    data_keys: HashMap<(String, String), Expiring>,
    dsr: HashMap<String, StoredRequest>,
    counters: HashMap<(String, String), BTreeMap<String, i64>>,
    uniques: HashMap<(String, String), Unique>,
    sessions: HashMap<String, Expiring>,
    receipt_index: ReceiptIndex,
    /// Banner texts by hash, with their expiry (unix ms).
    texts: HashMap<String, (TextVersionRecord, u64)>,
    /// (unix ms, seq, entry), oldest first.
    audit: VecDeque<(u64, u64, Arc<[u8]>)>,
    rate: HashMap<String, RateWindow>,
    /// Values admitted per (name, day), with their expiry.
    admitted: HashMap<(String, String), (HashSet<String>, u64)>,
    /// Daily salts by day.
    salts: HashMap<String, Expiring>,
    /// API tokens by hash.
    api_tokens: HashMap<String, Expiring>,
    /// Values put with `put_if_absent`, with their expiry.
    shared: HashMap<String, Expiring>,
    last_purge: Option<u64>,
    /// Bytes held, as counted by the `size` rules above.
    used: usize,
}

impl State {
    fn free(&mut self, bytes: usize) {
        self.used = self.used.saturating_sub(bytes);
    }

    /// Drop the expired entries of `form` (with their bytes and e-mail index links); how many,
    /// or `None` when the form holds nothing.
    fn sweep_form(&mut self, form: &str, now: u64) -> Option<usize> {
        let gone = self.forms.get_mut(form)?.sweep(now);
        for e in &gone {
            self.free(StoredEntry::size(&e.record));
            unlink_email(&mut self.emails, form, &e.record);
        }
        Some(gone.len())
    }
}

/// How many receipts and form entries the embedded store holds (what a restart loses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Held {
    /// Consent ids with an unexpired receipt.
    pub receipts: usize,
    /// Unexpired contact-form entries.
    pub form_entries: usize,
}

/// See the module documentation.
pub struct MemoryStore {
    state: Mutex<State>,
    limits: MemoryLimits,
    clock: SharedClock,
}

/// The deadline `ttl` after `now` (unix ms), at least 1 ms away as Redis rounds a TTL.
fn deadline(now: u64, ttl: Duration) -> u64 {
    let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
    now.saturating_add(ms)
}

fn ms_of(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn hash64(bytes: &[u8]) -> u64 {
    // Stable within the process, which is all an exact in-memory count needs.
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new(limits: MemoryLimits) -> Self {
        Self::with_clock(limits, SystemClock::shared())
    }

    /// An empty store whose expiry, audit ids and retention follow `clock`.
    pub fn with_clock(limits: MemoryLimits, clock: SharedClock) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limits,
            clock,
        }
    }

    fn now(&self) -> u64 {
        self.clock.unix_ms()
    }

    /// Locks the state and purges expired data if the last purge is older than the interval.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied update visible to callers
        // in a way that matters more than losing the store, so recover the guard.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.now();
        // A clock set back counts as due, so a purge is never postponed by a step backwards.
        let due = st
            .last_purge
            .is_none_or(|t| now < t || now - t >= ms_of(self.limits.purge_interval));
        if due {
            self.purge(&mut st, now);
            st.last_purge = Some(now);
        }
        st
    }

    /// Room for `grow` more bytes, or [`StoreError::Full`].
    fn reserve(&self, st: &mut State, grow: usize) -> Result<(), StoreError> {
        if st.used.saturating_add(grow) > self.limits.max_bytes {
            return Err(StoreError::Full {
                limit_bytes: self.limits.max_bytes,
            });
        }
        st.used += grow;
        Ok(())
    }

    fn purge(&self, st: &mut State, now: u64) {
        let mut freed = 0;
        st.receipts.retain(|id, r| {
            let keep = r.expires > now;
            if !keep {
                freed += Receipt::size(id, &r.history);
            }
            keep
        });
        let (swept, index_bytes) = st.receipt_index.sweep(now);
        st.receipt_index.swept_pending += swept;
        freed += index_bytes;
        st.texts.retain(|hash, (record, expires)| {
            let keep = *expires > now;
            if !keep {
                freed += text_size(hash, record);
            }
            keep
        });
        st.sessions.retain(|id, s| {
            let keep = s.expires > now;
            if !keep {
                freed += OVERHEAD + id.len() + s.data.len();
            }
            keep
        });
        st.rate.retain(|key, r| {
            let keep = r.expires > now;
            if !keep {
                freed += OVERHEAD + key.len();
            }
            keep
        });
        st.data_keys.retain(|(form, name), k| {
            let keep = k.expires > now;
            if !keep {
                freed += OVERHEAD + form.len() + name.len() + k.data.len();
            }
            keep
        });
        st.dsr.retain(|id, r| {
            let keep = r.expires > now;
            if !keep {
                freed += StoredRequest::size(id, &r.data);
            }
            keep
        });
        st.admitted.retain(|(name, day), (set, expires)| {
            let keep = *expires > now;
            if !keep {
                freed += admitted_size(name, day, set);
            }
            keep
        });
        for map in [&mut st.salts, &mut st.api_tokens] {
            map.retain(|k, e| {
                let keep = e.expires > now;
                if !keep {
                    freed += OVERHEAD + k.len() + e.data.len();
                }
                keep
            });
        }
        st.shared.retain(|name, v| {
            let keep = v.expires > now;
            if !keep {
                freed += OVERHEAD + name.len() + v.data.len();
            }
            keep
        });
        let names: Vec<String> = st.forms.keys().cloned().collect();
        for form in names {
            let swept = st.sweep_form(&form, now).unwrap_or(0);
            if let Some(f) = st.forms.get_mut(&form) {
                f.swept_pending += swept;
            }
        }
        st.forms
            .retain(|_, f| !f.entries.is_empty() || f.swept_pending > 0);
        let freeze = ms_of(self.limits.unique_freeze_after);
        for u in st.uniques.values_mut() {
            if let Unique::Live { members, touched } = u {
                if now.saturating_sub(*touched) >= freeze {
                    freed += members.len() * ITEM;
                    *u = Unique::Frozen {
                        count: members.len() as u64,
                        late: HashSet::new(),
                    };
                }
            }
        }
        st.free(freed);
        self.trim_audit(st, now);
    }

    fn trim_audit(&self, st: &mut State, now: u64) {
        let min_ms = now.saturating_sub(ms_of(self.limits.audit_retention));
        while st.audit.len() > self.limits.audit_max_entries
            || st.audit.front().is_some_and(|(ms, _, _)| *ms < min_ms)
        {
            if let Some((_, _, entry)) = st.audit.pop_front() {
                st.free(OVERHEAD + entry.len());
            }
        }
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Bytes held now, as counted against [`MemoryLimits::max_bytes`].
    pub fn used_bytes(&self) -> usize {
        self.lock().used
    }

    /// How many receipts and form entries are held (what stopping the process loses).
    pub fn held(&self) -> Held {
        let st = self.lock();
        Held {
            receipts: st.receipts.len(),
            form_entries: st.forms.values().map(|f| f.entries.len()).sum(),
        }
    }

    // ---- receipts ----

    pub fn put_receipt(&self, id: &str, receipt: &[u8], ttl: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let (old_size, mut history, seq) = match st.receipts.get(id) {
            Some(r) if r.expires > now => (Receipt::size(id, &r.history), r.history.clone(), r.seq),
            // Expired: like the Redis keys, history and counter start again.
            Some(r) => (Receipt::size(id, &r.history), VecDeque::new(), 0),
            None => (0, VecDeque::new(), 0),
        };
        history.push_back(Arc::from(receipt));
        // LTRIM to the newest `receipt_history_max`, as the Redis backend does.
        while history.len() > self.limits.receipt_history_max.max(1) {
            history.pop_front();
        }
        let new_size = Receipt::size(id, &history);
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        st.receipts.insert(
            id.to_owned(),
            Receipt {
                history,
                seq: seq + 1,
                expires: deadline(now, ttl),
            },
        );
        Ok(seq + 1)
    }

    pub fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let current = {
            let st = self.lock();
            st.receipts
                .get(id)
                .filter(|r| r.expires > now)
                .and_then(|r| r.history.back().cloned())
        };
        Ok(current.map(|r| r.to_vec()))
    }

    pub fn receipt_history(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<ReceiptHistory, StoreError> {
        let now = self.now();
        let (page, total): (Vec<Arc<[u8]>>, usize) = {
            let st = self.lock();
            match st.receipts.get(id).filter(|r| r.expires > now) {
                Some(r) => (
                    r.history.iter().skip(offset).take(limit).cloned().collect(),
                    r.history.len(),
                ),
                None => (Vec::new(), 0),
            }
        };
        Ok(ReceiptHistory {
            receipts: page.iter().map(|r| r.to_vec()).collect(),
            total,
        })
    }

    pub fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let Some(old) = st.receipts.remove(id) else {
            return Ok(false);
        };
        let mut freed = Receipt::size(id, &old.history);
        for seq in 1..=old.seq {
            freed += st.receipt_index.remove(&KeyLayout::receipt_member(id, seq));
        }
        st.free(freed);
        Ok(old.expires > now)
    }

    pub fn index_receipt(
        &self,
        entry: &ReceiptIndexEntry<'_>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let member = KeyLayout::receipt_member(entry.id, entry.seq);
        let indexed = IndexedReceipt {
            time_ms: entry.time_ms,
            action: entry.action.to_owned(),
            receipt: Arc::from(entry.receipt),
            expires: deadline(now, ttl),
        };
        let mut st = self.lock();
        // Like ZADD on an existing member: the newer decision replaces it.
        let old_size = st.receipt_index.remove(&member);
        let new_size = indexed.size(&member);
        if let Err(full) = self.reserve(&mut st, new_size.saturating_sub(old_size)) {
            st.free(old_size);
            return Err(full);
        }
        st.free(old_size.saturating_sub(new_size));
        let index = &mut st.receipt_index;
        index.by_time.insert((entry.time_ms, member.clone()));
        index.members.insert(member, indexed);
        Ok(())
    }

    /// Sweep the receipt index now (as Redis listing does), forgetting what purges reported.
    fn sweep_receipt_index_now(&self, st: &mut State, now: u64) {
        let (_, freed) = st.receipt_index.sweep(now);
        st.receipt_index.swept_pending = 0;
        st.free(freed);
    }

    pub fn list_receipts(&self, q: &ReceiptQuery<'_>) -> Result<ReceiptPage, StoreError> {
        let now = self.now();
        let (page, total): (Vec<Arc<[u8]>>, usize) = {
            let mut st = self.lock();
            self.sweep_receipt_index_now(&mut st, now);
            let mut matching = st.receipt_index.range(q.from_ms, q.to_ms, q.action);
            if q.newest_first {
                matching.reverse();
            }
            let total = matching.len();
            let page = matching
                .into_iter()
                .skip(q.offset)
                .take(q.limit)
                .map(|m| m.receipt.clone())
                .collect();
            (page, total)
        };
        Ok(ReceiptPage {
            total,
            receipts: page.iter().map(|r| r.to_vec()).collect(),
        })
    }

    pub fn count_receipts(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        self.sweep_receipt_index_now(&mut st, now);
        let mut counts = BTreeMap::new();
        for m in st.receipt_index.range(from_ms, to_ms, None) {
            *counts.entry(m.action.clone()).or_insert(0) += 1;
        }
        Ok(counts)
    }

    pub fn sweep_receipt_index(&self) -> Result<usize, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let (swept, freed) = st.receipt_index.sweep(now);
        st.free(freed);
        Ok(swept + std::mem::take(&mut st.receipt_index.swept_pending))
    }

    // ---- banner text archive ----

    pub fn archive_texts(
        &self,
        hash: &str,
        body: &[u8],
        revision: u32,
        language: &str,
        used_at: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let until = deadline(now, ttl);
        let mut st = self.lock();
        let live = st.texts.get(hash).filter(|(_, expires)| *expires > now);
        if let Some((record, expires)) = live {
            // Kept as first stored: only the uses and the expiry move.
            let (mut record, expires) = (record.clone(), (*expires).max(until));
            record.first_used = record.first_used.min(used_at);
            record.last_used = record.last_used.max(used_at);
            st.texts.insert(hash.to_owned(), (record, expires));
            return Ok(());
        }
        let fresh = TextVersionRecord {
            body: body.to_vec(),
            revision,
            language: language.to_owned(),
            first_used: used_at,
            last_used: used_at,
        };
        let old_size = st.texts.get(hash).map_or(0, |(r, _)| text_size(hash, r));
        let new_size = text_size(hash, &fresh);
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        st.texts.insert(hash.to_owned(), (fresh, until));
        Ok(())
    }

    pub fn get_texts(&self, hash: &str) -> Result<Option<TextVersionRecord>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .texts
            .get(hash)
            .filter(|(_, expires)| *expires > now)
            .map(|(record, _)| record.clone()))
    }

    // ---- form entries ----

    pub fn put_form_entry(
        &self,
        form: &str,
        entry: &FormEntryRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut record = entry.clone();
        // The key decides the form, as on Redis.
        record.form = form.to_owned();
        let mut st = self.lock();
        let old_size = st
            .forms
            .get(form)
            .and_then(|f| f.entries.get(&record.id))
            .map_or(0, |e| StoredEntry::size(&e.record));
        let new_size = StoredEntry::size(&record);
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        let record = Arc::new(record);
        let f = st.forms.entry(form.to_owned()).or_default();
        let old = f.remove(&record.id);
        let listed = if record.restricted {
            &mut f.restricted
        } else {
            &mut f.index
        };
        listed.insert((record.created, record.id.clone()));
        f.entries.insert(
            record.id.clone(),
            StoredEntry {
                record: record.clone(),
                expires: deadline(now, ttl),
            },
        );
        if let Some(old) = old {
            unlink_email(&mut st.emails, form, &old.record);
        }
        for h in record.indexed_hashes() {
            st.emails
                .entry(h)
                .or_default()
                .insert((form.to_owned(), record.id.clone()));
        }
        Ok(())
    }

    pub fn get_form_entry(
        &self,
        form: &str,
        id: &str,
    ) -> Result<Option<FormEntryRecord>, StoreError> {
        let now = self.now();
        let found = {
            let st = self.lock();
            st.forms
                .get(form)
                .and_then(|f| f.entries.get(id))
                .filter(|e| e.expires > now)
                .map(|e| e.record.clone())
        };
        Ok(found.map(|r| (*r).clone()))
    }

    pub fn list_form_entries(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<FormPage, StoreError> {
        let now = self.now();
        let (page, total) = {
            let mut st = self.lock();
            st.sweep_form(form, now);
            let Some(f) = st.forms.get_mut(form) else {
                return Ok(FormPage::default());
            };
            f.swept_pending = 0;
            let page: Vec<Arc<FormEntryRecord>> = f
                .index
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .filter_map(|(_, id)| f.entries.get(id).map(|e| e.record.clone()))
                .collect();
            (page, f.index.len())
        };
        Ok(FormPage {
            entries: page.into_iter().map(|r| (*r).clone()).collect(),
            total,
        })
    }

    pub fn delete_form_entry(&self, form: &str, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let Some(old) = st.forms.get_mut(form).and_then(|f| f.remove(id)) else {
            return Ok(false);
        };
        st.free(StoredEntry::size(&old.record));
        unlink_email(&mut st.emails, form, &old.record);
        Ok(old.expires > now)
    }

    pub fn find_form_entries_by_hash(
        &self,
        hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let now = self.now();
        let st = self.lock();
        let Some(set) = st.emails.get(hash) else {
            return Ok(Vec::new());
        };
        Ok(set
            .iter()
            .filter(|(form, id)| {
                st.forms
                    .get(form)
                    .and_then(|f| f.entries.get(id))
                    .is_some_and(|e| e.expires > now)
            })
            .cloned()
            .collect())
    }

    pub fn sweep_form_index(&self, form: &str) -> Result<usize, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let Some(swept) = st.sweep_form(form, now) else {
            return Ok(0);
        };
        let pending = st
            .forms
            .get_mut(form)
            .map_or(0, |f| std::mem::take(&mut f.swept_pending));
        Ok(swept + pending)
    }

    pub fn set_form_entry_restricted(
        &self,
        form: &str,
        id: &str,
        restricted: bool,
    ) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let Some(f) = st.forms.get_mut(form) else {
            return Ok(false);
        };
        let Some(e) = f.entries.get_mut(id).filter(|e| e.expires > now) else {
            return Ok(false);
        };
        let mut record = (*e.record).clone();
        record.restricted = restricted;
        e.record = Arc::new(record);
        let key = (e.record.created, id.to_owned());
        let (into, from) = if restricted {
            (&mut f.restricted, &mut f.index)
        } else {
            (&mut f.index, &mut f.restricted)
        };
        from.remove(&key);
        into.insert(key);
        Ok(true)
    }

    pub fn ensure_form_data_key(
        &self,
        form: &str,
        name: &str,
        wrapped: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let now = self.now();
        let until = deadline(now, ttl);
        let mut st = self.lock();
        let slot = (form.to_owned(), name.to_owned());
        let live = st.data_keys.get_mut(&slot).filter(|k| k.expires > now);
        if let Some(key) = live {
            key.expires = key.expires.max(until);
            return Ok(key.data.to_vec());
        }
        let old_size = st
            .data_keys
            .get(&slot)
            .map_or(0, |k| OVERHEAD + form.len() + name.len() + k.data.len());
        let new_size = OVERHEAD + form.len() + name.len() + wrapped.len();
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        st.data_keys.insert(
            slot,
            Expiring {
                data: Arc::from(wrapped),
                expires: until,
            },
        );
        Ok(wrapped.to_vec())
    }

    pub fn get_form_data_key(&self, form: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .data_keys
            .get(&(form.to_owned(), name.to_owned()))
            .filter(|k| k.expires > now)
            .map(|k| k.data.to_vec()))
    }

    // ---- data-subject requests ----

    pub fn put_dsr_request(&self, w: &DsrWrite<'_>) -> Result<Option<u64>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let old = st.dsr.get(w.id);
        let current = old.filter(|r| r.expires > now).map(|r| r.version);
        if current != w.expected_version {
            return Ok(None);
        }
        let old_size = old.map_or(0, |r| StoredRequest::size(w.id, &r.data));
        let new_size = StoredRequest::size(w.id, w.data);
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        let version = current.unwrap_or(0) + 1;
        st.dsr.insert(
            w.id.to_owned(),
            StoredRequest {
                version,
                data: Arc::from(w.data),
                due_day: w.due_day,
                expires: deadline(now, w.ttl),
            },
        );
        Ok(Some(version))
    }

    pub fn get_dsr_request(&self, id: &str) -> Result<Option<DsrRecord>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .dsr
            .get(id)
            .filter(|r| r.expires > now)
            .map(|r| DsrRecord {
                id: id.to_owned(),
                version: r.version,
                data: r.data.to_vec(),
            }))
    }

    pub fn list_dsr_requests(&self) -> Result<Vec<DsrRecord>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .dsr
            .iter()
            .filter(|(_, r)| r.expires > now)
            .take(MAX_DSR_REQUESTS)
            .map(|(id, r)| DsrRecord {
                id: id.clone(),
                version: r.version,
                data: r.data.to_vec(),
            })
            .collect())
    }

    pub fn count_dsr_due(&self, day: u64) -> Result<u64, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .dsr
            .values()
            .filter(|r| r.expires > now && r.due_day.is_some_and(|d| d <= day))
            .count() as u64)
    }

    pub fn delete_dsr_request(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let Some(old) = st.dsr.remove(id) else {
            return Ok(false);
        };
        st.free(StoredRequest::size(id, &old.data));
        Ok(old.expires > now)
    }

    // ---- counters ----

    pub fn incr_counters(
        &self,
        name: &str,
        day: &str,
        fields: &[(&str, i64)],
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let key = (name.to_owned(), day.to_owned());
        let existing = st.counters.get(&key);
        let grow = existing.map_or(OVERHEAD + name.len() + day.len(), |_| 0)
            + fields
                .iter()
                .filter(|(field, _)| existing.is_none_or(|m| !m.contains_key(*field)))
                .map(|(field, _)| field.len() + ITEM)
                .sum::<usize>();
        self.reserve(&mut st, grow)?;
        let map = st.counters.entry(key).or_default();
        for (field, delta) in fields {
            let v = map.entry((*field).to_owned()).or_insert(0);
            *v = v.saturating_add(*delta);
        }
        Ok(())
    }

    pub fn read_counters(
        &self,
        name: &str,
        days: &[String],
    ) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        let st = self.lock();
        Ok(days
            .iter()
            .map(|day| {
                st.counters
                    .get(&(name.to_owned(), day.clone()))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect())
    }

    pub fn add_uniques(&self, name: &str, day: &str, members: &[&[u8]]) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let now = self.now();
        let hashes: HashSet<u64> = members.iter().map(|m| hash64(m)).collect();
        let mut st = self.lock();
        let key = (name.to_owned(), day.to_owned());
        let grow = match st.uniques.get(&key) {
            None => OVERHEAD + name.len() + day.len() + hashes.len() * ITEM,
            Some(Unique::Live { members: set, .. }) | Some(Unique::Frozen { late: set, .. }) => {
                hashes.iter().filter(|h| !set.contains(h)).count() * ITEM
            }
        };
        self.reserve(&mut st, grow)?;
        match st.uniques.entry(key).or_insert_with(|| Unique::Live {
            members: HashSet::new(),
            touched: now,
        }) {
            Unique::Live { members, touched } => {
                members.extend(hashes);
                *touched = now;
            }
            Unique::Frozen { late, .. } => late.extend(hashes),
        }
        Ok(())
    }

    pub fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        let st = self.lock();
        Ok(unique_count(&st, name, day))
    }

    pub fn count_uniques(&self, keys: &[(String, String)]) -> Result<Vec<u64>, StoreError> {
        let st = self.lock();
        Ok(keys
            .iter()
            .map(|(name, day)| unique_count(&st, name, day))
            .collect())
    }

    pub fn admit(
        &self,
        name: &str,
        day: &str,
        values: &[&str],
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let key = (name.to_owned(), day.to_owned());
        // Decide first, so exactly the bytes of what is added are reserved.
        let (admitted, added, grow) = {
            let empty = HashSet::new();
            let (held, new_set) = st
                .admitted
                .get(&key)
                .map_or((&empty, true), |(set, _)| (set, false));
            let mut added: HashSet<&str> = HashSet::new();
            let admitted: Vec<bool> = values
                .iter()
                .map(|v| {
                    if held.contains(*v) || added.contains(v) {
                        true
                    } else if held.len() + added.len() < max {
                        added.insert(v);
                        true
                    } else {
                        false
                    }
                })
                .collect();
            let grow = added.iter().map(|v| v.len() + ITEM).sum::<usize>()
                + if new_set {
                    OVERHEAD + name.len() + day.len()
                } else {
                    0
                };
            (admitted, added, grow)
        };
        self.reserve(&mut st, grow)?;
        let (set, expires) = st
            .admitted
            .entry(key)
            .or_insert_with(|| (HashSet::new(), 0));
        *expires = deadline(now, ttl);
        set.extend(added.into_iter().map(str::to_owned));
        Ok(admitted)
    }

    // ---- daily salts ----

    pub fn daily_salt(
        &self,
        day: &str,
        candidate: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        if let Some(salt) = st.salts.get(day).filter(|s| s.expires > now) {
            return Ok(salt.data.to_vec());
        }
        let size = OVERHEAD + day.len() + candidate.len();
        self.reserve(&mut st, size)?;
        let old = st.salts.insert(
            day.to_owned(),
            Expiring {
                data: Arc::from(candidate),
                expires: deadline(now, ttl),
            },
        );
        if let Some(old) = old {
            st.free(OVERHEAD + day.len() + old.data.len());
        }
        Ok(candidate.to_vec())
    }

    pub fn get_salt(&self, day: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .salts
            .get(day)
            .filter(|s| s.expires > now)
            .map(|s| s.data.to_vec()))
    }

    pub fn delete_salt(&self, day: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        if let Some(old) = st.salts.remove(day) {
            st.free(OVERHEAD + day.len() + old.data.len());
        }
        Ok(())
    }

    // ---- API tokens ----

    pub fn put_api_token(
        &self,
        hash: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let old_size = st
            .api_tokens
            .get(hash)
            .map_or(0, |t| OVERHEAD + hash.len() + t.data.len());
        let new_size = OVERHEAD + hash.len() + record.len();
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        st.api_tokens.insert(
            hash.to_owned(),
            Expiring {
                data: Arc::from(record),
                expires: deadline(now, ttl),
            },
        );
        Ok(())
    }

    pub fn get_api_token(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .api_tokens
            .get(hash)
            .filter(|t| t.expires > now)
            .map(|t| t.data.to_vec()))
    }

    pub fn list_api_tokens(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let now = self.now();
        let st = self.lock();
        let mut all: Vec<(String, Vec<u8>)> = st
            .api_tokens
            .iter()
            .filter(|(_, t)| t.expires > now)
            .map(|(h, t)| (h.clone(), t.data.to_vec()))
            .collect();
        all.sort();
        Ok(all)
    }

    pub fn delete_api_token(&self, hash: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        Ok(match st.api_tokens.remove(hash) {
            Some(old) => {
                st.free(OVERHEAD + hash.len() + old.data.len());
                old.expires > now
            }
            None => false,
        })
    }

    // ---- sessions ----

    pub fn put_session(&self, id: &str, data: &[u8], idle: Duration) -> Result<(), StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let old_size = st
            .sessions
            .get(id)
            .map_or(0, |s| OVERHEAD + id.len() + s.data.len());
        let new_size = OVERHEAD + id.len() + data.len();
        self.reserve(&mut st, new_size.saturating_sub(old_size))?;
        st.free(old_size.saturating_sub(new_size));
        st.sessions.insert(
            id.to_owned(),
            Expiring {
                data: Arc::from(data),
                expires: deadline(now, idle),
            },
        );
        Ok(())
    }

    pub fn get_session(&self, id: &str, idle: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let found = {
            let mut st = self.lock();
            match st.sessions.get_mut(id) {
                Some(s) if s.expires > now => {
                    s.expires = deadline(now, idle);
                    Some(s.data.clone())
                }
                Some(_) => {
                    if let Some(old) = st.sessions.remove(id) {
                        st.free(OVERHEAD + id.len() + old.data.len());
                    }
                    None
                }
                None => None,
            }
        };
        Ok(found.map(|d| d.to_vec()))
    }

    pub fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        if let Some(old) = st.sessions.remove(id) {
            st.free(OVERHEAD + id.len() + old.data.len());
        }
        Ok(())
    }

    // ---- audit ----

    pub fn append_audit(&self, entry: &[u8]) -> Result<String, StoreError> {
        let ms = self.now();
        let mut st = self.lock();
        self.reserve(&mut st, OVERHEAD + entry.len())?;
        // Ids increase even if the wall clock steps back, like Redis stream ids.
        let (ms, seq) = match st.audit.back() {
            Some(&(last_ms, last_seq, _)) if last_ms >= ms => (last_ms, last_seq + 1),
            _ => (ms, 0),
        };
        st.audit.push_back((ms, seq, Arc::from(entry)));
        self.trim_audit(&mut st, ms);
        Ok(format!("{ms}-{seq}"))
    }

    pub fn read_audit_page(
        &self,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<Vec<(AuditId, Vec<u8>)>, StoreError> {
        let page: Vec<(AuditId, Arc<[u8]>)> = {
            let st = self.lock();
            st.audit
                .iter()
                .rev()
                .map(|(ms, seq, e)| (AuditId { ms: *ms, seq: *seq }, e))
                .filter(|(id, _)| before.is_none_or(|b| *id < b))
                .take(limit)
                .map(|(id, e)| (id, e.clone()))
                .collect()
        };
        Ok(page.into_iter().map(|(id, e)| (id, e.to_vec())).collect())
    }

    // ---- rate limits ----

    pub fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        match st.rate.get_mut(key) {
            Some(w) if w.expires > now => {
                w.count += 1;
                Ok(w.count)
            }
            Some(w) => {
                *w = RateWindow {
                    count: 1,
                    expires: deadline(now, window),
                };
                Ok(1)
            }
            None => {
                self.reserve(&mut st, OVERHEAD + key.len())?;
                st.rate.insert(
                    key.to_owned(),
                    RateWindow {
                        count: 1,
                        expires: deadline(now, window),
                    },
                );
                Ok(1)
            }
        }
    }

    pub fn peek_rate_limit(&self, key: &str) -> Result<u64, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .rate
            .get(key)
            .filter(|w| w.expires > now)
            .map_or(0, |w| w.count))
    }

    pub fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        let mut st = self.lock();
        if st.rate.remove(key).is_some() {
            st.free(OVERHEAD + key.len());
        }
        Ok(())
    }

    // ---- shared values ----

    pub fn put_if_absent(
        &self,
        name: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        if let Some(held) = st.shared.get(name).filter(|v| v.expires > now) {
            return Ok(held.data.to_vec());
        }
        let old = st
            .shared
            .remove(name)
            .map_or(0, |v| OVERHEAD + name.len() + v.data.len());
        st.free(old);
        self.reserve(&mut st, OVERHEAD + name.len() + value.len())?;
        st.shared.insert(
            name.to_owned(),
            Expiring {
                data: Arc::from(value),
                expires: deadline(now, ttl),
            },
        );
        Ok(value.to_vec())
    }
}

fn admitted_size(name: &str, day: &str, set: &HashSet<String>) -> usize {
    OVERHEAD + name.len() + day.len() + set.iter().map(|v| v.len() + ITEM).sum::<usize>()
}

fn unique_count(st: &State, name: &str, day: &str) -> u64 {
    match st.uniques.get(&(name.to_owned(), day.to_owned())) {
        None => 0,
        Some(Unique::Live { members, .. }) => members.len() as u64,
        Some(Unique::Frozen { count, late }) => count + late.len() as u64,
    }
}

fn unlink_email(
    emails: &mut HashMap<String, BTreeSet<(String, String)>>,
    form: &str,
    record: &FormEntryRecord,
) {
    for h in record.indexed_hashes() {
        if let Some(set) = emails.get_mut(&h) {
            set.remove(&(form.to_owned(), record.id.clone()));
            if set.is_empty() {
                emails.remove(&h);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use std::sync::Arc;

    fn entry(id: &str, created: u64, email: Option<&str>) -> FormEntryRecord {
        FormEntryRecord {
            id: id.to_owned(),
            form: "contact".to_owned(),
            created,
            ciphertext: id.as_bytes().to_vec(),
            email_hash: email.map(str::to_owned),
            lookup_hashes: Vec::new(),
            restricted: false,
        }
    }

    /// A store on a clock of its own, purging on every call.
    fn store() -> (MemoryStore, Arc<TestClock>) {
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let limits = MemoryLimits {
            purge_interval: Duration::ZERO,
            ..MemoryLimits::default()
        };
        (MemoryStore::with_clock(limits, clock.clone()), clock)
    }

    const LONG: Duration = Duration::from_secs(3600);
    const SHORT: Duration = Duration::from_millis(30);
    const PAST_SHORT: Duration = Duration::from_millis(31);

    #[test]
    fn receipt_history_keeps_every_put_oldest_first() {
        let (s, _clock) = store();
        s.put_receipt("r", b"one", LONG).unwrap();
        s.put_receipt("r", b"two", LONG).unwrap();
        assert_eq!(s.get_receipt("r").unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(
            s.receipt_history("r", 0, 10).unwrap().receipts,
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert!(s.delete_receipt("r").unwrap());
        assert_eq!(s.get_receipt("r").unwrap(), None);
        assert_eq!(s.receipt_history("r", 0, 10).unwrap().total, 0);
        assert!(!s.delete_receipt("r").unwrap());
    }

    #[test]
    fn receipt_history_keeps_the_newest_and_reads_by_page() {
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let limits = MemoryLimits {
            receipt_history_max: 3,
            ..MemoryLimits::default()
        };
        let s = MemoryStore::with_clock(limits, clock);
        for i in 0..10u8 {
            s.put_receipt("r", &[i], LONG).unwrap();
        }
        let all = s.receipt_history("r", 0, 10).unwrap();
        assert_eq!(all.receipts, [[7], [8], [9]]);
        assert_eq!(all.total, 3);
        let page = s.receipt_history("r", 1, 1).unwrap();
        assert_eq!((page.receipts, page.total), (vec![vec![8]], 3));
        assert_eq!(s.get_receipt("r").unwrap(), Some(vec![9]));
    }

    #[test]
    fn a_full_store_refuses_writes_until_records_expire_or_go() {
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let limits = MemoryLimits {
            purge_interval: Duration::ZERO,
            max_bytes: 4096,
            ..MemoryLimits::default()
        };
        let s = MemoryStore::with_clock(limits, clock.clone());
        let receipt = [b'x'; 500];
        let mut stored = 0;
        let refused = loop {
            match s.put_receipt(&format!("id-{stored}"), &receipt, SHORT) {
                Ok(_) => stored += 1,
                Err(e) => break e,
            }
            assert!(stored < 100, "never refused");
        };
        assert!(
            matches!(refused, StoreError::Full { limit_bytes: 4096 }),
            "{refused:?}"
        );
        assert!(refused.is_transient());
        assert!(s.used_bytes() <= 4096);
        // Every kind of write is refused, reads and deletions still work.
        assert!(s.put_session("s", &receipt, LONG).is_err());
        assert!(s.hit_rate_limit("k", LONG).is_err());
        assert_eq!(s.get_receipt("id-0").unwrap(), Some(receipt.to_vec()));
        assert!(s.delete_receipt("id-0").unwrap());
        s.put_receipt("after-delete", &receipt, LONG).unwrap();
        // Expiry gives the rest back.
        clock.advance(PAST_SHORT);
        s.ping().unwrap();
        let one_receipt = s.used_bytes();
        assert!(one_receipt < 1024, "{one_receipt}");
        assert!(s.delete_receipt("after-delete").unwrap());
        assert_eq!(s.used_bytes(), 0);
    }

    #[test]
    fn every_kind_of_record_gives_its_bytes_back() {
        let (s, clock) = store();
        s.put_receipt("r", b"receipt", SHORT).unwrap();
        s.put_receipt("r", b"again", SHORT).unwrap();
        s.put_form_entry("contact", &entry("a", 1, Some("h")), SHORT)
            .unwrap();
        s.put_form_entry("contact", &entry("a", 1, Some("h2")), SHORT)
            .unwrap();
        s.put_session("s", b"data", SHORT).unwrap();
        s.hit_rate_limit("k", SHORT).unwrap();
        let entry = ReceiptIndexEntry {
            id: "r",
            seq: 2,
            action: "custom",
            time_ms: 1,
            receipt: b"again",
        };
        s.index_receipt(&entry, SHORT).unwrap();
        s.index_receipt(&entry, SHORT).unwrap();
        s.archive_texts("hash", b"texts", 1, "nl", 1, SHORT)
            .unwrap();
        s.archive_texts("hash", b"texts", 1, "nl", 2, SHORT)
            .unwrap();
        assert!(s.used_bytes() > 0);
        clock.advance(PAST_SHORT);
        s.ping().unwrap();
        assert_eq!(s.used_bytes(), 0);
    }

    #[test]
    fn expired_receipt_and_history_are_gone_and_purged() {
        let (s, clock) = store();
        s.put_receipt("r", b"one", SHORT).unwrap();
        clock.advance(PAST_SHORT);
        assert_eq!(s.get_receipt("r").unwrap(), None);
        assert_eq!(s.receipt_history("r", 0, 10).unwrap().total, 0);
        s.put_receipt("r", b"two", LONG).unwrap();
        assert_eq!(
            s.receipt_history("r", 0, 10).unwrap().receipts,
            vec![b"two".to_vec()]
        );
        clock.advance(Duration::from_millis(1));
        s.put_receipt("other", b"x", SHORT).unwrap();
        clock.advance(PAST_SHORT);
        s.ping().unwrap();
        assert_eq!(s.lock().receipts.len(), 1, "expired receipt purged");
    }

    #[test]
    fn form_list_is_newest_first_paged_and_skips_expired() {
        let (s, clock) = store();
        s.put_form_entry("contact", &entry("a", 100, None), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("b", 300, None), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("c", 200, None), SHORT)
            .unwrap();
        let page = s.list_form_entries("contact", 0, 10).unwrap();
        let ids: Vec<_> = page.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        clock.advance(PAST_SHORT);
        let page = s.list_form_entries("contact", 1, 10).unwrap();
        let ids: Vec<_> = page.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(page.total, 2);
    }

    #[test]
    fn email_index_follows_put_delete_and_expiry() {
        let (s, clock) = store();
        s.put_form_entry("contact", &entry("a", 1, Some("h1")), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("b", 2, Some("h1")), SHORT)
            .unwrap();
        s.put_form_entry("other", &entry("c", 3, Some("h1")), LONG)
            .unwrap();
        assert_eq!(s.find_form_entries_by_hash("h1").unwrap().len(), 3);
        clock.advance(PAST_SHORT);
        assert!(s.delete_form_entry("contact", "a").unwrap());
        assert_eq!(
            s.find_form_entries_by_hash("h1").unwrap(),
            vec![("other".to_owned(), "c".to_owned())]
        );
        assert!(s.get_form_entry("contact", "a").unwrap().is_none());
    }

    #[test]
    fn session_idle_expiry_is_refreshed_by_reads() {
        let (s, clock) = store();
        let idle = Duration::from_millis(150);
        s.put_session("s", b"d", idle).unwrap();
        for _ in 0..4 {
            clock.advance(Duration::from_millis(100));
            assert!(s.get_session("s", idle).unwrap().is_some());
        }
        clock.advance(idle);
        assert!(s.get_session("s", idle).unwrap().is_none());
    }

    #[test]
    fn audit_is_bounded_and_newest_first() {
        let s = MemoryStore::new(MemoryLimits {
            audit_max_entries: 3,
            ..MemoryLimits::default()
        });
        let ids: Vec<String> = (0..5u8).map(|i| s.append_audit(&[i]).unwrap()).collect();
        let read = s.read_audit_page(None, 10).unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(
            (read[0].0.to_string(), read[0].1.clone()),
            (ids[4].clone(), vec![4])
        );
        assert_eq!(read[2].1, vec![2]);
    }

    #[test]
    fn audit_entries_older_than_the_retention_are_dropped() {
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let s = MemoryStore::with_clock(
            MemoryLimits {
                audit_retention: Duration::from_secs(60),
                ..MemoryLimits::default()
            },
            clock.clone(),
        );
        let old = s.append_audit(b"old").unwrap();
        assert!(old.starts_with("1700000000000-"), "{old}");
        clock.advance(Duration::from_secs(61));
        s.append_audit(b"new").unwrap();
        let read = s.read_audit_page(None, 10).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].1, b"new".to_vec());
    }

    #[test]
    fn rate_limit_window_restarts_after_expiry() {
        let (s, clock) = store();
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 1);
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 2);
        clock.advance(PAST_SHORT);
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 1);
    }

    #[test]
    fn a_shared_value_is_kept_until_it_expires_then_replaced() {
        let (s, clock) = store();
        assert_eq!(s.put_if_absent("k", b"first", SHORT).unwrap(), b"first");
        assert_eq!(s.put_if_absent("k", b"second", LONG).unwrap(), b"first");
        clock.advance(PAST_SHORT);
        assert_eq!(s.put_if_absent("k", b"second", LONG).unwrap(), b"second");
        let before = s.used_bytes();
        clock.advance(LONG);
        s.ping().unwrap();
        assert!(s.used_bytes() < before, "expired value purged");
    }

    #[test]
    fn frozen_unique_set_keeps_its_count_and_counts_later_members() {
        let s = MemoryStore::new(MemoryLimits {
            purge_interval: Duration::ZERO,
            unique_freeze_after: Duration::ZERO,
            ..MemoryLimits::default()
        });
        s.add_uniques("v", "2026-01-01", &[b"a", b"b"]).unwrap();
        s.add_uniques("v", "2026-01-01", &[b"c"]).unwrap();
        assert_eq!(s.count_unique("v", "2026-01-01").unwrap(), 3);
        assert_eq!(s.count_unique("v", "2026-01-02").unwrap(), 0);
    }
}
