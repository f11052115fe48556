//! Gravity Forms, WPForms and Elementor Pro forms through the gate, and every plugin's
//! no-JavaScript POST (Contact Form 7 included): each submission is captured — at the plugin's
//! AJAX endpoint (admin-ajax.php for its submit action; Gravity Forms' iframe post-back) and on
//! any page it is posted to without JavaScript — never reaches the WordPress-shaped loopback
//! site in `store` mode, and is answered in the plugin's own format for success, validation
//! failure, spam and a store that is down. Other admin-ajax.php calls still reach WordPress,
//! whole.

mod forms_common;
mod support;

use forms_common::*;
use serde_json::Value;
use support::gate::StoreChoice;
use support::redis::RedisServer;

const THANKS: &str = "Thank you, we will call you back.";
const ADMIN_AJAX: &str = "/wp-admin/admin-ajax.php";

fn plugins_toml(extra: &str) -> String {
    format!(
        r#"[[forms]]
id = "gravity"
path = "/aanmelden"
plugin = "gravityforms"
plugin_form_id = 3
thank_you_message = "{THANKS}"
redirect = "/bedankt"
rate_limit_max = 0
{extra}
[[forms.fields]]
name = "input_1"
type = "text"
required = true
[[forms.fields]]
name = "input_2"
type = "email"
required = true

[[forms]]
id = "wpforms"
path = "/wpforms-contact"
plugin = "wpforms"
plugin_form_id = 41
thank_you_message = "{THANKS}"
redirect = "/bedankt"
rate_limit_max = 0
{extra}
[[forms.fields]]
name = "wpforms[fields][1]"
type = "text"
required = true
[[forms.fields]]
name = "wpforms[fields][2]"
type = "email"
required = true

[[forms]]
id = "elementor"
path = "/elementor-contact"
plugin = "elementor"
plugin_element_id = "2f6e5b1"
thank_you_message = "{THANKS}"
redirect = "/bedankt"
rate_limit_max = 0
{extra}
[[forms.fields]]
name = "form_fields[name]"
type = "text"
required = true
[[forms.fields]]
name = "form_fields[email]"
type = "email"
required = true

[[forms]]
id = "cf7"
path = "/contact"
plugin = "cf7"
plugin_form_id = 352
thank_you_message = "{THANKS}"
redirect = "/bedankt"
rate_limit_max = 0
{extra}
[[forms.fields]]
name = "your-name"
type = "text"
required = true
[[forms.fields]]
name = "your-email"
type = "email"
required = true
"#
    )
}

async fn plugins_gate(site: &Site, store: StoreChoice, extra: &str) -> Gate {
    Gate::start(
        support::gate::TestGate::new()
            .secret(SECRET)
            .store(store)
            .upstream(&site.url())
            .config_toml(&plugins_toml(extra)),
    )
    .await
}

/// One plugin's form as its markup and script send it.
#[derive(Clone, Copy)]
struct Plugin {
    form: &'static str,
    /// The plugin's hidden fields, first in the form as the plugins render them.
    hidden: &'static [(&'static str, &'static str)],
    /// The visitor's name and e-mail field names.
    name_field: &'static str,
    email_field: &'static str,
    /// The key a refused e-mail field has in the plugin's answer.
    email_key: &'static str,
}

const GRAVITY: Plugin = Plugin {
    form: "gravity",
    hidden: &[
        ("is_submit_3", "1"),
        ("gform_submit", "3"),
        ("gform_unique_id", ""),
        ("state_3", "WyJbXSIsIjJkNTU3In0="),
        ("gform_target_page_number_3", "0"),
        ("gform_source_page_number_3", "1"),
        ("gform_field_values", ""),
    ],
    name_field: "input_1",
    email_field: "input_2",
    email_key: "2",
};

const WPFORMS: Plugin = Plugin {
    form: "wpforms",
    hidden: &[
        ("wpforms[id]", "41"),
        ("page_title", "Contact"),
        ("page_url", "https://www.stichting.example/contact/"),
        ("page_id", "12"),
        ("wpforms[post_id]", "12"),
    ],
    name_field: "wpforms[fields][1]",
    email_field: "wpforms[fields][2]",
    email_key: "wpforms[fields][2]",
};

