//! The embedded store: everything in one in-process map behind a mutex, with the same
//! semantics as the Redis backend — TTL expiry, newest-first form index, multi-key updates that
//! are atomic (one lock), bounded audit log. Uniques are counted exactly (a 64-bit hash per
//! member, never the member itself).
//!
//! What it does not give: data does not survive a restart, and several gates cannot share it
//! (each would see only its own receipts, entries, sessions and rate limits). Use Redis for
//! either.
//!
//! Growth is bounded: expired records are invisible at once and purged from memory at most
//! [`MemoryLimits::purge_interval`] after they expire (checked on every call, no background
//! task, so `Store::memory()` needs no runtime). Unique-member sets of a day that has not been
//! written for [`MemoryLimits::unique_freeze_after`] are reduced to their count.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::clock::{Clock, SystemClock};

use super::{
    AuditId, FormEntryRecord, FormPage, KeyLayout, ReceiptIndexEntry, ReceiptPage, ReceiptQuery,
    StoreError, TextVersionRecord,
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
}

impl Default for MemoryLimits {
    fn default() -> Self {
        Self {
            audit_max_entries: 10_000,
            audit_retention: Duration::from_secs(180 * 24 * 3600),
            purge_interval: Duration::from_secs(1),
            unique_freeze_after: Duration::from_secs(48 * 3600),
        }
    }
}

struct Receipt {
    current: Option<Vec<u8>>,
    history: Vec<Vec<u8>>,
    expires: Instant,
}

struct StoredEntry {
    record: FormEntryRecord,
    expires: Instant,
}

#[derive(Default)]
struct Form {
    entries: HashMap<String, StoredEntry>,
    /// (created, id); iterated in reverse for newest first — the order of Redis `ZREVRANGE`.
    index: BTreeSet<(u64, String)>,
    /// Expired entries the periodic purge dropped since the last list or sweep of this form;
    /// reported by `sweep_form_index` as Redis would report them.
    swept_pending: usize,
}

impl Form {
    fn remove(&mut self, id: &str) -> Option<StoredEntry> {
        let old = self.entries.remove(id)?;
        self.index.remove(&(old.record.created, id.to_owned()));
        Some(old)
    }

