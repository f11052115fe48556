//! `[consent]`: banner texts, operator-defined categories, cookie lifetime, policy revision.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::problem::ConfigProblem;
use super::values::de_duration;

/// `[consent]`: banner texts, categories, cookie lifetime, policy revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [consent] table")]
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
    /// Vendor ids (of the catalogue) the banner's first layer always names, besides every
    /// vendor the gate has found on the site's pages: for a vendor on pages the gate has not
    /// served yet. Default none.
    pub banner_vendors: Vec<String>,
    /// How often a running gate reads back the vendors that other gates on the same store
    /// found, so its first layer names them too. Default `"5m"`; from `"1s"` to `"1day"`.
    #[serde(deserialize_with = "de_duration")]
    pub banner_vendors_refresh: Duration,
    /// Decisions (POST and DELETE `/_gate/consent`) allowed per anonymised address per window;
    /// beyond, 429. Default `{ max = 30, window = "1m" }`; `max = 0` turns it off.
    pub rate_limit: RateLimitConfig,
}

/// A rate limit per anonymised address: at most `max` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, expecting = "a table like { max = 30, window = \"1m\" }")]
pub struct RateLimitConfig {
    /// Requests allowed per window; 0 turns the limit off.
    pub max: u64,
    /// Length of the window, counted from the first request in it.
    #[serde(deserialize_with = "de_duration")]
    pub window: Duration,
}

impl RateLimitConfig {
    /// What is wrong with the limit at `key` (`consent.rate_limit`), if anything: a window of
    /// 0 while the limit is on.
    pub fn problem(&self, key: &str) -> Option<ConfigProblem> {
        (self.max > 0 && self.window.is_zero())
            .then(|| ConfigProblem::new(format!("{key}.window"), "must be greater than 0"))
    }
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
            banner_vendors: Vec::new(),
            banner_vendors_refresh: Duration::from_secs(300),
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl Default for RateLimitConfig {
    /// 30 per minute: far above what a person clicking the banner does.
    fn default() -> Self {
        Self {
            max: 30,
            window: Duration::from_secs(60),
        }
    }
}

/// `[[consent.categories]]`: a category the operator adds, e.g. embedded video. Which vendors
/// belong to it is said in `[trackers]` (the vendor's category); this gives it a name and purpose.
/// Every category a vendor is put in must be declared here, and every one declared must hold a
/// vendor (checked at load).
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
    "who",
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
    "address_relayed",
    "address_direct",
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
        let refresh = self.banner_vendors_refresh;
        if refresh < Duration::from_secs(1) || refresh > Duration::from_secs(86_400) {
            // Below a second the store is asked in a loop; above a day a vendor another gate
            // found stays unnamed here for longer than any visit.
            problem(
                "consent.banner_vendors_refresh".into(),
                "must be from 1s to 1day".into(),
            );
        }
        if let Some(p) = self.rate_limit.problem("consent.rate_limit") {
            problem(p.key, p.message);
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
