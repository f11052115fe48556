//! The banner's first layer names every vendor the site uses, not only the current page's: the
//! vendors the rewriter made inert on any page join a site-wide set, which the gate writes to
//! its store and reads back at start, and which reaches banner.js as `data-v` on the banner's
//! own tag. Checked over HTTP on the embedded store and on Redis (a restart keeps the set), and
//! in Chromium: a fresh visitor on a page with Google Analytics only is told about YouTube too,
//! also when the rewrite memo answers.
mod support;

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;
use support::browser::{self, Browser};
use support::gate::{RunningTestGate, StoreChoice, TestGate};
use support::redis::RedisServer;
use support::sink::Sink;
use support::{upstream, wait};

/// A page with Google Analytics only.
const ANALYTICS_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>News</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-SITE1"></script>
</head><body><h1>News</h1></body></html>"#;

/// A page with a YouTube player only.
const VIDEO_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Our mission</title></head><body>
<h1>Our mission</h1>
<iframe width="560" height="315" src="https://www.youtube.com/embed/KPnmmIrD0oc" title="Who we are"></iframe>
</body></html>"#;

/// A site with the analytics page at `/news` and the video at `/mission`.
fn site() -> upstream::Upstream {
    upstream::serve(|site| {
        for (path, page) in [("/news", ANALYTICS_PAGE), ("/mission", VIDEO_PAGE)] {
            site.route(
                path,
                web::get().to(move || async move {
                    HttpResponse::Ok()
                        .content_type("text/html; charset=utf-8")
                        .body(page)
                }),
            );
        }
    })
}

/// The page at `path` through the gate, uncompressed.
async fn page(gate: &RunningTestGate, path: &str) -> String {
    let mut res = awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .finish()
        .get(gate.url(path))
        .insert_header(("accept-encoding", "identity"))
        .send()
        .await
        .expect("the gate answers");
    assert_eq!(res.status(), 200);
    let body = res.body().limit(1 << 20).await.expect("a body");
    String::from_utf8(body.to_vec()).expect("UTF-8")
}

/// The `data-v` of the banner's tag in `html` (`None` when it has none).
fn banner_vendors(html: &str) -> Option<String> {
    let start = html.find("<script src=\"/_gate/banner.")?;
    let tag = &html[start..start + html[start..].find('>')?];
    let value = tag.split("data-v=\"").nth(1)?;
    Some(value[..value.find('"')?].to_owned())
}

/// The vendor ids the gate holds as the site's now.
fn held(gate: &RunningTestGate) -> Vec<String> {
    gate.state()
        .site_vendors
        .current()
        .ids
        .iter()
        .cloned()
        .collect()
}

/// Visit the video page, then check the analytics page names both; stop the gate, start
/// another on `store`, and check its very first page names YouTube as well.
async fn the_set_grows_and_survives_a_restart(store: StoreChoice) {
    let site = site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .store(store)
        .start()
        .await;
    let news = page(&gate, "/news").await;
    assert_eq!(
        banner_vendors(&news),
        None,
        "nothing seen before the first page: its own vendors are named from the page"
    );
    assert_eq!(held(&gate), ["google_analytics"]);
    page(&gate, "/mission").await;
    assert_eq!(held(&gate), ["google_analytics", "youtube"]);
    assert_eq!(
        banner_vendors(&page(&gate, "/news").await).as_deref(),
        Some("google_analytics youtube"),
        "a page seen before the set grew is not served from the memo with the old list"
    );
    // What the next start reads back is in the store.
    gate.state().stats.flush().await;
    let same = gate.same_store();
    gate.stop().await;

    let again = TestGate::new()
        .upstream(&site.url())
        .store(same)
        .start()
        .await;
    assert_eq!(held(&again), ["google_analytics", "youtube"]);
    assert_eq!(
        banner_vendors(&page(&again, "/news").await).as_deref(),
        Some("google_analytics youtube")
    );
}

#[actix_web::test]
async fn the_site_vendor_set_grows_with_each_page_and_survives_a_restart_on_the_embedded_store() {
    the_set_grows_and_survives_a_restart(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn the_site_vendor_set_grows_with_each_page_and_survives_a_restart_on_redis() {
    let redis = RedisServer::new();
    the_set_grows_and_survives_a_restart(StoreChoice::Redis(redis.url())).await;
}

#[actix_web::test]
async fn a_gate_learns_on_its_refresh_timer_the_vendors_another_gate_on_the_same_redis_found() {
    let redis = RedisServer::new();
    let site = site();
    let gate = || {
        TestGate::new()
            .upstream(&site.url())
            .store(StoreChoice::Redis(redis.url()))
    };
    let one = gate().start().await;
    let two = gate()
        .config_toml("[consent]\nbanner_vendors_refresh = \"1s\"\n")
        .start()
        .await;
    assert!(held(&two).is_empty(), "nothing found anywhere yet");
    page(&one, "/mission").await;
    one.state().stats.flush().await;
    // The second gate's own timer reads the store again; the test only watches.
    wait::until_true(
        "the second gate's refresh timer to read the first gate's vendors",
        wait::DEADLINE,
        || !held(&two).is_empty(),
    )
    .await;
    assert_eq!(held(&two), ["youtube"]);
    assert_eq!(
        banner_vendors(&page(&two, "/news").await).as_deref(),
        Some("youtube")
    );
}

#[actix_web::test]
async fn vendors_the_operator_declares_are_named_before_any_page_shows_them() {
    let site = site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .config_toml("[consent]\nbanner_vendors = [\"vimeo\"]\n")
        .start()
        .await;
    assert_eq!(
        banner_vendors(&page(&gate, "/news").await).as_deref(),
        Some("vimeo")
    );
}

/// The first layer's sentence in `b`.
async fn who(b: &Browser) -> serde_json::Value {
    b.js("return document.getElementById('cg-who').textContent")
        .await
}

#[actix_web::test]
async fn a_visitor_on_a_page_without_video_is_told_about_the_sites_video_vendor_too() {
    browser::require();
    let sink = Sink::start().await;
    let site = site();
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let first = Browser::start(sink.addr, "en").await;
    first.open(&gate.url("/news")).await;
    assert_eq!(
        who(&first).await,
        json!("Vendors on this website: Google Analytics (Analytics)."),
        "the very first page: its own vendors"
    );
    first.open(&gate.url("/mission")).await;
    assert_eq!(
        who(&first).await,
        json!("Vendors on this website: Google Analytics (Analytics); YouTube (Google)."),
        "the video page names the analytics seen before"
    );

    // A new visitor, landing on the page without video.
    let fresh = Browser::start(sink.addr, "en").await;
    fresh.open(&gate.url("/news")).await;
    let both = json!("Vendors on this website: Google Analytics (Analytics); YouTube (Google).");
    assert_eq!(who(&fresh).await, both);
    // Served again, now by the memo: the same list.
    let memo = gate
        .state()
        .areas()
        .page
        .memo
        .clone()
        .expect("the memo is on");
    let (hits, _) = memo.lookups();
    fresh.open(&gate.url("/news")).await;
    assert!(memo.lookups().0 > hits, "answered by the memo");
    assert_eq!(who(&fresh).await, both);
}
