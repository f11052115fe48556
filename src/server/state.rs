//! The one application state: every service the handlers use, built once from the
//! configuration ([`AppState::build`]) — the store, privacy with its geo reader (opened once),
//! statistics, the upstream settings, and the [`Areas`] a SIGHUP reload replaces (consent,
//! forms and the page filter, read once per request with [`AppState::areas`]). Each worker registers
//! it as its one `web::Data` ([`Worker`]), together with that worker's upstream client (awc
//! clients are bound to their thread). Handlers take [`State`] or a narrow extractor built on it
//! ([`Visitor`]); nothing in a handler can panic for want of state.

use std::future::{ready, Ready};
use std::ops::Deref;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use arc_swap::ArcSwap;

use super::discovery::Discovery;
use super::page_filter::{FirstBytesMemo, PageRewrite};
use super::passthrough::Passthroughs;
use super::readiness::ReadinessCache;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, ConfigError, ENV_SECRET};
use crate::consent::{ConsentError, ConsentService, Granted};
use crate::dashboard::{Dashboard, DashboardError};
use crate::forms::FormsService;
use crate::http::extract::BodyPace;
use crate::http::{Code, EdgeError, HashedAsset, Lang, SiteHosts};
use crate::keys::Keys;
use crate::metrics::Metrics;
use crate::privacy::{GeoError, Privacy, Visitor};
use crate::proxy::{Proxy, ProxySettings, TlsConfigError};
use crate::relay::thumbs::Thumbs;
use crate::relay::Relay;
use crate::rewrite::{RewriteMemo, RewriteSettings, Rewriter};
use crate::stats::{Stats, StatsSettings};
use crate::store::{Store, StoreError};
use crate::trackers::{Catalogue, SiteVendors};

