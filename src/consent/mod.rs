//! Consent: the banner bundle (texts, categories, vendors built in), the visitor's decision
//! and its receipt (proof of consent), the signed `cg_consent` cookie, withdrawal, and the wire
//! policy the proxy applies to every request (tracker cookies of categories without consent are
//! not forwarded and are deleted in the browser). Consent itself is applied in the browser by
//! banner.js; the gate only vouches for it. The HTTP routes live in the server; this module is
//! what they call.
//! For operators it keeps every receipt findable by id and by date, the banner texts each
//! receipt refers to, and an ISO/IEC TS 27560 export.

mod archive;
mod banner;
mod cookie;
pub mod csp;
pub mod iso27560;
mod limit;
mod model;
mod record;
mod records;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;

pub use archive::{ShownCategory, ShownContent, ShownTexts, ShownVendor};
pub use banner::{category_id, Bundle, BundleError};
pub use cookie::{ConsentCookie, CookieCodec, CookieRejection, COOKIE_NAME};
pub use model::{Action, Decision, DecisionError, DecisionRequest, Receipt, WithdrawRequest};
pub use record::{
    DecisionAnswer, OwnRecord, RecordContext, RecordError, Recorded, HISTORY_PAGE_MAX,
};
pub use records::{valid_consent_id, ReceiptFilter, ReceiptList, MAX_RECEIPT_PAGE};
pub use wire::{ancestor_paths, WirePolicy};

use crate::clock::SharedClock;
use crate::config::{Config, RateLimitConfig};
use crate::http::extract::request_cookies;
use crate::keys::Keys;
use crate::stats::Stats;
use crate::store::Store;
use crate::trackers::Catalogue;

/// Why the consent service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("consent banner: {0}")]
    Bundle(#[from] BundleError),
}

/// Everything the consent routes and the wire policy need; one per gate, shared by all workers.
pub struct ConsentService {
    codec: CookieCodec,
    bundle: Bundle,
    store: Store,
    stats: Stats,
    clock: SharedClock,
    catalogue: Arc<Catalogue>,
    /// Decision lifetime (cookie Max-Age).
    lifetime: Duration,
    /// Receipt TTL in the store: lifetime + proof retention.
    receipt_ttl: Duration,
    revision: u32,
    default_language: String,
    /// `consent.privacy_statement_url`, for exports.
    privacy_statement: String,
    /// Largest accepted request body, bytes (`limits.max_gate_body_bytes`).
    max_body: usize,
    /// Decisions per anonymised address per window (`consent.rate_limit`).
    rate_limit: RateLimitConfig,
    /// The Content-Security-Policy variants of this catalogue (`[csp]`).
    csp: csp::CspPolicy,
}

impl ConsentService {
    /// Build from the validated config: the banner bundle is built here. Decisions are counted
    /// in `stats`; `clock` tells cookie expiry and receipt times.
    pub fn new(
        cfg: &Config,
        keys: &Keys,
        store: Store,
        catalogue: Arc<Catalogue>,
        stats: Stats,
        clock: SharedClock,
    ) -> Result<Self, ConsentError> {
        let c = &cfg.consent;
        let bundle = Bundle::build_with_relay(c, &catalogue, &cfg.relay.google_analytics)?;
        let csp = csp::CspPolicy::new(&cfg.csp, &catalogue, &cfg.trackers.learned.approved_origins);
        Ok(Self {
            codec: CookieCodec::new(
                keys.consent_cookie.clone(),
                c.cookie_lifetime,
                c.policy_revision,
                bundle.optional.clone(),
            ),
            bundle,
            store,
            stats,
            clock,
            catalogue,
            lifetime: c.cookie_lifetime,
            receipt_ttl: c.cookie_lifetime + c.proof_retention,
            revision: c.policy_revision,
            default_language: c.default_language.clone(),
            privacy_statement: c.privacy_statement_url.clone(),
            max_body: cfg.limits.max_gate_body_bytes,
            rate_limit: c.rate_limit,
            csp,
        })
    }

    /// The Content-Security-Policy of pages, per consent state.
    pub fn csp(&self) -> &csp::CspPolicy {
        &self.csp
    }

    /// HTML the rewriter puts first in `<head>`: the guard script (and, when the gate relays
    /// analytics, relay.js), synchronous so it runs before any site script, at its
    /// content-hashed, immutable URL.
    pub fn guard_html(&self) -> String {
        let mut html = format!("<script src=\"{}\"></script>", self.bundle.guard.url());
        // The relay's rewrite must be in place before any site script as well.
        if let Some(relay) = &self.bundle.relay {
            html.push_str(&format!("<script src=\"{}\"></script>", relay.url()));
        }
        html
    }

    /// HTML the rewriter injects into `<head>`: the banner script (deferred) and stylesheet
    /// at content-hashed, immutable URLs.
    pub fn head_html(&self) -> String {
        format!(
            "<script src=\"{}\" defer></script><link rel=\"stylesheet\" href=\"{}\">",
            self.bundle.js.url(),
            self.bundle.css.url()
        )
    }

