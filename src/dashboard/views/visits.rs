//! View models of the overview (visits beside consent), the "How we count" page and the API
//! tokens page. The figures come worded from [`Overview`]; this adds what a page needs: the
//! charts (inline SVG from [`charts`]), links that add or remove a filter, and the form.

use serde::Serialize;

use super::frame::{human_time, links, paths, with_query, Page};
use super::pages::Choice;
use crate::dashboard::charts::{self, Series, Stroke, PALETTE};
use crate::dashboard::overview::{
    Figure, Filters, Overview, OverviewQuery, Panel, RangeKind, DIRECT, UNKNOWN,
};
use crate::stats::visit::OTHER;
use crate::stats::ConsentAction;

/// Message key of a value that stands for something (`(other)`, `(direct)`, `(unknown)`).
fn special(value: &str) -> Option<&'static str> {
    match value {
        OTHER => Some("value_other"),
        DIRECT => Some("value_direct"),
        UNKNOWN => Some("value_unknown"),
        _ => None,
    }
}

fn figure(f: Option<Figure>) -> String {
    match f {
        None => "–".to_owned(),
        Some(Figure::Count(n)) => n.to_string(),
        Some(Figure::Percent(p)) => format!("{p:.1} %"),
    }
}

fn rate(p: Option<f64>) -> String {
    p.map_or_else(|| "–".to_owned(), |p| format!("{p:.1} %"))
}

/// A change as the page words it: `+12.5 %` (counts) or `+3.1 pp` (percentages).
fn change(c: Option<f64>, points: bool, unit: &str) -> String {
    match c {
        None => "–".to_owned(),
        Some(c) => {
            let sign = if c > 0.0 {
                "+"
            } else if c < 0.0 {
                "−"
            } else {
                "±"
            };
            if points {
                format!("{sign}{:.1} {unit}", c.abs())
            } else {
                format!("{sign}{:.1} %", c.abs())
            }
        }
    }
}

