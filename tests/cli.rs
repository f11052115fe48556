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
