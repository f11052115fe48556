//! Click-to-load embeds in headless Chromium, through the gate: a page with two YouTube
//! players (one lazily loaded) and a Vimeo player, every vendor host routed to the loopback
//! sink. Nothing reaches YouTube before the click; "Load this video" loads that one player and
//! stores nothing; "Always load YouTube" records a decision with a receipt and loads every
//! YouTube player on the page (and none of Vimeo's). A theme's CSS that shows every iframe does
//! not show the inert frame; the placeholders fit a 360 px screen and 200 % zoom; posts that a
//! vendor's script renders (X, Facebook) and CKEditor's `<oembed>` get placeholders too. With
//! `[embeds.youtube] thumbnails`, the thumbnails come from the gate, never from Google.
mod support;

use actix_web::{web, HttpResponse};
use serde_json::json;
use support::browser::{self, Browser};
use support::gate::{RunningTestGate, TestGate};
use support::sink::Sink;
use support::thumbnails::{self, ImageHost};
use support::{upstream, wait};

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Our mission</title></head><body>
<h1>Our mission</h1>
<figure class="wp-block-embed"><div class="wp-block-embed__wrapper">
<iframe id="first" title="Who we are" width="560" height="315" src="https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed" allowfullscreen></iframe>
</div></figure>
<iframe id="lazy" class="lazyload" width="560" height="315" data-src="https://www.youtube.com/embed/G83gI7qjWug"></iframe>
<iframe id="vimeo" width="640" height="360" src="https://player.vimeo.com/video/76979871"></iframe>
</body></html>"#;

struct Fixture {
    gate: RunningTestGate,
    _upstream: upstream::Upstream,
    sink: Sink,
    b: Browser,
}

impl Fixture {
    async fn new() -> Fixture {
        Self::with(PAGE, None).await
    }

    /// The gate in front of a site that serves `page`, opened in a browser that lays it out
    /// in `viewport` (width and height in CSS pixels, device pixels per CSS pixel) if given.
    async fn with(page: &'static str, viewport: Option<(u32, u32, f64)>) -> Fixture {
        Self::configured(page, viewport, "").await
    }

    /// [`Fixture::with`] with `toml` merged into the gate's configuration.
    async fn configured(
        page: &'static str,
        viewport: Option<(u32, u32, f64)>,
        toml: &str,
    ) -> Fixture {
        browser::require();
        let sink = Sink::start().await;
        let upstream = upstream::serve(move |site| {
            site.default_service(web::get().to(move || async move {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(page)
            }));
        });
        let gate = TestGate::new()
            .upstream(&upstream.url())
            .config_toml(toml)
            .start()
            .await;
        let b = Browser::start(sink.addr, "en").await;
        if let Some((width, height, scale)) = viewport {
            b.emulate_viewport(width, height, scale).await;
        }
        b.open(&gate.url("/")).await;
        Fixture {
            gate,
            _upstream: upstream,
            sink,
            b,
        }
    }

    /// Consent decisions recorded (receipts in the store).
    async fn receipts(&self) -> u64 {
        let areas = self.gate.state().areas();
        let counts = areas
            .consent
            .count_receipts(0, u64::MAX)
            .await
            .expect("count receipts");
        counts.iter().map(|(_, n)| n).sum()
    }

    /// Requests to YouTube's and Vimeo's hosts, once the page's own requests have arrived.
    async fn vendor_hits(&self, hosts: &[&str]) -> Vec<String> {
        self.sink.settle(&self.b).await;
        self.sink
            .hits_to(hosts)
            .into_iter()
            .map(|h| format!("{}{}", h.host, h.path))
            .collect()
    }
}

