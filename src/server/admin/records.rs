//! Consent records: look one up by its id (audited) with the texts each decision was made on,
//! export it as ISO/IEC TS 27560 JSON, erase it; list receipts by date range and action with
//! their counts, and export a range as JSON lines or CSV.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{download, page, query, render, see_other, NoFields, Operator, Posted};
use crate::consent::{valid_consent_id, Action, ReceiptFilter};
use crate::dashboard::desk::ReceiptFormat;
use crate::dashboard::views::{
    day_range_ms, day_text, parse_day, paths, Area, ConsentPage, Done, Lookup, ReceiptsPage,
};
use crate::http::{Code, EdgeError};
use crate::stats::day_key;

use super::super::state::State;

/// Receipts per page.
pub const PAGE: usize = 50;
/// Days the receipts page shows when no range is given (today included).
pub const DEFAULT_DAYS: u64 = 30;

#[derive(Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    id: String,
    #[serde(default)]
    done: String,
}

/// `GET /consent?id=…`: the look-up form, and the record when an id is given.
pub async fn lookup_form(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let q: LookupQuery = query(&req)?;
    if q.id.trim().is_empty() {
        let mut view = ConsentPage::new("", Lookup::Nothing);
        view.erased = Done::from_name(&q.done) == Some(Done::Erased);
        return page(&state, &op.chrome(&state, Area::Consent), &view);
    }
    show(&state, &op, q.id.trim()).await
}

/// `GET /consent/{id}`: one record (audited).
pub async fn lookup(
    state: State,
    op: Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    show(&state, &op, &id).await
}

async fn show(state: &State, op: &Operator, id: &str) -> Result<HttpResponse, EdgeError> {
    let chrome = op.chrome(state, Area::Consent);
    if !valid_consent_id(id) {
        let view = ConsentPage::new(id, Lookup::Invalid);
        return render(state, &chrome, &view, StatusCode::BAD_REQUEST);
    }
    let areas = state.areas();
    let desk = op.desk(state, &areas);
    match desk.look_up_consent(id).await? {
        Some(found) => page(
            state,
            &chrome,
            &ConsentPage::new(id, Lookup::Found(&found.record, &found.texts)),
        ),
        None => render(
            state,
            &chrome,
            &ConsentPage::new(id, Lookup::NotFound),
            StatusCode::NOT_FOUND,
        ),
    }
}

/// `GET /consent/{id}/export`: the record as ISO/IEC TS 27560 JSON (audited).
pub async fn export(
    state: State,
    op: Operator,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let json = desk.export_consent(&id).await?.ok_or(Code::NotFound)?;
    let body = serde_json::to_string_pretty(&json)
        .map_err(|e| EdgeError::new(Code::Internal).detail(e.to_string()))?;
    Ok(download(
        body,
        "application/json",
        &format!("consent-{id}.iso27560.json"),
    ))
}

/// `POST /consent/{id}/erase`: erase the record and its history (audited first).
pub async fn erase(
    state: State,
    posted: Posted<NoFields>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let op = &posted.op;
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    if !desk.erase_consent(&id).await? {
        return Err(EdgeError::new(Code::NotFound));
    }
    Ok(see_other(&format!(
        "{}?done={}",
        paths::CONSENT,
        Done::Erased.as_str()
    )))
}

#[derive(Deserialize)]
pub struct RangeQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    offset: usize,
}

/// A parsed range: days, the filter on them, the action.
struct Range {
    from: time::Date,
    to: time::Date,
    filter: ReceiptFilter,
}

fn bad(detail: &str) -> EdgeError {
    EdgeError::new(Code::BadRequest).detail(detail.to_owned())
}

/// The range asked for; the last [`DEFAULT_DAYS`] days (UTC) when none is given.
fn range(q: &RangeQuery, now: u64) -> Result<Range, EdgeError> {
    let today = parse_day(&day_key(now)).ok_or_else(|| bad("clock out of range"))?;
    let default_from =
        parse_day(&day_key(now.saturating_sub((DEFAULT_DAYS - 1) * 86_400))).unwrap_or(today);
    let day = |text: &str, default: time::Date, key: &str| {
        if text.trim().is_empty() {
            Ok(default)
        } else {
            parse_day(text).ok_or_else(|| bad(&format!("{key}: expected a date like 2026-11-22")))
        }
    };
    let from = day(&q.from, default_from, "from")?;
    let to = day(&q.to, today, "to")?;
    let (from_ms, to_ms) = day_range_ms(from, to).ok_or_else(|| bad("to: before from"))?;
    let action = match q.action.as_str() {
        "" => None,
        name => Some(
            Action::ALL
                .into_iter()
                .find(|a| a.as_str() == name)
                .ok_or_else(|| bad("action: not a consent action"))?,
        ),
    };
    Ok(Range {
        from,
        to,
        filter: ReceiptFilter {
            from_ms,
            to_ms,
            action,
        },
    })
}

fn record_error(e: crate::consent::RecordError) -> EdgeError {
    crate::dashboard::desk::DeskError::from(e).into()
}

/// `GET /receipts`: decisions of a date range, counted per action, newest first.
pub async fn receipts(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let q: RangeQuery = query(&req)?;
    let r = range(&q, op.now)?;
    let areas = state.areas();
    let counts = areas
        .consent
        .count_receipts(r.filter.from_ms, r.filter.to_ms)
        .await
        .map_err(record_error)?;
    let list = areas
        .consent
        .list_receipts(&r.filter, true, q.offset, PAGE)
        .await
        .map_err(record_error)?;
    let view = ReceiptsPage::new(
        r.from,
        r.to,
        r.filter.action,
        &counts,
        &list,
        q.offset,
        PAGE,
    );
    page(&state, &op.chrome(&state, Area::Receipts), &view)
}

async fn export_range(
    state: State,
    op: Operator,
    req: HttpRequest,
    format: ReceiptFormat,
) -> Result<HttpResponse, EdgeError> {
    let q: RangeQuery = query(&req)?;
    let r = range(&q, op.now)?;
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let (doc, _) = desk.export_receipts(&r.filter, format).await?;
    let name = format!("receipts-{}-{}", day_text(r.from), day_text(r.to));
    Ok(match format {
        ReceiptFormat::JsonLines => download(doc, "application/x-ndjson", &format!("{name}.jsonl")),
        ReceiptFormat::Csv => download(doc, "text/csv; charset=utf-8", &format!("{name}.csv")),
    })
}

/// `GET /receipts/export.jsonl` (audited).
pub async fn export_jsonl(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    export_range(state, op, req, ReceiptFormat::JsonLines).await
}

/// `GET /receipts/export.csv` (audited).
pub async fn export_csv(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    export_range(state, op, req, ReceiptFormat::Csv).await
}
