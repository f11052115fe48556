//! Which of the site's names a request is for (`listen.hosts`). The Host header is written by
//! the visitor, so nothing else in the gate reads it for a domain: a request for a name that
//! is not the site's is refused (`misdirected_request`, 421) before any area sees it, and the
//! areas take the resolved [`SiteHost`] instead — the name to pass upstream and the domains
//! cookie deletions may name, bounded by the configuration, not by the request.

use std::future::{ready, Ready};
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use super::error::{Code, EdgeError};
use crate::config::{split_host, HostPattern};

/// The site's names, as configured; resolves requests to a [`SiteHost`].
#[derive(Debug, Clone)]
pub struct SiteHosts {
    patterns: Vec<(HostPattern, Arc<[String]>)>,
}

/// What a request may use of its Host. Cheap to clone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteHost {
    /// The Host header as sent, when it is one of the site's names; `None` when `listen.hosts`
    /// is empty (any Host is served, none is passed on).
    pub authority: Option<Arc<str>>,
    /// Domains a cookie deletion may name (`Domain=`): the matched name and its parents down
    /// to two labels, longest first. Empty for addresses, one-label names, and when
    /// `listen.hosts` is empty (host-only deletions).
    pub cookie_domains: Arc<[String]>,
}

impl SiteHost {
    /// The host resolved for `req` by the host check, or one that derives nothing from the
    /// request when none ran (an area mounted alone in a test).
    pub fn of(req: &HttpRequest) -> SiteHost {
        req.extensions()
            .get::<SiteHost>()
            .cloned()
            .unwrap_or_default()
    }
}

/// The resolved host of the request ([`SiteHost::of`]); never fails.
impl FromRequest for SiteHost {
    type Error = EdgeError;
    type Future = Ready<Result<SiteHost, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(SiteHost::of(req)))
    }
}

/// `name` and its parent domains with at least two labels, longest first
/// (`www.stichting.example` → itself, `stichting.example`). None for addresses and one-label
/// names. Without a public-suffix list a parent can be one (`co.uk`): browsers ignore a
/// Domain they consider a public suffix, so that attempt is harmless.
fn parent_domains(name: &str) -> Vec<String> {
    if name.starts_with('[') || name.parse::<std::net::IpAddr>().is_ok() {
        return Vec::new();
    }
    let labels: Vec<&str> = name.split('.').collect();
    (0..labels.len().saturating_sub(1))
        .map(|i| labels[i..].join("."))
        .collect()
}

impl SiteHosts {
    pub fn new(patterns: &[HostPattern]) -> SiteHosts {
        SiteHosts {
            patterns: patterns
                .iter()
                .map(|p| {
                    // Exact names are known now; a wildcard's depends on the label matched.
                    let domains = if p.wildcard {
                        Arc::from(Vec::new())
                    } else {
                        Arc::from(parent_domains(&p.name))
                    };
                    (p.clone(), domains)
                })
                .collect(),
        }
    }

    /// Whether any Host is served (`listen.hosts` empty).
    pub fn any(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The site host of a request, or `misdirected_request` (421) for a Host that is not one of
    /// the site's names (a missing or unreadable Host included).
    /// Whether `name` (lower-case, port `port`) is one of the site's names; never when none
    /// are configured.
    pub fn names(&self, name: &str, port: Option<u16>) -> bool {
        self.patterns.iter().any(|(p, _)| p.matches(name, port))
    }

    pub fn resolve(&self, req: &HttpRequest) -> Result<SiteHost, EdgeError> {
        if self.any() {
            return Ok(SiteHost::default());
        }
        let sent = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let misdirected = || EdgeError::new(Code::MisdirectedRequest).html_by_default();
        let (name, port) = split_host(sent).ok_or_else(misdirected)?;
        let (pattern, domains) = self
            .patterns
            .iter()
            .find(|(p, _)| p.matches(&name, port))
            .ok_or_else(misdirected)?;
        let cookie_domains = if pattern.wildcard {
            Arc::from(parent_domains(&name))
        } else {
            domains.clone()
        };
        Ok(SiteHost {
            authority: Some(Arc::from(sent.trim())),
            cookie_domains,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_request as req;

    fn hosts(list: &[&str]) -> SiteHosts {
        let patterns: Vec<HostPattern> = list
            .iter()
            .map(|p| HostPattern::parse(p).unwrap())
            .collect();
        SiteHosts::new(&patterns)
    }

    #[test]
    fn a_listed_host_resolves_with_its_parent_domains() {
        let h = hosts(&["www.stichting.example", "*.stichting.example", "127.0.0.1"]);
        let site = h
            .resolve(&req(&[("host", "WWW.stichting.example:8443")]))
            .unwrap();
        assert_eq!(
            site.authority.as_deref(),
            Some("WWW.stichting.example:8443")
        );
        assert_eq!(
            &site.cookie_domains[..],
            ["www.stichting.example", "stichting.example"]
        );
        let site = h
            .resolve(&req(&[("host", "shop.stichting.example")]))
            .unwrap();
        assert_eq!(
            &site.cookie_domains[..],
            ["shop.stichting.example", "stichting.example"]
        );
        let site = h.resolve(&req(&[("host", "127.0.0.1:8080")])).unwrap();
        assert!(site.cookie_domains.is_empty());
    }

    #[test]
    fn any_other_host_is_misdirected() {
        let h = hosts(&["www.stichting.example"]);
        for host in [
            "attacker.example",
            "a.a.a.www.stichting.example",
            "",
            "x@www.stichting.example",
        ] {
            let err = h.resolve(&req(&[("host", host)])).unwrap_err();
            assert_eq!(err.code(), Code::MisdirectedRequest, "{host:?}");
        }
        assert_eq!(
            h.resolve(&req(&[])).unwrap_err().code(),
            Code::MisdirectedRequest
        );
    }

    #[test]
    fn without_a_list_nothing_is_taken_from_the_host() {
        let site = hosts(&[])
            .resolve(&req(&[("host", "a.a.a.a.a.example")]))
            .unwrap();
        assert_eq!(site, SiteHost::default());
    }
}
