//! The writer task: every [`FLUSH_EVERY`] (or sooner when asked) takes what arrived on the
//! channel, adds it up in memory and writes it in one batch, so the store work is paid per batch, not per
//! event. Page requests arrive unclassified ([`RawView`]): identical ones are added up first
//! and each distinct one is classified once (bot or person, browser, referrer host, UTM),
//! here rather than in the request. Page views need more than adding up: their values are bounded per day (the store admits at
//! most `max_paths_per_day` paths, referrer hosts, … and `max_combinations_per_day`
//! combinations; the rest is "(other)"), and their visitor hashes are hashed again under the
//! day's salt and added to the day's HyperLogLog per site host.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};

use super::agent::Agents;
use super::salt::{self, day_number, Salts};
use super::visit::{RawView, ViewKey, OTHER};
use super::{day_key, Area, Event};
use crate::clock::SharedClock;
use crate::store::{Store, StoreError};

/// Most events the writer adds up into one round of store writes.
const MAX_BATCH: usize = 16_384;
/// Longest an event waits in the channel before its batch is written (a flush request, or a
/// channel half full, wakes the writer at once). A second's delay is invisible on a daily
/// overview, and at a busy gate's rate it turns thousands of store round trips into one.
pub(super) const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How long a day's admitted-values sets stay in the store after their last change (only the
/// day itself needs them; a day longer covers clocks that disagree around midnight).
const ADMIT_TTL: Duration = Duration::from_secs(3 * 86_400);
/// Refusals remembered per day before the writer asks the store again for each new one (so a
/// flood of distinct paths costs store calls, not memory).
const MAX_REMEMBERED_REFUSALS: usize = 10_000;

pub(super) enum Msg {
    Event {
        unix_secs: u64,
        event: Event,
    },
    /// Answered once everything sent before it is written.
    Flush(oneshot::Sender<()>),
}

/// The per-day bounds (see `[stats]` in the configuration).
#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub values: usize,
    pub combinations: usize,
}

/// A bounded dimension of a page view: its name in the store and where it sits in the key.
#[derive(Clone, Copy)]
enum Dim {
    Host,
    Path,
    Referrer,
    UtmSource,
    UtmMedium,
    UtmCampaign,
}

const DIMS: [Dim; 6] = [
    Dim::Host,
    Dim::Path,
    Dim::Referrer,
    Dim::UtmSource,
    Dim::UtmMedium,
    Dim::UtmCampaign,
];

impl Dim {
    fn name(self) -> &'static str {
        match self {
            Dim::Host => "host",
            Dim::Path => "path",
            Dim::Referrer => "referrer",
            Dim::UtmSource => "utm_source",
            Dim::UtmMedium => "utm_medium",
            Dim::UtmCampaign => "utm_campaign",
        }
    }

    fn of(self, k: &ViewKey) -> &String {
        match self {
            Dim::Host => &k.host,
            Dim::Path => &k.path,
            Dim::Referrer => &k.referrer,
            Dim::UtmSource => &k.utm_source,
            Dim::UtmMedium => &k.utm_medium,
            Dim::UtmCampaign => &k.utm_campaign,
        }
    }

    fn of_mut(self, k: &mut ViewKey) -> &mut String {
        match self {
            Dim::Host => &mut k.host,
            Dim::Path => &mut k.path,
            Dim::Referrer => &mut k.referrer,
            Dim::UtmSource => &mut k.utm_source,
            Dim::UtmMedium => &mut k.utm_medium,
            Dim::UtmCampaign => &mut k.utm_campaign,
        }
    }
}

const COMBINATION: &str = "combination";

/// What the store answered about a day's values: admitted or not. Within a day a set only
/// grows to its bound, so both answers hold until the day is over.
#[derive(Default)]
struct DayAnswers {
    known: HashMap<(&'static str, String), bool>,
    refusals: usize,
}

impl DayAnswers {
    fn get(&self, dim: &'static str, value: &str) -> Option<bool> {
        self.known.get(&(dim, value.to_owned())).copied()
    }

