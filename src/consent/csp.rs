//! The gate's Content-Security-Policy: a second line behind the rewriter and the guard. A
//! request to a tracker host that both missed (a path the guard does not cover, a script the
//! rewriter could not see) is blocked — or, in report-only mode, reported — by the browser.
//!
//! The policy depends only on the verified consent state, never on the visitor: `'self'`, the
//! site's other origins (`csp.allowed_origins` and the origins the operator approved in the
//! dashboard) and, per granted category, the hosts of that category's vendors. All variants
//! are built once per catalogue ([`CspPolicy::new`]; a reload builds them again) and one is
//! picked per page. `script-src` keeps `'unsafe-inline'` (the site's inline scripts must keep
//! running) unless the operator lists the hashes of its inline scripts. The gate's own tags
//! are external scripts under `/_gate/`, so `'self'` allows them: a nonce is not possible on
//! HTML that is the same for every visitor.
//!
//! Reports (`report-uri`, and `report-to` for the Reporting API) go to `/_gate/csp-report`;
//! [`violations`] reads both formats, keeping only the blocked origin, the directive and the
//! page path.

use actix_web::http::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use crate::config::{origin_of, CspConfig, CspMode};
use crate::http::{Code, EdgeError};
use crate::privacy::Visitor;
use crate::store::Store;
use crate::trackers::Catalogue;

/// Where browsers send violation reports.
pub const REPORT_PATH: &str = "/_gate/csp-report";
/// The Reporting API endpoint name in `report-to` and `Reporting-Endpoints`.
const ENDPOINT_NAME: &str = "cg-csp";
/// Categories with their own variants; more would mean more than 1 024 prebuilt headers (the
/// rest are built when asked for).
const MAX_PREBUILT_CATEGORIES: usize = 10;
/// Most violations read from one report body.
pub const MAX_VIOLATIONS_PER_REPORT: usize = 20;
/// The directives the policy sets (the ones through which a page fetches from a tracker).
const DIRECTIVES: [&str; 5] = [
    "script-src",
    "img-src",
    "connect-src",
    "frame-src",
    "media-src",
];

/// The policy headers for every consent state of one catalogue.
#[derive(Debug, Clone)]
pub struct CspPolicy {
    mode: CspMode,
    /// Sources every variant allows besides `'self'`.
    common: Vec<String>,
    /// `script-src`'s inline part: `'unsafe-inline'` or the configured hashes.
    inline: Vec<String>,
    /// Categories whose vendors have hosts, sorted, and those hosts as sources.
    categories: Vec<(String, Vec<String>)>,
    /// Embed vendors' hosts, allowed in `frame-src` whatever the consent: a frame of theirs
    /// loads only through its click-to-load placeholder ("Load this video" is the visitor's
    /// own choice for one frame, without consent recorded), which the policy must not undo.
    frames: Vec<String>,
    /// One header value per subset of `categories` (bit i = category i granted).
    variants: Vec<HeaderValue>,
    reporting_api: bool,
}

impl CspPolicy {
    /// The variants for `catalogue`, allowing `cfg.allowed_origins` and `approved` (the
    /// origins approved in the dashboard) for everyone.
    pub fn new(cfg: &CspConfig, catalogue: &Catalogue, approved: &[String]) -> CspPolicy {
        let mut common: Vec<String> = cfg
            .allowed_origins
            .iter()
            .chain(approved)
            .filter_map(|o| origin_of(o))
            .collect();
        common.sort();
        common.dedup();
        let inline = if cfg.script_hashes.is_empty() {
            vec!["'unsafe-inline'".to_owned()]
        } else {
            cfg.script_hashes.iter().map(|h| format!("'{h}'")).collect()
        };
        let mut by_category: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut necessary = Vec::new();
        let mut frames = Vec::new();
        // A vendor the site needs whatever the visitor decides is allowed for everyone.
        let vendors = catalogue
            .vendors()
            .iter()
            .map(|v| (v, false))
            .chain(catalogue.necessary().iter().map(|v| (v, true)));
        for (vendor, needed) in vendors {
            let sources = if needed {
                &mut necessary
            } else {
                by_category
                    .entry(vendor.category.as_str().to_owned())
                    .or_default()
            };
            for rule in &vendor.hosts {
                // Without a scheme a source matches the page's scheme and https; the path
                // prefix is left out (the category's consent covers the whole host).
                sources.push(rule.host.clone());
                sources.push(format!("*.{}", rule.host));
                if vendor.embed.is_some() && !needed {
                    frames.push(rule.host.clone());
                    frames.push(format!("*.{}", rule.host));
                }
            }
        }
        frames.sort();
        frames.dedup();
        common.extend(necessary);
        common.dedup();
        let categories: Vec<(String, Vec<String>)> = by_category
            .into_iter()
            .filter(|(_, hosts)| !hosts.is_empty())
            .map(|(c, mut hosts)| {
                hosts.sort();
                hosts.dedup();
                (c, hosts)
            })
            .collect();
        let mut policy = CspPolicy {
            mode: cfg.mode,
            common,
            inline,
            categories,
            frames,
            variants: Vec::new(),
            reporting_api: cfg.reporting_api,
        };
        if policy.mode != CspMode::Off {
            let n = policy.categories.len().min(MAX_PREBUILT_CATEGORIES);
            policy.variants = (0..1u64 << n).map(|mask| policy.build(mask)).collect();
        }
        policy
    }

