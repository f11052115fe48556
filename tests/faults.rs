//! Faults around the gate (issue 12 point 10), each through real sockets with what a visitor
//! sees asserted: Redis killed and restarted under load (pages keep loading with trackers
//! blocked, consent and form posts get 503 with Retry-After while it is down and succeed after,
//! and nothing is acknowledged that was not stored); an upstream that resets mid-body, answers
//! garbage, breaks its chunked encoding or stalls; a store slower than `store.timeout`.

mod rewrite_support;
mod support;

use support::gate::{RunningTestGate, StoreChoice, TestGate};
use support::redis::RedisServer;
use support::{upstream, wait};

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use consentgate::forms::token::FillToken;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FORM: &str = "[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/thanks\"\n\
    rate_limit_max = 0\n[[forms.fields]]\nname = \"bericht\"\ntype = \"textarea\"\nrequired = true\n\
    [consent]\nrate_limit = { max = 0, window = \"1m\" }\n";

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(20))
        .disable_redirects()
        .finish()
}

/// What the visitor got for one consent or form post.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    retry_after: Option<String>,
    /// The receipt or entry id the answer acknowledges.
    id: Option<String>,
}

async fn post_json(req: awc::ClientRequest, body: awc::body::BoxBody) -> Answer {
    let mut res = match req.send_body(body).await {
        Ok(res) => res,
        Err(e) => panic!("the gate did not answer: {e}"),
    };
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = res.body().limit(1 << 20).await.unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Answer {
        status: res.status().as_u16(),
        retry_after,
        id: json["id"].as_str().map(str::to_owned),
    }
}

async fn decide(gate: &RunningTestGate, texts_hash: &str) -> Answer {
    let body =
        serde_json::json!({"action": "accept_all", "language": "nl", "texts_hash": texts_hash});
    post_json(
        client()
            .post(gate.url("/_gate/consent"))
            .insert_header(("origin", gate.origin()))
            .insert_header(("content-type", "application/json")),
        awc::body::BoxBody::new(body.to_string()),
    )
    .await
}

fn fresh_token(gate: &RunningTestGate) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    FillToken::new(gate.keys().form_token).issue("contact", now - 60_000)
}

async fn submit(gate: &RunningTestGate) -> Answer {
    let body = format!("bericht=hallo&cg_t={}", fresh_token(gate));
    post_json(
        client()
            .post(gate.url("/contact"))
            .insert_header(("accept", "application/json"))
            .insert_header(("content-type", "application/x-www-form-urlencoded")),
        awc::body::BoxBody::new(body),
    )
    .await
}

