//! Build step: the banner script is served minified. The readable source stays in
//! assets/banner/banner.js; the minified copy goes to `$OUT_DIR/banner.min.js`, which
//! src/consent/banner.rs embeds. Comments and layout would otherwise cost about a tenth of the
//! 8 KB (gzipped) budget for the banner's JS and CSS.

use std::path::Path;

const SOURCE: &str = "assets/banner/banner.js";
/// The slot the gate fills with the site's settings; it must survive minification once.
const CONFIG_TOKEN: &str = "__CG_CONFIG__";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    let source =
        std::fs::read_to_string(SOURCE).unwrap_or_else(|e| panic!("{SOURCE}: cannot read it: {e}"));
    let minified = minifier::js::minify(&source)
        .unwrap_or_else(|e| panic!("{SOURCE}: the minifier refused it: {e}"))
        .to_string();
    assert_eq!(
        minified.matches(CONFIG_TOKEN).count(),
        1,
        "{SOURCE}: {CONFIG_TOKEN} must appear exactly once after minification"
    );
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let target = Path::new(&out_dir).join("banner.min.js");
    std::fs::write(&target, minified)
        .unwrap_or_else(|e| panic!("{}: cannot write it: {e}", target.display()));
}
