//! `[limits]`: sizes that bound memory per request.

use serde::Deserialize;

use super::problem::ConfigProblem;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [limits] table")]
pub struct LimitsConfig {
    /// Largest request body forwarded to the upstream, in bytes. Default 10 MiB.
    pub max_request_body_bytes: usize,
    /// Largest request body accepted by `/_gate/*` JSON endpoints, in bytes. Default 16 KiB.
    pub max_gate_body_bytes: usize,
    /// Memory the HTML rewriter may use per response, in bytes. Default 1 MiB, minimum 16 KiB.
    pub rewrite_max_memory_bytes: usize,
    /// Longest inline script text examined for tracker signatures, in bytes. Default 256 KiB.
    pub inline_script_max_bytes: usize,
    /// Memory for remembering finished page rewrites (pages up to 1 MiB, confirmed byte for
    /// byte before reuse), in bytes; 0 turns it off. Default 64 MiB.
    pub rewrite_memo_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_request_body_bytes: 10 * 1024 * 1024,
            max_gate_body_bytes: 16 * 1024,
            rewrite_max_memory_bytes: 1024 * 1024,
            inline_script_max_bytes: 256 * 1024,
            rewrite_memo_bytes: 64 * 1024 * 1024,
        }
    }
}

impl LimitsConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.max_gate_body_bytes == 0 {
            problems.push(ConfigProblem::new(
                "limits.max_gate_body_bytes",
                "must be greater than 0",
            ));
        }
        if self.rewrite_max_memory_bytes < 16 * 1024 {
            problems.push(ConfigProblem::new(
                "limits.rewrite_max_memory_bytes",
                "must be at least 16384",
            ));
        }
        problems
    }
}
