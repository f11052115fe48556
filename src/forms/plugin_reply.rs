//! The answer to a form plugin's own submission request, in the plugin's format, so the
//! plugin's script shows the visitor the gate's outcome as if the CMS had answered. Every
//! outcome is answered 200: the plugins send their refusals with 200 too (`wp_send_json_*`,
//! CF7's REST answer), and their scripts drop other statuses without a word to the visitor.
//!
//! * CF7: see `plugin` (verified against its source).
//! * WPForms (`wpforms_submit`): refusals `{"success":false,"data":{"errors":{"general":
//!   {"header":html},"field":{input name: text}}}}` as `ajax_process_errors` sends them
//!   (verified against wpforms-lite `src/Forms/Process.php`); success `{"success":true,
//!   "data":{"form_id","confirmation":html}}` — the same file's `ajax_submit` sends
//!   `wp_send_json_success(["confirmation" => html])`, which is what its script reads; the
//!   extra `form_id` is ignored by it.
//! * Elementor Pro (`elementor_pro_forms_send_form`): `{"success":bool,"data":{"message",
//!   "errors":{field id: text},"data":{}}}`, what its `form-sender.js` reads (checked against
//!   a published copy of that script and of an older `Ajax_Handler`).
//! * Gravity Forms 2.9 AJAX (`gform_submit_form`): `{"success":true,"data":{"is_valid",
//!   "validation_messages":{field id: text},"confirmation_type":"message",
//!   "confirmation_message","confirmation_markup"}}`, and `{"success":false,"data":text}` for
//!   errors, as its `GF_Ajax_Handler::submit_form` sends them (checked against a published
//!   copy of its source). Its legacy iframe post-back gets the HTML document its script reads
//!   (`body.GF_AJAX_POSTBACK` with the confirmation or the form's wrapper).

use actix_web::http::StatusCode;
use serde_json::{json, Value};

use super::page::{headline, problem_text};
use super::plugin::{Echo, Via};
use super::service::Stored;
use super::submit::Refusal;
use crate::config::{FormConfig, FormLanguage, FormPlugin};
use crate::http::{Code, EdgeError};
use htmlize::escape_text;

/// The plugin's answer to one submission: always HTTP 200 (see the module comment), with
/// `Retry-After` seconds when trying later helps.
#[derive(Debug, Clone)]
pub struct PluginAnswer {
    pub status: StatusCode,
    pub body: PluginBody,
    pub retry_after: Option<u64>,
}

/// What a plugin's script reads: JSON, or (Gravity Forms' iframe) an HTML document.
#[derive(Debug, Clone)]
pub enum PluginBody {
    Json(Value),
    Html(String),
}

/// What the gate tells the plugin's script about one submission, before it is put in the
/// plugin's words.
struct Outcome {
    kind: Kind,
    /// The sentence the visitor reads (thank-you or why not).
    message: String,
    /// Per field: its configured name and what is wrong.
    invalid: Vec<(String, String)>,
    retry_after: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stored,
    Invalid,
    Spam,
    Failed,
}

fn outcome(form: &FormConfig, result: &Result<Stored, Refusal>) -> Outcome {
    let lang = form.language;
    let (kind, message, retry_after) = match result {
        Ok(_) => (Kind::Stored, thank_you(form), None),
        Err(refusal) => match refusal.code {
            Code::InvalidFields => (Kind::Invalid, fields_have_errors(lang).to_owned(), None),
            Code::Honeypot | Code::TooFast => (Kind::Spam, refusal_text(form, refusal.code), None),
            code => {
                let retry_after = match code {
                    Code::RateLimited => Some(form.rate_limit_window.as_secs()),
                    Code::StoreUnavailable => Some(30),
                    _ => None,
                };
                (Kind::Failed, refusal_text(form, code), retry_after)
            }
        },
    };
    let invalid = match result {
        Err(refusal) if kind == Kind::Invalid => refusal
            .typed
            .iter()
            .flat_map(|t| &t.errors)
            .map(|e| (e.field.clone(), problem_text(lang, e.problem)))
            .collect(),
        _ => Vec::new(),
    };
    Outcome {
        kind,
        message,
        invalid,
        retry_after,
    }
}

/// The answer the plugin's script expects for `result`, sent as `via` says.
pub fn answer(
    form: &FormConfig,
    via: Via,
    result: &Result<Stored, Refusal>,
    echo: &Echo,
) -> PluginAnswer {
    let outcome = outcome(form, result);
    let body = match (via, form.plugin) {
        (Via::FramePostBack, _) => PluginBody::Html(gravity_postback(form, &outcome)),
        (_, FormPlugin::Wpforms) => PluginBody::Json(wpforms(form, &outcome)),
        (_, FormPlugin::Elementor) => PluginBody::Json(elementor(&outcome)),
        (_, FormPlugin::Gravityforms) => PluginBody::Json(gravity(form, &outcome)),
        _ => PluginBody::Json(cf7(form, &outcome, echo)),
    };
    PluginAnswer {
        status: StatusCode::OK,
        body,
        retry_after: outcome.retry_after,
    }
}

fn cf7(form: &FormConfig, outcome: &Outcome, echo: &Echo) -> Value {
    let unit_tag = echo.unit_tag.as_deref().unwrap_or_default();
    let invalid_fields: Vec<Value> = outcome
        .invalid
        .iter()
        .map(|(field, message)| {
            json!({
                "field": field,
                "message": message,
                "idref": Value::Null,
                "error_id": format!("{unit_tag}-ve-{field}"),
            })
        })
        .collect();
    let status = match outcome.kind {
        Kind::Stored => "mail_sent",
        Kind::Invalid => "validation_failed",
        Kind::Spam => "spam",
        Kind::Failed => "mail_failed",
    };
    json!({
        "contact_form_id": form.plugin_form_id,
        "status": status,
        "message": outcome.message,
        // Empty: CF7's script then leaves its hidden hash field alone (older markup has none).
        "posted_data_hash": "",
        "into": format!("#{unit_tag}"),
        "invalid_fields": invalid_fields,
    })
}

