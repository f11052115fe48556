//! The contact-form inbox and data-subject requests: list a form's entries (no content), open
//! one (audited), mark it handled or delete it, export it or the whole form, and find, export or
//! erase everything sent with one e-mail address. The address only ever travels in POST bodies,
//! never in a URL.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{download, page, query, render, see_other, NoFields, Operator, Posted};
use crate::config::FormConfig;
use crate::dashboard::desk::{Finish, PersonErasure};
use crate::dashboard::views::{links, Area, Done, EntryView, InboxPage, PersonPage};
use crate::forms::Entry;
use crate::http::{Code, EdgeError};

use super::super::state::{Areas, State};

/// Entries per inbox page.
pub const PAGE: usize = 25;
/// Longest e-mail address looked for (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    done: String,
}

fn form<'a>(areas: &'a Areas, id: &str) -> Result<&'a FormConfig, EdgeError> {
    areas
        .forms
        .forms()
        .iter()
        .find(|f| f.id == id)
        .ok_or_else(|| EdgeError::new(Code::NotFound))
}

/// `GET /inbox`: the first form's entries.
pub async fn first_form(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    match areas.forms.forms().first() {
        Some(f) => list_form(&state, &areas, &op, &req, f).await,
        None => page(
            &state,
            &op.chrome(&state, Area::Inbox),
            &InboxPage::without_forms(),
        ),
    }
}

/// `GET /inbox/{form}`: one page of a form's entries, newest first.
pub async fn list(
    state: State,
    op: Operator,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let f = form(&areas, &path)?;
    list_form(&state, &areas, &op, &req, f).await
}

async fn list_form(
    state: &State,
    areas: &Areas,
    op: &Operator,
    req: &HttpRequest,
    current: &FormConfig,
) -> Result<HttpResponse, EdgeError> {
    let q: ListQuery = query(req)?;
    let all = areas.forms.forms();
    // One count per form for the tabs, one page read for the list: no read per entry.
    let mut totals = Vec::with_capacity(all.len());
    for f in all {
        totals.push((f, forms_call(areas.forms.list(&f.id, 0, 0).await)?.total));
    }
    let entries = forms_call(areas.forms.list(&current.id, q.offset, PAGE).await)?;
    let mut view = InboxPage::new(&totals, current, &entries, q.offset, PAGE, op.now);
    view.notice = Done::from_name(&q.done).map(Done::message);
    page(state, &op.chrome(state, Area::Inbox), &view)
}

fn forms_call<T>(r: Result<T, crate::forms::FormsError>) -> Result<T, EdgeError> {
    r.map_err(|e| crate::dashboard::desk::DeskError::from(e).into())
}

