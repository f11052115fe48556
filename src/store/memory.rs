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
//!
//! Time comes from the injected [`Clock`] (wall-clock milliseconds, like the deadlines Redis
//! keeps), so tests move a `TestClock` instead of sleeping.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};

use super::{FormEntryRecord, FormPage, StoreError};

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
    expires: u64,
}

struct StoredEntry {
    record: FormEntryRecord,
    expires: u64,
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
    data: Vec<u8>,
    expires: u64,
}

struct RateWindow {
    count: u64,
    expires: u64,
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
    /// (unix ms, seq, entry), oldest first.
    audit: VecDeque<(u64, u64, Vec<u8>)>,
    rate: HashMap<String, RateWindow>,
    last_purge: Option<u64>,
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

    fn purge(&self, st: &mut State, now: u64) {
        st.receipts.retain(|_, r| r.expires > now);
        st.sessions.retain(|_, s| s.expires > now);
        st.rate.retain(|_, r| r.expires > now);
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
        let freeze = ms_of(self.limits.unique_freeze_after);
        for u in st.uniques.values_mut() {
            if let Unique::Live { members, touched } = u {
                if now.saturating_sub(*touched) >= freeze {
                    *u = Unique::Frozen {
                        count: members.len() as u64,
                        late: HashSet::new(),
                    };
                }
            }
        }
        self.trim_audit(st, now);
    }

    fn trim_audit(&self, st: &mut State, now: u64) {
        let min_ms = now.saturating_sub(ms_of(self.limits.audit_retention));
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

    pub fn put_receipt(&self, id: &str, receipt: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let now = self.now();
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
        r.expires = deadline(now, ttl);
        Ok(())
    }

    pub fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .receipts
            .get(id)
            .filter(|r| r.expires > now)
            .and_then(|r| r.current.clone()))
    }

    pub fn receipt_history(&self, id: &str) -> Result<Vec<Vec<u8>>, StoreError> {
        let now = self.now();
        let st = self.lock();
        Ok(st
            .receipts
            .get(id)
            .filter(|r| r.expires > now)
            .map(|r| r.history.clone())
            .unwrap_or_default())
    }

    pub fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        Ok(st.receipts.remove(id).is_some_and(|r| r.expires > now))
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
        let f = st.forms.entry(form.to_owned()).or_default();
        let old = f.remove(&record.id);
        f.index.insert((record.created, record.id.clone()));
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
        let now = self.now();
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
        let now = self.now();
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
        let now = self.now();
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
        let now = self.now();
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
        let now = self.now();
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

    pub fn add_unique(&self, name: &str, day: &str, member: &[u8]) -> Result<(), StoreError> {
        let now = self.now();
        let h = hash64(member);
        let mut st = self.lock();
        match st
            .uniques
            .entry((name.to_owned(), day.to_owned()))
            .or_insert_with(|| Unique::Live {
                members: HashSet::new(),
                touched: now,
            }) {
            Unique::Live { members, touched } => {
                members.insert(h);
                *touched = now;
            }
            Unique::Frozen { late, .. } => {
                late.insert(h);
            }
        }
        Ok(())
    }

    pub fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        let st = self.lock();
        Ok(match st.uniques.get(&(name.to_owned(), day.to_owned())) {
            None => 0,
            Some(Unique::Live { members, .. }) => members.len() as u64,
            Some(Unique::Frozen { count, late }) => count + late.len() as u64,
        })
    }

    // ---- sessions ----

    pub fn put_session(&self, id: &str, data: &[u8], idle: Duration) -> Result<(), StoreError> {
        let now = self.now();
        let mut st = self.lock();
        st.sessions.insert(
            id.to_owned(),
            Expiring {
                data: data.to_vec(),
                expires: deadline(now, idle),
            },
        );
        Ok(())
    }

    pub fn get_session(&self, id: &str, idle: Duration) -> Result<Option<Vec<u8>>, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        match st.sessions.get_mut(id) {
            Some(s) if s.expires > now => {
                s.expires = deadline(now, idle);
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
        let ms = self.now();
        let mut st = self.lock();
        // Ids increase even if the wall clock steps back, like Redis stream ids.
        let (ms, seq) = match st.audit.back() {
            Some(&(last_ms, last_seq, _)) if last_ms >= ms => (last_ms, last_seq + 1),
            _ => (ms, 0),
        };
        st.audit.push_back((ms, seq, entry.to_vec()));
        self.trim_audit(&mut st, ms);
        Ok(format!("{ms}-{seq}"))
    }

    pub fn read_audit(&self, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let st = self.lock();
        Ok(st
            .audit
            .iter()
            .rev()
            .take(limit)
            .map(|(ms, seq, e)| (format!("{ms}-{seq}"), e.clone()))
            .collect())
    }

    // ---- rate limits ----

    pub fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let now = self.now();
        let mut st = self.lock();
        let w = st.rate.entry(key.to_owned()).or_insert(RateWindow {
            count: 0,
            expires: deadline(now, window),
        });
        if w.expires <= now {
            *w = RateWindow {
                count: 0,
                expires: deadline(now, window),
            };
        }
        w.count += 1;
        Ok(w.count)
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
    use crate::clock::TestClock;
    use std::sync::Arc;

    fn entry(id: &str, created: u64, email: Option<&str>) -> FormEntryRecord {
        FormEntryRecord {
            id: id.to_owned(),
            form: "contact".to_owned(),
            created,
            ciphertext: id.as_bytes().to_vec(),
            email_hash: email.map(str::to_owned),
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
        let (s, clock) = store();
        s.put_receipt("r", b"one", SHORT).unwrap();
        clock.advance(PAST_SHORT);
        assert_eq!(s.get_receipt("r").unwrap(), None);
        assert!(s.receipt_history("r").unwrap().is_empty());
        s.put_receipt("r", b"two", LONG).unwrap();
        assert_eq!(s.receipt_history("r").unwrap(), vec![b"two".to_vec()]);
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
        assert_eq!(s.find_form_entries_by_email("h1").unwrap().len(), 3);
        clock.advance(PAST_SHORT);
        assert!(s.delete_form_entry("contact", "a").unwrap());
        assert_eq!(
            s.find_form_entries_by_email("h1").unwrap(),
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
        let read = s.read_audit(10).unwrap();
        assert_eq!(read.len(), 3);
        assert_eq!(read[0], (ids[4].clone(), vec![4]));
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
        let read = s.read_audit(10).unwrap();
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
    fn frozen_unique_set_keeps_its_count_and_counts_later_members() {
        let s = MemoryStore::new(MemoryLimits {
            purge_interval: Duration::ZERO,
            unique_freeze_after: Duration::ZERO,
            ..MemoryLimits::default()
        });
        s.add_unique("v", "2026-01-01", b"a").unwrap();
        s.add_unique("v", "2026-01-01", b"b").unwrap();
        s.add_unique("v", "2026-01-01", b"c").unwrap();
        assert_eq!(s.count_unique("v", "2026-01-01").unwrap(), 3);
        assert_eq!(s.count_unique("v", "2026-01-02").unwrap(), 0);
    }
}
