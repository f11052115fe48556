//! The tracker catalogue: which vendors count as trackers, how to recognise them (hosts,
//! first-party loader paths, inline-script signatures, cookie names) and which consent category
//! each belongs to. The built-in vendors (Google Analytics, Google Tag Manager, Hotjar, Meta) are
//! data in assets/trackers.toml; operators add vendors and override categories in `[trackers]`.
//!
//! Host matching reads the URL the way a browser would (see [`target`]: character references,
//! WHATWG URL parsing with IDNA, scheme-relative and protocol-less forms) and compares host
//! suffixes on label boundaries, never substrings of the whole URL: `notgoogle-analytics.com`
//! and `example.com/?u=google-analytics.com` are not trackers, `//WWW.Google-Analytics.COM:443/x`
//! and `https://connect。facebook。net/x` are.

mod target;

use std::fmt;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::config::{self, TrackersConfig, VendorConfig};
use target::UrlReader;

/// Consent category of a vendor. "necessary" is never a tracker and cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Analytics,
    Marketing,
    /// An operator-defined category (lower-case name as written in the config).
    Other(String),
}

impl Category {
    /// Parse a config value; `None` for "necessary" or a malformed name.
    pub fn parse(name: &str) -> Option<Category> {
        match name {
            "analytics" => Some(Category::Analytics),
            "marketing" => Some(Category::Marketing),
            other if config::valid_category(other) => Some(Category::Other(other.to_owned())),
            _ => None,
        }
    }

