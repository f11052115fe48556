//! The server's side of the metrics: middleware that counts every answer by listener and status
//! class, and `GET /metrics` (admin listener), which adds the values other modules keep
//! (rewrite-memo look-ups and bytes held, dropped webhook notifications) at scrape time.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpResponse;

use super::state::State;
use crate::http::{Code, EdgeError};
use crate::metrics::{Listener, ScrapeCounter, ScrapeGauge, CONTENT_TYPE};

/// Middleware of the public listener: count the answer.
pub async fn count_public(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    count(Listener::Public, req, next).await
}

/// Middleware of the admin listener: count the answer.
pub async fn count_admin(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    count(Listener::Admin, req, next).await
}

async fn count<B: MessageBody>(
    listener: Listener,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let metrics = req.app_data::<State>().map(|s| s.metrics.clone());
    let result = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &result {
            Ok(res) => res.status(),
            Err(e) => e.as_response_error().status_code(),
        };
        metrics.request(listener, status.as_u16());
    }
    result
}

/// `GET /metrics`: the Prometheus text format. No personal data, so no sign-in: the admin
/// listener is on loopback (or behind whatever guards it).
pub async fn metrics(state: State) -> Result<HttpResponse, EdgeError> {
    // Counted by the areas in force: a reload starts them again from 0 (a counter reset to
    // Prometheus).
    let areas = state.areas();
    let (hits, misses) = areas.page.memo.as_ref().map_or((0, 0), |m| m.lookups());
    let extra = [
        ScrapeCounter {
            name: "rewrite_memo_hits",
            help: "Pages whose finished rewrite was found in the rewrite memo",
            value: hits,
        },
        ScrapeCounter {
            name: "rewrite_memo_misses",
            help: "Pages looked up in the rewrite memo and not found (rewritten, then kept)",
            value: misses,
        },
        ScrapeCounter {
            name: "form_notifications_dropped",
            help: "Form webhook notifications dropped because their queue was full",
            value: areas.forms.notifications_dropped(),
        },
    ];
    let memo = areas.page.memo.as_ref();
    let levels = [
        ScrapeGauge {
            name: "rewrite_memo_bytes",
            help: "Bytes the rewrite memo holds now (pages in and out); its share of the \
                   gate's memory",
            value: memo
                .map_or(0, |m| m.held_bytes())
                .try_into()
                .unwrap_or(i64::MAX),
        },
        ScrapeGauge {
            name: "rewrite_memo_max_bytes",
            help: "Most bytes the rewrite memo may hold (limits.rewrite_memo_bytes)",
            value: memo
                .map_or(0, |_| areas.config.limits.rewrite_memo_bytes)
                .try_into()
                .unwrap_or(i64::MAX),
        },
    ];
    let text = state
        .metrics
        .encode(&extra, &levels)
        .map_err(|e| EdgeError::new(Code::Internal).detail(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
