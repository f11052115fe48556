//! The checks the fuzz targets run, one function per target, shared by the cargo-fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, nightly) and by `tests/fuzz_corpora.rs`, which replays every
//! corpus file through the same function once on stable. Each check panics when the property
//! it states is broken; the input is arbitrary bytes.
//!
//! The rewrite check reuses the rewrite tests' oracle (`tests/rewrite_support`), which reads
//! HTML with its own, plain markers — independent of the gate's catalogue.
#![allow(dead_code)]

#[path = "../../tests/rewrite_support/mod.rs"]
pub mod rewrite_support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use consentgate::config::Config;
use consentgate::consent::{ConsentCookie, CookieCodec};
use consentgate::forms::parse::{body_kind, parse, BodyKind};
use consentgate::keys::Key;
use consentgate::privacy::resolve_client_ip;
use consentgate::rewrite::{scan_document, Action, BodyRewriter, Coding, Rewriter};
use consentgate::trackers::Catalogue;
use futures_util::FutureExt;
use ipnet::IpNet;

/// Known tracker elements, each with a marker the oracle's description of it will carry. One
/// is put into the fuzzed page at a fuzzed offset: wherever the oracle reads it as a live
/// tracker in the input, it must not be live in the output.
const CANARIES: &[&str] = &[
    "<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-FUZZCANARY\"></script>",
    "<img src=\"https://www.facebook.com/tr?id=FUZZCANARY&ev=PageView\">",
    "<script>gtag('config', 'G-FUZZCANARY');</script>",
    "<iframe src=\"https://www.googletagmanager.com/ns.html?id=GTM-FUZZCANARY\"></iframe>",
    "<script src=\"//static.hotjar.com/c/hotjar-FUZZCANARY.js?sv=6\"></script>",
];
const CANARY_MARK: &str = "FUZZCANARY";

fn rewriter() -> &'static Rewriter {
    static RW: OnceLock<Rewriter> = OnceLock::new();
    RW.get_or_init(rewrite_support::rewriter)
}

/// The page through the gate's streaming rewriter, fed in the given pieces; `None` when the
/// rewriter refuses the page (fail closed: the gate then delivers none of it). The charset is
/// fixed (as a Content-Type would say) so the oracle, which reads UTF-8, reads the same text.
fn rewrite_in(pieces: &[&[u8]]) -> Option<Vec<u8>> {
    let mut body = BodyRewriter::new(
        rewriter(),
        Coding::Identity,
        Coding::Identity,
        Some("utf-8"),
    );
    let mut out = Vec::new();
    for piece in pieces {
        out.extend_from_slice(&body.push(piece).ok()?);
    }
    out.extend_from_slice(&body.finish().ok()?);
    Some(out)
}

/// Whether an oracle finding is the canary on an element a browser fetches for. The oracle
/// counts a tracker URL in `src` on any element; a canary put in the middle of a tag becomes
/// part of a made-up element (`<h<iframe src=…>` is an element named `h<iframe`), which no
/// browser fetches for and the gate rightly leaves alone.
fn is_live_canary(finding: &str) -> bool {
    const FETCHING: &[&str] = &[
        "script", "img", "iframe", "frame", "embed", "object", "video", "audio", "source", "track",
        "input", "link", "image", "use", "body", "table", "td", "th",
    ];
    if !finding.contains(CANARY_MARK) {
        return false;
    }
    match finding.split_once(": <") {
        Some((_, element)) => {
            let tag = element.split([' ', '>']).next().unwrap_or("");
            FETCHING.contains(&tag.to_ascii_lowercase().as_str())
        }
        // Not an element's attribute: inline script text, a style sheet, a srcdoc.
        None => true,
    }
}

/// Pieces of `html` with lengths taken from `plan` (1–64 bytes each, cycling).
fn pieces<'h>(html: &'h [u8], plan: &[u8]) -> Vec<&'h [u8]> {
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < html.len() {
        let len = plan
            .get(i % plan.len().max(1))
            .map_or(7, |b| 1 + (*b as usize % 64));
        let end = (at + len).min(html.len());
        out.push(&html[at..end]);
        at = end;
        i += 1;
    }
    out
}

