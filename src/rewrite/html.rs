//! The lol_html pass: banner injection, tracker neutralisation and (on pages with a configured
//! contact form) the forms script, over one HTML document.
//!
//! Everything the pass decides lives in [`PassState`], shared by the element/text handlers
//! (lol_html calls them while `write` runs) and by the caller, which feeds raw input into the
//! state's [`InputTail`] so that an inline script's start tag can be re-emitted byte for byte
//! once its text has shown whether it is a tracker.

use std::borrow::Cow;
use std::sync::{Arc, Mutex, MutexGuard};

use encoding_rs::Encoding;
use lol_html::html_content::{ContentType, DocumentEnd, EndTag, TextChunk};
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, DocumentContentHandlers, MemorySettings, Selector};

use super::{Action, RawFinding};
use crate::trackers::{Catalogue, Vendor};

/// Immutable per-gate context shared by every pass.
pub(crate) struct Ctx {
    pub catalogue: Arc<Catalogue>,
    pub inject_head_html: String,
    pub inject_form_html: String,
    pub form_paths: Vec<String>,
    pub max_memory: usize,
    pub inline_script_max: usize,
    pub selectors: Selectors,
}

/// Parsed once per gate: lol_html compiles them into each rewriter.
pub(crate) struct Selectors {
    script: Selector,
    /// Scripts whose text can matter: lol_html decodes text only for these.
    script_text: Selector,
    urls: Selector,
    link: Selector,
    noscript: Selector,
    head: Selector,
    body: Selector,
    early: Selector,
    form: Selector,
}

impl Selectors {
    pub fn new() -> Self {
        // Constant selectors; `selectors_parse` in the tests keeps them valid.
        let p = |s: &str| s.parse::<Selector>().expect("constant selector");
        Selectors {
            script: p("script"),
            script_text: p("script:not([src]):not([type=\"application/ld+json\"])"),
            urls: p("img, iframe, source, embed, video, audio, track, input[src]"),
            link: p("link[href]"),
            noscript: p("noscript"),
            head: p("head"),
            body: p("body"),
            // Head content that can open a document whose <head> and <body> tags are omitted.
            // Not <meta>: a <meta charset> should stay first, and pages carry dozens of metas.
            early: p("title, base, style, template"),
            form: p("form"),
        }
    }
}

/// Raw input bytes recently fed to the rewriter, addressed by absolute document offset.
#[derive(Default)]
pub(crate) struct InputTail {
    buf: Vec<u8>,
    base: usize,
}

/// Longest start tag we re-emit from the original bytes; longer ones are rebuilt from attributes.
const TAIL_KEEP: usize = 16 * 1024;

impl InputTail {
    pub fn push(&mut self, chunk: &[u8]) {
        if self.buf.len() > 2 * TAIL_KEEP {
            let drop = self.buf.len() - TAIL_KEEP;
            self.buf.drain(..drop);
            self.base += drop;
        }
        self.buf.extend_from_slice(chunk);
    }

    fn get(&self, range: std::ops::Range<usize>) -> Option<&[u8]> {
        let start = range.start.checked_sub(self.base)?;
        let end = range.end.checked_sub(self.base)?;
        self.buf.get(start..end)
    }
}

/// An inline script whose start tag is held back until its text is known.
struct PendingScript {
    /// The start tag as written (decoded to text), or rebuilt when not available.
    raw_start: String,
    attrs: Vec<(String, Option<String>)>,
    original_type: Option<String>,
    text: String,
    offset: usize,
    /// The text outgrew `inline_script_max`: already emitted unchanged.
    flushed: bool,
}

/// A nested rewriter for the content of a `<noscript>` (plain text to lol_html).
struct NoscriptPass {
    /// `None` once it failed: lol_html panics if a failed rewriter is used again.
    rewriter: Option<PageRewriter>,
    out: Arc<Mutex<Vec<u8>>>,
    state: Shared,
}

/// An inert inline script read only to report it (`consentgate scan`).
struct InertScript {
    text: String,
    offset: usize,
    original_type: String,
}

