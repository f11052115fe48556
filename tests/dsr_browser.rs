//! The register of data-subject requests in headless Chromium, as an operator uses it: a
//! visitor accepts the banner and writes through the demo site's real contact page; the
//! operator registers the person's erasure request, records the identity check, finds the
//! person's entries by e-mail address, attaches them and the consent record, exports them,
//! erases them and closes the request — and the entries and the consent record are gone from
//! the store. Every page is checked with axe-core (no serious or critical violation) and kept
//! as a screenshot in test-artifacts/.

mod support;

use std::time::Duration;

use consentgate::clock::utc_date;
use consentgate::dashboard::audit::AuditAction;
use consentgate::server::demo::serve_demo_site;
use support::axe;
use support::browser::{self, Browser};
use support::dashboard::{audit_events, dashboard_gate, PASSWORD};
use support::gate::RunningTestGate;
use support::sink::Sink;
use support::wait;

/// Choose `value` in the select or date field `css`.
async fn choose(b: &Browser, css: &str, value: &str) {
    b.js(&format!(
        "document.querySelector({css:?}).value = {value:?}; return true"
    ))
    .await;
}

async fn look(b: &Browser, page: &str) {
    axe::check(b, &format!("{page} (nl)")).await;
    b.screenshot(&format!("dsr-{page}-nl.png")).await;
}

async fn text(b: &Browser) -> String {
    b.js("return document.body.textContent")
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Click the submit button of the form posting to `action` and wait for `?done=<done>`.
async fn submit(b: &Browser, action: &str, done: &str) {
    b.click(&format!("form[action$='/{action}'] button[type=submit]"))
        .await;
    b.wait_js(&format!("location.search === '?done={done}'"))
        .await;
}

async fn audited(gate: &RunningTestGate, action: AuditAction) {
    wait::until(
        &format!("{action:?} in the audit log"),
        wait::DEADLINE,
        || async { audit_events(gate).await.iter().any(|e| e.action == action) },
    )
    .await;
}

#[actix_web::test]
async fn an_operator_answers_an_erasure_request_from_the_register_in_the_browser() {
    browser::require();
    axe::axe_source();
    let site = serve_demo_site().expect("demo site");
    let gate = dashboard_gate()
        .upstream(&format!("http://{}", site.addr))
        .config(|c| c.forms[0].min_fill_time = Duration::from_secs(1))
        .start()
        .await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "nl").await;

    // A visitor accepts the banner and writes through the real contact page.
    let consent = b
        .accept_and_write(
            &gate.url("/contact.html"),
            &[
                ("#naam", "Anouk Visser"),
                ("#email", "Anouk@Example.nl"),
                ("#bericht", "Wilt u mijn gegevens verwijderen?"),
            ],
        )
        .await;
    let stored = gate.forms().list("contact", 0, 10).await.expect("store");
    assert_eq!(stored.total, 1);
    let entry = stored.entries[0].id.clone();

    // The operator registers the request the person sent by e-mail.
    b.goto(&gate.admin_url("/requests/new")).await;
    b.type_into("#name", "ann").await;
    b.type_into("#password", PASSWORD).await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("document.querySelector('#kind')").await;
    look(&b, "request-new").await;
    let today = utc_date(gate.state().clock.unix_secs());
    choose(&b, "#kind", "erasure").await;
    choose(&b, "#received", &today.to_string()).await;
    choose(&b, "#channel", "email").await;
    b.type_into("#contact", "anouk@example.nl, 06 12345678")
        .await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("location.search === '?done=registered'").await;
    look(&b, "request").await;

    // Identity checked, then the person's entries found by their address and attached.
    choose(&b, "#status", "identity_checked").await;
    b.type_into("#note", "Teruggebeld op het bekende nummer")
        .await;
    submit(&b, "status", "status").await;
    choose(&b, "#by", "email").await;
    b.type_into("#value", "anouk@example.nl").await;
    b.click("form[action$='/search'] button[type=submit]").await;
    b.wait_js("document.querySelector('#found-1')").await;
    look(&b, "request-search").await;
    b.click("#found-1").await;
    b.click("form[action$='/attach']:has(table) button[type=submit]")
        .await;
    b.wait_js("location.search === '?done=attached'").await;
    b.type_into("#consent", &consent).await;
    b.click("form[action$='/attach']:not(:has(table)) button[type=submit]")
        .await;
    b.wait_js("location.search === '?done=attached'").await;
    assert!(text(&b).await.contains("Wilt u mijn gegevens verwijderen?"));
    look(&b, "request-attached").await;

    // The export for the person (a download), then erasure.
    b.click("form[action$='/export'] button[type=submit]").await;
    audited(&gate, AuditAction::RequestExported).await;
    b.goto(&gate.admin_url("/requests")).await;
    look(&b, "requests").await;
    b.click("main a[href^='/requests/']:not([href='/requests/new'])")
        .await;
    b.wait_js("document.querySelector('#erase-confirm')").await;
    b.click("#erase-confirm").await;
    b.click("form[action$='/erase'] button.danger").await;
    b.wait_js("location.search === '?done=erased'").await;
    assert!(gate
        .store()
        .get_form_entry("contact", &entry)
        .await
        .expect("store")
        .is_none());
    assert!(gate
        .consent()
        .record_of(&consent)
        .await
        .expect("store")
        .is_none());

    // Done: the request says so, and the inbox no longer has the entry.
    choose(&b, "#status", "done").await;
    submit(&b, "status", "status").await;
    b.wait_js("!document.querySelector('form[action$=\"/erase\"]')")
        .await;
    look(&b, "request-done").await;
    b.goto(&gate.admin_url("/inbox/contact")).await;
    assert!(!text(&b).await.contains("Anouk"));
    assert_eq!(
        b.js(&format!(
            "return document.querySelectorAll(\"a[href*='{entry}']\").length"
        ))
        .await,
        serde_json::json!(0)
    );

    // A request received 25 days ago is due within a week: it stands out on the overview.
    b.goto(&gate.admin_url("/requests/new")).await;
    let earlier = today - time::Duration::days(25);
    choose(&b, "#received", &earlier.to_string()).await;
    b.type_into("#contact", "per brief").await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("location.search === '?done=registered'").await;
    b.goto(&gate.admin_url("/")).await;
    b.wait_js("document.querySelector('section.attention')")
        .await;
    b.wait_js("document.querySelector('nav.main-nav .badge')")
        .await;
    look(&b, "overview-due").await;
    drop(b);
    site.handle.stop(false).await;
}
