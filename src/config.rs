//! Typed configuration: one TOML file plus environment overrides for secrets.
//!
//! The file is parsed once into typed values (socket addresses, URLs, CIDRs, durations, enums)
//! and validated at start; every problem names the key it is about. Unknown keys are reported,
//! not ignored. The rest of the program never re-parses a configuration string.
//! Environment variables are read through [`EnvSource`] so the parser is a pure function that
//! tests can feed with a map.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer};
use url::Url;

pub mod dashboard;

/// Environment variable holding the secret all sub-keys are derived from.
pub const ENV_SECRET: &str = "CONSENTGATE_SECRET";
/// Environment variable overriding `store.redis_url`.
pub const ENV_REDIS_URL: &str = "CONSENTGATE_REDIS_URL";
/// Environment variable listing earlier secrets (whitespace- or comma-separated) whose form
/// entries must still decrypt after a key rotation.
pub const ENV_PREVIOUS_SECRETS: &str = "CONSENTGATE_PREVIOUS_SECRETS";
const ENV_PREFIX: &str = "CONSENTGATE_";
const KNOWN_ENV: &[&str] = &[
    ENV_SECRET,
    ENV_REDIS_URL,
    ENV_PREVIOUS_SECRETS,
    "CONSENTGATE_LOG",
];
/// Shortest accepted secret, in bytes (256 bits of key material when random).
pub const MIN_SECRET_LEN: usize = 32;

/// One problem in the configuration, tied to the key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in a configuration; loading fails if there is at least one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_problems(.0))]
pub struct ConfigError(pub Vec<ConfigProblem>);

fn display_problems(problems: &[ConfigProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ConfigError {
    fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![ConfigProblem::new(key, message)])
    }
}

/// Where environment variables come from; the process environment in production, a map in tests.
pub trait EnvSource {
    fn var(&self, key: &str) -> Option<String>;
    /// Names of all variables, used to warn about misspelt `CONSENTGATE_*` keys.
    fn names(&self) -> Vec<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// The whole, validated configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: ListenConfig,
    pub upstream: UpstreamConfig,
    pub privacy: PrivacyConfig,
    pub limits: LimitsConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub trackers: TrackersConfig,
    pub consent: ConsentConfig,
    pub forms: Vec<FormConfig>,
    pub dashboard: dashboard::DashboardConfig,
    /// Set from `CONSENTGATE_SECRET`, never from the file (it would end up in backups and repos).
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// Earlier secrets, from `CONSENTGATE_PREVIOUS_SECRETS`: stored form entries sealed under
    /// them still decrypt; nothing new uses them.
    #[serde(skip)]
    pub previous_secrets: Vec<Secret>,
}

/// The secret key material; its `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ListenConfig {
    /// Public listener: the proxy and `/_gate/*`. Default `127.0.0.1:8080`.
    pub public: SocketAddr,
    /// Admin listener: dashboard, metrics, health. Default `127.0.0.1:8081`.
    pub admin: SocketAddr,
    /// Worker threads per listener; 0 = one per CPU core. Default 0.
    pub workers: usize,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            public: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8081)),
            workers: 0,
        }
    }
}

/// Which Host header the upstream receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostPolicy {
    /// The Host the visitor asked for (virtual hosting behind the gate).
    Client,
    /// The host and port of `upstream.url`.
    Upstream,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct UpstreamConfig {
    /// The site behind the gate, `http://` or `https://`. Required.
    pub url: Option<Url>,
    /// `"upstream"` (default) or `"client"`.
    pub host_header: HostPolicy,
    /// Time to open a connection (TCP + TLS). Default 5 s.
    #[serde(deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    /// Time from sending the request until the response headers arrive. Default 30 s.
    #[serde(deserialize_with = "de_duration")]
    pub response_timeout: Duration,
    /// Most open connections to the upstream per worker. Default 64.
    pub pool_max_connections: usize,
    /// An idle pooled connection is closed after this long. Default 15 s.
    #[serde(deserialize_with = "de_duration")]
    pub pool_idle_timeout: Duration,
    /// PEM file of extra CA certificates trusted for an `https://` upstream (e.g. an internal
    /// CA), on top of the public web PKI roots. Default none.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for UpstreamConfig {
    fn default() -> Self {
        Self {
            url: None,
            host_header: HostPolicy::Upstream,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            pool_max_connections: 64,
            pool_idle_timeout: Duration::from_secs(15),
            tls_ca_file: None,
        }
    }
}

impl UpstreamConfig {
    /// The validated upstream URL. Validation guarantees it is set before an `App` exists.
    pub fn base_url(&self) -> &Url {
        self.url
            .as_ref()
            .expect("upstream.url is checked by Config::validate")
    }
}