/// A page with trackers through the gate: it must load, with every tracker inert.
async fn page_with_trackers_blocked(gate: &RunningTestGate) -> Result<(), String> {
    let mut res = client()
        .get(gate.url("/tracker.html"))
        .insert_header(("accept-encoding", "identity"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body = res.body().limit(4 << 20).await.map_err(|e| e.to_string())?;
    let page = String::from_utf8_lossy(&body);
    let (live, _) = rewrite_support::inspect(&page);
    if res.status() != 200 || !live.is_empty() || !page.contains("data-cg-src=") {
        return Err(format!("{}: live {live:?}", res.status()));
    }
    Ok(())
}

#[derive(Default)]
struct Load {
    pages: Vec<Result<(), String>>,
    decisions: Vec<Answer>,
    submissions: Vec<Answer>,
}

#[actix_web::test]
async fn redis_killed_and_restarted_under_load_pages_load_posts_503_then_succeed_nothing_acknowledged_is_lost(
) {
    let mut redis = RedisServer::durable();
    let up = upstream::start();
    let gate = Arc::new(
        TestGate::new()
            .upstream(&up.url())
            .store(StoreChoice::Redis(redis.url()))
            .config_toml(&format!("{FORM}[store]\ntimeout = \"500ms\"\n"))
            .start()
            .await,
    );
    let texts_hash = gate.texts_hash("nl");
    let load = Arc::new(Mutex::new(Load::default()));
    let running = Arc::new(AtomicBool::new(true));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (gate, load, running, texts_hash) = (
                gate.clone(),
                load.clone(),
                running.clone(),
                texts_hash.clone(),
            );
            actix_web::rt::spawn(async move {
                // Bounded: the test stops it, and no run goes past 2 000 rounds.
                for _ in 0..2_000 {
                    if !running.load(Ordering::SeqCst) {
                        break;
                    }
                    let page = page_with_trackers_blocked(&gate).await;
                    let decision = decide(&gate, &texts_hash).await;
                    let submission = submit(&gate).await;
                    let mut load = load.lock().unwrap();
                    load.pages.push(page);
                    load.decisions.push(decision);
                    load.submissions.push(submission);
                }
            })
        })
        .collect();
    let count = |status: u16| {
        let load = load.lock().unwrap();
        (
            load.decisions.iter().filter(|a| a.status == status).count(),
            load.submissions
                .iter()
                .filter(|a| a.status == status)
                .count(),
        )
    };
    wait::until_true("posts to succeed under load", wait::DEADLINE, || {
        let (d, s) = count(200);
        d > 3 && s > 3
    })
    .await;
    redis.stop();
    wait::until_true(
        "posts to be refused while Redis is down",
        wait::DEADLINE,
        || {
            let (d, s) = count(503);
            d > 3 && s > 3
        },
    )
    .await;
    let before = count(200);
    redis.start();
    wait::until_true(
        "posts to succeed again after the restart",
        wait::DEADLINE,
        || {
            let (d, s) = count(200);
            d > before.0 + 3 && s > before.1 + 3
        },
    )
    .await;
    running.store(false, Ordering::SeqCst);
    for w in workers {
        w.await.unwrap();
    }

    let load = std::mem::take(&mut *load.lock().unwrap());
    let broken: Vec<&String> = load.pages.iter().filter_map(|p| p.as_ref().err()).collect();
    assert!(
        broken.is_empty(),
        "pages failed during the outage: {broken:?}"
    );
    for (what, answers) in [
        ("decision", &load.decisions),
        ("submission", &load.submissions),
    ] {
        for a in answers.iter() {
            match a.status {
                200 => assert!(a.id.is_some(), "a {what} acknowledged without an id: {a:?}"),
                503 => assert!(a.retry_after.is_some(), "a {what} 503 without Retry-After"),
                other => panic!("a {what} answered {other}: {a:?}"),
            }
        }
    }
    // Every acknowledgement stands for a stored record, also those given just before the kill.
    for a in load.decisions.iter().filter(|a| a.status == 200) {
        let id = a.id.as_deref().unwrap();
        let record = gate.consent().record_of(id).await.unwrap();
        assert!(
            record.is_some(),
            "decision {id} was acknowledged but is not stored"
        );
    }
    let forms = gate.forms();
    for a in load.submissions.iter().filter(|a| a.status == 200) {
        let id = a.id.as_deref().unwrap();
        let entry = forms.get("contact", id).await.unwrap();
        assert!(
            entry.is_some(),
            "entry {id} was acknowledged but is not stored"
        );
    }
}

/// What a raw upstream does with each request it reads.
#[derive(Clone, Copy)]
enum Misbehaviour {
    /// Sends its head and part of the announced body, then resets the connection (RST).
    ResetMidBody { html: bool },
    /// Answers bytes that are not HTTP.
    Garbage(&'static [u8]),
    /// A chunked body whose connection closes in the middle of a chunk.
    CutMidChunk { html: bool },
    /// A chunk-size line that is not a number.
    BadChunkSize,
    /// Reads the request and never answers.
    Stall,
}

const HEAD_HTML: &str = "<!DOCTYPE html><html><head><script async src=\"https://www.googletagmanager.com/gtag/js?id=G-CUT\"></script></head><body><p>";

async fn misbehave(mut sock: TcpStream, how: Misbehaviour) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let kind = |html: bool| {
        if html {
            "text/html"
        } else {
            "application/octet-stream"
        }
    };
    match how {
        Misbehaviour::ResetMidBody { html } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: 100000\r\n\r\n",
                kind(html)
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(HEAD_HTML.as_bytes()).await;
            let _ = sock.write_all(&[b'x'; 20_000]).await;
            let _ = sock.flush().await;
            // Linger 0: closing sends RST instead of FIN.
            let _ = sock.set_zero_linger();
            drop(sock);
        }
        Misbehaviour::Garbage(bytes) => {
            let _ = sock.write_all(bytes).await;
            let _ = sock.shutdown().await;
        }
        Misbehaviour::CutMidChunk { html } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                kind(html)
            );
            let _ = sock.write_all(head.as_bytes()).await;
            // A chunk of 0x2000 bytes announced, a few hundred sent, then a clean close.
            let _ = sock
                .write_all(format!("2000\r\n{HEAD_HTML}hallo").as_bytes())
                .await;
            let _ = sock.shutdown().await;
        }
        Misbehaviour::BadChunkSize => {
            let _ = sock
                .write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{HEAD_HTML}\r\n0\r\n\r\n"
                    )
                    .as_bytes(),
                )
                .await;
            let _ = sock.shutdown().await;
        }
        Misbehaviour::Stall => {
            std::future::pending::<()>().await;
        }
    }
}

