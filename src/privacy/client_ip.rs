//! Which address is the client: the socket peer, unless the peer is a trusted proxy, in which
//! case the one configured header (`privacy.client_ip_header`) is walked from the right (the
//! hop nearest to us) past every trusted proxy to the first address that is not one.
//!
//! Only that header is read. A proxy in front of the gate sets the header it is configured to
//! set and passes every other one on as the visitor sent it (nginx forwards a visitor's own
//! `Forwarded`), so believing a second header would let any visitor pick their address.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

/// Resolve the client address from `header` (`forwarded` is read as RFC 7239, any other header
/// as a comma-separated list of addresses like X-Forwarded-For). The header is believed only as
/// far as the chain of trusted proxies reaches: an untrusted client can put anything in it, and
/// it is then ignored.
pub fn resolve_client_ip(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &[IpNet],
    header: &HeaderName,
) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = if header.as_str() == "forwarded" {
        forwarded_hops(headers)
    } else {
        list_hops(headers, header)
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop {
            // An obfuscated or garbled entry: we cannot see past it, so the last hop we could
            // verify is the best answer.
            None => break,
            Some(ip) => {
                client = *ip;
                if !is_trusted(ip) {
                    break;
                }
            }
        }
    }
    client
}

/// The addresses of every `header` line, in order (X-Forwarded-For style; a single-address
/// header is a list of one).
fn list_hops(headers: &HeaderMap, header: &HeaderName) -> Vec<Option<IpAddr>> {
    headers
        .get_all(header)
        .flat_map(|v| match v.to_str() {
            Ok(s) => s
                .split(',')
                .map(|h| parse_node(h.trim()))
                .collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` nodes of every Forwarded element, in order.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all("forwarded") {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (name, val) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| val.trim().trim_matches('"'))
            });
            hops.push(node.and_then(parse_node));
        }
    }
    hops
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`,
/// `2001:db8::1`. `unknown` and obfuscated `_names` are not addresses.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sock) = node.parse::<SocketAddr>() {
        return Some(sock.ip().to_canonical());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_headers as headers;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

    /// Resolved through the default header, X-Forwarded-For.
    fn resolve(peer: &str, h: &HeaderMap, trusted: &[&str]) -> IpAddr {
        resolve_client_ip(ip(peer), h, &nets(trusted), &XFF)
    }

    #[test]
    fn untrusted_peer_cannot_spoof_its_address() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            resolve("198.51.100.9", &h, &["10.0.0.0/8"]),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn chain_of_trusted_proxies_resolves_to_the_rightmost_untrusted_hop() {
        // client forged "6.6.6.6"; real client 203.0.113.5 → CDN 10.1.1.1 → LB 10.2.2.2 (peer)
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.1.1.1")]);
        assert_eq!(resolve("10.2.2.2", &h, &["10.0.0.0/8"]), ip("203.0.113.5"));
    }

    #[test]
    fn repeated_x_forwarded_for_headers_are_one_list() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.5"),
        ]);
        assert_eq!(resolve("10.2.2.2", &h, &["10.0.0.0/8"]), ip("203.0.113.5"));
    }

    #[test]
    fn forwarded_header_with_ipv6_and_ports() {
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(
            resolve_client_ip(ip("::1"), &h, &nets(&["::1/128"]), &FORWARDED),
            ip("2001:db8:cafe::17")
        );
    }

    #[test]
    fn only_the_configured_header_is_believed() {
        // nginx sets X-Forwarded-For and passes the visitor's own Forwarded through.
        let h = headers(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-real-ip", "192.0.2.61"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            resolve("127.0.0.1", &h, &["127.0.0.0/8"]),
            ip("198.51.100.1")
        );
        // A visitor's `for=unknown` no longer collapses everyone to the proxy's address.
        let h = headers(&[
            ("forwarded", "for=unknown"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            resolve("127.0.0.1", &h, &["127.0.0.0/8"]),
            ip("198.51.100.1")
        );
        // Configured the other way round, Forwarded is the one read.
        let h = headers(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        let trusted = nets(&["127.0.0.0/8"]);
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), &h, &trusted, &FORWARDED),
            ip("192.0.2.60")
        );
        let real_ip = HeaderName::from_static("x-real-ip");
        let h = headers(&[("x-real-ip", "192.0.2.61"), ("x-forwarded-for", "6.6.6.6")]);
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), &h, &trusted, &real_ip),
            ip("192.0.2.61")
        );
    }

    #[test]
    fn garbage_hop_stops_the_walk_at_the_last_verified_address() {
        let h = headers(&[("x-forwarded-for", "203.0.113.5, unknown, 10.1.1.1")]);
        assert_eq!(resolve("10.2.2.2", &h, &["10.0.0.0/8"]), ip("10.1.1.1"));
    }

    #[test]
    fn trusted_peer_without_headers_is_the_client() {
        assert_eq!(
            resolve("10.2.2.2", &HeaderMap::new(), &["10.0.0.0/8"]),
            ip("10.2.2.2")
        );
    }
}