    fn remember(&mut self, dim: &'static str, value: String, admitted: bool) {
        if !admitted {
            if self.refusals >= MAX_REMEMBERED_REFUSALS {
                return;
            }
            self.refusals += 1;
        }
        self.known.insert((dim, value), admitted);
    }
}

/// Bot requests of one host and bot name, before the host is bounded.
struct BotSeen {
    host: String,
    name: &'static str,
    count: i64,
}

/// Views of one combination, before it is bounded, with the visitor hashes seen.
struct Viewed {
    key: ViewKey,
    count: i64,
    visitors: HashSet<[u8; 32]>,
}

/// Identical page requests of a batch.
#[derive(Default)]
struct Tally {
    count: i64,
    visitors: HashSet<[u8; 32]>,
}

#[derive(Default)]
struct Batch {
    counts: BTreeMap<(Area, String), BTreeMap<String, i64>>,
    /// Page requests not yet classified, by day and request.
    requests: HashMap<(i64, RawView), Tally>,
    views: BTreeMap<i64, Vec<Viewed>>,
    bots: BTreeMap<i64, Vec<BotSeen>>,
    /// Discovery entries and CSP violations per day, before they are bounded.
    learned: BTreeMap<(i64, Area), Vec<String>>,
    flushes: Vec<oneshot::Sender<()>>,
}

pub(super) struct Writer {
    pub rx: mpsc::Receiver<Msg>,
    /// Wakes the task before [`FLUSH_EVERY`] has passed: a flush request, or a channel
    /// filling up.
    pub wake: Arc<Notify>,
    pub store: Store,
    pub clock: SharedClock,
    pub dropped: Arc<AtomicU64>,
    pub dropped_written: u64,
    /// The last write failed: the next failure is not logged again.
    pub failing: bool,
    pub bounds: Bounds,
    answers: BTreeMap<i64, DayAnswers>,
    salts: Salts,
    agents: Agents,
}

impl Writer {
    pub fn new(
        rx: mpsc::Receiver<Msg>,
        wake: Arc<Notify>,
        store: Store,
        clock: SharedClock,
        dropped: Arc<AtomicU64>,
        bounds: Bounds,
    ) -> Writer {
        Writer {
            rx,
            wake,
            salts: Salts::new(store.clone()),
            store,
            clock,
            dropped,
            dropped_written: 0,
            failing: false,
            bounds,
            answers: BTreeMap::new(),
            agents: Agents::new(),
        }
    }

    pub async fn run(mut self) {
        // Ends when every `Stats` handle is gone. The task sleeps between batches instead of
        // waiting on the channel: a wake-up per event would cost a thread switch per page
        // request on a gate's busy core.
        let mut open = true;
        while open {
            let mut batch = Batch::default();
            let mut taken = 0;
            while taken < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(Msg::Event { unix_secs, event }) => batch.add(unix_secs, event),
                    Ok(Msg::Flush(done)) => batch.flushes.push(done),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
                taken += 1;
            }
            if taken > 0 {
                self.write_batch(batch).await;
            }
            if open && taken < MAX_BATCH {
                tokio::select! {
                    _ = tokio::time::sleep(FLUSH_EVERY) => {}
                    _ = self.wake.notified() => {}
                }
            }
        }
    }

    /// Classify, bound and write what one batch added up, then answer its flush requests.
    async fn write_batch(&mut self, mut batch: Batch) {
        {
            self.classify(&mut batch);
            let today = day_number(self.clock.unix_secs());
            self.salts.rotate(today).await;
            self.answers.retain(|day, _| *day >= today - 1);
            let bots = std::mem::take(&mut batch.bots);
            for (day, seen) in bots {
                self.count_bots(day, seen, &mut batch.counts).await;
            }
            let learned = std::mem::take(&mut batch.learned);
            for ((day, area), fields) in learned {
                self.count_learned(day, area, fields, &mut batch.counts)
                    .await;
            }
            let views = std::mem::take(&mut batch.views);
            for (day, views) in views {
                self.count_views(day, views, &mut batch.counts).await;
            }
            let dropped = self.dropped.load(Ordering::Relaxed);
            if dropped > self.dropped_written {
                let delta = i64::try_from(dropped - self.dropped_written).unwrap_or(i64::MAX);
                batch
                    .counts
                    .entry((Area::Stats, day_key(self.clock.unix_secs())))
                    .or_default()
                    .insert("dropped".to_owned(), delta);
                self.dropped_written = dropped;
            }
            self.write(batch.counts).await;
            for done in batch.flushes {
                let _ = done.send(());
            }
        }
    }