pub(crate) struct PassState {
    pub injected: bool,
    /// The page's request path, for relative form actions; `None` = `/`.
    pub page_path: Option<Box<str>>,
    /// A form posting to a configured form path was seen: the forms script goes in at the end.
    form_found: bool,
    /// Also report trackers in scripts a browser will not run (scan mode; costs text decoding).
    pub scan: bool,
    inert: Option<InertScript>,
    pub tail: InputTail,
    pub findings: Vec<RawFinding>,
    pub encoding: &'static Encoding,
    pending: Option<PendingScript>,
    noscript: Option<NoscriptPass>,
    /// Inside a `<noscript>`: offsets are relative to `offset_base` and labels say so.
    in_noscript: bool,
    offset_base: usize,
}

pub(crate) type Shared = Arc<Mutex<PassState>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, PassState> {
    // A handler never panics while holding the lock; if one did, the state is still usable.
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl PassState {
    pub fn new(encoding: &'static Encoding) -> Shared {
        Arc::new(Mutex::new(PassState {
            injected: false,
            page_path: None,
            form_found: false,
            scan: false,
            inert: None,
            tail: InputTail::default(),
            findings: Vec::new(),
            encoding,
            pending: None,
            noscript: None,
            in_noscript: false,
            offset_base: 0,
        }))
    }
}

/// Where a rewriter writes its output.
pub(crate) type Sink = Box<dyn FnMut(&[u8]) + Send>;
/// A lol_html rewriter as this module builds it.
pub(crate) type PageRewriter = HtmlRewriter<'static, Sink>;

/// Build the rewriter for a whole document (`noscript == false`) or a noscript fragment.
pub(crate) fn build(
    ctx: &Arc<Ctx>,
    state: &Shared,
    encoding: AsciiCompatibleEncoding,
    adjust_charset: bool,
    sink: Sink,
    noscript: bool,
) -> PageRewriter {
    let sel = &ctx.selectors;
    let mut settings = Settings::new_send()
        .with_encoding(encoding)
        .with_adjust_charset_on_meta_tag(adjust_charset)
        .with_memory_settings(
            MemorySettings::new()
                .with_max_allowed_memory_usage(ctx.max_memory)
                .with_graceful_bail_out_on_memory_limit_exceeded(true),
        )
        .with_graceful_bail_out_on_content_handler_error(true);

    // <script>
    {
        let (c1, s1, c2, s2) = (ctx.clone(), state.clone(), ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.script.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                on_script(&c1, &s1, el, noscript);
                Ok(())
            }),
        ));
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.script_text.clone()),
            ElementContentHandlers::default().text(move |chunk: &mut TextChunk<'_>| {
                on_script_text(&c2, &s2, chunk);
                Ok(())
            }),
        ));
    }
    // <img>, <iframe>, <source> and the rarer embeds that fetch their src
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.urls.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                if !noscript {
                    inject_before(&c, &s, el);
                }
                on_url_element(&c, &s, el);
                Ok(())
            }),
        ));
    }
    // <link href>
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.link.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                if !noscript {
                    inject_before(&c, &s, el);
                }
                on_link(&c, &s, el);
                Ok(())
            }),
        ));
    }
    if !noscript {
        // <noscript> content is text to lol_html: rewrite it with a nested fragment pass.
        let (c1, s1, c2, s2) = (ctx.clone(), state.clone(), ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.noscript.clone()),
            ElementContentHandlers::default()
                .element(move |el: &mut Element<'_, '_>| {
                    inject_before(&c1, &s1, el);
                    Ok(())
                })
                .text(move |chunk: &mut TextChunk<'_>| {
                    on_noscript_text(&c2, &s2, chunk);
                    Ok(())
                }),
        ));
        for (selector, prepend) in [(&sel.head, true), (&sel.body, true), (&sel.early, false)] {
            let (c, s) = (ctx.clone(), state.clone());
            settings = settings.append_element_content_handler((
                Cow::Owned(selector.clone()),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let mut st = lock(&s);
                    if !st.injected {
                        st.injected = true;
                        if prepend {
                            el.prepend(&c.inject_head_html, ContentType::Html);
                        } else {
                            el.before(&c.inject_head_html, ContentType::Html);
                        }
                    }
                    Ok(())
                }),
            ));
        }
        if !ctx.form_paths.is_empty() {
            let (c, s) = (ctx.clone(), state.clone());
            settings = settings.append_element_content_handler((
                Cow::Owned(sel.form.clone()),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let mut st = lock(&s);
                    if !st.form_found {
                        st.form_found = posts_to_a_form_path(&c, st.page_path.as_deref(), el);
                    }
                    Ok(())
                }),
            ));
        }
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_document_content_handler(
            DocumentContentHandlers::default().end(move |end: &mut DocumentEnd<'_>| {
                let mut st = lock(&s);
                let tail = flush_pending(&c, &mut st);
                if !tail.is_empty() {
                    end.append(&tail, ContentType::Html);
                }
                if !st.injected {
                    st.injected = true;
                    end.append(&c.inject_head_html, ContentType::Html);
                }
                // forms.js is deferred, so the end of the page is as good as the form itself.
                if st.form_found {
                    end.append(&c.inject_form_html, ContentType::Html);
                }
                Ok(())
            }),
        );
    }
    let (c, s) = (ctx.clone(), state.clone());
    settings = settings.append_bail_out_handler(
        move |err: &lol_html::errors::RewritingError,
              bail: &mut lol_html::html_content::BailOut<'_>| {
            tracing::warn!(
                "HTML rewriting stopped, rest of the page passes through unchanged: {err}"
            );
            let mut st = lock(&s);
            let tail = flush_pending(&c, &mut st);
            if !tail.is_empty() {
                bail.append(&tail, ContentType::Html);
            }
        },
    );
    HtmlRewriter::new(settings, sink)
}

