//! Header policy between visitor and upstream: hop-by-hop headers (RFC 9110 §7.6.1 and those
//! named in Connection) never cross the gate in either direction; the visitor's address travels
//! only as its anonymised prefix — every header that could carry it in full (the forwarding
//! headers, CDN and load-balancer client-address headers, the operator's own, and any header or
//! cookie whose value holds it) is removed; tracker cookies without consent are dropped from
//! Cookie.

use std::net::IpAddr;

use actix_web::http::header::{
    self, ContentEncoding, Encoding, HeaderMap, HeaderName, HeaderValue, Preference, QualityItem,
};

use crate::http::extract::cookies_in;
use crate::privacy::AddressMentions;

/// Hop-by-hop headers of RFC 9110 §7.6.1, plus the legacy ones proxies still meet.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Headers that describe the client and are set by the gate, never copied from the visitor.
const FORWARDING: &[&str] = &[
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
];

/// Headers CDNs, load balancers, WAFs and application servers use for the client's address
/// (kept up to date by hand; any header whose value holds the address is removed besides).
const CLIENT_ADDRESS: &[&str] = &[
    "akamai-client-ip",
    "cf-connecting-ip",
    "cf-connecting-ipv6",
    "cf-pseudo-ipv4",
    "client-ip",
    "cloudfront-viewer-address",
    "fastly-client-ip",
    "fly-client-ip",
    "forwarded-for",
    "incap-client-ip",
    "proxy-client-ip",
    "remote-addr",
    "true-client-ip",
    "wl-proxy-client-ip",
    "x-appengine-user-ip",
    "x-azure-clientip",
    "x-azure-socketip",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-envoy-external-address",
    "x-forwarded",
    "x-forwarded-for-original",
    "x-nf-client-connection-ip",
    "x-original-forwarded-for",
    "x-originating-ip",
    "x-proxyuser-ip",
    "x-real-client-ip",
    "x-remote-addr",
    "x-remote-ip",
    "x-sucuri-clientip",
    "x-vercel-forwarded-for",
];

/// Codings the rewriter can decode; the upstream is asked for nothing else so an HTML page can
/// always be inspected (an undecodable page would have to pass with its trackers live).
fn decodable(item: &QualityItem<Preference<Encoding>>) -> bool {
    matches!(
        item.item,
        Preference::Specific(Encoding::Known(
            ContentEncoding::Gzip
                | ContentEncoding::Deflate
                | ContentEncoding::Brotli
                | ContentEncoding::Zstd
                | ContentEncoding::Identity
        ))
    )
}

/// Names listed in the Connection header(s), lower-cased.
fn connection_named(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

/// The headers of `src` that are neither hop-by-hop nor listed in `also_drop`, in order.
pub fn end_to_end<'a>(
    src: &'a HeaderMap,
    also_drop: &'a [&'a str],
) -> impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)> + 'a {
    let named = connection_named(src);
    src.iter().filter(move |(name, _)| {
        let n = name.as_str();
        !(HOP_BY_HOP.contains(&n) || also_drop.contains(&n) || named.iter().any(|c| c == n))
    })
}

/// What the upstream is told about the visitor.
pub struct ForwardedInfo<'a> {
    /// The anonymised address, or `None` with `ip_forwarding = "strip"`.
    pub anonymized_ip: Option<IpAddr>,
    pub proto: &'static str,
    /// The Host the visitor asked for.
    pub host: Option<&'a str>,
    /// Further request headers never to forward (the configured client-address header and
    /// `privacy.strip_headers`).
    pub strip: &'a [HeaderName],
    /// Headers and cookies of this request that repeat the visitor's full address.
    pub mentions: &'a AddressMentions,
}

/// Whether a request header must not reach the upstream: the gate sets it itself, or it can
/// carry the visitor's address.
fn never_forwarded(name: &HeaderName, forwarded: &ForwardedInfo<'_>) -> bool {
    let n = name.as_str();
    name == header::HOST
        || name == header::EXPECT
        || FORWARDING.contains(&n)
        || CLIENT_ADDRESS.contains(&n)
        || forwarded.strip.contains(name)
        || forwarded.mentions.headers.contains(name)
}

