//! The overview: page views and unique visitors beside the consent figures for a period —
//! coverage (how much of the audience analytics may still see), decisions and rates, the top
//! paths, entry paths, referrers, UTM values, countries, browsers and devices — compared with
//! the previous period and, when there is data, the same period a year before. Filters by site
//! host, path, country and referrer apply to every panel they can apply to.
//!
//! [`OverviewQuery::parse`] reads what was asked (the page's form, its links, the exports and
//! the API all use the same parameters); [`read`] reads the counters and [`build`] (pure, so
//! tested without a store) turns them into one [`Overview`]. The page, the CSV files
//! ([`csv_zip`]) and the JSON ([`json`]) are all made from that one value, so they show the
//! same figures.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use serde::{Deserialize, Serialize, Serializer};
use time::Date;

use super::export::csv_cell;
use super::figures::{form_outcomes, ConsentDay, Decisions, FormOutcomes, UNKNOWN_COUNTRY};
use crate::stats::visit::ViewKey;
use crate::stats::{Area, ConsentAction, DayVisits, Stats};
use crate::store::StoreError;

/// Rows each table shows; the rest is summed in one line.
pub const TOP_ROWS: usize = 10;
/// Longest custom range, in days.
pub const MAX_DAYS: u32 = 400;
/// Filter and row value of entries without a referrer.
pub const DIRECT: &str = "(direct)";
/// Filter and row value of views without a known country.
pub const UNKNOWN: &str = "(unknown)";
/// The category whose coverage the overview leads with.
pub const HEADLINE_CATEGORY: &str = "analytics";

/// Which period was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeKind {
    /// The last n days up to today: 7, 30 or 90.
    Last(u32),
    /// A calendar month.
    Month,
    /// From a day to a day.
    Custom,
}

impl RangeKind {
    /// The choices the page offers, in order; the first is the default.
    pub const CHOICES: [&'static str; 5] = ["30d", "7d", "90d", "month", "custom"];

    pub fn as_str(self) -> &'static str {
        match self {
            RangeKind::Last(7) => "7d",
            RangeKind::Last(90) => "90d",
            RangeKind::Last(_) => "30d",
            RangeKind::Month => "month",
            RangeKind::Custom => "custom",
        }
    }
}

impl Serialize for RangeKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What narrows the figures; `None` = everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    pub host: Option<String>,
    pub path: Option<String>,
    /// An ISO country code, or [`UNKNOWN`].
    pub country: Option<String>,
    /// A referrer host, or [`DIRECT`].
    pub referrer: Option<String>,
}

impl Filters {
    /// Whether any filter is set that decisions are not counted by (all but country).
    fn beyond_decisions(&self) -> bool {
        self.host.is_some() || self.path.is_some() || self.referrer.is_some()
    }

    /// Whether any filter is set that unique visitors are not counted by (all but host).
    fn beyond_visitors(&self) -> bool {
        self.path.is_some() || self.country.is_some() || self.referrer.is_some()
    }

    fn admits(&self, k: &ViewKey) -> bool {
        let is = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        is(&self.host, &k.host)
            && is(&self.path, &k.path)
            && is(&self.country, country_label(&k.country))
            && self.referrer.as_deref().is_none_or(|r| {
                if r == DIRECT {
                    k.entry && k.referrer.is_empty()
                } else {
                    r == k.referrer
                }
            })
    }
}

/// The query parameters of the overview, its exports and the API, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueryParams {
    #[serde(default)]
    pub range: String,
    /// The figures page's older parameter: 7, 30 or 90.
    #[serde(default)]
    pub days: String,
    /// `YYYY-MM` for `range=month`.
    #[serde(default)]
    pub month: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub referrer: String,
}

/// Why a query cannot be answered (a 400, naming the parameter).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadQuery(pub String);

/// A period of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: Date,
    pub to: Date,
}

impl Period {
    pub fn days(&self) -> Vec<Date> {
        let mut out = Vec::new();
        let mut d = self.from;
        while d <= self.to {
            out.push(d);
            match d.next_day() {
                Some(next) => d = next,
                None => break,
            }
        }
        out
    }

