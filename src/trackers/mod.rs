//! The tracker catalogue: which vendors count as trackers, how to recognise them (hosts,
//! first-party loader paths, inline-script signatures, cookie names), which consent category
//! each belongs to, and which of them are embedded media (players, maps, social plugins whose
//! frames become click-to-load placeholders). The built-in vendors are data in
//! assets/trackers.toml; operators add vendors and override categories in `[trackers]`.
//! Vendors put in the category "necessary" are known but never blocked: they are kept apart
//! ([`Catalogue::necessary`]) and match nothing the rewriter, guard or wire policy acts on.
//!
//! Host matching reads the URL the way a browser would (see [`target`]: character references,
//! WHATWG URL parsing with IDNA, scheme-relative and protocol-less forms) and compares host
//! suffixes on label boundaries, never substrings of the whole URL: `notgoogle-analytics.com`
//! and `example.com/?u=google-analytics.com` are not trackers, `//WWW.Google-Analytics.COM:443/x`
//! and `https://connect。facebook。net/x` are.

mod inline;
pub mod site;
mod target;

use std::fmt;

use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind,
};

pub use crate::config::EmbedKind;
use crate::config::{self, LocalText, TrackersConfig, VendorConfig, NECESSARY};
use inline::{fold, shape, statements, Shape, Stmt};
pub use site::{SiteSet, SiteVendors};
use target::UrlReader;

/// Consent category of a vendor. "necessary" is never a tracker and cannot be chosen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Analytics,
    Marketing,
    /// An operator-defined category (lower-case name as written in the config), or a vendor's
    /// own (`youtube`).
    Other(String),
    /// Recognised, never blocked (an operator's choice; never a tracker category).
    Necessary,
}

impl Category {
    /// Parse a config value; `None` for a malformed name.
    pub fn parse(name: &str) -> Option<Category> {
        match name {
            NECESSARY => Some(Category::Necessary),
            "analytics" => Some(Category::Analytics),
            "marketing" => Some(Category::Marketing),
            other if config::valid_category(other) => Some(Category::Other(other.to_owned())),
            _ => None,
        }
    }

    /// How strict the category is, for a script that holds several vendors: marketing is the
    /// strictest, then operator categories, then analytics.
    pub fn strictness(&self) -> u8 {
        match self {
            Category::Marketing => 2,
            Category::Other(_) => 1,
            Category::Analytics | Category::Necessary => 0,
        }
    }

