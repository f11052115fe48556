//! What the visitor sees when the gate does not send them to the thank-you page: a complete,
//! server-rendered page in the form's language that says what happened and what to do, with the
//! form and everything they typed on it (escaped by the template engine), or a JSON answer when
//! the request asked for JSON. Also the JSON answer for a stored entry.

use minijinja::value::{Serde, Value};
use minijinja::{context, Environment};
use serde::Serialize;

use super::validate::{Checked, FieldError, Problem};
use crate::config::{FieldType, FormConfig, FormLanguage, FORM_TOKEN_FIELD};

const TEMPLATE: &str = include_str!("../../assets/forms/page.html");

/// Why the visitor's submission was not stored; decides status, wording and machine code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    TooLarge {
        limit_bytes: usize,
    },
    UnsupportedType,
    FilePart,
    BadEncoding,
    Malformed,
    Honeypot,
    /// Missing, stale or too recent fill-time token.
    TooFast,
    RateLimited,
    Invalid,
    StoreDown,
}

impl Outcome {
    pub fn status(self) -> u16 {
        match self {
            Outcome::TooLarge { .. } => 413,
            Outcome::UnsupportedType | Outcome::FilePart => 415,
            Outcome::BadEncoding | Outcome::Malformed => 400,
            Outcome::Honeypot | Outcome::TooFast | Outcome::Invalid => 422,
            Outcome::RateLimited => 429,
            Outcome::StoreDown => 503,
        }
    }

    /// Stable machine code for JSON answers and counters.
    pub fn code(self) -> &'static str {
        match self {
            Outcome::TooLarge { .. } => "too_large",
            Outcome::UnsupportedType => "unsupported_type",
            Outcome::FilePart => "file_part",
            Outcome::BadEncoding => "bad_encoding",
            Outcome::Malformed => "malformed",
            Outcome::Honeypot => "honeypot",
            Outcome::TooFast => "too_fast",
            Outcome::RateLimited => "rate_limited",
            Outcome::Invalid => "invalid",
            Outcome::StoreDown => "store_unavailable",
        }
    }
}

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

