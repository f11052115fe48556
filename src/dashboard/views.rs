//! The dashboard's pages: minijinja templates (assets/dashboard) rendered from typed view
//! models, with HTML auto-escaping on (every template name ends in `.html`, so every value is
//! escaped for HTML text and attributes). Texts come from one message table per language
//! (assets/dashboard/i18n/*.json) and are filled in by the templates, never by string
//! concatenation here. Links are built in this module from fixed paths and percent-encoded
//! ids, so no stored or typed value can become a `javascript:` URL or leave the dashboard.
//! No template has inline style or script (the dashboard's CSP forbids both); the one
//! stylesheet is [`STYLESHEET`].

use std::collections::BTreeMap;
use std::time::Duration;

use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{context, Environment, UndefinedBehavior};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use super::audit::{AuditAction, AuditFilter, AuditPage as AuditLogPage};
use super::auth::Permission;
use crate::config::dashboard::{Language, Role};
use crate::config::FormConfig;
use crate::consent::{rfc3339, Action, OwnRecord, Receipt, ReceiptList, ShownTexts};
use crate::forms::{Entry, EntryPage};

/// The dashboard stylesheet (served by the routes as a content-hashed asset).
pub const STYLESHEET: &str = include_str!("../../assets/dashboard/dashboard.css");
/// Name of the hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

const TEMPLATES: [(&str, &str); 11] = [
    (
        "layout.html",
        include_str!("../../assets/dashboard/layout.html"),
    ),
    (
        "macros.html",
        include_str!("../../assets/dashboard/macros.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../assets/dashboard/sign_in.html"),
    ),
    (
        "inbox.html",
        include_str!("../../assets/dashboard/inbox.html"),
    ),
    (
        "entry.html",
        include_str!("../../assets/dashboard/entry.html"),
    ),
    (
        "person.html",
        include_str!("../../assets/dashboard/person.html"),
    ),
    (
        "consent.html",
        include_str!("../../assets/dashboard/consent.html"),
    ),
    (
        "receipts.html",
        include_str!("../../assets/dashboard/receipts.html"),
    ),
    (
        "audit.html",
        include_str!("../../assets/dashboard/audit.html"),
    ),
    (
        "health.html",
        include_str!("../../assets/dashboard/health.html"),
    ),
    (
        "error.html",
        include_str!("../../assets/dashboard/error.html"),
    ),
];
const MESSAGES: [(Language, &str); 2] = [
    (
        Language::Nl,
        include_str!("../../assets/dashboard/i18n/nl.json"),
    ),
    (
        Language::En,
        include_str!("../../assets/dashboard/i18n/en.json"),
    ),
];

/// Paths of the dashboard's pages on the admin listener. The routes mount these; the views
/// link to them.
pub mod paths {
    pub const FIGURES: &str = "/";
    pub const SIGN_IN: &str = "/sign-in";
    pub const SIGN_OUT: &str = "/sign-out";
    pub const INBOX: &str = "/inbox";
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
}