    pub fn len(&self) -> u32 {
        u32::try_from((self.to - self.from).whole_days() + 1).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.to < self.from
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        let len = time::Duration::days(i64::from(self.len()));
        Period {
            from: self.from - len,
            to: self.from - time::Duration::days(1),
        }
    }

    /// The same dates a year earlier (29 February becomes the 28th).
    pub fn year_before(&self) -> Option<Period> {
        let back = |d: Date| {
            d.replace_year(d.year() - 1)
                .or_else(|_| d.replace_day(28).and_then(|d| d.replace_year(d.year() - 1)))
                .ok()
        };
        Some(Period {
            from: back(self.from)?,
            to: back(self.to)?,
        })
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Period", 3)?;
        st.serialize_field("from", &day_text(self.from))?;
        st.serialize_field("to", &day_text(self.to))?;
        st.serialize_field("days", &self.len())?;
        st.end()
    }
}

/// A day as `YYYY-MM-DD`, the statistics' day key.
pub fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_day(text: &str, name: &str) -> Result<Date, BadQuery> {
    super::views::parse_day(text).ok_or_else(|| BadQuery(format!("{name}: a day as YYYY-MM-DD")))
}

/// The day of a unix time (UTC).
pub fn date_of(unix_secs: u64) -> Date {
    let secs = i64::try_from(unix_secs).unwrap_or(i64::MAX);
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(|t| t.date())
        .unwrap_or(Date::MAX)
}

/// What the overview is asked for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewQuery {
    pub range: RangeKind,
    pub period: Period,
    pub filters: Filters,
}

fn filter_value(text: &str, name: &str, max: usize) -> Result<Option<String>, BadQuery> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.len() > max || text.chars().any(char::is_control) {
        return Err(BadQuery(format!(
            "{name}: at most {max} characters, no control characters"
        )));
    }
    Ok(Some(text.to_owned()))
}

impl OverviewQuery {
    /// Read the parameters; `today` ends the "last n days" ranges.
    pub fn parse(p: &QueryParams, today: Date) -> Result<OverviewQuery, BadQuery> {
        let range = match (p.range.as_str(), p.days.as_str()) {
            ("", "") => RangeKind::Last(30),
            ("", "7") | ("7d", _) => RangeKind::Last(7),
            ("", "30") | ("30d", _) => RangeKind::Last(30),
            ("", "90") | ("90d", _) => RangeKind::Last(90),
            ("", _) => return Err(BadQuery("days: one of 7, 30 or 90".into())),
            ("month", _) => RangeKind::Month,
            ("custom", _) => RangeKind::Custom,
            _ => return Err(BadQuery("range: 7d, 30d, 90d, month or custom".into())),
        };
        let period = match range {
            RangeKind::Last(n) => Period {
                from: today - time::Duration::days(i64::from(n) - 1),
                to: today,
            },
            RangeKind::Month => {
                let text = if p.month.is_empty() {
                    format!("{:04}-{:02}", today.year(), u8::from(today.month()))
                } else {
                    p.month.clone()
                };
                let first = parse_day(&format!("{text}-01"), "month")
                    .map_err(|_| BadQuery("month: a month as YYYY-MM".into()))?;
                let next = match first.month() {
                    time::Month::December => first
                        .replace_year(first.year() + 1)
                        .and_then(|d| d.replace_month(time::Month::January)),
                    m => first.replace_month(m.next()),
                }
                .map_err(|_| BadQuery("month: a month as YYYY-MM".into()))?;
                Period {
                    from: first,
                    to: next - time::Duration::days(1),
                }
            }
            RangeKind::Custom => {
                let period = Period {
                    from: parse_day(&p.from, "from")?,
                    to: parse_day(&p.to, "to")?,
                };
                if period.is_empty() {
                    return Err(BadQuery("to: not before from".into()));
                }
                if period.len() > MAX_DAYS {
                    return Err(BadQuery(format!("to: at most {MAX_DAYS} days after from")));
                }
                period
            }
        };
        Ok(OverviewQuery {
            range,
            period,
            filters: Filters {
                host: filter_value(&p.host, "host", 253)?.map(|h| h.to_ascii_lowercase()),
                path: filter_value(&p.path, "path", 512)?,
                country: filter_value(&p.country, "country", 16)?,
                referrer: filter_value(&p.referrer, "referrer", 253)?,
            },
        })
    }

