//! The view models of the register of data-subject requests: the list (what needs attention
//! first), the registration form, one request with everything that can be done from it, and
//! the readable export the person receives.

use serde::Serialize;
use time::Date;

use super::frame::{human_time, links, paths, AgeView, AttentionView, Page};
use super::pages::{AuditRow, Choice, FieldRow, ReceiptRow};
use crate::config::dashboard::Language;
use crate::config::FormConfig;
use crate::dashboard::dsr::due::{days_left, MAX_EXTENSION_MONTHS};
use crate::dashboard::dsr::{
    Attention, Channel, Contents, Kind, Request, RequestView, Status, DUE_SOON_DAYS,
};
use crate::forms::Entry;

/// How a request stands against its due date: `overdue`, `due_soon` or nothing.
fn flag(r: &Request, today: Date) -> Option<&'static str> {
    if !r.is_open() {
        return None;
    }
    match days_left(today, r.due()) {
        d if d < 0 => Some("overdue"),
        d if d <= DUE_SOON_DAYS => Some("due_soon"),
        _ => None,
    }
}

/// One request in the list: nothing about the person.
#[derive(Debug, Clone, Serialize)]
pub struct RequestRow {
    pub id: String,
    pub href: String,
    pub kind: &'static str,
    pub received: String,
    pub due: String,
    pub status: &'static str,
    pub flag: Option<&'static str>,
}

impl RequestRow {
    fn new(r: &Request, today: Date) -> RequestRow {
        RequestRow {
            id: r.id.clone(),
            href: links::request(&r.id),
            kind: r.kind.as_str(),
            received: r.received.to_string(),
            due: r.due().to_string(),
            status: r.status.as_str(),
            flag: flag(r, today),
        }
    }
}

/// `GET /requests`.
#[derive(Debug, Clone, Serialize)]
pub struct RequestsPage {
    pub new_href: &'static str,
    pub attention: AttentionView,
    pub open: Vec<RequestRow>,
    pub closed: Vec<RequestRow>,
    pub unreadable: usize,
    /// Retention of closed requests, in days.
    pub retention_days: u64,
}

impl RequestsPage {
    pub fn new(
        requests: &[Request],
        attention: &Attention,
        unreadable: usize,
        today: Date,
        retention_days: u64,
    ) -> RequestsPage {
        let rows = |open: bool| {
            requests
                .iter()
                .filter(|r| r.is_open() == open)
                .map(|r| RequestRow::new(r, today))
                .collect()
        };
        RequestsPage {
            new_href: paths::REQUEST_NEW,
            attention: AttentionView::new(attention),
            open: rows(true),
            closed: rows(false),
            unreadable,
            retention_days,
        }
    }
}

impl Page for RequestsPage {
    const TEMPLATE: &'static str = "requests.html";
}

fn choices<T: Copy + PartialEq>(
    all: &[T],
    name: fn(T) -> &'static str,
    selected: T,
) -> Vec<Choice> {
    all.iter()
        .map(|v| Choice {
            value: name(*v).to_owned(),
            selected: *v == selected,
        })
        .collect()
}

/// `GET /requests/new`, and the form again with what was typed when it was refused.
#[derive(Debug, Clone, Serialize)]
pub struct NewRequestPage {
    pub action: &'static str,
    pub kinds: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub received: String,
    /// The latest day that can be chosen (today).
    pub today: String,
    pub contact: String,
    /// What the deadline rule is (`1 month`, `21 days`).
    pub deadline: String,
    /// A refusal's message key.
    pub problem: Option<&'static str>,
}

impl NewRequestPage {
    pub fn new(today: Date, deadline: &str) -> NewRequestPage {
        NewRequestPage::filled(Kind::Access, Channel::Email, today, "", today, deadline)
    }

    pub fn filled(
        kind: Kind,
        channel: Channel,
        received: Date,
        contact: &str,
        today: Date,
        deadline: &str,
    ) -> NewRequestPage {
        NewRequestPage {
            action: paths::REQUESTS,
            kinds: choices(Kind::ALL, Kind::as_str, kind),
            channels: choices(Channel::ALL, Channel::as_str, channel),
            received: received.to_string(),
            today: today.to_string(),
            contact: contact.to_owned(),
            deadline: deadline.to_owned(),
            problem: None,
        }
    }
}

impl Page for NewRequestPage {
    const TEMPLATE: &'static str = "request_new.html";
}

/// An entry found by a search, to attach.
#[derive(Debug, Clone, Serialize)]
pub struct FoundRow {
    /// `<form>/<entry id>`, the checkbox's value.
    pub value: String,
    pub form: String,
    pub received: String,
    pub restricted: bool,
    pub attached: bool,
    pub age: Option<AgeView>,
}

