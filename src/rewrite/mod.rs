//! HTML rewriting: the one streaming pass over every HTML response that injects the banner tags
//! and makes every tracker inert before consent, plus the Content-Encoding layer around it.
//!
//! The output depends only on the input and the configuration, never on the visitor, so shared
//! caches stay correct; consent is applied in the browser by banner.js, which turns the
//! neutralised tags (format below, fixed by DESIGN.md) back into live ones:
//! * external script → `type="text/plain" data-cg-src="…" data-cg-category="…"
//!   data-cg-vendor="…" [data-cg-type="<original type>"]`, `src` removed;
//! * inline script → the same without `data-cg-src`, text kept;
//! * `<img>`/`<iframe>`/`<source>` → `data-cg-src` / `data-cg-srcset`, `data-cg-category`,
//!   `data-cg-vendor`; `<link>` → `data-cg-href`; also inside `<noscript>`.
//!
//! Everything else passes byte-identical. Nothing outside this module knows lol_html.

mod coding;
mod html;
mod memo;

use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use lol_html::AsciiCompatibleEncoding;

pub use coding::{coding_from_header, Coding};
pub use memo::{MemoBodyRewriter, RewriteMemo, MEMO_MAX_BODY};

use crate::config::LimitsConfig;
use crate::trackers::Catalogue;
use coding::{Decoder, Encoder};
use html::{Ctx, PageRewriter, PassState, Selectors, Shared, Sink};

/// Per-gate rewriting settings.
#[derive(Debug, Clone)]
pub struct RewriteSettings {
    /// HTML that must be the very first thing in `<head>`, before any site script: the guard
    /// `<script>` (synchronous). Default empty.
    pub inject_head_first_html: String,
    /// HTML prepended into `<head>` (the banner `<script>` and `<link rel=stylesheet>` with
    /// their content-hashed `/_gate/` URLs and CSP nonce), given by the caller. Default empty.
    pub inject_head_html: String,
    /// HTML appended to a page that holds a `<form method="post">` whose action (resolved
    /// against the page's path; empty = the page itself) is one of `form_paths`: the forms
    /// script. Default empty.
    pub inject_form_html: String,
    /// The configured contact-form paths (`/contact`). Default none: no page gets
    /// `inject_form_html`.
    pub form_paths: Vec<String>,
    /// Memory lol_html may use per response, in bytes; past it the rest of the page passes
    /// through unchanged. Default 1 MiB (`limits.rewrite_max_memory_bytes`).
    pub max_memory: usize,
    /// Longest inline script text held back to look for tracker signatures, in bytes; a longer
    /// script is decided on its first `inline_script_max` bytes. Default 256 KiB
    /// (`limits.inline_script_max_bytes`).
    pub inline_script_max: usize,
}

impl Default for RewriteSettings {
    fn default() -> Self {
        let limits = LimitsConfig::default();
        Self {
            inject_head_first_html: String::new(),
            inject_head_html: String::new(),
            inject_form_html: String::new(),
            form_paths: Vec::new(),
            max_memory: limits.rewrite_max_memory_bytes,
            inline_script_max: limits.inline_script_max_bytes,
        }
    }
}

/// The rewriter of a gate: built once, shared (`Arc` or clone), `Send + Sync`.
#[derive(Clone)]
pub struct Rewriter {
    ctx: Arc<Ctx>,
}

impl Rewriter {
    pub fn new(catalogue: Arc<Catalogue>, settings: RewriteSettings) -> Self {
        Self {
            ctx: Arc::new(Ctx {
                catalogue,
                // Injected where the head tags go, first of them.
                inject_head_html: settings.inject_head_first_html + &settings.inject_head_html,
                inject_form_html: settings.inject_form_html,
                form_paths: settings.form_paths,
                max_memory: settings.max_memory,
                inline_script_max: settings.inline_script_max,
                selectors: Selectors::new(),
            }),
        }
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.ctx.catalogue
    }

