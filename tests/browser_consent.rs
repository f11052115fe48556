//! Banner and activation in headless Chromium, through the gate, in front of a site whose page
//! carries already-neutralised tracker markup (the rewriter's output format) and the demo page
//! with its real tracker snippets. Every tracker host goes to the loopback sink, which records
//! what reached it.

mod support;

use support::redis as redis_support;
use support::{browser, gate, sink, upstream};

use actix_web::{web, HttpRequest, HttpResponse};
use browser::{Browser, ENTER, SPACE, TAB};
use gate::{RunningTestGate, StoreChoice, TestGate};
use serde_json::json;
use sink::{Sink, ANALYTICS, MARKETING};

/// The demo site's tracker snippets as the rewriter leaves them.
const PAGE: &str = r#"<!DOCTYPE html>
<html lang="{LANG}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Testpagina</title>{GPC}
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_tag_manager">(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-K7DEMO1');</script>
<script async type="text/plain" data-cg-src="https://www.googletagmanager.com/gtag/js?id=G-DEMO12345" data-cg-category="analytics" data-cg-vendor="google_analytics"></script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());
  gtag('config', 'G-DEMO12345');
  window.__orderOk = window.__gtagLoaded === 1;
  window.__inlineRuns = (window.__inlineRuns || 0) + 1;
