//! What the visitor sees when the gate does not send them to the thank-you page: a complete,
//! server-rendered page in the form's language that says what happened (wording from the edge's
//! message table) and what to do, with the form and everything they typed on it (escaped by the
//! template engine). Also the JSON answer for a stored entry.

use minijinja::value::{Serde, Value};
use minijinja::{context, Environment};
use serde::Serialize;

use super::validate::{Checked, Problem};
use crate::config::{FieldType, FormConfig, FormLanguage, FORM_TOKEN_FIELD};
use crate::http::error::message_not_sent;
use crate::http::{EdgeError, Lang};

const TEMPLATE: &str = include_str!("../../assets/forms/page.html");

struct Texts {
    lang: &'static str,
    submit: &'static str,
    back: &'static str,
    honeypot_label: &'static str,
}

fn texts(lang: FormLanguage) -> Texts {
    match lang {
        FormLanguage::Nl => Texts {
            lang: "nl",
            submit: "Versturen",
            back: "Ga met de terugknop van uw browser terug naar het formulier; uw tekst staat daar meestal nog.",
            honeypot_label: "Laat dit veld leeg",
        },
        FormLanguage::En => Texts {
            lang: "en",
            submit: "Send",
            back: "Use your browser's back button to return to the form; your text is usually still there.",
            honeypot_label: "Leave this field empty",
        },
    }
}

/// Title and explanation of a refusal, in the form's language: "not sent", then the table's
/// explanation of the code.
pub fn headline(lang: FormLanguage, error: &EdgeError) -> (&'static str, String) {
    let lang = Lang::from(lang);
    let title = error.code().message(lang).title;
    (
        title,
        format!("{} {}", message_not_sent(lang), error.text(lang)),
    )
}

/// The wording of a field problem.
pub fn problem_text(lang: FormLanguage, problem: Problem) -> String {
    use FormLanguage::{En, Nl};
    match (lang, problem) {
        (Nl, Problem::Missing) => "Dit veld is verplicht.".into(),
        (En, Problem::Missing) => "This field is required.".into(),
        (Nl, Problem::TooLong(n)) => format!("Gebruik hoogstens {n} tekens."),
        (En, Problem::TooLong(n)) => format!("Use at most {n} characters."),
        (Nl, Problem::BadEmail) => "Vul een geldig e-mailadres in, zoals naam@voorbeeld.nl.".into(),
        (En, Problem::BadEmail) => "Enter a valid e-mail address, such as name@example.com.".into(),
        (Nl, Problem::BadPhone) => {
            "Vul een telefoonnummer in met alleen cijfers, spaties, +, - of haakjes.".into()
        }
        (En, Problem::BadPhone) => {
            "Enter a phone number using only digits, spaces, +, - or brackets.".into()
        }
        (Nl, Problem::BadDate) => "Vul een bestaande datum in als JJJJ-MM-DD.".into(),
        (En, Problem::BadDate) => "Enter an existing date as YYYY-MM-DD.".into(),
        (Nl, Problem::BadDateOfBirth) => {
            "Vul een geboortedatum in als JJJJ-MM-DD, niet later dan vandaag.".into()
        }
        (En, Problem::BadDateOfBirth) => {
            "Enter a date of birth as YYYY-MM-DD, not later than today.".into()
        }
        (Nl, Problem::BadCharacters) => {
            "Dit veld bevat onzichtbare stuurtekens; typ de tekst opnieuw.".into()
        }
        (En, Problem::BadCharacters) => {
            "This field contains invisible control characters; please retype it.".into()
        }
    }
}

#[derive(Serialize)]
struct FieldView<'a> {
    name: &'a str,
    label: &'a str,
    kind: &'static str,
    input_type: &'static str,
    value: &'a str,
    required: bool,
    max_length: usize,
    error: Option<String>,
}

#[derive(Serialize)]
struct ErrorView<'a> {
    field: &'a str,
    label: &'a str,
    message: String,
}

/// Renders the gate's form pages; built once per service.
pub struct Pages {
    env: Environment<'static>,
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

impl Pages {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // The name ends in .html, so minijinja escapes every value for HTML.
        env.add_template("page.html", TEMPLATE)
            .expect("the built-in form page template parses");
        Self { env }
    }

