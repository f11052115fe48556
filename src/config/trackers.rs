//! `[trackers]`: the operator's changes to the tracker catalogue, and the built-in vendors
//! (assets/trackers.toml), which are read with the same types and checked by the same rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use super::problem::{did_you_mean_hint, ConfigProblem};
use super::read::read_value;

/// The built-in vendor catalogue, as data: adding a vendor touches no Rust.
const BUILTIN_FILE: &str = include_str!("../../assets/trackers.toml");
const BUILTIN_NAME: &str = "assets/trackers.toml";

/// `[trackers]`: operator additions to the built-in vendor catalogue.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, expecting = "a [trackers] table")]
pub struct TrackersConfig {
    /// Category per vendor id, overriding the vendor's own: `"analytics"`, `"marketing"` or the
    /// id of a `[[consent.categories]]` entry (never `"necessary"`). Default: none.
    pub categories: BTreeMap<String, String>,
    /// Vendors added by the operator. Default: none.
    pub vendors: Vec<VendorConfig>,
    /// The file the dashboard writes classifications to (vendors, approved origins, necessary
    /// cookie names) and the gate reads at start and on every reload, after this section.
    /// Created on the first classification. Default: none (classifying is then unavailable).
    pub override_file: Option<PathBuf>,
    /// What the override file held when the configuration was loaded.
    #[serde(skip)]
    pub learned: LearnedTrackers,
}

/// The contents of `trackers.override_file`: what an operator classified in the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearnedTrackers {
    /// Origins (`scheme://host[:port]`) the site needs: allowed by the CSP, no longer listed as
    /// unclassified.
    pub approved_origins: Vec<String>,
    /// Cookie names the site needs (its own, necessary): no longer listed as unclassified.
    pub necessary_cookies: Vec<String>,
    /// Vendors classified as trackers, like `[[trackers.vendors]]`.
    pub vendors: Vec<VendorConfig>,
}

/// Why the override file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    #[error("trackers.override_file is not set")]
    NotConfigured,
    #[error("cannot serialise the override file: {0}")]
    Serialise(#[from] toml::ser::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl LearnedTrackers {
    /// Read `path`; a missing file is empty (nothing classified yet).
    pub fn read(path: &Path) -> Result<LearnedTrackers, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))
    }

    /// Write to `path` atomically: a temporary file beside it, then renamed over it, so a
    /// reload (or a crash) never sees half a file.
    pub fn write(&self, path: &Path) -> Result<(), OverrideError> {
        let text = format!(
            "# Written by the consentgate dashboard (Discovery). Read at start and on reload.\n{}",
            toml::to_string(self)?
        );
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let io = |source| OverrideError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

/// `[[trackers.vendors]]`: one tracker vendor (operator-added, or built in).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct VendorConfig {
    /// Stable id (`[a-z0-9_-]`), shown in `data-cg-vendor`. Required.
    pub id: String,
    /// Display name for the banner. Default: the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// One-sentence purpose for the banner: one text, or one per banner language
    /// (`{ en = "…", nl = "…" }`). Default empty.
    #[serde(default, skip_serializing_if = "LocalText::is_empty")]
    pub description: LocalText,
    /// `"analytics"`, `"marketing"`, the id of a `[[consent.categories]]` entry, the vendor's
    /// own id (a switch of its own in the banner, named after the vendor), or `"necessary"`
    /// (recognised but never blocked: allowed by the CSP, not listed as unknown). Required.
    pub category: String,
    /// Hosts (matching subdomains too), optionally with a path prefix: `"matomo.cloud"`,
    /// `"example.com/pixel"`. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Loaders the site serves from its own domain, on any host. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<PathRuleConfig>,
    /// Text identifying the vendor's loader or set-up snippet anywhere in an inline script
    /// (case, spacing and kind of quote ignored). Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_signatures: Vec<String>,
    /// Calls into the vendor's API, like `"ga('send'"` or `"_paq.push("` (case, spacing and
    /// kind of quote ignored): an inline script made only of such calls is the vendor's too.
    /// Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usage_signatures: Vec<String>,
    /// Cookie names set by the vendor. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_names: Vec<String>,
    /// Cookie name prefixes set by the vendor. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cookie_prefixes: Vec<String>,
    /// The vendor's `<iframe>`s are embedded media (a player, a map, a social plugin): before
    /// consent each becomes a click-to-load placeholder. Default: not an embed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed: Option<EmbedConfig>,
}

