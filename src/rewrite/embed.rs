//! Click-to-load placeholders for embedded media: the markup that goes around a neutralised
//! `<iframe>` of an embed vendor (YouTube, Vimeo, Google Maps, Facebook plugins, an operator's
//! own), in the page's language. The placeholder is the same for every visitor; embed.js
//! (injected at the end of a page that has one) wires its two buttons, and banner.js releases
//! the frame like any neutralised element once the vendor's category is granted.
//!
//! Shape (the iframe keeps its attributes, its URL in `data-cg-src`, and gets `hidden`; its
//! wrapper keeps it out of sight whatever the site's CSS says about iframes, until embed.js
//! removes the controls):
//! `<div class="cg-embed" data-cg-embed="youtube" role="group" aria-label="…" style="…">`
//! `<div class="cg-embed-ui"><p id="cg-e1">…</p><button data-cg-once …>…</button>`
//! `<button data-cg-always="youtube" …>…</button></div>`
//! `<div class="cg-embed-frame" hidden="" style="display:none!important"><iframe hidden …>`
//! `</iframe></div></div>`

use super::inject::escape_attr;
use crate::trackers::{EmbedKind, Vendor};

/// The texts of a placeholder in one language: a heading per kind, the two buttons.
struct Texts {
    /// "Load video" — what the placeholder stands for.
    heading: fn(EmbedKind) -> &'static str,
    /// "Load this video" — this embed only, nothing stored.
    once: fn(EmbedKind) -> &'static str,
    /// "Always load {vendor}" — `{}` is the vendor's name (a vendor in a category of its own).
    always: &'static str,
    /// "Always load (consent to {category})" — a vendor in a shared category: the button
    /// says that it grants the whole category.
    always_category: &'static str,
    /// What the frame shows, for its title: "video".
    noun: fn(EmbedKind) -> &'static str,
    /// Category names for `always_category`.
    category: fn(&str) -> Option<&'static str>,
}

const NL: Texts = Texts {
    heading: |k| match k {
        EmbedKind::Video => "Video laden",
        EmbedKind::Map => "Kaart laden",
        EmbedKind::Social => "Bericht laden",
        EmbedKind::Content => "Inhoud laden",
    },
    once: |k| match k {
        EmbedKind::Video => "Deze video laden",
        EmbedKind::Map => "Deze kaart laden",
        EmbedKind::Social => "Dit bericht laden",
        EmbedKind::Content => "Deze inhoud laden",
    },
    always: "Altijd {} laden",
    always_category: "Altijd laden (toestemming voor {})",
    noun: |k| match k {
        EmbedKind::Video => "video",
        EmbedKind::Map => "kaart",
        EmbedKind::Social => "bericht",
        EmbedKind::Content => "inhoud",
    },
    category: |c| match c {
        "analytics" => Some("statistieken"),
        "marketing" => Some("marketing"),
        _ => None,
    },
};

const EN: Texts = Texts {
    heading: |k| match k {
        EmbedKind::Video => "Load video",
        EmbedKind::Map => "Load map",
        EmbedKind::Social => "Load post",
        EmbedKind::Content => "Load content",
    },
    once: |k| match k {
        EmbedKind::Video => "Load this video",
        EmbedKind::Map => "Load this map",
        EmbedKind::Social => "Load this post",
        EmbedKind::Content => "Load this content",
    },
    always: "Always load {}",
    always_category: "Always load (consent to {})",
    noun: |k| match k {
        EmbedKind::Video => "video",
        EmbedKind::Map => "map",
        EmbedKind::Social => "post",
        EmbedKind::Content => "content",
    },
    category: |c| match c {
        "analytics" => Some("analytics"),
        "marketing" => Some("marketing"),
        _ => None,
    },
};

/// The texts for a page language (`nl`, `nl-NL`, `en-GB`, …); Dutch or English, else `fallback`.
fn texts(lang: Option<&str>, fallback: &str) -> (&'static Texts, &'static str) {
    let code = |l: &str| l.get(..2).map(str::to_ascii_lowercase);
    match lang.and_then(code).or_else(|| code(fallback)).as_deref() {
        Some("en") => (&EN, "en"),
        _ => (&NL, "nl"),
    }
}