</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="hotjar">
    (function(h,o,t,j,a,r){
        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
        h._hjSettings={hjid:3456789,hjsv:6};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>
<script type="text/plain" data-cg-category="marketing" data-cg-vendor="meta_pixel">
!function(f,b,e,v,n,t,s)
{if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};
if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';
n.queue=[];t=b.createElement(e);t.async=!0;
t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window, document,'script',
'https://connect.facebook.net/en_US/fbevents.js');
fbq('init', '1234567890123456');
</script>
</head><body>
<h1>Welkom</h1><p>Deze pagina blijft bruikbaar zonder keuze.</p>
<img alt="" width="1" height="1" data-cg-src="https://www.facebook.com/tr?id=1234567890123456&amp;ev=PageView&amp;noscript=1" data-cg-category="marketing" data-cg-vendor="meta_pixel">
</body></html>"#;

/// The site behind the gate: the test page (`/`, `/en`, `/gpc`), the demo page as the demo
/// site serves it (`/demo`) and its script and style sheet.
async fn page(req: HttpRequest) -> HttpResponse {
    let demo_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo-site");
    if let Some(file) = ["/site.js", "/site.css"].iter().find(|f| req.path() == **f) {
        let body = std::fs::read(demo_dir.join(&file[1..])).expect("demo asset");
        let ctype = if file.ends_with(".js") {
            "text/javascript"
        } else {
            "text/css"
        };
        return HttpResponse::Ok().content_type(ctype).body(body);
    }
    let lang = if req.path().starts_with("/en") {
        "en"
    } else {
        "nl"
    };
    // /gpc: a browser that sends Global Privacy Control (Chromium has no switch for it).
    let gpc = if req.path().starts_with("/gpc") {
        "<script>Object.defineProperty(navigator,'globalPrivacyControl',{value:true});</script>"
    } else {
        ""
    };
    let html = if req.path() == "/demo" {
        // The demo site's real tracker snippets, for the gate's rewriter.
        String::from_utf8(std::fs::read(demo_dir.join("index.html")).expect("demo page"))
            .expect("utf-8")
    } else {
        PAGE.replace("{LANG}", lang).replace("{GPC}", gpc)
    };
    let mut res = HttpResponse::Ok();
    if req.path() == "/set-httponly-gid" {
        res.append_header(("set-cookie", "_gid=GA1.1.9; Path=/; HttpOnly; Max-Age=3600"));
    }
    res.content_type("text/html; charset=utf-8").body(html)
}

struct Site {
    gate: RunningTestGate,
    _upstream: upstream::Upstream,
}

async fn start_site(store: StoreChoice) -> Site {
    let upstream = upstream::serve(|site| {
        site.default_service(web::get().to(page));
    });
    let gate = TestGate::new()
        .upstream(&upstream.url())
        .store(store)
        .config_toml(
            "[consent]\nprivacy_statement_url = \"/privacy.html\"\n[store]\ntimeout = \"500ms\"\n",
        )
        .start()
        .await;
    Site {
        gate,
        _upstream: upstream,
    }
}

struct Fixture {
    site: Site,
    sink: Sink,
    b: Browser,
}

impl Fixture {
    async fn new(lang: &str) -> Fixture {
        Self::with_store(lang, StoreChoice::Memory).await
    }

    async fn with_store(lang: &str, store: StoreChoice) -> Fixture {
        Self::build(lang, store, &[]).await
    }

    async fn build(lang: &str, store: StoreChoice, args: &[&str]) -> Fixture {
        browser::require();
        let sink = Sink::start().await;
        let site = start_site(store).await;
        let b = Browser::start_with(sink.addr, lang, args).await;
        Fixture { site, sink, b }
    }

    async fn open(&self, path: &str) {
        self.b.open(&self.site.gate.url(path)).await;
    }

    /// Load the page again and wait until the banner script has finished its start.
    async fn reload(&self) {
        self.b.client.refresh().await.expect("refresh");
        self.b.wait_started().await;
    }

    async fn granted(&self) -> serde_json::Value {
        self.b.js("return window.consentgate.granted();").await
    }
}

fn tracker_cookies(names: &[String]) -> Vec<String> {
    names
        .iter()
        .filter(|n| n.starts_with("_ga") || n.starts_with("_hj") || n.starts_with("_fb"))
        .cloned()
        .collect()
}

/// Once any tracker request the page was going to make has reached the sink
/// ([`Sink::settle`]), fail if one did.
async fn assert_no_tracker_contact(f: &Fixture, when: &str) {
    f.sink.settle(&f.b).await;
    // Chromium's own background requests also land in the sink: only tracker hosts count.
    let hits = f.sink.tracker_hits();
    assert!(hits.is_empty(), "{when}: {hits:?}");
}

#[actix_web::test]
async fn no_tracker_request_before_a_decision_or_after_reject_all() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    f.b.wait_js("document.querySelector('#cg-banner:not([hidden])')")
        .await;
    assert_no_tracker_contact(&f, "before a decision").await;
    // No cookie wall: the page text is there and reachable.
    assert_eq!(
        f.b.js("return document.querySelector('h1').textContent")
            .await,
        json!("Welkom")
    );

    f.b.click("#cg-banner button[data-a=reject]").await;
    f.b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;
    assert_eq!(f.granted().await, json!([]));
    f.reload().await;
    assert_no_tracker_contact(&f, "after reject all").await;
    assert!(tracker_cookies(&f.b.cookie_names().await).is_empty());
    // The decision holds: no banner on the next page.
    assert_eq!(f.b.js("return document.querySelector('#cg-banner') === null || document.querySelector('#cg-banner').hidden").await, json!(true));
}

