//! The real-world corpus in ../shared/corpus (relative to the crate root): pages and forms saved
//! from live sites, read by the tests and never copied into this repository.
//!
//! Outside CI a missing corpus is reported and the test passes (a contributor may not have it);
//! in CI (`CI` set and not "false"/"0") it fails the test, so a check that silently did not run
//! cannot pass as green.

use std::path::{Path, PathBuf};

/// Listing of `../shared/corpus/<part>`, or `None` after saying SKIPPED when it is absent
/// outside CI. In CI an absent folder fails the test.
pub fn entries(part: &str, what: &str) -> Option<std::fs::ReadDir> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus")
        .join(part);
    entries_in(&dir, what, in_ci())
}

/// [`entries`] for any folder, with CI given rather than read from the environment.
pub fn entries_in(dir: &Path, what: &str, ci: bool) -> Option<std::fs::ReadDir> {
    match std::fs::read_dir(dir) {
        Ok(listing) => Some(listing),
        Err(e) if ci => panic!(
            "corpus folder {} cannot be read ({e}) and CI is set: the {what} must run in CI; \
             put the corpus at ../shared/corpus next to the repository",
            dir.display()
        ),
        Err(_) => {
            eprintln!(
                "SKIPPED: corpus folder {} is absent; the {what} did not run",
                dir.display()
            );
            None
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
