//! Counters of what happened, per day, without personal data: consent decisions, contact-form
//! outcomes, and cookieless page views with their unique visitors. This is the one module that
//! writes and reads them, with one schema — typed [`Event`]s become counter fields here and
//! nowhere else — and one day key (UTC `YYYY-MM-DD`, from the injected
//! [`Clock`](crate::clock::Clock)).
//!
//! Recording never waits on the store: [`Stats::record`] puts the event on a bounded channel
//! and a writer task ([`writer`]) adds up what arrived and writes it in batches, about once a
//! second (sooner when the channel fills up or [`Stats::flush`] asks). When the
//! channel is full the event is dropped and the drop counted (and written, as `stats` /
//! `dropped`, with the next batch).
//!
//! **Page views** ([`Stats::page_view`], called by the page filter for every HTML page the gate
//! serves with status 200 to a GET): a prefetch is not counted; the request copies a few
//! header values into the event ([`visit::RawView`]) and the writer classifies them — a bot
//! ([`agent`]) is counted apart by name, and a person's view becomes one count of its combination of host, path (no
//! query), entry or not, referrer host, UTM source/medium/campaign, country, browser family,
//! device class and what the consent cookie granted ([`visit::ViewKey`]). Each day admits at
//! most `stats.max_paths_per_day` distinct values per dimension and
//! `stats.max_combinations_per_day` combinations, across all gates (the store decides); the
//! rest counts as "(other)". Unique visitors: the request computes a BLAKE3 hash keyed with a
//! key derived from the secret over the full address, the user agent and the host (the address
//! never leaves the request); the writer hashes that again under the day's random salt
//! ([`salt`]) and adds the result to the day's HyperLogLog of the site host. Neither hash is
//! stored or logged; the salt is deleted within 48 hours, after which the day's members cannot
//! be linked to anyone.
//!
//! Store layout: one counter hash per area and day — `consent` (fields `action:<action>`,
//! `granted:<category>`, `refused:<category>`, `country:<CC>`, `country:<CC>:action:<action>`,
//! `country:<CC>:granted:<category>`), `forms` (`<form id>:stored`, `<form id>:<error code>`),
//! `views` (one field per combination, [`visit::ViewKey::encode`]), `bots`
//! (`<host>\t<bot name>`), `stats` (`dropped`); unique counts `visitors:<host>` per day.

pub mod agent;
pub mod discovery;
pub mod salt;
pub mod visit;
mod writer;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::HttpRequest;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Notify};

use crate::clock::SharedClock;
use crate::config::StatsConfig;
use crate::http::Code;
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};
use visit::{PageView, RawView, Seen, ViewKey};
use writer::{Bounds, Msg, Writer};

/// Events the channel holds before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 4096;

/// A counter hash in the store: one per area and day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Area {
    Consent,
    Forms,
    /// Page views, one field per combination ([`visit::ViewKey`]).
    Views,
    /// Bot requests, `<host>\t<bot name>`.
    Bots,
    /// The statistics' own bookkeeping (dropped events).
    Stats,
    /// Cookie names and third-party origins seen ([`discovery`]).
    Discovered,
    /// CSP violation reports ([`discovery`]).
    CspReports,
    /// The catalogue vendors found on the site's pages ([`discovery`]).
    SiteVendors,
}

