//! `[[forms]]`: the contact forms the gate captures, their fields and spam checks.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::problem::ConfigProblem;
use super::values::{de_duration, de_http_url};

/// `[[forms]]`: one contact form captured by the gate (see config/consentgate.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct FormConfig {
    /// Short stable name (`[a-z0-9_-]`, ≤ 32 chars); part of storage keys. Required.
    pub id: String,
    /// Request path the form posts to, e.g. `"/contact"`. Required; never under `/_gate/`.
    /// POSTs to the same path written another way (`//contact`, `/contact/`, `/./contact`,
    /// `/%63ontact`, and `/Contact` unless `path_case_sensitive`) are captured too.
    pub path: String,
    /// Whether `/Contact` is another path than `/contact` for the site. Default false: most
    /// CMSs find a page whatever the case, so a POST in any case is captured.
    #[serde(default)]
    pub path_case_sensitive: bool,
    /// `"store"` (default: the upstream never sees the submission) or `"store_and_forward"`.
    #[serde(default = "default_form_mode")]
    pub mode: FormMode,
    /// The fields kept; anything else in a submission is dropped. At least one.
    pub fields: Vec<FormFieldConfig>,
    /// How long an entry is kept before the store deletes it. Default 30 days.
    #[serde(default = "default_retention", deserialize_with = "de_duration")]
    pub retention: Duration,
    /// Where the visitor is sent (303) after the entry is stored: a path or an absolute URL.
    /// Required.
    pub redirect: String,
    /// Language of the pages the gate shows for this form: `"nl"` or `"en"` (default).
    #[serde(default = "default_form_language")]
    pub language: FormLanguage,
    /// Largest accepted request body, in bytes. Default 65536 (64 KiB).
    #[serde(default = "default_form_max_body")]
    pub max_body_bytes: usize,
    /// Name of the hidden field bots fill in and people do not; `""` turns the check off.
    /// Default `"cg_website"`.
    #[serde(default = "default_honeypot")]
    pub honeypot_field: String,
    /// Shortest time between loading the form and submitting it; `"0s"` turns the check off.
    /// Default 3 s.
    #[serde(default = "default_min_fill_time", deserialize_with = "de_duration")]
    pub min_fill_time: Duration,
    /// Stored submissions allowed per anonymised IP address per `rate_limit_window`;
    /// 0 turns the limit off. Default 5.
    #[serde(default = "default_rate_limit_max")]
    pub rate_limit_max: u64,
    /// Window of the rate limit. Default 10 minutes.
    #[serde(
        default = "default_rate_limit_window",
        deserialize_with = "de_duration"
    )]
    pub rate_limit_window: Duration,
    /// Optional `http://` or `https://` URL that receives `{"form","entry_id","created"}` (never field contents) per
    /// new entry. Default none.
    #[serde(default, deserialize_with = "de_http_url")]
    pub notify_webhook: Option<Url>,
    /// The form plugin whose script sends this form: `"html"` (default: a plain form posting
    /// to `path`), `"cf7"`, `"gravityforms"`, `"wpforms"` or `"elementor"`. A plugin form is
    /// captured at the plugin's own endpoint (CF7's REST feedback route; admin-ajax.php for
    /// the submit action of WPForms, Elementor Pro and Gravity Forms 2.9; Gravity Forms' post
    /// back to the page) answered in the plugin's format, and its no-JavaScript POST on any
    /// page is captured too and answered with the gate's pages.
    #[serde(default)]
    pub plugin: FormPlugin,
    /// The plugin's own number of the form: CF7 the `_wpcf7` field, Gravity Forms the
    /// `gform_submit` field, WPForms the `wpforms[id]` field. Required for those plugins.
    /// Default none.
    #[serde(default)]
    pub plugin_form_id: Option<u64>,
    /// Elementor Pro: the form widget's element id, the value of the form's hidden `form_id`
    /// field (e.g. `"2f6e5b1"`). Required for `plugin = "elementor"`. Default none.
    #[serde(default)]
    pub plugin_element_id: Option<String>,
    /// What the plugin's script shows after the entry is stored. Default by `language`:
    /// "Thank you for your message. It has been sent." / "Bedankt voor uw bericht. Het is
    /// verzonden."
    #[serde(default)]
    pub thank_you_message: Option<String>,
    /// `[forms.age_rules]`: the notes the inbox shows beside the age band of a `date_of_birth`
    /// field (whose consent counts). Default: the youth-care rules (under 12 a parent decides,
    /// 12 to 15 the young person and a parent, from 16 the person alone).
    #[serde(default)]
    pub age_rules: AgeRules,
}

/// A form plugin whose AJAX submission the gate captures and answers in the plugin's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormPlugin {
    /// A plain HTML form (or any script posting to `path`).
    #[default]
    Html,
    /// Contact Form 7 (WordPress).
    Cf7,
    /// Gravity Forms (WordPress).
    Gravityforms,
    /// WPForms (WordPress).
    Wpforms,
    /// Elementor Pro forms (WordPress).
    Elementor,
}

