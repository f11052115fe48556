//! HTML through the gate: pages arriving gzip, br or plain are decoded, rewritten (banner in,
//! trackers inert) and re-encoded for what the visitor accepts; other responses are untouched.

mod support;

use support::{gate, upstream};

use std::io::Read;
use std::time::Duration;

use gate::TestGate;

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .finish()
}

fn decode(coding: Option<&str>, body: &[u8]) -> String {
    let mut out = Vec::new();
    match coding {
        Some("gzip") => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        Some("br") => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        None => out.extend_from_slice(body),
        Some(other) => panic!("unexpected coding {other}"),
    }
    String::from_utf8(out).unwrap()
}

fn content_length<S>(res: &awc::ClientResponse<S>) -> Option<usize> {
    res.headers()
        .get("content-length")
        .map(|v| v.to_str().unwrap().parse().unwrap())
}

/// GET `path` through the gate without compression: status, announced length and body.
async fn get_plain(gate: &gate::RunningTestGate, path: &str) -> (u16, Option<usize>, bytes::Bytes) {
    let mut res = client()
        .get(gate.url(path))
        .insert_header(("accept-encoding", "identity"))
        .send()
        .await
        .unwrap();
    let length = content_length(&res);
    let body = res.body().limit(4 << 20).await.unwrap();
    (res.status().as_u16(), length, body)
}

fn assert_trackers_inert(page: &str) {
    assert_eq!(
        page.matches("<script src=\"/_gate/banner.").count(),
        1,
        "banner not injected once:\n{page}"
    );
    assert!(
        !page.contains(" src=\"https://www.googletagmanager.com"),
        "live GA loader:\n{page}"
    );
    assert!(
        page.contains("data-cg-src=\"https://www.googletagmanager.com/gtag/js?id=G-TEST1\""),
        "{page}"
    );
    assert!(
        !page.contains("<img height=\"1\" width=\"1\" src=\"https://www.facebook.com"),
        "live pixel:\n{page}"
    );
    assert!(
        page.contains("<script src=\"/site.js\"></script>"),
        "first-party script changed:\n{page}"
    );
}

#[actix_web::test]
async fn html_in_every_upstream_coding_is_rewritten_and_encoded_for_the_visitor() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    for upstream_enc in ["identity", "gzip", "br"] {
        for (accept, expected) in [
            (None, None),
            (Some("gzip"), Some("gzip")),
            (Some("br"), Some("br")),
        ] {
            let mut req = client().get(gate.url(&format!("/tracker.html?enc={upstream_enc}")));
            req = match accept {
                Some(a) => req.insert_header(("accept-encoding", a)),
                None => req.insert_header(("accept-encoding", "identity")),
            };
            let mut res = req.send().await.unwrap();
            assert_eq!(res.status(), 200);
            let coding = res
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            // Every page reaches the visitor in what they accept, compressed by the upstream or
            // not.
            assert_eq!(
                coding.as_deref(),
                expected,
                "upstream {upstream_enc}, accept {accept:?}"
            );
            assert!(res.headers().get("etag").is_none(), "strong ETag must go");
            assert_eq!(res.headers().get("x-page").unwrap(), "tracker");
            let length = content_length(&res);
            let body = res.body().limit(1 << 20).await.unwrap();
            // The upstream's length described other bytes; the one sent is the rewritten body's.
            assert_eq!(length, Some(body.len()), "upstream {upstream_enc}");
            assert_trackers_inert(&decode(coding.as_deref(), &body));
        }
    }
    gate.stop().await;
}

#[actix_web::test]
async fn rewritten_page_is_the_same_for_every_visitor() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml("[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
        .start()
        .await;
    // The first view teaches the gate the site's vendors, which the banner tag names from
    // the next view on: that changes the page once, for everyone alike.
    let mut first = client()
        .get(gate.url("/tracker.html"))
        .insert_header(("accept-encoding", "identity"))
        .send()
        .await
        .unwrap();
    first.body().await.unwrap();
    let mut bodies = Vec::new();
    for (ip, cookie) in [("192.0.2.1", "a=1"), ("2001:db8:2::9", "_ga=GA1.2.3")] {
        let mut res = client()
            .get(gate.url("/tracker.html"))
            .insert_header(("x-forwarded-for", ip))
            .insert_header(("cookie", cookie))
            .insert_header(("accept-encoding", "identity"))
            .send()
            .await
            .unwrap();
        bodies.push(res.body().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1]);
    gate.stop().await;
}

#[actix_web::test]
async fn head_request_for_html_gets_headers_only() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let raw = upstream::raw_exchange(
        gate.public_addr,
        "HEAD /tracker.html HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        raw.ends_with("\r\n\r\n"),
        "HEAD response carried a body:\n{raw}"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn a_page_over_a_mebibyte_streams_and_is_rewritten_to_its_last_byte() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let original = upstream::big_tracker_page();
    assert!(original.len() > 1024 * 1024);
    for sized in ["false", "true"] {
        let (status, length, body) =
            get_plain(&gate, &format!("/big-tracker.html?sized={sized}")).await;
        assert_eq!(status, 200);
        assert_eq!(
            length, None,
            "a page this large is streamed, not held back (sized={sized})"
        );
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert_trackers_inert(&page);
        assert!(
            !page.contains(" src=\"https://www.facebook.com/tr?id=2"),
            "pixel at the very end left live (sized={sized}):\n{}",
            &page[page.len() - 300..]
        );
        assert!(
            page.contains("id=2&ev=End"),
            "the end of the page is missing"
        );
        assert!(
            page.len() > original.len(),
            "nothing may be lost on the way"
        );
    }
    gate.stop().await;
}

