//! The dashboard's command-line helpers as an operator uses them: `hash-password` (piped) and
//! `totp-secret`, and that `check-config` accepts what they print and names a bad hash's key.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use consentgate::config::dashboard::{PasswordHash, TotpSecret};
use consentgate::dashboard::auth::{Totp, Verifier};

const SECRET: &str = "cli-test-secret-0123456789-abcdefghijkl";

fn consentgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentgate"));
    cmd.env_remove("CONSENTGATE_REDIS_URL");
    cmd
}

fn hash_password(stdin: &str) -> Output {
    let mut child = consentgate()
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Standard output of a run that must have succeeded (its standard error otherwise).
fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn totp_secret(user: &str) -> Output {
    consentgate()
        .args(["totp-secret", "--user", user])
        .output()
        .unwrap()
}

fn check_config(users: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gate.toml");
    std::fs::write(
        &path,
        format!("[upstream]\nurl = \"http://127.0.0.1:9000\"\n{users}"),
    )
    .unwrap();
    consentgate()
        .args(["check-config", "--config"])
        .arg(&path)
        .env("CONSENTGATE_SECRET", SECRET)
        .output()
        .unwrap()
}

#[test]
fn piped_password_becomes_an_argon2id_hash_that_signs_in_and_passes_check_config() {
    let stdout = stdout_of(hash_password("a long enough passphrase\n"));
    let phc = stdout.trim();
    assert_eq!(
        stdout.lines().count(),
        1,
        "only the hash on stdout: {stdout}"
    );
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(!stdout.contains("passphrase"));

    let hash = PasswordHash::parse(phc).unwrap();
    let verifier = Verifier::new(Some(&hash)).unwrap();
    assert!(verifier.verify(Some(&hash), "a long enough passphrase"));
    assert!(!verifier.verify(Some(&hash), "a long enough passphrase\n"));

    let ok = check_config(&format!(
        "[[dashboard.users]]\nname = \"ann\"\npassword_hash = \"{phc}\"\nrole = \"admin\"\n"
    ));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn short_or_missing_password_is_refused_and_nothing_is_printed() {
    for input in ["short\n", ""] {
        let out = hash_password(input);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("at least 12 characters"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn totp_secret_prints_a_config_line_and_a_uri_that_agree() {
    let stdout = stdout_of(totp_secret("ann@example.org"));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let secret = lines[0]
        .strip_prefix("totp_secret = \"")
        .and_then(|s| s.strip_suffix('"'))
        .expect("a config line");
    assert_eq!(secret.len(), 32, "160 bits of base32");
    assert!(
        lines[1].starts_with("otpauth://totp/consentgate:ann%40example.org?secret="),
        "{}",
        lines[1]
    );
    assert!(lines[1].contains(secret));
    // The secret makes codes, and check-config takes the line as it is.
    let code = Totp::new(&TotpSecret::from_base32(secret).unwrap()).code_at(1_700_000_000);
    assert_eq!(code.len(), 6);
    let hash = "$argon2id$v=19$m=64,t=1,p=1$T7DzjDgSCZm/ik7NYCZT2A$UA2dV1ZNH+tvZ2KVUHB62foXlYuEfEcarMiJDxAQg0k";
    let ok = check_config(&format!(
        "[dashboard]\nrequire_totp = true\n[[dashboard.users]]\nname = \"ann@example.org\"\npassword_hash = \"{hash}\"\nrole = \"inbox\"\n{}\n",
        lines[0]
    ));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    // A second run makes another secret.
    let again = totp_secret("ann@example.org");
    assert_ne!(String::from_utf8(again.stdout).unwrap(), stdout);
}

#[test]
fn totp_secret_refuses_a_name_that_cannot_be_an_operator() {
    let out = totp_secret("Ann Smith");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--user"));
}

#[test]
fn check_config_names_the_user_whose_hash_is_not_argon2id() {
    let out = check_config(
        "[[dashboard.users]]\nname = \"ann\"\npassword_hash = \"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW\"\nrole = \"admin\"\n",
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dashboard.users[0].password_hash:"),
        "{stderr}"
    );
    assert!(stderr.contains("consentgate hash-password"), "{stderr}");
    assert!(
        !stderr.contains("R9h/cIPz0gi"),
        "the hash is not echoed: {stderr}"
    );
}
