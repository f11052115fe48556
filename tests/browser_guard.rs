//! The guard (guard.js, first in `<head>`) in headless Chromium, through the gate: a page whose
//! own script tries every way of reaching a tracker, before and after the banner is shown; the
//! usage snippets of tracker APIs (`ga('send')`, `_gat._getTracker`, `fbq('track')`, …) as the
//! rewriter neutralises them, which must reach the trackers after their loader once consent is
//! given and never otherwise; the queue stubs first-party code calls; and a forged consent
//! cookie set at a sub-path. Every tracker host goes to the loopback sink.

mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use support::browser::{self, Browser};
use support::gate::{RunningTestGate, TestGate};
use support::sink::{Hit, Sink};
use support::{upstream, wait};

/// A page whose first script, /tricks.js (first-party, synchronous, right after the guard and
/// long before banner.js), tries each trick at once ("early"), and again when the test calls
/// `tricks('late')`. URLs are https so that a trick the guard missed would reach the sink. A
/// thrown error is recorded per trick. The script is a file, not inline: the gate's rewriter
/// would (rightly) neutralise inline code naming tracker hosts and calling their APIs.
const TRICKS: &str = r##"<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Trucs</title>
<script src="/tricks.js"></script>
</head><body><h1>Trucs</h1><p>Een pagina vol trucs.</p></body></html>"##;

