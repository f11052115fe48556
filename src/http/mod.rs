//! The HTTP edge every area uses: one error vocabulary ([`error`]: a table of stable codes,
//! one JSON body, one nl/en HTML page), what handlers read from a request ([`extract`]: the
//! same-origin check, bounded bodies, cookies), content negotiation with actix's typed headers
//! ([`negotiate`]) and content-hashed assets ([`assets`]). Ground layer: it knows actix-web and the
//! configuration, nothing of the areas above; they map their typed errors into [`EdgeError`].

pub mod assets;
pub mod error;
pub mod extract;
pub mod negotiate;
pub mod site;

pub use assets::HashedAsset;
pub use error::{error_pages, Code, EdgeError};
pub use extract::SameOrigin;
pub use negotiate::{Format, Lang};
pub use site::{SiteHost, SiteHosts};

/// A header map with the given headers (repeats appended), for unit tests.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&str, &str)]) -> actix_web::http::header::HeaderMap {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid test header name");
        let value = HeaderValue::from_str(value).expect("a valid test header value");
        map.append(name, value);
    }
    map
}

/// A request with the given headers, for the unit tests of this module.
#[cfg(test)]
pub(crate) fn test_request(headers: &[(&str, &str)]) -> actix_web::HttpRequest {
    let mut r = actix_web::test::TestRequest::default();
    for h in headers {
        r = r.insert_header(*h);
    }
    r.to_http_request()
}
