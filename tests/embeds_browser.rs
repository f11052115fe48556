//! Click-to-load embeds in headless Chromium, through the gate: a page with two YouTube
//! players (one lazily loaded) and a Vimeo player, every vendor host routed to the loopback
//! sink. Nothing reaches YouTube before the click; "Load this video" loads that one player and
//! stores nothing; "Always load YouTube" records a decision with a receipt and loads every
//! YouTube player on the page (and none of Vimeo's).

mod support;

use actix_web::{web, HttpResponse};
use serde_json::json;
use support::browser::{self, Browser};
use support::gate::{RunningTestGate, TestGate};
use support::sink::Sink;
use support::upstream;

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
        browser::require();
        let sink = Sink::start().await;
        let upstream = upstream::serve(|site| {
            site.default_service(web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(PAGE)
            }));
        });
        let gate = TestGate::new().upstream(&upstream.url()).start().await;
        let b = Browser::start(sink.addr, "en").await;
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