/// Size of the embed as written: `width`/`height` in CSS pixels when they are plain numbers.
fn pixels(value: Option<&str>) -> Option<u32> {
    let v = value?.trim();
    let v = v.strip_suffix("px").unwrap_or(v);
    v.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n))
}

/// `width:90px` in a style attribute (a like button's size is often only there).
fn style_pixels(style: Option<&str>, property: &str) -> Option<u32> {
    style?.split(';').find_map(|decl| {
        let (name, value) = decl.split_once(':')?;
        (name.trim().eq_ignore_ascii_case(property))
            .then(|| pixels(Some(value)))
            .flatten()
    })
}

/// The iframe's size attributes as written.
pub(crate) struct Size<'a> {
    pub width: Option<&'a str>,
    pub height: Option<&'a str>,
    pub style: Option<&'a str>,
}

/// The buttons: at least 44 × 44 CSS pixels to touch on a phone (WCAG 2.5.8 asks for 24), in
/// the page's font, apart from each other when they wrap.
const BUTTON_STYLE: &str =
    "min-height:2.75em;margin:.25em;padding:.25em 1em;font:inherit;cursor:pointer";

/// Opens the wrapper that keeps a placeholder's frame out of sight: `hidden` for pages whose
/// CSP refuses style attributes, the inline `!important` against a theme's `iframe {display:
/// block !important}` (a rule on iframes cannot reach their wrapper).
const FRAME_OPEN: &str =
    "<div class=\"cg-embed-frame\" hidden=\"\" style=\"display:none!important\">";

/// The markup before the iframe (the placeholder's box, its controls and the frame's
/// wrapper) and after it (their ends). `n` numbers the placeholder in its page (element ids).
pub(crate) fn wrap(
    vendor: &Vendor,
    kind: EmbedKind,
    page_lang: Option<&str>,
    fallback_lang: &str,
    n: usize,
    size: Size<'_>,
) -> (String, &'static str) {
    let (t, lang) = texts(page_lang, fallback_lang);
    let w = pixels(size.width).or_else(|| style_pixels(size.style, "width"));
    let h = pixels(size.height).or_else(|| style_pixels(size.style, "height"));
    // Keeps the embed's size: its width as the most, its proportions (16:9 when unknown); the
    // box grows with its text at 200 % zoom or on a narrow screen instead of cutting it off,
    // and long words wrap instead of widening the page.
    let mut style = String::from(
        "box-sizing:border-box;width:100%;display:flex;flex-direction:column;\
         justify-content:center;align-items:center;text-align:center;gap:.5em;padding:1em;\
         background:#1f1f1f;color:#fff;overflow-wrap:anywhere;",
    );
    match (w, h) {
        (Some(w), Some(h)) => style.push_str(&format!("max-width:{w}px;aspect-ratio:{w}/{h}")),
        (Some(w), None) => style.push_str(&format!("max-width:{w}px;aspect-ratio:16/9")),
        _ => style.push_str("aspect-ratio:16/9"),
    }
    let name = escape_attr(&vendor.name);
    let message = format!(
        "{} — {}: {}",
        (t.heading)(kind),
        vendor.name,
        vendor.description.get(lang)
    );
    let id = format!("cg-e{n}");
    let category = vendor.category.as_str();
    let always = if category == vendor.id {
        t.always.replace("{}", &vendor.name)
    } else {
        t.always_category
            .replace("{}", (t.category)(category).unwrap_or(category))
    };
    let before = format!(
        "<div class=\"cg-embed\" data-cg-embed=\"{vendor_id}\" role=\"group\" aria-label=\"{name}\" \
         lang=\"{lang}\" style=\"{style}\"><div class=\"cg-embed-ui\"><p id=\"{id}\" style=\"margin:0\">{message}</p>\
         <button type=\"button\" style=\"{BUTTON_STYLE}\" data-cg-once=\"\" aria-describedby=\"{id}\">{once}</button>\
         <button type=\"button\" style=\"{BUTTON_STYLE}\" data-cg-always=\"{category}\" aria-describedby=\"{id}\">{always}</button></div>{FRAME_OPEN}",
        vendor_id = escape_attr(&vendor.id),
        message = escape_attr(&message),
        once = escape_attr((t.once)(kind)),
        category = escape_attr(category),
        always = escape_attr(&always),
    );
    (before, "</div></div>")
}

