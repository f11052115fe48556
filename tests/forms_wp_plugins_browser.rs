//! WPForms and Elementor Pro forms in a real browser behind the gate. A loopback site stands
//! in for WordPress: a page with both forms in the plugins' markup (our own, trimmed to what
//! the plugins' scripts and the gate rely on) on a page that is not their configured path, and
//! a small stand-in for the plugins' submit scripts written for this test (FormData of the form
//! plus the plugin's `action`, POSTed to admin-ajax.php, the answer rendered from the JSON as
//! the plugins do). forms.js finds the forms by their markup, the visitor sees the plugins'
//! messages, the entries are in the gate's store, and WordPress never sees a POST.

mod forms_common;
mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use fantoccini::Locator;
use forms_common::*;
use support::browser::{self, Browser};
use support::gate::{StoreChoice, TestGate};
use support::sink::Sink;
use support::upstream;

const THANKS: &str = "Thank you, we will call you back.";

const PAGE: &str = r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Open day</title></head><body>
<h1>Open day</h1>
<div class="wpforms-container" id="wpforms-41"><form id="wpforms-form-41" class="wpforms-validate wpforms-form wpforms-ajax-form" data-formid="41" method="post" enctype="multipart/form-data" action="/open-day/" novalidate>
<div class="wpforms-field" id="wpforms-41-field_1-container"><input type="text" id="wpforms-41-field_1" name="wpforms[fields][1]"></div>
<div class="wpforms-field" id="wpforms-41-field_2-container"><input type="email" id="wpforms-41-field_2" name="wpforms[fields][2]"></div>
<input type="hidden" name="wpforms[id]" value="41"><input type="hidden" name="page_title" value="Open day">
<button type="submit" name="wpforms[submit]" class="wpforms-submit">Send</button></form></div>
<div class="elementor-widget-form"><form class="elementor-form" method="post" name="Call me back" novalidate>
<input type="hidden" name="post_id" value="12"><input type="hidden" name="form_id" value="2f6e5b1"><input type="hidden" name="referer_title" value="Open day">
<div class="elementor-field-group"><input type="text" name="form_fields[name]" id="form-field-name"></div>
<div class="elementor-field-group"><input type="email" name="form_fields[email]" id="form-field-email"></div>
<button type="submit" class="elementor-button">Call me</button></form></div>
<script src="/wp-content/plugins/stand-in/submit.js"></script>
</body></html>"#;

/// Behaves like the plugins' submit scripts for what the gate must get right: WPForms
/// (`wpforms.js` formSubmitAjax: FormData + `action=wpforms_submit`, the confirmation replacing
/// the form, field errors by input name, the header error) and Elementor Pro (FormData +
/// `action=elementor_pro_forms_send_form`, `data.message` under the form, `data.errors` by
/// field id at `#form-field-<id>`).
const STAND_IN: &str = r#"(function () {
  var ajaxurl = '/wp-admin/admin-ajax.php';
  function post(form, action) {
    var data = new FormData(form);
    data.append('action', action);
    return fetch(ajaxurl, { method: 'POST', body: data, headers: { Accept: 'application/json, */*;q=0.01' } })
      .then(function (r) { return r.json(); });
  }
  function tip(control, text, cls) {
    var old = control.parentNode.querySelector('.' + cls);
    if (old) { old.remove(); }
    var t = document.createElement('em');
    t.className = cls;
    t.textContent = text;
    control.parentNode.appendChild(t);
  }
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (form.classList.contains('wpforms-form')) {
      ev.preventDefault();
      post(form, 'wpforms_submit').then(function (res) {
        if (res.success) {
          form.parentNode.innerHTML = res.data.confirmation;
          return;
        }
        var field = (res.data.errors && res.data.errors.field) || {};
        Object.keys(field).forEach(function (name) {
          tip(form.querySelector('[name="' + name + '"]'), field[name], 'wpforms-error');
        });
        form.setAttribute('data-status', 'failed');
      });
    } else if (form.classList.contains('elementor-form')) {
      ev.preventDefault();
      post(form, 'elementor_pro_forms_send_form').then(function (res) {
        var errors = (res.data && res.data.errors) || {};
        Object.keys(errors).forEach(function (id) {
          tip(form.querySelector('#form-field-' + id), errors[id], 'elementor-help-inline');
        });
        var m = document.createElement('div');
        m.className = 'elementor-message ' + (res.success ? 'elementor-message-success' : 'elementor-message-danger');
        m.textContent = res.data.message;
        form.appendChild(m);
        form.setAttribute('data-status', res.success ? 'sent' : 'failed');
      });
    }
  });
})();"#;

/// The stand-in WordPress: the page and the script for GETs; anything else is recorded as
/// "WordPress saw it".
fn wordpress(seen: Arc<Mutex<Vec<String>>>) -> upstream::Upstream {
    upstream::serve(move |site| {
        let seen = seen.clone();
        site.default_service(web::to(move |req: HttpRequest| {
            let seen = seen.clone();
            async move {
                if req.method() != actix_web::http::Method::GET {
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {}", req.method(), req.uri()));
                    return HttpResponse::Ok().json(serde_json::json!({"success": true}));
                }
                if req.path().ends_with("/submit.js") {
                    return HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(STAND_IN);
                }
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(PAGE)
            }
        }));
    })
}