const ELEMENTOR: Plugin = Plugin {
    form: "elementor",
    hidden: &[
        ("post_id", "12"),
        ("form_id", "2f6e5b1"),
        ("referer_title", "Contact"),
        ("queried_id", "12"),
    ],
    name_field: "form_fields[name]",
    email_field: "form_fields[email]",
    email_key: "email",
};

const CF7: Plugin = Plugin {
    form: "cf7",
    hidden: &[
        ("_wpcf7", "352"),
        ("_wpcf7_version", "5.9.8"),
        ("_wpcf7_unit_tag", "wpcf7-f352-p12-o1"),
    ],
    name_field: "your-name",
    email_field: "your-email",
    email_key: "your-email",
};

/// What the visitor typed.
#[derive(Clone, Copy)]
enum Typed {
    Valid,
    BadEmail,
    Bot,
}

/// The fields the plugin's form sends (its FormData: hidden fields, what was typed, then the
/// honeypot and token forms.js added inside the form), plus `extra` the plugin's script
/// appends (its `action`).
fn fields(
    plugin: Plugin,
    typed: Typed,
    token: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let email = match typed {
        Typed::BadEmail => "no-address",
        _ => "jan@example.nl",
    };
    let honeypot = match typed {
        Typed::Bot => "https://spam.example",
        _ => "",
    };
    let mut pairs: Vec<(String, String)> = plugin
        .hidden
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.push((plugin.name_field.into(), "Jan de Vries".into()));
    pairs.push((plugin.email_field.into(), email.into()));
    pairs.push(("cg_website".into(), honeypot.into()));
    pairs.push(("cg_t".into(), token.into()));
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    pairs
}

/// The plugin's AJAX request as its script sends it: FormData to admin-ajax.php with its
/// action; the JSON answer.
async fn post_ajax(gate: &Gate, plugin: Plugin, typed: Typed, token: &str) -> (Answer, Value) {
    let action = match plugin.form {
        "gravity" => "gform_submit_form",
        "wpforms" => "wpforms_submit",
        _ => "elementor_pro_forms_send_form",
    };
    let (ct, body) = multipart(&fields(plugin, typed, token, &[("action", action)]));
    let a = post_raw(
        &gate.url(ADMIN_AJAX),
        &ct,
        "application/json, */*;q=0.01",
        body,
    )
    .await;
    assert_eq!(
        a.status, 200,
        "{}: plugins answer 200: {}",
        plugin.form, a.body
    );
    assert_eq!(a.cache_control, "no-store");
    let v = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    (a, v)
}

/// The same form without JavaScript: a plain urlencoded POST to the page it is on (here not
/// the configured path: the form is in a sidebar on every page).
async fn post_no_js(gate: &Gate, plugin: Plugin, typed: Typed, token: &str) -> Answer {
    let pairs = fields(plugin, typed, token, &[]);
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_form(&gate.url("/nieuws/open-dag/"), &refs).await
}

/// A token forms.js would have fetched for `plugin`'s form a minute ago.
fn token_for(gate: &Gate, plugin: Plugin) -> String {
    form_token_issued_ago(
        gate.config(),
        plugin.form,
        std::time::Duration::from_secs(60),
    )
}

async fn stored(gate: &Gate, form: &str) -> usize {
    gate.service.list(form, 0, 10).await.unwrap().total
}