    /// The policy text for the categories in `mask`.
    fn text(&self, mask: u64) -> String {
        let mut granted: Vec<&str> = Vec::new();
        for (i, (_, hosts)) in self.categories.iter().enumerate() {
            if i < 64 && mask & (1 << i) != 0 {
                granted.extend(hosts.iter().map(String::as_str));
            }
        }
        let mut parts = Vec::new();
        for directive in DIRECTIVES {
            let mut sources: Vec<&str> = vec!["'self'"];
            match directive {
                "script-src" => sources.extend(self.inline.iter().map(String::as_str)),
                "img-src" | "media-src" => sources.extend(["data:", "blob:"]),
                _ => {}
            }
            sources.extend(self.common.iter().map(String::as_str));
            if directive == "frame-src" {
                sources.extend(self.frames.iter().map(String::as_str));
            }
            sources.extend(
                granted
                    .iter()
                    .copied()
                    .filter(|h| directive != "frame-src" || !self.frames.iter().any(|f| f == h)),
            );
            parts.push(format!("{directive} {}", sources.join(" ")));
        }
        parts.push(format!("report-uri {REPORT_PATH}"));
        if self.reporting_api {
            parts.push(format!("report-to {ENDPOINT_NAME}"));
        }
        parts.join("; ")
    }

    fn build(&self, mask: u64) -> HeaderValue {
        // Hosts, origins and hashes were validated as such, so the text is a valid value.
        HeaderValue::from_str(&self.text(mask))
            .unwrap_or_else(|_| HeaderValue::from_static("script-src 'self' 'unsafe-inline'"))
    }

    /// The headers of a page whose verified consent grants `granted` (`None`: no consent):
    /// the policy, the Reporting API endpoint, and `Vary: Cookie` because the policy follows
    /// the consent cookie. Nothing when `csp.mode = "off"`.
    pub fn headers(&self, granted: Option<&[String]>) -> Vec<(HeaderName, HeaderValue)> {
        let name = match self.mode {
            CspMode::Off => return Vec::new(),
            CspMode::ReportOnly => HeaderName::from_static("content-security-policy-report-only"),
            CspMode::Enforce => HeaderName::from_static("content-security-policy"),
        };
        let granted = granted.unwrap_or_default();
        let mut mask = 0u64;
        for (i, (category, _)) in self.categories.iter().enumerate().take(64) {
            if granted.iter().any(|g| g == category) {
                mask |= 1 << i;
            }
        }
        let value = match self.variants.get(mask as usize) {
            Some(v) => v.clone(),
            None => self.build(mask),
        };
        let mut headers = vec![(name, value)];
        if self.reporting_api {
            headers.push((
                HeaderName::from_static("reporting-endpoints"),
                HeaderValue::from_static("cg-csp=\"/_gate/csp-report\""),
            ));
        }
        headers.push((
            actix_web::http::header::VARY,
            HeaderValue::from_static("Cookie"),
        ));
        headers
    }

    /// Whether the gate sends a policy at all.
    pub fn is_on(&self) -> bool {
        self.mode != CspMode::Off
    }
}

/// Count a report from `visitor`: `rate_limited` (429) past `per_minute` reports a minute
/// from its anonymised address, `store_unavailable` when the count cannot be kept (a flood
/// is refused rather than let through).
pub async fn admit_report(
    store: &Store,
    visitor: &Visitor,
    per_minute: u64,
) -> Result<(), EdgeError> {
    let key = format!("csp:{}", visitor.anonymized_ip);
    let hits = store
        .hit_rate_limit(&key, std::time::Duration::from_secs(60))
        .await
        .map_err(|e| EdgeError::new(Code::StoreUnavailable).detail(e.to_string()))?;
    if hits > per_minute {
        return Err(EdgeError::new(Code::RateLimited).retry_after(60));
    }
    Ok(())
}

