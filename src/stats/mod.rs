//! Counters of what happened, per day, without personal data: consent decisions and contact-form
//! outcomes now, page views in a later issue. This is the one module that writes and reads
//! them, with one schema — typed [`Event`]s become counter fields here and nowhere else — and
//! one day key (UTC `YYYY-MM-DD`, from the injected [`Clock`](crate::clock::Clock)).
//!
//! Recording never waits on the store: [`Stats::record`] puts the event on a bounded channel
//! and a writer task adds up what arrived and writes it in batches. When the channel is full
//! the event is dropped and the drop counted (and written, as `stats` / `dropped`, with the
//! next batch).
//!
//! Store layout: one counter hash per area and day (`consent`, `forms`, `stats`); fields
//! `action:<action>`, `granted:<category>`, `refused:<category>`, `country:<CC>` for consent,
//! `<form id>:stored` and `<form id>:<error code>` for forms, `dropped` for the writer itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::clock::SharedClock;
use crate::http::Code;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Events the channel holds before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 4096;
/// Most events the writer adds up into one round of store writes.
const MAX_BATCH: usize = 512;

/// A counter hash in the store: one per area and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Consent,
    Forms,
    /// The statistics' own bookkeeping (dropped events).
    Stats,
}

impl Area {
    /// The counter hash's name in the store.
    pub fn key(self) -> &'static str {
        match self {
            Area::Consent => "consent",
            Area::Forms => "forms",
            Area::Stats => "stats",
        }
    }
}

/// What a visitor did in the consent banner (also what a receipt records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentAction {
    AcceptAll,
    RejectAll,
    Custom,
    Withdraw,
}

impl ConsentAction {
    /// Every action, in the order figures list them.
    pub const ALL: [ConsentAction; 4] = [
        ConsentAction::AcceptAll,
        ConsentAction::RejectAll,
        ConsentAction::Custom,
        ConsentAction::Withdraw,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentAction::AcceptAll => "accept_all",
            ConsentAction::RejectAll => "reject_all",
            ConsentAction::Custom => "custom",
            ConsentAction::Withdraw => "withdraw",
        }
    }
}

/// How a contact-form submission ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormOutcome {
    Stored,
    /// Refused, with the edge code the visitor got.
    Refused(Code),
}

impl FormOutcome {
    /// `stored`, or the error code the visitor got.
    pub fn as_str(self) -> &'static str {
        match self {
            FormOutcome::Stored => "stored",
            FormOutcome::Refused(code) => code.as_str(),
        }
    }
}

/// One thing that happened, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A consent decision was stored.
    Consent {
        action: ConsentAction,
        granted: Vec<String>,
        refused: Vec<String>,
        /// ISO country code when geo look-up is on.
        country: Option<String>,
    },
    /// A contact-form submission was stored or refused.
    Form { form: String, outcome: FormOutcome },
}

impl Event {
    /// The schema: the area an event counts in and the fields it adds one to.
    fn fields(&self) -> (Area, Vec<String>) {
        match self {
            Event::Consent {
                action,
                granted,
                refused,
                country,
            } => {
                let mut fields = vec![format!("action:{}", action.as_str())];
                fields.extend(granted.iter().map(|c| format!("granted:{c}")));
                fields.extend(refused.iter().map(|c| format!("refused:{c}")));
                fields.extend(country.iter().map(|c| format!("country:{c}")));
                (Area::Consent, fields)
            }
            Event::Form { form, outcome } => {
                (Area::Forms, vec![format!("{form}:{}", outcome.as_str())])
            }
        }
    }

    /// The event in the Prometheus metrics (decisions by action, submissions by outcome).
    fn count_in(&self, metrics: &Metrics) {
        match self {
            Event::Consent { action, .. } => metrics.consent_decision(action.as_str()),
            Event::Form { form, outcome } => metrics.form_submission(form, outcome.as_str()),
        }
    }
}

/// The day key of a moment: its UTC date as `YYYY-MM-DD`.
pub fn day_key(unix_secs: u64) -> String {
    let secs = i64::try_from(unix_secs).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date().to_string())
        .unwrap_or_else(|_| "9999-12-31".to_owned())
}