    /// The query as parameters again (for links and the export buttons), with `filters`
    /// instead of this query's own.
    pub fn params_with(&self, filters: &Filters) -> Vec<(&'static str, String)> {
        let mut out = vec![("range", self.range.as_str().to_owned())];
        match self.range {
            RangeKind::Month => out.push((
                "month",
                format!(
                    "{:04}-{:02}",
                    self.period.from.year(),
                    u8::from(self.period.from.month())
                ),
            )),
            RangeKind::Custom => {
                out.push(("from", day_text(self.period.from)));
                out.push(("to", day_text(self.period.to)));
            }
            RangeKind::Last(_) => {}
        }
        for (name, value) in [
            ("host", &filters.host),
            ("path", &filters.path),
            ("country", &filters.country),
            ("referrer", &filters.referrer),
        ] {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        out
    }

    /// [`OverviewQuery::params_with`] this query's own filters.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        self.params_with(&self.filters)
    }
}

/// A figure: a count or a percentage (one decimal).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    Count(u64),
    Percent(f64),
}

impl Serialize for Figure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Figure::Count(n) => s.serialize_u64(*n),
            Figure::Percent(p) => s.serialize_f64(*p),
        }
    }
}

impl std::fmt::Display for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Figure::Count(n) => write!(f, "{n}"),
            Figure::Percent(p) => write!(f, "{p:.1}"),
        }
    }
}

/// `part` of `whole` in percent, one decimal; `None` without a whole.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round1(part as f64 * 100.0 / whole as f64))
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The change from `before` to `now`: relative, in percent, for counts; in percentage points
/// for percentages. `None` when there is nothing to compare with.
fn change(now: Option<Figure>, before: Option<Figure>) -> Option<f64> {
    match (now?, before?) {
        (Figure::Count(n), Figure::Count(b)) => {
            (b > 0).then(|| round1((n as f64 - b as f64) * 100.0 / b as f64))
        }
        (Figure::Percent(n), Figure::Percent(b)) => Some(round1(n - b)),
        _ => None,
    }
}

/// One line of the summary: this period, the one before, a year before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    /// `views`, `visitors`, `banner_views`, `decisions`, `coverage`, `bots`.
    pub metric: &'static str,
    pub value: Option<Figure>,
    pub previous: Option<Figure>,
    /// Relative change in percent (counts) or in percentage points (percentages).
    pub change: Option<f64>,
    pub last_year: Option<Figure>,
    pub change_last_year: Option<f64>,
}

/// Decisions per action.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ActionCounts {
    pub accept_all: u64,
    pub reject_all: u64,
    pub custom: u64,
    pub withdraw: u64,
}

impl ActionCounts {
    fn of(actions: [u64; 4]) -> ActionCounts {
        debug_assert_eq!(ConsentAction::ALL[0], ConsentAction::AcceptAll);
        ActionCounts {
            accept_all: actions[0],
            reject_all: actions[1],
            custom: actions[2],
            withdraw: actions[3],
        }
    }

    /// Per action in [`ConsentAction::ALL`] order.
    pub fn list(&self) -> [u64; 4] {
        [self.accept_all, self.reject_all, self.custom, self.withdraw]
    }

    pub fn total(&self) -> u64 {
        self.list().iter().sum()
    }
}

/// One day of the period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayRow {
    pub day: String,
    pub views: u64,
    /// Unique visitors (`None` when a filter they are not counted by is set).
    pub visitors: Option<u64>,
    /// Page views without a valid consent cookie: the banner was shown.
    pub banner_views: u64,
    /// `None` when a filter decisions are not counted by is set.
    pub decisions: Option<ActionCounts>,
}