#[actix_web::test]
async fn granting_analytics_loads_only_analytics_and_the_guard_stops_the_pixel_gtm_loads() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    f.b.click("#cg-banner button[data-a=settings]").await;
    // Nothing is pre-ticked.
    assert_eq!(
        f.b.js("return document.querySelectorAll('input[name=cg-cat]:checked').length")
            .await,
        json!(0)
    );
    f.b.click("input[name=cg-cat][value=analytics]").await;
    f.b.click("#cg-banner button[data-a=save]").await;
    f.b.wait_js(
        "window.__gtmLoaded === 1 && window.__gtagLoaded === 1 && window.__hotjarLoaded === 1",
    )
    .await;
    f.sink.settle(&f.b).await;
    assert!(!f.sink.hits_to(ANALYTICS).is_empty());
    assert!(
        f.sink.hits_to(MARKETING).is_empty(),
        "marketing reached: {:?}",
        f.sink.hits_to(MARKETING)
    );
    // The loader ran before the inline code after it, and nothing ran twice.
    assert_eq!(
        f.b.js("return [window.__orderOk, window.__inlineRuns]")
            .await,
        json!([true, 1])
    );
    // GTM's attempt to load the Meta pixel was parked, not fetched: its URL waits in
    // data-cg-src (a script without src runs nothing, so the guard leaves its type alone).
    assert_eq!(
        f.b.js("return !!document.querySelector('script[data-cg-src*=\"fbevents\"][data-cg-category=marketing]:not([src])')").await,
        json!(true)
    );
    // Consent Mode v2: default denied, then analytics granted.
    let modes = f.b.js("return dataLayer.filter(function(a){return a[0]==='consent'}).map(function(a){return [a[1], a[2].analytics_storage, a[2].ad_storage]})").await;
    assert_eq!(modes[0], json!(["default", "denied", "denied"]));
    assert!(
        modes
            .as_array()
            .unwrap()
            .contains(&json!(["update", "granted", "denied"])),
        "{modes}"
    );
}

#[actix_web::test]
async fn accept_all_then_withdrawal_deletes_tracker_cookies_and_stops_requests() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    f.b.click("#cg-banner button[data-a=accept]").await;
    f.b.wait_js("window.__fbLoaded >= 1 && window.__gtmLoaded === 1")
        .await;
    f.b.wait_js("document.cookie.indexOf('_fbp=') >= 0 && document.cookie.indexOf('_ga=') >= 0")
        .await;
    assert!(!f.sink.hits_to(MARKETING).is_empty());
    // An HttpOnly tracker cookie (as a server-side tag would set) must go too.
    f.b.js("var x=new XMLHttpRequest(); x.open('GET','/set-httponly-gid',false); x.send(); return x.status").await;
    assert!(f.b.cookie_names().await.contains(&"_gid".to_owned()));
    assert_eq!(
        f.b.js("return document.cookie.indexOf('_gid=')").await,
        json!(-1)
    );

    f.b.click("#cg-reopen").await;
    f.b.click("#cg-banner button[data-a=withdraw]").await;
    // Withdrawal reloads the page so running trackers stop.
    f.b.wait_js("document.readyState === 'complete' && window.__cgBanner === 1 && window.__gtmLoaded === undefined").await;
    assert_eq!(f.granted().await, json!([]));
    let left = tracker_cookies(&f.b.cookie_names().await);
    assert!(left.is_empty(), "tracker cookies left: {left:?}");
    f.sink.clear();
    f.reload().await;
    assert_no_tracker_contact(&f, "after withdrawal").await;
}

#[actix_web::test]
async fn the_banner_can_be_operated_by_keyboard_alone() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    // The dialog takes focus; Tab walks privacy link → Accept → Reject → Settings.
    f.b.wait_js("document.activeElement && document.activeElement.id === 'cg-banner'")
        .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        f.b.press(TAB).await;
        seen.push(
            f.b.js("var e=document.activeElement; return e.getAttribute('data-a') || e.tagName")
                .await,
        );
    }
    assert_eq!(
        seen,
        vec![
            json!("A"),
            json!("accept"),
            json!("reject"),
            json!("settings")
        ]
    );
    // Focus is visible.
    assert_ne!(
        f.b.js("return getComputedStyle(document.activeElement).outlineStyle")
            .await,
        json!("none")
    );
    f.b.press(ENTER).await;
    f.b.wait_js("document.querySelector('#cg-banner').getAttribute('data-layer') === '2'")
        .await;
    // Focus is on the first category switch: tick analytics with the space bar.
    assert_eq!(
        f.b.js("return document.activeElement.value").await,
        json!("analytics")
    );
    f.b.press(SPACE).await;
    // Tab through the remaining switches and vendor lists to the save button.
    for _ in 0..20 {
        if f.b
            .js("return document.activeElement.getAttribute('data-a')")
            .await
            == json!("save")
        {
            break;
        }
        f.b.press(TAB).await;
    }
    f.b.press(ENTER).await;
    f.b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;
    assert_eq!(f.granted().await, json!(["analytics"]));
}

