//! A memo of finished rewrites. The rewrite is a pure function of the page bytes, the codings and
//! the configuration, and a CMS serves the same bytes to every anonymous visitor, so a page seen
//! before need not be parsed again. Small bodies (up to [`MEMO_MAX_BODY`]) are collected, looked
//! up by a seeded hash and confirmed byte for byte against the stored input before the stored
//! output is used — a hash collision can cost a miss, never a wrong page. Larger bodies, and all
//! bodies when the memo is off, stream through the rewriter as before. When the upstream sends a
//! strong ETag the lookup uses it instead of hashing the body; the byte-for-byte comparison
//! still decides. When contact forms are configured the rewrite also depends on the page's
//! path (see [`Rewriter::depends_on_path`]), which then is part of the key and compared too.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use quick_cache::sync::Cache;
use quick_cache::Weighter;
use xxhash_rust::xxh3::Xxh3;

use super::html::Head;
use super::{BodyRewriter, BodySpec, Coding, FoundSink, RewriteError, Rewriter};

/// Largest body the memo collects before deciding; anything longer streams.
pub const MEMO_MAX_BODY: usize = 1024 * 1024;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    hash: u64,
    by_etag: bool,
    upstream: Vec<Coding>,
    client: Coding,
    charset: Option<String>,
    xhtml: bool,
    /// Hash of the page path when the rewrite depends on it, else 0.
    path: u64,
    /// The generation of the site's vendor set the banner tag names: a page stored before
    /// the set grew is not served again (each growth misses every page once).
    site: u64,
}

#[derive(Clone)]
struct Done {
    input: Bytes,
    output: Bytes,
    path: Option<Box<str>>,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Key, Done> for ByBytes {
    fn weight(&self, _: &Key, done: &Done) -> u64 {
        (done.input.len() + done.output.len() + 64) as u64
    }
}

/// Shared by all workers; bounded by bytes held.
pub struct RewriteMemo {
    cache: Cache<Key, Done, ByBytes>,
    seed: u64,
}

impl RewriteMemo {
    /// A memo holding at most `max_bytes` of input plus output.
    pub fn new(max_bytes: usize) -> Self {
        let estimated_items = (max_bytes / (64 * 1024)).max(16);
        Self {
            cache: Cache::with_weighter(estimated_items, max_bytes as u64, ByBytes),
            // A per-process seed, so nobody can aim collisions at the lookup hash.
            seed: rand::random(),
        }
    }

    /// Look-ups so far that found a finished rewrite, and that did not (for `/metrics`).
    pub fn lookups(&self) -> (u64, u64) {
        (self.cache.hits(), self.cache.misses())
    }

    /// Bytes the memo holds now: input plus output of every page it keeps, plus 64 bytes of
    /// bookkeeping each — its share of the process's memory (for `/metrics`); at most the
    /// `max_bytes` it was made with.
    pub fn held_bytes(&self) -> u64 {
        self.cache.weight()
    }
}

/// Rewrites one body, through the memo when the body is small enough.
pub struct MemoBodyRewriter {
    rewriter: Rewriter,
    memo: Arc<RewriteMemo>,
    spec: BodySpec,
    /// Chunks held back while the body may still be memoised (no copies: `Bytes` are shared).
    collected: Vec<Bytes>,
    collected_len: usize,
    hasher: Xxh3,
    /// The upstream's strong ETag: the lookup key, so the body need not be hashed.
    validator: Option<u64>,
    /// The page's path, when the rewrite depends on it.
    path: Option<Box<str>>,
    streaming: Option<BodyRewriter>,
    /// Told what the page holds when it is rewritten (not when the memo answers).
    found_to: Option<FoundSink>,
    /// The head tags, taken once: the key and a fresh rewrite use the same generation.
    head: Arc<Head>,
}

impl MemoBodyRewriter {
    pub fn new(
        rewriter: &Rewriter,
        memo: Arc<RewriteMemo>,
        spec: BodySpec,
        strong_etag: Option<&str>,
    ) -> Self {
        Self {
            // Tagged apart from body hashes so an ETag key and a body key never meet.
            validator: strong_etag.map(|etag| {
                xxhash_rust::xxh3::xxh3_64_with_seed(etag.as_bytes(), memo.seed ^ 0x45_54_41_47)
            }),
            head: rewriter.ctx.head(),
            rewriter: rewriter.clone(),
            spec,
            collected: Vec::new(),
            collected_len: 0,
            hasher: Xxh3::with_seed(memo.seed),
            memo,
            path: None,
            streaming: None,
            found_to: None,
        }
    }

    /// See [`BodyRewriter::reporting_found`]: a page the memo answers was reported when it
    /// was rewritten, so it is not reported again.
    pub fn reporting_found(mut self, sink: FoundSink) -> Self {
        self.found_to = Some(sink);
        self
    }

    /// Say where the page is (see [`BodyRewriter::at_path`]); kept only when the rewrite
    /// depends on it. Call before the first [`push`](Self::push).
    pub fn at_path(mut self, path: &str) -> Self {
        if self.rewriter.depends_on_path() {
            self.path = Some(path.into());
        }
        self
    }

