//! `/_gate/consent` (POST decide, GET own record, DELETE withdraw) and `/_gate/banner.*`.
//! Handlers parse, call the service, map the result; the logic lives in `ConsentService`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cookie::{Cookie, SameSite};
use futures_util::StreamExt;
use serde::Serialize;

use super::model::{Action, DecisionError, DecisionRequest, Receipt};
use super::{now_secs, ConsentCookie, ConsentService, COOKIE_NAME};
use crate::privacy::Privacy;
use crate::store::StoreError;

/// Seconds a client should wait before retrying when the store is down.
const RETRY_AFTER_SECS: u32 = 30;

/// Mount the consent routes. Needs `web::Data<ConsentService>`; uses `web::Data<Privacy>` for
/// country and https when registered.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/_gate/consent")
            .route(web::post().to(post_consent))
            .route(web::get().to(get_consent))
            .route(web::delete().to(delete_consent)),
    )
    .service(web::resource("/_gate/banner.{file}").route(web::get().to(banner_asset)));
}

/// Errors at the consent edge, each with a status and a stable code.
#[derive(Debug, thiserror::Error)]
pub enum ConsentHttpError {
    #[error("cross-origin request refused")]
    CrossOrigin,
    #[error("expected Content-Type: application/json")]
    ContentType,
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Decision(#[from] DecisionError),
    #[error("no consent recorded for this browser")]
    NoConsent,
    #[error("consent storage is unavailable; trackers stay off, try again later")]
    StoreDown,
    #[error("stored consent record is unreadable")]
    Corrupt,
    #[error("not found")]
    NotFound,
}

impl ConsentHttpError {
    fn code(&self) -> &'static str {
        match self {
            Self::CrossOrigin => "cross_origin",
            Self::ContentType => "unsupported_media_type",
            Self::TooLarge(_) => "body_too_large",
            Self::Json(_) => "invalid_json",
            Self::Decision(_) => "invalid_decision",
            Self::NoConsent => "no_consent",
            Self::StoreDown => "store_unavailable",
            Self::Corrupt => "store_corrupt",
            Self::NotFound => "not_found",
        }
    }
}

impl From<StoreError> for ConsentHttpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) => Self::Corrupt,
            _ => Self::StoreDown,
        }
    }
}

impl ResponseError for ConsentHttpError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::CrossOrigin => StatusCode::FORBIDDEN,
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Json(_) | Self::Decision(_) => StatusCode::BAD_REQUEST,
            Self::NoConsent | Self::NotFound => StatusCode::NOT_FOUND,
            Self::StoreDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Corrupt => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, Self::StoreDown) {
            res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
        }
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .json(serde_json::json!({"error": self.code(), "message": self.to_string()}))
    }
}

type Result<T> = std::result::Result<T, ConsentHttpError>;

#[derive(Serialize)]
struct DecisionResponse<'a> {
    id: &'a str,
    action: Action,
    granted: &'a [String],
    refused: &'a [String],
    policy_revision: u32,
}

#[derive(Serialize)]
struct RecordResponse {
    current: Option<Receipt>,
    history: Vec<Receipt>,
}

/// Same-origin only: browsers send Sec-FetchSite on fetch; older ones at least send Origin.
fn check_same_origin(req: &HttpRequest) -> Result<()> {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site") {
        return if site.as_bytes() == b"same-origin" {
            Ok(())
        } else {
            Err(ConsentHttpError::CrossOrigin)
        };
    }
    let origin = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|o| url::Url::parse(o).ok())
        .ok_or(ConsentHttpError::CrossOrigin)?;
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(ConsentHttpError::CrossOrigin)?;
    let origin_host = match (origin.host_str(), origin.port()) {
        (Some(hn), Some(p)) => format!("{hn}:{p}"),
        (Some(hn), None) => hn.to_owned(),
        _ => return Err(ConsentHttpError::CrossOrigin),
    };
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ConsentHttpError::CrossOrigin)
    }
}

