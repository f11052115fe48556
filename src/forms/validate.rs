//! Field checks: keep only configured fields, normalise them, and say per field what is wrong
//! (missing, too long, not an e-mail address, …) so the visitor's page can point at it.

use time::Date;

use super::age::plausible_birth_date;
use crate::config::{FieldType, FormConfig, FormFieldConfig};

/// What is wrong with one field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    /// Longer than the configured maximum, in characters.
    TooLong(usize),
    BadEmail,
    BadPhone,
    BadDate,
    /// Not an existing date, after the day of submission, or more than 120 years before it.
    BadDateOfBirth,
    /// Control characters (other than line breaks and tabs in a textarea).
    BadCharacters,
}

/// A problem tied to a field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub problem: Problem,
}

/// The configured fields' values in configuration order (missing ones as `""`), plus problems.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub values: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
}

impl Checked {
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Pick the configured fields out of a submission (unknown names are dropped; of repeated names
/// the first counts) and check each. `today`: the day of submission (UTC), which a date of
/// birth may not be after.
pub fn check(form: &FormConfig, submitted: &[(String, String)], today: Date) -> Checked {
    let mut checked = Checked::default();
    for field in &form.fields {
        let raw = submitted
            .iter()
            .find(|(n, _)| *n == field.name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let (value, problem) = check_field(field, raw, today);
        if let Some(problem) = problem {
            checked.errors.push(FieldError {
                field: field.name.clone(),
                problem,
            });
        }
        checked.values.push((field.name.clone(), value));
    }
    checked
}

/// One field's value as it would be stored (normalised), and what is wrong with it, if
/// anything. `today` as in [`check`].
pub fn check_field(field: &FormFieldConfig, raw: &str, today: Date) -> (String, Option<Problem>) {
    let value = normalise(field.kind, raw);
    let problem = problem_of(
        field.kind,
        field.required,
        field.max_length(),
        &value,
        today,
    );
    (value, problem)
}

fn normalise(kind: FieldType, raw: &str) -> String {
    match kind {
        FieldType::Textarea => raw.replace("\r\n", "\n").trim().to_owned(),
        _ => raw.trim().to_owned(),
    }
}

fn problem_of(
    kind: FieldType,
    required: bool,
    max: usize,
    value: &str,
    today: Date,
) -> Option<Problem> {
    if value.is_empty() {
        return required.then_some(Problem::Missing);
    }
    let allowed_control = |c: char| kind == FieldType::Textarea && matches!(c, '\n' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed_control(c)) {
        return Some(Problem::BadCharacters);
    }
    if value.chars().count() > max {
        return Some(Problem::TooLong(max));
    }
    match kind {
        FieldType::Email if !is_email(value) => Some(Problem::BadEmail),
        FieldType::Phone if !is_phone(value) => Some(Problem::BadPhone),
        FieldType::Date if parse_date(value).is_none() => Some(Problem::BadDate),
        FieldType::DateOfBirth
            if !parse_date(value).is_some_and(|born| plausible_birth_date(born, today)) =>
        {
            Some(Problem::BadDateOfBirth)
        }
        _ => None,
    }
}

/// A practical check, not RFC 5322: one `@`, a non-empty local part, a dotted domain, no spaces.
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && !v
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        && domain.split('.').count() >= 2
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

/// Digits with the usual separators, 6–20 digits (national and international numbers).
fn is_phone(v: &str) -> bool {
    let digits = v.chars().filter(char::is_ascii_digit).count();
    (6..=20).contains(&digits)
        && v.chars().enumerate().all(|(i, c)| {
            c.is_ascii_digit()
                || matches!(c, ' ' | '-' | '(' | ')' | '.' | '/')
                || (c == '+' && i == 0)
        })
}

/// `YYYY-MM-DD`, as `<input type="date">` sends it, if it is a real calendar date.
pub fn parse_date(v: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    // The format also takes a sign and more year digits; a form date has exactly ten characters.
    if v.len() != 10 || !v.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Date::parse(v, &format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Date = time::macros::date!(2026 - 11 - 22);

    fn form() -> FormConfig {
        let field = |name: &str, kind, required, max_length| FormFieldConfig {
            name: name.into(),
            kind,
            required,
            max_length,
            label: None,
        };
        FormConfig {
            id: "contact".into(),
            path: "/contact".into(),
            path_case_sensitive: false,
            mode: crate::config::FormMode::Store,
            fields: vec![
                field("naam", FieldType::Text, true, Some(10)),
                field("email", FieldType::Email, true, None),
                field("telefoon", FieldType::Phone, false, None),
                field("datum", FieldType::Date, false, None),
                field("geboren", FieldType::DateOfBirth, false, None),
                field("bericht", FieldType::Textarea, true, None),
            ],
            retention: std::time::Duration::from_secs(60),
            redirect: "/bedankt.html".into(),
            language: crate::config::FormLanguage::Nl,
            max_body_bytes: 65536,
            honeypot_field: "cg_website".into(),
            min_fill_time: std::time::Duration::from_secs(3),
            rate_limit_max: 5,
            rate_limit_window: std::time::Duration::from_secs(600),
            notify_webhook: None,
            plugin: Default::default(),
            plugin_form_id: None,
            plugin_element_id: None,
            thank_you_message: None,
            age_rules: Default::default(),
        }
    }

    fn submit(list: &[(&str, &str)]) -> Checked {
        let s: Vec<_> = list
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        check(&form(), &s, TODAY)
    }

    fn problems(c: &Checked) -> Vec<(&str, Problem)> {
        c.errors
            .iter()
            .map(|e| (e.field.as_str(), e.problem))
            .collect()
    }

    #[test]
    fn good_submission_keeps_configured_fields_in_order_and_drops_others() {
        let c = submit(&[
            ("bericht", "Hallo\r\nwereld  "),
            ("email", " jan@example.nl"),
            ("naam", "Jan"),
            ("evil", "dropped"),
            ("telefoon", "+31 (0)20-123 4567"),
            ("datum", "2024-02-29"),
        ]);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let names: Vec<&str> = c.values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["naam", "email", "telefoon", "datum", "geboren", "bericht"]
        );
        assert_eq!(c.value("bericht"), Some("Hallo\nwereld"));
        assert_eq!(c.value("email"), Some("jan@example.nl"));
    }

    #[test]
    fn every_problem_is_named_with_its_field() {
        let c = submit(&[
            ("naam", "Een veel te lange naam"),
            ("email", "jan@localhost"),
            ("telefoon", "bel me"),
            ("datum", "2023-02-29"),
            ("geboren", "2026-11-23"),
        ]);
        assert_eq!(
            problems(&c),
            [
                ("naam", Problem::TooLong(10)),
                ("email", Problem::BadEmail),
                ("telefoon", Problem::BadPhone),
                ("datum", Problem::BadDate),
                ("geboren", Problem::BadDateOfBirth),
                ("bericht", Problem::Missing),
            ]
        );
    }

    #[test]
    fn control_characters_are_refused_outside_textareas() {
        let c = submit(&[
            ("naam", "Jan\u{0}"),
            ("email", "a@b.nl"),
            ("bericht", "a\tb\nc"),
        ]);
        assert_eq!(problems(&c), [("naam", Problem::BadCharacters)]);
    }

    #[test]
    fn a_date_of_birth_must_exist_and_be_plausible() {
        let born = |v: &str| {
            submit(&[("geboren", v)])
                .errors
                .iter()
                .any(|e| e.field == "geboren")
        };
        assert!(!born("2010-06-15"));
        assert!(!born("2026-11-22"));
        assert!(!born("1905-11-23"));
        for bad in [
            "2026-11-23",
            "1905-11-22",
            "2011-02-29",
            "15-06-2010",
            "+2010-06-15",
        ] {
            assert!(born(bad), "{bad}");
        }
    }

    #[test]
    fn dates_are_ten_character_calendar_dates() {
        assert_eq!(
            parse_date("2024-02-29"),
            Some(time::macros::date!(2024 - 02 - 29))
        );
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "+02024-02-2",
            "2024-02-29 ",
            "24-02-29",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn email_check_accepts_real_addresses_only() {
        for ok in ["a@b.nl", "jan.de-vries+form@mail.example.org"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "", "jan", "@b.nl", "a@b", "a@@b.nl", "a b@c.nl", "a@b..nl", "a@-b.nl",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
