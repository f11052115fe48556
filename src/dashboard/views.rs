//! The dashboard's pages: minijinja templates (assets/dashboard) rendered from typed view
//! models, with HTML auto-escaping on (every template name ends in `.html`, so every value is
//! escaped for HTML text and attributes). Texts come from one message table per language
//! (assets/dashboard/i18n/*.json) and are filled in by the templates, never by string
//! concatenation here. Links are built in [`frame`] from fixed paths and percent-encoded
//! ids, so no stored or typed value can become a `javascript:` URL or leave the dashboard.
//! No template has inline style or script (the dashboard's CSP forbids both); the one
//! stylesheet is [`STYLESHEET`].

mod discovery;
mod frame;
mod pages;
mod requests;
mod visits;

use std::collections::BTreeMap;

use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{context, Environment, UndefinedBehavior};

pub use discovery::{BlockedRow, DiscoveredRow, DiscoveryPage};
pub use frame::{
    day_range_ms, day_text, human_time, links, parse_day, paths, safe_return_path, with_query,
    Area, AttentionView, Chrome, DueRow, NavItem, OperatorView, Page, Pager, Span, CSRF_FIELD,
};
pub use pages::*;
pub use requests::*;
pub use visits::*;

use crate::config::dashboard::Language;

/// The dashboard stylesheet (served by the routes as a content-hashed asset).
pub const STYLESHEET: &str = include_str!("../../assets/dashboard/dashboard.css");

const TEMPLATES: [(&str, &str); 20] = [
    (
        "layout.html",
        include_str!("../../assets/dashboard/layout.html"),
    ),
    (
        "macros.html",
        include_str!("../../assets/dashboard/macros.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../assets/dashboard/sign_in.html"),
    ),
    (
        "inbox.html",
        include_str!("../../assets/dashboard/inbox.html"),
    ),
    (
        "entry.html",
        include_str!("../../assets/dashboard/entry.html"),
    ),
    (
        "person.html",
        include_str!("../../assets/dashboard/person.html"),
    ),
    (
        "consent.html",
        include_str!("../../assets/dashboard/consent.html"),
    ),
    (
        "receipts.html",
        include_str!("../../assets/dashboard/receipts.html"),
    ),
    (
        "audit.html",
        include_str!("../../assets/dashboard/audit.html"),
    ),
    (
        "discovery.html",
        include_str!("../../assets/dashboard/discovery.html"),
    ),
    (
        "health.html",
        include_str!("../../assets/dashboard/health.html"),
    ),
    (
        "error.html",
        include_str!("../../assets/dashboard/error.html"),
    ),
    (
        "overview.html",
        include_str!("../../assets/dashboard/overview.html"),
    ),
    (
        "how_we_count.html",
        include_str!("../../assets/dashboard/how_we_count.html"),
    ),
    (
        "api_tokens.html",
        include_str!("../../assets/dashboard/api_tokens.html"),
    ),
    (
        "attention.html",
        include_str!("../../assets/dashboard/attention.html"),
    ),
    (
        "requests.html",
        include_str!("../../assets/dashboard/requests.html"),
    ),
    (
        "request_new.html",
        include_str!("../../assets/dashboard/request_new.html"),
    ),
    (
        "request.html",
        include_str!("../../assets/dashboard/request.html"),
    ),
    (
        "dsr_export.html",
        include_str!("../../assets/dashboard/dsr_export.html"),
    ),
];
const MESSAGES: [(Language, &str); 2] = [
    (
        Language::Nl,
        include_str!("../../assets/dashboard/i18n/nl.json"),
    ),
    (
        Language::En,
        include_str!("../../assets/dashboard/i18n/en.json"),
    ),
];

/// Why a page could not be rendered (a bug in a template or a message table; the tests render
/// every page).
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    #[error("dashboard template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("dashboard messages ({0}): {1}")]
    Messages(&'static str, serde_json::Error),
}

/// Replaces `{name}` in a message with the named argument: `t.showing | fill(total=n)`.
fn fill(text: String, kwargs: Kwargs) -> Result<String, minijinja::Error> {
    let mut out = text;
    for key in kwargs.args() {
        let value: Value = kwargs.get(key)?;
        out = out.replace(&format!("{{{key}}}"), &value.to_string());
    }
    Ok(out)
}

/// The templates and message tables, parsed once at start; shared by all workers.
pub struct Views {
    env: Environment<'static>,
    messages: BTreeMap<&'static str, BTreeMap<String, String>>,
}

impl Views {
    pub fn new() -> Result<Views, ViewError> {
        let mut env = Environment::new();
        // A missing value or message is a bug: fail loudly in tests instead of printing "".
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_filter("fill", fill);
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        let mut messages = BTreeMap::new();
        for (lang, json) in MESSAGES {
            let table: BTreeMap<String, String> =
                serde_json::from_str(json).map_err(|e| ViewError::Messages(lang.as_str(), e))?;
            messages.insert(lang.as_str(), table);
        }
        Ok(Views { env, messages })
    }

    fn messages(&self, lang: &str) -> Option<&BTreeMap<String, String>> {
        self.messages
            .get(lang)
            .or_else(|| self.messages.get(Language::En.as_str()))
    }

    /// A document of its own in `lang` (no layout, no navigation): what an operator hands
    /// over, such as a request's readable export.
    pub fn render_document<P: Page>(&self, lang: Language, page: &P) -> Result<String, ViewError> {
        let ctx = context! {
            t => Value::from(Serde(self.messages(lang.as_str()))),
            page => Value::from(Serde(page)),
        };
        Ok(self.env.get_template(P::TEMPLATE)?.render(ctx)?)
    }

    /// The message `key` in `lang` (for words that go into charts); the key itself when the
    /// table has no such message (a bug the tests catch).
    pub fn word<'a>(&'a self, lang: &str, key: &'a str) -> &'a str {
        self.messages
            .get(lang)
            .and_then(|t| t.get(key))
            .map_or(key, String::as_str)
    }

    /// The page as HTML, in the chrome's language.
    pub fn render<P: Page>(&self, chrome: &Chrome, page: &P) -> Result<String, ViewError> {
        let t = self.messages(chrome.lang);
        let ctx = context! {
            t => Value::from(Serde(t)),
            chrome => Value::from(Serde(chrome)),
            page => Value::from(Serde(page)),
        };
        Ok(self.env.get_template(P::TEMPLATE)?.render(ctx)?)
    }
}

#[cfg(test)]
mod tests;