const TRICKS_JS: &str = r##"(function () {
  var SVG = 'http://www.w3.org/2000/svg', XLINK = 'http://www.w3.org/1999/xlink';
  window.__trickErrors = {};
  window.tricks = function (tag) {
    var root = document.body || document.documentElement;
    // The pixel's host is a tracker only below /tr.
    function u(host, name) { return 'https://' + host + (host == 'www.facebook.com' ? '/tr' : '') + '/trick/' + tag + '/' + name; }
    function add(el) { root.appendChild(el); return el; }
    function box() { var d = add(document.createElement('div')); d.style.cssText = 'width:8px;height:8px'; return d; }
    function frameDoc() { return add(document.createElement('iframe')).contentDocument; }
    var tricks = {
      xhr: function () { var x = new XMLHttpRequest(); x.open('GET', u('www.google-analytics.com', 'xhr')); x.send(); },
      beacon: function () { navigator.sendBeacon(u('www.google-analytics.com', 'beacon'), 'x'); },
      fetch: function () {
        fetch(u('region1.google-analytics.com', 'fetch')).catch(function () {});
        fetch(new Request(u('region1.google-analytics.com', 'request'))).catch(function () {});
      },
      image: function () { new Image().src = u('www.facebook.com', 'image'); },
      srcset: function () { add(document.createElement('img')).srcset = u('www.facebook.com', 'srcset') + ' 1x'; },
      script: function () {
        var s = document.createElement('script'); s.src = u('connect.facebook.net', 'script.js'); document.head.appendChild(s);
      },
      concatenated: function () {
        var ga = document.createElement('script'); ga.async = true;
        ga.src = 'https://' + 'stats.g.doubleclick.net/dc.js?trick=' + tag;
        var s = document.getElementsByTagName('script')[0]; s.parentNode.insertBefore(ga, s);
      },
      setattribute: function () { add(document.createElement('img')).setAttribute('src', u('www.facebook.com', 'setattribute')); },
      attributenode: function () {
        var a = document.createAttribute('src'); a.value = u('www.facebook.com', 'attributenode');
        add(document.createElement('img')).setAttributeNode(a);
      },
      svg: function () {
        var svg = document.createElementNS(SVG, 'svg'), im = document.createElementNS(SVG, 'image'),
          sc = document.createElementNS(SVG, 'script');
        im.setAttributeNS(XLINK, 'xlink:href', u('www.facebook.com', 'svg-image'));
        im.setAttribute('width', '8'); im.setAttribute('height', '8');
        sc.setAttribute('href', u('connect.facebook.net', 'svg-script.js'));
        svg.appendChild(im); svg.appendChild(sc); add(svg);
      },
      embed: function () {
        add(document.createElement('embed')).src = u('www.facebook.com', 'embed');
        var o = document.createElement('object'); o.data = u('www.facebook.com', 'object'); add(o);
      },
      iframe: function () { add(document.createElement('iframe')).src = u('www.facebook.com', 'iframe'); },
      srcdoc: function () { add(document.createElement('iframe')).srcdoc = '<img src="' + u('www.facebook.com', 'srcdoc') + '">'; },
      poster: function () { add(document.createElement('video')).poster = u('www.facebook.com', 'poster'); },
      ping: function () {
        var a = add(document.createElement('a')); a.href = '#ping'; a.ping = u('www.facebook.com', 'ping');
        a.textContent = 'ping'; a.click();
      },
      innerhtml: function () {
        add(document.createElement('div')).innerHTML = '<img src="' + u('www.facebook.com', 'innerhtml') +
          '"><iframe src="' + u('www.googletagmanager.com', 'innerhtml-iframe') + '"></iframe>';
      },
      outerhtml: function () { add(document.createElement('div')).outerHTML = '<img src="' + u('www.facebook.com', 'outerhtml') + '">'; },
      adjacent: function () {
        add(document.createElement('div')).insertAdjacentHTML('beforeend', '<img srcset="' + u('www.facebook.com', 'adjacent') + ' 2x">');
      },
      fragment: function () {
        var r = document.createRange(); r.selectNodeContents(root);
        root.appendChild(r.createContextualFragment('<img src="' + u('www.facebook.com', 'fragment') +
          '"><script src="' + u('connect.facebook.net', 'fragment.js') + '"><\/script>'));
      },
      domparser: function () {
        var doc = new DOMParser().parseFromString('<img src="' + u('www.facebook.com', 'domparser') + '">', 'text/html');
        add(document.importNode(doc.body.firstChild, true));
      },
      write: function () {
        // While the page is parsed, into the page itself; later, into a same-origin frame.
        (document.readyState === 'loading' ? document : frameDoc()).write('<img src="' +
          u('www.facebook.com', 'write') + '"><script src="' + u('connect.facebook.net', 'write.js') + '"><\/script>');
      },
      css: function () {
        box().style.backgroundImage = 'url(' + u('www.facebook.com', 'css-property') + ')';
        box().setAttribute('style', 'width:8px;height:8px;background:url(' + u('www.facebook.com', 'css-attribute') + ')');
        box().style.setProperty('background-image', 'url("' + u('www.facebook.com', 'css-setproperty') + '")');
        box().style = 'width:8px;height:8px;background-image:url(' + u('www.facebook.com', 'css-style') + ')';
        box().style.cssText = 'width:8px;height:8px;background-image:url(' + u('www.facebook.com', 'css-text') + ')';
      },
      pathrule: function () {
        var s = document.createElement('script'); s.src = '/gtm.js?id=GTM-TRICK' + tag.toUpperCase(); document.head.appendChild(s);
      },
      worker: function () { new Worker(u('www.googletagmanager.com', 'worker.js')); },
      sharedworker: function () { new SharedWorker(u('www.googletagmanager.com', 'sharedworker.js')); },
      websocket: function () { new WebSocket('wss://ws.hotjar.com/trick/' + tag); },
      frame: function () {
        var f = add(document.createElement('iframe')), w = f.contentWindow, d = f.contentDocument;
        w.fetch(u('www.google-analytics.com', 'frame-fetch')).catch(function () {});
        var i = d.createElement('img'); i.src = u('www.facebook.com', 'frame-image'); d.body.appendChild(i);
        new w.Image().src = u('www.facebook.com', 'frame-new-image');
      },
      stubs: function () {
        gtag('event', 'stub_' + tag); fbq('track', 'Stub'); ga('send', 'pageview'); _gaq.push(['_trackPageview']);
        _gat._getTracker('UA-9999-1')._trackPageview(); hj('event', 'stub'); dataLayer.push({ event: 'stub' });
      },
      firstparty: function () { new Image().src = '/first-party.gif?tag=' + tag; },
      // Code naming a tracker host is no markup: it must run as written.
      rawtext: function () {
        var sc = document.createElement('script');
        sc.innerHTML = "window['__raw_" + tag + "'] = 'connect.facebook.net' && 1 < 2;";
        document.head.appendChild(sc);
      }
    };
    Object.keys(tricks).forEach(function (name) {
      try { tricks[name](); } catch (e) { window.__trickErrors[tag + ':' + name] = String(e && e.name); }
    });
  };
  window.tricks('early');
})();
"##;

