//! The HTTP edge every area shares, through a real gate: one error vocabulary (JSON or an nl/en
//! page by Accept and Accept-Language), the content-hashed assets, and a gate that stops when
//! it is dropped.

mod support;

use support::gate::TestGate;
use support::upstream;

use std::time::Duration;

use serde_json::Value;

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

async fn get(url: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut req = client().get(url);
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = req.send().await.expect("gate answers");
    let ctype = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = res.body().await.expect("body");
    (
        res.status().as_u16(),
        ctype,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn errors_are_json_or_a_dutch_or_english_page_as_the_request_asks() {
    let port = upstream::closed_port();
    let gate = TestGate::new()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    let nope = gate.url("/_gate/nope");

    // An API client: the one JSON shape.
    let (status, ctype, body) = get(&nope, &[]).await;
    assert_eq!(status, 404);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "not_found");
    assert!(v["message"].is_string());
    assert_eq!(v.as_object().unwrap().len(), 2, "{v}");

    // A browser: the error page, in the configured default language (nl) or the browser's.
    let browser = ("accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let (status, ctype, page) = get(&nope, &[browser]).await;
    assert_eq!(status, 404);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(
        page.contains("lang=\"nl\"") && page.contains("Niet gevonden"),
        "{page}"
    );
    assert!(
        page.contains("not_found"),
        "the code is on the page: {page}"
    );
    let (_, _, page) = get(&nope, &[browser, ("accept-language", "en-GB,en;q=0.9")]).await;
    assert!(
        page.contains("lang=\"en\"") && page.contains("Not found"),
        "{page}"
    );

    // The proxy's errors use the same vocabulary: a page for people, JSON when asked for.
    let (status, _, page) = get(&gate.url("/"), &[browser]).await;
    assert_eq!(status, 502);
    assert!(page.contains("niet bereikbaar"), "{page}");
    let (status, ctype, body) = get(&gate.url("/api"), &[("accept", "application/json")]).await;
    assert_eq!(status, 502);
    assert!(ctype.starts_with("application/json"), "{ctype}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "upstream_unreachable");
    gate.stop().await;
}

#[actix_web::test]
async fn consent_refusals_use_the_shared_codes() {
    let port = upstream::closed_port();
    let gate = TestGate::new()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    let url = gate.url("/_gate/consent");
    let origin = format!("http://{}", gate.public_addr);
    let post = |ctype: &'static str, body: String, origin: String| {
        let url = url.clone();
        async move {
            let mut res = client()
                .post(url)
                .insert_header(("origin", origin))
                .insert_header(("content-type", ctype))
                .send_body(body)
                .await
                .expect("gate answers");
            let v: Value = res.json().await.unwrap_or(Value::Null);
            (
                res.status().as_u16(),
                v["error"].as_str().unwrap_or("").to_owned(),
            )
        }
    };
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(100_000));
    for (ctype, body, origin, expected) in [
        (
            "application/json",
            big,
            origin.clone(),
            (413, "body_too_large"),
        ),
        (
            "text/plain",
            "{}".to_owned(),
            origin.clone(),
            (415, "unsupported_media_type"),
        ),
        (
            "application/json",
            "{".to_owned(),
            origin.clone(),
            (400, "malformed_body"),
        ),
        (
            "application/json",
            "{}".to_owned(),
            "https://evil.example".to_owned(),
            (403, "cross_origin"),
        ),
    ] {
        let (status, code) = post(ctype, body, origin).await;
        assert_eq!((status, code.as_str()), expected);
    }
    gate.stop().await;
}

#[actix_web::test]
async fn banner_assets_come_precompressed_and_are_never_sniffed() {
    let port = upstream::closed_port();
    let gate = TestGate::new()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    let js = gate.consent().bundle().js.url();
    let res = client()
        .get(gate.url(&js))
        .insert_header(("accept-encoding", "gzip, deflate, br"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let header = |name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-encoding").as_deref(), Some("br"));
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert!(header("cache-control").unwrap().contains("immutable"));
    gate.stop().await;
}

#[actix_web::test]
async fn dropping_a_running_gate_stops_its_listeners() {
    let port = upstream::closed_port();
    let config = TestGate::new()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .build_config();
    let gate = consentgate::server::start(config)
        .await
        .expect("gate starts");
    let addr = gate.public_addr;
    assert!(tokio::net::TcpStream::connect(addr).await.is_ok());
    drop(gate);
    // Bounded wait (50 × 100 ms) for the listener to close.
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the public listener still accepts connections");
}
