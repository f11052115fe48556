//! The daily salt of the unique-visitor count: 32 random bytes per UTC day, made by the first
//! gate that counts a view that day and shared with every other gate through the store
//! (set-if-absent), cached in the writer. It lives at most 48 hours — long enough for views
//! written just after midnight for the day before — and the writer deletes every salt older
//! than yesterday as soon as its clock reaches a new day. It is never logged, exported or
//! shown: once it is gone, nobody can tell whether a visitor of that day came back.

use std::collections::BTreeMap;
use std::time::Duration;

use super::day_key;
use crate::store::{Store, StoreError};

/// How long a salt is kept in the store at most.
pub const SALT_TTL: Duration = Duration::from_secs(48 * 3600);
/// Days before yesterday whose salts are deleted at a new day (a gate that was stopped for
/// some days still cleans up; the TTL covers the rest).
const CLEAN_BACK: i64 = 7;

/// A day as a number: whole days since 1970-01-01 (UTC).
pub fn day_number(unix_secs: u64) -> i64 {
    i64::try_from(unix_secs / 86_400).unwrap_or(i64::MAX)
}

fn key_of(day: i64) -> String {
    day_key(u64::try_from(day).unwrap_or(0).saturating_mul(86_400))
}

/// The salts the writer has fetched, by day number: today's and yesterday's at most.
pub struct Salts {
    store: Store,
    by_day: BTreeMap<i64, [u8; 32]>,
    /// The newest day the clock has shown (older salts were cleaned up when it came).
    today: Option<i64>,
}

impl Salts {
    pub fn new(store: Store) -> Salts {
        Salts {
            store,
            by_day: BTreeMap::new(),
            today: None,
        }
    }

    /// Called with the clock's day before each batch: on a new day, salts older than
    /// yesterday are forgotten here and deleted from the store.
    pub async fn rotate(&mut self, today: i64) {
        if self.today.is_some_and(|t| t >= today) {
            return;
        }
        self.today = Some(today);
        self.by_day.retain(|day, _| *day >= today - 1);
        for day in (today - 1 - CLEAN_BACK)..=(today - 2) {
            if let Err(e) = self.store.delete_salt(&key_of(day)).await {
                // The TTL removes it anyway within 48 hours of its making.
                tracing::warn!(error = %e, "an old daily salt was not deleted");
                break;
            }
        }
    }

    /// Whether views of `day` can still be hashed: today's and yesterday's only (an older
    /// salt is gone, and making it again would count its visitors twice).
    pub fn usable(&self, day: i64) -> bool {
        self.today
            .is_none_or(|today| day >= today - 1 && day <= today + 1)
    }

    /// The salt of `day`: cached, or the store's (made now if no gate has made it yet).
    pub async fn get(&mut self, day: i64) -> Result<[u8; 32], StoreError> {
        if let Some(salt) = self.by_day.get(&day) {
            return Ok(*salt);
        }
        let candidate: [u8; 32] = rand::random();
        let stored = self
            .store
            .daily_salt(&key_of(day), &candidate, SALT_TTL)
            .await?;
        let salt: [u8; 32] = stored
            .try_into()
            .map_err(|_| StoreError::Corrupt("a daily salt is not 32 bytes".into()))?;
        self.by_day.insert(day, salt);
        Ok(salt)
    }
}

/// The HyperLogLog member of a visitor on a day: the request's keyed hash, hashed again
/// under the day's salt (16 bytes are plenty for counting).
pub fn member(salt: &[u8; 32], visitor: &[u8; 32]) -> [u8; 16] {
    let full = blake3::keyed_hash(salt, visitor);
    let mut out = [0u8; 16];
    out.copy_from_slice(&full.as_bytes()[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_and_keys_agree() {
        assert_eq!(day_number(0), 0);
        assert_eq!(day_number(86_399), 0);
        assert_eq!(day_number(86_400), 1);
        assert_eq!(key_of(day_number(1_700_000_000)), "2023-11-14");
    }

    #[test]
    fn the_same_visitor_gets_another_member_under_another_salt() {
        let visitor = [7u8; 32];
        assert_eq!(member(&[1; 32], &visitor), member(&[1; 32], &visitor));
        assert_ne!(member(&[1; 32], &visitor), member(&[2; 32], &visitor));
    }

    #[tokio::test]
    async fn a_new_day_deletes_salts_older_than_yesterday() {
        let store = Store::memory();
        let mut salts = Salts::new(store.clone());
        let day = day_number(1_700_000_000);
        salts.rotate(day).await;
        let first = salts.get(day).await.unwrap();
        assert_eq!(salts.get(day).await.unwrap(), first);
        salts.rotate(day + 1).await;
        let second = salts.get(day + 1).await.unwrap();
        assert_ne!(first, second);
        // Yesterday's salt is still there (views written just after midnight).
        assert!(store.get_salt(&key_of(day)).await.unwrap().is_some());
        assert!(salts.usable(day) && !salts.usable(day - 1));
        salts.rotate(day + 2).await;
        assert!(store.get_salt(&key_of(day)).await.unwrap().is_none());
        assert!(store.get_salt(&key_of(day + 1)).await.unwrap().is_some());
    }
}
