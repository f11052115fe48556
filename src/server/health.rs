//! Health and readiness. The public listener answers `/_gate/healthz` with `ok` and nothing
//! more: visitors need not learn the version or whether the store is up. Readiness
//! (`/_gate/readyz`: upstream reachable, store up) is served on the admin listener only, from a
//! result at most a second old ([`ReadinessCache`](super::readiness::ReadinessCache)) — each check opens a connection to the upstream, and a
//! few hundred checks a second would leave as many sockets in TIME_WAIT.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::state::State;

/// Path of the liveness check on both listeners.
pub const HEALTHZ: &str = "/_gate/healthz";
/// Path of the readiness check on the admin listener.
pub const READYZ: &str = "/_gate/readyz";

/// `/_gate/healthz` on the public listener: the process is up, nothing else.
pub fn public(cfg: &mut web::ServiceConfig) {
    cfg.route(HEALTHZ, web::get().to(public_healthz));
}

/// `/_gate/healthz` (process up, with version and store backend) and `/_gate/readyz` on the
/// admin listener.
pub fn admin(cfg: &mut web::ServiceConfig) {
    cfg.route(HEALTHZ, web::get().to(admin_healthz))
        .route(READYZ, web::get().to(readyz));
}

async fn public_healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

async fn admin_healthz(state: State) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "up",
        "version": env!("CARGO_PKG_VERSION"),
        "store_backend": state.store.backend_name(),
    }))
}

async fn readyz(state: State) -> HttpResponse {
    let readiness = state
        .readiness
        .get(&state.proxy_settings, &state.store)
        .await;
    let mut res = if readiness.ready {
        HttpResponse::Ok()
    } else {
        HttpResponse::ServiceUnavailable()
    };
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .json(readiness)
}
