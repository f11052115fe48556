//! The two listeners. [`start`] builds the one [`AppState`] and mounts the areas on them: the
//! public listener serves `/_gate/*` (liveness, consent, forms, assets) and proxies everything
//! else to the upstream ([`public`]); the admin listener (loopback by default) serves liveness,
//! readiness ([`health`]), `/metrics` and the dashboard ([`admin`]). Every error answer is
//! rendered for its request by
//! [`error_pages`]. [`RunningGate::run`] serves until SIGTERM or SIGINT (a graceful stop of
//! both listeners together, within `listen.shutdown_timeout`) and reloads on SIGHUP
//! ([`reload`]).

pub mod admin;
mod connections;
pub mod demo;
pub mod discovery;
pub mod health;
mod metered;
mod page_filter;
mod page_views;
pub mod passthrough;
pub mod public;
pub mod readiness;
pub mod reload;
pub mod state;
pub mod traffic;

use std::net::SocketAddr;
use std::sync::Arc;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer};

pub use page_filter::PageRewrite;
pub use state::{AppState, Areas, StartError, State, Worker};

use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::consent::ConsentService;
use crate::forms::FormsService;
use crate::http::error_pages;
use crate::keys::Keys;
use crate::rewrite::Rewriter;
use crate::stats::Stats;
use crate::store::Store;
use crate::telemetry;
use crate::trackers::SiteVendors;
use connections::Connections;
pub use reload::{Reloaded, Reloader};

/// A started gate. [`RunningGate::stop`] stops it gracefully; dropping it stops the
/// listeners without waiting for requests in flight.
pub struct RunningGate {
    pub public_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    state: Arc<AppState>,
    handles: Vec<ServerHandle>,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Closes public connections that trickle a request head.
    reaper: tokio::task::JoinHandle<()>,
}

impl RunningGate {
    /// The gate's state (its store, services and statistics), e.g. for tests.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stop both listeners, letting in-flight requests finish.
    pub async fn stop(mut self) {
        for handle in std::mem::take(&mut self.handles) {
            handle.stop(true).await;
        }
        self.write_counts().await;
        self.log_stopped();
    }

    /// Write the counts the statistics writer still holds (it writes about once a second),
    /// waiting a bounded time for the store.
    async fn write_counts(&self) {
        let flush = self.state.stats.flush();
        if tokio::time::timeout(std::time::Duration::from_secs(2), flush)
            .await
            .is_err()
        {
            tracing::warn!("the last statistics were not written before stopping");
        }
    }

    /// Run until both listeners stop (SIGTERM / SIGINT stop them gracefully); SIGHUP reloads
    /// nothing. See [`RunningGate::run`].
    pub async fn wait(self) -> std::io::Result<()> {
        self.run(None).await
    }