/// One violation, as kept: nothing about the visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The blocked URL's origin, or the browser's keyword (`inline`, `eval`, `data`, …).
    pub blocked: String,
    /// Whether `blocked` is an origin (not a keyword).
    pub is_origin: bool,
    /// The page's path, without query or fragment.
    pub path: String,
    /// The directive that blocked it (`script-src`, `connect-src`, …), without sub-kinds
    /// like `-elem`.
    pub directive: String,
}

/// `report-uri` body: `{"csp-report": {...}}` (application/csp-report).
#[derive(Deserialize)]
struct LegacyReport {
    #[serde(rename = "csp-report")]
    report: LegacyBody,
}

#[derive(Deserialize)]
struct LegacyBody {
    #[serde(rename = "document-uri", default)]
    document_uri: String,
    #[serde(rename = "blocked-uri", default)]
    blocked_uri: String,
    #[serde(rename = "effective-directive", default)]
    effective_directive: String,
    #[serde(rename = "violated-directive", default)]
    violated_directive: String,
}

/// One Reporting API report (application/reports+json is a list of them).
#[derive(Deserialize)]
struct ApiReport {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    body: Option<ApiBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiBody {
    #[serde(rename = "documentURL", default)]
    document_url: String,
    #[serde(rename = "blockedURL", default)]
    blocked_url: String,
    #[serde(default)]
    effective_directive: String,
}

/// Why a report body was not read.
#[derive(Debug, thiserror::Error)]
#[error("not a CSP report: {0}")]
pub struct ReportError(String);

/// The violations in a report body of either format (decided by its shape: a list is the
/// Reporting API's, an object the `report-uri` one's), at most
/// [`MAX_VIOLATIONS_PER_REPORT`]. Other report types in a list are skipped.
pub fn violations(body: &[u8]) -> Result<Vec<Violation>, ReportError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| ReportError(e.to_string()))?;
    let mut out = Vec::new();
    if value.is_array() {
        let reports: Vec<ApiReport> =
            serde_json::from_value(value).map_err(|e| ReportError(e.to_string()))?;
        for report in reports.into_iter().take(MAX_VIOLATIONS_PER_REPORT) {
            if let (true, Some(b)) = (report.kind == "csp-violation", report.body) {
                out.extend(violation(
                    &b.document_url,
                    &b.blocked_url,
                    &b.effective_directive,
                ));
            }
        }
    } else {
        let report: LegacyReport =
            serde_json::from_value(value).map_err(|e| ReportError(e.to_string()))?;
        let r = report.report;
        let directive = if r.effective_directive.is_empty() {
            r.violated_directive.split(' ').next().unwrap_or_default()
        } else {
            &r.effective_directive
        };
        out.extend(violation(&r.document_uri, &r.blocked_uri, directive));
    }
    Ok(out)
}

