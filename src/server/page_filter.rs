//! The page filter: glue between the proxy and the rewriter. For each response it decides, as
//! a browser would, whether it is a page rendered as HTML (the last Content-Type, a sniffed
//! body, the charset or BOM), refuses the ones it cannot make safe (an unknown or corrupt
//! coding, a partial page), picks the codings (the visitor's through actix's typed
//! Accept-Encoding; a page the upstream sent uncompressed is compressed for a visitor who
//! accepts br or gzip) and starts a streaming rewrite, through the memo when it is on (which
//! keeps each coding's finished bytes, so a page served again is not compressed again). Kept here
//! so the proxy knows nothing of lol_html and the rewriter nothing of HTTP.

use std::sync::Arc;

use actix_web::http::header::{self, ContentEncoding, HeaderMap, HeaderValue};
use bytes::Bytes;

use super::discovery::Discovery;
use crate::http::negotiate::preferred_encoding;
use crate::metrics::{Metrics, RewriteMeter};
use crate::proxy::{BodyFilter, FilterError, HtmlFilter, HtmlResponseInfo, StartedFilter, Verdict};
use crate::rewrite::{
    codings_from_headers, page_encoding, rendering, sniffs_as_html, BodyRewriter, BodySpec, Coding,
    FoundSink, MemoBodyRewriter, Rendering, RewriteMemo, Rewriter, SNIFF_LEN,
};

/// Codings the gate re-encodes a compressed page in, in its order of preference when the
/// visitor accepts several equally: gzip at level 1 costs the least CPU per byte, and the page
/// was decoded already.
const PAGE_CODINGS: [ContentEncoding; 3] = [
    ContentEncoding::Gzip,
    ContentEncoding::Brotli,
    ContentEncoding::Deflate,
];

/// Codings the gate compresses an uncompressed page in, in order of preference: brotli (fast
/// quality) is ~20 % smaller than gzip on HTML, and the memo keeps the compressed page, so a
/// page served again costs no compression at all.
const FRESH_CODINGS: [ContentEncoding; 2] = [ContentEncoding::Brotli, ContentEncoding::Gzip];

/// Most raw body bytes read before deciding; a body whose first decoded bytes do not show up
/// within it is decided on what it has (a compressed body this poor is refused if HTML).
const PREFIX_MAX: usize = 64 * 1024;

/// The gate's HTML filter: every HTML page gets the same rewrite, whoever asks.
pub struct PageRewrite {
    pub rewriter: Rewriter,
    /// Finished rewrites of small pages, reused when the same bytes come again; `None` = off.
    pub memo: Option<Arc<RewriteMemo>>,
    /// Where each page's rewrite time and size are recorded, if anywhere.
    pub metrics: Option<Arc<Metrics>>,
    /// Told the third-party origins and the catalogue vendors of each page rewritten (not
    /// answered by the memo).
    pub discovery: Option<Discovery>,
    /// The first decoded bytes of compressed pages seen before.
    pub first_bytes: FirstBytesMemo,
}

fn header_values<'h>(
    headers: &'h HeaderMap,
    name: header::HeaderName,
) -> impl Iterator<Item = &'h str> + 'h {
    headers.get_all(name).filter_map(|v| v.to_str().ok())
}

