//! Liveness and readiness (issue 12 points 7 and 14), through a real gate: the public listener
//! says only "ok" and has no readiness check (which told anyone whether the store was up and
//! opened an upstream connection per hit); the admin listener's readiness answers from a result
//! checked at most once a second.

mod support;

use support::gate::TestGate;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A site that only counts the connections opened to it (and holds none open).
async fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            drop(sock);
        }
    });
    (url, accepted)
}

async fn get(url: &str) -> (u16, String) {
    let mut res = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
        .get(url)
        .send()
        .await
        .expect("gate answers");
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[actix_web::test]
async fn the_public_listener_says_ok_and_nothing_more() {
    let (upstream, accepted) = counting_listener().await;
    let gate = TestGate::new().upstream(&upstream).start().await;
    assert_eq!(
        get(&gate.url("/_gate/healthz")).await,
        (200, "ok".to_owned())
    );
    for _ in 0..20 {
        let (status, body) = get(&gate.url("/_gate/readyz")).await;
        assert_eq!(status, 404, "{body}");
        assert!(!body.contains("store"), "{body}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "no upstream connection");
    // The admin listener tells the operator more.
    let (status, body) = get(&gate.admin_url("/_gate/healthz")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("memory") && body.contains(env!("CARGO_PKG_VERSION")),
        "{body}"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn readiness_probes_the_upstream_at_most_once_a_second() {
    let (upstream, accepted) = counting_listener().await;
    let gate = TestGate::new().upstream(&upstream).start().await;
    let started = Instant::now();
    for _ in 0..50 {
        let (status, body) = get(&gate.admin_url("/_gate/readyz")).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("\"store_backend\":\"memory\""), "{body}");
    }
    let seconds = started.elapsed().as_secs() as usize;
    let probes = accepted.load(Ordering::SeqCst);
    assert!(
        probes <= seconds + 1,
        "{probes} upstream connections for 50 checks in {seconds} s"
    );
    gate.stop().await;
}