fn violation(document: &str, blocked: &str, directive: &str) -> Option<Violation> {
    let path = url::Url::parse(document).ok()?.path().to_owned();
    let directive = directive
        .trim()
        .trim_end_matches("-elem")
        .trim_end_matches("-attr");
    if !DIRECTIVES.contains(&directive) {
        return None;
    }
    let (blocked, is_origin) = match origin_of(blocked) {
        Some(origin) => (origin, true),
        None => {
            // A keyword (`inline`, `eval`, `data`, `blob`); never a URL's rest.
            let word: String = blocked
                .split(':')
                .next()
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_alphabetic)
                .take(16)
                .collect();
            (
                if word.is_empty() {
                    "unknown".into()
                } else {
                    word
                },
                false,
            )
        }
    };
    Some(Violation {
        blocked,
        is_origin,
        path,
        directive: directive.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrackersConfig;

    fn policy(mode: CspMode) -> CspPolicy {
        let cfg = CspConfig {
            mode,
            allowed_origins: vec!["https://cdn.example.org".into()],
            ..CspConfig::default()
        };
        CspPolicy::new(
            &cfg,
            &Catalogue::from_config(&TrackersConfig::default()),
            &["https://fonts.example.net".into()],
        )
    }

    fn value(headers: &[(HeaderName, HeaderValue)], name: &str) -> String {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn the_policy_follows_the_granted_categories() {
        let p = policy(CspMode::Enforce);
        let none = value(&p.headers(None), "content-security-policy");
        let analytics = value(
            &p.headers(Some(&["analytics".to_owned()])),
            "content-security-policy",
        );
        let both = value(
            &p.headers(Some(&["analytics".to_owned(), "marketing".to_owned()])),
            "content-security-policy",
        );
        for text in [&none, &analytics, &both] {
            assert!(text.contains("script-src 'self' 'unsafe-inline' https://cdn.example.org https://fonts.example.net"), "{text}");
            assert!(text.contains("report-uri /_gate/csp-report"), "{text}");
        }
        assert!(!none.contains("google-analytics.com"), "{none}");
        let directive = |text: &str, name: &str| {
            text.split("; ")
                .find(|d| d.starts_with(name))
                .unwrap_or_default()
                .to_owned()
        };
        for name in ["script-src", "img-src", "connect-src", "media-src"] {
            assert!(!directive(&none, name).contains("facebook"), "{none}");
            assert!(!directive(&none, name).contains("youtube"), "{none}");
        }
        // Embed vendors' frames load only through their placeholders, whose "Load this
        // video" needs no consent: frame-src allows them in every variant, and only them.
        let frames = directive(&none, "frame-src");
        assert!(
            frames.contains(" youtube.com") && frames.contains(" *.youtube.com"),
            "{frames}"
        );
        assert!(!frames.contains("google-analytics"), "{frames}");
        assert!(!frames.contains("hotjar"), "{frames}");
        assert_eq!(
            directive(&both, "frame-src").matches("youtube.com").count(),
            frames.matches("youtube.com").count(),
            "granted hosts are not listed twice"
        );
        assert!(analytics.contains("*.google-analytics.com"), "{analytics}");
        assert!(!analytics.contains("connect.facebook.net"), "{analytics}");
        assert!(both.contains("connect.facebook.net"), "{both}");
        // One variant per set of granted categories: analytics, marketing and the embed
        // vendors' own (youtube, vimeo, google_maps).
        let catalogue = Catalogue::builtin();
        let categories: std::collections::BTreeSet<&str> = catalogue
            .vendors()
            .iter()
            .map(|v| v.category.as_str())
            .collect();
        assert_eq!(p.variants.len(), 1 << categories.len());
    }

    #[test]
    fn modes_pick_the_header_and_off_sends_none() {
        let h = policy(CspMode::ReportOnly).headers(None);
        assert!(!value(&h, "content-security-policy-report-only").is_empty());
        assert_eq!(value(&h, "vary"), "Cookie");
        assert!(value(&h, "reporting-endpoints").contains("/_gate/csp-report"));
        assert!(policy(CspMode::Off).headers(None).is_empty());
    }

    #[test]
    fn script_hashes_replace_unsafe_inline() {
        let cfg = CspConfig {
            script_hashes: vec!["sha256-abc=".into()],
            ..CspConfig::default()
        };
        let p = CspPolicy::new(&cfg, &Catalogue::builtin(), &[]);
        let text = p.text(0);
        assert!(text.contains("script-src 'self' 'sha256-abc='"), "{text}");
        assert!(!text.contains("unsafe-inline"), "{text}");
    }

    #[test]
    fn both_report_formats_are_read_without_visitor_data() {
        let legacy = br#"{"csp-report":{"document-uri":"http://site.test/a/b?email=x@y",
            "referrer":"http://other/","blocked-uri":"https://www.google-analytics.com/g/collect?cid=1",
            "violated-directive":"connect-src 'self'","effective-directive":"connect-src",
            "original-policy":"..."}}"#;
        assert_eq!(
            violations(legacy).unwrap(),
            [Violation {
                blocked: "https://www.google-analytics.com".into(),
                is_origin: true,
                path: "/a/b".into(),
                directive: "connect-src".into(),
            }]
        );
        let api = br#"[{"type":"csp-violation","url":"http://site.test/x","age":1,
            "body":{"documentURL":"http://site.test/x?q=1","blockedURL":"inline",
            "effectiveDirective":"script-src-elem","disposition":"report"}},
            {"type":"deprecation","body":{}}]"#;
        assert_eq!(
            violations(api).unwrap(),
            [Violation {
                blocked: "inline".into(),
                is_origin: false,
                path: "/x".into(),
                directive: "script-src".into(),
            }]
        );
        assert!(violations(b"not json").is_err());
        assert!(violations(br#"{"other":1}"#).is_err());
    }
}
