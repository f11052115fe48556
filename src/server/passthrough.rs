//! Which requests the operator's `[[passthrough]]` prefixes pass by (no rewriting, no
//! injection; form endpoints are routed before the proxy and so still captured), and with
//! which request body limit.

use crate::config::PassthroughConfig;
use crate::forms::path::canonical;

/// The configured prefixes in canonical form, in configuration order.
#[derive(Debug, Clone, Default)]
pub struct Passthroughs {
    prefixes: Vec<(String, Option<usize>)>,
}

/// A request under a passthrough prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassBy {
    /// The prefix's own request body limit in bytes, if it has one.
    pub max_request_body: Option<usize>,
}

impl Passthroughs {
    pub fn new(list: &[PassthroughConfig]) -> Self {
        Self {
            prefixes: list
                .iter()
                .map(|p| (canonical(&p.prefix, true), p.max_request_body_bytes))
                .collect(),
        }
    }

    /// The first prefix `path` (as sent) lies under, on whole segments of its canonical form
    /// (`/wp-admin/../contact` is `/contact`, not under `/wp-admin/`). Case sensitive: a path
    /// spelt otherwise is treated as a page (the safe side).
    pub fn matching(&self, path: &str) -> Option<PassBy> {
        if self.prefixes.is_empty() {
            return None;
        }
        let path = canonical(path, true);
        self.prefixes
            .iter()
            .find(|(prefix, _)| {
                path.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .map(|(_, limit)| PassBy {
                max_request_body: *limit,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::Passthroughs;
    use crate::config::PassthroughConfig;

    #[test]
    fn prefixes_match_whole_segments_of_the_canonical_path() {
        let p = Passthroughs::new(&[
            PassthroughConfig {
                prefix: "/wp-admin/".into(),
                max_request_body_bytes: Some(64 << 20),
            },
            PassthroughConfig {
                prefix: "/wp-login.php".into(),
                max_request_body_bytes: None,
            },
        ]);
        for path in [
            "/wp-admin",
            "/wp-admin/",
            "/wp-admin/upload.php",
            "//wp-admin//x",
        ] {
            assert_eq!(
                p.matching(path).map(|m| m.max_request_body),
                Some(Some(64 << 20)),
                "{path}"
            );
        }
        assert!(p.matching("/wp-login.php").is_some());
        for path in [
            "/wp-administrator",
            "/wp-admin/../contact",
            "/wp-admin/..%2fcontact",
            "/WP-ADMIN/",
            "/",
            "/wp-login.php5",
        ] {
            assert!(p.matching(path).is_none(), "{path}");
        }
    }
}