    /// The name used in `data-cg-category` and in the consent cookie.
    pub fn as_str(&self) -> &str {
        match self {
            Category::Analytics => "analytics",
            Category::Marketing => "marketing",
            Category::Other(name) => name,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A host (and optional path prefix) that identifies a vendor, e.g. `google-analytics.com` or
/// `facebook.com/tr`. The host matches itself and every subdomain; the path prefix matches the
/// path itself or anything below it (`/tr`, `/tr/`, but not `/travel`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    pub host: String,
    pub path_prefix: Option<String>,
}

impl HostRule {
    /// Parse `host[/path]` (host lower-cased and IDNA-mapped); `None` if the host is not a
    /// plausible DNS name.
    pub fn parse(spec: &str) -> Option<HostRule> {
        let (host, path_prefix) = config::parse_host_spec(spec)?;
        Some(HostRule { host, path_prefix })
    }

    /// Specificity of a match, or `None`: longer path prefixes, then longer hosts, win.
    fn matches(&self, host: &str, path: &str) -> Option<(usize, usize)> {
        let host_ok = host == self.host
            || (host.len() > self.host.len()
                && host.ends_with(self.host.as_str())
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.');
        if !host_ok {
            return None;
        }
        match &self.path_prefix {
            None => Some((0, self.host.len())),
            Some(prefix) => {
                let rest = path.strip_prefix(prefix.as_str())?;
                if rest.is_empty() || rest.starts_with('/') {
                    Some((prefix.len(), self.host.len()))
                } else {
                    None
                }
            }
        }
    }
}

/// A loader a site serves from its own domain, recognised by the end of its path and a marker
/// in its query, e.g. `/gtm.js?id=GTM-…`. Applies to every host, relative URLs included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRule {
    pub path_suffix: String,
    pub query_contains: String,
}

/// One tracker vendor.
#[derive(Debug, Clone)]
pub struct Vendor {
    /// Stable identifier, used in `data-cg-vendor` and in the banner (e.g. `google_analytics`).
    pub id: String,
    /// Display name for the banner.
    pub name: String,
    /// One-sentence purpose shown in the banner's second layer.
    pub description: String,
    pub category: Category,
    pub hosts: Vec<HostRule>,
    pub paths: Vec<PathRule>,
    /// Substrings of an inline script that identify this vendor's snippet (case-insensitive).
    pub inline_signatures: Vec<String>,
    /// Cookies set by the vendor, by exact name.
    pub cookie_names: Vec<String>,
    /// Cookies set by the vendor, by name prefix (e.g. `_ga_`, `_hj`).
    pub cookie_prefixes: Vec<String>,
}

/// The vendor catalogue, built once at start and shared read-only.
#[derive(Debug, Clone)]
pub struct Catalogue {
    vendors: Vec<Vendor>,
    /// Every inline signature of every vendor; pattern index → vendor index.
    /// `None` only if the automaton could not be built (it is a few dozen literals).
    signatures: Option<AhoCorasick>,
    /// Every host and loader-path literal: a URL containing none of them (and nothing a browser
    /// would decode or map first) cannot match, which spares parsing the many first-party URLs.
    url_prefilter: Option<AhoCorasick>,
    signature_vendor: Vec<usize>,
    urls: UrlReader,
}

impl Vendor {
    /// A vendor as configured; the configuration was validated at load (an unvalidated
    /// category falls back to marketing, the strictest, and unreadable hosts are skipped).
    fn from_config(cfg: &VendorConfig) -> Vendor {
        Vendor {
            id: cfg.id.clone(),
            name: cfg.name.clone().unwrap_or_else(|| cfg.id.clone()),
            description: cfg.description.clone(),
            category: Category::parse(&cfg.category).unwrap_or(Category::Marketing),
            hosts: cfg
                .hosts
                .iter()
                .filter_map(|h| HostRule::parse(h))
                .collect(),
            paths: cfg
                .paths
                .iter()
                .map(|p| PathRule {
                    path_suffix: p.path_suffix.to_ascii_lowercase(),
                    query_contains: p.query_contains.to_ascii_lowercase(),
                })
                .collect(),
            inline_signatures: cfg.inline_signatures.clone(),
            cookie_names: cfg.cookie_names.clone(),
            cookie_prefixes: cfg.cookie_prefixes.clone(),
        }
    }
}

/// Characters after which the text a browser uses differs from the literal text: character
/// references, percent-encoding, backslashes, tabs and newlines, and anything non-ASCII
/// (IDNA maps full-width letters and ideographic full stops, and drops soft hyphens).
fn disguised(url: &str) -> bool {
    url.bytes()
        .any(|b| matches!(b, b'&' | b'%' | b'\\' | b'\t' | b'\n' | b'\r') || !b.is_ascii())
}

impl Catalogue {
    /// The built-in catalogue without operator changes.
    pub fn builtin() -> Self {
        Self::from_config(&TrackersConfig::default())
    }

    /// The built-in catalogue with `[trackers]` applied: category overrides, then added
    /// vendors. The section is validated when the configuration is loaded.
    pub fn from_config(cfg: &TrackersConfig) -> Self {
        let vendors = cfg.resolved_vendors();
        Self::from_vendors(vendors.iter().map(Vendor::from_config).collect())
    }

    fn from_vendors(vendors: Vec<Vendor>) -> Self {
        let mut patterns = Vec::new();
        let mut signature_vendor = Vec::new();
        for (i, vendor) in vendors.iter().enumerate() {
            for sig in &vendor.inline_signatures {
                patterns.push(sig.clone());
                signature_vendor.push(i);
            }
        }
        let signatures = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            // A few dozen short literals: a full DFA is small and the fastest to scan with.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| tracing::error!("inline tracker signatures unusable: {e}"))
            .ok();
        // Loader paths without their leading slash: a path-relative `gtm.js?id=…` loads one too.
        let literals: Vec<&str> = vendors
            .iter()
            .flat_map(|v| {
                v.hosts.iter().map(|h| h.host.as_str()).chain(
                    v.paths
                        .iter()
                        .map(|p| p.path_suffix.trim_start_matches('/')),
                )
            })
            .collect();
        let url_prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&literals)
            .ok();
        Self {
            vendors,
            signatures,
            signature_vendor,
            url_prefilter,
            urls: UrlReader::new(),
        }
    }

    /// All vendors, built-in first, in a stable order.
    pub fn vendors(&self) -> &[Vendor] {
        &self.vendors
    }

    /// The vendor with this id.
    pub fn vendor(&self, id: &str) -> Option<&Vendor> {
        self.vendors.iter().find(|v| v.id == id)
    }

    /// The vendor a URL (as written in an attribute: may be relative, scheme-relative,
    /// protocol-less or entity-encoded) would contact, if any.
    pub fn vendor_for_url(&self, url: &str) -> Option<&Vendor> {
        if !disguised(url) {
            if let Some(prefilter) = &self.url_prefilter {
                if !prefilter.is_match(url) {
                    return None;
                }
            }
        }
        let targets = self.urls.targets(url);
        let mut best: Option<((usize, usize), &Vendor)> = None;
        for target in &targets {
            let Some(host) = &target.host else {
                continue;
            };
            for vendor in &self.vendors {
                for rule in &vendor.hosts {
                    if let Some(score) = rule.matches(host, &target.path) {
                        if best.is_none_or(|(s, _)| score > s) {
                            best = Some((score, vendor));
                        }
                    }
                }
            }
        }
        if let Some((_, vendor)) = best {
            return Some(vendor);
        }
        self.vendors.iter().find(|v| {
            v.paths.iter().any(|rule| {
                targets.iter().any(|t| {
                    t.path.ends_with(rule.path_suffix.as_str())
                        && t.query.contains(rule.query_contains.as_str())
                })
            })
        })
    }

    /// The vendor whose signature occurs first in an inline script's text, if any.
    pub fn vendor_for_inline(&self, script: &str) -> Option<&Vendor> {
        let found = self.signatures.as_ref()?.find(script)?;
        self.signature_vendor
            .get(found.pattern().as_usize())
            .and_then(|&i| self.vendors.get(i))
    }

    /// The vendor that sets a cookie of this name (exact names first, then prefixes).
    pub fn vendor_for_cookie(&self, cookie_name: &str) -> Option<&Vendor> {
        self.vendors
            .iter()
            .find(|v| v.cookie_names.iter().any(|n| n == cookie_name))
            .or_else(|| {
                self.vendors.iter().find(|v| {
                    v.cookie_prefixes
                        .iter()
                        .any(|p| cookie_name.starts_with(p.as_str()))
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id_for(url: &str) -> Option<String> {
        Catalogue::builtin()
            .vendor_for_url(url)
            .map(|v| v.id.clone())
    }

    #[test]
    fn tracker_urls_in_their_many_spellings_are_recognised() {
        for (url, vendor) in [
            (
                "//WWW.Google-Analytics.COM:443/analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://region1.google-analytics.com/g/collect",
                "google_analytics",
            ),
            ("http://www.google-analytics.com./ga.js", "google_analytics"),
            (
                "https://www.googletagmanager.com/gtag/js?id=G-1",
                "google_analytics",
            ),
            (
                "https://www.googletagmanager.com/gtm.js?id=GTM-1",
                "google_tag_manager",
            ),
            (
                "https://www.googletagmanager.com/ns.html?id=GTM-1",
                "google_tag_manager",
            ),
            ("/gtm.js?id=GTM-ABC", "google_tag_manager"),
            (
                "https://www.example.org/gtm.js?id=GTM-ABC",
                "google_tag_manager",
            ),
            ("https://static.hotjar.com/c/hotjar-1.js?sv=6", "hotjar"),
            ("https://script.hotjar.com/modules.js", "hotjar"),
            ("https://vc.hotjar.io/x", "hotjar"),
            ("https://static.hj.contentsquare.net/c/csq-1.js", "hotjar"),
            (
                "https://connect.facebook.net/en_US/fbevents.js",
                "meta_pixel",
            ),
            (
                "https://connect.facebook.net/en_US/sdk.js#xfbml=1",
                "meta_pixel",
            ),
            (
                "https://www.facebook.com/tr?id=1&ev=PageView&noscript=1",
                "meta_pixel",
            ),
            ("https://www.facebook.com/tr/?id=1", "meta_pixel"),
            (
                "https://x.example@www.google-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google-analytics.com&#47;analytics.js",
                "google_analytics",
            ),
            (
                "https&#58;//www.google-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "  https://www.google-analytics.com/analytics.js\n",
                "google_analytics",
            ),
            (
                "www.googletagmanager.com/gtm.js?id=GTM-1",
                "google_tag_manager",
            ),
            (
                "https:\\\\www.google-analytics.com\\analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google%2Danalytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google-ana\tlytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://WWW.GOOGLETAGMANAGER.COM/gtm.js?id=GTM-1",
                "google_tag_manager",
            ),
            ("/GTM.JS?ID=GTM-X", "google_tag_manager"),
            ("gtm.js?id=GTM-REL", "google_tag_manager"),
            // A browser decodes every named reference and drops the tab it yields.
            (
                "https://www.google-ana&Tab;lytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google-ana&NewLine;lytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https&colon;&sol;&sol;www&period;google-analytics&period;com/ga.js",
                "google_analytics",
            ),
            // IDNA (UTS-46): ideographic full stops, full-width letters, soft hyphens.
            (
                "https://connect\u{3002}facebook\u{3002}net/en_US/fbevents.js",
                "meta_pixel",
            ),
            (
                "//connect&#x3002;facebook&#12290;net/en_US/fbevents.js",
                "meta_pixel",
            ),
            (
                "https://www.\u{ff47}\u{ff4f}\u{ff4f}\u{ff47}\u{ff4c}\u{ff45}-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://WWW.\u{ff27}\u{ff2f}\u{ff2f}\u{ff27}\u{ff2c}\u{ff25}-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://www.google-ana\u{ad}lytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "https://static.hot&shy;jar.com/c/hotjar-1.js",
                "hotjar",
            ),
            ("connect\u{3002}facebook\u{3002}net/en_US/fbevents.js", "meta_pixel"),
            (
                "https://www.facebook\u{3002}com/tr?id=1",
                "meta_pixel",
            ),
        ] {
            assert_eq!(id_for(url).as_deref(), Some(vendor), "{url}");
        }
    }

    #[test]
    fn look_alikes_and_mentions_are_not_trackers() {
        for url in [
            "https://notgoogle-analytics.com/analytics.js",
            "https://google-analytics.com.evil.example/x.js",
            "https://example.com/?u=google-analytics.com",
            "https://example.com/google-analytics.com/analytics.js",
            "https://www.google-analytics.com@example.com/x.js",
            "https://www.facebook.com/travel",
            "https://www.facebook.com/sharer.php?u=x",
            "https://facebook.net/x",
            "/wp-content/plugins/google-analytics/ga.js",
            "/gtm.js",
            "javascript:alert(1)",
            "data:text/javascript,gtag()",
            "jquery.min.js",
            "",
            // A reference without semicolon that is not a legacy one stays literal text, so
            // this is a relative path on the site itself.
            "https&colon//www.google-analytics.com/analytics.js",
            "https://google-analytics\u{3002}com\u{3002}evil.example/x.js",
            "https://example.com/?u=google-analytics\u{3002}com",
            "https://www.facebook.com/tr&#97;vel",
        ] {
            assert_eq!(id_for(url), None, "{url}");
        }
    }

    #[test]
    fn inline_snippets_are_attributed_to_their_vendor() {
        let cat = Catalogue::builtin();
        let v = |s: &str| cat.vendor_for_inline(s).map(|v| v.id.as_str());
        assert_eq!(
            v("window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"),
            Some("google_analytics")
        );
        assert_eq!(
            v("(function(w,d,s,l,i){w[l].push({'gtm.start':new Date().getTime()})})"),
            Some("google_tag_manager")
        );
        assert_eq!(v("h._hjSettings={hjid:1,hjsv:6}"), Some("hotjar"));
        assert_eq!(v("fbq('init', '1');"), Some("meta_pixel"));
        assert_eq!(v("var _gaq=_gaq||[];(function(){ga.src='https://ssl.google-analytics.com/ga.js';})();"), Some("google_analytics"));
        // API calls without a loader contact nobody and stay in first-party code untouched.
        assert_eq!(v("jQuery(function(){ ga('send', 'event', 'x'); fbq('track', 'Lead'); gtag('event', 'y'); });"), None);
        assert_eq!(
            v("document.addEventListener('click', function(){ menu.toggle(); });"),
            None
        );
    }

    #[test]
    fn builtin_catalogue_is_the_vendor_file() {
        let ids: Vec<_> = Catalogue::builtin()
            .vendors()
            .iter()
            .map(|v| v.id.clone())
            .collect();
        assert_eq!(ids, crate::config::builtin_vendor_ids());
    }

    #[test]
    fn cookies_are_attributed_by_name_and_prefix() {
        let cat = Catalogue::builtin();
        let v = |s: &str| cat.vendor_for_cookie(s).map(|v| v.id.as_str());
        assert_eq!(v("_ga"), Some("google_analytics"));
        assert_eq!(v("_ga_ABC123"), Some("google_analytics"));
        assert_eq!(v("_gat_UA-1-1"), Some("google_analytics"));
        assert_eq!(v("__utmz"), Some("google_analytics"));
        assert_eq!(v("_gcl_au"), Some("google_analytics"));
        assert_eq!(v("_hjSessionUser_1"), Some("hotjar"));
        assert_eq!(v("_fbp"), Some("meta_pixel"));
        assert_eq!(v("_gallery"), None);
        assert_eq!(v("cg_consent"), None);
        assert_eq!(v("PHPSESSID"), None);
    }

    #[test]
    fn operator_vendors_and_category_overrides_apply() {
        let cfg: TrackersConfig = toml::from_str(
            r#"
            categories = { hotjar = "marketing", matomo = "statistics" }
            [[vendors]]
            id = "matomo"
            name = "Matomo Cloud"
            category = "analytics"
            hosts = ["matomo.cloud"]
            inline_signatures = ["_paq.push"]
            cookie_prefixes = ["_pk_"]
            "#,
        )
        .unwrap();
        let cat = Catalogue::from_config(&cfg);
        assert_eq!(cat.vendor("hotjar").unwrap().category, Category::Marketing);
        let matomo = cat
            .vendor_for_url("https://site.matomo.cloud/matomo.js")
            .unwrap();
        assert_eq!(matomo.id, "matomo");
        assert_eq!(matomo.category, Category::Other("statistics".into()));
        assert_eq!(
            cat.vendor_for_inline("var _paq=[];_paq.push(['x'])")
                .unwrap()
                .id,
            "matomo"
        );
        assert_eq!(cat.vendor_for_cookie("_pk_id.1").unwrap().id, "matomo");
    }
}
