//! `consentgate demo` as someone trying it out: it prints the dashboard's address and a demo
//! account made for the run, and a message sent with the demo's contact page is in that
//! account's inbox.

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

#[actix_web::test]
async fn the_demo_prints_an_account_whose_inbox_holds_the_demo_contact_pages_messages() {
    let (public, admin) = (free_port(), free_port());
    let mut demo = Demo(
        Command::new(env!("CARGO_BIN_EXE_consentgate"))
            .args([
                "demo",
                "--public",
                &format!("127.0.0.1:{public}"),
                "--admin",
                &format!("127.0.0.1:{admin}"),
            ])
            // A known secret lets the test sign a fill-time token as forms.js would fetch it.
            .env("CONSENTGATE_SECRET", SECRET)
            .env_remove("CONSENTGATE_REDIS_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The lines are printed once the gate listens.
    let mut printed = String::new();
    let mut lines = std::io::BufReader::new(demo.0.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if line.starts_with("Stop with") {
            break;
        }
    }
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