impl HtmlFilter for PageRewrite {
    fn start(&self, info: &HtmlResponseInfo<'_>, prefix: &[Bytes], complete: bool) -> Verdict {
        let req = info.request;
        let headers = info.headers;
        let nosniff = header_values(headers, header::X_CONTENT_TYPE_OPTIONS)
            .any(|v| v.trim().eq_ignore_ascii_case("nosniff"));
        let html = match rendering(
            req.method().as_str(),
            info.status,
            header_values(headers, header::CONTENT_TYPE),
            nosniff,
        ) {
            Rendering::Other => return Verdict::Pass,
            Rendering::Html(html) => Some(html),
            Rendering::Sniffed => None,
        };
        // Fail closed from here: a body that may be a page and cannot be read is refused.
        let codings = match codings_from_headers(header_values(headers, header::CONTENT_ENCODING)) {
            Ok(codings) => codings,
            Err(why) => return Verdict::Refuse(why),
        };
        // A BOM needs 3 decoded bytes, sniffing the standard's resource header.
        let need = if html.is_some() { 3 } else { SNIFF_LEN };
        let cap = self.rewriter.max_decoded_body();
        let plain = match first_bytes(&codings, prefix, need, cap, &self.first_bytes) {
            Ok(plain) => plain,
            Err(e) => return Verdict::Refuse(format!("the body cannot be decoded: {e}")),
        };
        let raw: usize = prefix.iter().map(Bytes::len).sum();
        if plain.len() < need && !complete && raw < PREFIX_MAX {
            return Verdict::NeedMore;
        }
        if html.is_none() && !sniffs_as_html(&plain) {
            return Verdict::Pass;
        }
        if info.status == 206 {
            return Verdict::Refuse("a part (206) of an HTML page cannot be rewritten".into());
        }
        let sniffed = html.is_none();
        let (charset, xhtml) = html.map_or((None, false), |h| (h.charset, h.xhtml));
        let encoding = page_encoding(charset.as_deref(), &plain);
        // A page sent as it was read keeps its Content-Type; one the browser would read
        // otherwise gets the one the gate read it as.
        let several = headers.get_all(header::CONTENT_TYPE).count() > 1;
        let content_type = (sniffed || encoding.transcode || several).then(|| {
            let essence = if xhtml {
                "application/xhtml+xml"
            } else {
                "text/html"
            };
            let charset = if encoding.transcode {
                Some("utf-8")
            } else {
                charset.as_deref()
            };
            let value = match charset {
                Some(c)
                    if c.bytes()
                        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b';') =>
                {
                    format!("{essence}; charset={c}")
                }
                _ => essence.to_owned(),
            };
            HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("text/html"))
        });
        // Every page goes to the visitor in a coding they accept: an uncompressed one is
        // compressed here (brotli first), a compressed one re-encoded (gzip first, cheapest).
        let offered: &[ContentEncoding] = if codings.is_empty() {
            &FRESH_CODINGS
        } else {
            &PAGE_CODINGS
        };
        let client = match preferred_encoding(req, offered) {
            ContentEncoding::Gzip => Coding::Gzip,
            ContentEncoding::Brotli => Coding::Brotli,
            ContentEncoding::Deflate => Coding::Deflate,
            _ => Coding::Identity,
        };
        let spec = BodySpec {
            upstream: codings,
            client,
            charset,
            xhtml,
        };
        let path = self.rewriter.depends_on_path().then(|| req.path());
        let etag = headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .filter(|e| !e.trim_start().starts_with("W/"));
        let origins = self.discovery.clone().map(|discovery| {
            let host = header_values(req.headers(), header::HOST)
                .next()
                .unwrap_or_default()
                .to_owned();
            let page = req.path().to_owned();
            Box::new(move |found| discovery.page_found(&host, &page, found)) as FoundSink
        });
        let body = match &self.memo {
            Some(memo) => {
                let mut rewriter = MemoBodyRewriter::new(&self.rewriter, memo.clone(), spec, etag);
                if let Some(sink) = origins {
                    rewriter = rewriter.reporting_found(sink);
                }
                let rewriter = match path {
                    Some(path) => rewriter.at_path(path),
                    None => rewriter,
                };
                RewriteBody::Memo(Box::new(rewriter))
            }
            None => {
                let mut rewriter = BodyRewriter::with_spec(&self.rewriter, &spec);
                if let Some(sink) = origins {
                    rewriter = rewriter.reporting_found(sink);
                }
                RewriteBody::Stream(Box::new(match path {
                    Some(path) => rewriter.at_path(path),
                    None => rewriter,
                }))
            }
        };
        let body: Box<dyn BodyFilter> = match &self.metrics {
            Some(m) => Box::new(Metered {
                inner: Some(body),
                meter: m.rewrite_meter(),
            }),
            None => Box::new(Some(body)),
        };
        Verdict::Filter(StartedFilter {
            body,
            content_encoding: client.header_value(),
            content_type,
            headers: Vec::new(),
        })
    }
}

