//! The routes of the admin listener (loopback by default): health checks, `/metrics`, and the
//! operators' dashboard. Every dashboard route declares what it needs ([`edge::Need`]: signed
//! in, or a permission of `auth::roles`); its handler parses, calls the dashboard's audited
//! desk, and renders a page. State-changing routes are POST only and check the origin and the
//! session's CSRF token ([`edge::Posted`]). Every dashboard answer carries the security
//! headers; every refusal is the standard error body or the dashboard's error page.

mod account;
mod edge;
mod inbox;
mod oversight;
mod records;

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, FromRequest, Handler, Responder};

pub use edge::{Need, CSP, MAX_FORM_BYTES};

use crate::dashboard::auth::Permission;
use crate::dashboard::views::paths;

/// Every admin route. Mount after registering [`Worker::data`](super::state::Worker::data).
pub fn configure(cfg: &mut web::ServiceConfig) {
    super::public::health(cfg);
    cfg.route("/metrics", web::get().to(super::metered::metrics));
    dashboard(cfg);
}

/// A resource answering `GET` with `handler` (405 for other methods), needing `need`.
fn get<F, Args>(path: &str, need: Need, handler: F) -> impl HttpServiceFactory
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .app_data(need)
        .route(web::get().to(handler))
        .default_service(web::to(edge::method_not_allowed))
}

/// A resource answering `POST` with `handler` (405 for other methods), needing `need`.
fn post<F, Args>(path: &str, need: Need, handler: F) -> impl HttpServiceFactory
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .app_data(need)
        .route(web::post().to(handler))
        .default_service(web::to(edge::method_not_allowed))
}

/// The dashboard: one scope over everything the routes above did not take, with the security
/// headers and the dashboard's error pages.
pub fn dashboard(cfg: &mut web::ServiceConfig) {
    use Permission::{AuditLog, ConsentRecords, DataSubjectRequests, Health, Inbox};
    let may = Need::Permission;
    cfg.service(
        web::scope("")
            .wrap(edge::error_pages())
            .wrap(edge::security_headers())
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                crate::http::EdgeError::new(crate::http::Code::NotFound).into()
            }))
            .route("/_gate/{name}", web::get().to(account::asset))
            .service(get(paths::FIGURES, Need::SignedIn, account::home))
            .service(
                web::resource(paths::SIGN_IN)
                    .route(web::get().to(account::sign_in_page))
                    .route(web::post().to(account::sign_in))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(post(paths::SIGN_OUT, Need::SignedIn, account::sign_out))
            .service(get(paths::INBOX, may(Inbox), inbox::first_form))
            .service(get("/inbox/{form}", may(Inbox), inbox::list))
            .service(get("/inbox/{form}/export", may(Inbox), inbox::export_form))
            .service(get("/inbox/{form}/e/{id}", may(Inbox), inbox::entry))
            .service(get(
                "/inbox/{form}/e/{id}/export",
                may(Inbox),
                inbox::export_entry,
            ))
            .service(post(
                "/inbox/{form}/e/{id}/handled",
                may(Inbox),
                inbox::handled,
            ))
            .service(post(
                "/inbox/{form}/e/{id}/delete",
                may(Inbox),
                inbox::delete,
            ))
            .service(
                web::resource(paths::PERSON)
                    .app_data(may(DataSubjectRequests))
                    .route(web::get().to(inbox::person_form))
                    .route(web::post().to(inbox::person_search))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(post(
                paths::PERSON_CONFIRM,
                may(DataSubjectRequests),
                inbox::person_confirm,
            ))
            .service(post(
                paths::PERSON_DELETE,
                may(DataSubjectRequests),
                inbox::person_delete,
            ))
            .service(post(
                paths::PERSON_EXPORT,
                may(DataSubjectRequests),
                inbox::person_export,
            ))
            .service(get(
                paths::CONSENT,
                may(ConsentRecords),
                records::lookup_form,
            ))
            .service(get("/consent/{id}", may(ConsentRecords), records::lookup))
            .service(get(
                "/consent/{id}/export",
                may(ConsentRecords),
                records::export,
            ))
            .service(post(
                "/consent/{id}/erase",
                may(ConsentRecords),
                records::erase,
            ))
            .service(get(paths::RECEIPTS, may(ConsentRecords), records::receipts))
            .service(get(
                paths::RECEIPTS_JSONL,
                may(ConsentRecords),
                records::export_jsonl,
            ))
            .service(get(
                paths::RECEIPTS_CSV,
                may(ConsentRecords),
                records::export_csv,
            ))
            .service(get(paths::AUDIT, may(AuditLog), oversight::audit))
            .service(get(paths::AUDIT_CSV, may(AuditLog), oversight::export))
            .service(get(paths::HEALTH, may(Health), oversight::health))
            .default_service(web::to(edge::not_found)),
    );
}
