//! The first-party Google Analytics relay (`[relay.google_analytics]`, off by default): after
//! analytics consent the visitor's browser contacts no Google host for GA4 or Tag Manager.
//!
//! * Scripts: `/_gate/relay/gtag/js?id=G-…`, `/gtag/destination?id=G-…` and `/gtm.js?id=GTM-…`
//!   are fetched from Google by the gate, for the configured ids only, and cached by HTTP's
//!   rules ([`scripts`]). Their text is served as Google sent it.
//! * Hits: the early guard (with the small relay script, `relay.<hash>.js`, which the consent
//!   bundle builds) sends GA4 collection requests to `/_gate/relay/ga/g/collect`. The gate
//!   checks them (a GA4 hit, a configured measurement id, analytics consent, size, rate per
//!   anonymised address), answers 204 at once, and queues them for Google ([`outbound`]) with
//!   no client address, the client id re-hashed under a rotating secret ([`client_id`]), the
//!   parameters rewritten by the table in [`params`] and a reduced user agent ([`agent`]) —
//!   the conditions regulators set for proxied analytics.
//! * `/_gate/relay/drop/…`: what the relay script sends here (Google signals copies of hits,
//!   Tag Manager's diagnostics pings) is answered 204 and never forwarded.
//!
//! The placeholders' YouTube thumbnails are fetched the same way, by the gate for every visitor
//! alike ([`thumbs`], `[embeds.youtube] thumbnails`, independent of the analytics relay).

mod agent;
mod client_id;
mod outbound;
pub mod params;
mod scripts;
pub mod thumbs;

use std::sync::Arc;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use url::form_urlencoded;

use crate::clock::SharedClock;
use crate::config::{Config, GaRelayConfig, RateLimitConfig, GA_VENDOR, RELAY_PREFIX as PREFIX};
use crate::consent::Granted;
use crate::http::extract::{read_bounded, BodyPace};
use crate::http::{Code, EdgeError};
use crate::metrics::Metrics;
use crate::privacy::Visitor;
use crate::store::{Store, StoreError};
use client_id::ClientIds;
use outbound::{Limits, OutHit, Outbound};
use params::Rules;
use scripts::{ScriptError, Scripts};

/// The relay of one gate; cheap to clone.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    config: GaRelayConfig,
    rules: Rules,
    client_ids: ClientIds,
    scripts: Scripts,
    outbound: Outbound,
    store: Store,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    /// The consent category of Google Analytics (`analytics` unless the operator moved it).
    category: String,
    pace: BodyPace,
}

/// The category `vendor` is in with the operator's `[trackers]` applied.
pub fn vendor_category(config: &Config, vendor: &str) -> String {
    config
        .trackers
        .resolved_vendors()
        .into_iter()
        .find(|v| v.id == vendor)
        .map_or_else(|| "analytics".to_owned(), |v| v.category)
}

impl Relay {
    /// The relay `config` describes, or `None` when it is off. Hits are counted in `metrics`;
    /// the client-id secret lives in `store`; `clock` tells its period and scripts' age.
    pub fn new(
        config: &Config,
        store: Store,
        clock: SharedClock,
        metrics: Arc<Metrics>,
    ) -> Option<Relay> {
        let ga = &config.relay.google_analytics;
        if !ga.enabled() {
            return None;
        }
        let limits = Limits {
            senders: ga.senders,
            timeout: ga.timeout,
            max_script_bytes: ga.max_script_bytes,
        };
        Some(Relay {
            inner: Arc::new(Inner {
                rules: Rules {
                    keep_utm: ga.keep_utm,
                    referrer: ga.referrer,
                    event_params: ga.event_params.clone(),
                },
                client_ids: ClientIds::new(store.clone(), clock.clone(), ga.cid_rotation),
                scripts: Scripts::new(ga.script_origin.clone(), clock.clone(), metrics.clone()),
                outbound: Outbound::new(ga.queue_capacity, limits, metrics.clone()),
                category: vendor_category(config, GA_VENDOR),
                pace: BodyPace {
                    timeout: config.limits.body_timeout,
                    min_rate: config.limits.body_min_rate,
                },
                config: ga.clone(),
                store,
                clock,
                metrics,
            }),
        })
    }