#[actix_web::test]
async fn the_settings_control_reopens_the_banner_and_shows_the_consent_id() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    f.b.click("#cg-banner button[data-a=reject]").await;
    f.b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;
    f.reload().await;
    let record = f.b.js("var x=new XMLHttpRequest(); x.open('GET','/_gate/consent',false); x.send(); return JSON.parse(x.responseText)").await;
    let id = record["current"]["id"]
        .as_str()
        .expect("receipt id")
        .to_owned();
    assert_eq!(record["current"]["action"], json!("reject_all"));
    assert_eq!(
        f.b.js("return document.querySelector('#cg-reopen').textContent")
            .await,
        json!("Cookie-instellingen")
    );
    f.b.click("#cg-reopen").await;
    f.b.wait_js("!document.querySelector('#cg-banner').hidden")
        .await;
    assert_eq!(
        f.b.js("return document.querySelector('#cg-id').textContent")
            .await,
        json!(id)
    );
}

#[actix_web::test]
async fn screenshots_of_both_layers_in_dutch_and_english_fit_a_small_screen() {
    for (lang, path, title) in [
        ("nl", "/", "Cookies op deze website"),
        ("en-GB", "/en", "Cookies on this website"),
    ] {
        let f = Fixture::new(lang).await;
        f.open(path).await;
        assert_eq!(
            f.b.js("return document.querySelector('#cg-title').textContent")
                .await,
            json!(title)
        );
        let short = &lang[..2];
        f.b.screenshot(&format!("banner-{short}-layer1.png")).await;
        f.b.click("#cg-banner button[data-a=settings]").await;
        f.b.wait_js("document.querySelector('#cg-banner li')").await;
        f.b.screenshot(&format!("banner-{short}-layer2.png")).await;
        // 360 px wide: nothing sticks out sideways and every button can be reached.
        f.b.client.set_window_size(360, 740).await.expect("resize");
        f.b.wait_js("window.innerWidth <= 360").await;
        assert_eq!(
            f.b.js("var b=document.querySelector('#cg-banner'); return b.scrollWidth <= b.clientWidth && b.getBoundingClientRect().right <= window.innerWidth").await,
            json!(true)
        );
        f.b.screenshot(&format!("banner-{short}-layer2-360px.png"))
            .await;
        // 200 % zoom of a 1280×900 window leaves a 640×450 CSS-pixel viewport: the settings
        // layer must fit in it (scrolling inside the banner), so every control stays reachable.
        f.b.client.set_window_size(640, 450).await.expect("resize");
        f.b.wait_js("window.innerWidth <= 640").await;
        assert_eq!(
            f.b.js("var b=document.querySelector('#cg-banner').getBoundingClientRect(); return b.top >= 0 && b.bottom <= window.innerHeight + 1").await,
            json!(true)
        );
        f.b.js("document.querySelector('#cg-banner button[data-a=reject]').scrollIntoView()")
            .await;
        f.b.click("#cg-banner button[data-a=reject]").await;
        f.b.wait_js("document.querySelector('#cg-banner').hidden")
            .await;
    }
}

#[actix_web::test]
async fn reduced_motion_turns_the_slide_in_off() {
    let f = Fixture::build(
        "nl",
        StoreChoice::Memory,
        &["--force-prefers-reduced-motion"],
    )
    .await;
    f.open("/").await;
    assert_eq!(
        f.b.js("return matchMedia('(prefers-reduced-motion: reduce)').matches")
            .await,
        json!(true)
    );
    assert_eq!(
        f.b.js("return getComputedStyle(document.querySelector('#cg-banner')).animationName")
            .await,
        json!("none")
    );
    let g = Fixture::new("nl").await;
    g.open("/").await;
    assert_eq!(
        g.b.js("return getComputedStyle(document.querySelector('#cg-banner')).animationName")
            .await,
        json!("cg-in")
    );
}

