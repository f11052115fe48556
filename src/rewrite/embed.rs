//! Click-to-load placeholders for embedded media: the markup that goes around a neutralised
//! `<iframe>` of an embed vendor (YouTube, Vimeo, Google Maps, Facebook plugins, an operator's
//! own), around the markup a vendor's script renders into a post (X, Instagram, TikTok,
//! Facebook: [`SCRIPT_EMBEDS`]), and around CKEditor's `<oembed url>`, in the page's language.
//! The placeholder is the same for every visitor; embed.js (injected before the first one)
//! wires its buttons, and banner.js releases the frame or script like any neutralised element
//! once the vendor's category is granted.
//!
//! Frame shape (the iframe keeps its attributes, its URL in `data-cg-src`, and gets `hidden`;
//! its wrapper keeps it out of sight whatever the site's CSS says about iframes, until embed.js
//! removes the controls):
//! `<div class="cg-embed" data-cg-embed="youtube" role="group" aria-label="…" style="…">`
//! `<div class="cg-embed-ui"><p id="cg-e1">…</p><button data-cg-once …>…</button>`
//! `<button data-cg-always="youtube" …>…</button></div>`
//! `<div class="cg-embed-frame" hidden="" style="display:none!important"><iframe hidden …>`
//! `</iframe></div></div>`
//!
//! With `[embeds.youtube] thumbnails`, a YouTube placeholder's controls start with the video's
//! thumbnail as the gate serves it (`<img src="/_gate/embed-thumb/youtube/ID.jpg" alt="">`,
//! dimmed behind the text), never an image of Google's: the box is positioned for it.
//!
//! Script shape: the same box with `data-cg-script` (the rendering script: host, then how its
//! path ends) and `data-cg-hosts` (the guard's rules that script and its frames need), the
//! controls, then the vendor's markup as it was (its text is the fallback), then `</div>`.

use super::inject::escape_attr;
use crate::trackers::{Catalogue, EmbedKind, HostRule, Vendor};

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

/// Every placeholder box: a column of centred controls, readable on any page background; long
/// words and URLs wrap instead of widening the page on a narrow screen.
const BOX_STYLE: &str = "box-sizing:border-box;width:100%;display:flex;\
    flex-direction:column;justify-content:center;align-items:center;text-align:center;\
    gap:.5em;padding:1em;background:#1f1f1f;color:#fff;overflow-wrap:anywhere;";

/// The buttons: at least 44 × 44 CSS pixels to touch on a phone (WCAG 2.5.8 asks for 24), in
/// the page's font, apart from each other when they wrap.
const BUTTON_STYLE: &str =
    "min-height:2.75em;margin:.25em;padding:.25em 1em;font:inherit;cursor:pointer";

/// Where the gate serves a YouTube video's thumbnail: this, the video id, `.jpg`.
pub const THUMBNAIL_PREFIX: &str = "/_gate/embed-thumb/youtube/";