/// A text shown to visitors: one for every language, or one per language.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(
    untagged,
    expecting = "a text, or a table of texts per language like { en = \"…\", nl = \"…\" }"
)]
pub enum LocalText {
    One(String),
    PerLanguage(BTreeMap<String, String>),
}

impl Default for LocalText {
    fn default() -> Self {
        LocalText::One(String::new())
    }
}

impl From<&str> for LocalText {
    fn from(text: &str) -> Self {
        LocalText::One(text.to_owned())
    }
}

impl LocalText {
    /// No text in any language.
    pub fn is_empty(&self) -> bool {
        match self {
            LocalText::One(text) => text.is_empty(),
            LocalText::PerLanguage(texts) => texts.values().all(String::is_empty),
        }
    }

    /// The text in `lang`, else the English one, else any; empty if none.
    pub fn get(&self, lang: &str) -> &str {
        match self {
            LocalText::One(text) => text,
            LocalText::PerLanguage(texts) => texts
                .get(lang)
                .or_else(|| texts.get("en"))
                .or_else(|| texts.values().next())
                .map_or("", String::as_str),
        }
    }
}

/// `embed = { kind = "video" }`: what a vendor's embedded `<iframe>` shows, which decides the
/// placeholder's wording ("Load this video", "Load this map", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct EmbedConfig {
    /// `"video"`, `"map"`, `"social"` (a post, a like button, a page box) or `"content"`.
    /// Required.
    pub kind: EmbedKind,
}

/// What an embedded frame shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedKind {
    Video,
    Map,
    Social,
    Content,
}

impl EmbedKind {
    /// The name used in the placeholder's message keys (`embed_load_video`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            EmbedKind::Video => "video",
            EmbedKind::Map => "map",
            EmbedKind::Social => "social",
            EmbedKind::Content => "content",
        }
    }
}

/// `paths = [{ path_suffix = "/gtm.js", query_contains = "id=gtm-" }]`: a loader recognised by
/// the end of its path and a marker in its query, both compared in lower case.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PathRuleConfig {
    /// End of the path, starting with `/`, e.g. `"/gtm.js"`. Required.
    pub path_suffix: String,
    /// Text the query must contain, e.g. `"id=gtm-"`. Default empty: any query, or none.
    #[serde(default)]
    pub query_contains: String,
}

#[derive(Deserialize)]
struct BuiltinFile {
    vendors: Vec<VendorConfig>,
}

fn read_builtin() -> Result<Vec<VendorConfig>, Vec<ConfigProblem>> {
    let value: toml::Value = BUILTIN_FILE
        .parse::<toml::Table>()
        .map(toml::Value::Table)
        .map_err(|e| vec![ConfigProblem::new(BUILTIN_NAME, e.message().to_owned())])?;
    let read = read_value::<BuiltinFile>(value, BUILTIN_NAME);
    let mut problems = read.problems;
    let vendors = read.value.map(|f| f.vendors).unwrap_or_default();
    problems.extend(validate_vendors(&vendors, &[], &|i, field| {
        format!("{BUILTIN_NAME} vendors[{i}].{field}")
    }));
    if problems.is_empty() {
        Ok(vendors)
    } else {
        Err(problems)
    }
}

