//! The page filter: glue between the proxy and the rewriter. For each HTML response it picks
//! the codings (the visitor's through actix's typed Accept-Encoding) and starts a streaming
//! rewrite, through the memo when it is on. Kept here so the proxy knows nothing of lol_html
//! and the rewriter nothing of HTTP.

use std::sync::Arc;

use actix_web::http::header::ContentEncoding;
use bytes::Bytes;

use crate::http::negotiate::preferred_encoding;
use crate::metrics::{Metrics, RewriteMeter};
use crate::proxy::{BodyFilter, HtmlFilter, HtmlResponseInfo, StartedFilter};
use crate::rewrite::{
    coding_from_header, html_body, BodyRewriter, Coding, MemoBodyRewriter, RewriteMemo, Rewriter,
};

/// Codings the gate compresses pages in, in its order of preference when the visitor accepts
/// several equally: gzip at level 1 costs the least CPU per byte.
const PAGE_CODINGS: [ContentEncoding; 3] = [
    ContentEncoding::Gzip,
    ContentEncoding::Brotli,
    ContentEncoding::Deflate,
];

/// The gate's HTML filter: every HTML page gets the same rewrite, whoever asks.
pub struct PageRewrite {
    pub rewriter: Rewriter,
    /// Finished rewrites of small pages, reused when the same bytes come again; `None` = off.
    pub memo: Option<Arc<RewriteMemo>>,
    /// Where each page's rewrite time and size are recorded, if anywhere.
    pub metrics: Option<Arc<Metrics>>,
}

impl HtmlFilter for PageRewrite {
    fn start(&self, info: &HtmlResponseInfo<'_>) -> Option<StartedFilter> {
        let req = info.request;
        let html = html_body(req.method().as_str(), info.status, info.content_type)?;
        let Some(upstream) = coding_from_header(info.content_encoding) else {
            // The upstream is only asked for decodable codings, so this is a misbehaving
            // upstream; the page cannot be inspected and is passed on as it is.
            tracing::warn!(
                content_encoding = info.content_encoding.unwrap_or(""),
                "HTML in an unsupported Content-Encoding passed through without rewriting"
            );
            return None;
        };
        // Compression stays the upstream's choice: a page it sent uncompressed (often because a
        // TLS terminator in front compresses) is not compressed here, which would cost more CPU
        // than the rewrite itself; a compressed page is re-encoded in what the visitor accepts.
        let client = match upstream {
            Coding::Identity => Coding::Identity,
            _ => match preferred_encoding(req, &PAGE_CODINGS) {
                ContentEncoding::Gzip => Coding::Gzip,
                ContentEncoding::Brotli => Coding::Brotli,
                ContentEncoding::Deflate => Coding::Deflate,
                _ => Coding::Identity,
            },
        };
        let charset = html.charset.as_deref();
        let path = self.rewriter.depends_on_path().then(|| req.path());
        let body = match &self.memo {
            Some(memo) => {
                let rewriter = MemoBodyRewriter::new(
                    &self.rewriter,
                    memo.clone(),
                    upstream,
                    client,
                    charset,
                    info.etag.filter(|e| !e.trim_start().starts_with("W/")),
                );
                let rewriter = match path {
                    Some(path) => rewriter.at_path(path),
                    None => rewriter,
                };
                RewriteBody::Memo(Box::new(rewriter))
            }
            None => {
                let rewriter = BodyRewriter::new(&self.rewriter, upstream, client, charset);
                RewriteBody::Stream(match path {
                    Some(path) => rewriter.at_path(path),
                    None => rewriter,
                })
            }
        };
        let body: Box<dyn BodyFilter> = match &self.metrics {
            Some(m) => Box::new(Metered {
                inner: Some(body),
                meter: m.rewrite_meter(),
            }),
            None => Box::new(Some(body)),
        };
        Some(StartedFilter {
            body,
            content_encoding: client.header_value(),
        })
    }
}

enum RewriteBody {
    Stream(BodyRewriter),
    // Boxed: the streaming hash state makes it much larger than the other variant.
    Memo(Box<MemoBodyRewriter>),
}

impl BodyFilter for Option<RewriteBody> {
    fn push(&mut self, chunk: Bytes) -> Bytes {
        match self {
            Some(RewriteBody::Stream(r)) => r.push(&chunk),
            Some(RewriteBody::Memo(r)) => r.push(chunk),
            None => Bytes::new(),
        }
    }

    fn holds_back(&self) -> usize {
        match self {
            Some(RewriteBody::Memo(_)) => crate::rewrite::MEMO_MAX_BODY,
            _ => 0,
        }
    }

    fn finish(&mut self) -> Bytes {
        match self.take() {
            Some(RewriteBody::Stream(r)) => r.finish(),
            Some(RewriteBody::Memo(r)) => (*r).finish(),
            None => Bytes::new(),
        }
    }
}

/// A page filter whose work is timed for `/metrics` (reported when the page is done).
struct Metered<F> {
    inner: F,
    meter: RewriteMeter,
}

impl<F: BodyFilter> BodyFilter for Metered<F> {
    fn push(&mut self, chunk: Bytes) -> Bytes {
        let inner = &mut self.inner;
        self.meter.measure(chunk.len(), || inner.push(chunk))
    }

    fn holds_back(&self) -> usize {
        self.inner.holds_back()
    }

    fn finish(&mut self) -> Bytes {
        let inner = &mut self.inner;
        self.meter.measure(0, || inner.finish())
    }
}
