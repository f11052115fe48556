//! The lol_html pass: injection of the gate's tags, tracker neutralisation and (on pages with a
//! configured contact form) the forms script, over one HTML document — and, nested, over the
//! text of each `<noscript>` and the document of each `<iframe srcdoc>`.
//!
//! Everything the pass decides lives in [`PassState`], shared by the element/text handlers
//! (lol_html calls them while `write` runs) and by the caller, which feeds raw input into the
//! state's [`InputTail`] so that a held-back start tag (inline `<script>`, `<style>`) can be
//! re-emitted byte for byte once its text has shown whether it is a tracker's.
//!
//! Nothing fails open: a handler that meets something it cannot make safe returns an error,
//! and lol_html's graceful bail-outs are off, so the caller gets the error and never the rest
//! of the page unchanged.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use encoding_rs::Encoding;
use lol_html::html_content::{ContentType, DocumentEnd, EndTag, TextChunk};
use lol_html::send::{Element, ElementContentHandlers, HtmlRewriter, Settings};
use lol_html::{AsciiCompatibleEncoding, DocumentContentHandlers, MemorySettings, Selector};

use super::css;
use super::embed;
use super::inject::{escape_attr, with_site_vendors, Injection};
use super::{Action, RawFinding};
use crate::trackers::{Catalogue, SiteVendors, Vendor};

/// Immutable per-gate context shared by every pass.
pub(crate) struct Ctx {
    pub catalogue: Arc<Catalogue>,
    /// The guard and the banner tags, injected together (guard first), without the site's
    /// vendors.
    pub inject_head: Injection,
    /// The guard's and the banner's HTML as given, to add the site's vendors to.
    pub head_parts: (String, String),
    /// The vendors the site uses, named on the banner tag.
    pub site: Option<Arc<SiteVendors>>,
    /// The head tags for the last generation of `site` asked for.
    pub head_cache: Mutex<Option<Arc<Head>>>,
    /// The guard alone: what an `<iframe srcdoc>` document gets.
    pub inject_first: Injection,
    pub inject_form: Injection,
    /// embed.js: appended to a page that got a click-to-load placeholder.
    pub inject_embed: Injection,
    /// Placeholder language when the page names none (`consent.default_language`).
    pub embed_language: String,
    /// YouTube players load from youtube-nocookie.com (`[embeds.youtube] nocookie`).
    pub youtube_nocookie: bool,
    /// YouTube placeholders show the thumbnail the gate serves (`[embeds.youtube] thumbnails`).
    pub youtube_thumbnails: bool,
    pub form_paths: Vec<String>,
    pub form_classes: Vec<String>,
    pub form_ids: Vec<String>,
    pub max_memory: usize,
    pub inline_script_max: usize,
    pub selectors: Selectors,
}

/// The head tags a page gets: the guard and the banner, the banner naming the site's vendors
/// as they were in `generation`.
#[derive(Debug)]
pub(crate) struct Head {
    pub generation: u64,
    pub tags: Injection,
}

impl Ctx {
    /// The head tags for the site's vendors as they are now: built once per generation (the
    /// set grows rarely), shared by every page until it grows again.
    pub fn head(&self) -> Arc<Head> {
        let Some(site) = &self.site else {
            return Arc::new(Head {
                generation: 0,
                tags: self.inject_head.clone(),
            });
        };
        let set = site.current();
        let mut cache = self
            .head_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(head) = cache.as_ref().filter(|h| h.generation == set.generation) {
            return head.clone();
        }
        let (first, banner) = &self.head_parts;
        let head = Arc::new(Head {
            generation: set.generation,
            tags: Injection::new(format!("{first}{}", with_site_vendors(banner, &set.ids))),
        });
        *cache = Some(head.clone());
        head
    }
}

/// Deepest `<iframe srcdoc>` nesting rewritten; a deeper one fails the page (fail closed).
const MAX_SRCDOC_DEPTH: u8 = 8;

/// Which document a pass reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// A whole page: gets the guard and banner (and the forms script when it has a form).
    Document,
    /// The text of a `<noscript>`: trackers neutralised, nothing injected.
    Noscript,
    /// The document of an `<iframe srcdoc>` at this depth: trackers neutralised, the guard
    /// injected.
    Srcdoc(u8),
}

/// How a fetching attribute's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// One URL.
    Url,
    /// A `srcset`: comma-separated candidates, each a URL and a descriptor.
    SrcSet,
    /// Space-separated URLs (`ping`).
    List,
}

/// Elements that fetch from attributes by their tag name (one selector, so lol_html compiles
/// one program).
const FETCHING: &str =
    "img, iframe, frame, source, embed, video, audio, track, input[src], object, \
     base[href], image, use, feimage";

/// Attributes that fetch on any element: lol_html must read every tag's attributes for these,
/// so they are a selector of their own, apart from the tag-name ones. A `src` on an element
/// that browsers do not fetch for is still a tracker's URL where a script reads it (AMP's
/// `<amp-pixel src>`, players' custom elements): inert like the rest. Scripts have their own.
const ANY_ELEMENT: &str = "[style], [background], a[ping], area[ping], [src]:not(script)";

/// The attributes an element (by lower-case tag name) fetches from, besides [`ANY_ELEMENT`]'s.
fn fetching_attrs(tag: &str) -> &'static [(&'static str, Kind)] {
    match tag {
        "base" => &[("href", Kind::Url)],
        // SVG: lol_html matches tag names case-insensitively (feImage).
        "image" | "use" | "feimage" => &[("href", Kind::Url), ("xlink:href", Kind::Url)],
        _ => &[
            ("src", Kind::Url),
            ("srcset", Kind::SrcSet),
            ("poster", Kind::Url),
            ("data", Kind::Url),
        ],
    }
}

/// `ping`, `background` and `src`, wherever they are.
const ANY_ELEMENT_ATTRS: &[(&str, Kind)] = &[
    ("ping", Kind::List),
    ("background", Kind::Url),
    ("src", Kind::Url),
];

/// Parsed once per gate: lol_html compiles them into each rewriter.
pub(crate) struct Selectors {
    script: Selector,
    /// Scripts whose text can matter: lol_html decodes text only for these.
    script_text: Selector,
    style: Selector,
    fetching: Selector,
    any_element: Selector,
    link: Selector,
    srcdoc: Selector,
    noscript: Selector,
    head: Selector,
    meta: Selector,
    body: Selector,
    early: Selector,
    form: Selector,
    html: Selector,
    end_probe: Selector,
    /// Markup a vendor's script renders into a post, and CKEditor's `<oembed url>`.
    script_embed: Selector,
}