/// What the upstream learns about the visitor's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IpForwarding {
    /// X-Forwarded-For / Forwarded carry the anonymised prefix address.
    Anonymize,
    /// No address at all.
    Strip,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct PrivacyConfig {
    /// Peers whose X-Forwarded-For / Forwarded headers are believed (CIDR list). Default none.
    pub trusted_proxies: Vec<IpNet>,
    /// `"anonymize"` (default) or `"strip"`.
    pub ip_forwarding: IpForwarding,
    /// IPv4 prefix length kept by anonymisation, 0–32. Default 24.
    pub ipv4_prefix: u8,
    /// IPv6 prefix length kept by anonymisation, 0–128. Default 48.
    pub ipv6_prefix: u8,
    /// MaxMind DB (GeoIP2/GeoLite2 Country) file; unset = no country look-up.
    pub geo_database: Option<PathBuf>,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            ip_forwarding: IpForwarding::Anonymize,
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            geo_database: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// Largest request body forwarded to the upstream, in bytes. Default 10 MiB.
    pub max_request_body_bytes: usize,
    /// Largest request body accepted by `/_gate/*` JSON endpoints, in bytes. Default 16 KiB.
    pub max_gate_body_bytes: usize,
    /// Memory the HTML rewriter may use per response, in bytes. Default 1 MiB.
    pub rewrite_max_memory_bytes: usize,
    /// Longest inline script text examined for tracker signatures, in bytes. Default 256 KiB.
    pub inline_script_max_bytes: usize,
    /// Memory for remembering finished page rewrites (pages up to 1 MiB, confirmed byte for
    /// byte before reuse), in bytes; 0 turns it off. Default 64 MiB.
    pub rewrite_memo_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_request_body_bytes: 10 * 1024 * 1024,
            max_gate_body_bytes: 16 * 1024,
            rewrite_max_memory_bytes: 1024 * 1024,
            inline_script_max_bytes: 256 * 1024,
            rewrite_memo_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Which persistence backend holds receipts, form entries, counters and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// In-process; lost on restart, one gate only.
    Memory,
    /// One Redis server (`redis_url`); run it with AOF so receipts survive a restart.
    Redis,
    /// Redis Cluster (`redis_url` lists one or more seed nodes, comma-separated).
    RedisCluster,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct StoreConfig {
    /// `"memory"` (default), `"redis"` or `"redis_cluster"`.
    pub backend: StoreBackend,
    /// `redis://host:port/db`; for a cluster a comma-separated list of seed nodes.
    /// Usually set from `CONSENTGATE_REDIS_URL` so the password stays out of the file.
    pub redis_url: Option<String>,
    /// Longest a store operation may take before the request gets a 503. Default 2 s.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Key prefix, so several sites can share one Redis. Default `"cg"`.
    pub key_prefix: String,
    /// Most entries the audit log keeps (approximately, on Redis). Default 10000.
    pub audit_max_entries: usize,
    /// Audit entries older than this are dropped. Default 180 days.
    #[serde(deserialize_with = "de_duration")]
    pub audit_retention: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Memory,
            redis_url: None,
            timeout: Duration::from_secs(2),
            key_prefix: "cg".to_owned(),
            audit_max_entries: 10_000,
            audit_retention: Duration::from_secs(180 * 24 * 3600),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `"text"` (default) or `"json"`.
    pub format: LogFormat,
    /// tracing filter, e.g. `"info"` or `"consentgate=debug"`. `CONSENTGATE_LOG` overrides. Default `"info"`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

// ---- sections owned by the feature modules (filled in by their issues) ----

/// Ids of the built-in tracker vendors (see `trackers.rs`), so `[trackers.categories]` can be
/// checked here without this module depending on the catalogue.
pub const BUILTIN_VENDOR_IDS: &[&str] = &[
    "google_analytics",
    "google_tag_manager",
    "hotjar",
    "meta_pixel",
];

/// `[trackers]`: operator additions to the built-in vendor catalogue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TrackersConfig {
    /// Category per vendor id, overriding the built-in one: `"analytics"`, `"marketing"` or an
    /// own lower-case name (never `"necessary"`). Default: none (built-in categories).
    pub categories: BTreeMap<String, String>,
    /// Vendors added by the operator. Default: none.
    pub vendors: Vec<VendorConfig>,
}

/// `[[trackers.vendors]]`: one operator-added tracker vendor.
#[derive(Debug, Clone, Deserialize)]
pub struct VendorConfig {
    /// Stable id (`[a-z0-9_-]`), shown in `data-cg-vendor`. Required.
    pub id: String,
    /// Display name for the banner. Default: the id.
    #[serde(default)]
    pub name: Option<String>,
    /// One-sentence purpose for the banner. Default empty.
    #[serde(default)]
    pub description: String,
    /// `"analytics"`, `"marketing"` or an own lower-case name. Required.
    pub category: String,
    /// Hosts (matching subdomains too), optionally with a path prefix: `"matomo.cloud"`,
    /// `"example.com/pixel"`. Default none.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Substrings identifying the vendor's inline snippet (case-insensitive). Default none.
    #[serde(default)]
    pub inline_signatures: Vec<String>,
    /// Cookie names set by the vendor. Default none.
    #[serde(default)]
    pub cookie_names: Vec<String>,
    /// Cookie name prefixes set by the vendor. Default none.
    #[serde(default)]
    pub cookie_prefixes: Vec<String>,
}

fn valid_category(name: &str) -> bool {
    !name.is_empty()
        && name != "necessary"
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn valid_host_spec(spec: &str) -> bool {
    let host = spec.split('/').next().unwrap_or("").trim_end_matches('.');
    host.contains('.')
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl TrackersConfig {
    /// Every problem in `[trackers]`, each naming its key.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let category_msg = "expected \"analytics\", \"marketing\" or an own lower-case name ([a-z0-9_-]); \"necessary\" is never a tracker category";
        for (id, category) in &self.categories {
            let key = format!("trackers.categories.{id}");
            if !BUILTIN_VENDOR_IDS.contains(&id.as_str())
                && !self.vendors.iter().any(|v| &v.id == id)
            {
                problems.push(ConfigProblem::new(
                    &key,
                    format!(
                        "no vendor with this id (built in: {}; or add one under [[trackers.vendors]])",
                        BUILTIN_VENDOR_IDS.join(", ")
                    ),
                ));
            }
            if !valid_category(category) {
                problems.push(ConfigProblem::new(
                    &key,
                    format!("{category_msg}, got {category:?}"),
                ));
            }
        }
        for (i, vendor) in self.vendors.iter().enumerate() {
            let key = |field: &str| format!("trackers.vendors[{i}].{field}");
            if vendor.id.is_empty()
                || !vendor
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                problems.push(ConfigProblem::new(
                    key("id"),
                    "expected a non-empty id of [a-z0-9_-]",
                ));
            } else if BUILTIN_VENDOR_IDS.contains(&vendor.id.as_str())
                || self.vendors[..i].iter().any(|v| v.id == vendor.id)
            {
                problems.push(ConfigProblem::new(
                    key("id"),
                    format!("duplicate vendor id {:?} (change a built-in vendor's category under [trackers.categories])", vendor.id),
                ));
            }
            if !valid_category(&vendor.category) {
                problems.push(ConfigProblem::new(
                    key("category"),
                    format!("{category_msg}, got {:?}", vendor.category),
                ));
            }
            if vendor.hosts.is_empty() && vendor.inline_signatures.is_empty() {
                problems.push(ConfigProblem::new(
                    key("hosts"),
                    "a vendor needs at least one host or inline signature to be recognised",
                ));
            }
            for (j, host) in vendor.hosts.iter().enumerate() {
                if !valid_host_spec(host) {
                    problems.push(ConfigProblem::new(
                        format!("trackers.vendors[{i}].hosts[{j}]"),
                        format!("expected a host name with an optional path, like \"stats.example.com\" or \"example.com/pixel\", got {host:?}"),
                    ));
                }
            }
            for (j, sig) in vendor.inline_signatures.iter().enumerate() {
                if sig.trim().len() < 4 {
                    problems.push(ConfigProblem::new(
                        format!("trackers.vendors[{i}].inline_signatures[{j}]"),
                        "too short to identify a snippet (at least 4 characters)",
                    ));
                }
            }
        }
        problems
    }
}

/// `[consent]`: banner texts, categories, cookie lifetime, policy revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConsentConfig {
    /// Revision of the privacy/cookie policy. Raising it makes every earlier consent cookie
    /// invalid, so every visitor is asked again. Default 1.
    pub policy_revision: u32,
    /// How long a decision holds before the banner asks again (cookie Max-Age). Default `"6months"`.
    #[serde(deserialize_with = "de_duration")]
    pub cookie_lifetime: Duration,
    /// How long a receipt is kept after its consent cookie has expired, as proof of consent
    /// (GDPR art. 7(1)). Receipt TTL = `cookie_lifetime` + this. Default `"1year"`.
    #[serde(deserialize_with = "de_duration")]
    pub proof_retention: Duration,
    /// Link to the privacy statement shown in the banner: a site path (`/privacy`) or an
    /// `https://` URL. Default `"/privacy"`.
    pub privacy_statement_url: String,
    /// Banner language when neither `<html lang>` nor the browser asks for nl or en:
    /// `"nl"` (default) or `"en"`.
    pub default_language: String,
    /// Treat `Sec-GPC: 1` / `navigator.globalPrivacyControl` without a decision as a refusal of
    /// marketing. Default true.
    pub honour_gpc: bool,
    /// Text overrides per language: `[consent.texts.nl] title = "…"`. Keys are those of
    /// assets/i18n/nl.json; unknown keys are an error.
    pub texts: BTreeMap<String, BTreeMap<String, String>>,
    /// Operator-defined categories besides necessary, analytics and marketing.
    pub categories: Vec<ConsentCategoryConfig>,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            policy_revision: 1,
            // humantime's month is 30.44 days; "6months" parses to exactly this.
            cookie_lifetime: Duration::from_secs(6 * 2_630_016),
            proof_retention: Duration::from_secs(365 * 86_400),
            privacy_statement_url: "/privacy".to_owned(),
            default_language: "nl".to_owned(),
            honour_gpc: true,
            texts: BTreeMap::new(),
            categories: Vec::new(),
        }
    }
}

