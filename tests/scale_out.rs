//! Several gates behind a load balancer share one store (issue 12 point 12): two gates on one
//! Redis, and two on one Redis Cluster. A consent given through one is recognised by the
//! other, a form entry stored through one is in the other's inbox, a fill-time token opens the
//! form once whichever gate it is used at, and the form rate limit counts across both.

mod support;

use support::gate::{RunningTestGate, StoreChoice, TestGate};
use support::redis::{RedisCluster, RedisServer};
use support::upstream;

use std::time::Duration;

use consentgate::forms::token::FillToken;
use serde_json::Value;

/// The contact form, limited to three entries a minute per (anonymised) address.
const FORM: &str = "[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/thanks\"\n\
    rate_limit_max = 3\nrate_limit_window = \"1m\"\n\
    [[forms.fields]]\nname = \"bericht\"\ntype = \"textarea\"\nrequired = true\n";

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish()
}

async fn gate_on(store: StoreChoice, site: &str) -> RunningTestGate {
    TestGate::new()
        .upstream(site)
        .store(store)
        .config_toml(FORM)
        .start()
        .await
}

fn token(gate: &RunningTestGate) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    FillToken::new(gate.keys().form_token).issue("contact", now - 60_000)
}

/// Post the form with `token` and `text`; the status and the JSON answer.
async fn submit(gate: &RunningTestGate, token: &str, text: &str) -> (u16, Value) {
    let mut res = client()
        .post(gate.url("/contact"))
        .insert_header(("accept", "application/json"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(format!("bericht={text}&cg_t={token}"))
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    (
        res.status().as_u16(),
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

async fn two_gates_share_one_store(store: StoreChoice) {
    let site = upstream::start();
    let a = gate_on(store.clone(), &site.url()).await;
    let b = gate_on(store, &site.url()).await;

    // Consent through A, recognised by B: verified from the cookie, found in the store.
    let mut res = client()
        .post(a.url("/_gate/consent"))
        .insert_header(("origin", a.origin()))
        .send_json(&serde_json::json!({
            "action": "accept_all", "language": "nl", "texts_hash": a.texts_hash("nl")
        }))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let decision: Value = res.json().await.unwrap();
    let cookie = format!("cg_consent={}", decision["value"].as_str().unwrap());
    let mut res = client()
        .get(b.url("/_gate/consent/state"))
        .insert_header(("cookie", cookie.as_str()))
        .send()
        .await
        .unwrap();
    let state: Value = res.json().await.unwrap();
    assert_eq!(
        state["granted"],
        serde_json::json!(["analytics", "marketing", "youtube", "vimeo", "google_maps"])
    );
    let mut res = client()
        .get(b.url("/_gate/consent"))
        .insert_header(("cookie", cookie.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "B finds the receipt A stored");
    let record: Value = res.json().await.unwrap();
    assert!(
        record
            .to_string()
            .contains(decision["id"].as_str().unwrap()),
        "{record}"
    );

    // A form entry through A is in B's inbox, readable.
    let first = token(&a);
    let (status, stored) = submit(&a, &first, "via+A").await;
    assert_eq!(status, 200, "{stored}");
    let id = stored["id"].as_str().unwrap();
    let entry = b
        .forms()
        .get("contact", id)
        .await
        .unwrap()
        .expect("in B's inbox");
    assert_eq!(entry.fields[0].value, "via A");
    // The token A took cannot open the form again at B.
    let (status, refused) = submit(&b, &first, "again").await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"], "too_fast");

    // The rate limit (3 posts a minute, refused ones included) counts across both gates: the
    // post at A and the refused one at B count, one more at B is taken, the fourth (at A) is
    // refused.
    assert_eq!(submit(&b, &token(&b), "two").await.0, 200);
    let (status, limited) = submit(&a, &token(&a), "three").await;
    assert_eq!(status, 429, "{limited}");
    assert_eq!(b.forms().list("contact", 0, 10).await.unwrap().total, 2);
}

#[actix_web::test]
async fn two_gates_on_one_redis_share_consent_entries_tokens_and_rate_limits() {
    let redis = RedisServer::new();
    two_gates_share_one_store(StoreChoice::Redis(redis.url())).await;
}

#[actix_web::test]
async fn two_gates_on_one_redis_cluster_share_consent_entries_tokens_and_rate_limits() {
    let cluster = RedisCluster::new();
    two_gates_share_one_store(StoreChoice::Cluster(cluster.url())).await;
}
