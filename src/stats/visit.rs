//! Page views: what the statistics learn from one HTML page request ([`RawView::of_request`],
//! copies only, in the request; [`RawView::classify`], in the writer) and how it is stored — one counter per day for each distinct
//! combination of what is counted ([`ViewKey`], encoded as one hash field), so every filter
//! of the overview applies to every panel.
//!
//! Nothing here identifies a visitor: the path has no query string, the referrer is a host
//! name, the user agent is reduced to a browser family and device class, and the only
//! per-visitor value, [`PageView::visitor`], is a keyed hash that the writer hashes again
//! under the day's salt before it goes into a HyperLogLog (see the module documentation).

use actix_web::http::header::{self, HeaderName};
use actix_web::HttpRequest;

use super::agent::{Agent, Agents};

/// What a value past its day's bound is counted as.
pub const OTHER: &str = "(other)";

/// Longest path kept, in bytes (longer ones are cut at a character boundary).
const MAX_PATH: usize = 512;
/// Longest UTM value kept, in characters.
const MAX_UTM: usize = 100;
/// Longest referrer host kept, in bytes (DNS names are at most 253).
const MAX_HOST: usize = 253;

/// The field separator of an encoded [`ViewKey`]; every value is cleaned of control
/// characters, so it cannot occur inside one.
const SEP: char = '\t';
/// Version tag of the encoding, first in every field.
const VERSION: &str = "v1";

/// One combination of what a page view is counted by. Empty strings mean "none" (no referrer,
/// no UTM, unknown country).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ViewKey {
    /// The site host the visitor asked for, lower case, without port.
    pub host: String,
    /// The path, without query string or fragment.
    pub path: String,
    /// Whether the view came from outside the site (no referrer, or another site's).
    pub entry: bool,
    /// The referring site's host (`www.` removed); empty for none or the site itself.
    pub referrer: String,
    pub utm_source: String,
    pub utm_medium: String,
    pub utm_campaign: String,
    /// ISO country code from the gate's geo look-up; empty when unknown.
    pub country: String,
    /// Browser family (see [`super::agent`]).
    pub browser: String,
    /// `desktop`, `mobile` or `tablet`.
    pub device: String,
    /// What the request's valid consent cookie granted; `None` without one (the page showed
    /// the banner).
    pub consent: Option<Vec<String>>,
}

impl ViewKey {
    /// The hash field this combination is counted in.
    pub fn encode(&self) -> String {
        let consent = match &self.consent {
            None => "-".to_owned(),
            Some(granted) => format!("={}", granted.join("+")),
        };
        [
            VERSION,
            &self.host,
            &self.path,
            if self.entry { "1" } else { "0" },
            &self.referrer,
            &self.utm_source,
            &self.utm_medium,
            &self.utm_campaign,
            &self.country,
            &self.browser,
            &self.device,
            &consent,
        ]
        .join("\t")
    }

    /// A field written by [`ViewKey::encode`]; `None` for anything else (another version).
    pub fn decode(field: &str) -> Option<ViewKey> {
        let mut parts = field.split(SEP);
        if parts.next()? != VERSION {
            return None;
        }
        let mut next = || parts.next().map(str::to_owned);
        let (host, path, entry) = (next()?, next()?, next()?);
        let (referrer, utm_source, utm_medium, utm_campaign) = (next()?, next()?, next()?, next()?);
        let (country, browser, device, consent) = (next()?, next()?, next()?, next()?);
        if parts.next().is_some() {
            return None;
        }
        let consent = match consent.as_str() {
            "-" => None,
            granted => Some(
                granted
                    .strip_prefix('=')?
                    .split('+')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
        };
        Some(ViewKey {
            host,
            path,
            entry: entry == "1",
            referrer,
            utm_source,
            utm_medium,
            utm_campaign,
            country,
            browser,
            device,
            consent,
        })
    }

    /// This combination with everything of high cardinality counted as "(other)": what a view
    /// is counted as once the day's combinations are used up.
    pub fn coarse(&self) -> ViewKey {
        let other = |s: &str| {
            if s.is_empty() {
                String::new()
            } else {
                OTHER.to_owned()
            }
        };
        ViewKey {
            path: OTHER.to_owned(),
            referrer: other(&self.referrer),
            utm_source: other(&self.utm_source),
            utm_medium: other(&self.utm_medium),
            utm_campaign: other(&self.utm_campaign),
            ..self.clone()
        }
    }

    /// Whether the consent cookie granted `category`.
    pub fn granted(&self, category: &str) -> bool {
        self.consent
            .as_ref()
            .is_some_and(|g| g.iter().any(|c| c == category))
    }
}

/// One counted page view: its combination and the visitor's keyed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageView {
    pub key: ViewKey,
    /// BLAKE3 keyed (with a key derived from the gate's secret, the same on every gate) over
    /// the full address, the user agent and the host; never stored as it is.
    pub visitor: [u8; 32],
}

