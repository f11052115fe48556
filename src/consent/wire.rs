//! On the wire: tracker cookies of categories without consent are not forwarded upstream, and
//! the browser is told to delete them (host-only and for each domain the site's configured
//! name allows, path /), so refusal or withdrawal also removes cookies set HttpOnly or on the
//! registrable domain. An invalid consent cookie is deleted at every path it could have been
//! set on for the request. How many deletions one response carries is bounded by the
//! configuration, never by the request: each name once, domains from `listen.hosts` only, and a
//! hard cap on headers and bytes.

use std::sync::Arc;

use actix_web::http::header::HeaderValue;
use cookie::Cookie;

use super::banner::category_id;
use crate::http::SiteHost;
use crate::trackers::Catalogue;

/// Most `Set-Cookie` deletions one response carries (an invalid consent cookie at 17 paths on
/// three domains fits). Tracker cookies left over are still kept from the site, and deleted on
/// a later response.
pub const MAX_DELETIONS: usize = 64;
/// Most bytes of `Set-Cookie` deletions one response carries.
pub const MAX_DELETION_BYTES: usize = 8 * 1024;

/// The cookie decisions for one request.
pub struct WirePolicy {
    catalogue: Arc<Catalogue>,
    granted: Vec<String>,
    /// Names of tracker cookies the visitor sent without consent for their category.
    unconsented: Vec<String>,
    /// Other cookies to delete, each at its paths (an invalid consent cookie).
    invalid: Vec<(String, Vec<String>)>,
    /// Whether `granted` comes from a valid consent cookie (else there was none that counts).
    verified: bool,
}

impl WirePolicy {
    /// The policy for a visitor who granted `granted` and sent cookies called `sent`.
    pub(crate) fn new<'a>(
        catalogue: Arc<Catalogue>,
        granted: Vec<String>,
        sent: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut policy = Self {
            catalogue,
            granted,
            unconsented: Vec::new(),
            invalid: Vec::new(),
            verified: false,
        };
        // Only tracker cookies without consent are kept (and so copied): usually none.
        let mut unconsented: Vec<String> = sent
            .into_iter()
            .filter(|n| !policy.keep_cookie(n))
            .map(str::to_owned)
            .collect();
        unconsented.sort();
        unconsented.dedup();
        policy.unconsented = unconsented;
        policy
    }

    /// Mark `granted` as what a valid consent cookie says.
    pub(crate) fn verified(mut self) -> Self {
        self.verified = true;
        self
    }

    /// What the request's valid consent cookie granted; `None` without one (the page shows
    /// the banner). For the statistics.
    pub fn consent(&self) -> Option<&[String]> {
        self.verified.then_some(self.granted.as_slice())
    }

    /// Add a non-tracker cookie to [`Self::deletions`], at each of `paths` (an invalid consent
    /// cookie, at [`ancestor_paths`] of the request).
    pub(crate) fn also_delete(&mut self, name: &str, paths: Vec<String>) {
        self.invalid.push((name.to_owned(), paths));
    }

    /// Whether a request cookie may go upstream: false for tracker cookies of a category the
    /// visitor has not granted; true for every non-tracker cookie.
    pub fn keep_cookie(&self, name: &str) -> bool {
        match self.catalogue.vendor_for_cookie(name) {
            None => true,
            Some(v) => {
                let cat = category_id(&v.category);
                self.granted.iter().any(|g| g == cat)
            }
        }
    }

    /// `Set-Cookie` deletions for every cookie added with [`Self::also_delete`] (at its paths)
    /// and every tracker cookie the visitor sent without consent (path `/`), each name once:
    /// one host-only and one per domain of `site` ([`SiteHost::cookie_domains`]); at most
    /// [`MAX_DELETIONS`] of them and [`MAX_DELETION_BYTES`] together. An invalid consent cookie
    /// goes first: the page must not read it again.
    pub fn deletions(&self, site: &SiteHost) -> Vec<Cookie<'static>> {
        let root = vec!["/".to_owned()];
        let targets = self
            .invalid
            .iter()
            .map(|(name, paths)| (name, paths))
            .chain(self.unconsented.iter().map(|name| (name, &root)))
            .flat_map(|(name, paths)| paths.iter().map(move |path| (name, path)));
        let mut out = Vec::new();
        let mut bytes = 0;
        for (name, path) in targets {
            let mut base = Cookie::build((name.clone(), ""))
                .path(path.clone())
                .max_age(cookie::time::Duration::ZERO)
                .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
                .build();
            let domains = site.cookie_domains.iter().map(Some);
            for domain in std::iter::once(None).chain(domains) {
                if let Some(d) = domain {
                    base.set_domain(d.clone());
                }
                let size = base.to_string().len();
                if out.len() == MAX_DELETIONS || bytes + size > MAX_DELETION_BYTES {
                    return out;
                }
                bytes += size;
                out.push(base.clone());
            }
        }
        out
    }
}

impl WirePolicy {
    /// [`Self::deletions`] as `Set-Cookie` header values, ready for the proxy's response.
    pub fn deletion_headers(&self, site: &SiteHost) -> Vec<HeaderValue> {
        self.deletions(site)
            .iter()
            // Names come from the request's own Cookie header, so they are valid header text;
            // anything that is not is skipped rather than failing the page.
            .filter_map(|c| HeaderValue::from_str(&c.to_string()).ok())
            .collect()
    }
}

/// Deepest request path whose ancestors get their own deletion; deeper ones share these.
const MAX_PATH_SEGMENTS: usize = 8;