impl Selectors {
    pub fn new() -> Self {
        // Constant selectors; `selectors_parse` in the tests keeps them valid.
        let p = |s: &str| s.parse::<Selector>().expect("constant selector");
        Selectors {
            script: p("script"),
            script_text: p("script:not([src]):not([type=\"application/ld+json\"])"),
            style: p("style"),
            fetching: p(FETCHING),
            any_element: p(ANY_ELEMENT),
            link: p("link"),
            srcdoc: p("iframe[srcdoc]"),
            noscript: p("noscript"),
            head: p("head"),
            meta: p("meta"),
            body: p("body"),
            // Content that can run or fetch something in a document whose <head> and <body>
            // tags are omitted: the gate's tags go before it. Not <meta charset>, which should
            // stay first, nor the dozens of other metas a page carries.
            early: p("title, base, style, template"),
            form: p("form"),
            html: p("html"),
            end_probe: p(END_PROBE_TAG),
            script_embed: p(&embed::script_embed_selector()),
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

/// What a held-back element is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeldKind {
    Script,
    Style,
}

/// An inline `<script>` or a `<style>` whose start tag is held back until its text is known.
struct Pending {
    kind: HeldKind,
    /// The start tag as written (decoded to text), or rebuilt when not available.
    raw_start: String,
    attrs: Vec<(String, Option<String>)>,
    original_type: Option<String>,
    text: String,
    offset: usize,
    /// The text outgrew `inline_script_max`: already emitted unchanged, the rest streams and is
    /// only watched (`carry`: the end of what was seen, so a signature across chunks is found).
    flushed: bool,
    carry: String,
}

/// A nested rewriter for the content of a `<noscript>` (plain text to lol_html).
struct NoscriptPass {
    rewriter: PageRewriter,
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
    /// An `application/xhtml+xml` page: injected tags in their XML form.
    pub xhtml: bool,
    /// The page's request path, for relative form actions; `None` = `/`.
    pub page_path: Option<Box<str>>,
    /// A form posting to a configured form path was seen (the forms script went in before it).
    form_found: bool,
    /// Markup appended after the input would be parsed as markup (see [`EndProbe`]); only
    /// asked when nothing took the gate's tags before the end.
    pub ends_in_markup: bool,
    /// Also report trackers in scripts a browser will not run (scan mode; costs text decoding).
    pub scan: bool,
    /// `<html lang>`, for the placeholders' language.
    lang: Option<String>,
    /// Click-to-load placeholders made so far (numbers their element ids).
    embeds: usize,
    inert: Option<InertScript>,
    pub tail: InputTail,
    pub findings: Vec<RawFinding>,
    pub encoding: &'static Encoding,
    pending: Option<Pending>,
    noscript: Option<NoscriptPass>,
    /// In a nested pass: finding labels start with this, offsets with `offset_base`.
    label_prefix: &'static str,
    offset_base: usize,
    /// Absolute origins the page fetches from (script, frame, image, media, link), when asked
    /// for ([`BodyRewriter::reporting_found`](super::BodyRewriter::reporting_found));
    /// at most [`MAX_PAGE_ORIGINS`].
    pub origins: Option<Vec<String>>,
    /// The head tags of this page (a whole page's pass); `None`: the context's, without the
    /// site's vendors.
    pub head: Option<Arc<Head>>,
}

/// Most origins noted per page.
pub(crate) const MAX_PAGE_ORIGINS: usize = 64;

impl PassState {
    /// Note the origin of `url` if it is absolute (or scheme-relative) http(s) and origins are
    /// collected. Relative URLs, the common case, cost one prefix test.
    fn note_origin(&mut self, url: &str) {
        let Some(origins) = self.origins.as_mut() else {
            return;
        };
        let url = url.trim_start();
        let lower = |n: usize| url.get(..n).map(str::to_ascii_lowercase);
        let absolute = if url.starts_with("//") {
            format!("https:{url}")
        } else if lower(7).as_deref() == Some("http://") || lower(8).as_deref() == Some("https://")
        {
            url.to_owned()
        } else {
            return;
        };
        if origins.len() >= MAX_PAGE_ORIGINS {
            return;
        }
        if let Some(origin) = crate::config::origin_of(&absolute) {
            if !origins.contains(&origin) {
                origins.push(origin);
            }
        }
    }
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
            xhtml: false,
            page_path: None,
            form_found: false,
            ends_in_markup: false,
            scan: false,
            lang: None,
            embeds: 0,
            inert: None,
            tail: InputTail::default(),
            findings: Vec::new(),
            encoding,
            pending: None,
            noscript: None,
            label_prefix: "",
            offset_base: 0,
            origins: None,
            head: None,
        }))
    }
}

/// Where a rewriter writes its output.
pub(crate) type Sink = Box<dyn FnMut(&[u8]) + Send>;
/// A lol_html rewriter as this module builds it.
pub(crate) type PageRewriter = HtmlRewriter<'static, Sink>;

/// The start tag [`EndProbe`] appends: a name no page uses.
const END_PROBE_TAG: &str = "consentgate-end-probe";

/// Whether markup appended after a document would be parsed as markup: a second lol_html pass
/// over the same input, without handlers of its own, that ends with a probe start tag and
/// reports whether the tokenizer saw it as an element there. Fed only while nothing has taken
/// the gate's tags yet (documents without `<head>` or `<body>`), so real pages never pay for it.
pub(crate) struct EndProbe {
    rewriter: Option<PageRewriter>,
    fed: usize,
    found_at: Arc<AtomicUsize>,
}