/// `[[consent.categories]]`: a category the operator adds, e.g. embedded video. Which vendors
/// belong to it is said in `[trackers]` (the vendor's category); this gives it a name and purpose.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsentCategoryConfig {
    /// Identifier, lower-case `a-z0-9_`, 1–24 characters; not necessary/analytics/marketing.
    pub id: String,
    /// Name per language, e.g. `{ nl = "Video", en = "Video" }`. Required for nl and en.
    pub name: BTreeMap<String, String>,
    /// Purpose per language, shown in the banner's settings. Required for nl and en.
    pub description: BTreeMap<String, String>,
}

/// Languages the banner ships texts for.
pub const CONSENT_LANGUAGES: &[&str] = &["nl", "en"];
/// Keys of the banner texts (assets/i18n/*.json; a consent unit test keeps the lists equal).
/// Besides these, `retention.<vendor id>` keys set a vendor's cookie retention text.
pub const CONSENT_TEXT_KEYS: &[&str] = &[
    "title",
    "intro",
    "accept_all",
    "reject_all",
    "settings",
    "settings_title",
    "settings_intro",
    "save",
    "back",
    "always_on",
    "necessary_name",
    "necessary_desc",
    "analytics_name",
    "analytics_desc",
    "marketing_name",
    "marketing_desc",
    "vendors",
    "cookies",
    "retention",
    "retention_unknown",
    "none",
    "privacy_link",
    "consent_id",
    "reopen",
    "gpc_notice",
    "store_down",
    "error",
    "withdraw",
];
/// Categories every configuration has; operators cannot redefine them.
pub const BUILTIN_CATEGORIES: &[&str] = &["necessary", "analytics", "marketing"];

