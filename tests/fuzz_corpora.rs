//! Every fuzz corpus, replayed once on stable (issue 12 point 11): each file in
//! `fuzz/corpus/<target>/` goes through the very check its cargo-fuzz target runs
//! (`fuzz/checks`), so a crash found by fuzzing and kept in a corpus stays fixed, and CI needs
//! no nightly toolchain. Fuzzing itself is `cargo +nightly fuzz run <target>` (README).

#[path = "../fuzz/checks/mod.rs"]
mod checks;

use std::path::Path;

#[test]
fn every_corpus_file_passes_its_fuzz_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (target, check) in checks::TARGETS {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no corpus", dir.display());
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target}: {} fails its check (replay with `cargo +nightly fuzz run {target} {}`)",
                file.display(),
                file.display()
            );
        }
    }
}
