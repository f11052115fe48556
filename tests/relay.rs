//! The Google Analytics relay through real sockets: a loopback stand-in plays Google (the
//! collection endpoint and googletagmanager.com) and records exactly what the gate sent it.

mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use support::gate::{RunningTestGate, TestGate};
use support::{upstream, wait};

/// One request Google's stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Seen>>>);

impl Recorder {
    fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("recorder").clone()
    }
    fn to(&self, path: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.path == path).collect()
    }
    fn record(&self, req: &HttpRequest, body: &[u8]) {
        self.0.lock().expect("recorder").push(Seen {
            method: req.method().to_string(),
            path: req.path().to_owned(),
            query: req.query_string().to_owned(),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        v.to_str().unwrap_or("<binary>").to_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }
}

const GTAG_STUB: &str = "window.__gtagStub = 1;";
const GTM_STUB: &str = "window.__gtmStub = 1;";

/// Google's stand-in: `/g/collect` answers 204 (or never, with `stall`); `/gtag/js` must be
/// revalidated every time (ETag "v1", max-age=0); `/gtm.js` is fresh for an hour.
fn google(rec: Recorder, stall: bool) -> upstream::Upstream {
    upstream::serve(move |site| {
        let rec = rec.clone();
        site.app_data(web::Data::new(rec)).default_service(web::to(
            move |req: HttpRequest, body: web::Bytes, rec: web::Data<Recorder>| async move {
                rec.record(&req, &body);
                match req.path() {
                    "/g/collect" if stall => std::future::pending().await,
                    "/g/collect" => HttpResponse::NoContent().finish(),
                    "/gtag/js" => {
                        let tagged = req
                            .headers()
                            .get("if-none-match")
                            .is_some_and(|v| v == "\"v1\"");
                        let mut res = if tagged {
                            HttpResponse::NotModified()
                        } else {
                            HttpResponse::Ok()
                        };
                        res.insert_header(("etag", "\"v1\""))
                            .insert_header(("cache-control", "private, max-age=0"));
                        if tagged {
                            res.finish()
                        } else {
                            res.content_type("application/javascript").body(GTAG_STUB)
                        }
                    }
                    "/gtm.js" => HttpResponse::Ok()
                        .insert_header(("cache-control", "private, max-age=3600"))
                        .insert_header(("last-modified", "Tue, 01 Dec 2026 00:00:00 GMT"))
                        .content_type("application/javascript")
                        .body(GTM_STUB),
                    _ => HttpResponse::NotFound().finish(),
                }
            },
        ));
    })
}

fn relay_toml(google: &upstream::Upstream, extra: &str) -> String {
    format!(
        "[relay.google_analytics]\nmeasurement_ids = [\"G-TEST1\"]\ncontainer_ids = \
         [\"GTM-TEST1\"]\ncollect_url = \"{0}/g/collect\"\nscript_origin = \"{0}\"\n{extra}",
        google.url()
    )
}

/// A gate relaying G-TEST1 / GTM-TEST1 to `google`.
async fn relay_gate(google: &upstream::Upstream, extra: &str) -> RunningTestGate {
    TestGate::new()
        .config_toml(&relay_toml(google, extra))
        .start()
        .await
}

/// The `cg_consent=…` pair of a decision granting `granted`.
async fn consent(gate: &RunningTestGate, granted: &[&str]) -> String {
    gate.decide(
        &json!({"action": "custom", "granted": granted, "language": "nl",
        "texts_hash": gate.texts_hash("nl")}),
    )
    .await
}

const CHROME: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/120.0.6099.224 Safari/537.36";

/// A GA4 page view as gtag.js sends it, with everything the relay must not pass on.
const HIT: &str = "v=2&tid=G-TEST1&gtm=45je4&_p=1700&cid=1234567.1700000000&uid=user-42\
    &_fid=fid&ul=nl-nl&sr=1920x1080&uaa=x86&uab=64&uafvl=Chromium%3B120&uam=&uamb=0&uap=Linux\
    &uapv=6.1&uaw=0&_uip=192.0.2.7&gclid=abc&dclid=d&wbraid=w&gbraid=g&_s=1&sid=1700000000\
    &dl=https%3A%2F%2Fwww.example.org%2Fzoeken%3Fq%3Djan%2Bjansen%26utm_source%3Dnews%23top\
    &dr=https%3A%2F%2Fmail.example.com%2Finbox%3Fid%3D7&dt=Zoeken&en=page_view";

/// Send a hit to the gate; its status and (for refusals) JSON body.
async fn send_hit(
    gate: &RunningTestGate,
    query: &str,
    body: &str,
    cookie: Option<&str>,
) -> (u16, Value) {
    let mut req = awc::Client::new()
        .post(gate.url(&format!("/_gate/relay/ga/g/collect?{query}")))
        .insert_header(("user-agent", CHROME))
        .insert_header(("accept", "application/json"))
        .insert_header(("x-forwarded-for", "203.0.113.9"))
        .insert_header(("referer", "https://www.example.org/zoeken?q=jan"));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c));
    }
    let mut res = req
        .send_body(body.to_owned())
        .await
        .expect("hit sent to the gate");
    let status = res.status().as_u16();
    let json = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, json)
}

