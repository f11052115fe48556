//! `[log]`: log format and filter.

use std::str::FromStr;

use serde::Deserialize;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::EnvFilter;

use super::problem::{did_you_mean_hint, ConfigProblem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [log] table")]
pub struct LogConfig {
    /// `"text"` (default) or `"json"`.
    pub format: LogFormat,
    /// tracing filter, e.g. `"info"` or `"info,consentgate=debug"`. `CONSENTGATE_LOG`
    /// overrides. Default `"info"`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

const LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace", "off"];
const EXPECTED: &str = "expected a level (\"error\", \"warn\", \"info\", \"debug\", \"trace\" \
                        or \"off\") or directives like \"info,consentgate=debug\"";

impl LogConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        filter_problem(&self.level)
            .map(|message| ConfigProblem::new("log.level", message))
            .into_iter()
            .collect()
    }
}

/// Why a filter is unusable, if it is. tracing accepts any word as a target name, so
/// `"information"` is a valid filter that enables only a target nobody logs to: the gate would
/// log nothing at all. A filter must therefore say something about the gate's own lines —
/// a default level, or a `consentgate` directive (`off` included: silence on purpose is fine).
fn filter_problem(filter: &str) -> Option<String> {
    if EnvFilter::try_new(filter).is_err() {
        return Some(format!("{EXPECTED}, got {filter:?}"));
    }
    // Span and field directives are beyond `Targets`; EnvFilter accepted them, and they are
    // written by people who know the syntax.
    let targets = Targets::from_str(filter).ok()?;
    let gate_named = targets.iter().any(|(target, _)| {
        target
            .split([':', '['])
            .next()
            .is_some_and(|root| root == "consentgate")
    });
    if targets.default_level().is_some() || gate_named {
        return None;
    }
    let word = filter.trim().to_ascii_lowercase();
    let hint = did_you_mean_hint(&word, LEVELS.iter().copied());
    Some(format!(
        "{filter:?} sets no level for the gate's own lines, so it would log nothing{hint}; \
         {EXPECTED}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_directives_that_reach_the_gate_are_accepted() {
        for ok in [
            "info",
            "WARN",
            "off",
            "consentgate=debug",
            "warn,actix_web=debug",
            "consentgate::proxy=trace",
            "consentgate[request]=debug",
        ] {
            assert_eq!(filter_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn a_word_that_is_no_level_is_refused_with_a_suggestion() {
        let msg = filter_problem("information").unwrap();
        assert!(msg.contains("did you mean \"info\"?"), "{msg}");
        assert!(msg.contains("would log nothing"), "{msg}");
        assert!(filter_problem("actix_web=debug").is_some());
        assert!(filter_problem("info,=x=").is_some());
    }
}
