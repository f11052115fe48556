//! HTTP edge of the forms module: the POST route at each form path, the fill-time token
//! endpoint and the forms script. Handlers read the body within the form's limit, call
//! [`FormsService::capture`] and map the result to a page, JSON or a redirect.

use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{guard, web, HttpRequest, HttpResponse};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::page::{refusal_json, stored_json, Outcome};
use super::service::{FormsService, Refusal, Stored};
use crate::config::{FormConfig, FormMode, FORM_TOKEN_FIELD};
use crate::privacy::Visitor;
use crate::proxy::Proxy;

const SCRIPT_TEMPLATE: &str = include_str!("../../assets/forms/forms.js");
/// Path of the fill-time token endpoint (GET → `{"token": "…"}`).
pub const TOKEN_PATH: &str = "/_gate/forms/token";
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);

/// The forms script with the site's form list built in, served under a content-hashed URL.
pub(crate) struct Script {
    pub url: String,
    pub body: String,
}

impl Script {
    pub(crate) fn build(forms: &[FormConfig]) -> Option<Script> {
        if forms.is_empty() {
            return None;
        }
        let specs: serde_json::Map<String, serde_json::Value> = forms
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    serde_json::json!({
                        "honeypot": f.honeypot_field,
                        "token": !f.min_fill_time.is_zero(),
                    }),
                )
            })
            .collect();
        let config = serde_json::json!({
            "tokenUrl": TOKEN_PATH,
            "tokenField": FORM_TOKEN_FIELD,
            "forms": specs,
        });
        let body = SCRIPT_TEMPLATE.replacen("/*CG_CONFIG*/null", &config.to_string(), 1);
        let digest = Sha256::digest(body.as_bytes());
        let hash: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        Some(Script {
            url: format!("/_gate/forms.{hash}.js"),
            body,
        })
    }
}

#[derive(Clone)]
struct FormRoute {
    service: FormsService,
    index: usize,
}

/// Mount the forms routes: a POST route at each form path (other methods fall through to the
/// proxy), `GET /_gate/forms/token` and `GET /_gate/forms.<hash>.js` (the URL
/// [`FormsService::head_html`] points at). Mount before the `/_gate` scope and the proxy
/// fallback: actix tries services in registration order. `store_and_forward` forms forward
/// through the app's `web::Data<Proxy>`.
pub fn configure(cfg: &mut web::ServiceConfig, forms: &FormsService) {
    for (index, form) in forms.forms().iter().enumerate() {
        cfg.service(
            web::resource(form.path.as_str())
                .guard(guard::Post())
                .app_data(FormRoute {
                    service: forms.clone(),
                    index,
                })
                .to(submit),
        );
    }
    if let Some(script) = forms.script() {
        let body = script.body.clone();
        cfg.route(
            &script.url,
            web::get().to(move || {
                let body = body.clone();
                async move {
                    HttpResponse::Ok()
                        .content_type("application/javascript; charset=utf-8")
                        .insert_header((
                            header::CACHE_CONTROL,
                            "public, max-age=31536000, immutable",
                        ))
                        .body(body)
                }
            }),
        );
        let service = forms.clone();
        cfg.route(
            TOKEN_PATH,
            web::get().to(move || {
                let token = service.issue_token();
                async move {
                    HttpResponse::Ok()
                        .insert_header((header::CACHE_CONTROL, "no-store"))
                        .json(serde_json::json!({ "token": token }))
                }
            }),
        );
    }
}

async fn submit(req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(route) = req.app_data::<FormRoute>().cloned() else {
        return HttpResponse::NotFound().finish();
    };
    let Some(form) = route.service.form(route.index) else {
        return HttpResponse::NotFound().finish();
    };
    let json = wants_json(&req);
    let body = match read_body(&req, payload, form.max_body_bytes).await {
        Ok(body) => body,
        Err(outcome) => {
            route.service.count(form, outcome.code()).await;
            return refuse(&route.service, form, Refusal::bare(outcome), json);
        }
    };
    let visitor = route.service.privacy().visitor(&req);
    let content_type = req.headers().get(header::CONTENT_TYPE);
    let content_type = content_type.and_then(|v| v.to_str().ok());
    let (ip, country) = (visitor.anonymized_ip.to_string(), visitor.country.clone());
    let result = route
        .service
        .capture(form, content_type, &body, &ip, country);
    match result.await {
        Err(refusal) => refuse(&route.service, form, refusal, json),
        Ok(stored) => {
            notify(form, &stored);
            if form.mode == FormMode::StoreAndForward {
                if let Some(answer) = forward(&req, body, &visitor, form, json).await {
                    return answer;
                }
            }
            thank_you(form, &stored, json)
        }
    }
}