/// Everything held back (an undecided inline script, an unfinished noscript pass), decided now.
fn flush_pending(ctx: &Ctx, st: &mut PassState) -> String {
    let mut out = String::new();
    if let Some(pending) = st.pending.take() {
        if !pending.flushed {
            out.push_str(&decide_inline(ctx, st, &pending));
            out.push_str(&pending.text);
        }
    }
    if let Some(pass) = st.noscript.take() {
        out.push_str(&finish_noscript(st, pass));
    }
    out
}

/// Whether a `<form>` posts to a configured form path: method POST (forms.js handles no
/// other), and the action, resolved against the page's path as forms.js resolves it (empty or
/// missing = the page itself), has a configured path. An absolute action counts by its path
/// alone: the page's host is not part of what the rewrite may depend on. Character references
/// are not decoded; they do not occur in the paths of form actions.
fn posts_to_a_form_path(ctx: &Ctx, page_path: Option<&str>, el: &Element<'_, '_>) -> bool {
    let post = el
        .get_attribute("method")
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("post"));
    if !post {
        return false;
    }
    let Ok(page) = url::Url::parse("http://page.invalid/")
        .and_then(|base| base.join(page_path.unwrap_or("/")))
    else {
        return false;
    };
    let action = el.get_attribute("action").unwrap_or_default();
    let target = match action.trim() {
        "" => page,
        action => match page.join(action) {
            Ok(url) => url,
            Err(_) => return false,
        },
    };
    ctx.form_paths.iter().any(|p| p == target.path())
}

fn inject_before(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let mut st = lock(state);
    if !st.injected {
        st.injected = true;
        el.before(&ctx.inject_head_html, ContentType::Html);
    }
}

/// How a browser treats a `<script>` by its `type`.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum ScriptKind {
    /// Classic or module script: executed.
    Executable,
    /// `text/partytown`: executed by Partytown in a worker.
    Partytown,
    /// Any other type (JSON, templates, already re-typed by a consent tool): never executed.
    Inert,
}

fn script_kind(ty: Option<&str>) -> ScriptKind {
    let Some(ty) = ty else {
        return ScriptKind::Executable;
    };
    let essence = ty
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        ""
        | "module"
        | "text/javascript"
        | "application/javascript"
        | "text/ecmascript"
        | "application/ecmascript"
        | "application/x-javascript"
        | "application/x-ecmascript"
        | "text/x-javascript"
        | "text/x-ecmascript"
        | "text/jscript"
        | "text/livescript"
        | "text/javascript1.0"
        | "text/javascript1.1"
        | "text/javascript1.2"
        | "text/javascript1.3"
        | "text/javascript1.4"
        | "text/javascript1.5" => ScriptKind::Executable,
        "text/partytown" => ScriptKind::Partytown,
        _ => ScriptKind::Inert,
    }
}