    /// HTML the rewriter appends to a page with a click-to-load placeholder: embed.js,
    /// deferred, at its content-hashed URL.
    pub fn embed_html(&self) -> String {
        format!(
            "<script src=\"{}\" defer></script>",
            self.bundle.embed.url()
        )
    }

    /// The built banner (file names, bodies, texts hashes).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Largest request body the consent routes accept, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// What the request's `cg_consent` cookies say. Several (a browser sends one per path
    /// and domain it was set for, and one may be forged at a sub-path) count only if they are
    /// one and the same valid value.
    fn sent<'r>(&self, req: &'r HttpRequest) -> Sent<'r> {
        let mut values = request_cookies(req)
            .filter(|c| c.name() == COOKIE_NAME)
            .filter_map(|c| c.value_raw());
        let Some(first) = values.next() else {
            return Sent::Nothing;
        };
        if values.any(|v| v != first) {
            return Sent::Invalid;
        }
        match self.codec.decode(first, self.clock.unix_secs()) {
            Ok(cookie) => Sent::Valid(first, cookie),
            Err(_) => Sent::Invalid,
        }
    }

    /// The visitor's valid consent, if any (MAC, shape, lifetime, policy revision and
    /// categories checked).
    pub fn consent_of(&self, req: &HttpRequest) -> Option<ConsentCookie> {
        match self.sent(req) {
            Sent::Valid(_, cookie) => Some(cookie),
            Sent::Nothing | Sent::Invalid => None,
        }
    }

    /// The categories the request's consent cookie grants (no store read).
    pub fn granted(&self, req: &HttpRequest) -> Granted {
        Granted(self.consent_of(req).map(|c| c.granted).unwrap_or_default())
    }

    /// The answer of `GET /_gate/consent/state`: the categories the request's consent cookie
    /// grants, as the gate verified them, with the exact value verified (the page keeps the
    /// answer under it). No store read.
    pub fn verified_state<'r>(&self, req: &'r HttpRequest) -> VerifiedState<'r> {
        match self.sent(req) {
            Sent::Valid(value, cookie) => VerifiedState {
                value: Some(value),
                granted: Some(cookie.granted),
                id: Some(cookie.id),
            },
            Sent::Nothing | Sent::Invalid => VerifiedState::default(),
        }
    }

    /// What the proxy does with this request's cookies.
    pub fn wire_policy(&self, req: &HttpRequest) -> WirePolicy {
        let (granted, rejected, valid) = match self.sent(req) {
            Sent::Valid(_, cookie) => (cookie.granted, false, true),
            Sent::Nothing => (Vec::new(), false, false),
            Sent::Invalid => (Vec::new(), true, false),
        };
        let mut policy = WirePolicy::new(
            self.catalogue.clone(),
            granted,
            request_cookies(req).filter_map(|c| c.name_raw()),
        );
        if valid {
            policy = policy.verified();
        }
        if rejected {
            // A forged, tampered, expired or old cookie is deleted before the page reads it,
            // wherever it could have been set for this request, so the banner asks again.
            policy.also_delete(COOKIE_NAME, ancestor_paths(req.path()));
        }
        policy
    }
}

/// The optional categories a request's consent cookie grants, as the gate verified them (MAC,
/// shape, lifetime, policy revision); none without a valid cookie. Handlers take it as an
/// extractor (the server implements it with [`ConsentService::granted`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Granted(pub Vec<String>);

impl Granted {
    /// Whether `category` is granted.
    pub fn includes(&self, category: &str) -> bool {
        self.0.iter().any(|c| c == category)
    }
}

/// What a request's consent cookies say (see [`ConsentService::sent`]).
enum Sent<'r> {
    Nothing,
    Valid(&'r str, ConsentCookie),
    Invalid,
}

/// The JSON answer of `GET /_gate/consent/state`: `{"value", "granted", "id"}` for a valid
/// consent cookie, all `null` otherwise (no cookie, or one that does not count).
#[derive(Debug, Default, serde::Serialize)]
pub struct VerifiedState<'r> {
    /// The cookie value verified.
    pub value: Option<&'r str>,
    /// Granted optional categories.
    pub granted: Option<Vec<String>>,
    /// Receipt id.
    pub id: Option<String>,
}

pub use crate::clock::rfc3339;