impl Area {
    /// The counter hash's name in the store.
    pub fn key(self) -> &'static str {
        match self {
            Area::Consent => "consent",
            Area::Forms => "forms",
            Area::Views => "views",
            Area::Bots => "bots",
            Area::Stats => "stats",
            Area::Discovered => "discovered",
            Area::CspReports => "csp_reports",
            Area::SiteVendors => "site_vendors",
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
    /// The gate served an HTML page (not a prefetch), with the visitor hash: the writer
    /// classifies it as a bot request or a view.
    Request(Box<(RawView, [u8; 32])>),
    /// A person viewed an HTML page.
    PageView(Box<PageView>),
    /// A bot fetched an HTML page (`host`: the site host asked for).
    Bot { host: String, name: &'static str },
    /// A cookie name or origin seen ([`discovery::discovered_field`]); bounded by the writer.
    Discovered { field: String },
    /// A CSP violation report ([`discovery::blocked_field`]); bounded by the writer.
    CspViolation { field: String },
    /// A catalogue vendor found on a page ([`discovery::discovered_field`] of
    /// [`discovery::Found::Vendor`]); bounded by the writer.
    SiteVendor { field: String },
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
                if let Some(cc) = country {
                    fields.push(format!("country:{cc}"));
                    fields.push(format!("country:{cc}:action:{}", action.as_str()));
                    fields.extend(granted.iter().map(|c| format!("country:{cc}:granted:{c}")));
                }
                (Area::Consent, fields)
            }
            Event::Form { form, outcome } => {
                (Area::Forms, vec![format!("{form}:{}", outcome.as_str())])
            }
            // Counted by the writer, which bounds their values first.
            Event::Request(_) | Event::PageView(_) => (Area::Views, Vec::new()),
            Event::Bot { .. } => (Area::Bots, Vec::new()),
            Event::Discovered { .. } => (Area::Discovered, Vec::new()),
            Event::CspViolation { .. } => (Area::CspReports, Vec::new()),
            Event::SiteVendor { .. } => (Area::SiteVendors, Vec::new()),
        }
    }

    /// The event in the Prometheus metrics (decisions by action, submissions by outcome).
    fn count_in(&self, metrics: &Metrics) {
        match self {
            Event::Consent { action, .. } => metrics.consent_decision(action.as_str()),
            Event::Form { form, outcome } => metrics.form_submission(form, outcome.as_str()),
            Event::Request(_)
            | Event::PageView(_)
            | Event::Bot { .. }
            | Event::Discovered { .. }
            | Event::CspViolation { .. }
            | Event::SiteVendor { .. } => {}
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

struct Inner {
    tx: mpsc::Sender<Msg>,
    /// Wakes the writer early (a flush, or a channel half full).
    wake: Arc<Notify>,
    /// Taken by the writer task when it starts.
    rx: Mutex<Option<mpsc::Receiver<Msg>>>,
    store: Store,
    clock: SharedClock,
    dropped: Arc<AtomicU64>,
    /// Where every event is also counted for `/metrics`, if anywhere.
    metrics: Option<Arc<Metrics>>,
    settings: StatsSettings,
    /// Discovery entries this process noted today.
    noted: Mutex<discovery::Noted>,
}

/// How page views are counted (from `[stats]`) and the key of the visitor hash.
#[derive(Debug, Clone)]
pub struct StatsSettings {
    /// `stats.count_page_views`.
    pub count_page_views: bool,
    /// `stats.max_paths_per_day`: distinct values per dimension and day.
    pub max_values_per_day: usize,
    /// `stats.max_combinations_per_day`.
    pub max_combinations_per_day: usize,
    /// Key of the in-request visitor hash; derived from the secret so every gate computes the
    /// same hash for the same visitor.
    pub visitor_key: [u8; 32],
}

impl StatsSettings {
    pub fn new(cfg: &StatsConfig, keys: &Keys) -> StatsSettings {
        StatsSettings {
            count_page_views: cfg.count_page_views,
            max_values_per_day: cfg.max_paths_per_day,
            max_combinations_per_day: cfg.max_combinations_per_day,
            visitor_key: keys.visitor_hash.0,
        }
    }
}

impl Default for StatsSettings {
    /// The `[stats]` defaults with a random visitor key (one process only).
    fn default() -> Self {
        let cfg = StatsConfig::default();
        StatsSettings {
            count_page_views: cfg.count_page_views,
            max_values_per_day: cfg.max_paths_per_day,
            max_combinations_per_day: cfg.max_combinations_per_day,
            visitor_key: rand::random(),
        }
    }
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
        Stats::build(store, clock, capacity, None, StatsSettings::default())
    }

    /// Like [`Stats::new`], also counting every event (and every drop) in `metrics` at once.
    pub fn with_metrics(store: Store, clock: SharedClock, metrics: Arc<Metrics>) -> Stats {
        Stats::build(
            store,
            clock,
            CHANNEL_CAPACITY,
            Some(metrics),
            StatsSettings::default(),
        )
    }

    /// The gate's statistics: counted in `metrics` too, page views as `settings` say.
    pub fn for_gate(
        store: Store,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        settings: StatsSettings,
    ) -> Stats {
        Stats::build(store, clock, CHANNEL_CAPACITY, Some(metrics), settings)
    }

    /// Like [`Stats::with_capacity`], page views as `settings` say (tests, benchmarks).
    pub fn with_settings(
        store: Store,
        clock: SharedClock,
        capacity: usize,
        settings: StatsSettings,
    ) -> Stats {
        Stats::build(store, clock, capacity, None, settings)
    }

    fn build(
        store: Store,
        clock: SharedClock,
        capacity: usize,
        metrics: Option<Arc<Metrics>>,
        settings: StatsSettings,
    ) -> Stats {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Stats {
            inner: Arc::new(Inner {
                tx,
                wake: Arc::new(Notify::new()),
                rx: Mutex::new(Some(rx)),
                store,
                clock,
                dropped: Arc::new(AtomicU64::new(0)),
                metrics,
                settings,
                noted: Mutex::default(),
            }),
        }
    }

    /// Whether HTML page views are counted (`stats.count_page_views`).
    pub fn counts_page_views(&self) -> bool {
        self.inner.settings.count_page_views
    }

    /// Count an HTML page the gate served (GET, status 200) to `req`: nothing for a prefetch,
    /// a bot by name, else a page view. `visitor_hash(key, parts)` must return the BLAKE3 hash
    /// keyed with `key` over the full client address followed by `parts` (the user agent and
    /// the host); it is called for every request but a prefetch (bots are told apart later,
    /// in the writer). Never waits.
    pub fn page_view(
        &self,
        req: &HttpRequest,
        seen: &Seen<'_>,
        visitor_hash: impl FnOnce(&[u8; 32], &[&[u8]]) -> [u8; 32],
    ) {
        if !self.counts_page_views() {
            return;
        }
        let key = &self.inner.settings.visitor_key;
        // Only copies here; the writer classifies (bot or person, browser, referrer, UTM).
        if let Some(request) =
            RawView::of_request(req, seen, |ua, host| visitor_hash(key, &[ua, host]))
        {
            self.record(Event::Request(Box::new(request)));
        }
    }

    /// Count an event now. Never waits: when the channel is full the event is dropped.
    pub fn record(&self, event: Event) {
        if let Some(metrics) = &self.inner.metrics {
            event.count_in(metrics);
        }
        let unix_secs = self.inner.clock.unix_secs();
        let tx = &self.inner.tx;
        let sent = tx.try_send(Msg::Event { unix_secs, event }).is_ok();
        if sent && tx.capacity() < tx.max_capacity() / 2 {
            // Half full before the writer's next round: wake it rather than drop events.
            self.inner.wake.notify_one();
        }
        if !sent {
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
        let settings = &self.inner.settings;
        let writer = Writer::new(
            rx,
            self.inner.wake.clone(),
            self.inner.store.clone(),
            self.inner.clock.clone(),
            self.inner.dropped.clone(),
            Bounds {
                values: settings.max_values_per_day,
                combinations: settings.max_combinations_per_day,
            },
        );
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
            self.inner.wake.notify_one();
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

    /// The page views, unique visitors and bots of each of `days` (day keys), in the same
    /// order. Fields this version cannot read are skipped.
    pub async fn read_visits(&self, days: &[String]) -> Result<Vec<DayVisits>, StoreError> {
        let store = &self.inner.store;
        let (views, bots) = futures_util::future::try_join(
            store.read_counters(Area::Views.key(), days),
            store.read_counters(Area::Bots.key(), days),
        )
        .await?;
        let mut out: Vec<DayVisits> = days
            .iter()
            .zip(views)
            .zip(bots)
            .map(|((day, views), bots)| DayVisits {
                day: day.clone(),
                views: views
                    .iter()
                    .filter_map(|(field, n)| {
                        Some((ViewKey::decode(field)?, u64::try_from(*n).ok()?))
                    })
                    .collect(),
                visitors: BTreeMap::new(),
                bots: bots
                    .iter()
                    .filter_map(|(field, n)| {
                        let (host, name) = field.split_once('\t')?;
                        Some(((host.to_owned(), name.to_owned()), u64::try_from(*n).ok()?))
                    })
                    .collect(),
            })
            .collect();
        let mut wanted = Vec::new();
        for d in &out {
            let hosts: BTreeSet<&str> = d.views.iter().map(|(k, _)| k.host.as_str()).collect();
            wanted.extend(
                hosts
                    .into_iter()
                    .map(|h| (writer::visitors_name(h), d.day.clone())),
            );
        }
        let counts = store.count_uniques(&wanted).await?;
        for ((name, day), n) in wanted.into_iter().zip(counts) {
            let host = name.strip_prefix("visitors:").unwrap_or(&name).to_owned();
            if let Some(d) = out.iter_mut().find(|d| d.day == day) {
                d.visitors.insert(host, n);
            }
        }
        Ok(out)
    }
}

/// One day of page views as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayVisits {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Views per combination.
    pub views: Vec<(ViewKey, u64)>,
    /// Unique visitors per site host (HyperLogLog estimates on Redis).
    pub visitors: BTreeMap<String, u64>,
    /// Bot requests per (site host, bot name).
    pub bots: BTreeMap<(String, String), u64>,
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
                    "country:NL".to_owned(),
                    "country:NL:action:custom".to_owned(),
                    "country:NL:granted:analytics".to_owned()
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

    fn view(path: &str, referrer: &str, visitor: u8) -> Event {
        Event::PageView(Box::new(PageView {
            key: ViewKey {
                host: "s.example".into(),
                path: path.into(),
                entry: true,
                referrer: referrer.into(),
                utm_source: String::new(),
                utm_medium: String::new(),
                utm_campaign: String::new(),
                country: "NL".into(),
                browser: "Firefox".into(),
                device: "desktop".into(),
                consent: None,
            },
            visitor: [visitor; 32],
        }))
    }

    fn settings(values: usize, combinations: usize) -> StatsSettings {
        StatsSettings {
            max_values_per_day: values,
            max_combinations_per_day: combinations,
            ..StatsSettings::default()
        }
    }

    #[tokio::test]
    async fn page_views_are_counted_per_combination_with_unique_visitors() {
        let store = Store::memory();
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let stats = Stats::with_settings(store, clock, 64, settings(10, 100));
        stats.spawn_writer();
        for (path, visitor) in [("/", 1), ("/", 1), ("/", 2), ("/contact", 2)] {
            stats.record(view(path, "", visitor));
        }
        stats.record(Event::Bot {
            host: "s.example".into(),
            name: "Googlebot",
        });
        stats.flush().await;
        let day = stats.read_visits(&[stats.today()]).await.unwrap().remove(0);
        let views: BTreeMap<&str, u64> = day
            .views
            .iter()
            .map(|(k, n)| (k.path.as_str(), *n))
            .collect();
        assert_eq!(views, BTreeMap::from([("/", 3), ("/contact", 1)]));
        assert_eq!(day.visitors.get("s.example"), Some(&2));
        assert_eq!(
            day.bots
                .get(&("s.example".to_owned(), "Googlebot".to_owned())),
            Some(&1)
        );
    }

    #[tokio::test]
    async fn values_past_the_daily_bound_count_as_other() {
        let store = Store::memory();
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let stats = Stats::with_settings(store, clock.clone(), 64, settings(2, 100));
        stats.spawn_writer();
        for path in ["/a", "/b", "/c", "/a", "/d"] {
            stats.record(view(path, "", 1));
        }
        stats.flush().await;
        // A new day has room again.
        clock.advance(Duration::from_secs(86_400));
        stats.record(view("/c", "", 1));
        stats.flush().await;
        let days = [day_key(1_700_000_000), stats.today()];
        let read = stats.read_visits(&days).await.unwrap();
        let paths = |d: &DayVisits| -> BTreeMap<String, u64> {
            d.views.iter().map(|(k, n)| (k.path.clone(), *n)).collect()
        };
        assert_eq!(
            paths(&read[0]),
            BTreeMap::from([("/a".into(), 2), ("/b".into(), 1), (visit::OTHER.into(), 2)])
        );
        assert_eq!(paths(&read[1]), BTreeMap::from([("/c".into(), 1)]));
    }

    #[tokio::test]
    async fn combinations_past_the_daily_bound_keep_country_and_drop_detail() {
        let store = Store::memory();
        let clock = TestClock::at_unix_ms(1_700_000_000_000);
        let stats = Stats::with_settings(store, clock, 64, settings(100, 2));
        stats.spawn_writer();
        for (path, referrer) in [("/a", "x.example"), ("/b", ""), ("/c", "y.example")] {
            stats.record(view(path, referrer, 1));
        }
        stats.flush().await;
        let day = stats.read_visits(&[stats.today()]).await.unwrap().remove(0);
        let coarse: Vec<&ViewKey> = day
            .views
            .iter()
            .map(|(k, _)| k)
            .filter(|k| k.path == visit::OTHER)
            .collect();
        assert_eq!(coarse.len(), 1);
        assert_eq!(coarse[0].referrer, visit::OTHER);
        assert_eq!(coarse[0].country, "NL");
        assert_eq!(day.views.iter().map(|(_, n)| n).sum::<u64>(), 3);
    }

    #[test]
    fn settings_follow_the_configuration() {
        let keys = Keys::derive(&crate::config::Secret::new(
            b"0123456789abcdef0123456789abcdef".to_vec(),
        ));
        let cfg = StatsConfig {
            count_page_views: false,
            max_paths_per_day: 7,
            max_combinations_per_day: 700,
        };
        let s = StatsSettings::new(&cfg, &keys);
        assert!(!s.count_page_views);
        assert_eq!((s.max_values_per_day, s.max_combinations_per_day), (7, 700));
        assert_eq!(s.visitor_key, keys.visitor_hash.0);
    }
}
