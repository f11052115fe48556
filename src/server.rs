//! The two listeners and how the areas are mounted on them. The public listener serves
//! `/_gate/*` (health, and the consent and form areas) and proxies everything else to the
//! upstream; the admin listener (loopback by default) serves health and, later, the dashboard.
//! Shared state is built once here and handed to the areas as typed `web::Data`.

pub mod demo;
mod html;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::Serialize;

use crate::config::Config;
use crate::consent::{self, ConsentService};
use crate::forms::{self, FormsService};
use crate::keys::Keys;
use crate::privacy::{GeoError, Privacy};
use crate::proxy::{ForwardPolicy, Proxy, ProxyError, ProxySettings, RequestBody};
use crate::rewrite::{RewriteMemo, RewriteSettings, Rewriter};
use crate::store::Store;
use crate::telemetry;
use crate::trackers::Catalogue;

/// Why the gate could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error("{0}")]
    Config(crate::config::ConfigError),
    #[error("secret: {} is not set", crate::config::ENV_SECRET)]
    MissingSecret,
    #[error(transparent)]
    Consent(#[from] crate::consent::ConsentError),
    #[error(transparent)]
    Upstream(#[from] ProxyError),
    #[error(transparent)]
    Forms(#[from] crate::forms::FormsError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("listen.{which}: cannot listen on {addr}: {source}")]
    Bind {
        which: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// State shared by every worker of both listeners.
#[derive(Clone)]
struct Shared {
    privacy: web::Data<Privacy>,
    proxy_settings: Arc<ProxySettings>,
    store: web::Data<Store>,
    page_rewrite: web::Data<html::PageRewrite>,
    consent: web::Data<ConsentService>,
    forms: FormsService,
}

/// A started gate; dropping it does not stop it, call [`RunningGate::stop`].
pub struct RunningGate {
    pub public_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    handles: Vec<ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningGate {
    /// Stop both listeners, letting in-flight requests finish.
    pub async fn stop(self) {
        for handle in &self.handles {
            handle.stop(true).await;
        }
    }

    /// Run until both listeners stop (Ctrl-C / SIGTERM stop them gracefully).
    pub async fn wait(self) -> std::io::Result<()> {
        for task in self.tasks {
            task.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }
}

/// Start the gate. Must be called inside an actix system (`#[actix_web::main]`,
/// `#[actix_web::test]`).
pub async fn start(config: Config) -> Result<RunningGate, StartError> {
    // Connecting does not wait for Redis: a gate started during a Redis outage serves pages
    // (trackers blocked) and recovers by itself when Redis comes back.
    let store = Store::connect(&config.store).await?;
    start_with(config, store).await
}

/// [`start`] on a store the caller already holds instead of the configured one (`store.*` is
/// then not used to open one). For tests that read the embedded store the gate writes to.
pub async fn start_with(config: Config, store: Store) -> Result<RunningGate, StartError> {
    crate::proxy::install_tls_provider();
    let config = Arc::new(config);
    let secret = config.secret.as_ref().ok_or(StartError::MissingSecret)?;
    let keys = Keys::derive(secret);
    let (rewriter, consent, forms) = page_rewriter(&config, &keys, store.clone())?;
    // Keeps form indexes small; entries themselves expire with their store TTL.
    forms.spawn_sweeper();
    let shared = Shared {
        privacy: web::Data::new(Privacy::new(&config.privacy)?),
        proxy_settings: Arc::new(ProxySettings::from_config(&config)?),
        store: web::Data::new(store),
        page_rewrite: web::Data::new(html::PageRewrite {
            rewriter,
            memo: (config.limits.rewrite_memo_bytes > 0)
                .then(|| Arc::new(RewriteMemo::new(config.limits.rewrite_memo_bytes))),
        }),
        consent: web::Data::new(consent),
        forms,
    };
    let workers = config.listen.workers;

    let public_shared = shared.clone();
    let public = HttpServer::new(move || {
        let s = public_shared.clone();
        App::new()
            .wrap(from_fn(telemetry::request_log))
            .app_data(s.privacy.clone())
            .app_data(s.store.clone())
            .app_data(s.page_rewrite.clone())
            .app_data(s.consent.clone())
            .app_data(web::Data::new(s.proxy_settings.clone()))
            .app_data(web::Data::new(Proxy::new(s.proxy_settings.clone())))
            .configure(configure_health)
            .configure(consent::configure)
            .configure(|c| forms::configure(c, &s.forms))
            .service(web::scope("/_gate").default_service(web::to(unknown_gate_path)))
            .default_service(web::to(proxy_handler))
    });
    let admin_shared = shared.clone();
    let admin = HttpServer::new(move || {
        let s = admin_shared.clone();
        App::new()
            .wrap(from_fn(telemetry::request_log))
            .app_data(s.store.clone())
            .app_data(web::Data::new(s.proxy_settings.clone()))
            .configure(configure_health)
    });
    // Responses go out as several writes (head, then body chunks); with Nagle's algorithm on, a
    // keep-alive visitor's delayed ACK would hold each response back ~40 ms.
    let public = public.on_connect(disable_nagle);
    let admin = admin.on_connect(disable_nagle);
    let public = if workers > 0 {
        public.workers(workers)
    } else {
        public
    };
    let public = public
        .bind(config.listen.public)
        .map_err(bind_error("public", config.listen.public))?;
    let public_addr = first_addr(public.addrs(), config.listen.public);
    // The admin side serves a handful of operators: two workers are plenty.
    let admin = admin
        .workers(2)
        .bind(config.listen.admin)
        .map_err(bind_error("admin", config.listen.admin))?;
    let admin_addr = first_addr(admin.addrs(), config.listen.admin);
    let (public, admin) = (public.run(), admin.run());
    let handles = vec![public.handle(), admin.handle()];
    let tasks = vec![tokio::spawn(public), tokio::spawn(admin)];
    tracing::info!(%public_addr, %admin_addr, upstream = %config.upstream.base_url(), "consentgate listening");
    Ok(RunningGate {
        public_addr,
        admin_addr,
        handles,
        tasks,
    })
}

fn disable_nagle(conn: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
        let _ = tcp.set_nodelay(true);
    }
}

fn bind_error(which: &'static str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> StartError {
    move |source| StartError::Bind {
        which,
        addr,
        source,
    }
}

fn first_addr(addrs: Vec<SocketAddr>, fallback: SocketAddr) -> SocketAddr {
    addrs.first().copied().unwrap_or(fallback)
}

/// `/_gate/healthz` and `/_gate/readyz`, on both listeners.
fn configure_health(cfg: &mut web::ServiceConfig) {
    cfg.route("/_gate/healthz", web::get().to(healthz))
        .route("/_gate/readyz", web::get().to(readyz));
}

#[derive(Serialize)]
struct Readiness {
    ready: bool,
    upstream: &'static str,
    store: &'static str,
    store_backend: &'static str,
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .json(serde_json::json!({ "status": "up", "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(settings: web::Data<Arc<ProxySettings>>, store: web::Data<Store>) -> HttpResponse {
    let (upstream_ok, store_result) = tokio::join!(upstream_reachable(&settings), store.ping());
    let store_ok = store_result.is_ok();
    let body = Readiness {
        ready: upstream_ok && store_ok,
        upstream: if upstream_ok { "ok" } else { "unreachable" },
        store: if store_ok { "ok" } else { "unavailable" },
        store_backend: store.backend_name(),
    };
    if body.ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// A TCP connection to the upstream within the connect timeout. Cheaper and more honest than
/// a page request, which would also test the CMS's own health.
async fn upstream_reachable(settings: &ProxySettings) -> bool {
    let Some(host) = settings.upstream.host_str() else {
        return false;
    };
    let port = settings.upstream.port_or_known_default().unwrap_or(80);
    let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
    matches!(
        tokio::time::timeout(settings.connect_timeout, connect).await,
        Ok(Ok(_))
    )
}

async fn unknown_gate_path(req: HttpRequest) -> HttpResponse {
    // /_gate/ belongs to the gate: never forwarded, so a site path cannot shadow it.
    HttpResponse::NotFound().json(serde_json::json!({
        "error": "not_found",
        "message": format!("{} is not a consentgate endpoint", req.path()),
    }))
}

async fn proxy_handler(
    req: HttpRequest,
    payload: web::Payload,
    proxy: web::Data<Proxy>,
    privacy: web::Data<Privacy>,
    page_rewrite: web::Data<html::PageRewrite>,
    consent: web::Data<ConsentService>,
) -> Result<HttpResponse, ProxyError> {
    let visitor = privacy.visitor(&req);
    let wire = consent.wire_policy(&req);
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let policy = ForwardPolicy {
        keep_cookie: &|name| wire.keep_cookie(name),
        set_cookies: wire.deletion_headers(host),
        html: Some(page_rewrite.get_ref()),
    };
    proxy
        .forward(&req, RequestBody::Stream(payload), &visitor, policy)
        .await
}

/// The page rewriter exactly as the gate uses it (catalogue from config, the banner's and the
/// forms' tags injected), with the consent and forms areas that supply those tags. Shared by `start` and the
/// `rewrite`/`scan` commands, so what they print is what visitors get.
pub fn page_rewriter(
    config: &Config,
    keys: &Keys,
    store: Store,
) -> Result<(Rewriter, ConsentService, FormsService), StartError> {
    let catalogue = Arc::new(Catalogue::from_config(&config.trackers));
    let consent = ConsentService::new(config, keys, store.clone(), catalogue.clone())?;
    let forms = FormsService::new(config, keys, store)?;
    let settings = RewriteSettings {
        inject_head_html: consent.head_html() + &forms.head_html(),
        max_memory: config.limits.rewrite_max_memory_bytes,
        inline_script_max: config.limits.inline_script_max_bytes,
    };
    Ok((Rewriter::new(catalogue, settings), consent, forms))
}