/// Tracker snippets and the calls that use their APIs, as the rewriter leaves them
/// (neutralised, each with its vendor's category), after first-party code (/first-party.js)
/// that calls the stubs before any decision.
const USAGE: &str = r##"<!DOCTYPE html>
<html lang="nl"><head><meta charset="utf-8"><title>Gebruik</title>
<script src="/first-party.js"></script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
  var _gaq = _gaq || [];
  _gaq.push(['_setAccount', 'UA-1111-1']);
  _gaq.push(['_trackPageview']);
  (function() {
    var ga = document.createElement('script'); ga.type = 'text/javascript'; ga.async = true;
    ga.src = 'https://' + 'stats.g.doubleclick.net/dc.js';
    var s = document.getElementsByTagName('script')[0]; s.parentNode.insertBefore(ga, s);
  })();
</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;i[r]=i[r]||function(){
(i[r].q=i[r].q||[]).push(arguments)},i[r].l=1*new Date();a=s.createElement(o),
m=s.getElementsByTagName(o)[0];a.async=1;a.src=g;m.parentNode.insertBefore(a,m)
})(window,document,'script','https://www.google-analytics.com/analytics.js','ga');
</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
ga('create', 'UA-2222-1', 'auto');
ga('send', 'pageview');
</script>
<script type="text/plain" data-cg-src="https://www.google-analytics.com/ga.js" data-cg-category="analytics" data-cg-vendor="google_analytics"></script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
var pageTracker = _gat._getTracker('UA-3333-1');
pageTracker._trackPageview();
</script>
<script async type="text/plain" data-cg-src="https://www.googletagmanager.com/gtag/js?id=G-USAGE1" data-cg-category="analytics" data-cg-vendor="google_analytics"></script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">
window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-USAGE1');
</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="google_analytics">gtag('event', 'sign_up');</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="hotjar">
(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
h._hjSettings={hjid:3456789,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');
r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);
})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>
<script type="text/plain" data-cg-category="analytics" data-cg-vendor="hotjar">hj('trigger', 'usage_survey');</script>
<script type="text/plain" data-cg-category="marketing" data-cg-vendor="meta_pixel">
!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?
n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;
n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];
s.parentNode.insertBefore(t,s)}(window,document,'script','https://connect.facebook.net/en_US/fbevents.js');
</script>
<script type="text/plain" data-cg-category="marketing" data-cg-vendor="meta_pixel">fbq('set', 'openbridge', '1234567890123456', window);</script>
<script type="text/plain" data-cg-category="marketing" data-cg-vendor="meta_pixel">fbq('init', '1234567890123456', {}, {"agent": "wordpress"});</script>
<script type="text/plain" data-cg-category="marketing" data-cg-vendor="meta_pixel">fbq('track', 'PageView', []);</script>
</head><body><h1>Gebruik</h1><p>Trackers die pas na toestemming meedoen.</p></body></html>"##;

const FIRST_PARTY_JS: &str = "window.__stubErrors = [];\
    try { gtag('event', 'first_party_gtag'); fbq('track', 'FirstPartyLead'); }\
    catch (e) { window.__stubErrors.push(String(e)); }";

/// Requests the site received (path and query).
type Seen = Arc<Mutex<Vec<String>>>;

