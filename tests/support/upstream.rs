//! A real upstream website for end-to-end tests, on a loopback port: it echoes what it received
//! (so tests can see exactly what the gate forwarded), sets several cookies, redirects, stalls,
//! streams large bodies and serves gzip. Also a raw-socket upstream for byte-exact responses.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use futures_util::stream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A loopback website; dropping it stops it.
pub struct Upstream {
    pub addr: SocketAddr,
    pub handle: actix_web::dev::ServerHandle,
}

impl Upstream {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // The stop command is sent at once; the returned future would only wait for it.
        drop(self.handle.stop(false));
    }
}

/// Serve `routes` on 127.0.0.1 at a free port with one worker: the one way tests stand up a
/// site of their own.
pub fn serve<F>(routes: F) -> Upstream
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    // Test clients (awc) need rustls' provider chosen before their first https-capable use.
    consentgate::proxy::install_tls_provider();
    let server = HttpServer::new(move || App::new().configure(routes.clone()))
        .workers(1)
        .bind(("127.0.0.1", 0))
        .expect("bind a test upstream");
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Upstream { addr, handle }
}

pub const PAGE_HTML: &str = "<!DOCTYPE html><html lang=\"nl\"><head><title>t</title></head><body><p>hallo</p></body></html>";

async fn echo(req: HttpRequest, body: Bytes) -> HttpResponse {
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or("<binary>").to_owned(),
            )
        })
        .collect();
    HttpResponse::Ok().json(serde_json::json!({
        "method": req.method().as_str(),
        "path": req.path(),
        "query": req.query_string(),
        "headers": headers,
        "body_len": body.len(),
        "body": String::from_utf8_lossy(&body),
        "peer": req.peer_addr().map(|a| a.ip().to_string()),
    }))
}

async fn cookies() -> HttpResponse {
    HttpResponse::Ok()
        .append_header(("set-cookie", "a=1; Path=/"))
        .append_header(("set-cookie", "b=2; Path=/; HttpOnly"))
        .append_header(("set-cookie", "c=3; Path=/; Secure"))
        .content_type("text/plain")
        .body("three cookies")
}

async fn redirect() -> HttpResponse {
    HttpResponse::Found()
        .append_header(("location", "/echo?from=redirect"))
        .finish()
}

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(5)).await;
    HttpResponse::Ok().body("late")
}

#[derive(serde::Deserialize)]
struct BigQuery {
    mb: usize,
}

/// `mb` MiB of bytes, generated on the fly in 64 KiB chunks (never held whole).
async fn big(q: web::Query<BigQuery>) -> HttpResponse {
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let chunks = q.mb * 16;
    let body = stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .streaming(body)
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

async fn gzip_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .append_header(("content-encoding", "gzip"))
        .append_header(("etag", "\"strong-1\""))
        .body(gzip(br#"{"compressed":true}"#))
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .append_header(("etag", "\"page-1\""))
        .body(PAGE_HTML)
}

pub const TRACKER_PAGE: &str = "<!DOCTYPE html><html lang=\"nl\"><head><title>t</title>\
<script async src=\"https://www.googletagmanager.com/gtag/js?id=G-TEST1\"></script>\
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('js',new Date());gtag('config','G-TEST1');</script>\
<script src=\"/site.js\"></script></head><body><p>hallo</p>\
<noscript><img height=\"1\" width=\"1\" src=\"https://www.facebook.com/tr?id=1&ev=PageView&noscript=1\"></noscript></body></html>";

pub fn brotli(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::new();
    {
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        enc.write_all(data).unwrap();
    }
    out
}

#[derive(serde::Deserialize)]
struct EncQuery {
    enc: Option<String>,
}

/// The tracker page in the coding asked for (`?enc=gzip|br`), with a weak or strong ETag.
async fn tracker_page(q: web::Query<EncQuery>) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8")
        .append_header(("etag", "\"strong-page\""))
        .append_header(("x-page", "tracker"));
    match q.enc.as_deref() {
        Some("gzip") => res
            .append_header(("content-encoding", "gzip"))
            .body(gzip(TRACKER_PAGE.as_bytes())),
        Some("br") => res
            .append_header(("content-encoding", "br"))
            .body(brotli(TRACKER_PAGE.as_bytes())),
        _ => res.body(TRACKER_PAGE),
    }
}

#[derive(serde::Deserialize)]
struct BigHtmlQuery {
    sized: Option<bool>,
}

/// The tracker page padded past a mebibyte, with a Meta pixel at its very end: chunked, or with
/// a Content-Length under `?sized=true`.
pub fn big_tracker_page() -> String {
    let head_end = TRACKER_PAGE.find("<p>hallo</p>").unwrap();
    let filler = "<p>Een lange pagina met veel tekst over de stichting.</p>\n".repeat(24 * 1024);
    format!(
        "{}{filler}<noscript><img src=\"https://www.facebook.com/tr?id=2&ev=End\"></noscript></body></html>",
        &TRACKER_PAGE[..head_end]
    )
}

async fn big_tracker(q: web::Query<BigHtmlQuery>) -> HttpResponse {
    let page = Bytes::from(big_tracker_page());
    let mut res = HttpResponse::Ok();
    res.content_type("text/html; charset=utf-8");
    if q.sized == Some(true) {
        return res.body(page);
    }
    let chunks: Vec<Bytes> = page.chunks(64 * 1024).map(Bytes::copy_from_slice).collect();
    res.streaming(stream::iter(
        chunks.into_iter().map(Ok::<_, std::io::Error>),
    ))
}

/// Start the echoing upstream on 127.0.0.1 at a free port.
pub fn start() -> Upstream {
    serve(|site| {
        site.route("/cookies", web::get().to(cookies))
            .route("/redirect", web::get().to(redirect))
            .route("/slow", web::get().to(slow))
            .route("/big", web::get().to(big))
            .route("/gzip.json", web::get().to(gzip_json))
            .route("/page.html", web::get().to(page))
            .route("/tracker.html", web::get().to(tracker_page))
            .route("/tracker.html", web::head().to(tracker_page))
            .route("/big-tracker.html", web::get().to(big_tracker))
            .default_service(web::to(echo));
    })
}

/// An upstream that answers every request with exactly `response` (raw HTTP/1.1 bytes) and
/// closes the connection.
pub async fn start_raw(response: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..64 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

/// A port on which nothing listens (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Send raw request bytes, read until the server closes; returns the whole response text.
pub async fn raw_exchange(addr: SocketAddr, request: &str) -> String {
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), sock.read_to_end(&mut out))
        .await
        .expect("response within 10 s")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}