/// Success in the plugin's words: what its script shows once the entry is stored.
fn assert_success(plugin: Plugin, v: &Value) {
    match plugin.form {
        "gravity" => {
            assert_eq!(v["success"], true, "{v}");
            assert_eq!(v["data"]["is_valid"], true, "{v}");
            assert_eq!(v["data"]["confirmation_type"], "message");
            let markup = v["data"]["confirmation_markup"].as_str().unwrap();
            assert!(markup.contains("gform_confirmation_wrapper_3"), "{markup}");
            assert!(markup.contains(THANKS), "{markup}");
        }
        "wpforms" => {
            assert_eq!(v["success"], true, "{v}");
            assert_eq!(v["data"]["form_id"], 41);
            let confirmation = v["data"]["confirmation"].as_str().unwrap();
            assert!(confirmation.contains("wpforms-confirmation-41"));
            assert!(confirmation.contains(THANKS), "{confirmation}");
        }
        _ => {
            assert_eq!(v["success"], true, "{v}");
            assert_eq!(v["data"]["message"], THANKS);
        }
    }
}

/// A refused e-mail field, pointed at the way the plugin's script finds the input.
fn assert_invalid_email(plugin: Plugin, v: &Value) {
    let message = match plugin.form {
        "gravity" => {
            assert_eq!(v["success"], true, "GF sends validation as a result: {v}");
            assert_eq!(v["data"]["is_valid"], false, "{v}");
            &v["data"]["validation_messages"][plugin.email_key]
        }
        "wpforms" => {
            assert_eq!(v["success"], false, "{v}");
            &v["data"]["errors"]["field"][plugin.email_key]
        }
        _ => {
            assert_eq!(v["success"], false, "{v}");
            &v["data"]["errors"][plugin.email_key]
        }
    };
    assert!(
        message.as_str().is_some_and(|m| !m.is_empty()),
        "{}: a message for the e-mail input: {v}",
        plugin.form
    );
}

/// A refusal without field messages (spam, store down): never a success, with the reason.
fn assert_refused(plugin: Plugin, v: &Value) -> String {
    assert_eq!(v["success"], false, "{}: {v}", plugin.form);
    let text = match plugin.form {
        "gravity" => v["data"].as_str(),
        "wpforms" => v["data"]["errors"]["general"]["header"].as_str(),
        _ => v["data"]["message"].as_str(),
    };
    text.unwrap_or_else(|| panic!("{}: a reason: {v}", plugin.form))
        .to_owned()
}

