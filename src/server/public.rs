//! The routes of the public listener, one setup function per area (so a test can mount one
//! area alone) and [`configure`] for all of them in the order actix must try them: health,
//! consent, forms, the gate's assets, any other `/_gate/` path (never proxied), then the proxy
//! for everything else. Handlers parse, call a service, and map the result; every error is an
//! [`EdgeError`], rendered by the `http::error_pages` middleware.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{guard, web, HttpRequest, HttpResponse};

use super::state::{AppState, State};
use crate::config::FormConfig;
use crate::consent::{DecisionRequest, RecordContext, Recorded, WithdrawRequest, COOKIE_NAME};
use crate::forms::{page::stored_json, Redirect, Stored, Submission, TOKEN_PATH};
use crate::http::extract::{host, json_body, read_bounded, request_cookie};
use crate::http::negotiate::reply_format;
use crate::http::{Code, EdgeError, Format, SameOrigin};
use crate::privacy::Visitor;
use crate::proxy::{ForwardPolicy, RequestBody};

/// Every public route. Mount after registering [`Worker::data`](super::state::Worker::data).
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    health(cfg);
    consent(cfg);
    forms(cfg, state);
    assets(cfg);
    cfg.service(web::scope("/_gate").default_service(web::to(unknown_gate_path)))
        .default_service(web::to(proxy_page));
}

/// `/_gate/healthz` (process up) and `/_gate/readyz` (upstream reachable, store up); on both
/// listeners.
pub fn health(cfg: &mut web::ServiceConfig) {
    cfg.route("/_gate/healthz", web::get().to(healthz))
        .route("/_gate/readyz", web::get().to(readyz));
}

/// `/_gate/consent`: POST a decision, GET the visitor's own record, DELETE to withdraw;
/// `GET /_gate/consent/state`: the categories the gate verified for the request's cookie.
pub fn consent(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/_gate/consent")
            .route(web::post().to(change_consent))
            .route(web::get().to(get_consent))
            .route(web::delete().to(change_consent)),
    )
    .route("/_gate/consent/state", web::get().to(consent_state));
}

/// Which configured form a route serves (its index in `[[forms]]`).
#[derive(Debug, Clone, Copy)]
struct FormIndex(usize);

/// A POST route at each configured form path (other methods fall through to the proxy) and,
/// when forms exist, `GET /_gate/forms/token`. Mount before the proxy fallback.
pub fn forms(cfg: &mut web::ServiceConfig, state: &AppState) {
    for (index, form) in state.forms.forms().iter().enumerate() {
        cfg.service(
            web::resource(form.path.as_str())
                .guard(guard::Post())
                .app_data(FormIndex(index))
                .to(submit_form),
        );
    }
    if !state.forms.forms().is_empty() {
        cfg.route(TOKEN_PATH, web::get().to(form_token));
    }
}

/// `GET /_gate/<name>`: the content-hashed assets (banner script and stylesheet, forms.js).
pub fn assets(cfg: &mut web::ServiceConfig) {
    cfg.route("/_gate/{name}", web::get().to(asset));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "status": "up", "version": env!("CARGO_PKG_VERSION") }))
}

#[derive(serde::Serialize)]
struct Readiness {
    ready: bool,
    upstream: &'static str,
    store: &'static str,
    store_backend: &'static str,
}

async fn readyz(state: State) -> HttpResponse {
    let (upstream_ok, store) = tokio::join!(state.proxy_settings.reachable(), state.store.ping());
    let store_ok = store.is_ok();
    let body = Readiness {
        ready: upstream_ok && store_ok,
        upstream: if upstream_ok { "ok" } else { "unreachable" },
        store: if store_ok { "ok" } else { "unavailable" },
        store_backend: state.store.backend_name(),
    };
    if body.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// POST records a decision; DELETE withdraws (its optional body says what the banner showed).
async fn change_consent(
    state: State,
    visitor: Visitor,
    _: SameOrigin,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let body = read_bounded(&req, payload, state.consent.max_body()).await?;
    let ctx = RecordContext::of(&req, &visitor);
    let recorded = if req.method() == Method::DELETE {
        let shown: Option<WithdrawRequest> = json_body(&req, &body)?;
        state.consent.withdraw(shown, ctx).await?
    } else {
        let decision: DecisionRequest = json_body(&req, &body)?
            .ok_or_else(|| EdgeError::new(Code::MalformedBody).detail("empty body"))?;
        state.consent.record(decision, ctx).await?
    };
    Ok(decision_answer(&recorded))
}

/// A recorded decision: its cookie, the deletions it calls for, and the receipt's summary.
fn decision_answer(recorded: &Recorded) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    for cookie in std::iter::once(&recorded.cookie).chain(&recorded.deletions) {
        res.append_header((header::SET_COOKIE, cookie.to_string()));
    }
    res.json(recorded.answer())
}

