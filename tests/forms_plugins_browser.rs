//! Contact Form 7 in a real browser behind the gate. A loopback site stands in for WordPress:
//! it serves the real CF7 markup saved in ../shared/corpus/forms (read at test time, never
//! copied here) and a small stand-in for CF7's submit script written for this test (FormData
//! POST to the REST feedback endpoint, answer rendered from the JSON as CF7 does). The visitor
//! sees CF7's messages, the entry is in the gate's store, and WordPress never sees a POST.

mod forms_common;
mod support;

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};
use fantoccini::Locator;
use forms_common::*;
use support::browser::{self, Browser};
use support::gate::{StoreChoice, TestGate};
use support::sink::Sink;
use support::{corpus, upstream};

const THANKS: &str = "Bedankt, uw bericht is bij ons binnen.";

/// Behaves like CF7's includes/js/src/submit.js for what the gate must get right: the request
/// (FormData of the whole form, REST root + contact-forms/<id>/feedback, CF7's Accept header,
/// non-2xx thrown away) and the rendering (status on the form, error tips per invalid field,
/// the message in .wpcf7-response-output, reset and the bubbling `wpcf7mailsent` event after
/// mail_sent).
const CF7_STAND_IN: &str = r#"(function () {
  var root = '/wp-json/';
  document.addEventListener('submit', function (ev) {
    var form = ev.target;
    if (!form.classList.contains('wpcf7-form')) { return; }
    ev.preventDefault();
    var data = new FormData(form);
    var url = root + 'contact-form-7/v1/contact-forms/' + data.get('_wpcf7') + '/feedback';
    form.setAttribute('data-status', 'submitting');
    fetch(url, { method: 'POST', body: data, headers: { Accept: 'application/json, */*;q=0.1' } })
      .then(function (r) { if (r.status < 200 || r.status >= 300) { throw r; } return r.json(); })
      .then(function (res) {
        form.querySelectorAll('.wpcf7-not-valid-tip').forEach(function (t) { t.remove(); });
        (res.invalid_fields || []).forEach(function (e) {
          var control = form.querySelector('[name="' + e.field + '"]');
          var tip = document.createElement('span');
          tip.className = 'wpcf7-not-valid-tip';
          tip.id = e.error_id;
          tip.textContent = e.message;
          control.parentNode.appendChild(tip);
        });
        if (res.status === 'mail_sent') {
          form.reset();
          form.dispatchEvent(new CustomEvent('wpcf7mailsent', { bubbles: true, detail: res }));
        }
        form.querySelectorAll('.wpcf7-response-output').forEach(function (d) {
          d.textContent = res.message;
        });
        form.setAttribute('data-status', res.status);
      })
      .catch(function (e) { form.setAttribute('data-status', 'fetch-error'); console.error(e); });
  });
})();"#;

/// (file name, form markup, CF7 form id, page path) of each single-form corpus file whose form
/// has the usual `your-name` and `your-email` fields.
fn corpus_forms() -> Option<Vec<(String, String, u64, String)>> {
    let listing = corpus::entries("forms", "CF7 browser test")?;
    let mut forms = Vec::new();
    for entry in listing.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".cf7-form-only.html") {
            continue;
        }
        let html = std::fs::read_to_string(entry.path()).expect("corpus file");
        if html.matches("<form ").count() != 1
            || !html.contains("name=\"your-name\"")
            || !html.contains("name=\"your-email\"")
        {
            continue;
        }
        let id = between(&html, "name=\"_wpcf7\" value=\"", "\"")
            .and_then(|v| v.parse().ok())
            .expect("a CF7 form has its id in _wpcf7");
        let action = between(&html, "action=\"", "\"").expect("a CF7 form has an action");
        let path = url::Url::parse("http://site.invalid/")
            .unwrap()
            .join(action)
            .unwrap()
            .path()
            .to_owned();
        forms.push((name, html, id, path));
    }
    forms.sort();
    assert!(
        !forms.is_empty(),
        "no single CF7 form with your-name/your-email in the corpus"
    );
    Some(forms)
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

