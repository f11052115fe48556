//! What every dashboard page shares: the paths of the pages and the links to records (built
//! from fixed paths and percent-encoded ids), the layout data ([`Chrome`]) with navigation by
//! role (with the count of data-subject requests that need attention), paging, and the
//! helpers that word times and spans.

use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::config::dashboard::{Language, Role};
use crate::config::{FormConfig, FormLanguage};
use crate::consent::rfc3339;
use crate::dashboard::auth::Permission;
use crate::dashboard::dsr::{Attention, Due};
use crate::forms::age::AgeBand;
use crate::forms::Entry;

/// Name of the hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Paths of the dashboard's pages on the admin listener. The routes mount these; the views
/// link to them.
pub mod paths {
    pub const FIGURES: &str = "/";
    pub const SIGN_IN: &str = "/sign-in";
    pub const SIGN_OUT: &str = "/sign-out";
    pub const INBOX: &str = "/inbox";
    pub const REQUESTS: &str = "/requests";
    pub const REQUEST_NEW: &str = "/requests/new";
    pub const PERSON: &str = "/person";
    pub const PERSON_CONFIRM: &str = "/person/confirm";
    pub const PERSON_DELETE: &str = "/person/delete";
    pub const PERSON_EXPORT: &str = "/person/export";
    pub const CONSENT: &str = "/consent";
    pub const RECEIPTS: &str = "/receipts";
    pub const RECEIPTS_JSONL: &str = "/receipts/export.jsonl";
    pub const RECEIPTS_CSV: &str = "/receipts/export.csv";
    pub const AUDIT: &str = "/audit";
    pub const AUDIT_CSV: &str = "/audit/export.csv";
    pub const HEALTH: &str = "/health";
    pub const OVERVIEW_ZIP: &str = "/overview/export.zip";
    pub const OVERVIEW_JSON: &str = "/overview/export.json";
    pub const HOW_WE_COUNT: &str = "/how-we-count";
    pub const API_TOKENS: &str = "/api-tokens";
    pub const API_OVERVIEW: &str = "/api/v1/overview";
    pub const DISCOVERY: &str = "/discovery";
    pub const DISCOVERY_CLASSIFY: &str = "/discovery/classify";
}

/// Characters kept as they are in a path segment: unreserved ones (RFC 3986).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `s` as one path segment.
fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `path` with a query built from `pairs` (empty values left out).
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (k, v) in pairs {
        if !v.is_empty() {
            q.append_pair(k, v);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", q.finish())
    } else {
        path.to_owned()
    }
}

/// Links to the pages that take ids.
pub mod links {
    use super::{paths, seg};

    pub fn form(form: &str) -> String {
        format!("{}/{}", paths::INBOX, seg(form))
    }
    pub fn form_export(form: &str) -> String {
        format!("{}/{}/export", paths::INBOX, seg(form))
    }
    pub fn entry(form: &str, id: &str) -> String {
        format!("{}/{}/e/{}", paths::INBOX, seg(form), seg(id))
    }
    /// `what`: `handled`, `delete` or `export`.
    pub fn entry_action(form: &str, id: &str, what: &str) -> String {
        format!("{}/{}", entry(form, id), what)
    }
    pub fn consent(id: &str) -> String {
        format!("{}/{}", paths::CONSENT, seg(id))
    }
    /// `what`: `export` or `erase`.
    pub fn consent_action(id: &str, what: &str) -> String {
        format!("{}/{}", consent(id), what)
    }
    pub fn request(id: &str) -> String {
        format!("{}/{}", paths::REQUESTS, seg(id))
    }
    /// `what`: `status`, `extend`, `search`, `attach`, `detach`, `export`, `rectify`,
    /// `restrict`, `lift` or `erase`.
    pub fn request_action(id: &str, what: &str) -> String {
        format!("{}/{}", request(id), what)
    }
    pub fn token_revoke(id: &str) -> String {
        format!("{}/{}/revoke", paths::API_TOKENS, seg(id))
    }
}

/// Where to go after signing in: `next` if it is a path on this dashboard, else the start page.
/// Refuses absolute URLs, `//host` and backslash tricks, so the sign-in page cannot be used to
/// send an operator elsewhere.
pub fn safe_return_path(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && next != paths::SIGN_IN
        && next.len() <= 2048;
    if ok {
        next.to_owned()
    } else {
        paths::FIGURES.to_owned()
    }
}

