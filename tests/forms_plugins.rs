//! Form plugins through the gate: a Contact Form 7 form configured with `plugin = "cf7"` is
//! captured at CF7's REST feedback endpoint (the request its script sends: multipart FormData
//! with the `_wpcf7*` fields) and on its page (the no-JavaScript POST), answered in CF7's JSON
//! format for every outcome, and never reaches the WordPress-shaped loopback site in `store`
//! mode.

mod forms_common;
mod support;

use forms_common::*;
use serde_json::Value;
use support::gate::StoreChoice;
use support::redis::RedisServer;
use support::wait;

const FEEDBACK: &str = "/wp-json/contact-form-7/v1/contact-forms/352/feedback";
const UNIT_TAG: &str = "wpcf7-f352-p114-o1";
const THANKS: &str = "Dank je wel, we nemen snel contact op.";

fn cf7_toml(extra: &str) -> String {
    format!(
        r#"[[forms]]
id = "contact"
path = "/contact"
plugin = "cf7"
plugin_form_id = 352
thank_you_message = "{THANKS}"
redirect = "/bedankt"
language = "nl"
{extra}
[[forms.fields]]
name = "your-name"
type = "text"
required = true
[[forms.fields]]
name = "your-email"
type = "email"
required = true
[[forms.fields]]
name = "your-message"
type = "textarea"
"#
    )
}

async fn cf7_gate(site: &Site, store: StoreChoice, extra: &str) -> Gate {
    Gate::start(
        support::gate::TestGate::new()
            .secret(SECRET)
            .store(store)
            .upstream(&site.url())
            .config_toml(&cf7_toml(extra)),
    )
    .await
}

/// The fields CF7's script sends (its hidden `_wpcf7*` inputs first, as FormData orders them),
/// plus what the visitor typed, the gate's token and the empty honeypot forms.js added.
fn cf7_fields(typed: &[(&str, &str)], token: Option<&str>) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = [
        ("_wpcf7", "352"),
        ("_wpcf7_version", "5.9.8"),
        ("_wpcf7_locale", "nl_NL"),
        ("_wpcf7_unit_tag", UNIT_TAG),
        ("_wpcf7_container_post", "114"),
        ("_wpcf7_posted_data_hash", ""),
    ]
    .iter()
    .chain(typed)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    pairs.push(("cg_website".into(), String::new()));
    if let Some(token) = token {
        pairs.push(("cg_t".into(), token.to_string()));
    }
    pairs
}

const TYPED: [(&str, &str); 3] = [
    ("your-name", "Geertruida"),
    ("your-email", "geertruida@example.nl"),
    ("your-message", "Mijn geboortedatum staat in het dossier"),
];

/// POST as CF7's api-fetch does (`Accept: application/json, */*;q=0.1`); the JSON answer.
async fn post_cf7(url: &str, pairs: &[(String, String)]) -> (Answer, Value) {
    let (ct, body) = multipart(pairs);
    let a = post_raw(url, &ct, "application/json, */*;q=0.1", body).await;
    let v = serde_json::from_str(&a.body).unwrap_or_else(|e| panic!("{e}: {}", a.body));
    (a, v)
}

async fn stored(gate: &Gate) -> usize {
    gate.service.list("contact", 0, 10).await.unwrap().total
}

