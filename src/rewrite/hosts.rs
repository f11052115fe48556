//! The other hosts a page loads something from (scripts, frames, images, stylesheets, media,
//! URLs written in inline scripts) that the tracker catalogue does not know: what `consentgate
//! scan` lists after its findings, so "1 tracker found" on a page with five unknown
//! third parties does not read as "clean".

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use lol_html::html_content::{Element, TextChunk};
use lol_html::{element, text, RewriteStrSettings};
use url::Url;

use crate::trackers::Catalogue;

/// One host the page loads from, with how (`script`, `frame`, `image`, `stylesheet`, `link`,
/// `media`, `inline script`), each kind once, in name order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReference {
    pub host: String,
    pub kinds: BTreeSet<&'static str>,
}

impl std::fmt::Display for HostReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds: Vec<&str> = self.kinds.iter().copied().collect();
        write!(f, "{} ({})", self.host, kinds.join(", "))
    }
}

/// What an element loads, by tag: the kind named in the report.
fn kind_of(tag: &str) -> Option<&'static str> {
    Some(match tag {
        "script" => "script",
        "iframe" | "frame" => "frame",
        "img" | "picture" | "image" => "image",
        "video" | "audio" | "source" | "track" => "media",
        "embed" | "object" => "frame",
        "link" => "link",
        _ => return None,
    })
}

/// Attributes that name something an element loads (a lazy loader's too).
const URL_ATTRS: &[&str] = &["src", "href", "poster", "data", "data-src", "data-lazy-src"];

/// Every host the page loads from, other than `own_hosts` (the site's own, lower case, without
/// `www.`) and those the catalogue classifies (a tracker's URL, or a host a vendor claims
/// whole, necessary vendors included). A page lol_html
/// cannot read gives what was read up to there.
pub fn unknown_hosts(
    html: &[u8],
    catalogue: &Catalogue,
    own_hosts: &[String],
) -> Vec<HostReference> {
    let found: std::cell::RefCell<BTreeMap<String, BTreeSet<&'static str>>> = Default::default();
    let note = |url: &str, kind: &'static str| {
        if let Some(host) = host_of(url) {
            let known = catalogue.knows_host(&host) || catalogue.vendor_for_url(url).is_some();
            if !own_hosts.contains(&host) && !known {
                found.borrow_mut().entry(host).or_default().insert(kind);
            }
        }
    };
    let page = String::from_utf8_lossy(html);
    let _ = lol_html::rewrite_str(
        &page,
        RewriteStrSettings::new()
            .append_element_content_handler(element!("script, iframe, frame, img, image, video, audio, source, track, embed, object, link", |el: &mut Element| {
                    let tag = el.tag_name();
                    let mut kind = kind_of(&tag).unwrap_or("link");
                    if tag == "link" {
                        let rel = el.get_attribute("rel").unwrap_or_default().to_ascii_lowercase();
                        if rel.split_whitespace().any(|r| r == "stylesheet") {
                            kind = "stylesheet";
                        }
                    }
                    for attr in URL_ATTRS {
                        if let Some(url) = el.get_attribute(attr) {
                            note(&url, kind);
                        }
                    }
                    for attr in ["srcset", "imagesrcset"] {
                        if let Some(set) = el.get_attribute(attr) {
                            for candidate in set.split(',') {
                                if let Some(url) = candidate.split_whitespace().next() {
                                    note(url, kind);
                                }
                            }
                        }
                    }
                    Ok(())
                }))
            .append_element_content_handler(text!("script", |chunk: &mut TextChunk| {
                    for m in url_pattern().find_iter(chunk.as_str()) {
                        note(m.as_str(), "inline script");
                    }
                    Ok(())
                })),
    );
    found
        .into_inner()
        .into_iter()
        .map(|(host, kinds)| HostReference { host, kinds })
        .collect()
}

/// `https://host…` or `//host…` written in script text.
fn url_pattern() -> &'static regex::Regex {
    static PATTERN: OnceLock<regex::Regex> = OnceLock::new();
    // A constant pattern; `url_pattern_compiles` keeps it valid.
    PATTERN.get_or_init(|| {
        regex::Regex::new(r#"(?i)(?:https?:)?//[a-z0-9][a-z0-9.-]*\.[a-z]{2,}"#)
            .expect("constant pattern")
    })
}

/// The host of an absolute or scheme-relative http(s) URL, lower case, without a trailing dot
/// or `www.`; `None` for relative URLs and other schemes (data:, about:, javascript:).
fn host_of(url: &str) -> Option<String> {
    let decoded = htmlize::unescape_attribute(url.trim());
    let absolute = if decoded.starts_with("//") {
        format!("https:{decoded}")
    } else {
        decoded.into_owned()
    };
    let parsed = Url::parse(&absolute).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let host = parsed
        .host_str()?
        .trim_end_matches('.')
        .to_ascii_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_pattern_compiles() {
        assert!(url_pattern().is_match("t.src='https://snap.licdn.com/x.js'"));
    }

    #[test]
    fn unknown_third_parties_are_listed_once_with_how_they_load() {
        let page = br#"<html><head>
            <script src="https://snap.licdn.example/li.js"></script>
            <script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
            <link rel="stylesheet" href="https://fonts.googleapis.com/css?family=x">
            <link rel="preconnect" href="https://fonts.gstatic.com">
            <script>var s=document.createElement('script');s.src='https://cdn.unknown-widget.example/w.js';</script>
            </head><body>
            <img src="/logo.png"><img src="https://stichting.example/a.png">
            <img srcset="https://img.cdn.example/a.jpg 1x, https://img.cdn.example/b.jpg 2x">
            <iframe data-src="//widgets.example/frame"></iframe>
            <script src="https://snap.licdn.example/again.js"></script>
            <a href="https://elsewhere.example/">a link loads nothing</a>
            </body></html>"#;
        let hosts = unknown_hosts(page, &Catalogue::builtin(), &["stichting.example".into()]);
        let listed: Vec<String> = hosts.iter().map(ToString::to_string).collect();
        assert_eq!(
            listed,
            [
                "cdn.unknown-widget.example (inline script)",
                "fonts.googleapis.com (stylesheet)",
                "fonts.gstatic.com (link)",
                "img.cdn.example (image)",
                "snap.licdn.example (script)",
                "widgets.example (frame)",
            ]
        );
    }
}
