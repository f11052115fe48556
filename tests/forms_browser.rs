//! The forms script in a real browser: on the demo contact page behind the gate, forms.js adds
//! the honeypot and fetches a fill-time token, and a person's submission is stored and lands on
//! the thank-you page.

mod forms_common;
mod support;

use support::{browser, sink};

use browser::Browser;
use consentgate::server::demo::serve_demo_site;
use fantoccini::Locator;
use forms_common::*;
use serde_json::json;
use sink::Sink;
use support::gate::StoreChoice;

#[actix_web::test]
async fn person_filling_in_the_demo_form_in_a_browser_reaches_the_thank_you_page() {
    browser::require();
    let site = serve_demo_site().expect("demo site");
    let gate = Gate::start(
        contact_gate("min_fill_time = \"1s\"", StoreChoice::Memory)
            .upstream(&format!("http://{}", site.addr)),
    )
    .await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "nl").await;

    b.client
        .goto(&gate.url("/contact.html"))
        .await
        .expect("goto");
    b.wait_js("document.querySelector('form.contact-form input[name=cg_t]') && document.querySelector('form.contact-form input[name=cg_t]').value.indexOf('.') > 0")
        .await;
    assert_eq!(
        b.js("var h = document.querySelector('form.contact-form input[name=cg_website]'); return h ? h.tabIndex : null").await,
        json!(-1),
        "honeypot added, out of the tab order"
    );
    // The gate's cookie banner covers the bottom of the page until the person answers it.
    b.click("#cg-banner button[data-a=reject]").await;
    b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;
    for (css, text) in [
        ("#naam", "Anouk Visser"),
        ("#email", "anouk@example.nl"),
        ("#bericht", "Graag een terugbelverzoek."),
    ] {
        b.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .send_keys(text)
            .await
            .expect("type");
    }
    // A person takes longer than the minimum fill time (1 s here): wait until the token the
    // page got says it was handed out more than a second ago.
    b.wait_js("Date.now() - Number(document.querySelector('form.contact-form input[name=cg_t]').value.split('.')[0]) > 1000")
        .await;
    b.click("form.contact-form button[type=submit]").await;
    b.wait_js("location.pathname === '/bedankt.html'").await;
    assert_eq!(
        b.js("return document.querySelector('h1').textContent")
            .await,
        json!("Bedankt voor uw bericht")
    );
    let inbox = gate.service.list("contact", 0, 10).await.unwrap();
    assert_eq!(inbox.total, 1);
    assert_eq!(inbox.entries[0].fields[0].value, "Anouk Visser");
    drop(b);
    gate.stop().await;
    site.handle.stop(false).await;
}