/// WPForms: field errors keyed by the input's name (what `ajax_error_field_name` gives its
/// jQuery Validate), the rest as the form's header error.
fn wpforms(form: &FormConfig, outcome: &Outcome) -> Value {
    let id = form.plugin_form_id.unwrap_or_default();
    let text = escape_text(&outcome.message);
    if outcome.kind == Kind::Stored {
        return json!({"success": true, "data": {
            "form_id": id,
            "confirmation": format!(
                "<div class=\"wpforms-confirmation-container-full wpforms-confirmation-scroll\" \
                 id=\"wpforms-confirmation-{id}\"><p>{text}</p></div>"
            ),
        }});
    }
    let field: serde_json::Map<String, Value> = outcome
        .invalid
        .iter()
        .map(|(name, problem)| (name.clone(), html_text(problem)))
        .collect();
    let mut errors = json!({"general": {"header": format!(
        "<div class=\"wpforms-error-container\" role=\"alert\"><p>{text}</p></div>"
    )}});
    if !field.is_empty() {
        errors["field"] = Value::Object(field);
    }
    json!({"success": false, "data": {"errors": errors}})
}

/// A message for a script that inserts it as HTML (Elementor's, WPForms' and Gravity Forms'
/// do), so the gate's and the operator's texts show as written.
fn html_text(text: &str) -> Value {
    Value::String(escape_text(text).into_owned())
}

/// Elementor Pro: field errors keyed by the field's id, the `x` of `form_fields[x]`; the
/// script (`form-sender.js`) puts `data.message` and each error into the page as HTML and
/// marks `#form-field-<id>`.
fn elementor(outcome: &Outcome) -> Value {
    let errors: serde_json::Map<String, Value> = outcome
        .invalid
        .iter()
        .map(|(name, problem)| {
            let id = name
                .strip_prefix("form_fields[")
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(name);
            (id.to_owned(), html_text(problem))
        })
        .collect();
    let mut data = json!({"message": html_text(&outcome.message), "data": {}});
    if outcome.kind != Kind::Stored {
        data["errors"] = Value::Object(errors);
    }
    json!({"success": outcome.kind == Kind::Stored, "data": data})
}

/// Gravity Forms 2.9 AJAX: a refused field by its field id, the `n` of `input_n` /
/// `input_n_m`; spam and failures as `send_json_error`'s text.
fn gravity(form: &FormConfig, outcome: &Outcome) -> Value {
    match outcome.kind {
        Kind::Stored => json!({"success": true, "data": {
            "is_valid": true,
            "page_number": 0,
            "source_page_number": 1,
            "confirmation_type": "message",
            "confirmation_message": escape_text(&outcome.message),
            "confirmation_markup": gravity_confirmation(form, &outcome.message),
        }}),
        Kind::Invalid => {
            let messages: serde_json::Map<String, Value> = outcome
                .invalid
                .iter()
                .map(|(name, problem)| (gravity_field_id(name), html_text(problem)))
                .collect();
            json!({"success": true, "data": {
                "is_valid": false,
                "validation_messages": messages,
                "page_number": 1,
                "source_page_number": 1,
            }})
        }
        Kind::Spam | Kind::Failed => json!({"success": false, "data": outcome.message}),
    }
}

/// `input_3` and `input_3_6` → `"3"`.
fn gravity_field_id(name: &str) -> String {
    name.strip_prefix("input_")
        .map(|rest| rest.split(['_', '.']).next().unwrap_or(rest))
        .unwrap_or(name)
        .to_owned()
}

fn gravity_confirmation(form: &FormConfig, message: &str) -> String {
    let id = form.plugin_form_id.unwrap_or_default();
    format!(
        "<div id=\"gform_confirmation_wrapper_{id}\" class=\"gform_confirmation_wrapper\">\
         <div id=\"gform_confirmation_message_{id}\" class=\"gform_confirmation_message_{id} \
         gform_confirmation_message\">{}</div></div>",
        escape_text(message)
    )
}

/// The document Gravity Forms' iframe script reads: the confirmation, or the form's wrapper
/// with the gate's message and a message per refused field (the gate cannot rebuild the
/// plugin's inputs, so the visitor reloads the page to try again).
fn gravity_postback(form: &FormConfig, outcome: &Outcome) -> String {
    let id = form.plugin_form_id.unwrap_or_default();
    let inner = match outcome.kind {
        Kind::Stored => gravity_confirmation(form, &outcome.message),
        _ => {
            let fields: String = outcome
                .invalid
                .iter()
                .map(|(name, problem)| {
                    format!(
                        "<div id=\"validation_message_{id}_{}\" class=\"gfield_description \
                         validation_message gfield_validation_message\">{}</div>",
                        gravity_field_id(name),
                        escape_text(problem)
                    )
                })
                .collect();
            format!(
                "<div class=\"gform_wrapper gform_validation_error\" id=\"gform_wrapper_{id}\">\
                 <div class=\"gform_validation_errors\" id=\"gform_{id}_validation_container\">\
                 <h2 class=\"gform_submission_error\">{}</h2></div>{fields}</div>",
                escape_text(&outcome.message)
            )
        }
    };
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"UTF-8\"></head>\
         <body class=\"GF_AJAX_POSTBACK\">{inner}</body></html>"
    )
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
