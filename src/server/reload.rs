//! SIGHUP: the configuration file read again, and the tracker catalogue, the banner (texts,
//! categories, policy revision) and the forms — `[trackers]`, `[consent]` and `[[forms]]` —
//! replaced while requests run ([`AppState::reload`]). Everything else (listeners, store,
//! limits, privacy, upstream, dashboard, log, secrets) is fixed at start: a change there is
//! logged with its key as needing a restart, and the running value is kept. A file with any
//! problem changes nothing; every problem is logged with its key.

use std::path::{Path, PathBuf};

use super::state::AppState;
use crate::config::{Config, ConfigProblem, EnvSource};

/// The sections a reload replaces.
pub const RELOADABLE: [&str; 3] = ["trackers", "consent", "forms"];

/// What became of one reload.
#[derive(Debug, PartialEq, Eq)]
pub enum Reloaded {
    /// The new areas are in force. `sections`: the reloadable sections that changed;
    /// `restart_needed`: keys outside them that changed and still have their old value.
    Applied {
        sections: Vec<&'static str>,
        restart_needed: Vec<String>,
    },
    /// The file has problems (each with its key); the running configuration is kept.
    Refused(Vec<ConfigProblem>),
}

/// Reloads one gate from its configuration file; holds the file as it is in force, to tell
/// what changed.
pub struct Reloader {
    path: PathBuf,
    env: Box<dyn EnvSource>,
    /// The file as in force: as started, with the reloadable sections as last reloaded.
    running: toml::Table,
}

impl Reloader {
    /// For a gate started from `text`, the contents of `path`, with `env` for the secrets (the
    /// process environment does not change while it runs, so the secrets cannot either).
    pub fn new(path: &Path, text: &str, env: Box<dyn EnvSource>) -> Reloader {
        Reloader {
            path: path.to_owned(),
            env,
            // The gate started from this text, so it parses.
            running: text.parse().unwrap_or_default(),
        }
    }

    /// Read the file again and, if it is valid, put its reloadable sections in force on
    /// `state`. Logs the outcome: each problem or key needing a restart on a line of its own.
    pub fn reload(&mut self, state: &AppState) -> Reloaded {
        let outcome = self.try_reload(state);
        match &outcome {
            Reloaded::Applied {
                sections,
                restart_needed,
            } => {
                for key in restart_needed {
                    tracing::warn!(
                        key = %key,
                        "configuration reload: {key} changed, which needs a restart; the running \
                         gate keeps the value it started with"
                    );
                }
                tracing::info!(
                    changed = %if sections.is_empty() { "nothing".to_owned() } else { sections.join(", ") },
                    "configuration reloaded: tracker catalogue, banner texts and forms in force \
                     for every new request"
                );
            }
            Reloaded::Refused(problems) => {
                for problem in problems {
                    tracing::error!(
                        key = %problem.key,
                        "configuration reload refused: {problem}"
                    );
                }
                tracing::error!(
                    problems = problems.len(),
                    path = %self.path.display(),
                    "configuration not reloaded; the gate keeps running with the configuration \
                     it had"
                );
            }
        }
        outcome
    }

    fn try_reload(&mut self, state: &AppState) -> Reloaded {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) => {
                return Reloaded::Refused(vec![ConfigProblem::new(
                    "--config",
                    format!("cannot read {}: {e}", self.path.display()),
                )])
            }
        };
        let (checked, notes) = Config::check_toml(&text, self.env.as_ref());
        let new = match checked {
            Ok(config) => config,
            Err(e) => return Reloaded::Refused(e.0),
        };
        for warning in notes.warnings {
            tracing::warn!("{warning}");
        }
        let file: toml::Table = text.parse().unwrap_or_default();
        let mut restart_needed = Vec::new();
        changed_keys(&self.running, &file, "", &mut restart_needed);
        let sections: Vec<&'static str> = RELOADABLE
            .into_iter()
            .filter(|s| self.running.get(*s) != file.get(*s))
            .collect();
        // What runs stays; only the reloadable sections are taken from the file.
        let mut config = Config::clone(&state.areas().config);
        config.trackers = new.trackers;
        config.consent = new.consent;
        config.forms = new.forms;
        if let Err(e) = state.reload(config) {
            return Reloaded::Refused(vec![ConfigProblem::new("--config", e.to_string())]);
        }
        for section in RELOADABLE {
            match file.get(section) {
                Some(value) => self.running.insert(section.to_owned(), value.clone()),
                None => self.running.remove(section),
            };
        }
        Reloaded::Applied {
            sections,
            restart_needed,
        }
    }
}

/// The keys outside [`RELOADABLE`] whose values differ between `old` and `new`, as dotted
/// paths (`listen.public`, `dashboard.users`), into `out`.
fn changed_keys(old: &toml::Table, new: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        if prefix.is_empty() && RELOADABLE.contains(&key.as_str()) {
            continue;
        }
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let empty = toml::Table::new();
        match (old.get(key), new.get(key)) {
            (Some(toml::Value::Table(a)), Some(toml::Value::Table(b))) => {
                changed_keys(a, b, &path, out)
            }
            // A table added or removed: its keys, one by one.
            (Some(toml::Value::Table(a)), None) => changed_keys(a, &empty, &path, out),
            (None, Some(toml::Value::Table(b))) => changed_keys(&empty, b, &path, out),
            (a, b) if a != b => out.push(path),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn changes_outside_the_reloadable_sections_are_named_by_key() {
        let old = table(
            "[listen]\npublic = \"127.0.0.1:8080\"\nworkers = 2\n[consent]\npolicy_revision = 1\n",
        );
        let new = table(
            "[listen]\npublic = \"0.0.0.0:80\"\nworkers = 2\n[consent]\npolicy_revision = 2\n\
             [store]\nbackend = \"redis\"\ntimeout = \"1s\"\n[[forms]]\nid = \"x\"\n",
        );
        let mut out = Vec::new();
        changed_keys(&old, &new, "", &mut out);
        assert_eq!(out, vec!["listen.public", "store.backend", "store.timeout"]);
    }
}