/// A search on the request's page and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct SearchView {
    /// `email`, `name` or `phone`.
    pub by: &'static str,
    pub value: String,
    pub results: Vec<FoundRow>,
}

/// An attached entry with what can be done to it.
#[derive(Debug, Clone, Serialize)]
pub struct AttachedView {
    /// `<form>/<entry id>`, what the forms post.
    pub value: String,
    pub form: String,
    pub id: String,
    /// No longer stored (handled, erased, past its retention).
    pub gone: bool,
    pub received: String,
    pub restricted: bool,
    pub unreadable: bool,
    pub age: Option<AgeView>,
    pub fields: Vec<FieldRow>,
    /// The form's field names, for a correction.
    pub field_names: Vec<String>,
}

/// An attached consent record.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentView {
    pub id: String,
    pub href: String,
    pub gone: bool,
    pub current: Option<ReceiptRow>,
    pub decisions: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtensionView {
    pub months: u8,
    pub reason: String,
    pub told_on: String,
}

/// `GET /requests/{id}`: one request and everything that can be done from it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestPage {
    pub id: String,
    pub version: u64,
    pub kind: &'static str,
    pub channel: &'static str,
    pub received: String,
    pub registered: String,
    pub first_due: String,
    pub due: String,
    pub flag: Option<&'static str>,
    pub days: i64,
    pub status: &'static str,
    pub open: bool,
    pub closed: Option<String>,
    pub contact: String,
    pub identity_note: Option<String>,
    pub reason: Option<String>,
    pub extension: Option<ExtensionView>,
    /// Statuses it may move to.
    pub next: Vec<&'static str>,
    pub may_extend: bool,
    pub max_months: u8,
    pub today: String,
    pub may_act: bool,
    pub search: Option<SearchView>,
    pub entries: Vec<AttachedView>,
    pub consents: Vec<ConsentView>,
    /// Records an erasure would delete (what the confirmation names).
    pub erase_count: usize,
    pub confirm_erase: bool,
    pub history: Vec<AuditRow>,
    pub status_action: String,
    pub extend_action: String,
    pub search_action: String,
    pub attach_action: String,
    pub detach_action: String,
    pub export_action: String,
    pub rectify_action: String,
    pub restrict_action: String,
    pub lift_action: String,
    pub erase_action: String,
    pub back_href: &'static str,
    /// What was just done (a message key).
    pub notice: Option<&'static str>,
    /// Why the last action was refused (a message key).
    pub problem: Option<&'static str>,
}

impl RequestPage {
    /// `forms`: the configured forms (labels, fields, age notes); `today`: the UTC day.
    pub fn new(view: &RequestView, forms: &[FormConfig], today: Date) -> RequestPage {
        let r = &view.request;
        let id = r.id.as_str();
        let form_of = |name: &str| forms.iter().find(|f| f.id == name);
        let entries: Vec<AttachedView> = view
            .entries
            .iter()
            .map(|a| {
                let form = form_of(&a.reference.form);
                let mut v = AttachedView {
                    value: a.reference.object(),
                    form: a.reference.form.clone(),
                    id: a.reference.id.clone(),
                    gone: a.entry.is_none(),
                    received: String::new(),
                    restricted: false,
                    unreadable: false,
                    age: None,
                    fields: Vec::new(),
                    field_names: form
                        .map(|f| f.fields.iter().map(|x| x.name.clone()).collect())
                        .unwrap_or_default(),
                };
                if let Some(e) = &a.entry {
                    v.received = human_time(e.created);
                    v.restricted = e.restricted;
                    v.unreadable = e.unreadable.is_some();
                    v.age = AgeView::of(form, e);
                    v.fields = e
                        .fields
                        .iter()
                        .map(|f| FieldRow {
                            label: f.label.clone(),
                            value: f.value.clone(),
                        })
                        .collect();
                }
                v
            })
            .collect();
        let consents = view
            .consents
            .iter()
            .map(|(cid, record)| ConsentView {
                id: cid.clone(),
                href: links::consent(cid),
                gone: record.is_none(),
                current: record
                    .as_ref()
                    .and_then(|rec| rec.current.as_ref())
                    .map(ReceiptRow::new),
                decisions: record.as_ref().map_or(0, |rec| rec.history.len()),
            })
            .collect();
        let action = |what| links::request_action(id, what);
        RequestPage {
            id: id.to_owned(),
            version: view.version,
            kind: r.kind.as_str(),
            channel: r.channel.as_str(),
            received: r.received.to_string(),
            registered: human_time(r.registered),
            first_due: r.first_due().to_string(),
            due: r.due().to_string(),
            flag: flag(r, today),
            days: days_left(today, r.due()).abs(),
            status: r.status.as_str(),
            open: r.is_open(),
            closed: r.closed.map(human_time),
            contact: r.contact.clone(),
            identity_note: r.identity_note.clone(),
            reason: r.reason.clone(),
            extension: r.extension.as_ref().map(|e| ExtensionView {
                months: e.months,
                reason: e.reason.clone(),
                told_on: e.told_on.to_string(),
            }),
            next: Status::ALL
                .iter()
                .filter(|s| r.status.may_become(**s))
                .map(|s| s.as_str())
                .collect(),
            may_extend: r.is_open() && r.extension.is_none() && today <= r.first_due(),
            max_months: MAX_EXTENSION_MONTHS,
            today: today.to_string(),
            may_act: r.status.may_act_on_data(),
            search: None,
            erase_count: r.entries.len() + r.consents.len(),
            confirm_erase: false,
            entries,
            consents,
            history: r
                .history
                .iter()
                .rev()
                .map(|e| AuditRow {
                    time: human_time(e.at),
                    operator: e.operator.clone(),
                    action: e.action.as_str(),
                    object: e.object.clone().unwrap_or_default(),
                    count: e.count.map(|c| c.to_string()).unwrap_or_default(),
                })
                .collect(),
            status_action: action("status"),
            extend_action: action("extend"),
            search_action: action("search"),
            attach_action: action("attach"),
            detach_action: action("detach"),
            export_action: action("export"),
            rectify_action: action("rectify"),
            restrict_action: action("restrict"),
            lift_action: action("lift"),
            erase_action: action("erase"),
            back_href: paths::REQUESTS,
            notice: None,
            problem: None,
        }
    }