/// Whether `id` is a YouTube video id as YouTube writes them: 11 of `[A-Za-z0-9_-]`.
pub fn is_youtube_id(id: &str) -> bool {
    id.len() == 11
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A thumbnail's box: its own stacking context, so the image (`z-index:-1`) lies above the
/// box's background and below the controls.
const THUMB_BOX_STYLE: &str = "position:relative;z-index:0;";

/// The thumbnail: the whole box, cropped to it (the box keeps the embed's size whatever the
/// image's), dimmed so the white text stays readable on any picture.
const THUMB_STYLE: &str = "position:absolute;top:0;left:0;width:100%;height:100%;\
    object-fit:cover;opacity:.35;z-index:-1";

/// The thumbnail of YouTube video `id` (checked by the caller): decorative (the text names
/// the video's vendor; YouTube gives no title without a request), lazy, 480 × 360 as
/// YouTube's `hqdefault.jpg` is.
fn thumbnail_img(id: &str) -> String {
    format!(
        "<img src=\"{THUMBNAIL_PREFIX}{id}.jpg\" alt=\"\" loading=\"lazy\" width=\"480\" \
         height=\"360\" style=\"{THUMB_STYLE}\">"
    )
}

/// Opens the wrapper that keeps a placeholder's frame out of sight: `hidden` for pages whose
/// CSP refuses style attributes, the inline `!important` against a theme's `iframe {display:
/// block !important}` (a rule on iframes cannot reach their wrapper).
const FRAME_OPEN: &str =
    "<div class=\"cg-embed-frame\" hidden=\"\" style=\"display:none!important\">";

/// The start of a placeholder: the box (with `attrs`, `style` after [`BOX_STYLE`]) and its
/// controls: the vendor's sentence, "Load this …" (`once`: this page can load it alone) and
/// "Always load …". `extra` goes after the buttons (a link).
struct Open<'a> {
    vendor: &'a Vendor,
    kind: EmbedKind,
    page_lang: Option<&'a str>,
    fallback_lang: &'a str,
    n: usize,
    style: &'a str,
    attrs: &'a str,
    once: bool,
    extra: &'a str,
    /// The YouTube video whose thumbnail the box shows (a valid id), if any.
    thumb: Option<&'a str>,
}

fn open(o: Open<'_>) -> String {
    let (t, lang) = texts(o.page_lang, o.fallback_lang);
    let vendor = o.vendor;
    let name = escape_attr(&vendor.name);
    let message = format!(
        "{} — {}: {}",
        (t.heading)(o.kind),
        vendor.name,
        vendor.description.get(lang)
    );
    let id = format!("cg-e{}", o.n);
    let category = vendor.category.as_str();
    let always = if category == vendor.id {
        t.always.replace("{}", &vendor.name)
    } else {
        t.always_category
            .replace("{}", (t.category)(category).unwrap_or(category))
    };
    let once = if o.once {
        format!(
            "<button type=\"button\" style=\"{BUTTON_STYLE}\" data-cg-once=\"\" aria-describedby=\"{id}\">{}</button>",
            escape_attr((t.once)(o.kind))
        )
    } else {
        String::new()
    };
    let thumb = o.thumb.filter(|id| is_youtube_id(id));
    let (thumb_box, thumb) = match thumb {
        Some(id) => (THUMB_BOX_STYLE, thumbnail_img(id)),
        None => ("", String::new()),
    };
    format!(
        "<div class=\"cg-embed\" data-cg-embed=\"{vendor_id}\"{attrs} role=\"group\" aria-label=\"{name}\" \
         lang=\"{lang}\" style=\"{BOX_STYLE}{thumb_box}{style}\"><div class=\"cg-embed-ui\">{thumb}<p id=\"{id}\" style=\"margin:0\">{message}</p>\
         {once}<button type=\"button\" style=\"{BUTTON_STYLE}\" data-cg-always=\"{category}\" aria-describedby=\"{id}\">{always}</button>{extra}</div>",
        vendor_id = escape_attr(&vendor.id),
        attrs = o.attrs,
        style = o.style,
        message = escape_attr(&message),
        category = escape_attr(category),
        always = escape_attr(&always),
        extra = o.extra,
    )
}

/// The box's size from the embed's: its width as the most, its proportions (16:9 when
/// unknown); the box grows with its text at 200 % zoom or on a narrow screen instead of
/// cutting it off.
fn size_style(w: Option<u32>, h: Option<u32>) -> String {
    match (w, h) {
        (Some(w), Some(h)) => format!("max-width:{w}px;aspect-ratio:{w}/{h}"),
        (Some(w), None) => format!("max-width:{w}px;aspect-ratio:16/9"),
        _ => "aspect-ratio:16/9".to_owned(),
    }
}