enum Msg {
    Event {
        unix_secs: u64,
        event: Event,
    },
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

struct Inner {
    tx: mpsc::Sender<Msg>,
    /// Taken by the writer task when it starts.
    rx: Mutex<Option<mpsc::Receiver<Msg>>>,
    store: Store,
    clock: SharedClock,
    dropped: Arc<AtomicU64>,
    /// Where every event is also counted for `/metrics`, if anywhere.
    metrics: Option<Arc<Metrics>>,
}

/// Records and reads counters; cheap to clone, shared by every worker.
#[derive(Clone)]
pub struct Stats {
    inner: Arc<Inner>,
}

impl Stats {
    /// Statistics kept in `store`, days told by `clock`. Nothing is written until
    /// [`Stats::spawn_writer`] runs; until then events wait in the channel (or are dropped
    /// once it is full).
    pub fn new(store: Store, clock: SharedClock) -> Stats {
        Stats::with_capacity(store, clock, CHANNEL_CAPACITY)
    }

    /// Like [`Stats::new`] with a channel of `capacity` events.
    pub fn with_capacity(store: Store, clock: SharedClock, capacity: usize) -> Stats {
        Stats::build(store, clock, capacity, None)
    }

    /// Like [`Stats::new`], also counting every event (and every drop) in `metrics` at once.
    pub fn with_metrics(store: Store, clock: SharedClock, metrics: Arc<Metrics>) -> Stats {
        Stats::build(store, clock, CHANNEL_CAPACITY, Some(metrics))
    }

    fn build(
        store: Store,
        clock: SharedClock,
        capacity: usize,
        metrics: Option<Arc<Metrics>>,
    ) -> Stats {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Stats {
            inner: Arc::new(Inner {
                tx,
                rx: Mutex::new(Some(rx)),
                store,
                clock,
                dropped: Arc::new(AtomicU64::new(0)),
                metrics,
            }),
        }
    }

    /// Count an event now. Never waits: when the channel is full the event is dropped.
    pub fn record(&self, event: Event) {
        if let Some(metrics) = &self.inner.metrics {
            event.count_in(metrics);
        }
        let unix_secs = self.inner.clock.unix_secs();
        if self
            .inner
            .tx
            .try_send(Msg::Event { unix_secs, event })
            .is_err()
        {
            if let Some(metrics) = &self.inner.metrics {
                metrics.stats_event_dropped();
            }
            let dropped = self.inner.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // Logged at 1, 2, 4, 8, …: an overload says so without flooding the log.
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "statistics channel full or closed; events dropped");
            }
        }
    }

    /// Events dropped since start because the channel was full (or the writer gone).
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Ordering::Relaxed)
    }

    /// Start the writer task on the current tokio runtime; `None` if it was started before.
    pub fn spawn_writer(&self) -> Option<tokio::task::JoinHandle<()>> {
        let rx = self
            .inner
            .rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()?;
        let writer = Writer {
            rx,
            store: self.inner.store.clone(),
            clock: self.inner.clock.clone(),
            dropped: self.inner.dropped.clone(),
            dropped_written: 0,
            failing: false,
        };
        Some(tokio::spawn(writer.run()))
    }

    /// Wait until every event recorded before this call is written (or could not be). Returns
    /// at once when the writer is not running.
    pub async fn flush(&self) {
        let running = self
            .inner
            .rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none();
        if !running {
            return;
        }
        let (done, wait) = oneshot::channel();
        if self.inner.tx.send(Msg::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Today's day key.
    pub fn today(&self) -> String {
        day_key(self.inner.clock.unix_secs())
    }

    /// The counters of `area` for each of `days` (day keys), in the same order.
    pub async fn read(
        &self,
        area: Area,
        days: &[String],
    ) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        self.inner.store.read_counters(area.key(), days).await
    }
}

struct Writer {
    rx: mpsc::Receiver<Msg>,
    store: Store,
    clock: SharedClock,
    dropped: Arc<AtomicU64>,
    dropped_written: u64,
    /// The last write failed: the next failure is not logged again.
    failing: bool,
}

