//! Whether a browser renders a response as HTML, read the way browsers read it: the
//! Content-Type per the Fetch standard's "extract a MIME type" (the last valid value of all
//! the headers wins, commas split values), a missing or unknown one per the WHATWG MIME
//! Sniffing standard, and the encoding per the WHATWG Encoding standard (a BOM wins over the
//! header; an unknown label falls back to windows-1252 and `<meta charset>`).

use encoding_rs::Encoding;

/// The MIME type a browser takes from a response's Content-Type headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    /// Lower-case `type/subtype`.
    pub essence: String,
    pub charset: Option<String>,
}

/// Fetch standard §3.5 "extract a MIME type" over all Content-Type header values: every value
/// split on commas outside quoted strings, each parsed (the `mime` crate), failures and `*/*`
/// skipped; the last one wins, inheriting the charset of an earlier one of the same essence.
/// `None` when no value parses (the browser then sniffs).
pub fn extract_mime_type<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<MimeType> {
    let mut result: Option<MimeType> = None;
    for value in values {
        for item in split_outside_quotes(value) {
            let Ok(parsed) = item.trim().parse::<mime::Mime>() else {
                continue;
            };
            let essence = parsed.essence_str().to_ascii_lowercase();
            if essence == "*/*" {
                continue;
            }
            let charset = parsed
                .get_param(mime::CHARSET)
                .map(|c| c.as_str().to_owned())
                .filter(|c| !c.is_empty());
            result = Some(match result {
                Some(previous) if previous.essence == essence && charset.is_none() => MimeType {
                    essence,
                    charset: previous.charset,
                },
                _ => MimeType { essence, charset },
            });
        }
    }
    result
}

/// The comma-separated parts of a header value, commas inside `"…"` not splitting.
fn split_outside_quotes(value: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts
}

/// How much of a body the MIME sniffing standard looks at (its "resource header").
pub const SNIFF_LEN: usize = 1445;

/// MIME Sniffing standard §7.1 "identifying a resource with an unknown MIME type", the rows
/// that yield text/html: after leading whitespace bytes (0x09 0x0A 0x0C 0x0D 0x20), one of
/// these, case-insensitively, followed by a tag-terminating byte (0x20 or 0x3E).
const HTML_SIGNATURES: &[&[u8]] = &[
    b"<!DOCTYPE HTML",
    b"<HTML",
    b"<HEAD",
    b"<SCRIPT",
    b"<IFRAME",
    b"<H1",
    b"<DIV",
    b"<FONT",
    b"<TABLE",
    b"<A",
    b"<STYLE",
    b"<TITLE",
    b"<B",
    b"<BODY",
    b"<BR",
    b"<P",
    b"<!--",
];

/// Whether a body without a usable Content-Type is sniffed as HTML by a browser, from its
/// first [`SNIFF_LEN`] (decoded) bytes. A UTF-16 BOM counts too: such a body is text a
/// browser shows, and the gate will not guess that it holds no markup.
pub fn sniffs_as_html(prefix: &[u8]) -> bool {
    let header = &prefix[..prefix.len().min(SNIFF_LEN)];
    if header.starts_with(&[0xFE, 0xFF]) || header.starts_with(&[0xFF, 0xFE]) {
        return true;
    }
    let start = header
        .iter()
        .position(|b| !matches!(b, 0x09 | 0x0A | 0x0C | 0x0D | 0x20))
        .unwrap_or(header.len());
    let rest = &header[start..];
    HTML_SIGNATURES.iter().any(|sig| {
        rest.len() > sig.len()
            && rest[..sig.len()].eq_ignore_ascii_case(sig)
            && matches!(rest[sig.len()], b' ' | b'>')
    })
}

/// How a page's bytes are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageEncoding {
    pub encoding: &'static Encoding,
    /// Not ASCII-compatible (UTF-16, ISO-2022-JP, replacement): decoded to UTF-8 for the
    /// rewrite, and sent as UTF-8.
    pub transcode: bool,
    /// No reliable transport encoding: a `<meta charset>` in the page may still change it.
    pub meta_may_change: bool,
}

