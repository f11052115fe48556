//! What `consentgate scan` says about a page's forms: for every `<form>`, where a browser
//! would send it (its action, and a form plugin's own endpoint), whether a configured
//! `[[forms]]` entry captures that, and what to add when not — so an operator can check a
//! page before going live.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use lol_html::{element, HtmlRewriter, Settings};

use super::plugin::Via;
use super::service::FormsService;

/// One `<form>` of a page and what the gate does with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFinding {
    /// `GET` or `POST` (as the browser would send it).
    pub method: String,
    /// Path (and query) the form's action resolves to against the page's path.
    pub action: String,
    /// Contact Form 7's id of the form, when it is one.
    pub cf7_id: Option<u64>,
    /// The `[[forms]]` id capturing the plugin endpoint (CF7), if any.
    pub plugin_captured_by: Option<String>,
    /// The `[[forms]]` id capturing a POST to the action, if any.
    pub action_captured_by: Option<String>,
}

/// A `<form>` as read: method, action as written, CF7 id.
type Seen = (String, String, Option<u64>);

/// The forms of `html` (a page at `page_path`) and how `forms` treats each. Markup lol_html
/// cannot read yields what was found up to there.
pub fn report(forms: &FormsService, page_path: &str, html: &[u8]) -> Vec<FormFinding> {
    let found: Rc<RefCell<Vec<Seen>>> = Rc::default();
    let (f1, f2) = (found.clone(), found.clone());
    let mut rewriter = HtmlRewriter::new(
        Settings::new()
            .append_element_content_handler(element!("form", move |el| {
                let method = el
                    .get_attribute("method")
                    .map(|m| m.trim().to_ascii_uppercase())
                    .filter(|m| m == "POST")
                    .unwrap_or_else(|| "GET".into());
                let action = el.get_attribute("action").unwrap_or_default();
                f1.borrow_mut().push((method, action, None));
                Ok(())
            }))
            // CF7 puts its id in a hidden `_wpcf7` input inside the form.
            .append_element_content_handler(element!("input[name='_wpcf7']", move |el| {
                let id = el
                    .get_attribute("value")
                    .and_then(|v| v.trim().parse().ok());
                if let Some(last) = f2.borrow_mut().last_mut() {
                    last.2 = last.2.or(id);
                }
                Ok(())
            })),
        |_: &[u8]| {},
    );
    // A page lol_html cannot parse to the end still reports the forms before that point.
    if rewriter.write(html).is_ok() {
        let _ = rewriter.end();
    }
    let base = url::Url::parse("http://page.invalid/").and_then(|b| b.join(page_path));
    let found = found.borrow().clone();
    found
        .into_iter()
        .map(|(method, action, cf7_id)| {
            let target = base.as_ref().ok().and_then(|b| b.join(action.trim()).ok());
            let (path, query) = target
                .as_ref()
                .map(|u| {
                    (
                        u.path().to_owned(),
                        u.query().unwrap_or_default().to_owned(),
                    )
                })
                .unwrap_or_else(|| (page_path.to_owned(), String::new()));
            let action_captured_by = (method == "POST")
                .then(|| forms.form_for_request(&path, &query))
                .flatten()
                .filter(|(_, via)| *via == Via::Page)
                .map(|(f, _)| f.id.clone());
            let plugin_captured_by = cf7_id.and_then(|id| {
                forms
                    .form_for_request(&cf7_endpoint(id), "")
                    .filter(|(_, via)| *via != Via::Page)
                    .map(|(f, _)| f.id.clone())
            });
            let action = if query.is_empty() {
                path
            } else {
                format!("{path}?{query}")
            };
            FormFinding {
                method,
                action,
                cf7_id,
                plugin_captured_by,
                action_captured_by,
            }
        })
        .collect()
}

fn cf7_endpoint(id: u64) -> String {
    format!("/wp-json/contact-form-7/v1/contact-forms/{id}/feedback")
}

impl fmt::Display for FormFinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = |id: &Option<String>| match id {
            Some(id) => format!("captured by [[forms]] id = {id:?}"),
            None => "NOT captured".to_owned(),
        };
        match self.cf7_id {
            Some(id) => {
                write!(
                    f,
                    "form  Contact Form 7 (id {id}): its script posts to {}: {}",
                    cf7_endpoint(id),
                    by(&self.plugin_captured_by)
                )?;
                if self.plugin_captured_by.is_none() {
                    write!(
                        f,
                        " — WordPress receives what visitors type; add [[forms]] with \
                         plugin = \"cf7\", plugin_form_id = {id}"
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
