//! `[upstream]`: the site behind the gate and how it is reached.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::problem::ConfigProblem;
use super::values::{de_duration, de_upstream_url, file_problem};

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
#[serde(default, expecting = "an [upstream] table")]
pub struct UpstreamConfig {
    /// The site behind the gate, `http://` or `https://`, without query or fragment. Required.
    #[serde(deserialize_with = "de_upstream_url")]
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
    /// Ask the upstream for uncompressed pages (`Accept-Encoding: identity` on page requests):
    /// the gate decodes every page it rewrites and compresses it for the visitor itself, so
    /// an upstream that compresses too spends CPU on bytes the gate undoes at once. Costs
    /// bandwidth between upstream and gate; recommended when the CMS runs on the same host
    /// or network. Default false.
    pub request_identity: bool,
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
            request_identity: false,
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

    /// Checks serde cannot express (the URL's form is checked while it is read).
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, message: String| problems.push(ConfigProblem::new(key, message));
        if self.url.is_none() {
            problem(
                "upstream.url",
                "required: the URL of the site behind the gate, e.g. \"http://127.0.0.1:8000/\""
                    .into(),
            );
        }
        if let Some(message) = self.tls_ca_file.as_deref().and_then(file_problem) {
            problem("upstream.tls_ca_file", message);
        }
        if self.connect_timeout.is_zero() {
            problem("upstream.connect_timeout", "must be greater than 0".into());
        }
        if self.response_timeout.is_zero() {
            problem("upstream.response_timeout", "must be greater than 0".into());
        }
        if self.pool_max_connections == 0 {
            problem("upstream.pool_max_connections", "must be at least 1".into());
        }
        problems
    }
}
