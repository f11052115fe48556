//! The dashboard's HTTP edge, shared by its routes: who is asking ([`Operator`], from the session
//! cookie, with the permission the route declares as [`Need`]), what a state-changing request
//! sent ([`Posted`]: same origin, session, bounded urlencoded body, CSRF token), the answer to a
//! request without a session ([`SignInFirst`]: 303 to the sign-in page, back afterwards),
//! rendering pages, the security headers, and the dashboard's own error pages.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::Payload;
use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::http::StatusCode;
use actix_web::middleware::{DefaultHeaders, ErrorHandlers};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use cookie::Cookie;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::config::dashboard::{Language, Role};
use crate::dashboard::auth::session::{cookie_name, removal_cookie};
use crate::dashboard::auth::{Permission, Session, SessionState};
use crate::dashboard::desk::Desk;
use crate::dashboard::dsr::RequestDesk;
use crate::dashboard::views::{
    paths, safe_return_path, with_query, Area, Chrome, ErrorPage, Page, SignInNotice,
};
use crate::dashboard::DashboardError;
use crate::http::error::render_edge_errors;
use crate::http::extract::{content_type, read_bounded, request_cookie};
use crate::http::negotiate::{language, reply_format};
use crate::http::{Code, EdgeError, Format, SameOrigin};

use super::super::state::{Areas, State};

/// Largest body a dashboard form may send, in bytes (an e-mail address and a token).
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Content-Security-Policy of every dashboard answer: the stylesheet from the dashboard
/// itself, nothing else (no script at all, no inline style), forms only to the dashboard, no
/// framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What a route requires of whoever asks; registered as app data on each resource. A route
/// without one refuses everybody (a forgotten declaration fails closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Any signed-in operator (start page, sign-out).
    SignedIn,
    /// An operator whose role has this permission.
    Permission(Permission),
}

/// What the dashboard's error pages and layout know about the request, once the extractor
/// found out (kept in the request's extensions).
#[derive(Debug, Clone)]
struct Frame {
    lang: Language,
    operator: Option<(String, Role, String)>,
}

/// A signed-in operator with the permission the route needs.
pub struct Operator {
    pub session: Session,
    pub lang: Language,
    /// This session's CSRF token (for the forms on the page).
    pub csrf: String,
    /// The time of the request, unix seconds (the gate's clock).
    pub now: u64,
    /// Data-subject requests overdue or due soon, for the navigation (operators who may see
    /// them; `None` when the store could not say).
    pub requests_due: Option<u64>,
}

impl Operator {
    pub fn name(&self) -> &str {
        &self.session.operator
    }

    /// This operator's audited actions, now, on the consent and forms in force (`areas`, from
    /// [`AppState::areas`](crate::server::AppState::areas)).
    pub fn desk<'a>(&'a self, state: &'a State, areas: &'a Areas) -> Desk<'a> {
        state
            .dashboard
            .desk(&areas.forms, &areas.consent, self.name(), self.now)
    }

    /// This operator's audited actions on the register of data-subject requests, now.
    /// On the consent and forms in force (`areas`).
    pub fn requests<'a>(&'a self, state: &'a State, areas: &'a Areas) -> RequestDesk<'a> {
        state
            .dashboard
            .requests(&areas.forms, &areas.consent, self.name(), self.now)
    }

    /// The layout of a page in `area`.
    pub fn chrome(&self, state: &State, area: Area) -> Chrome {
        Chrome::signed_in(
            self.lang,
            &state.dashboard.css.url(),
            &self.session.operator,
            self.session.role,
            area,
            self.csrf.clone(),
        )
        .with_requests_due(self.requests_due)
    }
}

/// The dashboard's language for a request without a session: Accept-Language, then the
/// configured `dashboard.language`.
pub fn anonymous_language(req: &HttpRequest, state: &State) -> Language {
    language(req, None, state.dashboard.language.into()).into()
}

/// A request without a live session: 303 to the sign-in page with a `next` parameter that
/// brings the operator back, and the ended session's cookie removed.
#[derive(Debug)]
pub struct SignInFirst {
    location: String,
    clear: Option<Cookie<'static>>,
}

impl SignInFirst {
    fn new(
        req: &HttpRequest,
        notice: Option<SignInNotice>,
        clear: Option<Cookie<'static>>,
    ) -> Self {
        SignInFirst {
            location: sign_in_location(&return_path(req), notice),
            clear,
        }
    }
}

/// `/sign-in?next=…&notice=…`.
pub fn sign_in_location(next: &str, notice: Option<SignInNotice>) -> String {
    let next = safe_return_path(next);
    let next = if next == paths::FIGURES { "" } else { &next };
    with_query(
        paths::SIGN_IN,
        &[
            ("next", next),
            ("notice", notice.map_or("", SignInNotice::as_str)),
        ],
    )
}