/// What one page request is, to the statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sighting {
    /// A prefetch or prerender: not a view (the page may never be shown).
    Prefetch,
    /// A bot, by name: counted apart.
    Bot { host: String, name: &'static str },
    /// A person's page view.
    View(Box<PageView>),
}

/// Whether the request is a speculative load (`Sec-Purpose: prefetch`/`prerender`,
/// `Purpose: prefetch`, `X-Moz: prefetch`).
pub fn is_prefetch(req: &HttpRequest) -> bool {
    // Names made once, at compile time: a `&str` name would be parsed on every look-up.
    const SEC_PURPOSE: HeaderName = HeaderName::from_static("sec-purpose");
    const PURPOSE: HeaderName = HeaderName::from_static("purpose");
    const X_MOZ: HeaderName = HeaderName::from_static("x-moz");
    const X_PURPOSE: HeaderName = HeaderName::from_static("x-purpose");
    let h = req.headers();
    let says = |name: &HeaderName, words: &[&str]| {
        h.get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            words.iter().any(|w| v.contains(w))
        })
    };
    says(&SEC_PURPOSE, &["prefetch", "prerender"])
        || says(&PURPOSE, &["prefetch"])
        || says(&X_MOZ, &["prefetch"])
        || says(&X_PURPOSE, &["preview"])
}

/// What the request tells beyond its headers: from the visitor's resolved address and
/// verified consent cookie.
pub struct Seen<'a> {
    /// Country of the full address, when geo look-up is on.
    pub country: Option<&'a str>,
    /// Categories a valid consent cookie granted; `None` without a valid cookie.
    pub granted: Option<&'a [String]>,
}

/// A page request as the request hands it to the statistics: the few header values copied,
/// the visitor hash made (it alone needs the full address, which stays in the request), and
/// nothing classified yet — the writer classifies ([`RawView::classify`]), once for every
/// distinct request of a batch, so counting costs a page request only these copies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawView {
    /// The User-Agent header; `None` without one (or one that is not text).
    pub user_agent: Option<String>,
    /// The Referer header as sent.
    pub referer: Option<String>,
    /// [`site_host`] of the request.
    pub host: String,
    /// The path as asked (no query).
    pub path: String,
    /// The query string when it may hold UTM parameters, else empty.
    pub query: String,
    /// Country of the full address, when geo look-up is on.
    pub country: Option<String>,
    /// What a valid consent cookie granted; `None` without one.
    pub granted: Option<Vec<String>>,
}

impl RawView {
    /// What a page request tells the statistics, `None` for a prefetch. `digest` computes
    /// the visitor hash from the user agent and host (it alone sees the full address).
    pub fn of_request(
        req: &HttpRequest,
        seen: &Seen<'_>,
        digest: impl FnOnce(&[u8], &[u8]) -> [u8; 32],
    ) -> Option<(RawView, [u8; 32])> {
        if is_prefetch(req) {
            return None;
        }
        let headers = req.headers();
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let user_agent = text(header::USER_AGENT);
        let host = site_host(req);
        let visitor = digest(user_agent.unwrap_or("").as_bytes(), host.as_bytes());
        let query = req.query_string();
        let raw = RawView {
            user_agent: user_agent.map(str::to_owned),
            referer: text(header::REFERER).map(str::to_owned),
            host,
            path: req.path().to_owned(),
            query: if query.contains("utm_") {
                query.to_owned()
            } else {
                String::new()
            },
            country: seen.country.map(str::to_owned),
            granted: seen.granted.map(<[String]>::to_vec),
        };
        Some((raw, visitor))
    }