/// Every cookie path a cookie sent with a request for `path` can have (RFC 6265 §5.1.4 path
/// match), shallowest first: `/`, and for each of the first [`MAX_PATH_SEGMENTS`] segments the
/// prefix ending before it and at its `/` — `/a/b` gives `/`, `/a`, `/a/`, `/a/b`. A cookie is
/// deleted only by a `Set-Cookie` with its exact path.
pub fn ancestor_paths(path: &str) -> Vec<String> {
    let mut out = vec!["/".to_owned()];
    let mut end = 0;
    for (depth, segment) in path.split('/').skip(1).enumerate() {
        if depth == MAX_PATH_SEGMENTS || segment.is_empty() {
            break;
        }
        end += 1 + segment.len();
        out.push(path[..end].to_owned());
        if path.len() > end {
            out.push(path[..=end].to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(granted: &[&str], cookie_header: &str) -> WirePolicy {
        WirePolicy::new(
            Arc::new(Catalogue::builtin()),
            granted.iter().map(|s| s.to_string()).collect(),
            Cookie::split_parse(cookie_header)
                .filter_map(Result::ok)
                .map(|c| c.name_raw().unwrap_or_default()),
        )
    }

    #[test]
    fn tracker_cookies_without_consent_are_not_forwarded() {
        let p = policy(&[], "_ga=1; session=abc");
        assert!(!p.keep_cookie("_ga"));
        assert!(!p.keep_cookie("_fbp"));
        assert!(p.keep_cookie("session"));
        let p = policy(&["analytics"], "_ga=1");
        assert!(p.keep_cookie("_ga"));
        assert!(!p.keep_cookie("_fbp"));
    }

    fn site(domains: &[&str]) -> SiteHost {
        SiteHost {
            authority: None,
            cookie_domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    fn stichting() -> SiteHost {
        site(&["www.stichting.example", "stichting.example"])
    }

    #[test]
    fn deletions_cover_host_and_parent_domains() {
        let p = policy(&["analytics"], "_ga=1; _fbp=2; session=abc");
        let dels: Vec<String> = p
            .deletions(&stichting())
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(dels.len(), 3, "{dels:?}");
        assert!(dels
            .iter()
            .all(|d| d.starts_with("_fbp=;") && d.contains("Max-Age=0") && d.contains("Path=/")));
        assert!(dels.iter().any(|d| !d.contains("Domain")));
        assert!(dels
            .iter()
            .any(|d| d.contains("Domain=www.stichting.example")));
        assert!(dels.iter().any(|d| d.contains("Domain=stichting.example")));
    }

    #[test]
    fn without_site_domains_deletions_are_host_only() {
        let p = policy(&[], "_ga=1");
        let dels = p.deletions(&SiteHost::default());
        assert_eq!(dels.len(), 1);
        assert_eq!(dels[0].domain(), None);
    }

    #[test]
    fn deletions_are_one_per_name_and_domain_and_capped() {
        let names: Vec<String> = (0..40).map(|i| format!("_hj{i}")).collect();
        let header = format!("_ga=1; _ga=2; {}", names.join("=1; "));
        let p = policy(&[], &header);
        let dels = p.deletions(&stichting());
        assert_eq!(dels.len(), MAX_DELETIONS);
        let ga: Vec<_> = dels.iter().filter(|c| c.name() == "_ga").collect();
        assert_eq!(ga.len(), 3, "_ga sent twice, deleted once per domain");
        // Long names fill the byte budget before the count.
        let long: Vec<String> = (0..20)
            .map(|i| format!("_hj{i}{}", "x".repeat(400)))
            .collect();
        let p = policy(&[], &format!("{}=1", long.join("=1; ")));
        let bytes: usize = p
            .deletions(&stichting())
            .iter()
            .map(|c| c.to_string().len())
            .sum();
        assert!(bytes <= MAX_DELETION_BYTES, "{bytes}");
    }

    #[test]
    fn ancestor_paths_are_every_path_a_cookie_sent_here_can_have() {
        assert_eq!(ancestor_paths("/"), vec!["/"]);
        assert_eq!(ancestor_paths(""), vec!["/"]);
        assert_eq!(ancestor_paths("/a"), vec!["/", "/a"]);
        assert_eq!(ancestor_paths("/a/"), vec!["/", "/a", "/a/"]);
        assert_eq!(
            ancestor_paths("/blog/2024/post"),
            vec![
                "/",
                "/blog",
                "/blog/",
                "/blog/2024",
                "/blog/2024/",
                "/blog/2024/post"
            ]
        );
        let deep = ancestor_paths(&"/x".repeat(40));
        assert_eq!(deep.len(), 1 + 2 * MAX_PATH_SEGMENTS);
        // An empty segment (`//`) ends it: no path below one can be matched differently.
        assert_eq!(ancestor_paths("/a//b"), vec!["/", "/a", "/a/"]);
    }

    #[test]
    fn an_invalid_cookie_is_deleted_at_each_path_for_host_and_parent_domains() {
        let mut p = policy(&[], "cg_consent=forged");
        p.also_delete("cg_consent", ancestor_paths("/blog/post"));
        let dels: Vec<String> = p
            .deletions(&stichting())
            .iter()
            .map(|c| c.to_string())
            .collect();
        for path in ["/", "/blog", "/blog/", "/blog/post"] {
            let at_path: Vec<&String> = dels
                .iter()
                .filter(|d| {
                    d.contains(&format!("Path={path};")) || d.ends_with(&format!("Path={path}"))
                })
                .collect();
            assert_eq!(at_path.len(), 3, "{path}: {dels:?}");
        }
        assert!(dels
            .iter()
            .all(|d| d.starts_with("cg_consent=;") && d.contains("Max-Age=0")));
    }
}
