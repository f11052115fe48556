//! The CSP second line in headless Chromium, through the gate: a page's own script reaches a
//! tracker host by a way the browser guard does not cover (an EventSource), which only the
//! gate's Content-Security-Policy can stop. Enforced, the browser blocks it (the loopback sink
//! sees nothing) and reports it; report-only, the request goes through and the report
//! arrives, and the operator sees it on the Discovery page with the page's unknown origin.

mod support;

use actix_web::{web, HttpResponse};
use support::browser::{self, Browser};
use support::dashboard::{users_toml, PASSWORD};
use support::gate::{RunningTestGate, TestGate};
use support::sink::Sink;
use support::{axe, upstream, wait};

/// The page: a first-party script opening an EventSource to Google Analytics (the guard
/// watches XHR, fetch, beacons, elements and workers, not this), and a library from an origin
/// no catalogue knows.
const PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
    <title>Stream</title><script src=\"/stream.js\"></script>\
    <link rel=\"stylesheet\" href=\"https://fonts.unknown-lib.example/f.css\">\
    </head><body><h1>Stream</h1><img src=\"https://img.unknown-cdn.example/logo.gif\" alt=\"\">\
    </body></html>";
const STREAM_JS: &str =
    "window.__es = new EventSource('https://www.google-analytics.com/csp-test/stream');";

fn site() -> upstream::Upstream {
    upstream::serve(|cfg| {
        cfg.route(
            "/stream.js",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("text/javascript")
                    .body(STREAM_JS)
            }),
        )
        .default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(PAGE)
        }));
    })
}

/// A gate in `mode`; the sink's marker host is one of the site's origins, so waiting for the
/// marker works under an enforced policy too. `report-uri` only: Chromium sends those at once
/// (Reporting API reports come in batches up to a minute later).
async fn gate(site: &upstream::Upstream, mode: &str, dir: &std::path::Path) -> RunningTestGate {
    let file = dir.join("trackers-override.toml");
    TestGate::new()
        .upstream(&site.url())
        .config_toml(&users_toml())
        .config_toml(&format!(
            "[csp]\nmode = \"{mode}\"\nreporting_api = false\n\
             allowed_origins = [\"https://sentinel.consentgate.test\"]\n\
             [trackers]\noverride_file = {:?}\n",
            file.display().to_string()
        ))
        .start()
        .await
}

/// Wait until the gate has counted a report of `origin` blocked on `/`.
async fn wait_for_report(gate: &RunningTestGate, origin: &str) {
    let stats = &gate.state().stats;
    wait::until(
        &format!("the browser's report of {origin}"),
        wait::DEADLINE,
        || async {
            stats.flush().await;
            stats
                .read_blocked(&[stats.today()])
                .await
                .unwrap_or_default()
                .iter()
                .any(|b| b.origin == origin && b.path == "/")
        },
    )
    .await;
}

/// The EventSource's origin (blocked by `connect-src`).
const TRACKER: &str = "https://www.google-analytics.com";

#[actix_web::test]
async fn an_enforced_policy_blocks_a_tracker_request_the_guard_does_not_cover() {
    browser::require();
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let gate = gate(&site, "enforce", dir.path()).await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "en").await;
    b.open(&gate.url("/")).await;
    wait_for_report(&gate, TRACKER).await;
    sink.settle(&b).await;
    let hits = sink.hits_to(&["google-analytics.com"]);
    assert!(
        hits.is_empty(),
        "the browser reached the tracker: {hits:#?}"
    );
}

#[actix_web::test]
async fn report_only_lets_it_through_and_the_operator_sees_the_report() {
    browser::require();
    axe::axe_source();
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let gate = gate(&site, "report-only", dir.path()).await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "en").await;
    b.open(&gate.url("/")).await;
    wait_for_report(&gate, TRACKER).await;
    wait::until_true(
        "the EventSource request to reach the sink",
        wait::DEADLINE,
        || !sink.hits_to(&["google-analytics.com"]).is_empty(),
    )
    .await;

    // The image's origin is reported too (it is no tracker: the site needs it).
    wait_for_report(&gate, "https://img.unknown-cdn.example").await;

    // The operator's view: the attempt, the needed origin, the unknown one to classify.
    b.goto(&gate.admin_url("/discovery")).await;
    b.type_into("#name", "ann").await;
    b.type_into("#password", PASSWORD).await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("!!document.querySelector('#table-attempts')")
        .await;
    let text = b
        .js("return document.querySelector('main').innerText")
        .await;
    let text = text.as_str().unwrap_or_default();
    assert!(text.contains(TRACKER), "{text}");
    assert!(text.contains("https://fonts.unknown-lib.example"), "{text}");
    assert!(text.contains("https://img.unknown-cdn.example"), "{text}");
    axe::check(&b, "discovery").await;
    b.screenshot("dashboard-discovery-en.png").await;

    // Approving the image's origin: the next page's policy allows it for everyone.
    b.click("#table-needed button[type=submit]").await;
    b.wait_js("!!document.querySelector('.notice[role=status]')")
        .await;
    axe::check(&b, "discovery after approval").await;
    let policy = awc::Client::new()
        .get(gate.url("/"))
        .send()
        .await
        .expect("a page")
        .headers()
        .get("content-security-policy-report-only")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains("https://img.unknown-cdn.example"),
        "{policy}"
    );
}