#[actix_web::test]
async fn plugin_ajax_submissions_are_stored_and_answered_in_the_plugins_format() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR] {
        let token = token_for(&gate, plugin);
        let (_, v) = post_ajax(&gate, plugin, Typed::Valid, &token).await;
        assert_success(plugin, &v);
        let page = gate.service.list(plugin.form, 0, 10).await.unwrap();
        assert_eq!(page.total, 1, "{}", plugin.form);
        let kept: Vec<_> = page.entries[0]
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            kept,
            [
                (plugin.name_field, "Jan de Vries"),
                (plugin.email_field, "jan@example.nl")
            ],
            "exactly the configured fields are kept"
        );
    }
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn plugin_ajax_validation_failure_points_at_the_plugins_input() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR] {
        let token = token_for(&gate, plugin);
        let (_, v) = post_ajax(&gate, plugin, Typed::BadEmail, &token).await;
        assert_invalid_email(plugin, &v);
        assert_eq!(stored(&gate, plugin.form).await, 0);
    }
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn plugin_ajax_spam_and_missing_token_are_refused_in_the_plugins_format() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR] {
        let token = token_for(&gate, plugin);
        let (_, v) = post_ajax(&gate, plugin, Typed::Bot, &token).await;
        let reason = assert_refused(plugin, &v);
        assert!(reason.contains("NOT sent"), "{}: {reason}", plugin.form);
        // Sent by a script that skipped forms.js: no token, too fast.
        let (_, v) = post_ajax(&gate, plugin, Typed::Valid, "").await;
        assert_refused(plugin, &v);
        assert_eq!(stored(&gate, plugin.form).await, 0);
    }
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn gravity_forms_iframe_post_back_gets_the_document_its_script_reads() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    let post_back = |typed: Typed| {
        let token = token_for(&gate, GRAVITY);
        let pairs = fields(
            GRAVITY,
            typed,
            &token,
            &[("gform_ajax", "form_id=3&title=&description=&tabindex=0")],
        );
        let (ct, body) = multipart(&pairs);
        let url = gate.url("/aanmelden/");
        async move { post_raw(&url, &ct, BROWSER_ACCEPT, body).await }
    };

    let ok = post_back(Typed::Valid).await;
    assert_eq!(ok.status, 200);
    assert!(
        ok.content_type.starts_with("text/html"),
        "{}",
        ok.content_type
    );
    assert!(ok.body.contains("GF_AJAX_POSTBACK"), "{}", ok.body);
    assert!(ok.body.contains("gform_confirmation_wrapper_3") && ok.body.contains(THANKS));

    let invalid = post_back(Typed::BadEmail).await;
    assert!(invalid.body.contains("GF_AJAX_POSTBACK"));
    assert!(
        invalid.body.contains("id=\"gform_wrapper_3\""),
        "{}",
        invalid.body
    );
    assert!(
        invalid.body.contains("validation_message_3_2"),
        "{}",
        invalid.body
    );
    assert!(!invalid.body.contains(THANKS));

    assert_eq!(stored(&gate, "gravity").await, 1);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn every_plugins_no_javascript_post_is_captured_on_any_page() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR, CF7] {
        let token = token_for(&gate, plugin);
        let ok = post_no_js(&gate, plugin, Typed::Valid, &token).await;
        assert_eq!(ok.status, 303, "{}: {}", plugin.form, ok.body);
        assert_eq!(ok.location.as_deref(), Some("/bedankt"));
        assert_eq!(stored(&gate, plugin.form).await, 1, "{}", plugin.form);

        let token = token_for(&gate, plugin);
        let invalid = post_no_js(&gate, plugin, Typed::BadEmail, &token).await;
        assert_eq!(invalid.status, 422, "{}", plugin.form);
        assert!(invalid.content_type.starts_with("text/html"));
        assert!(
            invalid.body.contains("Jan de Vries"),
            "the page keeps what was typed"
        );

        let token = token_for(&gate, plugin);
        let bot = post_no_js(&gate, plugin, Typed::Bot, &token).await;
        assert_ne!(bot.status, 303, "{}", plugin.form);
        assert!(bot.content_type.starts_with("text/html"));
        assert_eq!(stored(&gate, plugin.form).await, 1, "{}", plugin.form);
    }
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn store_down_is_an_error_in_every_plugins_format_never_a_success() {
    let site = start_site();
    let mut server = RedisServer::new();
    let gate = plugins_gate(&site, StoreChoice::Redis(server.url()), "").await;
    server.stop();
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR] {
        let (a, v) = post_ajax(&gate, plugin, Typed::Valid, &token_for(&gate, plugin)).await;
        let reason = assert_refused(plugin, &v);
        assert!(reason.contains("NOT sent"), "{}: {reason}", plugin.form);
        assert!(a.retry_after.is_some(), "{}", plugin.form);
    }
    for plugin in [GRAVITY, WPFORMS, ELEMENTOR, CF7] {
        let a = post_no_js(&gate, plugin, Typed::Valid, &token_for(&gate, plugin)).await;
        assert_eq!(a.status, 503, "{}: {}", plugin.form, a.body);
        assert!(a.content_type.starts_with("text/html"));
    }
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn other_admin_ajax_calls_and_unconfigured_forms_reach_wordpress_whole() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;

    // WordPress's heartbeat, and a WPForms form nobody configured.
    let heartbeat = urlencode(&[("action", "heartbeat"), ("data[wp-auth-check]", "true")]);
    let a = post_raw(
        &gate.url(ADMIN_AJAX),
        FORM_CT,
        "application/json",
        heartbeat.clone(),
    )
    .await;
    assert_eq!(a.status, 303, "WordPress's own answer");
    let mut other = fields(WPFORMS, Typed::Valid, "", &[("action", "wpforms_submit")]);
    other[0].1 = "99".into();
    let (ct, other_body) = multipart(&other);
    post_raw(
        &gate.url(ADMIN_AJAX),
        &ct,
        "application/json",
        other_body.clone(),
    )
    .await;
    // A call larger than any form's body limit goes on too, streamed past what was read.
    let big = [
        b"action=upload_chunk&data=".as_slice(),
        &vec![b'x'; 200 * 1024],
    ]
    .concat();
    post_raw(
        &gate.url(ADMIN_AJAX),
        FORM_CT,
        "application/json",
        big.clone(),
    )
    .await;

    let seen = site.recorder.wait_for(3).await;
    assert_eq!(seen[0].0, ADMIN_AJAX);
    assert_eq!(seen[0].2, heartbeat, "the body arrives unchanged");
    assert_eq!(seen[1].2, other_body);
    assert_eq!(seen[2].2.len(), big.len());
    assert_eq!(seen[2].2, big);
    assert_eq!(stored(&gate, "wpforms").await, 0);
    gate.stop().await;
}

