//! Typed values written as strings in the file (durations, socket addresses, URLs, address
//! ranges), each parsed once with a message that says what was expected, with an example built
//! from what the operator wrote where that helps.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use actix_web::http::header::HeaderName;
use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use url::Url;

use super::hosts::HostPattern;

/// Parses the text of a value, or says what was expected (without the "got …" part).
type Parse<T> = fn(&str) -> Result<T, String>;

/// Accepts a string, and a number too so that `connect_timeout = 5` or `public = 8080` get the
/// same explanation as their string forms instead of a type error.
struct TextVisitor<T> {
    expecting: &'static str,
    parse: Parse<T>,
    _out: PhantomData<T>,
}

impl<T> TextVisitor<T> {
    fn new(expecting: &'static str, parse: Parse<T>) -> Self {
        Self {
            expecting,
            parse,
            _out: PhantomData,
        }
    }
    fn finish<E: de::Error>(&self, text: &str, shown: String) -> Result<T, E> {
        (self.parse)(text).map_err(|expected| E::custom(format!("{expected}, got {shown}")))
    }
}

impl<'de, T> Visitor<'de> for TextVisitor<T> {
    type Value = T;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        self.finish(v, format!("{v:?}"))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.finish(&v.to_string(), v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.finish(&v.to_string(), v.to_string())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        self.finish(&v.to_string(), v.to_string())
    }
}

fn text<'de, D: Deserializer<'de>, T>(
    d: D,
    expecting: &'static str,
    parse: Parse<T>,
) -> Result<T, D::Error> {
    d.deserialize_any(TextVisitor::new(expecting, parse))
}

const DURATION: &str = "a duration like \"5s\": a number and a unit (ms, s, m, h, d)";

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|_| format!("expected {DURATION}"))
}

/// Durations are written as `"5s"`, `"250ms"`, `"30d"` (humantime).
pub(crate) fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    text(d, DURATION, parse_duration)
}

fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| {
        // Build the example from what was written: a bare port or a bare address.
        let example = match (text.trim().parse::<u16>(), text.trim().parse::<IpAddr>()) {
            (Ok(port), _) => SocketAddr::from(([127, 0, 0, 1], port)),
            (_, Ok(ip)) => SocketAddr::new(ip, 8080),
            _ => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        format!("expected a socket address (IP address and port) like \"{example}\"")
    })
}

/// A listener address, `"127.0.0.1:8080"` or `"[::1]:8080"`.
pub(crate) fn de_socket_addr<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    text(
        d,
        "a socket address like \"127.0.0.1:8080\"",
        parse_socket_addr,
    )
}

/// An `http://` or `https://` URL with a host, or what was expected instead. One message for
/// every way it can be wrong, with the URL the operator most likely meant as the example.
fn parse_http_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    if let Ok(url) = Url::parse(text) {
        if matches!(url.scheme(), "http" | "https") && url.host().is_some() {
            return Ok(url);
        }
    }
    // "127.0.0.1:8000" or "localhost:8000": the scheme was left out.
    let example = Some(text)
        .filter(|t| !t.contains("://"))
        .and_then(|t| Url::parse(&format!("http://{t}")).ok())
        .filter(|u| u.host().is_some())
        .map_or_else(|| "http://127.0.0.1:8000/".to_owned(), String::from);
    Err(format!(
        "expected an http:// or https:// URL like {example:?}"
    ))
}

fn parse_upstream_url(text: &str) -> Result<Url, String> {
    let url = parse_http_url(text)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected the site's base URL without a query or fragment".into());
    }
    Ok(url)
}

/// `upstream.url`: the site behind the gate.
pub(crate) fn de_upstream_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    text(d, "an http:// or https:// URL", parse_upstream_url).map(Some)
}

/// A URL the gate calls (a webhook): `http://` or `https://`, query allowed.
pub(crate) fn de_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    de_required_http_url(d).map(Some)
}

/// [`de_http_url`] for a key whose default is a URL (not `None`).
pub(crate) fn de_required_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    text(d, "an http:// or https:// URL", parse_http_url)
}