impl FormPlugin {
    /// The name as written in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            FormPlugin::Html => "html",
            FormPlugin::Cf7 => "cf7",
            FormPlugin::Gravityforms => "gravityforms",
            FormPlugin::Wpforms => "wpforms",
            FormPlugin::Elementor => "elementor",
        }
    }
}

/// `[forms.age_rules]`: one table per language, `[forms.age_rules.nl]` and
/// `[forms.age_rules.en]`, each with `under_12`, `from_12` (12 to 15) and `from_16`; a note left
/// out keeps its built-in text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgeRules {
    pub nl: AgeNotes,
    pub en: AgeNotes,
}

/// The notes of one language; `None` keeps the built-in text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AgeNotes {
    /// Under 12 years old at submission.
    pub under_12: Option<String>,
    /// From the 12th birthday up to the 16th.
    pub from_12: Option<String>,
    /// From the 16th birthday on.
    pub from_16: Option<String>,
}

/// Longest age-rule note, in characters.
pub const MAX_AGE_NOTE: usize = 500;

/// What happens to a stored submission besides being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormMode {
    /// Only the gate keeps it; the upstream never sees it.
    Store,
    /// The gate keeps it and forwards the original request to the upstream too.
    StoreAndForward,
}

/// Language of the gate's own form pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormLanguage {
    Nl,
    En,
}

/// The kind of a form field, which decides its format check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Text,
    Email,
    Phone,
    Date,
    /// A date of birth (YYYY-MM-DD), plausible: not after the day of submission, at most 120
    /// years old. The inbox shows the age band at submission beside it.
    DateOfBirth,
    Textarea,
}

impl FieldType {
    /// Longest value accepted when `max_length` is not set, in characters.
    pub fn default_max_length(self) -> usize {
        match self {
            FieldType::Text => 200,
            FieldType::Email => 254,
            FieldType::Phone => 40,
            FieldType::Date | FieldType::DateOfBirth => 10,
            FieldType::Textarea => 5000,
        }
    }
}

/// `[[forms.fields]]`: one field of a form.
#[derive(Debug, Clone, Deserialize)]
pub struct FormFieldConfig {
    /// The `name` attribute of the input. Required.
    pub name: String,
    /// `"text"`, `"email"`, `"phone"`, `"date"` (YYYY-MM-DD), `"date_of_birth"` (YYYY-MM-DD, a
    /// plausible birth date) or `"textarea"`. Required.
    #[serde(rename = "type")]
    pub kind: FieldType,
    /// Whether an empty value is refused. Default false.
    #[serde(default)]
    pub required: bool,
    /// Longest value, in characters. Default by type: text 200, email 254, phone 40,
    /// date and date_of_birth 10, textarea 5000.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// What the gate's pages call the field. Default: the name.
    #[serde(default)]
    pub label: Option<String>,
}

impl FormFieldConfig {
    pub fn max_length(&self) -> usize {
        self.max_length
            .unwrap_or_else(|| self.kind.default_max_length())
    }
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
}

fn default_form_mode() -> FormMode {
    FormMode::Store
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 24 * 3600)
}
fn default_form_language() -> FormLanguage {
    FormLanguage::En
}
fn default_form_max_body() -> usize {
    64 * 1024
}
fn default_honeypot() -> String {
    "cg_website".to_owned()
}
fn default_min_fill_time() -> Duration {
    Duration::from_secs(3)
}
fn default_rate_limit_max() -> u64 {
    5
}
fn default_rate_limit_window() -> Duration {
    Duration::from_secs(600)
}

/// Field names the gate itself adds to a form (fill-time token).
pub const FORM_TOKEN_FIELD: &str = "cg_t";

