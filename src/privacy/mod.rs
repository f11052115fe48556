//! The visitor's address: who the client really is (socket peer, or the right-most untrusted hop
//! when the peer is a trusted proxy), which country that address is in (local MaxMind DB look-up),
//! and the anonymised prefix that is the only form of the address that leaves this module.
//! The full address is never stored, logged or forwarded.

mod client_ip;
mod geo;
mod mentions;

use std::net::IpAddr;
use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderName};
use actix_web::HttpRequest;
use ipnet::IpNet;

pub use client_ip::resolve_client_ip;
pub use geo::{Geo, GeoError};
pub use mentions::{find_mentions, AddressMentions};

use crate::config::PrivacyConfig;

/// What the rest of the gate may know about a visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// The address with its host part zeroed (IPv4 /24, IPv6 /48 by default).
    pub anonymized_ip: IpAddr,
    /// ISO 3166-1 alpha-2 country code, when geo look-up is on and the address is known.
    pub country: Option<String>,
    /// Whether the visitor reached the site over HTTPS (directly or via a trusted terminator).
    pub https: bool,
    /// Request headers and cookies that repeat the full address (names only): the upstream
    /// must not receive them.
    pub address_mentions: AddressMentions,
}

/// Resolves visitors; shared by all workers as `web::Data<Privacy>`.
#[derive(Clone)]
pub struct Privacy {
    trusted_proxies: Arc<[IpNet]>,
    client_ip_header: HeaderName,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
    geo: Option<Arc<Geo>>,
}

impl Privacy {
    /// Build from config; opens the geo database when one is configured.
    pub fn new(cfg: &PrivacyConfig) -> Result<Self, GeoError> {
        let geo = match &cfg.geo_database {
            Some(path) => Some(Arc::new(Geo::open(path)?)),
            None => None,
        };
        Ok(Self {
            trusted_proxies: cfg.trusted_proxies.clone().into(),
            client_ip_header: cfg.client_ip_header.clone(),
            ipv4_prefix: cfg.ipv4_prefix,
            ipv6_prefix: cfg.ipv6_prefix,
            geo,
        })
    }

    /// Whether a geo database is loaded (for the health page).
    pub fn has_geo(&self) -> bool {
        self.geo.is_some()
    }

    /// The loaded geo database's build time, unix seconds (for the health page).
    pub fn geo_build_epoch(&self) -> Option<u64> {
        self.geo.as_ref().map(|g| g.build_epoch())
    }

    pub fn is_trusted(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&peer))
    }

    /// Resolve the visitor of a request: client address → country → anonymise, then the full
    /// address goes out of scope.
    pub fn visitor(&self, req: &HttpRequest) -> Visitor {
        let (peer, client) = self.client(req);
        let headers = req.headers();
        let address_mentions = find_mentions(headers, client);
        let country = self.geo.as_ref().and_then(|geo| geo.country(client));
        // The public listener speaks plain HTTP: only a trusted TLS terminator can vouch for
        // https, in the header family it sets.
        let https = self.is_trusted(peer)
            && if self.client_ip_header.as_str() == "forwarded" {
                forwarded_proto_is_https(headers)
            } else {
                x_forwarded_proto_is_https(headers)
            };
        Visitor {
            anonymized_ip: self.anonymize(client),
            country,
            https,
            address_mentions,
        }
    }

    /// The socket peer and the resolved client address of a request.
    fn client(&self, req: &HttpRequest) -> (IpAddr, IpAddr) {
        let peer = req
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        // A 6to4, NAT64 or Teredo address is the IPv4 visitor it carries: looked up and
        // anonymised as that address.
        let client = embedded_ipv4(resolve_client_ip(
            peer,
            req.headers(),
            &self.trusted_proxies,
            &self.client_ip_header,
        ));
        (peer, client)
    }

    /// BLAKE3 keyed with `key` over the request's full client address followed by `parts`
    /// (each length-prefixed): what the unique-visitor count needs of the address, without
    /// the address leaving this module.
    pub fn visitor_hash(&self, req: &HttpRequest, key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
        let (_, client) = self.client(req);
        let mut h = blake3::Hasher::new_keyed(key);
        match client.to_canonical() {
            IpAddr::V4(ip) => h.update(&ip.octets()),
            IpAddr::V6(ip) => h.update(&ip.octets()),
        };
        for part in parts {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
        *h.finalize().as_bytes()
    }

    pub fn anonymize(&self, ip: IpAddr) -> IpAddr {
        anonymize(ip, self.ipv4_prefix, self.ipv6_prefix)
    }
}

