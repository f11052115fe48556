//! The routes of the public listener, one setup function per area (so a test can mount one
//! area alone) and [`configure`] for all of them in the order actix must try them: liveness,
//! consent, forms, the gate's assets, any other `/_gate/` path (never proxied), form POSTs
//! that may submit a plugin form, then the proxy for everything else. Handlers parse, call a service, and map the result; every error is an
//! [`EdgeError`], rendered by the `http::error_pages` middleware.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{guard, web, HttpMessage, HttpRequest, HttpResponse};

use super::health;
use super::state::{AppState, State};
use crate::config::{FormConfig, FormPlugin};
use crate::consent::{
    csp, DecisionRequest, RecordContext, Recorded, WithdrawRequest, COOKIE_NAME, HISTORY_PAGE_MAX,
};
use crate::forms::parse;
use crate::forms::plugin::{is_admin_ajax, may_name_a_plugin_form, Via};
use crate::forms::plugin_reply::{self, PluginAnswer, PluginBody};
use crate::forms::{page::stored_json, Redirect, Stored, Submission, Upstream, TOKEN_PATH};
use crate::http::extract::{
    content_type, json_body, read_bounded, read_prefix, request_cookie, Peeked,
};
use crate::http::negotiate::reply_format;
use crate::http::{Code, EdgeError, Format, SameOrigin, SiteHost};
use crate::privacy::Visitor;
use crate::proxy::{ForwardPolicy, RequestBody};

/// Every public route. Mount after registering [`Worker::data`](super::state::Worker::data).
pub fn configure(cfg: &mut web::ServiceConfig, state: &AppState) {
    health::public(cfg);
    consent(cfg);
    forms(cfg);
    assets(cfg);
    crate::relay::configure(cfg, state.relay.as_ref());
    crate::relay::thumbs::configure(cfg, state.thumbs.as_ref());
    cfg.service(web::scope("/_gate").default_service(web::to(unknown_gate_path)));
    form_posts(cfg);
    cfg.default_service(web::to(proxy_page));
}

/// Middleware of the public listener: a request whose Host is not one of the site's names
/// (`listen.hosts`) is answered `misdirected_request` (421) and reaches no area, the upstream
/// least of all; the others carry their [`SiteHost`]. `/_gate/healthz` is exempt, so a load
/// balancer may probe by address.
pub async fn check_host<B: MessageBody>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let resolved = match req.app_data::<State>() {
        Some(state) => state.sites.resolve(req.request()),
        None => Ok(SiteHost::default()),
    };
    match resolved {
        Ok(site) => {
            req.extensions_mut().insert(site);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(_) if req.path() == health::HEALTHZ => Ok(next.call(req).await?.map_into_left_body()),
        Err(misdirected) => Ok(req.error_response(misdirected).map_into_right_body()),
    }
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
    .route("/_gate/consent/state", web::get().to(consent_state))
    .route(csp::REPORT_PATH, web::post().to(csp_report));
}