/// Consent figures of one category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryRow {
    pub category: String,
    /// Decisions that granted it (`None` under a filter decisions are not counted by).
    pub granted: Option<u64>,
    /// Decisions that refused it (not counted per country: `None` under a country filter).
    pub refused: Option<u64>,
    /// Granted / decisions made, percent.
    pub consent_rate: Option<f64>,
    /// Granted / page views that showed the banner, percent.
    pub opt_in_rate: Option<f64>,
    /// Page views whose consent cookie granted it.
    pub views_granted: u64,
    /// Those views / all page views, percent: how much of the audience it may see.
    pub coverage: Option<f64>,
}

/// One category in one country.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryCategory {
    pub category: String,
    pub granted: u64,
    pub consent_rate: Option<f64>,
    pub opt_in_rate: Option<f64>,
}

/// Consent figures of one country ([`UNKNOWN`] for none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountryConsent {
    pub country: String,
    pub decisions: u64,
    pub banner_views: u64,
    pub categories: Vec<CountryCategory>,
}

/// One line of a table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PanelRow {
    pub value: String,
    pub views: u64,
    /// Of the panel's total, percent.
    pub share: Option<f64>,
}

/// What the rows beyond the first [`TOP_ROWS`] add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rest {
    pub values: usize,
    pub views: u64,
}

/// A table of the overview: paths, entry paths, referrers, UTM values, countries, browsers,
/// devices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Panel {
    /// `paths`, `entries`, `referrers`, `utm_source`, `utm_medium`, `utm_campaign`,
    /// `countries`, `browsers`, `devices`.
    pub id: &'static str,
    /// Views the panel counts (entries only for `entries` and `referrers`; views with a value
    /// for the UTM panels).
    pub total: u64,
    pub rows: Vec<PanelRow>,
    pub rest: Option<Rest>,
}

impl Panel {
    /// Which filter a row of this panel sets, if any.
    pub fn filter(&self) -> Option<&'static str> {
        match self.id {
            "paths" | "entries" => Some("path"),
            "referrers" => Some("referrer"),
            "countries" => Some("country"),
            _ => None,
        }
    }
}

/// Everything the overview shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub range: RangeKind,
    pub period: Period,
    pub previous: Period,
    /// The same period a year before, when it has any data.
    pub last_year: Option<Period>,
    pub filters: Filters,
    /// The site hosts with views in the period (the host filter's choices).
    pub hosts: Vec<String>,
    pub summary: Vec<SummaryRow>,
    pub days: Vec<DayRow>,
    /// Views per day of the previous period, aligned with `days` (for the chart).
    pub previous_views: Vec<u64>,
    /// Whether decisions could be counted under the filters (not per host, path or referrer).
    pub decisions_counted: bool,
    /// Whether unique visitors could be counted under the filters (not per path, country or
    /// referrer).
    pub visitors_counted: bool,
    pub decisions: Option<ActionCounts>,
    pub categories: Vec<CategoryRow>,
    pub consent_by_country: Vec<CountryConsent>,
    pub panels: Vec<Panel>,
    /// Contact forms, whole site (no filter applies).
    pub forms: Vec<FormOutcomes>,
}

/// The counters of one period, as read.
#[derive(Debug, Clone, Default)]
pub struct PeriodData {
    pub visits: Vec<DayVisits>,
    /// The `consent` counter hashes, one per day.
    pub consent: Vec<BTreeMap<String, i64>>,
}

/// The counters the overview is made of.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub current: PeriodData,
    pub previous: PeriodData,
    pub last_year: Option<PeriodData>,
    /// The `forms` counter hashes of the current period.
    pub forms: Vec<BTreeMap<String, i64>>,
}

async fn read_period(stats: &Stats, period: &Period) -> Result<PeriodData, StoreError> {
    let days: Vec<String> = period.days().into_iter().map(day_text).collect();
    let (visits, consent) =
        futures_util::future::try_join(stats.read_visits(&days), stats.read(Area::Consent, &days))
            .await?;
    Ok(PeriodData { visits, consent })
}

