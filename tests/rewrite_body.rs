//! BodyRewriter as the proxy uses it: compressed upstream bodies, re-encoding for the client,
//! character sets, memory limits and failures mid-stream (never a truncated page).

mod rewrite_support;

use std::io::{Read, Write};
use std::sync::Arc;

use consentgate::rewrite::{rewrite_document, BodyRewriter, Coding, RewriteSettings, Rewriter};
use consentgate::trackers::Catalogue;
use rewrite_support::{rewriter, INJECT};

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
    }
    out
}

fn run(
    rw: &Rewriter,
    upstream: Coding,
    client: Coding,
    charset: Option<&str>,
    wire: &[u8],
    chunk: usize,
) -> Vec<u8> {
    let mut body = BodyRewriter::new(rw, upstream, client, charset);
    let mut out = Vec::new();
    for piece in wire.chunks(chunk) {
        out.extend_from_slice(&body.push(piece));
    }
    out.extend_from_slice(&body.finish());
    out
}

/// lol_html limited to 16 KiB, so large markup makes it give up mid-page.
fn memory_limited_rewriter() -> Rewriter {
    Rewriter::new(
        Arc::new(Catalogue::builtin()),
        RewriteSettings {
            inject_head_html: INJECT.to_owned(),
            max_memory: 16 * 1024,
            ..RewriteSettings::default()
        },
    )
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
    let expected = rewrite_document(&rw, PAGE.as_bytes());
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
    for upstream in all {
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
fn corrupt_gzip_mid_stream_does_not_panic_and_keeps_what_was_decoded() {
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
    let out = run(&rw, Coding::Gzip, Coding::Identity, None, &wire, 1000);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("<!DOCTYPE html><html><head>"),
        "{:.200}",
        text
    );
    assert!(text.contains(INJECT));
    assert!(
        text.contains("data-cg-src"),
        "trackers before the damage are still neutralised"
    );
}

#[test]
fn page_past_the_memory_limit_passes_through_whole_after_the_rewritten_part() {
    let rw = memory_limited_rewriter();
    // A start tag far larger than the memory limit forces lol_html to give up mid-page.
    let huge = format!(r#"<div data-x="{}">"#, "x".repeat(200_000));
    let page = format!(
        "<html><head><script src=\"https://connect.facebook.net/en_US/fbevents.js\"></script></head><body>{huge}</div><p>the end</p></body></html>"
    );
    for chunk in [7, 4096, 1 << 20] {
        let text = run_plain(&rw, &page, chunk);
        assert!(
            text.ends_with("<p>the end</p></body></html>"),
            "chunk {chunk}: page truncated"
        );
        assert!(
            text.contains(&huge),
            "chunk {chunk}: the big element was lost"
        );
        assert!(
            text.contains(r#"data-cg-src="https://connect.facebook.net/en_US/fbevents.js""#),
            "chunk {chunk}"
        );
    }
}

#[test]
fn inline_script_longer_than_the_bound_streams_through_unchanged() {
    let rw = Rewriter::new(
        Arc::new(Catalogue::builtin()),
        RewriteSettings {
            inject_head_html: INJECT.to_owned(),
            inline_script_max: 1024,
            ..RewriteSettings::default()
        },
    );
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
fn unclosed_script_at_the_end_of_the_page_is_not_lost() {
    let rw = rewriter();
    let page = "<html><head></head><body><script>var first_party = 1;";
    assert_eq!(run_plain(&rw, page, 3).replacen(INJECT, "", 1), page);
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
fn unsupported_charsets_pass_through_untouched() {
    let rw = rewriter();
    let page: Vec<u8> = "<html><head><script src=\"https://www.google-analytics.com/analytics.js\"></script></head></html>"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    for charset in ["utf-16le", "iso-2022-jp", "no-such-charset"] {
        let out = run(
            &rw,
            Coding::Identity,
            Coding::Identity,
            Some(charset),
            &page,
            7,
        );
        assert_eq!(out, page, "{charset}");
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
fn noscript_past_the_memory_limit_passes_through_whole() {
    let rw = memory_limited_rewriter();
    let huge = "y".repeat(100_000);
    let page = format!(
        "<html><head></head><body><noscript><p>before</p><img data-x=\"{huge}\" src=\"/a.gif\"><p>after</p></noscript><img src=\"https://www.facebook.com/tr?id=1\"><p>end</p></body></html>"
    );
    for chunk in [7, 4096, 1 << 20] {
        let text = run_plain(&rw, &page, chunk);
        assert!(
            text.contains(&huge) && text.contains("<p>after</p></noscript>"),
            "chunk {chunk}"
        );
        assert!(text.ends_with("<p>end</p></body></html>"), "chunk {chunk}");
        assert!(
            text.contains(r#"data-cg-src="https://www.facebook.com/tr?id=1""#),
            "chunk {chunk}: rewriting resumes after the noscript"
        );
    }
}
