//! Proxy errors, tagged by where they came from so the answer is chosen by type: the upstream
//! (502 unreachable, incomplete or unreadable, 504 too slow) or the visitor's request (400, 413, 501).
//! Request-time errors map into the edge's vocabulary; the one start-time error (the upstream
//! TLS settings) is a type of its own.

use crate::http::{Code, EdgeError};

/// Why a request could not be forwarded or its answer not passed on.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("upstream unreachable: {0}")]
    UpstreamUnreachable(String),
    /// The upstream's answer broke off before its body was complete.
    #[error("upstream response incomplete: {0}")]
    UpstreamIncomplete(String),
    /// An HTML page the gate cannot make safe (an undecodable or unknown coding, a partial
    /// page, past a size or memory limit): refused rather than delivered with trackers live.
    #[error("upstream page not delivered: {0}")]
    UpstreamUnreadable(String),
    #[error("upstream did not answer within {0:?}")]
    UpstreamTimeout(std::time::Duration),
    #[error("request body larger than {limit} bytes")]
    RequestTooLarge { limit: usize },
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("WebSocket and other protocol upgrades are not supported by consentgate yet")]
    UpgradeNotSupported,
}

impl ProxyError {
    /// The edge code of this error.
    pub fn code(&self) -> Code {
        match self {
            Self::UpstreamUnreachable(_) => Code::UpstreamUnreachable,
            Self::UpstreamIncomplete(_) => Code::UpstreamIncomplete,
            Self::UpstreamUnreadable(_) => Code::UpstreamUnreadable,
            Self::UpstreamTimeout(_) => Code::UpstreamTimeout,
            Self::RequestTooLarge { .. } => Code::BodyTooLarge,
            Self::BadRequest(_) => Code::BadRequest,
            Self::UpgradeNotSupported => Code::UpgradeNotSupported,
        }
    }
}

impl From<ProxyError> for EdgeError {
    /// A page for the visitor (HTML unless the client asked for JSON). The upstream's own
    /// words stay in the log: they can name internal hosts.
    fn from(e: ProxyError) -> Self {
        let error = match &e {
            ProxyError::RequestTooLarge { limit } => EdgeError::too_large(*limit),
            other => EdgeError::new(other.code()),
        };
        match &e {
            // The site is down, slow or broke off: the operator must hear of it, with the cause
            // (refused, reset, timed out), not only as a 502 in a request line.
            ProxyError::UpstreamUnreachable(_)
            | ProxyError::UpstreamIncomplete(_)
            | ProxyError::UpstreamTimeout(_) => tracing::warn!(error = %e, "upstream failed"),
            ProxyError::UpstreamUnreadable(_) => tracing::warn!(error = %e, "page refused"),
            // The visitor's request: theirs to fix.
            _ => tracing::debug!(error = %e, "request not proxied"),
        }
        error.html_by_default()
    }
}

/// Why the upstream TLS settings cannot be used (found at start).
#[derive(Debug, thiserror::Error)]
#[error("upstream.tls_ca_file: {0}")]
pub struct TlsConfigError(pub String);