/// A consent service on `store` with a fixed test secret and the built-in catalogue, for unit
/// tests here and in the modules above.
#[cfg(test)]
pub(crate) fn service_with(cfg: &Config, store: Store) -> ConsentService {
    let keys = Keys::derive(&crate::config::Secret::new(
        b"unit-test-secret-unit-test-secret!!".to_vec(),
    ));
    let clock = crate::clock::SystemClock::shared();
    let stats = Stats::new(store.clone(), clock.clone());
    ConsentService::new(
        cfg,
        &keys,
        store,
        Arc::new(Catalogue::builtin()),
        stats,
        clock,
    )
    .expect("the default banner builds")
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    pub(super) fn service(revision: u32) -> ConsentService {
        let mut cfg = Config::default();
        cfg.consent.policy_revision = revision;
        service_with(&cfg, Store::memory())
    }

    fn cookie_for(svc: &ConsentService, granted: &[&str], revision: u32) -> String {
        svc.codec.encode(&ConsentCookie {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            granted: granted.iter().map(|s| s.to_string()).collect(),
            revision,
            issued: svc.clock.unix_secs(),
        })
    }

    fn req(cookie: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header(("cookie", cookie))
            .to_http_request()
    }

    #[test]
    fn valid_consent_lets_granted_tracker_cookies_through() {
        let svc = service(1);
        let c = cookie_for(&svc, &["analytics"], 1);
        let policy = svc.wire_policy(&req(&format!("{COOKIE_NAME}={c}; _ga=1; _fbp=2")));
        assert!(policy.keep_cookie("_ga"));
        assert!(!policy.keep_cookie("_fbp"));
        let names: Vec<String> = policy
            .deletions(&crate::http::SiteHost::default())
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        assert_eq!(names, vec!["_fbp"]);
    }

    #[test]
    fn tampered_or_old_revision_cookie_counts_as_no_consent_and_is_deleted() {
        let svc = service(2);
        let old = cookie_for(&svc, &["analytics"], 1);
        let forged = cookie_for(&svc, &["analytics"], 2).replace("analytics", "marketing");
        for bad in [old, forged] {
            let policy = svc.wire_policy(&req(&format!("{COOKIE_NAME}={bad}; _ga=1")));
            assert!(!policy.keep_cookie("_ga"));
            let names: Vec<String> = policy
                .deletions(&crate::http::SiteHost::default())
                .iter()
                .map(|c| c.name().to_owned())
                .collect();
            assert!(names.contains(&COOKIE_NAME.to_owned()), "{names:?}");
            assert!(names.contains(&"_ga".to_owned()));
        }
    }

    #[test]
    fn head_html_points_at_the_hashed_assets() {
        let svc = service(1);
        let html = svc.head_html();
        assert!(html.contains(&format!("src=\"/_gate/{}\" defer", svc.bundle.js.name)));
        assert!(html.contains(&format!("href=\"/_gate/{}\"", svc.bundle.css.name)));
        // The guard is synchronous: no defer, no async.
        assert_eq!(
            svc.guard_html(),
            format!("<script src=\"/_gate/{}\"></script>", svc.bundle.guard.name)
        );
    }

    fn req_at(path: &str, cookie: &str) -> HttpRequest {
        TestRequest::with_uri(path)
            .insert_header(("cookie", cookie))
            .to_http_request()
    }

    #[test]
    fn verified_state_names_the_value_it_verified_and_nothing_for_a_forgery() {
        let svc = service(1);
        let good = cookie_for(&svc, &["analytics"], 1);
        let with_good = req(&format!("{COOKIE_NAME}={good}"));
        let state = svc.verified_state(&with_good);
        assert_eq!(state.value, Some(good.as_str()));
        assert_eq!(state.granted, Some(vec!["analytics".to_owned()]));
        assert_eq!(state.id.as_deref(), Some("AAAAAAAAAAAAAAAAAAAAAA"));
        let forged = good.replace(".analytics.", ".analytics~marketing.");
        let with_forged = req(&format!("{COOKIE_NAME}={forged}"));
        let state = svc.verified_state(&with_forged);
        assert_eq!((state.value, state.granted), (None, None));
        let without = req("session=1");
        let state = svc.verified_state(&without);
        assert_eq!((state.value, state.granted), (None, None));
    }

    #[test]
    fn a_second_different_consent_cookie_makes_both_invalid_and_deleted_at_each_path() {
        let svc = service(1);
        let good = cookie_for(&svc, &["analytics"], 1);
        let forged = good.replace(".analytics.", ".analytics~marketing.");
        // A browser sends the cookie of the longer path first.
        let both = req_at(
            "/blog/post",
            &format!("{COOKIE_NAME}={forged}; {COOKIE_NAME}={good}"),
        );
        assert!(svc.consent_of(&both).is_none());
        assert_eq!(svc.verified_state(&both).granted, None);
        let deleted: Vec<String> = svc
            .wire_policy(&both)
            .deletions(&crate::http::SiteHost::default())
            .iter()
            .filter(|c| c.name() == COOKIE_NAME)
            .filter_map(|c| c.path().map(str::to_owned))
            .collect();
        assert_eq!(deleted, vec!["/", "/blog", "/blog/", "/blog/post"]);
        // The same valid value twice (set for two paths) still counts.
        let twice = req_at(
            "/blog/post",
            &format!("{COOKIE_NAME}={good}; {COOKIE_NAME}={good}"),
        );
        assert!(svc.consent_of(&twice).is_some());
    }
}
