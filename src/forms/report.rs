//! What `consentgate scan` says about a page's forms: for every `<form>`, where a browser
//! would send it (its action, and a form plugin's own endpoint), whether a configured
//! `[[forms]]` entry captures that, and what to add when not — so an operator can check a
//! page before going live.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use lol_html::{element, HtmlRewriter, Settings};

use super::plugin::{claim, PluginFormKey, Via, ELEMENTOR_FORM_CLASS};
use super::service::FormsService;

/// One `<form>` of a page and what the gate does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFinding {
    /// `GET` or `POST` (as the browser would send it).
    pub method: String,
    /// Path (and query) the form's action resolves to against the page's path.
    pub action: String,
    /// The form plugin's id of the form, when a known plugin rendered it.
    pub plugin_form: Option<PluginFormKey>,
    /// The `[[forms]]` id capturing the plugin's own submission, if any.
    pub plugin_captured_by: Option<String>,
    /// The `[[forms]]` id capturing a POST to the action, if any.
    pub action_captured_by: Option<String>,
}

/// A `<form>` as read: method, action as written, class, the plugin's id of it.
#[derive(Debug, Clone, Default)]
struct Seen {
    method: String,
    action: String,
    class: String,
    plugin_form: Option<PluginFormKey>,
}

/// The forms of `html` (a page at `page_path`) and how `forms` treats each. Markup lol_html
/// cannot read yields what was found up to there.
pub fn report(forms: &FormsService, page_path: &str, html: &[u8]) -> Vec<FormFinding> {
    let seen: Rc<RefCell<Vec<Seen>>> = Rc::default();
    let f1 = seen.clone();
    // The hidden input each plugin keeps its id of the form in (Elementor: only inside its
    // own form class, `form_id` being a common name).
    let plugin_field = |name: &'static str| {
        let found = seen.clone();
        element!(format!("input[name='{name}']"), move |el| {
            let value = el.get_attribute("value").unwrap_or_default();
            let mut found = found.borrow_mut();
            let Some(last) = found.last_mut() else {
                return Ok(());
            };
            let mut fields = vec![(name.to_owned(), value)];
            if name == "form_id" {
                if !last
                    .class
                    .split_ascii_whitespace()
                    .any(|c| c == ELEMENTOR_FORM_CLASS)
                {
                    return Ok(());
                }
                fields.push(("post_id".into(), String::new()));
                fields.push(("form_fields[]".into(), String::new()));
            }
            if last.plugin_form.is_none() {
                last.plugin_form = claim("/", "", &fields).map(|(key, _)| key);
            }
            Ok(())
        })
    };
    let mut rewriter = HtmlRewriter::new(
        Settings::new()
            .append_element_content_handler(element!("form", move |el| {
                let method = el
                    .get_attribute("method")
                    .map(|m| m.trim().to_ascii_uppercase())
                    .filter(|m| m == "POST")
                    .unwrap_or_else(|| "GET".into());
                f1.borrow_mut().push(Seen {
                    method,
                    action: el.get_attribute("action").unwrap_or_default(),
                    class: el.get_attribute("class").unwrap_or_default(),
                    plugin_form: None,
                });
                Ok(())
            }))
            .append_element_content_handler(plugin_field("_wpcf7"))
            .append_element_content_handler(plugin_field("gform_submit"))
            .append_element_content_handler(plugin_field("wpforms[id]"))
            .append_element_content_handler(plugin_field("form_id")),
        |_: &[u8]| {},
    );
    // A page lol_html cannot parse to the end still reports the forms before that point.
    if rewriter.write(html).is_ok() {
        let _ = rewriter.end();
    }
    let base = url::Url::parse("http://page.invalid/").and_then(|b| b.join(page_path));
    let found = seen.borrow().clone();
    found
        .into_iter()
        .map(|seen| {
            let target = base
                .as_ref()
                .ok()
                .and_then(|b| b.join(seen.action.trim()).ok());
            let (path, query) = target
                .as_ref()
                .map(|u| {
                    (
                        u.path().to_owned(),
                        u.query().unwrap_or_default().to_owned(),
                    )
                })
                .unwrap_or_else(|| (page_path.to_owned(), String::new()));
            let plugin_captured_by = seen.plugin_form.as_ref().and_then(|key| {
                forms
                    .forms()
                    .iter()
                    .find(|f| key.names(f))
                    .map(|f| f.id.clone())
            });
            // A plugin form's own POST is captured wherever it goes (its hidden fields say
            // which form it is); any other by its path.
            let action_captured_by = (seen.method == "POST")
                .then(|| {
                    plugin_captured_by.clone().or_else(|| {
                        forms
                            .form_for_request(&path, &query)
                            .filter(|(_, via)| *via == Via::Page)
                            .map(|(f, _)| f.id.clone())
                    })
                })
                .flatten();
            let action = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            FormFinding {
                method: seen.method,
                action,
                plugin_form: seen.plugin_form,
                plugin_captured_by,
                action_captured_by,
            }
        })
        .collect()
}

fn cf7_endpoint(id: u64) -> String {
    format!("/wp-json/contact-form-7/v1/contact-forms/{id}/feedback")
}

/// How `scan` names a plugin form, where its script sends it, and the config that captures it.
fn described(key: &PluginFormKey) -> (String, String, String) {
    match key {
        PluginFormKey::Cf7(id) => (
            format!("Contact Form 7 (id {id})"),
            cf7_endpoint(*id),
            format!("plugin = \"cf7\", plugin_form_id = {id}"),
        ),
        PluginFormKey::Gravityforms(id) => (
            format!("Gravity Forms (id {id})"),
            "its page (legacy AJAX: into an iframe) or /wp-admin/admin-ajax.php \
             (action=gform_submit_form)"
                .into(),
            format!("plugin = \"gravityforms\", plugin_form_id = {id}"),
        ),
        PluginFormKey::Wpforms(id) => (
            format!("WPForms (id {id})"),
            "/wp-admin/admin-ajax.php (action=wpforms_submit)".into(),
            format!("plugin = \"wpforms\", plugin_form_id = {id}"),
        ),
        PluginFormKey::Elementor(element) => (
            format!("Elementor Pro form (form_id {element})"),
            "/wp-admin/admin-ajax.php (action=elementor_pro_forms_send_form)".into(),
            format!("plugin = \"elementor\", plugin_element_id = {element:?}"),
        ),
    }
}

impl fmt::Display for FormFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = |id: &Option<String>| match id {
            Some(id) => format!("captured by [[forms]] id = {id:?}"),
            None => "NOT captured".to_owned(),
        };
        match &self.plugin_form {
            Some(key) => {
                let (name, endpoint, config) = described(key);
                write!(
                    f,
                    "form  {name}: its script posts to {endpoint}: {}",
                    by(&self.plugin_captured_by)
                )?;
                if self.plugin_captured_by.is_none() {
                    write!(
                        f,
                        " — WordPress receives what visitors type; add [[forms]] with {config}"
                    )?;
                }
                write!(
                    f,
                    "; without JavaScript: POST {}: {}",
                    self.action,
                    by(&self.action_captured_by)
                )
            }
            None if self.method == "POST" => {
                write!(
                    f,
                    "form  POST {}: {}",
                    self.action,
                    by(&self.action_captured_by)
                )?;
                if self.action_captured_by.is_none() {
                    write!(f, " — the site receives it; add [[forms]] path = {:?} if it carries personal data", self.action)?;
                }
                Ok(())
            }
            None => write!(
                f,
                "form  GET {}: passed to the site (a search or filter, not a submission)",
                self.action
            ),
        }
    }
}