    /// A bot by name, or the combination a person's view counts in.
    pub fn classify(&self, agents: &Agents) -> Result<ViewKey, (String, &'static str)> {
        let (browser, device) = match agents.classify(self.user_agent.as_deref()) {
            Agent::Bot(name) => return Err((self.host.clone(), name)),
            Agent::Browser { family, device } => (family, device),
        };
        let referrer = self.referer.as_deref().and_then(referrer_host);
        let same_site = referrer
            .as_deref()
            .is_some_and(|r| same_site(r, &self.host));
        let (utm_source, utm_medium, utm_campaign) = utm(&self.query);
        Ok(ViewKey {
            path: clean_path(&self.path),
            entry: !same_site,
            referrer: if same_site {
                String::new()
            } else {
                referrer.unwrap_or_default()
            },
            utm_source,
            utm_medium,
            utm_campaign,
            country: self
                .country
                .as_deref()
                .map(clean_country)
                .unwrap_or_default(),
            browser: browser.to_owned(),
            device: device.as_str().to_owned(),
            consent: self.granted.clone(),
            host: self.host.clone(),
        })
    }
}

impl PageView {
    /// Classify a page request at once ([`RawView::of_request`] then [`RawView::classify`]).
    pub fn of_request(
        req: &HttpRequest,
        agents: &Agents,
        seen: &Seen<'_>,
        digest: impl FnOnce(&[u8], &[u8]) -> [u8; 32],
    ) -> Sighting {
        let Some((raw, visitor)) = RawView::of_request(req, seen, digest) else {
            return Sighting::Prefetch;
        };
        match raw.classify(agents) {
            Err((host, name)) => Sighting::Bot { host, name },
            Ok(key) => Sighting::View(Box::new(PageView { key, visitor })),
        }
    }
}

/// The Host the visitor asked for: lower case, port removed (IPv6 brackets kept). The name
/// the host check matched in `listen.hosts`, else (no list) the Host header as sent.
pub fn site_host(req: &HttpRequest) -> String {
    let site = crate::http::SiteHost::of(req);
    let host = match site.authority.as_deref() {
        Some(name) => name,
        None => req
            .headers()
            .get(actix_web::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or(""),
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    clean(name, MAX_HOST).to_ascii_lowercase()
}

/// The host of a Referer URL (parsed per WHATWG), `www.` removed; `None` when it has none.
fn referrer_host(referer: &str) -> Option<String> {
    let url = url::Url::parse(referer).ok()?;
    let host = url.host_str()?.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    (!host.is_empty()).then(|| clean(host, MAX_HOST).to_ascii_lowercase())
}

/// Whether a referrer host is the site itself: the same name, or one is a subdomain of the
/// other (`blog.example.org` and `example.org`), ignoring `www.`.
fn same_site(referrer: &str, host: &str) -> bool {
    let host = host.strip_prefix("www.").unwrap_or(host);
    let sub = |a: &str, b: &str| a.strip_suffix(b).is_some_and(|rest| rest.ends_with('.'));
    referrer == host || sub(referrer, host) || sub(host, referrer)
}

/// `utm_source`, `utm_medium`, `utm_campaign` of a query string (empty when absent).
fn utm(query: &str) -> (String, String, String) {
    let mut out = (String::new(), String::new(), String::new());
    if !query.contains("utm_") {
        return out;
    }
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match k.as_ref() {
            "utm_source" => &mut out.0,
            "utm_medium" => &mut out.1,
            "utm_campaign" => &mut out.2,
            _ => continue,
        };
        if slot.is_empty() {
            *slot = clean(v.trim(), MAX_UTM * 4).chars().take(MAX_UTM).collect();
        }
    }
    out
}

fn clean_path(path: &str) -> String {
    let path = if path.is_empty() { "/" } else { path };
    clean(path, MAX_PATH)
}

/// Two ASCII letters, upper case; anything else is unknown.
fn clean_country(cc: &str) -> String {
    if cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic()) {
        cc.to_ascii_uppercase()
    } else {
        String::new()
    }
}

