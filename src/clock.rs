//! The one source of "now" for the gate: a [`Clock`] trait, the system clock the gate runs on,
//! and a settable [`TestClock`] for tests that need time to pass (fill-time tokens, cookie
//! expiry, day boundaries in the statistics). Services take a [`SharedClock`] instead of
//! reading the system time themselves.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Wall-clock time. Implementations are cheap to call and shared by every worker.
pub trait Clock: Send + Sync + 'static {
    /// Now, as wall-clock time.
    fn now(&self) -> SystemTime;

    /// Now, in whole seconds since the Unix epoch (0 for a clock set before 1970).
    fn unix_secs(&self) -> u64 {
        since_epoch(self.now()).as_secs()
    }

    /// Now, in milliseconds since the Unix epoch (0 for a clock set before 1970).
    fn unix_ms(&self) -> u64 {
        u64::try_from(since_epoch(self.now()).as_millis()).unwrap_or(u64::MAX)
    }
}

/// A clock as the services hold it.
pub type SharedClock = Arc<dyn Clock>;

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// The system clock as a [`SharedClock`].
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock)
    }
}

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that stands still until a test moves it; millisecond resolution.
#[derive(Debug, Default)]
pub struct TestClock {
    unix_ms: AtomicU64,
}

impl TestClock {
    /// A clock showing `unix_ms` milliseconds after the epoch.
    pub fn at_unix_ms(unix_ms: u64) -> Arc<TestClock> {
        Arc::new(TestClock {
            unix_ms: AtomicU64::new(unix_ms),
        })
    }

    /// Set the time, in milliseconds since the epoch.
    pub fn set_unix_ms(&self, unix_ms: u64) {
        self.unix_ms.store(unix_ms, Ordering::SeqCst);
    }

    /// Move the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.unix_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.unix_ms.load(Ordering::SeqCst))
    }
}

/// Unix seconds as RFC 3339 UTC (`2026-11-22T14:03:05Z`), the format receipts and exports use.
pub fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(i64::MAX))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The UTC calendar day of a Unix time in seconds (9999-12-31 for times beyond `time`'s range).
pub fn utc_date(unix: u64) -> time::Date {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(i64::MAX))
        .map(|t| t.date())
        .unwrap_or(time::Date::MAX)
}

/// Midnight UTC at the start of `date`, in Unix seconds (0 for days before 1970).
pub fn unix_midnight(date: time::Date) -> u64 {
    u64::try_from(date.midnight().assume_utc().unix_timestamp()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_moves_only_when_told() {
        let clock = TestClock::at_unix_ms(1_700_000_000_123);
        assert_eq!(clock.unix_ms(), 1_700_000_000_123);
        assert_eq!(clock.unix_secs(), 1_700_000_000);
        clock.advance(Duration::from_secs(2));
        assert_eq!(clock.unix_ms(), 1_700_000_002_123);
        clock.set_unix_ms(5);
        assert_eq!(clock.unix_secs(), 0);
    }

    #[test]
    fn unix_times_fall_on_their_utc_day() {
        let day = utc_date(1_700_000_000);
        assert_eq!(day, time::macros::date!(2023 - 11 - 14));
        assert_eq!(unix_midnight(day), 1_699_920_000);
        assert_eq!(utc_date(unix_midnight(day)), day);
        assert_eq!(
            utc_date(unix_midnight(day) - 1),
            day.previous_day().unwrap()
        );
    }

    #[test]
    fn system_clock_is_after_the_epoch() {
        assert!(SystemClock.unix_secs() > 1_600_000_000);
    }
}