/// Every problem in the `[[forms]]` list, each naming its key (`forms[1].fields[0].name`).
pub(crate) fn validate_forms(forms: &[FormConfig]) -> Vec<ConfigProblem> {
    let mut problems = Vec::new();
    let mut problem =
        |key: String, message: String| problems.push(ConfigProblem::new(key, message));
    let mut ids = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for (i, form) in forms.iter().enumerate() {
        let key = |k: &str| format!("forms[{i}].{k}");
        let id_ok = !form.id.is_empty()
            && form.id.len() <= 32
            && form
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !id_ok {
            problem(
                key("id"),
                format!(
                    "expected 1–32 characters a-z, 0-9, - or _, got {:?}",
                    form.id
                ),
            );
        } else if !ids.insert(form.id.clone()) {
            problem(key("id"), format!("{:?} is used by another form", form.id));
        }
        // Braces would make the path an actix route pattern instead of a literal path.
        if !form.path.starts_with('/') || form.path.contains(['?', '#', ' ', '{', '}']) {
            problem(
                key("path"),
                format!("expected a path like \"/contact\", got {:?}", form.path),
            );
        } else if form.path.starts_with("/_gate/") {
            problem(key("path"), "must not be under /_gate/".into());
        } else if !paths.insert(form.path.clone()) {
            problem(
                key("path"),
                format!("{:?} is used by another form", form.path),
            );
        }
        if form.fields.is_empty() {
            problem(key("fields"), "at least one field is required".into());
        }
        let mut names = BTreeSet::new();
        for (j, field) in form.fields.iter().enumerate() {
            let fkey = format!("forms[{i}].fields[{j}]");
            if field.name.is_empty() || field.name.len() > 64 {
                problem(format!("{fkey}.name"), "expected 1–64 characters".into());
            } else if field.name == form.honeypot_field || field.name == FORM_TOKEN_FIELD {
                problem(
                    format!("{fkey}.name"),
                    format!("{:?} is reserved for the spam checks", field.name),
                );
            } else if !names.insert(field.name.clone()) {
                problem(
                    format!("{fkey}.name"),
                    format!("{:?} appears twice", field.name),
                );
            }
            if field.max_length == Some(0) {
                problem(format!("{fkey}.max_length"), "must be at least 1".into());
            }
        }
        if form.retention.is_zero() {
            problem(key("retention"), "must be greater than 0".into());
        } else if form.retention > Duration::from_secs(3 * 366 * 24 * 3600) {
            problem(key("retention"), "must be at most 3 years".into());
        }
        if form.redirect.is_empty() || form.redirect.contains(['\r', '\n']) {
            problem(
                key("redirect"),
                "expected the thank-you page, e.g. \"/bedankt.html\"".into(),
            );
        } else if !form.redirect.starts_with('/') && Url::parse(&form.redirect).is_err() {
            problem(
                key("redirect"),
                format!(
                    "expected a path or an absolute URL, got {:?}",
                    form.redirect
                ),
            );
        }
        for (lang, notes) in [("nl", &form.age_rules.nl), ("en", &form.age_rules.en)] {
            for (name, note) in [
                ("under_12", &notes.under_12),
                ("from_12", &notes.from_12),
                ("from_16", &notes.from_16),
            ] {
                let Some(note) = note else { continue };
                if note.trim().is_empty() || note.chars().count() > MAX_AGE_NOTE {
                    problem(
                        key(&format!("age_rules.{lang}.{name}")),
                        format!("expected a note of 1–{MAX_AGE_NOTE} characters"),
                    );
                }
            }
        }
        if form.max_body_bytes == 0 {
            problem(key("max_body_bytes"), "must be greater than 0".into());
        }
        if form.rate_limit_max > 0 && form.rate_limit_window.is_zero() {
            problem(key("rate_limit_window"), "must be greater than 0".into());
        }
        let needs_number = match form.plugin {
            FormPlugin::Cf7 => Some("the number in the form's hidden _wpcf7 field"),
            FormPlugin::Gravityforms => Some("the number in the form's hidden gform_submit field"),
            FormPlugin::Wpforms => Some("the number in the form's hidden wpforms[id] field"),
            FormPlugin::Html | FormPlugin::Elementor => None,
        };
        if let (Some(what), None) = (needs_number, form.plugin_form_id) {
            problem(
                key("plugin_form_id"),
                format!("required for plugin = {:?}: {what}", form.plugin.name()),
            );
        }
        match (&form.plugin, &form.plugin_element_id) {
            (FormPlugin::Elementor, None) => problem(
                key("plugin_element_id"),
                "required for plugin = \"elementor\": the value of the form's hidden form_id \
                 field"
                    .into(),
            ),
            (_, Some(element))
                if element.is_empty()
                    || element.len() > 32
                    || !element.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                problem(
                    key("plugin_element_id"),
                    format!("expected 1–32 letters and digits, got {element:?}"),
                )
            }
            _ => {}
        }
        if form.thank_you_message.as_deref().is_some_and(str::is_empty) {
            problem(key("thank_you_message"), "must not be empty".into());
        }
    }
    problems
}

/// Forms whose `path` is a plugin's AJAX endpoint but that do not name the plugin: captured,
/// but answered in a shape the plugin's script cannot show, and the page's form is not found
/// by the forms script (no token: every submission refused as too fast).
pub(crate) fn form_plugin_warnings(forms: &[FormConfig]) -> Vec<ConfigProblem> {
    let mut warnings = Vec::new();
    for (i, form) in forms.iter().enumerate() {
        if form.plugin != FormPlugin::Html {
            continue;
        }
        let path = form.path.to_ascii_lowercase();
        let message = if let Some(rest) = path.split("/contact-form-7/v1/contact-forms/").nth(1) {
            let id = rest.split('/').next().unwrap_or("<id>");
            format!(
                "{:?} is Contact Form 7's endpoint: set plugin = \"cf7\", plugin_form_id = {id} \
                 and path = the page the form is on, so CF7's script can show the answer",
                form.path
            )
        } else if path.ends_with("/admin-ajax.php") {
            format!(
                "{:?} is WordPress's AJAX endpoint for many plugins: capturing it whole breaks \
                 the others; name the form's plugin instead (plugin = \"wpforms\", \
                 \"elementor\" or \"gravityforms\"), which captures only its submit action",
                form.path
            )
        } else {
            continue;
        };
        warnings.push(ConfigProblem::new(format!("forms[{i}].path"), message));
    }
    warnings
}
