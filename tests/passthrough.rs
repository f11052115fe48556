//! `[[passthrough]]` prefixes: pages under them reach the visitor as the site sent them (no
//! banner, no forms script, no tracker rewriting), bodies under them have their own limit, and
//! a configured form endpoint under a passthrough prefix is still captured.

mod forms_common;
mod support;

use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use forms_common::*;
use support::gate::{StoreChoice, TestGate};
use support::upstream;

const PAGE: &str = "<!DOCTYPE html><html><head><title>t</title>\
    <script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></head>\
    <body><form method=\"post\" class=\"wpcf7-form\" action=\"/x\">\
    <input type=\"hidden\" name=\"_wpcf7\" value=\"352\"></form></body></html>";

/// A site that answers GET with [`PAGE`] and any other method with the size of the body it got.
fn site() -> upstream::Upstream {
    upstream::serve(|site| {
        site.app_data(web::PayloadConfig::new(8 << 20));
        site.default_service(web::to(|req: HttpRequest, body: Bytes| async move {
            if req.method() == actix_web::http::Method::GET {
                return HttpResponse::Ok()
                    .content_type("text/html; charset=utf-8")
                    .body(PAGE);
            }
            HttpResponse::Ok().body(format!("got {} bytes", body.len()))
        }));
    })
}

const CONFIG: &str = r#"[limits]
max_request_body_bytes = 100000

[[passthrough]]
prefix = "/wp-admin/"
max_request_body_bytes = 3000000

[[passthrough]]
prefix = "/wp-json/"

[[forms]]
id = "contact"
path = "/contact"
plugin = "cf7"
plugin_form_id = 352
redirect = "/bedankt"
min_fill_time = "0s"
[[forms.fields]]
name = "your-name"
type = "text"
required = true
"#;

async fn gate(site: &upstream::Upstream) -> support::gate::RunningTestGate {
    TestGate::new()
        .secret(SECRET)
        .store(StoreChoice::Memory)
        .upstream(&site.url())
        .config_toml(CONFIG)
        .start()
        .await
}

async fn get(url: &str) -> String {
    let mut resp = client().get(url).send().await.expect("gate answers");
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.body().limit(1 << 20).await.expect("body");
    String::from_utf8_lossy(&body).into_owned()
}

#[actix_web::test]
async fn pages_under_a_passthrough_prefix_are_not_rewritten_and_others_are() {
    let site = site();
    let gate = gate(&site).await;

    let admin = get(&gate.url("/wp-admin/post.php?post=1")).await;
    assert_eq!(admin, PAGE, "wp-admin arrives as WordPress sent it");

    let page = get(&gate.url("/contact")).await;
    assert!(page.contains("/_gate/guard."), "a page gets the guard");
    assert!(page.contains("/_gate/forms."), "and the forms script");
    assert!(
        page.contains("data-cg-src=\"https://www.googletagmanager.com")
            && !page.contains(" src=\"https://www.googletagmanager.com"),
        "its tracker is inert"
    );
    // Written another way, a page is still a page.
    let sneaky = get(&gate.url("/wp-admin/../contact")).await;
    assert!(sneaky.contains("/_gate/guard."));
    gate.stop().await;
}

#[actix_web::test]
async fn a_passthrough_prefix_has_its_own_request_body_limit() {
    let site = site();
    let gate = gate(&site).await;
    let upload = vec![b'a'; 2_000_000];

    let mut admin = client()
        .post(gate.url("/wp-admin/async-upload.php"))
        .send_body(upload.clone())
        .await
        .unwrap();
    assert_eq!(
        admin.status().as_u16(),
        200,
        "an upload in wp-admin goes through"
    );
    assert_eq!(admin.body().await.unwrap(), "got 2000000 bytes");

    let elsewhere = client()
        .post(gate.url("/upload"))
        .send_body(upload)
        .await
        .unwrap();
    assert_eq!(
        elsewhere.status().as_u16(),
        413,
        "elsewhere the proxy's limit holds"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn a_captured_form_endpoint_under_a_passthrough_prefix_is_still_captured() {
    let site = site();
    let gate = gate(&site).await;
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"_wpcf7_unit_tag\"\r\n\r\nwpcf7-f352-o1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"your-name\"\r\n\r\nAnouk\r\n--{boundary}--\r\n"
    );
    let ct = format!("multipart/form-data; boundary={boundary}");

    let a = post_raw(
        &gate.url("/wp-json/contact-form-7/v1/contact-forms/352/feedback"),
        &ct,
        "application/json",
        body.clone().into_bytes(),
    )
    .await;
    assert_eq!(a.status, 200);
    let v: serde_json::Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["status"], "mail_sent", "{v}");
    assert_eq!(gate.forms().list("contact", 0, 10).await.unwrap().total, 1);

    // Another REST route under the same prefix reaches WordPress.
    let other = post_raw(
        &gate.url("/wp-json/wp/v2/comments"),
        &ct,
        "application/json",
        body.into_bytes(),
    )
    .await;
    assert!(other.body.starts_with("got "), "{}", other.body);
    gate.stop().await;
}

#[test]
fn wordpress_recipe_config_passes_check_config_without_warnings() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .args(["check-config", "--config"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/deploy/wordpress/consentgate.toml"
        ))
        .env("CONSENTGATE_SECRET", SECRET)
        .env("CONSENTGATE_REDIS_URL", "redis://127.0.0.1:6379/")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "check-config failed:\n{stderr}");
    assert!(
        !stderr.to_lowercase().contains("warn"),
        "the recipe should need no excuses:\n{stderr}"
    );
}
