//! `[dsr]`: the register of data-subject requests — the deadline the organisation promises,
//! how long a closed request is kept, and the optional daily due-soon notification.

use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use url::Url;

use super::problem::ConfigProblem;
use super::values::{de_duration, de_http_url};

/// Most days `dsr.deadline` may give: 28 days never pass the legal month, not even in February.
pub const MAX_DEADLINE_DAYS: u16 = 28;

/// When an answer is due, counted from the day a request was received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// GDPR art. 12(3): the same date in the next month, or that month's last day when the
    /// date does not exist there (31 January → 28 or 29 February).
    OneMonth,
    /// A number of calendar days, for organisations that promise less than a month.
    Days(u16),
}

impl Deadline {
    /// How the deadline is written in the configuration: `"1 month"` or `"21 days"`.
    pub fn describe(self) -> String {
        match self {
            Deadline::OneMonth => "1 month".to_owned(),
            Deadline::Days(1) => "1 day".to_owned(),
            Deadline::Days(n) => format!("{n} days"),
        }
    }
}

const DEADLINE: &str = "\"1 month\" or a number of days from 1 to 28, like 21";

fn parse_deadline(text: &str) -> Result<Deadline, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let days = match words.as_slice() {
        ["1", "month"] => return Ok(Deadline::OneMonth),
        [n] | [n, "days" | "day"] => n.parse::<u16>().ok(),
        _ => None,
    };
    match days {
        Some(n @ 1..=MAX_DEADLINE_DAYS) => Ok(Deadline::Days(n)),
        Some(n) if n > MAX_DEADLINE_DAYS => Err(format!(
            "expected at most {MAX_DEADLINE_DAYS} days (a longer period would pass the legal \
             one month in February; write \"1 month\" instead), got {n}"
        )),
        _ => Err(format!("expected {DEADLINE}, got {text:?}")),
    }
}

struct DeadlineVisitor;

impl Visitor<'_> for DeadlineVisitor {
    type Value = Deadline;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(DEADLINE)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Deadline, E> {
        parse_deadline(v).map_err(E::custom)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Deadline, E> {
        parse_deadline(&v.to_string()).map_err(E::custom)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Deadline, E> {
        parse_deadline(&v.to_string()).map_err(E::custom)
    }
}

fn de_deadline<'de, D: Deserializer<'de>>(d: D) -> Result<Deadline, D::Error> {
    d.deserialize_any(DeadlineVisitor)
}

/// `[dsr]`: see the module documentation and config/consentgate.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [dsr] table")]
pub struct DsrConfig {
    /// When an answer is due: `"1 month"` (default, GDPR art. 12(3)) or 1–28 days
    /// (`deadline = 21`). Each request keeps the rule it was registered under.
    #[serde(deserialize_with = "de_deadline")]
    pub deadline: Deadline,
    /// How long a closed request (done, refused, withdrawn) is kept as proof that it was
    /// answered, then deleted. Default 365 days.
    #[serde(deserialize_with = "de_duration")]
    pub retention: Duration,
    /// Optional `http://` or `https://` URL that gets, once a day, the ids and due dates of
    /// open requests due within 7 days or overdue (never a name or contact). Default none.
    #[serde(deserialize_with = "de_http_url")]
    pub notify_webhook: Option<Url>,
}

impl Default for DsrConfig {
    fn default() -> Self {
        Self {
            deadline: Deadline::OneMonth,
            retention: Duration::from_secs(365 * 24 * 3600),
            notify_webhook: None,
        }
    }
}

impl DsrConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if self.retention < Duration::from_secs(24 * 3600) {
            problems.push(ConfigProblem::new(
                "dsr.retention",
                "must be at least 1 day (a closed request is the proof that it was answered)",
            ));
        } else if self.retention > Duration::from_secs(10 * 366 * 24 * 3600) {
            problems.push(ConfigProblem::new(
                "dsr.retention",
                "must be at most 10 years",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_are_a_month_or_a_few_days() {
        assert_eq!(parse_deadline("1 month"), Ok(Deadline::OneMonth));
        assert_eq!(parse_deadline(" 1  month "), Ok(Deadline::OneMonth));
        assert_eq!(parse_deadline("21"), Ok(Deadline::Days(21)));
        assert_eq!(parse_deadline("28 days"), Ok(Deadline::Days(28)));
        assert_eq!(parse_deadline("1 day"), Ok(Deadline::Days(1)));
        assert!(parse_deadline("29")
            .unwrap_err()
            .contains("at most 28 days"));
        for bad in ["", "0", "2 months", "a month", "-3", "three weeks"] {
            assert!(parse_deadline(bad).is_err(), "{bad}");
        }
        assert_eq!(Deadline::Days(21).describe(), "21 days");
    }
}
