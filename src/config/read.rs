//! The one way a TOML value is read into a typed section, so every section (and the built-in
//! vendor file) reports unknown keys and wrongly typed values alike, each with its key.

use serde::de::DeserializeOwned;

use super::env::{ENV_PREVIOUS_SECRETS, ENV_SECRET};
use super::problem::{error_key, ignored_key, ConfigProblem};
use super::values::plain_words;

/// A value read from TOML, as far as it could be read.
pub(crate) struct Read<T> {
    /// The value, with every wrongly typed key taken out (so at its default); `None` if even
    /// that could not be read.
    pub value: Option<T>,
    /// Every key no field takes and every wrongly typed value.
    pub problems: Vec<ConfigProblem>,
    /// Whether every value had the right type.
    pub complete: bool,
}

/// Reads `value` as a `T` found at `section`. serde stops at the first wrong value, so each
/// one found is taken out and the rest read again, until the rest reads or nothing more can be
/// taken out.
pub(crate) fn read_value<T: DeserializeOwned>(mut value: toml::Value, section: &str) -> Read<T> {
    let mut unknown: Vec<String> = Vec::new();
    let mut wrong = Vec::new();
    // Bounded: every round takes one key out of a finite file.
    for _ in 0..100 {
        let mut found = Vec::new();
        let mut note_unknown =
            |path: serde_ignored::Path<'_>| found.push(ignored_key(section, &path));
        let ignored = serde_ignored::Deserializer::new(value.clone(), &mut note_unknown);
        let parsed: Result<T, serde_path_to_error::Error<toml::de::Error>> =
            serde_path_to_error::deserialize(ignored);
        for key in found {
            if !unknown.contains(&key) {
                unknown.push(key);
            }
        }
        let error = match parsed {
            Ok(parsed) => {
                return Read {
                    value: Some(parsed),
                    complete: wrong.is_empty(),
                    problems: problems(unknown, wrong),
                }
            }
            Err(error) => error,
        };
        // A required key that was taken out is not a mistake of its own.
        if !wrong.is_empty() && error.inner().message().starts_with("missing field") {
            break;
        }
        // message() is the explanation alone, without toml's "in `key`" trailer.
        wrong.push(ConfigProblem::new(
            error_key(section, error.path()),
            plain_words(error.inner().message()),
        ));
        if !take_out(&mut value, error.path()) {
            break;
        }
    }
    Read {
        value: None,
        complete: false,
        problems: problems(unknown, wrong),
    }
}

fn problems(unknown: Vec<String>, wrong: Vec<ConfigProblem>) -> Vec<ConfigProblem> {
    unknown.into_iter().map(unknown_key).chain(wrong).collect()
}

/// Removes the table key holding the value at `path`; for an array element, the key holding
/// the whole array (taking out one element would renumber the others in later messages).
fn take_out(value: &mut toml::Value, path: &serde_path_to_error::Path) -> bool {
    let segments: Vec<&serde_path_to_error::Segment> = path.iter().collect();
    let Some(last_key) = segments
        .iter()
        .rposition(|s| matches!(s, serde_path_to_error::Segment::Map { .. }))
    else {
        return false;
    };
    let mut here = value;
    for segment in &segments[..last_key] {
        let next = match segment {
            serde_path_to_error::Segment::Map { key } => {
                here.as_table_mut().and_then(|t| t.get_mut(key))
            }
            serde_path_to_error::Segment::Seq { index } => {
                here.as_array_mut().and_then(|a| a.get_mut(*index))
            }
            _ => None,
        };
        match next {
            Some(next) => here = next,
            None => return false,
        }
    }
    match (segments[last_key], here.as_table_mut()) {
        (serde_path_to_error::Segment::Map { key }, Some(table)) => table.remove(key).is_some(),
        _ => false,
    }
}

/// The problem with a key that no section reads.
pub(crate) fn unknown_key(key: String) -> ConfigProblem {
    let last = key.rsplit(['.', ']']).next().unwrap_or_default();
    let message = match last {
        "secret" | "secrets" => format!(
            "secrets never go in this file (it ends up in backups and repositories); set {} in \
             the environment",
            ENV_SECRET
        ),
        "previous_secrets" => format!(
            "earlier secrets never go in this file; set {} in the environment",
            ENV_PREVIOUS_SECRETS
        ),
        _ => "unknown key (misspelt, or not supported)".to_owned(),
    };
    ConfigProblem::new(key, message)
}
