//! HTML rewriting: the one streaming pass over every HTML response that injects the gate's
//! tags and makes every tracker inert before consent, plus the layers around it — content
//! codings, character encodings, and deciding whether a response is HTML at all.
//!
//! The output depends only on the input and the configuration, never on the visitor, so shared
//! caches stay correct; consent is applied in the browser by banner.js, which turns the
//! neutralised markup back into live markup, in document order, for the granted categories.
//! The neutralised forms (the contract with banner.js and guard.js, also in the README):
//! * external script → `type="text/plain" data-cg-src="…" data-cg-category="…"
//!   data-cg-vendor="…" [data-cg-type="<original type>"]`, `src` removed;
//! * inline script (a loader, or a script made only of tracker API calls) → the same without
//!   `data-cg-src`, text kept;
//! * any other fetching attribute `X` (`src`, `srcset`, `href` of `<link>`/`<base>`/SVG
//!   `<image>`/`<use>`, `poster`, `data` of `<object>`, `imagesrcset`, `ping`, `background`)
//!   whose URL leads to a tracker → moved to `data-cg-X` (`xlink:href` → `data-cg-xlink-href`),
//!   plus `data-cg-category` and `data-cg-vendor` on the element; also inside `<noscript>`;
//! * `style="…url(tracker)…"` → the whole original value in `data-cg-style`, `style` keeps
//!   the value without those `url()` tokens;
//! * `<style>` with tracker `url()`s → `data-cg-category`, `data-cg-vendor` and `data-cg-css`
//!   (the original sheet) on the element, its text the sheet without those `url()`s;
//! * `<iframe srcdoc>` → the document in it rewritten the same way (nested, bounded), with the
//!   guard tag injected into it;
//! * an embed vendor's `<iframe>` (YouTube, Vimeo, Maps, Facebook plugins; its URL in `src` or
//!   a lazy loader's `data-src`) → URL in `data-cg-src`, `hidden`, a `title` if it had none,
//!   wrapped in a click-to-load placeholder (`div.cg-embed`, see `embed.rs`); embed.js goes
//!   before the first placeholder of such a page;
//! * a post that a vendor's script renders (`blockquote.twitter-tweet`, `.instagram-media`,
//!   `.tiktok-embed`, `div.fb-post|fb-page|fb-video`) → kept as it is inside a placeholder
//!   whose `data-cg-script` names that script (neutralised where it stands, as any tracker
//!   script) and `data-cg-hosts` the guard rules it needs;
//! * CKEditor's `<oembed url>` of an embed vendor → a placeholder holding the player built from
//!   the URL as an inert iframe (YouTube, Vimeo; the URL moves to `data-cg-url`), or, for a URL
//!   no player is built for, a link to it.
//!
//! The guard (`inject_head_first_html`) and the banner tags go first into `<head>`, after a
//! leading `<meta charset>`; in `application/xhtml+xml` pages as well-formed XML.
//!
//! Nothing fails open: a body that cannot be decoded, decodes past its cap, or cannot be
//! rewritten (lol_html's memory limit, a tracker past the inline-script bound) is an error
//! ([`RewriteError`]), and the caller refuses the page or breaks off the transfer — the rest of
//! the page is never passed on unchanged. Nothing outside this module knows lol_html.

mod coding;
mod css;
mod embed;
mod hosts;
mod html;
mod inject;
mod memo;
mod sniff;

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lol_html::AsciiCompatibleEncoding;

pub use coding::{
    coding_from_header, codings_from_headers, Coding, DecodeChain, MAX_STACKED_CODINGS,
};
pub use embed::{is_youtube_id, THUMBNAIL_PREFIX};
pub use hosts::{unknown_hosts, HostReference};
pub use memo::{MemoBodyRewriter, RewriteMemo, MEMO_MAX_BODY};
pub use sniff::{
    extract_mime_type, page_encoding, sniffs_as_html, MimeType, PageEncoding, SNIFF_LEN,
};

use crate::config::LimitsConfig;
use crate::trackers::{Catalogue, SiteVendors};
use coding::{too_large, Encoder};
use html::{Ctx, Head, Mode, PageRewriter, PassState, Selectors, Shared, Sink};
use inject::Injection;

/// Per-gate rewriting settings.
#[derive(Debug, Clone)]
pub struct RewriteSettings {
    /// HTML put as the very first thing in `<head>` (after a leading `<meta charset>`), before
    /// any site script: the synchronous guard script. Also injected into `<iframe srcdoc>`
    /// documents. Must be valid as HTML; its XML form for XHTML pages is derived. Default
    /// empty.
    pub inject_head_first_html: String,
    /// HTML injected right after `inject_head_first_html` (the banner `<script defer>` and
    /// `<link rel=stylesheet>` with their content-hashed `/_gate/` URLs and CSP nonce), given
    /// by the caller. Default empty.
    pub inject_head_html: String,
    /// HTML appended to a page that holds a `<form method="post">` whose action (resolved
    /// against the page's path; empty = the page itself) is one of `form_paths`: the forms
    /// script. Default empty.
    pub inject_form_html: String,
    /// HTML appended to a page that got a click-to-load placeholder for an embed (embed.js).
    /// Default empty.
    pub inject_embed_html: String,
    /// Language of the placeholders on pages without `<html lang>` ("nl" or "en"). Default
    /// "nl" (`consent.default_language`).
    pub embed_language: String,
    /// YouTube players load from youtube-nocookie.com (`[embeds.youtube] nocookie`). Default
    /// false.
    pub youtube_nocookie: bool,
    /// YouTube placeholders show the video's thumbnail from the gate
    /// ([`THUMBNAIL_PREFIX`]`<id>.jpg`; `[embeds.youtube] thumbnails`). Default false.
    pub youtube_thumbnails: bool,
    /// The configured contact-form paths (`/contact`). Default none: no page gets
    /// `inject_form_html`.
    pub form_paths: Vec<String>,
    /// Classes that mark a form plugin's `<form>` whose submissions the gate captures by the
    /// plugin's own endpoint (`wpcf7-form`): a page holding such a form gets
    /// `inject_form_html` whatever its action. Default none.
    pub form_classes: Vec<String>,
    /// `id`s that mark a form plugin's `<form>` carrying no class of its own (Gravity Forms'
    /// `gform_1`): like `form_classes`. Default none.
    pub form_ids: Vec<String>,
    /// Memory lol_html may use per response, in bytes; a page that needs more is refused (fail
    /// closed). Default 8 MiB (`limits.rewrite_max_memory_bytes`).
    pub max_memory: usize,
    /// Longest inline script or `<style>` text held back to look for trackers, in bytes; a
    /// longer one is decided on its first `inline_script_max` bytes and the rest is watched: a
    /// tracker in it fails the page. Default 256 KiB (`limits.inline_script_max_bytes`).
    pub inline_script_max: usize,
    /// Largest decoded size of a compressed body, in bytes; past it the page is refused.
    /// Default 64 MiB (`limits.max_decoded_body_bytes`).
    pub max_decoded_body: usize,
    /// The vendors the site uses: their ids go, space-separated, into a `data-v` attribute of
    /// the first `<script>` of `inject_head_html` (the banner), as the set is when a page's
    /// rewrite starts. Default none: nothing is added.
    pub site_vendors: Option<Arc<SiteVendors>>,
}