impl ConsentConfig {
    /// Checks serde cannot express; `known_text_keys` are the keys of the built-in texts.
    pub fn validate(&self, known_text_keys: &[&str]) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |key: String, message: String| problems.push(ConfigProblem::new(key, message));
        if self.policy_revision == 0 {
            problem(
                "consent.policy_revision".into(),
                "must be at least 1".into(),
            );
        }
        if self.cookie_lifetime < Duration::from_secs(3600) {
            problem(
                "consent.cookie_lifetime".into(),
                "must be at least 1h".into(),
            );
        }
        if self.cookie_lifetime > Duration::from_secs(400 * 86_400) {
            // Chromium caps cookie lifetimes at 400 days; longer would silently be cut.
            problem(
                "consent.cookie_lifetime".into(),
                "must be at most 400 days (browsers cap cookies there)".into(),
            );
        }
        let url = &self.privacy_statement_url;
        let is_path = url.starts_with('/') && !url.starts_with("//");
        let is_url = Url::parse(url)
            .map(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or(false);
        if !is_path && !is_url {
            problem(
                "consent.privacy_statement_url".into(),
                format!("expected a site path like \"/privacy\" or an https:// URL, got {url:?}"),
            );
        }
        if !CONSENT_LANGUAGES.contains(&self.default_language.as_str()) {
            problem(
                "consent.default_language".into(),
                format!("expected \"nl\" or \"en\", got {:?}", self.default_language),
            );
        }
        for (lang, texts) in &self.texts {
            if !CONSENT_LANGUAGES.contains(&lang.as_str()) {
                problem(
                    format!("consent.texts.{lang}"),
                    "unknown language (expected nl or en)".into(),
                );
            }
            for key in texts.keys() {
                if !known_text_keys.contains(&key.as_str()) && !key.starts_with("retention.") {
                    problem(
                        format!("consent.texts.{lang}.{key}"),
                        "unknown text key (see assets/i18n/en.json)".into(),
                    );
                }
            }
        }
        let mut seen = Vec::new();
        for (i, cat) in self.categories.iter().enumerate() {
            let key = format!("consent.categories[{i}]");
            let valid_id = !cat.id.is_empty()
                && cat.id.len() <= 24
                && cat
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !valid_id {
                problem(
                    format!("{key}.id"),
                    format!("expected 1–24 characters a-z, 0-9 or _, got {:?}", cat.id),
                );
            } else if BUILTIN_CATEGORIES.contains(&cat.id.as_str()) {
                problem(format!("{key}.id"), format!("{:?} is built in", cat.id));
            } else if seen.contains(&cat.id) {
                problem(
                    format!("{key}.id"),
                    format!("{:?} is defined twice", cat.id),
                );
            }
            seen.push(cat.id.clone());
            for lang in CONSENT_LANGUAGES {
                if cat.name.get(*lang).is_none_or(|s| s.trim().is_empty()) {
                    problem(format!("{key}.name.{lang}"), "required".into());
                }
                if cat
                    .description
                    .get(*lang)
                    .is_none_or(|s| s.trim().is_empty())
                {
                    problem(format!("{key}.description.{lang}"), "required".into());
                }
            }
        }
        problems
    }
}

