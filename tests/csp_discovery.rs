//! The CSP second line and passive discovery (issue 17, points 3 and 5) through real sockets:
//! the policy header for each consent state, violation reports counted and bounded, unknown
//! cookies and origins listed once in the dashboard, and a classification made there taking
//! effect without a restart.

mod support;

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;
use support::dashboard::{audit_events, users_toml, Operator};
use support::gate::{RunningTestGate, TestGate};
use support::upstream;

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .finish()
}

/// A page that loads a library from an origin no catalogue knows, an image from Google
/// Analytics (a known tracker), and sets a session cookie and a tracker cookie.
const PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><title>t</title>\
    <script src=\"https://cdn.unknown-lib.example/lib.js\"></script>\
    <link rel=\"stylesheet\" href=\"https://fonts.unknown-lib.example/f.css\">\
    <link rel=\"canonical\" href=\"https://elsewhere.example/page\">\
    </head><body><img src=\"https://www.google-analytics.com/collect?v=1\">\
    <a href=\"https://linked-only.example/\">a link fetches nothing</a></body></html>";

fn site() -> upstream::Upstream {
    upstream::serve(|cfg| {
        cfg.default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .append_header(("set-cookie", "PHPSESSID=secret-session-value; Path=/"))
                .append_header(("set-cookie", "_ga=GA1.1.1.1; Path=/"))
                .body(PAGE)
        }));
    })
}

/// A gate in front of [`site`] with the test operators and `toml`.
async fn gate(site: &upstream::Upstream, toml: &str) -> RunningTestGate {
    TestGate::new()
        .upstream(&site.url())
        .config_toml(&users_toml())
        .config_toml(toml)
        .start()
        .await
}

/// The page at `path` with `cookie`: its headers and body.
async fn fetch(
    gate: &RunningTestGate,
    path: &str,
    cookie: Option<&str>,
) -> (awc::http::header::HeaderMap, String) {
    let mut req = client().get(gate.url(path));
    if let Some(c) = cookie {
        req = req.insert_header(("cookie", c));
    }
    let mut res = req.send().await.expect("a page");
    assert_eq!(res.status(), 200);
    let body = res.body().await.expect("body");
    (res.headers().clone(), String::from_utf8_lossy(&body).into())
}