/// `GET /inbox/{form}/e/{id}`: every field of one entry (audited).
pub async fn entry(
    state: State,
    op: Operator,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, EdgeError> {
    let (form_id, id) = path.into_inner();
    let areas = state.areas();
    let f = form(&areas, &form_id)?;
    let desk = op.desk(&state, &areas);
    let entry = desk
        .open_entry(&form_id, &id)
        .await?
        .ok_or(Code::NotFound)?;
    page(
        &state,
        &op.chrome(&state, Area::Inbox),
        &EntryView::new(f, &entry, op.now),
    )
}

async fn finish(
    state: State,
    posted: Posted<NoFields>,
    path: web::Path<(String, String)>,
    how: Finish,
) -> Result<HttpResponse, EdgeError> {
    let (form_id, id) = path.into_inner();
    let areas = state.areas();
    form(&areas, &form_id)?;
    let op = &posted.op;
    let desk = op.desk(&state, &areas);
    if !desk.finish_entry(&form_id, &id, how).await? {
        return Err(EdgeError::new(Code::NotFound));
    }
    let done = match how {
        Finish::Handled => Done::Handled,
        Finish::Deleted => Done::Deleted,
    };
    Ok(see_other(&format!(
        "{}?done={}",
        links::form(&form_id),
        done.as_str()
    )))
}

/// `POST /inbox/{form}/e/{id}/handled`: handled means deleted (audited first).
pub async fn handled(
    state: State,
    posted: Posted<NoFields>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, EdgeError> {
    finish(state, posted, path, Finish::Handled).await
}

/// `POST /inbox/{form}/e/{id}/delete`.
pub async fn delete(
    state: State,
    posted: Posted<NoFields>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, EdgeError> {
    finish(state, posted, path, Finish::Deleted).await
}

/// `GET /inbox/{form}/e/{id}/export`: one entry as JSON (audited).
pub async fn export_entry(
    state: State,
    op: Operator,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, EdgeError> {
    let (form_id, id) = path.into_inner();
    let areas = state.areas();
    form(&areas, &form_id)?;
    let desk = op.desk(&state, &areas);
    let json = desk
        .export_entry(&form_id, &id)
        .await?
        .ok_or(Code::NotFound)?;
    Ok(download(
        json,
        "application/json",
        &format!("{form_id}-{id}.json"),
    ))
}

/// `GET /inbox/{form}/export`: every entry of the form as JSON (audited).
pub async fn export_form(
    state: State,
    op: Operator,
    path: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let f = form(&areas, &path)?;
    let desk = op.desk(&state, &areas);
    let (json, _) = desk.export_form(&f.id).await?;
    Ok(download(
        json,
        "application/json",
        &format!("{}.json", f.id),
    ))
}

/// `GET /person`: the search form.
pub async fn person_form(state: State, op: Operator) -> Result<HttpResponse, EdgeError> {
    page(
        &state,
        &op.chrome(&state, Area::Person),
        &PersonPage::new("", None, false),
    )
}

#[derive(Deserialize)]
pub struct EmailForm {
    email: String,
}

/// The address as typed, checked for shape (not stored, not logged).
fn email(typed: &str) -> Result<&str, EdgeError> {
    let e = typed.trim();
    let shaped = e.len() <= MAX_EMAIL
        && e.split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    if shaped {
        Ok(e)
    } else {
        Err(EdgeError::new(Code::BadRequest).detail("email: expected an e-mail address"))
    }
}

fn person_page(
    state: &State,
    op: &Operator,
    email: &str,
    found: &[Entry],
    confirm: bool,
) -> Result<HttpResponse, EdgeError> {
    page(
        state,
        &op.chrome(state, Area::Person),
        &PersonPage::new(email, Some(found), confirm),
    )
}

/// `POST /person`: everything sent with an address (audited).
pub async fn person_search(
    state: State,
    posted: Posted<EmailForm>,
) -> Result<HttpResponse, EdgeError> {
    let (op, address) = (&posted.op, email(&posted.form.email)?);
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let found = desk.find_person(address).await?;
    person_page(&state, op, address, &found, false)
}

/// `POST /person/confirm`: the same list with "delete all N" to confirm (audited search).
pub async fn person_confirm(
    state: State,
    posted: Posted<EmailForm>,
) -> Result<HttpResponse, EdgeError> {
    let (op, address) = (&posted.op, email(&posted.form.email)?);
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let found = desk.find_person(address).await?;
    person_page(&state, op, address, &found, !found.is_empty())
}

#[derive(Deserialize)]
pub struct EraseForm {
    email: String,
    expected: usize,
}

/// `POST /person/delete`: delete everything for the address, if the confirmed count still
/// holds (audited); otherwise confirm again with the count there is now.
pub async fn person_delete(
    state: State,
    posted: Posted<EraseForm>,
) -> Result<HttpResponse, EdgeError> {
    let op = &posted.op;
    let address = email(&posted.form.email)?;
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    match desk.erase_person(address, posted.form.expected).await? {
        PersonErasure::Erased(n) => {
            let mut view = PersonPage::new(address, Some(&[]), false);
            view.deleted = Some(n);
            page(&state, &op.chrome(&state, Area::Person), &view)
        }
        PersonErasure::Changed(found) => {
            let confirm = !found.is_empty();
            let view = PersonPage::new(address, Some(&found), confirm);
            render(
                &state,
                &op.chrome(&state, Area::Person),
                &view,
                StatusCode::CONFLICT,
            )
        }
    }
}

/// `POST /person/export`: everything for the address as JSON (audited).
pub async fn person_export(
    state: State,
    posted: Posted<EmailForm>,
) -> Result<HttpResponse, EdgeError> {
    let (op, address) = (&posted.op, email(&posted.form.email)?);
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let (json, _) = desk.export_person(address).await?;
    Ok(download(json, "application/json", "person.json"))
}
