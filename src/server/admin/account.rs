//! Signing in and out, and the stylesheet.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{
    anonymous_language, form_fields, page, query, render, see_other, sign_in_location, with_cookie,
    NoFields, Posted, MAX_FORM_BYTES,
};
use crate::dashboard::auth::session::{cookie_name, removal_cookie};
use crate::dashboard::auth::{Attempt, SignIn};
use crate::dashboard::views::{safe_return_path, Chrome, SignInNotice, SignInPage};
use crate::http::extract::{read_bounded, request_cookie};
use crate::http::{Code, EdgeError, SameOrigin};

use super::super::state::State;

#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    notice: String,
}

/// `GET /sign-in`: the form, with a notice when a session just ended.
pub async fn sign_in_page(state: State, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let q: SignInQuery = query(&req)?;
    let mut form = SignInPage::new(&q.next);
    form.notice = SignInNotice::from_name(&q.notice);
    let chrome = Chrome::anonymous(anonymous_language(&req, &state), &state.dashboard.css.url());
    page(&state, &chrome, &form)
}

#[derive(Deserialize)]
struct SignInForm {
    name: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    next: String,
}

/// `POST /sign-in`: check the attempt (audited); on success a fresh session cookie and back to
/// where the operator was going.
pub async fn sign_in(
    state: State,
    _: SameOrigin,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let body = read_bounded(&req, payload, MAX_FORM_BYTES, state.body_pace()).await?;
    let form: SignInForm = form_fields(&req, &body)?;
    let visitor = state.privacy.visitor(&req);
    let secure = state.dashboard.auth.secure_cookie(visitor.https);
    let address = visitor.anonymized_ip.to_string();
    let attempt = Attempt {
        name: &form.name,
        password: &form.password,
        code: form.code.as_deref(),
        address: &address,
        previous: request_cookie(&req, cookie_name(secure)),
    };
    let outcome = state
        .dashboard
        .sign_in(&attempt, state.clock.unix_secs())
        .await?;
    let mut again = SignInPage::new(&form.next);
    again.name = form.name.chars().take(64).collect();
    let chrome = Chrome::anonymous(anonymous_language(&req, &state), &state.dashboard.css.url());
    match outcome {
        SignIn::Accepted(new) => {
            let cookie = state
                .dashboard
                .auth
                .session_cookie(new.cookie_value, secure);
            with_cookie(see_other(&safe_return_path(&form.next)), &cookie)
        }
        SignIn::Refused(_) => {
            again.refused = true;
            render(&state, &chrome, &again, StatusCode::UNAUTHORIZED)
        }
        SignIn::Throttled { retry_after } => {
            again.retry_after = Some(retry_after.as_secs().max(1));
            let mut res = render(&state, &chrome, &again, StatusCode::TOO_MANY_REQUESTS)?;
            res.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after.as_secs().max(1)),
            );
            Ok(res)
        }
    }
}

/// `POST /sign-out`: end the session (audited) and forget the cookie.
pub async fn sign_out(
    state: State,
    posted: Posted<NoFields>,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let secure = state
        .dashboard
        .auth
        .secure_cookie(state.privacy.visitor(&req).https);
    let value = request_cookie(&req, cookie_name(secure)).unwrap_or_default();
    state
        .dashboard
        .sign_out(&posted.op.session, value, posted.op.now)
        .await?;
    with_cookie(
        see_other(&sign_in_location("", Some(SignInNotice::SignedOut))),
        &removal_cookie(secure),
    )
}

/// `GET /_gate/<name>` on the admin listener: the dashboard's stylesheet.
pub async fn asset(
    state: State,
    name: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let css = &state.dashboard.css;
    if *name != css.name {
        return Err(EdgeError::new(Code::NotFound));
    }
    Ok(css.respond(&req))
}
