//! The banner must stay small: JS + CSS together at most 8 KB gzipped, with the built-in
//! texts, categories and vendor list included.

use consentgate::config::ConsentConfig;
use consentgate::consent::Bundle;
use consentgate::trackers::Catalogue;

#[test]
fn banner_js_and_css_are_at_most_8_kb_gzipped() {
    let bundle = Bundle::build(&ConsentConfig::default(), &Catalogue::builtin()).expect("bundle");
    let js = bundle.js.gzip.len();
    let css = bundle.css.gzip.len();
    println!(
        "banner gzipped: js {js} B + css {css} B = {} B (raw {} B + {} B)",
        js + css,
        bundle.js.body.len(),
        bundle.css.body.len()
    );
    assert!(
        js + css <= 8 * 1024,
        "banner is {} B gzipped, limit 8192",
        js + css
    );
}