const CONFIG: &str = r#"[[forms]]
id = "wpforms"
path = "/contact"
plugin = "wpforms"
plugin_form_id = 41
thank_you_message = "Thank you, we will call you back."
redirect = "/thanks"
min_fill_time = "1s"
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
path = "/call-me"
plugin = "elementor"
plugin_element_id = "2f6e5b1"
thank_you_message = "Thank you, we will call you back."
redirect = "/thanks"
min_fill_time = "1s"
[[forms.fields]]
name = "form_fields[name]"
type = "text"
required = true
[[forms.fields]]
name = "form_fields[email]"
type = "email"
required = true
"#;

async fn type_into(b: &Browser, css: &str, text: &str) {
    let el = b.client.find(Locator::Css(css)).await.expect(css);
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

/// Wait until forms.js gave the form its token, and until the token is older than the
/// minimum fill time.
async fn wait_for_aged_token(b: &Browser, form: &str) {
    let token = format!("document.querySelector('{form} input[name=cg_t]')");
    b.wait_js(&format!("{token} && {token}.value.indexOf('.') > 0"))
        .await;
    b.wait_js(&format!(
        "Date.now() - Number({token}.value.split('.')[0]) > 1000"
    ))
    .await;
}

#[actix_web::test]
async fn visitor_sending_wpforms_and_elementor_forms_sees_their_messages_and_wordpress_nothing() {
    browser::require();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let site = wordpress(seen.clone());
    let gate = Gate::start(
        TestGate::new()
            .secret(SECRET)
            .store(StoreChoice::Memory)
            .upstream(&site.url())
            .config_toml(CONFIG),
    )
    .await;
    let sink = Sink::start().await;
    let b = Browser::start(sink.addr, "en").await;
    b.open(&gate.url("/open-day/")).await;
    wait_for_aged_token(&b, "form.wpforms-form").await;
    wait_for_aged_token(&b, "form.elementor-form").await;
    for form in ["form.wpforms-form", "form.elementor-form"] {
        let honeypot = b
            .js(&format!(
                "return !!document.querySelector('{form} input[name=cg_website]')"
            ))
            .await;
        assert_eq!(honeypot, serde_json::json!(true), "{form}: honeypot added");
    }
    b.click("#cg-banner button[data-a=reject]").await;
    b.wait_js("document.querySelector('#cg-banner').hidden")
        .await;

    // WPForms: a wrong e-mail address is marked at its input, then the message is stored.
    type_into(&b, "[name='wpforms[fields][1]']", "Anouk Visser").await;
    type_into(&b, "[name='wpforms[fields][2]']", "no address").await;
    b.click("form.wpforms-form [type=submit]").await;
    b.wait_js(
        "document.querySelector('form.wpforms-form').getAttribute('data-status') === 'failed'",
    )
    .await;
    let tip = b
        .js("var t = document.querySelector('#wpforms-41-field_2-container .wpforms-error'); return t && t.textContent")
        .await;
    assert!(
        tip.as_str().is_some_and(|t| t.contains("e-mail")),
        "the e-mail field is marked: {tip}"
    );
    type_into(&b, "[name='wpforms[fields][2]']", "anouk@example.nl").await;
    b.click("form.wpforms-form [type=submit]").await;
    b.wait_js("!!document.querySelector('#wpforms-confirmation-41')")
        .await;
    assert_eq!(
        b.js("return document.querySelector('#wpforms-confirmation-41').textContent")
            .await,
        serde_json::json!(THANKS)
    );

    // Elementor: the same, its messages under the form.
    type_into(&b, "#form-field-name", "Anouk Visser").await;
    type_into(&b, "#form-field-email", "no address").await;
    b.click("form.elementor-form [type=submit]").await;
    b.wait_js(
        "document.querySelector('form.elementor-form').getAttribute('data-status') === 'failed'",
    )
    .await;
    let tip = b
        .js("var t = document.querySelector('#form-field-email').parentNode.querySelector('.elementor-help-inline'); return t && t.textContent")
        .await;
    assert!(
        tip.as_str().is_some_and(|t| t.contains("e-mail")),
        "the e-mail field is marked: {tip}"
    );
    type_into(&b, "#form-field-email", "anouk@example.nl").await;
    b.click("form.elementor-form [type=submit]").await;
    b.wait_js(
        "document.querySelector('form.elementor-form').getAttribute('data-status') === 'sent'",
    )
    .await;
    assert_eq!(
        b.js("return document.querySelector('.elementor-message-success').textContent")
            .await,
        serde_json::json!(THANKS)
    );

    for (form, email_field) in [
        ("wpforms", "wpforms[fields][2]"),
        ("elementor", "form_fields[email]"),
    ] {
        let inbox = gate.service.list(form, 0, 10).await.unwrap();
        assert_eq!(inbox.total, 1, "{form}");
        let email = inbox.entries[0]
            .fields
            .iter()
            .find(|f| f.name == email_field)
            .map(|f| f.value.as_str());
        assert_eq!(email, Some("anouk@example.nl"), "{form}");
    }
    assert_eq!(
        seen.lock().unwrap().clone(),
        Vec::<String>::new(),
        "WordPress saw no submission"
    );
    drop(b);
    gate.stop().await;
}