/// A loopback upstream that misbehaves `how` on every connection (at most 64).
async fn misbehaving_site(how: Misbehaviour) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(misbehave(sock, how));
        }
    });
    addr
}

async fn gate_before(how: Misbehaviour, toml: &str) -> RunningTestGate {
    let addr = misbehaving_site(how).await;
    TestGate::new()
        .upstream(&format!("http://{addr}"))
        .config_toml(toml)
        .start()
        .await
}

/// The gate's JSON error code for a GET of `/`, or what went wrong reading the answer.
async fn error_code(gate: &RunningTestGate) -> (u16, String) {
    let mut res = client()
        .get(gate.url("/"))
        .insert_header(("accept", "application/json"))
        .send()
        .await
        .unwrap();
    let body = res.body().await.unwrap();
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (
        res.status().as_u16(),
        json["error"].as_str().unwrap_or("").to_owned(),
    )
}

/// The gate still answers (its own health check) after a fault.
async fn still_up(gate: &RunningTestGate) {
    let res = client()
        .get(gate.url("/_gate/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the gate stays up");
}

/// Raw bytes of a GET of `/` on a connection of its own (so a cut transfer is visible).
async fn raw_get(gate: &RunningTestGate) -> Vec<u8> {
    let mut sock = TcpStream::connect(gate.public_addr).await.unwrap();
    sock.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(15), sock.read_to_end(&mut out)).await;
    out
}

#[actix_web::test]
async fn an_upstream_reset_mid_page_gives_the_502_page_never_part_of_it() {
    let gate = gate_before(Misbehaviour::ResetMidBody { html: true }, "").await;
    assert_eq!(error_code(&gate).await, (502, "upstream_incomplete".into()));
    let raw = String::from_utf8_lossy(&raw_get(&gate).await).into_owned();
    assert!(!raw.contains("googletagmanager"), "{raw}");
    still_up(&gate).await;
}

#[actix_web::test]
async fn an_upstream_reset_mid_download_cuts_the_visitors_transfer_too() {
    let gate = gate_before(Misbehaviour::ResetMidBody { html: false }, "").await;
    let raw = raw_get(&gate).await;
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&raw[..head_end]);
    // Where the reset overtakes the body (the kernel drops what the gate had not read yet),
    // the gate has nothing to send and answers 502 or closes before its head went out; where
    // part of the body came first, the head goes out and the transfer is cut.
    if head.starts_with("HTTP/1.1 200") {
        assert!(
            head.to_ascii_lowercase().contains("content-length: 100000"),
            "{head}"
        );
        assert!(
            raw.len() - head_end < 100_000,
            "the visitor must not get a body that looks complete"
        );
    } else {
        assert!(raw.is_empty() || head.starts_with("HTTP/1.1 502"), "{head}");
    }
    still_up(&gate).await;
}

#[actix_web::test]
async fn an_upstream_answering_garbage_gives_502() {
    for garbage in [
        &b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x01\x02"[..],
        &b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\nhello"[..],
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
    ] {
        let gate = gate_before(Misbehaviour::Garbage(garbage), "").await;
        assert_eq!(
            error_code(&gate).await,
            (502, "upstream_unreachable".into()),
            "{}",
            String::from_utf8_lossy(garbage)
        );
        still_up(&gate).await;
    }
}

