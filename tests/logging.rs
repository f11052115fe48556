//! What the gate writes to its log, from the real binary: one structured line per request with
//! a request id, and never a visitor's full IP address, a cookie value or a query string.

#[path = "support/upstream.rs"]
mod upstream;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

#[actix_web::test]
async fn request_logs_carry_an_id_but_no_ip_cookie_or_query() {
    let up = upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let port = upstream::closed_port();
    let admin = upstream::closed_port();
    let config = dir.path().join("gate.toml");
    std::fs::write(
        &config,
        format!(
            "[listen]\npublic = \"127.0.0.1:{port}\"\nadmin = \"127.0.0.1:{admin}\"\nworkers = 1\n\
             [upstream]\nurl = \"{}\"\n[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
             [log]\nformat = \"json\"\nlevel = \"debug\"\n",
            up.url()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .args(["serve", "--config"])
        .arg(&config)
        .env(
            "CONSENTGATE_SECRET",
            "log-test-secret-0123456789-abcdefghijk",
        )
        .env_remove("CONSENTGATE_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}");
    let mut ready = false;
    for _ in 0..100 {
        if let Ok(res) = client.get(format!("{base}/_gate/healthz")).send().await {
            ready = res.status() == 200;
            if ready {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "gate did not come up");
    let res = client
        .get(format!("{base}/echo?email=visitor%40example.org"))
        .insert_header(("x-forwarded-for", "192.0.2.123"))
        .insert_header(("cookie", "session=s3cr3t-cookie-value"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let mut log = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let _ = child.wait();

    let line = log
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("/echo"))
        .unwrap_or_else(|| panic!("no request line with id {request_id} in:\n{log}"));
    let parsed: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
    assert_eq!(parsed["fields"]["status"], 200, "{line}");
    for secret in [
        "192.0.2.123",
        "s3cr3t-cookie-value",
        "visitor%40example.org",
        "visitor@example.org",
    ] {
        assert!(!log.contains(secret), "log contains {secret}:\n{log}");
    }
}