/// The stand-in WordPress: every GET gets the page with the form (CF7's wrapper around it) or
/// the script; every other request is recorded as "WordPress saw it".
fn wordpress(form_html: String, seen: Arc<Mutex<Vec<String>>>) -> upstream::Upstream {
    let unit_tag = between(&form_html, "name=\"_wpcf7_unit_tag\" value=\"", "\"")
        .unwrap_or("wpcf7-f1-o1")
        .to_owned();
    let page = format!(
        "<!DOCTYPE html><html lang=\"nl\"><head><meta charset=\"utf-8\"><title>Contact</title>\
         </head><body><h1>Contact</h1><div class=\"wpcf7\" id=\"{unit_tag}\">\
         <div class=\"screen-reader-response\"><p role=\"status\"></p></div>{form_html}</div>\
         <script src=\"/wp-content/plugins/contact-form-7/includes/js/index.js\"></script>\
         </body></html>"
    );
    upstream::serve(move |site| {
        let (page, seen) = (page.clone(), seen.clone());
        site.default_service(web::to(move |req: HttpRequest| {
            let (page, seen) = (page.clone(), seen.clone());
            async move {
                if req.method() != actix_web::http::Method::GET {
                    seen.lock()
                        .unwrap()
                        .push(format!("{} {}", req.method(), req.uri()));
                    return HttpResponse::Ok().json(serde_json::json!({"status": "mail_sent"}));
                }
                if req.path().ends_with("/index.js") {
                    return HttpResponse::Ok()
                        .content_type("text/javascript")
                        .body(CF7_STAND_IN);
                }
                HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(page)
            }
        }));
    })
}

async fn type_into(b: &Browser, css: &str, text: &str) {
    let el = b.client.find(Locator::Css(css)).await.expect(css);
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

#[actix_web::test]
async fn visitor_sending_a_real_cf7_form_sees_cf7_messages_and_wordpress_sees_nothing() {
    browser::require();
    let Some(forms) = corpus_forms() else {
        return;
    };
    for (file, html, id, path) in forms {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let site = wordpress(html, seen.clone());
        let gate = Gate::start(
            TestGate::new()
                .secret(SECRET)
                .store(StoreChoice::Memory)
                .upstream(&site.url())
                .config_toml(&format!(
                    r#"[[forms]]
id = "contact"
path = "/kontakt"
plugin = "cf7"
plugin_form_id = {id}
thank_you_message = "{THANKS}"
redirect = "/bedankt"
language = "nl"
min_fill_time = "1s"
[[forms.fields]]
name = "your-name"
type = "text"
required = true
[[forms.fields]]
name = "your-email"
type = "email"
required = true
"#
                )),
        )
        .await;
        let sink = Sink::start().await;
        let b = Browser::start(sink.addr, "nl").await;
        b.open(&gate.url(&path)).await;
        let token = "document.querySelector('form.wpcf7-form input[name=cg_t]')";
        b.wait_js(&format!("{token} && {token}.value.indexOf('.') > 0"))
            .await;
        b.click("#cg-banner button[data-a=reject]").await;
        b.wait_js("document.querySelector('#cg-banner').hidden")
            .await;

        type_into(&b, "form.wpcf7-form [name=your-name]", "Anouk Visser").await;
        type_into(&b, "form.wpcf7-form [name=your-email]", "geen adres").await;
        b.wait_js(&format!(
            "Date.now() - Number({token}.value.split('.')[0]) > 1000"
        ))
        .await;
        b.click("form.wpcf7-form [type=submit]").await;
        b.wait_js("document.querySelector('form.wpcf7-form').getAttribute('data-status') === 'validation_failed'")
            .await;
        let tip = b
            .js("var t = document.querySelector('[name=\"your-email\"]').parentNode.querySelector('.wpcf7-not-valid-tip'); return t && t.textContent")
            .await;
        assert!(
            tip.as_str().is_some_and(|t| t.contains("e-mailadres")),
            "{file}: the e-mail field is marked: {tip}"
        );

        type_into(&b, "form.wpcf7-form [name=your-email]", "anouk@example.nl").await;
        let used = b.js(&format!("return {token}.value")).await;
        b.click("form.wpcf7-form [type=submit]").await;
        b.wait_js(
            "document.querySelector('form.wpcf7-form').getAttribute('data-status') === 'mail_sent'",
        )
        .await;
        assert_eq!(
            b.js("return document.querySelector('.wpcf7-response-output').textContent")
                .await,
            serde_json::json!(THANKS),
            "{file}: the visitor sees the thank-you message"
        );
        // The stored submission used its token up; the next message gets a fresh one.
        b.wait_js(&format!(
            "{token}.value.indexOf('.') > 0 && {token}.value !== {used}"
        ))
        .await;

        let inbox = gate.service.list("contact", 0, 10).await.unwrap();
        assert_eq!(inbox.total, 1, "{file}");
        let fields: Vec<_> = inbox.entries[0]
            .fields
            .iter()
            .map(|f| (f.name.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("your-name", "Anouk Visser"),
                ("your-email", "anouk@example.nl")
            ]
        );
        assert_eq!(
            seen.lock().unwrap().clone(),
            Vec::<String>::new(),
            "{file}: WordPress saw no submission"
        );
        drop(b);
        gate.stop().await;
    }
}
