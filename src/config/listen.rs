//! `[listen]`: the gate's two listeners.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

use super::hosts::HostPattern;
use super::problem::ConfigProblem;
use super::values::{de_duration, de_host_patterns, de_socket_addr};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [listen] table")]
pub struct ListenConfig {
    /// Public listener: the proxy and `/_gate/*`. Default `127.0.0.1:8080`.
    #[serde(deserialize_with = "de_socket_addr")]
    pub public: SocketAddr,
    /// Admin listener: dashboard, metrics, health. Default `127.0.0.1:8081`.
    #[serde(deserialize_with = "de_socket_addr")]
    pub admin: SocketAddr,
    /// Worker threads per listener; 0 = one per CPU core. Default 0.
    pub workers: usize,
    /// The names (and addresses) the site is reached by, each optionally with a port;
    /// `*.example.org` stands for any one label in front. A request for any other Host gets
    /// 421 and is never forwarded; cookie deletions cover the matched name and its parent
    /// domains. Empty (the default) accepts any Host but derives nothing from it: no
    /// `X-Forwarded-Host` upstream, host-only cookie deletions.
    #[serde(deserialize_with = "de_host_patterns")]
    pub hosts: Vec<HostPattern>,
    /// How long a stopping gate (SIGTERM, SIGINT) lets requests in flight finish before it
    /// closes their connections; idle keep-alive connections close at once. Whole seconds,
    /// rounded up. Default 30 s; keep systemd's `TimeoutStopSec` above it.
    #[serde(deserialize_with = "de_duration")]
    pub shutdown_timeout: Duration,
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            public: SocketAddr::from(([127, 0, 0, 1], 8080)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8081)),
            workers: 0,
            hosts: Vec::new(),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

impl ListenConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.shutdown_timeout.is_zero() {
            problems.push(ConfigProblem::new(
                "listen.shutdown_timeout",
                "must be at least 1s: requests in flight need time to finish when the gate stops",
            ));
        }
        // Port 0 asks the OS for a free port, so two port-0 listeners never collide.
        if self.public == self.admin && self.public.port() != 0 {
            problems.push(ConfigProblem::new(
                "listen.admin",
                format!("must differ from listen.public ({})", self.public),
            ));
        }
        problems
    }

    /// Legal but most likely unintended: the dashboard reachable from other machines.
    pub fn warnings(&self) -> Vec<ConfigProblem> {
        let mut warnings = Vec::new();
        if self.hosts.is_empty() {
            warnings.push(ConfigProblem::new(
                "listen.hosts",
                "not set: requests for any Host are served, so nothing is derived from the Host \
                 header (no X-Forwarded-Host for the site, cookie deletions for the exact host \
                 only); list the site's names, e.g. hosts = [\"www.example.org\", \
                 \"example.org\"], so other names get 421",
            ));
        }
        if !self.admin.ip().is_loopback() {
            warnings.push(ConfigProblem::new(
                "listen.admin",
                format!(
                    "{} is not a loopback address: the dashboard and /metrics are reachable from \
                     other machines; keep it on 127.0.0.1 and reach it through an SSH tunnel or VPN",
                    self.admin
                ),
            ));
        }
        warnings
    }
}