    /// Whether the output depends on the page's path (forms are configured: whether a page's
    /// form posts to one of them can depend on where the page is).
    pub fn depends_on_path(&self) -> bool {
        !self.ctx.form_paths.is_empty()
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
    /// e.g. `script src`, `inline script`, `noscript img`, `link rel=preconnect`.
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

enum HtmlStage {
    Rewriting {
        rewriter: Box<PageRewriter>,
        state: Shared,
        out: Arc<Mutex<Vec<u8>>>,
    },
    /// Unsupported charset, or rewriting failed: bytes pass unchanged.
    PassThrough,
}

/// Rewrites one response body. Feed upstream chunks as they arrive with [`push`](Self::push),
/// end with [`finish`](Self::finish); each returns the bytes to send the client (possibly
/// empty). Never fails the response: if decoding or rewriting breaks mid-stream the rest passes
/// through unchanged and a warning is logged. `Send`, not `Sync`.
pub struct BodyRewriter {
    decoder: Option<Decoder>,
    stage: HtmlStage,
    encoder: Option<Encoder>,
    plain: Vec<u8>,
}

fn lock_vec(v: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    v.lock().unwrap_or_else(|p| p.into_inner())
}

impl BodyRewriter {
    /// `upstream`: the body's coding (from [`coding_from_header`]); `client`: the coding to
    /// produce (negotiated at the edge); `charset_from_content_type`: the `charset` parameter of the
    /// upstream Content-Type, if any (otherwise UTF-8 and `<meta charset>` are honoured).
    pub fn new(
        rw: &Rewriter,
        upstream: Coding,
        client: Coding,
        charset_from_content_type: Option<&str>,
    ) -> Self {
        let (stage, _) = html_stage(&rw.ctx, charset_from_content_type);
        Self {
            decoder: Some(Decoder::new(upstream)),
            stage,
            encoder: Some(Encoder::new(client)),
            plain: Vec::new(),
        }
    }

    /// Say where the page is (its request path, without query): a relative or empty form
    /// action is resolved against it. Call before the first [`push`](Self::push); without it
    /// the page counts as being at `/`.
    pub fn at_path(self, path: &str) -> Self {
        if let HtmlStage::Rewriting { state, .. } = &self.stage {
            html::lock(state).page_path = Some(path.into());
        }
        self
    }

    /// Process one upstream chunk; returns the client bytes ready so far.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        if let Some(decoder) = self.decoder.as_mut() {
            if let Err(e) = decoder.push(chunk, &mut plain) {
                tracing::warn!(
                    "cannot decode the upstream HTML body ({e}); sending what was decoded"
                );
                self.decoder = None;
            }
        }
        let html = self.stage_push(&plain);
        self.plain = plain;
        self.encode(html, false)
    }

    /// End of the upstream body; returns the last client bytes.
    pub fn finish(mut self) -> Bytes {
        let mut plain = Vec::new();
        if let Some(decoder) = self.decoder.take() {
            if let Err(e) = decoder.finish(&mut plain) {
                tracing::warn!("upstream HTML body ended early or is corrupt ({e})");
            }
        }
        let mut html = self.stage_push(&plain);
        match std::mem::replace(&mut self.stage, HtmlStage::PassThrough) {
            HtmlStage::Rewriting {
                rewriter,
                out,
                state,
            } => {
                if let Err(e) = rewriter.end() {
                    tracing::warn!("HTML rewriting failed at the end of the page: {e}");
                }
                drop(state);
                html.append(&mut lock_vec(&out));
            }
            HtmlStage::PassThrough => {}
        }
        self.encode(html, true)
    }