/// A calendar day `YYYY-MM-DD` (as an `<input type=date>` sends it).
pub fn parse_day(text: &str) -> Option<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text.trim(), &format).ok()
}

/// The unix-millisecond range from the start of `from` to the end of `to` (UTC), both
/// included; `None` when `to` is before `from`.
pub fn day_range_ms(from: time::Date, to: time::Date) -> Option<(u64, u64)> {
    if to < from {
        return None;
    }
    let start = from.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000;
    let end = to
        .next_day()?
        .midnight()
        .assume_utc()
        .unix_timestamp_nanos()
        / 1_000_000
        - 1;
    Some((u64::try_from(start).ok()?, u64::try_from(end).ok()?))
}

/// A day as `YYYY-MM-DD`.
pub fn day_text(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A time for people: `2026-11-22 14:03 UTC`.
pub fn human_time(unix: u64) -> String {
    let text = rfc3339(unix);
    match text.get(..16) {
        Some(minutes) if text.len() >= 20 => format!("{} UTC", minutes.replace('T', " ")),
        _ => text,
    }
}

/// A span of time as the templates word it: `t[unit] | fill(n=n)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span {
    /// Message key: `days`, `hours` or `under_an_hour`.
    pub unit: &'static str,
    pub n: u64,
}

impl Span {
    pub fn of(d: Duration) -> Span {
        let secs = d.as_secs();
        if secs >= 2 * 86_400 {
            Span {
                unit: "days",
                n: secs / 86_400,
            }
        } else if secs >= 3600 {
            Span {
                unit: "hours",
                n: secs / 3600,
            }
        } else {
            Span {
                unit: "under_an_hour",
                n: 0,
            }
        }
    }
}

/// Which page the operator is on (for the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Figures,
    Inbox,
    Requests,
    Person,
    Consent,
    Receipts,
    Audit,
    Health,
    Discovery,
}

impl Area {
    pub(crate) const NAV: [(Area, &'static str, &'static str); 9] = [
        (Area::Figures, paths::FIGURES, "nav_figures"),
        (Area::Inbox, paths::INBOX, "nav_inbox"),
        (Area::Requests, paths::REQUESTS, "nav_requests"),
        (Area::Person, paths::PERSON, "nav_person"),
        (Area::Consent, paths::CONSENT, "nav_consent"),
        (Area::Receipts, paths::RECEIPTS, "nav_receipts"),
        (Area::Audit, paths::AUDIT, "nav_audit"),
        (Area::Health, paths::HEALTH, "nav_health"),
        (Area::Discovery, paths::DISCOVERY, "nav_discovery"),
    ];