struct Fixture {
    gate: RunningTestGate,
    _site: upstream::Upstream,
    seen: Seen,
    sink: Sink,
    b: Browser,
}

impl Fixture {
    async fn new() -> Fixture {
        browser::require();
        let seen: Seen = Arc::default();
        let record = seen.clone();
        let site = upstream::serve(move |site| {
            let record = record.clone();
            site.default_service(web::get().to(move |req: HttpRequest| {
                let record = record.clone();
                async move { page(&record, &req) }
            }));
        });
        let gate = TestGate::new()
            .upstream(&site.url())
            // The guard alone is under test. The gate's CSP (tests/csp_browser.rs) varies
            // with the consent cookie, so a browser would not reuse the cached page of
            // a_forged_consent_cookie_at_a_sub_path_activates_nothing under it.
            .config_toml(
                "[consent]\nprivacy_statement_url = \"/privacy.html\"\n[csp]\nmode = \"off\"\n",
            )
            .start()
            .await;
        let sink = Sink::start().await;
        let b = Browser::start(sink.addr, "nl").await;
        Fixture {
            gate,
            _site: site,
            seen,
            sink,
            b,
        }
    }

    async fn open(&self, path: &str) {
        self.b.open(&self.gate.url(path)).await;
    }

    /// How often the site was asked for a path (query included) starting with `prefix`.
    fn site_requests(&self, prefix: &str) -> usize {
        let seen = self.seen.lock().expect("seen");
        seen.iter().filter(|p| p.starts_with(prefix)).count()
    }

    /// Once every request the page was going to make has arrived ([`Sink::settle`]): none to
    /// a tracker.
    async fn assert_no_tracker_contact(&self, when: &str) {
        self.sink.settle(&self.b).await;
        let hits = self.sink.tracker_hits();
        assert!(hits.is_empty(), "{when}: {hits:#?}");
    }

    async fn click_and_wait_hidden(&self, action: &str) {
        self.b
            .click(&format!("#cg-banner button[data-a={action}]"))
            .await;
        self.b
            .wait_js("document.querySelector('#cg-banner').hidden")
            .await;
    }

    /// Wait until the sink has a hit to `host` whose path starts with `path`; its position.
    async fn hit_position(&self, host: &str, path: &str) -> usize {
        wait::until_some(
            &format!("a request to {host}{path}"),
            wait::DEADLINE,
            || async { position(&self.sink.hits(), host, path) },
        )
        .await
    }
}

fn position(hits: &[Hit], host: &str, path: &str) -> Option<usize> {
    hits.iter()
        .position(|h| h.host == host && h.path.starts_with(path))
}

/// The site: `/tricks` and its script, the first-party script of the usage page, `/sub/cached`
/// (the usage page, cacheable for ten minutes), and the usage page everywhere else.
fn page(seen: &Seen, req: &HttpRequest) -> HttpResponse {
    let target = match req.query_string() {
        "" => req.path().to_owned(),
        query => format!("{}?{query}", req.path()),
    };
    seen.lock().expect("seen").push(target);
    let path = req.path();
    let script = match path {
        "/tricks.js" => Some(TRICKS_JS),
        "/first-party.js" => Some(FIRST_PARTY_JS),
        _ => None,
    };
    if let Some(js) = script {
        return HttpResponse::Ok().content_type("text/javascript").body(js);
    }
    if path.ends_with(".gif") || path.ends_with(".js") {
        return HttpResponse::NotFound().finish();
    }
    let mut res = HttpResponse::Ok();
    if path == "/sub/cached" {
        res.insert_header(("cache-control", "max-age=600"));
    }
    let html = if path == "/tricks" { TRICKS } else { USAGE };
    res.content_type("text/html; charset=utf-8").body(html)
}

