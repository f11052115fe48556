//! Contact forms end to end over real sockets, on the embedded store.

mod forms_common;
mod support;

use consentgate::store::Store;
use forms_common::scenarios;
use forms_common::*;
use support::gate::StoreChoice;

#[actix_web::test]
async fn submission_round_trip_is_stored_encrypted_and_redirected() {
    scenarios::round_trip(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn fetch_submissions_get_json_answers() {
    scenarios::json_answers(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn every_refusal_is_explained_counted_and_not_stored() {
    scenarios::every_refusal_is_explained_counted_and_not_stored(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn typed_markup_is_escaped_on_the_error_page() {
    scenarios::typed_markup_is_escaped_on_the_error_page(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn rate_limit_per_anonymised_address() {
    scenarios::rate_limit_per_anonymised_address(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn entry_expires_after_retention() {
    scenarios::entry_expires_after_retention(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn inbox_api_handles_deletes_exports_and_erases() {
    scenarios::inbox_api_handles_deletes_exports_and_erases(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn key_rotation_keeps_old_entries_readable() {
    scenarios::key_rotation_keeps_old_entries_readable(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn store_and_forward_reaches_the_upstream() {
    scenarios::store_and_forward_reaches_the_upstream(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn webhook_carries_no_personal_data() {
    scenarios::webhook_carries_no_personal_data(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn forms_script_and_token_are_served_for_configured_forms() {
    let gate = Gate::start(contact_gate("", StoreChoice::Memory)).await;
    let head = gate.service.script_html();
    let src = head
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("script tag");
    assert!(src.starts_with("/_gate/forms.") && src.ends_with(".js"));
    let mut js = client().get(gate.url(src)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(js
        .headers()
        .get("cache-control")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("immutable"));
    let body = String::from_utf8(js.body().await.unwrap().to_vec()).unwrap();
    assert!(body.contains("\"/contact\"") && body.contains("cg_website"));

    let mut tok = client()
        .get(gate.url("/_gate/forms/token?form=contact"))
        .send()
        .await
        .unwrap();
    assert_eq!(tok.status(), 200);
    let v: serde_json::Value = tok.json().await.unwrap();
    assert!(v["token"].as_str().is_some_and(|t| t.contains('.')));

    let none = config("", SECRET, None);
    assert_eq!(service(&none, Store::memory()).script_html(), "");
    gate.stop().await;
}

#[actix_web::test]
async fn country_is_kept_with_the_entry_and_the_address_is_not() {
    let geo = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/geo/test-country.mmdb");
    let gate = Gate::start(contact_gate("", StoreChoice::Memory).config_toml(&format!(
        "[privacy]\ngeo_database = \"{geo}\"\ntrusted_proxies = [\"127.0.0.1/32\"]\n"
    )))
    .await;
    let (cfg, store) = (gate.config().clone(), gate.store().clone());
    let token = aged_token(&cfg);
    let body = urlencode(&[
        ("naam", "Jan"),
        ("email", "jan@example.nl"),
        ("bericht", scenarios::MESSAGE),
        ("cg_t", &token),
    ]);
    let a = post_with_headers(
        &gate.url("/contact"),
        &[("content-type", FORM_CT), ("x-forwarded-for", "192.0.2.77")],
        body,
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    let entry = &gate.service.list("contact", 0, 1).await.unwrap().entries[0];
    assert_eq!(entry.country.as_deref(), Some("NL"));
    let exported = gate.service.export_json("contact").await.unwrap();
    assert!(!exported.contains("192.0.2"), "no address in the entry");
    // The rate limit counted the anonymised /24, not the address.
    assert_eq!(
        store
            .hit_rate_limit(
                "form:contact:192.0.2.0",
                std::time::Duration::from_secs(600)
            )
            .await
            .unwrap(),
        2
    );
    gate.stop().await;
}
