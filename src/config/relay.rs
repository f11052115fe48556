//! `[relay.google_analytics]`: the first-party Google Analytics relay — which measurement and
//! container ids it serves, how it changes what a hit says, and the bounds of its queue and
//! script cache. Off until `measurement_ids` lists an id.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::consent::RateLimitConfig;
use super::problem::ConfigProblem;
use super::values::{de_duration, de_required_http_url};

/// `[relay]`: analytics relays, one table per vendor (only Google Analytics so far).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, expecting = "a [relay] table")]
pub struct RelayConfig {
    pub google_analytics: GaRelayConfig,
}

/// What the relay puts in place of the page's referrer (`dr`, `ep.page_referrer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReferrerPolicy {
    /// Removed (default).
    None,
    /// `scheme://host/` of the referring page only.
    Host,
}

/// `[relay.google_analytics]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [relay.google_analytics] table")]
pub struct GaRelayConfig {
    /// GA4 measurement ids (`G-…`, upper case) whose gtag.js and hits the gate relays. The
    /// relay is on when this lists at least one id. Default none (off).
    pub measurement_ids: Vec<String>,
    /// Tag Manager container ids (`GTM-…`, upper case) whose gtm.js the gate serves. Default
    /// none.
    pub container_ids: Vec<String>,
    /// Where hits are forwarded. Default `https://region1.google-analytics.com/g/collect`
    /// (Google's EU endpoint). Another value is for testing.
    #[serde(deserialize_with = "de_required_http_url")]
    pub collect_url: Url,
    /// Where gtag.js and gtm.js are fetched from (scheme, host and port only). Default
    /// `https://www.googletagmanager.com`. Another value is for testing.
    #[serde(deserialize_with = "de_required_http_url")]
    pub script_origin: Url,
    /// How long one secret for hashing client ids holds; every gate on the store uses the same
    /// one, and it is gone when its period ends. Default 30 days, at least 1 hour.
    #[serde(deserialize_with = "de_duration")]
    pub cid_rotation: Duration,
    /// Keep `utm_*` parameters in page locations (campaign reports). Default false.
    pub keep_utm: bool,
    /// `"none"` (default): the referrer is removed; `"host"`: only its scheme and host.
    pub referrer: ReferrerPolicy,
    /// Event parameter names kept besides the built-in list (custom dimensions the operator
    /// has checked carry nothing personal), e.g. `["article_category"]`. Default none.
    pub event_params: Vec<String>,
    /// Hits waiting to be sent before further ones are dropped (and counted). Default 1024.
    pub queue_capacity: usize,
    /// Hits sent to Google at the same time. Default 4, 1–64.
    pub senders: usize,
    /// Longest one request to Google (a hit, a script) may take. Default 5 s.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Largest hit accepted (query string and body), in bytes. Default 16384.
    pub max_hit_bytes: usize,
    /// Largest script served, in bytes; a larger one is refused. Default 2097152 (2 MiB).
    pub max_script_bytes: usize,
    /// Hits allowed per anonymised address per window; beyond it, 429. Default
    /// `{ max = 300, window = "1m" }`; max = 0 turns it off.
    pub rate_limit: RateLimitConfig,
}

/// Where the relay's routes live on the public listener.
pub const RELAY_PREFIX: &str = "/_gate/relay";
/// The built-in vendor whose scripts and hits the relay takes over.
pub const GA_VENDOR: &str = "google_analytics";
/// The built-in vendor whose container script the relay serves.
pub const GTM_VENDOR: &str = "google_tag_manager";

/// `collect_url` by default: Google's EU collection endpoint.
pub const DEFAULT_COLLECT_URL: &str = "https://region1.google-analytics.com/g/collect";
/// `script_origin` by default.
pub const DEFAULT_SCRIPT_ORIGIN: &str = "https://www.googletagmanager.com";

impl Default for GaRelayConfig {
    fn default() -> Self {
        Self {
            measurement_ids: Vec::new(),
            container_ids: Vec::new(),
            // Constants that parse.
            collect_url: Url::parse(DEFAULT_COLLECT_URL).expect("valid default collect URL"),
            script_origin: Url::parse(DEFAULT_SCRIPT_ORIGIN).expect("valid default origin"),
            cid_rotation: Duration::from_secs(30 * 86_400),
            keep_utm: false,
            referrer: ReferrerPolicy::None,
            event_params: Vec::new(),
            queue_capacity: 1024,
            senders: 4,
            timeout: Duration::from_secs(5),
            max_hit_bytes: 16 * 1024,
            max_script_bytes: 2 * 1024 * 1024,
            rate_limit: RateLimitConfig {
                max: 300,
                window: Duration::from_secs(60),
            },
        }
    }
}

/// Whether `id` is `<prefix>` followed by 4–20 upper-case letters and digits.
fn is_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        (4..=20).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// Event parameters the relay removes on purpose: an operator cannot keep them.
const NEVER_KEPT: &[&str] = &[
    "search_term",
    "link_text",
    "user_id",
    "client_id",
    "uid",
    "cid",
];