/// Headers for the upstream request. `host` is the Host header to send (policy decided by the
/// caller); `keep_cookie` says which cookies may go upstream.
pub fn upstream_request_headers(
    client: &HeaderMap,
    host: &str,
    forwarded: &ForwardedInfo<'_>,
    keep_cookie: &dyn Fn(&str) -> bool,
) -> HeaderMap {
    // Host is set below; the gate handles 100-continue with the visitor itself.
    let mut out = HeaderMap::with_capacity(client.len() + 6);
    for (name, value) in end_to_end(client, &[]) {
        if !never_forwarded(name, forwarded) {
            out.append(name.clone(), value.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(host) {
        out.insert(header::HOST, v);
    }
    filter_accept_encoding(&mut out);
    let address_cookies = &forwarded.mentions.cookies;
    if address_cookies.is_empty() {
        filter_cookies(&mut out, keep_cookie);
    } else {
        filter_cookies(&mut out, &|name| {
            keep_cookie(name) && !address_cookies.iter().any(|c| c == name)
        });
    }
    if let Some(ip) = forwarded.anonymized_ip {
        let address = ip.to_string();
        let mut fwd = String::with_capacity(96);
        fwd.push_str(if ip.is_ipv6() { "for=\"[" } else { "for=" });
        fwd.push_str(&address);
        fwd.push_str(if ip.is_ipv6() {
            "]\";proto="
        } else {
            ";proto="
        });
        fwd.push_str(forwarded.proto);
        if let Some(h) = forwarded.host.filter(|h| is_token_safe(h)) {
            fwd.push_str(";host=\"");
            fwd.push_str(h);
            fwd.push('"');
        }
        if let Ok(address) = HeaderValue::from_str(&address) {
            // One value shared by both headers (a clone is a reference count).
            out.insert(HeaderName::from_static("x-real-ip"), address.clone());
            out.insert(HeaderName::from_static("x-forwarded-for"), address);
        }
        if let Ok(v) = HeaderValue::from_str(&fwd) {
            out.insert(HeaderName::from_static("forwarded"), v);
        }
    }
    out.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(forwarded.proto),
    );
    if let Some(v) = forwarded.host.and_then(|h| HeaderValue::from_str(h).ok()) {
        out.insert(HeaderName::from_static("x-forwarded-host"), v);
    }
    out
}

fn is_token_safe(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
}

/// Keep only codings the gate can decode, so HTML can always be rewritten. Each item is read
/// as actix's typed `Accept-Encoding` item; a header the gate can decode whole goes on as it
/// came (checked without allocating: this runs for every proxied request).
fn filter_accept_encoding(headers: &mut HeaderMap) {
    let mut values = headers.get_all(header::ACCEPT_ENCODING);
    let Some(first) = values.next() else {
        return;
    };
    let single = values.next().is_none();
    if single && all_decodable(first) {
        return; // the common "gzip, deflate, br" goes on as it came
    }
    let kept: Vec<String> = headers
        .get_all(header::ACCEPT_ENCODING)
        .flat_map(typed_items)
        .filter(decodable)
        .map(|item| item.to_string())
        .collect();
    headers.remove(header::ACCEPT_ENCODING);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept.join(", ")) {
            headers.insert(header::ACCEPT_ENCODING, v);
        }
    }
}

/// The items of one Accept-Encoding value that actix's typed header can read.
fn typed_items(
    value: &HeaderValue,
) -> impl Iterator<Item = QualityItem<Preference<Encoding>>> + '_ {
    value
        .to_str()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .filter_map(|item| item.parse().ok())
}

/// Whether every item of a value is readable and decodable (and there is at least one).
fn all_decodable(value: &HeaderValue) -> bool {
    let text = value.to_str().unwrap_or("");
    let mut any = false;
    for item in text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        match item.parse::<QualityItem<Preference<Encoding>>>() {
            Ok(item) if decodable(&item) => any = true,
            _ => return false,
        }
    }
    any
}

