//! `consentgate inbox` and `consentgate receipts` as an operator scripts them: against the
//! store a running gate writes to (Redis), each action audited under the `--as` operator, and
//! refused for names that are not operators or whose role does not allow it.

mod support;

use std::process::{Command, Output};

use support::dashboard::{
    contact_fields, dashboard_gate, decide, pairs, submit_contact, users_toml,
};
use support::gate::{RunningTestGate, StoreChoice, TEST_SECRET};
use support::redis::RedisServer;

use consentgate::dashboard::audit::{AuditAction, AuditEvent};

/// The CLI's configuration: the gate's store and secret, the demo form and the operators.
fn config_file(dir: &tempfile::TempDir, store: &str) -> std::path::PathBuf {
    let path = dir.path().join("consentgate.toml");
    let demo = include_str!("../config/demo.toml");
    let memory = "[store]\nbackend = \"memory\"\n";
    assert!(demo.contains(memory));
    let store = if store.is_empty() { memory } else { store };
    let toml = format!("{}\n{}", demo.replace(memory, store), users_toml());
    std::fs::write(&path, toml).unwrap();
    path
}

fn consentgate(config: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .env_remove("CONSENTGATE_REDIS_URL")
        .env("CONSENTGATE_SECRET", TEST_SECRET)
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

fn stdout_of(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn audit(gate: &RunningTestGate) -> Vec<AuditEvent> {
    gate.store()
        .read_audit(100)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, b)| serde_json::from_slice(&b).unwrap())
        .collect()
}

fn redis_store(redis: &RedisServer) -> String {
    format!(
        "[store]\nbackend = \"redis\"\nredis_url = \"{}\"\n",
        redis.url()
    )
}

#[actix_web::test]
async fn inbox_commands_read_export_and_handle_entries_audited_as_the_operator() {
    let redis = RedisServer::new();
    let gate = dashboard_gate()
        .store(StoreChoice::Redis(redis.url()))
        .start()
        .await;
    let text = "Bel me terug over de wachtlijst";
    let entry = submit_contact(&gate, &pairs(&contact_fields(text))).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, &redis_store(&redis));

    let list = stdout_of(&consentgate(&config, &["inbox", "--as", "ida", "list"]));
    assert!(list.contains("contact (1 entries)"), "{list}");
    assert!(list.contains(&entry));
    assert!(!list.contains("wachtlijst"), "the list shows no content");

    let show = stdout_of(&consentgate(
        &config,
        &["inbox", "show", "--form", "contact", &entry, "--as", "ida"],
    ));
    assert!(show.contains(&format!("Bericht: {text}")), "{show}");
    assert!(show.contains("E-mailadres: ans@example.org"));

    let export = stdout_of(&consentgate(
        &config,
        &["inbox", "--as", "ida", "export", "--form", "contact"],
    ));
    let json: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);

    let handled = stdout_of(&consentgate(
        &config,
        &[
            "inbox", "--as", "ida", "handled", "--form", "contact", &entry,
        ],
    ));
    assert!(handled.contains("marked handled"));
    assert!(gate.forms().get("contact", &entry).await.unwrap().is_none());
    let again = consentgate(
        &config,
        &[
            "inbox", "--as", "ida", "handled", "--form", "contact", &entry,
        ],
    );
    assert!(
        !again.status.success(),
        "a gone entry cannot be handled twice"
    );

    let events = audit(&gate).await;
    let object = format!("contact/{entry}");
    for action in [
        AuditAction::EntryOpened,
        AuditAction::FormExported,
        AuditAction::EntryHandled,
    ] {
        assert!(
            events.iter().any(|e| e.action == action
                && e.operator == "ida"
                && (e.object.as_deref() == Some(object.as_str())
                    || e.object.as_deref() == Some("contact"))),
            "{action:?} not audited as ida: {events:?}"
        );
    }
    assert!(!format!("{events:?}").contains("wachtlijst"));

    // Only operators whose role allows it.
    for (who, why) in [("ali", "may not"), ("mallory", "no such operator")] {
        let out = consentgate(&config, &["inbox", "--as", who, "list"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains(why), "{who}");
    }
    let out = consentgate(&config, &["inbox", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--as NAME is required"));
}

#[actix_web::test]
async fn receipts_commands_show_and_export_records_audited() {
    let redis = RedisServer::new();
    let gate = dashboard_gate()
        .store(StoreChoice::Redis(redis.url()))
        .start()
        .await;
    let id = decide(&gate, "accept_all").await;
    decide(&gate, "reject_all").await;
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, &redis_store(&redis));

    let show = stdout_of(&consentgate(
        &config,
        &["receipts", "--as", "ann", "show", &id],
    ));
    assert!(show.contains("accept_all"), "{show}");
    assert!(show.contains("(archived)"));

    let iso = stdout_of(&consentgate(
        &config,
        &["receipts", "--as", "ann", "export", &id],
    ));
    let iso: serde_json::Value = serde_json::from_str(&iso).unwrap();
    assert_eq!(iso["record_id"], id.as_str());

    // Ids are base64url: one starting with `-` is an id, not an option.
    for action in ["show", "export"] {
        let out = consentgate(&config, &["receipts", "--as", "ann", action, "-Cx9"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("no consent record with id -Cx9"),
            "{stderr}"
        );
    }

    let today = consentgate::stats::day_key(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    );
    let csv = stdout_of(&consentgate(
        &config,
        &[
            "receipts", "--as", "ida", "export", "--from", &today, "--to", &today, "--format",
            "csv",
        ],
    ));
    assert_eq!(csv.lines().count(), 3, "{csv}");
    let jsonl = stdout_of(&consentgate(
        &config,
        &[
            "receipts",
            "--as",
            "ida",
            "export",
            "--from",
            &today,
            "--to",
            &today,
            "--action",
            "reject_all",
        ],
    ));
    assert_eq!(jsonl.lines().count(), 1);

    let events = audit(&gate).await;
    let did: Vec<(AuditAction, &str)> = events
        .iter()
        .map(|e| (e.action, e.operator.as_str()))
        .collect();
    for expected in [
        (AuditAction::ConsentLookedUp, "ann"),
        (AuditAction::ConsentExported, "ann"),
        (AuditAction::ReceiptsExported, "ida"),
    ] {
        assert!(did.contains(&expected), "{expected:?} in {did:?}");
    }
    let analyst = consentgate(&config, &["receipts", "--as", "ali", "show", &id]);
    assert!(!analyst.status.success());
}

#[test]
fn with_the_memory_backend_the_cli_says_it_sees_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(&dir, "");
    let out = consentgate(&config, &["inbox", "--as", "ann", "list"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("own, empty store"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("contact (0 entries)"));
}