    /// Serve until SIGTERM or SIGINT, then stop gracefully: both listeners stop accepting at
    /// once, idle keep-alive connections close, requests in flight get up to
    /// `listen.shutdown_timeout` to finish (a second signal ends them at once). On SIGHUP,
    /// `reloader` reads the configuration file again ([`reload`]); without one, SIGHUP is
    /// logged and ignored. Returns once both listeners have stopped.
    pub async fn run(mut self, mut reloader: Option<Reloader>) -> std::io::Result<()> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let tasks = std::mem::take(&mut self.tasks);
        let mut served = std::pin::pin!(futures_util::future::join_all(tasks));
        let signal = loop {
            tokio::select! {
                _ = term.recv() => break "SIGTERM",
                _ = int.recv() => break "SIGINT",
                _ = hup.recv() => match reloader.as_mut() {
                    Some(reloader) => {
                        reloader.reload(&self.state);
                    }
                    None => tracing::info!("SIGHUP: no configuration file to reload"),
                },
                // The listeners stopped by themselves (e.g. `stop` on a handle).
                results = &mut served => {
                    for result in results {
                        result.map_err(std::io::Error::other)??;
                    }
                    self.write_counts().await;
                    self.log_stopped();
                    return Ok(());
                }
            }
        };
        let deadline = self.state.config.listen.shutdown_timeout;
        tracing::info!(
            signal,
            deadline = %humantime::format_duration(deadline),
            "stopping: no new connections; requests in flight may finish"
        );
        let handles = std::mem::take(&mut self.handles);
        let graceful = futures_util::future::join_all(handles.iter().map(|h| h.stop(true)));
        tokio::select! {
            _ = graceful => {}
            _ = term.recv() => Self::force_stop(&handles).await,
            _ = int.recv() => Self::force_stop(&handles).await,
        }
        for result in served.await {
            result.map_err(std::io::Error::other)??;
        }
        self.write_counts().await;
        self.log_stopped();
        Ok(())
    }

    async fn force_stop(handles: &[ServerHandle]) {
        tracing::warn!("second stop signal: closing the connections of requests in flight");
        futures_util::future::join_all(handles.iter().map(|h| h.stop(false))).await;
    }

    /// The last word: what the embedded store loses with the process.
    fn log_stopped(&self) {
        match self.state.store.held_in_memory() {
            Some(held) if held.receipts > 0 || held.form_entries > 0 => tracing::warn!(
                receipts = held.receipts,
                form_entries = held.form_entries,
                "consentgate stopped; the embedded store's consent receipts and form entries \
                 are lost with it"
            ),
            _ => tracing::info!("consentgate stopped"),
        }
    }
}

