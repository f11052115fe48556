//! Files the gate serves itself under `/_gate/` (the banner script and stylesheet, forms.js,
//! later the dashboard's CSS), built once at start: the name carries a hash of the content, so
//! a URL never changes meaning and browsers may cache it for good; gzip and brotli forms are
//! compressed once, and each request gets the one its Accept-Encoding prefers.

use std::io::Write;

use actix_web::http::header::{self, ContentEncoding};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::negotiate::preferred_encoding;

/// Brotli settings for assets compressed once at start: smallest output, time is not an issue.
const BROTLI_QUALITY: u32 = 11;
/// Largest window (4 MiB); an asset gets the smallest window that holds it.
const BROTLI_LGWIN: u32 = 22;

/// The brotli window (log2 bytes) for a body of `len` bytes: the smallest that holds it
/// (brotli's minimum is 10). Quality 11 allocates in proportion to the window, and the memory
/// it took for a 4 MiB window stayed in the idle gate's RSS (tens of MiB) long after start.
fn brotli_window(len: usize) -> u32 {
    let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
    bits.clamp(10, BROTLI_LGWIN)
}

/// SHA-256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One content-hashed file with its precompressed forms.
#[derive(Debug, Clone)]
pub struct HashedAsset {
    /// File name below `/_gate/`: `<stem>.<first 16 hex digits of its SHA-256>.<ext>`.
    pub name: String,
    /// `Content-Type` it is served with.
    pub content_type: &'static str,
    pub body: Bytes,
    pub gzip: Bytes,
    pub br: Bytes,
}

impl HashedAsset {
    /// Hash and compress `body`; e.g. `new("banner", "js", "text/javascript; charset=utf-8", …)`.
    pub fn new(stem: &str, ext: &str, content_type: &'static str, body: Vec<u8>) -> Self {
        let hash = sha256_hex(&body);
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::best());
        let mut br = brotli::CompressorWriter::new(
            Vec::new(),
            4096,
            BROTLI_QUALITY,
            brotli_window(body.len()),
        );
        // Writing to a Vec cannot fail; an empty compressed form would only mean identity.
        let gzip = gz
            .write_all(&body)
            .and_then(|()| gz.finish())
            .unwrap_or_default();
        let _ = br.write_all(&body);
        let br = br.into_inner();
        Self {
            name: format!("{stem}.{}.{ext}", &hash[..16]),
            content_type,
            body: Bytes::from(body),
            gzip: Bytes::from(gzip),
            br: Bytes::from(br),
        }
    }

    /// The path it is served at: `/_gate/<name>`.
    pub fn url(&self) -> String {
        format!("/_gate/{}", self.name)
    }

    /// The asset for this request: brotli or gzip when accepted (brotli first: it is smaller
    /// and costs nothing extra here), cached immutably, never sniffed as another type.
    pub fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let coding = preferred_encoding(req, &[ContentEncoding::Brotli, ContentEncoding::Gzip]);
        let mut res = HttpResponse::Ok();
        res.insert_header((header::CONTENT_TYPE, self.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .insert_header((header::VARY, "Accept-Encoding"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
        // Bytes clones share the buffer: no copy per request.
        let body = match coding {
            ContentEncoding::Brotli if !self.br.is_empty() => self.br.clone(),
            ContentEncoding::Gzip if !self.gzip.is_empty() => self.gzip.clone(),
            _ => return res.body(self.body.clone()),
        };
        res.insert_header((header::CONTENT_ENCODING, coding.as_str()))
            .body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use std::io::Read;

    #[test]
    fn the_brotli_window_is_the_smallest_that_holds_the_asset() {
        assert_eq!(brotli_window(0), 10);
        assert_eq!(brotli_window(1024), 10);
        assert_eq!(brotli_window(1025), 11);
        assert_eq!(brotli_window(20_000), 15);
        assert_eq!(brotli_window(usize::MAX), BROTLI_LGWIN);
        // A large asset still round-trips with the capped window.
        let big: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let a = HashedAsset::new("big", "js", "text/javascript", big.clone());
        let mut out = Vec::new();
        brotli::Decompressor::new(&a.br[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, big);
    }

    fn asset() -> HashedAsset {
        HashedAsset::new(
            "banner",
            "js",
            "text/javascript; charset=utf-8",
            b"console.log('hello, hello, hello');".repeat(50),
        )
    }

    async fn fetch(accept_encoding: &str) -> (Option<String>, Bytes) {
        let req = TestRequest::default()
            .insert_header(("accept-encoding", accept_encoding))
            .to_http_request();
        let res = asset().respond(&req);
        let h = res.headers();
        assert!(h
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("immutable")));
        assert_eq!(h.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        let coding = res
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap().to_owned());
        (
            coding,
            actix_web::body::to_bytes(res.into_body()).await.unwrap(),
        )
    }

    #[test]
    fn name_is_stem_hash_and_extension() {
        let a = asset();
        assert!(a.name.starts_with("banner.") && a.name.ends_with(".js"));
        assert_eq!(a.name.len(), "banner.".len() + 16 + ".js".len());
        assert_eq!(a.url(), format!("/_gate/{}", a.name));
    }

    #[actix_web::test]
    async fn each_request_gets_the_coding_it_accepts() {
        let plain = asset().body;
        let (coding, body) = fetch("gzip, deflate, br").await;
        assert_eq!(coding.as_deref(), Some("br"));
        let mut out = Vec::new();
        brotli::Decompressor::new(&body[..], 4096)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        let (coding, body) = fetch("gzip").await;
        assert_eq!(coding.as_deref(), Some("gzip"));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, plain);
        // The old banner route sent gzip to a client that had refused it with q=0.
        let (coding, body) = fetch("gzip;q=0, identity").await;
        assert_eq!(coding, None);
        assert_eq!(body, plain);
    }
}
