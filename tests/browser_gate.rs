//! End to end: the demo site (real tracker snippets) behind the gate, in headless Chromium,
//! with every tracker host routed to the loopback sink.

mod support;

use support::{browser, gate, sink};

use browser::Browser;
use gate::TestGate;
use serde_json::json;
use sink::{Sink, ANALYTICS, MARKETING};

fn trackers(sink: &Sink) -> Vec<sink::Hit> {
    sink.hits_to(&[ANALYTICS, MARKETING].concat())
}

#[actix_web::test]
async fn demo_site_behind_the_gate_keeps_trackers_off_until_consent_and_after_withdrawal() {
    browser::require();
    let demo = consentgate::server::demo::serve_demo_site().expect("demo site");
    let running = TestGate::new()
        .upstream(&format!("http://{}", demo.addr))
        .config_toml("[consent]\nprivacy_statement_url = \"/privacy.html\"\n")
        .start()
        .await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "nl").await;
    let url = running.url("/");
    b.client.goto(&url).await.expect("goto");
    b.wait_js("document.readyState === 'complete' && window.__cgBanner === 1")
        .await;
    // The site's own script still runs, the page is usable, nothing reached a tracker.
    assert_eq!(
        b.js("return document.getElementById('site-js-ran').textContent")
            .await,
        json!("ja")
    );
    sink.settle(&b).await;
    assert!(
        trackers(&sink).is_empty(),
        "before a decision: {:?}",
        trackers(&sink)
    );

    b.screenshot("gate-demo-nl-layer1.png").await;
    assert_eq!(
        b.js("return document.querySelector('#cg-banner a').getAttribute('href')")
            .await,
        json!("/privacy.html")
    );

    // Analytics only: analytics hosts are contacted, marketing hosts never.
    b.click("#cg-banner button[data-a=settings]").await;
    b.click("input[name=cg-cat][value=analytics]").await;
    b.click("#cg-banner button[data-a=save]").await;
    b.wait_js("window.__gtmLoaded >= 1").await;
    sink.settle(&b).await;
    assert!(!sink.hits_to(ANALYTICS).is_empty());
    assert!(
        sink.hits_to(MARKETING).is_empty(),
        "{:?}",
        sink.hits_to(MARKETING)
    );

    // Everything, then withdrawal: tracker cookies gone, no new requests.
    b.click("#cg-reopen").await;
    b.click("#cg-banner button[data-a=accept]").await;
    b.wait_js("window.__fbLoaded >= 1").await;
    b.click("#cg-reopen").await;
    b.click("#cg-banner button[data-a=withdraw]").await;
    b.wait_js("document.readyState === 'complete' && window.__cgBanner === 1 && window.__gtmLoaded === undefined").await;
    let names = b.cookie_names().await;
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("_ga") || n.starts_with("_fb") || n.starts_with("_hj")),
        "{names:?}"
    );
    sink.clear();
    b.client.refresh().await.expect("refresh");
    b.wait_js("document.readyState === 'complete' && window.__cgBanner === 1")
        .await;
    sink.settle(&b).await;
    assert!(
        trackers(&sink).is_empty(),
        "after withdrawal: {:?}",
        trackers(&sink)
    );
    running.stop().await;
}