/// The encoding a browser reads a page in (WHATWG Encoding standard and HTML's encoding
/// sniffing): a BOM first; then the Content-Type charset if it is a known label; an unknown
/// label is ignored (windows-1252, then `<meta charset>`), as browsers do; no label at all is
/// read as UTF-8 with `<meta charset>` honoured (what the gate always did for such pages).
pub fn page_encoding(charset: Option<&str>, prefix: &[u8]) -> PageEncoding {
    let pick = |encoding: &'static Encoding, meta_may_change: bool| PageEncoding {
        encoding,
        transcode: lol_html::AsciiCompatibleEncoding::new(encoding).is_none(),
        meta_may_change,
    };
    if let Some((encoding, _)) = Encoding::for_bom(prefix) {
        return pick(encoding, false);
    }
    match charset
        .map(|c| c.trim().trim_matches('"'))
        .filter(|c| !c.is_empty())
    {
        None => pick(encoding_rs::UTF_8, true),
        Some(label) => match Encoding::for_label(label.as_bytes()) {
            Some(encoding) => pick(encoding, false),
            None => pick(encoding_rs::WINDOWS_1252, true),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(values: &[&str]) -> Option<(String, Option<String>)> {
        extract_mime_type(values.iter().copied()).map(|m| (m.essence, m.charset))
    }

    #[test]
    fn the_last_valid_content_type_wins_as_in_fetch() {
        assert_eq!(
            extract(&["text/plain", "text/html"]),
            Some(("text/html".into(), None))
        );
        assert_eq!(
            extract(&["text/plain, text/html;charset=utf-8"]),
            Some(("text/html".into(), Some("utf-8".into())))
        );
        assert_eq!(
            extract(&["text/html;charset=gbk", "text/html"]),
            Some(("text/html".into(), Some("gbk".into())))
        );
        assert_eq!(
            extract(&["text/html", "nonsense", "*/*"]),
            Some(("text/html".into(), None))
        );
        assert_eq!(extract(&["nonsense"]), None);
        assert_eq!(extract(&[]), None);
    }

    #[test]
    fn html_is_sniffed_by_the_standards_signatures() {
        for html in [
            &b"<!DOCTYPE html><html>"[..],
            b"  \n\t<html lang=en>",
            b"<HEAD>",
            b"<script src=x>",
            b"<p>hi",
            b"<!-- comment -->",
            b"<b>bold",
        ] {
            assert!(sniffs_as_html(html), "{}", String::from_utf8_lossy(html));
        }
        for other in [
            &b"{\"json\": 1}"[..],
            b"plain text <html>",
            b"<?xml version=\"1.0\"?>",
            b"<html",
            b"<bold>",
            b"",
        ] {
            assert!(!sniffs_as_html(other), "{}", String::from_utf8_lossy(other));
        }
        let late = [b" ".repeat(SNIFF_LEN), b"<html>".to_vec()].concat();
        assert!(!sniffs_as_html(&late), "only the resource header counts");
    }

    #[test]
    fn encodings_follow_bom_then_label_then_fallback() {
        let e = |charset: Option<&str>, prefix: &[u8]| page_encoding(charset, prefix);
        assert_eq!(
            e(Some("utf8mb4"), b"<p>").encoding,
            encoding_rs::WINDOWS_1252
        );
        assert!(e(Some("utf8mb4"), b"<p>").meta_may_change);
        assert_eq!(
            e(Some("latin1"), b"<p>").encoding,
            encoding_rs::WINDOWS_1252
        );
        assert!(!e(Some("latin1"), b"<p>").meta_may_change);
        let utf16 = e(Some("utf-8"), &[0xFF, 0xFE, b'<', 0]);
        assert_eq!(utf16.encoding, encoding_rs::UTF_16LE);
        assert!(utf16.transcode);
        assert!(e(Some("utf-16be"), b"\0<").transcode);
        assert_eq!(
            e(Some("iso-8859-1"), b"\xEF\xBB\xBF<p>").encoding,
            encoding_rs::UTF_8
        );
        assert!(!e(None, b"<p>").transcode);
    }
}