#[actix_web::test]
async fn a_chunked_page_is_sent_to_the_visitor_with_its_length() {
    let page = upstream::TRACKER_PAGE;
    let raw: &'static str = Box::leak(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{page}\r\n0\r\n\r\n",
            page.len()
        )
        .into_boxed_str(),
    );
    let addr = upstream::start_raw(raw).await;
    let gate = TestGate::new()
        .upstream(&format!("http://{addr}"))
        .start()
        .await;
    let (status, length, body) = get_plain(&gate, "/").await;
    assert_eq!(status, 200);
    assert_eq!(length, Some(body.len()));
    assert_trackers_inert(std::str::from_utf8(&body).unwrap());
    gate.stop().await;
}

#[actix_web::test]
async fn an_html_body_that_breaks_off_gets_an_error_page_not_half_a_page() {
    // Announces 5000 bytes, sends the head with its trackers, then hangs up.
    let addr = upstream::start_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html><head><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-CUT\"></script></head><body>",
    )
    .await;
    let gate = TestGate::new()
        .upstream(&format!("http://{addr}"))
        .start()
        .await;
    let mut res = client().get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 502);
    let body = res.body().await.unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("upstream_incomplete"), "{text}");
    assert!(!text.contains("googletagmanager"), "{text}");
    gate.stop().await;
}

#[actix_web::test]
async fn with_the_memo_off_pages_stream_through_the_rewriter() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml("[limits]\nrewrite_memo_bytes = 0\n")
        .start()
        .await;
    let (status, length, body) = get_plain(&gate, "/tracker.html").await;
    assert_eq!(status, 200);
    assert_eq!(length, None, "streamed, so no length up front");
    assert_trackers_inert(std::str::from_utf8(&body).unwrap());
    gate.stop().await;
}

#[actix_web::test]
async fn a_streamed_page_cut_short_upstream_is_not_passed_off_as_complete() {
    let addr = upstream::start_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<html><head></head><body><p>begin",
    )
    .await;
    let gate = TestGate::new()
        .upstream(&format!("http://{addr}"))
        .config_toml("[limits]\nrewrite_memo_bytes = 0\n")
        .start()
        .await;
    let raw = upstream::raw_exchange(
        gate.public_addr,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    // Depending on how far the head got before the break, the visitor sees a cut chunked
    // response or a closed connection; never the last chunk that would mark the page complete.
    assert!(raw.is_empty() || raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(
        !raw.ends_with("0\r\n\r\n"),
        "the last chunk marks a page complete; a cut page must not get it:\n{raw}"
    );
    gate.stop().await;
}

/// A site whose page says which Accept-Encoding its request carried.
fn upstream_telling_accept_encoding() -> upstream::Upstream {
    use actix_web::{web, HttpRequest, HttpResponse};
    upstream::serve(|site| {
        site.default_service(web::to(|req: HttpRequest| async move {
            let seen = req
                .headers()
                .get("accept-encoding")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(none)")
                .to_owned();
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("x-seen-accept-encoding", seen.clone()))
                .body(format!(
                    "<html><head><title>t</title></head><body><p>{seen}</p></body></html>"
                ))
        }));
    })
}

#[actix_web::test]
async fn an_uncompressed_page_reaches_the_visitor_in_brotli_or_gzip_as_accepted() {
    let up = upstream_telling_accept_encoding();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    for (accept, expected) in [
        ("gzip, deflate, br", Some("br")),
        ("gzip", Some("gzip")),
        ("identity", None),
    ] {
        // Twice: the second answer comes from the memo, compressed as the first.
        let mut bodies = Vec::new();
        for _ in 0..2 {
            let mut res = client()
                .get(gate.url("/p"))
                .insert_header(("accept-encoding", accept))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let coding = res
                .headers()
                .get("content-encoding")
                .map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(coding.as_deref(), expected, "accept {accept}");
            let vary = res.headers().get("vary").unwrap().to_str().unwrap();
            assert!(
                vary.to_ascii_lowercase().contains("accept-encoding"),
                "{vary}"
            );
            let body = res.body().await.unwrap();
            let page = decode(coding.as_deref(), &body);
            assert!(page.contains("/_gate/guard."), "not rewritten: {page}");
            bodies.push(body);
        }
        assert_eq!(bodies[0], bodies[1], "accept {accept}");
    }
    gate.stop().await;
}

#[actix_web::test]
async fn with_request_identity_pages_are_asked_uncompressed_and_other_requests_are_not() {
    let up = upstream_telling_accept_encoding();
    for (request_identity, page_sees) in [(true, "identity"), (false, "gzip, br")] {
        let gate = TestGate::new()
            .upstream(&up.url())
            .config_toml(&format!(
                "[upstream]\nrequest_identity = {request_identity}\n"
            ))
            .start()
            .await;
        let seen = |accept: &'static str| {
            let url = gate.url("/p");
            async move {
                let res = client()
                    .get(url)
                    .insert_header(("accept", accept))
                    .insert_header(("accept-encoding", "gzip, br"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                // The visitor gets the page compressed either way.
                assert_eq!(res.headers().get("content-encoding").unwrap(), "br");
                res.headers()
                    .get("x-seen-accept-encoding")
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_owned()
            }
        };
        assert_eq!(seen("text/html,*/*;q=0.8").await, page_sees);
        // A script or image request is no page request: the visitor's codings go on.
        assert_eq!(seen("image/avif,image/*").await, "gzip, br");
        gate.stop().await;
    }
}