    /// What an operator needs to see this page.
    pub fn permission(self) -> Permission {
        match self {
            Area::Figures => Permission::Figures,
            Area::Inbox => Permission::Inbox,
            Area::Person | Area::Requests => Permission::DataSubjectRequests,
            Area::Consent | Area::Receipts => Permission::ConsentRecords,
            Area::Audit => Permission::AuditLog,
            Area::Health => Permission::Health,
            Area::Discovery => Permission::Discovery,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct OperatorView {
    pub name: String,
    pub role: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub href: &'static str,
    /// Message key.
    pub label: &'static str,
    pub current: bool,
    /// A count shown beside the label (data-subject requests overdue or due soon).
    pub badge: Option<u64>,
}

/// An entry's age band with the form's notes on whose consent counts.
#[derive(Debug, Clone, Serialize)]
pub struct AgeView {
    /// `under_12`, `from_12_to_15`, `from_16` (the template words it).
    pub band: &'static str,
    pub note_nl: String,
    pub note_en: String,
}

impl AgeView {
    /// The age band of `entry` (of `form`), if it has a date of birth.
    pub fn of(form: Option<&FormConfig>, entry: &Entry) -> Option<AgeView> {
        let band: AgeBand = entry.age_band?;
        let rules = form.map(|f| f.age_rules.clone()).unwrap_or_default();
        Some(AgeView {
            band: band.as_str(),
            note_nl: band.note(&rules, FormLanguage::Nl),
            note_en: band.note(&rules, FormLanguage::En),
        })
    }
}

/// One open request that needs attention, as the overview and the register list it.
#[derive(Debug, Clone, Serialize)]
pub struct DueRow {
    pub id: String,
    pub href: String,
    /// `access`, … (the template words it).
    pub kind: &'static str,
    pub due: String,
    /// Days until it is due; for an overdue request, days since.
    pub days: i64,
    pub overdue: bool,
}

impl DueRow {
    pub fn new(d: &Due) -> DueRow {
        DueRow {
            id: d.id.clone(),
            href: links::request(&d.id),
            kind: d.kind.as_str(),
            due: d.due.to_string(),
            days: d.days_left.abs(),
            overdue: d.days_left < 0,
        }
    }
}

/// The requests overdue or due soon, for the overview.
#[derive(Debug, Clone, Serialize)]
pub struct AttentionView {
    pub rows: Vec<DueRow>,
    pub href: &'static str,
}

impl AttentionView {
    pub fn new(a: &Attention) -> AttentionView {
        AttentionView {
            rows: a
                .overdue
                .iter()
                .chain(&a.due_soon)
                .map(DueRow::new)
                .collect(),
            href: paths::REQUESTS,
        }
    }
}

/// Layout data of every page: language, stylesheet, who is signed in, navigation, CSRF token.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    pub lang: &'static str,
    pub css_href: String,
    pub operator: Option<OperatorView>,
    pub nav: Vec<NavItem>,
    pub csrf: String,
    pub csrf_field: &'static str,
    pub sign_out_action: &'static str,
    /// Requests that need attention, shown on the overview.
    pub attention: Option<AttentionView>,
}

impl Chrome {
    /// For a signed-in operator on `current`: navigation shows only what `role` may open.
    pub fn signed_in(
        lang: Language,
        css_href: &str,
        operator: &str,
        role: Role,
        current: Area,
        csrf: String,
    ) -> Chrome {
        let nav = Area::NAV
            .into_iter()
            .filter(|(area, _, _)| area.permission().granted_to(role))
            .map(|(area, href, label)| NavItem {
                href,
                label,
                current: area == current,
                badge: None,
            })
            .collect();
        Chrome {
            lang: lang.as_str(),
            css_href: css_href.to_owned(),
            operator: Some(OperatorView {
                name: operator.to_owned(),
                role: role.as_str(),
            }),
            nav,
            csrf,
            csrf_field: CSRF_FIELD,
            sign_out_action: paths::SIGN_OUT,
            attention: None,
        }
    }

    /// Show `count` beside the register in the navigation (when it is there and not 0).
    pub fn with_requests_due(mut self, count: Option<u64>) -> Chrome {
        if let Some(item) = self.nav.iter_mut().find(|i| i.href == paths::REQUESTS) {
            item.badge = count.filter(|n| *n > 0);
        }
        self
    }

    /// For pages without a session (sign-in, errors before sign-in).
    pub fn anonymous(lang: Language, css_href: &str) -> Chrome {
        Chrome {
            lang: lang.as_str(),
            css_href: css_href.to_owned(),
            operator: None,
            nav: Vec::new(),
            csrf: String::new(),
            csrf_field: CSRF_FIELD,
            sign_out_action: paths::SIGN_OUT,
            attention: None,
        }
    }
}

/// A view model and the template that shows it.
pub trait Page: Serialize {
    const TEMPLATE: &'static str;
}

/// Links to the neighbouring pages of a list, and what this page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Pager {
    /// 1-based position of the first and last item shown; 0 when none.
    pub first: usize,
    pub last: usize,
    pub total: usize,
    pub previous_href: Option<String>,
    pub next_href: Option<String>,
}

impl Pager {
    /// For items `offset..offset + shown` of `total`, `limit` per page, at `path` with `query`
    /// (to which `offset` is added).
    pub fn new(
        path: &str,
        query: &[(&str, &str)],
        offset: usize,
        shown: usize,
        limit: usize,
        total: usize,
    ) -> Pager {
        let link = |at: usize| {
            let at = at.to_string();
            let mut pairs = query.to_vec();
            if at != "0" {
                pairs.push(("offset", &at));
            }
            with_query(path, &pairs)
        };
        Pager {
            first: if shown == 0 { 0 } else { offset + 1 },
            last: offset + shown,
            total,
            previous_href: (offset > 0).then(|| link(offset.saturating_sub(limit))),
            next_href: (offset + shown < total && shown > 0).then(|| link(offset + shown)),
        }
    }
}