/// Read the counters of `q`'s period, the one before it and the year before.
pub async fn read(stats: &Stats, q: &OverviewQuery) -> Result<Data, StoreError> {
    let previous = q.period.previous();
    let last_year = q.period.year_before();
    let days: Vec<String> = q.period.days().into_iter().map(day_text).collect();
    let (current, previous, forms) = futures_util::future::try_join3(
        read_period(stats, &q.period),
        read_period(stats, &previous),
        stats.read(Area::Forms, &days),
    )
    .await?;
    let last_year = match last_year {
        Some(p) => Some(read_period(stats, &p).await?),
        None => None,
    };
    Ok(Data {
        current,
        previous,
        last_year,
        forms,
    })
}

fn country_label(cc: &str) -> &str {
    if cc.is_empty() {
        UNKNOWN
    } else {
        cc
    }
}

/// The page views of a period under the filters, added up.
#[derive(Debug, Default)]
struct Tally {
    days: Vec<(u64, Option<u64>, u64)>,
    views: u64,
    visitors: Option<u64>,
    banner_views: u64,
    bots: Option<u64>,
    granted_views: BTreeMap<String, u64>,
    banner_by_country: BTreeMap<String, u64>,
    dims: BTreeMap<&'static str, BTreeMap<String, u64>>,
    hosts: BTreeSet<String>,
}

/// The overview's tables, in the order they are shown (their ids on the page and in exports).
pub const PANELS: [&str; 9] = [
    "paths",
    "entries",
    "referrers",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "countries",
    "browsers",
    "devices",
];

fn tally(visits: &[DayVisits], filters: &Filters, categories: &[String]) -> Tally {
    let mut t = Tally {
        visitors: (!filters.beyond_visitors()).then_some(0),
        bots: (!filters.beyond_visitors()).then_some(0),
        ..Tally::default()
    };
    for day in visits {
        let (mut views, mut banner) = (0, 0);
        for (k, n) in &day.views {
            t.hosts.insert(k.host.clone());
            if !filters.admits(k) {
                continue;
            }
            views += n;
            if k.consent.is_none() {
                banner += n;
                *t.banner_by_country
                    .entry(country_label(&k.country).to_owned())
                    .or_default() += n;
            }
            for c in categories {
                if k.granted(c) {
                    *t.granted_views.entry(c.clone()).or_default() += n;
                }
            }
            let mut add = |panel: &'static str, value: &str| {
                *t.dims
                    .entry(panel)
                    .or_default()
                    .entry(value.to_owned())
                    .or_default() += n;
            };
            add("paths", &k.path);
            if k.entry {
                add("entries", &k.path);
                add(
                    "referrers",
                    if k.referrer.is_empty() {
                        DIRECT
                    } else {
                        &k.referrer
                    },
                );
            }
            for (panel, value) in [
                ("utm_source", &k.utm_source),
                ("utm_medium", &k.utm_medium),
                ("utm_campaign", &k.utm_campaign),
            ] {
                if !value.is_empty() {
                    add(panel, value);
                }
            }
            add("countries", country_label(&k.country));
            add("browsers", &k.browser);
            add("devices", &k.device);
        }
        let visitors = (!filters.beyond_visitors()).then(|| {
            day.visitors
                .iter()
                .filter(|(host, _)| filters.host.as_deref().is_none_or(|h| h == *host))
                .map(|(_, n)| *n)
                .sum::<u64>()
        });
        if let Some(bots) = &mut t.bots {
            *bots += day
                .bots
                .iter()
                .filter(|((host, _), _)| filters.host.as_deref().is_none_or(|h| h == host))
                .map(|(_, n)| *n)
                .sum::<u64>();
        }
        t.views += views;
        t.banner_views += banner;
        if let (Some(total), Some(v)) = (&mut t.visitors, visitors) {
            *total += v;
        }
        t.days.push((views, visitors, banner));
    }
    t
}

/// The decisions of a period under the country filter, per day and in total.
fn decisions(
    consent: &[BTreeMap<String, i64>],
    country: Option<&str>,
) -> (Vec<Decisions>, Decisions) {
    let mut total = Decisions::default();
    let days: Vec<Decisions> = consent
        .iter()
        .map(|fields| {
            let day = ConsentDay::read(fields);
            let d = match country {
                None => day.all,
                Some(cc) => day.country(if cc == UNKNOWN { UNKNOWN_COUNTRY } else { cc }),
            };
            total.add(&d);
            d
        })
        .collect();
    (days, total)
}

