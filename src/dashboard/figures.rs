//! The figures an analyst sees: consent decisions per day and action, the share of visitors who
//! granted each category, and contact-form outcomes — all from the statistics' daily counters
//! (no personal data). Pure arithmetic over what [`Stats::read`] returns, so it is tested
//! without a store.

use std::collections::BTreeMap;

use crate::stats::{day_key, Area, ConsentAction, Stats};
use crate::store::StoreError;

/// Periods the figures page offers, in days; the first is the default.
pub const PERIODS: [u32; 3] = [30, 7, 90];

/// One day's decisions, per action in [`ConsentAction::ALL`] order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub actions: [u64; 4],
}

/// How often a category was granted and refused in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryShare {
    pub category: String,
    pub granted: u64,
    pub refused: u64,
}

impl CategoryShare {
    /// Granted as a whole percentage of the decisions about the category; `None` without any.
    pub fn percent_granted(&self) -> Option<u64> {
        let all = self.granted + self.refused;
        (all > 0).then(|| (self.granted * 100 + all / 2) / all)
    }
}

/// One form's submissions in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormOutcomes {
    pub form: String,
    pub stored: u64,
    /// Refusals by error code.
    pub refused: BTreeMap<String, u64>,
}

/// The figures of one period, oldest day first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    pub days: Vec<DayRow>,
    /// Per action in [`ConsentAction::ALL`] order.
    pub totals: [u64; 4],
    pub categories: Vec<CategoryShare>,
    pub forms: Vec<FormOutcomes>,
}

/// The day keys of the `days` days up to and including the day of `now` (unix s).
pub fn period(now: u64, days: u32) -> Vec<String> {
    (0..u64::from(days.max(1)))
        .rev()
        .map(|back| day_key(now.saturating_sub(back * 86_400)))
        .collect()
}

fn count(map: &BTreeMap<String, i64>, field: &str) -> u64 {
    map.get(field).map_or(0, |n| u64::try_from(*n).unwrap_or(0))
}

/// Add up the counters of `days` (consent and forms hashes, one per day, in the same order).
pub fn summarise(
    days: &[String],
    consent: &[BTreeMap<String, i64>],
    forms: &[BTreeMap<String, i64>],
) -> Figures {
    let mut figures = Figures {
        days: Vec::new(),
        totals: [0; 4],
        categories: Vec::new(),
        forms: Vec::new(),
    };
    let mut categories: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut outcomes: BTreeMap<String, FormOutcomes> = BTreeMap::new();
    for (i, day) in days.iter().enumerate() {
        let empty = BTreeMap::new();
        let c = consent.get(i).unwrap_or(&empty);
        let actions = ConsentAction::ALL.map(|a| count(c, &format!("action:{}", a.as_str())));
        for (total, n) in figures.totals.iter_mut().zip(actions) {
            *total += n;
        }
        figures.days.push(DayRow {
            day: day.clone(),
            actions,
        });
        for (field, n) in c {
            let n = u64::try_from(*n).unwrap_or(0);
            if let Some(cat) = field.strip_prefix("granted:") {
                categories.entry(cat.to_owned()).or_default().0 += n;
            } else if let Some(cat) = field.strip_prefix("refused:") {
                categories.entry(cat.to_owned()).or_default().1 += n;
            }
        }
        for (field, n) in forms.get(i).unwrap_or(&empty) {
            let n = u64::try_from(*n).unwrap_or(0);
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
                entry.stored += n;
            } else {
                *entry.refused.entry(outcome.to_owned()).or_default() += n;
            }
        }
    }
    figures.categories = categories
        .into_iter()
        .map(|(category, (granted, refused))| CategoryShare {
            category,
            granted,
            refused,
        })
        .collect();
    figures.forms = outcomes.into_values().collect();
    figures
}

/// The figures of the `days` days up to the day of `now` (unix s): two store reads.
pub async fn read(stats: &Stats, now: u64, days: u32) -> Result<Figures, StoreError> {
    let keys = period(now, days);
    let consent = stats.read(Area::Consent, &keys).await?;
    let forms = stats.read(Area::Forms, &keys).await?;
    Ok(summarise(&keys, &consent, &forms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn a_period_is_whole_utc_days_ending_today() {
        assert_eq!(
            period(1_700_000_000, 3),
            ["2023-11-12", "2023-11-13", "2023-11-14"]
        );
        assert_eq!(period(1_700_000_000, 0), ["2023-11-14"]);
    }

    #[test]
    fn counters_add_up_per_action_category_and_form() {
        let days = vec!["2023-11-13".to_owned(), "2023-11-14".to_owned()];
        let consent = [
            map(&[
                ("action:accept_all", 3),
                ("granted:analytics", 3),
                ("granted:marketing", 3),
            ]),
            map(&[
                ("action:reject_all", 1),
                ("action:custom", 1),
                ("granted:analytics", 1),
                ("refused:analytics", 1),
                ("refused:marketing", 2),
                ("country:NL", 2),
            ]),
        ];
        let forms = [
            map(&[("contact:stored", 2), ("contact:too_fast", 1)]),
            map(&[("contact:stored", 1), ("newsletter:honeypot", 4)]),
        ];
        let f = summarise(&days, &consent, &forms);
        assert_eq!(f.totals, [3, 1, 1, 0]);
        assert_eq!(f.days[1].actions, [0, 1, 1, 0]);
        let analytics = &f.categories[0];
        assert_eq!(
            (
                analytics.category.as_str(),
                analytics.granted,
                analytics.refused
            ),
            ("analytics", 4, 1)
        );
        assert_eq!(analytics.percent_granted(), Some(80));
        assert_eq!(f.categories[1].percent_granted(), Some(60));
        assert_eq!(f.forms[0].form, "contact");
        assert_eq!(f.forms[0].stored, 3);
        assert_eq!(f.forms[0].refused["too_fast"], 1);
        assert_eq!(f.forms[1].refused["honeypot"], 4);
        let none = CategoryShare {
            category: "x".into(),
            granted: 0,
            refused: 0,
        };
        assert_eq!(none.percent_granted(), None);
    }
}
