//! The operators' dashboard in headless Chromium, as an operator uses it: a visitor writes
//! through the demo site's real contact page and accepts the banner; the operator signs in,
//! opens the message, marks it handled (and it is gone from the store), looks up the consent
//! record the banner click made and erases it, visits every other page, and signs out. Every
//! page is checked with axe-core (no serious or critical violation) and saved as a screenshot
//! in test-artifacts/ (Dutch and English).

mod support;

use serde_json::json;

use consentgate::server::demo::serve_demo_site;
use support::axe;
use support::browser::{self, Browser};
use support::dashboard::{contact_fields, dashboard_gate, decide, pairs, submit_contact, PASSWORD};
use support::gate::RunningTestGate;
use support::sink::Sink;

/// Check the page with axe-core and keep a screenshot of it.
async fn look(b: &Browser, page: &str, lang: &str) {
    axe::check(b, &format!("{page} ({lang})")).await;
    b.screenshot(&format!("dashboard-{page}-{lang}.png")).await;
}

async fn path(b: &Browser) -> String {
    b.js("return location.pathname + location.search")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Sign in through the form the dashboard sent the browser to.
async fn sign_in(b: &Browser, name: &str) {
    b.type_into("#name", name).await;
    b.type_into("#password", PASSWORD).await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("!document.querySelector('#password')").await;
}

#[actix_web::test]
async fn an_operator_handles_a_message_and_erases_a_consent_record_in_the_browser() {
    browser::require();
    axe::axe_source();
    let site = serve_demo_site().expect("demo site");
    let gate = dashboard_gate()
        .upstream(&format!("http://{}", site.addr))
        .config(|c| c.forms[0].min_fill_time = std::time::Duration::from_secs(1))
        .start()
        .await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "nl").await;

    // A visitor: accepts the banner, then writes through the real contact page.
    let consent = b
        .accept_and_write(
            &gate.url("/contact.html"),
            &[
                ("#naam", "Anouk Visser"),
                ("#email", "anouk@example.nl"),
                ("#bericht", "Kan ik mijn dochter aanmelden voor de zwemles?"),
            ],
        )
        .await;
    let stored = gate.forms().list("contact", 0, 10).await.unwrap();
    assert_eq!(stored.total, 1);
    let entry_id = stored.entries[0].id.clone();

    // The operator: the dashboard sends them to sign in, then back to the inbox.
    b.goto(&gate.admin_url("/inbox")).await;
    assert!(path(&b).await.starts_with("/sign-in?next=%2Finbox"));
    look(&b, "sign-in", "nl").await;
    sign_in(&b, "ann").await;
    assert_eq!(path(&b).await, "/inbox");
    look(&b, "inbox", "nl").await;
    assert_eq!(
        b.js("return document.body.textContent.indexOf('zwemles')")
            .await,
        json!(-1),
        "the list shows no content"
    );

    b.click(&format!("a[href='/inbox/contact/e/{entry_id}']"))
        .await;
    b.wait_js("document.querySelector('table.fields')").await;
    assert!(b
        .js("return document.body.textContent")
        .await
        .as_str()
        .unwrap()
        .contains("Kan ik mijn dochter aanmelden voor de zwemles?"));
    look(&b, "entry", "nl").await;
    b.click("form[action$='/handled'] button").await;
    b.wait_js("location.search === '?done=handled'").await;
    assert!(gate
        .forms()
        .get("contact", &entry_id)
        .await
        .unwrap()
        .is_none());
    assert!(gate
        .store()
        .get_form_entry("contact", &entry_id)
        .await
        .unwrap()
        .is_none());

    // The consent record the banner click made.
    b.click("nav.main-nav a[href='/consent']").await;
    b.wait_js("document.querySelector('#consent-id')").await;
    b.type_into("#consent-id", &consent).await;
    b.click("form.inline button[type=submit]").await;
    b.wait_js("document.querySelector('form[action$=\"/erase\"]')")
        .await;
    look(&b, "consent", "nl").await;
    b.click("form[action$='/erase'] button").await;
    b.wait_js("location.search === '?done=erased'").await;
    assert!(gate.consent().record_of(&consent).await.unwrap().is_none());

    // Every other page, with something on it.
    submit_contact(&gate, &pairs(&contact_fields("Graag een afspraak"))).await;
    decide(&gate, "reject_all").await;
    gate.state().stats.flush().await;
    visit_every_page(&b, &gate, "nl").await;

    // Signing out ends on the sign-in page, and the dashboard is closed again.
    b.goto(&gate.admin_url("/")).await;
    b.click("form.who button[type=submit]").await;
    b.wait_js("location.pathname === '/sign-in'").await;
    assert_eq!(path(&b).await, "/sign-in?notice=signed_out");
    b.goto(&gate.admin_url("/audit")).await;
    assert!(path(&b).await.starts_with("/sign-in"));
    drop(b);
    site.handle.stop(false).await;
}

/// Figures, inbox, a person search, receipts, audit log, health and an error page: each
/// checked and kept.
async fn visit_every_page(b: &Browser, gate: &RunningTestGate, lang: &str) {
    b.goto(&gate.admin_url("/")).await;
    look(b, "figures", lang).await;
    b.goto(&gate.admin_url("/person")).await;
    b.type_into("#email", "ans@example.org").await;
    b.click("form.inline button[type=submit]").await;
    b.wait_js("document.querySelector('form[action=\"/person/confirm\"]')")
        .await;
    look(b, "person", lang).await;
    b.click("form[action='/person/confirm'] button").await;
    b.wait_js("document.querySelector('section.confirm')").await;
    look(b, "person-confirm", lang).await;
    for (page, at) in [
        ("inbox-list", "/inbox/contact"),
        ("receipts", "/receipts"),
        ("audit", "/audit"),
        ("health", "/health"),
        ("not-found", "/no-such-page"),
    ] {
        b.goto(&gate.admin_url(at)).await;
        look(b, page, lang).await;
    }
}

#[actix_web::test]
async fn every_page_in_english_passes_axe() {
    browser::require();
    axe::axe_source();
    let gate = dashboard_gate().start().await;
    let entry = submit_contact(&gate, &pairs(&contact_fields("Could you call me back?"))).await;
    let consent = decide(&gate, "accept_all").await;
    gate.state().stats.flush().await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "en").await;
    b.goto(&gate.admin_url("/sign-in")).await;
    look(&b, "sign-in", "en").await;
    sign_in(&b, "ann").await;
    for (page, at) in [
        ("inbox", "/inbox".to_owned()),
        ("entry", format!("/inbox/contact/e/{entry}")),
        ("consent", format!("/consent/{consent}")),
    ] {
        b.goto(&gate.admin_url(&at)).await;
        look(&b, page, "en").await;
    }
    visit_every_page(&b, &gate, "en").await;
    // A refused sign-in reads well too.
    b.goto(&gate.admin_url("/")).await;
    b.click("form.who button[type=submit]").await;
    b.wait_js("location.pathname === '/sign-in'").await;
    b.type_into("#name", "ann").await;
    b.type_into("#password", "not the password").await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("document.querySelector('#sign-in-error')").await;
    look(&b, "sign-in-refused", "en").await;
}
