//! `listen.hosts` entries: the names (and addresses) the site is reached by, each parsed once
//! into a [`HostPattern`] and matched case-insensitively against a request's Host.

use std::fmt;
use std::net::IpAddr;

use actix_web::http::uri::Authority;

/// One entry of `listen.hosts`: `www.example.org`, `example.org:8443`, `*.example.org` (any
/// one label in front), `192.0.2.10`, `[2001:db8::1]:8080`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower-case ASCII (IDNA) name without a trailing dot, an IPv4 address, or a bracketed
    /// IPv6 address; for a wildcard, the part after `*.`.
    pub name: String,
    /// `*.name`: exactly one DNS label in front of `name`, like a TLS wildcard.
    pub wildcard: bool,
    /// Compared only when given.
    pub port: Option<u16>,
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.name)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// A request's Host, split and normalised like a pattern: `(name, port)`. `None` for text that
/// is no host (`http::uri::Authority` reads it; a user part is refused).
pub fn split_host(text: &str) -> Option<(String, Option<u16>)> {
    let authority: Authority = text.trim().parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    Some((normal_name(authority.host())?, authority.port_u16()))
}

/// The canonical text of a host: an IP address as Rust writes it (IPv6 in brackets), a name
/// through IDNA (lower case, punycode), without a trailing dot.
fn normal_name(host: &str) -> Option<String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    match url::Host::parse(host.strip_suffix('.').unwrap_or(host)).ok()? {
        url::Host::Domain(name) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// Whether `label` is one DNS label (what a wildcard stands for).
fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.len())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl HostPattern {
    /// Parse one entry, or say what was expected.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let expected = || {
            "expected a host name or address, optionally with a port, like \"www.example.org\", \
             \"*.example.org\" or \"192.0.2.10:8080\""
                .to_owned()
        };
        let text = text.trim();
        let (wildcard, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        // A bare IPv6 address (`::1`) is written without brackets as often as with.
        let bracketed;
        let rest = if rest.parse::<std::net::Ipv6Addr>().is_ok() {
            bracketed = format!("[{rest}]");
            &bracketed
        } else {
            rest
        };
        // Read as the host of a URL (WHATWG, with IDNA): an operator may write `café.example`,
        // browsers send `xn--caf-dma.example`.
        let url = url::Url::parse(&format!("http://{rest}/")).map_err(|_| expected())?;
        let clean = url.username().is_empty()
            && url.password().is_none()
            && url.path() == "/"
            && url.query().is_none()
            && url.fragment().is_none();
        let name = url
            .host_str()
            .filter(|_| clean)
            .and_then(normal_name)
            .ok_or_else(expected)?;
        // The URL drops http's default port; written out, it is still a port to compare.
        let port = url.port().or_else(|| rest.ends_with(":80").then_some(80));
        if wildcard && (name.starts_with('[') || name.parse::<IpAddr>().is_ok()) {
            return Err("a wildcard stands for a name label; it cannot precede an address".into());
        }
        Ok(HostPattern {
            name,
            wildcard,
            port,
        })
    }

    /// Whether a request's host (as [`split_host`] returns it) is this entry.
    pub fn matches(&self, name: &str, port: Option<u16>) -> bool {
        if self.port.is_some() && self.port != port {
            return false;
        }
        if !self.wildcard {
            return name == self.name;
        }
        name.strip_suffix(self.name.as_str())
            .and_then(|front| front.strip_suffix('.'))
            .is_some_and(is_label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, host: &str) -> bool {
        let (name, port) = split_host(host).unwrap();
        HostPattern::parse(pattern).unwrap().matches(&name, port)
    }

    #[test]
    fn entries_are_normalised_once() {
        let p = HostPattern::parse("WWW.Example.ORG.").unwrap();
        assert_eq!(p.to_string(), "www.example.org");
        assert_eq!(HostPattern::parse("::1").unwrap().to_string(), "[::1]");
        assert_eq!(
            HostPattern::parse("[2001:DB8::1]:8080")
                .unwrap()
                .to_string(),
            "[2001:db8::1]:8080"
        );
        assert_eq!(
            HostPattern::parse("café.example").unwrap().name,
            "xn--caf-dma.example"
        );
        for bad in ["", "http://x", "a b", "x/y", "*.192.0.2.1", "user@host"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_match_case_insensitively_with_the_port_only_when_given() {
        assert!(matches("www.example.org", "WWW.example.org"));
        assert!(matches("www.example.org", "www.example.org:8443"));
        assert!(matches("www.example.org", "www.example.org."));
        assert!(!matches("www.example.org", "example.org"));
        assert!(!matches(
            "www.example.org",
            "www.example.org.attacker.example"
        ));
        assert!(matches("www.example.org:8443", "www.example.org:8443"));
        assert!(!matches("www.example.org:8443", "www.example.org"));
        assert!(matches("127.0.0.1", "127.0.0.1:8080"));
        assert!(matches("[::1]", "[::1]:8080"));
    }

    #[test]
    fn a_wildcard_stands_for_exactly_one_label() {
        assert!(matches("*.example.org", "shop.example.org"));
        assert!(!matches("*.example.org", "example.org"));
        assert!(!matches("*.example.org", "a.b.example.org"));
        assert!(!matches("*.example.org", "evilexample.org"));
        let long = format!("{}.example.org", "a".repeat(64));
        assert!(!matches("*.example.org", &long));
    }
}