fn pairs(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn get<'a>(p: &'a [(String, String)], name: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[actix_web::test]
async fn a_hit_reaches_google_without_address_identifiers_or_query_strings() {
    let rec = Recorder::default();
    let google = google(rec.clone(), false);
    let gate = relay_gate(&google, "").await;
    let cookie = consent(&gate, &["analytics"]).await;
    let batch = "en=scroll&epn.percent_scrolled=90&ep.search_term=jan\r\n\
                 en=click&ep.link_url=https%3A%2F%2Fx.example%2Fp%3Fe%3Da%40b.nl&gclid=1";
    let (status, _) = send_hit(&gate, HIT, batch, Some(&cookie)).await;
    assert_eq!(
        status, 204,
        "the browser is answered at once, without content"
    );

    let seen = wait::until_some("the hit to reach Google's stand-in", wait::DEADLINE, || {
        std::future::ready(rec.to("/g/collect").pop())
    })
    .await;
    assert_eq!(seen.method, "POST");
    let q = pairs(&seen.query);
    for removed in [
        "uid", "_fid", "gclid", "dclid", "wbraid", "gbraid", "_uip", "uip", "uaa", "uab", "uafvl",
        "uam", "uamb", "uap", "uapv", "uaw", "dr",
    ] {
        assert_eq!(get(&q, removed), None, "{removed} reached Google: {q:?}");
    }
    let cid = get(&q, "cid").expect("a client id");
    assert_ne!(cid, "1234567.1700000000", "the client id must be re-hashed");
    assert_eq!(get(&q, "dl"), Some("https://www.example.org/zoeken"));
    assert_eq!(get(&q, "sr"), Some("1800x1000"));
    assert_eq!(get(&q, "tid"), Some("G-TEST1"));
    assert_eq!(get(&q, "en"), Some("page_view"));
    // The batched events, each rewritten by the same table.
    let lines: Vec<_> = seen.body.split("\r\n").map(pairs).collect();
    assert_eq!(lines.len(), 2, "{:?}", seen.body);
    assert_eq!(get(&lines[0], "epn.percent_scrolled"), Some("90"));
    assert_eq!(get(&lines[0], "ep.search_term"), None);
    assert_eq!(get(&lines[1], "gclid"), None);
    assert_eq!(
        get(&lines[1], "ep.link_url"),
        Some("https://x.example/p"),
        "{:?}",
        seen.body
    );
    // No address, cookie or referrer in any header; the user agent reduced.
    assert_eq!(seen.header("user-agent"), Some("Chrome/120"));
    for name in [
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "cookie",
        "referer",
        "via",
    ] {
        assert_eq!(seen.header(name), None, "{name} reached Google");
    }
    // (Host names the stand-in itself, on loopback.)
    for (name, value) in seen.headers.iter().filter(|(n, _)| n != "host") {
        assert!(
            !value.contains("203.0.113") && !value.contains("127.0.0.1"),
            "{name}: {value}"
        );
    }

    // The same visitor's next hit carries the same hashed client id (one user to Google).
    send_hit(&gate, HIT, "", Some(&cookie)).await;
    wait::until_true("the second hit", wait::DEADLINE, || {
        rec.to("/g/collect").len() == 2
    })
    .await;
    let second = pairs(&rec.to("/g/collect")[1].query);
    assert_eq!(get(&second, "cid"), Some(cid));
}

#[actix_web::test]
async fn hits_without_consent_for_unlisted_ids_or_malformed_are_refused_and_never_sent() {
    let rec = Recorder::default();
    let google = google(rec.clone(), false);
    let gate = relay_gate(&google, "max_hit_bytes = 1024\n").await;
    let analytics = consent(&gate, &["analytics"]).await;
    let marketing_only = consent(&gate, &["marketing"]).await;

    let other_id = HIT.replace("tid=G-TEST1", "tid=G-OTHER1");
    let oversized = format!("{HIT}&dt={}", "x".repeat(2000));
    let cases: [(&str, &str, Option<&str>, u16, &str); 5] = [
        (HIT, "", None, 403, "not_relayed"),
        (HIT, "", Some(&marketing_only), 403, "not_relayed"),
        (&other_id, "", Some(&analytics), 403, "not_relayed"),
        (
            "v=1&tid=G-TEST1&t=pageview",
            "",
            Some(&analytics),
            400,
            "bad_request",
        ),
        (&oversized, "", Some(&analytics), 413, "body_too_large"),
    ];
    for (query, body, cookie, status, code) in cases {
        let (got, json) = send_hit(&gate, query, body, cookie).await;
        assert_eq!(got, status, "{query:.40} {cookie:?}: {json}");
        assert_eq!(json["error"], code, "{json}");
        assert!(json["message"].is_string(), "{json}");
    }
    // A hit tid batching an unlisted id in its body is refused whole.
    let (got, _) = send_hit(&gate, HIT, "tid=G-OTHER1&en=x", Some(&analytics)).await;
    assert_eq!(got, 403);

    // A good hit after them: it is the only one Google's stand-in ever sees.
    assert_eq!(send_hit(&gate, HIT, "", Some(&analytics)).await.0, 204);
    // Counted once Google's answer is in, which is after the stand-in saw the hit.
    wait::until("the good hit to be forwarded", wait::DEADLINE, || async {
        admin_metrics(&gate)
            .await
            .contains("consentgate_relay_hits_total{outcome=\"forwarded\"} 1")
    })
    .await;
    assert_eq!(rec.to("/g/collect").len(), 1, "{:?}", rec.all());

    // Other methods and paths under the relay get the standard bodies too.
    let mut res = awc::Client::new()
        .delete(gate.url("/_gate/relay/ga/g/collect"))
        .insert_header(("accept", "application/json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "method_not_allowed"
    );
}

#[actix_web::test]
async fn hits_past_the_rate_limit_per_address_get_429() {
    let rec = Recorder::default();
    let google = google(rec.clone(), false);
    let gate = relay_gate(&google, "rate_limit = { max = 2, window = \"1m\" }\n").await;
    let cookie = consent(&gate, &["analytics"]).await;
    for _ in 0..2 {
        assert_eq!(send_hit(&gate, HIT, "", Some(&cookie)).await.0, 204);
    }
    let (status, json) = send_hit(&gate, HIT, "", Some(&cookie)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (429, Some("rate_limited"))
    );
}

async fn admin_metrics(gate: &RunningTestGate) -> String {
    let mut res = awc::Client::new()
        .get(gate.admin_url("/metrics"))
        .send()
        .await
        .expect("metrics");
    String::from_utf8_lossy(&res.body().await.expect("metrics body")).into_owned()
}

fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{prefix} missing:\n{text}"))
}

#[actix_web::test]
async fn a_full_queue_drops_hits_counts_them_and_still_answers_at_once() {
    let rec = Recorder::default();
    // Google never answers: the one sender stays busy and the queue of one fills.
    let google = google(rec.clone(), true);
    let gate = relay_gate(
        &google,
        "queue_capacity = 1\nsenders = 1\ntimeout = \"60s\"\n",
    )
    .await;
    let cookie = consent(&gate, &["analytics"]).await;
    assert_eq!(send_hit(&gate, HIT, "", Some(&cookie)).await.0, 204);
    wait::until_true("the first hit to be in flight", wait::DEADLINE, || {
        rec.to("/g/collect").len() == 1
    })
    .await;
    // One waits in the queue; the rest are dropped, yet each browser gets its 204.
    for _ in 0..3 {
        assert_eq!(send_hit(&gate, HIT, "", Some(&cookie)).await.0, 204);
    }
    let text = admin_metrics(&gate).await;
    assert_eq!(
        metric(
            &text,
            "consentgate_relay_hits_total{outcome=\"queue_full\"}"
        ),
        2.0,
        "{text}"
    );
    // Nothing was sent again or in parallel past the one sender.
    assert_eq!(rec.to("/g/collect").len(), 1);
}

#[actix_web::test]
async fn scripts_are_served_only_for_listed_ids_and_cached_by_the_upstream_validators() {
    let rec = Recorder::default();
    let google = google(rec.clone(), false);
    let gate = relay_gate(&google, "").await;
    let client = awc::Client::new();
    let fetch = |path: &'static str| {
        let req = client
            .get(gate.url(path))
            .insert_header(("accept", "application/json"))
            .insert_header(("accept-encoding", "identity"))
            .insert_header(("cookie", "_ga=GA1.1.1.2"))
            .insert_header(("user-agent", CHROME));
        async move {
            let mut res = req.send().await.expect("script request");
            let body = res.body().await.expect("script body");
            (
                res.status().as_u16(),
                res.headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                String::from_utf8_lossy(&body).into_owned(),
            )
        }
    };

    // gtag.js must be revalidated every time: the second request is conditional, and
    // Google's 304 keeps the copy.
    let (status, ctype, body) = fetch("/_gate/relay/gtag/js?id=G-TEST1&l=dataLayer").await;
    assert_eq!((status, body.as_str()), (200, GTAG_STUB));
    assert!(ctype.unwrap_or_default().starts_with("text/javascript"));
    let (status, _, body) = fetch("/_gate/relay/gtag/js?id=G-TEST1&l=dataLayer").await;
    assert_eq!((status, body.as_str()), (200, GTAG_STUB));
    let asked = rec.to("/gtag/js");
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].header("if-none-match"), None);
    assert_eq!(asked[1].header("if-none-match"), Some("\"v1\""));
    assert_eq!(asked[0].query, "id=G-TEST1&l=dataLayer");
    // Nothing of the visitor reaches Google with the script request.
    for seen in &asked {
        assert_eq!(seen.header("cookie"), None);
        assert_ne!(seen.header("user-agent"), Some(CHROME));
    }
    let text = admin_metrics(&gate).await;
    assert_eq!(
        metric(
            &text,
            "consentgate_relay_scripts_total{outcome=\"revalidated\"}"
        ),
        1.0
    );

    // gtm.js is fresh for an hour: the second visitor is served from the cache.
    for _ in 0..2 {
        let (status, _, body) = fetch("/_gate/relay/gtm.js?id=GTM-TEST1").await;
        assert_eq!((status, body.as_str()), (200, GTM_STUB));
    }
    assert_eq!(rec.to("/gtm.js").len(), 1);

    // Never an open proxy: unlisted ids and other paths are refused before Google is asked.
    let before = rec.all().len();
    for (path, status, code) in [
        ("/_gate/relay/gtag/js?id=G-OTHER1", 403, "not_relayed"),
        ("/_gate/relay/gtm.js?id=GTM-OTHER1", 403, "not_relayed"),
        ("/_gate/relay/gtm.js?id=G-TEST1", 403, "not_relayed"),
        ("/_gate/relay/gtag/js", 400, "bad_request"),
        ("/_gate/relay/analytics.js", 404, "not_found"),
    ] {
        let (got, _, body) = fetch(path).await;
        assert_eq!(got, status, "{path}: {body}");
        let json: Value = serde_json::from_str(&body).expect("JSON error body");
        assert_eq!(json["error"], code, "{path}");
    }
    assert_eq!(rec.all().len(), before, "{:?}", rec.all());
}

