//! forms.js with the site's form list built in: adds the fill-time token and the honeypot
//! field to the forms the gate captures, found by where they post or, for form plugins, by
//! their markup. Served as a content-hashed asset; the rewriter puts it
//! only into pages that hold such a form.

use super::path::canonical;
use crate::config::{FormConfig, FormPlugin, FORM_TOKEN_FIELD};
use crate::http::HashedAsset;

const TEMPLATE: &str = include_str!("../../assets/forms/forms.js");
const CONFIG_SLOT: &str = "/*CG_CONFIG*/null";
/// Path of the fill-time token endpoint (`GET …?form=<id>` → `{"token": "…"}`).
pub const TOKEN_PATH: &str = "/_gate/forms/token";

/// `forms.<hash>.js`; `None` when no form is configured.
pub(crate) fn build(forms: &[FormConfig]) -> Option<HashedAsset> {
    if forms.is_empty() {
        return None;
    }
    let specs: serde_json::Map<String, serde_json::Value> = forms
        .iter()
        .map(|f| (canonical(&f.path, f.path_case_sensitive), spec(f)))
        .collect();
    // Plugin forms are found by their markup (the hidden field holding the plugin's id of the
    // form), because their action is whatever page they sit on.
    let plugins: serde_json::Map<String, serde_json::Value> = forms
        .iter()
        .filter_map(|f| {
            let id = match f.plugin {
                FormPlugin::Html => return None,
                FormPlugin::Elementor => f.plugin_element_id.as_ref()?.to_ascii_lowercase(),
                _ => f.plugin_form_id?.to_string(),
            };
            Some((format!("{}:{id}", f.plugin.name()), spec(f)))
        })
        .collect();
    let config = serde_json::json!({
        "tokenUrl": TOKEN_PATH,
        "tokenField": FORM_TOKEN_FIELD,
        "forms": specs,
        "plugins": plugins,
    });
    // serde_json escapes quotes; `</` is escaped too so the JSON can never end a script.
    let config = config.to_string().replace("</", "<\\/");
    let body = TEMPLATE.replacen(CONFIG_SLOT, &config, 1);
    Some(HashedAsset::new(
        "forms",
        "js",
        "text/javascript; charset=utf-8",
        body.into_bytes(),
    ))
}

/// What forms.js needs to know of one form.
fn spec(f: &FormConfig) -> serde_json::Value {
    serde_json::json!({
        "id": f.id,
        "plugin": f.plugin.name(),
        "honeypot": f.honeypot_field,
        "token": !f.min_fill_time.is_zero(),
        "caseSensitive": f.path_case_sensitive,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_has_the_config_slot() {
        assert_eq!(super::TEMPLATE.matches(super::CONFIG_SLOT).count(), 1);
    }
}
