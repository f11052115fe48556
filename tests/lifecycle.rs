//! The real binary's life as a service (issue 12 point 13): SIGTERM lets requests in flight
//! finish and then exits 0, within `listen.shutdown_timeout`; SIGHUP reloads the tracker
//! catalogue, the banner's texts and the forms without dropping a connection, and keeps the
//! running configuration when the new file is invalid, naming every problem's key; log lines
//! written to a pipe carry no colour codes.

mod support;

use support::binary::GateProcess;
use support::{upstream, wait};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, HttpResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// A site whose `/held` answers only when the test lets it, and whose `/stuck` never does.
struct HeldSite {
    site: upstream::Upstream,
    release: Arc<Notify>,
    arrived: Arc<AtomicUsize>,
}

fn held_site() -> HeldSite {
    let release = Arc::new(Notify::new());
    let arrived = Arc::new(AtomicUsize::new(0));
    let (r, a) = (release.clone(), arrived.clone());
    let site = upstream::serve(move |cfg| {
        let (r, a, a2) = (r.clone(), a.clone(), a.clone());
        cfg.route(
            "/held",
            web::get().to(move || {
                let (r, a) = (r.clone(), a.clone());
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    r.notified().await;
                    HttpResponse::Ok()
                        .content_type("text/plain")
                        .body("finished")
                }
            }),
        )
        .route(
            "/stuck",
            web::get().to(move || {
                let a = a2.clone();
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<()>().await;
                    HttpResponse::Ok().finish()
                }
            }),
        );
    });
    HeldSite {
        site,
        release,
        arrived,
    }
}

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish()
}

#[actix_web::test]
async fn sigterm_lets_requests_in_flight_finish_then_exits_0_within_the_deadline() {
    let site = held_site();
    // The shutdown deadline goes into [listen], which the harness opens.
    let mut gate = GateProcess::serve(&format!(
        "shutdown_timeout = \"2s\"\n[upstream]\nurl = \"{}\"\nresponse_timeout = \"60s\"\n",
        site.site.url()
    ))
    .await;
    let held = actix_web::rt::spawn({
        let url = gate.url("/held");
        async move {
            let mut res = client().get(url).send().await.expect("an answer");
            (res.status().as_u16(), res.body().await.map(|b| b.to_vec()))
        }
    });
    let stuck = actix_web::rt::spawn({
        let url = gate.url("/stuck");
        async move {
            match client().get(url).send().await {
                Ok(mut res) => res.body().await.is_ok() && res.status() == 200,
                Err(_) => false,
            }
        }
    });
    wait::until_true("both requests to reach the site", wait::DEADLINE, || {
        site.arrived.load(Ordering::SeqCst) == 2
    })
    .await;

    gate.signal("TERM");
    gate.wait_for_line("the stop to begin", |l| l.contains("stopping"))
        .await;
    // Stopping: the listener closes (the line is logged just before), so new connections are
    // refused while the request in flight is still running.
    let port = gate.public_port;
    wait::until(
        "the stopping gate to refuse new connections",
        wait::DEADLINE,
        || async move { TcpStream::connect(("127.0.0.1", port)).await.is_err() },
    )
    .await;
    assert_eq!(site.arrived.load(Ordering::SeqCst), 2);
    // The request in flight finishes, whole.
    site.release.notify_one();
    let (status, body) = held.await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(body.unwrap(), b"finished");
    // The one that never finishes is cut at the deadline, and the process exits 0.
    wait::until_true("the gate to exit", wait::DEADLINE, || !gate.is_running()).await;
    let (exit, log) = gate.exit_status_and_log();
    assert!(exit.success(), "exit status {exit}:\n{log}");
    assert!(
        !stuck.await.unwrap(),
        "a request stalled upstream cannot finish"
    );
    assert!(log.contains("consentgate stopped"), "{log}");
}

/// Pieces of the reload test's configuration.
fn reload_toml(site: &str, title: &str, with_vendor_and_form: bool) -> String {
    let mut toml = format!(
        "[upstream]\nurl = \"{site}\"\n[consent.texts.en]\ntitle = \"{title}\"\n\
         [consent.texts.nl]\ntitle = \"{title}\"\n"
    );
    if with_vendor_and_form {
        toml.push_str(
            "[[trackers.vendors]]\nid = \"acme\"\ncategory = \"analytics\"\n\
             hosts = [\"tracker.acme.example\"]\n\
             [[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/thanks\"\n\
             [[forms.fields]]\nname = \"bericht\"\ntype = \"textarea\"\nrequired = true\n",
        );
    }
    toml
}

const ACME_PAGE: &str = "<!DOCTYPE html><html lang=\"en\"><head><title>t</title>\
    <script src=\"https://tracker.acme.example/t.js\"></script></head>\
    <body><form method=\"post\" action=\"/contact\"><textarea name=\"bericht\"></textarea></form>\
    </body></html>";

