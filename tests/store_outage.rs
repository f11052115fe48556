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
async fn redis_outage_makes_the_gate_unready_but_pages_still_load_and_it_recovers() {
    let mut redis = redis_support::RedisServer::new();
    let up = upstream::start();
    let mut cfg = gate::config(&up.url(), "");
    cfg.store.backend = StoreBackend::Redis;
    cfg.store.redis_url = Some(redis.url());
    cfg.store.timeout = Duration::from_millis(500);
    let gate = gate::start(cfg).await;
    let ready = gate::url(&gate, "/_gate/readyz");
    assert_eq!(status(&ready).await, 200);

    redis.stop();
    assert_eq!(
        status(&ready).await,
        503,
        "readyz must report the store outage"
    );
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
    gate.stop().await;
}