/// The markup before the iframe (the placeholder's box, its controls and the frame's
/// wrapper) and after it (their ends). `n` numbers the placeholder in its page (element ids);
/// `thumb`: the YouTube video whose thumbnail it shows (see [`youtube_id`]).
pub(crate) fn wrap(
    vendor: &Vendor,
    kind: EmbedKind,
    page_lang: Option<&str>,
    fallback_lang: &str,
    n: usize,
    size: Size<'_>,
    thumb: Option<&str>,
) -> (String, &'static str) {
    let w = pixels(size.width).or_else(|| style_pixels(size.style, "width"));
    let h = pixels(size.height).or_else(|| style_pixels(size.style, "height"));
    let style = size_style(w, h);
    let before = open(Open {
        vendor,
        kind,
        page_lang,
        fallback_lang,
        n,
        style: &style,
        attrs: "",
        once: true,
        extra: "",
        thumb,
    });
    (format!("{before}{FRAME_OPEN}"), "</div></div>")
}

/// Markup that a vendor's script turns into an embedded post: the element (tag and one of its
/// classes) and the script (its host, a subdomain of it counts, and how its path ends).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScriptEmbed {
    pub tag: &'static str,
    pub class: &'static str,
    /// The catalogue vendor the post is from.
    pub vendor: &'static str,
    pub script_host: &'static str,
    pub script_path: &'static str,
    /// The post's usual width, in CSS pixels: the box's largest.
    pub width: u32,
}

/// The oEmbed markup of the social networks, as their oEmbed answers and editors write it.
pub(crate) const SCRIPT_EMBEDS: &[ScriptEmbed] = &[
    ScriptEmbed {
        tag: "blockquote",
        class: "twitter-tweet",
        vendor: "x_embeds",
        script_host: "platform.twitter.com",
        script_path: "/widgets.js",
        width: 550,
    },
    ScriptEmbed {
        tag: "blockquote",
        class: "instagram-media",
        vendor: "instagram",
        script_host: "instagram.com",
        script_path: "/embed.js",
        width: 540,
    },
    ScriptEmbed {
        tag: "blockquote",
        class: "tiktok-embed",
        vendor: "tiktok_embeds",
        script_host: "tiktok.com",
        script_path: "/embed.js",
        width: 605,
    },
    ScriptEmbed {
        tag: "div",
        class: "fb-post",
        vendor: "facebook_social",
        script_host: "connect.facebook.net",
        script_path: "/sdk.js",
        width: 500,
    },
    ScriptEmbed {
        tag: "div",
        class: "fb-page",
        vendor: "facebook_social",
        script_host: "connect.facebook.net",
        script_path: "/sdk.js",
        width: 500,
    },
    ScriptEmbed {
        tag: "div",
        class: "fb-video",
        vendor: "facebook_social",
        script_host: "connect.facebook.net",
        script_path: "/sdk.js",
        width: 560,
    },
];

/// The selector for every [`SCRIPT_EMBEDS`] element and CKEditor's `<oembed url>`.
pub(crate) fn script_embed_selector() -> String {
    SCRIPT_EMBEDS
        .iter()
        .map(|f| format!("{}.{}", f.tag, f.class))
        .chain(["oembed[url]".to_owned()])
        .collect::<Vec<_>>()
        .join(", ")
}

/// The form an element (lower-case tag name, class attribute) is, if any.
pub(crate) fn script_embed(tag: &str, classes: &str) -> Option<&'static ScriptEmbed> {
    SCRIPT_EMBEDS
        .iter()
        .find(|f| f.tag == tag && classes.split_ascii_whitespace().any(|c| c == f.class))
}

