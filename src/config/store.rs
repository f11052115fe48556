//! `[store]`: where receipts, form entries, counters and sessions are kept.

use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::env::ENV_REDIS_URL;
use super::problem::ConfigProblem;
use super::values::de_duration;

/// Which persistence backend holds receipts, form entries, counters and sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreBackend {
    /// In-process; lost on restart, one gate only.
    Memory,
    /// One Redis server (`redis_url`); run it with AOF so receipts survive a restart.
    Redis,
    /// Redis Cluster (`redis_url` lists one or more seed nodes, comma-separated).
    RedisCluster,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [store] table")]
pub struct StoreConfig {
    /// `"memory"` (default), `"redis"` or `"redis_cluster"`.
    pub backend: StoreBackend,
    /// `redis://host:port/db`; for a cluster a comma-separated list of seed nodes.
    /// Usually set from `CONSENTGATE_REDIS_URL` so the password stays out of the file.
    pub redis_url: Option<String>,
    /// Longest a store operation may take before the request gets a 503. Default 2 s.
    #[serde(deserialize_with = "de_duration")]
    pub timeout: Duration,
    /// Key prefix, so several sites can share one Redis. Default `"cg"`.
    pub key_prefix: String,
    /// Most entries the audit log keeps (approximately, on Redis). Default 10000.
    pub audit_max_entries: usize,
    /// Audit entries older than this are dropped. Default 180 days.
    #[serde(deserialize_with = "de_duration")]
    pub audit_retention: Duration,
    /// Most decisions kept in one visitor's consent history; the oldest are dropped first.
    /// Default 50.
    pub receipt_history_max: usize,
    /// Embedded store only: most memory it may hold, in bytes; beyond it, writes are refused
    /// (503) until records expire. Default 268435456 (256 MiB), minimum 1 MiB.
    pub memory_max_bytes: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            backend: StoreBackend::Memory,
            redis_url: None,
            timeout: Duration::from_secs(2),
            key_prefix: "cg".to_owned(),
            audit_max_entries: 10_000,
            audit_retention: Duration::from_secs(180 * 24 * 3600),
            receipt_history_max: 50,
            memory_max_bytes: 256 * 1024 * 1024,
        }
    }
}

impl StoreConfig {
    /// Checks serde cannot express; run after the environment has set `redis_url`.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |key: &str, message: String| problems.push(ConfigProblem::new(key, message));
        if self.backend != StoreBackend::Memory {
            match &self.redis_url {
                None => problem(
                    "store.redis_url",
                    format!(
                        "required for backend {:?}; set it or {ENV_REDIS_URL}",
                        self.backend
                    ),
                ),
                Some(urls) => {
                    // The value is never echoed: it usually carries the Redis password.
                    if urls.split(',').any(|one| Url::parse(one.trim()).is_err()) {
                        problem(
                            "store.redis_url",
                            "expected a URL like \"redis://127.0.0.1:6379/0\" (for a cluster, \
                             several separated by commas)"
                                .into(),
                        );
                    }
                }
            }
        }
        if self.timeout.is_zero() {
            problem("store.timeout", "must be greater than 0".into());
        }
        if self.key_prefix.is_empty()
            || self.key_prefix.contains(['{', '}'])
            || self.key_prefix.chars().any(char::is_whitespace)
        {
            problem(
                "store.key_prefix",
                format!(
                    "expected a non-empty prefix without braces or spaces, got {:?}",
                    self.key_prefix
                ),
            );
        }
        if self.audit_max_entries == 0 {
            problem("store.audit_max_entries", "must be at least 1".into());
        }
        if self.receipt_history_max == 0 {
            problem("store.receipt_history_max", "must be at least 1".into());
        }
        if self.memory_max_bytes < 1024 * 1024 {
            problem(
                "store.memory_max_bytes",
                "must be at least 1048576 (1 MiB)".into(),
            );
        }
        problems
    }
}
