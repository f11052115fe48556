//! Which address is the client: the socket peer, unless the peer is a trusted proxy, in which
//! case the forwarding headers are walked from the right (the hop nearest to us) past every
//! trusted proxy to the first address that is not one.

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// Resolve the client address. Forwarded (RFC 7239) wins over X-Forwarded-For when both are
/// present. Headers are believed only as far as the chain of trusted proxies reaches: an
/// untrusted client can put anything in them, and it is then ignored.
pub fn resolve_client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_hops(headers).unwrap_or_else(|| x_forwarded_for_hops(headers));
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

fn x_forwarded_for_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .flat_map(|v| match v.to_str() {
            Ok(s) => s
                .split(',')
                .map(|h| parse_node(h.trim()))
                .collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` nodes of every Forwarded element, in order; `None` when there is no Forwarded header.
fn forwarded_hops(headers: &HeaderMap) -> Option<Vec<Option<IpAddr>>> {
    let mut hops = Vec::new();
    let mut seen = false;
    for value in headers.get_all("forwarded") {
        seen = true;
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
    seen.then_some(hops)
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
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_cannot_spoof_its_address() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            resolve_client_ip(ip("198.51.100.9"), &h, &nets(&["10.0.0.0/8"])),
            ip("198.51.100.9")
        );
    }

    #[test]
    fn chain_of_trusted_proxies_resolves_to_the_rightmost_untrusted_hop() {
        // client forged "6.6.6.6"; real client 203.0.113.5 → CDN 10.1.1.1 → LB 10.2.2.2 (peer)
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.1.1.1")]);
        assert_eq!(
            resolve_client_ip(ip("10.2.2.2"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn repeated_x_forwarded_for_headers_are_one_list() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "203.0.113.5"),
        ]);
        assert_eq!(
            resolve_client_ip(ip("10.2.2.2"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.5")
        );
    }

    #[test]
    fn forwarded_header_with_ipv6_and_ports() {
        let h = headers(&[(
            "forwarded",
            "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\"",
        )]);
        assert_eq!(
            resolve_client_ip(ip("::1"), &h, &nets(&["::1/128"])),
            ip("2001:db8:cafe::17")
        );
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let h = headers(&[
            ("forwarded", "for=192.0.2.60"),
            ("x-forwarded-for", "198.51.100.1"),
        ]);
        assert_eq!(
            resolve_client_ip(ip("127.0.0.1"), &h, &nets(&["127.0.0.0/8"])),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn garbage_hop_stops_the_walk_at_the_last_verified_address() {
        let h = headers(&[("x-forwarded-for", "203.0.113.5, unknown, 10.1.1.1")]);
        assert_eq!(
            resolve_client_ip(ip("10.2.2.2"), &h, &nets(&["10.0.0.0/8"])),
            ip("10.1.1.1")
        );
    }

    #[test]
    fn trusted_peer_without_headers_is_the_client() {
        assert_eq!(
            resolve_client_ip(ip("10.2.2.2"), &HeaderMap::new(), &nets(&["10.0.0.0/8"])),
            ip("10.2.2.2")
        );
    }
}
