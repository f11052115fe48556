//! What handlers read from a request, done once for every area: the same-origin check
//! ([`SameOrigin`]), bodies read within a limit ([`read_bounded`], [`json_body`]), cookies (the
//! `cookie` crate) and the Content-Type. The Host is read through [`super::site`] only.

use std::future::{ready, Ready};
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use bytes::{Bytes, BytesMut};
use cookie::Cookie;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use super::error::{Code, EdgeError};

/// Extractor that refuses (`cross_origin`, 403) a request another site made: browsers send
/// `Sec-Fetch-Site` on fetch; older ones at least send `Origin`, which must match `Host`.
#[derive(Debug, Clone, Copy)]
pub struct SameOrigin;

impl FromRequest for SameOrigin {
    type Error = EdgeError;
    type Future = Ready<Result<Self, EdgeError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(if is_same_origin(req) {
            Ok(SameOrigin)
        } else {
            Err(EdgeError::new(Code::CrossOrigin))
        })
    }
}

fn is_same_origin(req: &HttpRequest) -> bool {
    let h = req.headers();
    if let Some(site) = h.get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    let origin = h
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .and_then(|o| url::Url::parse(o).ok());
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    let (Some(origin), Some(host)) = (origin, host) else {
        return false;
    };
    match (origin.host_str(), origin.port()) {
        (Some(name), Some(port)) => format!("{name}:{port}").eq_ignore_ascii_case(host),
        (Some(name), None) => name.eq_ignore_ascii_case(host),
        _ => false,
    }
}

/// How fast a body the gate reads itself (consent, forms) must arrive: a body trickled in a
/// byte at a time would otherwise hold a connection open for as long as the sender likes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPace {
    /// The whole body must have arrived within this time (`limits.body_timeout`).
    pub timeout: Duration,
    /// After [`BodyPace::GRACE`], at least this many bytes per second on average
    /// (`limits.body_min_rate`); 0 = no minimum.
    pub min_rate: usize,
}

impl BodyPace {
    /// How long a body may take before the minimum rate counts (connection set-up, a slow
    /// first packet on a mobile network).
    pub const GRACE: Duration = Duration::from_secs(2);

    /// Time allowed from the start until more than `received` bytes must have arrived.
    fn allowed(&self, received: usize) -> Duration {
        if self.min_rate == 0 {
            return self.timeout;
        }
        let at_rate = Duration::from_secs_f64(received as f64 / self.min_rate as f64);
        self.timeout.min(Self::GRACE + at_rate)
    }
}

/// Read a request body of at most `limit` bytes, arriving at `pace`: refused
/// (`body_too_large`) as soon as the announced or received length passes the limit,
/// `request_timeout` (408, connection closed) when it comes too slowly, `malformed_body` when
/// it breaks off.
pub async fn read_bounded(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    pace: BodyPace,
) -> Result<Bytes, EdgeError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(EdgeError::too_large(limit));
    }
    match read_prefix(payload, limit, pace).await? {
        Peeked::Whole(body) => Ok(body),
        Peeked::Partial(..) => Err(EdgeError::too_large(limit)),
    }
}

/// A body read up to a limit: all of it, or the part read so far (at least the limit, at most
/// one chunk more) and the rest still to come.
pub enum Peeked {
    Whole(Bytes),
    Partial(Bytes, web::Payload),
}

/// Read a request body up to `limit` bytes at `pace`; what lies beyond stays unread in the
/// payload (so it can be passed on as it arrives). Errors as [`read_bounded`].
pub async fn read_prefix(
    mut payload: web::Payload,
    limit: usize,
    pace: BodyPace,
) -> Result<Peeked, EdgeError> {
    let start = tokio::time::Instant::now();
    let mut body = BytesMut::new();
    // Each round adds at least one byte or ends, and stops once past `limit`.
    loop {
        let deadline = start + pace.allowed(body.len());
        let Ok(next) = tokio::time::timeout_at(deadline, payload.next()).await else {
            return Err(EdgeError::new(Code::RequestTimeout).detail(format!(
                "{} bytes in {:?}",
                body.len(),
                start.elapsed()
            )));
        };
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| EdgeError::new(Code::MalformedBody).detail(e.to_string()))?;
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Ok(Peeked::Partial(body.freeze(), payload));
        }
    }
    Ok(Peeked::Whole(body.freeze()))
}

/// The request's Content-Type, if it is readable text.
pub fn content_type(req: &HttpRequest) -> Option<&str> {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// A JSON body: `None` when empty, `unsupported_media_type` when not sent as
/// `application/json`, `malformed_body` when it does not parse into `T`.
pub fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<Option<T>, EdgeError> {
    if body.is_empty() {
        return Ok(None);
    }
    let json = content_type(req)
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| m.essence_str() == "application/json");
    if !json {
        return Err(EdgeError::new(Code::UnsupportedMediaType).detail("expected application/json"));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|e| EdgeError::new(Code::MalformedBody).detail(e.to_string()))
}

/// The cookies of a request, from every Cookie header, borrowed from the headers (pairs the
/// `cookie` crate cannot read are skipped).
pub fn request_cookies(req: &HttpRequest) -> impl Iterator<Item = Cookie<'_>> {
    cookies_in(req.headers().get_all(header::COOKIE))
}

/// The cookies in a set of Cookie header values.
pub fn cookies_in<'a>(
    values: impl Iterator<Item = &'a header::HeaderValue>,
) -> impl Iterator<Item = Cookie<'a>> {
    values
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
}

/// The value of the first request cookie called `name`.
pub fn request_cookie<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request_cookies(req)
        .find(|c| c.name() == name)
        .and_then(|c| c.value_raw())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_request as req;

    #[test]
    fn same_origin_needs_fetch_metadata_or_a_matching_origin() {
        assert!(is_same_origin(&req(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_origin(&req(&[("sec-fetch-site", "cross-site")])));
        assert!(is_same_origin(&req(&[
            ("origin", "http://gate.example:8080"),
            ("host", "gate.example:8080")
        ])));
        assert!(!is_same_origin(&req(&[
            ("origin", "https://evil.example"),
            ("host", "gate.example")
        ])));
        assert!(!is_same_origin(&req(&[])));
    }

    #[test]
    fn a_body_must_keep_up_the_minimum_rate_after_the_grace_time() {
        let pace = BodyPace {
            timeout: Duration::from_secs(20),
            min_rate: 1000,
        };
        assert_eq!(pace.allowed(0), BodyPace::GRACE);
        assert_eq!(pace.allowed(3000), BodyPace::GRACE + Duration::from_secs(3));
        assert_eq!(pace.allowed(1_000_000), Duration::from_secs(20));
        let no_rate = BodyPace {
            min_rate: 0,
            ..pace
        };
        assert_eq!(no_rate.allowed(0), Duration::from_secs(20));
    }

    #[test]
    fn cookies_are_read_from_every_header() {
        let r = req(&[("cookie", "a=1; b=\"two\"")]);
        let names: Vec<String> = request_cookies(&r).map(|c| c.name().to_owned()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(request_cookie(&r, "b"), Some("\"two\""));
        assert_eq!(request_cookie(&r, "c"), None);
    }
}