    /// Sort the batch's page requests into bot requests and views, classifying each distinct
    /// request once.
    fn classify(&self, batch: &mut Batch) {
        for ((day, raw), tally) in batch.requests.drain() {
            match raw.classify(&self.agents) {
                Err((host, name)) => batch.bots.entry(day).or_default().push(BotSeen {
                    host,
                    name,
                    count: tally.count,
                }),
                Ok(key) => batch.views.entry(day).or_default().push(Viewed {
                    key,
                    count: tally.count,
                    visitors: tally.visitors,
                }),
            }
        }
    }

    /// Note the outcome of a store call; failures are logged once per outage.
    fn note<T>(&mut self, result: Result<T, StoreError>) -> Option<T> {
        match result {
            Ok(v) => {
                self.failing = false;
                Some(v)
            }
            Err(e) => {
                // Counters are best effort: lost during an outage, logged once per outage.
                if !self.failing {
                    tracing::warn!(error = %e, "statistics not written");
                }
                self.failing = true;
                None
            }
        }
    }

    async fn write(&mut self, counts: BTreeMap<(Area, String), BTreeMap<String, i64>>) {
        for ((area, day), fields) in counts {
            let pairs: Vec<(&str, i64)> = fields.iter().map(|(f, n)| (f.as_str(), *n)).collect();
            let result = self.store.incr_counters(area.key(), &day, &pairs).await;
            self.note(result);
        }
    }

    /// Ask the store about the values of `dim` on `day` it has not answered yet; values it
    /// could not be asked about stay unanswered (counted as "(other)" this time).
    async fn admit(&mut self, day: i64, dim: &'static str, values: BTreeSet<String>, max: usize) {
        let answers = self.answers.entry(day).or_default();
        let unknown: Vec<String> = values
            .into_iter()
            .filter(|v| !v.is_empty() && answers.get(dim, v).is_none())
            .collect();
        if unknown.is_empty() {
            return;
        }
        let refs: Vec<&str> = unknown.iter().map(String::as_str).collect();
        let name = format!("views:{dim}");
        let result = self
            .store
            .admit(&name, &salt_day(day), &refs, max, ADMIT_TTL)
            .await;
        if let Some(flags) = self.note(result) {
            let answers = self.answers.entry(day).or_default();
            for (value, admitted) in unknown.into_iter().zip(flags) {
                answers.remember(dim, value, admitted);
            }
        }
    }

    /// `key` with every value the day has no room for replaced by "(other)".
    fn bounded(&self, day: i64, mut key: ViewKey) -> ViewKey {
        let answers = self.answers.get(&day);
        for dim in DIMS {
            let value = dim.of_mut(&mut key);
            let admitted =
                value.is_empty() || answers.and_then(|a| a.get(dim.name(), value)) == Some(true);
            if !admitted {
                *value = OTHER.to_owned();
            }
        }
        key
    }

    async fn count_bots(
        &mut self,
        day: i64,
        seen: Vec<BotSeen>,
        counts: &mut BTreeMap<(Area, String), BTreeMap<String, i64>>,
    ) {
        let hosts: BTreeSet<String> = seen.iter().map(|b| b.host.clone()).collect();
        self.admit(day, "host", hosts, self.bounds.values).await;
        let answers = self.answers.get(&day);
        let fields = counts.entry((Area::Bots, salt_day(day))).or_default();
        for bot in seen {
            let host = match answers.and_then(|a| a.get("host", &bot.host)) {
                Some(true) => bot.host,
                _ if bot.host.is_empty() => bot.host,
                _ => OTHER.to_owned(),
            };
            *fields.entry(bot_field(&host, bot.name)).or_default() += bot.count;
        }
    }