/// The guard's rules (host and path prefix, as [`HostRule::key`] writes them) that a post's
/// script and the frames it makes need: the vendor's own and the script's. "Load this post"
/// lifts the guard for these, for this page view; the other rules of the same category (a
/// pixel's `facebook.com/tr`) stay in force.
pub(crate) fn script_hosts(catalogue: &Catalogue, vendor: &Vendor, form: &ScriptEmbed) -> String {
    let mut keys: Vec<String> = vendor.hosts.iter().map(HostRule::key).collect();
    if let Some(key) = catalogue.host_rule_key(form.script_host, form.script_path) {
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.join(" ")
}

/// The markup before a post that a script renders (the box and its controls); `</div>` goes
/// after it. `width`: the post's own (`data-width`), if given.
pub(crate) fn wrap_post(
    vendor: &Vendor,
    form: &ScriptEmbed,
    hosts: &str,
    page_lang: Option<&str>,
    fallback_lang: &str,
    n: usize,
    width: Option<&str>,
) -> String {
    let w = pixels(width).unwrap_or(form.width);
    // No proportions: the post's own text is in the box, and sets its height.
    let style =
        format!("max-width:{w}px;background:#f2f2f2;color:#1f1f1f;border:1px solid #767676");
    let attrs = format!(
        " data-cg-vendor=\"{}\" data-cg-script=\"{}{}\" data-cg-hosts=\"{}\"",
        escape_attr(&vendor.id),
        form.script_host,
        form.script_path,
        escape_attr(hosts)
    );
    open(Open {
        vendor,
        kind: vendor.embed.unwrap_or(EmbedKind::Social),
        page_lang,
        fallback_lang,
        n,
        style: &style,
        attrs: &attrs,
        once: true,
        extra: "",
        thumb: None,
    })
}

/// What an `<oembed url>` becomes: a player (its URL, and the YouTube video whose thumbnail
/// the placeholder shows, if any), or a link to the URL as it was.
pub(crate) enum Oembed<'a> {
    Player {
        src: &'a str,
        thumb: Option<&'a str>,
    },
    Link(&'a str),
}

/// CKEditor 5's `<oembed url="…">`: for a player URL this page can build (see
/// [`player_url`]), a placeholder holding that player as a neutralised iframe, exactly like
/// an embedded one; for any other URL of an embed vendor, a placeholder that links to it.
/// Returns the markup before the element and after it.
pub(crate) fn wrap_oembed(
    vendor: &Vendor,
    kind: EmbedKind,
    target: Oembed<'_>,
    page_lang: Option<&str>,
    fallback_lang: &str,
    n: usize,
) -> (String, &'static str) {
    let (player, thumb) = match target {
        Oembed::Player { src, thumb } => (Some(src), thumb),
        Oembed::Link(_) => (None, None),
    };
    // Without a player: nothing this page can load alone, a link to the URL instead.
    let link = match target {
        Oembed::Player { .. } => String::new(),
        Oembed::Link(url) => format!(
            "<a href=\"{url}\" style=\"color:inherit\">{url}</a>",
            url = escape_attr(url)
        ),
    };
    let before = open(Open {
        vendor,
        kind,
        page_lang,
        fallback_lang,
        n,
        style: &size_style(None, None),
        attrs: "",
        once: player.is_some(),
        extra: &link,
        thumb,
    });
    let Some(player) = player else {
        return (before, "</div>");
    };
    let title = default_title(vendor, kind, page_lang, fallback_lang);
    let category = vendor.category.as_str();
    let frame = format!(
        "{before}{FRAME_OPEN}<iframe title=\"{title}\" style=\"display:block;width:100%;aspect-ratio:16/9;border:0\" \
         allow=\"autoplay; encrypted-media; fullscreen; picture-in-picture\" allowfullscreen=\"\" \
         data-cg-src=\"{src}\" hidden=\"\" data-cg-category=\"{category}\" data-cg-vendor=\"{vendor_id}\"></iframe></div>",
        title = escape_attr(&title),
        src = escape_attr(player),
        category = escape_attr(category),
        vendor_id = escape_attr(&vendor.id),
    );
    (frame, "</div>")
}

/// The player URL for a video page's URL, as CKEditor's `<oembed url>` holds it: YouTube's
/// `watch?v=ID`, `youtu.be/ID`, `shorts/ID` and `embed/ID` → `https://www.youtube.com/embed/ID`
/// (on youtube-nocookie.com with `nocookie`); Vimeo's `vimeo.com/ID[/HASH]` →
/// `https://player.vimeo.com/video/ID[?h=HASH]`. `None` for anything else.
pub(crate) fn player_url(url: &str, nocookie: bool) -> Option<String> {
    let parsed = parse_web_url(url)?;
    if let Some(id) = youtube_video(&parsed) {
        let host = if nocookie {
            "www.youtube-nocookie.com"
        } else {
            "www.youtube.com"
        };
        return Some(format!("https://{host}/embed/{id}"));
    }
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let segments: Vec<&str> = parsed.path_segments()?.filter(|s| !s.is_empty()).collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let hash = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric());
    match (host, segments.as_slice()) {
        ("vimeo.com", [id]) | ("player.vimeo.com", ["video", id]) if digits(id) => {
            Some(format!("https://player.vimeo.com/video/{id}"))
        }
        ("vimeo.com", [id, h]) if digits(id) && hash(h) => {
            Some(format!("https://player.vimeo.com/video/{id}?h={h}"))
        }
        _ => None,
    }
}

