//! Waiting for an event instead of sleeping a fixed time: poll a condition until it holds, with
//! a deadline that only bounds a broken run (a passing run never waits for it).

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a condition may take before the test fails: far past anything a healthy run needs
/// on a loaded 2-core machine.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Poll `check` until it returns `Some`, and return that value; fail the test naming `what`
/// after `deadline`. Polls quickly at first (most events are milliseconds away), then every
/// 100 ms.
pub async fn until_some<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if start.elapsed() > deadline {
            panic!("waited {deadline:?} for {what}; it never happened");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Poll `check` until it returns true; fail the test naming `what` after `deadline`.
pub async fn until<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    until_some(what, deadline, || {
        let done = check();
        async move { done.await.then_some(()) }
    })
    .await
}

/// [`until`] for conditions that need no `.await` (a recorder, a child's output).
pub async fn until_true(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    until(what, deadline, || std::future::ready(check())).await
}