/// A filter that is set, with the link that removes it.
#[derive(Debug, Clone, Serialize)]
pub struct FilterView {
    /// `host`, `path`, `country` or `referrer`.
    pub name: &'static str,
    pub value: String,
    pub special: Option<&'static str>,
    pub remove_href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryView {
    /// Message key `metric_<metric>`.
    pub metric: &'static str,
    pub value: String,
    pub previous: String,
    pub change: String,
    pub last_year: String,
    pub change_last_year: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub value: String,
    pub special: Option<&'static str>,
    pub views: u64,
    pub share: String,
    /// A small SVG bar (decoration; the number is in the row).
    pub bar: String,
    /// The overview with this value as a filter, when the panel filters.
    pub href: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PanelView {
    pub id: &'static str,
    pub total: u64,
    pub rows: Vec<RowView>,
    /// `(values, views)` of the rows not shown.
    pub rest: Option<(usize, u64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    pub day: String,
    pub views: u64,
    pub visitors: String,
    pub banner_views: u64,
    pub decisions: Vec<u64>,
    pub decisions_total: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryView {
    pub category: String,
    pub granted: String,
    pub refused: String,
    pub consent_rate: String,
    pub opt_in_rate: String,
    pub views_granted: u64,
    pub coverage: String,
    pub bar: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountryView {
    pub country: String,
    pub special: Option<&'static str>,
    pub decisions: u64,
    pub banner_views: u64,
    /// Per category, in the categories' order: consent rate and opt-in rate.
    pub rates: Vec<(String, String)>,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormRow {
    pub form: String,
    pub stored: u64,
    pub refused: u64,
    /// `code: n, …` of the refusals.
    pub refused_detail: String,
}

/// The overview page.
#[derive(Debug, Clone, Serialize)]
pub struct OverviewPage {
    pub action: &'static str,
    pub ranges: Vec<Choice>,
    pub month: String,
    pub from: String,
    pub to: String,
    pub period_from: String,
    pub period_to: String,
    pub period_days: u32,
    pub previous_from: String,
    pub previous_to: String,
    pub last_year: Option<(String, String)>,
    pub filters: Vec<FilterView>,
    /// Hidden fields that keep the filters when the period changes.
    pub keep: Vec<(&'static str, String)>,
    /// Site hosts to choose from (only when there is more than one).
    pub hosts: Vec<Choice>,
    pub summary: Vec<SummaryView>,
    pub coverage: String,
    pub coverage_bar: String,
    pub visits_chart: String,
    pub decisions_chart: String,
    pub days: Vec<DayView>,
    pub actions: Vec<&'static str>,
    pub decisions_counted: bool,
    pub visitors_counted: bool,
    pub decision_totals: Vec<(&'static str, u64)>,
    pub decisions_total: u64,
    pub categories: Vec<CategoryView>,
    pub category_names: Vec<String>,
    pub countries: Vec<CountryView>,
    pub panels: Vec<PanelView>,
    pub forms: Vec<FormRow>,
    pub export_zip: String,
    pub export_json: String,
    pub api_href: String,
    pub honesty_href: &'static str,
    pub tokens_href: &'static str,
}

/// The words the charts need, in the page's language.
pub struct ChartWords<'a> {
    pub views: &'a str,
    pub visitors: &'a str,
    pub previous_views: &'a str,
    pub day: &'a str,
    pub count: &'a str,
    pub visits_title: &'a str,
    pub visits_desc: &'a str,
    pub decisions_title: &'a str,
    pub decisions_desc: &'a str,
    /// Per action in [`ConsentAction::ALL`] order.
    pub actions: [&'a str; 4],
    /// Unit of a change in percentage points (`pp`).
    pub points: &'a str,
}

fn href(q: &OverviewQuery, filters: &Filters) -> String {
    let params = q.params_with(filters);
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    with_query(paths::FIGURES, &pairs)
}

fn with_filter(q: &OverviewQuery, name: &str, value: &str) -> String {
    let mut f = q.filters.clone();
    let v = Some(value.to_owned());
    match name {
        "host" => f.host = v,
        "path" => f.path = v,
        "country" => f.country = v,
        _ => f.referrer = v,
    }
    href(q, &f)
}

fn panel_view(q: &OverviewQuery, p: &Panel) -> PanelView {
    let max = p.rows.first().map_or(0, |r| r.views);
    PanelView {
        id: p.id,
        total: p.total,
        rows: p
            .rows
            .iter()
            .map(|r| RowView {
                special: special(&r.value),
                views: r.views,
                share: rate(r.share),
                bar: charts::bar_cell(r.views, max),
                href: p
                    .filter()
                    .filter(|_| r.value != OTHER)
                    .map(|name| with_filter(q, name, &r.value)),
                value: r.value.clone(),
            })
            .collect(),
        rest: p.rest.as_ref().map(|r| (r.values, r.views)),
    }
}

fn short_day(day: &str) -> String {
    day.get(5..).unwrap_or(day).to_owned()
}

impl OverviewPage {
    pub fn new(o: &Overview, q: &OverviewQuery, w: &ChartWords<'_>) -> OverviewPage {
        let labels: Vec<String> = o.days.iter().map(|d| short_day(&d.day)).collect();
        let views: Vec<u64> = o.days.iter().map(|d| d.views).collect();
        let visitors: Vec<u64> = o.days.iter().map(|d| d.visitors.unwrap_or(0)).collect();
        let mut series = vec![Series {
            name: w.views,
            values: &views,
            colour: PALETTE[0],
            stroke: Stroke::Solid,
        }];
        if o.visitors_counted {
            series.push(Series {
                name: w.visitors,
                values: &visitors,
                colour: PALETTE[1],
                stroke: Stroke::Solid,
            });
        }
        series.push(Series {
            name: w.previous_views,
            values: &o.previous_views,
            colour: PALETTE[3],
            stroke: Stroke::Dashed,
        });
        let visits_chart = charts::line_chart(
            &charts::Frame {
                id: "visits-chart",
                title: w.visits_title,
                description: w.visits_desc,
                x_labels: &labels,
                x_axis: w.day,
                y_axis: w.count,
            },
            &series,
        );
        let per_action: Vec<Vec<u64>> = (0..4)
            .map(|i| {
                o.days
                    .iter()
                    .map(|d| d.decisions.map_or(0, |a| a.list()[i]))
                    .collect()
            })
            .collect();
        let colours = [PALETTE[1], PALETTE[2], PALETTE[0], PALETTE[3]];
        let decision_series: Vec<Series<'_>> = (0..4)
            .map(|i| Series {
                name: w.actions[i],
                values: &per_action[i],
                colour: colours[i],
                stroke: Stroke::Solid,
            })
            .collect();
        let decisions_chart = charts::bar_chart(
            &charts::Frame {
                id: "decisions-chart",
                title: w.decisions_title,
                description: w.decisions_desc,
                x_labels: &labels,
                x_axis: w.day,
                y_axis: w.count,
            },
            &decision_series,
        );
        let f = &o.filters;
        let mut filters = Vec::new();
        let mut keep = Vec::new();
        for (name, value) in [
            ("host", &f.host),
            ("path", &f.path),
            ("country", &f.country),
            ("referrer", &f.referrer),
        ] {
            let Some(value) = value else { continue };
            let mut without = f.clone();
            match name {
                "host" => without.host = None,
                "path" => without.path = None,
                "country" => without.country = None,
                _ => without.referrer = None,
            }
            filters.push(FilterView {
                name,
                special: special(value),
                value: value.clone(),
                remove_href: href(q, &without),
            });
            keep.push((name, value.clone()));
        }
        let coverage = o.summary.iter().find(|r| r.metric == "coverage");
        let coverage_pct = coverage.and_then(|r| match r.value {
            Some(Figure::Percent(p)) => Some(p),
            _ => None,
        });
        let params = q.params();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let max_granted = o
            .categories
            .iter()
            .map(|c| c.views_granted)
            .max()
            .unwrap_or(0);
        OverviewPage {
            action: paths::FIGURES,
            ranges: RangeKind::CHOICES
                .iter()
                .map(|c| Choice {
                    value: (*c).to_owned(),
                    selected: *c == o.range.as_str(),
                })
                .collect(),
            month: format!(
                "{:04}-{:02}",
                o.period.from.year(),
                u8::from(o.period.from.month())
            ),
            from: crate::dashboard::overview::day_text(o.period.from),
            to: crate::dashboard::overview::day_text(o.period.to),
            period_from: crate::dashboard::overview::day_text(o.period.from),
            period_to: crate::dashboard::overview::day_text(o.period.to),
            period_days: o.period.len(),
            previous_from: crate::dashboard::overview::day_text(o.previous.from),
            previous_to: crate::dashboard::overview::day_text(o.previous.to),
            last_year: o.last_year.map(|p| {
                (
                    crate::dashboard::overview::day_text(p.from),
                    crate::dashboard::overview::day_text(p.to),
                )
            }),
            filters,
            keep,
            hosts: if o.hosts.len() > 1 || f.host.is_some() {
                o.hosts
                    .iter()
                    .map(|h| Choice {
                        value: h.clone(),
                        selected: f.host.as_deref() == Some(h),
                    })
                    .collect()
            } else {
                Vec::new()
            },
            summary: o
                .summary
                .iter()
                .map(|r| {
                    let points = r.metric == "coverage";
                    SummaryView {
                        metric: r.metric,
                        value: figure(r.value),
                        previous: figure(r.previous),
                        change: change(r.change, points, w.points),
                        last_year: figure(r.last_year),
                        change_last_year: change(r.change_last_year, points, w.points),
                    }
                })
                .collect(),
            coverage: rate(coverage_pct),
            coverage_bar: charts::bar_cell(
                coverage_pct.map_or(0, |p| (p * 10.0).round() as u64),
                1000,
            ),
            visits_chart,
            decisions_chart,
            days: o
                .days
                .iter()
                .map(|d| DayView {
                    day: d.day.clone(),
                    views: d.views,
                    visitors: d.visitors.map_or_else(|| "–".to_owned(), |v| v.to_string()),
                    banner_views: d.banner_views,
                    decisions: d.decisions.map(|a| a.list().to_vec()).unwrap_or_default(),
                    decisions_total: d.decisions.map_or(0, |a| a.total()),
                })
                .collect(),
            actions: ConsentAction::ALL.map(ConsentAction::as_str).to_vec(),
            decisions_counted: o.decisions_counted,
            visitors_counted: o.visitors_counted,
            decision_totals: o
                .decisions
                .map(|a| {
                    ConsentAction::ALL
                        .map(ConsentAction::as_str)
                        .into_iter()
                        .zip(a.list())
                        .collect()
                })
                .unwrap_or_default(),
            decisions_total: o.decisions.map_or(0, |a| a.total()),
            categories: o
                .categories
                .iter()
                .map(|c| CategoryView {
                    category: c.category.clone(),
                    granted: c.granted.map_or_else(|| "–".to_owned(), |n| n.to_string()),
                    refused: c.refused.map_or_else(|| "–".to_owned(), |n| n.to_string()),
                    consent_rate: rate(c.consent_rate),
                    opt_in_rate: rate(c.opt_in_rate),
                    views_granted: c.views_granted,
                    coverage: rate(c.coverage),
                    bar: charts::bar_cell(c.views_granted, max_granted),
                })
                .collect(),
            category_names: o.categories.iter().map(|c| c.category.clone()).collect(),
            countries: o
                .consent_by_country
                .iter()
                .map(|c| CountryView {
                    special: special(&c.country),
                    decisions: c.decisions,
                    banner_views: c.banner_views,
                    rates: c
                        .categories
                        .iter()
                        .map(|r| (rate(r.consent_rate), rate(r.opt_in_rate)))
                        .collect(),
                    href: with_filter(q, "country", &c.country),
                    country: c.country.clone(),
                })
                .collect(),
            panels: o.panels.iter().map(|p| panel_view(q, p)).collect(),
            forms: o
                .forms
                .iter()
                .map(|f| FormRow {
                    form: f.form.clone(),
                    stored: f.stored,
                    refused: f.refused.values().sum(),
                    refused_detail: f
                        .refused
                        .iter()
                        .map(|(code, n)| format!("{code}: {n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
                .collect(),
            export_zip: with_query(paths::OVERVIEW_ZIP, &pairs),
            export_json: with_query(paths::OVERVIEW_JSON, &pairs),
            api_href: with_query(paths::API_OVERVIEW, &pairs),
            honesty_href: paths::HOW_WE_COUNT,
            tokens_href: paths::API_TOKENS,
        }
    }
}

impl Page for OverviewPage {
    const TEMPLATE: &'static str = "overview.html";
}

/// "How we count": the statistics explained for operators and their privacy statement.
#[derive(Debug, Clone, Serialize)]
pub struct HonestyPage {
    /// `stats.count_page_views`.
    pub counting: bool,
    pub max_paths: usize,
    pub max_combinations: usize,
    /// Whether a geo database is configured (countries are counted).
    pub geo: bool,
    pub back_href: &'static str,
}

impl Page for HonestyPage {
    const TEMPLATE: &'static str = "how_we_count.html";
}

/// One API token as its owner sees it (never the token itself, after it was shown once).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    pub id: String,
    pub label: String,
    pub created: String,
    pub expires: String,
    pub revoke_action: String,
}

/// The operator's API tokens: create one (shown once), revoke one.
#[derive(Debug, Clone, Serialize)]
pub struct TokensPage {
    pub create_action: &'static str,
    pub tokens: Vec<TokenView>,
    /// A token just made: shown this once.
    pub new_token: Option<String>,
    /// `token_revoked` after a revocation.
    pub notice: Option<&'static str>,
    pub api_example: String,
    pub back_href: &'static str,
}

impl TokensPage {
    /// `tokens`: `(id, label, created, expires)`, unix seconds.
    pub fn new(tokens: &[(String, String, u64, u64)], new_token: Option<String>) -> TokensPage {
        TokensPage {
            create_action: paths::API_TOKENS,
            tokens: tokens
                .iter()
                .map(|(id, label, created, expires)| TokenView {
                    revoke_action: links::token_revoke(id),
                    id: id.clone(),
                    label: label.clone(),
                    created: human_time(*created),
                    expires: human_time(*expires),
                })
                .collect(),
            new_token,
            notice: None,
            api_example: format!("{}?range=30d", paths::API_OVERVIEW),
            back_href: paths::FIGURES,
        }
    }
}

impl Page for TokensPage {
    const TEMPLATE: &'static str = "api_tokens.html";
}