/// Why the gate could not start (never a request's fault; those are [`EdgeError`]s).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Geo(#[from] GeoError),
    #[error("{0}")]
    Config(ConfigError),
    #[error("secret: {ENV_SECRET} is not set")]
    MissingSecret,
    #[error(transparent)]
    Consent(#[from] ConsentError),
    #[error(transparent)]
    Upstream(#[from] TlsConfigError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("dashboard: {0}")]
    Dashboard(#[from] DashboardError),
    #[error("listen.{which}: cannot listen on {addr}: {source}")]
    Bind {
        which: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Everything the handlers share; built once, read by every worker of both listeners.
pub struct AppState {
    pub config: Arc<Config>,
    pub clock: SharedClock,
    pub store: Store,
    /// Client addresses, countries (the geo database is opened here, once), anonymisation.
    pub privacy: Privacy,
    pub stats: Stats,
    /// What each worker's upstream client is built from.
    pub proxy_settings: Arc<ProxySettings>,
    /// Consent, forms and the page filter as last (re)loaded; see [`AppState::areas`].
    areas: ArcSwap<Areas>,
    /// The keys derived from the secret, to build reloaded areas with.
    keys: Keys,
    /// Language of the gate's own pages when neither the page nor the browser decides
    /// (`consent.default_language`).
    pub default_lang: Lang,
    /// The Prometheus metrics every area adds to (`/metrics` on the admin listener).
    pub metrics: Arc<Metrics>,
    /// The operators' dashboard (admin listener): sign-in, sessions, pages, audit log.
    pub dashboard: Dashboard,
    /// The site's names (`listen.hosts`), which every public request is checked against.
    pub sites: SiteHosts,
    /// The last readiness check (admin `/_gate/readyz`).
    pub readiness: ReadinessCache,
    /// The Google Analytics relay, when `[relay.google_analytics]` turns it on.
    pub relay: Option<Relay>,
    /// The placeholders' YouTube thumbnails, when `[embeds.youtube] thumbnails` turns them on.
    pub thumbs: Option<Thumbs>,
    /// The operator's `[[passthrough]]` prefixes.
    pub passthrough: Passthroughs,
    /// The vendors the site uses, named by the banner: kept across reloads, grown by every
    /// page rewritten, read back from the store at start and every
    /// `consent.banner_vendors_refresh` ([`AppState::load_site_vendors`]).
    pub site_vendors: Arc<SiteVendors>,
}

/// Days of notes read back at start: a vendor the gate has not found on any page for this
/// long is no longer named after a restart.
pub const SITE_VENDOR_DAYS: u64 = 90;

impl AppState {
    /// Build every service from the validated `config` on `store`, on the system clock.
    /// Nothing runs in the background until [`AppState::spawn_background`].
    pub fn build(config: Config, store: Store) -> Result<AppState, StartError> {
        AppState::build_with_clock(config, store, SystemClock::shared())
    }

    /// [`AppState::build`] with another clock (tests that need time to pass).
    pub fn build_with_clock(
        config: Config,
        store: Store,
        clock: SharedClock,
    ) -> Result<AppState, StartError> {
        let keys = Keys::derive(config.secret.as_ref().ok_or(StartError::MissingSecret)?);
        let metrics = Arc::new(Metrics::new());
        let store = store.observed_by(metrics.clone());
        let stats = Stats::for_gate(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            StatsSettings::new(&config.stats, &keys),
        );
        let dashboard = Dashboard::new(&config, &keys, store.clone(), clock.unix_secs())?;
        let relay = Relay::new(&config, store.clone(), clock.clone(), metrics.clone());
        let thumbs = Thumbs::new(&config.embeds.youtube, store.clone(), clock.clone());
        let mut proxy_settings = ProxySettings::from_config(&config)?;
        proxy_settings.metrics = Some(metrics.clone());
        let config = Arc::new(config);
        let site_vendors = Arc::new(SiteVendors::new());
        let areas = Areas::build(
            config.clone(),
            &keys,
            AreaParts {
                store: store.clone(),
                stats: stats.clone(),
                clock: clock.clone(),
                site_vendors: site_vendors.clone(),
            },
            &metrics,
        )?;
        Ok(AppState {
            privacy: Privacy::new(&config.privacy)?,
            proxy_settings: Arc::new(proxy_settings),
            areas: ArcSwap::from_pointee(areas),
            keys,
            default_lang: Lang::from_tag(&config.consent.default_language).unwrap_or(Lang::Nl),
            sites: SiteHosts::new(&config.listen.hosts),
            readiness: ReadinessCache::default(),
            relay,
            thumbs,
            passthrough: Passthroughs::new(&config.passthrough),
            site_vendors,
            config,
            clock,
            store,
            stats,
            metrics,
            dashboard,
        })
    }

    /// Consent, forms and the page filter in force: one atomic load. A request takes them once
    /// and keeps them to its end, so a reload never changes them halfway through a request.
    pub fn areas(&self) -> Arc<Areas> {
        self.areas.load_full()
    }

    /// Replace consent, forms and the page filter with ones built from `config` (SIGHUP):
    /// requests already running finish with the old ones, every later one gets the new ones,
    /// and no connection is touched. Only `[trackers]`, `[consent]` and `[[forms]]` are read
    /// from `config`; the caller keeps everything else as started. The forms' background work
    /// starts for the new areas and ends by itself with the old ones. Must run inside an actix
    /// system.
    pub fn reload(&self, config: Config) -> Result<Arc<Areas>, StartError> {
        let areas = Arc::new(Areas::build(
            Arc::new(config),
            &self.keys,
            AreaParts {
                store: self.store.clone(),
                stats: self.stats.clone(),
                clock: self.clock.clone(),
                site_vendors: self.site_vendors.clone(),
            },
            &self.metrics,
        )?);
        areas.forms.spawn_background();
        self.areas.store(areas.clone());
        Ok(areas)
    }

    /// Start the background work: the statistics writer, the forms' webhook sender and index
    /// sweep, the register's daily due-soon notification. Call once, inside an actix system.
    /// Each ends by itself once the state is gone.
    pub fn spawn_background(&self) {
        self.stats.spawn_writer();
        let forms = self.areas().forms.clone();
        forms.spawn_background();
        // The register's notification uses the forms as started (a reload does not restart it).
        self.dashboard
            .register
            .spawn_background(forms, self.clock.clone());
        if let Some(relay) = &self.relay {
            relay.spawn_background();
        }
    }

    /// Read back the vendors found on the site's pages in the last `days` days, today
    /// included ([`SITE_VENDOR_DAYS`] at start, two on each refresh); those the catalogue still
    /// holds join the set. A store that cannot answer is logged: the banner then names what
    /// this process finds, and the page's own vendors always.
    pub async fn load_site_vendors(&self, days: u64) {
        let now = self.clock.unix_secs();
        let days: Vec<String> = (0..days)
            .rev()
            .map(|back| crate::stats::day_key(now.saturating_sub(back * 86_400)))
            .collect();
        match self.stats.read_site_vendors(&days).await {
            Ok(ids) => {
                let catalogue = self.areas().page.rewriter.shared_catalogue();
                self.site_vendors
                    .add(&catalogue, ids.iter().map(String::as_str));
            }
            Err(e) => tracing::warn!(
                "cannot read the site's vendors from the store ({e}); the banner names those \
                 found from now on"
            ),
        }
    }

    /// How fast the bodies the gate reads itself must arrive (`limits.body_*`).
    pub fn body_pace(&self) -> BodyPace {
        BodyPace {
            timeout: self.config.limits.body_timeout,
            min_rate: self.config.limits.body_min_rate,
        }
    }
}

/// What a SIGHUP reload replaces: everything built from `[trackers]`, `[consent]` and
/// `[[forms]]` — the consent service with its banner bundle and cookie codec, the forms, and
/// the page filter with its catalogue, injected tags and its own rewrite memo (a page rewritten
/// under the old catalogue must not be served under the new one).
pub struct Areas {
    /// The configuration in force: as started, with the reloadable sections as last loaded.
    pub config: Arc<Config>,
    pub consent: ConsentService,
    pub forms: FormsService,
    /// The rewrite every proxied HTML page goes through.
    pub page: PageRewrite,
    /// Passive discovery of the cookies and origins this catalogue does not classify.
    pub discovery: Discovery,
}

/// What every build of the [`Areas`] shares with the state.
pub(super) struct AreaParts {
    pub store: Store,
    pub stats: Stats,
    pub clock: SharedClock,
    pub site_vendors: Arc<SiteVendors>,
}

impl Areas {
    fn build(
        config: Arc<Config>,
        keys: &Keys,
        parts: AreaParts,
        metrics: &Arc<Metrics>,
    ) -> Result<Areas, StartError> {
        let stats = parts.stats.clone();
        let site_vendors = parts.site_vendors.clone();
        let (rewriter, consent, forms) = areas(&config, keys, parts)?;
        let memo_bytes = config.limits.rewrite_memo_bytes;
        let discovery = Discovery::new(
            stats,
            rewriter.shared_catalogue(),
            SiteHosts::new(&config.listen.hosts),
            site_vendors,
        );
        Ok(Areas {
            page: PageRewrite {
                rewriter,
                memo: (memo_bytes > 0).then(|| Arc::new(RewriteMemo::new(memo_bytes))),
                metrics: Some(metrics.clone()),
                discovery: Some(discovery.clone()),
                first_bytes: FirstBytesMemo::new(),
            },
            discovery,
            config,
            consent,
            forms,
        })
    }

    /// The content-hashed file served at `/_gate/<name>`, if there is one.
    pub fn asset(&self, name: &str) -> Option<&HashedAsset> {
        let bundle = self.consent.bundle();
        [
            &bundle.guard,
            &bundle.js,
            &bundle.css,
            &bundle.vendors,
            &bundle.embed,
        ]
        .into_iter()
        .chain(&bundle.relay)
        .chain(self.forms.script())
        .find(|a| a.name == name)
    }
}

/// The page rewriter with the consent and forms services that supply its injected tags, as
/// the gate builds them.
pub(super) fn areas(
    config: &Config,
    keys: &Keys,
    parts: AreaParts,
) -> Result<(Rewriter, ConsentService, FormsService), StartError> {
    let AreaParts {
        store,
        stats,
        clock,
        site_vendors,
    } = parts;
    let catalogue =
        Arc::new(Catalogue::from_config(&config.trackers).allowing(&config.csp.allowed_origins));
    site_vendors.add(
        &catalogue,
        config.consent.banner_vendors.iter().map(String::as_str),
    );
    let consent = ConsentService::new(
        config,
        keys,
        store.clone(),
        catalogue.clone(),
        stats.clone(),
        clock.clone(),
    )?;
    let forms = FormsService::new(config, keys, store, stats, clock);
    let settings = RewriteSettings {
        inject_head_first_html: consent.guard_html(),
        inject_head_html: consent.head_html(),
        inject_form_html: forms.script_html(),
        inject_embed_html: consent.embed_html(),
        embed_language: config.consent.default_language.clone(),
        youtube_nocookie: config.embeds.youtube.nocookie,
        youtube_thumbnails: config.embeds.youtube.thumbnails,
        form_paths: forms.paths(),
        form_classes: forms.plugin_form_classes(),
        form_ids: forms.plugin_form_ids(),
        max_memory: config.limits.rewrite_max_memory_bytes,
        inline_script_max: config.limits.inline_script_max_bytes,
        max_decoded_body: config.limits.max_decoded_body_bytes,
        site_vendors: Some(site_vendors),
    };
    Ok((Rewriter::new(catalogue, settings), consent, forms))
}

/// What one worker registers as its one `web::Data`: the shared [`AppState`] and the
/// worker's own upstream client. Derefs to the state.
pub struct Worker {
    state: Arc<AppState>,
    /// This worker's upstream client (its connection pool).
    pub upstream: Proxy,
}

/// What handlers take.
pub type State = web::Data<Worker>;

impl Worker {
    /// The `web::Data` for one worker (call in the `HttpServer` factory).
    pub fn data(state: &Arc<AppState>) -> State {
        web::Data::new(Worker {
            upstream: Proxy::new(state.proxy_settings.clone()),
            state: state.clone(),
        })
    }
}

impl Deref for Worker {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.state
    }
}

/// The visitor of a request, from the state's [`Privacy`]: anonymised address, country,
/// https. Refused with `internal` (500), never a panic, if no state is registered.
impl FromRequest for Visitor {
    type Error = EdgeError;
    type Future = Ready<Result<Visitor, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<State>() {
            Some(state) => Ok(state.privacy.visitor(req)),
            None => Err(EdgeError::new(Code::Internal).detail("no application state registered")),
        })
    }
}

/// The categories the request's consent cookie grants, verified by the state's consent
/// service; none (never a panic) if no state is registered.
impl FromRequest for Granted {
    type Error = EdgeError;
    type Future = Ready<Result<Granted, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req
            .app_data::<State>()
            .map(|state| state.areas().consent.granted(req))
            .unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[actix_web::test]
    async fn a_visitor_without_state_is_an_internal_error_not_a_panic() {
        let req = TestRequest::default().to_http_request();
        let err = Visitor::extract(&req).await.unwrap_err();
        assert_eq!(err.code(), Code::Internal);
    }
}