fn record(st: &mut PassState, vendor: &Vendor, element: &str, offset: usize, action: Action) {
    let element = if st.in_noscript {
        format!("noscript {element}")
    } else {
        element.to_owned()
    };
    st.findings.push(RawFinding {
        vendor_id: vendor.id.clone(),
        vendor_name: vendor.name.clone(),
        category: vendor.category.as_str().to_owned(),
        element,
        offset: st.offset_base + offset,
        action,
    });
}

fn mark(el: &mut Element<'_, '_>, vendor: &Vendor) {
    // Names are constants, so setting cannot fail.
    let _ = el.set_attribute("data-cg-category", vendor.category.as_str());
    let _ = el.set_attribute("data-cg-vendor", &vendor.id);
}

fn on_script(ctx: &Arc<Ctx>, state: &Shared, el: &mut Element<'_, '_>, noscript: bool) {
    let offset = el.source_location().bytes().start;
    let ty = el.get_attribute("type");
    let kind = script_kind(ty.as_deref());
    let src = el.get_attribute("src");
    let mut st = lock(state);
    if !noscript && !st.injected {
        st.injected = true;
        el.before(&ctx.inject_head_html, ContentType::Html);
    }
    // A script with a src attribute (even an empty one) never runs its text.
    if let Some(src) = src.as_deref() {
        let Some(vendor) = ctx.catalogue.vendor_for_url(src) else {
            return;
        };
        if kind == ScriptKind::Inert {
            let ty = ty.unwrap_or_default();
            record(
                &mut st,
                vendor,
                "script src",
                offset,
                Action::AlreadyInert(ty),
            );
            return;
        }
        el.remove_attribute("src");
        let _ = el.set_attribute("type", "text/plain");
        let _ = el.set_attribute("data-cg-src", src);
        mark(el, vendor);
        if let Some(ty) = &ty {
            let _ = el.set_attribute("data-cg-type", ty);
        }
        record(&mut st, vendor, "script src", offset, Action::Neutralised);
        return;
    }
    if kind == ScriptKind::Inert && st.scan && !noscript {
        st.inert = Some(InertScript {
            text: String::new(),
            offset,
            original_type: ty.unwrap_or_default(),
        });
        drop(st);
        let (c, s) = (ctx.clone(), state.clone());
        let _ = el.on_end_tag(Box::new(move |_end: &mut EndTag<'_>| {
            let mut st = lock(&s);
            if let Some(script) = st.inert.take() {
                if let Some(vendor) = c.catalogue.vendor_for_inline(&script.text) {
                    let vendor = vendor.clone();
                    let action = Action::AlreadyInert(script.original_type);
                    record(&mut st, &vendor, "inline script", script.offset, action);
                }
            }
            Ok(())
        }));
        return;
    }
    if kind == ScriptKind::Inert || noscript {
        return;
    }
    // Inline script: hold the start tag back until the text shows whether it is a tracker.
    let location = el.source_location().bytes();
    let encoding = st.encoding;
    let raw_start = st
        .tail
        .get(location)
        .map(|raw| encoding.decode_without_bom_handling(raw).0.into_owned());
    let attrs: Vec<(String, Option<String>)> = el
        .attributes()
        .iter()
        .map(|a| {
            let value = a.value_source_location().map(|_| a.value());
            (a.name_preserve_case(), value)
        })
        .collect();
    let raw_start = raw_start.unwrap_or_else(|| rebuild_start_tag(&attrs, &[]));
    el.start_tag().remove();
    st.pending = Some(PendingScript {
        raw_start,
        attrs,
        original_type: ty,
        text: String::new(),
        offset,
        flushed: false,
    });
    drop(st);
    let (ctx_ptr, s) = (ctx.clone(), state.clone());
    let handler = move |end: &mut EndTag<'_>| {
        let mut st = lock(&s);
        if let Some(pending) = st.pending.take() {
            if !pending.flushed {
                let start = decide_inline(&ctx_ptr, &mut st, &pending);
                let mut out = start;
                out.push_str(&pending.text);
                end.before(&out, ContentType::Html);
            }
        }
        Ok(())
    };
    if el.on_end_tag(Box::new(handler)).is_err() {
        // Cannot happen for <script>; keep the page intact if it somehow does.
        let mut st = lock(state);
        if let Some(p) = st.pending.take() {
            el.before(&p.raw_start, ContentType::Html);
        }
    }
}

