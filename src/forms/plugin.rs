//! Form plugins whose script does not post to the form's `action`: which requests are such a
//! plugin's submission (Contact Form 7: its REST feedback endpoint; WPForms, Elementor Pro,
//! Gravity Forms 2.9: their submit action on admin-ajax.php; every plugin's no-JavaScript POST
//! by its hidden id field, wherever it is posted) and which of the plugin's hidden fields the
//! answer echoes. The answer itself, in the plugin's own JSON format, is
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

/// The class WPForms puts on every form it renders.
pub const WPFORMS_FORM_CLASS: &str = "wpforms-form";
/// The class Elementor Pro puts on its form widget's `<form>`.
pub const ELEMENTOR_FORM_CLASS: &str = "elementor-form";
/// WordPress's AJAX endpoint; plugins tell their requests apart by the `action` field.
const ADMIN_AJAX: &str = "/wp-admin/admin-ajax.php";
/// The `action` of each plugin's AJAX submission (WPForms `wpforms_submit`, Elementor Pro
/// `elementor_pro_forms_send_form`, Gravity Forms 2.9's `gform_submit_form`).
const WPFORMS_ACTION: &str = "wpforms_submit";
const ELEMENTOR_ACTION: &str = "elementor_pro_forms_send_form";
const GRAVITY_ACTION: &str = "gform_submit_form";

/// How a captured submission reached the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A plain POST: to the form's configured path, or a plugin form's no-JavaScript POST to
    /// whatever page it is on. Answered with the gate's pages.
    Page,
    /// The plugin's own AJAX endpoint: answered in the plugin's JSON format.
    Plugin(FormPlugin),
    /// Gravity Forms' legacy AJAX: the form posts back to its page into a hidden iframe and
    /// its script reads the HTML document that comes back.
    FramePostBack,
}

/// Which plugin form a submission names in its own hidden fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginFormKey {
    /// Contact Form 7 (`_wpcf7`).
    Cf7(u64),
    /// Gravity Forms (`gform_submit`).
    Gravityforms(u64),
    /// WPForms (`wpforms[id]`).
    Wpforms(u64),
    /// Elementor Pro (`form_id`, the widget's element id).
    Elementor(String),
}

impl PluginFormKey {
    /// Whether `form` is the configured form this key names.
    pub fn names(&self, form: &FormConfig) -> bool {
        match self {
            PluginFormKey::Cf7(id) => {
                form.plugin == FormPlugin::Cf7 && form.plugin_form_id == Some(*id)
            }
            PluginFormKey::Gravityforms(id) => {
                form.plugin == FormPlugin::Gravityforms && form.plugin_form_id == Some(*id)
            }
            PluginFormKey::Wpforms(id) => {
                form.plugin == FormPlugin::Wpforms && form.plugin_form_id == Some(*id)
            }
            PluginFormKey::Elementor(element) => {
                form.plugin == FormPlugin::Elementor
                    && form
                        .plugin_element_id
                        .as_deref()
                        .is_some_and(|e| e.eq_ignore_ascii_case(element))
            }
        }
    }
}

/// Whether `path` (as sent) is WordPress's admin-ajax.php in any spelling it dispatches.
pub fn is_admin_ajax(path: &str) -> bool {
    canonical(path, false).ends_with(ADMIN_AJAX)
}

/// Which plugin form a POST to `path` with `query` and the body `fields` submits, and how its
/// sender expects the answer — read as the plugins read their requests: on admin-ajax.php only
/// the plugins' submit `action`s (body first, then query, as PHP's `$_REQUEST`; any other
/// action is another plugin's call), elsewhere the plugins' hidden fields, which they act on
/// wherever the form was posted (the no-JavaScript way).
pub fn claim(path: &str, query: &str, fields: &[(String, String)]) -> Option<(PluginFormKey, Via)> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if is_admin_ajax(path) {
        let from_query = || {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(n, _)| n == "action")
                .map(|(_, v)| v.into_owned())
        };
        let action = field("action").map(str::to_owned).or_else(from_query)?;
        let key = match action.as_str() {
            WPFORMS_ACTION => PluginFormKey::Wpforms(php_int(field("wpforms[id]")?)?),
            ELEMENTOR_ACTION => PluginFormKey::Elementor(field("form_id")?.trim().to_owned()),
            GRAVITY_ACTION => PluginFormKey::Gravityforms(php_int(
                field("gform_submit").or_else(|| field("form_id"))?,
            )?),
            _ => return None,
        };
        let plugin = match key {
            PluginFormKey::Wpforms(_) => FormPlugin::Wpforms,
            PluginFormKey::Elementor(_) => FormPlugin::Elementor,
            _ => FormPlugin::Gravityforms,
        };
        return Some((key, Via::Plugin(plugin)));
    }
    if let Some(id) = field("_wpcf7").and_then(php_int) {
        return Some((PluginFormKey::Cf7(id), Via::Page));
    }
    if let Some(id) = field("gform_submit").and_then(php_int) {
        let via = match field("gform_ajax") {
            Some(_) => Via::FramePostBack,
            None => Via::Page,
        };
        return Some((PluginFormKey::Gravityforms(id), via));
    }
    if let Some(id) = field("wpforms[id]").and_then(php_int) {
        return Some((PluginFormKey::Wpforms(id), Via::Page));
    }
    // Elementor's form without its script posts its fields to the page it is on.
    match (field("form_id"), field("post_id")) {
        (Some(element), Some(_)) if fields.iter().any(|(n, _)| n.starts_with("form_fields[")) => {
            Some((
                PluginFormKey::Elementor(element.trim().to_owned()),
                Via::Page,
            ))
        }
        _ => None,
    }
}