/// `POST /_gate/csp-report`: violation reports of the gate's policy, in either format,
/// bounded in size (`csp.report_max_bytes`) and rate per anonymised address
/// (`csp.reports_per_minute`); counted per blocked origin and page path, the blocked origins
/// also noted for discovery. Nothing about the visitor is kept.
async fn csp_report(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let limits = &state.config.csp;
    csp::admit_report(&state.store, &visitor, limits.reports_per_minute).await?;
    let body = read_bounded(&req, payload, limits.report_max_bytes, state.body_pace()).await?;
    let violations = csp::violations(&body)
        .map_err(|e| EdgeError::new(Code::MalformedBody).detail(e.to_string()))?;
    let areas = state.areas();
    for v in violations {
        state.stats.csp_violation(&v.blocked, &v.path, &v.directive);
        if v.is_origin {
            areas.discovery.reported_origin(&v.blocked, &v.path);
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// POSTs to a configured form path — in any spelling a CMS reads as that path (`//contact`,
/// `/contact/`, `/Contact`, …) — are captured; other methods fall through to the proxy. And
/// `GET /_gate/forms/token?form=<id>`. The forms are looked up per request, so a form added by
/// a reload is captured from the next request on. Mount before the proxy fallback.
pub fn forms(cfg: &mut web::ServiceConfig) {
    // A scope matching every path by its guards alone: a resource's `/{path:.*}` pattern is a
    // regex actix runs on every request's path before the guards, page GETs included.
    cfg.service(
        web::scope("")
            .guard(guard::Post())
            .guard(guard::fn_guard(|ctx| {
                ctx.app_data::<State>().is_some_and(|state| {
                    let forms = &state.areas().forms;
                    let uri = &ctx.head().uri;
                    !forms.forms().is_empty()
                        && forms
                            .form_for_request(uri.path(), uri.query().unwrap_or_default())
                            .is_some()
                })
            }))
            .default_service(web::to(submit_form)),
    )
    .route(TOKEN_PATH, web::get().to(form_token));
}

/// POSTs of form data that would go to the site, when a plugin form is configured: read (up
/// to the plugin forms' body limit) to see whether they submit one — a plugin's admin-ajax.php
/// call for its submit action, or a plugin form's no-JavaScript POST to whatever page it is
/// on — and captured if so; anything else goes to the site with what was read, the rest
/// streamed. admin-ajax.php is read even under a passthrough prefix (its form actions are
/// captured there); other passthrough paths are not. Mount after every gate route, just
/// before the proxy.
pub fn form_posts(cfg: &mut web::ServiceConfig) {
    // Guards only, no path pattern (see `forms`).
    cfg.service(
        web::scope("")
            .guard(guard::Post())
            .guard(guard::fn_guard(|ctx| {
                let head = ctx.head();
                let form_data = head
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.trim_start().to_ascii_lowercase())
                    .is_some_and(|v| {
                        v.starts_with("application/x-www-form-urlencoded")
                            || v.starts_with("multipart/form-data")
                    });
                let path = head.uri.path();
                form_data
                    && ctx.app_data::<State>().is_some_and(|state| {
                        state.areas().forms.reads_form_posts()
                            && (is_admin_ajax(path) || state.passthrough.matching(path).is_none())
                    })
            }))
            .default_service(web::to(form_post)),
    );
}

/// `GET /_gate/<name>`: the content-hashed assets (banner script and stylesheet, forms.js).
pub fn assets(cfg: &mut web::ServiceConfig) {
    // The `{name}` pattern is a regex; the scope's guards keep actix from running it on the
    // path of every page request. Other `/_gate/` paths go on to the routes after this one.
    cfg.service(
        web::scope("/_gate")
            .guard(guard::Get())
            .guard(guard::fn_guard(|ctx| {
                ctx.head()
                    .uri
                    .path()
                    .strip_prefix("/_gate/")
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'))
            }))
            .route("/{name}", web::get().to(asset))
            .default_service(web::to(unknown_gate_path)),
    );
}

/// POST records a decision; DELETE withdraws (its optional body says what the banner showed).
async fn change_consent(
    state: State,
    visitor: Visitor,
    site: SiteHost,
    _: SameOrigin,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let consent = &state.areas().consent;
    consent.admit_decision(&visitor).await?;
    let body = read_bounded(&req, payload, consent.max_body(), state.body_pace()).await?;
    let ctx = RecordContext::of(&req, &visitor, site);
    let recorded = if req.method() == Method::DELETE {
        let shown: Option<WithdrawRequest> = json_body(&req, &body)?;
        consent.withdraw(shown, ctx).await?
    } else {
        let decision: DecisionRequest = json_body(&req, &body)?
            .ok_or_else(|| EdgeError::new(Code::MalformedBody).detail("empty body"))?;
        consent.record(decision, ctx).await?
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

/// Which page of the history `GET /_gate/consent` shows (`?offset=&limit=`).
#[derive(serde::Deserialize)]
struct HistoryQuery {
    #[serde(default)]
    offset: usize,
    #[serde(default = "history_page")]
    limit: usize,
}

fn history_page() -> usize {
    HISTORY_PAGE_MAX
}

async fn get_consent(state: State, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let page = web::Query::<HistoryQuery>::from_query(req.query_string())
        .map_err(|e| EdgeError::new(Code::BadRequest).detail(e.to_string()))?;
    let cookie = request_cookie(&req, COOKIE_NAME).ok_or(Code::NoConsent)?;
    let record = state
        .areas()
        .consent
        .own_record(cookie, page.offset, page.limit)
        .await?
        .ok_or(Code::NoConsent)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(record))
}

/// The verified categories for the request's `cg_consent` (MAC, shape, lifetime, revision and
/// categories checked; no store read), never cached; an invalid cookie is deleted as on pages.
async fn consent_state(state: State, site: SiteHost, req: HttpRequest) -> HttpResponse {
    let consent = &state.areas().consent;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    for deletion in consent.wire_policy(&req).deletion_headers(&site) {
        res.append_header((header::SET_COOKIE, deletion));
    }
    res.json(consent.verified_state(&req))
}

async fn submit_form(
    state: State,
    visitor: Visitor,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let (form, via) = areas
        .forms
        .form_for_request(req.path(), req.query_string())
        .ok_or(Code::NotFound)?;
    let body = read_bounded(&req, payload, form.max_body_bytes, state.body_pace()).await;
    // A plugin form posted to its configured page may still want the plugin's answer
    // (Gravity Forms' iframe post-back says so in its fields).
    let via = match (&body, form.plugin) {
        (Ok(body), plugin) if via == Via::Page && plugin != FormPlugin::Html => {
            let fields = form_fields(&req, body).await;
            match areas
                .forms
                .form_for_body(req.path(), req.query_string(), &fields)
            {
                Some((claimed, claimed_via)) if claimed.id == form.id => claimed_via,
                _ => via,
            }
        }
        _ => via,
    };
    answer_submission(&state, &visitor, &req, form, via, body).await
}

/// The fields of a form body, or none when it cannot be read as one (the capture then says
/// why).
async fn form_fields(req: &HttpRequest, body: &bytes::Bytes) -> Vec<(String, String)> {
    match parse::body_kind(content_type(req)) {
        Ok(kind) => parse::parse(&kind, body.clone()).await.unwrap_or_default(),
        Err(_) => Vec::new(),
    }
}

/// A form POST anywhere (see [`form_posts`]): captured when it submits a configured plugin
/// form, else passed to the site.
async fn form_post(
    state: State,
    visitor: Visitor,
    site: SiteHost,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let forms = &areas.forms;
    let limit = forms.form_post_limit();
    let body = match read_prefix(payload, limit, state.body_pace()).await? {
        Peeked::Whole(body) => body,
        // Too large for any plugin form: refused if it names one, else it goes on unread.
        Peeked::Partial(prefix, _) if may_name_a_plugin_form(&prefix) => {
            return Err(EdgeError::too_large(limit))
        }
        Peeked::Partial(prefix, rest) => {
            return forward_page(
                &state,
                &visitor,
                site,
                &req,
                RequestBody::Prefixed(prefix, rest),
            )
            .await
        }
    };
    let fields = form_fields(&req, &body).await;
    match forms.form_for_body(req.path(), req.query_string(), &fields) {
        Some((form, via)) => answer_submission(&state, &visitor, &req, form, via, Ok(body)).await,
        None => forward_page(&state, &visitor, site, &req, RequestBody::Buffered(body)).await,
    }
}

/// Capture one submission of `form` that came `via`, and answer it as its sender expects.
async fn answer_submission(
    state: &State,
    visitor: &Visitor,
    req: &HttpRequest,
    form: &FormConfig,
    via: Via,
    body: Result<bytes::Bytes, EdgeError>,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let forms = &areas.forms;
    let submission = Submission::new(req, body, visitor);
    let (result, echo) = forms.capture_echoed(form, &submission).await;
    // A plugin's script reads only its own format; a store_and_forward entry still goes
    // upstream, to the endpoint the visitor's browser sent it to.
    let format = match via {
        Via::Page => reply_format(req, Format::Html),
        Via::Plugin(_) => Format::Json,
        Via::FramePostBack => Format::Html,
    };
    let redirect = match &result {
        Ok(stored) => {
            let wire = areas.consent.wire_policy(req);
            let keep_cookie = |name: &str| wire.keep_cookie(name);
            let upstream = Upstream {
                proxy: &state.upstream,
                keep_cookie: &keep_cookie,
            };
            forms
                .deliver(form, stored, &submission, req, upstream, format)
                .await
        }
        Err(_) => None,
    };
    if via != Via::Page {
        return Ok(plugin_response(plugin_reply::answer(
            form, via, &result, &echo,
        )));
    }
    let stored = result.map_err(|refusal| forms.refusal(form, refusal, format))?;
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

/// A plugin's answer in its format, never cached.
fn plugin_response(answer: PluginAnswer) -> HttpResponse {
    let mut res = HttpResponse::build(answer.status);
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(secs) = answer.retry_after {
        res.insert_header((header::RETRY_AFTER, secs));
    }
    match answer.body {
        PluginBody::Json(json) => res.json(json),
        PluginBody::Html(html) => res.content_type("text/html; charset=utf-8").body(html),
    }
}

/// `?form=<id>` of `GET /_gate/forms/token`.
#[derive(serde::Deserialize)]
struct TokenQuery {
    form: String,
}

async fn form_token(state: State, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let query = web::Query::<TokenQuery>::from_query(req.query_string())
        .map_err(|e| EdgeError::new(Code::BadRequest).detail(e.to_string()))?;
    let forms = &state.areas().forms;
    let form = forms
        .forms()
        .iter()
        .find(|f| f.id == query.form)
        .ok_or(Code::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "token": forms.issue_token(form) })))
}

async fn asset(
    state: State,
    name: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let asset = areas.asset(&name).ok_or(Code::NotFound)?;
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
    site: SiteHost,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    forward_page(&state, &visitor, site, &req, RequestBody::Stream(payload)).await
}

/// Pass a request to the site, rewriting the page that comes back.
async fn forward_page(
    state: &State,
    visitor: &Visitor,
    site: SiteHost,
    req: &HttpRequest,
    body: RequestBody,
) -> Result<HttpResponse, EdgeError> {
    let areas = state.areas();
    let wire = areas.consent.wire_policy(req);
    // A prefix the operator passes by (wp-admin) is not rewritten nor counted as a page view;
    // its cookies still follow the visitor's consent.
    let pass_by = state.passthrough.matching(req.path());
    // The page filter, counting the view of an HTML page (issue 14, statistics).
    let counted =
        super::page_views::Counted::new(state, &areas.page, visitor, &wire, areas.consent.csp());
    let policy = ForwardPolicy {
        keep_cookie: &|name| wire.keep_cookie(name),
        set_cookies: wire.deletion_headers(&site),
        html: match pass_by {
            Some(_) => None,
            None => Some(&counted),
        },
        max_request_body: pass_by.and_then(|p| p.max_request_body),
    };
    areas.discovery.request_cookies(req);
    let res = state.upstream.forward(req, body, visitor, policy).await?;
    areas.discovery.set_cookies(res.headers(), req.path());
    Ok(res)
}