impl EndProbe {
    pub fn new(ctx: &Ctx, encoding: AsciiCompatibleEncoding) -> Self {
        let found_at = Arc::new(AtomicUsize::new(usize::MAX));
        let seen = found_at.clone();
        let settings = Settings::new_send()
            .with_encoding(encoding)
            .with_memory_settings(
                MemorySettings::new().with_max_allowed_memory_usage(ctx.max_memory),
            )
            .append_element_content_handler((
                Cow::Owned(ctx.selectors.end_probe.clone()),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    seen.store(el.source_location().bytes().start, Ordering::Relaxed);
                    Ok(())
                }),
            ));
        let discard: Sink = Box::new(|_: &[u8]| {});
        EndProbe {
            rewriter: Some(HtmlRewriter::new(settings, discard)),
            fed: 0,
            found_at,
        }
    }

    /// The probe over a whole document at once.
    pub fn over(ctx: &Ctx, encoding: AsciiCompatibleEncoding, html: &[u8]) -> bool {
        let mut probe = EndProbe::new(ctx, encoding);
        probe.write(html);
        probe.ends_in_markup()
    }

    /// The next input bytes, exactly as the page's own pass gets them.
    pub fn write(&mut self, input: &[u8]) {
        self.fed += input.len();
        if let Some(rewriter) = self.rewriter.as_mut() {
            if rewriter.write(input).is_err() {
                // Past the memory limit: no answer, which counts as "no".
                self.rewriter = None;
            }
        }
    }

    /// True when a start tag appended after everything written would be an element.
    pub fn ends_in_markup(mut self) -> bool {
        let Some(mut rewriter) = self.rewriter.take() else {
            return false;
        };
        let probe = format!("<{END_PROBE_TAG}>");
        rewriter.write(probe.as_bytes()).is_ok()
            && rewriter.end().is_ok()
            && self.found_at.load(Ordering::Relaxed) == self.fed
    }
}

/// Why a handler refused to go on.
type HandlerError = Box<dyn std::error::Error + Send + Sync>;

fn refuse(why: impl Into<String>) -> HandlerError {
    why.into().into()
}

/// Build the rewriter for a document, a noscript fragment or a srcdoc document.
pub(crate) fn build(
    ctx: &Arc<Ctx>,
    state: &Shared,
    encoding: AsciiCompatibleEncoding,
    adjust_charset: bool,
    sink: Sink,
    mode: Mode,
) -> PageRewriter {
    let sel = &ctx.selectors;
    // No graceful bail-out: past the memory limit, or when a handler refuses, the caller gets
    // an error instead of the rest of the page passed through unchanged.
    let mut settings = Settings::new_send()
        .with_encoding(encoding)
        .with_adjust_charset_on_meta_tag(adjust_charset)
        .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(ctx.max_memory));
    let injects = mode != Mode::Noscript;

    // <script>
    {
        let (c1, s1, c2, s2) = (ctx.clone(), state.clone(), ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.script.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                on_script(&c1, &s1, el, mode);
                Ok(())
            }),
        ));
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.script_text.clone()),
            ElementContentHandlers::default()
                .text(move |chunk: &mut TextChunk<'_>| on_held_text(&c2, &s2, chunk)),
        ));
    }
    // <style>: held back like an inline script, its sheet read for tracker url()s.
    {
        let (c1, s1, c2, s2) = (ctx.clone(), state.clone(), ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.style.clone()),
            ElementContentHandlers::default()
                .element(move |el: &mut Element<'_, '_>| {
                    hold_start_tag(&c1, &s1, el, HeldKind::Style);
                    Ok(())
                })
                .text(move |chunk: &mut TextChunk<'_>| on_held_text(&c2, &s2, chunk)),
        ));
    }
    // Every element that fetches from an attribute.
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.fetching.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                if injects {
                    inject_before(&c, &s, el);
                }
                if mode == Mode::Document && el.tag_name() == "iframe" {
                    on_embed_iframe(&c, &s, el);
                }
                on_fetching(&c, &s, el, fetching_attrs(&el.tag_name()));
                Ok(())
            }),
        ));
    }
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.any_element.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                // A style attribute alone fetches nothing once its tracker URLs are gone:
                // only a ping or background places the gate's tags.
                if injects && (el.has_attribute("ping") || el.has_attribute("background")) {
                    inject_before(&c, &s, el);
                }
                on_fetching(&c, &s, el, ANY_ELEMENT_ATTRS);
                on_style_attr(&c, &s, el);
                Ok(())
            }),
        ));
    }
    // <link>
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.link.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                if injects {
                    inject_before(&c, &s, el);
                }
                on_link(&c, &s, el);
                Ok(())
            }),
        ));
    }
    // <iframe srcdoc>: its document rewritten like a page.
    {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.srcdoc.clone()),
            ElementContentHandlers::default()
                .element(move |el: &mut Element<'_, '_>| on_srcdoc(&c, &s, el, mode)),
        ));
    }
    if mode == Mode::Document {
        // <noscript> content is text to lol_html: rewrite it with a nested fragment pass.
        let (c1, s1, c2, s2) = (ctx.clone(), state.clone(), ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.noscript.clone()),
            ElementContentHandlers::default()
                .element(move |el: &mut Element<'_, '_>| {
                    inject_before(&c1, &s1, el);
                    Ok(())
                })
                .text(move |chunk: &mut TextChunk<'_>| on_noscript_text(&c2, &s2, chunk)),
        ));
    }
    if injects {
        settings = injection_handlers(ctx, state, settings);
    }
    if mode == Mode::Document {
        // The page's language, for click-to-load placeholders.
        let s = state.clone();
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.html.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                lock(&s).lang = el.get_attribute("lang");
                Ok(())
            }),
        ));
    }
    if mode == Mode::Document {
        // Posts rendered by a vendor's script, and CKEditor's <oembed>: placeholders too.
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.script_embed.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                if el.tag_name() == "oembed" {
                    on_oembed(&c, &s, el);
                } else {
                    on_script_embed(&c, &s, el);
                }
                Ok(())
            }),
        ));
    }
    if mode == Mode::Document && ctx.finds_forms() {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.form.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                let mut st = lock(&s);
                if !st.form_found
                    && (posts_to_a_form_path(&c, st.page_path.as_deref(), el)
                        || has_a_form_class(&c, el))
                {
                    st.form_found = true;
                    // forms.js is deferred, so before the first form is as good as the end of
                    // the page — and unlike the end, always a place where a tag can go.
                    el.before(c.inject_form.for_page(st.xhtml), ContentType::Html);
                }
                Ok(())
            }),
        ));
    }
    HtmlRewriter::new(settings, sink)
}

/// The markup a pass injects: guard and banner for a page, the guard alone for a srcdoc.
fn injection(ctx: &Ctx, st: &PassState) -> String {
    let inj = if st.label_prefix.is_empty() {
        st.head.as_ref().map_or(&ctx.inject_head, |head| &head.tags)
    } else {
        &ctx.inject_first
    };
    inj.for_page(st.xhtml).to_owned()
}