/// Title and explanation of an outcome, in the form's language.
fn headline(lang: FormLanguage, outcome: Outcome) -> (String, String) {
    use FormLanguage::{En, Nl};
    let (t, m): (&str, String) = match (lang, outcome) {
        (Nl, Outcome::TooLarge { limit_bytes }) => ("Uw bericht is te groot", format!("Uw bericht is NIET verzonden: het formulier mag samen hoogstens {} KB tekst bevatten. Maak uw bericht korter en verstuur het opnieuw.", limit_bytes / 1024)),
        (En, Outcome::TooLarge { limit_bytes }) => ("Your message is too large", format!("Your message was NOT sent: the form may hold at most {} KB of text. Please shorten it and send it again.", limit_bytes / 1024)),
        (Nl, Outcome::UnsupportedType) => ("Dit formulier kon niet worden gelezen", "Uw bericht is NIET verzonden: uw browser stuurde het in een vorm die dit formulier niet aanneemt.".into()),
        (En, Outcome::UnsupportedType) => ("This form could not be read", "Your message was NOT sent: your browser sent it in a format this form does not accept.".into()),
        (Nl, Outcome::FilePart) => ("Bestanden zijn niet mogelijk", "Uw bericht is NIET verzonden: via dit formulier kunt u geen bestanden meesturen. Verstuur het zonder bijlage.".into()),
        (En, Outcome::FilePart) => ("Files are not accepted", "Your message was NOT sent: this form does not accept attachments. Please send it without one.".into()),
        (Nl, Outcome::BadEncoding) => ("Dit formulier kon niet worden gelezen", "Uw bericht is NIET verzonden: het bevatte tekens die niet als tekst te lezen zijn (geen geldige UTF-8).".into()),
        (En, Outcome::BadEncoding) => ("This form could not be read", "Your message was NOT sent: it contained characters that are not readable text (not valid UTF-8).".into()),
        (Nl, Outcome::Malformed) => ("Dit formulier kon niet worden gelezen", "Uw bericht is NIET verzonden: de gegevens kwamen beschadigd aan. Probeer het opnieuw.".into()),
        (En, Outcome::Malformed) => ("This form could not be read", "Your message was NOT sent: the data arrived damaged. Please try again.".into()),
        (Nl, Outcome::Honeypot) => ("Controleer het formulier", "Uw bericht is NIET verzonden: een verborgen veld dat leeg moet blijven was ingevuld (soms doet de automatische invulhulp van een browser dat). Controleer uw gegevens en klik opnieuw op Versturen.".into()),
        (En, Outcome::Honeypot) => ("Please check the form", "Your message was NOT sent: a hidden field that must stay empty was filled in (a browser's autofill sometimes does this). Check your details and press Send again.".into()),
        (Nl, Outcome::TooFast) => ("Nog één keer versturen", "Uw bericht is nog NIET verzonden: als bescherming tegen spam vragen we u het formulier na controle nog één keer te versturen.".into()),
        (En, Outcome::TooFast) => ("Please send once more", "Your message has NOT been sent yet: as a protection against spam, please check the form and send it once more.".into()),
        (Nl, Outcome::RateLimited) => ("Even geduld", "Uw bericht is NIET verzonden: er zijn vanaf uw netwerk kort na elkaar veel berichten verstuurd. Probeer het over enkele minuten opnieuw; uw tekst staat hieronder.".into()),
        (En, Outcome::RateLimited) => ("Please wait a moment", "Your message was NOT sent: many messages were sent from your network in a short time. Please try again in a few minutes; your text is below.".into()),
        (Nl, Outcome::Invalid) => ("Controleer het formulier", "Uw bericht is nog NIET verzonden. Pas de gemarkeerde velden aan en verstuur het opnieuw.".into()),
        (En, Outcome::Invalid) => ("Please check the form", "Your message has NOT been sent yet. Please correct the marked fields and send it again.".into()),
        (Nl, Outcome::StoreDown) => ("Uw bericht is NIET verzonden", "Door een storing bij ons is uw bericht NIET verzonden. Uw tekst staat hieronder: probeer het over enkele minuten opnieuw, of bewaar uw tekst en neem op een andere manier contact op.".into()),
        (En, Outcome::StoreDown) => ("Your message was NOT sent", "Because of a fault on our side your message was NOT sent. Your text is below: please try again in a few minutes, or keep a copy and contact us another way.".into()),
    };
    (t.to_owned(), m)
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

    /// The page for `outcome`. `typed` is what the visitor sent (None when it could not be
    /// read); `token` a fresh fill-time token for the re-rendered form.
    pub fn render(
        &self,
        form: &FormConfig,
        outcome: Outcome,
        typed: Option<&Checked>,
        token: Option<&str>,
    ) -> String {
        let lang = form.language;
        let t = texts(lang);
        let (title, message) = headline(lang, outcome);
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

/// JSON body of a refusal: `{"ok":false,"error":code,"message":…,"fields":[{"field","message"}]}`.
pub fn refusal_json(form: &FormConfig, outcome: Outcome, errors: &[FieldError]) -> String {
    let (_, message) = headline(form.language, outcome);
    let fields: Vec<serde_json::Value> = errors
        .iter()
        .map(|e| serde_json::json!({"field": e.field, "message": problem_text(form.language, e.problem)}))
        .collect();
    serde_json::json!({"ok": false, "error": outcome.code(), "message": message, "fields": fields})
        .to_string()
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
        FieldType::Textarea => "textarea",
    }
}

fn input_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text | FieldType::Textarea => "text",
        FieldType::Email => "email",
        FieldType::Phone => "tel",
        FieldType::Date => "date",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FormFieldConfig, FormMode};
    use crate::forms::validate::check;
    use std::time::Duration;

    fn form(language: FormLanguage) -> FormConfig {
        FormConfig {
            id: "contact".into(),
            path: "/contact".into(),
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
        }
    }

    #[test]
    fn store_down_page_says_not_sent_and_keeps_the_text_escaped() {
        let f = form(FormLanguage::En);
        let typed = check(&f, &[("bericht".into(), "</textarea><b>hi</b>".into())]);
        let html = Pages::new().render(&f, Outcome::StoreDown, Some(&typed), Some("1.abc"));
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
    fn every_outcome_has_a_status_and_wording_in_both_languages() {
        let all = [
            Outcome::TooLarge { limit_bytes: 65536 },
            Outcome::UnsupportedType,
            Outcome::FilePart,
            Outcome::BadEncoding,
            Outcome::Malformed,
            Outcome::Honeypot,
            Outcome::TooFast,
            Outcome::RateLimited,
            Outcome::Invalid,
            Outcome::StoreDown,
        ];
        for outcome in all {
            assert!((400..600).contains(&outcome.status()));
            for lang in [FormLanguage::Nl, FormLanguage::En] {
                let (_, message) = headline(lang, outcome);
                assert!(
                    message.contains("NIET") || message.contains("NOT"),
                    "{message}"
                );
            }
        }
    }
}
