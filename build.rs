//! Build step: the banner scripts are served minified. The readable sources stay in
//! assets/banner/ (guard.js, banner.js); the minified copies go to `$OUT_DIR/<name>.min.js`,
//! which src/consent/banner.rs embeds. Comments and layout would otherwise cost about a tenth of
//! the 8 KB (gzipped) budget for the guard, the banner's JS and its CSS.

use std::path::Path;

/// Each source with the slot the gate fills with the site's settings; the slot must survive
/// minification exactly once.
const SOURCES: [(&str, &str, &str); 2] = [
    ("assets/banner/banner.js", "banner.min.js", "__CG_CONFIG__"),
    ("assets/banner/guard.js", "guard.min.js", "__CG_GUARD__"),
];

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    for (source, target, token) in SOURCES {
        println!("cargo:rerun-if-changed={source}");
        let text = std::fs::read_to_string(source)
            .unwrap_or_else(|e| panic!("{source}: cannot read it: {e}"));
        let minified = minifier::js::minify(&text)
            .unwrap_or_else(|e| panic!("{source}: the minifier refused it: {e}"))
            .to_string();
        assert_eq!(
            minified.matches(token).count(),
            1,
            "{source}: {token} must appear exactly once after minification"
        );
        let target = Path::new(&out_dir).join(target);
        std::fs::write(&target, minified)
            .unwrap_or_else(|e| panic!("{}: cannot write it: {e}", target.display()));
    }
}
