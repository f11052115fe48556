//! Where a request repeats the visitor's full address: CDNs and load balancers add headers of
//! their own (`Fastly-Client-IP`, `X-Azure-ClientIP`, …), a CMS plug-in may keep it in a
//! cookie, a visitor may write it anywhere. The gate knows the address, so instead of trusting a
//! list of names alone it looks for the address in every value and names what must not go on.
//! Only names leave this module, never a value.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{self, HeaderMap, HeaderName};
use percent_encoding::percent_decode;

use super::embedded_ipv4;
use crate::http::extract::cookies_in;

/// The request headers and cookies whose values hold the visitor's full address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressMentions {
    /// Header names (never Host or Cookie) with the address in a value.
    pub headers: Vec<HeaderName>,
    /// Names of cookies with the address in their value (the Cookie header itself stays, so
    /// a visitor keeps their session).
    pub cookies: Vec<String>,
}

impl AddressMentions {
    /// Whether nothing repeats the address (the usual case).
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty() && self.cookies.is_empty()
    }
}

/// The headers and cookies of `headers` that mention `client`, in any textual form of it
/// (IPv4 dotted quad, any IPv6 spelling, with a port, in brackets, IPv4-mapped, a transition
/// address carrying the same IPv4, percent-encoded).
pub fn find_mentions(headers: &HeaderMap, client: IpAddr) -> AddressMentions {
    let client = embedded_ipv4(client);
    let mut found = AddressMentions::default();
    if client.is_loopback() {
        // The machine itself: nothing to hide, and its address is also the gate's own, which
        // Origin and Referer legitimately carry.
        return found;
    }
    for (name, value) in headers {
        if name == header::HOST || name == header::COOKIE {
            // Host names the gate, not the visitor; cookies are judged one by one below.
            continue;
        }
        if mentions(value.as_bytes(), client) && !found.headers.contains(name) {
            found.headers.push(name.clone());
        }
    }
    for cookie in cookies_in(headers.get_all(header::COOKIE)) {
        let (Some(name), Some(value)) = (cookie.name_raw(), cookie.value_raw()) else {
            continue;
        };
        if mentions(value.as_bytes(), client) && !found.cookies.iter().any(|c| c == name) {
            found.cookies.push(name.to_owned());
        }
    }
    found
}

/// Whether `text` holds `client` (already reduced by [`embedded_ipv4`]).
fn mentions(text: &[u8], client: IpAddr) -> bool {
    if scan(text, client) {
        return true;
    }
    // `2001%3Adb8%3A%3A1`, `ip=203%2E0%2E113%2E5`: look again at the decoded text.
    text.contains(&b'%') && {
        let decoded: Cow<'_, [u8]> = percent_decode(text).into();
        scan(&decoded, client)
    }
}

/// Every maximal run of address characters (hex digits, `.` and `:`) is read as an address,
/// with or without a port.
fn scan(text: &[u8], client: IpAddr) -> bool {
    let is_addr_byte = |b: &u8| b.is_ascii_hexdigit() || *b == b'.' || *b == b':';
    text.split(|b| !is_addr_byte(b))
        // The shortest address text is `::` or `1.2.3.4`; shorter runs are version numbers
        // and the like.
        .filter(|run| run.len() >= 2 && run.iter().any(|b| *b == b'.' || *b == b':'))
        .filter_map(|run| std::str::from_utf8(run).ok())
        .filter_map(as_address)
        .any(|ip| embedded_ipv4(ip) == client)
}

/// An address as it is written in headers: bare, with a `:port` (IPv4), or the IPv6 part of
/// `[v6]:port` (the brackets already split it off).
fn as_address(run: &str) -> Option<IpAddr> {
    // As written, then without punctuation around it (`for 203.0.113.5.` or `ip:203.0.113.5`;
    // `::` in front is kept first, it can be part of an IPv6 address).
    let trimmed = run.trim_matches(|c| c == ':' || c == '.');
    [run, run.trim_end_matches(['.', ':']), trimmed]
        .into_iter()
        .find_map(|text| {
            text.parse::<IpAddr>()
                .ok()
                .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_headers as map;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn named(found: &AddressMentions) -> Vec<&str> {
        let mut names: Vec<&str> = found.headers.iter().map(HeaderName::as_str).collect();
        names.sort();
        names
    }

    #[test]
    fn every_spelling_of_an_ipv4_address_is_found() {
        let h = map(&[
            ("fastly-client-ip", "198.51.100.23"),
            ("x-whatever", "client=198.51.100.23:4711; via=cdn"),
            ("x-mapped", "::ffff:198.51.100.23"),
            ("x-encoded", "ip%3D198%2E51%2E100%2E23"),
            ("x-6to4", "2002:c633:6417::1"),
            (
                "user-agent",
                "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0",
            ),
            ("x-neighbour", "198.51.100.24, 198.51.100.230"),
            ("host", "198.51.100.23"),
        ]);
        let found = find_mentions(&h, ip("198.51.100.23"));
        assert_eq!(
            named(&found),
            [
                "fastly-client-ip",
                "x-6to4",
                "x-encoded",
                "x-mapped",
                "x-whatever"
            ]
        );
    }

    #[test]
    fn every_spelling_of_an_ipv6_address_is_found() {
        let h = map(&[
            ("x-azure-clientip", "2001:db8:abcd:12::5"),
            ("x-long", "2001:0DB8:ABCD:0012:0000:0000:0000:0005"),
            ("cloudfront-viewer-address", "[2001:db8:abcd:12::5]:46532"),
            ("x-other", "2001:db8:abcd:12::6"),
        ]);
        let found = find_mentions(&h, ip("2001:db8:abcd:12::5"));
        assert_eq!(
            named(&found),
            ["cloudfront-viewer-address", "x-azure-clientip", "x-long"]
        );
    }

    #[test]
    fn a_cookie_holding_the_address_is_named_not_the_cookie_header() {
        let h = map(&[(
            "cookie",
            "session=abc; wp_geo=203.0.113.77|NL; _ga=GA1.1.1234567890.1700000000",
        )]);
        let found = find_mentions(&h, ip("203.0.113.77"));
        assert!(found.headers.is_empty(), "{found:?}");
        assert_eq!(found.cookies, ["wp_geo"]);
        assert!(find_mentions(&h, ip("203.0.113.78")).is_empty());
    }
}