async fn get_consent(state: State, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let cookie = request_cookie(&req, COOKIE_NAME).ok_or(Code::NoConsent)?;
    let record = state
        .consent
        .own_record(cookie)
        .await?
        .ok_or(Code::NoConsent)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(record))
}

/// The verified categories for the request's `cg_consent` (MAC, shape, lifetime, revision and
/// categories checked; no store read), never cached; an invalid cookie is deleted as on pages.
async fn consent_state(state: State, req: HttpRequest) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    for deletion in state.consent.wire_policy(&req).deletion_headers(host(&req)) {
        res.append_header((header::SET_COOKIE, deletion));
    }
    res.json(state.consent.verified_state(&req))
}

async fn submit_form(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let form = req
        .app_data::<FormIndex>()
        .and_then(|i| state.forms.form(i.0))
        .ok_or(Code::NotFound)?;
    let format = reply_format(&req, Format::Html);
    let body = read_bounded(&req, payload, form.max_body_bytes).await;
    let submission = Submission::new(&req, body, &visitor);
    let stored = match state.forms.capture(form, &submission).await {
        Ok(stored) => stored,
        Err(refusal) => return Err(state.forms.refusal(form, refusal, format)),
    };
    let redirect = state
        .forms
        .deliver(form, &stored, &submission, &req, &state.upstream, format)
        .await;
    Ok(thank_you(form, &stored, redirect, format))
}

/// The answer to a stored entry: JSON for a fetch; else the upstream's redirect
/// (store_and_forward) or 303 to the form's thank-you page. Never cached: it is about what the
/// visitor sent.
fn thank_you(
    form: &FormConfig,
    stored: &Stored,
    redirect: Option<Redirect>,
    format: Format,
) -> HttpResponse {
    let (status, location) = match (format, redirect) {
        (Format::Json, _) => {
            return HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .content_type("application/json")
                .body(stored_json(form, &stored.id))
        }
        (Format::Html, Some(r)) => (r.status, Some(r.location)),
        // Config validation refuses line breaks in `redirect`, so the header is valid.
        (Format::Html, None) => (
            StatusCode::SEE_OTHER,
            header::HeaderValue::from_str(&form.redirect).ok(),
        ),
    };
    let mut res = HttpResponse::build(status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(location) = location {
        res.insert_header((header::LOCATION, location));
    }
    res.finish()
}

async fn form_token(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "token": state.forms.issue_token() }))
}

async fn asset(
    state: State,
    name: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let asset = state.asset(&name).ok_or(Code::NotFound)?;
    Ok(asset.respond(&req))
}

/// `/_gate/` belongs to the gate: never forwarded, so a site path cannot shadow it.
async fn unknown_gate_path(req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    Err(EdgeError::new(Code::NotFound)
        .detail(format!("{} is not a consentgate endpoint", req.path())))
}

async fn proxy_page(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let wire = state.consent.wire_policy(&req);
    // The page filter, counting the view of an HTML page (issue 14, statistics).
    let counted = super::page_views::Counted::new(&state, &visitor, &wire);
    let policy = ForwardPolicy {
        keep_cookie: &|name| wire.keep_cookie(name),
        set_cookies: wire.deletion_headers(host(&req)),
        html: Some(&counted),
    };
    Ok(state
        .upstream
        .forward(&req, RequestBody::Stream(payload), &visitor, policy)
        .await?)
}