/// Where the gate's tags go: as the first element of `<head>` (after a leading `<meta
/// charset>`, which must stay within the first 1024 bytes), else before the first element
/// that can run or fetch anything, else at the end — if the end is a place where a tag can go.
fn injection_handlers(
    ctx: &Arc<Ctx>,
    state: &Shared,
    mut settings: Settings<'static, 'static>,
) -> Settings<'static, 'static> {
    let sel = &ctx.selectors;
    {
        // A <meta> is the first thing the tags may meet (the first child of <head>): after a
        // charset declaration, before anything else. Every other element that can open a
        // head (title, base, style, script, link, noscript, template) has its own handler;
        // tag-name selectors keep lol_html on its fast path, where `head > :first-child`
        // would make it track every element.
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.meta.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                let mut st = lock(&s);
                if !st.injected {
                    st.injected = true;
                    let html = injection(&c, &st);
                    if declares_charset(el) {
                        el.after(&html, ContentType::Html);
                    } else {
                        el.before(&html, ContentType::Html);
                    }
                }
                Ok(())
            }),
        ));
    }
    {
        // A <head> without elements: before its end tag.
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(sel.head.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                let (c, s) = (c.clone(), s.clone());
                el.on_end_tag(Box::new(move |end: &mut EndTag<'_>| {
                    let mut st = lock(&s);
                    if !st.injected {
                        st.injected = true;
                        end.before(&injection(&c, &st), ContentType::Html);
                    }
                    Ok(())
                }))
            }),
        ));
    }
    for (selector, prepend) in [(&sel.body, true), (&sel.early, false)] {
        let (c, s) = (ctx.clone(), state.clone());
        settings = settings.append_element_content_handler((
            Cow::Owned(selector.clone()),
            ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                let mut st = lock(&s);
                // A charset declaration stays ahead of the tags (the prescan reads 1024 bytes).
                if !st.injected && !declares_charset(el) {
                    st.injected = true;
                    let html = injection(&c, &st);
                    if prepend {
                        el.prepend(&html, ContentType::Html);
                    } else {
                        el.before(&html, ContentType::Html);
                    }
                }
                Ok(())
            }),
        ));
    }
    let (c, s) = (ctx.clone(), state.clone());
    settings.append_document_content_handler(DocumentContentHandlers::default().end(
        move |end: &mut DocumentEnd<'_>| {
            let mut st = lock(&s);
            let tail = flush_pending(&mut st)?;
            if !tail.is_empty() {
                end.append(&tail, ContentType::Html);
            }
            if !st.injected {
                // Appended to input that ends inside a tag, the tags' first quote or `>` would
                // complete it — a tracker's `<img src="…` included, never neutralised.
                if !st.ends_in_markup {
                    return Err(refuse(
                        "the page has no element before which the gate's tags could go and \
                         ends inside a tag, a comment or raw text",
                    ));
                }
                st.injected = true;
                end.append(&injection(&c, &st), ContentType::Html);
            }
            Ok(())
        },
    ))
}

/// `<meta charset>` or `<meta http-equiv="content-type">`: what the charset prescan reads.
fn declares_charset(el: &Element<'_, '_>) -> bool {
    el.tag_name() == "meta"
        && (el.has_attribute("charset")
            || el
                .get_attribute("http-equiv")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-type")))
}

/// Everything held back at the end of the input (an unfinished noscript pass; an inline script
/// or style still held refuses the page), decided now.
fn flush_pending(st: &mut PassState) -> Result<String, HandlerError> {
    let mut out = String::new();
    if let Some(pending) = st.pending.take() {
        // Its text's last chunk releases a held element; one still held here had no end to its
        // text, and what the input ended with could swallow a start tag appended after it.
        if !pending.flushed {
            return Err(refuse(
                "an inline script or stylesheet whose text never ended",
            ));
        }
    }
    if let Some(pass) = st.noscript.take() {
        out.push_str(&finish_noscript(st, pass)?);
    }
    Ok(out)
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

/// Whether `el`'s class list holds one of the form plugins' classes, or its id is one of
/// theirs.
fn has_a_form_class(ctx: &Ctx, el: &Element<'_, '_>) -> bool {
    let by_class = el.get_attribute("class").is_some_and(|classes| {
        classes
            .split_ascii_whitespace()
            .any(|c| ctx.form_classes.iter().any(|wanted| wanted == c))
    });
    by_class
        || el
            .get_attribute("id")
            .is_some_and(|id| ctx.form_ids.iter().any(|wanted| *wanted == id.trim()))
}

impl Ctx {
    /// Whether pages are looked at for forms at all.
    pub(crate) fn finds_forms(&self) -> bool {
        !self.form_paths.is_empty() || !self.form_classes.is_empty() || !self.form_ids.is_empty()
    }
}

fn inject_before(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let mut st = lock(state);
    if !st.injected {
        st.injected = true;
        el.before(&injection(ctx, &st), ContentType::Html);
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
    st.findings.push(RawFinding {
        vendor_id: vendor.id.clone(),
        vendor_name: vendor.name.clone(),
        category: vendor.category.as_str().to_owned(),
        element: format!("{}{element}", st.label_prefix),
        offset: st.offset_base + offset,
        action,
    });
}

/// Label the element with the vendor whose consent releases it; an element that holds URLs
/// of several vendors keeps the strictest category.
fn mark(ctx: &Ctx, el: &mut Element<'_, '_>, vendor: &Vendor) {
    let earlier = el
        .get_attribute("data-cg-vendor")
        .and_then(|id| ctx.catalogue.vendor(&id));
    if earlier.is_some_and(|e| e.category.strictness() >= vendor.category.strictness()) {
        return;
    }
    // Names are constants, so setting cannot fail.
    let _ = el.set_attribute("data-cg-category", vendor.category.as_str());
    let _ = el.set_attribute("data-cg-vendor", &vendor.id);
}

/// `data-cg-<name>`: where the original value of a fetching attribute goes (`xlink:href` →
/// `data-cg-xlink-href`).
fn data_name(name: &str) -> String {
    format!("data-cg-{}", name.replace(':', "-"))
}

fn on_script(ctx: &Arc<Ctx>, state: &Shared, el: &mut Element<'_, '_>, mode: Mode) {
    let offset = el.source_location().bytes().start;
    let ty = el.get_attribute("type");
    let kind = script_kind(ty.as_deref());
    let src = el.get_attribute("src");
    {
        let mut st = lock(state);
        if mode != Mode::Noscript && !st.injected {
            st.injected = true;
            el.before(&injection(ctx, &st), ContentType::Html);
        }
    }
    // SVG scripts load from href / xlink:href (and then never run their text).
    if el.namespace_uri() == SVG_NS && (el.has_attribute("href") || el.has_attribute("xlink:href"))
    {
        on_fetching(
            ctx,
            state,
            el,
            &[("href", Kind::Url), ("xlink:href", Kind::Url)],
        );
        return;
    }
    let mut st = lock(state);
    // A script with a src attribute (even an empty one) never runs its text.
    if let Some(src) = src.as_deref() {
        st.note_origin(src);
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
        mark(ctx, el, vendor);
        if let Some(ty) = &ty {
            let _ = el.set_attribute("data-cg-type", ty);
        }
        record(&mut st, vendor, "script src", offset, Action::Neutralised);
        return;
    }
    if kind == ScriptKind::Inert && st.scan && mode == Mode::Document {
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
                if let Some(found) = c.catalogue.inline_tracker(&script.text) {
                    let action = Action::AlreadyInert(script.original_type);
                    let label = inline_label(found.usage_only);
                    record(&mut st, found.vendor, label, script.offset, action);
                }
            }
            Ok(())
        }));
        return;
    }
    if kind == ScriptKind::Inert || mode == Mode::Noscript {
        return;
    }
    drop(st);
    hold_start_tag(ctx, state, el, HeldKind::Script);
}

