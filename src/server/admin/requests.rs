//! The register of data-subject requests: the list (what is overdue or due soon first),
//! registering a request, one request's page (audited), and every action taken from it —
//! status, extension, finding and attaching the person's data, export, correction,
//! restriction and erasure. Each action is a POST carrying the version of the request the
//! operator saw; a refused action shows the page again with the reason (422), a change made
//! meanwhile by someone else with a notice (409), and nothing is done.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{download, page, query, render, see_other, Operator, Posted};
use crate::clock::utc_date;
use crate::config::dashboard::Language;
use crate::dashboard::dsr::{
    export_json, Channel, EntryRef, Kind, NewRequest, RegisterError, Status, Target,
};
use crate::dashboard::views::{
    links, parse_day, Area, ExportPage, NewRequestPage, RequestPage, RequestsPage,
};
use crate::forms::PersonQuery;
use crate::http::{Code, EdgeError};

use super::super::state::State;

/// What an action did, as the `done` query parameter carries it to the request's page, and
/// the message that says so (only these are shown).
pub const DONE: [(&str, &str); 9] = [
    ("registered", "dsr_done_registered"),
    ("status", "dsr_done_status"),
    ("extended", "dsr_done_extended"),
    ("attached", "dsr_done_attached"),
    ("detached", "dsr_done_detached"),
    ("rectified", "dsr_done_rectified"),
    ("restricted", "dsr_done_restricted"),
    ("lifted", "dsr_done_lifted"),
    ("erased", "dsr_done_erased"),
];

fn done_message(done: &str) -> Option<&'static str> {
    DONE.iter().find(|(d, _)| *d == done).map(|(_, m)| *m)
}

fn bad(detail: &str) -> EdgeError {
    EdgeError::new(Code::BadRequest).detail(detail.to_owned())
}

/// `GET /requests`: open requests by due date (overdue and due soon first), then closed ones.
pub async fn list(state: State, op: Operator) -> Result<HttpResponse, EdgeError> {
    let register = &state.dashboard.register;
    let today = utc_date(op.now);
    let (requests, unreadable) = register.all().await?;
    let attention = register.attention(today).await?;
    let retention_days = state.config.dsr.retention.as_secs() / 86_400;
    let view = RequestsPage::new(&requests, &attention, unreadable, today, retention_days);
    page(&state, &op.chrome(&state, Area::Requests), &view)
}

/// `GET /requests/new`: the registration form.
pub async fn new_form(state: State, op: Operator) -> Result<HttpResponse, EdgeError> {
    let deadline = state.config.dsr.deadline.describe();
    let view = NewRequestPage::new(utc_date(op.now), &deadline);
    page(&state, &op.chrome(&state, Area::Requests), &view)
}

#[derive(Deserialize)]
pub struct NewForm {
    kind: String,
    received: String,
    channel: String,
    contact: String,
}

