//! `[[passthrough]]`: path prefixes the operator chooses to pass by — no banner or forms
//! script injected, no rewriting, no form capture (except configured form endpoints, which
//! always win) — each with its own request body limit (e.g. media uploads under `/wp-admin/`).

use serde::Deserialize;

use super::problem::ConfigProblem;

/// `[[passthrough]]`: one path prefix passed to the upstream untouched (see
/// config/consentgate.toml). Default: none.
#[derive(Debug, Clone, Deserialize)]
pub struct PassthroughConfig {
    /// Path prefix, matched on whole segments of the canonical request path (`/wp-admin/`
    /// matches `/wp-admin` and `/wp-admin/upload.php`, not `/wp-administrator`); case
    /// sensitive. Required; never `/` or under `/_gate/`.
    pub prefix: String,
    /// Largest request body forwarded under this prefix, in bytes. Default: the proxy's
    /// `limits.max_request_body_bytes` (10 MiB).
    #[serde(default)]
    pub max_request_body_bytes: Option<usize>,
}

/// Every problem in the `[[passthrough]]` list, each naming its key.
pub(crate) fn validate_passthrough(list: &[PassthroughConfig]) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    for (i, p) in list.iter().enumerate() {
        let key = |k: &str| format!("passthrough[{i}].{k}");
        if !p.prefix.starts_with('/') || p.prefix.contains(['?', '#', ' ', '\\']) {
            problems.push(ConfigProblem::new(
                key("prefix"),
                format!(
                    "expected a path prefix like \"/wp-admin/\", got {:?}",
                    p.prefix
                ),
            ));
        } else if p.prefix.trim_end_matches('/').is_empty() {
            problems.push(ConfigProblem::new(
                key("prefix"),
                "\"/\" would pass the whole site by: no banner, no tracker blocking",
            ));
        } else if p.prefix.trim_end_matches('/') == "/_gate" || p.prefix.starts_with("/_gate/") {
            problems.push(ConfigProblem::new(
                key("prefix"),
                "must not be under /_gate/",
            ));
        }
        if p.max_request_body_bytes == Some(0) {
            problems.push(ConfigProblem::new(
                key("max_request_body_bytes"),
                "must be greater than 0",
            ));
        }
    }
    problems
}