#[actix_web::test]
async fn nothing_loads_before_the_click_and_load_this_video_loads_that_one_only() {
    let f = Fixture::new().await;
    f.b.wait_js("document.querySelectorAll('.cg-embed').length === 3")
        .await;
    assert_eq!(
        f.vendor_hits(&["youtube.com", "ytimg.com", "vimeo.com"])
            .await,
        Vec::<String>::new(),
        "before any click"
    );
    // A real button, named for what it does, described by the vendor's sentence.
    let described = f
        .b
        .js("var b = document.querySelector('.cg-embed button[data-cg-once]');
             return [b.textContent, document.getElementById(b.getAttribute('aria-describedby')).textContent];")
        .await;
    assert_eq!(described[0], json!("Load this video"));
    assert!(
        described[1]
            .as_str()
            .unwrap()
            .starts_with("Load video — YouTube (Google): "),
        "{described}"
    );
    // The banner's first layer names who, from the vendors this page uses.
    assert_eq!(
        f.b.js("return document.getElementById('cg-who').textContent")
            .await,
        json!("Vendors on this website: YouTube (Google); Vimeo.")
    );
    f.b.screenshot("embed-placeholder-en.png").await;

    f.b.click(".cg-embed[data-cg-embed=youtube] button[data-cg-once]")
        .await;
    // The player takes the placeholder's place and has the focus.
    f.b.wait_js("document.activeElement && document.activeElement.id === 'first'")
        .await;
    support::wait::until_true("the player to be fetched", support::wait::DEADLINE, || {
        !f.sink.hits_to(&["youtube.com"]).is_empty()
    })
    .await;
    let hits = f.vendor_hits(&["youtube.com", "vimeo.com"]).await;
    assert_eq!(hits, ["www.youtube.com/embed/KPnmmIrD0oc?feature=oembed"]);
    assert_eq!(
        f.b.js("return [document.getElementById('first').hidden, document.querySelectorAll('.cg-embed-ui').length, window.consentgate.granted()]")
            .await,
        json!([false, 2, null]),
        "shown, the other two still placeholders, nothing recorded"
    );
    assert_eq!(f.receipts().await, 0);
}

#[actix_web::test]
async fn always_load_youtube_records_a_receipt_and_loads_every_youtube_player() {
    let f = Fixture::new().await;
    f.b.click(".cg-embed[data-cg-embed=youtube] button[data-cg-always]")
        .await;
    f.b.wait_js("document.querySelectorAll('.cg-embed-ui').length === 1")
        .await;
    assert_eq!(
        f.b.js("return window.consentgate.granted()").await,
        json!(["youtube"])
    );
    let mut hits = f.vendor_hits(&["youtube.com", "vimeo.com"]).await;
    hits.sort();
    assert_eq!(
        hits,
        [
            "www.youtube.com/embed/G83gI7qjWug",
            "www.youtube.com/embed/KPnmmIrD0oc?feature=oembed"
        ],
        "both YouTube players, not Vimeo's"
    );
    assert_eq!(f.receipts().await, 1);
    // The next page view loads YouTube players at once.
    f.sink.clear();
    f.b.open(&f.gate.url("/")).await;
    f.b.wait_js("document.querySelectorAll('.cg-embed-ui').length === 1")
        .await;
    assert_eq!(
        f.vendor_hits(&["youtube.com"]).await.len(),
        2,
        "both players on the next page"
    );
}

/// PAGE with a theme that shows every iframe, as block themes and page builders do.
const THEMED: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Our mission</title>
<style>iframe { display: block !important; width: 100%; min-height: 200px; border: 2px solid #c00 }
.wp-block-embed iframe { display: block !important; visibility: visible !important }</style>
</head><body>
<h1>Our mission</h1>
<figure class="wp-block-embed"><div class="wp-block-embed__wrapper">
<iframe id="first" title="Who we are" width="560" height="315" src="https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed" allowfullscreen></iframe>
</div></figure>
</body></html>"#;

/// Whether the element with this id takes up room on the page (is rendered at all).
fn rendered(id: &str) -> String {
    format!(
        "var e = document.getElementById('{id}'); return e.getClientRects().length > 0 && e.offsetWidth > 0;"
    )
}

#[actix_web::test]
async fn a_theme_that_shows_every_iframe_does_not_show_the_inert_frame() {
    let f = Fixture::with(THEMED, None).await;
    f.b.wait_js("document.querySelectorAll('.cg-embed').length === 1")
        .await;
    // The theme's rule does apply to the frame; its wrapper keeps it out of the layout.
    assert_eq!(
        f.b.js("return getComputedStyle(document.getElementById('first')).display")
            .await,
        json!("block")
    );
    assert_eq!(
        f.b.js(&rendered("first")).await,
        json!(false),
        "no empty frame before the click"
    );
    f.b.click(".cg-embed button[data-cg-once]").await;
    f.b.wait_js("document.activeElement && document.activeElement.id === 'first'")
        .await;
    assert_eq!(
        f.b.js(&rendered("first")).await,
        json!(true),
        "the player after the click"
    );
    support::wait::until_true("the player to be fetched", support::wait::DEADLINE, || {
        !f.sink.hits_to(&["youtube.com"]).is_empty()
    })
    .await;
}

/// What does not fit: any placeholder's text or button outside its box or the viewport, text
/// wider than its element, a button smaller than WCAG 2.5.8's 24 × 24 CSS pixels, or a page
/// that scrolls sideways. Empty when everything fits.
const MISFITS: &str = "var problems = [], root = document.documentElement, vw = root.clientWidth;
  if (root.scrollWidth > vw) problems.push('the page scrolls sideways: ' + root.scrollWidth + ' > ' + vw);
  document.querySelectorAll('.cg-embed').forEach(function (box, i) {
    var b = box.getBoundingClientRect();
    if (b.left < -0.5 || b.right > vw + 0.5) problems.push('box ' + i + ' leaves the viewport');
    box.querySelectorAll('.cg-embed-ui p, .cg-embed-ui button').forEach(function (el) {
      var r = el.getBoundingClientRect(), what = 'box ' + i + ' ' + el.localName + ' ' + JSON.stringify(el.textContent.slice(0, 20));
      if (r.left < b.left - 0.5 || r.right > b.right + 0.5 || r.top < b.top - 0.5 || r.bottom > b.bottom + 0.5)
        problems.push(what + ' sticks out of its box');
      if (r.left < -0.5 || r.right > vw + 0.5) problems.push(what + ' leaves the viewport');
      if (el.scrollWidth > el.clientWidth + 1) problems.push(what + ' is wider than its element');
      if (el.localName === 'button' && (r.width < 24 || r.height < 24)) problems.push(what + ' is smaller than 24 x 24 px');
    });
  });
  return problems;";

/// The placeholders fit, and "Load this video" works by a real click (after the visitor has
/// answered the banner, which at this size covers the lower half of the screen).
async fn fits_and_loads(f: &Fixture) {
    f.b.wait_js("document.querySelectorAll('.cg-embed').length === 3")
        .await;
    assert_eq!(f.b.js(MISFITS).await, json!([]));
    f.b.click("#cg-banner button[data-a=reject]").await;
    f.b.wait_js("document.getElementById('cg-banner').hidden")
        .await;
    f.b.click(".cg-embed[data-cg-embed=youtube] button[data-cg-once]")
        .await;
    f.b.wait_js("document.activeElement && document.activeElement.id === 'first'")
        .await;
    assert_eq!(f.b.js(&rendered("first")).await, json!(true));
    support::wait::until_true("the player to be fetched", support::wait::DEADLINE, || {
        !f.sink.hits_to(&["youtube.com"]).is_empty()
    })
    .await;
}

#[actix_web::test]
async fn placeholders_fit_a_360_px_screen_and_load_by_a_real_click() {
    let f = Fixture::with(PAGE, Some((360, 740, 1.0))).await;
    assert_eq!(
        f.b.js("return [window.innerWidth, window.devicePixelRatio]")
            .await,
        json!([360, 1]),
        "the viewport asked for"
    );
    f.b.screenshot("embed-placeholder-360px-en.png").await;
    fits_and_loads(&f).await;
}

/// 200 % zoom of a 1280 × 900 window, emulated as a 640 × 450 CSS-pixel viewport at two device
/// pixels per CSS pixel: what browser zoom does (it halves the CSS pixels a window holds and
/// doubles the device pixels per CSS pixel), so layout, media queries and text wrapping are the
/// same as when a visitor zooms in.
#[actix_web::test]
async fn placeholders_fit_at_200_percent_zoom_and_load_by_a_real_click() {
    let f = Fixture::with(PAGE, Some((640, 450, 2.0))).await;
    assert_eq!(
        f.b.js("return [window.innerWidth, window.devicePixelRatio]")
            .await,
        json!([640, 2]),
        "the viewport asked for (a vertical scrollbar may take some of its width)"
    );
    fits_and_loads(&f).await;
}

/// A post embedded by X's and Facebook's oEmbed markup (rendered by their scripts), and a
/// YouTube video in CKEditor 5's `<oembed>`.
const POSTS: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>News</title></head><body>
<h1>News</h1>
<blockquote class="twitter-tweet" data-width="550"><p lang="en" dir="ltr">Our annual report is out: read what your support made possible.</p>&mdash; Stichting Example (@example) <a href="https://twitter.com/example/status/1">December 1, 2026</a></blockquote>
<script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>
<div id="fb-root"></div>
<script async defer crossorigin="anonymous" src="https://connect.facebook.net/en_US/sdk.js#xfbml=1&amp;version=v18.0"></script>
<div class="fb-post" data-href="https://www.facebook.com/example/posts/1" data-width="500"></div>
<figure class="media"><oembed url="https://www.youtube.com/watch?v=KPnmmIrD0oc"></oembed></figure>
</body></html>"#;

const SOCIAL_HOSTS: &[&str] = &[
    "twitter.com",
    "twimg.com",
    "facebook.net",
    "facebook.com",
    "youtube.com",
];

#[actix_web::test]
async fn a_post_stays_readable_and_load_this_post_loads_its_script_only() {
    let f = Fixture::with(POSTS, None).await;
    f.b.wait_js("document.querySelectorAll('.cg-embed').length === 3")
        .await;
    assert_eq!(
        f.vendor_hits(SOCIAL_HOSTS).await,
        Vec::<String>::new(),
        "before any click"
    );
    // The post's own text is what the visitor reads meanwhile, with the two choices above it.
    let shown =
        f.b.js(
            "var box = document.querySelector('.cg-embed[data-cg-embed=x_embeds]');
             return [box.querySelector('blockquote').innerText.indexOf('annual report') >= 0,
                     box.querySelector('button[data-cg-once]').textContent,
                     box.querySelector('button[data-cg-always]').textContent];",
        )
        .await;
    assert_eq!(
        shown,
        json!([true, "Load this post", "Always load (consent to marketing)"])
    );
    f.b.click(".cg-embed[data-cg-embed=x_embeds] button[data-cg-once]")
        .await;
    support::wait::until_true("widgets.js to be fetched", support::wait::DEADLINE, || {
        f.sink
            .hits_to(&["platform.twitter.com"])
            .iter()
            .any(|h| h.path == "/widgets.js")
    })
    .await;
    let hits = f.vendor_hits(SOCIAL_HOSTS).await;
    assert_eq!(
        hits,
        ["platform.twitter.com/widgets.js"],
        "Facebook and YouTube stay out"
    );
    assert_eq!(
        f.b.js("return [document.querySelectorAll('.cg-embed-ui').length, window.consentgate.granted()]")
            .await,
        json!([2, null]),
        "the post's controls gone, the others there, nothing recorded"
    );
    assert_eq!(f.receipts().await, 0);
}

#[actix_web::test]
async fn an_oembed_video_loads_the_player_the_gate_built_for_it() {
    let f = Fixture::with(POSTS, None).await;
    // The video is the last placeholder, under the banner: the visitor answers it first.
    f.b.click("#cg-banner button[data-a=reject]").await;
    f.b.wait_js("document.getElementById('cg-banner').hidden")
        .await;
    f.b.click(".cg-embed[data-cg-embed=youtube] button[data-cg-once]")
        .await;
    support::wait::until_true("the player to be fetched", support::wait::DEADLINE, || {
        !f.sink.hits_to(&["youtube.com"]).is_empty()
    })
    .await;
    assert_eq!(
        f.vendor_hits(SOCIAL_HOSTS).await,
        ["www.youtube.com/embed/KPnmmIrD0oc"]
    );
    assert_eq!(
        f.b.js("return document.activeElement.localName").await,
        json!("iframe")
    );
}

#[actix_web::test]
async fn always_load_on_a_facebook_post_records_a_receipt_and_loads_the_sdk() {
    let f = Fixture::with(POSTS, None).await;
    f.b.click(".cg-embed[data-cg-embed=facebook_social] button[data-cg-always]")
        .await;
    support::wait::until_true("the SDK to be fetched", support::wait::DEADLINE, || {
        f.sink
            .hits_to(&["connect.facebook.net"])
            .iter()
            .any(|h| h.path.starts_with("/en_US/sdk.js"))
    })
    .await;
    assert_eq!(
        f.b.js("return window.consentgate.granted()").await,
        json!(["marketing"])
    );
    assert_eq!(f.receipts().await, 1);
}

#[actix_web::test]
async fn with_thumbnails_the_browser_gets_them_from_the_gate_and_nothing_from_google() {
    let host = ImageHost::start();
    let f = Fixture::configured(PAGE, None, &host.config("")).await;
    f.b.wait_js("document.querySelectorAll('.cg-embed img').length === 2")
        .await;
    wait::until_true(
        "the first player's thumbnail to be fetched by the gate",
        wait::DEADLINE,
        || host.fetches_of(thumbnails::VIDEO) == 1,
    )
    .await;
    // The browser asked the gate, nothing else, for it.
    let asked =
        f.b.js(
            "return performance.getEntriesByType('resource').map(function (e) { return e.name; })
                 .filter(function (n) { return n.indexOf('KPnmmIrD0oc') >= 0; })
                 .map(function (n) { return new URL(n).pathname; });",
        )
        .await;
    assert_eq!(
        asked,
        json!(["/_gate/embed-thumb/youtube/KPnmmIrD0oc.jpg"]),
        "only the gate's thumbnail"
    );
    assert_eq!(
        f.vendor_hits(&["youtube.com", "ytimg.com", "vimeo.com"])
            .await,
        Vec::<String>::new(),
        "before any click"
    );
    // The picture shows (decoded), behind the placeholder's text.
    f.b.wait_js("document.querySelector('.cg-embed img').naturalWidth === 480")
        .await;
    f.b.screenshot("embed-placeholder-thumbnail-en.png").await;
    // "Load this video" still loads the player, and the thumbnail goes with the controls.
    f.b.click(".cg-embed[data-cg-embed=youtube] button[data-cg-once]")
        .await;
    f.b.wait_js("document.activeElement && document.activeElement.id === 'first'")
        .await;
    assert_eq!(
        f.b.js("return document.querySelectorAll('.cg-embed img').length")
            .await,
        json!(1)
    );
}
