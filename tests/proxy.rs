//! The gate as a reverse proxy, through real sockets: a loopback upstream, the gate in front of
//! it, and a client — what the upstream receives and what the visitor gets back.

mod support;

use support::{gate, upstream};

use std::time::Duration;

use consentgate::config::{HostPolicy, IpForwarding};
use gate::TestGate;
use serde_json::Value;

fn client() -> awc::Client {
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(60))
        .finish()
}

/// The header values the echo upstream saw for `name`.
fn seen(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|pair| pair[0].as_str() == Some(name))
        .map(|pair| pair[1].as_str().unwrap().to_owned())
        .collect()
}

async fn get_echo(url: &str, headers: &[(&str, &str)]) -> Value {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.insert_header((*k, *v));
    }
    let mut res = req.send().await.expect("gate answers");
    assert_eq!(res.status(), 200);
    res.json().limit(1 << 20).await.unwrap()
}

#[actix_web::test]
async fn method_path_query_and_body_reach_the_upstream_unchanged() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let mut res = client()
        .put(gate.url("/some/path%20x?a=1&b=%C3%A9&a=2"))
        .insert_header(("content-type", "text/plain"))
        .send_body("hello upstream")
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let echo: Value = res.json().await.unwrap();
    assert_eq!(echo["method"], "PUT");
    assert_eq!(echo["path"], "/some/path%20x");
    assert_eq!(echo["query"], "a=1&b=%C3%A9&a=2");
    assert_eq!(echo["body"], "hello upstream");
    gate.stop().await;
}

#[actix_web::test]
async fn hop_by_hop_request_headers_are_not_forwarded() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let raw = upstream::raw_exchange(
        gate.public_addr,
        "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close, X-Hop-Secret\r\n\
         X-Hop-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Authorization: Basic eDp5\r\n\
         X-End-To-End: kept\r\n\r\n",
    )
    .await;
    let body = &raw[raw.find("\r\n\r\n").unwrap() + 4..];
    // Chunked or not, the JSON object is the only brace-delimited part.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let echo: Value = serde_json::from_str(json).unwrap();
    for hop in ["x-hop-secret", "keep-alive", "te", "proxy-authorization"] {
        assert!(seen(&echo, hop).is_empty(), "{hop} was forwarded: {echo}");
    }
    assert_eq!(seen(&echo, "x-end-to-end"), vec!["kept"]);
    gate.stop().await;
}

#[actix_web::test]
async fn hop_by_hop_response_headers_are_removed_and_repeated_set_cookie_kept() {
    let addr = upstream::start_raw(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\
         Connection: close, X-Upstream-Hop\r\nX-Upstream-Hop: secret\r\nKeep-Alive: timeout=9\r\n\
         Proxy-Authenticate: Basic\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\n\
         Set-Cookie: c=3; Secure\r\nX-Kept: yes\r\n\r\nok",
    )
    .await;
    let gate = TestGate::new()
        .upstream(&format!("http://{addr}"))
        .start()
        .await;
    let mut res = client().get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cookies: Vec<&str> = res
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(cookies, vec!["a=1; Path=/", "b=2; HttpOnly", "c=3; Secure"]);
    assert!(res.headers().get("x-upstream-hop").is_none());
    assert!(res.headers().get("keep-alive").is_none());
    assert!(res.headers().get("proxy-authenticate").is_none());
    assert_eq!(res.headers().get("x-kept").unwrap(), "yes");
    assert_eq!(res.body().await.unwrap(), "ok");
    gate.stop().await;
}

