//! The forms script in a real browser: on the demo contact page (with the gate's head tags
//! injected the way the rewriter does), forms.js adds the honeypot and fetches a fill-time
//! token, and a person's submission is stored and lands on the thank-you page.

#[path = "support/browser.rs"]
mod browser;
#[path = "support/sink.rs"]
#[allow(dead_code)]
mod sink;

mod forms_common;

use std::time::Duration;

use actix_web::{web, App, HttpResponse, HttpServer};
use browser::Browser;
use consentgate::server::demo::demo_site_dir;
use consentgate::store::Store;
use fantoccini::Locator;
use forms_common::*;
use serde_json::json;
use sink::Sink;

/// The demo pages, with `head` inserted before `</head>` of the contact page.
async fn start_site(head: String) -> (std::net::SocketAddr, actix_web::dev::ServerHandle) {
    let dir = demo_site_dir();
    let contact = std::fs::read_to_string(dir.join("contact.html"))
        .unwrap()
        .replacen("</head>", &format!("{head}</head>"), 1);
    let thanks = std::fs::read_to_string(dir.join("bedankt.html")).unwrap();
    let server = HttpServer::new(move || {
        let (contact, thanks) = (contact.clone(), thanks.clone());
        App::new()
            .route(
                "/contact.html",
                web::get().to(move || {
                    let c = contact.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(c)
                    }
                }),
            )
            .route(
                "/bedankt.html",
                web::get().to(move || {
                    let t = thanks.clone();
                    async move {
                        HttpResponse::Ok()
                            .content_type("text/html; charset=utf-8")
                            .body(t)
                    }
                }),
            )
            .default_service(web::to(|| async { HttpResponse::NotFound().finish() }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, handle)
}

#[actix_web::test]
async fn person_filling_in_the_demo_form_in_a_browser_reaches_the_thank_you_page() {
    browser::require();
    // The site must exist before the gate (its upstream); the head tags depend only on the
    // forms, so a service built from the same forms gives the same script URL.
    let cfg0 = config(&form_toml("min_fill_time = \"1s\""), SECRET, None);
    let svc = service(&cfg0, Store::memory());
    let (site, site_handle) = start_site(svc.script_html()).await;
    let toml = form_toml("min_fill_time = \"1s\"")
        .replace("http://127.0.0.1:9", &format!("http://{site}"));
    let cfg = config(&toml, SECRET, None);
    let gate = Gate::start_with_proxy(&cfg, Store::memory()).await;
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
    // A person takes longer than the minimum fill time (1 s here).
    tokio::time::sleep(Duration::from_millis(1200)).await;
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
    site_handle.stop(false).await;
}
