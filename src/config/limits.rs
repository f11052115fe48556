//! `[limits]`: sizes that bound memory per request, and the times and connection counts that
//! bound what one slow or greedy client can hold.

use std::time::Duration;

use serde::Deserialize;

use super::problem::ConfigProblem;
use super::values::de_duration;

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
    /// Time a client has to send a request's head (request line and headers), on both
    /// listeners; beyond it, 408 and the connection is closed. Default 5 s.
    #[serde(deserialize_with = "de_duration")]
    pub header_timeout: Duration,
    /// How long an idle connection is kept open for the client's next request. Default 5 s.
    #[serde(deserialize_with = "de_duration")]
    pub keep_alive: Duration,
    /// Time the whole body of a consent decision or form submission may take to arrive; beyond
    /// it, 408. Default 20 s.
    #[serde(deserialize_with = "de_duration")]
    pub body_timeout: Duration,
    /// Slowest average rate such a body may arrive at after its first 2 seconds, in bytes per
    /// second; 0 = no minimum. Default 512.
    pub body_min_rate: usize,
    /// Most connections the public listener keeps open at once (all workers together); more
    /// wait in the backlog, and the gate logs that the cap was reached. Keep it below the
    /// process's open-file limit. Default 1024.
    pub max_connections: usize,
    /// Connections the kernel queues for the public listener while the gate is at its cap.
    /// Default 1024.
    pub backlog: u32,
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
            header_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(5),
            body_timeout: Duration::from_secs(20),
            body_min_rate: 512,
            max_connections: 1024,
            backlog: 1024,
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
        for (key, value) in [
            ("limits.header_timeout", self.header_timeout),
            ("limits.body_timeout", self.body_timeout),
        ] {
            if value.is_zero() {
                problems.push(ConfigProblem::new(key, "must be greater than 0"));
            }
        }
        if self.max_connections == 0 {
            problems.push(ConfigProblem::new(
                "limits.max_connections",
                "must be at least 1",
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