    /// Start the client that talks to Google, on the current actix system. Call once.
    pub fn spawn_background(&self) {
        self.inner.outbound.spawn();
    }

    /// Refuse what is not a GA4 hit for a configured measurement id, and hits without
    /// analytics consent; count the hit against the visitor's rate limit.
    async fn admit(
        &self,
        req: &HttpRequest,
        body: &[u8],
        granted: &Granted,
        visitor: &Visitor,
    ) -> Result<(), EdgeError> {
        let query = req.query_string();
        let version = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "v");
        if version.is_none_or(|(_, v)| v != "2") {
            return Err(EdgeError::new(Code::BadRequest).detail("not a GA4 hit (v=2)"));
        }
        let mut ids = std::iter::once(query)
            .chain(body_lines(body))
            .flat_map(|line| form_urlencoded::parse(line.as_bytes()))
            .filter(|(k, _)| k == "tid")
            .peekable();
        if ids.peek().is_none() {
            return Err(EdgeError::new(Code::BadRequest).detail("no measurement id (tid)"));
        }
        let listed = &self.inner.config.measurement_ids;
        if let Some((_, id)) =
            ids.find(|(_, id)| !listed.iter().any(|l| l.eq_ignore_ascii_case(id)))
        {
            return Err(EdgeError::new(Code::NotRelayed)
                .detail(format!("measurement id {id} is not relayed")));
        }
        if !granted.includes(&self.inner.category) {
            return Err(EdgeError::new(Code::NotRelayed).detail("no consent to analytics"));
        }
        self.count(visitor).await
    }

    async fn count(&self, visitor: &Visitor) -> Result<(), EdgeError> {
        let RateLimitConfig { max, window } = self.inner.config.rate_limit;
        if max == 0 {
            return Ok(());
        }
        let key = format!("relay:{}", visitor.anonymized_ip);
        let hits = self
            .inner
            .store
            .hit_rate_limit(&key, window)
            .await
            .map_err(store_error)?;
        if hits > max {
            return Err(EdgeError::new(Code::RateLimited).retry_after(window.as_secs().max(1)));
        }
        Ok(())
    }

    /// The hit as Google gets it.
    async fn rewrite(&self, req: &HttpRequest, body: &[u8]) -> Result<OutHit, EdgeError> {
        let key = self.inner.client_ids.key().await.map_err(store_error)?;
        let hashed = |cid: &str| client_id::hash(&key, cid);
        let rules = &self.inner.rules;
        let query = rules.rewrite(req.query_string(), &hashed);
        let lines: Vec<String> = body_lines(body)
            .map(|line| rules.rewrite(line, &hashed))
            .filter(|line| !line.is_empty())
            .collect();
        Ok(OutHit {
            method: req.method().clone(),
            url: format!("{}?{query}", self.inner.config.collect_url),
            user_agent: agent::reduced(req.headers().get(header::USER_AGENT)),
            body: Bytes::from(lines.join("\r\n")),
        })
    }

    /// `path_and_query` of the script a request asks for, below the script origin, with only
    /// the query parameters Google's loaders use; refused unless its id is configured.
    fn script_target(&self, req: &HttpRequest) -> Result<String, EdgeError> {
        let path = req.path().strip_prefix(PREFIX).ok_or(Code::NotFound)?;
        let cfg = &self.inner.config;
        let listed = match path {
            "/gtag/js" | "/gtag/destination" => &cfg.measurement_ids,
            "/gtm.js" => &cfg.container_ids,
            _ => return Err(Code::NotFound.into()),
        };
        let mut id = None;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
            match &*name {
                "id" => {
                    let found = listed.iter().find(|l| l.eq_ignore_ascii_case(&value));
                    let found = found.ok_or_else(|| {
                        EdgeError::new(Code::NotRelayed).detail(format!("{value} is not relayed"))
                    })?;
                    query.append_pair("id", found);
                    id = Some(found);
                }
                "l" | "cx" | "gtm" | "gtm_auth" | "gtm_preview" | "gtm_cookies_win"
                    if plain_token(&value) =>
                {
                    query.append_pair(&name, &value);
                }
                // Anything else could make the gate ask Google for something else than the
                // configured tag; it is left out.
                _ => {}
            }
        }
        id.ok_or_else(|| EdgeError::new(Code::BadRequest).detail("no id"))?;
        Ok(format!(
            "{}?{}",
            path.trim_start_matches('/'),
            query.finish()
        ))
    }
}

