//! Sign-in throttling, per account and per anonymised address, shared by every gate through
//! the store.
//!
//! Each key may make [`PER_MINUTE`] attempts per calendar minute. Once a key has
//! [`FREE_FAILURES`] failed attempts since its last success (within [`FAILURE_MEMORY`]), it may
//! make one attempt per slot of 2, 4, 8, … seconds (doubling with each further failure, at most
//! [`MAX_DELAY`]). Minutes and slots are numbered from the time passed in, and every count is an
//! atomic store counter, so parallel attempts cannot slip past the limit and tests can move the
//! clock. The account key is a keyed hash of the name as typed, so an unknown name is throttled
//! exactly like a known one.

use std::time::Duration;

use crate::store::{Store, StoreError};

/// Attempts per key per minute.
pub const PER_MINUTE: u64 = 5;
/// Failures before the growing delay starts.
pub const FREE_FAILURES: u64 = 5;
/// Longest delay between two attempts of one key.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// How long failures are remembered without a further failure starting the count again.
pub const FAILURE_MEMORY: Duration = Duration::from_secs(24 * 3600);

/// See the module documentation.
#[derive(Clone)]
pub struct Throttle {
    store: Store,
}

/// The slot length, in seconds, for a key with `failures` failed attempts (0 = no delay).
pub fn delay_for(failures: u64) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES + 1).min(20) as u32;
    (1u64 << doublings).min(MAX_DELAY.as_secs())
}

impl Throttle {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Count an attempt at `now` (unix s) for every key; `Some(wait)` when any key is over its
    /// limit (the attempt must be refused without checking the password).
    pub async fn admit(&self, keys: &[String], now: u64) -> Result<Option<Duration>, StoreError> {
        let mut wait = 0u64;
        for key in keys {
            let minute = self
                .store
                .hit_rate_limit(
                    &format!("signin:{key}:m:{}", now / 60),
                    Duration::from_secs(61),
                )
                .await?;
            if minute > PER_MINUTE {
                wait = wait.max(60 - now % 60);
                continue;
            }
            let slot = delay_for(self.store.peek_rate_limit(&failures_key(key)).await?);
            // Below the free failures the slot is 0: no index, no delay.
            if let Some(index) = now.checked_div(slot) {
                let hits = self
                    .store
                    .hit_rate_limit(
                        &format!("signin:{key}:s:{slot}:{index}"),
                        Duration::from_secs(slot),
                    )
                    .await?;
                if hits > 1 {
                    wait = wait.max(slot - now % slot);
                }
            }
        }
        Ok((wait > 0).then(|| Duration::from_secs(wait)))
    }

    /// The attempt failed: every key's failure count goes up.
    pub async fn failed(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.store
                .hit_rate_limit(&failures_key(key), FAILURE_MEMORY)
                .await?;
        }
        Ok(())
    }

    /// The attempt succeeded: the keys' failures are forgotten.
    pub async fn succeeded(&self, keys: &[String]) -> Result<(), StoreError> {
        for key in keys {
            self.store.clear_rate_limit(&failures_key(key)).await?;
        }
        Ok(())
    }
}

fn failures_key(key: &str) -> String {
    format!("signin:{key}:f")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Vec<String> {
        vec!["acct:x".to_owned(), "addr:192.0.2.0".to_owned()]
    }

    #[test]
    fn delay_doubles_after_the_free_failures_up_to_the_cap() {
        let delays: Vec<u64> = (0..16).map(delay_for).collect();
        assert_eq!(
            delays,
            [0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
        );
        assert_eq!(delay_for(u64::MAX), 900);
    }

    #[tokio::test]
    async fn five_attempts_a_minute_then_the_rest_of_the_minute_is_refused() {
        let t = Throttle::new(Store::memory());
        let start = 1_700_000_020; // 40 s into a minute
        for i in 0..5 {
            assert_eq!(
                t.admit(&keys(), start + i).await.unwrap(),
                None,
                "attempt {i}"
            );
        }
        assert_eq!(
            t.admit(&keys(), start + 5).await.unwrap(),
            Some(Duration::from_secs(15))
        );
        // The next minute starts afresh (no failures were reported).
        assert_eq!(t.admit(&keys(), start + 20).await.unwrap(), None);
    }

    #[tokio::test]
    async fn one_key_over_its_limit_refuses_the_attempt() {
        let t = Throttle::new(Store::memory());
        let now = 1_700_000_000;
        for i in 0..5 {
            let other_account = vec![format!("acct:{i}"), "addr:192.0.2.0".to_owned()];
            assert_eq!(t.admit(&other_account, now).await.unwrap(), None);
        }
        // A sixth account from the same address: the address key is over its limit.
        assert!(t.admit(&keys(), now).await.unwrap().is_some());
        let elsewhere = vec!["acct:x".to_owned(), "addr:198.51.100.0".to_owned()];
        assert_eq!(t.admit(&elsewhere, now).await.unwrap(), None);
    }

    #[tokio::test]
    async fn failures_bring_a_growing_delay_and_a_success_clears_it() {
        let t = Throttle::new(Store::memory());
        let mut now = 1_700_000_000;
        for _ in 0..5 {
            assert_eq!(t.admit(&keys(), now).await.unwrap(), None);
            t.failed(&keys()).await.unwrap();
            now += 61; // stay clear of the per-minute limit
        }
        // Five failures: one attempt per 2-second slot.
        now = now / 2 * 2;
        assert_eq!(t.admit(&keys(), now).await.unwrap(), None);
        assert_eq!(
            t.admit(&keys(), now + 1).await.unwrap(),
            Some(Duration::from_secs(1))
        );
        t.failed(&keys()).await.unwrap();
        // Six failures: 4-second slots.
        now = (now / 4 + 1) * 4;
        assert_eq!(t.admit(&keys(), now).await.unwrap(), None);
        assert_eq!(
            t.admit(&keys(), now + 1).await.unwrap(),
            Some(Duration::from_secs(3))
        );
        t.succeeded(&keys()).await.unwrap();
        now += 60;
        for _ in 0..5 {
            assert_eq!(t.admit(&keys(), now).await.unwrap(), None);
        }
    }
}
