//! The deployment files (issue 12 point 13): `deploy/consentgate.service` has the hardening the
//! README promises and `systemd-analyze verify` accepts it (run here when the machine has it;
//! `scripts/check-deploy.sh` installs it); `deploy/Containerfile` builds on Debian slim and runs
//! as a non-root user, checked instruction by instruction (no container engine runs in CI).

use std::path::Path;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Every `Key=Value` line of a unit file's `[section]`, in order (systemd's own parser is
/// `systemd-analyze verify`, below).
fn directives<'u>(unit: &'u str, section: &str) -> Vec<(&'u str, &'u str)> {
    let mut current = "";
    let mut out = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            current = line;
            continue;
        }
        if current == section {
            if let Some((k, v)) = line.split_once('=') {
                out.push((k.trim(), v.trim()));
            }
        }
    }
    out
}

fn duration_secs(text: &str) -> u64 {
    humantime::parse_duration(text).unwrap().as_secs()
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = read("deploy/consentgate.service");
    let service = directives(&unit, "[Service]");
    let get = |key: &str| {
        service
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("{key}= is missing from [Service]"))
    };
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "yes"),
        ("Restart", "on-failure"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
    ] {
        assert_eq!(get(key), value, "{key}");
    }
    assert!(
        get("MemoryMax").ends_with(['M', 'G']),
        "MemoryMax bounds memory"
    );
    // Room for the connection cap (limits.max_connections, 1024) and the upstream's.
    assert!(get("LimitNOFILE").parse::<u64>().unwrap() >= 4096);
    assert!(get("ExecStart").contains("serve --config /etc/consentgate/"));
    assert!(get("ExecReload").contains("-HUP"), "reload is SIGHUP");
    // The secret comes from a root-only file, never from the unit or the configuration.
    assert!(get("EnvironmentFile").starts_with("/etc/consentgate/"));
    assert!(
        !service
            .iter()
            .any(|(k, v)| k.starts_with("Environment") && v.contains("CONSENTGATE_SECRET=")),
        "no secret in the unit"
    );
    // systemd must wait longer than the gate lets requests finish.
    let shutdown = consentgate::config::ListenConfig::default().shutdown_timeout;
    assert!(duration_secs(get("TimeoutStopSec")) > shutdown.as_secs());

    let Ok(out) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!(
            "SKIPPED systemd-analyze verify: systemd-analyze is not installed here \
             (scripts/check-deploy.sh installs it and runs the check)"
        );
        return;
    };
    assert!(out.status.success());
    // verify checks that ExecStart names an executable: the one this build made.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("consentgate.service");
    std::fs::write(
        &copy,
        unit.replace(
            "/usr/local/bin/consentgate",
            env!("CARGO_BIN_EXE_consentgate"),
        ),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// The instructions of a Containerfile: continuation lines joined, comments dropped, each as
/// (INSTRUCTION, arguments).
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                pending.push_str(part);
                pending.push(' ');
            }
            None => {
                pending.push_str(trimmed);
                let (word, args) = pending.split_once(' ').unwrap_or((&pending, ""));
                out.push((word.to_ascii_uppercase(), args.trim().to_owned()));
                pending.clear();
            }
        }
    }
    assert!(pending.is_empty(), "a continuation line ends the file");
    out
}

#[test]
fn the_container_image_is_debian_slim_non_root_and_starts_the_gate() {
    let file = read("deploy/Containerfile");
    let all = instructions(&file);
    const KNOWN: &[&str] = &[
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];
    for (word, _) in &all {
        assert!(KNOWN.contains(&word.as_str()), "unknown instruction {word}");
    }
    // The build uses at least the crate's rust-version.
    let manifest = read("Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        all.iter()
            .any(|(w, a)| w == "ARG" && a == &format!("RUST_VERSION={rust_version}")),
        "ARG RUST_VERSION={rust_version}"
    );
    // The image that runs: the last stage.
    let last_from = all.iter().rposition(|(w, _)| w == "FROM").unwrap();
    let (_, base) = &all[last_from];
    let image = base.split_whitespace().next().unwrap();
    let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
    assert!(
        image.contains("debian:") && tag.ends_with("-slim"),
        "runs on Debian slim, not {image}"
    );
    let stage = &all[last_from + 1..];
    let user = stage
        .iter()
        .rfind(|(w, _)| w == "USER")
        .map(|(_, a)| a.as_str())
        .expect("the image names a user");
    let uid = user.split(':').next().unwrap();
    assert!(!matches!(uid, "0" | "root"), "runs as root: USER {user}");
    // Nothing after USER may need root, and nothing is fetched over the network at run time.
    assert!(!stage.iter().any(|(w, a)| w == "ADD" && a.contains("://")));
    let entrypoint = stage
        .iter()
        .find(|(w, _)| w == "ENTRYPOINT")
        .map(|(_, a)| a)
        .expect("an ENTRYPOINT");
    let exec: Vec<String> = serde_json::from_str(entrypoint).expect("exec form (a JSON array)");
    let binary = &exec[0];
    assert!(
        stage
            .iter()
            .any(|(w, a)| w == "COPY" && a.starts_with("--from=") && a.ends_with(binary.as_str())),
        "{binary} is copied from the build stage"
    );
    let cmd = stage
        .iter()
        .find(|(w, _)| w == "CMD")
        .map(|(_, a)| a)
        .unwrap();
    let cmd: Vec<String> = serde_json::from_str(cmd).unwrap();
    assert_eq!(cmd[0], "serve");
    assert!(stage
        .iter()
        .any(|(w, a)| w == "STOPSIGNAL" && a == "SIGTERM"));
    // The run line documented in the file keeps the root file system read-only.
    assert!(file.contains("--read-only"));
}
