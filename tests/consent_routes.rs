//! `/_gate/consent` and `/_gate/consent/state` through real sockets, on the embedded store and
//! on a real redis-server, and what the gate does on the wire with a consent cookie that does
//! not count.

mod support;

use support::gate;
use support::redis as redis_support;

use gate::{RunningTestGate, StoreChoice, TestGate};
use serde_json::{json, Value};

struct Gate {
    nl_hash: String,
    running: RunningTestGate,
}

async fn start(store: StoreChoice) -> Gate {
    let running = TestGate::new()
        .store(store)
        .config_toml("[store]\ntimeout = \"500ms\"\n")
        .start()
        .await;
    Gate {
        nl_hash: running.texts_hash("nl"),
        running,
    }
}

impl Gate {
    fn url(&self) -> String {
        self.running.url("/_gate/consent")
    }
    fn origin(&self) -> String {
        self.running.origin()
    }
    async fn post(&self, body: Value, cookie: Option<&str>) -> (u16, Vec<String>, Value) {
        let mut req = awc::Client::new()
            .post(self.url())
            .insert_header(("origin", self.origin()));
        if let Some(c) = cookie {
            req = req.insert_header(("cookie", c));
        }
        let mut res = req.send_json(&body).await.expect("post");
        let cookies = res
            .headers()
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (res.status().as_u16(), cookies, body)
    }
    /// Reject all; the `cg_consent=…` pair the answer set.
    async fn reject_all(&self) -> String {
        let (_, cookies, _) = self
            .post(
                json!({"action": "reject_all", "language": "nl", "texts_hash": self.nl_hash}),
                None,
            )
            .await;
        consent_cookie(&cookies)
    }
    async fn get(&self, cookie: &str) -> (u16, Value) {
        let mut res = awc::Client::new()
            .get(self.url())
            .insert_header(("cookie", cookie))
            .send()
            .await
            .expect("get");
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    }
}

fn consent_cookie(set_cookies: &[String]) -> String {
    let c = set_cookies
        .iter()
        .find(|c| c.starts_with("cg_consent="))
        .expect("cg_consent set");
    c.split(';').next().unwrap_or_default().to_owned()
}