impl Default for RewriteSettings {
    fn default() -> Self {
        let limits = LimitsConfig::default();
        Self {
            inject_head_first_html: String::new(),
            inject_head_html: String::new(),
            inject_form_html: String::new(),
            inject_embed_html: String::new(),
            embed_language: "nl".into(),
            youtube_nocookie: false,
            youtube_thumbnails: false,
            form_paths: Vec::new(),
            form_classes: Vec::new(),
            form_ids: Vec::new(),
            max_memory: limits.rewrite_max_memory_bytes,
            inline_script_max: limits.inline_script_max_bytes,
            max_decoded_body: limits.max_decoded_body_bytes,
            site_vendors: None,
        }
    }
}

/// The rewriter of a gate: built once, shared (`Arc` or clone), `Send + Sync`.
#[derive(Clone)]
pub struct Rewriter {
    ctx: Arc<Ctx>,
    max_decoded_body: usize,
}

impl Rewriter {
    pub fn new(catalogue: Arc<Catalogue>, settings: RewriteSettings) -> Self {
        let head = format!(
            "{}{}",
            settings.inject_head_first_html, settings.inject_head_html
        );
        Self {
            max_decoded_body: settings.max_decoded_body,
            ctx: Arc::new(Ctx {
                catalogue,
                inject_head: Injection::new(head),
                head_parts: (
                    settings.inject_head_first_html.clone(),
                    settings.inject_head_html,
                ),
                site: settings.site_vendors,
                head_cache: Mutex::new(None),
                inject_first: Injection::new(settings.inject_head_first_html),
                inject_form: Injection::new(settings.inject_form_html),
                inject_embed: Injection::new(settings.inject_embed_html),
                embed_language: settings.embed_language,
                youtube_nocookie: settings.youtube_nocookie,
                youtube_thumbnails: settings.youtube_thumbnails,
                form_paths: settings.form_paths,
                form_classes: settings.form_classes,
                form_ids: settings.form_ids,
                max_memory: settings.max_memory,
                inline_script_max: settings.inline_script_max,
                selectors: Selectors::new(),
            }),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.ctx.catalogue
    }

    /// The catalogue, shared.
    pub fn shared_catalogue(&self) -> Arc<Catalogue> {
        self.ctx.catalogue.clone()
    }

    /// Whether the output depends on the page's path (forms are configured: whether a page's
    /// form posts to one of them can depend on where the page is).
    pub fn depends_on_path(&self) -> bool {
        self.ctx.finds_forms()
    }

    /// Largest decoded size of a compressed body, in bytes.
    pub fn max_decoded_body(&self) -> usize {
        self.max_decoded_body
    }
}

/// What was done with a tracker element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Made inert (re-typed / URL moved to `data-cg-*`) until consent.
    Neutralised,
    /// Left as is: its `type` (given) is not one a browser executes.
    AlreadyInert(String),
}

/// Found during rewriting, by document byte offset.
#[derive(Debug, Clone)]
pub(crate) struct RawFinding {
    pub vendor_id: String,
    pub vendor_name: String,
    pub category: String,
    pub element: String,
    pub offset: usize,
    pub action: Action,
}

/// One tracker element found in a page (for `consentgate scan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub vendor_id: String,
    pub vendor_name: String,
    pub category: String,
    /// e.g. `script src`, `inline script`, `inline script (API calls)`, `noscript img`,
    /// `link rel=preconnect`, `video poster`, `div style`, `style element`,
    /// `iframe srcdoc img`, `base href`, `a ping`.
    pub element: String,
    /// 1-based line in the input.
    pub line: usize,
    pub action: Action,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match &self.action {
            Action::Neutralised => "neutralised until consent".to_owned(),
            Action::AlreadyInert(ty) => format!("left as is (type=\"{ty}\" is not executed)"),
        };
        write!(
            f,
            "line {:>5}  {:<22} {:<10} {:<24} {}",
            self.line, self.vendor_name, self.category, self.element, action
        )
    }
}

/// Why a body was not (or not wholly) rewritten. The caller must not pass the page on: before
/// anything was sent it answers with an error page, after that it breaks off the transfer.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    #[error("the body cannot be decoded: {0}")]
    Decode(std::io::Error),
    #[error("the body decodes to more than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("the page cannot be rewritten safely: {0}")]
    Rewrite(String),
    #[error("the body was already refused")]
    AlreadyFailed,
}

impl RewriteError {
    fn decoding(e: std::io::Error) -> Self {
        match too_large(&e) {
            Some(limit) => RewriteError::TooLarge { limit },
            None => RewriteError::Decode(e),
        }
    }
}