const SVG_NS: &str = "http://www.w3.org/2000/svg";

fn inline_label(usage_only: bool) -> &'static str {
    if usage_only {
        "inline script (API calls)"
    } else {
        "inline script"
    }
}

/// Hold an element's start tag back until its text shows whether it is a tracker's.
fn hold_start_tag(ctx: &Arc<Ctx>, state: &Shared, el: &mut Element<'_, '_>, kind: HeldKind) {
    let mut st = lock(state);
    let location = el.source_location().bytes();
    let offset = location.start;
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
    let tag = el.tag_name_preserve_case();
    let raw_start = raw_start.unwrap_or_else(|| rebuild_start_tag(&tag, &attrs, &[]));
    el.start_tag().remove();
    st.pending = Some(Pending {
        kind,
        raw_start,
        attrs,
        original_type: el.get_attribute("type"),
        text: String::new(),
        offset,
        flushed: false,
        carry: String::new(),
    });
    drop(st);
    let (ctx_ptr, s) = (ctx.clone(), state.clone());
    let handler = move |end: &mut EndTag<'_>| {
        let mut st = lock(&s);
        if let Some(pending) = st.pending.take() {
            if !pending.flushed {
                let out = decide_held(&ctx_ptr, &mut st, &pending);
                end.before(&out, ContentType::Html);
            }
        }
        Ok(())
    };
    if el.on_end_tag(Box::new(handler)).is_err() {
        // Cannot happen for <script> or <style>; keep the page intact if it somehow does.
        let mut st = lock(state);
        if let Some(p) = st.pending.take() {
            el.before(&p.raw_start, ContentType::Html);
        }
    }
}

/// Text of a held-back element: collected, or — once it outgrew `inline_script_max` — passed
/// on and watched: a tracker in the part already let through fails the page.
fn on_held_text(ctx: &Ctx, state: &Shared, chunk: &mut TextChunk<'_>) -> Result<(), HandlerError> {
    let mut st = lock(state);
    if let Some(inert) = st.inert.as_mut() {
        if inert.text.len() < ctx.inline_script_max {
            inert.text.push_str(chunk.as_str());
        }
        return Ok(());
    }
    let Some(pending) = st.pending.as_mut() else {
        return Ok(());
    };
    if pending.flushed {
        return watch_streamed(ctx, pending, chunk.as_str());
    }
    if pending.text.len() + chunk.as_str().len() > ctx.inline_script_max {
        // Too long to hold back: decide on what we have and let the rest stream through.
        let Some(mut p) = st.pending.take() else {
            return Ok(());
        };
        let out = decide_held(ctx, &mut st, &p);
        chunk.before(&out, ContentType::Html);
        p.flushed = true;
        p.text.clear();
        let result = watch_streamed(ctx, &mut p, chunk.as_str());
        st.pending = Some(p);
        return result;
    }
    pending.text.push_str(chunk.as_str());
    chunk.remove();
    // The held element goes out where its text ends, not at its end tag: an end tag cut off by
    // the end of the input (`</script x="…`) never reaches the end-tag handler, and what the
    // document end then appended came after that open tag — which swallowed the start tag and
    // turned the script's text into live markup.
    if chunk.last_in_text_node() {
        if let Some(p) = st.pending.take() {
            let out = decide_held(ctx, &mut st, &p);
            chunk.before(&out, ContentType::Html);
        }
    }
    Ok(())
}

/// Bytes of text kept across chunks so a signature or host split by a chunk boundary is seen.
const CARRY: usize = 128;

/// Look at streamed text of an over-long script or style: a tracker loader or tracker URL in
/// it cannot be made inert any more (its start tag went out live), so the page fails.
fn watch_streamed(ctx: &Ctx, pending: &mut Pending, text: &str) -> Result<(), HandlerError> {
    let mut seen = std::mem::take(&mut pending.carry);
    seen.push_str(text);
    let found = match pending.kind {
        HeldKind::Script => ctx
            .catalogue
            .inline_tracker(&seen)
            .is_some_and(|m| !m.usage_only),
        HeldKind::Style => ctx.catalogue.mentions_tracker_host(&seen),
    };
    if found {
        return Err(refuse(format!(
            "a tracker appears in an inline {} after its first {} bytes",
            if pending.kind == HeldKind::Script {
                "script"
            } else {
                "stylesheet"
            },
            ctx.inline_script_max
        )));
    }
    let keep = seen.len().saturating_sub(CARRY);
    let keep = (keep..=seen.len())
        .find(|&i| seen.is_char_boundary(i))
        .unwrap_or(seen.len());
    pending.carry = seen[keep..].to_owned();
    Ok(())
}