/// Where to come back to after signing in: the page itself for a GET; for a form, the page the
/// form was on (its path without the action's last segment).
fn return_path(req: &HttpRequest) -> String {
    if req.method() == actix_web::http::Method::GET {
        return match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
    }
    let path = req.path();
    const ACTIONS: [&str; 14] = [
        "handled", "delete", "erase", "confirm", "export", "sign-out", "status", "extend",
        "search", "attach", "detach", "rectify", "restrict", "lift",
    ];
    match path.rsplit_once('/') {
        Some((page, last)) if ACTIONS.contains(&last) && !page.is_empty() => page.to_owned(),
        Some(("", _)) => paths::FIGURES.to_owned(),
        _ => path.to_owned(),
    }
}

impl std::fmt::Display for SignInFirst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sign-in required")
    }
}

impl ResponseError for SignInFirst {
    fn status_code(&self) -> StatusCode {
        StatusCode::SEE_OTHER
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::SeeOther();
        res.insert_header((header::LOCATION, self.location.as_str()))
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(c) = &self.clear {
            res.append_header((header::SET_COOKIE, c.to_string()));
        }
        res.finish()
    }
}

fn internal(detail: &str) -> actix_web::Error {
    EdgeError::new(Code::Internal)
        .detail(detail.to_owned())
        .into()
}

/// Load the session behind the request's cookie and check the route's [`Need`].
async fn signed_in(req: &HttpRequest) -> Result<Operator, actix_web::Error> {
    let need = *req
        .app_data::<Need>()
        .ok_or_else(|| internal("route declares no permission"))?;
    signed_in_with(req, need).await
}

async fn signed_in_with(req: &HttpRequest, need: Need) -> Result<Operator, actix_web::Error> {
    let state = req
        .app_data::<State>()
        .ok_or_else(|| internal("no application state registered"))?;
    let auth = &state.dashboard.auth;
    let now = state.clock.unix_secs();
    let secure = auth.secure_cookie(state.privacy.visitor(req).https);
    let Some(value) = request_cookie(req, cookie_name(secure)) else {
        return Err(SignInFirst::new(req, None, None).into());
    };
    let session = match auth
        .session(value, now)
        .await
        .map_err(|e| EdgeError::from(DashboardError::from(e)))?
    {
        SessionState::Active(s) => s,
        SessionState::Ended(end) => {
            let clear = Some(removal_cookie(secure));
            return Err(SignInFirst::new(req, Some(end.into()), clear).into());
        }
    };
    let lang = language(
        req,
        session.language.map(Into::into),
        state.dashboard.language.into(),
    )
    .into();
    let csrf = auth.csrf_token(&session);
    req.extensions_mut().insert(Frame {
        lang,
        operator: Some((session.operator.clone(), session.role, csrf.clone())),
    });
    if let Need::Permission(p) = need {
        if !session.may(p) {
            return Err(EdgeError::new(Code::Forbidden).into());
        }
    }
    // The count is a hint in the navigation: a page still shows when the store cannot say.
    let requests_due = if session.may(Permission::DataSubjectRequests) {
        let today = crate::clock::utc_date(now);
        state.dashboard.register.due_count(today).await.ok()
    } else {
        None
    };
    Ok(Operator {
        session,
        lang,
        csrf,
        now,
        requests_due,
    })
}

type LocalFuture<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

impl FromRequest for Operator {
    type Error = actix_web::Error;
    type Future = LocalFuture<Operator>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { signed_in(&req).await })
    }
}

/// No fields besides the CSRF token.
#[derive(Debug, Deserialize)]
pub struct NoFields {}

#[derive(Deserialize)]
struct CsrfOnly {
    #[serde(rename = "csrf")]
    token: Option<String>,
}

/// A state-changing request from a signed-in operator: from the dashboard itself
/// (`Sec-Fetch-Site`/`Origin`), with a live session and the route's permission, an urlencoded
/// body of at most [`MAX_FORM_BYTES`] carrying the session's CSRF token, and the fields `T`.
pub struct Posted<T> {
    pub op: Operator,
    pub form: T,
}

impl<T: DeserializeOwned + 'static> FromRequest for Posted<T> {
    type Error = actix_web::Error;
    type Future = LocalFuture<Posted<T>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            SameOrigin::extract(&req).await?;
            let op = signed_in(&req).await?;
            let state = req
                .app_data::<State>()
                .ok_or_else(|| internal("no application state registered"))?;
            let body = read_bounded(&req, payload?, MAX_FORM_BYTES, state.body_pace()).await?;
            let csrf: CsrfOnly = form_fields(&req, &body)?;
            let valid = csrf
                .token
                .is_some_and(|t| state.dashboard.auth.csrf_valid(&op.session, &t));
            if !valid {
                return Err(EdgeError::new(Code::CsrfFailed).into());
            }
            let form = form_fields(&req, &body)?;
            Ok(Posted { op, form })
        })
    }
}