#[actix_web::test]
async fn cf7_feedback_post_is_stored_and_answered_mail_sent_without_reaching_wordpress() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "").await;
    let token = aged_token(gate.config());

    let (a, v) = post_cf7(&gate.url(FEEDBACK), &cf7_fields(&TYPED, Some(&token))).await;

    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.content_type.starts_with("application/json"));
    assert_eq!(a.cache_control, "no-store");
    assert_eq!(v["status"], "mail_sent", "{v}");
    assert_eq!(v["message"], THANKS);
    assert_eq!(v["contact_form_id"], 352);
    assert_eq!(v["into"], format!("#{UNIT_TAG}"));
    assert_eq!(v["invalid_fields"], serde_json::json!([]));
    assert_eq!(v["posted_data_hash"], "");

    let page = gate.service.list("contact", 0, 10).await.unwrap();
    assert_eq!(page.total, 1);
    let fields: Vec<_> = page.entries[0]
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(fields, TYPED, "exactly the configured fields are kept");
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_rest_route_query_and_other_spellings_are_captured_too() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "rate_limit_max = 0").await;
    for path in [
        "/?rest_route=/contact-form-7/v1/contact-forms/352/feedback",
        "/index.php?rest_route=%2Fcontact-form-7%2Fv1%2Fcontact-forms%2F352%2Ffeedback",
        "/wp-json/contact-form-7/v1/contact-forms/352/feedback/",
        "//WP-JSON/contact-form-7/v1/contact-forms/0352/feedback",
    ] {
        let token = aged_token(gate.config());
        let (_, v) = post_cf7(&gate.url(path), &cf7_fields(&TYPED, Some(&token))).await;
        assert_eq!(v["status"], "mail_sent", "{path}: {v}");
    }
    assert_eq!(stored(&gate).await, 4);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_invalid_fields_are_named_the_way_cf7_marks_its_inputs() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "").await;
    let token = aged_token(gate.config());
    let typed = [
        ("your-name", ""),
        ("your-email", "geen-adres"),
        ("your-message", "hallo"),
    ];

    let (a, v) = post_cf7(&gate.url(FEEDBACK), &cf7_fields(&typed, Some(&token))).await;

    assert_eq!(a.status, 200, "CF7's script renders only 2xx answers");
    assert_eq!(v["status"], "validation_failed", "{v}");
    assert!(v["message"].as_str().unwrap().contains("velden"));
    let invalid = v["invalid_fields"].as_array().unwrap();
    let names: Vec<_> = invalid
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["your-name", "your-email"]);
    assert_eq!(invalid[0]["message"], "Dit veld is verplicht.");
    assert_eq!(
        invalid[1]["error_id"],
        format!("{UNIT_TAG}-ve-your-email"),
        "CF7's id for the error tip"
    );
    assert!(invalid[1]["idref"].is_null());
    assert_eq!(stored(&gate).await, 0);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_honeypot_and_missing_token_are_answered_spam_and_not_stored() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "").await;
    let token = aged_token(gate.config());
    let mut trapped = cf7_fields(&TYPED, Some(&token));
    for (name, value) in &mut trapped {
        if name == "cg_website" {
            *value = "http://spam.example".into();
        }
    }

    for pairs in [trapped, cf7_fields(&TYPED, None)] {
        let (a, v) = post_cf7(&gate.url(FEEDBACK), &pairs).await;
        assert_eq!(a.status, 200);
        assert_eq!(v["status"], "spam", "{v}");
        assert!(v["message"].as_str().unwrap().contains("NIET verzonden"));
    }
    assert_eq!(stored(&gate).await, 0);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_no_javascript_post_to_its_page_is_captured_like_a_plain_form() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "").await;
    let token = aged_token(gate.config());
    let pairs = cf7_fields(&TYPED, Some(&token));
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (&**k, &**v)).collect();

    let a = post_form(&gate.url("/contact/"), &refs).await;

    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/bedankt"));
    assert_eq!(stored(&gate).await, 1);
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_form_that_is_not_configured_still_reaches_wordpress() {
    let site = start_site();
    let gate = cf7_gate(&site, StoreChoice::Memory, "").await;
    let other = "/wp-json/contact-form-7/v1/contact-forms/999/feedback";
    // As CF7 renders form 999: its own id in the hidden field too.
    let pairs: Vec<_> = cf7_fields(&TYPED, None)
        .into_iter()
        .map(|(n, v)| match n.as_str() {
            "_wpcf7" => (n, "999".to_owned()),
            _ => (n, v),
        })
        .collect();
    let (ct, body) = multipart(&pairs);

    let a = post_raw(&gate.url(other), &ct, "application/json", body).await;

    assert_eq!(a.status, 303, "the site's own answer");
    let seen = site.recorder.wait_for(1).await;
    assert_eq!(seen[0].0, other);
    assert_eq!(stored(&gate).await, 0);
    gate.stop().await;
}

#[actix_web::test]
async fn cf7_store_down_is_mail_failed_with_the_reason_never_mail_sent() {
    let site = start_site();
    let mut server = RedisServer::new();
    let gate = cf7_gate(
        &site,
        StoreChoice::Redis(server.url()),
        "[store]\ntimeout = \"1s\"\n",
    )
    .await;
    let token = aged_token(gate.config());
    let pairs = cf7_fields(&TYPED, Some(&token));
    server.stop();

    let (a, v) = post_cf7(&gate.url(FEEDBACK), &pairs).await;

    assert_eq!(a.status, 200, "CF7's script shows only a 2xx answer");
    assert_eq!(v["status"], "mail_failed", "{v}");
    assert!(v["message"].as_str().unwrap().contains("niets opgeslagen"));
    assert!(a.retry_after.is_some());

    server.start();
    wait::until(
        "the same submission to be stored once Redis is back",
        wait::DEADLINE,
        || async {
            let (_, v) = post_cf7(&gate.url(FEEDBACK), &pairs).await;
            v["status"] == "mail_sent"
        },
    )
    .await;
    only_marker_reached(&site, &gate).await;
    gate.stop().await;
}