/// The markup to emit for a held-back element: as it was, or neutralised.
fn decide_held(ctx: &Ctx, st: &mut PassState, pending: &Pending) -> String {
    match pending.kind {
        HeldKind::Script => decide_inline(ctx, st, pending),
        HeldKind::Style => decide_style(ctx, st, pending),
    }
}

/// An inline script: the original, or re-typed to `text/plain` with its vendor.
fn decide_inline(ctx: &Ctx, st: &mut PassState, pending: &Pending) -> String {
    let Some(found) = ctx.catalogue.inline_tracker(&pending.text) else {
        return format!("{}{}", pending.raw_start, pending.text);
    };
    let vendor = found.vendor;
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
    let tag = rebuild_start_tag("script", &kept, &extra);
    let label = inline_label(found.usage_only);
    record(st, vendor, label, pending.offset, Action::Neutralised);
    format!("{tag}{}", pending.text)
}

/// A `<style>`: as it was, or without its tracker URLs — the original sheet kept in
/// `data-cg-css` for banner.js to put back on consent.
fn decide_style(ctx: &Ctx, st: &mut PassState, pending: &Pending) -> String {
    let unchanged = || format!("{}{}", pending.raw_start, pending.text);
    if !css::may_fetch_tracker(&ctx.catalogue, &pending.text) {
        return unchanged();
    }
    let hits = css::tracker_urls(&ctx.catalogue, &pending.text);
    let Some(vendor) = strictest(hits.iter().map(|h| h.vendor)) else {
        return unchanged();
    };
    // Escaped for an attribute here; `rebuild_start_tag` escapes only the quotes.
    let original = escape_attr(&pending.text).replace("&quot;", "\"");
    let extra = [
        ("data-cg-category", vendor.category.as_str()),
        ("data-cg-vendor", vendor.id.as_str()),
        ("data-cg-css", original.as_str()),
    ];
    let tag = rebuild_start_tag("style", &pending.attrs, &extra);
    record(
        st,
        vendor,
        "style element",
        pending.offset,
        Action::Neutralised,
    );
    format!("{tag}{}", css::without(&pending.text, &hits))
}

/// The vendor with the strictest category among `vendors` (the first of those).
fn strictest<'v>(vendors: impl Iterator<Item = &'v Vendor>) -> Option<&'v Vendor> {
    vendors.fold(None, |best: Option<&Vendor>, v| match best {
        Some(b) if b.category.strictness() >= v.category.strictness() => Some(b),
        _ => Some(v),
    })
}

/// Append ` name="value"` (the value as written: only quotes need escaping).
fn push_attr(out: &mut String, name: &str, value: Option<&str>) {
    out.push(' ');
    out.push_str(name);
    if let Some(value) = value {
        out.push_str("=\"");
        out.push_str(&value.replace('"', "&quot;"));
        out.push('"');
    }
}

fn rebuild_start_tag(
    tag: &str,
    attrs: &[(String, Option<String>)],
    extra: &[(&str, &str)],
) -> String {
    let mut out = format!("<{tag}");
    for (name, value) in attrs {
        push_attr(&mut out, name, value.as_deref());
    }
    for (name, value) in extra {
        push_attr(&mut out, name, Some(value));
    }
    out.push('>');
    out
}

/// The vendor a fetching attribute's value leads to.
fn vendor_of<'c>(catalogue: &'c Catalogue, value: &str, kind: Kind) -> Option<&'c Vendor> {
    match kind {
        Kind::Url => catalogue.vendor_for_url(value),
        Kind::SrcSet => strictest(value.split(',').filter_map(|candidate| {
            let url = candidate.split_ascii_whitespace().next()?;
            catalogue.vendor_for_url(url)
        })),
        Kind::List => strictest(
            value
                .split_ascii_whitespace()
                .filter_map(|url| catalogue.vendor_for_url(url)),
        ),
    }
}