    fn fresh(&mut self) -> BodyRewriter {
        let mut rewriter = BodyRewriter::with_head(&self.rewriter, &self.spec, self.head.clone());
        if let Some(sink) = self.found_to.take() {
            rewriter = rewriter.reporting_found(sink);
        }
        match &self.path {
            Some(path) => rewriter.at_path(path),
            None => rewriter,
        }
    }

    pub fn push(&mut self, chunk: Bytes) -> Result<Bytes, RewriteError> {
        if let Some(streaming) = self.streaming.as_mut() {
            return streaming.push(&chunk);
        }
        if self.collected_len + chunk.len() <= MEMO_MAX_BODY {
            if self.validator.is_none() {
                self.hasher.update(&chunk);
            }
            self.collected_len += chunk.len();
            self.collected.push(chunk);
            return Ok(Bytes::new());
        }
        // Too big to memoise: stream from here on, starting with what was collected.
        let mut streaming = self.fresh();
        let mut out = BytesMut::new();
        for held in std::mem::take(&mut self.collected) {
            out.extend_from_slice(&streaming.push(&held)?);
        }
        out.extend_from_slice(&streaming.push(&chunk)?);
        self.streaming = Some(streaming);
        Ok(out.freeze())
    }

    /// Whether the held-back chunks are exactly `stored`.
    fn collected_equals(&self, stored: &[u8]) -> bool {
        if stored.len() != self.collected_len {
            return false;
        }
        let mut rest = stored;
        self.collected.iter().all(|chunk| {
            let (head, tail) = rest.split_at(chunk.len());
            rest = tail;
            head == &chunk[..]
        })
    }