/// One HTTP/1.1 exchange on an open connection: status, headers (lower-case names) and body
/// (the answer must carry a Content-Length).
async fn exchange(conn: &mut TcpStream, request: &str) -> (u16, Vec<(String, String)>, String) {
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut res = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head_len) = res.parse(&buf).unwrap() {
            let status = res.code.unwrap();
            let headers: Vec<(String, String)> = res
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            let len: usize = headers
                .iter()
                .find(|(n, _)| n == "content-length")
                .map(|(_, v)| v.parse().unwrap())
                .expect("the answer has a Content-Length");
            while buf.len() < head_len + len {
                let n = conn.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the connection closed mid-answer");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[head_len..head_len + len]).into_owned();
            return (status, headers, body);
        }
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "the connection was closed (after {} bytes)",
            buf.len()
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

const GET_PAGE: &str =
    "GET /page HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\nAccept-Language: en\r\n\r\n";
const POST_FORM: &str = "POST /contact HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\
    Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nbericht=hoi";

/// The banner script URL in a page.
fn banner_url(page: &str) -> String {
    let at = page.find("/_gate/banner.").expect("the banner is injected");
    page[at..].split('"').next().unwrap().to_owned()
}

#[actix_web::test]
async fn sighup_reloads_catalogue_texts_and_forms_on_open_connections_and_keeps_them_when_invalid()
{
    let posts = Arc::new(AtomicUsize::new(0));
    let seen = posts.clone();
    let site = upstream::serve(move |cfg| {
        let seen = seen.clone();
        cfg.route(
            "/page",
            web::get()
                .to(|| async { HttpResponse::Ok().content_type("text/html").body(ACME_PAGE) }),
        )
        .route(
            "/contact",
            web::post().to(move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async {
                    HttpResponse::Ok()
                        .content_type("text/plain")
                        .body("the CMS got it")
                }
            }),
        );
    });
    let gate = GateProcess::serve(&reload_toml(&site.url(), "Cookies A", false)).await;
    let mut conn = TcpStream::connect(("127.0.0.1", gate.public_port))
        .await
        .unwrap();

    // Before: the vendor is unknown, so live; no form is configured, so the CMS gets the post.
    let (status, _, page) = exchange(&mut conn, GET_PAGE).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<script src=\"https://tracker.acme.example/t.js\">"),
        "{page}"
    );
    let banner_a = banner_url(&page);
    let (status, _, _) = exchange(&mut conn, POST_FORM).await;
    assert_eq!(status, 200);
    assert_eq!(posts.load(Ordering::SeqCst), 1);

    // A new catalogue, banner texts and a form, plus a change that needs a restart.
    gate.rewrite_config(&format!(
        "{}[limits]\nbody_timeout = \"7s\"\n",
        reload_toml(&site.url(), "Cookies B", true)
    ));
    gate.signal("HUP");
    gate.wait_for_line("the reload", |l| l.contains("configuration reloaded"))
        .await;
    let restart = gate
        .wait_for_line("the key that needs a restart", |l| {
            l.contains("needs a restart")
        })
        .await;
    assert!(restart.contains("limits.body_timeout"), "{restart}");

    // The same connection: the vendor is inert now, the banner has its new texts, the form is
    // the gate's (a post without a fill-time token is refused, and the CMS never sees it).
    let (status, _, page) = exchange(&mut conn, GET_PAGE).await;
    assert_eq!(status, 200);
    assert!(
        !page.contains("<script src=\"https://tracker.acme.example"),
        "{page}"
    );
    assert!(
        page.contains("data-cg-src=\"https://tracker.acme.example/t.js\""),
        "{page}"
    );
    let banner_b = banner_url(&page);
    assert_ne!(
        banner_a, banner_b,
        "the banner's texts changed, so its URL did"
    );
    let (status, _, js) = exchange(
        &mut conn,
        &format!("GET {banner_b} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(js.contains("Cookies B"), "the new banner texts are served");
    let (status, _, body) = exchange(&mut conn, POST_FORM).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("too_fast"), "{body}");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        1,
        "the form's post stayed at the gate"
    );

    // An invalid file: nothing changes, and every problem is logged with its key.
    gate.rewrite_config(&format!(
        "{}[consent]\npolicy_revison = 3\n[[forms.fields]]\nname = \"x\"\ntype = \"emial\"\n",
        reload_toml(&site.url(), "Cookies C", true)
    ));
    gate.signal("HUP");
    gate.wait_for_line("the refusal", |l| l.contains("configuration not reloaded"))
        .await;
    let log = gate.log();
    for key in ["consent.policy_revison", "forms[0].fields[1].type"] {
        assert!(
            log.lines()
                .any(|l| l.contains("reload refused") && l.contains(key)),
            "no refusal naming {key}:\n{log}"
        );
    }
    let (status, _, page) = exchange(&mut conn, GET_PAGE).await;
    assert_eq!(status, 200);
    assert_eq!(banner_url(&page), banner_b, "the running banner is kept");
    assert!(page.contains("data-cg-src=\"https://tracker.acme.example/t.js\""));
    let (status, _, _) = exchange(&mut conn, POST_FORM).await;
    assert_eq!(status, 422, "the running form is kept");
    assert_eq!(posts.load(Ordering::SeqCst), 1);
    gate.terminate();
}

#[actix_web::test]
async fn log_lines_written_to_a_pipe_carry_no_colour_codes() {
    let gate = GateProcess::serve("[upstream]\nurl = \"http://127.0.0.1:9/\"\n").await;
    let res = client().get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 502);
    gate.wait_for_line("the upstream failure", |l| l.contains("upstream failed"))
        .await;
    let log = gate.terminate();
    assert!(log.contains("listening"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape sequences in a log written to a pipe:\n{log:?}"
    );
}