fn header(headers: &awc::http::header::HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `cg_consent=…` cookie for a decision granting `granted`.
async fn consent_cookie(gate: &RunningTestGate, granted: &[&str]) -> String {
    gate.decide(&json!({
        "action": "custom",
        "granted": granted,
        "language": "en",
        "texts_hash": gate.texts_hash("en"),
    }))
    .await
}

#[actix_web::test]
async fn the_policy_header_follows_the_visitors_verified_consent() {
    let site = site();
    let gate = gate(
        &site,
        "[csp]\nmode = \"enforce\"\nallowed_origins = [\"https://cdn.example.org\"]\n",
    )
    .await;
    let policy = |h: &awc::http::header::HeaderMap| header(h, "content-security-policy");

    let (none, _) = fetch(&gate, "/", None).await;
    let text = policy(&none);
    assert!(
        text.contains("script-src 'self' 'unsafe-inline' https://cdn.example.org"),
        "{text}"
    );
    assert!(text.contains("report-uri /_gate/csp-report"), "{text}");
    assert!(!text.contains("google-analytics.com"), "{text}");
    // Facebook's plugin frames load through placeholders only: frame-src allows them,
    // nothing else does before consent.
    let script_src = text.split("; ").find(|d| d.starts_with("script-src"));
    assert!(
        !script_src.unwrap_or_default().contains("facebook"),
        "{text}"
    );
    assert!(!text.contains("connect.facebook.net"), "{text}");
    assert!(header(&none, "vary").contains("Cookie"), "{:?}", none);
    assert!(none.get("content-security-policy-report-only").is_none());

    let analytics = consent_cookie(&gate, &["analytics"]).await;
    let (h, _) = fetch(&gate, "/", Some(&analytics)).await;
    let text = policy(&h);
    assert!(text.contains("*.google-analytics.com"), "{text}");
    assert!(text.contains("*.googletagmanager.com"), "{text}");
    assert!(!text.contains("connect.facebook.net"), "{text}");

    let all = consent_cookie(&gate, &["analytics", "marketing"]).await;
    let (h, _) = fetch(&gate, "/", Some(&all)).await;
    let text = policy(&h);
    assert!(text.contains("*.google-analytics.com"), "{text}");
    assert!(text.contains("connect.facebook.net"), "{text}");

    // A cookie that does not verify counts as no consent.
    let (h, _) = fetch(&gate, "/", Some("cg_consent=v2.forged")).await;
    assert_eq!(policy(&h), policy(&none));
}

#[actix_web::test]
async fn report_only_is_the_default_and_off_sends_no_policy() {
    let site = site();
    let gate = gate(&site, "").await;
    let (h, _) = fetch(&gate, "/", None).await;
    assert!(header(&h, "content-security-policy-report-only").contains("connect-src 'self'"));
    assert!(h.get("content-security-policy").is_none());
    assert!(header(&h, "reporting-endpoints").contains("/_gate/csp-report"));

    let off = self::gate(&site, "[csp]\nmode = \"off\"\n").await;
    let (h, _) = fetch(&off, "/", None).await;
    assert!(h.get("content-security-policy").is_none());
    assert!(h.get("content-security-policy-report-only").is_none());
    assert!(!header(&h, "vary").contains("Cookie"), "{h:?}");
}

async fn report(gate: &RunningTestGate, content_type: &str, body: &str) -> u16 {
    client()
        .post(gate.url("/_gate/csp-report"))
        .insert_header(("content-type", content_type))
        .send_body(body.to_owned())
        .await
        .expect("an answer")
        .status()
        .as_u16()
}

const LEGACY: &str = r#"{"csp-report":{"document-uri":"http://127.0.0.1/contact?email=a@b.example",
    "referrer":"https://search.example/?q=name","blocked-uri":"https://region1.google-analytics.com/g/collect?cid=123",
    "effective-directive":"connect-src","violated-directive":"connect-src",
    "original-policy":"connect-src 'self'","status-code":200}}"#;

#[actix_web::test]
async fn reports_are_counted_per_origin_and_page_and_bounded_in_size_and_rate() {
    let site = site();
    let gate = gate(
        &site,
        "[csp]\nreport_max_bytes = 1024\nreports_per_minute = 3\n",
    )
    .await;
    assert_eq!(report(&gate, "application/csp-report", LEGACY).await, 204);
    let api = r#"[{"type":"csp-violation","age":3,"url":"http://127.0.0.1/contact",
        "body":{"documentURL":"http://127.0.0.1/contact","blockedURL":"https://cdn.needed.example/x.js",
        "effectiveDirective":"script-src-elem","disposition":"report"}}]"#;
    assert_eq!(report(&gate, "application/reports+json", api).await, 204);

    // Too large: refused before it is read.
    let big = format!(
        "{{\"csp-report\":{{\"document-uri\":\"{}\"}}}}",
        "x".repeat(2000)
    );
    assert_eq!(report(&gate, "application/csp-report", &big).await, 413);
    // The fourth report of the minute from this address is refused.
    assert_eq!(report(&gate, "application/csp-report", LEGACY).await, 429);
    // Not a report at all (from another address it would be counted first).
    let stats = &gate.state().stats;
    stats.flush().await;
    let blocked = stats.read_blocked(&[stats.today()]).await.unwrap();
    let rows: Vec<(String, String, String, u64)> = blocked
        .into_iter()
        .map(|b| (b.origin, b.path, b.directive, b.count))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "https://cdn.needed.example".to_owned(),
                "/contact".to_owned(),
                "script-src".to_owned(),
                1
            ),
            (
                "https://region1.google-analytics.com".to_owned(),
                "/contact".to_owned(),
                "connect-src".to_owned(),
                1
            ),
        ]
    );
    // Nothing of the visitor or the URL's query is kept.
    let raw = gate
        .store()
        .read_counters("csp_reports", &[stats.today()])
        .await
        .unwrap();
    let kept = format!("{raw:?}");
    for private in ["email", "a@b", "cid=", "search.example", "127.0.0.1"] {
        assert!(!kept.contains(private), "{private} kept: {kept}");
    }
}

