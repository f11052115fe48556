//! Consent: the banner bundle (texts, categories, vendors built in), the visitor's decision
//! and its receipt (proof of consent), the signed `cg_consent` cookie, withdrawal, and the wire
//! policy the proxy applies to every request (tracker cookies of categories without consent are
//! not forwarded and are deleted in the browser). Consent itself is applied in the browser by
//! banner.js; the gate only vouches for it. The HTTP routes live in the server; this module is
//! what they call.

mod banner;
mod cookie;
mod limit;
mod model;
mod record;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use actix_web::HttpRequest;

pub use banner::{category_id, Bundle, BundleError};
pub use cookie::{ConsentCookie, CookieCodec, CookieRejection, COOKIE_NAME};
pub use model::{Action, Decision, DecisionError, DecisionRequest, Receipt, WithdrawRequest};
pub use record::{
    DecisionAnswer, OwnRecord, RecordContext, RecordError, Recorded, HISTORY_PAGE_MAX,
};
pub use wire::WirePolicy;

use crate::clock::SharedClock;
use crate::config::{Config, RateLimitConfig};
use crate::http::extract::{request_cookie, request_cookies};
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
    /// Largest accepted request body, bytes (`limits.max_gate_body_bytes`).
    max_body: usize,
    /// Decisions per anonymised address per window (`consent.rate_limit`).
    rate_limit: RateLimitConfig,
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
        Ok(Self {
            codec: CookieCodec::new(
                keys.consent_cookie.clone(),
                c.cookie_lifetime,
                c.policy_revision,
            ),
            bundle: Bundle::build(c, &catalogue)?,
            store,
            stats,
            clock,
            catalogue,
            lifetime: c.cookie_lifetime,
            receipt_ttl: c.cookie_lifetime + c.proof_retention,
            revision: c.policy_revision,
            default_language: c.default_language.clone(),
            max_body: cfg.limits.max_gate_body_bytes,
            rate_limit: c.rate_limit,
        })
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

    /// The built banner (file names, bodies, texts hashes).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Largest request body the consent routes accept, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The visitor's valid consent, if any (MAC, lifetime and policy revision checked).
    pub fn consent_of(&self, req: &HttpRequest) -> Option<ConsentCookie> {
        let value = request_cookie(req, COOKIE_NAME)?;
        self.codec.decode(value, self.clock.unix_secs()).ok()
    }

    /// What the proxy does with this request's cookies.
    pub fn wire_policy(&self, req: &HttpRequest) -> WirePolicy {
        let sent = request_cookie(req, COOKIE_NAME);
        let valid = sent.and_then(|v| self.codec.decode(v, self.clock.unix_secs()).ok());
        let rejected = sent.is_some() && valid.is_none();
        let granted = valid.map(|c| c.granted).unwrap_or_default();
        let mut policy = WirePolicy::new(
            self.catalogue.clone(),
            granted,
            request_cookies(req).filter_map(|c| c.name_raw()),
        );
        if rejected {
            // A tampered, expired or old-revision cookie is deleted before banner.js reads it,
            // so the banner asks again instead of trusting it.
            policy.also_delete(COOKIE_NAME);
        }
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    pub(super) fn service(revision: u32) -> ConsentService {
        let mut cfg = Config::default();
        cfg.consent.policy_revision = revision;
        let keys = Keys::derive(&crate::config::Secret::new(
            b"unit-test-secret-unit-test-secret!!".to_vec(),
        ));
        let store = Store::memory();
        let clock = crate::clock::SystemClock::shared();
        let stats = Stats::new(store.clone(), clock.clone());
        let catalogue = Arc::new(Catalogue::builtin());
        ConsentService::new(&cfg, &keys, store, catalogue, stats, clock).unwrap()
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
    }
}