/// `POST /requests`: register a request (audited), then its page.
pub async fn create(state: State, posted: Posted<NewForm>) -> Result<HttpResponse, EdgeError> {
    let (op, form) = (&posted.op, &posted.form);
    let kind = Kind::from_name(&form.kind).ok_or_else(|| bad("kind: not a request type"))?;
    let channel = Channel::from_name(&form.channel).ok_or_else(|| bad("channel: not a channel"))?;
    let received = parse_day(&form.received).ok_or_else(|| bad("received: expected a date"))?;
    let new = NewRequest {
        kind,
        received,
        channel,
        contact: form.contact.clone(),
    };
    match op
        .requests(&state, &state.areas())
        .register_request(new)
        .await
    {
        Ok(r) => Ok(see_other(&format!(
            "{}?done=registered",
            links::request(&r.id)
        ))),
        Err(RegisterError::Refused(refusal)) => {
            let today = utc_date(op.now);
            let deadline = state.config.dsr.deadline.describe();
            let mut view =
                NewRequestPage::filled(kind, channel, received, &form.contact, today, &deadline);
            view.problem = Some(refusal.message());
            let chrome = op.chrome(&state, Area::Requests);
            render(&state, &chrome, &view, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

/// The request's page (audited), with `notice` or `problem` above it, at `status`.
async fn request_page(
    state: &State,
    op: &Operator,
    id: &str,
    adjust: impl FnOnce(RequestPage) -> RequestPage,
    status: StatusCode,
) -> Result<HttpResponse, EdgeError> {
    let view = op
        .requests(state, &state.areas())
        .open(id)
        .await?
        .ok_or(Code::NotFound)?;
    let today = utc_date(op.now);
    let page = adjust(RequestPage::new(&view, state.areas().forms.forms(), today));
    render(state, &op.chrome(state, Area::Requests), &page, status)
}

/// `GET /requests/{id}`: one request with what it concerns (audited).
pub async fn show(
    state: State,
    op: Operator,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let q: ShowQuery = query(&req)?;
    let notice = done_message(&q.done);
    request_page(
        &state,
        &op,
        &id,
        |mut p| {
            p.notice = notice;
            p
        },
        StatusCode::OK,
    )
    .await
}

/// After an action: its page with `done`, or the page again saying why nothing was done.
async fn outcome(
    state: &State,
    op: &Operator,
    id: &str,
    result: Result<(), RegisterError>,
    done: &str,
) -> Result<HttpResponse, EdgeError> {
    let (problem, status) = match result {
        Ok(()) => {
            return Ok(see_other(&format!("{}?done={done}", links::request(id))));
        }
        Err(RegisterError::Refused(r)) => (r.message(), StatusCode::UNPROCESSABLE_ENTITY),
        Err(RegisterError::Changed) => ("dsr_changed", StatusCode::CONFLICT),
        Err(e) => return Err(e.into()),
    };
    request_page(
        state,
        op,
        id,
        |mut p| {
            p.problem = Some(problem);
            p
        },
        status,
    )
    .await
}

#[derive(Deserialize)]
pub struct StatusForm {
    version: u64,
    status: String,
    #[serde(default)]
    note: String,
}

/// `POST /requests/{id}/status` (audited).
pub async fn status(
    state: State,
    posted: Posted<StatusForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let to = Status::from_name(&f.status).ok_or_else(|| bad("status: not a status"))?;
    let result = op
        .requests(&state, &state.areas())
        .change_status(&id, f.version, to, &f.note)
        .await;
    outcome(&state, op, &id, result.map(|_| ()), "status").await
}

#[derive(Deserialize)]
pub struct ExtendForm {
    version: u64,
    months: u8,
    reason: String,
    told_on: String,
}

/// `POST /requests/{id}/extend` (audited).
pub async fn extend(
    state: State,
    posted: Posted<ExtendForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let told_on = parse_day(&f.told_on).ok_or_else(|| bad("told_on: expected a date"))?;
    let result = op
        .requests(&state, &state.areas())
        .extend(&id, f.version, f.months, &f.reason, told_on)
        .await;
    outcome(&state, op, &id, result.map(|_| ()), "extended").await
}

#[derive(Deserialize)]
pub struct SearchForm {
    by: String,
    value: String,
}

/// Longest value searched for (an e-mail address's limit).
const MAX_SEARCH: usize = 254;

/// `POST /requests/{id}/search`: the person's entries by e-mail, name or phone (audited),
/// shown on the request's page to attach.
pub async fn search(
    state: State,
    posted: Posted<SearchForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    if f.value.chars().count() > MAX_SEARCH {
        return Err(bad("value: too long"));
    }
    let (by, query) = match f.by.as_str() {
        "email" => ("email", PersonQuery::Email(&f.value)),
        "name" => ("name", PersonQuery::Name(&f.value)),
        "phone" => ("phone", PersonQuery::Phone(&f.value)),
        _ => return Err(bad("by: email, name or phone")),
    };
    let areas = state.areas();
    let desk = op.requests(&state, &areas);
    let found = match desk.search(&id, query).await {
        Ok(found) => found,
        Err(e) => return outcome(&state, op, &id, Err(e), "").await,
    };
    let forms = areas.forms.forms();
    request_page(
        &state,
        op,
        &id,
        |p| {
            let attached: Vec<String> = p.entries.iter().map(|e| e.value.clone()).collect();
            p.with_search(by, f.value.trim(), &found, forms, &attached)
        },
        StatusCode::OK,
    )
    .await
}

/// `<form>/<entry id>` as a reference.
fn entry_ref(value: &str) -> Result<EntryRef, EdgeError> {
    let (form, id) = value
        .split_once('/')
        .filter(|(f, i)| !f.is_empty() && !i.is_empty())
        .ok_or_else(|| bad("entry: expected <form>/<entry id>"))?;
    Ok(EntryRef {
        form: form.to_owned(),
        id: id.to_owned(),
    })
}

/// `POST /requests/{id}/attach`: the chosen entries (`entry`, repeated) and/or a consent
/// id (audited).
pub async fn attach(
    state: State,
    posted: Posted<Vec<(String, String)>>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let op = &posted.op;
    let field = |name: &'static str| {
        posted
            .form
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let version = field("version")
        .next()
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| bad("version: expected a number"))?;
    let entries = field("entry")
        .map(entry_ref)
        .collect::<Result<Vec<_>, _>>()?;
    let consent = field("consent").next();
    let result = op
        .requests(&state, &state.areas())
        .attach(&id, version, &entries, consent)
        .await;
    outcome(&state, op, &id, result.map(|_| ()), "attached").await
}

#[derive(Deserialize)]
pub struct DetachForm {
    version: u64,
    #[serde(default)]
    entry: String,
    #[serde(default)]
    consent: String,
}

/// `POST /requests/{id}/detach` (audited).
pub async fn detach(
    state: State,
    posted: Posted<DetachForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let target = if f.entry.is_empty() {
        Target::Consent(f.consent.clone())
    } else {
        Target::Entry(entry_ref(&f.entry)?)
    };
    let result = op
        .requests(&state, &state.areas())
        .detach(&id, f.version, &target)
        .await;
    outcome(&state, op, &id, result.map(|_| ()), "detached").await
}

#[derive(Deserialize)]
pub struct EntryForm {
    version: u64,
    entry: String,
}

async fn restriction(
    state: State,
    posted: Posted<EntryForm>,
    id: web::Path<String>,
    restricted: bool,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let entry = entry_ref(&f.entry)?;
    let result = op
        .requests(&state, &state.areas())
        .restrict(&id, f.version, &entry, restricted)
        .await;
    let done = if restricted { "restricted" } else { "lifted" };
    outcome(&state, op, &id, result, done).await
}

/// `POST /requests/{id}/restrict` (audited).
pub async fn restrict(
    state: State,
    posted: Posted<EntryForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    restriction(state, posted, id, true).await
}

/// `POST /requests/{id}/lift` (audited).
pub async fn lift(
    state: State,
    posted: Posted<EntryForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    restriction(state, posted, id, false).await
}

#[derive(Deserialize)]
pub struct RectifyForm {
    version: u64,
    entry: String,
    field: String,
    #[serde(default)]
    value: String,
}

/// `POST /requests/{id}/rectify`: correct one field (audited, without either value).
pub async fn rectify(
    state: State,
    posted: Posted<RectifyForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let entry = entry_ref(&f.entry)?;
    let result = op
        .requests(&state, &state.areas())
        .rectify(&id, f.version, &entry, &f.field, &f.value)
        .await;
    outcome(&state, op, &id, result, "rectified").await
}

#[derive(Deserialize)]
pub struct ExportForm {
    version: u64,
    format: String,
    #[serde(default)]
    lang: String,
}

/// `POST /requests/{id}/export`: what the request concerns as JSON, or as a page to read in
/// Dutch or English (audited).
pub async fn export(
    state: State,
    posted: Posted<ExportForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let lang = match (f.format.as_str(), f.lang.as_str()) {
        ("json", _) => None,
        ("html", "nl") => Some(Language::Nl),
        ("html", "en") => Some(Language::En),
        _ => return Err(bad("format: json, or html with lang nl or en")),
    };
    let (request, contents) = match op
        .requests(&state, &state.areas())
        .export(&id, f.version)
        .await
    {
        Ok(found) => found,
        Err(e) => return outcome(&state, op, &id, Err(e), "").await,
    };
    let internal = |e: String| EdgeError::new(Code::Internal).detail(e);
    Ok(match lang {
        None => {
            let json =
                export_json(&contents, &request, op.now).map_err(|e| internal(e.to_string()))?;
            download(json, "application/json", &format!("request-{id}.json"))
        }
        Some(lang) => {
            let view = ExportPage::new(
                &request,
                &contents,
                state.areas().forms.forms(),
                op.now,
                lang,
            );
            let html = state
                .dashboard
                .views
                .render_document(lang, &view)
                .map_err(|e| internal(e.to_string()))?;
            let name = format!("request-{id}-{}.html", lang.as_str());
            download(html, "text/html; charset=utf-8", &name)
        }
    })
}

#[derive(Deserialize)]
pub struct EraseForm {
    version: u64,
    expected: usize,
}

/// `POST /requests/{id}/erase`: delete every attached entry and consent record for good, if
/// the confirmed count still holds (audited).
pub async fn erase(
    state: State,
    posted: Posted<EraseForm>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let (op, f) = (&posted.op, &posted.form);
    let result = op
        .requests(&state, &state.areas())
        .erase(&id, f.version, f.expected)
        .await;
    outcome(&state, op, &id, result.map(|_| ()), "erased").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_outcomes_are_shown() {
        for (done, message) in DONE {
            assert_eq!(done_message(done), Some(message));
            assert_eq!(message, format!("dsr_done_{done}"));
        }
        assert_eq!(done_message("<script>"), None);
        assert_eq!(done_message(""), None);
    }
}