/// Raw bytes decoded at a time while looking for a body's first bytes.
const PIECE: usize = 256;

/// The first `need` decoded bytes of a body from its first chunks (fewer if they hold no
/// more; at most [`SNIFF_LEN`] are looked at). Decoded in small pieces so a compressed body is
/// not inflated further than needed, and not at all when its first piece was seen before.
fn first_bytes(
    codings: &[Coding],
    prefix: &[Bytes],
    need: usize,
    cap: usize,
    memo: &FirstBytesMemo,
) -> Result<Vec<u8>, std::io::Error> {
    let mut plain = Vec::new();
    if codings.is_empty() {
        for chunk in prefix {
            let take = (need - plain.len()).min(chunk.len());
            plain.extend_from_slice(&chunk[..take]);
            if plain.len() >= need {
                break;
            }
        }
        return Ok(plain);
    }
    let mut pieces = prefix.iter().flat_map(|chunk| chunk.chunks(PIECE));
    let first = pieces.next();
    if let Some(known) = first.and_then(|first| memo.get(codings, first)) {
        if known.plain.len() >= need {
            return Ok(known.plain.to_vec());
        }
    }
    // Started only past the memo: a decoder costs its state, and dropping it decodes.
    let mut chain = crate::rewrite::DecodeChain::new(codings, cap);
    if let Some(first) = first {
        chain.push(first, &mut plain)?;
        memo.put(codings, first, &plain[..plain.len().min(SNIFF_LEN)]);
    }
    for piece in pieces {
        if plain.len() >= need {
            break;
        }
        chain.push(piece, &mut plain)?;
    }
    Ok(plain)
}

/// The first decoded bytes of compressed bodies, by their first raw piece. Decoding is a
/// function of its input, so the same first piece decodes to the same first bytes; a page the
/// rewrite memo then answers costs no decoder at all (starting one to read a gzipped page's
/// BOM was ~5 % of the gate's CPU per page). Bounded by entries, each at most [`PIECE`] +
/// [`SNIFF_LEN`] bytes; the piece and codings are compared, so a hash collision is a miss.
pub struct FirstBytesMemo {
    cache: quick_cache::sync::Cache<u64, Arc<FirstBytes>>,
    seed: u64,
}

struct FirstBytes {
    codings: Vec<Coding>,
    piece: Box<[u8]>,
    plain: Box<[u8]>,
}

impl FirstBytesMemo {
    /// Entries kept: a site has few distinct page openings per coding.
    const ENTRIES: usize = 256;

    pub fn new() -> Self {
        Self {
            cache: quick_cache::sync::Cache::new(Self::ENTRIES),
            seed: rand::random(),
        }
    }

    fn key(&self, codings: &[Coding], piece: &[u8]) -> u64 {
        let mut hasher = xxhash_rust::xxh3::Xxh3::with_seed(self.seed);
        for coding in codings {
            hasher.update(coding.header_value().unwrap_or("identity").as_bytes());
            hasher.update(b",");
        }
        hasher.update(piece);
        hasher.digest()
    }

    fn get(&self, codings: &[Coding], piece: &[u8]) -> Option<Arc<FirstBytes>> {
        self.cache
            .get(&self.key(codings, piece))
            .filter(|known| known.codings == codings && &known.piece[..] == piece)
    }

    fn put(&self, codings: &[Coding], piece: &[u8], plain: &[u8]) {
        let known = FirstBytes {
            codings: codings.to_vec(),
            piece: piece.into(),
            plain: plain.into(),
        };
        self.cache.insert(self.key(codings, piece), Arc::new(known));
    }
}

impl Default for FirstBytesMemo {
    fn default() -> Self {
        Self::new()
    }
}

// Both boxed: the rewriters are large, and one box per page costs nothing beside its rewrite.
enum RewriteBody {
    Stream(Box<BodyRewriter>),
    Memo(Box<MemoBodyRewriter>),
}