/// Move every listed attribute that leads to a tracker to `data-cg-<name>` and label the
/// element. Scan label: the tag for `src`/`srcset` (as always), else `tag attribute`.
fn on_fetching(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>, attrs: &[(&str, Kind)]) {
    let mut moved: Vec<(&str, String)> = Vec::new();
    let mut best: Option<&Vendor> = None;
    for (name, kind) in attrs {
        let Some(value) = el.get_attribute(name) else {
            continue;
        };
        if *kind == Kind::Url && !(*name == "href" && el.tag_name() == "base") {
            lock(state).note_origin(&value);
        }
        if let Some(vendor) = vendor_of(&ctx.catalogue, &value, *kind) {
            best = strictest(best.into_iter().chain([vendor]));
            moved.push((name, value));
        }
    }
    let Some(vendor) = best else {
        return;
    };
    let tag = el.tag_name();
    let offset = el.source_location().bytes().start;
    for (name, value) in &moved {
        el.remove_attribute(name);
        let _ = el.set_attribute(&data_name(name), value);
    }
    mark(ctx, el, vendor);
    let label = match moved.iter().find(|(n, _)| !matches!(*n, "src" | "srcset")) {
        None => tag,
        Some((name, _)) if el.namespace_uri() == SVG_NS => format!("svg {tag} {name}"),
        Some((name, _)) => format!("{tag} {name}"),
    };
    let mut st = lock(state);
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

/// An embed vendor's `<iframe>` (its URL in `src`, or in a lazy loader's attribute that a
/// script would copy into `src`): its URL to `data-cg-src`, hidden, and wrapped in a
/// click-to-load placeholder (see [`embed`]).
fn on_embed_iframe(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let embed_of = |url: &str| {
        ctx.catalogue
            .vendor_for_url(url)
            .and_then(|v| v.embed.map(|kind| (v, kind)))
    };
    let found = ["src"]
        .iter()
        .chain(embed::LAZY_ATTRS)
        .filter_map(|attr| el.get_attribute(attr).map(|url| (*attr, url)))
        .find_map(|(attr, url)| embed_of(&url).map(|(v, kind)| (attr, url, v, kind)));
    let Some((attr, url, vendor, kind)) = found else {
        return;
    };
    let offset = el.source_location().bytes().start;
    let url = if ctx.youtube_nocookie {
        embed::nocookie(&url).unwrap_or(url)
    } else {
        url
    };
    el.remove_attribute(attr);
    // Names are constants, so setting cannot fail.
    let _ = el.set_attribute("data-cg-src", &url);
    let _ = el.set_attribute("hidden", "");
    mark(ctx, el, vendor);
    let (width, height, style) = (
        el.get_attribute("width"),
        el.get_attribute("height"),
        el.get_attribute("style"),
    );
    let mut st = lock(state);
    if el
        .get_attribute("title")
        .is_none_or(|t| t.trim().is_empty())
    {
        let title = embed::default_title(vendor, kind, st.lang.as_deref(), &ctx.embed_language);
        let _ = el.set_attribute("title", &title);
    }
    let n = next_embed(ctx, &mut st, el);
    let size = embed::Size {
        width: width.as_deref(),
        height: height.as_deref(),
        style: style.as_deref(),
    };
    let thumb = ctx
        .youtube_thumbnails
        .then(|| embed::youtube_id(&url))
        .flatten();
    let (before, after) = embed::wrap(
        vendor,
        kind,
        st.lang.as_deref(),
        &ctx.embed_language,
        n,
        size,
        thumb.as_deref(),
    );
    el.before(&before, ContentType::Html);
    el.after(after, ContentType::Html);
    let label = if attr == "src" {
        "iframe (click to load)".to_owned()
    } else {
        format!("iframe {attr} (click to load)")
    };
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

/// Marks markup already inside a placeholder, so a page that passes the gate twice (or is
/// scanned after its rewrite) gets no second one.
const PLACED: &str = "data-cg-placed";

/// The page's next placeholder number, with embed.js put before the first placeholder.
fn next_embed(ctx: &Ctx, st: &mut PassState, el: &mut Element<'_, '_>) -> usize {
    if st.embeds == 0 {
        // embed.js is deferred, so before the first placeholder is as good as the end of the
        // page (and, unlike the end, always a place where a tag can go).
        el.before(ctx.inject_embed.for_page(st.xhtml), ContentType::Html);
    }
    st.embeds += 1;
    st.embeds
}

/// Markup that an embed vendor's script turns into a post (`<blockquote class="twitter-tweet">`,
/// `<div class="fb-post">`, see [`embed::SCRIPT_EMBEDS`]): wrapped in a click-to-load
/// placeholder, the markup itself kept as it is (its text is what a visitor reads until the
/// post loads). The script is neutralised where it stands, as any tracker script.
fn on_script_embed(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    if el.has_attribute(PLACED) {
        return;
    }
    let classes = el.get_attribute("class").unwrap_or_default();
    let Some(form) = embed::script_embed(&el.tag_name(), &classes) else {
        return;
    };
    // A vendor the operator made necessary is not blocked: no placeholder.
    let Some(vendor) = ctx.catalogue.vendor(form.vendor) else {
        return;
    };
    let offset = el.source_location().bytes().start;
    let _ = el.set_attribute(PLACED, "");
    let hosts = embed::script_hosts(&ctx.catalogue, vendor, form);
    let width = el.get_attribute("data-width");
    let mut st = lock(state);
    let n = next_embed(ctx, &mut st, el);
    let before = embed::wrap_post(
        vendor,
        form,
        &hosts,
        st.lang.as_deref(),
        &ctx.embed_language,
        n,
        width.as_deref(),
    );
    el.before(&before, ContentType::Html);
    el.after("</div>", ContentType::Html);
    let label = format!("{} {} (click to load)", form.tag, form.class);
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

/// CKEditor 5's `<oembed url="…">` of an embed vendor, which a site script would turn into
/// the vendor's frame: a placeholder holding the player the gate builds from the URL
/// ([`embed::player_url`]); the URL moves to `data-cg-url` so the site's script does not build
/// a second one. A URL no player is built for stays, with a link to it in the placeholder.
fn on_oembed(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let Some(url) = el.get_attribute("url") else {
        return;
    };
    if el.has_attribute(PLACED) {
        return;
    }
    let Some((vendor, kind)) = ctx
        .catalogue
        .vendor_for_url(&url)
        .and_then(|v| v.embed.map(|kind| (v, kind)))
    else {
        return;
    };
    let offset = el.source_location().bytes().start;
    // What the browser reads, for the player and the link (written out escaped again).
    let decoded = htmlize::unescape_attribute(&url);
    let player = embed::player_url(&decoded, ctx.youtube_nocookie);
    if player.is_some() {
        el.remove_attribute("url");
        let _ = el.set_attribute("data-cg-url", &url);
    }
    let _ = el.set_attribute(PLACED, "");
    let mut st = lock(state);
    let n = next_embed(ctx, &mut st, el);
    let thumb = ctx
        .youtube_thumbnails
        .then(|| embed::youtube_id(&decoded))
        .flatten();
    let target = match player.as_deref() {
        Some(src) => embed::Oembed::Player {
            src,
            thumb: thumb.as_deref(),
        },
        None => embed::Oembed::Link(&decoded),
    };
    let (before, after) = embed::wrap_oembed(
        vendor,
        kind,
        target,
        st.lang.as_deref(),
        &ctx.embed_language,
        n,
    );
    el.before(&before, ContentType::Html);
    el.after(after, ContentType::Html);
    let label = if player.is_some() {
        "oembed (click to load)"
    } else {
        "oembed (placeholder with a link)"
    };
    record(&mut st, vendor, label, offset, Action::Neutralised);
}

fn on_link(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    // Any link to a tracker host: preload/prefetch/preconnect/dns-prefetch contact it, and
    // stylesheets, icons or manifests would too; `imagesrcset` preloads images.
    let href = el.get_attribute("href");
    if let Some(href) = href.as_deref() {
        // Only links that fetch: a stylesheet, icon, preload, preconnect — not a canonical.
        let rel = el
            .get_attribute("rel")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let fetches = rel.split_ascii_whitespace().any(|r| {
            matches!(
                r,
                "stylesheet"
                    | "icon"
                    | "preload"
                    | "prefetch"
                    | "preconnect"
                    | "dns-prefetch"
                    | "modulepreload"
                    | "manifest"
            )
        });
        if fetches {
            lock(state).note_origin(href);
        }
    }
    let by_href = href
        .as_deref()
        .and_then(|h| ctx.catalogue.vendor_for_url(h));
    let set = el.get_attribute("imagesrcset");
    let by_set = set
        .as_deref()
        .and_then(|s| vendor_of(&ctx.catalogue, s, Kind::SrcSet));
    let Some(vendor) = strictest(by_href.into_iter().chain(by_set)) else {
        return;
    };
    let offset = el.source_location().bytes().start;
    let rel = el
        .get_attribute("rel")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let (Some(href), Some(_)) = (&href, by_href) {
        el.remove_attribute("href");
        let _ = el.set_attribute("data-cg-href", href);
    }
    if let (Some(set), Some(_)) = (&set, by_set) {
        el.remove_attribute("imagesrcset");
        let _ = el.set_attribute("data-cg-imagesrcset", set);
    }
    mark(ctx, el, vendor);
    let mut label = if rel.trim().is_empty() {
        "link".to_owned()
    } else {
        format!("link rel={}", rel.trim())
    };
    if by_href.is_none() {
        label.push_str(" imagesrcset");
    }
    let mut st = lock(state);
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

/// `style="background:url(…)"`: the tracker URLs removed, the original in `data-cg-style`.
fn on_style_attr(ctx: &Ctx, state: &Shared, el: &mut Element<'_, '_>) {
    let Some(raw) = el.get_attribute("style") else {
        return;
    };
    // A browser decodes references first: `url&#40;…&#41;` is `url(…)`.
    let decoded = htmlize::unescape_attribute(&raw);
    if !css::may_fetch_tracker(&ctx.catalogue, &decoded) {
        return;
    }
    let hits = css::tracker_urls(&ctx.catalogue, &decoded);
    let Some(vendor) = strictest(hits.iter().map(|h| h.vendor)) else {
        return;
    };
    let kept = css::without(&decoded, &hits);
    let offset = el.source_location().bytes().start;
    let _ = el.set_attribute("data-cg-style", &raw);
    // lol_html escapes the quotes of a value it is given; the rest is escaped here.
    let _ = el.set_attribute("style", &escape_attr(&kept).replace("&quot;", "\""));
    mark(ctx, el, vendor);
    let label = format!("{} style", el.tag_name());
    let mut st = lock(state);
    record(&mut st, vendor, &label, offset, Action::Neutralised);
}

/// `<iframe srcdoc>`: the document in the attribute rewritten like a page (trackers inert,
/// the guard injected), nested up to [`MAX_SRCDOC_DEPTH`].
fn on_srcdoc(
    ctx: &Arc<Ctx>,
    state: &Shared,
    el: &mut Element<'_, '_>,
    mode: Mode,
) -> Result<(), HandlerError> {
    let depth = match mode {
        Mode::Srcdoc(d) => d + 1,
        _ => 1,
    };
    if depth > MAX_SRCDOC_DEPTH {
        return Err(refuse("iframe srcdoc nested too deep to rewrite"));
    }
    let Some(raw) = el.get_attribute("srcdoc") else {
        return Ok(());
    };
    let decoded = htmlize::unescape_attribute(&raw);
    let inner = PassState::new(encoding_rs::UTF_8);
    lock(&inner).label_prefix = "iframe srcdoc ";
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink_out = out.clone();
    let sink: Sink = Box::new(move |bytes: &[u8]| lock_bytes(&sink_out).extend_from_slice(bytes));
    let mut rewriter = build(
        ctx,
        &inner,
        AsciiCompatibleEncoding::utf_8(),
        false,
        sink,
        Mode::Srcdoc(depth),
    );
    {
        let mut inner_st = lock(&inner);
        inner_st.tail.push(decoded.as_bytes());
        inner_st.ends_in_markup =
            EndProbe::over(ctx, AsciiCompatibleEncoding::utf_8(), decoded.as_bytes());
    }
    rewriter.write(decoded.as_bytes())?;
    rewriter.end()?;
    let rewritten = take_utf8(&out);
    let offset = el.source_location().bytes().start;
    let mut inner_st = lock(&inner);
    let mut st = lock(state);
    for mut finding in inner_st.findings.drain(..) {
        finding.element = format!("{}{}", st.label_prefix, finding.element);
        finding.offset = st.offset_base + offset;
        st.findings.push(finding);
    }
    if rewritten != decoded {
        // lol_html escapes the quotes of a value it is given; the rest is escaped here.
        let _ = el.set_attribute("srcdoc", &escape_attr(&rewritten).replace("&quot;", "\""));
    }
    Ok(())
}

fn lock_bytes(v: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    v.lock().unwrap_or_else(|p| p.into_inner())
}

fn on_noscript_text(
    ctx: &Arc<Ctx>,
    state: &Shared,
    chunk: &mut TextChunk<'_>,
) -> Result<(), HandlerError> {
    let mut st = lock(state);
    if st.noscript.is_none() {
        let inner = PassState::new(encoding_rs::UTF_8);
        {
            let mut inner_st = lock(&inner);
            inner_st.label_prefix = "noscript ";
            inner_st.offset_base = chunk.source_location().bytes().start;
        }
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink_out = out.clone();
        let sink: Sink =
            Box::new(move |bytes: &[u8]| lock_bytes(&sink_out).extend_from_slice(bytes));
        let rewriter = build(
            ctx,
            &inner,
            AsciiCompatibleEncoding::utf_8(),
            false,
            sink,
            Mode::Noscript,
        );
        st.noscript = Some(NoscriptPass {
            rewriter,
            out,
            state: inner,
        });
    }
    let last = chunk.last_in_text_node();
    let mut produced = String::new();
    if let Some(pass) = st.noscript.as_mut() {
        lock(&pass.state).tail.push(chunk.as_str().as_bytes());
        // A fragment the nested pass cannot rewrite fails the page: it is not passed on.
        pass.rewriter.write(chunk.as_str().as_bytes())?;
        produced = take_utf8(&pass.out);
    }
    if last {
        if let Some(pass) = st.noscript.take() {
            produced.push_str(&finish_noscript(&mut st, pass)?);
        }
    }
    chunk.replace(&produced, ContentType::Html);
    Ok(())
}

fn take_utf8(out: &Arc<Mutex<Vec<u8>>>) -> String {
    let bytes = std::mem::take(&mut *lock_bytes(out));
    // The nested pass only ever saw UTF-8 and writes UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn finish_noscript(st: &mut PassState, pass: NoscriptPass) -> Result<String, HandlerError> {
    let NoscriptPass {
        rewriter,
        out,
        state,
    } = pass;
    rewriter.end()?;
    let produced = take_utf8(&out);
    let mut inner = lock(&state);
    st.findings.append(&mut inner.findings);
    Ok(produced)
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