#[actix_web::test]
async fn host_header_follows_the_configured_policy() {
    let up = upstream::start();
    let site = "[listen]\nhosts = [\"www.stichting.example\"]\n";
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml(site)
        .start()
        .await;
    let echo = get_echo(&gate.url("/echo"), &[("host", "www.stichting.example")]).await;
    assert_eq!(seen(&echo, "host"), vec![up.addr.to_string()]);
    assert_eq!(
        seen(&echo, "x-forwarded-host"),
        vec!["www.stichting.example"]
    );
    assert_eq!(seen(&echo, "x-forwarded-proto"), vec!["http"]);
    gate.stop().await;

    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml(site)
        .config(|c| c.upstream.host_header = HostPolicy::Client)
        .start()
        .await;
    let echo = get_echo(&gate.url("/echo"), &[("host", "www.stichting.example")]).await;
    assert_eq!(seen(&echo, "host"), vec!["www.stichting.example"]);
    gate.stop().await;
}

#[actix_web::test]
async fn spoofed_x_forwarded_for_from_an_untrusted_client_is_ignored() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let echo = get_echo(
        &gate.url("/echo"),
        &[
            ("x-forwarded-for", "203.0.113.99"),
            ("forwarded", "for=203.0.113.99"),
            ("x-real-ip", "203.0.113.99"),
        ],
    )
    .await;
    // The socket peer (127.0.0.1) is the client, anonymised to its /24.
    assert_eq!(seen(&echo, "x-forwarded-for"), vec!["127.0.0.0"]);
    assert_eq!(seen(&echo, "x-real-ip"), vec!["127.0.0.0"]);
    assert!(seen(&echo, "forwarded")[0].starts_with("for=127.0.0.0;"));
    assert!(!echo.to_string().contains("203.0.113.99"));
    gate.stop().await;
}

#[actix_web::test]
async fn chain_through_trusted_proxies_resolves_to_the_visitor_and_only_its_prefix_is_sent() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml("[privacy]\ntrusted_proxies = [\"127.0.0.0/8\", \"10.0.0.0/8\"]\n")
        .start()
        .await;
    let echo = get_echo(
        &gate.url("/echo"),
        &[
            ("x-forwarded-for", "198.51.100.1, 203.0.113.77, 10.9.8.7"),
            ("x-forwarded-proto", "https"),
        ],
    )
    .await;
    assert_eq!(seen(&echo, "x-forwarded-for"), vec!["203.0.113.0"]);
    assert_eq!(seen(&echo, "x-forwarded-proto"), vec!["https"]);
    let text = echo.to_string();
    assert!(
        !text.contains("203.0.113.77") && !text.contains("198.51.100.1"),
        "{text}"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn ipv6_visitor_reaches_the_upstream_as_its_48_prefix() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml(
            "[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\nclient_ip_header = \"forwarded\"\n",
        )
        .start()
        .await;
    let echo = get_echo(
        &gate.url("/echo"),
        &[("forwarded", "for=\"[2001:db8:abcd:12:34::5]:443\"")],
    )
    .await;
    assert_eq!(seen(&echo, "x-forwarded-for"), vec!["2001:db8:abcd::"]);
    assert!(seen(&echo, "forwarded")[0].starts_with("for=\"[2001:db8:abcd::]\""));
    assert!(!echo.to_string().contains(":34::5"));
    gate.stop().await;
}

#[actix_web::test]
async fn ipv6_socket_peer_is_anonymised() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config(|c| c.listen.public = "[::1]:0".parse().unwrap())
        .start()
        .await;
    let echo = get_echo(&format!("http://{}/echo", gate.public_addr), &[]).await;
    assert_eq!(seen(&echo, "x-forwarded-for"), vec!["::"]);
    gate.stop().await;
}

#[actix_web::test]
async fn strip_mode_sends_the_upstream_no_address_at_all() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config(|c| c.privacy.ip_forwarding = IpForwarding::Strip)
        .start()
        .await;
    let echo = get_echo(&gate.url("/echo"), &[("x-forwarded-for", "203.0.113.99")]).await;
    for name in ["x-forwarded-for", "x-real-ip", "forwarded"] {
        assert!(seen(&echo, name).is_empty(), "{name} sent in strip mode");
    }
    assert!(!echo.to_string().contains("203.0.113.99"));
    gate.stop().await;
}