/// Why a page could not be rendered (a bug in a template or a message table; the tests render
/// every page).
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("dashboard template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("dashboard messages ({0}): {1}")]
    Messages(&'static str, serde_json::Error),
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
fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
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

/// The page language: the operator's own, else the first of the browser's ranked
/// Accept-Language tags that is nl or en, else `default`.
pub fn choose_language<'a>(
    operator: Option<Language>,
    accepted: impl IntoIterator<Item = &'a str>,
    default: Language,
) -> Language {
    operator
        .or_else(|| accepted.into_iter().find_map(Language::from_tag))
        .unwrap_or(default)
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

fn day_text(d: time::Date) -> String {
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

// ---- the frame every page shares ----

/// Which page the operator is on (for the navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Figures,
    Inbox,
    Person,
    Consent,
    Receipts,
    Audit,
    Health,
}

impl Area {
    const NAV: [(Area, &'static str, &'static str); 7] = [
        (Area::Figures, paths::FIGURES, "nav_figures"),
        (Area::Inbox, paths::INBOX, "nav_inbox"),
        (Area::Person, paths::PERSON, "nav_person"),
        (Area::Consent, paths::CONSENT, "nav_consent"),
        (Area::Receipts, paths::RECEIPTS, "nav_receipts"),
        (Area::Audit, paths::AUDIT, "nav_audit"),
        (Area::Health, paths::HEALTH, "nav_health"),
    ];

    /// What an operator needs to see this page.
    pub fn permission(self) -> Permission {
        match self {
            Area::Figures => Permission::Figures,
            Area::Inbox => Permission::Inbox,
            Area::Person => Permission::DataSubjectRequests,
            Area::Consent | Area::Receipts => Permission::ConsentRecords,
            Area::Audit => Permission::AuditLog,
            Area::Health => Permission::Health,
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
        }
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

// ---- pages ----

/// Message keys the sign-in page can show above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignInNotice {
    #[serde(rename = "session_ended")]
    Ended,
    #[serde(rename = "session_idle")]
    Idle,
    #[serde(rename = "session_expired")]
    Expired,
    #[serde(rename = "session_revoked")]
    Revoked,
}

impl From<super::auth::SessionEnd> for SignInNotice {
    fn from(end: super::auth::SessionEnd) -> Self {
        use super::auth::SessionEnd;
        match end {
            SessionEnd::Missing => SignInNotice::Ended,
            SessionEnd::IdleTimeout => SignInNotice::Idle,
            SessionEnd::AbsoluteTimeout => SignInNotice::Expired,
            SessionEnd::Revoked => SignInNotice::Revoked,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SignInPage {
    pub action: &'static str,
    /// Where to go after signing in (already checked with [`safe_return_path`]).
    pub next: String,
    /// The name typed last time (never the password).
    pub name: String,
    pub notice: Option<SignInNotice>,
    pub refused: bool,
    /// Seconds to wait, when throttled.
    pub retry_after: Option<u64>,
}

impl SignInPage {
    pub fn new(next: &str) -> SignInPage {
        SignInPage {
            action: paths::SIGN_IN,
            next: safe_return_path(next),
            name: String::new(),
            notice: None,
            refused: false,
            retry_after: None,
        }
    }
}

impl Page for SignInPage {
    const TEMPLATE: &'static str = "sign_in.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct FormTab {
    pub label: String,
    pub href: String,
    pub total: usize,
    pub current: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormSummary {
    pub label: String,
    pub retention: Span,
    pub export_href: String,
}

/// One inbox row: when, how long it is kept, how big — nothing of what it says.
#[derive(Debug, Clone, Serialize)]
pub struct EntryRow {
    pub href: String,
    pub received: String,
    pub remaining: Span,
    pub fields: usize,
    pub chars: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct InboxPage {
    pub forms: Vec<FormTab>,
    pub form: Option<FormSummary>,
    pub entries: Vec<EntryRow>,
    pub pager: Pager,
}

/// How long an entry received at `created` is kept from `now` on.
fn remaining(created: u64, retention: Duration, now: u64) -> Span {
    let until = created.saturating_add(retention.as_secs());
    Span::of(Duration::from_secs(until.saturating_sub(now)))
}

impl InboxPage {
    /// `forms`: every configured form with its number of entries; `current` the form shown;
    /// `page` its entries from `offset` (at most `limit` per page); `now` unix seconds.
    pub fn new(
        forms: &[(&FormConfig, usize)],
        current: &FormConfig,
        page: &EntryPage,
        offset: usize,
        limit: usize,
        now: u64,
    ) -> InboxPage {
        let label = |f: &FormConfig| f.id.clone();
        InboxPage {
            forms: forms
                .iter()
                .map(|(f, total)| FormTab {
                    label: label(f),
                    href: links::form(&f.id),
                    total: *total,
                    current: f.id == current.id,
                })
                .collect(),
            form: Some(FormSummary {
                label: label(current),
                retention: Span::of(current.retention),
                export_href: links::form_export(&current.id),
            }),
            entries: page
                .entries
                .iter()
                .map(|e| EntryRow {
                    href: links::entry(&current.id, &e.id),
                    received: human_time(e.created),
                    remaining: remaining(e.created, current.retention, now),
                    fields: e.fields.iter().filter(|f| !f.value.is_empty()).count(),
                    chars: e.fields.iter().map(|f| f.value.chars().count()).sum(),
                })
                .collect(),
            pager: Pager::new(
                &links::form(&current.id),
                &[],
                offset,
                page.entries.len(),
                limit,
                page.total,
            ),
        }
    }
}

impl Page for InboxPage {
    const TEMPLATE: &'static str = "inbox.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldRow {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub form_label: String,
    pub received: String,
    pub remaining: Span,
    pub fields: Vec<FieldRow>,
    pub unreadable: bool,
    pub handled_action: String,
    pub delete_action: String,
    pub export_href: String,
    pub back_href: String,
}

impl EntryView {
    pub fn new(form: &FormConfig, entry: &Entry, now: u64) -> EntryView {
        EntryView {
            form_label: form.id.clone(),
            received: human_time(entry.created),
            remaining: remaining(entry.created, form.retention, now),
            fields: entry
                .fields
                .iter()
                .map(|f| FieldRow {
                    label: f.label.clone(),
                    value: f.value.clone(),
                })
                .collect(),
            unreadable: entry.unreadable.is_some(),
            handled_action: links::entry_action(&form.id, &entry.id, "handled"),
            delete_action: links::entry_action(&form.id, &entry.id, "delete"),
            export_href: links::entry_action(&form.id, &entry.id, "export"),
            back_href: links::form(&form.id),
        }
    }
}

impl Page for EntryView {
    const TEMPLATE: &'static str = "entry.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    pub form_label: String,
    pub received: String,
    pub href: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonPage {
    /// The address searched for; only ever in this page's form fields, never in a link.
    pub email: String,
    pub searched: bool,
    pub results: Vec<PersonRow>,
    /// Show the "delete everything, N entries" confirmation.
    pub confirm: bool,
    /// How many entries the last erasure deleted.
    pub deleted: Option<usize>,
    pub search_action: &'static str,
    pub confirm_action: &'static str,
    pub delete_action: &'static str,
    pub export_action: &'static str,
}

impl PersonPage {
    /// `results`: what `FormsService::find_by_email` found (`None` before a search).
    pub fn new(email: &str, results: Option<&[Entry]>, confirm: bool) -> PersonPage {
        PersonPage {
            email: email.to_owned(),
            searched: results.is_some(),
            results: results
                .unwrap_or_default()
                .iter()
                .map(|e| PersonRow {
                    form_label: e.form.clone(),
                    received: human_time(e.created),
                    href: links::entry(&e.form, &e.id),
                })
                .collect(),
            confirm,
            deleted: None,
            search_action: paths::PERSON,
            confirm_action: paths::PERSON_CONFIRM,
            delete_action: paths::PERSON_DELETE,
            export_action: paths::PERSON_EXPORT,
        }
    }
}

impl Page for PersonPage {
    const TEMPLATE: &'static str = "person.html";
}

/// One decision as a table row.
#[derive(Debug, Clone, Serialize)]
pub struct ReceiptRow {
    pub id: String,
    pub href: String,
    pub time: String,
    /// `accept_all`, … (the template words it).
    pub action: &'static str,
    pub granted: String,
    pub refused: String,
    pub revision: u32,
    pub language: String,
    pub country: String,
    pub gpc: bool,
    pub texts_hash_short: String,
}

impl ReceiptRow {
    pub fn new(r: &Receipt) -> ReceiptRow {
        ReceiptRow {
            id: r.id.clone(),
            href: links::consent(&r.id),
            time: r.time.replace('T', " ").replace('Z', " UTC"),
            action: r.action.as_str(),
            granted: r.granted.join(", "),
            refused: r.refused.join(", "),
            revision: r.policy_revision,
            language: r.language.clone(),
            country: r.country.clone().unwrap_or_default(),
            gpc: r.gpc,
            texts_hash_short: r.texts_hash.chars().take(12).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TextEntry {
    pub key: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryRow {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct VendorRow {
    pub name: String,
    pub category: String,
    pub cookies: String,
}

/// One version of the banner texts beside the receipts that refer to it.
#[derive(Debug, Clone, Serialize)]
pub struct TextsView {
    pub hash_short: String,
    pub language: String,
    pub revision: u32,
    pub archived: bool,
    pub verified: bool,
    pub first_used: String,
    pub last_used: String,
    pub texts: Vec<TextEntry>,
    pub categories: Vec<CategoryRow>,
    pub vendors: Vec<VendorRow>,
}

impl TextsView {
    /// `shown`: the archive's copy, if it still has one.
    pub fn new(r: &Receipt, shown: Option<&ShownTexts>) -> TextsView {
        let mut view = TextsView {
            hash_short: r.texts_hash.chars().take(12).collect(),
            language: r.language.clone(),
            revision: r.policy_revision,
            archived: shown.is_some(),
            verified: false,
            first_used: String::new(),
            last_used: String::new(),
            texts: Vec::new(),
            categories: Vec::new(),
            vendors: Vec::new(),
        };
        if let Some(s) = shown {
            view.verified = s.verified;
            view.first_used = human_time(s.first_used);
            view.last_used = human_time(s.last_used);
            view.texts = s
                .content
                .texts
                .iter()
                .map(|(key, text)| TextEntry {
                    key: key.clone(),
                    text: text.clone(),
                })
                .collect();
            view.categories = s
                .content
                .categories
                .iter()
                .map(|c| CategoryRow {
                    name: c.name.clone(),
                    description: c.description.clone(),
                })
                .collect();
            view.vendors = s
                .content
                .vendors
                .iter()
                .map(|v| VendorRow {
                    name: v.name.clone(),
                    category: v.category.clone(),
                    cookies: v.cookies.join(", "),
                })
                .collect();
        }
        view
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentRecordView {
    pub id: String,
    pub current: Option<ReceiptRow>,
    pub history: Vec<ReceiptRow>,
    pub texts: Vec<TextsView>,
    pub export_href: String,
    pub erase_action: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsentPage {
    pub lookup_action: &'static str,
    pub query: String,
    pub invalid: bool,
    pub not_found: bool,
    pub erased: bool,
    pub record: Option<ConsentRecordView>,
}

/// What a consent look-up found.
pub enum Lookup<'a> {
    /// No look-up yet (the empty form).
    Nothing,
    /// The text is not shaped like a consent id.
    Invalid,
    NotFound,
    /// The record, and the archived texts by hash (those still archived).
    Found(&'a OwnRecord, &'a BTreeMap<String, ShownTexts>),
}

impl ConsentPage {
    pub fn new(query: &str, lookup: Lookup<'_>) -> ConsentPage {
        let mut page = ConsentPage {
            lookup_action: paths::CONSENT,
            query: query.to_owned(),
            invalid: false,
            not_found: false,
            erased: false,
            record: None,
        };
        match lookup {
            Lookup::Nothing => {}
            Lookup::Invalid => page.invalid = true,
            Lookup::NotFound => page.not_found = true,
            Lookup::Found(record, archived) => {
                let mut texts: Vec<TextsView> = Vec::new();
                let mut seen: Vec<&str> = Vec::new();
                for r in record.history.iter().rev() {
                    if !seen.contains(&r.texts_hash.as_str()) {
                        seen.push(&r.texts_hash);
                        texts.push(TextsView::new(r, archived.get(&r.texts_hash)));
                    }
                }
                page.record = Some(ConsentRecordView {
                    id: query.to_owned(),
                    current: record.current.as_ref().map(ReceiptRow::new),
                    history: record.history.iter().rev().map(ReceiptRow::new).collect(),
                    texts,
                    export_href: links::consent_action(query, "export"),
                    erase_action: links::consent_action(query, "erase"),
                });
            }
        }
        page
    }
}

impl Page for ConsentPage {
    const TEMPLATE: &'static str = "consent.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionCount {
    pub action: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiptsPage {
    pub action: &'static str,
    /// The range as `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    pub actions: Vec<Choice>,
    pub counts: Vec<ActionCount>,
    pub total_all: u64,
    pub rows: Vec<ReceiptRow>,
    pub pager: Pager,
    pub export_jsonl_href: String,
    pub export_csv_href: String,
}

impl ReceiptsPage {
    pub fn new(
        from: time::Date,
        to: time::Date,
        action: Option<Action>,
        counts: &[(Action, u64)],
        list: &ReceiptList,
        offset: usize,
        limit: usize,
    ) -> ReceiptsPage {
        let (from, to) = (day_text(from), day_text(to));
        let filter = action.map_or("", Action::as_str);
        let query = [
            ("from", from.as_str()),
            ("to", to.as_str()),
            ("action", filter),
        ];
        ReceiptsPage {
            action: paths::RECEIPTS,
            actions: Action::ALL
                .into_iter()
                .map(|a| Choice {
                    value: a.as_str().to_owned(),
                    selected: Some(a) == action,
                })
                .collect(),
            counts: counts
                .iter()
                .map(|(a, n)| ActionCount {
                    action: a.as_str(),
                    count: *n,
                })
                .collect(),
            total_all: counts.iter().map(|(_, n)| n).sum(),
            rows: list.receipts.iter().map(ReceiptRow::new).collect(),
            pager: Pager::new(
                paths::RECEIPTS,
                &query,
                offset,
                list.receipts.len(),
                limit,
                list.total,
            ),
            export_jsonl_href: with_query(paths::RECEIPTS_JSONL, &query),
            export_csv_href: with_query(paths::RECEIPTS_CSV, &query),
            from,
            to,
        }
    }
}

impl Page for ReceiptsPage {
    const TEMPLATE: &'static str = "receipts.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub time: String,
    pub operator: String,
    pub action: &'static str,
    pub object: String,
    pub count: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    pub action: &'static str,
    pub operators: Vec<Choice>,
    pub actions: Vec<Choice>,
    pub rows: Vec<AuditRow>,
    pub unreadable: usize,
    pub next_href: Option<String>,
    pub csv_href: String,
}

impl AuditView {
    /// `operators`: the configured operator names, for the filter.
    pub fn new(filter: &AuditFilter, operators: &[&str], page: &AuditLogPage) -> AuditView {
        let operator = filter.operator.as_deref().unwrap_or("");
        let action = filter.action.map_or("", AuditAction::as_str);
        let next = page.next.map(|id| id.to_string()).unwrap_or_default();
        AuditView {
            action: paths::AUDIT,
            operators: operators
                .iter()
                .map(|o| Choice {
                    value: (*o).to_owned(),
                    selected: *o == operator,
                })
                .collect(),
            actions: AuditAction::ALL
                .into_iter()
                .map(|a| Choice {
                    value: a.as_str().to_owned(),
                    selected: Some(a) == filter.action,
                })
                .collect(),
            rows: page
                .events
                .iter()
                .map(|(_, e)| AuditRow {
                    time: human_time(e.at),
                    operator: e.operator.clone(),
                    action: e.action.as_str(),
                    object: e.object.clone().unwrap_or_default(),
                    count: e.count.map(|c| c.to_string()).unwrap_or_default(),
                })
                .collect(),
            unreadable: page.unreadable,
            next_href: page.next.map(|_| {
                with_query(
                    paths::AUDIT,
                    &[
                        ("operator", operator),
                        ("action", action),
                        ("before", &next),
                    ],
                )
            }),
            csv_href: with_query(
                paths::AUDIT_CSV,
                &[("operator", operator), ("action", action)],
            ),
        }
    }
}

impl Page for AuditView {
    const TEMPLATE: &'static str = "audit.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthCheck {
    pub label: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormRetention {
    pub id: String,
    pub retention: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthPage {
    pub checks: Vec<HealthCheck>,
    pub version: String,
    pub uptime: String,
    pub forms: Vec<FormRetention>,
    /// The effective configuration, secrets already removed by the caller.
    pub config: String,
}

impl HealthPage {
    pub fn new(
        checks: Vec<HealthCheck>,
        uptime: Duration,
        forms: &[FormConfig],
        config: String,
    ) -> HealthPage {
        HealthPage {
            checks,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime: humantime::format_duration(Duration::from_secs(uptime.as_secs())).to_string(),
            forms: forms
                .iter()
                .map(|f| FormRetention {
                    id: f.id.clone(),
                    retention: humantime::format_duration(f.retention).to_string(),
                })
                .collect(),
            config,
        }
    }
}

impl Page for HealthPage {
    const TEMPLATE: &'static str = "health.html";
}

/// Statuses the error page has words for; anything else is shown as 500.
pub const ERROR_STATUSES: [u16; 8] = [400, 403, 404, 405, 413, 429, 500, 503];

#[derive(Debug, Clone, Serialize)]
pub struct ErrorPage {
    pub status: u16,
    /// Extra explanation, e.g. which field was wrong (escaped like everything else).
    pub detail: Option<String>,
    pub back_href: String,
}

impl ErrorPage {
    pub fn new(status: u16, back: &str) -> ErrorPage {
        ErrorPage {
            status: if ERROR_STATUSES.contains(&status) {
                status
            } else {
                500
            },
            detail: None,
            back_href: safe_return_path(back),
        }
    }
}

impl Page for ErrorPage {
    const TEMPLATE: &'static str = "error.html";
}

// ---- rendering ----

/// Replaces `{name}` in a message with the named argument: `t.showing | fill(total=n)`.
fn fill(text: String, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let mut out = text;
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        out = out.replace(&format!("{{{key}}}"), &value.to_string());
    }
    Ok(out)
}

/// The templates and message tables, parsed once at start; shared by all workers.
pub struct Views {
    env: Environment<'static>,
    messages: BTreeMap<&'static str, BTreeMap<String, String>>,
}

impl Views {
    pub fn new() -> Result<Views, ViewError> {
        let mut env = Environment::new();
        // A missing value or message is a bug: fail loudly in tests instead of printing "".
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("fill", fill);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        let mut messages = BTreeMap::new();
        for (lang, json) in MESSAGES {
            let table: BTreeMap<String, String> =
                serde_json::from_str(json).map_err(|e| ViewError::Messages(lang.as_str(), e))?;
            messages.insert(lang.as_str(), table);
        }
        Ok(Views { env, messages })
    }

    /// The page as HTML, in the chrome's language.
    pub fn render<P: Page>(&self, chrome: &Chrome, page: &P) -> Result<String, ViewError> {
        let t = self
            .messages
            .get(chrome.lang)
            .or_else(|| self.messages.get(Language::En.as_str()));
        let ctx = context! {
            t => Value::from(Serde(t)),
            chrome => Value::from(Serde(chrome)),
            page => Value::from(Serde(page)),
        };
        Ok(self.env.get_template(P::TEMPLATE)?.render(ctx)?)
    }
}

#[cfg(test)]
mod tests;
