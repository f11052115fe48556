//! Glue between the proxy and the rewriter: for each HTML response, pick the codings and start a
//! streaming [`BodyRewriter`]. Kept here so the proxy knows nothing of lol_html and the rewriter
//! nothing of HTTP.

use bytes::Bytes;

use crate::proxy::{BodyFilter, HtmlFilter, HtmlResponseInfo, StartedFilter};
use std::sync::Arc;

use crate::rewrite::{
    charset_of, coding_from_header, is_rewritable, negotiate, BodyRewriter, Coding,
    MemoBodyRewriter, RewriteMemo, Rewriter,
};

/// The gate's HTML filter: every HTML page gets the same rewrite, whoever asks.
pub struct PageRewrite {
    pub rewriter: Rewriter,
    /// Finished rewrites of small pages, reused when the same bytes come again; `None` = off.
    pub memo: Option<Arc<RewriteMemo>>,
}

impl HtmlFilter for PageRewrite {
    fn start(&self, info: &HtmlResponseInfo<'_>) -> Option<StartedFilter> {
        if !is_rewritable(info.method, info.status, info.content_type) {
            return None;
        }
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
            _ => negotiate(info.accept_encoding),
        };
        let charset = charset_of(info.content_type);
        let body = match &self.memo {
            Some(memo) => RewriteBody::Memo(Box::new(MemoBodyRewriter::new(
                &self.rewriter,
                memo.clone(),
                upstream,
                client,
                charset,
                info.etag.filter(|e| !e.trim_start().starts_with("W/")),
            ))),
            None => {
                RewriteBody::Stream(BodyRewriter::new(&self.rewriter, upstream, client, charset))
            }
        };
        Some(StartedFilter {
            body: Box::new(Some(body)),
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
