//! The parameter table: what the relay does with each parameter of a GA4 hit before Google
//! sees it — kept, changed, or removed — applied alike to the query string and to every line
//! of a batched body. Anything not named here is removed, so a parameter Google adds later
//! reaches Google only once someone has decided it is harmless. README lists the same table
//! with the reasons.

use std::borrow::Cow;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

use crate::config::ReferrerPolicy;

/// What happens to one parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Treatment {
    /// Passed on as it came.
    Keep,
    /// The client id: replaced by its keyed hash.
    ClientId,
    /// A page URL (`dl`, `ep.page_location`): scheme, host and path only (and `utm_*` with
    /// `keep_utm`).
    PageLocation,
    /// The referring page (`dr`, `ep.page_referrer`): removed, or its origin only.
    Referrer,
    /// A URL in an event (`ep.link_url`, …): http(s) only, without query and fragment.
    LinkUrl,
    /// Screen size (`sr`): rounded down to the bucket.
    Screen,
    /// Not passed on.
    Remove,
}

/// Request and event parameters passed on unchanged: the protocol, the tag, consent state,
/// the session counters gtag keeps, the event name and engagement time, language and title.
pub const KEPT: &[&str] = &[
    "v",
    "tid",
    "gtm",
    "_p",
    "_s",
    "en",
    "_et",
    "_c",
    "_ss",
    "_fv",
    "_nsi",
    "sid",
    "sct",
    "seg",
    "_dbg",
    "ul",
    "dt",
    "ir",
    "gcs",
    "gcd",
    "npa",
    "dma",
    "dma_cps",
    "tag_exp",
    "_eu",
    "tfd",
    "richsstsse",
];

/// Event parameters (`ep.<name>`, `epn.<name>`) passed on unchanged: those gtag's automatic and
/// enhanced measurement send, minus any that can carry what a visitor typed or who they are.
pub const EVENT_PARAMS: &[&str] = &[
    "page_title",
    "engagement_time_msec",
    "percent_scrolled",
    "link_domain",
    "link_id",
    "link_classes",
    "outbound",
    "file_extension",
    "file_name",
    "video_title",
    "video_provider",
    "video_current_time",
    "video_duration",
    "video_percent",
    "visible",
    "form_id",
    "form_name",
    "form_length",
    "content_group",
    "debug_mode",
    "ignore_referrer",
];

/// Parameters removed on purpose (everything not in the table is removed too); the README's
/// table explains each.
pub const REMOVED: &[&str] = &[
    "uid", "_fid", "gclid", "dclid", "wbraid", "gbraid", "_uip", "uip", "uaa", "uab", "uafvl",
    "uam", "uamb", "uap", "uapv", "uaw", "pscdl",
];

/// How a hit is rewritten besides the fixed table (`[relay.google_analytics]`).
#[derive(Debug, Clone)]
pub struct Rules {
    pub keep_utm: bool,
    pub referrer: ReferrerPolicy,
    /// Event parameter names kept besides [`EVENT_PARAMS`].
    pub event_params: Vec<String>,
}

impl Rules {
    /// What happens to the parameter `name`.
    pub fn treatment(&self, name: &str) -> Treatment {
        match name {
            "cid" => return Treatment::ClientId,
            "dl" => return Treatment::PageLocation,
            "dr" => return Treatment::Referrer,
            "sr" => return Treatment::Screen,
            _ if KEPT.contains(&name) => return Treatment::Keep,
            _ => {}
        }
        let Some(event) = name
            .strip_prefix("ep.")
            .or_else(|| name.strip_prefix("epn."))
        else {
            return Treatment::Remove;
        };
        match event {
            "page_location" => Treatment::PageLocation,
            "page_referrer" => Treatment::Referrer,
            "link_url" | "video_url" | "form_destination" => Treatment::LinkUrl,
            _ if EVENT_PARAMS.contains(&event) || self.event_params.iter().any(|p| p == event) => {
                Treatment::Keep
            }
            _ => Treatment::Remove,
        }
    }