fn parse_ip_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            "expected an IP address or a CIDR range like \"192.0.2.10\" or \"10.0.0.0/8\"".into()
        })
}

/// One entry of an address list: a CIDR range, or a bare address meaning just that address
/// (/32 or /128).
struct NetEntry(IpNet);

impl<'de> Deserialize<'de> for NetEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d, "an IP address or CIDR range", parse_ip_net).map(NetEntry)
    }
}

/// A list of CIDR ranges and bare addresses.
pub(crate) fn de_ip_nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let entries = Vec::<NetEntry>::deserialize(d)?;
    Ok(entries.into_iter().map(|NetEntry(net)| net).collect())
}

struct HostEntry(HostPattern);

impl<'de> Deserialize<'de> for HostEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d, "a host name or address", HostPattern::parse).map(HostEntry)
    }
}

/// `listen.hosts`: host names and addresses, each optionally with a port.
pub(crate) fn de_host_patterns<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<HostPattern>, D::Error> {
    let entries = Vec::<HostEntry>::deserialize(d)?;
    Ok(entries.into_iter().map(|HostEntry(p)| p).collect())
}

fn parse_header_name(text: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.trim().to_ascii_lowercase().as_bytes())
        .map_err(|_| "expected an HTTP header name like \"x-forwarded-for\"".into())
}

/// An HTTP header name, stored lower-case (`"X-Forwarded-For"` → `x-forwarded-for`).
pub(crate) fn de_header_name<'de, D: Deserializer<'de>>(d: D) -> Result<HeaderName, D::Error> {
    text(d, "an HTTP header name", parse_header_name)
}

struct HeaderEntry(HeaderName);

impl<'de> Deserialize<'de> for HeaderEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_header_name(d).map(HeaderEntry)
    }
}

/// A list of HTTP header names, each stored lower-case.
pub(crate) fn de_header_names<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<HeaderName>, D::Error> {
    let entries = Vec::<HeaderEntry>::deserialize(d)?;
    Ok(entries.into_iter().map(|HeaderEntry(name)| name).collect())
}

/// Whether a configured file can be opened at start, said once in plain words (the OS text of
/// an I/O error names neither the file nor the key).
pub(crate) fn file_problem(path: &Path) -> Option<String> {
    let shown = path.display();
    match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(meta) if meta.is_file() => None,
        Ok(_) => Some(format!("{shown} is not a file")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("{shown}: no such file"))
        }
        Err(e) => Some(format!("cannot open {shown}: {}", e.kind())),
    }
}

/// The explanation in a message serde built from a primitive's name (`expected u8`), which an
/// operator should not need to know.
pub(crate) fn plain_words(message: &str) -> String {
    const NAMES: &[(&str, &str)] = &[
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected usize", "expected a whole number, 0 or more"),
        ("expected a boolean", "expected true or false"),
    ];
    NAMES
        .iter()
        .find_map(|(from, to)| message.strip_suffix(from).map(|head| format!("{head}{to}")))
        .unwrap_or_else(|| message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_suggests_a_loopback_address() {
        assert_eq!(
            parse_socket_addr("8080").unwrap_err(),
            "expected a socket address (IP address and port) like \"127.0.0.1:8080\""
        );
        assert!(parse_socket_addr("0.0.0.0")
            .unwrap_err()
            .contains("\"0.0.0.0:8080\""));
    }

    #[test]
    fn a_url_without_scheme_suggests_the_http_form() {
        let msg = parse_http_url("127.0.0.1:8000").unwrap_err();
        assert!(msg.contains("\"http://127.0.0.1:8000/\""), "{msg}");
        let msg = parse_http_url("localhost:8000").unwrap_err();
        assert!(msg.contains("\"http://localhost:8000/\""), "{msg}");
        assert!(parse_http_url("ftp://example.org").is_err());
    }

    #[test]
    fn bare_addresses_are_single_address_ranges() {
        assert_eq!(
            parse_ip_net("192.0.2.10").unwrap(),
            "192.0.2.10/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_ip_net("2001:db8::1").unwrap(),
            "2001:db8::1/128".parse::<IpNet>().unwrap()
        );
    }
}
