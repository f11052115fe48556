//! YouTube thumbnails for the click-to-load placeholders (`[embeds.youtube] thumbnails`),
//! through real sockets: a loopback stand-in plays i.ytimg.com ([`support::thumbnails`]) and
//! records what the gate asked it. The placeholder points at the gate, the gate fetches with
//! nothing of the visitor's, keeps what it fetched, and refuses what it should not serve.

mod support;

use actix_web::{web, HttpResponse};
use serde_json::Value;
use support::gate::{RunningTestGate, TestGate};
use support::thumbnails::{ImageHost, MISSING, NOT_JPEG, OVERSIZE, PICTURE, VIDEO};
use support::upstream;

const PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><title>t</title></head><body>
<iframe width="560" height="315" src="https://www.youtube.com/embed/KPnmmIrD0oc?feature=oembed"></iframe>
</body></html>"#;

/// A gate with thumbnails fetched from `host` (`extra`: more `[embeds.youtube]` keys).
async fn gate_on(host: &ImageHost, extra: &str) -> RunningTestGate {
    TestGate::new()
        .config_toml(&host.config(extra))
        .start()
        .await
}

/// The gate's answer: status, headers, body.
struct Answer {
    status: u16,
    headers: awc::http::header::HeaderMap,
    body: web::Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    /// The standard error body's `error` code.
    fn code(&self) -> String {
        let body: Value = serde_json::from_slice(&self.body).expect("the standard JSON body");
        body["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// `path` asked for as a visitor's browser would: with everything the gate must keep to
/// itself.
async fn visit(gate: &RunningTestGate, path: &str) -> Answer {
    let mut res = awc::Client::new()
        .get(gate.url(path))
        .insert_header(("accept", "application/json"))
        .insert_header(("user-agent", "VisitorBrowser/1.0 marker-7f3a"))
        .insert_header(("accept-language", "nl-NL,nl;q=0.9"))
        .insert_header(("cookie", "cg_consent=v1.x; _ga=GA1.1.123.456"))
        .insert_header(("x-forwarded-for", "198.51.100.77"))
        .insert_header(("referer", "https://www.example.org/zoeken?q=jan"))
        .send()
        .await
        .expect("request to the gate");
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.body().limit(1 << 20).await.expect("the answer's body"),
    }
}

/// The status and the standard error body's code of a refused request.
async fn refused(gate: &RunningTestGate, path: &str) -> (u16, String) {
    let answer = visit(gate, path).await;
    (answer.status, answer.code())
}

fn thumb_path(id: &str) -> String {
    format!("/_gate/embed-thumb/youtube/{id}.jpg")
}

#[actix_web::test]
async fn the_placeholder_points_at_the_gates_thumbnail_only_when_thumbnails_are_on() {
    let site = upstream::serve(|cfg| {
        cfg.default_service(web::get().to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(PAGE)
        }));
    });
    let host = ImageHost::start();
    let page = |gate: RunningTestGate| async move {
        let mut res = awc::Client::new().get(gate.url("/")).send().await.unwrap();
        String::from_utf8(res.body().await.unwrap().to_vec()).unwrap()
    };
    let on = page(
        TestGate::new()
            .upstream(&site.url())
            .config_toml(&host.config(""))
            .start()
            .await,
    )
    .await;
    assert!(
        on.contains(
            r#"<img src="/_gate/embed-thumb/youtube/KPnmmIrD0oc.jpg" alt="" loading="lazy""#
        ),
        "{on}"
    );
    assert!(!on.contains("ytimg"), "{on}");
    let off = page(TestGate::new().upstream(&site.url()).start().await).await;
    assert!(off.contains("class=\"cg-embed\""), "{off}");
    assert!(
        !off.contains("embed-thumb") && !off.contains("<img"),
        "{off}"
    );
    assert!(
        host.fetches().is_empty(),
        "rewriting a page fetches nothing"
    );
}

