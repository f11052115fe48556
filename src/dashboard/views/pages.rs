//! The view model of each page: what it shows, already worded where words come from data
//! (times, spans) and with every link built by [`super::frame`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::frame::{
    day_text, human_time, links, paths, safe_return_path, with_query, AgeView, Page, Pager, Span,
};
use crate::config::FormConfig;
use crate::consent::{Action, OwnRecord, Receipt, ReceiptList, ShownTexts};
use crate::dashboard::audit::{AuditAction, AuditFilter, AuditPage as AuditLogPage};
use crate::dashboard::auth::SessionEnd;
use crate::forms::{Entry, EntryPage};

/// Message keys the sign-in page can show above the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInNotice {
    Ended,
    Idle,
    Expired,
    Revoked,
    /// The operator signed out.
    SignedOut,
}

impl Serialize for SignInNotice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl SignInNotice {
    /// Every notice, as it travels in the sign-in page's `notice` query parameter.
    pub const ALL: [SignInNotice; 5] = [
        SignInNotice::Ended,
        SignInNotice::Idle,
        SignInNotice::Expired,
        SignInNotice::Revoked,
        SignInNotice::SignedOut,
    ];

    /// The message key, also the query parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInNotice::Ended => "session_ended",
            SignInNotice::Idle => "session_idle",
            SignInNotice::Expired => "session_expired",
            SignInNotice::Revoked => "session_revoked",
            SignInNotice::SignedOut => "signed_out",
        }
    }

    /// The notice called `name`, if any (unknown values are ignored, never shown).
    pub fn from_name(name: &str) -> Option<SignInNotice> {
        SignInNotice::ALL.into_iter().find(|n| n.as_str() == name)
    }
}

impl From<SessionEnd> for SignInNotice {
    fn from(end: SessionEnd) -> Self {
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
    /// What was just done (a [`Done`] message key), shown above the list.
    pub notice: Option<&'static str>,
}

/// What an operator just did, carried to the next page in its `done` query parameter (only
/// these values are shown; anything else is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Handled,
    Deleted,
    Erased,
}

impl Done {
    pub const ALL: [Done; 3] = [Done::Handled, Done::Deleted, Done::Erased];

    /// The query parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Done::Handled => "handled",
            Done::Deleted => "deleted",
            Done::Erased => "erased",
        }
    }

    /// The message key.
    pub fn message(self) -> &'static str {
        match self {
            Done::Handled => "done_handled",
            Done::Deleted => "done_deleted",
            Done::Erased => "erased",
        }
    }

    pub fn from_name(name: &str) -> Option<Done> {
        Done::ALL.into_iter().find(|d| d.as_str() == name)
    }
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
            notice: None,
        }
    }

    /// The inbox when no form is configured.
    pub fn without_forms() -> InboxPage {
        InboxPage {
            forms: Vec::new(),
            form: None,
            entries: Vec::new(),
            pager: Pager::default(),
            notice: None,
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
    /// The age band at submission, when the form asks for a date of birth.
    pub age: Option<AgeView>,
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
            age: AgeView::of(Some(form), entry),
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

/// A receipt's RFC 3339 time for people: `2026-11-22 14:03:05 UTC` (the receipt keeps the
/// fraction of the second; the page does not need it).
fn receipt_time(rfc3339: &str) -> String {
    let whole = rfc3339.split('.').next().unwrap_or(rfc3339);
    format!("{} UTC", whole.trim_end_matches('Z').replace('T', " "))
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
            time: receipt_time(&r.time),
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
    /// What was checked: the message `check_<key>` names it.
    pub key: &'static str,
    pub ok: bool,
    pub detail: String,
}

impl HealthCheck {
    pub fn new(key: &'static str, ok: bool, detail: String) -> HealthCheck {
        HealthCheck { key, ok, detail }
    }
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
    /// Why, when the status alone does not say it: a message key (`reason_<code>`).
    pub reason: Option<String>,
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
            reason: None,
            detail: None,
            back_href: safe_return_path(back),
        }
    }
}

impl Page for ErrorPage {
    const TEMPLATE: &'static str = "error.html";
}