#[actix_web::test]
async fn redirects_are_passed_to_the_visitor_not_followed() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let res = client().get(gate.url("/redirect")).send().await.unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers().get("location").unwrap(),
        "/echo?from=redirect"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn compressed_non_html_passes_byte_for_byte() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let mut res = client()
        .get(gate.url("/gzip.json"))
        .insert_header(("accept-encoding", "gzip"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers().get("content-encoding").unwrap(), "gzip");
    assert_eq!(res.headers().get("etag").unwrap(), "\"strong-1\"");
    let body = res.body().await.unwrap();
    assert_eq!(
        body.as_ref(),
        upstream::gzip(br#"{"compressed":true}"#).as_slice()
    );
    gate.stop().await;
}

#[actix_web::test]
async fn unreachable_upstream_gives_a_502_page_and_the_gate_stays_up() {
    let port = upstream::closed_port();
    let gate = TestGate::new()
        .upstream(&format!("http://127.0.0.1:{port}"))
        .start()
        .await;
    for _ in 0..3 {
        let mut res = client()
            .get(gate.url("/"))
            .insert_header(("accept-language", "en"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 502);
        assert!(res
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
        assert!(page.contains("cannot be reached"), "{page}");
    }
    let res = client()
        .get(gate.url("/_gate/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client()
        .get(gate.admin_url("/_gate/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        503,
        "readyz must report the unreachable upstream"
    );
    gate.stop().await;
}

#[actix_web::test]
async fn slow_upstream_gives_a_504_page() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await; // response_timeout = 2s, /slow takes 5s
    let mut res = client()
        .get(gate.url("/slow"))
        .insert_header(("accept-language", "en"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    let page = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert!(page.contains("did not answer in time"), "{page}");
    let res = client().get(gate.url("/echo")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the gate keeps serving after a timeout");
    gate.stop().await;
}

#[actix_web::test]
async fn health_endpoints_answer_on_their_listeners_and_are_never_proxied() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    for url in [
        gate.url("/_gate/healthz"),
        gate.admin_url("/_gate/healthz"),
        gate.admin_url("/_gate/readyz"),
    ] {
        let res = client().get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{url}");
    }
    let res = client()
        .get(gate.url("/_gate/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    gate.stop().await;
}

#[actix_web::test]
async fn websocket_upgrade_is_refused_clearly() {
    let up = upstream::start();
    let gate = TestGate::new().upstream(&up.url()).start().await;
    let raw = upstream::raw_exchange(
        gate.public_addr,
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 501"), "{raw}");
    assert!(raw.contains("WebSocket"));
    gate.stop().await;
}

#[actix_web::test]
async fn request_body_over_the_limit_is_refused_with_413() {
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config_toml("[limits]\nmax_request_body_bytes = 1000\n")
        .start()
        .await;
    let res = client()
        .post(gate.url("/echo"))
        .send_body(vec![b'a'; 5000])
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    gate.stop().await;
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[actix_web::test]
async fn a_500_mb_response_streams_through_in_bounded_memory() {
    use futures_util::StreamExt;
    let up = upstream::start();
    let gate = TestGate::new()
        .upstream(&up.url())
        .config(|c| c.upstream.response_timeout = Duration::from_secs(30))
        .start()
        .await;
    let before = rss_kib();
    let res = client().get(gate.url("/big?mb=500")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res;
    let (mut total, mut peak, mut next_sample, mut samples) = (0usize, 0u64, 0usize, 0);
    while let Some(chunk) = body.next().await {
        total += chunk.unwrap().len();
        if total >= next_sample {
            peak = peak.max(rss_kib());
            samples += 1;
            next_sample += 16 << 20;
        }
    }
    assert!(samples >= 30, "memory sampled only {samples} times");
    assert_eq!(total, 500 << 20);
    let grown_mib = peak.saturating_sub(before) / 1024;
    // Buffering the body anywhere would cost ≥ 500 MiB; streaming stays in the tens.
    assert!(
        grown_mib < 100,
        "memory grew by {grown_mib} MiB while streaming 500 MiB"
    );
    gate.stop().await;
}
