//! Contact forms end to end over real sockets, on a real `redis-server` the test starts
//! (the store branch's harness): the shared scenarios, what Redis actually holds, and an outage.

mod forms_common;
mod support;

use support::redis as redis_support;
use support::wait;

use forms_common::scenarios::{self, MESSAGE};
use forms_common::*;
use redis_support::RedisServer;
use support::gate::StoreChoice;

fn redis(server: &RedisServer) -> StoreChoice {
    StoreChoice::Redis(server.url())
}

#[actix_web::test]
async fn submission_round_trip_is_stored_encrypted_and_redirected() {
    let server = RedisServer::new();
    scenarios::round_trip(redis(&server)).await;
}

#[actix_web::test]
async fn fetch_submissions_get_json_answers() {
    let server = RedisServer::new();
    scenarios::json_answers(redis(&server)).await;
}

#[actix_web::test]
async fn every_refusal_is_explained_counted_and_not_stored() {
    let server = RedisServer::new();
    scenarios::every_refusal_is_explained_counted_and_not_stored(redis(&server)).await;
}

#[actix_web::test]
async fn typed_markup_is_escaped_on_the_error_page() {
    let server = RedisServer::new();
    scenarios::typed_markup_is_escaped_on_the_error_page(redis(&server)).await;
}

#[actix_web::test]
async fn rate_limit_per_anonymised_address() {
    let server = RedisServer::new();
    scenarios::rate_limit_per_anonymised_address(redis(&server)).await;
}

#[actix_web::test]
async fn entry_expires_after_retention() {
    let server = RedisServer::new();
    scenarios::entry_expires_after_retention(redis(&server)).await;
}

#[actix_web::test]
async fn inbox_api_handles_deletes_exports_and_erases() {
    let server = RedisServer::new();
    scenarios::inbox_api_handles_deletes_exports_and_erases(redis(&server)).await;
}

#[actix_web::test]
async fn key_rotation_keeps_old_entries_readable() {
    let server = RedisServer::new();
    scenarios::key_rotation_keeps_old_entries_readable(redis(&server)).await;
}

#[actix_web::test]
async fn store_and_forward_reaches_the_upstream() {
    let server = RedisServer::new();
    scenarios::store_and_forward_reaches_the_upstream(redis(&server)).await;
}

#[actix_web::test]
async fn webhook_carries_no_personal_data() {
    let server = RedisServer::new();
    scenarios::webhook_carries_no_personal_data(redis(&server)).await;
}

/// Every value of every key, as bytes (strings, hashes, sets, sorted sets, lists).
fn dump_everything(url: &str) -> Vec<u8> {
    let client = redis::Client::open(url).unwrap();
    let mut con = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    assert!(!keys.is_empty(), "the test stored something");
    let mut all = Vec::new();
    for key in keys {
        all.extend_from_slice(key.as_bytes());
        let kind: String = redis::cmd("TYPE").arg(&key).query(&mut con).unwrap();
        let parts: Vec<Vec<u8>> = match kind.as_str() {
            "string" => vec![redis::cmd("GET").arg(&key).query(&mut con).unwrap()],
            "hash" => redis::cmd("HGETALL").arg(&key).query(&mut con).unwrap(),
            "set" => redis::cmd("SMEMBERS").arg(&key).query(&mut con).unwrap(),
            "zset" => redis::cmd("ZRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query(&mut con)
                .unwrap(),
            "list" => redis::cmd("LRANGE")
                .arg(&key)
                .arg(0)
                .arg(-1)
                .query(&mut con)
                .unwrap(),
            _ => Vec::new(),
        };
        for p in parts {
            all.extend_from_slice(&p);
        }
    }
    all
}

#[actix_web::test]
async fn raw_redis_values_contain_none_of_the_submitted_plaintext() {
    let server = RedisServer::new();
    let gate = Gate::start(contact_gate("", redis(&server))).await;
    let token = aged_token(gate.config());
    let pairs = [
        ("naam", "Geertruida Zwanenburg"),
        ("email", "geertruida.zwanenburg@example.nl"),
        ("telefoon", "06 98765432"),
        ("bericht", MESSAGE),
        ("cg_t", token.as_str()),
    ];
    assert_eq!(post_form(&gate.url("/contact"), &pairs).await.status, 303);
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 1);
    let raw = dump_everything(&server.url());
    let text = String::from_utf8_lossy(&raw).to_lowercase();
    for secret in [
        "geertruida",
        "zwanenburg",
        "example.nl",
        "98765432",
        "thuiszorg",
        "dossier",
        "127.0.0.1",
    ] {
        assert!(!text.contains(secret), "{secret:?} found in Redis");
    }
    gate.stop().await;
}

#[actix_web::test]
async fn store_down_answers_503_with_the_text_and_never_thanks() {
    let mut server = RedisServer::new();
    let gate =
        Gate::start(contact_gate("", redis(&server)).config_toml("[store]\ntimeout = \"1s\"\n"))
            .await;
    let token = aged_token(gate.config());
    let pairs = [
        ("naam", "Jan"),
        ("email", "jan@example.nl"),
        ("bericht", MESSAGE),
        ("cg_t", token.as_str()),
    ];
    server.stop();

    let a = post_form(&gate.url("/contact"), &pairs).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.location.is_none(), "no redirect to the thank-you page");
    assert!(a.body.contains("Uw bericht is NIET verzonden"));
    assert!(
        a.body.contains("thuiszorg"),
        "the visitor's text is on the page"
    );
    assert!(a.body.contains("value=\"jan@example.nl\""));

    let j = post_raw(
        &gate.url("/contact"),
        FORM_CT,
        "application/json",
        urlencode(&pairs),
    )
    .await;
    assert_eq!(j.status, 503);
    let v: serde_json::Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(v["error"].as_str(), Some("store_unavailable"));
    assert!(j.retry_after.is_some(), "a store outage says when to retry");

    // Back up (empty): the same submission is stored now, and only now acknowledged.
    server.start();
    wait::until(
        "a submission to be stored once Redis is back",
        wait::DEADLINE,
        || async { post_form(&gate.url("/contact"), &pairs).await.status == 303 },
    )
    .await;
    // The test reads through its own connection, which reconnects on its own schedule.
    wait::until(
        "the test's Redis connection to be back",
        wait::DEADLINE,
        || async { gate.store().ping().await.is_ok() },
    )
    .await;
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 1);
    gate.stop().await;
}
