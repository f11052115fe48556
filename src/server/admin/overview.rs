//! The overview — the start page for everyone who may see the figures (admin, analyst) —,
//! its exports (CSV per table zipped, JSON), "How we count", the operator's API tokens, and
//! the read-only JSON API those tokens open (`GET /api/v1/overview`, same parameters).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{download, page, query, see_other, NoFields, Operator, Posted};
use crate::dashboard::api_tokens::TokenError;
use crate::dashboard::auth::Permission;
use crate::dashboard::overview::{self, date_of, Overview, OverviewQuery, QueryParams};
use crate::dashboard::views::{
    paths, Area, AttentionView, ChartWords, HonestyPage, OverviewPage, TokensPage,
};
use crate::dashboard::DashboardError;
use crate::http::{Code, EdgeError};
use crate::store::StoreError;

use super::super::state::State;

/// A store failure while reading figures or tokens.
pub(super) fn store_error(e: StoreError) -> EdgeError {
    if e.is_transient() {
        tracing::warn!(error = %e, "dashboard: store unavailable");
        EdgeError::new(Code::StoreUnavailable)
    } else {
        EdgeError::new(Code::StoreCorrupt)
    }
}

fn token_error(e: TokenError) -> EdgeError {
    match e {
        TokenError::Store(s) => store_error(s),
        TokenError::Audit(a) => DashboardError::from(a).into(),
        bad @ (TokenError::TooMany | TokenError::BadLabel) => {
            EdgeError::new(Code::BadRequest).detail(bad.to_string())
        }
    }
}

/// The overview the request asks for, at `now` (unix s).
async fn overview_of(
    state: &State,
    req: &HttpRequest,
    now: u64,
) -> Result<(Overview, OverviewQuery), EdgeError> {
    let params: QueryParams = query(req)?;
    let q = OverviewQuery::parse(&params, date_of(now))
        .map_err(|e| EdgeError::new(Code::BadRequest).detail(e.0))?;
    let data = overview::read(&state.stats, &q)
        .await
        .map_err(store_error)?;
    Ok((
        overview::build(&q, &state.areas().consent.bundle().optional, &data),
        q,
    ))
}

/// `GET /`: the overview, or for a role without the figures the first section it may open.
pub async fn home(state: State, op: Operator, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    if !op.session.may(Area::Figures.permission()) {
        let first = Area::NAV
            .into_iter()
            .find(|(area, _, _)| op.session.may(area.permission()))
            .map_or(paths::SIGN_IN, |(_, href, _)| href);
        return Ok(see_other(first));
    }
    let (o, q) = overview_of(&state, &req, op.now).await?;
    let views = &state.dashboard.views;
    let lang = op.lang.as_str();
    let w = |key| views.word(lang, key);
    let words = ChartWords {
        views: w("metric_views"),
        visitors: w("metric_visitors"),
        previous_views: w("previous_views"),
        day: w("day"),
        count: w("number"),
        visits_title: w("visits_chart_title"),
        visits_desc: w("visits_chart_desc"),
        decisions_title: w("decisions_chart_title"),
        decisions_desc: w("decisions_chart_desc"),
        actions: [
            w("action_accept_all"),
            w("action_reject_all"),
            w("action_custom"),
            w("action_withdraw"),
        ],
        points: w("points"),
    };
    let mut chrome = op.chrome(&state, Area::Figures);
    // Requests overdue or due soon stand out on the overview (for whoever handles them).
    if op.session.may(Permission::DataSubjectRequests) && op.requests_due.unwrap_or(1) > 0 {
        let today = crate::clock::utc_date(op.now);
        let attention = state.dashboard.register.attention(today).await?;
        chrome.attention = Some(AttentionView::new(&attention));
    }
    page(&state, &chrome, &OverviewPage::new(&o, &q, &words))
}

fn export(body: Result<Vec<u8>, overview::ExportError>) -> Result<Vec<u8>, EdgeError> {
    body.map_err(|e| EdgeError::new(Code::Internal).detail(e.to_string()))
}