#[actix_web::test]
async fn a_malformed_report_is_refused() {
    let site = site();
    let gate = gate(&site, "").await;
    assert_eq!(
        report(&gate, "application/csp-report", "{\"x\":1}").await,
        400
    );
}

/// The rows of the dashboard's "not yet classified" table, as text.
fn unclassified(body: &str) -> String {
    let start = body
        .find("id=\"table-unclassified\"")
        .map_or(body.len(), |i| i);
    let rest = &body[start..];
    let end = rest.find("</table>").unwrap_or(rest.len());
    // The page escapes `/` and `'` (minijinja's HTML escaping).
    rest[..end].replace("&#x2f;", "/").replace("&#x27;", "'")
}

#[actix_web::test]
async fn discovery_lists_an_unknown_cookie_and_an_unknown_origin_once() {
    let site = site();
    let gate = gate(&site, "").await;
    // Twice the same page (the second from the rewrite memo), and a visitor cookie.
    fetch(&gate, "/", Some("wp_lang=nl_NL; _ga=GA1.1.2.2")).await;
    fetch(&gate, "/", Some("wp_lang=nl_NL")).await;
    fetch(&gate, "/over-ons", None).await;
    gate.state().stats.flush().await;

    let op = Operator::signed_in(&gate, "ann").await;
    let page = op.get("/discovery").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let table = unclassified(&page.body);
    for name in [
        "https://cdn.unknown-lib.example",
        "https://fonts.unknown-lib.example",
        "PHPSESSID",
        "wp_lang",
    ] {
        assert_eq!(
            table.matches(&format!("<code>{name}</code>")).count(),
            1,
            "{name} once in: {table}"
        );
    }
    // Known trackers, the gate's own cookies, links that fetch nothing, values: never.
    for absent in [
        "google-analytics",
        "_ga",
        "cg_consent",
        "elsewhere.example",
        "linked-only.example",
        "secret-session-value",
        "nl_NL",
    ] {
        assert!(!table.contains(absent), "{absent} listed: {table}");
    }
    // Seen on both pages.
    assert!(table.contains("<code>/over-ons</code>"), "{table}");

    // Another role does not see the page.
    let ali = Operator::signed_in(&gate, "ali").await;
    assert_eq!(ali.get("/discovery").await.status, 403);
}