/// A query value made only of what Google's loader parameters use (a data layer name, a
/// build label, an environment token), at most 64 characters.
fn plain_token(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$' | b'.'))
}

/// The lines of a batched GA4 body (one event each), without empty ones.
fn body_lines(body: &[u8]) -> impl Iterator<Item = &str> {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split('\n')
        .map(|line| line.trim_end_matches('\r'))
        .filter(|line| !line.is_empty())
}

/// A store failure, logged here; the visitor learns only its code (the store's own message
/// may name servers).
fn store_error(e: StoreError) -> EdgeError {
    tracing::warn!(error = %e, "relay: store failed");
    EdgeError::new(if e.is_transient() {
        Code::StoreUnavailable
    } else {
        Code::StoreCorrupt
    })
}

/// The relay's routes under `/_gate/relay/`; nothing when the relay is off (those paths are
/// then `not_found`, as every unknown `/_gate/` path). Mount before the `/_gate` fallback.
pub fn configure(cfg: &mut web::ServiceConfig, relay: Option<&Relay>) {
    let Some(relay) = relay else { return };
    cfg.service(
        web::scope(PREFIX)
            .app_data(web::Data::new(relay.clone()))
            .service(
                web::resource("/ga/g/collect")
                    .route(web::get().to(hit))
                    .route(web::post().to(hit))
                    .default_service(web::to(wrong_method)),
            )
            .service(
                web::resource(["/gtag/js", "/gtag/destination", "/gtm.js"])
                    .route(web::get().to(script))
                    .default_service(web::to(wrong_method)),
            )
            .route("/drop/{rest:.*}", web::to(withheld))
            .default_service(web::to(not_found)),
    );
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// A GA4 hit: checked, answered at once, queued for Google.
async fn hit(
    relay: web::Data<Relay>,
    visitor: Visitor,
    granted: Granted,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, EdgeError> {
    let max = relay.inner.config.max_hit_bytes;
    let room = max
        .checked_sub(req.query_string().len())
        .ok_or_else(|| EdgeError::too_large(max))?;
    let body = read_bounded(&req, payload, room, relay.inner.pace).await?;
    relay.admit(&req, &body, &granted, &visitor).await?;
    let out = relay.rewrite(&req, &body).await?;
    relay.inner.outbound.send(out);
    Ok(no_content())
}

/// gtag.js, its destination part, or gtm.js, for a configured id.
async fn script(relay: web::Data<Relay>, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let target = relay.script_target(&req)?;
    let cached = relay
        .inner
        .scripts
        .get(&target, &relay.inner.outbound)
        .await
        .map_err(|e: ScriptError| EdgeError::new(Code::RelayUnavailable).detail(e.to_string()))?;
    Ok(cached.respond(&req, relay.inner.clock.now()))
}

/// Google signals copies and Tag Manager pings: answered, never forwarded.
async fn withheld(relay: web::Data<Relay>) -> HttpResponse {
    relay.inner.metrics.relay_hit("withheld");
    no_content()
}

async fn wrong_method() -> Result<HttpResponse, EdgeError> {
    Err(Code::MethodNotAllowed.into())
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    Err(EdgeError::new(Code::NotFound)
        .detail(format!("{} is not a consentgate endpoint", req.path())))
}
