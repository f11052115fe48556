//! The consent and contact-form figures, read from the statistics' daily counters (no personal
//! data): decisions per action, granted and refused per category, the same per country, and
//! form outcomes. Pure arithmetic over what [`Stats::read`](crate::stats::Stats::read)
//! returns, so it is tested without a store; the overview ([`super::overview`]) puts them
//! beside the page views.

use std::collections::BTreeMap;

use crate::stats::ConsentAction;

/// Country value of decisions made without a known country (geo off, or a private address).
pub const UNKNOWN_COUNTRY: &str = "";

/// Decisions in one slice of the counters (a day, a country), per action in
/// [`ConsentAction::ALL`] order, and how often each category was granted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions {
    pub actions: [u64; 4],
    pub granted: BTreeMap<String, u64>,
    /// Refusals per category (not counted per country).
    pub refused: BTreeMap<String, u64>,
}

impl Decisions {
    pub fn total(&self) -> u64 {
        self.actions.iter().sum()
    }

    pub fn granted(&self, category: &str) -> u64 {
        self.granted.get(category).copied().unwrap_or(0)
    }

    /// Add another slice to this one.
    pub fn add(&mut self, other: &Decisions) {
        for (a, b) in self.actions.iter_mut().zip(other.actions) {
            *a += b;
        }
        for (c, n) in &other.granted {
            *self.granted.entry(c.clone()).or_default() += n;
        }
        for (c, n) in &other.refused {
            *self.refused.entry(c.clone()).or_default() += n;
        }
    }
}

/// One day's consent counters, whole and per country.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentDay {
    pub all: Decisions,
    /// Per ISO country code; decisions without a country are in [`ConsentDay::country`] of
    /// [`UNKNOWN_COUNTRY`].
    pub by_country: BTreeMap<String, Decisions>,
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn action_index(name: &str) -> Option<usize> {
    ConsentAction::ALL.iter().position(|a| a.as_str() == name)
}

impl ConsentDay {
    /// Read one day's `consent` counter hash (fields as documented in [`crate::stats`]).
    pub fn read(fields: &BTreeMap<String, i64>) -> ConsentDay {
        let mut day = ConsentDay::default();
        for (field, n) in fields {
            let n = count(*n);
            if let Some(action) = field.strip_prefix("action:") {
                if let Some(i) = action_index(action) {
                    day.all.actions[i] += n;
                }
            } else if let Some(cat) = field.strip_prefix("granted:") {
                *day.all.granted.entry(cat.to_owned()).or_default() += n;
            } else if let Some(cat) = field.strip_prefix("refused:") {
                *day.all.refused.entry(cat.to_owned()).or_default() += n;
            } else if let Some(rest) = field.strip_prefix("country:") {
                if let Some((cc, action)) = rest.split_once(":action:") {
                    if let Some(i) = action_index(action) {
                        day.by_country.entry(cc.to_owned()).or_default().actions[i] += n;
                    }
                } else if let Some((cc, cat)) = rest.split_once(":granted:") {
                    *day.by_country
                        .entry(cc.to_owned())
                        .or_default()
                        .granted
                        .entry(cat.to_owned())
                        .or_default() += n;
                }
            }
        }
        // What no country accounts for was decided without one.
        let mut unknown = day.all.clone();
        unknown.refused.clear();
        for known in day.by_country.values() {
            for (a, b) in unknown.actions.iter_mut().zip(known.actions) {
                *a = a.saturating_sub(b);
            }
            for (c, n) in &known.granted {
                if let Some(u) = unknown.granted.get_mut(c) {
                    *u = u.saturating_sub(*n);
                }
            }
        }
        unknown.granted.retain(|_, n| *n > 0);
        if unknown.total() > 0 {
            day.by_country.insert(UNKNOWN_COUNTRY.to_owned(), unknown);
        }
        day
    }

    /// The decisions of one country ([`UNKNOWN_COUNTRY`] for those without).
    pub fn country(&self, cc: &str) -> Decisions {
        self.by_country.get(cc).cloned().unwrap_or_default()
    }
}

/// One form's submissions in a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FormOutcomes {
    pub form: String,
    pub stored: u64,
    /// Refusals by error code.
    pub refused: BTreeMap<String, u64>,
}

/// Add up the `forms` counter hashes of a period.
pub fn form_outcomes(days: &[BTreeMap<String, i64>]) -> Vec<FormOutcomes> {
    let mut outcomes: BTreeMap<String, FormOutcomes> = BTreeMap::new();
    for (field, n) in days.iter().flatten() {
        let Some((form, outcome)) = field.rsplit_once(':') else {
            continue;
        };
        let entry = outcomes
            .entry(form.to_owned())
            .or_insert_with(|| FormOutcomes {
                form: form.to_owned(),
                stored: 0,
                refused: BTreeMap::new(),
            });
        if outcome == "stored" {
            entry.stored += count(*n);
        } else {
            *entry.refused.entry(outcome.to_owned()).or_default() += count(*n);
        }
    }
    outcomes.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn a_day_is_read_per_action_category_and_country() {
        let day = ConsentDay::read(&map(&[
            ("action:accept_all", 3),
            ("action:reject_all", 2),
            ("granted:analytics", 3),
            ("refused:analytics", 2),
            ("country:NL", 2),
            ("country:NL:action:accept_all", 1),
            ("country:NL:action:reject_all", 1),
            ("country:NL:granted:analytics", 1),
            ("country:BE:action:accept_all", 1),
            ("country:BE:granted:analytics", 1),
            ("unrelated", 9),
        ]));
        assert_eq!(day.all.actions, [3, 2, 0, 0]);
        assert_eq!(day.all.granted("analytics"), 3);
        assert_eq!(day.all.refused["analytics"], 2);
        assert_eq!(day.country("NL").actions, [1, 1, 0, 0]);
        assert_eq!(day.country("BE").granted("analytics"), 1);
        // One accept and one reject came without a country.
        let unknown = day.country(UNKNOWN_COUNTRY);
        assert_eq!(unknown.actions, [1, 1, 0, 0]);
        assert_eq!(unknown.granted("analytics"), 1);
        assert_eq!(day.country("DE"), Decisions::default());
    }

    #[test]
    fn form_outcomes_add_up_per_form_and_code() {
        let f = form_outcomes(&[
            map(&[("contact:stored", 2), ("contact:too_fast", 1)]),
            map(&[("contact:stored", 1), ("newsletter:honeypot", 4)]),
        ]);
        assert_eq!(f[0].form, "contact");
        assert_eq!(f[0].stored, 3);
        assert_eq!(f[0].refused["too_fast"], 1);
        assert_eq!(f[1].refused["honeypot"], 4);
    }
}
