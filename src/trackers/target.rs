//! What a URL written in an HTML attribute makes a browser contact. The value is decoded the way
//! a browser decodes an attribute value (every WHATWG named character reference, the legacy
//! forms without semicolon included: `htmlize`), then parsed per the WHATWG URL standard by the
//! `url` crate (leading/trailing spaces, tabs and newlines anywhere, backslashes, UTS-46 mapping
//! of hosts such as `connect。facebook。net` or full-width letters, percent-decoded hosts, ports,
//! userinfo) against a base standing for the page itself.

use url::{Host, Url};

/// The page the URL appears on. Its directory is distinctive so a path-relative value
/// (`www.example.com/x`) can be told apart from a path-absolute one (`/www.example.com/x`).
const PAGE_HOST: &str = "page.consentgate.invalid";
const PAGE_DIR: &str = "/cg-page-dir/";

/// One place a URL may lead, in lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `None` for the page's own site (a relative URL).
    pub host: Option<String>,
    pub path: String,
    pub query: String,
}

impl Target {
    fn of(url: &Url, host: Option<&str>) -> Self {
        Target {
            host: host.map(|h| h.trim_end_matches('.').to_owned()),
            path: url.path().to_ascii_lowercase(),
            query: url.query().unwrap_or("").to_ascii_lowercase(),
        }
    }
}

/// Reads attribute values into [`Target`]s.
#[derive(Debug, Clone)]
pub(super) struct UrlReader {
    /// The page as https and as http: `https:/host/x` is path-absolute on an https page but
    /// names `host` on an http one, and the gate cannot know which scheme the visitor uses.
    pages: Vec<Url>,
}

impl UrlReader {
    pub(super) fn new() -> Self {
        let pages = ["https", "http"]
            .iter()
            .filter_map(|scheme| Url::parse(&format!("{scheme}://{PAGE_HOST}{PAGE_DIR}")).ok())
            .collect();
        Self { pages }
    }

    /// Every place `raw` (an attribute value as written, undecoded) may lead to: where a
    /// browser goes, plus, for a path-relative value whose first segment is a domain name,
    /// that domain — `www.google-analytics.com/ga.js` is a relative path to a browser, but was
    /// written by someone who meant the host, so the gate treats it as that host on purpose.
    /// Nothing for URLs that fetch nothing (`javascript:`, `data:`, `mailto:` …).
    pub(super) fn targets(&self, raw: &str) -> Vec<Target> {
        let decoded = htmlize::unescape_attribute(raw);
        let mut targets = Vec::new();
        for page in &self.pages {
            let Ok(url) = page.join(&decoded) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") {
                continue;
            }
            match url.host_str() {
                Some(host) if host != PAGE_HOST => {
                    // A URL with its own host reads the same on an http and an https page.
                    targets.push(Target::of(&url, Some(host)));
                    break;
                }
                _ => {
                    let host_first = url
                        .as_str()
                        .strip_prefix(page.as_str())
                        .and_then(as_host_first);
                    for target in [Some(Target::of(&url, None)), host_first]
                        .into_iter()
                        .flatten()
                    {
                        if !targets.contains(&target) {
                            targets.push(target);
                        }
                    }
                }
            }
        }
        targets
    }
}

/// A path-relative reference (`www.example.com/x?y`, already normalised by the URL parser)
/// read as `https://www.example.com/x?y`, if its first segment is a domain name with a dot.
fn as_host_first(relative: &str) -> Option<Target> {
    let url = Url::parse(&format!("https://{relative}")).ok()?;
    match url.host()? {
        Host::Domain(name) if name.trim_end_matches('.').contains('.') => {
            Some(Target::of(&url, Some(name)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(raw: &str) -> Vec<Option<String>> {
        UrlReader::new()
            .targets(raw)
            .into_iter()
            .map(|t| t.host)
            .collect()
    }

    #[test]
    fn relative_values_are_the_page_and_protocol_less_ones_also_their_host() {
        assert_eq!(hosts("/x.js"), [None]);
        assert_eq!(hosts("?q=1"), [None]);
        assert_eq!(
            hosts("www.example.com/x.js"),
            [None, Some("www.example.com".into())]
        );
        assert_eq!(hosts("javascript:alert(1)"), Vec::<Option<String>>::new());
    }

    #[test]
    fn a_scheme_without_slashes_names_a_host_on_a_page_of_the_other_scheme() {
        assert!(hosts("https:/www.example.com/x").contains(&Some("www.example.com".into())));
        assert!(hosts("http:www.example.com/x").contains(&Some("www.example.com".into())));
    }

    #[test]
    fn attribute_values_are_decoded_like_a_browser_decodes_them() {
        // Legacy references without semicolon are not decoded before `=` or a letter.
        let t = UrlReader::new().targets("https://example.com/?a=1&copy=2");
        assert_eq!(t[0].query, "a=1&copy=2");
        assert_eq!(
            hosts("https&colon;//www&period;example&period;com/"),
            [Some("www.example.com".into())]
        );
    }
}