/// `[[forms]]`: one contact form captured by the gate (see config/consentgate.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct FormConfig {
    /// Short stable name (`[a-z0-9_-]`, ≤ 32 chars); part of storage keys. Required.
    pub id: String,
    /// Request path the form posts to, e.g. `"/contact"`. Required; never under `/_gate/`.
    pub path: String,
    /// `"store"` (default: the upstream never sees the submission) or `"store_and_forward"`.
    #[serde(default = "default_form_mode")]
    pub mode: FormMode,
    /// The fields kept; anything else in a submission is dropped. At least one.
    pub fields: Vec<FormFieldConfig>,
    /// How long an entry is kept before the store deletes it. Default 30 days.
    #[serde(default = "default_retention", deserialize_with = "de_duration")]
    pub retention: Duration,
    /// Where the visitor is sent (303) after the entry is stored: a path or an absolute URL.
    /// Required.
    pub redirect: String,
    /// Language of the pages the gate shows for this form: `"nl"` or `"en"` (default).
    #[serde(default = "default_form_language")]
    pub language: FormLanguage,
    /// Largest accepted request body, in bytes. Default 65536 (64 KiB).
    #[serde(default = "default_form_max_body")]
    pub max_body_bytes: usize,
    /// Name of the hidden field bots fill in and people do not; `""` turns the check off.
    /// Default `"cg_website"`.
    #[serde(default = "default_honeypot")]
    pub honeypot_field: String,
    /// Shortest time between loading the form and submitting it; `"0s"` turns the check off.
    /// Default 3 s.
    #[serde(default = "default_min_fill_time", deserialize_with = "de_duration")]
    pub min_fill_time: Duration,
    /// Stored submissions allowed per anonymised IP address per `rate_limit_window`;
    /// 0 turns the limit off. Default 5.
    #[serde(default = "default_rate_limit_max")]
    pub rate_limit_max: u64,
    /// Window of the rate limit. Default 10 minutes.
    #[serde(
        default = "default_rate_limit_window",
        deserialize_with = "de_duration"
    )]
    pub rate_limit_window: Duration,
    /// Optional URL that receives `{"form","entry_id","created"}` (never field contents) per
    /// new entry. Default none.
    #[serde(default)]
    pub notify_webhook: Option<Url>,
}

/// What happens to a stored submission besides being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormMode {
    /// Only the gate keeps it; the upstream never sees it.
    Store,
    /// The gate keeps it and forwards the original request to the upstream too.
    StoreAndForward,
}

/// Language of the gate's own form pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormLanguage {
    Nl,
    En,
}

/// The kind of a form field, which decides its format check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Email,
    Phone,
    Date,
    Textarea,
}

impl FieldType {
    /// Longest value accepted when `max_length` is not set, in characters.
    pub fn default_max_length(self) -> usize {
        match self {
            FieldType::Text => 200,
            FieldType::Email => 254,
            FieldType::Phone => 40,
            FieldType::Date => 10,
            FieldType::Textarea => 5000,
        }
    }
}

/// `[[forms.fields]]`: one field of a form.
#[derive(Debug, Clone, Deserialize)]
pub struct FormFieldConfig {
    /// The `name` attribute of the input. Required.
    pub name: String,
    /// `"text"`, `"email"`, `"phone"`, `"date"` (YYYY-MM-DD) or `"textarea"`. Required.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether an empty value is refused. Default false.
    #[serde(default)]
    pub required: bool,
    /// Longest value, in characters. Default by type: text 200, email 254, phone 40,
    /// date 10, textarea 5000.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// What the gate's pages call the field. Default: the name.
    #[serde(default)]
    pub label: Option<String>,
}