/// Read the body, refusing it as soon as it is known to exceed `limit` bytes.
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, Outcome> {
    let too_large = Outcome::TooLarge { limit_bytes: limit };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large);
    }
    let mut body = BytesMut::new();
    // Each round adds at least one byte or ends, and the total is capped by `limit`.
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| Outcome::Malformed)?;
        if body.len() + chunk.len() > limit {
            return Err(too_large);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// JSON when the client asked for it (fetch / XHR form plugins), a page otherwise.
fn wants_json(req: &HttpRequest) -> bool {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    // The answer may carry what the visitor typed: no cache may keep it.
    b.insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

fn refuse(service: &FormsService, form: &FormConfig, refusal: Refusal, json: bool) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.outcome.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut b = no_store(status);
    if refusal.outcome == Outcome::RateLimited {
        b.insert_header((
            header::RETRY_AFTER,
            form.rate_limit_window.as_secs().to_string(),
        ));
    }
    if json {
        let errors = refusal
            .typed
            .as_ref()
            .map(|c| c.errors.as_slice())
            .unwrap_or(&[]);
        return b.content_type("application/json").body(refusal_json(
            form,
            refusal.outcome,
            errors,
        ));
    }
    let token = service.issue_token();
    let html = service
        .pages()
        .render(form, refusal.outcome, refusal.typed.as_ref(), Some(&token));
    b.content_type("text/html; charset=utf-8").body(html)
}

fn thank_you(form: &FormConfig, stored: &Stored, json: bool) -> HttpResponse {
    if json {
        return no_store(StatusCode::OK)
            .content_type("application/json")
            .body(stored_json(form, &stored.id));
    }
    let mut b = no_store(StatusCode::SEE_OTHER);
    match HeaderValue::from_str(&form.redirect) {
        Ok(location) => b.insert_header((header::LOCATION, location)).finish(),
        // Config validation refuses line breaks, so this is unreachable in practice.
        Err(_) => b.finish(),
    }
}

/// Hand the stored submission to the upstream through the app's `web::Data<Proxy>`. When the
/// upstream answers with a redirect (the usual post/redirect/get of a CMS form), that redirect
/// is what the visitor gets, so the CMS's own flow keeps working. Any other answer is not passed
/// on — an HTML page from this path would reach the visitor without the tracker rewriting — and
/// the gate thanks the visitor itself: the entry is stored either way.
async fn forward(
    req: &HttpRequest,
    body: Bytes,
    visitor: &Visitor,
    form: &FormConfig,
    json: bool,
) -> Option<HttpResponse> {
    let Some(proxy) = req.app_data::<web::Data<Proxy>>() else {
        tracing::error!(form = %form.id, "store_and_forward form but no proxy is registered");
        return None;
    };
    let result = proxy.forward_buffered(req, body, visitor).await;
    match result {
        Ok(resp) if resp.status().is_redirection() => {
            let location = resp.headers().get(header::LOCATION).cloned();
            match location {
                Some(location) if !json => Some(
                    no_store(resp.status())
                        .insert_header((header::LOCATION, location))
                        .finish(),
                ),
                _ => None,
            }
        }
        Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
            tracing::warn!(form = %form.id, status = resp.status().as_u16(), "upstream refused a forwarded form entry");
            None
        }
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(form = %form.id, error = %e, "form entry stored but not forwarded");
            None
        }
    }
}

/// Tell the operator's webhook that an entry arrived: form id, entry id and time only.
fn notify(form: &FormConfig, stored: &Stored) {
    let Some(url) = form.notify_webhook.clone() else {
        return;
    };
    let payload = serde_json::json!({
        "form": form.id,
        "entry_id": stored.id,
        "created": stored.created,
    });
    let form_id = form.id.clone();
    actix_web::rt::spawn(async move {
        // A redirect from the hook is not followed: one notification, one request.
        let client = awc::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .disable_redirects()
            .finish();
        match client.post(url.as_str()).send_json(&payload).await {
            Ok(resp) if resp.status().is_success() => {}
            Ok(resp) => {
                tracing::warn!(form = %form_id, status = resp.status().as_u16(), "form webhook refused the notification")
            }
            Err(e) => tracing::warn!(form = %form_id, error = %e, "form webhook not reached"),
        }
    });
}