/// The rewriter over arbitrary bytes and chunkings: it never panics; the output does not
/// depend on how the body was cut; no tracker the oracle reads as live in the input is live in
/// the output (a canary tracker is put in at a fuzzed place to make sure there is one), nothing
/// live comes out that was not live going in; and the gate's own scan of its output finds
/// nothing more to neutralise.
pub fn rewrite(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let (plan_len, canary) = (
        (control >> 4) as usize,
        CANARIES[control as usize % CANARIES.len()],
    );
    let (plan, html) = rest.split_at(plan_len.min(rest.len()));
    let at = plan.first().map_or(0, |b| *b as usize * html.len() / 255);
    // At a char boundary of the text the oracle reads, so the canary stays whole.
    let text = String::from_utf8_lossy(html);
    let at = (0..=at.min(text.len()))
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let input = format!("{}{canary}{}", &text[..at], &text[at..]);

    let whole = rewrite_in(&[input.as_bytes()]);
    let cut = rewrite_in(&pieces(input.as_bytes(), plan));
    assert!(
        whole == cut,
        "the output depends on the chunking\n--- whole:\n{:?}\n--- cut:\n{:?}",
        whole.as_deref().map(String::from_utf8_lossy),
        cut.as_deref().map(String::from_utf8_lossy)
    );
    // A refused page is never delivered: nothing of it can be live.
    let Some(whole) = whole else {
        return;
    };
    let output = String::from_utf8_lossy(&whole);
    let (live_in, _) = rewrite_support::inspect(&input);
    let (live_out, _) = rewrite_support::inspect(&output);
    if live_in.iter().any(|l| is_live_canary(l)) {
        let still: Vec<&String> = live_out.iter().filter(|l| is_live_canary(l)).collect();
        assert!(
            still.is_empty(),
            "tracker live after rewriting: {still:?}\n--- input:\n{input}\n--- output:\n{output}"
        );
    }
    // Compared without their line numbers: the injected tags and rewritten elements move lines.
    let unlined = |l: &String| {
        l.split_once(": ")
            .map_or(l.clone(), |(_, rest)| rest.to_owned())
    };
    let mut unmatched: BTreeMap<String, usize> = BTreeMap::new();
    for l in &live_in {
        *unmatched.entry(unlined(l)).or_default() += 1;
    }
    for l in &live_out {
        let left = unmatched.entry(unlined(l)).or_default();
        assert!(
            *left > 0,
            "rewriting made a tracker live: {l}\n--- input:\n{input}\n--- output:\n{output}"
        );
        *left -= 1;
    }
    let again: Vec<_> = scan_document(rewriter(), whole.as_slice())
        .unwrap_or_else(|e| {
            panic!("the rewritten page cannot be scanned: {e}\n--- output:\n{output}")
        })
        .into_iter()
        .filter(|f| f.action == Action::Neutralised)
        .collect();
    assert!(
        again.is_empty(),
        "the rewritten page still has trackers to neutralise: {again:?}\n--- input:\n{input}\n--- output:\n{output}"
    );
}

fn catalogue() -> &'static Catalogue {
    static CAT: OnceLock<Catalogue> = OnceLock::new();
    CAT.get_or_init(Catalogue::builtin)
}

