//! `/_gate/consent` (POST decide, GET own record, DELETE withdraw) and `/_gate/banner.*`.
//! Handlers parse, call the service, map the result; the logic lives in `ConsentService`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;
use serde::Serialize;

use super::model::{Action, DecisionError, DecisionRequest, Receipt};
use super::record::{RecordContext, RecordError, Recorded};
use super::{ConsentService, COOKIE_NAME};
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

impl From<RecordError> for ConsentHttpError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Decision(d) => Self::Decision(d),
            RecordError::Store(StoreError::Corrupt(_)) | RecordError::Corrupt => Self::Corrupt,
            RecordError::Store(_) => Self::StoreDown,
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
    let visitor = req.app_data::<web::Data<Privacy>>().map(|p| p.visitor(req));
    let ctx = RecordContext {
        previous_cookie: super::request_cookie(req, COOKIE_NAME),
        country: visitor.as_ref().and_then(|v| v.country.clone()),
        gpc: req
            .headers()
            .get("sec-gpc")
            .is_some_and(|v| v.as_bytes() == b"1"),
        https: visitor
            .map(|v| v.https)
            .unwrap_or_else(|| req.connection_info().scheme() == "https"),
    };
    let Recorded { receipt, cookie } = svc.record(request, ctx).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"));
    res.append_header((header::SET_COOKIE, cookie.to_string()));
    // Tracker cookies sent with this request that the new decision does not cover go now.
    let wire = super::WirePolicy::new(svc.catalogue.clone(), receipt.granted.clone(), req);
    for value in wire.deletion_headers(req.connection_info().host()) {
        res.append_header((header::SET_COOKIE, value));
    }
    Ok(res.json(DecisionResponse {
        id: &receipt.id,
        action: receipt.action,
        granted: &receipt.granted,
        refused: &receipt.refused,
        policy_revision: receipt.policy_revision,
    }))
}

async fn get_consent(req: HttpRequest) -> Result<HttpResponse> {
    let svc = service(&req);
    let cookie = super::request_cookie(&req, COOKIE_NAME).ok_or(ConsentHttpError::NoConsent)?;
    let record = svc
        .own_record(&cookie)
        .await?
        .ok_or(ConsentHttpError::NoConsent)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecordResponse {
            current: record.current,
            history: record.history,
        }))
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
