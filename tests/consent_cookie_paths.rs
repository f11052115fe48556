//! A consent cookie forged at a sub-path, on the wire through the gate: the page the visitor
//! asks for under that path comes with a deletion of `cg_consent` at every path it could have
//! been set on, and the forged categories open nothing (the site does not get the tracker
//! cookies of a category the forgery claims).

mod support;

use actix_web::{web, HttpRequest, HttpResponse};
use support::gate::TestGate;
use support::upstream;

async fn page(req: HttpRequest) -> HttpResponse {
    // The site shows which cookies reached it.
    let cookie = req
        .headers()
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<html><head><title>t</title></head><body><p id=\"c\">{cookie}</p></body></html>"
        ))
}

#[actix_web::test]
async fn a_forged_cookie_at_a_sub_path_is_deleted_at_every_ancestor_path_and_grants_nothing() {
    let site = upstream::serve(|s| {
        s.default_service(web::get().to(page));
    });
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let revision = gate.config().consent.policy_revision;
    let forged = format!(
        "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~marketing.{revision}.{}.{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
        "A".repeat(43)
    );
    let mut res = awc::Client::new()
        .get(gate.url("/blog/2024/post?x=1"))
        .insert_header((
            "cookie",
            format!("cg_consent={forged}; _ga=GA1.1.5; _fbp=fb.1"),
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(res.status().as_u16(), 200);
    let sets: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    // The gate is at 127.0.0.1: one host-only deletion per path.
    let paths: Vec<&str> = sets
        .iter()
        .filter(|c| c.starts_with("cg_consent=;") && c.contains("Max-Age=0"))
        .filter_map(|c| c.split("; ").find_map(|p| p.strip_prefix("Path=")))
        .collect();
    assert_eq!(
        paths,
        vec![
            "/",
            "/blog",
            "/blog/",
            "/blog/2024",
            "/blog/2024/",
            "/blog/2024/post"
        ]
    );
    let body = String::from_utf8(res.body().await.expect("body").to_vec()).expect("utf-8");
    assert!(!body.contains("_ga=") && !body.contains("_fbp="), "{body}");
}
