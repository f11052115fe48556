//! Shared by the rewrite tests: an oracle for "is any tracker still live in this HTML?" that is
//! independent of the catalogue (plain markers, not the gate's own matching), and a comparison
//! of every script before/after rewriting.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use consentgate::rewrite::{RewriteSettings, Rewriter};
use consentgate::trackers::Catalogue;
use lol_html::html_content::{Element, TextChunk};
use lol_html::{element, text, HtmlRewriter, Settings};

pub const INJECT: &str = "<script src=\"/_gate/banner.abc123.js\" defer></script><link rel=\"stylesheet\" href=\"/_gate/banner.abc123.css\">";
/// The synchronous guard, injected first.
pub const GUARD: &str = "<script src=\"/_gate/guard.abc123.js\"></script>";
/// Everything [`rewriter`] injects into a page, in order.
pub const INJECTED: &str = concat!(
    "<script src=\"/_gate/guard.abc123.js\"></script>",
    "<script src=\"/_gate/banner.abc123.js\" defer></script><link rel=\"stylesheet\" href=\"/_gate/banner.abc123.css\">"
);

/// embed.js, appended to a page with a click-to-load placeholder.
pub const EMBED_JS: &str = "<script src=\"/_gate/embed.abc123.js\" defer></script>";

/// The built-in catalogue with the guard and banner tags as a gate injects them.
pub fn rewriter() -> Rewriter {
    Rewriter::new(
        Arc::new(Catalogue::builtin()),
        RewriteSettings {
            inject_head_first_html: GUARD.to_owned(),
            inject_head_html: INJECT.to_owned(),
            inject_embed_html: EMBED_JS.to_owned(),
            ..RewriteSettings::default()
        },
    )
}

/// Tracker hosts and loader paths, lower-case, as plain substrings of a URL.
const URL_MARKERS: &[&str] = &[
    "google-analytics.com",
    "googletagmanager.com",
    "analytics.google.com",
    "hotjar.com",
    "hotjar.io",
    "hj.contentsquare.net",
    "connect.facebook.net",
    "facebook.com/tr",
    "/gtm.js?id=gtm-",
    "doubleclick.net",
    "googlesyndication.com",
    "googletagservices.com",
    "googleadservices.com",
    "google.com/pagead",
    "facebook.com/",
    // The broader catalogue (issue 17).
    "youtube.com",
    "youtube-nocookie.com",
    "youtu.be",
    "ytimg.com",
    "googlevideo.com",
    "vimeo.com",
    "vimeocdn.com",
    "google.com/maps",
    "maps.google.com",
    "maps.googleapis.com",
    "maps.gstatic.com",
    "clarity.ms",
    "snap.licdn.com",
    "ads.linkedin.com",
    "linkedin.com/px",
    "analytics.tiktok.com",
    "s.pinimg.com/ct",
    "ct.pinterest.com",
    "ads-twitter.com",
    "analytics.twitter.com",
    "t.co/i/adsct",
    "google.com/recaptcha",
    "gstatic.com/recaptcha",
    "recaptcha.net",
    // Posts rendered by the networks' scripts.
    "platform.twitter.com",
    "instagram.com",
    "tiktok.com",
];

/// Vendor snippets in inline script text, lower-case.
const INLINE_MARKERS: &[&str] = &[
    "function gtag(",
    "gtag('config'",
    "fbq('init'",
    "_hjsettings",
    "googleanalyticsobject",
    "gtm.start",
    "google-analytics.com",
    "googletagmanager.com",
    "connect.facebook.net",
    "static.hotjar.com",
    "stats.g.doubleclick.net",
    "securepubads.g.doubleclick.net",
    "googleads.g.doubleclick.net",
    "googlesyndication.com",
    "googletagservices.com",
    "googleadservices.com",
    // The broader catalogue (issue 17): its vendors' loader snippets.
    "clarity.ms",
    "_linkedin_partner_id",
    "_linkedin_data_partner_ids",
    "snap.licdn.com",
    "analytics.tiktok.com",
    "ttq.load(",
    "s.pinimg.com/ct/",
    "pintrk('load'",
    "static.ads-twitter.com",
    "twq('init'",
    "twq('config'",
    "youtube.com/iframe_api",
    "youtube.com/player_api",
    "player.vimeo.com/api/player.js",
    "maps.googleapis.com/maps/api/js",
    "www.google.com/recaptcha",
    "recaptcha.net/recaptcha",
    "platform.twitter.com/widgets.js",
    "instagram.com/embed.js",
    "tiktok.com/embed.js",
];

