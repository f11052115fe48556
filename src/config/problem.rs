//! Problems found in a configuration, each tied to the key it is about, the one spelling of
//! key paths every message uses (`forms[0].fields[2].type`), and "did you mean …" suggestions.

use std::fmt::Write;

/// One problem in the configuration, tied to the key it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl ConfigProblem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Every problem found in a configuration; loading fails if there is at least one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", display_problems(.0))]
pub struct ConfigError(pub Vec<ConfigProblem>);

fn display_problems(problems: &[ConfigProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

impl ConfigError {
    pub(crate) fn one(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![ConfigProblem::new(key, message)])
    }
}

/// Appends a table key (`.name`) or an array index (`[3]`) to a key path.
fn push_key(path: &mut String, key: &str) {
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
}

fn push_index(path: &mut String, index: usize) {
    let _ = write!(path, "[{index}]");
}

/// The key path of a value serde reported an error for, below `section`.
pub(crate) fn error_key(section: &str, path: &serde_path_to_error::Path) -> String {
    let mut key = section.to_owned();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Seq { index } => push_index(&mut key, *index),
            serde_path_to_error::Segment::Map { key: name } => push_key(&mut key, name),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    key
}

/// The key path of a key serde_ignored found no field for, below `section`.
pub(crate) fn ignored_key(section: &str, path: &serde_ignored::Path<'_>) -> String {
    fn walk(path: &serde_ignored::Path<'_>, out: &mut String) {
        match path {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                push_index(out, *index);
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                push_key(out, key);
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    let mut key = section.to_owned();
    walk(path, &mut key);
    key
}

/// The candidate closest to a misspelt `word`, if one is close enough to be what was meant.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Jaro-Winkler weighs a shared prefix, which is how names get misspelt or shortened
    // ("information" → "info", "statistic" → "statistics"); 0.8 is clap's cut-off too.
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, c)| *score >= 0.8 && *c != word)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// ` (did you mean "x"?)`, or nothing.
pub(crate) fn did_you_mean_hint<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!(" (did you mean {c:?}?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_offered_only_for_near_misses() {
        let levels = ["error", "warn", "info", "debug", "trace", "off"];
        assert_eq!(did_you_mean("information", levels), Some("info"));
        assert_eq!(did_you_mean("warning", levels), Some("warn"));
        assert_eq!(did_you_mean("debg", levels), Some("debug"));
        assert_eq!(did_you_mean("consentgate", levels), None);
        assert_eq!(
            did_you_mean("info", levels),
            None,
            "an exact name is no misspelling"
        );
    }
}
