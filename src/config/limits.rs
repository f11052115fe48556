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
    /// Memory the HTML rewriter may use per response, in bytes; a page that needs more (one
    /// huge tag, such as an inline base64 image of several MB) is refused with a 502 rather
    /// than passed on unrewritten. Default 8 MiB, minimum 16 KiB.
    pub rewrite_max_memory_bytes: usize,
    /// Longest inline script or `<style>` text held back to look for trackers, in bytes; the
    /// rest of a longer one streams and is watched (a tracker in it fails the page). Default
    /// 256 KiB.
    pub inline_script_max_bytes: usize,
    /// Largest size a compressed upstream HTML body may decode to, in bytes; past it the page
    /// is refused (502, or a broken-off transfer once it was streaming). Default 64 MiB.
    pub max_decoded_body_bytes: usize,
    /// Memory for remembering finished page rewrites (pages up to 1 MiB, confirmed byte for
    /// byte before reuse), in bytes; 0 turns it off. Default 64 MiB.
    pub rewrite_memo_bytes: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_request_body_bytes: 10 * 1024 * 1024,
            max_gate_body_bytes: 16 * 1024,
            rewrite_max_memory_bytes: 8 * 1024 * 1024,
            inline_script_max_bytes: 256 * 1024,
            max_decoded_body_bytes: 64 * 1024 * 1024,
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
        if self.max_decoded_body_bytes < 1024 * 1024 {
            problems.push(ConfigProblem::new(
                "limits.max_decoded_body_bytes",
                "must be at least 1048576 (1 MiB)",
            ));
        }
        problems
    }
}
