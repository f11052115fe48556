//! `[privacy]`: which proxies are believed, what the upstream learns of the visitor's address,
//! and the optional country database.

use std::path::PathBuf;

use actix_web::http::header::HeaderName;
use ipnet::IpNet;
use serde::Deserialize;

use super::problem::ConfigProblem;
use super::values::{de_header_name, de_header_names, de_ip_nets, file_problem};

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
#[serde(default, expecting = "a [privacy] table")]
pub struct PrivacyConfig {
    /// Peers whose `client_ip_header` is believed: CIDR ranges, or bare addresses meaning that
    /// one address (/32, /128). Default none.
    #[serde(deserialize_with = "de_ip_nets")]
    pub trusted_proxies: Vec<IpNet>,
    /// The one header the trusted proxies set to the visitor's address (lower-cased):
    /// `x-forwarded-for` (default; a list, right-most untrusted hop wins), `forwarded`
    /// (RFC 7239 `for=`), or a single-address header such as `x-real-ip`. Every other
    /// forwarding header is ignored and never reaches the upstream: a proxy passes on whatever
    /// the visitor put in the headers it does not set itself.
    #[serde(deserialize_with = "de_header_name")]
    pub client_ip_header: HeaderName,
    /// Request headers the upstream must never see, besides the built-in list of CDN and load
    /// balancer client-address headers (e.g. a header your own proxy adds). Default none.
    #[serde(deserialize_with = "de_header_names")]
    pub strip_headers: Vec<HeaderName>,
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
            client_ip_header: HeaderName::from_static("x-forwarded-for"),
            strip_headers: Vec::new(),
            ip_forwarding: IpForwarding::Anonymize,
            ipv4_prefix: 24,
            ipv6_prefix: 48,
            geo_database: None,
        }
    }
}

impl PrivacyConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.ipv4_prefix > 32 {
            problems.push(ConfigProblem::new(
                "privacy.ipv4_prefix",
                format!("expected 0–32, got {}", self.ipv4_prefix),
            ));
        }
        if self.ipv6_prefix > 128 {
            problems.push(ConfigProblem::new(
                "privacy.ipv6_prefix",
                format!("expected 0–128, got {}", self.ipv6_prefix),
            ));
        }
        // The gate itself writes these for the upstream; a proxy cannot have meant them.
        let reserved = [
            "host",
            "cookie",
            "connection",
            "x-forwarded-proto",
            "x-forwarded-host",
        ];
        if reserved.contains(&self.client_ip_header.as_str()) {
            problems.push(ConfigProblem::new(
                "privacy.client_ip_header",
                format!(
                    "{:?} does not carry the visitor's address; expected the header your \
                     proxy sets, like \"x-forwarded-for\" or \"x-real-ip\"",
                    self.client_ip_header.as_str()
                ),
            ));
        }
        for (i, name) in self.strip_headers.iter().enumerate() {
            if [
                "host",
                "cookie",
                "content-length",
                "transfer-encoding",
                "content-type",
            ]
            .contains(&name.as_str())
            {
                problems.push(ConfigProblem::new(
                    format!("privacy.strip_headers[{i}]"),
                    format!(
                        "{:?} is needed by every site; it cannot be stripped",
                        name.as_str()
                    ),
                ));
            }
        }
        if let Some(message) = self.geo_database.as_deref().and_then(file_problem) {
            problems.push(ConfigProblem::new("privacy.geo_database", message));
        }
        problems
    }
}