async fn read_json_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Option<Vec<u8>>> {
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ConsentHttpError::Json(e.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(ConsentHttpError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    if body.is_empty() {
        return Ok(None);
    }
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/json");
    if !json {
        return Err(ConsentHttpError::ContentType);
    }
    Ok(Some(body))
}

fn service(req: &HttpRequest) -> &ConsentService {
    req.app_data::<web::Data<ConsentService>>()
        .map(|d| d.get_ref())
        .unwrap_or_else(|| unreachable!("consent::configure requires web::Data<ConsentService>"))
}

async fn post_consent(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse> {
    check_same_origin(&req)?;
    let svc = service(&req);
    let body = read_json_body(&req, payload, svc.max_body)
        .await?
        .ok_or_else(|| ConsentHttpError::Json("empty body".into()))?;
    let decision: DecisionRequest =
        serde_json::from_slice(&body).map_err(|e| ConsentHttpError::Json(e.to_string()))?;
    record(&req, svc, decision).await
}

async fn delete_consent(req: HttpRequest, payload: web::Payload) -> Result<HttpResponse> {
    check_same_origin(&req)?;
    let svc = service(&req);
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Shown {
        language: String,
        texts_hash: String,
    }
    let shown = match read_json_body(&req, payload, svc.max_body).await? {
        Some(b) => serde_json::from_slice::<Shown>(&b)
            .map_err(|e| ConsentHttpError::Json(e.to_string()))?,
        None => {
            let language = svc.default_language.clone();
            let texts_hash = svc
                .bundle
                .texts_hash
                .get(&language)
                .cloned()
                .unwrap_or_default();
            Shown {
                language,
                texts_hash,
            }
        }
    };
    let decision = DecisionRequest {
        action: Action::Withdraw,
        granted: Vec::new(),
        language: shown.language,
        texts_hash: shown.texts_hash,
    };
    record(&req, svc, decision).await
}

async fn record(
    req: &HttpRequest,
    svc: &ConsentService,
    request: DecisionRequest,
) -> Result<HttpResponse> {
    let decision = request.validate(&svc.bundle.optional, |lang| {
        svc.bundle.texts_hash.get(lang).cloned()
    })?;
    let visitor = req.app_data::<web::Data<Privacy>>().map(|p| p.visitor(req));
    // A returning visitor keeps their id so all their decisions form one history.
    let id = super::request_cookie(req, COOKIE_NAME)
        .and_then(|c| svc.codec.verify(&c).ok())
        .map(|c| c.id)
        .unwrap_or_else(new_id);
    let now = time::OffsetDateTime::now_utc();
    let receipt = Receipt {
        id: id.clone(),
        time: now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        action: decision.action,
        granted: decision.granted.clone(),
        refused: decision.refused.clone(),
        policy_revision: svc.revision,
        language: decision.language.clone(),
        texts_hash: decision.texts_hash.clone(),
        country: visitor.as_ref().and_then(|v| v.country.clone()),
        gpc: req
            .headers()
            .get("sec-gpc")
            .is_some_and(|v| v.as_bytes() == b"1"),
    };
    let bytes = serde_json::to_vec(&receipt).map_err(|_| ConsentHttpError::Corrupt)?;
    svc.store.put_receipt(&id, &bytes, svc.receipt_ttl).await?;
    count(svc, &receipt, now).await;

    let https = visitor
        .map(|v| v.https)
        .unwrap_or_else(|| req.connection_info().scheme() == "https");
    let value = svc.codec.encode(&ConsentCookie {
        id: id.clone(),
        granted: receipt.granted.clone(),
        revision: svc.revision,
        issued: now_secs(),
    });
    let cookie = Cookie::build((COOKIE_NAME, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(svc.lifetime.as_secs()).unwrap_or(i64::MAX),
        ))
        .same_site(SameSite::Lax)
        .secure(https)
        .build();
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res.append_header((header::SET_COOKIE, cookie.to_string()));
    // Tracker cookies sent with this request that the new decision does not cover go now.
    let wire = super::WirePolicy::new(svc.catalogue.clone(), receipt.granted.clone(), req);
    let host = req.connection_info().host().to_owned();
    for del in wire.deletions(&host) {
        res.append_header((header::SET_COOKIE, del.to_string()));
    }
    Ok(res.json(DecisionResponse {
        id: &id,
        action: receipt.action,
        granted: &receipt.granted,
        refused: &receipt.refused,
        policy_revision: svc.revision,
    }))
}

/// Daily counters; a failure here must not undo a stored decision, so it is only logged.
async fn count(svc: &ConsentService, r: &Receipt, now: time::OffsetDateTime) {
    let day = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let mut fields: Vec<String> = vec![format!("action:{}", r.action.as_str())];
    fields.extend(r.granted.iter().map(|c| format!("granted:{c}")));
    fields.extend(r.refused.iter().map(|c| format!("refused:{c}")));
    if let Some(c) = &r.country {
        fields.push(format!("country:{c}"));
    }
    let pairs: Vec<(&str, i64)> = fields.iter().map(|f| (f.as_str(), 1)).collect();
    if let Err(e) = svc.store.incr_counters("consent", &day, &pairs).await {
        tracing::warn!(error = %e, "consent counters not updated");
    }
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn get_consent(req: HttpRequest) -> Result<HttpResponse> {
    let svc = service(&req);
    let cookie = super::request_cookie(&req, COOKIE_NAME)
        .and_then(|c| svc.codec.verify(&c).ok())
        .ok_or(ConsentHttpError::NoConsent)?;
    let parse =
        |b: Vec<u8>| serde_json::from_slice::<Receipt>(&b).map_err(|_| ConsentHttpError::Corrupt);
    let current = match svc.store.get_receipt(&cookie.id).await? {
        Some(b) => Some(parse(b)?),
        None => None,
    };
    let history = svc
        .store
        .receipt_history(&cookie.id)
        .await?
        .into_iter()
        .map(parse)
        .collect::<Result<Vec<_>>>()?;
    if current.is_none() && history.is_empty() {
        return Err(ConsentHttpError::NoConsent);
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecordResponse { current, history }))
}

async fn banner_asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse> {
    let svc = service(&req);
    let name = format!("banner.{}", file.into_inner());
    let (asset, ctype) = if name == svc.bundle.js.name {
        (&svc.bundle.js, "text/javascript; charset=utf-8")
    } else if name == svc.bundle.css.name {
        (&svc.bundle.css, "text/css; charset=utf-8")
    } else {
        return Err(ConsentHttpError::NotFound);
    };
    let gzip = req
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header(("x-content-type-options", "nosniff"));
    if gzip {
        res.insert_header((header::CONTENT_ENCODING, "gzip"));
        Ok(res.body(asset.gzip.clone()))
    } else {
        Ok(res.body(asset.body.clone()))
    }
}