/// A form number as PHP's `(int)`/`absint` reads it: leading spaces, an optional sign, then
/// the leading digits (`"0352"` and `"352abc"` are 352). `None` for no digits or 0.
fn php_int(raw: &str) -> Option<u64> {
    let rest = raw.trim_start();
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok().filter(|n| *n > 0)
}

/// Whether the start of a body too large to read whole names a plugin form (its hidden
/// fields or a plugin's submit action), so it is refused rather than
/// passed to the site unread.
pub fn may_name_a_plugin_form(prefix: &[u8]) -> bool {
    const MARKERS: [&str; 8] = [
        "_wpcf7",
        "gform_submit",
        "wpforms[id]",
        "wpforms%5Bid%5D",
        "form_fields[",
        "form_fields%5B",
        WPFORMS_ACTION,
        ELEMENTOR_ACTION,
    ];
    MARKERS
        .iter()
        .any(|m| memchr::memmem::find(prefix, m.as_bytes()).is_some())
}

/// The CF7 form id a request for `path` (as sent) and `query` submits to, if it is CF7's
/// feedback endpoint in any spelling WordPress dispatches there: `/wp-json/…` (also behind
/// `/index.php`, and under any other REST prefix a site configured), and `?rest_route=/…` on
/// any path (WordPress reads that query variable on
/// every request, and sites without pretty permalinks use it as their REST root). WordPress
/// matches REST routes case-insensitively and reads `0352` as form 352; so does this.
pub fn cf7_feedback_id(path: &str, query: &str) -> Option<u64> {
    let path = canonical(path, false);
    // Under any REST prefix: a site may set its own (`rest_url_prefix`) instead of /wp-json.
    let by_path = path
        .match_indices(CF7_ROUTE)
        .find(|(at, _)| *at > 0)
        .and_then(|(at, _)| cf7_route_id(&path[at..]));
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
    use super::{cf7_feedback_id, claim, php_int, PluginFormKey, Via};
    use crate::config::FormPlugin;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn admin_ajax_is_claimed_only_for_the_plugins_submit_actions() {
        let ajax = "/wp-admin/admin-ajax.php";
        let cases = [
            (
                vec![("action", "wpforms_submit"), ("wpforms[id]", "41")],
                Some((PluginFormKey::Wpforms(41), Via::Plugin(FormPlugin::Wpforms))),
            ),
            (
                vec![
                    ("action", "elementor_pro_forms_send_form"),
                    ("form_id", "2f6e5b1"),
                ],
                Some((
                    PluginFormKey::Elementor("2f6e5b1".into()),
                    Via::Plugin(FormPlugin::Elementor),
                )),
            ),
            (
                vec![("action", "gform_submit_form"), ("gform_submit", "3")],
                Some((
                    PluginFormKey::Gravityforms(3),
                    Via::Plugin(FormPlugin::Gravityforms),
                )),
            ),
            // Another plugin's call, even one carrying a form's hidden field.
            (vec![("action", "heartbeat"), ("_wpcf7", "352")], None),
            (vec![("wpforms[id]", "41")], None),
        ];
        for (fields, want) in cases {
            assert_eq!(claim(ajax, "", &pairs(&fields)), want, "{fields:?}");
        }
        assert_eq!(
            claim(
                "//WP-ADMIN/admin-ajax.php/",
                "action=wpforms_submit",
                &pairs(&[("wpforms[id]", "41")])
            ),
            Some((PluginFormKey::Wpforms(41), Via::Plugin(FormPlugin::Wpforms))),
            "the action in the query, any spelling of the path"
        );
    }

    #[test]
    fn no_javascript_posts_are_claimed_by_the_plugins_hidden_fields_on_any_page() {
        let cases = [
            (
                vec![("_wpcf7", "352")],
                Some((PluginFormKey::Cf7(352), Via::Page)),
            ),
            (
                vec![("gform_submit", "3")],
                Some((PluginFormKey::Gravityforms(3), Via::Page)),
            ),
            (
                vec![("gform_submit", "3"), ("gform_ajax", "form_id=3")],
                Some((PluginFormKey::Gravityforms(3), Via::FramePostBack)),
            ),
            (
                vec![("wpforms[id]", "41")],
                Some((PluginFormKey::Wpforms(41), Via::Page)),
            ),
            (
                vec![
                    ("post_id", "12"),
                    ("form_id", "2f6e5b1"),
                    ("form_fields[name]", "x"),
                ],
                Some((PluginFormKey::Elementor("2f6e5b1".into()), Via::Page)),
            ),
            // A `form_id` alone is too common a name to be Elementor's.
            (vec![("form_id", "2f6e5b1"), ("name", "x")], None),
            (vec![("_wpcf7", "abc")], None),
            (vec![("s", "search")], None),
        ];
        for (fields, want) in cases {
            assert_eq!(claim("/nieuws/", "", &pairs(&fields)), want, "{fields:?}");
        }
    }

    #[test]
    fn form_numbers_are_read_as_php_reads_them() {
        assert_eq!(php_int("352"), Some(352));
        assert_eq!(php_int(" 0352"), Some(352));
        assert_eq!(php_int("352abc"), Some(352));
        assert_eq!(php_int("-41"), Some(41));
        assert_eq!(php_int("0"), None);
        assert_eq!(php_int("x1"), None);
        assert_eq!(php_int(""), None);
    }

    #[test]
    fn cf7_feedback_endpoint_is_found_in_every_spelling_wordpress_dispatches() {
        let cases = [
            ("/wp-json/contact-form-7/v1/contact-forms/352/feedback", ""),
            ("/wp-json/contact-form-7/v1/contact-forms/352/feedback/", ""),
            ("/api/contact-form-7/v1/contact-forms/352/feedback", ""),
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