/// How one response body is read and written.
#[derive(Debug, Clone, Default)]
pub struct BodySpec {
    /// The codings the upstream applied, in order (from [`codings_from_headers`]).
    pub upstream: Vec<Coding>,
    /// The coding to produce for the client (negotiated at the edge; never zstd).
    pub client: Coding,
    /// The `charset` of the upstream Content-Type, if any.
    pub charset: Option<String>,
    /// An `application/xhtml+xml` page: injected tags in XML form.
    pub xhtml: bool,
}

/// Where a page's [`html::EndProbe`] stands: built only when the first chunk leaves the
/// gate's tags unplaced (real pages place them in `<head>` and never build one).
enum Probe {
    /// No input yet.
    NotYet,
    Following(Box<html::EndProbe>),
    /// The tags are placed: the end of the page needs no answer.
    Unneeded,
}

enum Stage {
    /// Plain bytes before the encoding is chosen (a BOM needs the first three).
    Start(Vec<u8>),
    Rewriting {
        rewriter: Box<PageRewriter>,
        state: Shared,
        out: Arc<Mutex<Vec<u8>>>,
        /// For pages not in an ASCII-compatible encoding: to UTF-8 before lol_html.
        transcoder: Option<encoding_rs::Decoder>,
        /// Fed while nothing has taken the gate's tags; asked at the end of such a page.
        probe: Probe,
        /// The encoding lol_html reads the page in (the probe's too).
        encoding: AsciiCompatibleEncoding,
    },
    Failed,
}

/// Rewrites one response body. Feed upstream chunks as they arrive with [`push`](Self::push),
/// end with [`finish`](Self::finish); each returns the bytes to send the client (possibly
/// empty), or the error that means the page must not be delivered. `Send`, not `Sync`.
pub struct BodyRewriter {
    ctx: Arc<Ctx>,
    decoder: Option<DecodeChain>,
    charset: Option<String>,
    xhtml: bool,
    page_path: Option<Box<str>>,
    scan: bool,
    stage: Stage,
    encoder: Option<Encoder>,
    plain: Vec<u8>,
    /// Told what the page holds when the rewrite finishes, if set.
    found_to: Option<FoundSink>,
    /// The gate's head tags as this page gets them (the site's vendors when it started).
    head: Arc<Head>,
}

/// What a rewritten page was found to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageFound {
    /// The absolute origins it fetches from (scripts, frames, images, media, fetching links),
    /// at most 64.
    pub origins: Vec<String>,
    /// The catalogue vendors whose markup was made inert (in `<noscript>` and `srcdoc` too),
    /// each once, sorted.
    pub vendors: Vec<String>,
}

/// Receives what a page holds ([`PageFound`]) once it is rewritten. Called on the rewriting
/// thread: it must not block.
pub type FoundSink = Box<dyn FnOnce(PageFound) + Send>;

fn lock_vec(v: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    v.lock().unwrap_or_else(|p| p.into_inner())
}

impl BodyRewriter {
    /// `upstream`: the body's coding; `client`: the coding to produce (negotiated at the edge);
    /// `charset_from_content_type`: the `charset` parameter of the upstream Content-Type, if any.
    pub fn new(
        rw: &Rewriter,
        upstream: Coding,
        client: Coding,
        charset_from_content_type: Option<&str>,
    ) -> Self {
        Self::with_spec(
            rw,
            &BodySpec {
                upstream: vec![upstream],
                client,
                charset: charset_from_content_type.map(str::to_owned),
                xhtml: false,
            },
        )
    }

    /// A rewriter for a body described by `spec`.
    pub fn with_spec(rw: &Rewriter, spec: &BodySpec) -> Self {
        Self::with_head(rw, spec, rw.ctx.head())
    }

    /// The same with the head tags taken already (the memo keys on their generation).
    pub(crate) fn with_head(rw: &Rewriter, spec: &BodySpec, head: Arc<Head>) -> Self {
        Self {
            ctx: rw.ctx.clone(),
            decoder: Some(DecodeChain::new(&spec.upstream, rw.max_decoded_body)),
            charset: spec.charset.clone(),
            xhtml: spec.xhtml,
            page_path: None,
            scan: false,
            stage: Stage::Start(Vec::new()),
            encoder: Some(Encoder::new(spec.client)),
            plain: Vec::new(),
            found_to: None,
            head,
        }
    }

    /// Collect the origins the page fetches from and the vendors made inert in it, and hand
    /// them to `sink` when the rewrite finishes (not when it fails). Call before the first
    /// [`push`](Self::push).
    pub fn reporting_found(mut self, sink: FoundSink) -> Self {
        self.found_to = Some(sink);
        self
    }

    /// Say where the page is (its request path, without query): a relative or empty form
    /// action is resolved against it. Call before the first [`push`](Self::push); without it
    /// the page counts as being at `/`.
    pub fn at_path(mut self, path: &str) -> Self {
        self.page_path = Some(path.into());
        self
    }

