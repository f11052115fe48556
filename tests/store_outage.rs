//! The gate over a Redis outage: readiness reports the store, the site keeps loading while
//! Redis is down, and everything recovers without a restart when it comes back.

mod support;

use support::redis as redis_support;
use support::{gate, upstream, wait};

use std::time::Duration;

use gate::{RunningTestGate, StoreChoice, TestGate};

/// Record a decision through the gate's public listener; returns the status and Retry-After.
async fn decide(gate: &RunningTestGate, texts_hash: &str) -> (u16, Option<String>) {
    let res = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .send_json(&serde_json::json!({"action": "reject_all", "language": "nl", "texts_hash": texts_hash}))
        .await
        .expect("gate answers");
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (res.status().as_u16(), retry)
}

async fn status(url: &str) -> u16 {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .get(url)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[actix_web::test]
async fn redis_outage_gives_503_for_decisions_keeps_pages_loading_and_recovers() {
    let mut redis = redis_support::RedisServer::new();
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .store(StoreChoice::Redis(redis.url()))
        .config_toml("[store]\ntimeout = \"500ms\"\n")
        .start()
        .await;
    // The texts hash the banner would send.
    let texts_hash = gate.texts_hash("nl");
    let ready = gate.admin_url("/_gate/readyz");
    assert_eq!(status(&ready).await, 200);
    assert_eq!(decide(&gate, &texts_hash).await.0, 200);

    redis.stop();
    // Readiness is checked at most once a second: the outage shows within that.
    wait::until(
        "readyz to report the store outage",
        wait::DEADLINE,
        || async { status(&ready).await == 503 },
    )
    .await;
    let (during, retry_after) = decide(&gate, &texts_hash).await;
    assert_eq!(during, 503, "a decision that cannot be stored is refused");
    assert!(retry_after.is_some(), "503 carries Retry-After");
    assert_eq!(
        status(&gate.url("/page.html")).await,
        200,
        "pages keep loading"
    );

    redis.start();
    wait::until(
        "the gate to recover after Redis came back",
        wait::DEADLINE,
        || async { status(&ready).await == 200 },
    )
    .await;
    assert_eq!(
        decide(&gate, &texts_hash).await.0,
        200,
        "decisions are stored again"
    );
    gate.stop().await;
}
