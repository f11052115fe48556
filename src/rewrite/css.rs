//! The URLs a stylesheet or a `style` attribute makes a browser fetch: `url(…)` tokens (quoted
//! or not, escapes decoded by the CSS tokenizer), `@import "…"` strings and the strings of
//! `image-set()` — read with Servo's `cssparser`, so comments, escapes and nesting are read as a
//! browser reads them. The rewriter removes the ones that lead to a tracker.

use std::ops::Range;

use cssparser::{ParseError, Parser, ParserInput, Token};

use crate::trackers::{Catalogue, Vendor};

/// A tracker URL in a piece of CSS: its byte range (the whole `url(…)` token or string) and
/// the vendor it leads to.
#[derive(Debug, Clone)]
pub(crate) struct CssHit<'c> {
    pub range: Range<usize>,
    pub vendor: &'c Vendor,
}

/// Whether `css` could fetch from a tracker: the cheap test before tokenizing. It must name a
/// tracker host or loader path literally, unless something could disguise one — a CSS escape
/// (`\\`), a percent-encoded byte or a non-ASCII character (IDNA maps full-width letters).
pub(crate) fn may_fetch_tracker(catalogue: &Catalogue, css: &str) -> bool {
    let fetches = css.contains('(') || css.contains("@import") || css.contains("@IMPORT");
    if !fetches {
        return false;
    }
    let percent_encoded = css
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit());
    css.contains('\\') || !css.is_ascii() || percent_encoded || catalogue.mentions_tracker_host(css)
}

/// Every tracker URL in `css`, in order.
pub(crate) fn tracker_urls<'c>(catalogue: &'c Catalogue, css: &str) -> Vec<CssHit<'c>> {
    let mut hits = Vec::new();
    let mut input = ParserInput::new(css);
    let mut parser = Parser::new(&mut input);
    scan(&mut parser, catalogue, &mut hits, false);
    hits
}

/// `css` without the byte ranges of `hits` (which are in order and do not overlap).
pub(crate) fn without(css: &str, hits: &[CssHit<'_>]) -> String {
    let mut out = String::with_capacity(css.len());
    let mut at = 0;
    for hit in hits {
        out.push_str(&css[at..hit.range.start]);
        at = hit.range.end;
    }
    out.push_str(&css[at..]);
    out
}

/// Walk the tokens of one block; `strings_are_urls` inside `image-set()`.
fn scan<'i, 'c>(
    parser: &mut Parser<'i, '_>,
    catalogue: &'c Catalogue,
    hits: &mut Vec<CssHit<'c>>,
    strings_are_urls: bool,
) {
    let mut after_import = false;
    loop {
        let start = parser.position().byte_index();
        let token = match parser.next_including_whitespace_and_comments() {
            Ok(token) => token.clone(),
            Err(_) => return,
        };
        match token {
            Token::WhiteSpace(_) | Token::Comment(_) => continue,
            Token::UnquotedUrl(url) => hit(catalogue, &url, start, parser, hits),
            Token::QuotedString(url) if strings_are_urls || after_import => {
                hit(catalogue, &url, start, parser, hits)
            }
            Token::Function(name) => {
                let lower = name.to_ascii_lowercase();
                let is_url = matches!(lower.as_str(), "url" | "src");
                let is_set = lower.ends_with("image-set");
                let mut url = None;
                let _ = parser.parse_nested_block(|inner| -> Result<(), ParseError<'i, ()>> {
                    if is_url {
                        if let Ok(Token::QuotedString(s)) = inner.next() {
                            url = Some(s.to_string());
                        }
                        while inner.next().is_ok() {}
                    } else {
                        scan(inner, catalogue, hits, is_set);
                    }
                    Ok(())
                });
                if let Some(url) = url {
                    hit(catalogue, &url, start, parser, hits);
                }
            }
            Token::ParenthesisBlock | Token::SquareBracketBlock | Token::CurlyBracketBlock => {
                let _ = parser.parse_nested_block(|inner| -> Result<(), ParseError<'i, ()>> {
                    scan(inner, catalogue, hits, false);
                    Ok(())
                });
            }
            Token::AtKeyword(name) if name.eq_ignore_ascii_case("import") => {
                after_import = true;
                continue;
            }
            _ => {}
        }
        after_import = false;
    }
}

/// Record `url`, read from `start` up to the parser's position, if it leads to a tracker.
fn hit<'c>(
    catalogue: &'c Catalogue,
    url: &str,
    start: usize,
    parser: &Parser<'_, '_>,
    hits: &mut Vec<CssHit<'c>>,
) {
    if let Some(vendor) = catalogue.vendor_for_url(url) {
        hits.push(CssHit {
            range: start..parser.position().byte_index(),
            vendor,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stripped(css: &str) -> (String, Vec<String>) {
        let cat = Catalogue::builtin();
        let hits = tracker_urls(&cat, css);
        let vendors = hits.iter().map(|h| h.vendor.id.clone()).collect();
        (without(css, &hits), vendors)
    }

    #[test]
    fn tracker_urls_are_found_in_every_spelling_and_removed() {
        let (css, vendors) = stripped(
            "a{background:url(https://www.facebook.com/tr?id=1) no-repeat red}\n\
             b{background-image:URL( \"//www.google-analytics.com/collect\" )}\n\
             @import 'https://static.hotjar.com/x.css';\n\
             @media screen{i{background:image-set('https://connect.facebook.net/a.png' 1x)}}\n\
             c{background:url(/own.png)}/* url(https://www.google-analytics.com/c) */\n\
             d{background:url(https\\3a //www.google-analytics.com/e)}",
        );
        assert_eq!(
            vendors,
            [
                "meta_pixel",
                "google_analytics",
                "hotjar",
                "meta_pixel",
                "google_analytics"
            ]
        );
        assert!(css.starts_with("a{background: no-repeat red}"), "{css}");
        assert!(css.contains("url(/own.png)"), "{css}");
        assert!(css.contains("@import ;"), "{css}");
        assert!(!css.contains("facebook.net"), "{css}");
    }

    #[test]
    fn css_without_tracker_urls_is_left_alone() {
        let cat = Catalogue::builtin();
        for css in [
            "body{color:red}",
            "a{background:url(data:image/png;base64,AAAA)}",
            "x{content:'url(https://www.google-analytics.com/x)'}",
            "@import url(/theme.css);",
            "unbalanced{ (",
        ] {
            assert!(tracker_urls(&cat, css).is_empty(), "{css}");
        }
    }
}
