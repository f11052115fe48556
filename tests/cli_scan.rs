//! `consentgate scan` reports every form of tracker markup the rewriter neutralises (issue 11:
//! the advertising hosts, API-call snippets and every fetching attribute), one line each.

use std::process::Command;

fn scan(page: &str) -> String {
    let path = format!("{}/tests/golden/{page}", env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .args(["scan", &path])
        .env_remove("CONSENTGATE_SECRET")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_lists(report: &str, expected: &[&str]) {
    for line in expected {
        assert!(
            report.lines().any(|l| l.contains(line)),
            "{line:?} missing from:\n{report}"
        );
    }
}

#[test]
fn scan_reports_every_fetching_attribute_form() {
    let report = scan("fetching_attributes.in.html");
    assert_lists(
        &report,
        &[
            "Google Tag Manager     analytics  base href",
            "link rel=preload imagesrcset",
            "Meta (Facebook) Pixel  marketing  style element",
            "Google Analytics       analytics  body style",
            "video poster",
            "object data",
            "svg image href",
            "svg image xlink:href",
            "svg script href",
            "iframe srcdoc img",
            "iframe srcdoc script src",
            "a ping",
            "table background",
        ],
    );
    assert!(report.contains("made inert until consent"), "{report}");
}

#[test]
fn scan_reports_advertising_tags_and_api_call_snippets() {
    let report = scan("ads_and_social.in.html");
    assert_lists(
        &report,
        &[
            "Google Ads / DoubleClick marketing  script src",
            "Facebook social plugins (Meta) marketing  iframe",
            "Google Analytics       analytics  inline script",
        ],
    );
    let report = scan("usage_snippets.in.html");
    assert_lists(
        &report,
        &[
            "Meta (Facebook) Pixel  marketing  inline script (API calls)",
            "Google Analytics       analytics  inline script (API calls)",
            "Google Ads / DoubleClick marketing  inline script (API calls)",
            "Hotjar                 analytics  inline script (API calls)",
        ],
    );
}