fn panel(id: &'static str, counts: Option<&BTreeMap<String, u64>>) -> Panel {
    let mut rows: Vec<(String, u64)> = counts
        .map(|c| c.iter().map(|(v, n)| (v.clone(), *n)).collect())
        .unwrap_or_default();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let total: u64 = rows.iter().map(|(_, n)| n).sum();
    let rest_rows = rows.split_off(rows.len().min(TOP_ROWS));
    Panel {
        id,
        total,
        rows: rows
            .into_iter()
            .map(|(value, views)| PanelRow {
                share: percent(views, total),
                value,
                views,
            })
            .collect(),
        rest: (!rest_rows.is_empty()).then(|| Rest {
            values: rest_rows.len(),
            views: rest_rows.iter().map(|(_, n)| n).sum(),
        }),
    }
}

/// The headline figures of one period.
struct Headline {
    views: u64,
    visitors: Option<u64>,
    banner_views: u64,
    decisions: Option<u64>,
    coverage: Option<f64>,
    bots: Option<u64>,
}

fn headline(t: &Tally, d: &Decisions, counted: bool) -> Headline {
    Headline {
        views: t.views,
        visitors: t.visitors,
        banner_views: t.banner_views,
        decisions: counted.then(|| d.total()),
        coverage: percent(
            t.granted_views.get(HEADLINE_CATEGORY).copied().unwrap_or(0),
            t.views,
        ),
        bots: t.bots,
    }
}