/// The iframe's accessible name when the page gave it none: "YouTube (Google): video".
pub(crate) fn default_title(
    vendor: &Vendor,
    kind: EmbedKind,
    page_lang: Option<&str>,
    fallback_lang: &str,
) -> String {
    let (t, _) = texts(page_lang, fallback_lang);
    format!("{}: {}", vendor.name, (t.noun)(kind))
}

/// A lazily loaded iframe's URL attributes (lazysizes, WP Rocket, a3 Lazy Load, …), which a
/// script copies into `src` later.
pub(crate) const LAZY_ATTRS: &[&str] = &["data-src", "data-lazy-src", "data-litespeed-src"];

/// `https://www.youtube.com/embed/ID…` on youtube-nocookie.com (`[embeds.youtube]
/// nocookie`): the same player, without YouTube's cookies until the video plays.
pub(crate) fn nocookie(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_ascii_lowercase();
    let youtube = host == "youtube.com" || host.ends_with(".youtube.com");
    if !youtube || !parsed.path().starts_with("/embed/") {
        return None;
    }
    parsed.set_host(Some("www.youtube-nocookie.com")).ok()?;
    Some(parsed.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trackers::Catalogue;

    #[test]
    fn the_placeholder_names_the_vendor_in_the_page_language_and_keeps_the_size() {
        let cat = Catalogue::builtin();
        let yt = cat.vendor("youtube").unwrap();
        let (before, after) = wrap(
            yt,
            EmbedKind::Video,
            Some("nl-NL"),
            "en",
            1,
            Size {
                width: Some("560"),
                height: Some("315"),
                style: None,
            },
        );
        assert!(
            before.contains("Video laden — YouTube (Google)"),
            "{before}"
        );
        assert!(before.contains("IP-adres"), "{before}");
        assert!(before.contains(">Deze video laden</button>"), "{before}");
        assert!(
            before.contains(">Altijd YouTube (Google) laden</button>"),
            "{before}"
        );
        assert!(
            before.contains("max-width:560px;aspect-ratio:560/315"),
            "{before}"
        );
        assert_eq!(after, "</div></div>");
        // The frame's wrapper hides it whatever the page's CSS says about iframes.
        assert!(before.ends_with(FRAME_OPEN), "{before}");
        let size = Size {
            width: Some("100%"),
            height: None,
            style: None,
        };
        let (en, _) = wrap(yt, EmbedKind::Video, None, "en", 2, size);
        assert!(en.contains(">Load this video</button>"), "{en}");
        assert!(
            en.contains("aspect-ratio:16/9") && !en.contains("max-width"),
            "{en}"
        );
        // A vendor in a shared category says so on its button; sizes in style count too.
        let fb = cat.vendor("facebook_social").unwrap();
        let size = Size {
            width: None,
            height: None,
            style: Some("border:none; width: 90px;height:21px"),
        };
        let (like, _) = wrap(fb, EmbedKind::Social, Some("en"), "nl", 3, size);
        assert!(
            like.contains(">Always load (consent to marketing)</button>"),
            "{like}"
        );
        assert!(like.contains("max-width:90px;aspect-ratio:90/21"), "{like}");
    }

    #[test]
    fn nocookie_moves_only_youtube_players() {
        assert_eq!(
            nocookie("https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed").as_deref(),
            Some("https://www.youtube-nocookie.com/embed/KPnmmIrD0oc?feature=oembed")
        );
        assert_eq!(nocookie("https://www.youtube.com/watch?v=x"), None);
        assert_eq!(nocookie("https://player.vimeo.com/video/1"), None);
    }
}