    /// Removes expired entries; returns them so the caller can clean the e-mail index.
    fn sweep(&mut self, now: Instant) -> Vec<StoredEntry> {
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
    receipt: Vec<u8>,
    expires: Instant,
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
    fn remove(&mut self, member: &str) -> bool {
        match self.members.remove(member) {
            Some(old) => {
                self.by_time.remove(&(old.time_ms, member.to_owned()));
                true
            }
            None => false,
        }
    }

    fn sweep(&mut self, now: Instant) -> usize {
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.expires <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for member in &expired {
            self.remove(member);
        }
        expired.len()
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

enum Unique {
    Live {
        members: HashSet<u64>,
        touched: Instant,
    },
    /// Count of a set that was frozen, plus members added after that.
    Frozen { count: u64, late: HashSet<u64> },
}

struct Expiring {
    data: Vec<u8>,
    expires: Instant,
}

struct RateWindow {
    count: u64,
    expires: Instant,
}

#[derive(Default)]
struct State {
    receipts: HashMap<String, Receipt>,
    forms: HashMap<String, Form>,
    /// email hash → (form, id)
    emails: HashMap<String, BTreeSet<(String, String)>>,
    counters: HashMap<(String, String), BTreeMap<String, i64>>,
    uniques: HashMap<(String, String), Unique>,
    sessions: HashMap<String, Expiring>,
    receipt_index: ReceiptIndex,
    /// Banner texts by hash, with their expiry.
    texts: HashMap<String, (TextVersionRecord, Instant)>,
    /// (unix ms, seq, entry), oldest first.
    audit: VecDeque<(u64, u64, Vec<u8>)>,
    rate: HashMap<String, RateWindow>,
    /// Values admitted per (name, day), with their expiry.
    admitted: HashMap<(String, String), (HashSet<String>, Instant)>,
    /// Daily salts by day.
    salts: HashMap<String, Expiring>,
    /// API tokens by hash.
    api_tokens: HashMap<String, Expiring>,
    last_purge: Option<Instant>,
}

/// See the module documentation.
pub struct MemoryStore {
    state: Mutex<State>,
    limits: MemoryLimits,
}

/// Wall-clock milliseconds for audit ids and retention. The system clock, not an injected one:
/// these must follow the same real time as Redis (which stamps its stream ids itself), and
/// expiry here runs on `Instant` like Redis's TTLs.
fn unix_ms() -> u64 {
    SystemClock.unix_ms()
}

fn hash64(bytes: &[u8]) -> u64 {
    // Stable within the process, which is all an exact in-memory count needs.
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl MemoryStore {
    pub fn new(limits: MemoryLimits) -> Self {
        Self {
            state: Mutex::new(State::default()),
            limits,
        }
    }

    /// Locks the state and purges expired data if the last purge is older than the interval.
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied update visible to callers
        // in a way that matters more than losing the store, so recover the guard.
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = st
            .last_purge
            .is_none_or(|t| now.duration_since(t) >= self.limits.purge_interval);
        if due {
            self.purge(&mut st, now);
            st.last_purge = Some(now);
        }
        st
    }

    fn purge(&self, st: &mut State, now: Instant) {
        st.receipts.retain(|_, r| r.expires > now);
        let swept = st.receipt_index.sweep(now);
        st.receipt_index.swept_pending += swept;
        st.texts.retain(|_, (_, expires)| *expires > now);
        st.sessions.retain(|_, s| s.expires > now);
        st.rate.retain(|_, r| r.expires > now);
        st.admitted.retain(|_, (_, expires)| *expires > now);
        st.salts.retain(|_, s| s.expires > now);
        st.api_tokens.retain(|_, t| t.expires > now);
        let mut gone = Vec::new();
        for (form, f) in st.forms.iter_mut() {
            let swept = f.sweep(now);
            f.swept_pending += swept.len();
            gone.extend(swept.into_iter().map(|e| (form.clone(), e)));
        }
        st.forms
            .retain(|_, f| !f.entries.is_empty() || f.swept_pending > 0);
        for (form, e) in gone {
            unlink_email(&mut st.emails, &form, &e.record);
        }
        let freeze = self.limits.unique_freeze_after;
        for u in st.uniques.values_mut() {
            if let Unique::Live { members, touched } = u {
                if now.duration_since(*touched) >= freeze {
                    *u = Unique::Frozen {
                        count: members.len() as u64,
                        late: HashSet::new(),
                    };
                }
            }
        }
        self.trim_audit(st);
    }

    fn trim_audit(&self, st: &mut State) {
        let min_ms = unix_ms().saturating_sub(self.limits.audit_retention.as_millis() as u64);
        while st.audit.len() > self.limits.audit_max_entries
            || st.audit.front().is_some_and(|(ms, _, _)| *ms < min_ms)
        {
            st.audit.pop_front();
        }
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    // ---- receipts ----

    pub fn put_receipt(&self, id: &str, receipt: &[u8], ttl: Duration) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let r = st.receipts.entry(id.to_owned()).or_insert(Receipt {
            current: None,
            history: Vec::new(),
            expires: now,
        });
        if r.expires <= now {
            r.current = None;
            r.history.clear();
        }
        r.current = Some(receipt.to_vec());
        r.history.push(receipt.to_vec());
        r.expires = now + ttl;
        Ok(r.history.len() as u64)
    }

    pub fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .receipts
            .get(id)
            .filter(|r| r.expires > now)
            .and_then(|r| r.current.clone()))
    }

    pub fn receipt_history(&self, id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .receipts
            .get(id)
            .filter(|r| r.expires > now)
            .map(|r| r.history.clone())
            .unwrap_or_default())
    }

