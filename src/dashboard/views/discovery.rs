//! View model of the Discovery page: unclassified cookies and origins with first and last
//! seen and paths, each with a classify form; the CSP reports as blocked tracker attempts and
//! as origins the site may need, with an approve button.

use serde::Serialize;

use super::frame::{paths, Page};
use crate::dashboard::discovery::{Findings, NECESSARY};
use crate::stats::discovery::Blocked;

/// Paths shown per entry; the rest is counted.
const PATHS_SHOWN: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct DiscoveredRow {
    /// `cookie` or `origin` (also the form's `kind`).
    pub kind: &'static str,
    pub name: String,
    pub first_seen: String,
    pub last_seen: String,
    pub paths: Vec<String>,
    /// Paths beyond those shown.
    pub more_paths: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockedRow {
    pub origin: String,
    pub path: String,
    pub directive: String,
    pub count: u64,
    pub last_seen: String,
    /// The vendor's name, for a tracker attempt.
    pub vendor: Option<String>,
}

/// The Discovery page.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveryPage {
    pub classify_action: &'static str,
    pub unclassified: Vec<DiscoveredRow>,
    pub tracker_attempts: Vec<BlockedRow>,
    pub needed: Vec<BlockedRow>,
    pub other: Vec<BlockedRow>,
    /// The categories offered: `necessary` first, then the tracker categories.
    pub choices: Vec<String>,
    /// Whether `trackers.override_file` is set (classifying is possible).
    pub can_classify: bool,
    /// The CSP mode in force (`off`, `report-only`, `enforce`).
    pub csp_mode: &'static str,
    /// `classified` after a classification.
    pub notice: Option<&'static str>,
}

fn blocked_row(b: Blocked, vendor: Option<String>) -> BlockedRow {
    BlockedRow {
        origin: b.origin,
        path: b.path,
        directive: b.directive,
        count: b.count,
        last_seen: b.last_seen,
        vendor,
    }
}

impl DiscoveryPage {
    pub fn new(
        findings: Findings,
        categories: &[String],
        can_classify: bool,
        csp_mode: &'static str,
    ) -> DiscoveryPage {
        DiscoveryPage {
            classify_action: paths::DISCOVERY_CLASSIFY,
            unclassified: findings
                .unclassified
                .into_iter()
                .map(|d| DiscoveredRow {
                    kind: d.kind.as_str(),
                    more_paths: d.paths.len().saturating_sub(PATHS_SHOWN),
                    paths: d.paths.into_iter().take(PATHS_SHOWN).collect(),
                    name: d.name,
                    first_seen: d.first_seen,
                    last_seen: d.last_seen,
                })
                .collect(),
            tracker_attempts: findings
                .tracker_attempts
                .into_iter()
                .map(|(b, v)| blocked_row(b, Some(v)))
                .collect(),
            needed: findings
                .needed
                .into_iter()
                .map(|b| blocked_row(b, None))
                .collect(),
            other: findings
                .other
                .into_iter()
                .map(|b| blocked_row(b, None))
                .collect(),
            choices: std::iter::once(NECESSARY.to_owned())
                .chain(categories.iter().cloned())
                .collect(),
            can_classify,
            csp_mode,
            notice: None,
        }
    }
}

impl Page for DiscoveryPage {
    const TEMPLATE: &'static str = "discovery.html";
}
