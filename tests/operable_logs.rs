//! What the real binary logs for its operator (issue 12 point 14): an honest start (the
//! embedded store's loss on restart, each listener with its worker count, no framework noise),
//! an upstream failure at WARN with its cause, a stored form entry with the id its webhook
//! carries (never its content), and at shutdown what the embedded store loses.

mod forms_common;
mod support;

use forms_common::{form_toml, start_site};
use support::binary::{GateProcess, SECRET};

use std::time::Duration;

use consentgate::config::Secret;
use consentgate::forms::token::FillToken;
use consentgate::keys::Keys;
use serde_json::Value;

/// The JSON log lines in `log` (other lines, such as a panic, are skipped).
fn lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn message(line: &Value) -> &str {
    line["fields"]["message"].as_str().unwrap_or("")
}

fn is(line: &Value, level: &str, text: &str) -> bool {
    line["level"] == level && message(line).contains(text)
}

#[actix_web::test]
async fn the_log_tells_the_operator_what_happened_and_nothing_else() {
    let hook = start_site();
    let gate = GateProcess::serve(&format!(
        "[upstream]\nurl = \"http://127.0.0.1:9/\"\n[log]\nformat = \"json\"\n{}",
        form_toml(&format!("notify_webhook = \"{}/hook\"", hook.url()))
    ))
    .await;
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .disable_redirects()
        .finish();

    // The site is down: a 502 for the visitor, the cause for the operator.
    let res = client.get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 502);
    let failed = gate
        .wait_for_line("the upstream failure", |l| l.contains("upstream failed"))
        .await;
    let failed: Value = serde_json::from_str(&failed).unwrap();
    assert_eq!(failed["level"], "WARN", "{failed}");
    assert!(
        failed["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{failed}"
    );

    // A stored entry: its id in the log is the one the webhook got; its content is not there.
    let secret = Secret::new(SECRET.as_bytes().to_vec());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let token = FillToken::new(Keys::derive(&secret).form_token).issue("contact", now - 60_000);
    let body = forms_common::urlencode(&[
        ("naam", "Geertruida Zwanenburg"),
        ("email", "geertruida@example.nl"),
        ("bericht", "Vraag over de thuiszorg"),
        ("cg_t", &token),
    ]);
    let res = client
        .post(gate.url("/contact"))
        .insert_header(("content-type", forms_common::FORM_CT))
        .send_body(body)
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let hooked = hook.recorder.wait_for(1).await;
    let payload: Value = serde_json::from_slice(&hooked[0].2).unwrap();
    let entry_id = payload["entry_id"].as_str().unwrap().to_owned();
    let stored = gate
        .wait_for_line("the stored entry's line", |l| {
            l.contains("form entry stored")
        })
        .await;
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["level"], "INFO");
    assert_eq!(stored["fields"]["form"], "contact");
    assert_eq!(stored["fields"]["entry"], entry_id.as_str());

    let log = gate.terminate();
    let all = lines(&log);
    // An honest start: the embedded store's loss is said up front, each listener is labelled.
    assert!(
        all.iter()
            .any(|l| is(l, "WARN", "store.backend = \"memory\"")
                && message(l).contains("form entries")),
        "{log}"
    );
    let listening = |name: &str, workers: u64| {
        all.iter().any(|l| {
            message(l) == "listening"
                && l["fields"]["listener"] == name
                && l["fields"]["workers"] == workers
        })
    };
    assert!(listening("public", 1) && listening("admin", 2), "{log}");
    // At shutdown: what is lost.
    let stopped = all
        .iter()
        .find(|l| is(l, "WARN", "consentgate stopped"))
        .unwrap_or_else(|| panic!("no shutdown line in:\n{log}"));
    assert_eq!(stopped["fields"]["form_entries"], 1, "{stopped}");
    // Nothing from the framework, nothing the visitor wrote.
    for noise in [
        "starting service",
        "Actix runtime found",
        "starting 1 workers",
        "SIGTERM received",
        "accept thread",
        "shutting down idle worker",
        "Zwanenburg",
        "thuiszorg",
        "geertruida@",
    ] {
        assert!(!log.contains(noise), "{noise:?} in the log:\n{log}");
    }
    assert!(
        all.len() == log.lines().count(),
        "every line is a JSON log line:\n{log}"
    );
}
