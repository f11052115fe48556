//! The command line as an operator uses it: `check-config` on good and bad files.

use std::process::Command;

const SECRET: &str = "cli-test-secret-0123456789-abcdefghijkl";

fn consentgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentgate"));
    cmd.env_remove("CONSENTGATE_REDIS_URL");
    cmd
}

#[test]
fn shipped_production_example_passes_check_config() {
    let out = consentgate()
        .args(["check-config", "--config"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/consentgate.toml"
        ))
        .env("CONSENTGATE_SECRET", SECRET)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-config failed:\n{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
}

#[test]
fn check_config_lists_every_problem_with_its_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[upstream]\nurl = \"ftp://example.org\"\nresponse_timout = \"5s\"\n\
         [privacy]\nipv6_prefix = 200\n[store]\nbackend = \"redis\"\n",
    )
    .unwrap();
    let out = consentgate()
        .args(["check-config", "--config"])
        .arg(&path)
        .env_remove("CONSENTGATE_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for key in [
        "upstream.url",
        "upstream.response_timout",
        "privacy.ipv6_prefix",
        "store.redis_url",
        "secret",
    ] {
        assert!(
            stderr.contains(&format!("{key}:")),
            "{key} not named in:\n{stderr}"
        );
    }
}

#[test]
fn wrongly_typed_value_names_the_key_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("typed.toml");
    std::fs::write(
        &path,
        "[upstream]\nurl = \"http://x\"\n[listen]\npublic = \"everywhere\"\n",
    )
    .unwrap();
    let out = consentgate()
        .args(["check-config", "--config"])
        .arg(&path)
        .env("CONSENTGATE_SECRET", SECRET)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("listen.public:"), "{stderr}");
    assert!(stderr.contains("socket address"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_without_a_secret() {
    let out = consentgate()
        .args(["serve", "--config"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/consentgate.toml"
        ))
        .env_remove("CONSENTGATE_SECRET")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CONSENTGATE_SECRET"));
}
