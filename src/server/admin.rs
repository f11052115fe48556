//! The routes of the admin listener (loopback by default): liveness and readiness, `/metrics`,
//! and the operators' dashboard. Every dashboard route declares what it needs ([`edge::Need`]:
//! signed in, or a permission of `auth::roles`); its handler parses, calls the dashboard's
//! audited desk, and renders a page. State-changing routes are POST only and check the origin and
//! the session's CSRF token ([`edge::Posted`]). Every dashboard answer carries the security
//! headers; every refusal is the standard error body or the dashboard's error page.

mod account;
mod discovery;
mod edge;
mod inbox;
mod oversight;
mod overview;
mod records;
mod requests;

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, FromRequest, Handler, Responder, Route};

pub use edge::{Need, CSP, MAX_FORM_BYTES};

use crate::dashboard::auth::Permission;
use crate::dashboard::views::paths;

/// Every admin route. Mount after registering [`Worker::data`](super::state::Worker::data).
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Health first: the dashboard's scope below takes every path nothing before it took.
    super::health::admin(cfg);
    cfg.route("/metrics", web::get().to(super::metered::metrics));
    // The read-only API for tokens: outside the dashboard's scope, so every refusal is the
    // standard JSON body rather than the dashboard's page.
    cfg.service(
        web::resource(paths::API_OVERVIEW)
            .wrap(edge::security_headers())
            .route(web::get().to(overview::api_overview))
            .default_service(web::to(edge::method_not_allowed)),
    );
    dashboard(cfg);
}

/// A resource answering one method (`route`: `web::get()`, `web::post()`) with `handler` and
/// 405 to the others, needing `need`.
fn only<F, Args>(path: &str, need: Need, route: Route, handler: F) -> impl HttpServiceFactory
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    web::resource(path)
        .app_data(need)
        .route(route.to(handler))
        .default_service(web::to(edge::method_not_allowed))
}

/// The actions taken from a data-subject request's page: each a POST to
/// `/requests/{id}/<action>`.
fn request_actions(cfg: &mut web::ServiceConfig) {
    let may = Need::Permission(Permission::DataSubjectRequests);
    cfg.service(only(
        "/requests/{id}/status",
        may,
        web::post(),
        requests::status,
    ))
    .service(only(
        "/requests/{id}/extend",
        may,
        web::post(),
        requests::extend,
    ))
    .service(only(
        "/requests/{id}/search",
        may,
        web::post(),
        requests::search,
    ))
    .service(only(
        "/requests/{id}/attach",
        may,
        web::post(),
        requests::attach,
    ))
    .service(only(
        "/requests/{id}/detach",
        may,
        web::post(),
        requests::detach,
    ))
    .service(only(
        "/requests/{id}/export",
        may,
        web::post(),
        requests::export,
    ))
    .service(only(
        "/requests/{id}/rectify",
        may,
        web::post(),
        requests::rectify,
    ))
    .service(only(
        "/requests/{id}/restrict",
        may,
        web::post(),
        requests::restrict,
    ))
    .service(only(
        "/requests/{id}/lift",
        may,
        web::post(),
        requests::lift,
    ))
    .service(only(
        "/requests/{id}/erase",
        may,
        web::post(),
        requests::erase,
    ));
}