impl GaRelayConfig {
    /// Whether the relay is on (`measurement_ids` lists an id).
    pub fn enabled(&self) -> bool {
        !self.measurement_ids.is_empty()
    }

    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        const KEY: &str = "relay.google_analytics";
        let mut problems = Vec::new();
        let mut problem = |key: String, message: String| {
            problems.push(ConfigProblem::new(format!("{KEY}.{key}"), message))
        };
        for (i, id) in self.measurement_ids.iter().enumerate() {
            if !is_id(id, "G-") {
                problem(
                    format!("measurement_ids[{i}]"),
                    format!("expected a GA4 measurement id like \"G-ABC123XYZ\", got {id:?}"),
                );
            }
        }
        for (i, id) in self.container_ids.iter().enumerate() {
            if !is_id(id, "GTM-") {
                problem(
                    format!("container_ids[{i}]"),
                    format!("expected a Tag Manager container id like \"GTM-AB12CD3\", got {id:?}"),
                );
            }
        }
        if !self.container_ids.is_empty() && !self.enabled() {
            problem(
                "container_ids".into(),
                "the relay is on only with measurement_ids: list the GA4 measurement ids the \
                 container sends hits for"
                    .into(),
            );
        }
        if self.script_origin.path() != "/"
            || self.script_origin.query().is_some()
            || self.script_origin.fragment().is_some()
        {
            problem(
                "script_origin".into(),
                format!(
                    "expected an origin without a path, like \"{DEFAULT_SCRIPT_ORIGIN}\", got \
                     \"{}\"",
                    self.script_origin
                ),
            );
        }
        if self.collect_url.fragment().is_some() || self.collect_url.query().is_some() {
            problem(
                "collect_url".into(),
                "expected a URL without a query or fragment (the hit's own query is appended)"
                    .into(),
            );
        }
        if self.cid_rotation < Duration::from_secs(3600) {
            problem(
                "cid_rotation".into(),
                "must be at least \"1h\"; the default is \"30d\"".into(),
            );
        }
        for (i, name) in self.event_params.iter().enumerate() {
            let shaped = !name.is_empty()
                && name.len() <= 40
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !shaped {
                problem(
                    format!("event_params[{i}]"),
                    format!(
                        "expected an event parameter name like \"article_category\" (a-z, 0-9, \
                         _; at most 40), got {name:?}"
                    ),
                );
            } else if NEVER_KEPT.contains(&name.as_str()) {
                problem(
                    format!("event_params[{i}]"),
                    format!(
                        "{name:?} can identify the visitor and is always removed; it cannot be \
                         kept"
                    ),
                );
            }
        }
        if self.queue_capacity == 0 {
            problem("queue_capacity".into(), "must be at least 1".into());
        }
        if !(1..=64).contains(&self.senders) {
            problem(
                "senders".into(),
                format!("expected 1–64, got {}", self.senders),
            );
        }
        if self.timeout.is_zero() {
            problem("timeout".into(), "must be greater than 0".into());
        }
        if self.max_hit_bytes < 1024 {
            problem(
                "max_hit_bytes".into(),
                "must be at least 1024 (a GA4 hit's query alone is often 500 bytes)".into(),
            );
        }
        if self.max_script_bytes < 64 * 1024 {
            problem(
                "max_script_bytes".into(),
                "must be at least 65536 (gtag.js alone is over 100 KB)".into(),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_upper_case_with_their_prefix() {
        assert!(is_id("G-ABC123XYZ", "G-"));
        assert!(is_id("GTM-AB12CD3", "GTM-"));
        for bad in [
            "g-abc123xyz",
            "G-",
            "G-AB",
            "GT-ABC1234",
            "G-ABC 123",
            "UA-1234-1",
        ] {
            assert!(!is_id(bad, "G-"), "{bad}");
        }
    }

    #[test]
    fn off_by_default_with_the_eu_endpoint() {
        let c = GaRelayConfig::default();
        assert!(!c.enabled());
        assert_eq!(c.collect_url.as_str(), DEFAULT_COLLECT_URL);
        assert!(c.validate().is_empty());
    }

    #[test]
    fn the_section_is_read_from_the_file_with_its_key_paths() {
        let env = std::collections::BTreeMap::from([(
            crate::config::ENV_SECRET.to_owned(),
            "0123456789abcdef0123456789abcdef-test".to_owned(),
        )]);
        let (config, _) = crate::config::Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[relay.google_analytics]\n\
             measurement_ids = [\"G-ABC123XYZ\"]\nreferrer = \"host\"\ncid_rotation = \"7d\"\n",
            &env,
        )
        .unwrap();
        let ga = &config.relay.google_analytics;
        assert!(ga.enabled());
        assert_eq!(ga.referrer, ReferrerPolicy::Host);
        assert_eq!(ga.cid_rotation, Duration::from_secs(7 * 86_400));
        let err = crate::config::Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[relay.google_analytics]\nmeasurment_ids = []\n\
             collect_url = \"nonsense\"\n",
            &env,
        )
        .unwrap_err();
        let keys: Vec<String> = err.0.into_iter().map(|p| p.key).collect();
        assert!(
            keys.contains(&"relay.google_analytics.measurment_ids".to_owned())
                && keys.contains(&"relay.google_analytics.collect_url".to_owned()),
            "{keys:?}"
        );
    }

    #[test]
    fn problems_name_their_key() {
        let c = GaRelayConfig {
            measurement_ids: vec!["UA-1-1".into()],
            container_ids: vec!["gtm-x".into()],
            cid_rotation: Duration::from_secs(60),
            event_params: vec!["search_term".into(), "Bad Name".into()],
            senders: 0,
            script_origin: Url::parse("https://example.org/path").unwrap(),
            ..GaRelayConfig::default()
        };
        let keys: Vec<String> = c.validate().into_iter().map(|p| p.key).collect();
        for expected in [
            "relay.google_analytics.measurement_ids[0]",
            "relay.google_analytics.container_ids[0]",
            "relay.google_analytics.cid_rotation",
            "relay.google_analytics.event_params[0]",
            "relay.google_analytics.event_params[1]",
            "relay.google_analytics.senders",
            "relay.google_analytics.script_origin",
        ] {
            assert!(keys.contains(&expected.to_owned()), "{expected}: {keys:?}");
        }
    }
}