/// `GET /overview/export.zip`: what the page shows, one CSV file per table.
pub async fn export_zip(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let (o, _) = overview_of(&state, &req, op.now).await?;
    let zip = export(overview::csv_zip(&o))?;
    Ok(download(
        zip,
        "application/zip",
        &overview::file_name(&o, "zip"),
    ))
}

/// `GET /overview/export.json`: what the page shows, as JSON.
pub async fn export_json(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let (o, _) = overview_of(&state, &req, op.now).await?;
    let json = export(overview::json(&o))?;
    Ok(download(
        json,
        "application/json",
        &overview::file_name(&o, "json"),
    ))
}

/// `GET /how-we-count`.
pub async fn how_we_count(state: State, op: Operator) -> Result<HttpResponse, EdgeError> {
    let cfg = &state.config;
    let view = HonestyPage {
        counting: cfg.stats.count_page_views,
        max_paths: cfg.stats.max_paths_per_day,
        max_combinations: cfg.stats.max_combinations_per_day,
        geo: state.privacy.has_geo(),
        back_href: paths::FIGURES,
    };
    page(&state, &op.chrome(&state, Area::Figures), &view)
}

#[derive(Deserialize)]
pub struct TokensQuery {
    #[serde(default)]
    done: String,
}

async fn tokens_view(
    state: &State,
    op: &Operator,
    new_token: Option<String>,
) -> Result<TokensPage, EdgeError> {
    let list = state
        .dashboard
        .tokens
        .list(op.name(), op.now)
        .await
        .map_err(token_error)?;
    let rows: Vec<(String, String, u64, u64)> = list
        .into_iter()
        .map(|t| (t.id, t.label, t.created, t.expires))
        .collect();
    Ok(TokensPage::new(&rows, new_token))
}

/// `GET /api-tokens`: the operator's tokens.
pub async fn tokens(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let q: TokensQuery = query(&req)?;
    let mut view = tokens_view(&state, &op, None).await?;
    if q.done == "revoked" {
        view.notice = Some("token_revoked");
    }
    page(&state, &op.chrome(&state, Area::Figures), &view)
}

#[derive(Deserialize)]
pub struct TokenForm {
    label: String,
}

/// `POST /api-tokens`: make a token and show it, this once.
pub async fn create_token(
    state: State,
    posted: Posted<TokenForm>,
) -> Result<HttpResponse, EdgeError> {
    let op = &posted.op;
    let (token, _) = state
        .dashboard
        .tokens
        .create(
            &state.dashboard.audit,
            op.name(),
            &posted.form.label,
            op.now,
        )
        .await
        .map_err(token_error)?;
    let view = tokens_view(&state, op, Some(token)).await?;
    page(&state, &op.chrome(&state, Area::Figures), &view)
}

/// `POST /api-tokens/{id}/revoke`.
pub async fn revoke_token(
    state: State,
    posted: Posted<NoFields>,
    id: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let op = &posted.op;
    let revoked = state
        .dashboard
        .tokens
        .revoke(&state.dashboard.audit, op.name(), &id, op.now)
        .await
        .map_err(token_error)?;
    if !revoked {
        return Err(EdgeError::new(Code::NotFound));
    }
    Ok(see_other(&format!("{}?done=revoked", paths::API_TOKENS)))
}

/// The token of `Authorization: Bearer <token>`, if any.
fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// `GET /api/v1/overview`: the overview as JSON, for a live token of an operator who may
/// still see the figures; `invalid_token` (401) otherwise. Reads only.
pub async fn api_overview(state: State, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let now = state.clock.unix_secs();
    let invalid = || EdgeError::new(Code::InvalidToken);
    let token = bearer(&req).ok_or_else(invalid)?;
    let operator = state
        .dashboard
        .tokens
        .verify(token, now)
        .await
        .map_err(store_error)?
        .ok_or_else(invalid)?;
    // The operator's entry as configured now: removed or moved to a role without the
    // figures, the token no longer opens them.
    let may = state
        .config
        .dashboard
        .users
        .iter()
        .any(|u| u.name == operator && Permission::Figures.granted_to(u.role));
    if !may {
        return Err(invalid());
    }
    let (o, _) = overview_of(&state, &req, now).await?;
    let json = export(overview::json(&o))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(json))
}