/// The dashboard: one scope over everything the routes above did not take, with the security
/// headers and the dashboard's error pages.
pub fn dashboard(cfg: &mut web::ServiceConfig) {
    use Permission::{
        AuditLog, ConsentRecords, DataSubjectRequests, Discovery, Figures, Health, Inbox,
    };
    let may = Need::Permission;
    cfg.service(
        web::scope("")
            .wrap(edge::error_pages())
            .wrap(edge::security_headers())
            .app_data(web::PathConfig::default().error_handler(|_, _| {
                crate::http::EdgeError::new(crate::http::Code::NotFound).into()
            }))
            .route("/_gate/{name}", web::get().to(account::asset))
            .service(only(
                paths::FIGURES,
                Need::SignedIn,
                web::get(),
                overview::home,
            ))
            .service(only(
                paths::OVERVIEW_ZIP,
                may(Figures),
                web::get(),
                overview::export_zip,
            ))
            .service(only(
                paths::OVERVIEW_JSON,
                may(Figures),
                web::get(),
                overview::export_json,
            ))
            .service(only(
                paths::HOW_WE_COUNT,
                may(Figures),
                web::get(),
                overview::how_we_count,
            ))
            .service(
                web::resource(paths::API_TOKENS)
                    .app_data(may(Figures))
                    .route(web::get().to(overview::tokens))
                    .route(web::post().to(overview::create_token))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(only(
                "/api-tokens/{id}/revoke",
                may(Figures),
                web::post(),
                overview::revoke_token,
            ))
            .service(
                web::resource(paths::SIGN_IN)
                    .route(web::get().to(account::sign_in_page))
                    .route(web::post().to(account::sign_in))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(only(
                paths::SIGN_OUT,
                Need::SignedIn,
                web::post(),
                account::sign_out,
            ))
            .service(only(
                paths::INBOX,
                may(Inbox),
                web::get(),
                inbox::first_form,
            ))
            .service(only("/inbox/{form}", may(Inbox), web::get(), inbox::list))
            .service(only(
                "/inbox/{form}/export",
                may(Inbox),
                web::get(),
                inbox::export_form,
            ))
            .service(only(
                "/inbox/{form}/e/{id}",
                may(Inbox),
                web::get(),
                inbox::entry,
            ))
            .service(only(
                "/inbox/{form}/e/{id}/export",
                may(Inbox),
                web::get(),
                inbox::export_entry,
            ))
            .service(only(
                "/inbox/{form}/e/{id}/handled",
                may(Inbox),
                web::post(),
                inbox::handled,
            ))
            .service(only(
                "/inbox/{form}/e/{id}/delete",
                may(Inbox),
                web::post(),
                inbox::delete,
            ))
            .service(
                web::resource(paths::REQUESTS)
                    .app_data(may(DataSubjectRequests))
                    .route(web::get().to(requests::list))
                    .route(web::post().to(requests::create))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(only(
                paths::REQUEST_NEW,
                may(DataSubjectRequests),
                web::get(),
                requests::new_form,
            ))
            .service(only(
                "/requests/{id}",
                may(DataSubjectRequests),
                web::get(),
                requests::show,
            ))
            .configure(request_actions)
            .service(
                web::resource(paths::PERSON)
                    .app_data(may(DataSubjectRequests))
                    .route(web::get().to(inbox::person_form))
                    .route(web::post().to(inbox::person_search))
                    .default_service(web::to(edge::method_not_allowed)),
            )
            .service(only(
                paths::PERSON_CONFIRM,
                may(DataSubjectRequests),
                web::post(),
                inbox::person_confirm,
            ))
            .service(only(
                paths::PERSON_DELETE,
                may(DataSubjectRequests),
                web::post(),
                inbox::person_delete,
            ))
            .service(only(
                paths::PERSON_EXPORT,
                may(DataSubjectRequests),
                web::post(),
                inbox::person_export,
            ))
            .service(only(
                paths::CONSENT,
                may(ConsentRecords),
                web::get(),
                records::lookup_form,
            ))
            .service(only(
                "/consent/{id}",
                may(ConsentRecords),
                web::get(),
                records::lookup,
            ))
            .service(only(
                "/consent/{id}/export",
                may(ConsentRecords),
                web::get(),
                records::export,
            ))
            .service(only(
                "/consent/{id}/erase",
                may(ConsentRecords),
                web::post(),
                records::erase,
            ))
            .service(only(
                paths::RECEIPTS,
                may(ConsentRecords),
                web::get(),
                records::receipts,
            ))
            .service(only(
                paths::RECEIPTS_JSONL,
                may(ConsentRecords),
                web::get(),
                records::export_jsonl,
            ))
            .service(only(
                paths::RECEIPTS_CSV,
                may(ConsentRecords),
                web::get(),
                records::export_csv,
            ))
            .service(only(
                paths::AUDIT,
                may(AuditLog),
                web::get(),
                oversight::audit,
            ))
            .service(only(
                paths::AUDIT_CSV,
                may(AuditLog),
                web::get(),
                oversight::export,
            ))
            .service(only(
                paths::HEALTH,
                may(Health),
                web::get(),
                oversight::health,
            ))
            .service(only(
                paths::DISCOVERY,
                may(Discovery),
                web::get(),
                discovery::list,
            ))
            .service(only(
                paths::DISCOVERY_CLASSIFY,
                may(Discovery),
                web::post(),
                discovery::classify,
            ))
            .default_service(web::to(edge::not_found)),
    );
}