/// Keep the first `v4`/`v6` bits of the address and zero the rest. IPv6 addresses that carry
/// an IPv4 address (IPv4-mapped, 6to4, NAT64, Teredo; see [`embedded_ipv4`]) are treated as
/// that IPv4 address, so `::ffff:203.0.113.7` or `2002:cb00:7105::1` cannot slip through with a
/// /48 that keeps all of it.
pub fn anonymize(ip: IpAddr, v4: u8, v6: u8) -> IpAddr {
    let ip = embedded_ipv4(ip);
    let prefix = if ip.is_ipv4() {
        v4.min(32)
    } else {
        v6.min(128)
    };
    // The prefix is clamped to the family's width above, so the constructor cannot fail.
    IpNet::new(ip, prefix).map(|n| n.network()).unwrap_or(ip)
}

/// The IPv4 address an IPv6 transition address stands for, else the address itself:
/// IPv4-mapped `::ffff:a.b.c.d`; 6to4 `2002:AABB:CCDD::/48` (RFC 3056: the /48 *is* the IPv4
/// address); the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052, IPv4 in the last 32 bits);
/// Teredo `2001:0::/32` (RFC 4380: the client's address in the last 32 bits, inverted).
pub fn embedded_ipv4(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip.to_canonical() else {
        return ip.to_canonical();
    };
    let seg = v6.segments();
    let last32 = |a: u16, b: u16| std::net::Ipv4Addr::from((u32::from(a) << 16) | u32::from(b));
    let v4 = match seg {
        [0x2002, a, b, ..] => last32(a, b),
        [0x0064, 0xff9b, 0, 0, 0, 0, a, b] => last32(a, b),
        [0x2001, 0, _, _, _, _, a, b] => last32(!a, !b),
        _ => return IpAddr::V6(v6),
    };
    IpAddr::V4(v4)
}

fn x_forwarded_proto_is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        // Several terminators in a row append; the right-most is the one next to us.
        .is_some_and(|v| v.rsplit(',').next().map(str::trim) == Some("https"))
}

fn forwarded_proto_is_https(headers: &HeaderMap) -> bool {
    headers
        .get_all("forwarded")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .last()
        .map(|elem| {
            elem.split(';')
                .any(|pair| pair.trim().eq_ignore_ascii_case("proto=https"))
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_keeps_the_configured_prefix() {
        assert_eq!(anonymize(ip("203.0.113.77"), 24, 48), ip("203.0.113.0"));
        assert_eq!(anonymize(ip("203.0.113.77"), 16, 48), ip("203.0.0.0"));
        assert_eq!(anonymize(ip("203.0.113.77"), 0, 48), ip("0.0.0.0"));
    }

    #[test]
    fn ipv6_keeps_the_configured_prefix() {
        assert_eq!(
            anonymize(ip("2001:db8:abcd:1234:5678::1"), 24, 48),
            ip("2001:db8:abcd::")
        );
        assert_eq!(
            anonymize(ip("2001:db8:abcd:1234::1"), 24, 32),
            ip("2001:db8::")
        );
    }

    #[test]
    fn transition_addresses_are_anonymised_as_the_ipv4_they_carry() {
        // 6to4: 2002:cb00:7105::/48 is 203.0.113.5 itself.
        assert_eq!(
            anonymize(ip("2002:cb00:7105:1::1"), 24, 48),
            ip("203.0.113.0")
        );
        // NAT64 well-known prefix.
        assert_eq!(
            anonymize(ip("64:ff9b::cb00:714d"), 24, 48),
            ip("203.0.113.0")
        );
        // Teredo: the client address is stored inverted in the last 32 bits.
        let teredo = ip("2001:0:4136:e378:8000:63bf:34ff:8eb2"); // client !0x34ff8eb2
        assert_eq!(anonymize(teredo, 24, 48), ip("203.0.113.0"));
        // Even a long IPv6 prefix keeps no more of them than the IPv4 prefix would.
        assert_eq!(
            anonymize(ip("2002:cb00:7105:1::1"), 24, 128),
            ip("203.0.113.0")
        );
        // Ordinary IPv6 addresses are untouched.
        assert_eq!(embedded_ipv4(ip("2001:db8::1")), ip("2001:db8::1"));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_anonymised_as_ipv4() {
        assert_eq!(
            anonymize(ip("::ffff:203.0.113.77"), 24, 48),
            ip("203.0.113.0")
        );
    }
}