impl Drop for RunningGate {
    fn drop(&mut self) {
        self.reaper.abort();
        for handle in &self.handles {
            // The stop command is sent right away; the returned future only waits for it.
            drop(handle.stop(false));
        }
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
    start_with_clock(config, store, SystemClock::shared()).await
}

/// [`start_with`] on another clock: for tests in which time must pass (session expiry, day
/// boundaries) without waiting for it.
pub async fn start_with_clock(
    config: Config,
    store: Store,
    clock: SharedClock,
) -> Result<RunningGate, StartError> {
    crate::proxy::install_tls_provider();
    config.secret.as_ref().ok_or(StartError::MissingSecret)?;
    let state = Arc::new(AppState::build_with_clock(config, store, clock)?);
    if state.store.held_in_memory().is_some() {
        let forms = state.areas().forms.forms().len();
        tracing::warn!(
            forms,
            "store.backend = \"memory\": consent receipts{} live in this process only and are \
             lost when it stops; use Redis to keep them",
            if forms > 0 {
                " and contact-form entries"
            } else {
                ""
            }
        );
    }
    state.load_site_vendors(state::SITE_VENDOR_DAYS).await;
    state.spawn_background();
    spawn_site_vendor_refresh(Arc::downgrade(&state));
    let (listen, default_lang) = (state.config.listen.clone(), state.default_lang);

    let limits = &state.config.limits;
    // A connection with nothing in flight for longer than this is trickling a request head.
    let connections = Connections::new(
        limits.max_connections,
        limits.keep_alive + limits.header_timeout,
    );
    let public_state = state.clone();
    let public = HttpServer::new(move || {
        let state = public_state.clone();
        App::new()
            .app_data(Worker::data(&state))
            .wrap(from_fn(public::check_host))
            .wrap(error_pages(default_lang))
            .wrap(from_fn(telemetry::request_log))
            .wrap(from_fn(metered::count_public))
            .wrap(from_fn(connections::track_request))
            .configure(|cfg| public::configure(cfg, &state))
    });
    let admin_state = state.clone();
    let admin = HttpServer::new(move || {
        App::new()
            .app_data(Worker::data(&admin_state))
            .wrap(error_pages(default_lang))
            .wrap(from_fn(telemetry::request_log))
            .wrap(from_fn(metered::count_admin))
            .configure(admin::configure)
    });
    let registry = connections.clone();
    let public = public.on_connect(move |io, data| {
        disable_nagle(io);
        registry.on_connect(io, data);
    });
    let admin = admin.on_connect(|io, _| disable_nagle(io));
    let workers = match listen.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // Whole seconds for actix; rounded up so a deadline is never shorter than configured.
    let shutdown_secs = listen.shutdown_timeout.as_secs_f64().ceil() as u64;
    let public = public
        .disable_signals()
        .shutdown_timeout(shutdown_secs)
        .workers(workers)
        .client_request_timeout(limits.header_timeout)
        .client_disconnect_timeout(DISCONNECT_TIMEOUT)
        .keep_alive(limits.keep_alive)
        // actix counts per worker; together they allow about the configured total.
        .max_connections(limits.max_connections.div_ceil(workers))
        .backlog(limits.backlog)
        .bind(listen.public)
        .map_err(bind_error("public", listen.public))?;
    let public_addr = first_addr(public.addrs(), listen.public);
    let admin = admin
        .disable_signals()
        .shutdown_timeout(shutdown_secs)
        .workers(ADMIN_WORKERS)
        .client_request_timeout(limits.header_timeout)
        .client_disconnect_timeout(DISCONNECT_TIMEOUT)
        .keep_alive(limits.keep_alive)
        .max_connections(ADMIN_MAX_CONNECTIONS)
        .bind(listen.admin)
        .map_err(bind_error("admin", listen.admin))?;
    let admin_addr = first_addr(admin.addrs(), listen.admin);
    let (public, admin) = (public.run(), admin.run());
    let handles = vec![public.handle(), admin.handle()];
    let tasks = vec![tokio::spawn(public), tokio::spawn(admin)];
    let reaper = connections.spawn_reaper();
    tracing::info!(
        listener = "public",
        addr = %public_addr,
        workers,
        upstream = %state.config.upstream.base_url(),
        "listening"
    );
    tracing::info!(
        listener = "admin",
        addr = %admin_addr,
        workers = ADMIN_WORKERS,
        "listening"
    );
    Ok(RunningGate {
        public_addr,
        admin_addr,
        state,
        handles,
        tasks,
        reaper,
    })
}

/// The admin side serves a handful of operators: two workers are plenty.
const ADMIN_WORKERS: usize = 2;
/// Connections the admin listener keeps open per worker.
const ADMIN_MAX_CONNECTIONS: usize = 64;
/// Time a client has to take the end of a closing connection.
const DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Responses go out as several writes (head, then body chunks); with Nagle's algorithm on, a
/// keep-alive visitor's delayed ACK would hold each response back ~40 ms.
fn disable_nagle(conn: &dyn std::any::Any) {
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

/// Every `consent.banner_vendors_refresh` (as last loaded: a reload changes the next wait),
/// the vendors other gates on the same store found join this gate's set; ends once the gate's
/// state is gone.
fn spawn_site_vendor_refresh(state: std::sync::Weak<AppState>) {
    tokio::spawn(async move {
        loop {
            let Some(every) = state
                .upgrade()
                .map(|s| s.areas().config.consent.banner_vendors_refresh)
            else {
                return;
            };
            tokio::time::sleep(every).await;
            let Some(state) = state.upgrade() else {
                return;
            };
            state.load_site_vendors(2).await;
        }
    });
}

/// The page rewriter exactly as the gate uses it (catalogue from config, the banner's and the
/// forms' tags injected), with the consent and forms services that supply those tags. For the
/// `rewrite`/`scan` commands (what they print is what visitors get) and for tests that need the
/// banner's texts hash; nothing is counted (no statistics writer runs).
pub fn page_rewriter(
    config: &Config,
    keys: &Keys,
    store: Store,
) -> Result<(Rewriter, ConsentService, FormsService), StartError> {
    let clock = SystemClock::shared();
    let stats = Stats::new(store.clone(), clock.clone());
    let parts = state::AreaParts {
        stats,
        clock,
        store,
        site_vendors: Arc::new(SiteVendors::new()),
    };
    state::areas(config, keys, parts)
}