/// `s` without control characters (so it cannot break the encoding), at most `max` bytes.
fn clean(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for c in s.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

    fn sight(req: TestRequest, granted: Option<&[String]>) -> Sighting {
        let req = req.to_http_request();
        let seen = Seen {
            country: Some("nl"),
            granted,
        };
        PageView::of_request(&req, &Agents::new(), &seen, |ua, host| {
            let mut d = [0u8; 32];
            d[0] = ua.len() as u8;
            d[1] = host.len() as u8;
            d
        })
    }

    fn view(req: TestRequest) -> PageView {
        match sight(req, None) {
            Sighting::View(v) => *v,
            other => panic!("not a view: {other:?}"),
        }
    }

    #[test]
    fn a_view_keeps_the_path_without_query_and_only_the_referrer_host() {
        let v = view(
            TestRequest::get()
                .uri("/nieuws/artikel?id=7&utm_source=Nieuwsbrief&utm_medium=email&utm_campaign=herfst%202026&email=ans%40example.org")
                .insert_header(("host", "Stichting.Example:8080"))
                .insert_header(("user-agent", FIREFOX))
                .insert_header(("referer", "https://www.google.com/search?q=zwemles+amsterdam")),
        );
        assert_eq!(v.key.host, "stichting.example");
        assert_eq!(v.key.path, "/nieuws/artikel");
        assert_eq!(v.key.referrer, "google.com");
        assert!(v.key.entry);
        assert_eq!(
            (
                v.key.utm_source.as_str(),
                v.key.utm_medium.as_str(),
                v.key.utm_campaign.as_str()
            ),
            ("Nieuwsbrief", "email", "herfst 2026")
        );
        assert_eq!(v.key.country, "NL");
        assert_eq!(
            (v.key.browser.as_str(), v.key.device.as_str()),
            ("Firefox", "desktop")
        );
        assert_eq!(v.key.consent, None);
        let encoded = v.key.encode();
        assert!(!encoded.contains("zwemles") && !encoded.contains("example.org"));
        assert_eq!(ViewKey::decode(&encoded), Some(v.key));
    }

    #[test]
    fn a_view_from_the_site_itself_is_no_entry_and_has_no_referrer() {
        for referer in [
            "http://stichting.example/",
            "https://www.stichting.example/contact",
            "https://blog.stichting.example/x",
        ] {
            let v = view(
                TestRequest::get()
                    .uri("/over-ons")
                    .insert_header(("host", "stichting.example"))
                    .insert_header(("user-agent", FIREFOX))
                    .insert_header(("referer", referer)),
            );
            assert!(!v.key.entry, "{referer}");
            assert_eq!(v.key.referrer, "", "{referer}");
        }
        let direct = view(
            TestRequest::get()
                .uri("/")
                .insert_header(("host", "stichting.example"))
                .insert_header(("user-agent", FIREFOX)),
        );
        assert!(direct.key.entry);
        let lookalike = view(
            TestRequest::get()
                .uri("/")
                .insert_header(("host", "stichting.example"))
                .insert_header(("user-agent", FIREFOX))
                .insert_header(("referer", "https://notstichting.example/")),
        );
        assert_eq!(lookalike.key.referrer, "notstichting.example");
        assert!(lookalike.key.entry);
    }

    #[test]
    fn bots_and_prefetches_are_no_views() {
        let bot = sight(
            TestRequest::get()
                .uri("/")
                .insert_header(("host", "s.example"))
                .insert_header(("user-agent", "curl/8.0")),
            None,
        );
        assert_eq!(
            bot,
            Sighting::Bot {
                host: "s.example".into(),
                name: "Script"
            }
        );
        for (name, value) in [
            ("sec-purpose", "prefetch;prerender"),
            ("purpose", "prefetch"),
            ("x-moz", "prefetch"),
        ] {
            let s = sight(
                TestRequest::get()
                    .uri("/")
                    .insert_header(("user-agent", FIREFOX))
                    .insert_header((name, value)),
                None,
            );
            assert_eq!(s, Sighting::Prefetch, "{name}");
        }
    }

    #[test]
    fn the_encoding_round_trips_consent_and_survives_odd_values() {
        let key = ViewKey {
            host: "a.example".into(),
            path: "/ä b".into(),
            entry: false,
            referrer: String::new(),
            utm_source: String::new(),
            utm_medium: String::new(),
            utm_campaign: String::new(),
            country: String::new(),
            browser: "Other".into(),
            device: "mobile".into(),
            consent: Some(vec![]),
        };
        assert_eq!(ViewKey::decode(&key.encode()), Some(key.clone()));
        let granted = ViewKey {
            consent: Some(vec!["analytics".into(), "marketing".into()]),
            ..key.clone()
        };
        assert_eq!(ViewKey::decode(&granted.encode()), Some(granted.clone()));
        assert!(granted.granted("analytics") && !key.granted("analytics"));
        assert_eq!(ViewKey::decode("v0\tx"), None);
        assert_eq!(ViewKey::decode("v1\ttoo\tfew"), None);
        assert_eq!(clean("a\tb\nc", 10), "abc");
        assert_eq!(clean("ééé", 5), "éé");
        let coarse = granted.coarse();
        assert_eq!(
            (coarse.path.as_str(), coarse.referrer.as_str()),
            (OTHER, "")
        );
    }
}
