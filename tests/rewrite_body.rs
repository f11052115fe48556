//! BodyRewriter as the proxy uses it: compressed upstream bodies, re-encoding for the client,
//! character sets, memory limits and failures mid-stream — which are errors, never a page
//! passed on with its rest unrewritten.

mod rewrite_support;

use std::io::{Read, Write};
use std::sync::Arc;

use consentgate::rewrite::{
    rewrite_document, BodyRewriter, BodySpec, Coding, RewriteError, RewriteSettings, Rewriter,
};
use consentgate::trackers::Catalogue;
use rewrite_support::{rewriter, INJECT, INJECTED};

const PAGE: &str = r#"<!DOCTYPE html><html><head><title>t</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('config','G-1');</script>
</head><body><p>Hallo wereld</p>
<noscript><img src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"></noscript>
</body></html>"#;

fn encode(coding: Coding, data: &[u8]) -> Vec<u8> {
    match coding {
        Coding::Identity => data.to_vec(),
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Coding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Coding::Brotli => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        Coding::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
    }
}

fn decode(coding: Coding, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        Coding::Identity => out.extend_from_slice(data),
        Coding::Gzip => {
            flate2::read::GzDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        Coding::Deflate => {
            flate2::read::ZlibDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
        }
        Coding::Brotli => {
            brotli::Decompressor::new(data, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        Coding::Zstd => unreachable!("the gate never compresses in zstd"),
    }
    out
}

/// The client bytes for `wire` fed in `chunk`-byte pieces: `Ok` with all of them, or `Err`
/// with the error and the bytes sent before it.
fn try_run(
    rw: &Rewriter,
    upstream: Coding,
    client: Coding,
    charset: Option<&str>,
    wire: &[u8],
    chunk: usize,
) -> Result<Vec<u8>, (RewriteError, Vec<u8>)> {
    let mut body = BodyRewriter::new(rw, upstream, client, charset);
    let mut out = Vec::new();
    for piece in wire.chunks(chunk) {
        match body.push(piece) {
            Ok(bytes) => out.extend_from_slice(&bytes),
            Err(e) => return Err((e, out)),
        }
    }
    match body.finish() {
        Ok(bytes) => out.extend_from_slice(&bytes),
        Err(e) => return Err((e, out)),
    }
    Ok(out)
}

/// [`try_run`] for an uncompressed page without a charset label.
fn try_plain(rw: &Rewriter, page: &[u8], chunk: usize) -> Result<Vec<u8>, (RewriteError, Vec<u8>)> {
    try_run(rw, Coding::Identity, Coding::Identity, None, page, chunk)
}

fn run(
    rw: &Rewriter,
    upstream: Coding,
    client: Coding,
    charset: Option<&str>,
    wire: &[u8],
    chunk: usize,
) -> Vec<u8> {
    try_run(rw, upstream, client, charset, wire, chunk)
        .unwrap_or_else(|(e, _)| panic!("refused: {e}"))
}

/// The test rewriter (banner tags only) with one setting changed.
fn rewriter_with(change: impl FnOnce(&mut RewriteSettings)) -> Rewriter {
    let mut settings = RewriteSettings {
        inject_head_html: INJECT.to_owned(),
        ..RewriteSettings::default()
    };
    change(&mut settings);
    Rewriter::new(Arc::new(Catalogue::builtin()), settings)
}

/// lol_html limited to 16 KiB, so large markup makes it give up mid-page.
fn memory_limited_rewriter() -> Rewriter {
    rewriter_with(|s| s.max_memory = 16 * 1024)
}

/// An uncompressed UTF-8 page fed in `chunk`-byte pieces, as text.
fn run_plain(rw: &Rewriter, page: &str, chunk: usize) -> String {
    let out = run(
        rw,
        Coding::Identity,
        Coding::Identity,
        None,
        page.as_bytes(),
        chunk,
    );
    String::from_utf8(out).unwrap()
}

#[test]
fn compressed_upstream_is_rewritten_and_re_encoded_for_the_client() {
    let rw = rewriter();
    let expected = rewrite_document(&rw, PAGE.as_bytes()).unwrap();
    let text = String::from_utf8(expected.clone()).unwrap();
    assert!(text.contains(INJECT));
    assert!(text.contains(r#"data-cg-src="https://www.googletagmanager.com/gtag/js?id=G-1""#));
    assert!(
        !text.contains(r#"<img src="https://www.facebook.com/tr"#),
        "{text}"
    );
    let all = [
        Coding::Identity,
        Coding::Gzip,
        Coding::Deflate,
        Coding::Brotli,
    ];
    for upstream in all.into_iter().chain([Coding::Zstd]) {
        let wire = encode(upstream, PAGE.as_bytes());
        for client in all {
            for chunk in [1, 7, 4096] {
                let out = run(&rw, upstream, client, None, &wire, chunk);
                assert_eq!(
                    decode(client, &out),
                    expected,
                    "{upstream:?} -> {client:?} at chunk size {chunk}"
                );
            }
        }
    }
}

#[test]
fn corrupt_gzip_mid_stream_is_an_error_after_only_rewritten_bytes() {
    let rw = rewriter();
    let paragraphs: String = (0..3000u64)
        .map(|i| format!("<p>{}</p>\n", i.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
        .collect();
    let big = PAGE.replace("<p>Hallo wereld</p>", &paragraphs);
    let mut wire = encode(Coding::Gzip, big.as_bytes());
    let mid = wire.len() / 2;
    for b in &mut wire[mid..mid + 64] {
        *b ^= 0x5a;
    }
    let (err, sent) = try_run(&rw, Coding::Gzip, Coding::Identity, None, &wire, 1000)
        .expect_err("a corrupt body is not a page");
    assert!(matches!(err, RewriteError::Decode(_)), "{err}");
    let text = String::from_utf8_lossy(&sent);
    assert!(text.contains(INJECT), "what went out was rewritten");
}

#[test]
fn a_page_past_the_memory_limit_is_refused_not_passed_on() {
    let rw = memory_limited_rewriter();
    // An image tag far larger than the memory limit: lol_html cannot hold it.
    let huge = format!(
        r#"<img src="data:image/png;base64,{}"><div>"#,
        "x".repeat(200_000)
    );
    let page = format!(
        "<html><head><script src=\"https://connect.facebook.net/en_US/fbevents.js\"></script></head><body>{huge}</div><script src=\"https://www.googletagmanager.com/gtm.js?id=GTM-1\"></script><p>the end</p></body></html>"
    );
    // In pieces the tag must be held across chunks, past the limit. (Fed whole, lol_html
    // needs no buffer, and the page is simply rewritten.)
    for chunk in [7, 4096, 64 * 1024] {
        let (err, sent) = try_plain(&rw, page.as_bytes(), chunk).expect_err("refused");
        assert!(matches!(err, RewriteError::Rewrite(_)), "{err}");
        let text = String::from_utf8_lossy(&sent);
        assert!(!text.contains("the end"), "chunk {chunk}: rest passed on");
        assert!(!text.contains("gtm.js"), "chunk {chunk}: tracker passed on");
    }
}

#[test]
fn a_page_with_a_megabyte_inline_image_works_with_its_trackers_inert() {
    // The issue's page: a 1.1 MB base64 image, trackers after it. Within the default memory
    // limit (8 MiB) it is rewritten whole.
    let rw = rewriter();
    let image = format!("data:image/png;base64,{}", "QUJD".repeat(1_100_000 / 4));
    let page = format!(
        "<html><head><title>t</title></head><body><img src=\"{image}\"><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script><img src=\"https://www.facebook.com/tr?id=1\"></body></html>"
    );
    for chunk in [4096, 64 * 1024] {
        let text = run_plain(&rw, &page, chunk);
        assert!(text.contains(&image), "chunk {chunk}: the image is intact");
        assert!(text.contains("data-cg-src=\"https://www.googletagmanager.com/gtag/js?id=G-1\""));
        assert!(text.contains("data-cg-src=\"https://www.facebook.com/tr?id=1\""));
        assert!(text.ends_with("</body></html>"));
    }
}

#[test]
fn a_compressed_body_past_the_decoded_cap_is_refused() {
    let rw = rewriter_with(|s| s.max_decoded_body = 1 << 20);
    let page = format!(
        "<html><body>{}</body></html>",
        "<p>padding</p>".repeat(200_000)
    );
    for coding in [Coding::Gzip, Coding::Brotli, Coding::Zstd] {
        let wire = encode(coding, page.as_bytes());
        let (err, _) = try_run(&rw, coding, Coding::Identity, None, &wire, 16 * 1024)
            .expect_err("past the cap");
        assert!(
            matches!(err, RewriteError::TooLarge { limit } if limit == 1 << 20),
            "{coding:?}: {err}"
        );
    }
}

#[test]
fn stacked_codings_are_decoded_in_reverse_order() {
    let rw = rewriter();
    let expected = rewrite_document(&rw, PAGE.as_bytes()).unwrap();
    let wire = encode(Coding::Gzip, &encode(Coding::Gzip, PAGE.as_bytes()));
    let spec = BodySpec {
        upstream: vec![Coding::Gzip, Coding::Gzip],
        ..BodySpec::default()
    };
    let mut body = BodyRewriter::with_spec(&rw, &spec);
    let mut out = Vec::new();
    for piece in wire.chunks(7) {
        out.extend_from_slice(&body.push(piece).unwrap());
    }
    out.extend_from_slice(&body.finish().unwrap());
    assert_eq!(out, expected);
}

#[test]
fn inline_script_longer_than_the_bound_streams_through_unchanged() {
    let rw = rewriter_with(|s| s.inline_script_max = 1024);
    let script = format!(
        "<script data-a='1'>var app = {{}};{}</script>",
        "app.x = 1;\n".repeat(500)
    );
    let page = format!("<html><head>{script}</head><body></body></html>");
    for chunk in [1, 7, 4096] {
        assert_eq!(
            run_plain(&rw, &page, chunk).replacen(INJECT, "", 1),
            page,
            "chunk {chunk}"
        );
    }
}

#[test]
fn a_tracker_past_the_inline_script_bound_fails_the_page() {
    let rw = rewriter_with(|s| s.inline_script_max = 1024);
    for tracker in [
        "<script>var app = {};APP;s.src='https://www.googletagmanager.com/gtag/js?id=G-1';</script>",
        "<style>p{color:red}APP;a{background:url(https://www.facebook.com/tr?id=1)}</style>",
    ] {
        let page = format!(
            "<html><head>{}</head><body></body></html>",
            tracker.replace("APP", &"app.x = 1;\n".repeat(500))
        );
        for chunk in [1, 7, 4096] {
            let refused = try_plain(&rw, page.as_bytes(), chunk);
            assert!(
                matches!(refused, Err((RewriteError::Rewrite(_), _))),
                "chunk {chunk}: {tracker:.30}"
            );
        }
    }
}

#[test]
fn unclosed_script_at_the_end_of_the_page_is_not_lost() {
    let rw = rewriter();
    let page = "<html><head></head><body><script>var first_party = 1;";
    assert_eq!(run_plain(&rw, page, 3).replacen(INJECTED, "", 1), page);
}

#[test]
fn windows_1252_pages_are_rewritten_in_their_own_charset() {
    let rw = rewriter();
    let mut page = b"<html><head><title>Caf\xe9</title><script src=\"https://static.hotjar.com/c/hotjar-1.js\"></script></head><body>\xe9t\xe9</body></html>".to_vec();
    let out = run(
        &rw,
        Coding::Identity,
        Coding::Identity,
        Some("windows-1252"),
        &page,
        5,
    );
    assert!(
        out.windows(8).any(|w| w == b"Caf\xe9</ti"),
        "é kept as one windows-1252 byte"
    );
    assert!(out.windows(11).any(|w| w == b"data-cg-src"));
    page.clear();
}

#[test]
fn pages_in_other_encodings_are_transcoded_to_utf8_and_rewritten() {
    let rw = rewriter();
    let text = "<html><head><title>Café テスト</title><script src=\"https://www.google-analytics.com/analytics.js\"></script></head></html>";
    let utf16le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    let with_bom: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    // ISO-2022-JP has no é: the page says it with a reference, as such a page would.
    let referenced = text.replace('é', "&#233;");
    let (jis, _, _) = encoding_rs::ISO_2022_JP.encode(&referenced);
    for (charset, page) in [
        (Some("utf-16le"), utf16le),
        // The BOM wins over the header.
        (Some("iso-8859-1"), with_bom.clone()),
        (None, with_bom),
        (Some("iso-2022-jp"), jis.into_owned()),
    ] {
        for chunk in [1, 7, 4096] {
            let out = run(
                &rw,
                Coding::Identity,
                Coding::Identity,
                charset,
                &page,
                chunk,
            );
            let out = String::from_utf8(out).expect("sent as UTF-8");
            assert!(
                out.contains("<title>Café テスト</title>")
                    || out.contains("<title>Caf&#233; テスト</title>"),
                "{charset:?}: {out}"
            );
            assert!(out.contains(INJECT), "{charset:?}");
            assert!(
                out.contains("data-cg-src=\"https://www.google-analytics.com/analytics.js\""),
                "{charset:?}"
            );
        }
    }
}

#[test]
fn an_unknown_charset_label_is_read_as_windows_1252_like_a_browser_does() {
    let rw = rewriter();
    let page = b"<html><head><title>Caf\xe9</title><script src=\"https://static.hotjar.com/c/hotjar-1.js\"></script></head></html>";
    for label in ["utf8mb4", "no-such-charset"] {
        let out = run(
            &rw,
            Coding::Identity,
            Coding::Identity,
            Some(label),
            page,
            5,
        );
        assert!(out.windows(8).any(|w| w == b"Caf\xe9</ti"), "{label}");
        assert!(out.windows(11).any(|w| w == b"data-cg-src"), "{label}");
    }
}

#[test]
fn output_is_the_same_on_every_run() {
    let rw = rewriter();
    let a = run(
        &rw,
        Coding::Identity,
        Coding::Gzip,
        None,
        PAGE.as_bytes(),
        7,
    );
    let b = run(
        &rw,
        Coding::Identity,
        Coding::Gzip,
        None,
        PAGE.as_bytes(),
        7,
    );
    assert_eq!(a, b);
}

#[test]
fn noscript_past_the_memory_limit_is_refused() {
    let rw = memory_limited_rewriter();
    let huge = "y".repeat(100_000);
    let page = format!(
        "<html><head></head><body><noscript><p>before</p><img data-x=\"{huge}\" src=\"/a.gif\"><p>after</p></noscript><img src=\"https://www.facebook.com/tr?id=1\"><p>end</p></body></html>"
    );
    for chunk in [7, 4096] {
        let (_, sent) = try_plain(&rw, page.as_bytes(), chunk).expect_err("refused");
        let text = String::from_utf8_lossy(&sent);
        assert!(!text.contains("facebook.com/tr"), "chunk {chunk}");
    }
}
