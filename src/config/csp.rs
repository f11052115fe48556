//! `[csp]`: the gate's own Content-Security-Policy, a second line behind the rewriter and the
//! browser guard — its mode, the site's other origins it allows, the optional script hashes
//! that replace `'unsafe-inline'`, and the bounds on the violation reports it accepts.

use serde::Deserialize;
use url::Url;

use super::problem::ConfigProblem;

/// How the gate sends its policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CspMode {
    /// No policy header.
    Off,
    /// `Content-Security-Policy-Report-Only`: the browser reports what it would block.
    #[default]
    ReportOnly,
    /// `Content-Security-Policy`: the browser blocks it (and reports it).
    Enforce,
}

/// `[csp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [csp] table")]
pub struct CspConfig {
    /// `"off"`, `"report-only"` or `"enforce"`. Default `"report-only"`.
    pub mode: CspMode,
    /// The site's other origins its pages load from (a CDN, a font host, a booking widget),
    /// as `scheme://host[:port]`; allowed for every visitor. Default none.
    pub allowed_origins: Vec<String>,
    /// Hashes of the site's inline scripts (`"sha256-…"`): when given, `script-src` lists them
    /// instead of `'unsafe-inline'`, so only those inline scripts run. Default none.
    pub script_hashes: Vec<String>,
    /// Also name a Reporting API endpoint (`report-to` + `Reporting-Endpoints`) beside
    /// `report-uri`. Browsers that support it then send reports in batches (up to a minute
    /// late) instead of at once. Default true.
    pub reporting_api: bool,
    /// Largest report body accepted, in bytes. Default 16384.
    pub report_max_bytes: usize,
    /// Reports accepted per anonymised address and minute; more are answered 429.
    /// Default 30.
    pub reports_per_minute: u64,
}

impl Default for CspConfig {
    fn default() -> Self {
        CspConfig {
            mode: CspMode::ReportOnly,
            allowed_origins: Vec::new(),
            script_hashes: Vec::new(),
            reporting_api: true,
            report_max_bytes: 16 * 1024,
            reports_per_minute: 30,
        }
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL or origin, lower-case, default port
/// left out; `None` for anything else (relative, `data:`, no host).
pub fn origin_of(url: &str) -> Option<String> {
    let url = Url::parse(url.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// Whether `hash` is a CSP hash source body: `sha256-`, `sha384-` or `sha512-` and base64.
fn is_hash_source(hash: &str) -> bool {
    let Some((alg, b64)) = hash.split_once('-') else {
        return false;
    };
    matches!(alg, "sha256" | "sha384" | "sha512")
        && !b64.is_empty()
        && b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_'))
}

impl CspConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            let exact = origin_of(origin)
                .is_some_and(|o| o == origin.trim().trim_end_matches('/').to_ascii_lowercase());
            if !exact {
                problems.push(ConfigProblem::new(
                    format!("csp.allowed_origins[{i}]"),
                    format!(
                        "expected an origin like \"https://cdn.example.org\" (scheme, host, \
                         optional port; no path), got {origin:?}"
                    ),
                ));
            }
        }
        for (i, hash) in self.script_hashes.iter().enumerate() {
            if !is_hash_source(hash) {
                problems.push(ConfigProblem::new(
                    format!("csp.script_hashes[{i}]"),
                    format!(
                        "expected \"sha256-<base64>\" (or sha384-/sha512-), without quotes, \
                         got {hash:?}"
                    ),
                ));
            }
        }
        if !(1024..=1024 * 1024).contains(&self.report_max_bytes) {
            problems.push(ConfigProblem::new(
                "csp.report_max_bytes",
                "must be between 1024 and 1048576",
            ));
        }
        if self.reports_per_minute == 0 {
            problems.push(ConfigProblem::new(
                "csp.reports_per_minute",
                "must be at least 1",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("https://CDN.Example.org:443/x.js?y"),
            Some("https://cdn.example.org".into())
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/"),
            Some("http://127.0.0.1:8080".into())
        );
        for none in [
            "/x.js",
            "data:image/png;base64,AA",
            "javascript:x",
            "inline",
            "",
        ] {
            assert_eq!(origin_of(none), None, "{none}");
        }
    }

    #[test]
    fn bad_origins_and_hashes_name_their_key() {
        let cfg = CspConfig {
            allowed_origins: vec![
                "https://cdn.example.org".into(),
                "cdn.example.org".into(),
                "https://cdn.example.org/lib".into(),
            ],
            script_hashes: vec!["sha256-abc=".into(), "'sha256-abc='".into()],
            reports_per_minute: 0,
            ..CspConfig::default()
        };
        let keys: Vec<String> = cfg.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "csp.allowed_origins[1]",
                "csp.allowed_origins[2]",
                "csp.script_hashes[1]",
                "csp.reports_per_minute"
            ]
        );
        assert!(CspConfig::default().validate().is_empty());
    }
}