    /// One urlencoded parameter list (a query string or one line of a batched body) as the
    /// relay passes it on; `client_id` maps a client id to its hash.
    pub fn rewrite(&self, params: &str, client_id: &dyn Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(params.len());
        for (name, value) in url::form_urlencoded::parse(params.as_bytes()) {
            let value: Option<Cow<'_, str>> = match self.treatment(&name) {
                Treatment::Keep => Some(value),
                Treatment::ClientId => Some(client_id(&value).into()),
                Treatment::PageLocation => page_location(&value, self.keep_utm).map(Into::into),
                Treatment::Referrer => referrer(&value, self.referrer).map(Into::into),
                Treatment::LinkUrl => page_location(&value, false).map(Into::into),
                Treatment::Screen => screen(&value).map(Into::into),
                Treatment::Remove => None,
            };
            if let Some(value) = value {
                if !out.is_empty() {
                    out.push('&');
                }
                out.extend(utf8_percent_encode(&name, COMPONENT));
                out.push('=');
                out.extend(utf8_percent_encode(&value, COMPONENT));
            }
        }
        out
    }
}

/// What JavaScript's encodeURIComponent leaves alone (gtag encodes its values with it).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// An http(s) URL parsed as a browser would, or `None`.
fn web_url(value: &str) -> Option<Url> {
    Url::parse(value)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// `value` without fragment and query (but its `utm_*` parameters when `keep_utm`), or `None`
/// when it is not an http(s) URL: the query is where sites put search terms, e-mail addresses
/// and click ids.
fn page_location(value: &str, keep_utm: bool) -> Option<String> {
    let mut url = web_url(value)?;
    url.set_fragment(None);
    let utm: Vec<(String, String)> = if keep_utm {
        url.query_pairs()
            .filter(|(k, _)| k.starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    } else {
        Vec::new()
    };
    url.set_query(None);
    if !utm.is_empty() {
        url.query_pairs_mut().extend_pairs(utm);
    }
    Some(url.into())
}

/// The referrer as `policy` allows: nothing, or `scheme://host[:port]/`.
fn referrer(value: &str, policy: ReferrerPolicy) -> Option<String> {
    match policy {
        ReferrerPolicy::None => None,
        ReferrerPolicy::Host => {
            web_url(value).map(|u| format!("{}/", u.origin().ascii_serialization()))
        }
    }
}

/// Pixels a screen dimension is rounded down to (at least one bucket).
pub const SCREEN_BUCKET: u32 = 200;

/// `WxH` with each side rounded down to a multiple of [`SCREEN_BUCKET`] (at least one bucket):
/// the exact size of a screen helps tell one device from another.
fn screen(value: &str) -> Option<String> {
    let (w, h) = value.split_once('x')?;
    let round = |s: &str| {
        s.parse::<u32>()
            .ok()
            .map(|n| (n - n % SCREEN_BUCKET).max(SCREEN_BUCKET))
    };
    Some(format!("{}x{}", round(w)?, round(h)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Rules {
        Rules {
            keep_utm: false,
            referrer: ReferrerPolicy::None,
            event_params: vec!["article_category".into()],
        }
    }

    fn hashed(cid: &str) -> String {
        format!("h({cid})")
    }

    fn pairs(s: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(s.as_bytes())
            .into_owned()
            .collect()
    }

    fn get<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
        p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    const HIT: &str = "v=2&tid=G-ABC123XYZ&gtm=45je4&_p=1700&cid=1234567.1700000000&uid=user-42\
        &_fid=fid&ul=nl-nl&sr=1920x1080&uaa=x86&uab=64&uafvl=Chromium%3B120&uam=&uamb=0&uap=Linux\
        &uapv=6.1&uaw=0&_uip=192.0.2.7&gclid=abc&dclid=d&wbraid=w&gbraid=g&_s=1&sid=1700000000\
        &sct=3&seg=1&dl=https%3A%2F%2Fwww.example.org%2Fzoeken%3Fq%3Djan%2Bjansen%26utm_source%3Dnews%23top\
        &dr=https%3A%2F%2Fmail.example.com%2Finbox%3Fid%3D7&dt=Zoeken%20%26%20vinden&en=page_view\
        &ep.page_location=https%3A%2F%2Fwww.example.org%2Fa%3Fb%3Dc&ep.search_term=jan%20jansen\
        &ep.article_category=nieuws&up.member_id=99&epn.percent_scrolled=90&ep.link_url=mailto%3Aa%40b.nl\
        &ep.unknown=1&something_new=1";

    #[test]
    fn removed_parameters_are_gone_and_changed_ones_changed() {
        let out = pairs(&rules().rewrite(HIT, &hashed));
        for gone in REMOVED.iter().chain(&[
            "dr",
            "ep.search_term",
            "up.member_id",
            "ep.link_url",
            "ep.unknown",
            "something_new",
        ]) {
            assert_eq!(get(&out, gone), None, "{gone} passed on");
        }
        assert_eq!(get(&out, "cid"), Some("h(1234567.1700000000)"));
        assert_eq!(get(&out, "dl"), Some("https://www.example.org/zoeken"));
        assert_eq!(
            get(&out, "ep.page_location"),
            Some("https://www.example.org/a")
        );
        assert_eq!(get(&out, "sr"), Some("1800x1000"));
        for kept in [
            ("v", "2"),
            ("tid", "G-ABC123XYZ"),
            ("dt", "Zoeken & vinden"),
            ("en", "page_view"),
            ("ul", "nl-nl"),
            ("sid", "1700000000"),
            ("epn.percent_scrolled", "90"),
            ("ep.article_category", "nieuws"),
        ] {
            assert_eq!(get(&out, kept.0), Some(kept.1), "{}", kept.0);
        }
    }

    #[test]
    fn values_are_encoded_as_gtag_encodes_them() {
        let out = rules().rewrite("dt=a%20b%2Bc%26d&en=x", &hashed);
        assert_eq!(out, "dt=a%20b%2Bc%26d&en=x");
    }

    #[test]
    fn utm_and_referrer_host_when_configured() {
        let r = Rules {
            keep_utm: true,
            referrer: ReferrerPolicy::Host,
            event_params: Vec::new(),
        };
        let out = pairs(&r.rewrite(HIT, &hashed));
        assert_eq!(
            get(&out, "dl"),
            Some("https://www.example.org/zoeken?utm_source=news")
        );
        assert_eq!(get(&out, "dr"), Some("https://mail.example.com/"));
        assert_eq!(get(&out, "ep.article_category"), None);
    }

    #[test]
    fn screens_fall_into_coarse_buckets() {
        assert_eq!(screen("1920x1080").as_deref(), Some("1800x1000"));
        assert_eq!(screen("390x844").as_deref(), Some("200x800"));
        assert_eq!(screen("100x50").as_deref(), Some("200x200"));
        assert_eq!(screen("wide"), None);
        assert_eq!(screen("-1x2"), None);
    }

    #[test]
    fn the_readme_table_names_every_parameter_of_this_table() {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("| parameter | what Google gets | why |")
            .unwrap();
        let table = &readme[start..start + readme[start..].find("\n\n").unwrap()];
        for name in KEPT.iter().chain(EVENT_PARAMS).chain(REMOVED) {
            assert!(
                table.contains(&format!("`{name}`")),
                "{name} missing from README"
            );
        }
    }

    #[test]
    fn non_web_urls_are_removed() {
        assert_eq!(page_location("javascript:alert(1)", false), None);
        assert_eq!(page_location("/relative", false), None);
        assert_eq!(
            page_location("https://x.example/p?q=1#f", false).as_deref(),
            Some("https://x.example/p")
        );
    }
}
