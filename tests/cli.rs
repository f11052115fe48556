//! The command line as an operator uses it: `check-config` on good and bad files.

use std::process::Command;

const SECRET: &str = "cli-test-secret-0123456789-abcdefghijkl";

fn consentgate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentgate"));
    cmd.env_remove("CONSENTGATE_REDIS_URL");
    cmd
}

/// `check-config` on a file holding `toml`, with `secret` as CONSENTGATE_SECRET (none if
/// `None`): its exit code and standard error.
fn check_config_on(toml: &str, secret: Option<&str>) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consentgate.toml");
    std::fs::write(&path, toml).unwrap();
    let mut cmd = consentgate();
    cmd.args(["check-config", "--config"]).arg(&path);
    match secret {
        Some(secret) => cmd.env("CONSENTGATE_SECRET", secret),
        None => cmd.env_remove("CONSENTGATE_SECRET"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let (code, stderr) = check_config_on(
        "[upstream]\nurl = \"ftp://example.org\"\nresponse_timout = \"5s\"\n\
         [privacy]\nipv6_prefix = 200\n[store]\nbackend = \"redis\"\n",
        None,
    );
    assert_eq!(code, Some(1));
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
    let (code, stderr) = check_config_on(
        "[upstream]\nurl = \"http://x\"\n[listen]\npublic = \"everywhere\"\n",
        Some(SECRET),
    );
    assert_eq!(code, Some(1));
    assert!(stderr.contains("listen.public:"), "{stderr}");
    assert!(stderr.contains("socket address"), "{stderr}");
}

#[test]
fn check_config_explains_a_new_operators_mistakes_one_line_each() {
    let (code, stderr) = check_config_on(
        "secret = \"do-not-put-me-here-0123456789abcdef\"\n\
         [listen]\npublic = \"8080\"\nadmin = \"0.0.0.0:8081\"\n\
         [upstream]\nurl = \"127.0.0.1:8000\"\nconnect_timeout = 5\n\
         [privacy]\ntrusted_proxies = [\"192.0.2.10\"]\n\
         [log]\nlevel = \"information\"\n\
         [trackers.categories]\nhotjar = \"statistic\"\n\
         [[consent.categories]]\nid = \"statistics\"\n\
         name = { nl = \"Statistiek\", en = \"Statistics\" }\n\
         description = { nl = \"Tellen.\", en = \"Counting.\" }\n",
        Some(SECRET),
    );
    assert_eq!(code, Some(1));
    let expected_lines = [
        "warning: listen.admin: 0.0.0.0:8081 is not a loopback address",
        "  listen.public: expected a socket address (IP address and port) like \"127.0.0.1:8080\", got \"8080\"",
        "  upstream.connect_timeout: expected a duration like \"5s\"",
        "  upstream.url: expected an http:// or https:// URL like \"http://127.0.0.1:8000/\", got \"127.0.0.1:8000\"",
        "  secret: secrets never go in this file",
        "  log.level: \"information\" sets no level for the gate's own lines, so it would log nothing (did you mean \"info\"?)",
        "  trackers.categories.hotjar: category \"statistic\" is not declared (did you mean \"statistics\"?)",
        "  consent.categories[0].id: no vendor is in category \"statistics\"",
    ];
    for expected in expected_lines {
        assert!(
            stderr.lines().any(|line| line.starts_with(expected)),
            "{expected:?} missing from:\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("has {} problem(s):", expected_lines.len() - 1)),
        "one line per mistake, the bare trusted proxy address accepted:\n{stderr}"
    );
    assert!(!stderr.contains(" in `"), "no parser trailer:\n{stderr}");
    assert!(
        !stderr.contains("do-not-put-me-here"),
        "secret echoed:\n{stderr}"
    );
}

#[test]
fn check_config_warns_about_an_upstream_that_is_the_gate_itself() {
    let (code, stderr) = check_config_on(
        "[listen]\npublic = \"127.0.0.1:8080\"\nhosts = [\"localhost\"]\n\
         [upstream]\nurl = \"http://localhost:8080/\"\n",
        Some(SECRET),
    );
    assert_eq!(code, Some(0), "a warning is no failure:\n{stderr}");
    assert!(
        stderr.starts_with(
            "warning: upstream.url: http://localhost:8080/ is the gate's own public listener"
        ),
        "{stderr}"
    );
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

const DEMO_PAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/demo-site/index.html");

#[test]
fn scan_lists_every_tracker_of_the_demo_page_with_its_line() {
    let out = consentgate().args(["scan", DEMO_PAGE]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "line     9  Google Tag Manager",
        "Google Analytics       analytics  script src",
        "Hotjar",
        "Meta (Facebook) Pixel  marketing  noscript img",
        "noscript iframe",
        "7 tracker element(s) found; 7 made inert until consent",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
}

#[test]
fn rewrite_from_stdin_prints_the_page_visitors_get() {
    use std::io::Write;
    let mut child = consentgate()
        .args(["rewrite", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(DEMO_PAGE).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert_eq!(page.matches("<script src=\"/_gate/banner.").count(), 1);
    assert!(
        !page.contains(" src=\"https://www.googletagmanager.com"),
        "{page}"
    );
    assert!(
        !page.contains(" src=\"https://www.facebook.com/tr"),
        "{page}"
    );
    assert!(
        page.contains("<script src=\"/site.js\"></script>"),
        "first-party script kept"
    );
}

#[test]
fn scan_of_a_missing_file_says_so() {
    let out = consentgate()
        .args(["scan", "/nonexistent/page.html"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/page.html"));
}

#[test]
fn demo_serves_the_demo_site_through_the_gate() {
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (public, admin) = (free(), free());
    let mut child = consentgate()
        .args([
            "demo",
            "--public",
            &format!("127.0.0.1:{public}"),
            "--admin",
            &format!("127.0.0.1:{admin}"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let get = |path: &str| -> Option<String> {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", public)).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut out = String::new();
        s.read_to_string(&mut out).ok()?;
        Some(out)
    };
    let mut page = None;
    for _ in 0..100 {
        page = get("/");
        if page.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    let page = page.expect("demo gate answers");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("Stichting De Waterkant"));
    assert!(page.contains("/_gate/banner."), "banner injected");
    assert!(
        page.contains("data-cg-src=\"https://www.googletagmanager.com/gtag/js?id=G-DEMO12345\"")
    );
    let mut printed = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut printed).unwrap();
    assert!(
        printed.contains(&format!("http://127.0.0.1:{public}/")),
        "{printed}"
    );
}
