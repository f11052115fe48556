//! The answer to a form plugin's own submission request, in the plugin's JSON format, so the
//! plugin's script shows the visitor the gate's outcome as if the CMS had answered (format and
//! sources: see `plugin`). Every outcome is answered 200 with its CF7 status.

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use super::page::{headline, problem_text};
use super::plugin::Echo;
use super::service::Stored;
use super::submit::Refusal;
use crate::config::{FormConfig, FormLanguage};
use crate::http::{Code, EdgeError};

/// The plugin's answer to one submission: always HTTP 200 (see the module comment), with
/// `Retry-After` seconds when trying later helps.
#[derive(Debug, Clone)]
pub struct PluginAnswer {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after: Option<u64>,
}

/// The answer the plugin's script expects for `result`. Only CF7 is captured by its own
/// endpoint (config validation refuses the other plugins until they are).
pub fn answer(form: &FormConfig, result: &Result<Stored, Refusal>, echo: &Echo) -> PluginAnswer {
    let lang = form.language;
    let unit_tag = echo.unit_tag.as_deref().unwrap_or_default();
    let mut invalid_fields = Vec::new();
    let mut retry_after = None;
    let (status, message) = match result {
        Ok(_) => ("mail_sent", thank_you(form)),
        Err(refusal) => match refusal.code {
            Code::InvalidFields => {
                for e in refusal.typed.iter().flat_map(|t| &t.errors) {
                    invalid_fields.push(json!({
                        "field": e.field,
                        "message": problem_text(lang, e.problem),
                        "idref": Value::Null,
                        "error_id": format!("{unit_tag}-ve-{}", e.field),
                    }));
                }
                ("validation_failed", fields_have_errors(lang).to_owned())
            }
            Code::Honeypot | Code::TooFast => ("spam", refusal_text(form, refusal.code)),
            code => {
                retry_after = match code {
                    Code::RateLimited => Some(form.rate_limit_window.as_secs()),
                    Code::StoreUnavailable => Some(30),
                    _ => None,
                };
                ("mail_failed", refusal_text(form, code))
            }
        },
    };
    PluginAnswer {
        status: StatusCode::OK,
        body: json!({
            "contact_form_id": form.plugin_form_id,
            "status": status,
            "message": message,
            // Empty: CF7's script then leaves its hidden hash field alone (older markup has none).
            "posted_data_hash": "",
            "into": format!("#{unit_tag}"),
            "invalid_fields": invalid_fields,
        }),
        retry_after,
    }
}

fn thank_you(form: &FormConfig) -> String {
    form.thank_you_message
        .clone()
        .unwrap_or_else(|| match form.language {
            FormLanguage::Nl => "Bedankt voor uw bericht. Het is verzonden.".into(),
            FormLanguage::En => "Thank you for your message. It has been sent.".into(),
        })
}

fn fields_have_errors(lang: FormLanguage) -> &'static str {
    match lang {
        FormLanguage::Nl => {
            "Eén of meer velden bevatten een fout. Controleer ze en probeer het opnieuw."
        }
        FormLanguage::En => "One or more fields have an error. Please check and try again.",
    }
}

/// "Your message was not sent." and why, as the gate's own pages say it.
fn refusal_text(form: &FormConfig, code: Code) -> String {
    let error = match code {
        Code::BodyTooLarge => EdgeError::too_large(form.max_body_bytes),
        code => EdgeError::new(code),
    };
    headline(form.language, &error).1
}