    /// Process one upstream chunk; returns the client bytes ready so far.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Bytes, RewriteError> {
        if matches!(self.stage, Stage::Failed) {
            return Err(RewriteError::AlreadyFailed);
        }
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        if let Some(decoder) = self.decoder.as_mut() {
            if let Err(e) = decoder.push(chunk, &mut plain) {
                self.stage = Stage::Failed;
                return Err(RewriteError::decoding(e));
            }
        }
        let html = self.stage_push(&plain, false);
        self.plain = plain;
        let html = html?;
        Ok(self.encode(html, false))
    }

    /// End of the upstream body; returns the last client bytes.
    pub fn finish(mut self) -> Result<Bytes, RewriteError> {
        if matches!(self.stage, Stage::Failed) {
            return Err(RewriteError::AlreadyFailed);
        }
        let mut plain = Vec::new();
        if let Some(decoder) = self.decoder.take() {
            decoder.finish(&mut plain).map_err(RewriteError::decoding)?;
        }
        let mut html = self.stage_push(&plain, true)?;
        let state = self.end_pass(&mut html)?;
        if let (Some(sink), Some(state)) = (self.found_to.take(), state) {
            let mut st = html::lock(&state);
            let mut vendors: Vec<String> = st
                .findings
                .iter()
                .filter(|f| f.action == Action::Neutralised)
                .map(|f| f.vendor_id.clone())
                .collect();
            vendors.sort();
            vendors.dedup();
            let origins = st.origins.take().unwrap_or_default();
            drop(st);
            sink(PageFound { origins, vendors });
        }
        Ok(self.encode(html, true))
    }

    /// End the lol_html pass (after the last [`stage_push`](Self::stage_push)), appending
    /// its last output to `html`; returns the pass state for what it found.
    fn end_pass(&mut self, html: &mut Vec<u8>) -> Result<Option<Shared>, RewriteError> {
        let Stage::Rewriting {
            rewriter,
            out,
            state,
            probe,
            encoding,
            ..
        } = std::mem::replace(&mut self.stage, Stage::Failed)
        else {
            return Ok(None);
        };
        let answer = match probe {
            Probe::Unneeded => None,
            Probe::Following(probe) => Some(probe.ends_in_markup()),
            // An empty page: the probe over nothing.
            Probe::NotYet => Some(html::EndProbe::new(&self.ctx, encoding).ends_in_markup()),
        };
        if let Some(answer) = answer {
            html::lock(&state).ends_in_markup = answer;
        }
        rewriter
            .end()
            .map_err(|e| RewriteError::Rewrite(e.to_string()))?;
        html.append(&mut lock_vec(&out));
        Ok(Some(state))
    }

    /// Feed plain (decoded) bytes to the HTML stage; `last` at the end of the body.
    fn stage_push(&mut self, plain: &[u8], last: bool) -> Result<Vec<u8>, RewriteError> {
        if let Stage::Start(buf) = &mut self.stage {
            if buf.is_empty() && (plain.len() >= 3 || last) {
                // The usual case: the first chunk shows the BOM or its absence.
                self.start(plain);
                return self.stage_push(plain, last);
            }
            buf.extend_from_slice(plain);
            if buf.len() < 3 && !last {
                return Ok(Vec::new());
            }
            let buf = std::mem::take(buf);
            self.start(&buf);
            return self.stage_push(&buf, last);
        }
        let Stage::Rewriting {
            rewriter,
            state,
            out,
            transcoder,
            probe,
            encoding,
        } = &mut self.stage
        else {
            return Err(RewriteError::AlreadyFailed);
        };
        let transcoded;
        let input: &[u8] = match transcoder {
            Some(decoder) => {
                let mut text = String::with_capacity(
                    decoder
                        .max_utf8_buffer_length(plain.len())
                        .unwrap_or(plain.len() * 3 + 16),
                );
                let _ = decoder.decode_to_string(plain, &mut text, last);
                transcoded = text;
                transcoded.as_bytes()
            }
            None => plain,
        };
        if input.is_empty() {
            return Ok(Vec::new());
        }
        html::lock(state).tail.push(input);
        let result = rewriter.write(input);
        let html = std::mem::take(&mut *lock_vec(out));
        if let Err(e) = result {
            tracing::warn!("HTML rewriting failed, the page is not passed on: {e}");
            self.stage = Stage::Failed;
            return Err(RewriteError::Rewrite(e.to_string()));
        }
        if !matches!(probe, Probe::Unneeded) {
            if html::lock(state).injected {
                *probe = Probe::Unneeded;
            } else {
                match probe {
                    Probe::NotYet => {
                        let mut first = html::EndProbe::new(&self.ctx, *encoding);
                        first.write(input);
                        *probe = Probe::Following(Box::new(first));
                    }
                    Probe::Following(following) => following.write(input),
                    Probe::Unneeded => {}
                }
            }
        }
        Ok(html)
    }

    /// Choose the page's encoding from the charset label and the first plain bytes, and start
    /// the lol_html pass.
    fn start(&mut self, prefix: &[u8]) {
        let choice = page_encoding(self.charset.as_deref(), prefix);
        let (encoding, transcoder) = match AsciiCompatibleEncoding::new(choice.encoding) {
            Some(ascii) if !choice.transcode => (ascii, None),
            // encoding_rs's decoder removes the BOM and yields UTF-8.
            _ => (
                AsciiCompatibleEncoding::utf_8(),
                Some(choice.encoding.new_decoder()),
            ),
        };
        let state = PassState::new(encoding.into());
        {
            let mut st = html::lock(&state);
            st.xhtml = self.xhtml;
            st.scan = self.scan;
            st.page_path = self.page_path.clone();
            if self.found_to.is_some() {
                st.origins = Some(Vec::new());
            }
            st.head = Some(self.head.clone());
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink_out = out.clone();
        let sink: Sink = Box::new(move |bytes: &[u8]| lock_vec(&sink_out).extend_from_slice(bytes));
        let adjust = choice.meta_may_change && transcoder.is_none();
        let rewriter = html::build(&self.ctx, &state, encoding, adjust, sink, Mode::Document);
        self.stage = Stage::Rewriting {
            rewriter: Box::new(rewriter),
            state,
            out,
            transcoder,
            probe: Probe::NotYet,
            encoding,
        };
    }

    fn encode(&mut self, html: Vec<u8>, last: bool) -> Bytes {
        if matches!(self.encoder, Some(Encoder::Identity)) {
            // Nothing to encode: hand the rewritten bytes over without another copy.
            return Bytes::from(html);
        }
        let mut wire = Vec::new();
        if let Some(encoder) = self.encoder.as_mut() {
            if let Err(e) = encoder.push(&html, &mut wire) {
                tracing::warn!("cannot encode the HTML body for the client: {e}");
            }
        }
        if last {
            if let Some(encoder) = self.encoder.take() {
                if let Err(e) = encoder.finish(&mut wire) {
                    tracing::warn!("cannot finish encoding the HTML body: {e}");
                }
            }
        }
        Bytes::from(wire)
    }
}

/// What the rewriter needs to know about a response it rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlBody {
    /// The `charset` parameter of its Content-Type, if any.
    pub charset: Option<String>,
    /// `application/xhtml+xml`: parsed as XML by browsers.
    pub xhtml: bool,
}

