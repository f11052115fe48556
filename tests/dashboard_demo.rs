//! `consentgate demo` as someone trying it out: it prints the dashboard's address and a demo
//! account made for the run, and a message sent with the demo's contact page is in that
//! account's inbox; with `--traffic` the overview shows made-up visits within a minute.

mod support;

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use consentgate::config::{Secret, FORM_TOKEN_FIELD};
use consentgate::forms::token::FillToken;
use consentgate::keys::Keys;
use support::dashboard::{urlencode, Operator};

const SECRET: &str = "demo-test-secret-0123456789-abcdefghijkl";

/// The demo process, killed when the test ends (also when it fails).
struct Demo(Child);

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Start `consentgate demo` (with `extra` arguments) on two free ports; returns the process,
/// its public and admin ports and what it printed up to "Stop with" (once the gate listens).
/// A port found free can be taken by another test's connection before the demo binds it, so a
/// demo that exits before listening is started again on new ports (at most three times).
fn start_demo(extra: &[&str]) -> (Demo, u16, u16, String) {
    let mut failures = String::new();
    for _ in 0..3 {
        match try_start_demo(extra) {
            Ok(started) => return started,
            Err(why) => failures.push_str(&why),
        }
    }
    panic!("the demo did not start:\n{failures}");
}

fn try_start_demo(extra: &[&str]) -> Result<(Demo, u16, u16, String), String> {
    let (public, admin) = (free_port(), free_port());
    let (public_at, admin_at) = (format!("127.0.0.1:{public}"), format!("127.0.0.1:{admin}"));
    // Stderr to a file, not a pipe nobody reads while the demo runs (a full pipe would stall it).
    let stderr = tempfile::tempfile().unwrap();
    let mut demo = Demo(
        Command::new(env!("CARGO_BIN_EXE_consentgate"))
            .arg("demo")
            .args(extra)
            .args(["--public", &public_at, "--admin", &admin_at])
            // A known secret lets the test sign a fill-time token as forms.js would fetch it.
            .env("CONSENTGATE_SECRET", SECRET)
            .env_remove("CONSENTGATE_REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr.try_clone().unwrap()))
            .spawn()
            .unwrap(),
    );
    let mut printed = String::new();
    // Read through a borrow: the pipe stays open while the demo runs, so it can go on printing.
    let mut lines = std::io::BufReader::new(demo.0.stdout.as_mut().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Stop with") {
            return Ok((demo, public, admin, printed));
        }
    }
    // Stdout closed before the gate listened: the demo stopped; say why.
    let _ = demo.0.wait();
    let mut why = String::new();
    let mut stderr = stderr;
    let _ = std::io::Seek::rewind(&mut stderr);
    let _ = std::io::Read::read_to_string(&mut stderr, &mut why);
    Err(format!("{printed}{why}\n"))
}