/// The built-in vendors, in the order of assets/trackers.toml.
pub fn builtin_vendors() -> Vec<VendorConfig> {
    // The file is compiled in and checked by `builtin_vendor_file_is_valid` below, so this
    // cannot fail in a build whose tests passed.
    read_builtin().unwrap_or_else(|problems| {
        panic!(
            "{BUILTIN_NAME} is invalid:\n{}",
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// Ids of the built-in vendors, in catalogue order.
pub fn builtin_vendor_ids() -> Vec<String> {
    builtin_vendors().into_iter().map(|v| v.id).collect()
}

/// Whether `name` can be a tracker category: lower-case `[a-z0-9_-]`, never "necessary".
pub(crate) fn valid_category(name: &str) -> bool {
    name != NECESSARY && valid_id(name)
}

/// The category of vendors that are recognised but never blocked.
pub const NECESSARY: &str = "necessary";

/// Whether `name` can be a vendor's category: a tracker category or "necessary".
fn valid_vendor_category(name: &str) -> bool {
    name == NECESSARY || valid_category(name)
}

/// A vendor host spec `host[/path-prefix]`, read the way a browser reads the host of a URL (so
/// upper-case and internationalised names come out as the lower-case ASCII form hosts are
/// compared in): the host without trailing dot and the path prefix without trailing slash.
/// `None` if the host is no DNS name with a dot, or the spec has a scheme, user, port, query or
/// fragment.
pub(crate) fn parse_host_spec(spec: &str) -> Option<(String, Option<String>)> {
    let spec = spec.trim();
    if spec.is_empty() || spec.contains(['@', '?', '#', '\\']) {
        return None;
    }
    let url = Url::parse(&format!("https://{spec}")).ok()?;
    if url.port().is_some() || spec.contains(':') {
        return None;
    }
    let Some(Host::Domain(host)) = url.host() else {
        return None;
    };
    let host = host.trim_end_matches('.');
    if !host.contains('.') || host.split('.').any(str::is_empty) {
        return None;
    }
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    Some((host.to_owned(), Some(path).filter(|p| !p.is_empty())))
}

/// Lower-case `[a-z0-9_-]`, at least one character.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

const CATEGORY_EXPECTED: &str = "expected \"analytics\", \"marketing\", the id of a \
     [[consent.categories]] entry or the vendor's own id (lower-case a-z, 0-9, _ or -), or \
     \"necessary\" (recognised, never blocked)";

/// Checks of each vendor on its own and of their ids among `vendors` and `taken` (ids already
/// used elsewhere). `key(i, field)` names the key of vendor `i`'s field.
fn validate_vendors(
    vendors: &[VendorConfig],
    taken: &[String],
    key: &dyn Fn(usize, &str) -> String,
) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, vendor) in vendors.iter().enumerate() {
        let mut problem = |field: &str, message: String| {
            problems.push(ConfigProblem::new(key(i, field), message));
        };
        if !valid_id(&vendor.id) {
            problem("id", "expected a non-empty id of [a-z0-9_-]".into());
        } else if taken.contains(&vendor.id) || vendors[..i].iter().any(|v| v.id == vendor.id) {
            problem(
                "id",
                format!(
                    "duplicate vendor id {:?} (change a built-in vendor's category under \
                     [trackers.categories])",
                    vendor.id
                ),
            );
        }
        if !valid_vendor_category(&vendor.category) {
            problem(
                "category",
                format!("{CATEGORY_EXPECTED}, got {:?}", vendor.category),
            );
        }
        // A vendor known only by its cookies (classified in the dashboard) is still useful:
        // its cookies follow consent on the wire.
        if vendor.hosts.is_empty()
            && vendor.paths.is_empty()
            && vendor.inline_signatures.is_empty()
            && vendor.usage_signatures.is_empty()
            && vendor.cookie_names.is_empty()
            && vendor.cookie_prefixes.is_empty()
        {
            problem(
                "hosts",
                "a vendor needs at least one host, path, inline signature or cookie name to be \
                 recognised"
                    .into(),
            );
        }
        for (j, host) in vendor.hosts.iter().enumerate() {
            if parse_host_spec(host).is_none() {
                problem(
                    &format!("hosts[{j}]"),
                    format!(
                        "expected a host name with an optional path, like \"stats.example.com\" \
                         or \"example.com/pixel\", got {host:?}"
                    ),
                );
            }
        }
        for (j, rule) in vendor.paths.iter().enumerate() {
            let suffix = &rule.path_suffix;
            if !suffix.starts_with('/')
                || suffix.len() < 2
                || suffix.contains(['?', '#'])
                || suffix.contains(char::is_whitespace)
            {
                problem(
                    &format!("paths[{j}].path_suffix"),
                    format!("expected the end of a path like \"/gtm.js\", got {suffix:?}"),
                );
            }
        }
        if let LocalText::PerLanguage(texts) = &vendor.description {
            for lang in texts.keys() {
                if !super::consent::CONSENT_LANGUAGES.contains(&lang.as_str()) {
                    problem(
                        &format!("description.{lang}"),
                        format!(
                            "expected a banner language ({}), got {lang:?}",
                            super::consent::CONSENT_LANGUAGES.join(", ")
                        ),
                    );
                }
            }
        }
        for (j, sig) in vendor.inline_signatures.iter().enumerate() {
            if sig.trim().len() < 4 {
                problem(
                    &format!("inline_signatures[{j}]"),
                    "too short to identify a snippet (at least 4 characters)".into(),
                );
            }
        }
        for (j, sig) in vendor.usage_signatures.iter().enumerate() {
            let name_len = sig.split(['(', '.']).next().unwrap_or("").trim().len();
            if !sig.contains('(') || name_len < 2 {
                problem(
                    &format!("usage_signatures[{j}]"),
                    format!(
                        "expected the start of a call, like \"ga('send'\" or \"_paq.push(\", \
                         got {sig:?}"
                    ),
                );
            }
        }
    }
    problems
}

impl TrackersConfig {
    /// Every problem in `[trackers]` on its own, each naming its key. Whether the categories
    /// are declared in `[[consent.categories]]` is checked by `Config::validate`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let builtin = builtin_vendor_ids();
        let mut problems = Vec::new();
        for (id, category) in &self.categories {
            let key = format!("trackers.categories.{id}");
            if !builtin.contains(id) && !self.vendors.iter().any(|v| &v.id == id) {
                let ids = builtin
                    .iter()
                    .chain(self.vendors.iter().map(|v| &v.id))
                    .map(String::as_str);
                problems.push(ConfigProblem::new(
                    &key,
                    format!(
                        "no vendor with this id{} (built in: {}; or add one under \
                         [[trackers.vendors]])",
                        did_you_mean_hint(id, ids),
                        builtin.join(", ")
                    ),
                ));
            }
            if !valid_vendor_category(category) {
                problems.push(ConfigProblem::new(
                    &key,
                    format!("{CATEGORY_EXPECTED}, got {category:?}"),
                ));
            }
        }
        problems.extend(validate_vendors(&self.vendors, &builtin, &|i, field| {
            format!("trackers.vendors[{i}].{field}")
        }));
        let taken: Vec<String> = builtin
            .iter()
            .chain(self.vendors.iter().map(|v| &v.id))
            .cloned()
            .collect();
        problems.extend(validate_vendors(
            &self.learned.vendors,
            &taken,
            &|i, field| format!("trackers.override_file vendors[{i}].{field}"),
        ));
        for (i, origin) in self.learned.approved_origins.iter().enumerate() {
            if super::csp::origin_of(origin).is_none() {
                problems.push(ConfigProblem::new(
                    format!("trackers.override_file approved_origins[{i}]"),
                    format!("expected an origin like \"https://cdn.example.org\", got {origin:?}"),
                ));
            }
        }
        problems
    }

    /// Read `override_file` (if set) into [`TrackersConfig::learned`]; a problem names the key.
    pub fn read_override(&mut self) -> Vec<ConfigProblem> {
        let Some(path) = &self.override_file else {
            return Vec::new();
        };
        match LearnedTrackers::read(path) {
            Ok(learned) => {
                self.learned = learned;
                Vec::new()
            }
            Err(message) => vec![ConfigProblem::new("trackers.override_file", message)],
        }
    }

    /// The catalogue this section describes: the built-in vendors, then the added ones (the
    /// section's, then the override file's), each
    /// with its `categories` override applied.
    pub fn resolved_vendors(&self) -> Vec<VendorConfig> {
        let mut vendors = builtin_vendors();
        vendors.extend(self.vendors.iter().cloned());
        vendors.extend(self.learned.vendors.iter().cloned());
        for vendor in &mut vendors {
            if let Some(category) = self.categories.get(&vendor.id) {
                vendor.category.clone_from(category);
            }
        }
        vendors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_vendor_file_is_valid() {
        let vendors = read_builtin().unwrap_or_else(|problems| panic!("{problems:#?}"));
        let ids: Vec<_> = vendors.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "google_analytics",
                "google_tag_manager",
                "google_ads",
                "hotjar",
                "meta_pixel",
                "facebook_social",
                "x_embeds",
                "instagram",
                "tiktok_embeds",
                "youtube",
                "vimeo",
                "google_maps",
                "microsoft_clarity",
                "linkedin_insight",
                "tiktok_pixel",
                "pinterest_tag",
                "x_pixel",
                "google_recaptcha"
            ]
        );
        // Operators put vendors only in declared categories; the built-in ones must be in
        // the two every configuration has, or (embedded media) a switch of their own; and each
        // is described in both banner languages.
        for vendor in &vendors {
            assert!(
                matches!(vendor.category.as_str(), "analytics" | "marketing")
                    || (vendor.category == vendor.id && vendor.embed.is_some()),
                "{}",
                vendor.id
            );
            for lang in super::super::consent::CONSENT_LANGUAGES {
                assert!(
                    matches!(&vendor.description, LocalText::PerLanguage(t) if t.contains_key(*lang)),
                    "{} has no {lang} description",
                    vendor.id
                );
            }
        }
    }

    #[test]
    fn host_specs_are_read_like_url_hosts() {
        let spec = |s: &str| parse_host_spec(s);
        assert_eq!(spec("Matomo.Cloud."), Some(("matomo.cloud".into(), None)));
        assert_eq!(
            spec("facebook.com/tr/"),
            Some(("facebook.com".into(), Some("/tr".into())))
        );
        assert_eq!(
            spec("bücher.example"),
            Some(("xn--bcher-kva.example".into(), None))
        );
        for bad in [
            "not a host",
            "localhost",
            "https://matomo.cloud",
            "user@matomo.cloud",
            "matomo.cloud:8443",
            "matomo.cloud?x",
            "a..example",
            "",
        ] {
            assert_eq!(spec(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_tracker_config_names_the_key() {
        let cfg: TrackersConfig = toml::from_str(
            r#"
            categories = { google_analytics = "Not A Category", nobody = "analytics" }
            [[vendors]]
            id = "x"
            category = "analytics"
            hosts = ["ok.example", "not a host"]
            paths = [{ path_suffix = "matomo.js" }]
            usage_signatures = ["_paq.push(", "trackPageView"]
            "#,
        )
        .unwrap();
        let problems = cfg.validate();
        let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
        assert!(
            keys.contains(&"trackers.categories.google_analytics"),
            "{keys:?}"
        );
        assert!(keys.contains(&"trackers.categories.nobody"), "{keys:?}");
        assert!(keys.contains(&"trackers.vendors[0].hosts[1]"), "{keys:?}");
        assert!(
            keys.contains(&"trackers.vendors[0].paths[0].path_suffix"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"trackers.vendors[0].usage_signatures[1]"),
            "{keys:?}"
        );
        assert!(
            !keys.contains(&"trackers.vendors[0].usage_signatures[0]"),
            "{keys:?}"
        );
    }

    #[test]
    fn a_misspelt_vendor_id_gets_a_suggestion() {
        let cfg: TrackersConfig =
            toml::from_str("categories = { google_analytic = \"marketing\" }").unwrap();
        let problems = cfg.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .message
                .contains("did you mean \"google_analytics\"?"),
            "{}",
            problems[0]
        );
    }
}
