//! Proxy errors, tagged by where they came from so the status is chosen by type: the upstream
//! (502 unreachable or incomplete, 504 too slow) or the visitor's request (400, 413, 501).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream unreachable: {0}")]
    UpstreamUnreachable(String),
    /// The upstream's answer broke off before its body was complete.
    #[error("upstream response incomplete: {0}")]
    UpstreamIncomplete(String),
    #[error("upstream did not answer within {0:?}")]
    UpstreamTimeout(std::time::Duration),
    #[error("request body larger than {limit} bytes")]
    RequestTooLarge { limit: usize },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("WebSocket and other protocol upgrades are not supported by consentgate yet")]
    UpgradeNotSupported,
    /// Only at start: the upstream TLS settings cannot be used.
    #[error("upstream.tls_ca_file: {0}")]
    TlsConfig(String),
}

impl ProxyError {
    /// Stable machine-readable code, also in the page for support requests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UpstreamUnreachable(_) => "upstream_unreachable",
            Self::UpstreamIncomplete(_) => "upstream_incomplete",
            Self::UpstreamTimeout(_) => "upstream_timeout",
            Self::RequestTooLarge { .. } => "request_too_large",
            Self::BadRequest(_) => "bad_request",
            Self::UpgradeNotSupported => "upgrade_not_supported",
            Self::TlsConfig(_) => "tls_config",
        }
    }

    fn visitor_text(&self) -> &'static str {
        match self {
            Self::UpstreamUnreachable(_) => {
                "The website behind this gateway cannot be reached right now. Please try again in a few minutes."
            }
            Self::UpstreamIncomplete(_) => {
                "The website behind this gateway sent an incomplete page. Please try again."
            }
            Self::UpstreamTimeout(_) => {
                "The website behind this gateway did not answer in time. Please try again in a few minutes."
            }
            Self::RequestTooLarge { .. } => "What you sent is larger than this website accepts.",
            Self::BadRequest(_) => "The request could not be understood.",
            Self::UpgradeNotSupported => {
                "This connection type (WebSocket) is not supported by this website's gateway."
            }
            Self::TlsConfig(_) => "The website's gateway is misconfigured.",
        }
    }
}

impl ResponseError for ProxyError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::UpstreamUnreachable(_) | Self::UpstreamIncomplete(_) => StatusCode::BAD_GATEWAY,
            Self::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::RequestTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::UpgradeNotSupported => StatusCode::NOT_IMPLEMENTED,
            Self::TlsConfig(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{code} {reason}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
             <body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem\">\
             <h1>{code} {reason}</h1><p>{text}</p><p><small>consentgate: {machine}</small></p></body></html>\n",
            code = status.as_u16(),
            reason = status.canonical_reason().unwrap_or(""),
            text = self.visitor_text(),
            machine = self.code(),
        );
        HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(page)
    }
}