impl FormFieldConfig {
    pub fn max_length(&self) -> usize {
        self.max_length
            .unwrap_or_else(|| self.kind.default_max_length())
    }
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

fn default_form_mode() -> FormMode {
    FormMode::Store
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
fn default_form_language() -> FormLanguage {
    FormLanguage::En
}
fn default_form_max_body() -> usize {
    64 * 1024
}
fn default_honeypot() -> String {
    "cg_website".to_owned()
}
fn default_min_fill_time() -> Duration {
    Duration::from_secs(3)
}
fn default_rate_limit_max() -> u64 {
    5
}
fn default_rate_limit_window() -> Duration {
    Duration::from_secs(600)
}

/// Field names the gate itself adds to a form (fill-time token).
pub const FORM_TOKEN_FIELD: &str = "cg_t";

fn validate_forms(forms: &[FormConfig], problems: &mut Vec<ConfigProblem>) {
    let mut problem =
        |key: String, message: String| problems.push(ConfigProblem::new(key, message));
    let mut ids = std::collections::BTreeSet::new();
    let mut paths = std::collections::BTreeSet::new();
    for (i, form) in forms.iter().enumerate() {
        let key = |k: &str| format!("forms[{i}].{k}");
        let id_ok = !form.id.is_empty()
            && form.id.len() <= 32
            && form
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            problem(
                key("id"),
                format!(
                    "expected 1–32 characters a-z, 0-9, - or _, got {:?}",
                    form.id
                ),
            );
        } else if !ids.insert(form.id.clone()) {
            problem(key("id"), format!("{:?} is used by another form", form.id));
        }
        // Braces would make the path an actix route pattern instead of a literal path.
        if !form.path.starts_with('/') || form.path.contains(['?', '#', ' ', '{', '}']) {
            problem(
                key("path"),
                format!("expected a path like \"/contact\", got {:?}", form.path),
            );
        } else if form.path.starts_with("/_gate/") {
            problem(key("path"), "must not be under /_gate/".into());
        } else if !paths.insert(form.path.clone()) {
            problem(
                key("path"),
                format!("{:?} is used by another form", form.path),
            );
        }
        if form.fields.is_empty() {
            problem(key("fields"), "at least one field is required".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (j, field) in form.fields.iter().enumerate() {
            let fkey = format!("forms[{i}].fields[{j}]");
            if field.name.is_empty() || field.name.len() > 64 {
                problem(format!("{fkey}.name"), "expected 1–64 characters".into());
            } else if field.name == form.honeypot_field || field.name == FORM_TOKEN_FIELD {
                problem(
                    format!("{fkey}.name"),
                    format!("{:?} is reserved for the spam checks", field.name),
                );
            } else if !names.insert(field.name.clone()) {
                problem(
                    format!("{fkey}.name"),
                    format!("{:?} appears twice", field.name),
                );
            }
            if field.max_length == Some(0) {
                problem(format!("{fkey}.max_length"), "must be at least 1".into());
            }
        }
        if form.retention.is_zero() {
            problem(key("retention"), "must be greater than 0".into());
        } else if form.retention > Duration::from_secs(3 * 366 * 24 * 3600) {
            problem(key("retention"), "must be at most 3 years".into());
        }
        if form.redirect.is_empty() || form.redirect.contains(['\r', '\n']) {
            problem(
                key("redirect"),
                "expected the thank-you page, e.g. \"/bedankt.html\"".into(),
            );
        } else if !form.redirect.starts_with('/') && Url::parse(&form.redirect).is_err() {
            problem(
                key("redirect"),
                format!(
                    "expected a path or an absolute URL, got {:?}",
                    form.redirect
                ),
            );
        }
        if form.max_body_bytes == 0 {
            problem(key("max_body_bytes"), "must be greater than 0".into());
        }
        if form.rate_limit_max > 0 && form.rate_limit_window.is_zero() {
            problem(key("rate_limit_window"), "must be greater than 0".into());
        }
        if let Some(url) = &form.notify_webhook {
            if !matches!(url.scheme(), "http" | "https") {
                problem(
                    key("notify_webhook"),
                    format!("expected an http:// or https:// URL, got {url}"),
                );
            }
        }
    }
}

// ---- loading ----

/// What loading produced besides the config: things worth a warning but not fatal.
#[derive(Debug, Default)]
pub struct LoadNotes {
    pub warnings: Vec<String>,
}

impl Config {
    /// Read, parse, apply the environment and validate.
    pub fn load(path: &Path, env: &dyn EnvSource) -> Result<(Config, LoadNotes), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one("--config", format!("cannot read {}: {e}", path.display()))
        })?;
        Self::from_toml(&text, env)
    }