#[actix_web::test]
async fn every_trick_of_a_page_script_is_blocked_before_and_after_the_banner_shows() {
    let f = Fixture::new().await;
    f.open("/tricks").await;
    f.b.wait_js("document.querySelector('#cg-banner:not([hidden])')")
        .await;
    f.b.js("window.tricks('late');").await;
    f.assert_no_tracker_contact("tricks before a decision")
        .await;

    // Blocked requests are refused the way a network error would be; nothing else threw.
    let errors = f.b.js("return window.__trickErrors").await;
    let mut expected = serde_json::Map::new();
    for tag in ["early", "late"] {
        for trick in ["xhr", "worker", "sharedworker", "websocket"] {
            expected.insert(format!("{tag}:{trick}"), json!("TypeError"));
        }
    }
    assert_eq!(errors, serde_json::Value::Object(expected));
    // The guard leaves first-party requests alone, and the first-party GTM loader path of the
    // catalogue never reached the site.
    assert_eq!(f.site_requests("/first-party.gif?tag=early"), 1);
    assert_eq!(f.site_requests("/first-party.gif?tag=late"), 1);
    assert_eq!(f.site_requests("/gtm.js"), 0);
    assert_eq!(
        f.b.js("return [window.__raw_early, window.__raw_late]")
            .await,
        json!([true, true])
    );
    // What was blocked is parked in the rewriter's form, ready for the banner.
    let parked =
        f.b.js(
            "return ['a[data-cg-ping]:not([ping])', 'img[data-cg-src*=\"/innerhtml\"]', \
             'img[data-cg-srcset*=\"/adjacent\"]', '[data-cg-style*=\"css-attribute\"]', \
             'image[data-cg-xlink-href]', 'object[data-cg-data]', 'embed[data-cg-src]', \
             'video[data-cg-poster]', 'iframe[data-cg-srcdoc]', 'script[data-cg-src*=\"dc.js\"]']\
             .filter(function (s) { return document.querySelectorAll(s).length !== 2; })",
        )
        .await;
    assert_eq!(parked, json!([]), "parked twice (early and late) each");

    // Blocked insertions of a category granted later run then: the parked elements wake up.
    f.click_and_wait_hidden("accept").await;
    f.hit_position("www.facebook.com", "/tr/trick/early/innerhtml")
        .await;
    f.hit_position("www.facebook.com", "/tr/trick/late/setattribute")
        .await;
}

#[actix_web::test]
async fn usage_snippets_reach_their_tracker_after_its_loader_only_after_accept_all() {
    let f = Fixture::new().await;
    f.open("/usage").await;
    // First-party calls of the stubs threw nothing and sent nothing.
    assert_eq!(f.b.js("return window.__stubErrors").await, json!([]));
    f.assert_no_tracker_contact("before a decision").await;

    f.click_and_wait_hidden("accept").await;
    // Each page view or event after its loader (the sink records in arrival order; a hit can
    // only be sent once its library ran).
    for (what, loader, hit) in [
        (
            "ga.js with display features",
            ("stats.g.doubleclick.net", "/dc.js"),
            "/__utm.gif?utmac=UA-1111-1&utmt=page",
        ),
        (
            "analytics.js",
            ("www.google-analytics.com", "/analytics.js"),
            "/collect?v=1&t=pageview",
        ),
        (
            "synchronous ga.js with _gat",
            ("www.google-analytics.com", "/ga.js"),
            "/__utm.gif?utmac=UA-3333-1&utmt=page",
        ),
    ] {
        let loader_at = f.hit_position(loader.0, loader.1).await;
        let hit_at = wait::until_some(&format!("{what}: {hit}"), wait::DEADLINE, || async {
            f.sink.hits().iter().position(|h| h.path.starts_with(hit))
        })
        .await;
        assert!(loader_at < hit_at, "{what}: {:#?}", f.sink.hits());
    }
    for (what, loader, hit) in [
        (
            "gtag event",
            ("www.googletagmanager.com", "/gtag/js?id=G-USAGE1"),
            ("region1.google-analytics.com", "/g/collect?v=2&en=sign_up"),
        ),
        (
            "first-party gtag event",
            ("www.googletagmanager.com", "/gtag/js?id=G-USAGE1"),
            (
                "region1.google-analytics.com",
                "/g/collect?v=2&en=first_party_gtag",
            ),
        ),
        (
            "hotjar trigger",
            ("static.hotjar.com", "/c/hotjar-3456789.js"),
            ("in.hotjar.com", "/hit?c=trigger&e=usage_survey"),
        ),
        (
            "pixel page view",
            ("connect.facebook.net", "/en_US/fbevents.js"),
            ("www.facebook.com", "/tr?id=1234567890123456&ev=PageView"),
        ),
        (
            // Against the loader, not the PageView hit: two image requests the pixel sends
            // one after the other may reach the sink in either order.
            "first-party pixel event",
            ("connect.facebook.net", "/en_US/fbevents.js"),
            (
                "www.facebook.com",
                "/tr?id=1234567890123456&ev=FirstPartyLead",
            ),
        ),
    ] {
        let loader_at = f.hit_position(loader.0, loader.1).await;
        let hit_at = f.hit_position(hit.0, hit.1).await;
        assert!(loader_at < hit_at, "{what}: {:#?}", f.sink.hits());
    }
    // Each usage snippet ran once.
    f.sink.settle(&f.b).await;
    let page_views = f
        .sink
        .hits()
        .iter()
        .filter(|h| h.path.contains("ev=PageView"))
        .count();
    assert_eq!(page_views, 1, "{:#?}", f.sink.hits());
}

