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

#[test]
fn scan_reports_embeds_as_click_to_load_and_ends_with_the_unknown_third_parties() {
    let report = scan("embeds.in.html");
    assert_lists(
        &report,
        &[
            "YouTube (Google)",
            "iframe (click to load)",
            "iframe data-src (click to load)",
            "Google Maps",
            "5 tracker element(s) found; 5 made inert until consent",
            "No other third-party hosts.",
        ],
    );
    // A page with trackers the catalogue does not know: named, with how they load.
    let page = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        page.path(),
        "<html><head><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>\
         <script src=\"https://cdn.segment.example/analytics.js\"></script>\
         <script>var s=document.createElement('script');s.src='https://px.unknown-ads.example/p.js'</script>\
         </head><body><iframe src=\"https://widget.chat.example/frame\"></iframe></body></html>",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .arg("scan")
        .arg(page.path())
        .env_remove("CONSENTGATE_SECRET")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_lists(
        &report,
        &[
            "1 tracker element(s) found",
            "3 other third-party host(s) the catalogue does not know (not blocked): \
             cdn.segment.example (script), px.unknown-ads.example (inline script), \
             widget.chat.example (frame)",
        ],
    );
}