impl Writer {
    async fn run(mut self) {
        // Ends when every `Stats` handle is gone.
        while let Some(first) = self.rx.recv().await {
            let mut counts: BTreeMap<(Area, String), BTreeMap<String, i64>> = BTreeMap::new();
            let mut flushes = Vec::new();
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(msg) = next.take() {
                match msg {
                    Msg::Event { unix_secs, event } => {
                        let (area, fields) = event.fields();
                        let day = counts.entry((area, day_key(unix_secs))).or_default();
                        for field in fields {
                            *day.entry(field).or_default() += 1;
                        }
                    }
                    Msg::Flush(done) => flushes.push(done),
                }
                taken += 1;
                if taken < MAX_BATCH {
                    next = self.rx.try_recv().ok();
                }
            }
            let dropped = self.dropped.load(Ordering::Relaxed);
            if dropped > self.dropped_written {
                let delta = i64::try_from(dropped - self.dropped_written).unwrap_or(i64::MAX);
                counts
                    .entry((Area::Stats, day_key(self.clock.unix_secs())))
                    .or_default()
                    .insert("dropped".to_owned(), delta);
                self.dropped_written = dropped;
            }
            self.write(counts).await;
            for done in flushes {
                let _ = done.send(());
            }
        }
    }

    async fn write(&mut self, counts: BTreeMap<(Area, String), BTreeMap<String, i64>>) {
        for ((area, day), fields) in counts {
            let pairs: Vec<(&str, i64)> = fields.iter().map(|(f, n)| (f.as_str(), *n)).collect();
            match self.store.incr_counters(area.key(), &day, &pairs).await {
                Ok(()) => self.failing = false,
                Err(e) => {
                    // Counters are best effort: lost during an outage, logged once per outage.
                    if !self.failing {
                        tracing::warn!(error = %e, "statistics not written");
                    }
                    self.failing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use std::time::Duration;

    fn form_event(outcome: FormOutcome) -> Event {
        Event::Form {
            form: "contact".into(),
            outcome,
        }
    }

    #[test]
    fn day_key_is_the_utc_date() {
        assert_eq!(day_key(0), "1970-01-01");
        assert_eq!(day_key(1_700_000_000), "2023-11-14");
    }

    #[test]
    fn events_become_the_documented_fields() {
        let consent = Event::Consent {
            action: ConsentAction::Custom,
            granted: vec!["analytics".into()],
            refused: vec!["marketing".into()],
            country: Some("NL".into()),
        };
        assert_eq!(
            consent.fields(),
            (
                Area::Consent,
                vec![
                    "action:custom".to_owned(),
                    "granted:analytics".to_owned(),
                    "refused:marketing".to_owned(),
                    "country:NL".to_owned()
                ]
            )
        );
        assert_eq!(
            form_event(FormOutcome::Refused(Code::TooFast)).fields(),
            (Area::Forms, vec!["contact:too_fast".to_owned()])
        );
    }

    #[tokio::test]
    async fn events_are_written_per_day_of_the_clock() {
        let store = Store::memory();
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let stats = Stats::new(store.clone(), clock.clone());
        stats.spawn_writer();
        stats.record(form_event(FormOutcome::Stored));
        stats.record(form_event(FormOutcome::Stored));
        let first_day = stats.today();
        clock.advance(Duration::from_secs(86_400));
        stats.record(form_event(FormOutcome::Refused(Code::Honeypot)));
        stats.flush().await;
        let days = stats
            .read(Area::Forms, &[first_day, stats.today()])
            .await
            .unwrap();
        assert_eq!(days[0].get("contact:stored"), Some(&2));
        assert_eq!(days[1].get("contact:honeypot"), Some(&1));
        assert_eq!(days[1].get("contact:stored"), None);
    }

    #[tokio::test]
    async fn a_full_channel_drops_and_counts_instead_of_waiting() {
        let store = Store::memory();
        let stats = Stats::with_capacity(store, TestClock::at_unix_ms(0), 2);
        // No writer yet: the channel fills up and recording still returns at once.
        for _ in 0..5 {
            stats.record(form_event(FormOutcome::Stored));
        }
        assert_eq!(stats.dropped(), 3);
        stats.spawn_writer();
        stats.flush().await;
        let today = stats.today();
        let written = stats
            .read(Area::Forms, std::slice::from_ref(&today))
            .await
            .unwrap();
        assert_eq!(written[0].get("contact:stored"), Some(&2));
        let own = stats.read(Area::Stats, &[today]).await.unwrap();
        assert_eq!(own[0].get("dropped"), Some(&3));
    }
}
