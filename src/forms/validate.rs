//! Field checks: keep only configured fields, normalise them, and say per field what is wrong
//! (missing, too long, not an e-mail address, …) so the visitor's page can point at it.

use crate::config::{FieldType, FormConfig};

/// What is wrong with one field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    Missing,
    /// Longer than the configured maximum, in characters.
    TooLong(usize),
    BadEmail,
    BadPhone,
    BadDate,
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
/// the first counts) and check each.
pub fn check(form: &FormConfig, submitted: &[(String, String)]) -> Checked {
    let mut checked = Checked::default();
    for field in &form.fields {
        let raw = submitted
            .iter()
            .find(|(n, _)| *n == field.name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        let value = normalise(field.kind, raw);
        if let Some(problem) = problem_of(field.kind, field.required, field.max_length(), &value) {
            checked.errors.push(FieldError {
                field: field.name.clone(),
                problem,
            });
        }
        checked.values.push((field.name.clone(), value));
    }
    checked
}

fn normalise(kind: FieldType, raw: &str) -> String {
    match kind {
        FieldType::Textarea => raw.replace("\r\n", "\n").trim().to_owned(),
        _ => raw.trim().to_owned(),
    }
}

fn problem_of(kind: FieldType, required: bool, max: usize, value: &str) -> Option<Problem> {
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
        FieldType::Date if !is_date(value) => Some(Problem::BadDate),
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

/// `YYYY-MM-DD`, as `<input type="date">` sends it, and a real calendar date.
fn is_date(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |s: &str| s.parse::<u16>().ok();
    let (Some(y), Some(m), Some(d)) = (num(&v[0..4]), num(&v[5..7]), num(&v[8..10])) else {
        return false;
    };
    let Ok(month) = time::Month::try_from(m as u8) else {
        return false;
    };
    time::Date::from_calendar_date(i32::from(y), month, d as u8).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FormFieldConfig;

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
            thank_you_message: None,
        }
    }

    fn submit(list: &[(&str, &str)]) -> Checked {
        let s: Vec<_> = list
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        check(&form(), &s)
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
        assert_eq!(names, ["naam", "email", "telefoon", "datum", "bericht"]);
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
        ]);
        assert_eq!(
            problems(&c),
            [
                ("naam", Problem::TooLong(10)),
                ("email", Problem::BadEmail),
                ("telefoon", Problem::BadPhone),
                ("datum", Problem::BadDate),
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