    async fn count_views(
        &mut self,
        day: i64,
        views: Vec<Viewed>,
        counts: &mut BTreeMap<(Area, String), BTreeMap<String, i64>>,
    ) {
        for dim in DIMS {
            let values: BTreeSet<String> = views.iter().map(|v| dim.of(&v.key).clone()).collect();
            self.admit(day, dim.name(), values, self.bounds.values)
                .await;
        }
        let keys: Vec<ViewKey> = views
            .iter()
            .map(|v| self.bounded(day, v.key.clone()))
            .collect();
        let encoded: Vec<String> = keys.iter().map(ViewKey::encode).collect();
        let combinations: BTreeSet<String> = encoded.iter().cloned().collect();
        self.admit(day, COMBINATION, combinations, self.bounds.combinations)
            .await;
        let answers = self.answers.get(&day);
        let fields = counts.entry((Area::Views, salt_day(day))).or_default();
        for ((key, field), view) in keys.iter().zip(encoded).zip(&views) {
            let field = match answers.and_then(|a| a.get(COMBINATION, &field)) {
                Some(true) => field,
                _ => key.coarse().encode(),
            };
            *fields.entry(field).or_default() += view.count;
        }
        self.count_visitors(day, &keys, &views).await;
    }

    /// Count discovery entries or CSP violations of `day`, each admitted among the day's
    /// distinct entries of its area (at most `bounds.values`); the others are dropped.
    async fn count_learned(
        &mut self,
        day: i64,
        area: Area,
        fields: Vec<String>,
        counts: &mut BTreeMap<(Area, String), BTreeMap<String, i64>>,
    ) {
        let dim = area.key();
        let distinct: BTreeSet<String> = fields.iter().cloned().collect();
        self.admit(day, dim, distinct, self.bounds.values).await;
        let answers = self.answers.get(&day);
        let counted = counts.entry((area, salt_day(day))).or_default();
        for field in fields {
            if answers.and_then(|a| a.get(dim, &field)) == Some(true) {
                *counted.entry(field).or_default() += 1;
            }
        }
    }

    /// Add the day's visitors to the HyperLogLog of their (bounded) site host.
    async fn count_visitors(&mut self, day: i64, keys: &[ViewKey], views: &[Viewed]) {
        if !self.salts.usable(day) {
            return;
        }
        let result = self.salts.get(day).await;
        let Some(salt) = self.note(result) else {
            return;
        };
        let mut by_host: BTreeMap<&str, Vec<[u8; 16]>> = BTreeMap::new();
        for (key, view) in keys.iter().zip(views) {
            let members = by_host.entry(key.host.as_str()).or_default();
            members.extend(view.visitors.iter().map(|v| salt::member(&salt, v)));
        }
        for (host, members) in by_host {
            let refs: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
            let result = self
                .store
                .add_uniques(&visitors_name(host), &salt_day(day), &refs)
                .await;
            self.note(result);
        }
    }
}

impl Batch {
    fn add(&mut self, unix_secs: u64, event: Event) {
        match event {
            Event::Request(request) => {
                let (raw, visitor) = *request;
                let tally = self
                    .requests
                    .entry((day_number(unix_secs), raw))
                    .or_default();
                tally.count += 1;
                tally.visitors.insert(visitor);
            }
            Event::PageView(view) => {
                self.views
                    .entry(day_number(unix_secs))
                    .or_default()
                    .push(Viewed {
                        key: view.key,
                        count: 1,
                        visitors: HashSet::from([view.visitor]),
                    })
            }
            Event::Bot { host, name } => {
                self.bots
                    .entry(day_number(unix_secs))
                    .or_default()
                    .push(BotSeen {
                        host,
                        name,
                        count: 1,
                    })
            }
            Event::Discovered { field } => self
                .learned
                .entry((day_number(unix_secs), Area::Discovered))
                .or_default()
                .push(field),
            Event::CspViolation { field } => self
                .learned
                .entry((day_number(unix_secs), Area::CspReports))
                .or_default()
                .push(field),
            Event::SiteVendor { field } => self
                .learned
                .entry((day_number(unix_secs), Area::SiteVendors))
                .or_default()
                .push(field),
            other => {
                let (area, fields) = other.fields();
                let day = self.counts.entry((area, day_key(unix_secs))).or_default();
                for field in fields {
                    *day.entry(field).or_default() += 1;
                }
            }
        }
    }
}

/// The day key of a day number.
fn salt_day(day: i64) -> String {
    day_key(u64::try_from(day).unwrap_or(0).saturating_mul(86_400))
}

/// The unique-count name of a site host's visitors.
pub(super) fn visitors_name(host: &str) -> String {
    format!("visitors:{host}")
}

/// The bot counter field of a host and bot name.
pub(super) fn bot_field(host: &str, name: &str) -> String {
    format!("{host}\t{name}")
}
