//! Fail closed, through a real gate in front of a loopback upstream that answers with the
//! awkward responses real sites send: every page a browser would render as HTML arrives
//! rewritten (guard and banner in, no tracker live) or is answered with the 502 page — never
//! passed on with its trackers live. Issue 11 C (types, charsets, codings), D (limits), E
//! (ranges) and I (XHTML).

mod rewrite_support;
mod support;

use std::io::Write;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use bytes::Bytes;
use rewrite_support::inspect;
use support::gate::{RunningTestGate, TestGate};
use support::upstream::{self, Upstream};

/// A page with trackers a browser would contact if it went out unrewritten.
const PAGE: &str = "<!DOCTYPE html><html><head><title>Caf\u{e9}</title>\
<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>\
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('config','G-1');</script>\
</head><body><p>hallo</p><img src=\"https://www.facebook.com/tr?id=1&amp;ev=PageView\"></body></html>";

/// A browser's navigation request headers.
const NAVIGATE: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// One canned upstream answer: status, headers (in order, repeats allowed) and body.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn canned(headers: &[(&'static str, &str)], body: impl Into<Vec<u8>>) -> Canned {
    Canned {
        status: 200,
        headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        body: body.into(),
    }
}

/// An upstream answering every request with `answer`.
fn site(answer: Canned) -> Upstream {
    upstream::serve(move |cfg| {
        let answer = answer.clone();
        cfg.default_service(web::to(move || {
            let answer = answer.clone();
            async move {
                let mut res = HttpResponse::build(
                    actix_web::http::StatusCode::from_u16(answer.status).unwrap(),
                );
                for (name, value) in &answer.headers {
                    res.append_header((*name, value.as_str()));
                }
                res.body(answer.body)
            }
        }));
    })
}

/// What the visitor got.
struct Got {
    status: u16,
    headers: Vec<(String, String)>,
    body: Result<Bytes, String>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        let body = self.body.as_ref().expect("a whole body");
        String::from_utf8(body.to_vec()).expect("UTF-8")
    }
}

async fn get(gate: &RunningTestGate, headers: &[(&str, &str)]) -> Got {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .finish();
    let mut req = client
        .get(gate.url("/page"))
        .insert_header(("accept", NAVIGATE))
        .insert_header(("accept-encoding", "identity"));
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut res = req.send().await.expect("an answer");
    let headers = res
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = res.body().limit(8 << 20).await.map_err(|e| e.to_string());
    Got {
        status: res.status().as_u16(),
        headers,
        body,
    }
}

async fn gate_for(site: &Upstream) -> RunningTestGate {
    TestGate::new().upstream(&site.url()).start().await
}

/// The answer is the rewritten page: guard and banner in, nothing live.
fn assert_rewritten(got: &Got, what: &str) {
    assert_eq!(got.status, 200, "{what}");
    let text = got.text();
    assert_eq!(
        text.matches("<script src=\"/_gate/banner.").count(),
        1,
        "{what}: banner injected once:\n{text}"
    );
    let (live, _) = inspect(&text);
    assert!(live.is_empty(), "{what}: live trackers {live:?}");
    assert!(
        text.contains("data-cg-src=\"https://www.googletagmanager.com/gtag/js?id=G-1\""),
        "{what}"
    );
}

/// The answer is the 502 page that says why in its code.
fn assert_refused(got: &Got, what: &str) {
    assert_eq!(got.status, 502, "{what}");
    let text = got.text();
    assert!(text.contains("upstream_unreadable"), "{what}: {text}");
    assert!(!text.contains("googletagmanager"), "{what}");
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

#[actix_web::test]
async fn an_unknown_charset_label_is_rewritten_as_windows_1252() {
    let latin1: Vec<u8> = PAGE.chars().map(|c| c as u8).collect();
    let s = site(canned(
        &[("content-type", "text/html; charset=utf8mb4")],
        latin1,
    ));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_eq!(got.status, 200);
    let body = got.body.as_ref().unwrap();
    let text = String::from_utf8_lossy(body);
    assert!(
        body.windows(9).any(|w| w == b"Caf\xe9</tit"),
        "é kept as one byte"
    );
    assert_eq!(text.matches("<script src=\"/_gate/banner.").count(), 1);
    let (live, _) = inspect(&text);
    assert!(live.is_empty(), "{live:?}");
}

#[actix_web::test]
async fn a_page_without_content_type_is_sniffed_rewritten_and_labelled() {
    let s = site(canned(&[], PAGE));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_rewritten(&got, "no Content-Type");
    assert_eq!(got.header("content-type"), Some("text/html"));
}

#[actix_web::test]
async fn a_body_without_content_type_that_is_not_html_passes_untouched() {
    let json = br#"{"src": "<script src='https://www.googletagmanager.com/gtm.js'>"}"#;
    let s = site(canned(&[], &json[..]));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body.as_deref().unwrap(), &json[..]);
}

