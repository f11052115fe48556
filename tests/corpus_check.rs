//! Runs the rewriter over the real-world pages in ../shared/corpus/tracker-pages (relative to
//! the crate root; the pages belong to their sites and are not copied into this repository).
//! Fails if any tracker element stays live in the output or any script other than a tracker
//! changed. When the corpus folder is absent it says so and passes, except in CI, where it fails.

mod rewrite_support;
mod support;

use support::corpus;

use consentgate::rewrite::{rewrite_document, scan_document, Action};
use rewrite_support::{inspect, rewriter, script_changes, INJECT};

#[test]
fn corpus_pages_have_no_live_tracker_and_no_other_script_changed() {
    let Some(entries) = corpus::entries("tracker-pages", "corpus check") else {
        return;
    };
    let mut pages: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    pages.sort();
    assert!(!pages.is_empty(), "no pages in the tracker-pages corpus");
    let rw = rewriter();
    let mut failures = Vec::new();
    let (mut neutralised, mut inert) = (0, 0);
    for page in &pages {
        let name = page
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let input = std::fs::read(page).unwrap();
        let output = rewrite_document(&rw, &input).unwrap();
        let findings = scan_document(&rw, &input).unwrap();
        neutralised += findings
            .iter()
            .filter(|f| f.action == Action::Neutralised)
            .count();
        inert += findings
            .iter()
            .filter(|f| f.action != Action::Neutralised)
            .count();
        let input_text = String::from_utf8_lossy(&input);
        let output_text = String::from_utf8_lossy(&output);
        if output_text.matches(INJECT).count() != 1 {
            failures.push(format!("{name}: banner not injected exactly once"));
        }
        let (live, scripts_out) = inspect(&output_text);
        let (_, scripts_in) = inspect(&input_text);
        for l in live {
            failures.push(format!("{name}: live tracker remains: {l}"));
        }
        for c in script_changes(&scripts_in, &scripts_out) {
            failures.push(format!("{name}: {c}"));
        }
    }
    eprintln!(
        "corpus: {} pages, {neutralised} tracker elements neutralised, {inert} already inert",
        pages.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_missing_corpus_is_skipped_with_a_note_outside_ci() {
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("tracker-pages");
    assert!(corpus::entries_in(&missing, "corpus check", false).is_none());
}

#[test]
#[should_panic(expected = "CI is set")]
fn a_missing_corpus_fails_the_check_in_ci() {
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("tracker-pages");
    corpus::entries_in(&missing, "corpus check", true);
}