/// Whether a response is one a browser renders as HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rendering {
    /// `text/html` or `application/xhtml+xml` by its Content-Type.
    Html(HtmlBody),
    /// No usable Content-Type: a browser sniffs the body ([`sniffs_as_html`]).
    Sniffed,
    /// Not HTML, or no body.
    Other,
}

/// How a browser treats a response: `content_types` are all its Content-Type header values,
/// `nosniff` whether it sent `X-Content-Type-Options: nosniff` (which stops a browser from
/// sniffing HTML in a body without a usable type). HEAD, 1xx, 204 and 304 have no body. A 206
/// counts like any other: the caller refuses partial HTML.
pub fn rendering<'a>(
    method: &str,
    status: u16,
    content_types: impl IntoIterator<Item = &'a str>,
    nosniff: bool,
) -> Rendering {
    if method.eq_ignore_ascii_case("HEAD") || matches!(status, 100..=199 | 204 | 304) {
        return Rendering::Other;
    }
    match extract_mime_type(content_types) {
        Some(m) if m.essence == "text/html" || m.essence == "application/xhtml+xml" => {
            Rendering::Html(HtmlBody {
                xhtml: m.essence == "application/xhtml+xml",
                charset: m.charset,
            })
        }
        Some(m)
            if !matches!(
                m.essence.as_str(),
                "unknown/unknown" | "application/unknown"
            ) =>
        {
            Rendering::Other
        }
        _ if nosniff => Rendering::Other,
        _ => Rendering::Sniffed,
    }
}

/// [`rendering`] for one Content-Type: the HTML body, when it is one (not sniffed).
pub fn html_body(method: &str, status: u16, content_type: Option<&str>) -> Option<HtmlBody> {
    match rendering(method, status, content_type, true) {
        Rendering::Html(body) if status != 206 => Some(body),
        _ => None,
    }
}

/// Rewrite a whole UTF-8 (or `<meta charset>`-declared) document, as the gate would send it
/// for a page at `/`.
pub fn rewrite_document(rw: &Rewriter, html: &[u8]) -> Result<Vec<u8>, RewriteError> {
    rewrite_document_at(rw, html, "/")
}

/// [`rewrite_document`] for a page at `path` (where relative form actions point).
pub fn rewrite_document_at(
    rw: &Rewriter,
    html: &[u8],
    path: &str,
) -> Result<Vec<u8>, RewriteError> {
    run_document(rw, html, false, path).map(|(out, _)| out)
}

/// The trackers in a document and what the gate does with each, in document order; includes
/// trackers another consent tool already made inert (left as they are).
pub fn scan_document(rw: &Rewriter, html: &[u8]) -> Result<Vec<Finding>, RewriteError> {
    let (_, raw) = run_document(rw, html, true, "/")?;
    let mut findings: Vec<Finding> = raw
        .into_iter()
        .map(|f| Finding {
            line: line_of(html, f.offset),
            vendor_id: f.vendor_id,
            vendor_name: f.vendor_name,
            category: f.category,
            element: f.element,
            action: f.action,
        })
        .collect();
    findings.sort_by_key(|f| f.line);
    Ok(findings)
}

fn line_of(html: &[u8], offset: usize) -> usize {
    let end = offset.min(html.len());
    1 + html[..end].iter().filter(|&&b| b == b'\n').count()
}

