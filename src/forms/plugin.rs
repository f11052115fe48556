//! Form plugins whose script does not post to the form's `action`: which requests are such a
//! plugin's submission (Contact Form 7: its REST feedback endpoint) and which of the plugin's
//! hidden fields the answer echoes. The answer itself, in the plugin's own JSON format, is
//! `plugin_reply` (it needs the outcome types of `service` and `submit`, which use this).
//!
//! Verified against Contact Form 7's published source (rocklobster-in/contact-form-7:
//! `includes/rest-api.php` `create_feedback`, `includes/submission.php` `get_result`,
//! `includes/js/src/submit.js`, `api-fetch.js`, `status.js`): the script POSTs `FormData` to
//! `<rest root>contact-forms/<id>/feedback` and renders only a 2xx JSON answer
//! `{contact_form_id, status, message, posted_data_hash, into, invalid_fields: [{field,
//! message, idref, error_id}]}`; any other status is thrown away with a console error and the
//! visitor sees nothing. So every outcome is answered 200 with its CF7 status.

use super::path::canonical;
use crate::config::{FormConfig, FormPlugin};

/// CF7's REST route below the REST root, up to the form id.
const CF7_ROUTE: &str = "/contact-form-7/v1/contact-forms/";
/// The class CF7 puts on every form it renders.
pub const CF7_FORM_CLASS: &str = "wpcf7-form";
/// WordPress's default REST prefix (`rest_get_url_prefix()`).
const WP_JSON: &str = "/wp-json";

/// How a captured submission reached the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A POST to the form's configured path (the no-JavaScript way, or a plain script).
    Page,
    /// The plugin's own AJAX endpoint: answered in the plugin's format.
    Plugin(FormPlugin),
}

/// The CF7 form id a request for `path` (as sent) and `query` submits to, if it is CF7's
/// feedback endpoint in any spelling WordPress dispatches there: `/wp-json/…` (also behind
/// `/index.php`), and `?rest_route=/…` on any path (WordPress reads that query variable on
/// every request, and sites without pretty permalinks use it as their REST root). WordPress
/// matches REST routes case-insensitively and reads `0352` as form 352; so does this.
pub fn cf7_feedback_id(path: &str, query: &str) -> Option<u64> {
    let path = canonical(path, false);
    let by_path = path
        .strip_prefix("/index.php")
        .unwrap_or(&path)
        .strip_prefix(WP_JSON)
        .and_then(cf7_route_id);
    by_path.or_else(|| {
        url::form_urlencoded::parse(query.as_bytes())
            .filter(|(name, _)| name == "rest_route")
            .find_map(|(_, route)| cf7_route_id(&canonical(&route, false)))
    })
}

/// `/contact-form-7/v1/contact-forms/<digits>/feedback` (canonical) → the id.
fn cf7_route_id(route: &str) -> Option<u64> {
    let digits = route.strip_prefix(CF7_ROUTE)?.strip_suffix("/feedback")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The plugin's hidden fields an answer repeats (CF7: the unit tag its script uses to find
/// the form on the page), read from the submission before anything is checked.
#[derive(Debug, Clone, Default)]
pub struct Echo {
    pub(super) unit_tag: Option<String>,
}

impl Echo {
    pub(crate) fn read(form: &FormConfig, submitted: &[(String, String)]) -> Self {
        if form.plugin != FormPlugin::Cf7 {
            return Self::default();
        }
        // As CF7's wpcf7_sanitize_unit_tag: only these characters survive.
        let unit_tag = submitted
            .iter()
            .find(|(n, _)| n == "_wpcf7_unit_tag")
            .map(|(_, v)| {
                v.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect::<String>()
            })
            .filter(|t| !t.is_empty());
        Self { unit_tag }
    }
}

#[cfg(test)]
mod tests {
    use super::cf7_feedback_id;

    #[test]
    fn cf7_feedback_endpoint_is_found_in_every_spelling_wordpress_dispatches() {
        let cases = [
            ("/wp-json/contact-form-7/v1/contact-forms/352/feedback", ""),
            ("/wp-json/contact-form-7/v1/contact-forms/352/feedback/", ""),
            (
                "//wp-json/Contact-Form-7/v1/contact-forms/0352/feedback",
                "",
            ),
            (
                "/index.php/wp-json/contact-form-7/v1/contact-forms/352/feedback",
                "",
            ),
            (
                "/wp-json/x/../contact-form-7/v1/contact-forms/352/feedback",
                "",
            ),
            (
                "/",
                "rest_route=/contact-form-7/v1/contact-forms/352/feedback",
            ),
            (
                "/index.php",
                "rest_route=%2Fcontact-form-7%2Fv1%2Fcontact-forms%2F352%2Ffeedback",
            ),
            (
                "/any/page/",
                "a=1&rest_route=/contact-form-7/v1/contact-forms/352/feedback",
            ),
        ];
        for (path, query) in cases {
            assert_eq!(cf7_feedback_id(path, query), Some(352), "{path}?{query}");
        }
    }

    #[test]
    fn other_rest_routes_are_not_cf7_feedback() {
        let cases = [
            ("/wp-json/contact-form-7/v1/contact-forms/352", ""),
            (
                "/wp-json/contact-form-7/v1/contact-forms/352/feedback/schema",
                "",
            ),
            ("/wp-json/contact-form-7/v1/contact-forms/abc/feedback", ""),
            ("/wp-json/contact-form-7/v1/contact-forms//feedback", ""),
            ("/contact-form-7/v1/contact-forms/352/feedback", ""),
            ("/", "route=/contact-form-7/v1/contact-forms/352/feedback"),
            ("/wp-json/wp/v2/posts", ""),
        ];
        for (path, query) in cases {
            assert_eq!(cf7_feedback_id(path, query), None, "{path}?{query}");
        }
    }
}