    fn stage_push(&mut self, plain: &[u8]) -> Vec<u8> {
        match &mut self.stage {
            HtmlStage::PassThrough => plain.to_vec(),
            HtmlStage::Rewriting {
                rewriter,
                state,
                out,
            } => {
                if plain.is_empty() {
                    return Vec::new();
                }
                html::lock(state).tail.push(plain);
                let result = rewriter.write(plain);
                let html = std::mem::take(&mut *lock_vec(out));
                if result.is_err() {
                    // The bail-out handler logged it and lol_html flushed the unparsed input.
                    self.stage = HtmlStage::PassThrough;
                }
                html
            }
        }
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

/// The HTML stage for a charset: rewriting if lol_html supports it, else pass-through.
fn html_stage(ctx: &Arc<Ctx>, charset: Option<&str>) -> (HtmlStage, Option<Shared>) {
    let (encoding, adjust) = match charset.map(str::trim).filter(|c| !c.is_empty()) {
        None => (AsciiCompatibleEncoding::utf_8(), true),
        Some(label) => {
            let Some(encoding) =
                encoding_rs::Encoding::for_label(label.trim_matches('"').as_bytes())
            else {
                tracing::info!("unknown charset {label:?}: HTML passes through without rewriting");
                return (HtmlStage::PassThrough, None);
            };
            let Some(ascii) = AsciiCompatibleEncoding::new(encoding) else {
                tracing::info!(
                    "charset {} is not ASCII-compatible: HTML passes through without rewriting",
                    encoding.name()
                );
                return (HtmlStage::PassThrough, None);
            };
            (ascii, false)
        }
    };
    let encoding_rs: &'static encoding_rs::Encoding = encoding.into();
    let state = PassState::new(encoding_rs);
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink_out = out.clone();
    let sink: Sink = Box::new(move |bytes: &[u8]| lock_vec(&sink_out).extend_from_slice(bytes));
    let rewriter = html::build(ctx, &state, encoding, adjust, sink, false);
    (
        HtmlStage::Rewriting {
            rewriter: Box::new(rewriter),
            state: state.clone(),
            out,
        },
        Some(state),
    )
}

/// What the rewriter needs to know about a response it rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlBody {
    /// The `charset` parameter of its Content-Type, if any.
    pub charset: Option<String>,
}

/// Whether a response goes through the rewriter: HTML (`text/html` or `application/xhtml+xml`)
/// with a body — not a HEAD request, not 1xx/204/304, not a 206 partial body. `None` when not.
pub fn html_body(method: &str, status: u16, content_type: Option<&str>) -> Option<HtmlBody> {
    if method.eq_ignore_ascii_case("HEAD") || matches!(status, 100..=199 | 204 | 206 | 304) {
        return None;
    }
    let mime: mime::Mime = content_type?.parse().ok()?;
    let html = matches!(mime.essence_str(), "text/html" | "application/xhtml+xml");
    html.then(|| HtmlBody {
        charset: mime
            .get_param(mime::CHARSET)
            .map(|c| c.as_str().to_owned())
            .filter(|c| !c.is_empty()),
    })
}

/// Rewrite a whole UTF-8 (or `<meta charset>`-declared) document, as the gate would send it
/// for a page at `/`.
pub fn rewrite_document(rw: &Rewriter, html: &[u8]) -> Vec<u8> {
    rewrite_document_at(rw, html, "/")
}

/// [`rewrite_document`] for a page at `path` (where relative form actions point).
pub fn rewrite_document_at(rw: &Rewriter, html: &[u8], path: &str) -> Vec<u8> {
    run_document(rw, html, false, path).0
}

/// The trackers in a document and what the gate does with each, in document order; includes
/// trackers another consent tool already made inert (left as they are).
pub fn scan_document(rw: &Rewriter, html: &[u8]) -> Vec<Finding> {
    let (_, raw) = run_document(rw, html, true, "/");
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
    findings
}

fn line_of(html: &[u8], offset: usize) -> usize {
    let end = offset.min(html.len());
    1 + html[..end].iter().filter(|&&b| b == b'\n').count()
}

fn run_document(rw: &Rewriter, html: &[u8], scan: bool, path: &str) -> (Vec<u8>, Vec<RawFinding>) {
    let (stage, state) = html_stage(&rw.ctx, None);
    if let Some(state) = &state {
        let mut st = html::lock(state);
        st.scan = scan;
        st.page_path = Some(path.into());
    }
    let mut body = BodyRewriter {
        decoder: None,
        stage,
        encoder: Some(Encoder::new(Coding::Identity)),
        plain: Vec::new(),
    };
    let mut out = body.push_plain(html);
    out.extend_from_slice(&body.finish());
    let findings = state
        .map(|s| std::mem::take(&mut html::lock(&s).findings))
        .unwrap_or_default();
    (out, findings)
}

impl BodyRewriter {
    fn push_plain(&mut self, plain: &[u8]) -> Vec<u8> {
        self.stage_push(plain)
    }
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
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<html><head><script src=\"/_gate/banner.js\" defer></script><title>x</title></head><body></body></html>"
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
            let out = String::from_utf8(rewrite_document(&rw(), page.as_bytes())).unwrap();
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
    fn forms_script_goes_only_into_pages_with_a_form_posting_to_a_form_path() {
        let with_form = rw_with_form();
        let count = |page: &str, path: &str| {
            String::from_utf8(rewrite_document_at(&with_form, page.as_bytes(), path))
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
        let without_forms = String::from_utf8(rewrite_document_at(
            &rw(),
            br#"<form method="post" action="/contact"></form>"#,
            "/",
        ))
        .unwrap();
        assert!(!without_forms.contains("forms.js"), "{without_forms}");
    }

    #[test]
    fn scan_reports_line_and_action() {
        let page = b"<html><head>\n<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>\n<script type=\"text/plain\" src=\"https://static.hotjar.com/c/hotjar-1.js\"></script>\n<script type=\"text/plain\" data-cookieconsent=\"marketing\">fbq('init', '1');</script></head></html>";
        let findings = scan_document(&rw(), page);
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
}
