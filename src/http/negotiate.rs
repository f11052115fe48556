//! Content negotiation through actix's typed headers: the reply format (Accept), the
//! language of the gate's own pages (Accept-Language, after the page's own language) and the
//! content coding (Accept-Encoding).

use actix_web::http::header::{
    Accept, AcceptEncoding, AcceptLanguage, ContentEncoding, Encoding, Header, Preference, Quality,
};
use actix_web::HttpRequest;

/// A language the gate writes its own pages in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Nl,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Nl => "nl",
            Lang::En => "en",
        }
    }

    /// The language of a language tag (`nl`, `nl-BE`, `EN-gb`, …); `None` for any other.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("nl") {
            Some(Lang::Nl)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Lang::En)
        } else {
            None
        }
    }
}

impl From<crate::config::FormLanguage> for Lang {
    fn from(l: crate::config::FormLanguage) -> Self {
        match l {
            crate::config::FormLanguage::Nl => Lang::Nl,
            crate::config::FormLanguage::En => Lang::En,
        }
    }
}

impl From<crate::config::dashboard::Language> for Lang {
    fn from(l: crate::config::dashboard::Language) -> Self {
        match l {
            crate::config::dashboard::Language::Nl => Lang::Nl,
            crate::config::dashboard::Language::En => Lang::En,
        }
    }
}

impl From<Lang> for crate::config::dashboard::Language {
    fn from(l: Lang) -> Self {
        match l {
            Lang::Nl => crate::config::dashboard::Language::Nl,
            Lang::En => crate::config::dashboard::Language::En,
        }
    }
}

/// The two shapes an error answer can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Html,
}

/// JSON or HTML, as the request's Accept prefers; `default` when it does not decide (no
/// header, `*/*`, an equal weight for both). A type named exactly beats a wildcard of the
/// same weight, so `application/json, */*` gets JSON and a browser's `text/html, */*;q=0.8`
/// gets HTML.
pub fn reply_format(req: &HttpRequest, default: Format) -> Format {
    let Ok(accept) = Accept::parse(req) else {
        return default;
    };
    // (q-value, specificity) of the best entry matching a type; specificity 2 = exact.
    let weight = |type_: mime::Name<'_>, subtype: mime::Name<'_>| {
        accept
            .0
            .iter()
            .filter_map(|item| {
                let (t, s) = (item.item.type_(), item.item.subtype());
                let specificity = if t == type_ && s == subtype {
                    2
                } else if t == type_ && s == mime::STAR {
                    1
                } else if t == mime::STAR && s == mime::STAR {
                    0
                } else {
                    return None;
                };
                Some((item.quality, specificity))
            })
            .max_by_key(|(_, specificity)| *specificity)
            .filter(|(q, _)| *q > Quality::ZERO)
    };
    let html = weight(mime::TEXT, mime::HTML);
    let json = weight(mime::APPLICATION, mime::JSON);
    match (html, json) {
        (Some(h), Some(j)) if h > j => Format::Html,
        (Some(h), Some(j)) if j > h => Format::Json,
        (Some(_), None) => Format::Html,
        (None, Some(_)) => Format::Json,
        _ => default,
    }
}

/// The language for the gate's own pages: the page's language when known (like the banner's
/// `<html lang>`), else the first of nl/en the browser asks for, else the configured default.
pub fn language(req: &HttpRequest, page: Option<Lang>, default: Lang) -> Lang {
    if let Some(lang) = page {
        return lang;
    }
    AcceptLanguage::parse(req)
        .ok()
        .and_then(|accept| {
            accept
                .ranked()
                .iter()
                .filter_map(|pref| pref.item())
                .find_map(|tag| Lang::from_tag(tag.primary_language()))
        })
        .unwrap_or(default)
}