    /// The name used in `data-cg-category` and in the consent cookie.
    pub fn as_str(&self) -> &str {
        match self {
            Category::Analytics => "analytics",
            Category::Marketing => "marketing",
            Category::Other(name) => name,
            Category::Necessary => NECESSARY,
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

    /// The rule as written: host and path prefix (`facebook.com/tr`); guard.js keys its rules
    /// the same way.
    pub fn key(&self) -> String {
        format!("{}{}", self.host, self.path_prefix.as_deref().unwrap_or(""))
    }

    /// Whether `host` (lower case) is this rule's host or a subdomain of it.
    fn covers_host(&self, host: &str) -> bool {
        host == self.host
            || (host.len() > self.host.len()
                && host.ends_with(self.host.as_str())
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.')
    }

    /// Specificity of a match, or `None`: longer path prefixes, then longer hosts, win.
    fn matches(&self, host: &str, path: &str) -> Option<(usize, usize)> {
        if !self.covers_host(host) {
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
    /// One-sentence purpose shown in the banner's second layer, per banner language.
    pub description: LocalText,
    pub category: Category,
    /// Embedded media (a player, a map, a social plugin): its frames become click-to-load
    /// placeholders. `None` for every other vendor.
    pub embed: Option<EmbedKind>,
    pub hosts: Vec<HostRule>,
    pub paths: Vec<PathRule>,
    /// Text of an inline script that identifies this vendor's loader or set-up snippet
    /// (compared folded: case, spacing and kind of quote ignored).
    pub inline_signatures: Vec<String>,
    /// Starts of calls into this vendor's API (`ga('send'`), compared folded: a script made
    /// only of such calls is the vendor's.
    pub usage_signatures: Vec<String>,
    /// Cookies set by the vendor, by exact name.
    pub cookie_names: Vec<String>,
    /// Cookies set by the vendor, by name prefix (e.g. `_ga_`, `_hj`).
    pub cookie_prefixes: Vec<String>,
}

/// An inline script that belongs to a tracker.
#[derive(Debug, Clone, Copy)]
pub struct InlineMatch<'a> {
    pub vendor: &'a Vendor,
    /// Only calls into the vendor's API (no loader): run after the loader on consent.
    pub usage_only: bool,
}

/// The vendor catalogue, built once at start and shared read-only.
#[derive(Debug, Clone)]
pub struct Catalogue {
    vendors: Vec<Vendor>,
    /// Vendors in the category "necessary": known (the CSP allows their hosts, discovery does
    /// not list them), never blocked.
    necessary: Vec<Vendor>,
    /// Every inline signature of every vendor, folded; pattern index → vendor index.
    /// `None` only if the automaton could not be built (it is a few dozen literals).
    signatures: Option<AhoCorasick>,
    /// Every usage signature, folded, searched anchored at a call's start and unanchored as a
    /// cheap first test; pattern index → vendor index.
    usage: Option<AhoCorasick>,
    usage_vendor: Vec<usize>,
    /// The first names of the usage signatures (`ga`, `_gaq`, `datalayer`), folded: the
    /// command queues a usage snippet may set up (`var _gaq = _gaq || []`).
    api_names: Vec<String>,
    /// Every host and loader-path literal: a URL containing none of them (and nothing a browser
    /// would decode or map first) cannot match, which spares parsing the many first-party URLs.
    url_prefilter: Option<AhoCorasick>,
    signature_vendor: Vec<usize>,
    urls: UrlReader,
    /// Origins the site needs (`csp.allowed_origins`, approved in the dashboard): known, not
    /// trackers.
    site_origins: Vec<String>,
    /// Cookie names the operator marked necessary in the dashboard.
    necessary_cookies: Vec<String>,
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
            embed: cfg.embed.map(|e| e.kind),
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
            usage_signatures: cfg.usage_signatures.clone(),
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
        let (necessary, vendors): (Vec<Vendor>, Vec<Vendor>) = cfg
            .resolved_vendors()
            .iter()
            .map(Vendor::from_config)
            .partition(|v| v.category == Category::Necessary);
        let mut catalogue = Self::from_vendors(vendors);
        catalogue.necessary = necessary;
        catalogue.necessary_cookies = cfg.learned.necessary_cookies.clone();
        catalogue.allowing(&cfg.learned.approved_origins)
    }

    /// The catalogue that also knows `origins` (`scheme://host[:port]`) as the site's own.
    pub fn allowing(mut self, origins: &[String]) -> Self {
        self.site_origins
            .extend(origins.iter().filter_map(|o| config::origin_of(o)));
        self.site_origins.sort();
        self.site_origins.dedup();
        self
    }

    /// The origins known as the site's own (`csp.allowed_origins` and approved ones).
    pub fn site_origins(&self) -> &[String] {
        &self.site_origins
    }

    /// Whether an origin is classified: a vendor's host (blocked or necessary), or one the
    /// site needs.
    pub fn knows_origin(&self, origin: &str) -> bool {
        self.site_origins.iter().any(|o| o == origin)
            || self.vendor_for_url(&format!("{origin}/")).is_some()
            || url::Url::parse(origin)
                .ok()
                .and_then(|u| u.host_str().map(|h| self.knows_host(h)))
                .unwrap_or(false)
    }

    /// Whether a cookie name is classified: a vendor's (blocked or necessary), one marked
    /// necessary, or the gate's own (`cg_…`).
    pub fn knows_cookie(&self, name: &str) -> bool {
        name.starts_with("cg_")
            || name.starts_with("__Host-cg")
            || self.necessary_cookies.iter().any(|n| n == name)
            || self.vendor_for_cookie(name).is_some()
            || self.necessary.iter().any(|v| claims_cookie(v, name))
    }

    fn from_vendors(vendors: Vec<Vendor>) -> Self {
        let folded = |pick: fn(&Vendor) -> &Vec<String>| {
            let mut patterns = Vec::new();
            let mut owner = Vec::new();
            for (i, vendor) in vendors.iter().enumerate() {
                for sig in pick(vendor) {
                    patterns.push(fold(sig));
                    owner.push(i);
                }
            }
            (patterns, owner)
        };
        let (patterns, signature_vendor) = folded(|v| &v.inline_signatures);
        // A few dozen short literals over text folded to lower case: a full DFA is small and
        // the fastest to scan with.
        let signatures = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| tracing::error!("inline tracker signatures unusable: {e}"))
            .ok();
        let (usage_patterns, usage_vendor) = folded(|v| &v.usage_signatures);
        let usage = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .start_kind(StartKind::Both)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&usage_patterns)
            .map_err(|e| tracing::error!("usage signatures unusable: {e}"))
            .ok();
        let mut api_names: Vec<String> = usage_patterns
            .iter()
            .filter_map(|p| p.split(['(', '.']).next())
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        api_names.sort();
        api_names.dedup();
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
            necessary: Vec::new(),
            signatures,
            usage,
            usage_vendor,
            api_names,
            signature_vendor,
            url_prefilter,
            urls: UrlReader::new(),
            site_origins: Vec::new(),
            necessary_cookies: Vec::new(),
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

    /// Vendors the operator put in the category "necessary": recognised, never blocked.
    pub fn necessary(&self) -> &[Vendor] {
        &self.necessary
    }

    /// Whether any vendor, blocked or necessary, claims all of `host` (or a parent of it): a
    /// host rule without a path prefix. `gstatic.com/recaptcha` does not make
    /// fonts.gstatic.com known; ask [`Catalogue::vendor_for_url`] about a whole URL.
    pub fn knows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.vendors
            .iter()
            .chain(&self.necessary)
            .flat_map(|v| &v.hosts)
            .any(|rule| rule.path_prefix.is_none() && rule.covers_host(&host))
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
        if targets.is_empty() {
            // Not an http(s) URL to this parser. Where a browser's parser might still read
            // one (or a data: document fetches from it), a tracker host named in it counts.
            return self.vendor_named_in(url);
        }
        // A loader path with a query marker is more specific than any host rule:
        // `googletagmanager.com/gtag/js?id=AW-…` is Google Ads, not Google Analytics.
        let by_path = |marked: bool| {
            self.vendors.iter().find(|v| {
                v.paths.iter().any(|rule| {
                    rule.query_contains.is_empty() != marked
                        && targets.iter().any(|t| {
                            t.path.ends_with(rule.path_suffix.as_str())
                                && t.query.contains(rule.query_contains.as_str())
                        })
                })
            })
        };
        if let Some(vendor) = by_path(true) {
            return Some(vendor);
        }
        let mut best: Option<((usize, usize), &Vendor)> = None;
        for target in &targets {
            let Some(host) = &target.host else {
                continue;
            };
            if let Some((score, vendor, _)) = self.best_host_rule(host, &target.path) {
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, vendor));
                }
            }
        }
        if let Some((_, vendor)) = best {
            return Some(vendor);
        }
        by_path(false).or_else(|| {
            targets
                .iter()
                .find_map(|target| self.vendor_in_path(&target.path))
        })
    }

    /// The vendor whose host stands as a whole segment of a path (the rest of the path after
    /// it read as that host's path): `/proxy/www.google-analytics.com/analytics.js` is a
    /// proxied or self-hosted copy of the tracker's script, which reports to the tracker all
    /// the same, so it waits for consent like the original. The segment ends where a host name
    /// cannot go on (`facebook.com-logo.png` names no host).
    fn vendor_in_path(&self, path: &str) -> Option<&Vendor> {
        let mut rest = path;
        while let Some(slash) = rest.find('/') {
            rest = &rest[slash + 1..];
            let segment = &rest[..rest.find('/').unwrap_or(rest.len())];
            let end = segment
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                .unwrap_or(segment.len());
            let name = segment[..end].trim_end_matches('.');
            if name.contains('.') {
                if let Some((_, vendor, _)) = self.best_host_rule(name, &rest[segment.len()..]) {
                    return Some(vendor);
                }
            }
        }
        None
    }

    /// The most specific host rule for a host (lower case) and path, with its score and
    /// vendor: longer path prefixes, then longer hosts, win; equal ones keep catalogue order.
    fn best_host_rule(
        &self,
        host: &str,
        path: &str,
    ) -> Option<((usize, usize), &Vendor, &HostRule)> {
        let mut best: Option<((usize, usize), &Vendor, &HostRule)> = None;
        for vendor in &self.vendors {
            for rule in &vendor.hosts {
                if let Some(score) = rule.matches(host, path) {
                    if best.is_none_or(|(s, _, _)| score > s) {
                        best = Some((score, vendor, rule));
                    }
                }
            }
        }
        best
    }

    /// The host rule that decides `https://{host}{path}`, as guard.js keys it: its host and
    /// path prefix (`connect.facebook.net`, `facebook.com/tr`). `host` in lower case.
    pub fn host_rule_key(&self, host: &str, path: &str) -> Option<String> {
        self.best_host_rule(host, path)
            .map(|(_, _, rule)| rule.key())
    }

    /// The vendor whose host (of a host rule) stands in `raw` as a name of its own — not as
    /// the tail of a longer label; the longest such host wins.
    fn vendor_named_in(&self, raw: &str) -> Option<&Vendor> {
        let text = htmlize::unescape_attribute(raw).to_ascii_lowercase();
        let mut best: Option<(usize, &Vendor)> = None;
        for vendor in &self.vendors {
            for rule in &vendor.hosts {
                let named = text.match_indices(rule.host.as_str()).any(|(at, _)| {
                    !text[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
                });
                if named && best.is_none_or(|(len, _)| rule.host.len() > len) {
                    best = Some((rule.host.len(), vendor));
                }
            }
        }
        best.map(|(_, vendor)| vendor)
    }

    /// The vendor of an inline script, if it is a tracker's: it holds a loader signature, or
    /// it is made only of calls into trackers' APIs. Of several vendors the one with the
    /// strictest category wins (the first of those in the text).
    pub fn vendor_for_inline(&self, script: &str) -> Option<&Vendor> {
        self.inline_tracker(script).map(|m| m.vendor)
    }

    /// [`Self::vendor_for_inline`], also saying whether the script is only API calls.
    pub fn inline_tracker(&self, script: &str) -> Option<InlineMatch<'_>> {
        let folded = fold(script);
        if let Some(signatures) = &self.signatures {
            let owners = signatures
                .find_iter(folded.as_str())
                .filter_map(|m| self.signature_vendor.get(m.pattern().as_usize()).copied());
            if let Some(vendor) = self.strictest(owners) {
                return Some(InlineMatch {
                    vendor,
                    usage_only: false,
                });
            }
        }
        let usage = self.usage.as_ref()?;
        if !usage.is_match(folded.as_str()) {
            return None;
        }
        let mut found = Vec::new();
        self.usage_calls(&statements(script)?, &mut Vec::new(), &mut found)?;
        self.strictest(found.into_iter()).map(|vendor| InlineMatch {
            vendor,
            usage_only: true,
        })
    }

    /// Of the vendors at these indices (in text order), the first with the strictest category.
    fn strictest(&self, owners: impl Iterator<Item = usize>) -> Option<&Vendor> {
        let mut best: Option<&Vendor> = None;
        for vendor in owners.filter_map(|i| self.vendors.get(i)) {
            if best.is_none_or(|b| vendor.category.strictness() > b.category.strictness()) {
                best = Some(vendor);
            }
        }
        best
    }

    /// Check that `stmts` are all tracker API calls (or the queues and tracker objects they
    /// use), pushing the vendor of each call onto `found`; `None` at the first that is not.
    /// `bound` holds the names bound to a tracker object so far, with their vendor.
    fn usage_calls<'s>(
        &self,
        stmts: &[Stmt<'s>],
        bound: &mut Vec<(&'s str, usize)>,
        found: &mut Vec<usize>,
    ) -> Option<()> {
        for stmt in stmts {
            match stmt {
                Stmt::Try(inner) => self.usage_calls(inner, bound, found)?,
                Stmt::Simple(text) => match shape(text) {
                    Shape::QueueInit(name) => {
                        let name = name.to_ascii_lowercase();
                        self.api_names.binary_search(&name).ok()?;
                    }
                    Shape::Bind { name, root, call } => {
                        let vendor = self.call_vendor(root, call, bound)?;
                        bound.push((name, vendor));
                        found.push(vendor);
                    }
                    Shape::Call { root, call } => found.push(self.call_vendor(root, call, bound)?),
                    Shape::Other => return None,
                },
            }
        }
        Some(())
    }

    /// The vendor whose API `call` (a call chain whose callee starts with `root`) calls.
    fn call_vendor(&self, root: &str, call: &str, bound: &[(&str, usize)]) -> Option<usize> {
        if let Some((_, vendor)) = bound.iter().find(|(name, _)| *name == root) {
            return Some(*vendor);
        }
        let folded = fold(call);
        let head = folded.strip_prefix("window.").unwrap_or(&folded);
        let found = self
            .usage
            .as_ref()?
            .find(Input::new(head).anchored(Anchored::Yes))?;
        self.usage_vendor.get(found.pattern().as_usize()).copied()
    }

    /// Whether `text` mentions a tracker host or loader path anywhere (case-insensitive): the
    /// cheap, conservative test for text the rewriter can no longer hold back.
    pub fn mentions_tracker_host(&self, text: &str) -> bool {
        self.url_prefilter
            .as_ref()
            .is_none_or(|prefilter| prefilter.is_match(text))
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

/// Whether `vendor` sets a cookie called `name` (by name or prefix).
fn claims_cookie(vendor: &Vendor, name: &str) -> bool {
    vendor.cookie_names.iter().any(|n| n == name)
        || vendor
            .cookie_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
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
    fn a_value_no_url_parser_reads_still_names_its_tracker() {
        // Found by fuzzing: the URL parser here refuses what another parser might not.
        assert_eq!(
            id_for("https://www.google-analytics.com\u{18}\0\0></script<script>x").as_deref(),
            Some("google_analytics")
        );
        assert_eq!(
            id_for("data:text/html,<script src=//connect.facebook.net/en_US/fbevents.js>")
                .as_deref(),
            Some("meta_pixel")
        );
        assert_eq!(id_for("mailto:info@notgoogle-analytics.com"), None);
        assert_eq!(id_for("javascript:void(0)"), None);
    }

    #[test]
    fn a_tracker_host_as_a_segment_of_a_path_is_a_proxied_copy_of_the_tracker() {
        // Found by fuzzing: a relative path naming the host. Proxies and "host analytics.js
        // locally" plugins serve the tracker's script (which reports to it) from such paths.
        for (url, vendor) in [
            (
                "/proxy/www.google-analytics.com/analytics.js",
                "google_analytics",
            ),
            (
                "htt\u{fffd}/www.google-analytics.com   >",
                "google_analytics",
            ),
            (
                "https://cdn.example.org/connect.facebook.net/en_US/fbevents.js",
                "meta_pixel",
            ),
            ("/relay/www.google.com/maps/embed?pb=1", "google_maps"),
            (
                "https://example.com/google-analytics.com/analytics.js",
                "google_analytics",
            ),
            // A reference without semicolon that is not a legacy one stays literal text, so
            // this is a relative path on the site itself — with the host as a segment.
            (
                "https&colon//www.google-analytics.com/analytics.js",
                "google_analytics",
            ),
        ] {
            assert_eq!(id_for(url).as_deref(), Some(vendor), "{url}");
        }
        // A name that only begins like a host, or a host rule whose path does not follow.
        for url in [
            "/img/facebook.com-logo.png",
            "/img/youtube.community/x.png",
            "/relay/www.google.com/search",
            "/analytics.js",
        ] {
            assert_eq!(id_for(url), None, "{url}");
        }
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
            "https://www.google-analytics.com@example.com/x.js",
            "https://facebook.net/x",
            "/wp-content/plugins/google-analytics/ga.js",
            "/gtm.js",
            "javascript:alert(1)",
            "data:text/javascript,gtag()",
            "jquery.min.js",
            "",
            "https://google-analytics\u{3002}com\u{3002}evil.example/x.js",
            "https://example.com/?u=google-analytics\u{3002}com",
        ] {
            assert_eq!(id_for(url), None, "{url}");
        }
        // Any fetch from facebook.com reaches Meta (social plugins), but only /tr is the pixel.
        for url in [
            "https://www.facebook.com/travel",
            "https://www.facebook.com/sharer.php?u=x",
            "https://www.facebook.com/tr&#97;vel",
        ] {
            assert_eq!(id_for(url).as_deref(), Some("facebook_social"), "{url}");
        }
    }

    #[test]
    fn advertising_hosts_and_ads_tags_are_google_ads_not_analytics() {
        for (url, vendor) in [
            (
                "https://securepubads.g.doubleclick.net/tag/js/gpt.js",
                "google_ads",
            ),
            (
                "https://www.googletagservices.com/tag/js/gpt.js",
                "google_ads",
            ),
            (
                "https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js",
                "google_ads",
            ),
            (
                "https://googleads.g.doubleclick.net/pagead/viewthroughconversion/1/",
                "google_ads",
            ),
            (
                "https://www.googleadservices.com/pagead/conversion.js",
                "google_ads",
            ),
            (
                "https://www.google.com/pagead/1p-conversion/1/",
                "google_ads",
            ),
            (
                "https://www.googletagmanager.com/gtag/js?id=AW-123456",
                "google_ads",
            ),
            (
                "https://www.googletagmanager.com/gtag/js?id=DC-123456",
                "google_ads",
            ),
            ("/gtag/js?id=AW-123456", "google_ads"),
            (
                "https://www.googletagmanager.com/gtag/js?id=G-1",
                "google_analytics",
            ),
            ("https://stats.g.doubleclick.net/dc.js", "google_analytics"),
            (
                "//www.facebook.com/plugins/like.php?href=x",
                "facebook_social",
            ),
        ] {
            assert_eq!(id_for(url).as_deref(), Some(vendor), "{url}");
        }
        // Google's map embeds are a vendor of their own (embedded media), not advertising.
        assert_eq!(
            id_for("https://www.google.com/maps/embed?pb=1").as_deref(),
            Some("google_maps")
        );
    }

    #[test]
    fn the_broader_catalogue_knows_embeds_recorders_and_ad_pixels() {
        for (url, vendor) in [
            (
                "https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed",
                "youtube",
            ),
            (
                "http://www.youtube.com/embed/G83gI7qjWug?version=3&#038;rel=1",
                "youtube",
            ),
            ("https://www.youtube-nocookie.com/embed/x", "youtube"),
            ("https://i.ytimg.com/vi/x/hqdefault.jpg", "youtube"),
            ("https://player.vimeo.com/video/76979871", "vimeo"),
            ("https://i.vimeocdn.com/video/1.jpg", "vimeo"),
            (
                "https://maps.google.com/maps?q=Utrecht&output=embed",
                "google_maps",
            ),
            (
                "https://maps.googleapis.com/maps/api/js?key=k",
                "google_maps",
            ),
            ("https://www.clarity.ms/tag/abc", "microsoft_clarity"),
            (
                "https://snap.licdn.com/li.lms-analytics/insight.min.js",
                "linkedin_insight",
            ),
            (
                "https://px.ads.linkedin.com/collect/?pid=1",
                "linkedin_insight",
            ),
            (
                "https://analytics.tiktok.com/i18n/pixel/events.js",
                "tiktok_pixel",
            ),
            ("https://s.pinimg.com/ct/core.js", "pinterest_tag"),
            ("https://ct.pinterest.com/v3/?tid=1", "pinterest_tag"),
            ("https://static.ads-twitter.com/uwt.js", "x_pixel"),
            ("https://platform.twitter.com/widgets.js", "x_embeds"),
            ("//www.instagram.com/embed.js", "instagram"),
            ("https://www.tiktok.com/embed.js", "tiktok_embeds"),
            ("https://t.co/i/adsct?txn_id=1", "x_pixel"),
            (
                "https://www.google.com/recaptcha/api.js",
                "google_recaptcha",
            ),
            (
                "https://www.gstatic.com/recaptcha/releases/x/recaptcha__en.js",
                "google_recaptcha",
            ),
        ] {
            assert_eq!(id_for(url).as_deref(), Some(vendor), "{url}");
        }
        // Pinterest's images and X's link shortener are not its pixel.
        assert_eq!(id_for("https://i.pinimg.com/736x/a.jpg"), None);
        assert_eq!(id_for("https://s.pinimg.com/images/x.png"), None);
        assert_eq!(id_for("https://t.co/abc"), None);
        // TikTok's pixel keeps its own, more specific host.
        assert_eq!(
            id_for("https://analytics.tiktok.com/api/v2/pixel").as_deref(),
            Some("tiktok_pixel")
        );
        assert_eq!(id_for("https://fonts.gstatic.com/s/x.woff2"), None);
        let cat = Catalogue::builtin();
        let youtube = cat.vendor("youtube").unwrap();
        assert_eq!(youtube.embed, Some(EmbedKind::Video));
        assert_eq!(youtube.category, Category::Other("youtube".into()));
        assert!(youtube.description.get("nl").contains("IP-adres"));
        assert_eq!(
            cat.vendor("facebook_social").unwrap().embed,
            Some(EmbedKind::Social)
        );
        assert_eq!(cat.vendor("hotjar").unwrap().embed, None);
        let clarity = |s: &str| cat.vendor_for_inline(s).map(|v| v.id.as_str());
        assert_eq!(
            clarity(
                r#"(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;})(window, document, "clarity", "script", "abc");"#
            ),
            Some("microsoft_clarity")
        );
        assert_eq!(
            clarity("_linkedin_partner_id = \"1\";"),
            Some("linkedin_insight")
        );
        assert_eq!(clarity("ttq.track('ViewContent');"), Some("tiktok_pixel"));
        assert_eq!(clarity("twq('event', 'tw-1', {});"), Some("x_pixel"));
        assert_eq!(
            clarity("pintrk('track', 'checkout');"),
            Some("pinterest_tag")
        );
        assert_eq!(
            cat.vendor_for_cookie("_clck").unwrap().id,
            "microsoft_clarity"
        );
        assert_eq!(cat.vendor_for_cookie("_ttp").unwrap().id, "tiktok_pixel");
    }

    #[test]
    fn a_vendor_marked_necessary_is_known_but_never_matched() {
        let cfg: TrackersConfig = toml::from_str(
            r#"
            categories = { google_recaptcha = "necessary" }
            [[vendors]]
            id = "fonts"
            category = "necessary"
            hosts = ["fonts.example.net"]
            cookie_names = ["fontpref"]
            "#,
        )
        .unwrap();
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        let cat = Catalogue::from_config(&cfg);
        assert!(cat
            .vendor_for_url("https://www.google.com/recaptcha/api.js")
            .is_none());
        assert!(cat.vendor("google_recaptcha").is_none());
        assert!(cat.knows_host("www.recaptcha.net"));
        // A path-prefixed rule (google.com/recaptcha) claims URLs, not the whole host.
        assert!(!cat.knows_host("www.google.com"));
        assert!(cat.knows_host("cdn.fonts.example.net"));
        assert!(!cat.knows_host("example.net"));
        assert!(cat.knows_cookie("fontpref"));
        assert!(cat.vendor_for_cookie("fontpref").is_none());
        let necessary: Vec<_> = cat.necessary().iter().map(|v| v.id.as_str()).collect();
        assert_eq!(necessary, ["google_recaptcha", "fonts"]);
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
        // The display-features loader builds its URL from pieces.
        assert_eq!(
            v("var ga = document.createElement('script'); ga.src = ('https:' == document.location.protocol ? 'https://' : 'http://') + 'stats.g.doubleclick.net/dc.js';"),
            Some("google_analytics")
        );
        // API calls inside first-party code do not make that code a tracker.
        assert_eq!(v("jQuery(function(){ ga('send', 'event', 'x'); fbq('track', 'Lead'); gtag('event', 'y'); });"), None);
        assert_eq!(
            v("document.addEventListener('click', function(){ menu.toggle(); });"),
            None
        );
    }

    #[test]
    fn signatures_ignore_spacing_case_and_quotes() {
        let cat = Catalogue::builtin();
        let v = |s: &str| cat.vendor_for_inline(s).map(|v| v.id.as_str());
        assert_eq!(v("FBQ ( \"init\" , '1')"), Some("meta_pixel"));
        assert_eq!(v("gtag (`config`, 'G-1')"), Some("google_analytics"));
        assert_eq!(
            v("gtag( 'config' , \"AW-123\" );"),
            Some("google_ads"),
            "an Ads tag is marketing"
        );
        // Analytics and Ads in one script: the strictest category wins.
        assert_eq!(
            v("function gtag(){dataLayer.push(arguments);} gtag('js', new Date()); gtag('config', 'G-1'); gtag('config', 'AW-2');"),
            Some("google_ads")
        );
    }

    #[test]
    fn scripts_made_only_of_tracker_calls_are_usage_snippets() {
        let cat = Catalogue::builtin();
        let usage = |s: &str| {
            cat.inline_tracker(s)
                .filter(|m| m.usage_only)
                .map(|m| m.vendor.id.as_str())
        };
        for (script, vendor) in [
            ("fbq('set', 'openbridge', '1', window);", "meta_pixel"),
            ("fbq( \"track\", 'PageView', []);", "meta_pixel"),
            ("\n  ga('create', 'UA-1-1', 'auto');\n  ga( \"send\" , 'pageview')\n", "google_analytics"),
            ("var _gaq = _gaq || [];\n_gaq.push(['_setAccount', 'UA-1']);\n_gaq.push(['_trackPageview']);", "google_analytics"),
            ("try {\nvar pageTracker = _gat._getTracker(\"UA-1\");\npageTracker._trackPageview();\n} catch(err) {}", "google_analytics"),
            ("<!--\nvar t = _gat._getTracker('UA-1'); t._initData(); t._trackPageview();\n//-->", "google_analytics"),
            ("gtag ('event', 'sign_up', {method: 'x'});", "google_analytics"),
            ("gtag('event', 'conversion', {'send_to': 'AW-1/abc'});", "google_ads"),
            ("window.hj('trigger', 'survey');", "hotjar"),
            ("window.dataLayer = window.dataLayer || [];\ndataLayer.push({'event': 'x'});", "google_tag_manager"),
            ("/* <![CDATA[ */ fbq('track', 'Lead'); /* ]]> */", "meta_pixel"),
        ] {
            assert_eq!(usage(script), Some(vendor), "{script}");
        }
        for first_party in [
            "ga('send', 'pageview'); initMenu();",
            "var x = 1; fbq('track', 'Lead');",
            "if (typeof fbq === 'function') { fbq('track', 'Lead'); }",
            "document.querySelector('form').addEventListener('submit', function(){ fbq('track', 'Lead'); });",
            "var menu = _gat._getTracker; menu();",
            "window.foo = window.foo || []; ga('send');",
            "mega('send', 'x');",
            "",
            "// only a comment",
        ] {
            assert_eq!(usage(first_party), None, "{first_party}");
            assert!(cat.vendor_for_inline(first_party).is_none(), "{first_party}");
        }
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
        assert_eq!(v("_gcl_au"), Some("google_ads"));
        assert_eq!(v("__gads"), Some("google_ads"));
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