#[actix_web::test]
async fn the_last_of_two_content_types_decides_as_in_browsers() {
    let s = site(canned(
        &[
            ("content-type", "text/plain"),
            ("content-type", "text/html"),
        ],
        PAGE,
    ));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_rewritten(&got, "text/plain then text/html");
    let types: Vec<_> = got
        .headers
        .iter()
        .filter(|(n, _)| n == "content-type")
        .collect();
    assert_eq!(types.len(), 1, "one Content-Type: {types:?}");
    assert_eq!(types[0].1, "text/html");
}

#[actix_web::test]
async fn stacked_and_zstd_codings_are_decoded_and_the_page_rewritten() {
    for (coding, body) in [
        ("gzip, gzip", gzip(&gzip(PAGE.as_bytes()))),
        ("zstd", zstd(PAGE.as_bytes())),
        ("gzip, zstd", zstd(&gzip(PAGE.as_bytes()))),
    ] {
        let s = site(canned(
            &[
                ("content-type", "text/html; charset=utf-8"),
                ("content-encoding", coding),
            ],
            body,
        ));
        let gate = gate_for(&s).await;
        let got = get(&gate, &[]).await;
        assert_rewritten(&got, coding);
        assert_eq!(got.header("content-encoding"), None, "{coding}");
    }
}

#[actix_web::test]
async fn an_undecodable_coding_on_a_page_is_answered_with_the_502_page() {
    for (coding, body) in [
        ("compress", PAGE.as_bytes().to_vec()),
        ("gzip", b"this is not gzip at all".to_vec()),
    ] {
        let s = site(canned(
            &[("content-type", "text/html"), ("content-encoding", coding)],
            body,
        ));
        let gate = gate_for(&s).await;
        assert_refused(&get(&gate, &[]).await, coding);
    }
}

