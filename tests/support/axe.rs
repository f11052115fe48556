//! axe-core in the browser: the accessibility check every dashboard page passes. `scripts/test`
//! fetches axe-core 4 with npm into `<target>/axe-core/` and names the file in `AXE_CORE_JS`;
//! without it the check fails, saying which file is missing and how to get it.

use std::path::PathBuf;

use serde_json::Value;

use super::browser::Browser;

/// Where axe.min.js is: `AXE_CORE_JS`, else `<target>/axe-core/package/axe.min.js`.
pub fn axe_path() -> PathBuf {
    if let Some(path) = std::env::var_os("AXE_CORE_JS") {
        return PathBuf::from(path);
    }
    // CARGO_TARGET_TMPDIR is `<target>/tmp` for integration tests.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(&tmp)
        .join("axe-core/package/axe.min.js")
}

/// The axe-core source, or a failed test that says how to get it.
pub fn axe_source() -> String {
    let path = axe_path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): the accessibility checks need axe-core. Run the tests through \
             scripts/test, which fetches it with `npm pack axe-core@4` (the npm registry must be \
             reachable), or put axe.min.js there yourself, or set AXE_CORE_JS to its path.",
            path.display()
        )
    })
}

/// Run axe-core on the page the browser shows; fail the test on any violation of impact
/// "serious" or "critical" (each listed with its rule, help text and the elements), and print
/// the lesser ones.
pub async fn check(browser: &Browser, page: &str) {
    if browser.js("return typeof window.axe").await != "object" {
        // WebDriver runs scripts outside the page's CSP, so the dashboard's strict policy does
        // not have to make room for the checker.
        browser
            .client
            .execute(&format!("{};\nreturn true;", axe_source()), vec![])
            .await
            .expect("inject axe-core");
    }
    let violations = browser
        .client
        .execute_async(
            "var done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(function (r) { done(r.violations.map(function (v) {
                 return { id: v.id, impact: v.impact, help: v.help,
                          nodes: v.nodes.map(function (n) { return n.target.join(' '); }) };
               })); })
               .catch(function (e) { done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]); });",
            vec![],
        )
        .await
        .expect("run axe-core");
    let list = violations.as_array().cloned().unwrap_or_default();
    let (bad, minor): (Vec<Value>, Vec<Value>) = list
        .into_iter()
        .partition(|v| matches!(v["impact"].as_str(), Some("serious") | Some("critical")));
    for v in &minor {
        eprintln!("axe ({page}): {} {}: {}", v["impact"], v["id"], v["help"]);
    }
    assert!(
        bad.is_empty(),
        "axe-core: serious or critical violations on {page}:\n{}",
        serde_json::to_string_pretty(&bad).unwrap_or_default()
    );
}