#[actix_web::test]
async fn plugin_submit_action_in_the_query_string_is_captured_too() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    let token = token_for(&gate, WPFORMS);
    let (ct, body) = multipart(&fields(WPFORMS, Typed::Valid, &token, &[]));
    let a = post_raw(
        &gate.url("/wp-admin/admin-ajax.php?action=wpforms_submit"),
        &ct,
        "application/json",
        body,
    )
    .await;
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_success(WPFORMS, &v);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn oversized_post_naming_a_plugin_form_is_refused_not_passed_on() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    let mut pairs = fields(WPFORMS, Typed::Valid, "", &[("action", "wpforms_submit")]);
    pairs.push(("wpforms[fields][3]".into(), "x".repeat(100 * 1024)));
    let (ct, body) = multipart(&pairs);
    let a = post_raw(&gate.url(ADMIN_AJAX), &ct, "application/json", body).await;
    assert_eq!(a.status, 413, "{}", a.body);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_under_another_rest_prefix_or_rest_route_is_answered_as_cf7() {
    let site = start_site();
    let gate = plugins_gate(&site, StoreChoice::Memory, "").await;
    for endpoint in [
        "/api/contact-form-7/v1/contact-forms/352/feedback",
        "/?rest_route=/contact-form-7/v1/contact-forms/352/feedback",
    ] {
        let (ct, body) = multipart(&fields(CF7, Typed::Valid, &token_for(&gate, CF7), &[]));
        let a = post_raw(
            &gate.url(endpoint),
            &ct,
            "application/json, */*;q=0.1",
            body,
        )
        .await;
        let v: Value = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
        assert_eq!(v["status"], "mail_sent", "{endpoint}: {v}");
        assert_eq!(v["into"], "#wpcf7-f352-p12-o1");
    }
    assert_eq!(stored(&gate, "cf7").await, 2);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn admin_ajax_under_a_passthrough_prefix_is_still_captured_per_action() {
    let site = start_site();
    let gate = Gate::start(
        support::gate::TestGate::new()
            .secret(SECRET)
            .store(StoreChoice::Memory)
            .upstream(&site.url())
            .config_toml(&format!(
                "{}\n[[passthrough]]\nprefix = \"/wp-admin/\"\nmax_request_body_bytes = 1048576\n",
                plugins_toml("")
            )),
    )
    .await;
    let (_, v) = post_ajax(&gate, ELEMENTOR, Typed::Valid, &token_for(&gate, ELEMENTOR)).await;
    assert_success(ELEMENTOR, &v);
    assert_eq!(stored(&gate, "elementor").await, 1);
    only_marker_reached(&site, &gate).await;

    let heartbeat = urlencode(&[("action", "heartbeat")]);
    let a = post_raw(
        &gate.url(ADMIN_AJAX),
        FORM_CT,
        "application/json",
        heartbeat.clone(),
    )
    .await;
    assert_eq!(a.status, 303, "WordPress's own answer");
    let seen = site.recorder.wait_for(2).await;
    assert_eq!(
        (seen[1].0.as_str(), &seen[1].2),
        (ADMIN_AJAX, &heartbeat.into())
    );
    gate.stop().await;
}