    pub fn finish(mut self) -> Result<Bytes, RewriteError> {
        if let Some(streaming) = self.streaming.take() {
            return streaming.finish();
        }
        let key = Key {
            hash: self.validator.unwrap_or_else(|| self.hasher.digest()),
            by_etag: self.validator.is_some(),
            upstream: self.spec.upstream.clone(),
            client: self.spec.client,
            charset: self.spec.charset.clone(),
            xhtml: self.spec.xhtml,
            path: self.path.as_deref().map_or(0, |p| {
                xxhash_rust::xxh3::xxh3_64_with_seed(p.as_bytes(), self.memo.seed)
            }),
            site: self.head.generation,
        };
        if let Some(done) = self.memo.cache.get(&key) {
            if done.path == self.path && self.collected_equals(&done.input) {
                return Ok(done.output);
            }
        }
        let mut input = BytesMut::with_capacity(self.collected_len);
        let mut rewriter = self.fresh();
        let mut output = BytesMut::new();
        for chunk in &self.collected {
            input.extend_from_slice(chunk);
            output.extend_from_slice(&rewriter.push(chunk)?);
        }
        let input = input.freeze();
        output.extend_from_slice(&rewriter.finish()?);
        let output = output.freeze();
        self.memo.cache.insert(
            key,
            Done {
                input,
                output: output.clone(),
                path: self.path.take(),
            },
        );
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::tests::rw as rewriter;

    fn run(rw: &Rewriter, memo: &Arc<RewriteMemo>, page: &[u8], chunk: usize) -> Vec<u8> {
        run_tagged(rw, memo, page, chunk, None)
    }

    fn run_tagged(
        rw: &Rewriter,
        memo: &Arc<RewriteMemo>,
        page: &[u8],
        chunk: usize,
        etag: Option<&str>,
    ) -> Vec<u8> {
        run_at(rw, memo, page, chunk, etag, "/")
    }

    /// The memo's output for `page` served at `path`, fed in pieces of `chunk` bytes.
    fn run_at(
        rw: &Rewriter,
        memo: &Arc<RewriteMemo>,
        page: &[u8],
        chunk: usize,
        etag: Option<&str>,
        path: &str,
    ) -> Vec<u8> {
        let mut m =
            MemoBodyRewriter::new(rw, memo.clone(), BodySpec::default(), etag).at_path(path);
        let mut out = Vec::new();
        for c in page.chunks(chunk) {
            out.extend_from_slice(&m.push(Bytes::copy_from_slice(c)).unwrap());
        }
        out.extend_from_slice(&m.finish().unwrap());
        out
    }

    fn direct(rw: &Rewriter, page: &[u8]) -> Vec<u8> {
        let mut r = BodyRewriter::new(rw, Coding::Identity, Coding::Identity, None);
        let mut out = r.push(page).unwrap().to_vec();
        out.extend_from_slice(&r.finish().unwrap());
        out
    }

    const PAGE: &str = "<html><head><title>t</title><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></head><body>hallo</body></html>";

    #[test]
    fn memo_output_is_the_rewrite_itself_on_miss_and_hit() {
        let rw = rewriter();
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        let expected = direct(&rw, PAGE.as_bytes());
        assert!(String::from_utf8_lossy(&expected).contains("data-cg-src"));
        assert_eq!(run(&rw, &memo, PAGE.as_bytes(), 7), expected, "miss");
        assert_eq!(run(&rw, &memo, PAGE.as_bytes(), 4096), expected, "hit");
        let other = PAGE.replace("hallo", "dag");
        assert_eq!(
            run(&rw, &memo, other.as_bytes(), 7),
            direct(&rw, other.as_bytes())
        );
    }

    #[test]
    fn a_page_memoised_before_the_site_vendors_grew_is_rewritten_with_the_new_list() {
        let site = Arc::new(crate::trackers::SiteVendors::new());
        let rw = Rewriter::new(
            Arc::new(crate::trackers::Catalogue::builtin()),
            crate::rewrite::RewriteSettings {
                inject_head_html: "<script src=\"/_gate/banner.js\" defer></script>".into(),
                site_vendors: Some(site.clone()),
                ..crate::rewrite::RewriteSettings::default()
            },
        );
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        let before = run(&rw, &memo, PAGE.as_bytes(), 4096);
        assert!(!String::from_utf8_lossy(&before).contains("data-v="));
        assert_eq!(run(&rw, &memo, PAGE.as_bytes(), 4096), before, "hit");
        site.add(rw.catalogue(), ["youtube"]);
        let (hits, _) = memo.lookups();
        let after = String::from_utf8(run(&rw, &memo, PAGE.as_bytes(), 4096)).unwrap();
        assert!(
            after.contains("<script src=\"/_gate/banner.js\" defer data-v=\"youtube\">"),
            "{after}"
        );
        assert_eq!(memo.lookups().0, hits, "not the stored page");
        assert_eq!(
            run(&rw, &memo, PAGE.as_bytes(), 7),
            after.as_bytes(),
            "hit again"
        );
        assert_eq!(memo.lookups().0, hits + 1);
    }

    #[test]
    fn the_memo_counts_the_bytes_it_holds() {
        let rw = rewriter();
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        assert_eq!(memo.held_bytes(), 0);
        let out = run(&rw, &memo, PAGE.as_bytes(), 7);
        let one = (PAGE.len() + out.len() + 64) as u64;
        assert_eq!(memo.held_bytes(), one);
        // A hit adds nothing; another page adds its own bytes.
        run(&rw, &memo, PAGE.as_bytes(), 4096);
        assert_eq!(memo.held_bytes(), one);
        let other = PAGE.replace("hallo", "dag");
        let out = run(&rw, &memo, other.as_bytes(), 7);
        assert_eq!(
            memo.held_bytes(),
            one + (other.len() + out.len() + 64) as u64
        );
    }

    #[test]
    fn a_reused_etag_with_different_bytes_never_returns_the_old_page() {
        let rw = rewriter();
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        let first = run_tagged(&rw, &memo, PAGE.as_bytes(), 7, Some("\"v1\""));
        assert_eq!(first, direct(&rw, PAGE.as_bytes()));
        // A CMS that forgets to change its ETag: the bytes differ, so the memo must not answer.
        let changed = PAGE.replace("hallo", "gewijzigd");
        let second = run_tagged(&rw, &memo, changed.as_bytes(), 7, Some("\"v1\""));
        assert_eq!(second, direct(&rw, changed.as_bytes()));
        assert_eq!(
            run_tagged(&rw, &memo, changed.as_bytes(), 4096, Some("\"v1\"")),
            second
        );
    }

    #[test]
    fn the_same_bytes_at_another_path_are_not_taken_from_the_memo_when_forms_are_on() {
        let rw = crate::rewrite::tests::rw_with_form();
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        let page =
            b"<html><body><form method=\"post\"><textarea name=m></textarea></form></body></html>";
        let at = |path: &str| {
            let out = run_at(&rw, &memo, page, 7, Some("\"same-etag\""), path);
            String::from_utf8(out).unwrap()
        };
        assert!(at("/contact").contains("/_gate/forms.js"), "miss");
        assert!(at("/contact").contains("/_gate/forms.js"), "hit");
        assert!(!at("/nieuws").contains("/_gate/forms.js"));
        assert!(at("/contact").contains("/_gate/forms.js"));
    }

    #[test]
    fn bodies_over_the_memo_bound_stream_and_are_still_rewritten() {
        let rw = rewriter();
        let memo = Arc::new(RewriteMemo::new(1 << 20));
        let big = PAGE.replace("hallo", &"<p>tekst</p>".repeat(MEMO_MAX_BODY / 8));
        let mut m = MemoBodyRewriter::new(&rw, memo.clone(), BodySpec::default(), None);
        let mut out = Vec::new();
        let mut streamed_before_end = false;
        for c in big.as_bytes().chunks(16 * 1024) {
            let piece = m.push(Bytes::copy_from_slice(c)).unwrap();
            streamed_before_end |= !piece.is_empty();
            out.extend_from_slice(&piece);
        }
        out.extend_from_slice(&m.finish().unwrap());
        assert!(
            streamed_before_end,
            "a large page must not be held back whole"
        );
        assert_eq!(out, direct(&rw, big.as_bytes()));
    }
}