#[actix_web::test]
async fn with_the_relay_off_its_paths_are_unknown() {
    let gate = TestGate::new().start().await;
    let mut res = awc::Client::new()
        .get(gate.url("/_gate/relay/gtag/js?id=G-TEST1"))
        .insert_header(("accept", "application/json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 404);
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "not_found");
}

#[actix_web::test]
async fn the_hashed_client_id_holds_within_a_rotation_period_and_changes_after_it() {
    let rec = Recorder::default();
    let google = google(rec.clone(), false);
    // On an hour boundary, with hourly rotation.
    let clock = consentgate::clock::TestClock::at_unix_ms(500_000 * 3_600_000);
    let gate = TestGate::new()
        .config_toml(&relay_toml(&google, "cid_rotation = \"1h\"\n"))
        .clock(clock.clone())
        .start()
        .await;
    let cookie = consent(&gate, &["analytics"]).await;
    let mut cids = Vec::new();
    for step in [0, 59 * 60, 60] {
        clock.advance(std::time::Duration::from_secs(step));
        assert_eq!(send_hit(&gate, HIT, "", Some(&cookie)).await.0, 204);
        let n = cids.len() + 1;
        let seen = wait::until_some("the hit", wait::DEADLINE, || {
            std::future::ready(rec.to("/g/collect").get(n - 1).cloned())
        })
        .await;
        cids.push(get(&pairs(&seen.query), "cid").map(str::to_owned));
    }
    assert_eq!(cids[0], cids[1], "same period, same hash");
    assert_ne!(cids[1], cids[2], "a new period, a new hash");
    assert!(cids
        .iter()
        .all(|c| c.as_deref() != Some("1234567.1700000000")));
}
