//! What the gate writes to its log, from the real binary: one structured line per request with
//! a request id, and never a visitor's full IP address, a cookie value or a query string.

mod support;

use support::{upstream, wait};

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// The gate process; killed when the test ends, also when it fails half-way.
struct Gate(Child);

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Collects everything `stream` writes, line by line, into `log` until it closes.
fn collect(stream: impl Read + Send + 'static, log: &Arc<Mutex<String>>) -> JoinHandle<()> {
    let log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    })
}

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
    let mut child = Gate(
        Command::new(env!("CARGO_BIN_EXE_consentgate"))
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
            .unwrap(),
    );
    let log = Arc::new(Mutex::new(String::new()));
    let readers = [
        collect(child.0.stdout.take().unwrap(), &log),
        collect(child.0.stderr.take().unwrap(), &log),
    ];
    let client = awc::Client::default();
    let base = format!("http://127.0.0.1:{port}");
    wait::until("the gate to come up", wait::DEADLINE, || async {
        let res = client.get(format!("{base}/_gate/healthz")).send().await;
        res.is_ok_and(|r| r.status() == 200)
    })
    .await;
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
    let logged = |l: &str| l.contains(&request_id) && l.contains("/echo");
    wait::until_true("the request's log line", wait::DEADLINE, || {
        log.lock().unwrap().lines().any(logged)
    })
    .await;
    drop(child);
    for reader in readers {
        reader.join().unwrap();
    }
    let log = log.lock().unwrap().clone();

    let line = log
        .lines()
        .find(|l| logged(l))
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