/// The URL a browser makes of an attribute value: character references decoded, then parsed
/// per the WHATWG URL standard (tabs and newlines dropped, IDNA on the host) on a page of
/// its own. `None` when that is not an http(s) URL. Independent of the catalogue: the markers
/// below are matched against its host and path.
fn as_browser_reads(url: &str) -> Option<url::Url> {
    let decoded = htmlize::unescape_attribute(url);
    url::Url::parse("https://page.example/dir/")
        .and_then(|page| page.join(&decoded))
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Whether a browser fetching `url` contacts a tracker. A URL a browser reads is judged by
/// where it goes: a marker's host must be the URL's host (or a parent of it), its path the
/// start of the URL's path — a tracker's name inside a first-party path fetches nothing from
/// the tracker. Anything else (unparseable, `data:`, …) is read as plain text, the strict way,
/// since another parser might still find a host in it.
pub fn url_is_tracker(url: &str) -> bool {
    match as_browser_reads(url) {
        Some(read) => goes_to_tracker(&read),
        None => marked(url) || marked(&htmlize::unescape_attribute(url)),
    }
}

/// Whether the gate may neutralise an element for `url`: a tracker's name anywhere before the
/// query, as plain text. Wider than [`url_is_tracker`] on purpose — the gate blocks a tracker's
/// host standing in a first-party path (a proxied copy of its script) — but nothing outside
/// it may change.
pub fn url_may_be_tracker(url: &str) -> bool {
    url_is_tracker(url) || marked(url) || marked(&htmlize::unescape_attribute(url))
}

fn goes_to_tracker(url: &url::Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let path = url.path().to_ascii_lowercase();
    let query = url.query().unwrap_or("").to_ascii_lowercase();
    URL_MARKERS.iter().any(|m| {
        if let Some(loader) = m.strip_prefix('/') {
            // A loader path on any host: `/gtm.js?id=gtm-`.
            let (file, marker) = loader.split_once('?').unwrap_or((loader, ""));
            return path.ends_with(&format!("/{file}")) && query.contains(marker);
        }
        let (marker_host, marker_path) = m.split_once('/').unwrap_or((m, ""));
        let on_host = host == marker_host || host.ends_with(&format!(".{marker_host}"));
        on_host && path.starts_with(&format!("/{marker_path}"))
    })
}

fn marked(url: &str) -> bool {
    let u = url.to_ascii_lowercase().replace("&#58;", ":");
    // only the part a browser would contact: strip query/fragment for host markers
    let before_query = u.split(['?', '#']).next().unwrap_or("");
    URL_MARKERS.iter().any(|m| {
        if m.contains('?') {
            u.contains(m)
        } else {
            // host markers must be in the authority, not in a query parameter, and name a
            // host of their own: `avimeocdn.com` is not `vimeocdn.com`
            names(before_query, m)
        }
    })
}

/// Whether `marker` stands in `text` where a host name could begin (not after a letter,
/// digit or hyphen).
fn names(text: &str, marker: &str) -> bool {
    text.match_indices(marker).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// Whether CSS text fetches from a tracker: a marker inside `url(…)`, an `@import` string or
/// an `image-set()`, read plainly (independent of the gate's CSS tokenizer).
pub fn css_fetches_tracker(css: &str) -> bool {
    // comments fetch nothing
    let mut lower = css.to_ascii_lowercase();
    while let Some(start) = lower.find("/*") {
        let end = lower[start + 2..]
            .find("*/")
            .map_or(lower.len(), |e| start + 2 + e + 2);
        lower.replace_range(start..end, "");
    }
    let mut rest = lower.as_str();
    while let Some(i) = rest.find(['(', '@']) {
        let after = &rest[i + 1..];
        let fetching = rest[..i].ends_with("url")
            || rest[..i].ends_with("image-set")
            || (rest.as_bytes()[i] == b'@' && after.starts_with("import"));
        if fetching {
            let end = after.find([')', ';']).unwrap_or(after.len());
            if URL_MARKERS.iter().any(|m| after[..end].contains(m)) {
                return true;
            }
        }
        rest = after;
    }
    false
}

pub fn text_is_tracker(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    INLINE_MARKERS.iter().any(|m| t.contains(m))
}

/// Whether a script is nothing but calls into tracker APIs (`ga('send', …)`, `_gaq.push(…)`,
/// `googletag.cmd.push(function(){ … })`), read with regular expressions — comments and
/// strings dropped, every parenthesised group collapsed, then each statement matched — a
/// different reading from the gate's, so the two check each other. `lenient` also accepts
/// calls on any object's underscore methods (`pageTracker._trackPageview()`), which only a
/// script that also creates that tracker object makes tracker code.
pub fn is_api_calls_only(text: &str, lenient: bool) -> bool {
    use regex::Regex;
    use std::sync::OnceLock;
    static RES: OnceLock<[Regex; 5]> = OnceLock::new();
    let [noise, group, queue, call, wrapper] = RES.get_or_init(|| {
        let names = r"ga|gtag|fbq|_fbq|hj|__gaTracker|urchinTracker|_gaq|_gat|dataLayer|googletag";
        let api = r"(?:window\.)?(?:ga|gtag|fbq|hj|__gaTracker|urchinTracker|_gaq\.push|_fbq\.push|_gat\._\w+|dataLayer\.push|googletag(?:\.\w+)+)";
        [
            // strings (kept as '') and comments (dropped), whichever starts first
            Regex::new(r#"'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|(?s:/\*.*?\*/)|//[^\n]*|<!--[^\n]*|(?m:^\s*-->[^\n]*)|<!\[CDATA\[|\]\]>"#).unwrap(),
            Regex::new(r"\([^()]*\)").unwrap(),
            Regex::new(&format!(r"^(?:(?:var|let|const)\s+)?(?:window\.)?(?:{names})(?:\.\w+)?\s*=\s*(?:window\.)?(?:{names})(?:\.\w+)?\s*\|\|\s*(?:\[\s*\]|\{{\s*\}}|\{{\s*cmd\s*:\s*\[\s*\]\s*\}})$")).unwrap(),
            Regex::new(&format!(r"^(?:(?:var|let|const)\s+[\w$]+\s*=\s*)?{api}\s*@(?:\s*\.\s*[\w$]+\s*@)*$")).unwrap(),
            Regex::new(r"^(?:try\s*\{|\}|\}\s*catch\s*@\s*\{\s*\}?|\}\s*finally\s*\{)$").unwrap(),
        ]
    });
    let mut plain = noise
        .replace_all(text, |c: &regex::Captures| {
            let m = &c[0];
            if m.starts_with(['\'', '"']) {
                "''"
            } else {
                ""
            }
        })
        .into_owned();
    loop {
        let collapsed = group.replace_all(&plain, "@").into_owned();
        if collapsed == plain {
            break;
        }
        plain = collapsed;
    }
    let plain = plain.replace("\n.", ".").replace("\r", "");
    let call_ok = |piece: &str| {
        if lenient {
            let generic = Regex::new(r"^[\w$]+\._\w+\s*@(?:\s*\.\s*[\w$]+\s*@)*$").unwrap();
            call.is_match(piece) || generic.is_match(piece)
        } else {
            call.is_match(piece)
        }
    };
    let mut calls = 0;
    for piece in plain.split([';', '\n']).map(str::trim) {
        if piece.is_empty() || queue.is_match(piece) || wrapper.is_match(piece) {
            continue;
        }
        if !call_ok(piece) {
            return false;
        }
        calls += 1;
    }
    calls > 0
}

fn executable(ty: Option<&str>) -> bool {
    match ty.map(|t| t.trim().to_ascii_lowercase()) {
        None => true,
        Some(t) => matches!(
            t.as_str(),
            "" | "module"
                | "text/javascript"
                | "application/javascript"
                | "text/ecmascript"
                | "application/ecmascript"
                | "application/x-javascript"
                | "text/partytown"
        ),
    }
}

/// A script as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub attrs: BTreeMap<String, String>,
    pub text: String,
    pub line: usize,
}

/// Every live tracker element in `html`, described, and every script in document order.
pub fn inspect(html: &str) -> (Vec<String>, Vec<Script>) {
    let live = Rc::new(RefCell::new(Vec::<String>::new()));
    let scripts = Rc::new(RefCell::new(Vec::<Script>::new()));
    let line_of = |offset: usize| 1 + html[..offset.min(html.len())].matches('\n').count();
    {
        let (l1, l2, l3, l4) = (live.clone(), live.clone(), live.clone(), live.clone());
        let (s1, s2) = (scripts.clone(), scripts.clone());
        let mut noscript_text = String::new();
        let mut style_text = String::new();
        let mut rewriter = HtmlRewriter::new(
            Settings::new()
                .append_element_content_handler(element!("script", move |el: &mut Element| {
                    // A repeated attribute is dropped by browsers (the first one counts).
                    let mut attrs: BTreeMap<String, String> = BTreeMap::new();
                    for a in el.attributes() {
                        attrs.entry(a.name()).or_insert_with(|| a.value());
                    }
                    let line = line_of(el.source_location().bytes().start);
                    if executable(attrs.get("type").map(String::as_str)) {
                        if let Some(src) = attrs.get("src").or(attrs.get("href")) {
                            if url_is_tracker(src) {
                                l1.borrow_mut()
                                    .push(format!("line {line}: <script src={src}>"));
                            }
                        }
                    }
                    s1.borrow_mut().push(Script {
                        attrs,
                        text: String::new(),
                        line,
                    });
                    Ok(())
                }))
                .append_element_content_handler(text!("script", move |t: &mut TextChunk| {
                    if let Some(last) = s2.borrow_mut().last_mut() {
                        last.text.push_str(t.as_str());
                    }
                    Ok(())
                }))
                .append_element_content_handler(element!("*", move |el: &mut Element| {
                    let line = line_of(el.source_location().bytes().start);
                    let tag = el.tag_name();
                    // every attribute a browser fetches from (a link's href is followed
                    // on a click, not fetched)
                    for attr in [
                        "src",
                        "srcset",
                        "href",
                        "xlink:href",
                        "poster",
                        "data",
                        "ping",
                        "imagesrcset",
                        "background",
                    ] {
                        if attr == "href" && matches!(tag.as_str(), "a" | "area") {
                            continue;
                        }
                        if attr == "src" && tag == "script" {
                            continue; // checked with its type above
                        }
                        if let Some(v) = el.get_attribute(attr) {
                            let urls: Vec<&str> = match attr {
                                "srcset" | "imagesrcset" => v
                                    .split(',')
                                    .filter_map(|c| c.split_whitespace().next())
                                    .collect(),
                                "ping" => v.split_whitespace().collect(),
                                _ => vec![v.as_str()],
                            };
                            if urls.iter().any(|u| url_is_tracker(u)) {
                                l2.borrow_mut()
                                    .push(format!("line {line}: <{tag} {attr}={v}>"));
                            }
                        }
                    }
                    if let Some(style) = el.get_attribute("style") {
                        if css_fetches_tracker(&htmlize::unescape_attribute(&style)) {
                            l2.borrow_mut()
                                .push(format!("line {line}: <{tag} style={style}>"));
                        }
                    }
                    if let Some(doc) = el.get_attribute("srcdoc") {
                        let (inner, _) = inspect(&htmlize::unescape_attribute(&doc));
                        for l in inner {
                            l2.borrow_mut().push(format!("line {line}: srcdoc {l}"));
                        }
                    }
                    Ok(())
                }))
                .append_element_content_handler(text!("style", move |t: &mut TextChunk| {
                    style_text.push_str(t.as_str());
                    if t.last_in_text_node() {
                        let sheet = std::mem::take(&mut style_text);
                        if css_fetches_tracker(&sheet) {
                            l4.borrow_mut()
                                .push(format!("<style> {:.80}", sheet.trim()));
                        }
                    }
                    Ok(())
                }))
                .append_element_content_handler(text!("noscript", move |t: &mut TextChunk| {
                    // the whole noscript text at once: chunks can end inside a tag
                    noscript_text.push_str(t.as_str());
                    if !t.last_in_text_node() {
                        return Ok(());
                    }
                    let text = std::mem::take(&mut noscript_text).to_ascii_lowercase();
                    for m in URL_MARKERS {
                        let mut from = 0;
                        while let Some(i) = text[from..].find(m) {
                            let at = from + i;
                            // the attribute this URL belongs to: the name before the last '='
                            let before = &text[..at];
                            let eq = before.rfind('=').unwrap_or(0);
                            let name_start = before[..eq]
                                .rfind(|c: char| c.is_whitespace() || c == '<')
                                .map(|p| p + 1)
                                .unwrap_or(0);
                            let name = before[name_start..eq].trim();
                            // markup escaped as &lt;img …&gt; is text even without JavaScript
                            let escaped = before
                                .rfind("&lt;")
                                .is_some_and(|e| before.rfind('<').is_none_or(|l| e > l));
                            // a link's href is followed on a click, not fetched
                            let tag = before
                                .rfind('<')
                                .map(|l| &before[l + 1..])
                                .and_then(|t| t.split(|c: char| c.is_whitespace()).next())
                                .unwrap_or("");
                            let followed = name == "href" && matches!(tag, "a" | "area");
                            if !escaped
                                && !followed
                                && !name.starts_with("data-cg-")
                                && matches!(name, "src" | "srcset" | "href")
                            {
                                l3.borrow_mut().push(format!("noscript: {name}=…{m}"));
                            }
                            from = at + m.len();
                        }
                    }
                    Ok(())
                })),
            |_: &[u8]| {},
        );
        rewriter.write(html.as_bytes()).unwrap();
        rewriter.end().unwrap();
    }
    let mut scripts_out = scripts.borrow().clone();
    for s in &scripts_out {
        if executable(s.attrs.get("type").map(String::as_str))
            && !s.attrs.contains_key("src")
            && (text_is_tracker(&s.text) || is_api_calls_only(&s.text, false))
        {
            live.borrow_mut().push(format!(
                "line {}: inline script {:.60}",
                s.line,
                s.text.trim()
            ));
        }
    }
    scripts_out.retain(|s| !s.attrs.get("src").is_some_and(|v| v.starts_with("/_gate/")));
    let live_out = live.borrow().clone();
    (live_out, scripts_out)
}

/// Undo the neutralisation format of DESIGN.md on a script's attributes: `data-cg-X` back to
/// `X` (`data-cg-xlink-href` to `xlink:href`), `data-cg-type` back to `type`.
pub fn restore(script: &Script) -> Script {
    let mut s = script.clone();
    if s.attrs.contains_key("data-cg-vendor") {
        match s.attrs.remove("data-cg-type") {
            Some(ty) => {
                s.attrs.insert("type".into(), ty);
            }
            None if s.attrs.get("type").is_some_and(|t| t == "text/plain") => {
                s.attrs.remove("type");
            }
            None => {}
        }
        s.attrs.remove("data-cg-category");
        s.attrs.remove("data-cg-vendor");
        let moved: Vec<String> = s
            .attrs
            .keys()
            .filter(|k| k.starts_with("data-cg-"))
            .cloned()
            .collect();
        for key in moved {
            if let Some(value) = s.attrs.remove(&key) {
                let name = key["data-cg-".len()..].replace("xlink-", "xlink:");
                s.attrs.insert(name, value);
            }
        }
    }
    s
}

/// Problems with the scripts of `output` compared to `input`: a script that changed although it
/// is not a tracker, or changed other than by the neutralisation format.
pub fn script_changes(input: &[Script], output: &[Script]) -> Vec<String> {
    let mut problems = Vec::new();
    if input.len() != output.len() {
        problems.push(format!("{} scripts in, {} out", input.len(), output.len()));
        return problems;
    }
    for (a, b) in input.iter().zip(output) {
        if a == b || (a.attrs == b.attrs && a.text == b.text) {
            continue;
        }
        let restored = restore(b);
        if restored.attrs != a.attrs || restored.text != a.text {
            problems.push(format!(
                "line {}: script changed beyond neutralisation: {:?} -> {:?}",
                a.line, a.attrs, b.attrs
            ));
            continue;
        }
        let tracker = ["src", "href", "xlink:href"]
            .iter()
            .any(|k| a.attrs.get(*k).is_some_and(|s| url_may_be_tracker(s)))
            || text_is_tracker(&a.text)
            || is_api_calls_only(&a.text, true);
        if !tracker {
            problems.push(format!(
                "line {}: non-tracker script neutralised: {:?} {:.80}",
                a.line,
                a.attrs,
                a.text.trim()
            ));
        }
    }
    problems
}
