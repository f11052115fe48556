//! The site's names (`listen.hosts`, issue 12 point 1), through a real gate: another Host is
//! refused with 421 and never reaches the site, nothing the visitor writes in Host or
//! X-Forwarded-Host reaches the CMS, and one request cannot make the gate write more cookie
//! deletions than the configuration allows — however long its Host, however many tracker
//! cookies it sends.

mod support;

use support::gate::{RunningTestGate, TestGate};
use support::upstream;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

const SITE: &str = "[listen]\nhosts = [\"www.stichting.example\", \"stichting.example\"]\n";

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish()
}

/// A site that counts the requests reaching it and answers each with the headers it got.
fn counting_site() -> (upstream::Upstream, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    let site = upstream::serve(move |cfg| {
        let seen = seen.clone();
        cfg.default_service(web::to(move |req: HttpRequest| {
            seen.fetch_add(1, Ordering::SeqCst);
            let headers: Vec<(String, String)> = req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            async move { HttpResponse::Ok().json(headers) }
        }));
    });
    (site, hits)
}

/// A gate with the site's names of `toml` in front of a [`counting_site`] (kept alive by the
/// returned handle).
async fn gate_for(toml: &str) -> (RunningTestGate, upstream::Upstream, Arc<AtomicUsize>) {
    let (site, hits) = counting_site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .config_toml(toml)
        .start()
        .await;
    (gate, site, hits)
}

/// An 8 KB Host of many labels: each label once made a Domain= deletion per tracker cookie.
fn huge_host() -> String {
    format!("{}example", "a.".repeat(4 * 1024))
}

/// The status, the `Set-Cookie` values and the body of a GET with these headers.
async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, Vec<String>, String) {
    let mut req = client().get(url);
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = req.send().await.expect("gate answers");
    let cookies = res
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let body = res.body().limit(1 << 20).await.expect("body");
    (
        res.status().as_u16(),
        cookies,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn a_host_that_is_not_the_sites_gets_421_and_never_reaches_it() {
    let (gate, _site, hits) = gate_for(SITE).await;
    let page = gate.url("/");
    let long = huge_host();
    for host in [
        "attacker.example",
        "www.stichting.example.attacker.example",
        long.as_str(),
    ] {
        let (status, cookies, body) = get(
            &page,
            &[
                ("host", host),
                ("cookie", "_ga=1; _hj1=1"),
                ("accept", "application/json"),
            ],
        )
        .await;
        assert_eq!(status, 421, "{host:.40}");
        assert!(cookies.is_empty(), "{cookies:?}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "misdirected_request");
    }
    // A browser gets the error page.
    let (status, _, body) = get(
        &page,
        &[("host", "attacker.example"), ("accept", "text/html")],
    )
    .await;
    assert_eq!(status, 421);
    assert!(body.contains("misdirected_request"), "{body}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "the site saw a misdirected request"
    );

    // Health checks by address still work; the site's own names are served.
    let (status, _, _) = get(&gate.url("/_gate/healthz"), &[("host", "10.0.0.5:8080")]).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&page, &[("host", "STICHTING.example")]).await;
    assert_eq!(status, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    gate.stop().await;
}

#[actix_web::test]
async fn the_cms_never_receives_a_host_the_visitor_made_up() {
    let (gate, _site, _) = gate_for(SITE).await;
    let (status, _, body) = get(
        &gate.url("/"),
        &[
            ("host", "www.stichting.example"),
            ("x-forwarded-host", "attacker.example"),
            ("forwarded", "host=attacker.example"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert!(!body.contains("attacker"), "{body}");
    assert!(
        body.contains(r#"["x-forwarded-host","www.stichting.example"]"#),
        "{body}"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn cookie_deletions_are_bounded_by_the_configuration_not_the_request() {
    let (gate, _site, _) = gate_for(SITE).await;
    // Ten tracker cookie names, one of them twice: each name is deleted once per domain the
    // site's name allows (host-only, www.stichting.example, stichting.example), within the cap.
    let names: Vec<String> = std::iter::once("_ga".to_owned())
        .chain((1..=9).map(|i| format!("_hj{i}")))
        .collect();
    let cookie = format!("_ga=2; {}=1; session=keep", names.join("=1; "));
    let (status, cookies, _) = get(
        &gate.url("/"),
        &[("host", "www.stichting.example"), ("cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 200);
    assert!(cookies.len() <= 32, "{} Set-Cookie headers", cookies.len());
    let bytes: usize = cookies.iter().map(String::len).sum();
    assert!(bytes <= 8 * 1024, "{bytes} bytes of Set-Cookie");
    let ga: Vec<&String> = cookies.iter().filter(|c| c.starts_with("_ga=;")).collect();
    assert_eq!(ga.len(), 3, "{ga:?}");
    assert!(ga.iter().any(|c| c.contains("Domain=stichting.example")));
    assert!(cookies.iter().all(|c| !c.starts_with("session=")));
    gate.stop().await;
}

#[actix_web::test]
async fn without_site_names_a_huge_host_still_costs_one_deletion_per_cookie() {
    let (gate, _site, _) = gate_for("[listen]\nhosts = []\n").await;
    let long = huge_host();
    let (status, cookies, body) = get(
        &gate.url("/"),
        &[("host", long.as_str()), ("cookie", "_ga=1")],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(cookies.len(), 1, "host-only deletion only");
    assert!(!cookies[0].contains("Domain"), "{cookies:?}");
    assert!(!body.contains("x-forwarded-host"), "{body:.300}");
    assert!(!body.contains("a.a.a.a"), "no Host-derived value upstream");

    // The consent route derives no domain from the Host either.
    let decision = serde_json::json!({
        "action": "reject_all", "language": "nl", "texts_hash": gate.texts_hash("nl"),
    });
    let res = client()
        .post(gate.url("/_gate/consent"))
        .insert_header(("host", long.as_str()))
        .insert_header(("sec-fetch-site", "same-origin"))
        .insert_header(("cookie", "_ga=1; _hj1=1"))
        .send_json(&decision)
        .await
        .expect("gate answers");
    assert_eq!(res.status(), 200);
    let deletions: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap())
        .filter(|c| !c.starts_with("cg_consent="))
        .collect();
    assert_eq!(deletions.len(), 2, "{deletions:?}");
    gate.stop().await;
}
