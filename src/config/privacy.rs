//! `[privacy]`: which proxies are believed, what the upstream learns of the visitor's address,
//! and the optional country database.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

use super::problem::ConfigProblem;
use super::values::{de_ip_nets, file_problem};

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
    /// Peers whose X-Forwarded-For / Forwarded headers are believed: CIDR ranges, or bare
    /// addresses meaning that one address (/32, /128). Default none.
    #[serde(deserialize_with = "de_ip_nets")]
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
        if let Some(message) = self.geo_database.as_deref().and_then(file_problem) {
            problems.push(ConfigProblem::new("privacy.geo_database", message));
        }
        problems
    }
}