/// The URL/host matcher: never panics, and whenever a browser would contact a catalogue host
/// (the attribute's character references decoded, the URL parsed per WHATWG against a page
/// URL — computed here with htmlize and the url crate, not the matcher's code path) the
/// matcher names a vendor. Its fast prefilter must not let such a URL through.
pub fn url_matcher(data: &[u8]) {
    let url = String::from_utf8_lossy(data);
    let found = catalogue().vendor_for_url(&url);
    let decoded = htmlize::unescape_attribute(url.as_ref());
    let Ok(target) = url::Url::parse("https://page.example/dir/").and_then(|p| p.join(&decoded))
    else {
        return;
    };
    if !matches!(target.scheme(), "http" | "https") {
        return;
    }
    let Some(host) = target.host_str() else {
        return;
    };
    let host = host.trim_end_matches('.');
    let path = target.path();
    let hit = catalogue().vendors().iter().find(|v| {
        v.hosts.iter().any(|rule| {
            let on_label = host == rule.host
                || host
                    .strip_suffix(rule.host.as_str())
                    .is_some_and(|rest| rest.ends_with('.'));
            on_label
                && rule.path_prefix.as_deref().is_none_or(|prefix| {
                    path.strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
        })
    });
    if let Some(vendor) = hit {
        assert!(
            found.is_some(),
            "{url:?} goes to {target} ({}), but the matcher found no vendor",
            vendor.id
        );
    }
}

fn codec() -> CookieCodec {
    CookieCodec::new(
        Key([7; 32]),
        std::time::Duration::from_secs(86_400 * 180),
        3,
        vec![
            "analytics".into(),
            "marketing".into(),
            "marketing-email".into(),
        ],
    )
}

/// The consent cookie codec: any value decodes or is refused without panicking; a cookie the
/// gate encodes decodes to the same decision; and no change of one byte of a signed cookie is
/// accepted as a different decision.
pub fn consent_cookie(data: &[u8]) {
    let codec = codec();
    let text = String::from_utf8_lossy(data);
    let _ = codec.decode(&text, 1_800_000_000);
    let _ = codec.receipt_id(&text);
    if data.len() < 12 {
        return;
    }
    let known = ["analytics", "marketing", "marketing-email"];
    let id: String = data[..6]
        .iter()
        .map(|b| {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            alphabet[*b as usize % alphabet.len()] as char
        })
        .collect();
    let granted: Vec<String> = known
        .iter()
        .enumerate()
        .filter(|(i, _)| data[6] & (1 << i) != 0)
        .map(|(_, c)| c.to_string())
        .collect();
    let issued = u64::from(u32::from_le_bytes([data[7], data[8], data[9], data[10]]));
    let decision = ConsentCookie {
        id,
        granted,
        revision: 3,
        issued,
    };
    let value = codec.encode(&decision);
    assert_eq!(
        codec.decode(&value, issued),
        Ok(decision.clone()),
        "{value}"
    );
    let mut forged = value.clone().into_bytes();
    let at = data[11] as usize % forged.len();
    let with = data.get(12).copied().unwrap_or(b'A');
    if forged[at] == with {
        return;
    }
    forged[at] = with;
    let forged = String::from_utf8_lossy(&forged);
    if let Ok(other) = codec.decode(&forged, issued) {
        assert_eq!(other, decision, "{forged} was accepted as another decision");
    }
}

/// The form parsers: any body and Content-Type is parsed or refused without panicking; what
/// is read from an urlencoded body reads back the same after encoding it again; a multipart
/// body never yields a field with a file.
pub fn form_body(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let (content_type, body) = match control % 4 {
        0 => ("application/x-www-form-urlencoded".to_owned(), rest),
        1 => ("multipart/form-data; boundary=XyZ".to_owned(), rest),
        // The Content-Type itself from the input, up to the first newline.
        _ => {
            let split = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            let (ct, body) = rest.split_at(split);
            (String::from_utf8_lossy(ct).into_owned(), body)
        }
    };
    let Ok(kind) = body_kind(Some(&content_type)) else {
        return;
    };
    let parsed = parse(&kind, Bytes::copy_from_slice(body))
        .now_or_never()
        .expect("a body in memory is parsed without waiting");
    if let (BodyKind::UrlEncoded, Ok(pairs)) = (&kind, &parsed) {
        let again = serde_urlencoded::to_string(pairs).expect("pairs of strings encode");
        let reread = parse(&kind, Bytes::from(again.clone()))
            .now_or_never()
            .expect("a body in memory is parsed without waiting");
        assert_eq!(reread.as_ref(), Ok(pairs), "{again}");
    }
}

fn trusted() -> Vec<IpNet> {
    ["127.0.0.0/8", "10.0.0.0/8", "fd00::/8"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}

fn resolve(peer: IpAddr, header: &HeaderName, value: &[u8]) -> Option<IpAddr> {
    let value = HeaderValue::from_bytes(value).ok()?;
    let mut headers = HeaderMap::new();
    headers.insert(header.clone(), value);
    Some(resolve_client_ip(peer, &headers, &trusted(), header))
}

/// The client-address parser (`X-Forwarded-For`, RFC 7239 `Forwarded`): never panics; an
/// untrusted peer is always its own address, whatever it sends; and once a visitor's address
/// is found, neither another trusted proxy appended on the right nor anything the visitor
/// prepends on the left changes it.
pub fn client_address(data: &[u8]) {
    let Some((&control, value)) = data.split_first() else {
        return;
    };
    let header = if control & 1 == 0 {
        HeaderName::from_static("x-forwarded-for")
    } else {
        HeaderName::from_static("forwarded")
    };
    let untrusted: IpAddr = [198, 51, 100, 7].into();
    if let Some(got) = resolve(untrusted, &header, value) {
        assert_eq!(got, untrusted, "an untrusted peer picked its address");
    }
    let proxy: IpAddr = [127, 0, 0, 1].into();
    let Some(client) = resolve(proxy, &header, value) else {
        return;
    };
    if trusted().iter().any(|n| n.contains(&client)) {
        return;
    }
    let (hop, spoof) = if header == "forwarded" {
        (&b", for=10.9.8.7"[..], &b"for=192.0.2.66, "[..])
    } else {
        (&b", 10.9.8.7"[..], &b"192.0.2.66, "[..])
    };
    let appended = [value, hop].concat();
    if let Some(again) = resolve(proxy, &header, &appended) {
        assert_eq!(
            again, client,
            "a trusted hop on the right changed the visitor"
        );
    }
    let prepended = [spoof, value].concat();
    if let Some(again) = resolve(proxy, &header, &prepended) {
        assert_eq!(
            again, client,
            "a hop the visitor wrote on the left changed them"
        );
    }
}

/// The config loader: any text is loaded or refused without panicking, every problem names a
/// key and says something, and loading is deterministic.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let env: BTreeMap<String, String> = [(
        "CONSENTGATE_SECRET".to_owned(),
        "fuzz-secret-0123456789-abcdefghijklmnop".to_owned(),
    )]
    .into();
    let first = Config::from_toml(&text, &env);
    if let Err(e) = &first {
        for p in &e.0 {
            assert!(!p.key.is_empty() && !p.message.is_empty(), "{p:?}");
        }
    }
    let second = Config::from_toml(&text, &env);
    assert_eq!(
        first.as_ref().err(),
        second.as_ref().err(),
        "the same text gave different problems"
    );
}

/// One fuzz check: panics when its property is broken.
pub type Check = fn(&[u8]);

/// Every check, by the name of its target and corpus directory.
pub const TARGETS: &[(&str, Check)] = &[
    ("rewrite", rewrite),
    ("url_matcher", url_matcher),
    ("consent_cookie", consent_cookie),
    ("form_body", form_body),
    ("client_address", client_address),
    ("config", config),
];
