//! The Google Analytics relay in headless Chromium: a page with the real gtag snippet, through
//! the gate. Every Google host goes to the tracker sink (which serves a gtag-shaped stand-in
//! that sends a real `/g/collect` page view); the relay's collection endpoint and script origin
//! are a loopback stand-in that records what the gate forwards. With the relay on, after
//! consent no request reaches a Google host and the hit arrives without what identifies the
//! visitor; with it off (the control) the browser talks to Google itself.

mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use support::browser::{self, Browser};
use support::gate::{RunningTestGate, TestGate};
use support::sink::{self, Sink};
use support::{upstream, wait};

const PAGE: &str =
    "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>t</title>\
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});\
var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;\
j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);\
})(window,document,'script','dataLayer','GTM-TEST1');</script>\
<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-TEST1\"></script>\
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}\
gtag('js',new Date());gtag('config','G-TEST1');</script>\
</head><body><h1>Zoeken</h1></body></html>";

/// Google's hosts as the sink records them.
const GOOGLE: &[&str] = &[
    "googletagmanager.com",
    "google-analytics.com",
    "doubleclick.net",
];

/// A request the relay's stand-in for Google received: path, query, headers.
type Seen = (String, String, Vec<(String, String)>);

/// The relay's Google: `/gtag/js` is the sink's gtag stand-in, `/g/collect` records.
fn google(seen: Arc<Mutex<Vec<Seen>>>) -> upstream::Upstream {
    upstream::serve(move |site| {
        site.app_data(web::Data::new(seen.clone()))
            .default_service(web::to(
                |req: HttpRequest, seen: web::Data<Arc<Mutex<Vec<Seen>>>>| async move {
                    let headers = req
                        .headers()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect();
                    seen.lock().expect("seen").push((
                        req.path().to_owned(),
                        req.query_string().to_owned(),
                        headers,
                    ));
                    match sink::script_for("www.googletagmanager.com", req.path()) {
                        Some(js) => HttpResponse::Ok()
                            .insert_header(("cache-control", "private, max-age=900"))
                            .content_type("application/javascript")
                            .body(js),
                        None => HttpResponse::NoContent().finish(),
                    }
                },
            ));
    })
}

struct Fixture {
    gate: RunningTestGate,
    sink: Sink,
    b: Browser,
    seen: Arc<Mutex<Vec<Seen>>>,
    _site: upstream::Upstream,
    _google: upstream::Upstream,
}

impl Fixture {
    async fn new(relay: bool) -> Fixture {
        browser::require();
        let sink = Sink::start().await;
        let site = upstream::serve(|site| {
            site.default_service(web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(PAGE)
            }));
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        let google = google(seen.clone());
        let mut gate = TestGate::new().upstream(&site.url());
        if relay {
            gate = gate.config_toml(&format!(
                "[relay.google_analytics]\nmeasurement_ids = [\"G-TEST1\"]\n\
                 container_ids = [\"GTM-TEST1\"]\n\
                 collect_url = \"{0}/g/collect\"\nscript_origin = \"{0}\"\n",
                google.url()
            ));
        }
        let gate = gate.start().await;
        let b = Browser::start(sink.addr, "nl").await;
        Fixture {
            gate,
            sink,
            b,
            seen,
            _site: site,
            _google: google,
        }
    }

    /// Open the page (with a query and fragment a hit must not carry), grant analytics.
    async fn consent_to_analytics(&self) {
        self.b
            .open(&self.gate.url("/zoeken?q=jan+jansen#resultaten"))
            .await;
        self.b.click("#cg-banner button[data-a=settings]").await;
        self.b.click("input[name=cg-cat][value=analytics]").await;
        self.b.click("#cg-banner button[data-a=save]").await;
        self.b
            .wait_js("window.__gtagLoaded === 1 && window.__gtmLoaded === 1")
            .await;
    }

    fn collected(&self) -> Vec<Seen> {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|(path, _, _)| path == "/g/collect")
            .cloned()
            .collect()
    }
}

