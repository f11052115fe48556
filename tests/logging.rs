//! What the gate writes to its log, from the real binary: one structured line per request with
//! a request id, and never a visitor's full IP address, a cookie value or a query string.

mod support;

use support::binary::GateProcess;
use support::upstream;

#[actix_web::test]
async fn request_logs_carry_an_id_but_no_ip_cookie_or_query() {
    let up = upstream::start();
    let gate = GateProcess::serve(&format!(
        "[upstream]\nurl = \"{}\"\n[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n\
         [log]\nformat = \"json\"\nlevel = \"debug\"\n",
        up.url()
    ))
    .await;
    let res = awc::Client::default()
        .get(gate.url("/echo?email=visitor%40example.org"))
        .insert_header(("x-forwarded-for", "192.0.2.123"))
        .insert_header(("cookie", "session=s3cr3t-cookie-value"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let request_id = res
        .headers()
        .get("x-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let logged = |l: &str| l.contains(&request_id) && l.contains("/echo");
    let line = gate.wait_for_line("the request's log line", logged).await;
    let log = gate.kill();

    let parsed: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
    assert_eq!(parsed["fields"]["status"], 200, "{line}");
    for secret in [
        "192.0.2.123",
        "s3cr3t-cookie-value",
        "visitor%40example.org",
        "visitor@example.org",
    ] {
        assert!(!log.contains(secret), "log contains {secret}:\n{log}");
    }
}