#[actix_web::test]
async fn the_demo_prints_an_account_whose_inbox_holds_the_demo_contact_pages_messages() {
    let (_demo, public, admin, printed) = start_demo(&[]);
    let dashboard = format!("http://127.0.0.1:{admin}/");
    assert!(printed.contains(&dashboard), "{printed}");
    let password = printed
        .lines()
        .find_map(|l| l.split("with password ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no password printed:\n{printed}"))
        .to_owned();
    assert!(password.len() >= 20, "{password}");

    // A visitor writes through the demo's contact page (its real field names).
    let keys = Keys::derive(&Secret::new(SECRET.as_bytes().to_vec()));
    let minute_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        - 60_000;
    let token = FillToken::new(keys.form_token).issue("contact", minute_ago);
    let body = urlencode(&[
        (FORM_TOKEN_FIELD, token.as_str()),
        ("naam", "Bram Visser"),
        ("email", "bram@example.org"),
        ("telefoon", ""),
        ("bericht", "Is er nog plek bij de zwemles op zaterdag?"),
    ]);
    consentgate::proxy::install_tls_provider();
    let client = awc::Client::builder().disable_redirects().finish();
    let mut sent = client
        .post(format!("http://127.0.0.1:{public}/contact"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .send_body(body)
        .await
        .expect("the demo gate answers");
    assert_eq!(sent.status().as_u16(), 303, "{:?}", sent.body().await);
    assert_eq!(
        sent.headers().get("location").unwrap().to_str().unwrap(),
        "/bedankt.html"
    );

    let op = Operator::at(&format!("http://127.0.0.1:{admin}"));
    let signed = op.sign_in("demo", &password, None).await;
    assert_eq!(signed.status, 303, "{}", signed.body);
    let inbox = op.get("/inbox").await;
    assert_eq!(inbox.status, 200);
    let href = inbox
        .text()
        .split("href=\"")
        .find(|s| s.starts_with("/inbox/contact/e/"))
        .map(|s| s.split('"').next().unwrap().to_owned())
        .unwrap_or_else(|| panic!("no entry in the inbox:\n{}", inbox.body));
    let entry = op.get(&href).await;
    assert!(entry.body.contains("zwemles op zaterdag"));
}

#[actix_web::test]
async fn demo_traffic_fills_the_overview_within_a_minute() {
    let started = std::time::Instant::now();
    let (_demo, _public, admin, printed) = start_demo(&["--traffic"]);
    let number_before = |word: &str| -> u64 {
        let sent = printed
            .lines()
            .find(|l| l.contains("Demo traffic sent:"))
            .unwrap_or_else(|| panic!("no traffic report:\n{printed}"));
        let at = sent.find(word).unwrap();
        sent[..at]
            .split_whitespace()
            .last()
            .unwrap()
            .trim_start_matches("sent:")
            .parse()
            .unwrap()
    };
    let (views, decisions, bots) = (
        number_before(" page views"),
        number_before(" consent decisions"),
        number_before(" bot requests"),
    );
    assert!(views >= 60 && decisions > 10 && bots > 0, "{printed}");
    assert!(printed.contains("(0 not answered)"), "{printed}");
    let password = printed
        .lines()
        .find_map(|l| l.split("with password ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();

    consentgate::proxy::install_tls_provider();
    let op = Operator::at(&format!("http://127.0.0.1:{admin}"));
    assert_eq!(op.sign_in("demo", &password, None).await.status, 303);
    // The writer catches up in its own time; the overview has it all well within the minute.
    let overview = support::wait::until_some(
        "the overview shows the demo traffic",
        std::time::Duration::from_secs(60),
        || async {
            let page = op.get("/overview/export.json?range=7d").await;
            let json: serde_json::Value = serde_json::from_str(&page.body).ok()?;
            // Views, decisions and bot requests may land in different flushes of the writer:
            // wait for all three.
            let caught_up = json["summary"][0]["value"] == views
                && summary_value(&json, "decisions") == Some(decisions.into())
                && summary_value(&json, "bots") == Some(bots.into());
            caught_up.then_some(json)
        },
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    let metric = |name: &str| summary_value(&overview, name).unwrap();
    assert_eq!(metric("decisions"), decisions);
    assert_eq!(metric("bots"), bots);
    let visitors = metric("visitors").as_u64().unwrap();
    assert!((30..=60).contains(&visitors), "{visitors} visitors");
    let panel = |id: &str| -> Vec<String> {
        overview["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["value"].as_str().unwrap().to_owned())
            .collect()
    };
    for country in ["NL", "DE", "BE"] {
        assert!(
            panel("countries").contains(&country.to_owned()),
            "{country}"
        );
    }
    assert!(panel("referrers").contains(&"google.com".to_owned()));
    assert!(panel("utm_source").contains(&"nieuwsbrief".to_owned()));
    assert_eq!(panel("devices").len(), 3);
    // The page itself shows them too.
    let page = op.get("/?range=7d").await;
    assert!(page
        .body
        .contains(&format!("<td class=\"value\">{views}</td>")));
}

#[actix_web::test]
async fn demo_traffic_goes_to_loopback_only() {
    let refused = consentgate::server::traffic::generate(
        "192.0.2.1:80".parse().unwrap(),
        "hash",
        consentgate::server::traffic::TrafficPlan::default(),
    )
    .await;
    assert!(refused.is_err());
}

/// One figure of the overview export's summary, by its metric name.
fn summary_value(overview: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    overview["summary"]
        .as_array()?
        .iter()
        .find(|m| m["metric"] == name)
        .map(|m| m["value"].clone())
}