/// An http(s) URL as a page writes it, scheme-relative ones (`//youtu.be/…`) as https.
fn parse_web_url(url: &str) -> Option<url::Url> {
    let parsed = url::Url::parse(url.trim())
        .or_else(|_| url::Url::parse(&format!("https:{}", url.trim())))
        .ok()?;
    matches!(parsed.scheme(), "http" | "https").then_some(parsed)
}

/// The video id of a YouTube URL: `watch?v=ID`, `youtu.be/ID`, `shorts/ID`, `live/ID` and a
/// player's `embed/ID`, on youtube.com (and m., www.) and youtube-nocookie.com.
fn youtube_video(parsed: &url::Url) -> Option<String> {
    let host = parsed.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let segments: Vec<&str> = parsed.path_segments()?.filter(|s| !s.is_empty()).collect();
    let id = match (host, segments.as_slice()) {
        ("youtube.com" | "m.youtube.com" | "youtube-nocookie.com", ["watch"]) => parsed
            .query_pairs()
            .find(|(k, _)| k == "v")
            .map(|(_, v)| v.into_owned()),
        (
            "youtube.com" | "m.youtube.com" | "youtube-nocookie.com",
            ["embed" | "shorts" | "live", id],
        ) => Some((*id).to_owned()),
        ("youtu.be", [id]) => Some((*id).to_owned()),
        _ => None,
    };
    id.filter(|id| is_youtube_id(id))
}