#[actix_web::test]
async fn a_chunked_page_cut_mid_chunk_is_detected_and_never_served_as_whole() {
    // Read whole (the rewrite memo): the 502 page.
    let gate = gate_before(Misbehaviour::CutMidChunk { html: true }, "").await;
    assert_eq!(error_code(&gate).await, (502, "upstream_incomplete".into()));
    // Streamed (memo off): the transfer breaks off without the last chunk.
    let gate = gate_before(
        Misbehaviour::CutMidChunk { html: true },
        "[limits]\nrewrite_memo_bytes = 0\n",
    )
    .await;
    let raw = String::from_utf8_lossy(&raw_get(&gate).await).into_owned();
    assert!(
        !raw.ends_with("0\r\n\r\n"),
        "a page cut upstream must not end with the last chunk:\n{raw}"
    );
    // Not a page: passed on as it comes, and cut the same way.
    let gate = gate_before(Misbehaviour::CutMidChunk { html: false }, "").await;
    let raw = String::from_utf8_lossy(&raw_get(&gate).await).into_owned();
    // A head that went out before the cut was seen, or none at all: never a whole body.
    assert!(
        raw.is_empty() || raw.starts_with("HTTP/1.1 200") || raw.starts_with("HTTP/1.1 502"),
        "{raw}"
    );
    assert!(!raw.ends_with("0\r\n\r\n"), "{raw}");
    still_up(&gate).await;
}

#[actix_web::test]
async fn a_broken_chunk_size_gives_the_502_page() {
    let gate = gate_before(Misbehaviour::BadChunkSize, "").await;
    let (status, code) = error_code(&gate).await;
    assert_eq!(status, 502, "{code}");
    still_up(&gate).await;
}

#[actix_web::test]
async fn a_stalled_upstream_gives_504() {
    let gate = gate_before(
        Misbehaviour::Stall,
        "[upstream]\nresponse_timeout = \"1s\"\n",
    )
    .await;
    assert_eq!(error_code(&gate).await, (504, "upstream_timeout".into()));
    still_up(&gate).await;
}

/// A TCP relay in front of a Redis server that holds every reply back by `delay` while `slow`
/// is set (requests pass at once; replies keep their order).
async fn slow_relay(redis: SocketAddr, slow: Arc<AtomicBool>, delay: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let Ok(server) = TcpStream::connect(redis).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
            });
            let slow = slow.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match server_read.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    if slow.load(Ordering::SeqCst) {
                        tokio::time::sleep(delay).await;
                    }
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[actix_web::test]
async fn a_store_slower_than_its_timeout_gives_503_pages_keep_loading_and_it_recovers() {
    let redis = RedisServer::new();
    let slow = Arc::new(AtomicBool::new(false));
    let relay = slow_relay(
        format!("127.0.0.1:{}", redis.port()).parse().unwrap(),
        slow.clone(),
        Duration::from_secs(2),
    )
    .await;
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .store(StoreChoice::Redis(format!("redis://{relay}/")))
        .config_toml(&format!("{FORM}[store]\ntimeout = \"300ms\"\n"))
        .start()
        .await;
    let texts_hash = gate.texts_hash("nl");
    assert_eq!(decide(&gate, &texts_hash).await.status, 200);

    slow.store(true, Ordering::SeqCst);
    let refused = decide(&gate, &texts_hash).await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert!(refused.retry_after.is_some());
    let refused = submit(&gate).await;
    assert_eq!(
        refused.status, 503,
        "no thank-you for what the store did not confirm"
    );
    assert!(refused.retry_after.is_some());
    page_with_trackers_blocked(&gate).await.unwrap();

    slow.store(false, Ordering::SeqCst);
    wait::until("decisions to be stored again", wait::DEADLINE, || async {
        decide(&gate, &texts_hash).await.status == 200
    })
    .await;
    let stored = submit(&gate).await;
    assert_eq!(stored.status, 200, "{stored:?}");
    let id = stored.id.unwrap();
    assert!(gate.forms().get("contact", &id).await.unwrap().is_some());
}