/// Drop the cookies `keep` refuses, keeping the others as `name=value` with the value as sent.
/// Pairs the `cookie` crate cannot read (no `=`) carry no name to decide by and are dropped.
fn filter_cookies(headers: &mut HeaderMap, keep: &dyn Fn(&str) -> bool) {
    let mut values = headers.get_all(header::COOKIE);
    let (Some(_), single) = (values.next(), values.next().is_none()) else {
        return;
    };
    let refused = cookies_in(headers.get_all(header::COOKIE))
        .any(|c| c.name_raw().is_some_and(|name| !keep(name)));
    if single && !refused {
        return; // the common case: the header goes on as it came
    }
    let mut kept = String::new();
    for cookie in cookies_in(headers.get_all(header::COOKIE)) {
        let (Some(name), Some(value)) = (cookie.name_raw(), cookie.value_raw()) else {
            continue;
        };
        if keep(name) {
            if !kept.is_empty() {
                kept.push_str("; ");
            }
            kept.push_str(name);
            kept.push('=');
            kept.push_str(value);
        }
    }
    headers.remove(header::COOKIE);
    if !kept.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&kept) {
            headers.insert(header::COOKIE, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_headers as map;

    static NO_MENTIONS: AddressMentions = AddressMentions {
        headers: Vec::new(),
        cookies: Vec::new(),
    };

    fn fwd(ip: Option<&str>) -> ForwardedInfo<'static> {
        ForwardedInfo {
            anonymized_ip: ip.map(|s| s.parse().unwrap()),
            proto: "https",
            host: Some("www.example.org"),
            strip: &[],
            mentions: &NO_MENTIONS,
        }
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let h = map(&[
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("te", "trailers"),
            ("upgrade", "h2c"),
            ("accept", "text/html"),
        ]);
        let out: Vec<_> = end_to_end(&h, &[]).map(|(n, _)| n.as_str()).collect();
        assert_eq!(out, vec!["accept"]);
    }

    #[test]
    fn visitor_supplied_forwarding_headers_are_replaced_by_the_anonymised_address() {
        let h = map(&[
            ("x-forwarded-for", "198.51.100.23"),
            ("x-real-ip", "198.51.100.23"),
            ("forwarded", "for=198.51.100.23"),
        ]);
        let out =
            upstream_request_headers(&h, "upstream:80", &fwd(Some("198.51.100.0")), &|_| true);
        assert_eq!(out.get("x-forwarded-for").unwrap(), "198.51.100.0");
        assert_eq!(out.get("x-real-ip").unwrap(), "198.51.100.0");
        assert_eq!(
            out.get("forwarded").unwrap(),
            "for=198.51.100.0;proto=https;host=\"www.example.org\""
        );
        assert_eq!(out.get("host").unwrap(), "upstream:80");
        assert_eq!(out.get("x-forwarded-proto").unwrap(), "https");
        assert!(!format!("{out:?}").contains(".23"));
    }

    #[test]
    fn address_headers_listed_configured_or_found_are_not_forwarded() {
        let h = map(&[
            ("fastly-client-ip", "198.51.100.23"),
            ("x-azure-clientip", "198.51.100.23"),
            ("x-my-proxy", "198.51.100.23"),
            ("x-odd", "client 198.51.100.23"),
            ("cookie", "session=abc; geo=198.51.100.23"),
            ("accept", "text/html"),
        ]);
        let mentions = crate::privacy::find_mentions(&h, "198.51.100.23".parse().unwrap());
        let strip = [HeaderName::from_static("x-my-proxy")];
        let info = ForwardedInfo {
            strip: &strip,
            mentions: &mentions,
            ..fwd(Some("198.51.100.0"))
        };
        let out = upstream_request_headers(&h, "u", &info, &|_| true);
        assert!(!format!("{out:?}").contains(".23"), "{out:?}");
        assert_eq!(out.get("cookie").unwrap(), "session=abc");
        assert_eq!(out.get("accept").unwrap(), "text/html");
    }

    #[test]
    fn strip_mode_sends_no_address_at_all() {
        let h = map(&[("x-forwarded-for", "198.51.100.23")]);
        let out = upstream_request_headers(&h, "u", &fwd(None), &|_| true);
        for name in ["x-forwarded-for", "x-real-ip", "forwarded"] {
            assert!(!out.contains_key(name), "{name} present");
        }
    }

    #[test]
    fn ipv6_forwarded_node_is_quoted() {
        let out =
            upstream_request_headers(&HeaderMap::new(), "u", &fwd(Some("2001:db8:1::")), &|_| {
                true
            });
        assert!(out
            .get("forwarded")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("for=\"[2001:db8:1::]\""));
    }

    #[test]
    fn refused_cookies_are_dropped_and_others_kept_verbatim() {
        let h = map(&[
            ("cookie", "_ga=GA1.1.123; session=abc=def"),
            ("cookie", "_fbp=fb.1; lang=nl"),
        ]);
        let out = upstream_request_headers(&h, "u", &fwd(None), &|n| !n.starts_with('_'));
        assert_eq!(out.get("cookie").unwrap(), "session=abc=def; lang=nl");
        let none = upstream_request_headers(&map(&[("cookie", "_ga=1")]), "u", &fwd(None), &|n| {
            !n.starts_with('_')
        });
        assert!(!none.contains_key("cookie"));
    }

    #[test]
    fn upstream_is_only_asked_for_codings_the_gate_can_decode() {
        let h = map(&[("accept-encoding", "gzip, deflate, br, zstd;q=0.9")]);
        let out = upstream_request_headers(&h, "u", &fwd(None), &|_| true);
        assert_eq!(
            out.get("accept-encoding").unwrap(),
            "gzip, deflate, br, zstd;q=0.9"
        );
        let unknown = upstream_request_headers(
            &map(&[("accept-encoding", "compress, dcb")]),
            "u",
            &fwd(None),
            &|_| true,
        );
        assert!(!unknown.contains_key("accept-encoding"));
    }
}