    /// With the results of a search by `by` for `value`.
    pub fn with_search(
        mut self,
        by: &'static str,
        value: &str,
        found: &[Entry],
        forms: &[FormConfig],
        attached: &[String],
    ) -> RequestPage {
        self.search = Some(SearchView {
            by,
            value: value.to_owned(),
            results: found
                .iter()
                .map(|e| {
                    let value = format!("{}/{}", e.form, e.id);
                    FoundRow {
                        attached: attached.contains(&value),
                        value,
                        form: e.form.clone(),
                        received: human_time(e.created),
                        restricted: e.restricted,
                        age: AgeView::of(forms.iter().find(|f| f.id == e.form), e),
                    }
                })
                .collect(),
        });
        self
    }
}

impl Page for RequestPage {
    const TEMPLATE: &'static str = "request.html";
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportEntryView {
    pub form: String,
    pub received: String,
    pub age: Option<AgeView>,
    pub unreadable: bool,
    pub fields: Vec<FieldRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportConsentView {
    pub id: String,
    pub history: Vec<ReceiptRow>,
}

/// The readable export a person receives (a document of its own, not a dashboard page).
#[derive(Debug, Clone, Serialize)]
pub struct ExportPage {
    pub lang: &'static str,
    pub id: String,
    pub kind: &'static str,
    pub received: String,
    pub exported: String,
    pub entries: Vec<ExportEntryView>,
    pub restricted: usize,
    pub entries_gone: usize,
    pub consents: Vec<ExportConsentView>,
    pub consents_gone: usize,
}

impl ExportPage {
    pub fn new(
        request: &Request,
        contents: &Contents,
        forms: &[FormConfig],
        now: u64,
        lang: Language,
    ) -> ExportPage {
        ExportPage {
            lang: lang.as_str(),
            id: request.id.clone(),
            kind: request.kind.as_str(),
            received: request.received.to_string(),
            exported: human_time(now),
            entries: contents
                .entries
                .iter()
                .map(|e| ExportEntryView {
                    form: e.form.clone(),
                    received: human_time(e.created),
                    age: AgeView::of(forms.iter().find(|f| f.id == e.form), e),
                    unreadable: e.unreadable.is_some(),
                    fields: e
                        .fields
                        .iter()
                        .map(|f| FieldRow {
                            label: f.label.clone(),
                            value: f.value.clone(),
                        })
                        .collect(),
                })
                .collect(),
            restricted: contents.restricted,
            entries_gone: contents.entries_gone,
            consents: contents
                .consents
                .iter()
                .map(|c| ExportConsentView {
                    id: c.id.clone(),
                    history: c.record.history.iter().map(ReceiptRow::new).collect(),
                })
                .collect(),
            consents_gone: contents.consents_gone,
        }
    }
}

impl Page for ExportPage {
    const TEMPLATE: &'static str = "dsr_export.html";
}