/// The id of the YouTube video at `url` (a player's `src`, a video page), if it is one; a
/// playlist's player (`embed/videoseries?list=…`, 11 letters too) is none.
pub(crate) fn youtube_id(url: &str) -> Option<String> {
    youtube_video(&parse_web_url(url)?).filter(|id| id != "videoseries")
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
            None,
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
        assert!(
            before.ends_with(
                r#"<div class="cg-embed-frame" hidden="" style="display:none!important">"#
            ),
            "{before}"
        );
        let size = Size {
            width: Some("100%"),
            height: None,
            style: None,
        };
        let (en, _) = wrap(yt, EmbedKind::Video, None, "en", 2, size, None);
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
        let (like, _) = wrap(fb, EmbedKind::Social, Some("en"), "nl", 3, size, None);
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

    #[test]
    fn oembed_urls_of_players_map_to_their_player_and_others_to_nothing() {
        for (url, player) in [
            (
                "https://www.youtube.com/watch?v=KPnmmIrD0oc",
                "https://www.youtube.com/embed/KPnmmIrD0oc",
            ),
            (
                "https://youtube.com/watch?feature=share&v=KPnmmIrD0oc&t=42",
                "https://www.youtube.com/embed/KPnmmIrD0oc",
            ),
            (
                "https://youtu.be/KPnmmIrD0oc?si=abc",
                "https://www.youtube.com/embed/KPnmmIrD0oc",
            ),
            (
                "//m.youtube.com/shorts/KPnmmIrD0oc",
                "https://www.youtube.com/embed/KPnmmIrD0oc",
            ),
            (
                "https://vimeo.com/76979871",
                "https://player.vimeo.com/video/76979871",
            ),
            (
                "https://vimeo.com/76979871/8272103f6e",
                "https://player.vimeo.com/video/76979871?h=8272103f6e",
            ),
        ] {
            assert_eq!(player_url(url, false).as_deref(), Some(player), "{url}");
        }
        assert_eq!(
            player_url("https://youtu.be/KPnmmIrD0oc", true).as_deref(),
            Some("https://www.youtube-nocookie.com/embed/KPnmmIrD0oc")
        );
        for other in [
            "https://www.youtube.com/watch?v=short",
            "https://www.youtube.com/@stichting",
            "https://vimeo.com/channels/staffpicks",
            "https://twitter.com/example/status/1",
            "javascript:alert(1)",
            "https://notyoutube.com/watch?v=KPnmmIrD0oc",
        ] {
            assert_eq!(player_url(other, false), None, "{other}");
        }
    }

    #[test]
    fn an_oembed_player_is_a_neutralised_frame_and_an_unknown_url_a_link() {
        let cat = Catalogue::builtin();
        let yt = cat.vendor("youtube").unwrap();
        let url = "https://www.youtube.com/watch?v=KPnmmIrD0oc";
        let player = player_url(url, false);
        let src = player.as_deref().unwrap();
        let (before, after) = wrap_oembed(
            yt,
            EmbedKind::Video,
            Oembed::Player { src, thumb: None },
            Some("en"),
            "nl",
            1,
        );
        assert!(before.contains(">Load this video</button>"), "{before}");
        assert!(
            before.contains(r#"data-cg-src="https://www.youtube.com/embed/KPnmmIrD0oc" hidden="" data-cg-category="youtube" data-cg-vendor="youtube"></iframe></div>"#),
            "{before}"
        );
        assert!(!before.contains(" src="), "{before}");
        assert_eq!(after, "</div>");
        let (link, _) = wrap_oembed(
            yt,
            EmbedKind::Video,
            Oembed::Link("https://www.youtube.com/@x?a=1&b=2"),
            Some("en"),
            "nl",
            2,
        );
        assert!(!link.contains("data-cg-once"), "{link}");
        assert!(
            link.contains(r#"<a href="https://www.youtube.com/@x?a=1&amp;b=2""#),
            "{link}"
        );
    }

    #[test]
    fn a_post_placeholder_names_its_script_and_only_the_rules_it_needs() {
        let cat = Catalogue::builtin();
        for form in SCRIPT_EMBEDS {
            let vendor = cat.vendor(form.vendor).unwrap();
            assert_eq!(vendor.embed, Some(EmbedKind::Social), "{}", form.vendor);
            // The script the markup needs is one the rewriter holds back.
            let script = format!("https://www.{}{}", form.script_host, form.script_path);
            assert!(cat.vendor_for_url(&script).is_some(), "{script}");
            assert_eq!(
                script_embed(form.tag, &format!("x {} y", form.class)).map(|f| f.class),
                Some(form.class)
            );
        }
        assert!(script_embed("div", "twitter-tweet").is_none());
        let fb = cat.vendor("facebook_social").unwrap();
        let form = script_embed("div", "fb-post").unwrap();
        let hosts = script_hosts(&cat, fb, form);
        let hosts: Vec<&str> = hosts.split(' ').collect();
        assert!(
            hosts.contains(&"facebook.com") && hosts.contains(&"connect.facebook.net"),
            "{hosts:?}"
        );
        assert!(
            !hosts.contains(&"facebook.com/tr"),
            "the pixel stays blocked: {hosts:?}"
        );
        let before = wrap_post(
            fb,
            form,
            "facebook.com connect.facebook.net",
            Some("en"),
            "nl",
            4,
            Some("350"),
        );
        assert!(
            before.contains(r#"data-cg-script="connect.facebook.net/sdk.js""#),
            "{before}"
        );
        assert!(before.contains(">Load this post</button>"), "{before}");
        assert!(
            before.contains(">Always load (consent to marketing)</button>"),
            "{before}"
        );
        assert!(before.contains("max-width:350px"), "{before}");
        assert!(!before.contains("aspect-ratio"), "{before}");
    }
}