#[actix_web::test]
async fn after_reject_all_no_usage_snippet_or_stub_call_reaches_a_tracker() {
    let f = Fixture::new().await;
    f.open("/usage").await;
    f.click_and_wait_hidden("reject").await;
    f.assert_no_tracker_contact("after reject all").await;
    // What the stubs had queued is dropped.
    assert_eq!(
        f.b.js("return [window.__cg.q.fbq.length, window.__cg.q.ga.length, window._gaq.length]")
            .await,
        json!([0, 0, 0])
    );
    // The next page knows the decision at once (the guard's cache) and stays quiet too.
    f.open("/usage").await;
    assert_eq!(
        f.b.js("return window.consentgate.granted()").await,
        json!([])
    );
    f.b.js("gtag('event', 'after_refusal'); fbq('track', 'AfterRefusal');")
        .await;
    f.assert_no_tracker_contact("on the next page").await;
}

#[actix_web::test]
async fn a_forged_consent_cookie_at_a_sub_path_activates_nothing() {
    let f = Fixture::new().await;
    // The page at /sub/cached is in the browser's cache from a first visit ...
    f.open("/sub/cached").await;
    assert_eq!(f.site_requests("/sub/cached"), 1);
    f.open("/").await;
    // ... then a cookie of the right shape, with a MAC the gate never made, is set for /sub.
    let revision = f.gate.config().consent.policy_revision;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let forged = format!(
        "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~marketing.{revision}.{now}.{}",
        "A".repeat(43)
    );
    f.b.js(&format!(
        "document.cookie = 'cg_consent={forged}; path=/sub'; location.href = '/sub/cached';"
    ))
    .await;
    f.b.wait_js("location.pathname === '/sub/cached'").await;
    f.b.wait_started().await;
    // The page came from the cache: the gate never saw the cookie, the page did.
    assert_eq!(f.site_requests("/sub/cached"), 1);
    assert_eq!(
        f.b.js("return document.cookie.indexOf('cg_consent=v2.') >= 0")
            .await,
        json!(true)
    );
    f.b.wait_js("document.querySelector('#cg-banner:not([hidden])')")
        .await;
    assert_eq!(
        f.b.js("return window.consentgate.granted()").await,
        json!(null)
    );
    f.assert_no_tracker_contact("with a forged cookie").await;

    // The next page the gate serves under /sub deletes the forged cookie where it was set.
    f.open("/sub/fresh").await;
    let names = f.b.cookie_names().await;
    assert!(!names.contains(&"cg_consent".to_owned()), "{names:?}");
}
