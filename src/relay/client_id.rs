//! The client id Google gets: a keyed hash of the one gtag keeps in the visitor's `_ga` cookie,
//! under a secret that changes every `cid_rotation` (default 30 days). Within a period a
//! returning visitor is the same user to Google; after it the same visitor is a new user, and
//! nobody — the gate included — can link the two: the secret of a period is random, shared by
//! every gate of the site through the store (the first gate to need it stores it), and gone
//! from the store shortly after its period ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::clock::SharedClock;
use crate::store::{Store, StoreError};

/// How long a period's secret outlives its period, so a gate whose clock runs a little behind
/// still finds the secret the others use.
const GRACE: Duration = Duration::from_secs(300);

/// One period's secret.
pub(crate) type Key = Arc<[u8; 32]>;

/// The secret of the current period, from the store, remembered until the period ends.
pub(crate) struct ClientIds {
    store: Store,
    clock: SharedClock,
    rotation_ms: u64,
    current: Mutex<Option<(u64, Key)>>,
}

impl ClientIds {
    pub fn new(store: Store, clock: SharedClock, rotation: Duration) -> Self {
        Self {
            store,
            clock,
            rotation_ms: u64::try_from(rotation.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            current: Mutex::new(None),
        }
    }

    /// The secret of the period the clock is in.
    pub async fn key(&self) -> Result<Key, StoreError> {
        let now = self.clock.unix_ms();
        let period = now / self.rotation_ms;
        if let Some((p, key)) = self.lock().as_ref() {
            if *p == period {
                return Ok(key.clone());
            }
        }
        let ends = (period + 1).saturating_mul(self.rotation_ms);
        let ttl = Duration::from_millis(ends.saturating_sub(now)) + GRACE;
        // The period length is part of the name: a changed `cid_rotation` starts afresh.
        let name = format!("ga-cid:{}:{period}", self.rotation_ms);
        let candidate: [u8; 32] = rand::random();
        let held = self.store.put_if_absent(&name, &candidate, ttl).await?;
        let key: Key = Arc::new(
            held.try_into()
                .map_err(|_| StoreError::Corrupt(format!("{name}: not a 32-byte secret")))?,
        );
        *self.lock() = Some((period, key.clone()));
        Ok(key)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(u64, Key)>> {
        self.current.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `cid` hashed under `key` (HMAC-SHA256, 64 bits of it), written as gtag writes client ids:
/// two decimal numbers joined by a dot.
pub(crate) fn hash(key: &[u8; 32], cid: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(cid.as_bytes());
    let digest = mac.finalize().into_bytes();
    let word =
        |i: usize| u32::from_be_bytes([digest[i], digest[i + 1], digest[i + 2], digest[i + 3]]);
    format!("{}.{}", word(0), word(4))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::store::MemoryLimits;

    const DAY: Duration = Duration::from_secs(86_400);

    #[tokio::test]
    async fn the_hash_holds_within_a_period_and_changes_after_it() {
        let clock = TestClock::at_unix_ms(30 * 86_400_000 * 700);
        let store = Store::memory_with_clock(MemoryLimits::default(), clock.clone());
        let ids = ClientIds::new(store.clone(), clock.clone(), 30 * DAY);
        let first = hash(&ids.key().await.unwrap(), "123.456");
        clock.advance(29 * DAY);
        assert_eq!(hash(&ids.key().await.unwrap(), "123.456"), first);
        assert_ne!(hash(&ids.key().await.unwrap(), "123.457"), first);
        clock.advance(DAY);
        let next = hash(&ids.key().await.unwrap(), "123.456");
        assert_ne!(next, first);
        // Another gate on the same store uses the same secret.
        let other = ClientIds::new(store, clock, 30 * DAY);
        assert_eq!(hash(&other.key().await.unwrap(), "123.456"), next);
    }

    #[test]
    fn the_hash_looks_like_a_client_id() {
        let h = hash(&[7; 32], "1234567890.1700000000");
        let (a, b) = h.split_once('.').unwrap();
        assert!(a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok(), "{h}");
        assert_ne!(h, hash(&[8; 32], "1234567890.1700000000"));
    }
}