#[actix_web::test]
async fn a_classification_in_the_dashboard_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trackers-override.toml");
    let site = site();
    let gate = gate(
        &site,
        &format!(
            "[trackers]\noverride_file = {:?}\n",
            file.display().to_string()
        ),
    )
    .await;
    let (h, body) = fetch(&gate, "/", Some("wp_lang=nl_NL")).await;
    assert!(
        body.contains("<script src=\"https://cdn.unknown-lib.example/lib.js\">"),
        "{body}"
    );
    assert!(!header(&h, "content-security-policy-report-only").contains("fonts.unknown-lib"));
    gate.state().stats.flush().await;

    let op = Operator::signed_in(&gate, "ann").await;
    op.get("/discovery").await;
    let done = op
        .post(
            "/discovery/classify",
            &[
                ("kind", "origin"),
                ("name", "https://cdn.unknown-lib.example"),
                ("choice", "marketing"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), Some("/discovery?done=classified"));
    for (kind, name) in [
        ("origin", "https://fonts.unknown-lib.example"),
        ("cookie", "wp_lang"),
    ] {
        let done = op
            .post(
                "/discovery/classify",
                &[("kind", kind), ("name", name), ("choice", "necessary")],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
    }

    // The next page: the library is a marketing tracker now, inert until consent; the
    // approved origin is allowed by the policy.
    let (h, body) = fetch(&gate, "/", None).await;
    assert!(
        body.contains("data-cg-src=\"https://cdn.unknown-lib.example/lib.js\""),
        "{body}"
    );
    assert!(body.contains("data-cg-category=\"marketing\""), "{body}");
    let policy = header(&h, "content-security-policy-report-only");
    assert!(
        policy.contains("https://fonts.unknown-lib.example"),
        "{policy}"
    );
    let marketing = consent_cookie(&gate, &["marketing"]).await;
    let (h, _) = fetch(&gate, "/", Some(&marketing)).await;
    assert!(header(&h, "content-security-policy-report-only").contains("cdn.unknown-lib.example"));

    // Discovery no longer lists what was classified.
    let page = op.get("/discovery?done=classified").await;
    let table = unclassified(&page.body);
    for gone in ["cdn.unknown-lib", "fonts.unknown-lib", "wp_lang"] {
        assert!(!table.contains(gone), "{gone} still listed: {table}");
    }
    assert!(table.contains("PHPSESSID"), "{table}");

    // Written to the file (read again at the next start or SIGHUP) and audited.
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("approved_origins = [\"https://fonts.unknown-lib.example\"]"),
        "{text}"
    );
    assert!(text.contains("necessary_cookies = [\"wp_lang\"]"), "{text}");
    assert!(
        text.contains("hosts = [\"cdn.unknown-lib.example\"]"),
        "{text}"
    );
    let classified: Vec<String> = audit_events(&gate)
        .await
        .into_iter()
        .filter(|e| e.action.as_str() == "tracker_classified")
        .filter_map(|e| e.object)
        .collect();
    assert_eq!(classified.len(), 3, "{classified:?}");
    assert!(classified.contains(&"cookie wp_lang necessary".to_owned()));

    // A category the site does not have is refused, and nothing changes.
    let refused = op
        .post(
            "/discovery/classify",
            &[
                ("kind", "cookie"),
                ("name", "PHPSESSID"),
                ("choice", "statistics"),
            ],
        )
        .await;
    assert_eq!(refused.status, 400);
    assert!(!std::fs::read_to_string(&file)
        .unwrap()
        .contains("PHPSESSID"));
}

#[actix_web::test]
async fn classifying_without_an_override_file_is_refused() {
    let site = site();
    let gate = gate(&site, "").await;
    let op = Operator::signed_in(&gate, "ann").await;
    let page = op.get("/discovery").await;
    assert!(
        page.body.contains("trackers.override_file"),
        "{}",
        page.body
    );
    let done = op
        .post(
            "/discovery/classify",
            &[
                ("kind", "cookie"),
                ("name", "PHPSESSID"),
                ("choice", "necessary"),
            ],
        )
        .await;
    assert_eq!(done.status, 400, "{}", done.body);
}

#[actix_web::test]
async fn discovery_keeps_a_bounded_number_of_entries_per_day() {
    let many = upstream::serve(|cfg| {
        cfg.default_service(web::to(|| async {
            let imgs: String = (0..6)
                .map(|i| format!("<img src=\"https://img{i}.unknown.example/x.png\">"))
                .collect();
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(format!(
                    "<html><head><title>t</title></head><body>{imgs}</body></html>"
                ))
        }));
    });
    let gate = gate(&many, "[stats]\nmax_paths_per_day = 2\n").await;
    fetch(&gate, "/", None).await;
    let stats = &gate.state().stats;
    stats.flush().await;
    let found = stats.read_discovered(&[stats.today()]).await.unwrap();
    assert_eq!(found.len(), 2, "{found:?}");
}
