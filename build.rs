//! Build step: the banner scripts are served minified. The readable sources stay in
//! assets/banner/ (guard.js, banner.js, relay.js); the minified copies go to `$OUT_DIR/<name>.min.js`,
//! which src/consent/banner.rs embeds. oxc's minifier drops comments and layout and shortens
//! local names: readable sources would otherwise cost about a fifth of the 8 KB (gzipped) budget
//! for the guard, the banner's JS and its CSS.

use std::path::Path;

/// Each source with the slot the gate fills with the site's settings; the slot must survive
/// minification exactly once.
const SOURCES: [(&str, &str, &str); 3] = [
    ("assets/banner/banner.js", "banner.min.js", "__CG_CONFIG__"),
    ("assets/banner/guard.js", "guard.min.js", "__CG_GUARD__"),
    ("assets/banner/relay.js", "relay.min.js", "__CG_RELAY__"),
];

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    for (source, target, token) in SOURCES {
        println!("cargo:rerun-if-changed={source}");
        let text = std::fs::read_to_string(source)
            .unwrap_or_else(|e| panic!("{source}: cannot read it: {e}"));
        let minified = minify(source, &text);
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

/// Minify one script: compress, mangle local names (globals such as the config slot are left
/// alone), print without layout. A syntax error stops the build, naming the file.
fn minify(source: &str, text: &str) -> String {
    use oxc_allocator::Allocator;
    use oxc_codegen::{Codegen, CodegenOptions};
    use oxc_minifier::{CompressOptions, Minifier, MinifierOptions};
    use oxc_parser::Parser;
    use oxc_span::SourceType;

    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, text, SourceType::cjs()).parse();
    if parsed.panicked || parsed.diagnostics.has_errors() {
        let errors: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
        panic!("{source}: not valid JavaScript: {}", errors.join("; "));
    }
    let mut program = parsed.program;
    let options = MinifierOptions {
        mangle: Some(Default::default()),
        compress: Some(CompressOptions::default()),
        ..Default::default()
    };
    let minified = Minifier::new(options).minify(&allocator, &mut program);
    Codegen::new()
        .with_options(CodegenOptions::minify())
        .with_scoping(minified.scoping)
        .build(&program)
        .code
}
