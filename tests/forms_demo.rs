//! The demo site's contact form through the gate: config/demo.toml matches the page's fields,
//! and a visitor's post is stored and answered with the demo's own thank-you page.

mod forms_common;
mod support;

use consentgate::config::Config;
use consentgate::server::demo::{demo_site_dir, serve_demo_site};
use forms_common::*;
use support::gate::TestGate;

fn demo_toml() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml")).unwrap()
}

fn demo_config() -> Config {
    config(&demo_toml(), SECRET, None)
}

/// The gate as `consentgate demo` runs it (config/demo.toml) in front of `site`.
fn demo_gate(site: &consentgate::server::demo::DemoSite) -> TestGate {
    TestGate::new()
        .secret(SECRET)
        .config_toml(&demo_toml())
        .upstream(&format!("http://{}/", site.addr))
}

#[test]
fn demo_config_captures_every_field_of_the_demo_contact_page() {
    let cfg = demo_config();
    let form = cfg
        .forms
        .iter()
        .find(|f| f.path == "/contact")
        .expect("demo form");
    assert_eq!(form.redirect, "/bedankt.html");
    let page = std::fs::read_to_string(demo_site_dir().join("contact.html")).unwrap();
    assert!(page.contains("action=\"/contact\""));
    for field in &form.fields {
        assert!(
            page.contains(&format!("name=\"{}\"", field.name)),
            "{} is not on the contact page",
            field.name
        );
    }
    let names: Vec<&str> = form.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["naam", "email", "telefoon", "bericht"]);
}

#[actix_web::test]
async fn demo_contact_form_is_captured_and_thanked_by_the_demo_site() {
    let site = serve_demo_site().expect("demo site");
    let gate = Gate::start(demo_gate(&site)).await;
    let cfg = gate.config().clone();

    let mut page = client()
        .get(gate.url("/contact.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("<form class=\"contact-form\" method=\"post\" action=\"/contact\">"));

    let token = aged_token(&cfg);
    let a = post_form(
        &gate.url("/contact"),
        &[
            ("naam", "Fatima el Amrani"),
            ("email", "fatima@example.nl"),
            ("telefoon", ""),
            ("bericht", "Mag ik langskomen voor een gesprek?"),
            ("cg_t", &token),
        ],
    )
    .await;
    assert_eq!(a.status, 303, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/bedankt.html"));
    let mut thanks = client()
        .get(gate.url("/bedankt.html"))
        .send()
        .await
        .unwrap();
    let thanks = String::from_utf8(thanks.body().await.unwrap().to_vec()).unwrap();
    assert!(thanks.contains("Bedankt voor uw bericht"));

    let inbox = gate.service.list("contact", 0, 10).await.unwrap();
    assert_eq!(inbox.total, 1);
    assert_eq!(inbox.entries[0].fields[0].value, "Fatima el Amrani");
    assert_eq!(
        inbox.entries[0].fields.len(),
        3,
        "the empty phone number is not kept"
    );

    // A visitor who forgot the message gets the Dutch page with their name still filled in.
    let a = post_form(
        &gate.url("/contact"),
        &[
            ("naam", "Fatima el Amrani"),
            ("email", "fatima@example.nl"),
            ("cg_t", &token),
        ],
    )
    .await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("lang=\"nl\""));
    assert!(a.body.contains("Bericht") && a.body.contains("Dit veld is verplicht."));
    assert!(a.body.contains("value=\"Fatima el Amrani\""));
    gate.stop().await;
    site.handle.stop(false).await;
}

/// The whole gate as `consentgate demo` runs it (server::start with config/demo.toml): the form
/// script is injected into every page, the contact form is captured by the gate and never
/// reaches the demo site, and the visitor lands on the demo's thank-you page.
#[actix_web::test]
async fn demo_gate_captures_the_contact_form_end_to_end() {
    let site = serve_demo_site().expect("demo site");
    let gate = demo_gate(&site).start().await;
    let token = aged_token(gate.config());
    let url = |path: &str| gate.url(path);

    let mut page = client().get(url("/contact.html")).send().await.unwrap();
    let html = String::from_utf8(page.body().await.unwrap().to_vec()).unwrap();
    assert!(html.contains("/_gate/banner."), "banner injected");
    assert!(
        html.contains("<script src=\"/_gate/forms."),
        "form script injected:\n{html}"
    );

    let answer = post_form(
        &url("/contact"),
        &[
            ("naam", "Jan de Vries"),
            ("email", "jan@example.nl"),
            ("telefoon", "0612345678"),
            ("bericht", "Graag een terugbelverzoek."),
            ("cg_t", &token),
        ],
    )
    .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/bedankt.html"));
    gate.stop().await;
    site.handle.stop(false).await;
}

/// forms.js goes only into pages with a form the gate captures; the banner into every page.
#[actix_web::test]
async fn forms_script_is_only_on_pages_with_a_captured_form() {
    let site = serve_demo_site().expect("demo site");
    let mut cfg = demo_config();
    cfg.upstream.url = Some(format!("http://{}/", site.addr).parse().unwrap());
    cfg.listen.public = "127.0.0.1:0".parse().unwrap();
    cfg.listen.admin = "127.0.0.1:0".parse().unwrap();
    let gate = consentgate::server::start(cfg).await.expect("gate starts");
    let page = |path: &'static str| {
        let url = format!("http://{}{path}", gate.public_addr);
        async move {
            let mut res = client().get(url).send().await.unwrap();
            String::from_utf8(res.body().await.unwrap().to_vec()).unwrap()
        }
    };
    let contact = page("/contact.html").await;
    assert!(contact.contains("/_gate/forms."), "{contact}");
    for path in ["/", "/over-ons.html", "/privacy.html"] {
        let html = page(path).await;
        assert!(html.contains("/_gate/banner."), "banner on {path}");
        assert!(
            !html.contains("/_gate/forms."),
            "forms.js on {path}:\n{html}"
        );
    }
    gate.stop().await;
    site.handle.stop(false).await;
}