#[actix_web::test]
async fn escape_closes_a_reopened_banner_and_returns_focus_to_the_control() {
    let f = Fixture::new("nl").await;
    f.open("/").await;
    // Before a decision Escape does not make the question go away unanswered.
    f.b.press(browser::ESCAPE).await;
    assert_eq!(
        f.b.js("return document.querySelector('#cg-banner').hidden")
            .await,
        json!(false)
    );
    f.b.click("#cg-banner button[data-a=reject]").await;
    f.b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;
    f.b.click("#cg-reopen").await;
    f.b.wait_js("!document.querySelector('#cg-banner').hidden")
        .await;
    f.b.press(browser::ESCAPE).await;
    f.b.wait_js(
        "document.querySelector('#cg-banner').hidden && document.activeElement.id === 'cg-reopen'",
    )
    .await;
}

#[actix_web::test]
async fn store_down_the_banner_says_so_and_trackers_stay_blocked() {
    redis_support::require_redis_binaries();
    let mut redis = redis_support::RedisServer::new();
    let f = Fixture::with_store("en", StoreChoice::Redis(redis.url())).await;
    redis.stop();
    f.open("/en").await;
    f.b.click("#cg-banner button[data-a=accept]").await;
    f.b.wait_js("document.querySelector('#cg-status') && document.querySelector('#cg-status').textContent.length > 0").await;
    let said =
        f.b.js("return document.querySelector('#cg-status').textContent")
            .await;
    assert!(
        said.as_str().unwrap().contains("could not be saved"),
        "{said}"
    );
    assert_eq!(
        f.b.js("return document.querySelector('#cg-banner').hidden")
            .await,
        json!(false)
    );
    assert_eq!(f.granted().await, json!(null));
    assert_no_tracker_contact(&f, "store down").await;
    f.b.screenshot("banner-en-store-down.png").await;
}

#[actix_web::test]
async fn global_privacy_control_is_shown_as_a_refusal_of_marketing() {
    let f = Fixture::new("nl").await;
    f.open("/gpc").await;
    let note =
        f.b.js("var n=document.querySelector('#cg-banner .cg-n'); return n && n.textContent")
            .await;
    assert!(
        note.as_str()
            .unwrap_or("")
            .contains("Global Privacy Control"),
        "{note}"
    );
    f.open("/").await;
    assert_eq!(
        f.b.js("return document.querySelector('#cg-banner .cg-n')")
            .await,
        json!(null)
    );
}

#[actix_web::test]
async fn demo_page_through_the_rewriter_stays_inert_until_consent_and_wakes_per_category() {
    let f = Fixture::new("nl").await;
    f.open("/demo").await;
    // The site's own script still runs; no tracker was contacted.
    f.b.wait_js("document.getElementById('site-js-ran').textContent === 'ja'")
        .await;
    assert_no_tracker_contact(&f, "before a decision").await;

    f.b.click("#cg-banner button[data-a=settings]").await;
    f.b.click("input[name=cg-cat][value=analytics]").await;
    f.b.click("#cg-banner button[data-a=save]").await;
    f.b.wait_js(
        "window.__gtmLoaded === 1 && window.__gtagLoaded === 1 && window.__hotjarLoaded === 1",
    )
    .await;
    f.sink.settle(&f.b).await;
    assert!(
        f.sink.hits_to(MARKETING).is_empty(),
        "marketing reached: {:?}",
        f.sink.hits_to(MARKETING)
    );

    f.b.click("#cg-reopen").await;
    f.b.click("#cg-banner button[data-a=accept]").await;
    f.b.wait_js("window.__fbLoaded >= 1").await;
    assert!(!f.sink.hits_to(MARKETING).is_empty());
    // Granting more did not run the analytics tags a second time.
    assert_eq!(
        f.b.js("return [window.__gtmLoaded, window.__gtagLoaded, window.__hotjarLoaded]")
            .await,
        json!([1, 1, 1])
    );
}