    /// Parse TOML text, apply the environment and validate. Pure: no file or process access.
    pub fn from_toml(text: &str, env: &dyn EnvSource) -> Result<(Config, LoadNotes), ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::one("(syntax)", e.to_string()))?;
        let mut unknown = Vec::new();
        let mut note_unknown = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
        let ignored =
            serde_ignored::Deserializer::new(toml::Value::Table(table), &mut note_unknown);
        let parsed: Result<Config, _> = serde_path_to_error::deserialize(ignored);
        let mut config = parsed.map_err(|e| {
            let key = e.path().to_string();
            ConfigError::one(
                if key == "." {
                    "(top level)".to_owned()
                } else {
                    key
                },
                e.into_inner().to_string(),
            )
        })?;
        let mut problems: Vec<ConfigProblem> = unknown
            .into_iter()
            .map(|key| ConfigProblem::new(key, "unknown key (misspelt, or not supported)"))
            .collect();
        let notes = config.apply_env(env);
        problems.extend(config.validate());
        if problems.is_empty() {
            Ok((config, notes))
        } else {
            Err(ConfigError(problems))
        }
    }

    fn apply_env(&mut self, env: &dyn EnvSource) -> LoadNotes {
        let mut notes = LoadNotes::default();
        if let Some(secret) = env.var(ENV_SECRET) {
            self.secret = Some(Secret::new(secret.into_bytes()));
        }
        if let Some(url) = env.var(ENV_REDIS_URL) {
            self.store.redis_url = Some(url);
        }
        if let Some(list) = env.var(ENV_PREVIOUS_SECRETS) {
            self.previous_secrets = list
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| Secret::new(s.as_bytes().to_vec()))
                .collect();
        }
        for name in env.names() {
            if name.starts_with(ENV_PREFIX) && !KNOWN_ENV.contains(&name.as_str()) {
                notes.warnings.push(format!(
                    "environment variable {name} is not used by consentgate (known: {})",
                    KNOWN_ENV.join(", ")
                ));
            }
        }
        notes
    }

    /// Semantic checks serde cannot express. Returns every problem, not just the first.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, message: String| problems.push(ConfigProblem::new(key, message));
        match &self.upstream.url {
            None => problem(
                "upstream.url",
                "required: the URL of the site behind the gate, e.g. \"http://127.0.0.1:8000\""
                    .into(),
            ),
            Some(url) => {
                if !matches!(url.scheme(), "http" | "https") {
                    problem(
                        "upstream.url",
                        format!(
                            "expected an http:// or https:// URL, got scheme {:?}",
                            url.scheme()
                        ),
                    );
                }
                if url.host_str().is_none() {
                    problem("upstream.url", "expected a URL with a host".into());
                }
                if url.query().is_some() || url.fragment().is_some() {
                    problem("upstream.url", "expected no query or fragment".into());
                }
            }
        }
        if let Some(path) = &self.upstream.tls_ca_file {
            if !path.is_file() {
                problem(
                    "upstream.tls_ca_file",
                    format!("{} is not a readable file", path.display()),
                );
            }
        }
        if self.upstream.connect_timeout.is_zero() {
            problem("upstream.connect_timeout", "must be greater than 0".into());
        }
        if self.upstream.response_timeout.is_zero() {
            problem("upstream.response_timeout", "must be greater than 0".into());
        }
        if self.upstream.pool_max_connections == 0 {
            problem("upstream.pool_max_connections", "must be at least 1".into());
        }
        if self.listen.public == self.listen.admin && self.listen.public.port() != 0 {
            problem(
                "listen.admin",
                format!("must differ from listen.public ({})", self.listen.public),
            );
        }
        if self.privacy.ipv4_prefix > 32 {
            problem(
                "privacy.ipv4_prefix",
                format!("expected 0–32, got {}", self.privacy.ipv4_prefix),
            );
        }
        if self.privacy.ipv6_prefix > 128 {
            problem(
                "privacy.ipv6_prefix",
                format!("expected 0–128, got {}", self.privacy.ipv6_prefix),
            );
        }
        if let Some(path) = &self.privacy.geo_database {
            if !path.is_file() {
                problem(
                    "privacy.geo_database",
                    format!("{} is not a readable file", path.display()),
                );
            }
        }
        if self.limits.max_gate_body_bytes == 0 {
            problem(
                "limits.max_gate_body_bytes",
                "must be greater than 0".into(),
            );
        }
        if self.limits.rewrite_max_memory_bytes < 16 * 1024 {
            problem(
                "limits.rewrite_max_memory_bytes",
                "must be at least 16384".into(),
            );
        }
        match &self.secret {
            None => problem(
                "secret",
                format!("{ENV_SECRET} is not set; generate one with `openssl rand -base64 48`"),
            ),
            Some(secret) if secret.expose().len() < MIN_SECRET_LEN => problem(
                "secret",
                format!("{ENV_SECRET} must be at least {MIN_SECRET_LEN} bytes long"),
            ),
            Some(_) => {}
        }
        if self.store.backend != StoreBackend::Memory {
            match &self.store.redis_url {
                None => problem(
                    "store.redis_url",
                    format!(
                        "required for backend {:?}; set it or {ENV_REDIS_URL}",
                        self.store.backend
                    ),
                ),
                Some(urls) => {
                    for one in urls.split(',') {
                        if let Err(e) = Url::parse(one.trim()) {
                            problem("store.redis_url", format!("not a redis:// URL ({e})"));
                        }
                    }
                }
            }
        }
        if self.store.timeout.is_zero() {
            problem("store.timeout", "must be greater than 0".into());
        }
        if self.store.key_prefix.is_empty()
            || self.store.key_prefix.contains(['{', '}'])
            || self.store.key_prefix.chars().any(char::is_whitespace)
        {
            problem(
                "store.key_prefix",
                format!(
                    "expected a non-empty prefix without braces or spaces, got {:?}",
                    self.store.key_prefix
                ),
            );
        }
        if self.store.audit_max_entries == 0 {
            problem("store.audit_max_entries", "must be at least 1".into());
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            problem(
                "log.level",
                format!("not a valid filter: {:?}", self.log.level),
            );
        }
        validate_forms(&self.forms, &mut problems);
        problems.extend(self.consent.validate(CONSENT_TEXT_KEYS));
        problems.extend(self.trackers.validate());
        problems.extend(self.dashboard.validate());
        problems
    }
}