/// An urlencoded form body as `T`: `unsupported_media_type` for another type, `malformed_body`
/// when a field is missing or not what `T` wants.
pub fn form_fields<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, EdgeError> {
    let urlencoded = content_type(req)
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded");
    if !urlencoded {
        return Err(EdgeError::new(Code::UnsupportedMediaType)
            .detail("expected application/x-www-form-urlencoded"));
    }
    serde_urlencoded::from_bytes(body)
        .map_err(|e| EdgeError::new(Code::MalformedBody).detail(e.to_string()))
}

/// The query string as `T`; `bad_request` when it does not fit.
pub fn query<T: DeserializeOwned>(req: &HttpRequest) -> Result<T, EdgeError> {
    serde_urlencoded::from_str(req.query_string())
        .map_err(|e| EdgeError::new(Code::BadRequest).detail(e.to_string()))
}

/// A rendered page (200, HTML).
pub fn page<P: Page>(state: &State, chrome: &Chrome, page: &P) -> Result<HttpResponse, EdgeError> {
    render(state, chrome, page, StatusCode::OK)
}

/// A rendered page with another status.
pub fn render<P: Page>(
    state: &State,
    chrome: &Chrome,
    page: &P,
    status: StatusCode,
) -> Result<HttpResponse, EdgeError> {
    let html = state
        .dashboard
        .views
        .render(chrome, page)
        .map_err(|e| EdgeError::from(DashboardError::from(e)))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(html))
}

/// 303 to a dashboard path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `res` setting `cookie` too.
pub fn with_cookie(mut res: HttpResponse, cookie: &Cookie<'_>) -> Result<HttpResponse, EdgeError> {
    let value = header::HeaderValue::from_str(&cookie.to_string())
        .map_err(|e| EdgeError::new(Code::Internal).detail(e.to_string()))?;
    res.headers_mut().append(header::SET_COOKIE, value);
    Ok(res)
}

/// A download: `body` as `content_type`, saved as `filename`, never cached (the security
/// headers add `no-store`).
pub fn download(
    body: impl MessageBody + 'static,
    content_type: &str,
    filename: &str,
) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(filename.to_owned())],
        })
        .body(body)
}

/// The dashboard's security headers on every answer that does not set its own: the CSP, no
/// referrer, no sniffing, no framing, and `no-store` (pages show personal data; the stylesheet
/// sets its own caching).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CSP))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add(("cross-origin-opener-policy", "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Why the error page says what it says, beyond its status.
fn reason(code: Code) -> Option<String> {
    matches!(
        code,
        Code::CsrfFailed | Code::CrossOrigin | Code::MethodNotAllowed | Code::BadRequest
    )
    .then(|| format!("reason_{code}"))
}

/// Middleware of the dashboard's scope: every [`EdgeError`] a browser gets is the dashboard's
/// own error page (in the operator's language, with the navigation when signed in); clients
/// that ask for JSON get the standard JSON body from the listener's `error_pages`.
pub fn error_pages<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    render_edge_errors(error_page)
}

fn error_page(req: &HttpRequest, err: &EdgeError) -> Option<HttpResponse> {
    if reply_format(req, Format::Html) == Format::Json {
        return None;
    }
    let state = req.app_data::<State>()?;
    let frame = req.extensions().get::<Frame>().cloned().unwrap_or(Frame {
        lang: anonymous_language(req, state),
        operator: None,
    });
    let css = state.dashboard.css.url();
    let mut chrome = match &frame.operator {
        Some((name, role, csrf)) => {
            Chrome::signed_in(frame.lang, &css, name, *role, Area::Figures, csrf.clone())
        }
        None => Chrome::anonymous(frame.lang, &css),
    };
    // An error page is none of the sections.
    for item in &mut chrome.nav {
        item.current = false;
    }
    let mut page = ErrorPage::new(err.code().status().as_u16(), paths::FIGURES);
    page.reason = reason(err.code());
    let html = state.dashboard.views.render(&chrome, &page).ok()?;
    Some(
        err.clone()
            .page(html)
            .respond(Format::Html, frame.lang.into()),
    )
}

/// Every dashboard path nothing else matched: 404, with the navigation when signed in.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    // Only for the error page's layout; without a session it is a 404 all the same.
    let _ = signed_in_with(&req, Need::SignedIn).await;
    Err(EdgeError::new(Code::NotFound))
}

/// A method the resource does not take.
pub async fn method_not_allowed() -> Result<HttpResponse, EdgeError> {
    Err(EdgeError::new(Code::MethodNotAllowed))
}