#[actix_web::test]
async fn a_thumbnail_is_fetched_once_without_anything_of_the_visitor_and_then_kept() {
    let host = ImageHost::start();
    let gate = gate_on(&host, "").await;
    let res = visit(&gate, &thumb_path(VIDEO)).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("image/jpeg"));
    assert_eq!(res.header("cache-control"), Some("public, max-age=86400"));
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        res.header("set-cookie"),
        None,
        "not Google's cookie, nor one of the gate's"
    );
    assert_eq!(res.body.as_ref(), PICTURE.as_slice());

    let fetches = host.fetches();
    assert_eq!(fetches.len(), 1, "{fetches:?}");
    assert_eq!(fetches[0].path, "/vi/KPnmmIrD0oc/hqdefault.jpg");
    let sent = format!("{:?}", fetches[0].headers);
    for visitor in [
        "marker-7f3a",
        "198.51.100",
        "cg_consent",
        "_ga",
        "zoeken",
        "nl-NL",
    ] {
        assert!(!sent.contains(visitor), "{visitor} reached Google: {sent}");
    }
    for name in [
        "cookie",
        "referer",
        "x-forwarded-for",
        "forwarded",
        "x-real-ip",
        "accept-language",
        "via",
    ] {
        assert!(
            fetches[0].headers.iter().all(|(k, _)| k != name),
            "{name} reached Google: {sent}"
        );
    }

    // Kept: served again, and to others asking at the same time, without a second fetch.
    let path = thumb_path(VIDEO);
    let again = futures_util::future::join_all((0..4).map(|_| visit(&gate, &path))).await;
    assert!(again
        .iter()
        .all(|a| a.status == 200 && a.body.as_ref() == PICTURE.as_slice()));
    assert_eq!(host.fetches_of(VIDEO), 1);
}

#[actix_web::test]
async fn concurrent_first_requests_for_one_video_make_one_fetch() {
    let host = ImageHost::start();
    let gate = gate_on(&host, "").await;
    let path = thumb_path("ABCDEFGHIJK");
    let all = futures_util::future::join_all((0..6).map(|_| visit(&gate, &path))).await;
    assert!(all.iter().all(|a| a.status == 200));
    assert_eq!(host.fetches_of("ABCDEFGHIJK"), 1);
}

#[actix_web::test]
async fn what_is_not_a_video_id_is_refused_without_asking_google() {
    let host = ImageHost::start();
    let gate = gate_on(&host, "").await;
    for path in [
        thumb_path("short"),
        thumb_path("KPnmmIrD0oc0"),
        thumb_path("KPnmm%2FrD0o"),
        thumb_path("..%2F..%2Fxyz"),
        "/_gate/embed-thumb/youtube/KPnmmIrD0oc.png".to_owned(),
        "/_gate/embed-thumb/youtube/KPnmmIrD0oc".to_owned(),
        "/_gate/embed-thumb/youtube/a/KPnmmIrD0oc.jpg".to_owned(),
    ] {
        assert_eq!(
            refused(&gate, &path).await,
            (400, "bad_request".to_owned()),
            "{path}"
        );
    }
    let mut res = awc::Client::new()
        .post(gate.url(&thumb_path(VIDEO)))
        .insert_header(("accept", "application/json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 405);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    assert!(host.fetches().is_empty(), "{:?}", host.fetches());
}

#[actix_web::test]
async fn an_oversize_or_non_jpeg_or_missing_answer_is_a_502_and_not_kept() {
    let host = ImageHost::start();
    let gate = gate_on(&host, "").await;
    for id in [OVERSIZE, NOT_JPEG, MISSING] {
        for _ in 0..2 {
            assert_eq!(
                refused(&gate, &thumb_path(id)).await,
                (502, "thumbnail_unavailable".to_owned()),
                "{id}"
            );
        }
        assert_eq!(host.fetches_of(id), 2, "{id}: nothing kept, asked again");
    }
}

#[actix_web::test]
async fn fetches_past_the_limit_are_refused_while_kept_thumbnails_are_still_served() {
    let host = ImageHost::start();
    let gate = gate_on(&host, "thumbnail_fetches = { max = 1, window = \"1h\" }").await;
    assert_eq!(visit(&gate, &thumb_path(VIDEO)).await.status, 200);
    let res = visit(&gate, &thumb_path("ABCDEFGHIJK")).await;
    assert_eq!((res.status, res.code()), (429, "rate_limited".to_owned()));
    assert!(res.header("retry-after").is_some());
    assert_eq!(host.fetches_of("ABCDEFGHIJK"), 0);
    assert_eq!(visit(&gate, &thumb_path(VIDEO)).await.status, 200);
    assert_eq!(host.fetches().len(), 1);
}

#[actix_web::test]
async fn with_thumbnails_off_the_route_is_not_found() {
    let host = ImageHost::start();
    let gate = TestGate::new().start().await;
    assert_eq!(
        refused(&gate, &thumb_path(VIDEO)).await,
        (404, "not_found".to_owned())
    );
    assert!(host.fetches().is_empty());
}
