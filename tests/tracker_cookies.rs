//! Tracker cookies on the wire (issue 11 H): the site's own `Set-Cookie` for a tracker cookie
//! never reaches a visitor who has not consented to its category; a response to which the gate
//! adds cookie deletions is `Cache-Control: private`; a `store_and_forward` form sends the site
//! only the cookies the visitor's consent allows.

mod forms_common;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use support::gate::{RunningTestGate, StoreChoice, TestGate};
use support::{upstream, wait};

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .finish()
}

/// A site whose page sets tracker cookies itself (as server-side tagging does) and asks shared
/// caches to keep it.
fn cookie_site() -> upstream::Upstream {
    upstream::serve(|cfg| {
        cfg.default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .append_header(("cache-control", "public, max-age=600, s-maxage=600"))
                .append_header(("set-cookie", "_fbp=fb.1.1.1; Path=/; Max-Age=7776000"))
                .append_header(("set-cookie", "_ga=GA1.1.1.1; Path=/; Max-Age=63072000"))
                .append_header(("set-cookie", "session=abc; Path=/; HttpOnly"))
                .body("<html><head><title>t</title></head><body>hallo</body></html>")
        }));
    })
}

/// The visitor's `cg_consent` cookie after deciding `body` at the gate.
async fn consent(gate: &RunningTestGate, body: serde_json::Value) -> String {
    gate.decide(&body).await
}

/// `Set-Cookie` names and the Cache-Control of a page fetched with `cookie`.
async fn page(gate: &RunningTestGate, cookie: Option<&str>) -> (Vec<String>, String) {
    let mut req = client().get(gate.url("/"));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c));
    }
    let res = req.send().await.expect("a page");
    assert_eq!(res.status(), 200);
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.to_owned())
        .collect();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (cookies, cache)
}

fn sets(cookies: &[String], name: &str) -> bool {
    cookies
        .iter()
        .any(|c| c.starts_with(&format!("{name}=")) && !c.contains("Max-Age=0"))
}

#[actix_web::test]
async fn the_sites_tracker_cookies_reach_only_visitors_who_consented() {
    let site = cookie_site();
    let gate = TestGate::new().upstream(&site.url()).start().await;

    let (cookies, cache) = page(&gate, None).await;
    assert!(
        sets(&cookies, "session"),
        "first-party cookies pass: {cookies:?}"
    );
    assert!(
        !sets(&cookies, "_fbp") && !sets(&cookies, "_ga"),
        "{cookies:?}"
    );
    assert!(
        cache.contains("public"),
        "nothing added: the site's caching stands"
    );

    let hash = gate.texts_hash("nl");
    let analytics = consent(
        &gate,
        json!({"action": "custom", "granted": ["analytics"], "language": "nl", "texts_hash": hash}),
    )
    .await;
    let (cookies, _) = page(&gate, Some(&analytics)).await;
    assert!(sets(&cookies, "_ga"), "analytics granted: {cookies:?}");
    assert!(
        !sets(&cookies, "_fbp"),
        "marketing not granted: {cookies:?}"
    );

    let all = consent(
        &gate,
        json!({"action": "accept_all", "language": "nl", "texts_hash": hash}),
    )
    .await;
    let (cookies, _) = page(&gate, Some(&all)).await;
    assert!(
        sets(&cookies, "_ga") && sets(&cookies, "_fbp"),
        "{cookies:?}"
    );
}

#[actix_web::test]
async fn a_page_carrying_the_gates_cookie_deletions_is_private() {
    let site = cookie_site();
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let (cookies, cache) = page(&gate, Some("_ga=GA1.1.1.1; session=abc")).await;
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("_ga=;") && c.contains("Max-Age=0")),
        "the refused cookie is deleted: {cookies:?}"
    );
    assert!(cache.contains("private"), "{cache}");
    assert!(
        !cache.contains("public") && !cache.contains("s-maxage"),
        "{cache}"
    );
    assert!(
        cache.contains("max-age=600"),
        "the rest of the site's policy stays: {cache}"
    );
}

#[actix_web::test]
async fn a_forwarded_form_carries_only_the_cookies_the_consent_allows() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let site = upstream::serve(move |cfg| {
        let record = record.clone();
        cfg.default_service(web::to(move |req: HttpRequest| {
            let record = record.clone();
            async move {
                let cookie = req
                    .headers()
                    .get("cookie")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                record.lock().unwrap().push(cookie);
                HttpResponse::SeeOther()
                    .insert_header(("location", "/cms-bedankt"))
                    .finish()
            }
        }));
    });
    let gate = forms_common::contact_gate("mode = \"store_and_forward\"", StoreChoice::Memory)
        .upstream(&site.url())
        .start()
        .await;
    let token = forms_common::aged_token(gate.config());
    let body = forms_common::urlencode(&[
        ("naam", "Jan de Vries"),
        ("email", "jan@example.nl"),
        ("bericht", "Een vraag."),
        ("cg_website", ""),
        ("cg_t", &token),
    ]);
    let res = client()
        .post(gate.url("/contact"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("cookie", "_fbp=fb.1; _ga=GA1.1; session=abc"))
        .send_body(body)
        .await
        .expect("submitted");
    assert_eq!(res.status(), 303);
    wait::until_true("the form at the site", wait::DEADLINE, || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    let forwarded = seen.lock().unwrap()[0].clone();
    assert_eq!(forwarded, "session=abc", "no consent, no tracker cookies");
}