    pub fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let Some(old) = st.receipts.remove(id) else {
            return Ok(false);
        };
        for seq in 1..=old.history.len() as u64 {
            st.receipt_index.remove(&KeyLayout::receipt_member(id, seq));
        }
        Ok(old.expires > now)
    }

    pub fn index_receipt(
        &self,
        entry: &ReceiptIndexEntry<'_>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let member = KeyLayout::receipt_member(entry.id, entry.seq);
        let mut st = self.lock();
        let index = &mut st.receipt_index;
        // Like ZADD on an existing member: the newer decision replaces it.
        index.remove(&member);
        index.by_time.insert((entry.time_ms, member.clone()));
        index.members.insert(
            member,
            IndexedReceipt {
                time_ms: entry.time_ms,
                action: entry.action.to_owned(),
                receipt: entry.receipt.to_vec(),
                expires: now + ttl,
            },
        );
        Ok(())
    }

    pub fn list_receipts(&self, q: &ReceiptQuery<'_>) -> Result<ReceiptPage, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let index = &mut st.receipt_index;
        index.sweep(now);
        index.swept_pending = 0;
        let mut matching = index.range(q.from_ms, q.to_ms, q.action);
        if q.newest_first {
            matching.reverse();
        }
        Ok(ReceiptPage {
            total: matching.len(),
            receipts: matching
                .into_iter()
                .skip(q.offset)
                .take(q.limit)
                .map(|m| m.receipt.clone())
                .collect(),
        })
    }

    pub fn count_receipts(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let index = &mut st.receipt_index;
        index.sweep(now);
        index.swept_pending = 0;
        let mut counts = BTreeMap::new();
        for m in index.range(from_ms, to_ms, None) {
            *counts.entry(m.action.clone()).or_insert(0) += 1;
        }
        Ok(counts)
    }

    pub fn sweep_receipt_index(&self) -> Result<usize, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let index = &mut st.receipt_index;
        let swept = index.sweep(now);
        Ok(swept + std::mem::take(&mut index.swept_pending))
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
        let now = Instant::now();
        let mut st = self.lock();
        let fresh = || TextVersionRecord {
            body: body.to_vec(),
            revision,
            language: language.to_owned(),
            first_used: used_at,
            last_used: used_at,
        };
        let entry = st
            .texts
            .entry(hash.to_owned())
            .or_insert_with(|| (fresh(), now + ttl));
        if entry.1 <= now {
            *entry = (fresh(), now + ttl);
        }
        let (record, expires) = entry;
        record.first_used = record.first_used.min(used_at);
        record.last_used = record.last_used.max(used_at);
        *expires = (*expires).max(now + ttl);
        Ok(())
    }

    pub fn get_texts(&self, hash: &str) -> Result<Option<TextVersionRecord>, StoreError> {
        let now = Instant::now();
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
        let now = Instant::now();
        let mut record = entry.clone();
        // The key decides the form, as on Redis.
        record.form = form.to_owned();
        let mut st = self.lock();
        let f = st.forms.entry(form.to_owned()).or_default();
        let old = f.remove(&record.id);
        f.index.insert((record.created, record.id.clone()));
        f.entries.insert(
            record.id.clone(),
            StoredEntry {
                record: record.clone(),
                expires: now + ttl,
            },
        );
        if let Some(old) = old {
            unlink_email(&mut st.emails, form, &old.record);
        }
        if let Some(h) = &record.email_hash {
            st.emails
                .entry(h.clone())
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
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .forms
            .get(form)
            .and_then(|f| f.entries.get(id))
            .filter(|e| e.expires > now)
            .map(|e| e.record.clone()))
    }

    pub fn list_form_entries(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<FormPage, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let State { forms, emails, .. } = &mut *st;
        let Some(f) = forms.get_mut(form) else {
            return Ok(FormPage::default());
        };
        for e in f.sweep(now) {
            unlink_email(emails, form, &e.record);
        }
        f.swept_pending = 0;
        let entries = f
            .index
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .filter_map(|(_, id)| f.entries.get(id).map(|e| e.record.clone()))
            .collect();
        Ok(FormPage {
            entries,
            total: f.entries.len(),
        })
    }

    pub fn delete_form_entry(&self, form: &str, id: &str) -> Result<bool, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let Some(old) = st.forms.get_mut(form).and_then(|f| f.remove(id)) else {
            return Ok(false);
        };
        unlink_email(&mut st.emails, form, &old.record);
        Ok(old.expires > now)
    }

    pub fn find_form_entries_by_email(
        &self,
        email_hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        let Some(set) = st.emails.get(email_hash) else {
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
        let now = Instant::now();
        let mut st = self.lock();
        let State { forms, emails, .. } = &mut *st;
        let Some(f) = forms.get_mut(form) else {
            return Ok(0);
        };
        let gone = f.sweep(now);
        for e in &gone {
            unlink_email(emails, form, &e.record);
        }
        Ok(gone.len() + std::mem::take(&mut f.swept_pending))
    }

    // ---- counters ----

    pub fn incr_counters(
        &self,
        name: &str,
        day: &str,
        fields: &[(&str, i64)],
    ) -> Result<(), StoreError> {
        let mut st = self.lock();
        let map = st
            .counters
            .entry((name.to_owned(), day.to_owned()))
            .or_default();
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

    pub fn add_uniques(
        &self,
        name: &str,
        day: &str,
        members: &[&[u8]],
    ) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        let mut st = self.lock();
        let set = st
            .uniques
            .entry((name.to_owned(), day.to_owned()))
            .or_insert_with(|| Unique::Live {
                members: HashSet::new(),
                touched: now,
            });
        for member in members {
            let h = hash64(member);
            match set {
                Unique::Live { members, touched } => {
                    members.insert(h);
                    *touched = now;
                }
                Unique::Frozen { late, .. } => {
                    late.insert(h);
                }
            }
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
        let now = Instant::now();
        let mut st = self.lock();
        let (set, expires) = st
            .admitted
            .entry((name.to_owned(), day.to_owned()))
            .or_insert_with(|| (HashSet::new(), now + ttl));
        *expires = now + ttl;
        Ok(values
            .iter()
            .map(|v| {
                if set.contains(*v) {
                    true
                } else if set.len() < max {
                    set.insert((*v).to_owned());
                    true
                } else {
                    false
                }
            })
            .collect())
    }

    // ---- daily salts ----

    pub fn daily_salt(
        &self,
        day: &str,
        candidate: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let salt = st.salts.entry(day.to_owned()).or_insert_with(|| Expiring {
            data: candidate.to_vec(),
            expires: now + ttl,
        });
        if salt.expires <= now {
            *salt = Expiring {
                data: candidate.to_vec(),
                expires: now + ttl,
            };
        }
        Ok(salt.data.clone())
    }

    pub fn get_salt(&self, day: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .salts
            .get(day)
            .filter(|s| s.expires > now)
            .map(|s| s.data.clone()))
    }

    pub fn delete_salt(&self, day: &str) -> Result<(), StoreError> {
        self.lock().salts.remove(day);
        Ok(())
    }

    // ---- API tokens ----

    pub fn put_api_token(
        &self,
        hash: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        self.lock().api_tokens.insert(
            hash.to_owned(),
            Expiring {
                data: record.to_vec(),
                expires: now + ttl,
            },
        );
        Ok(())
    }

    pub fn get_api_token(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .api_tokens
            .get(hash)
            .filter(|t| t.expires > now)
            .map(|t| t.data.clone()))
    }

    pub fn list_api_tokens(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        let mut all: Vec<(String, Vec<u8>)> = st
            .api_tokens
            .iter()
            .filter(|(_, t)| t.expires > now)
            .map(|(h, t)| (h.clone(), t.data.clone()))
            .collect();
        all.sort();
        Ok(all)
    }

    pub fn delete_api_token(&self, hash: &str) -> Result<bool, StoreError> {
        let now = Instant::now();
        Ok(self
            .lock()
            .api_tokens
            .remove(hash)
            .is_some_and(|t| t.expires > now))
    }

    // ---- sessions ----

    pub fn put_session(&self, id: &str, data: &[u8], idle: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        st.sessions.insert(
            id.to_owned(),
            Expiring {
                data: data.to_vec(),
                expires: now + idle,
            },
        );
        Ok(())
    }

    pub fn get_session(&self, id: &str, idle: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        match st.sessions.get_mut(id) {
            Some(s) if s.expires > now => {
                s.expires = now + idle;
                Ok(Some(s.data.clone()))
            }
            Some(_) => {
                st.sessions.remove(id);
                Ok(None)
            }
            None => Ok(None),
        }
    }

    pub fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.lock().sessions.remove(id);
        Ok(())
    }

    // ---- audit ----

    pub fn append_audit(&self, entry: &[u8]) -> Result<String, StoreError> {
        let ms = unix_ms();
        let mut st = self.lock();
        // Ids increase even if the wall clock steps back, like Redis stream ids.
        let (ms, seq) = match st.audit.back() {
            Some(&(last_ms, last_seq, _)) if last_ms >= ms => (last_ms, last_seq + 1),
            _ => (ms, 0),
        };
        st.audit.push_back((ms, seq, entry.to_vec()));
        self.trim_audit(&mut st);
        Ok(format!("{ms}-{seq}"))
    }

    pub fn read_audit_page(
        &self,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<Vec<(AuditId, Vec<u8>)>, StoreError> {
        let st = self.lock();
        Ok(st
            .audit
            .iter()
            .rev()
            .map(|(ms, seq, e)| (AuditId { ms: *ms, seq: *seq }, e))
            .filter(|(id, _)| before.is_none_or(|b| *id < b))
            .take(limit)
            .map(|(id, e)| (id, e.clone()))
            .collect())
    }

    // ---- rate limits ----

    pub fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let now = Instant::now();
        let mut st = self.lock();
        let w = st.rate.entry(key.to_owned()).or_insert(RateWindow {
            count: 0,
            expires: now + window,
        });
        if w.expires <= now {
            *w = RateWindow {
                count: 0,
                expires: now + window,
            };
        }
        w.count += 1;
        Ok(w.count)
    }

    pub fn peek_rate_limit(&self, key: &str) -> Result<u64, StoreError> {
        let now = Instant::now();
        let st = self.lock();
        Ok(st
            .rate
            .get(key)
            .filter(|w| w.expires > now)
            .map_or(0, |w| w.count))
    }

    pub fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        self.lock().rate.remove(key);
        Ok(())
    }
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
    let Some(h) = &record.email_hash else { return };
    if let Some(set) = emails.get_mut(h) {
        set.remove(&(form.to_owned(), record.id.clone()));
        if set.is_empty() {
            emails.remove(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, created: u64, email: Option<&str>) -> FormEntryRecord {
        FormEntryRecord {
            id: id.to_owned(),
            form: "contact".to_owned(),
            created,
            ciphertext: id.as_bytes().to_vec(),
            email_hash: email.map(str::to_owned),
        }
    }

    fn store() -> MemoryStore {
        MemoryStore::new(MemoryLimits {
            purge_interval: Duration::ZERO,
            ..MemoryLimits::default()
        })
    }

    const LONG: Duration = Duration::from_secs(3600);
    const SHORT: Duration = Duration::from_millis(30);

    fn wait_past(d: Duration) {
        std::thread::sleep(d + Duration::from_millis(20));
    }

    #[test]
    fn receipt_history_keeps_every_put_oldest_first() {
        let s = store();
        s.put_receipt("r", b"one", LONG).unwrap();
        s.put_receipt("r", b"two", LONG).unwrap();
        assert_eq!(s.get_receipt("r").unwrap().as_deref(), Some(&b"two"[..]));
        assert_eq!(
            s.receipt_history("r").unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert!(s.delete_receipt("r").unwrap());
        assert_eq!(s.get_receipt("r").unwrap(), None);
        assert!(s.receipt_history("r").unwrap().is_empty());
        assert!(!s.delete_receipt("r").unwrap());
    }

    #[test]
    fn expired_receipt_and_history_are_gone_and_purged() {
        let s = store();
        s.put_receipt("r", b"one", SHORT).unwrap();
        wait_past(SHORT);
        assert_eq!(s.get_receipt("r").unwrap(), None);
        assert!(s.receipt_history("r").unwrap().is_empty());
        s.put_receipt("r", b"two", LONG).unwrap();
        assert_eq!(s.receipt_history("r").unwrap(), vec![b"two".to_vec()]);
        wait_past(Duration::ZERO);
        s.put_receipt("other", b"x", SHORT).unwrap();
        wait_past(SHORT);
        s.ping().unwrap();
        assert_eq!(s.lock().receipts.len(), 1, "expired receipt purged");
    }

    #[test]
    fn form_list_is_newest_first_paged_and_skips_expired() {
        let s = store();
        s.put_form_entry("contact", &entry("a", 100, None), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("b", 300, None), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("c", 200, None), SHORT)
            .unwrap();
        let page = s.list_form_entries("contact", 0, 10).unwrap();
        let ids: Vec<_> = page.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["b", "c", "a"]);
        wait_past(SHORT);
        let page = s.list_form_entries("contact", 1, 10).unwrap();
        let ids: Vec<_> = page.entries.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a"]);
        assert_eq!(page.total, 2);
    }

    #[test]
    fn email_index_follows_put_delete_and_expiry() {
        let s = store();
        s.put_form_entry("contact", &entry("a", 1, Some("h1")), LONG)
            .unwrap();
        s.put_form_entry("contact", &entry("b", 2, Some("h1")), SHORT)
            .unwrap();
        s.put_form_entry("other", &entry("c", 3, Some("h1")), LONG)
            .unwrap();
        assert_eq!(s.find_form_entries_by_email("h1").unwrap().len(), 3);
        wait_past(SHORT);
        assert!(s.delete_form_entry("contact", "a").unwrap());
        assert_eq!(
            s.find_form_entries_by_email("h1").unwrap(),
            vec![("other".to_owned(), "c".to_owned())]
        );
        assert!(s.get_form_entry("contact", "a").unwrap().is_none());
    }

    #[test]
    fn session_idle_expiry_is_refreshed_by_reads() {
        let s = store();
        let idle = Duration::from_millis(150);
        s.put_session("s", b"d", idle).unwrap();
        for _ in 0..4 {
            std::thread::sleep(Duration::from_millis(60));
            assert!(s.get_session("s", idle).unwrap().is_some());
        }
        wait_past(idle);
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
    fn rate_limit_window_restarts_after_expiry() {
        let s = store();
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 1);
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 2);
        wait_past(SHORT);
        assert_eq!(s.hit_rate_limit("k", SHORT).unwrap(), 1);
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
