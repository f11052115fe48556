//! The banner must stay small: guard + banner JS + CSS together at most 8 KB gzipped, the
//! guard (a synchronous script every first page view waits for) at most 2.25 KB of it, with
//! the built-in texts, categories, vendor names and URL rules included. (The guard's code is
//! about 1.75 KB; its URL rules grow with the catalogue, about 10 B per host; the second
//! layer's vendor details are fetched when the settings open and are not counted.)

use consentgate::config::ConsentConfig;
use consentgate::consent::Bundle;
use consentgate::trackers::Catalogue;

#[test]
fn guard_banner_js_and_css_are_at_most_8_kb_gzipped_and_the_guard_2_25_kb() {
    let bundle = Bundle::build(&ConsentConfig::default(), &Catalogue::builtin()).expect("bundle");
    let guard = bundle.guard.gzip.len();
    let js = bundle.js.gzip.len();
    let css = bundle.css.gzip.len();
    println!(
        "gzipped: guard {guard} B + banner js {js} B + css {css} B = {} B (raw {} B + {} B + {} B)",
        guard + js + css,
        bundle.guard.body.len(),
        bundle.js.body.len(),
        bundle.css.body.len()
    );
    assert!(guard <= 2304, "guard is {guard} B gzipped, limit 2304");
    assert!(
        guard + js + css <= 8 * 1024,
        "guard + banner are {} B gzipped, limit 8192",
        guard + js + css
    );
}