/// The content coding to send: among `offered` (listed in the server's order of preference,
/// which breaks ties), the one the request's Accept-Encoding gives the highest non-zero weight
/// — a coding it does not name takes the weight of `*`. Identity when nothing offered is
/// acceptable, or the header is absent or unreadable.
pub fn preferred_encoding(req: &HttpRequest, offered: &[ContentEncoding]) -> ContentEncoding {
    let Ok(accept) = AcceptEncoding::parse(req) else {
        return ContentEncoding::Identity;
    };
    let weight = |coding: ContentEncoding| {
        let mut star = Quality::ZERO;
        for item in &accept.0 {
            match &item.item {
                Preference::Specific(Encoding::Known(c)) if *c == coding => return item.quality,
                // Old name of gzip that some clients still send.
                Preference::Specific(Encoding::Unknown(name))
                    if coding == ContentEncoding::Gzip && name.eq_ignore_ascii_case("x-gzip") =>
                {
                    return item.quality
                }
                Preference::Any => star = item.quality,
                Preference::Specific(_) => {}
            }
        }
        star
    };
    let mut best = (ContentEncoding::Identity, Quality::ZERO);
    for &coding in offered {
        let q = weight(coding);
        if q > best.1 {
            best = (coding, q);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::test_request as req;

    const PAGE: [ContentEncoding; 3] = [
        ContentEncoding::Gzip,
        ContentEncoding::Brotli,
        ContentEncoding::Deflate,
    ];

    fn coding(accept: Option<&str>) -> ContentEncoding {
        let r = match accept {
            Some(a) => req(&[("accept-encoding", a)]),
            None => req(&[]),
        };
        preferred_encoding(&r, &PAGE)
    }

    #[test]
    fn accept_encoding_picks_the_best_acceptable_coding() {
        use ContentEncoding::*;
        assert_eq!(coding(None), Identity);
        assert_eq!(coding(Some("gzip, deflate, br")), Gzip);
        assert_eq!(coding(Some("br")), Brotli);
        assert_eq!(coding(Some("gzip;q=0.5, br;q=0.9")), Brotli);
        assert_eq!(coding(Some("gzip;q=0, deflate")), Deflate);
        assert_eq!(coding(Some("gzip;q=0")), Identity);
        assert_eq!(coding(Some("identity")), Identity);
        assert_eq!(coding(Some("*")), Gzip);
        assert_eq!(coding(Some("x-gzip")), Gzip);
        assert_eq!(coding(Some("zstd")), Identity);
    }

    #[test]
    fn accept_decides_between_json_and_html() {
        let f = |accept: &str, default| reply_format(&req(&[("accept", accept)]), default);
        assert_eq!(
            f("text/html,application/xhtml+xml,*/*;q=0.8", Format::Json),
            Format::Html
        );
        assert_eq!(f("application/json", Format::Html), Format::Json);
        assert_eq!(
            f("application/json, text/plain, */*", Format::Html),
            Format::Json
        );
        assert_eq!(f("*/*", Format::Html), Format::Html);
        assert_eq!(f("*/*", Format::Json), Format::Json);
        assert_eq!(reply_format(&req(&[]), Format::Json), Format::Json);
    }

    #[test]
    fn language_follows_page_then_browser_then_default() {
        let r = req(&[("accept-language", "de-DE, en-GB;q=0.8, nl;q=0.5")]);
        assert_eq!(language(&r, None, Lang::Nl), Lang::En);
        assert_eq!(language(&r, Some(Lang::Nl), Lang::En), Lang::Nl);
        assert_eq!(language(&req(&[]), None, Lang::Nl), Lang::Nl);
        let r = req(&[("accept-language", "fr")]);
        assert_eq!(language(&r, None, Lang::En), Lang::En);
    }

    #[test]
    fn language_tags_map_to_the_two_languages() {
        assert_eq!(Lang::from_tag("nl-BE"), Some(Lang::Nl));
        assert_eq!(Lang::from_tag("EN-gb"), Some(Lang::En));
        assert_eq!(Lang::from_tag("de"), None);
        assert_eq!(Lang::from_tag("*"), None);
    }
}