fn on_script_text(ctx: &Ctx, state: &Shared, chunk: &mut TextChunk<'_>) {
    let mut st = lock(state);
    if let Some(inert) = st.inert.as_mut() {
        if inert.text.len() < ctx.inline_script_max {
            inert.text.push_str(chunk.as_str());
        }
        return;
    }
    let Some(pending) = st.pending.as_mut() else {
        return;
    };
    if pending.flushed {
        return;
    }
    if pending.text.len() + chunk.as_str().len() > ctx.inline_script_max {
        // Too long to hold back: decide on what we have and let the rest stream through.
        let Some(mut p) = st.pending.take() else {
            return;
        };
        let mut out = decide_inline(ctx, &mut st, &p);
        out.push_str(&p.text);
        chunk.before(&out, ContentType::Html);
        p.flushed = true;
        p.text.clear();
        st.pending = Some(p);
        return;
    }
    pending.text.push_str(chunk.as_str());
    chunk.remove();
}

/// The start tag to emit for a held-back inline script: the original, or a neutralised one.
fn decide_inline(ctx: &Ctx, st: &mut PassState, pending: &PendingScript) -> String {
    let Some(vendor) = ctx.catalogue.vendor_for_inline(&pending.text) else {
        return pending.raw_start.clone();
    };
    let mut extra: Vec<(&str, &str)> = vec![
        ("type", "text/plain"),
        ("data-cg-category", vendor.category.as_str()),
        ("data-cg-vendor", &vendor.id),
    ];
    if let Some(ty) = &pending.original_type {
        extra.push(("data-cg-type", ty));
    }
    let kept: Vec<(String, Option<String>)> = pending
        .attrs
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("type"))
        .cloned()
        .collect();
    let tag = rebuild_start_tag(&kept, &extra);
    let vendor = vendor.clone();
    record(
        st,
        &vendor,
        "inline script",
        pending.offset,
        Action::Neutralised,
    );
    tag
}

fn push_attr(out: &mut String, name: &str, value: Option<&str>) {
    out.push(' ');
    out.push_str(name);
    if let Some(value) = value {
        out.push_str("=\"");
        out.push_str(&value.replace('"', "&quot;"));
        out.push('"');
    }
}

fn rebuild_start_tag(attrs: &[(String, Option<String>)], extra: &[(&str, &str)]) -> String {
    let mut out = String::from("<script");
    for (name, value) in attrs {
        push_attr(&mut out, name, value.as_deref());
    }
    for (name, value) in extra {
        push_attr(&mut out, name, Some(value));
    }
    out.push('>');
    out
}

fn on_url_element(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let src = el.get_attribute("src");
    let srcset = el.get_attribute("srcset");
    let by_src = src.as_deref().and_then(|s| ctx.catalogue.vendor_for_url(s));
    let by_srcset = srcset.as_deref().and_then(|set| {
        set.split(',').find_map(|candidate| {
            let url = candidate.split_ascii_whitespace().next()?;
            ctx.catalogue.vendor_for_url(url)
        })
    });
    let Some(vendor) = by_src.or(by_srcset) else {
        return;
    };
    let tag = el.tag_name();
    let offset = el.source_location().bytes().start;
    if let (Some(src), Some(_)) = (&src, by_src) {
        el.remove_attribute("src");
        let _ = el.set_attribute("data-cg-src", src);
    }
    if let (Some(set), Some(_)) = (&srcset, by_srcset) {
        el.remove_attribute("srcset");
        let _ = el.set_attribute("data-cg-srcset", set);
    }
    mark(el, vendor);
    let mut st = lock(state);
    record(&mut st, vendor, &tag, offset, Action::Neutralised);
}

