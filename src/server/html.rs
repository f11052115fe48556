//! Glue between the proxy and the rewriter: for each HTML response, pick the codings and start a
//! streaming [`BodyRewriter`]. Kept here so the proxy knows nothing of lol_html and the rewriter
//! nothing of HTTP.

use bytes::Bytes;

use crate::proxy::{BodyFilter, HtmlFilter, HtmlResponseInfo, StartedFilter};
use crate::rewrite::{coding_from_header, negotiate, BodyRewriter, Rewriter};

/// The gate's HTML filter: every HTML page gets the same rewrite, whoever asks.
pub struct PageRewrite {
    pub rewriter: Rewriter,
}

impl HtmlFilter for PageRewrite {
    fn start(&self, info: &HtmlResponseInfo<'_>) -> Option<StartedFilter> {
        let Some(upstream) = coding_from_header(info.content_encoding) else {
            // The upstream is only asked for decodable codings, so this is a misbehaving
            // upstream; the page cannot be inspected and is passed on as it is.
            tracing::warn!(
                content_encoding = info.content_encoding.unwrap_or(""),
                "HTML in an unsupported Content-Encoding passed through without rewriting"
            );
            return None;
        };
        let client = negotiate(info.accept_encoding);
        let charset = charset_param(info.content_type);
        let body = BodyRewriter::new(&self.rewriter, upstream, client, charset);
        Some(StartedFilter {
            body: Box::new(RewriteBody(Some(body))),
            content_encoding: client.header_value(),
        })
    }
}

struct RewriteBody(Option<BodyRewriter>);

impl BodyFilter for RewriteBody {
    fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.0.as_mut().map(|r| r.push(chunk)).unwrap_or_default()
    }

    fn finish(&mut self) -> Bytes {
        self.0.take().map(BodyRewriter::finish).unwrap_or_default()
    }
}

/// The `charset` parameter of a Content-Type value, unquoted.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

#[cfg(test)]
mod tests {
    use super::charset_param;

    #[test]
    fn charset_is_read_from_content_type() {
        assert_eq!(
            charset_param("text/html; charset=ISO-8859-1"),
            Some("ISO-8859-1")
        );
        assert_eq!(charset_param("text/html;Charset=\"utf-8\""), Some("utf-8"));
        assert_eq!(charset_param("text/html"), None);
    }
}
