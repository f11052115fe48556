//! The age rule of the youth-care privacy statements: under 12 a parent decides, from 12 to 16
//! both the young person and a parent, from 16 the person alone. A form field of type
//! `date_of_birth` gives the band at the time of submission; it is computed whenever an entry
//! is shown, never stored beside the entry. The notes on whose consent counts come from
//! `[forms.age_rules]`, with these defaults.

use serde::Serialize;
use time::Date;

use crate::config::{AgeNotes, AgeRules, FormLanguage};

/// Oldest plausible age at submission, in whole years.
pub const MAX_AGE_YEARS: i32 = 120;

/// How old the person was when they submitted the entry, as the rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgeBand {
    /// Not yet 12: a parent or guardian decides.
    Under12,
    /// From the 12th birthday until the day before the 16th: the young person and a parent.
    From12To15,
    /// From the 16th birthday: the person alone.
    From16,
}

impl AgeBand {
    /// The band of someone born on `born`, on day `on`; `None` when `born` is after `on`.
    pub fn on(born: Date, on: Date) -> Option<AgeBand> {
        Some(match age_on(born, on)? {
            0..=11 => AgeBand::Under12,
            12..=15 => AgeBand::From12To15,
            _ => AgeBand::From16,
        })
    }

    /// Its name in the message tables and exports: `under_12`, `from_12_to_15`, `from_16`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgeBand::Under12 => "under_12",
            AgeBand::From12To15 => "from_12_to_15",
            AgeBand::From16 => "from_16",
        }
    }

    /// The configured note for this band in `lang`, or the built-in one.
    pub fn note(self, rules: &AgeRules, lang: FormLanguage) -> String {
        let (notes, defaults): (&AgeNotes, [&str; 3]) = match lang {
            FormLanguage::Nl => (&rules.nl, DEFAULT_NL),
            FormLanguage::En => (&rules.en, DEFAULT_EN),
        };
        let (configured, default) = match self {
            AgeBand::Under12 => (&notes.under_12, defaults[0]),
            AgeBand::From12To15 => (&notes.from_12, defaults[1]),
            AgeBand::From16 => (&notes.from_16, defaults[2]),
        };
        configured.as_deref().unwrap_or(default).to_owned()
    }
}

const DEFAULT_NL: [&str; 3] = [
    "Jonger dan 12 jaar: een ouder of voogd beslist namens het kind.",
    "12 tot 16 jaar: de jongere én een ouder of voogd moeten allebei instemmen.",
    "16 jaar of ouder: de persoon beslist zelf.",
];
const DEFAULT_EN: [&str; 3] = [
    "Under 12: a parent or guardian decides for the child.",
    "12 to 15: both the young person and a parent or guardian must agree.",
    "16 or older: the person decides alone.",
];

/// Whole years from `born` to `on`; `None` when `born` is after `on`. Someone born on 29
/// February has their birthday on 1 March in other years (the day after 28 February).
pub fn age_on(born: Date, on: Date) -> Option<u16> {
    if born > on {
        return None;
    }
    let mut years = on.year() - born.year();
    if (u8::from(on.month()), on.day()) < (u8::from(born.month()), born.day()) {
        years -= 1;
    }
    u16::try_from(years).ok()
}

/// Whether `born` can be the date of birth of someone submitting a form on `today`: not
/// after it, and at most [`MAX_AGE_YEARS`] years old.
pub fn plausible_birth_date(born: Date, today: Date) -> bool {
    born <= today && age_on(born, today).is_some_and(|a| i32::from(a) <= MAX_AGE_YEARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_band_changes_on_the_12th_and_16th_birthday_not_the_day_before() {
        let born = date!(2010 - 06 - 15);
        let band = |on| AgeBand::on(born, on);
        assert_eq!(band(date!(2022 - 06 - 14)), Some(AgeBand::Under12));
        assert_eq!(band(date!(2022 - 06 - 15)), Some(AgeBand::From12To15));
        assert_eq!(band(date!(2026 - 06 - 14)), Some(AgeBand::From12To15));
        assert_eq!(band(date!(2026 - 06 - 15)), Some(AgeBand::From16));
        assert_eq!(band(born), Some(AgeBand::Under12));
        assert_eq!(band(date!(2010 - 06 - 14)), None);
    }

    #[test]
    fn a_leap_day_birthday_counts_from_the_first_of_march_in_other_years() {
        let born = date!(2012 - 02 - 29);
        assert_eq!(age_on(born, date!(2024 - 02 - 28)), Some(11));
        assert_eq!(age_on(born, date!(2024 - 02 - 29)), Some(12));
        assert_eq!(age_on(born, date!(2028 - 02 - 28)), Some(15));
        assert_eq!(age_on(born, date!(2028 - 02 - 29)), Some(16));
        assert_eq!(age_on(born, date!(2025 - 02 - 28)), Some(12));
        assert_eq!(age_on(born, date!(2025 - 03 - 01)), Some(13));
    }

    #[test]
    fn birth_dates_in_the_future_or_too_long_ago_are_not_plausible() {
        let today = date!(2026 - 11 - 22);
        assert!(plausible_birth_date(date!(2026 - 11 - 22), today));
        assert!(plausible_birth_date(date!(1905 - 11 - 23), today));
        assert!(!plausible_birth_date(date!(1905 - 11 - 22), today));
        assert!(!plausible_birth_date(date!(2026 - 11 - 23), today));
    }

    #[test]
    fn notes_are_configured_per_language_with_built_in_defaults() {
        let mut rules = AgeRules::default();
        rules.en.from_12 = Some("Ask both.".into());
        assert_eq!(
            AgeBand::From12To15.note(&rules, FormLanguage::En),
            "Ask both."
        );
        assert!(AgeBand::From12To15
            .note(&rules, FormLanguage::Nl)
            .contains("12 tot 16"));
        assert!(AgeBand::Under12
            .note(&rules, FormLanguage::En)
            .contains("parent"));
    }
}
