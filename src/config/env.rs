//! Secrets and overrides from the environment. Variables are read through [`EnvSource`] so the
//! loader stays a pure function that tests feed with a map.

use std::collections::BTreeMap;

use super::problem::{did_you_mean_hint, ConfigProblem};

/// Environment variable holding the secret all sub-keys are derived from.
pub const ENV_SECRET: &str = "CONSENTGATE_SECRET";
/// Environment variable overriding `store.redis_url`.
pub const ENV_REDIS_URL: &str = "CONSENTGATE_REDIS_URL";
/// Environment variable listing earlier secrets (whitespace- or comma-separated) whose form
/// entries must still decrypt after a key rotation.
pub const ENV_PREVIOUS_SECRETS: &str = "CONSENTGATE_PREVIOUS_SECRETS";
const ENV_PREFIX: &str = "CONSENTGATE_";
const KNOWN_ENV: &[&str] = &[
    ENV_SECRET,
    ENV_REDIS_URL,
    ENV_PREVIOUS_SECRETS,
    "CONSENTGATE_LOG",
];
/// Shortest accepted secret, in bytes (256 bits of key material when random).
pub const MIN_SECRET_LEN: usize = 32;

/// Where environment variables come from; the process environment in production, a map in tests.
pub trait EnvSource {
    fn var(&self, key: &str) -> Option<String>;
    /// Names of all variables, used to warn about misspelt `CONSENTGATE_*` keys.
    fn names(&self) -> Vec<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl EnvSource for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok()
    }
    fn names(&self) -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect()
    }
}

impl EnvSource for BTreeMap<String, String> {
    fn var(&self, key: &str) -> Option<String> {
        self.get(key).cloned()
    }
    fn names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
}

/// The secret key material; its `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// What the environment contributes to a configuration.
pub(crate) struct EnvOverrides {
    pub secret: Option<Secret>,
    pub redis_url: Option<String>,
    pub previous_secrets: Vec<Secret>,
    /// `CONSENTGATE_*` variables consentgate does not read (most likely misspelt).
    pub unknown: Vec<ConfigProblem>,
}

impl EnvOverrides {
    pub(crate) fn read(env: &dyn EnvSource) -> Self {
        let previous_secrets = env
            .var(ENV_PREVIOUS_SECRETS)
            .map(|list| {
                list.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|s| !s.is_empty())
                    .map(|s| Secret::new(s.as_bytes().to_vec()))
                    .collect()
            })
            .unwrap_or_default();
        let unknown = env
            .names()
            .into_iter()
            .filter(|name| name.starts_with(ENV_PREFIX) && !KNOWN_ENV.contains(&name.as_str()))
            .map(|name| {
                let hint = did_you_mean_hint(&name, KNOWN_ENV.iter().copied());
                ConfigProblem::new(
                    name,
                    format!(
                        "environment variable not used by consentgate{hint}; known: {}",
                        KNOWN_ENV.join(", ")
                    ),
                )
            })
            .collect();
        Self {
            secret: env.var(ENV_SECRET).map(|s| Secret::new(s.into_bytes())),
            redis_url: env.var(ENV_REDIS_URL),
            previous_secrets,
            unknown,
        }
    }
}

/// The problem with the secret, if any: missing or too short to derive keys from.
pub(crate) fn secret_problem(secret: Option<&Secret>) -> Option<ConfigProblem> {
    let message = match secret {
        None => format!("{ENV_SECRET} is not set; generate one with `openssl rand -base64 48`"),
        Some(secret) if secret.expose().len() < MIN_SECRET_LEN => {
            format!("{ENV_SECRET} must be at least {MIN_SECRET_LEN} bytes long")
        }
        Some(_) => return None,
    };
    Some(ConfigProblem::new("secret", message))
}