fn run_document(
    rw: &Rewriter,
    html: &[u8],
    scan: bool,
    path: &str,
) -> Result<(Vec<u8>, Vec<RawFinding>), RewriteError> {
    let mut body = BodyRewriter::new(rw, Coding::Identity, Coding::Identity, None).at_path(path);
    body.scan = scan;
    let mut out = body.push(html)?.to_vec();
    // Findings live in the pass state, which `finish` consumes: end the pass here.
    let mut tail = body.stage_push(&[], true)?;
    let findings = match body.end_pass(&mut tail)? {
        Some(state) => std::mem::take(&mut html::lock(&state).findings),
        None => Vec::new(),
    };
    out.extend_from_slice(&tail);
    Ok((out, findings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in catalogue with a fixed banner tag; shared with the memo's tests.
    pub(super) fn rw() -> Rewriter {
        Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_head_html: "<script src=\"/_gate/banner.js\" defer></script>".into(),
                ..RewriteSettings::default()
            },
        )
    }

    #[test]
    fn rewriter_is_send_and_sync_and_body_rewriter_is_send() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Rewriter>();
        send::<BodyRewriter>();
    }

    #[test]
    fn banner_goes_first_into_head() {
        let out = rewrite_document(
            &rw(),
            b"<html><head><title>x</title></head><body></body></html>",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<html><head><script src=\"/_gate/banner.js\" defer></script><title>x</title></head><body></body></html>"
        );
    }

    /// `page` through a [`BodyRewriter`] in chunks of `size` bytes: the output, or `None` when
    /// the page is refused.
    fn rewrite_in_chunks(rw: &Rewriter, page: &[u8], size: usize) -> Option<String> {
        let mut body = BodyRewriter::new(rw, Coding::Identity, Coding::Identity, None);
        let mut out = Vec::new();
        for chunk in page.chunks(size) {
            out.extend_from_slice(&body.push(chunk).ok()?);
        }
        out.extend_from_slice(&body.finish().ok()?);
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn a_page_ending_inside_a_tag_with_nowhere_else_for_the_tags_is_refused() {
        // The tags' first quote would end the attribute value and their `>` the tag: the
        // pixel would load, un-neutralised. Nothing but refusing keeps it unloaded.
        for page in [
            &b"<p>Welkom</p><img src=\"https://www.facebook.com/tr?id=1&ev=PageView"[..],
            b"<p>Welkom</p><img src=https://www.facebook.com/tr?id=1 alt='x",
            b"<p>Welkom</p><!-- a comment that never ends <img src=x>",
            b"<iframe srcdoc=\"<img src='https://www.facebook.com/tr?id=1\"></iframe>",
        ] {
            for size in [1, 7, 4096] {
                assert_eq!(
                    rewrite_in_chunks(&rw(), page, size),
                    None,
                    "chunks of {size}"
                );
            }
        }
    }

    #[test]
    fn a_tracker_src_on_any_element_is_made_inert() {
        // AMP's pixel fetches from its src by script; <body src> by nothing, inert all the same.
        let out = rewrite_document(
            &rw(),
            br#"<html><head></head><body src="https://www.googletagmanager.com/gtag/js?id=G-1"><amp-pixel src="https://www.facebook.com/tr?id=1&ev=PageView"></amp-pixel></body></html>"#,
        )
        .unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains(" src=\"https://"), "{out}");
        assert!(
            out.contains(
                r#"<amp-pixel data-cg-src="https://www.facebook.com/tr?id=1&amp;ev=PageView""#
            ) || out.contains(
                r#"<amp-pixel data-cg-src="https://www.facebook.com/tr?id=1&ev=PageView""#
            ),
            "{out}"
        );
    }

    #[test]
    fn a_fragment_gets_the_tags_at_its_end() {
        for size in [1, 7, 4096] {
            assert_eq!(
                rewrite_in_chunks(&rw(), b"<p>Welkom</p> a < b", size).as_deref(),
                Some("<p>Welkom</p> a < b<script src=\"/_gate/banner.js\" defer></script>"),
                "chunks of {size}"
            );
        }
    }

    #[test]
    fn a_page_with_a_head_ending_inside_a_tag_gets_nothing_appended() {
        // The browser drops the unfinished tag; the tags already went into <head>.
        let page =
            b"<html><head><title>x</title></head><body><img src=\"https://www.facebook.com/tr";
        for size in [1, 7, 4096] {
            let out = rewrite_in_chunks(&rw(), page, size).unwrap();
            assert!(
                out.ends_with("<img src=\"https://www.facebook.com/tr"),
                "{out}"
            );
            assert_eq!(out.matches("/_gate/banner.js").count(), 1);
        }
    }

    #[test]
    fn a_held_script_goes_out_where_its_text_ends_even_if_its_end_tag_never_closes() {
        // The input ends inside the script's end tag, so the end-tag handler never runs. The
        // script used to come out at the document's end, after that open `</script x="`, whose
        // attribute value then swallowed the start tag: the text's `<img>` became live markup.
        let page = br#"<p>Welkom</p><script>x = "1">"; y = '<img src="https://www.facebook.com/tr?id=1">';</script x=""#;
        for size in [1, 7, 4096] {
            let out = rewrite_in_chunks(&rw(), page, size).unwrap();
            let start = out.find("<script type=\"text/plain\"").expect("made inert");
            let text = out.find("x = \"1\">").expect("the text is kept");
            let cut_off = out.find("</script x=").expect("the open end tag is kept");
            assert!(start < text && text < cut_off, "chunks of {size}: {out}");
            assert!(out.ends_with("</script x=\""), "chunks of {size}: {out}");
        }
    }

    /// The test rewriter with a guard as well.
    fn rw_with_guard() -> Rewriter {
        Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_head_first_html: "<script src=\"/_gate/guard.js\"></script>".into(),
                inject_head_html: "<script src=\"/_gate/banner.js\" defer></script><link rel=stylesheet href=\"/_gate/b.css\">".into(),
                ..RewriteSettings::default()
            },
        )
    }

    #[test]
    fn the_guard_goes_first_into_head_but_after_a_leading_meta_charset() {
        let tags = "<script src=\"/_gate/guard.js\"></script><script src=\"/_gate/banner.js\" defer></script><link rel=stylesheet href=\"/_gate/b.css\">";
        for (page, expected) in [
            (
                "<head><script>site()</script></head>",
                format!("<head>{tags}<script>site()</script></head>"),
            ),
            (
                "<head><meta charset=utf-8><script>site()</script></head>",
                format!("<head><meta charset=utf-8>{tags}<script>site()</script></head>"),
            ),
            (
                "<head><meta http-equiv=Content-Type content=\"text/html; charset=utf-8\"><title>t</title></head>",
                format!("<head><meta http-equiv=Content-Type content=\"text/html; charset=utf-8\">{tags}<title>t</title></head>"),
            ),
            ("<head></head><p>x</p>", format!("<head>{tags}</head><p>x</p>")),
            (
                "<meta charset=utf-8><meta http-equiv=refresh content=5><p>x",
                format!("<meta charset=utf-8>{tags}<meta http-equiv=refresh content=5><p>x"),
            ),
        ] {
            let out = String::from_utf8(rewrite_document(&rw_with_guard(), page.as_bytes()).unwrap())
                .unwrap();
            assert_eq!(out, expected, "{page}");
        }
    }

    #[test]
    fn xhtml_pages_get_the_tags_as_well_formed_xml() {
        let spec = BodySpec {
            xhtml: true,
            ..BodySpec::default()
        };
        let mut body = BodyRewriter::with_spec(&rw_with_guard(), &spec);
        let mut out = body
            .push(b"<html><head><title>t</title></head></html>")
            .unwrap()
            .to_vec();
        out.extend_from_slice(&body.finish().unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<html><head><script src=\"/_gate/guard.js\"></script><script src=\"/_gate/banner.js\" defer=\"defer\"></script><link rel=\"stylesheet\" href=\"/_gate/b.css\"/><title>t</title></head></html>"
        );
    }

    #[test]
    fn a_browser_renders_by_the_last_type_and_sniffs_a_missing_one() {
        let r = |types: &[&str], nosniff| rendering("GET", 200, types.iter().copied(), nosniff);
        assert!(matches!(
            r(&["text/plain", "text/html"], false),
            Rendering::Html(_)
        ));
        assert_eq!(r(&["text/html", "text/plain"], false), Rendering::Other);
        assert_eq!(r(&[], false), Rendering::Sniffed);
        assert_eq!(r(&["nonsense"], false), Rendering::Sniffed);
        assert_eq!(r(&["unknown/unknown"], false), Rendering::Sniffed);
        assert_eq!(r(&[], true), Rendering::Other);
        assert!(matches!(
            r(&["application/xhtml+xml"], false),
            Rendering::Html(HtmlBody { xhtml: true, .. })
        ));
        assert_eq!(
            rendering("HEAD", 200, ["text/html"], false),
            Rendering::Other
        );
    }

    #[test]
    fn only_html_responses_with_a_body_are_rewritten() {
        let is_rewritable = |m, s, ct| html_body(m, s, ct).is_some();
        assert!(is_rewritable("GET", 200, Some("text/html; charset=utf-8")));
        assert!(is_rewritable("POST", 404, Some("Text/HTML")));
        assert!(is_rewritable("GET", 200, Some("application/xhtml+xml")));
        assert!(!is_rewritable("HEAD", 200, Some("text/html")));
        assert!(!is_rewritable("GET", 204, Some("text/html")));
        assert!(!is_rewritable("GET", 304, Some("text/html")));
        assert!(!is_rewritable("GET", 206, Some("text/html")));
        assert!(!is_rewritable("GET", 200, Some("application/json")));
        assert!(!is_rewritable("GET", 200, None));
        let charset = |ct| html_body("GET", 200, Some(ct)).and_then(|b| b.charset);
        assert_eq!(
            charset("text/html; Charset=\"ISO-8859-1\"").as_deref(),
            Some("iso-8859-1")
        );
        assert_eq!(charset("text/html"), None);
    }

    #[test]
    fn banner_lands_before_a_first_element_that_is_a_held_back_script() {
        for page in [
            "<script>var a = 1;</script><p>x</p>",
            "<script>gtag('config', 'G-1'); function gtag(){}</script><p>x</p>",
        ] {
            let out = String::from_utf8(rewrite_document(&rw(), page.as_bytes()).unwrap()).unwrap();
            assert!(
                out.starts_with("<script src=\"/_gate/banner.js\" defer></script><script"),
                "{out}"
            );
        }
    }

    /// The test rewriter with one configured form path, `/contact`.
    pub(super) fn rw_with_form() -> Rewriter {
        Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_head_html: "<script src=\"/_gate/banner.js\" defer></script>".into(),
                inject_form_html: "<script src=\"/_gate/forms.js\" defer></script>".into(),
                form_paths: vec!["/contact".into()],
                ..RewriteSettings::default()
            },
        )
    }

    #[test]
    fn forms_script_goes_into_pages_with_a_plugin_form_wherever_it_posts() {
        let rw = Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_form_html: "<script src=\"/_gate/forms.js\" defer></script>".into(),
                form_paths: vec!["/contact".into()],
                form_classes: vec!["wpcf7-form".into()],
                ..RewriteSettings::default()
            },
        );
        let count = |page: &str| {
            String::from_utf8(rewrite_document_at(&rw, page.as_bytes(), "/blog/post").unwrap())
                .unwrap()
                .matches("/_gate/forms.js")
                .count()
        };
        let cf7 =
            r#"<form action="/blog/post#wpcf7-f352-o1" method="post" class="wpcf7-form init">"#;
        assert_eq!(
            count(&format!("{cf7}<input name=_wpcf7 value=352></form>")),
            1
        );
        assert_eq!(
            count(r#"<form method="post" class="wpcf7-formx"></form>"#),
            0
        );
        assert_eq!(count(r#"<form method="post" class="search"></form>"#), 0);
    }

    #[test]
    fn forms_script_goes_into_pages_with_a_plugin_form_found_by_its_id() {
        let rw = Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_form_html: "<script src=\"/_gate/forms.js\" defer></script>".into(),
                form_ids: vec!["gform_3".into()],
                ..RewriteSettings::default()
            },
        );
        let count = |page: &str| {
            String::from_utf8(rewrite_document_at(&rw, page.as_bytes(), "/kontakt/").unwrap())
                .unwrap()
                .matches("/_gate/forms.js")
                .count()
        };
        assert_eq!(
            count(r#"<form method='post' id='gform_3' action='/kontakt/'></form>"#),
            1
        );
        assert_eq!(count(r#"<form method='post' id='gform_30'></form>"#), 0);
    }

    #[test]
    fn forms_script_goes_before_the_first_captured_form_even_when_the_page_ends_mid_tag() {
        let page = br#"<html><head></head><body><form class="search"></form><form action="/contact" method="post"></form><form action="/contact"></form><img alt="x"#;
        for size in [1, 7, 4096] {
            let out = rewrite_in_chunks(&rw_with_form(), page, size).unwrap();
            assert!(
                out.contains(r#"</form><script src="/_gate/forms.js" defer></script><form action="/contact" method="post">"#),
                "{out}"
            );
            assert_eq!(out.matches("/_gate/forms.js").count(), 1);
            assert!(out.ends_with(r#"<img alt="x"#), "{out}");
        }
    }

    #[test]
    fn forms_script_goes_only_into_pages_with_a_form_posting_to_a_form_path() {
        let with_form = rw_with_form();
        let count = |page: &str, path: &str| {
            String::from_utf8(rewrite_document_at(&with_form, page.as_bytes(), path).unwrap())
                .unwrap()
                .matches("/_gate/forms.js")
                .count()
        };
        for (page, path) in [
            (
                r#"<form method="post" action="/contact"><input name=a></form>"#,
                "/",
            ),
            (
                r#"<form method="POST" action="contact"></form>"#,
                "/over-ons",
            ),
            (r#"<form method="post"></form>"#, "/contact"),
            (r#"<form method="post" action=""></form>"#, "/contact"),
            (
                r#"<form method="post" action="?lang=nl"></form>"#,
                "/contact",
            ),
            (
                r#"<form method=post action="https://www.stichting.example/contact#f1"></form>"#,
                "/",
            ),
            (
                r#"<form method="post" action="/zoeken"></form><form method="post" action="/contact"></form><form method="post" action="/contact"></form>"#,
                "/",
            ),
        ] {
            assert_eq!(count(page, path), 1, "{page} at {path}");
        }
        for (page, path) in [
            ("<p>no form here</p>", "/contact"),
            (r#"<form method="post" action="/zoeken"></form>"#, "/"),
            (r#"<form action="/contact"></form>"#, "/"),
            (r#"<form method="post"></form>"#, "/over-ons"),
            (
                r#"<form method="post" action="contact"></form>"#,
                "/over-ons/",
            ),
            (
                r#"<noscript><form method="post" action="/contact"></form></noscript>"#,
                "/",
            ),
        ] {
            assert_eq!(count(page, path), 0, "{page} at {path}");
        }
        let without_forms = String::from_utf8(
            rewrite_document_at(
                &rw(),
                br#"<form method="post" action="/contact"></form>"#,
                "/",
            )
            .unwrap(),
        )
        .unwrap();
        assert!(!without_forms.contains("forms.js"), "{without_forms}");
    }

    #[test]
    fn scan_reports_line_and_action() {
        let page = b"<html><head>\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>\n<script type=\"text/plain\" src=\"https://static.hotjar.com/c/hotjar-1.js\"></script>\n<script type=\"text/plain\" data-cookieconsent=\"marketing\">fbq('init', '1');</script></head></html>";
        let findings = scan_document(&rw(), page).unwrap();
        assert_eq!(findings.len(), 3, "{findings:?}");
        assert_eq!(findings[2].vendor_id, "meta_pixel");
        assert_eq!(
            findings[2].action,
            Action::AlreadyInert("text/plain".into())
        );
        assert_eq!(findings[0].line, 2);
        assert_eq!(findings[0].vendor_id, "google_analytics");
        assert_eq!(findings[0].action, Action::Neutralised);
        assert_eq!(findings[1].line, 3);
        assert_eq!(
            findings[1].action,
            Action::AlreadyInert("text/plain".into())
        );
        assert!(findings[0].to_string().contains("Google Analytics"));
    }

    #[test]
    fn posts_and_oembeds_get_one_placeholder_even_when_rewritten_twice() {
        let rw = Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                inject_embed_html: "<script src=\"/_gate/embed.js\" defer></script>".into(),
                ..RewriteSettings::default()
            },
        );
        let page = br#"<html lang="en"><head></head><body><blockquote class="twitter-tweet"><p>Hello</p></blockquote><script async src="https://platform.twitter.com/widgets.js"></script><figure class="media"><oembed url="https://youtu.be/KPnmmIrD0oc"></oembed></figure><figure class="media"><oembed url="https://www.youtube.com/@x"></oembed></figure></body></html>"#;
        let once = rewrite_document(&rw, page).unwrap();
        let text = String::from_utf8(once.clone()).unwrap();
        assert_eq!(text.matches("class=\"cg-embed\"").count(), 3, "{text}");
        assert_eq!(text.matches("/_gate/embed.js").count(), 1, "{text}");
        assert!(
            text.contains(r#"data-cg-src="https://www.youtube.com/embed/KPnmmIrD0oc""#),
            "{text}"
        );
        assert!(
            text.contains(r#"type="text/plain""#),
            "widgets.js inert: {text}"
        );
        let again = scan_document(&rw, &once).unwrap();
        assert!(
            again.iter().all(|f| f.action != Action::Neutralised),
            "{again:?}"
        );
        let twice = String::from_utf8(rewrite_document(&rw, &once).unwrap()).unwrap();
        assert_eq!(twice.matches("class=\"cg-embed\"").count(), 3, "{twice}");
    }

    /// Every form of YouTube embed, a Vimeo one and a post.
    const EMBEDS_PAGE: &[u8] = br#"<html lang="en"><head></head><body><iframe width="560" height="315" src="https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed"></iframe><iframe data-src="https://www.youtube-nocookie.com/embed/abcdefghi_-?rel=0"></iframe><iframe src="https://www.youtube.com/embed/videoseries?list=PL1"></iframe><figure class="media"><oembed url="https://youtu.be/ZZZZZZZZZZZ"></oembed></figure><iframe src="https://player.vimeo.com/video/76979871"></iframe><blockquote class="twitter-tweet"><p>Hello</p></blockquote></body></html>"#;

    #[test]
    fn youtube_placeholders_show_the_gates_thumbnail_only_when_configured() {
        let on = Rewriter::new(
            Arc::new(Catalogue::builtin()),
            RewriteSettings {
                youtube_thumbnails: true,
                ..RewriteSettings::default()
            },
        );
        let whole = rewrite_in_chunks(&on, EMBEDS_PAGE, 4096).unwrap();
        for size in [1, 7] {
            assert_eq!(
                rewrite_in_chunks(&on, EMBEDS_PAGE, size).as_deref(),
                Some(whole.as_str()),
                "chunks of {size}"
            );
        }
        let thumbs: Vec<&str> = whole
            .match_indices("<img src=\"")
            .map(|(at, _)| whole[at + 10..].split('"').next().unwrap())
            .collect();
        // An iframe, a lazy one, an oEmbed; not a playlist (no video id), Vimeo or a post.
        assert_eq!(
            thumbs,
            [
                "/_gate/embed-thumb/youtube/KPnmmIrD0oc.jpg",
                "/_gate/embed-thumb/youtube/abcdefghi_-.jpg",
                "/_gate/embed-thumb/youtube/ZZZZZZZZZZZ.jpg",
            ],
            "{whole}"
        );
        assert!(
            whole.contains(r#"alt="" loading="lazy" width="480" height="360""#),
            "{whole}"
        );
        assert!(!whole.contains("ytimg"), "{whole}");
        let off = rewrite_in_chunks(&rw(), EMBEDS_PAGE, 4096).unwrap();
        assert!(
            !off.contains("<img") && !off.contains("embed-thumb"),
            "{off}"
        );
        // Only the image and its box's positioning differ.
        let stripped = whole
            .replace("position:relative;z-index:0;", "")
            .split("<img ")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('>').map_or(part, |(_, rest)| rest)
                }
            })
            .collect::<String>();
        assert_eq!(
            stripped.replace("<script src=\"/_gate/banner.js\" defer></script>", ""),
            off.replace("<script src=\"/_gate/banner.js\" defer></script>", "")
        );
    }
}