async fn decision_is_recorded_and_withdrawal_extends_the_history(store: StoreChoice) {
    let gate = start(store).await;
    let (status, cookies, body) = gate
        .post(
            json!({"action": "accept_all", "language": "nl", "texts_hash": gate.nl_hash}),
            Some("_fbp=fb.1; session=keep"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let set = cookies
        .iter()
        .find(|c| c.starts_with("cg_consent="))
        .unwrap();
    assert!(set.contains("Max-Age=15780096"), "{set}");
    assert!(
        set.contains("SameSite=Lax") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain http: {set}");
    // Accept all grants the embeds' own categories too (YouTube, Vimeo, Google Maps).
    assert_eq!(
        body["granted"],
        json!(["analytics", "marketing", "youtube", "vimeo", "google_maps"])
    );
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(id.len() >= 22);
    let cookie = consent_cookie(&cookies);

    let (status, record) = gate.get(&cookie).await;
    assert_eq!(status, 200);
    assert_eq!(record["current"]["action"], json!("accept_all"));
    assert_eq!(record["current"]["texts_hash"], json!(gate.nl_hash));
    assert!(record["current"].get("ip").is_none());

    // Withdrawal: a new receipt under the same id, and the tracker cookie sent along is deleted.
    let mut res = awc::Client::new()
        .delete(gate.url())
        .insert_header(("origin", gate.origin()))
        .insert_header(("cookie", format!("{cookie}; _ga=GA1.1.5")))
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status().as_u16(), 200);
    let sets: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        sets.iter()
            .any(|c| c.starts_with("_ga=;") && c.contains("Max-Age=0")),
        "{sets:?}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["id"], json!(id));
    assert_eq!(body["granted"], json!([]));
    let (_, record) = gate.get(&consent_cookie(&sets)).await;
    assert_eq!(record["current"]["action"], json!("withdraw"));
    let actions: Vec<&Value> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["action"])
        .collect();
    assert_eq!(actions, vec![&json!("accept_all"), &json!("withdraw")]);

    // Daily counters by action and category (no personal data), written in the background.
    gate.running.state().stats.flush().await;
    let now = time::OffsetDateTime::now_utc();
    let day = format!(
        "{:04}-{:02}-{:02}",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    let counters = gate
        .running
        .store()
        .read_counters("consent", &[day])
        .await
        .expect("counters");
    let c = &counters[0];
    assert_eq!(c.get("action:accept_all"), Some(&1), "{c:?}");
    assert_eq!(c.get("action:withdraw"), Some(&1), "{c:?}");
    assert_eq!(c.get("granted:marketing"), Some(&1), "{c:?}");
    assert_eq!(c.get("refused:marketing"), Some(&1), "{c:?}");
}

#[actix_web::test]
async fn decision_is_recorded_on_the_embedded_store() {
    decision_is_recorded_and_withdrawal_extends_the_history(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn decision_is_recorded_on_redis() {
    redis_support::require_redis_binaries();
    let redis = redis_support::RedisServer::new();
    decision_is_recorded_and_withdrawal_extends_the_history(StoreChoice::Redis(redis.url())).await;
}

#[actix_web::test]
async fn store_down_answers_503_with_retry_after() {
    redis_support::require_redis_binaries();
    let mut redis = redis_support::RedisServer::new();
    let gate = start(StoreChoice::Redis(redis.url())).await;
    redis.stop();
    let mut res = awc::Client::new()
        .post(gate.url())
        .insert_header(("origin", gate.origin()))
        .send_json(&json!({"action": "reject_all", "language": "nl", "texts_hash": gate.nl_hash}))
        .await
        .expect("post");
    assert_eq!(res.status().as_u16(), 503);
    assert!(res.headers().get("retry-after").is_some());
    assert!(
        res.headers().get("set-cookie").is_none(),
        "no consent without a receipt"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], json!("store_unavailable"));
}

#[actix_web::test]
async fn bad_requests_get_clear_4xx() {
    let gate = start(StoreChoice::Memory).await;
    let client = awc::Client::new();
    let ok_body = json!({"action": "accept_all", "language": "nl", "texts_hash": gate.nl_hash});
    // Cross-site.
    let res = client
        .post(gate.url())
        .insert_header(("sec-fetch-site", "cross-site"))
        .send_json(&ok_body)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    let res = client
        .post(gate.url())
        .insert_header(("origin", "https://evil.example"))
        .send_json(&ok_body)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // No Origin and no Sec-Fetch-Site at all.
    let res = client.post(gate.url()).send_json(&ok_body).await.unwrap();
    assert_eq!(res.status().as_u16(), 403);
    // Too large, not JSON, invalid decision.
    let (status, _, _) = gate.post(json!({"pad": "x".repeat(20_000)}), None).await;
    assert_eq!(status, 413);
    let res = client
        .post(gate.url())
        .insert_header(("origin", gate.origin()))
        .insert_header(("content-type", "text/plain"))
        .send_body("{}")
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 415);
    let (status, _, body) = gate
        .post(json!({"action": "custom", "granted": ["spying"], "language": "nl", "texts_hash": gate.nl_hash}), None)
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"].as_str().unwrap().contains("spying"),
        "{body}"
    );
    let (status, _, _) = gate
        .post(
            json!({"action": "accept_all", "language": "nl", "texts_hash": "0000"}),
            None,
        )
        .await;
    assert_eq!(status, 400);
}

#[actix_web::test]
async fn tampered_cookie_shows_no_record() {
    let gate = start(StoreChoice::Memory).await;
    let cookie = gate.reject_all().await;
    let forged = cookie.replacen("..", ".analytics-marketing.", 1);
    assert_ne!(forged, cookie);
    let (status, body) = gate.get(&forged).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = gate.get(&cookie).await;
    assert_eq!(status, 200);
}

#[actix_web::test]
async fn banner_assets_are_served_immutable_at_their_hashed_url() {
    let gate = start(StoreChoice::Memory).await;
    let svc = gate.running.consent();
    let js = svc.bundle().js.name.clone();
    assert!(svc.head_html().contains(&format!("/_gate/{js}")));
    let mut res = awc::Client::new()
        .get(gate.running.url(&format!("/_gate/{js}")))
        .insert_header(("accept-encoding", "identity"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert!(res
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
    let body = res.body().await.unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Alles weigeren"));
    let res = awc::Client::new()
        .get(gate.running.url("/_gate/banner.0000000000000000.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
}

/// `GET <path>` with `cookie`: status, `Set-Cookie` values, `Cache-Control`, JSON body.
async fn get_with_cookie(url: &str, cookie: &str) -> (u16, Vec<String>, Option<String>, Value) {
    let mut res = awc::Client::new()
        .get(url)
        .insert_header(("cookie", cookie))
        .send()
        .await
        .expect("get");
    let sets = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (res.status().as_u16(), sets, cache, body)
}

/// The `Path` of each `cg_consent` deletion among `sets`.
fn consent_deletion_paths(sets: &[String]) -> Vec<String> {
    sets.iter()
        .filter(|c| c.starts_with("cg_consent=;") && c.contains("Max-Age=0"))
        .filter_map(|c| {
            c.split("; ")
                .find_map(|part| part.strip_prefix("Path="))
                .map(str::to_owned)
        })
        .collect()
}

#[actix_web::test]
async fn the_state_route_answers_the_verified_categories_and_the_value_it_verified() {
    let gate = start(StoreChoice::Memory).await;
    let (_, cookies, answer) = gate
        .post(
            json!({"action": "custom", "granted": ["analytics"], "language": "nl", "texts_hash": gate.nl_hash}),
            None,
        )
        .await;
    let cookie = consent_cookie(&cookies);
    let value = cookie.trim_start_matches("cg_consent=");
    // The decision's own answer carries the new value, so the page can cache it at once.
    assert_eq!(answer["value"], json!(value));
    assert!(
        value.starts_with("v2.") && value.contains(".analytics."),
        "{value}"
    );

    let state_url = gate.running.url("/_gate/consent/state");
    let (status, sets, cache, body) = get_with_cookie(&state_url, &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(cache.as_deref(), Some("no-store"));
    assert!(sets.is_empty(), "{sets:?}");
    assert_eq!(body["value"], json!(value));
    assert_eq!(body["granted"], json!(["analytics"]));
    assert_eq!(body["id"], answer["id"]);

    // Without a cookie: nothing verified, nothing deleted.
    let (status, sets, _, body) = get_with_cookie(&state_url, "session=1").await;
    assert_eq!(status, 200);
    assert!(sets.is_empty(), "{sets:?}");
    assert_eq!(body, json!({"value": null, "granted": null, "id": null}));
}

#[actix_web::test]
async fn a_forged_or_old_format_cookie_verifies_to_nothing_and_is_deleted() {
    let gate = start(StoreChoice::Memory).await;
    let cookie = gate.reject_all().await;
    let forged = cookie.replacen("..", ".analytics~marketing.", 1);
    // The old format's label (a genuine v1 cookie is covered by the codec's unit tests).
    let relabelled = cookie.replacen("cg_consent=v2.", "cg_consent=v1.", 1);
    let state_url = gate.running.url("/_gate/consent/state");
    for bad in [forged, relabelled] {
        let (status, sets, _, body) = get_with_cookie(&state_url, &bad).await;
        assert_eq!(status, 200);
        assert_eq!(body["granted"], Value::Null, "{bad}");
        assert_eq!(body["value"], Value::Null, "{bad}");
        assert_eq!(
            consent_deletion_paths(&sets),
            vec![
                "/",
                "/_gate",
                "/_gate/",
                "/_gate/consent",
                "/_gate/consent/",
                "/_gate/consent/state"
            ]
        );
    }
}

/// A page of the site that shows which cookies reached it.
async fn cookie_page(req: actix_web::HttpRequest) -> actix_web::HttpResponse {
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<html><head><title>t</title></head><body><p>{cookie}</p></body></html>"
        ))
}

#[actix_web::test]
async fn a_forged_cookie_at_a_sub_path_is_deleted_at_every_ancestor_path_and_grants_nothing() {
    let site = support::upstream::serve(|s| {
        s.default_service(actix_web::web::get().to(cookie_page));
    });
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let revision = gate.config().consent.policy_revision;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let forged = format!(
        "cg_consent=v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~marketing.{revision}.{now}.{}",
        "A".repeat(43)
    );
    let (status, sets, _, _) = get_with_cookie(
        &gate.url("/blog/2024/post?x=1"),
        &format!("{forged}; _ga=GA1.1.5; _fbp=fb.1"),
    )
    .await;
    assert_eq!(status, 200);
    // The gate is at 127.0.0.1: one host-only deletion per path.
    assert_eq!(
        consent_deletion_paths(&sets),
        vec![
            "/",
            "/blog",
            "/blog/",
            "/blog/2024",
            "/blog/2024/",
            "/blog/2024/post"
        ]
    );
    let mut res = awc::Client::new()
        .get(gate.url("/blog/2024/post"))
        .insert_header(("cookie", format!("{forged}; _ga=GA1.1.5; _fbp=fb.1")))
        .send()
        .await
        .expect("get");
    let body = String::from_utf8(res.body().await.expect("body").to_vec()).expect("utf-8");
    assert!(!body.contains("_ga=") && !body.contains("_fbp="), "{body}");
}