fn get<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[actix_web::test]
async fn with_the_relay_no_google_host_is_contacted_and_the_hit_carries_no_address_or_query() {
    let f = Fixture::new(true).await;
    f.consent_to_analytics().await;
    let hit = wait::until_some("the relayed page view", wait::DEADLINE, || {
        std::future::ready(
            f.collected()
                .into_iter()
                .find(|(_, q, _)| q.contains("en=page_view")),
        )
    })
    .await;
    // Hits gtag sends by beacon and fetch take the same way.
    f.b.js(
        "var u = 'https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST1&cid=555.666&en=';
         navigator.sendBeacon(u + 'beacon', 'en=scroll&epn.percent_scrolled=90');
         fetch(u + 'fetched', {method: 'POST', body: '', keepalive: true, mode: 'no-cors'});",
    )
    .await;
    wait::until_true("the beacon and fetch hits", wait::DEADLINE, || {
        let queries: Vec<String> = f.collected().into_iter().map(|(_, q, _)| q).collect();
        queries.iter().any(|q| q.contains("en=beacon"))
            && queries.iter().any(|q| q.contains("en=fetched"))
    })
    .await;
    f.sink.settle(&f.b).await;
    let google = f.sink.hits_to(GOOGLE);
    assert!(google.is_empty(), "Google contacted: {google:?}");
    // gtag.js and the GTM container came from the gate (which fetched them from its script
    // origin).
    assert_eq!(
        f.b.js("return ['/_gate/relay/gtag/js?id=G-TEST1', '/_gate/relay/gtm.js?id=GTM-TEST1'].map(p => [].some.call(document.scripts, s => s.src.indexOf(p) > 0))").await,
        json!([true, true])
    );

    let (_, query, headers) = hit;
    let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    for removed in ["uid", "_uip", "gclid", "uaa", "uafvl", "dr"] {
        assert_eq!(get(&q, removed), None, "{removed} reached Google: {query}");
    }
    assert_eq!(get(&q, "tid"), Some("G-TEST1"));
    assert_eq!(get(&q, "en"), Some("page_view"));
    let cid = get(&q, "cid").expect("a client id");
    assert_ne!(cid, "555.666");
    assert_eq!(get(&q, "sr"), Some("1800x1000"));
    assert_eq!(get(&q, "dl"), Some(f.gate.url("/zoeken").as_str()));
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    for name in [
        "referer",
        "cookie",
        "x-forwarded-for",
        "forwarded",
        "origin",
    ] {
        assert_eq!(header(name), None, "{name} reached Google");
    }
    // Only the browser's family and major version, nothing of the system.
    let ua = header("user-agent").expect("a user agent");
    assert!(
        !ua.contains("Linux") && !ua.contains('(') && ua.len() < 24,
        "{ua}"
    );
    // The browser runs on 127.0.0.1: that address appears in no header (Host names Google's
    // stand-in itself).
    for (name, value) in headers.iter().filter(|(k, _)| k != "host") {
        assert!(!value.contains("127.0.0.1"), "{name}: {value}");
    }
}

#[actix_web::test]
async fn without_the_relay_the_browser_contacts_google_itself_the_control() {
    let f = Fixture::new(false).await;
    f.consent_to_analytics().await;
    wait::until_true("the page view to reach Google", wait::DEADLINE, || {
        f.sink
            .hits_to(&["google-analytics.com"])
            .iter()
            .any(|h| h.path.starts_with("/g/collect?v=2&tid=G-TEST1"))
    })
    .await;
    let loaded: Vec<String> = f
        .sink
        .hits_to(&["googletagmanager.com"])
        .into_iter()
        .map(|h| h.path)
        .collect();
    assert!(
        loaded.iter().any(|p| p.starts_with("/gtm.js?id=GTM-TEST1"))
            && loaded.iter().any(|p| p.starts_with("/gtag/js?id=G-TEST1")),
        "{loaded:?}"
    );
    assert!(f.collected().is_empty());
}

#[actix_web::test]
async fn the_banner_says_which_vendors_see_the_address() {
    let f = Fixture::new(true).await;
    f.b.open(&f.gate.url("/")).await;
    f.b.click("#cg-banner button[data-a=settings]").await;
    // The second layer's vendor details arrive with their own request.
    f.b.wait_js("[].some.call(document.querySelectorAll('#cg-banner li'), li => li.textContent.startsWith('Google Analytics'))")
        .await;
    let items = f
        .b
        .js("return [].map.call(document.querySelectorAll('#cg-banner li'), li => li.textContent)")
        .await;
    let items: Vec<String> = serde_json::from_value(items).expect("texts");
    let about = |vendor: &str| {
        items
            .iter()
            .find(|t| t.starts_with(vendor))
            .unwrap_or_else(|| panic!("{vendor} not listed: {items:?}"))
            .clone()
    };
    assert!(
        about("Google Analytics").contains("uw IP-adres wordt niet aan deze partij doorgegeven")
    );
    assert!(about("Hotjar").contains("ziet"), "{}", about("Hotjar"));
}
