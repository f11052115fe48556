//! The visitor's address behind a trusted proxy, through a real gate: only the one configured
//! header names it (issue 12 point 2), the upstream never receives it in full in any header
//! (point 3), and transition addresses that carry an IPv4 address are anonymised as that
//! address (point 8).

mod forms_common;
mod support;

use forms_common::{aged_token, contact_gate, post_with_headers, urlencode, Gate, FORM_CT};
use support::gate::{StoreChoice, TestGate};
use support::upstream;

use std::time::Duration;

use serde_json::Value;

const TRUST_LOOPBACK: &str = "[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n";

async fn echo(url: &str, headers: &[(&str, &str)]) -> Value {
    let mut req = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .get(url);
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = req.send().await.expect("gate answers");
    assert_eq!(res.status(), 200);
    res.json().limit(1 << 20).await.expect("echo JSON")
}

/// Every header the echo upstream received, as one text.
fn received(echo: &Value) -> String {
    echo["headers"].to_string()
}

#[actix_web::test]
async fn a_visitor_cannot_pick_an_address_with_a_forwarded_header_nginx_passes_on() {
    // nginx sets X-Forwarded-For to the visitor's address and passes the visitor's own
    // Forwarded through: rotating it must not buy more submissions than the limit.
    let gate = Gate::start(
        contact_gate("rate_limit_max = 5", StoreChoice::Memory).config_toml(TRUST_LOOPBACK),
    )
    .await;
    let cfg = gate.config().clone();
    let mut statuses = Vec::new();
    for i in 0..7 {
        let token = aged_token(&cfg);
        let body = urlencode(&[
            ("naam", "Jan"),
            ("email", "jan@example.nl"),
            ("bericht", "Een vraag."),
            ("cg_t", &token),
        ]);
        let spoof = format!("for=198.51.{i}.9");
        let answer = post_with_headers(
            &gate.url("/contact"),
            &[
                ("content-type", FORM_CT),
                ("x-forwarded-for", "203.0.113.77"),
                ("forwarded", &spoof),
            ],
            body,
        )
        .await;
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [303, 303, 303, 303, 303, 429, 429]);
    gate.stop().await;
}

#[actix_web::test]
async fn the_country_of_a_receipt_comes_from_the_configured_header_only() {
    let geo = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/geo/test-country.mmdb");
    let gate = TestGate::new()
        .config_toml(TRUST_LOOPBACK)
        .config_toml(&format!("[privacy]\ngeo_database = \"{geo}\"\n"))
        .start()
        .await;
    let decision = serde_json::json!({
        "action": "reject_all", "language": "nl", "texts_hash": gate.texts_hash("nl"),
    });
    // 198.51.100.0/24 is DE in the test database, 192.0.2.0/24 NL.
    let mut res = awc::Client::new()
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .insert_header(("x-forwarded-for", "198.51.100.7"))
        .insert_header(("forwarded", "for=192.0.2.7"))
        .send_json(&decision)
        .await
        .expect("gate answers");
    assert_eq!(res.status(), 200);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let receipt = gate.store().get_receipt(&id).await.unwrap().unwrap();
    let receipt: Value = serde_json::from_slice(&receipt).unwrap();
    assert_eq!(receipt["country"], "DE", "{receipt}");
    gate.stop().await;
}

#[actix_web::test]
async fn no_header_the_upstream_receives_holds_the_full_address() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml(TRUST_LOOPBACK)
        .config_toml("[privacy]\nstrip_headers = [\"X-Our-Proxy\"]\n")
        .start()
        .await;
    let full = "198.51.100.23";
    let sent = [
        ("x-forwarded-for", full),
        ("fastly-client-ip", full),
        ("x-azure-clientip", full),
        ("x-azure-socketip", full),
        ("client-ip", full),
        ("x-cluster-client-ip", full),
        ("x-original-forwarded-for", "198.51.100.23, 10.0.0.1"),
        ("incap-client-ip", full),
        ("x-sucuri-clientip", full),
        ("true-client-ip", full),
        ("x-our-proxy", "edge-7"),
        ("x-some-new-cdn", "client=198.51.100.23:51234"),
        ("x-mapped", "::ffff:198.51.100.23"),
        ("x-encoded", "198%2E51%2E100%2E23"),
        ("cookie", "session=keep-me; geoip=198.51.100.23"),
        ("x-harmless", "kept"),
    ];
    let echo = echo(&gate.url("/echo"), &sent).await;
    let text = received(&echo);
    for needle in [full, "%2E23", "c633:6417", "x-our-proxy"] {
        assert!(
            !text.contains(needle),
            "{needle} reached the upstream: {text}"
        );
    }
    assert!(
        text.contains("\"x-forwarded-for\",\"198.51.100.0\""),
        "{text}"
    );
    assert!(text.contains("session=keep-me"), "{text}");
    assert!(text.contains("\"x-harmless\",\"kept\""), "{text}");
    gate.stop().await;
}

#[actix_web::test]
async fn a_6to4_visitor_reaches_the_upstream_as_its_ipv4_prefix() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml(TRUST_LOOPBACK)
        .start()
        .await;
    // 2002:cb00:7105::/48 is the 6to4 network of 203.0.113.5: a /48 would keep all of it.
    let echo = echo(
        &gate.url("/echo"),
        &[("x-forwarded-for", "2002:cb00:7105:1::1")],
    )
    .await;
    let text = received(&echo);
    assert!(
        text.contains("\"x-forwarded-for\",\"203.0.113.0\""),
        "{text}"
    );
    assert!(
        !text.contains("cb00:7105") && !text.contains("203.0.113.5"),
        "{text}"
    );
    gate.stop().await;
}