#[actix_web::test]
async fn utf16_pages_are_transcoded_to_utf8_and_rewritten() {
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(PAGE.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    // The BOM wins over the header's label.
    let s = site(canned(
        &[("content-type", "text/html; charset=utf-8")],
        utf16,
    ));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_rewritten(&got, "UTF-16 with BOM");
    assert!(got.text().contains("<title>Caf\u{e9}</title>"));
    assert_eq!(got.header("content-type"), Some("text/html; charset=utf-8"));
}

#[actix_web::test]
async fn a_page_with_a_megabyte_inline_image_arrives_with_its_trackers_inert() {
    let image = format!("data:image/png;base64,{}", "QUJD".repeat(1_100_000 / 4));
    let page = PAGE.replace(
        "<p>hallo</p>",
        &format!("<img src=\"{image}\"><p>hallo</p>"),
    );
    let s = site(canned(&[("content-type", "text/html")], page));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_rewritten(&got, "1.1 MB inline image");
    assert!(got.text().contains(&image));
}

#[actix_web::test]
async fn a_page_past_the_memory_limit_is_refused_or_broken_off_never_passed_on() {
    let tag = |len: usize| {
        format!(
            "<img src=\"data:image/png;base64,{}\">",
            "QUJD".repeat(len / 4)
        )
    };
    // Small enough for the memo to hold back whole: refused before anything goes out.
    let small = PAGE.replace("<p>hallo</p>", &tag(200_000));
    let s = site(canned(&[("content-type", "text/html")], small));
    let gate = TestGate::new()
        .upstream(&s.url())
        .config_toml("[limits]\nrewrite_max_memory_bytes = 65536")
        .start()
        .await;
    assert_refused(&get(&gate, &[]).await, "held back");

    // Larger than the memo holds: the head went out, so the transfer is broken off — the
    // trackers after the huge tag never reach the visitor, and the body never ends properly.
    let huge = PAGE.replace("<p>hallo</p>", &tag(1_200_000));
    let s = site(canned(&[("content-type", "text/html")], huge));
    let gate = TestGate::new()
        .upstream(&s.url())
        .config_toml("[limits]\nrewrite_max_memory_bytes = 65536")
        .start()
        .await;
    let addr = gate
        .url("/")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let raw = upstream::raw_exchange(
        addr,
        "GET /page HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(!raw.contains("facebook.com/tr"), "tracker passed on");
    assert!(!raw.contains("</html>"), "the page passed on whole");
    assert!(
        !raw.ends_with("0\r\n\r\n"),
        "a broken transfer, not a finished one"
    );
}

#[actix_web::test]
async fn a_compressed_page_past_the_decoded_cap_is_refused() {
    let padded = PAGE.replace("<p>hallo</p>", &"<p>hallo</p>".repeat(200_000));
    let s = site(canned(
        &[("content-type", "text/html"), ("content-encoding", "gzip")],
        gzip(padded.as_bytes()),
    ));
    let gate = TestGate::new()
        .upstream(&s.url())
        .config_toml("[limits]\nmax_decoded_body_bytes = 1048576")
        .start()
        .await;
    assert_refused(&get(&gate, &[]).await, "2.4 MB from gzip, cap 1 MiB");
}

#[actix_web::test]
async fn page_requests_go_upstream_without_range_and_media_keep_theirs() {
    let echo = upstream::start();
    let gate = gate_for(&echo).await;
    let forwarded =
        |got: Got| -> serde_json::Value { serde_json::from_slice(&got.body.unwrap()).unwrap() };
    let has = |v: &serde_json::Value, name: &str| {
        v["headers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h[0].as_str() == Some(name))
    };
    let page = forwarded(get(&gate, &[("range", "bytes=100-"), ("if-range", "\"v1\"")]).await);
    assert!(!has(&page, "range") && !has(&page, "if-range"), "{page}");
    let media = forwarded(
        get(
            &gate,
            &[
                ("accept", "video/webm,video/*;q=0.9,*/*;q=0.5"),
                ("range", "bytes=100-"),
            ],
        )
        .await,
    );
    assert!(has(&media, "range"), "{media}");
}

#[actix_web::test]
async fn a_partial_html_answer_is_refused() {
    let mut answer = canned(
        &[
            ("content-type", "text/html"),
            ("content-range", "bytes 0-99/500"),
        ],
        &PAGE.as_bytes()[..100],
    );
    answer.status = 206;
    let s = site(answer);
    let gate = gate_for(&s).await;
    assert_refused(&get(&gate, &[]).await, "206 text/html");
}

#[actix_web::test]
async fn a_rewritten_page_never_carries_content_range() {
    let s = site(canned(
        &[
            ("content-type", "text/html"),
            ("content-range", "bytes 0-9/10"),
            ("accept-ranges", "bytes"),
        ],
        PAGE,
    ));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    assert_rewritten(&got, "200 with Content-Range");
    assert_eq!(got.header("content-range"), None);
    assert_eq!(got.header("accept-ranges"), None);
}

#[actix_web::test]
async fn xhtml_pages_get_tags_that_are_well_formed_xml() {
    let xhtml = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><head><title>x</title><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></head><body><p>x</p></body></html>";
    let s = site(canned(&[("content-type", "application/xhtml+xml")], xhtml));
    let gate = gate_for(&s).await;
    let got = get(&gate, &[]).await;
    let text = got.text();
    assert!(text.contains("defer=\"defer\""), "{text}");
    assert!(!text.contains(" defer>"), "{text}");
    let link = &text[text.find("<link").expect("the banner stylesheet")..];
    assert!(
        link[..link.find('>').unwrap() + 1].ends_with("/>"),
        "{text}"
    );
    assert!(text.contains("data-cg-src=\"https://www.googletagmanager.com/gtag/js?id=G-1\""));
}