/// How one summary figure is read from a period's headline.
type Metric = (&'static str, fn(&Headline) -> Option<Figure>);

fn summary(now: &Headline, before: &Headline, year: Option<&Headline>) -> Vec<SummaryRow> {
    let metrics: [Metric; 6] = [
        ("views", |h| Some(Figure::Count(h.views))),
        ("visitors", |h| h.visitors.map(Figure::Count)),
        ("banner_views", |h| Some(Figure::Count(h.banner_views))),
        ("decisions", |h| h.decisions.map(Figure::Count)),
        ("coverage", |h| h.coverage.map(Figure::Percent)),
        ("bots", |h| h.bots.map(Figure::Count)),
    ];
    metrics
        .into_iter()
        .map(|(metric, get)| {
            let (value, previous) = (get(now), get(before));
            let last_year = year.and_then(get);
            SummaryRow {
                metric,
                value,
                previous,
                change: change(value, previous),
                last_year,
                change_last_year: change(value, last_year),
            }
        })
        .collect()
}

/// Turn the counters into the overview of `q`. `categories`: the optional consent categories
/// the banner offers, in its order.
pub fn build(q: &OverviewQuery, categories: &[String], data: &Data) -> Overview {
    let f = &q.filters;
    let counted = !f.beyond_decisions();
    let country = f.country.as_deref();
    let now = tally(&data.current.visits, f, categories);
    let before = tally(&data.previous.visits, f, categories);
    let (days_decided, decided) = decisions(&data.current.consent, country);
    let (_, decided_before) = decisions(&data.previous.consent, country);
    let year = data.last_year.as_ref().and_then(|ly| {
        let t = tally(&ly.visits, f, categories);
        let (_, d) = decisions(&ly.consent, country);
        (t.views > 0 || d.total() > 0).then(|| headline(&t, &d, counted))
    });
    let days = q
        .period
        .days()
        .into_iter()
        .zip(&now.days)
        .enumerate()
        .map(|(i, (day, (views, visitors, banner)))| DayRow {
            day: day_text(day),
            views: *views,
            visitors: *visitors,
            banner_views: *banner,
            decisions: counted
                .then(|| ActionCounts::of(days_decided.get(i).map_or([0; 4], |d| d.actions))),
        })
        .collect();
    let category_rows = categories
        .iter()
        .map(|c| {
            let views_granted = now.granted_views.get(c).copied().unwrap_or(0);
            let granted = decided.granted(c);
            CategoryRow {
                category: c.clone(),
                granted: counted.then_some(granted),
                refused: (counted && country.is_none())
                    .then(|| decided.refused.get(c).copied().unwrap_or(0)),
                consent_rate: counted.then(|| percent(granted, decided.total())).flatten(),
                opt_in_rate: counted
                    .then(|| percent(granted, now.banner_views))
                    .flatten(),
                views_granted,
                coverage: percent(views_granted, now.views),
            }
        })
        .collect();
    let consent_by_country = if counted {
        by_country(&data.current.consent, &now, categories, country)
    } else {
        Vec::new()
    };
    Overview {
        range: q.range,
        period: q.period,
        previous: q.period.previous(),
        last_year: year.as_ref().and(q.period.year_before()),
        filters: f.clone(),
        hosts: now.hosts.iter().cloned().collect(),
        summary: summary(
            &headline(&now, &decided, counted),
            &headline(&before, &decided_before, counted),
            year.as_ref(),
        ),
        days,
        previous_views: before.days.iter().map(|(v, _, _)| *v).collect(),
        decisions_counted: counted,
        visitors_counted: !f.beyond_visitors(),
        decisions: counted.then(|| ActionCounts::of(decided.actions)),
        categories: category_rows,
        consent_by_country,
        panels: PANELS
            .into_iter()
            .map(|id| panel(id, now.dims.get(id)))
            .collect(),
        forms: form_outcomes(&data.forms),
    }
}

/// Consent per country: every country with decisions or banner views, most decisions first.
fn by_country(
    consent: &[BTreeMap<String, i64>],
    now: &Tally,
    categories: &[String],
    only: Option<&str>,
) -> Vec<CountryConsent> {
    let mut per: BTreeMap<String, Decisions> = BTreeMap::new();
    for fields in consent {
        for (cc, d) in ConsentDay::read(fields).by_country {
            per.entry(country_label(&cc).to_owned())
                .or_default()
                .add(&d);
        }
    }
    let mut names: BTreeSet<String> = per.keys().cloned().collect();
    names.extend(now.banner_by_country.keys().cloned());
    let mut rows: Vec<CountryConsent> = names
        .into_iter()
        .filter(|cc| only.is_none_or(|o| o == cc))
        .map(|cc| {
            let d = per.get(&cc).cloned().unwrap_or_default();
            let banner_views = now.banner_by_country.get(&cc).copied().unwrap_or(0);
            CountryConsent {
                categories: categories
                    .iter()
                    .map(|c| CountryCategory {
                        category: c.clone(),
                        granted: d.granted(c),
                        consent_rate: percent(d.granted(c), d.total()),
                        opt_in_rate: percent(d.granted(c), banner_views),
                    })
                    .collect(),
                decisions: d.total(),
                banner_views,
                country: cc,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.decisions
            .cmp(&a.decisions)
            .then(b.banner_views.cmp(&a.banner_views))
            .then_with(|| a.country.cmp(&b.country))
    });
    rows
}

// ---- exports: exactly what the page shows ----

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("export: {0}")]
    Io(#[from] std::io::Error),
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The overview as JSON (also the API's answer).
pub fn json(o: &Overview) -> Result<Vec<u8>, ExportError> {
    Ok(serde_json::to_vec_pretty(o)?)
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}")).unwrap_or_default()
}

/// A CSV file: text cells defused for spreadsheets, numbers as they are.
fn csv_file(header: &[&str], rows: Vec<Vec<(bool, String)>>) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    for row in rows {
        w.write_record(row.iter().map(|(text, cell)| {
            if *text {
                csv_cell(cell).into_owned()
            } else {
                cell.clone()
            }
        }))?;
    }
    w.into_inner().map_err(|e| ExportError::Io(e.into_error()))
}

fn text(s: &str) -> (bool, String) {
    (true, s.to_owned())
}

fn num(s: String) -> (bool, String) {
    (false, s)
}

/// The CSV files of the overview, by file name: one per panel of the page.
pub fn csv_files(o: &Overview) -> Result<Vec<(String, Vec<u8>)>, ExportError> {
    let mut files = Vec::new();
    files.push((
        "summary.csv".to_owned(),
        csv_file(
            &[
                "metric",
                "value",
                "previous",
                "change",
                "last_year",
                "change_last_year",
            ],
            o.summary
                .iter()
                .map(|r| {
                    vec![
                        text(r.metric),
                        num(opt(r.value)),
                        num(opt(r.previous)),
                        num(pct(r.change)),
                        num(opt(r.last_year)),
                        num(pct(r.change_last_year)),
                    ]
                })
                .collect(),
        )?,
    ));
    let actions = ConsentAction::ALL.map(ConsentAction::as_str);
    let mut header = vec!["day", "views", "visitors", "banner_views"];
    header.extend(actions);
    files.push((
        "days.csv".to_owned(),
        csv_file(
            &header,
            o.days
                .iter()
                .map(|d| {
                    let mut row = vec![
                        text(&d.day),
                        num(d.views.to_string()),
                        num(opt(d.visitors)),
                        num(d.banner_views.to_string()),
                    ];
                    for i in 0..4 {
                        row.push(num(opt(d.decisions.map(|a| a.list()[i]))));
                    }
                    row
                })
                .collect(),
        )?,
    ));
    files.push((
        "categories.csv".to_owned(),
        csv_file(
            &[
                "category",
                "granted",
                "consent_rate",
                "opt_in_rate",
                "views_granted",
                "coverage",
            ],
            o.categories
                .iter()
                .map(|c| {
                    vec![
                        text(&c.category),
                        num(opt(c.granted)),
                        num(pct(c.consent_rate)),
                        num(pct(c.opt_in_rate)),
                        num(c.views_granted.to_string()),
                        num(pct(c.coverage)),
                    ]
                })
                .collect(),
        )?,
    ));
    let mut rows = Vec::new();
    for c in &o.consent_by_country {
        for cat in &c.categories {
            rows.push(vec![
                text(&c.country),
                num(c.decisions.to_string()),
                num(c.banner_views.to_string()),
                text(&cat.category),
                num(cat.granted.to_string()),
                num(pct(cat.consent_rate)),
                num(pct(cat.opt_in_rate)),
            ]);
        }
    }
    files.push((
        "consent_by_country.csv".to_owned(),
        csv_file(
            &[
                "country",
                "decisions",
                "banner_views",
                "category",
                "granted",
                "consent_rate",
                "opt_in_rate",
            ],
            rows,
        )?,
    ));
    for p in &o.panels {
        let mut rows: Vec<Vec<(bool, String)>> = p
            .rows
            .iter()
            .map(|r| vec![text(&r.value), num(r.views.to_string()), num(pct(r.share))])
            .collect();
        if let Some(rest) = &p.rest {
            rows.push(vec![
                text(&format!("({} more)", rest.values)),
                num(rest.views.to_string()),
                num(pct(percent(rest.views, p.total))),
            ]);
        }
        files.push((
            format!("{}.csv", p.id),
            csv_file(&["value", "views", "share"], rows)?,
        ));
    }
    files.push((
        "forms.csv".to_owned(),
        csv_file(
            &["form", "stored", "refused"],
            o.forms
                .iter()
                .map(|f| {
                    vec![
                        text(&f.form),
                        num(f.stored.to_string()),
                        num(f.refused.values().sum::<u64>().to_string()),
                    ]
                })
                .collect(),
        )?,
    ));
    Ok(files)
}

/// [`csv_files`] in one zip archive (deflate).
pub fn csv_zip(o: &Overview) -> Result<Vec<u8>, ExportError> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, body) in csv_files(o)? {
        zip.start_file(name, options)?;
        zip.write_all(&body)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The export's file name for the overview's period: `overview-<from>-<to>.<ext>`.
pub fn file_name(o: &Overview, ext: &str) -> String {
    format!(
        "overview-{}-{}.{ext}",
        day_text(o.period.from),
        day_text(o.period.to)
    )
}

#[cfg(test)]
mod tests;