    /// The page for a refusal. `typed` is what the visitor sent (None when it could not be
    /// read); `token` a fresh fill-time token for the re-rendered form.
    pub fn render(
        &self,
        form: &FormConfig,
        error: &EdgeError,
        typed: Option<&Checked>,
        token: Option<&str>,
    ) -> String {
        let lang = form.language;
        let t = texts(lang);
        let (title, message) = headline(lang, error);
        let errors_of = |name: &str| -> Option<String> {
            typed?
                .errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| problem_text(lang, e.problem))
        };
        let form_view = typed.map(|checked| {
            let fields: Vec<FieldView<'_>> = form
                .fields
                .iter()
                .map(|f| FieldView {
                    name: &f.name,
                    label: f.label(),
                    kind: kind_name(f.kind),
                    input_type: input_type(f.kind),
                    value: checked.value(&f.name).unwrap_or(""),
                    required: f.required,
                    max_length: f.max_length(),
                    error: errors_of(&f.name),
                })
                .collect();
            context! {
                action => &form.path,
                fields => Value::from(Serde(&fields)),
                honeypot => &form.honeypot_field,
                honeypot_label => t.honeypot_label,
                token => token,
                token_field => FORM_TOKEN_FIELD,
                submit => t.submit,
            }
        });
        let errors: Vec<ErrorView<'_>> = typed
            .map(|c| {
                c.errors
                    .iter()
                    .map(|e| ErrorView {
                        field: &e.field,
                        label: form
                            .fields
                            .iter()
                            .find(|f| f.name == e.field)
                            .map(|f| f.label())
                            .unwrap_or(&e.field),
                        message: problem_text(lang, e.problem),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ctx = context! {
            lang => t.lang,
            title => title,
            message => message,
            errors => Value::from(Serde(&errors)),
            form => form_view,
            back => t.back,
        };
        match self
            .env
            .get_template("page.html")
            .and_then(|tpl| tpl.render(ctx))
        {
            Ok(html) => html,
            // Only a bug in the built-in template gets here; still never a raw error to the visitor.
            Err(e) => {
                tracing::error!(error = %e, "form page template failed");
                String::from("<!DOCTYPE html><title>Error</title><p>Your message was NOT sent.</p>")
            }
        }
    }
}

/// JSON body of a stored entry: `{"ok":true,"id":…,"redirect":…}`.
pub fn stored_json(form: &FormConfig, id: &str) -> String {
    serde_json::json!({"ok": true, "id": id, "redirect": form.redirect}).to_string()
}

fn kind_name(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text => "text",
        FieldType::Email => "email",
        FieldType::Phone => "phone",
        FieldType::Date => "date",
        FieldType::DateOfBirth => "date_of_birth",
        FieldType::Textarea => "textarea",
    }
}

fn input_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text | FieldType::Textarea => "text",
        FieldType::Email => "email",
        FieldType::Phone => "tel",
        FieldType::Date | FieldType::DateOfBirth => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FormFieldConfig, FormMode};
    use crate::forms::validate::check;
    use crate::http::Code;
    use std::time::Duration;

    fn form(language: FormLanguage) -> FormConfig {
        FormConfig {
            id: "contact".into(),
            path: "/contact".into(),
            path_case_sensitive: false,
            mode: FormMode::Store,
            fields: vec![FormFieldConfig {
                name: "bericht".into(),
                kind: FieldType::Textarea,
                required: true,
                max_length: None,
                label: Some("Message".into()),
            }],
            retention: Duration::from_secs(60),
            redirect: "/thanks".into(),
            language,
            max_body_bytes: 1024,
            honeypot_field: "cg_website".into(),
            min_fill_time: Duration::from_secs(3),
            rate_limit_max: 5,
            rate_limit_window: Duration::from_secs(600),
            notify_webhook: None,
            plugin: Default::default(),
            plugin_form_id: None,
            plugin_element_id: None,
            thank_you_message: None,
            age_rules: Default::default(),
        }
    }

    #[test]
    fn store_down_page_says_not_sent_and_keeps_the_text_escaped() {
        let f = form(FormLanguage::En);
        let typed = check(
            &f,
            &[("bericht".into(), "</textarea><b>hi</b>".into())],
            time::macros::date!(2026 - 11 - 22),
        );
        let error = EdgeError::new(Code::StoreUnavailable);
        let html = Pages::new().render(&f, &error, Some(&typed), Some("1.abc"));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("Your message was NOT sent"));
        assert!(
            html.contains("&lt;&#x2f;textarea&gt;&lt;b&gt;hi&lt;&#x2f;b&gt;")
                || html.contains("&lt;/textarea&gt;&lt;b&gt;hi&lt;/b&gt;"),
            "{html}"
        );
        assert!(html.contains("name=\"cg_t\" value=\"1.abc\""));
        assert!(
            html.contains("name=\"cg_website\""),
            "honeypot present on the re-rendered form"
        );
    }

    #[test]
    fn every_refusal_says_not_sent_in_both_languages() {
        for code in Code::ALL {
            let error = EdgeError::too_large(65536);
            let error = if code == Code::BodyTooLarge {
                error
            } else {
                EdgeError::new(code)
            };
            for lang in [FormLanguage::Nl, FormLanguage::En] {
                let (_, message) = headline(lang, &error);
                assert!(
                    message.contains("NIET") || message.contains("NOT"),
                    "{message}"
                );
                assert!(!message.contains("{limit}"), "{message}");
            }
        }
    }
}
