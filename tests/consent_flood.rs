//! A flood of consent decisions (issue 12 point 4), through a real gate: decisions are rate
//! limited per anonymised address, one id's history stays bounded and is read by the page, and
//! the embedded store refuses (503) rather than growing without end.

mod support;

use support::gate::{RunningTestGate, StoreChoice, TestGate};

use std::time::Duration;

use consentgate::store::{MemoryLimits, Store};
use serde_json::{json, Value};

const TRUST_LOOPBACK: &str = "[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n";

struct Answer {
    status: u16,
    retry_after: Option<String>,
    cookie: Option<String>,
    body: Value,
}

/// POST a reject-all decision, from `address` (through the trusted proxy header) and with a
/// `cg_consent` cookie if given.
async fn decide(gate: &RunningTestGate, address: &str, cookie: Option<&str>) -> Answer {
    let mut req = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .insert_header(("x-forwarded-for", address));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c));
    }
    let decision =
        json!({"action": "reject_all", "language": "nl", "texts_hash": gate.texts_hash("nl")});
    let mut res = req.send_json(&decision).await.expect("gate answers");
    let header = |name: &str| {
        res.headers()
            .get_all(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let retry_after = header("retry-after").pop();
    let cookie = header("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("cg_consent="))
        .map(|c| c.split(';').next().unwrap().to_owned());
    Answer {
        status: res.status().as_u16(),
        retry_after,
        cookie,
        body: res.json().await.unwrap_or(Value::Null),
    }
}

#[actix_web::test]
async fn decisions_are_rate_limited_per_anonymised_address() {
    let gate = TestGate::new()
        .config_toml(TRUST_LOOPBACK)
        .config_toml("[consent]\nrate_limit = { max = 3, window = \"10m\" }\n")
        .start()
        .await;
    for n in 1..=3 {
        // Addresses of one /24 count as one visitor.
        let answer = decide(&gate, &format!("203.0.113.{n}"), None).await;
        assert_eq!(answer.status, 200, "decision {n}");
    }
    let refused = decide(&gate, "203.0.113.99", None).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.body["error"], "rate_limited");
    assert_eq!(refused.retry_after.as_deref(), Some("600"));
    assert!(refused.cookie.is_none(), "nothing recorded, nothing signed");
    // Another network is not affected.
    assert_eq!(decide(&gate, "198.51.100.7", None).await.status, 200);
    gate.stop().await;
}

#[actix_web::test]
async fn one_ids_history_is_capped_and_read_by_the_page() {
    let gate = TestGate::new()
        .config_toml("[consent]\nrate_limit = { max = 0 }\n[store]\nreceipt_history_max = 5\n")
        .start()
        .await;
    let mut cookie = decide(&gate, "203.0.113.5", None).await.cookie.unwrap();
    for _ in 0..7 {
        let answer = decide(&gate, "203.0.113.5", Some(&cookie)).await;
        assert_eq!(answer.status, 200);
        cookie = answer.cookie.unwrap();
    }
    let client = awc::Client::new();
    let mut res = client
        .get(gate.url("/_gate/consent"))
        .insert_header(("cookie", cookie.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let record: Value = res.json().await.unwrap();
    assert_eq!(record["history_total"], 5, "8 decisions, the newest 5 kept");
    assert_eq!(record["history"].as_array().unwrap().len(), 5);
    let mut res = client
        .get(gate.url("/_gate/consent?offset=3&limit=1"))
        .insert_header(("cookie", cookie.as_str()))
        .send()
        .await
        .unwrap();
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["history"].as_array().unwrap().len(), 1);
    assert_eq!(page["history_total"], 5);
    gate.stop().await;
}

#[actix_web::test]
async fn a_full_embedded_store_refuses_decisions_with_503() {
    let bound = 16 * 1024;
    let store = Store::memory_with(MemoryLimits {
        max_bytes: bound,
        ..MemoryLimits::default()
    });
    let gate = TestGate::new()
        .store(StoreChoice::Shared(store))
        .config_toml("[consent]\nrate_limit = { max = 0 }\n")
        .start()
        .await;
    let mut accepted = 0;
    let refused = loop {
        let answer = decide(&gate, "203.0.113.5", None).await;
        if answer.status != 200 {
            break answer;
        }
        accepted += 1;
        assert!(accepted < 1000, "the store never filled up");
    };
    assert!(accepted > 5, "only {accepted} decisions fitted");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body["error"], "store_unavailable");
    assert!(refused.retry_after.is_some());
    assert!(
        refused.cookie.is_none(),
        "no consent without a stored receipt"
    );
    gate.stop().await;
}
