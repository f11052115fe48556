//! Ranges of pages: a part of an HTML page cannot be rewritten (its trackers may sit in parts
//! the gate never sees), so a page request goes upstream without `Range`/`If-Range`. Media and
//! downloads (`Accept` preferring something else) keep their ranges.

use actix_web::http::header::{self, Accept, Header, HeaderMap};
use actix_web::HttpRequest;

/// Whether a request may be for a page: no `Accept`, an unreadable one, or one whose most
/// preferred type is HTML (a browser navigating: `text/html,application/xhtml+xml,…`).
pub(super) fn prefers_html(req: &HttpRequest) -> bool {
    if !req.headers().contains_key(header::ACCEPT) {
        return true;
    }
    match Accept::parse(req) {
        Ok(accept) => {
            let preferred = accept.preference();
            matches!(
                preferred.essence_str(),
                "text/html" | "application/xhtml+xml"
            )
        }
        Err(_) => true,
    }
}

/// Remove the range request headers.
pub(super) fn strip_range(headers: &mut HeaderMap) {
    headers.remove(header::RANGE);
    headers.remove(header::IF_RANGE);
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn prefers(accept: Option<&str>) -> bool {
        let mut req = TestRequest::get();
        if let Some(a) = accept {
            req = req.insert_header((header::ACCEPT, a));
        }
        prefers_html(&req.to_http_request())
    }

    #[test]
    fn page_requests_are_told_from_media_and_downloads() {
        assert!(prefers(None));
        assert!(prefers(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(prefers(Some("application/xhtml+xml")));
        assert!(!prefers(Some("*/*")));
        assert!(!prefers(Some(
            "video/webm,video/ogg,video/*;q=0.9,*/*;q=0.5"
        )));
        assert!(!prefers(Some("image/avif,image/webp,*/*;q=0.8")));
    }
}
