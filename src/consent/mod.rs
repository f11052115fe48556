//! Consent: the banner bundle (texts, categories, vendors built in), the visitor's decision
//! and its receipt (proof of consent), the signed `cg_consent` cookie, the `/_gate/consent` and
//! `/_gate/banner.*` routes, and the wire policy the proxy applies to every request (tracker
//! cookies of categories without consent are not forwarded and are deleted in the browser).
//! Consent itself is applied in the browser by banner.js; the gate only vouches for it.
//! For operators it keeps every receipt findable by id and by date, the banner texts each
//! receipt refers to, and an ISO/IEC TS 27560 export.

mod archive;
mod banner;
mod cookie;
pub mod iso27560;
mod model;
mod record;
mod records;
mod routes;
mod wire;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;

pub use archive::{ShownCategory, ShownContent, ShownTexts, ShownVendor};
pub use banner::{category_id, Bundle, BundleError};
pub use cookie::{ConsentCookie, CookieCodec, CookieRejection, COOKIE_NAME};
pub use model::{Action, Decision, DecisionError, DecisionRequest, Receipt};
pub use record::{OwnRecord, RecordContext, RecordError, Recorded};
pub use records::{valid_consent_id, ReceiptFilter, ReceiptList, MAX_RECEIPT_PAGE};
pub use routes::configure;
pub use wire::WirePolicy;

use crate::config::Config;
use crate::keys::Keys;
use crate::store::Store;
use crate::trackers::Catalogue;

/// Why the consent service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("consent banner: {0}")]
    Bundle(#[from] BundleError),
}

/// Everything the consent routes and the wire policy need; registered as
/// `web::Data<ConsentService>`.
pub struct ConsentService {
    codec: CookieCodec,
    bundle: Bundle,
    store: Store,
    catalogue: Arc<Catalogue>,
    /// Decision lifetime (cookie Max-Age).
    lifetime: Duration,
    /// Receipt TTL in the store: lifetime + proof retention.
    receipt_ttl: Duration,
    revision: u32,
    default_language: String,
    /// `consent.privacy_statement_url`, for exports.
    privacy_statement: String,
    /// Largest accepted request body, bytes.
    max_body: usize,
}

impl ConsentService {
    pub fn new(
        cfg: &Config,
        keys: &Keys,
        store: Store,
        catalogue: Arc<Catalogue>,
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
            catalogue,
            lifetime: c.cookie_lifetime,
            receipt_ttl: c.cookie_lifetime + c.proof_retention,
            revision: c.policy_revision,
            default_language: c.default_language.clone(),
            privacy_statement: c.privacy_statement_url.clone(),
            max_body: cfg.limits.max_gate_body_bytes,
        })
    }

    /// HTML the rewriter injects before `</head>`: the banner script (deferred) and stylesheet
    /// at content-hashed, immutable URLs.
    pub fn head_html(&self) -> String {
        format!(
            "<script src=\"/_gate/{}\" defer></script><link rel=\"stylesheet\" href=\"/_gate/{}\">",
            self.bundle.js.name, self.bundle.css.name
        )
    }

    /// The built banner (file names, bodies, texts hashes).
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// The visitor's valid consent, if any (MAC, lifetime and policy revision checked).
    pub fn consent_of(&self, req: &HttpRequest) -> Option<ConsentCookie> {
        let value = request_cookie(req, COOKIE_NAME)?;
        self.codec.decode(&value, now_secs()).ok()
    }

    /// What the proxy does with this request's cookies.
    pub fn wire_policy(&self, req: &HttpRequest) -> WirePolicy {
        let sent = request_cookie(req, COOKIE_NAME);
        let valid = sent
            .as_deref()
            .and_then(|v| self.codec.decode(v, now_secs()).ok());
        let mut policy = WirePolicy::new(
            self.catalogue.clone(),
            valid
                .as_ref()
                .map(|c| c.granted.clone())
                .unwrap_or_default(),
            req,
        );
        if sent.is_some() && valid.is_none() {
            // A tampered, expired or old-revision cookie is deleted before banner.js reads it,
            // so the banner asks again instead of trusting it.
            policy.also_delete(COOKIE_NAME);
        }
        policy
    }
}

/// Names and values of the request's cookies (all Cookie headers; unparsable pairs skipped).
pub(crate) fn request_cookies(req: &HttpRequest) -> Vec<(String, String)> {
    req.headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| ::cookie::Cookie::split_parse(v.to_owned()))
        .filter_map(|c| c.ok())
        .map(|c| (c.name().to_owned(), c.value().to_owned()))
        .collect()
}

/// The value of the first request cookie called `name`.
pub(crate) fn request_cookie(req: &HttpRequest, name: &str) -> Option<String> {
    request_cookies(req)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// Unix seconds as RFC 3339 UTC (`2026-11-22T14:03:05Z`), the format receipts use.
pub fn rfc3339(unix: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp(i64::try_from(unix).unwrap_or(i64::MAX))
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn service(revision: u32) -> ConsentService {
        let mut cfg = Config::default();
        cfg.consent.policy_revision = revision;
        let keys = Keys::derive(&crate::config::Secret::new(
            b"unit-test-secret-unit-test-secret!!".to_vec(),
        ));
        ConsentService::new(&cfg, &keys, Store::memory(), Arc::new(Catalogue::builtin())).unwrap()
    }

    fn cookie_for(svc: &ConsentService, granted: &[&str], revision: u32) -> String {
        svc.codec.encode(&ConsentCookie {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            granted: granted.iter().map(|s| s.to_string()).collect(),
            revision,
            issued: now_secs(),
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
            .deletions("127.0.0.1")
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
                .deletions("127.0.0.1")
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