fn on_link(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let Some(href) = el.get_attribute("href") else {
        return;
    };
    let Some(vendor) = ctx.catalogue.vendor_for_url(&href) else {
        return;
    };
    // Any link to a tracker host: preload/prefetch/preconnect/dns-prefetch contact it, and
    // stylesheets, icons or manifests would too.
    let offset = el.source_location().bytes().start;
    let rel = el
        .get_attribute("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    el.remove_attribute("href");
    let _ = el.set_attribute("data-cg-href", &href);
    mark(el, vendor);
    let label = if rel.trim().is_empty() {
        "link".to_owned()
    } else {
        format!("link rel={}", rel.trim())
    };
    let mut st = lock(state);
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

fn on_noscript_text(ctx: &Arc<Ctx>, state: &Shared, chunk: &mut TextChunk<'_>) {
    let mut st = lock(state);
    if st.noscript.is_none() {
        let inner = PassState::new(encoding_rs::UTF_8);
        {
            let mut inner_st = lock(&inner);
            inner_st.in_noscript = true;
            inner_st.offset_base = chunk.source_location().bytes().start;
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink_out = out.clone();
        let sink: Sink = Box::new(move |bytes: &[u8]| {
            sink_out
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend_from_slice(bytes)
        });
        let rewriter = build(
            ctx,
            &inner,
            AsciiCompatibleEncoding::utf_8(),
            false,
            sink,
            true,
        );
        st.noscript = Some(NoscriptPass {
            rewriter: Some(rewriter),
            out,
            state: inner,
        });
    }
    let last = chunk.last_in_text_node();
    let mut produced = String::new();
    let mut untouched = false;
    if let Some(pass) = st.noscript.as_mut() {
        match pass.rewriter.as_mut() {
            Some(rewriter) => {
                if rewriter.write(chunk.as_str().as_bytes()).is_err() {
                    // It bailed out and flushed its input unchanged; the rest passes as is.
                    pass.rewriter = None;
                }
                produced = take_utf8(&pass.out);
            }
            None => untouched = true,
        }
    }
    if last {
        if let Some(pass) = st.noscript.take() {
            produced.push_str(&finish_noscript(&mut st, pass));
        }
    }
    if untouched {
        if !produced.is_empty() {
            chunk.before(&produced, ContentType::Html);
        }
        return;
    }
    chunk.replace(&produced, ContentType::Html);
}

fn take_utf8(out: &Arc<Mutex<Vec<u8>>>) -> String {
    let bytes = std::mem::take(&mut *out.lock().unwrap_or_else(|p| p.into_inner()));
    // The nested pass only ever saw UTF-8 and writes UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn finish_noscript(st: &mut PassState, pass: NoscriptPass) -> String {
    let NoscriptPass {
        rewriter,
        out,
        state,
    } = pass;
    if let Some(rewriter) = rewriter {
        let _ = rewriter.end();
    }
    let produced = take_utf8(&out);
    let mut inner = lock(&state);
    st.findings.append(&mut inner.findings);
    produced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_parse() {
        let _ = Selectors::new();
    }

    #[test]
    fn script_types_are_classified_like_a_browser() {
        assert_eq!(script_kind(None), ScriptKind::Executable);
        assert_eq!(script_kind(Some("")), ScriptKind::Executable);
        assert_eq!(script_kind(Some("Text/JavaScript")), ScriptKind::Executable);
        assert_eq!(script_kind(Some("module")), ScriptKind::Executable);
        assert_eq!(script_kind(Some("text/partytown")), ScriptKind::Partytown);
        for inert in [
            "text/plain",
            "application/ld+json",
            "text/template",
            "rocketlazyloadscript",
            "pmdelayedscript",
            "7c64834a4866de0a97f6e403-text/javascript",
            "opt-in",
        ] {
            assert_eq!(script_kind(Some(inert)), ScriptKind::Inert, "{inert}");
        }
    }
}
