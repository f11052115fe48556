//! Slow and greedy clients (issue 12 point 5), through real sockets: a body trickled into a
//! gate endpoint gets 408 and its connection closed, a request head trickled on a fresh or a
//! keep-alive connection is cut off, and the connection cap is reached with a clear log line
//! while the gate keeps serving once connections free up.

mod forms_common;
mod support;

use forms_common::contact_gate;
use support::binary::GateProcess;
use support::gate::{StoreChoice, TestGate};
use support::wait;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Fast limits so a test does not wait long for the gate to give up.
const QUICK: &str =
    "[limits]\nheader_timeout = \"1s\"\nkeep_alive = \"1s\"\nbody_timeout = \"2s\"\n";

/// Send `head`, then trickle `trickle` one byte every 300 ms (until the gate stops reading);
/// returns everything the gate wrote before it closed the connection.
async fn trickle(addr: SocketAddr, head: &str, trickle: &'static [u8]) -> String {
    let sock = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = sock.into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let writer = tokio::spawn(async move {
        for byte in trickle {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
        }
        // Keep the connection open (never finish) until the gate closes it.
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(wait::DEADLINE, read.read_to_end(&mut answer)).await;
    writer.abort();
    assert!(
        closed.is_ok(),
        "the gate kept the connection open for {:?}; it wrote: {}",
        wait::DEADLINE,
        String::from_utf8_lossy(&answer)
    );
    String::from_utf8_lossy(&answer).into_owned()
}

const BYTES: &[u8] = &[b'a'; 200];

#[actix_web::test]
async fn a_form_body_trickled_in_gets_408_and_the_connection_is_closed() {
    let gate = contact_gate("", StoreChoice::Memory)
        .config_toml(QUICK)
        .start()
        .await;
    let head = "POST /contact HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nnaam=";
    let answer = trickle(gate.public_addr, head, BYTES).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    gate.stop().await;
}

#[actix_web::test]
async fn a_consent_body_trickled_in_gets_408() {
    let gate = TestGate::new().config_toml(QUICK).start().await;
    let head = "POST /_gate/consent HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-Fetch-Site: same-origin\r\n\
                Content-Type: application/json\r\nContent-Length: 500\r\n\r\n{";
    let answer = trickle(gate.public_addr, head, BYTES).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    gate.stop().await;
}

#[actix_web::test]
async fn a_request_head_trickled_in_is_cut_off() {
    let gate = TestGate::new().config_toml(QUICK).start().await;
    let answer = trickle(
        gate.public_addr,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",
        BYTES,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    gate.stop().await;
}

#[actix_web::test]
async fn a_head_trickled_in_on_a_keep_alive_connection_is_cut_off_too() {
    let gate = TestGate::new().config_toml(QUICK).start().await;
    // One quick request first: actix times out only a connection's first head by itself.
    let quick = "GET /_gate/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let slow = "GET /_gate/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let answer = trickle(gate.public_addr, &format!("{quick}{slow}"), BYTES).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    gate.stop().await;
}

#[actix_web::test]
async fn the_connection_cap_is_logged_and_waiting_connections_are_served_later() {
    let gate = GateProcess::serve(
        "[upstream]\nurl = \"http://127.0.0.1:9/\"\n\
         [limits]\nmax_connections = 2\nheader_timeout = \"60s\"\n",
    )
    .await;
    let addr: SocketAddr = format!("127.0.0.1:{}", gate.public_port).parse().unwrap();
    // Two connections that never finish their request hold the cap.
    let mut holders = Vec::new();
    for _ in 0..2 {
        let mut sock = TcpStream::connect(addr).await.unwrap();
        sock.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        holders.push(sock);
    }
    let line = gate
        .wait_for_line("the connection cap warning", |l| {
            l.contains("WARN") && l.contains("connection cap")
        })
        .await;
    assert!(line.contains("limits.max_connections"), "{line}");
    // A third visitor waits in the backlog and is served once a holder leaves.
    let waiting = tokio::spawn(async move {
        let mut sock = TcpStream::connect(addr).await.unwrap();
        sock.write_all(
            b"GET /_gate/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut answer = String::new();
        sock.read_to_string(&mut answer).await.unwrap();
        answer
    });
    drop(holders);
    let answer = tokio::time::timeout(wait::DEADLINE, waiting)
        .await
        .expect("the waiting visitor is served")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    gate.kill();
}