impl BodyFilter for Option<RewriteBody> {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, FilterError> {
        Ok(match self {
            Some(RewriteBody::Stream(r)) => r.push(&chunk)?,
            Some(RewriteBody::Memo(r)) => r.push(chunk)?,
            None => Bytes::new(),
        })
    }

    fn holds_back(&self) -> usize {
        match self {
            Some(RewriteBody::Memo(_)) => crate::rewrite::MEMO_MAX_BODY,
            _ => 0,
        }
    }

    fn finish(&mut self) -> Result<Bytes, FilterError> {
        Ok(match self.take() {
            Some(RewriteBody::Stream(r)) => (*r).finish()?,
            Some(RewriteBody::Memo(r)) => (*r).finish()?,
            None => Bytes::new(),
        })
    }
}

/// A page filter whose work is timed for `/metrics` (reported when the page is done).
struct Metered<F> {
    inner: F,
    meter: RewriteMeter,
}

impl<F: BodyFilter> BodyFilter for Metered<F> {
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, FilterError> {
        let inner = &mut self.inner;
        self.meter.measure(chunk.len(), || inner.push(chunk))
    }

    fn holds_back(&self) -> usize {
        self.inner.holds_back()
    }

    fn finish(&mut self) -> Result<Bytes, FilterError> {
        let inner = &mut self.inner;
        self.meter.measure(0, || inner.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(body: &[u8]) -> Bytes {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(body).unwrap();
        e.finish().unwrap().into()
    }

    #[test]
    fn a_compressed_pages_first_bytes_are_decoded_once_and_the_same_again() {
        let memo = FirstBytesMemo::new();
        let text: String = (0..2000u32)
            .map(|i| format!("<p>{} {}</p>", i, i.wrapping_mul(2_654_435_761)))
            .collect();
        let page = gzip(format!("\u{feff}<!doctype html>{text}").as_bytes());
        assert!(page.len() > PIECE);
        let first = first_bytes(
            &[Coding::Gzip],
            std::slice::from_ref(&page),
            3,
            1 << 20,
            &memo,
        )
        .unwrap();
        assert!(first.starts_with("\u{feff}".as_bytes()));
        // The same opening in a page split differently: answered from the memo, same bytes.
        let (a, b) = (page.slice(..PIECE), page.slice(PIECE..));
        let again = first_bytes(&[Coding::Gzip], &[a, b], 3, 1 << 20, &memo).unwrap();
        assert_eq!(memo.cache.hits(), 1);
        assert_eq!(again[..3], first[..3]);
        // Sniffing needs more than the first piece gave: decoded further, as before.
        let sniff = first_bytes(&[Coding::Gzip], &[page], SNIFF_LEN, 1 << 20, &memo).unwrap();
        assert!(sniff.len() >= SNIFF_LEN && sniff.starts_with(&first));
    }

    #[test]
    fn another_coding_or_opening_is_decoded_afresh() {
        let memo = FirstBytesMemo::new();
        let page = gzip(b"<!doctype html><p>Welkom</p>");
        first_bytes(
            &[Coding::Gzip],
            std::slice::from_ref(&page),
            3,
            1 << 20,
            &memo,
        )
        .unwrap();
        let other = gzip(b"\xef\xbb\xbf<p>Hallo</p>");
        let plain = first_bytes(&[Coding::Gzip], &[other], 3, 1 << 20, &memo).unwrap();
        assert_eq!(&plain[..3], b"\xef\xbb\xbf");
        // The same bytes said to be a gzip inside a gzip: not the page seen before.
        assert!(first_bytes(&[Coding::Gzip, Coding::Gzip], &[page], 3, 1 << 20, &memo).is_err());
        assert_eq!(memo.cache.hits(), 0);
    }

    #[test]
    fn a_corrupt_body_is_refused_every_time() {
        let memo = FirstBytesMemo::new();
        let corrupt = Bytes::from_static(b"\x1f\x8b\x08\x00garbage that is not deflate at all");
        for _ in 0..2 {
            assert!(first_bytes(
                &[Coding::Gzip],
                std::slice::from_ref(&corrupt),
                3,
                1 << 20,
                &memo
            )
            .is_err());
        }
    }
}