/// Durations are written as `"5s"`, `"250ms"`, `"30d"` (humantime).
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "expected a duration like \"5s\" or \"30d\", got {text:?} ({e})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SECRET: (&str, &str) = (ENV_SECRET, "0123456789abcdef0123456789abcdef-test");

    fn keys_of(err: ConfigError) -> Vec<String> {
        err.0.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let (config, _) = Config::from_toml(
            "[upstream]\nurl = \"http://127.0.0.1:9000\"\n",
            &env(&[SECRET]),
        )
        .unwrap();
        assert_eq!(config.privacy.ipv4_prefix, 24);
        assert_eq!(config.privacy.ipv6_prefix, 48);
        assert_eq!(config.privacy.ip_forwarding, IpForwarding::Anonymize);
        assert_eq!(config.upstream.host_header, HostPolicy::Upstream);
        assert_eq!(config.upstream.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.store.backend, StoreBackend::Memory);
    }

    #[test]
    fn wrong_value_names_the_key() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\nconnect_timeout = \"soon\"\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err.clone()), vec!["upstream.connect_timeout"]);
        assert!(err.to_string().contains("expected a duration"), "{err}");
    }

    #[test]
    fn bad_cidr_names_the_key() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[privacy]\ntrusted_proxies = [\"10.0.0.0/8\", \"nonsense\"]\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err), vec!["privacy.trusted_proxies[1]"]);
    }

    #[test]
    fn unknown_keys_and_semantic_problems_are_all_reported() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"ftp://x\"\nconect_timeout = \"1s\"\n[privacy]\nipv4_prefix = 33\n[listen]\npublic = \"127.0.0.1:1\"\nadmin = \"127.0.0.1:1\"\n",
            &env(&[]),
        )
        .unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "upstream.conect_timeout",
            "upstream.url",
            "privacy.ipv4_prefix",
            "listen.admin",
            "secret",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn enum_values_are_checked() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[privacy]\nip_forwarding = \"hash\"\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err.clone()), vec!["privacy.ip_forwarding"]);
        assert!(err.to_string().contains("anonymize"), "{err}");
    }

    #[test]
    fn environment_overrides_secrets_and_warns_about_misspellings() {
        let (config, notes) = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[store]\nbackend = \"redis\"\n",
            &env(&[
                SECRET,
                (ENV_REDIS_URL, "redis://127.0.0.1:6390/0"),
                ("CONSENTGATE_SECRT", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.store.redis_url.as_deref(),
            Some("redis://127.0.0.1:6390/0")
        );
        assert_eq!(config.secret.unwrap().expose(), SECRET.1.as_bytes());
        assert!(notes
            .warnings
            .iter()
            .any(|w| w.contains("CONSENTGATE_SECRT")));
    }

    #[test]
    fn consent_section_defaults_and_key_naming_errors() {
        let (config, _) =
            Config::from_toml("[upstream]\nurl = \"http://x\"\n", &env(&[SECRET])).unwrap();
        assert_eq!(
            config.consent.cookie_lifetime,
            Duration::from_secs(15_780_096)
        );
        assert_eq!(config.consent.policy_revision, 1);
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[consent]\ncookie_lifetime = \"2years\"\ncookie_lifetme = \"1d\"\nprivacy_statement_url = \"privacy\"\n[consent.texts.nl]\ntitel = \"x\"\n[[consent.categories]]\nid = \"marketing\"\nnmae = \"x\"\nname = { nl = \"M\" }\ndescription = { nl = \"M\", en = \"M\" }\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "consent.cookie_lifetme",
            "consent.categories.0.nmae",
            "consent.cookie_lifetime",
            "consent.privacy_statement_url",
            "consent.texts.nl.titel",
            "consent.categories[0].id",
            "consent.categories[0].name.en",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn example_config_parses() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/consentgate.toml"
        ))
        .unwrap();
        let with_upstream = if text.contains("\n[upstream]") {
            text
        } else {
            format!("{text}\n[upstream]\nurl = \"http://x\"\n")
        };
        if let Err(e) = Config::from_toml(&with_upstream, &env(&[SECRET])) {
            assert!(!e.to_string().contains("consent"), "{e}");
        }
    }

    #[test]
    fn short_secret_is_refused() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n",
            &env(&[(ENV_SECRET, "short")]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err), vec!["secret"]);
    }

    const FORM: &str = "[upstream]\nurl = \"http://x\"\n[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/bedankt.html\"\n[[forms.fields]]\nname = \"email\"\ntype = \"email\"\nrequired = true\n";

    #[test]
    fn form_gets_documented_defaults() {
        let (config, _) = Config::from_toml(FORM, &env(&[SECRET])).unwrap();
        let form = &config.forms[0];
        assert_eq!(form.mode, FormMode::Store);
        assert_eq!(form.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(form.max_body_bytes, 64 * 1024);
        assert_eq!(form.min_fill_time, Duration::from_secs(3));
        assert_eq!(form.honeypot_field, "cg_website");
        assert_eq!(form.rate_limit_max, 5);
        assert_eq!(form.fields[0].max_length(), 254);
        assert!(form.notify_webhook.is_none());
    }

    #[test]
    fn form_problems_name_the_key() {
        let text = format!(
            "{FORM}[[forms]]\nid = \"Contact Form\"\npath = \"/_gate/x\"\nredirect = \"\"\nretention = \"0s\"\nfields = []\n"
        );
        let err = Config::from_toml(&text, &env(&[SECRET])).unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "forms[1].id",
            "forms[1].path",
            "forms[1].redirect",
            "forms[1].retention",
            "forms[1].fields",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
        let err = Config::from_toml(
            &FORM.replace("type = \"email\"", "type = \"file\""),
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("forms[0].fields[0].type"), "{err}");
    }

    #[test]
    fn previous_secrets_come_from_the_environment() {
        let (config, _) = Config::from_toml(
            FORM,
            &env(&[SECRET, (ENV_PREVIOUS_SECRETS, "old-one, old-two")]),
        )
        .unwrap();
        let old: Vec<&[u8]> = config.previous_secrets.iter().map(|s| s.expose()).collect();
        assert_eq!(old, [b"old-one".as_slice(), b"old-two".as_slice()]);
    }
}
