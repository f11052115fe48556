//! The gate over a Redis outage: readiness reports the store, the site keeps loading while
//! Redis is down, and everything recovers without a restart when it comes back.

#[path = "support/gate.rs"]
mod gate;
#[path = "support/redis.rs"]
mod redis_support;
#[path = "support/upstream.rs"]
mod upstream;

use std::time::Duration;

use consentgate::config::StoreBackend;
use consentgate::keys::Keys;
use consentgate::store::Store;

/// Record a decision through the gate's public listener; returns the status and Retry-After.
async fn decide(
    gate: &consentgate::server::RunningGate,
    texts_hash: &str,
) -> (u16, Option<String>) {
    let res = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .post(gate::url(gate, "/_gate/consent"))
        .insert_header(("origin", format!("http://{}", gate.public_addr)))
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
    let mut cfg = gate::config(&up.url(), "");
    cfg.store.backend = StoreBackend::Redis;
    cfg.store.redis_url = Some(redis.url());
    cfg.store.timeout = Duration::from_millis(500);
    // The texts hash the banner would send, from the same configuration.
    let keys = Keys::derive(cfg.secret.as_ref().unwrap());
    let (_, consent, _) = consentgate::server::page_rewriter(&cfg, &keys, Store::memory()).unwrap();
    let texts_hash = consent.bundle().texts_hash["nl"].clone();
    let gate = gate::start(cfg).await;
    let ready = gate::url(&gate, "/_gate/readyz");
    assert_eq!(status(&ready).await, 200);
    assert_eq!(decide(&gate, &texts_hash).await.0, 200);

    redis.stop();
    assert_eq!(
        status(&ready).await,
        503,
        "readyz must report the store outage"
    );
    let (during, retry_after) = decide(&gate, &texts_hash).await;
    assert_eq!(during, 503, "a decision that cannot be stored is refused");
    assert!(retry_after.is_some(), "503 carries Retry-After");
    assert_eq!(
        status(&gate::url(&gate, "/page.html")).await,
        200,
        "pages keep loading"
    );

    redis.start();
    let mut recovered = false;
    for _ in 0..50 {
        if status(&ready).await == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(recovered, "gate did not recover after Redis came back");
    assert_eq!(
        decide(&gate, &texts_hash).await.0,
        200,
        "decisions are stored again"
    );
    gate.stop().await;
}
