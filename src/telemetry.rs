//! Logging: structured tracing output (text or JSON) with a request id on every request line.
//! What is logged is chosen here and in the call sites with care: never a full IP address, a
//! form field or a cookie value — request lines carry method, path, status, duration and the
//! request id only (the query string can hold personal data and is left out too).

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use rand::Rng;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Request id header returned to the client, so an operator can match a visitor's report to
/// a log line without any personal data in either.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The id of the current request, stored in request extensions by [`request_log`].
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Libraries whose own log lines (workers starting, signals received, connection errors a
/// visitor caused) say nothing an operator can act on: only their warnings and errors are
/// shown, unless the filter names them itself.
const QUIET: &[&str] = &[
    "actix_server",
    "actix_http",
    "actix_web",
    "awc",
    "h2",
    "mio",
    "rustls",
];

/// `filter` with [`QUIET`]'s libraries at `warn`, except those it names.
fn with_quiet_libraries(filter: &str) -> String {
    let mut out = filter.to_owned();
    for target in QUIET.iter().filter(|t| !filter.contains(*t)) {
        out.push_str(&format!(",{target}=warn"));
    }
    out
}

/// Install the global subscriber. `CONSENTGATE_LOG` overrides the configured filter.
/// Calling it twice (tests) is harmless: the second call is ignored.
pub fn init(cfg: &LogConfig) {
    let filter = std::env::var("CONSENTGATE_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(with_quiet_libraries(&f)).ok())
        .unwrap_or_else(|| EnvFilter::new(with_quiet_libraries(&cfg.level)));
    // Colour codes only for a person at a terminal: journald, `serve > file` and log
    // collectors would store the escape sequences as text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match cfg.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn new_request_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

/// Middleware: assign a request id, log one line per request, echo the id in a header.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = new_request_id();
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.path().to_owned();
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span.clone()).await;
    let _entered = span.enter();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut res) => {
            let status = res.status().as_u16();
            tracing::info!(%method, %path, status, elapsed_ms, "request");
            if let Ok(value) = HeaderValue::from_str(&id) {
                res.headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
            }
            Ok(res)
        }
        Err(err) => {
            tracing::warn!(%method, %path, error = %err, elapsed_ms, "request failed");
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_quiet_libraries;

    #[test]
    fn framework_lines_are_quiet_unless_asked_for() {
        let f = with_quiet_libraries("info");
        assert!(
            f.starts_with("info,") && f.contains(",actix_server=warn"),
            "{f}"
        );
        let f = with_quiet_libraries("info,actix_server=debug");
        assert!(!f.contains("actix_server=warn"), "{f}");
        assert!(f.contains("actix_http=warn"), "{f}");
    }
}
