//! Shared fixture for the forms tests: a gate with only the forms routes in front of a stand-in
//! proxy fallback, a loopback "upstream" that records what it receives, and helpers to post.
#![allow(dead_code)]

pub mod scenarios;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::Bytes;
use consentgate::config::{Config, ENV_PREVIOUS_SECRETS, ENV_SECRET};
use consentgate::forms::FormsService;
use consentgate::http::{error_pages, EdgeError, Lang};
use consentgate::keys::Keys;
use consentgate::privacy::Visitor;
use consentgate::proxy::{ForwardPolicy, RequestBody};
use consentgate::server::{public, AppState, State, Worker};
use consentgate::store::Store;

pub const SECRET: &str = "forms-test-secret-0123456789abcdef0123456789";

/// The demo contact form with test-friendly knobs; `extra` lines are added to the form table.
pub fn form_toml(extra: &str) -> String {
    format!(
        r#"[upstream]
url = "http://127.0.0.1:9"
[[forms]]
id = "contact"
path = "/contact"
redirect = "/bedankt.html"
language = "nl"
{extra}
[[forms.fields]]
name = "naam"
type = "text"
required = true
max_length = 100
label = "Naam"
[[forms.fields]]
name = "email"
type = "email"
required = true
label = "E-mailadres"
[[forms.fields]]
name = "telefoon"
type = "phone"
[[forms.fields]]
name = "bericht"
type = "textarea"
required = true
label = "Bericht"
"#
    )
}

pub fn config(toml: &str, secret: &str, previous: Option<&str>) -> Config {
    let mut env = BTreeMap::new();
    env.insert(ENV_SECRET.to_string(), secret.to_string());
    if let Some(p) = previous {
        env.insert(ENV_PREVIOUS_SECRETS.to_string(), p.to_string());
    }
    Config::from_toml(toml, &env)
        .expect("test config is valid")
        .0
}

/// The gate's state as `server::start` builds it, on `store`.
pub fn state(cfg: &Config, store: Store) -> Arc<AppState> {
    Arc::new(AppState::build(cfg.clone(), store).expect("app state builds"))
}

/// The forms service alone (library API; nothing runs in the background).
pub fn service(cfg: &Config, store: Store) -> FormsService {
    state(cfg, store).forms.clone()
}

/// A fill-time token issued a minute ago (what forms.js would have fetched at page load).
pub fn aged_token(cfg: &Config) -> String {
    let keys = Keys::derive(cfg.secret.as_ref().expect("secret set"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    consentgate::forms::token::FillToken::new(keys.form_token).issue(now - 60_000)
}

/// What a loopback upstream received.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<(String, String, Bytes)>>>);

impl Recorder {
    pub fn requests(&self) -> Vec<(String, String, Bytes)> {
        self.0.lock().unwrap().clone()
    }
    /// Wait (bounded: 50 × 100 ms) until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<(String, String, Bytes)> {
        for _ in 0..50 {
            if self.0.lock().unwrap().len() >= n {
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
        self.requests()
    }
}

/// A loopback upstream that records every request and answers 303 → /cms-bedankt.
pub async fn start_upstream() -> (SocketAddr, Recorder, ServerHandle) {
    let recorder = Recorder::default();
    let r = recorder.clone();
    let server = HttpServer::new(move || {
        let r = r.clone();
        App::new().default_service(web::to(move |req: HttpRequest, body: Bytes| {
            let r = r.clone();
            async move {
                let ct = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                r.0.lock().unwrap().push((req.path().to_string(), ct, body));
                HttpResponse::SeeOther()
                    .insert_header(("location", "/cms-bedankt"))
                    .finish()
            }
        }))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let addr = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (addr, recorder, handle)
}

/// The gate under test: forms routes, then a stub fallback ([`Gate::start`]) or the real proxy
/// ([`Gate::start_with_proxy`]).
pub struct Gate {
    pub addr: SocketAddr,
    pub service: FormsService,
    pub state: Arc<AppState>,
    handle: ServerHandle,
}

impl Gate {
    pub async fn start(cfg: &Config, store: Store) -> Gate {
        Gate::serve(state(cfg, store), false).await
    }

    /// Like [`Gate::start`], but with the real upstream client behind the forms routes (no
    /// rewriting): forwarding and every other request go to `cfg.upstream.url`.
    pub async fn start_with_proxy(cfg: &Config, store: Store) -> Gate {
        consentgate::proxy::install_tls_provider();
        Gate::serve(state(cfg, store), true).await
    }

    async fn serve(state: Arc<AppState>, proxy: bool) -> Gate {
        state.spawn_background();
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let app = App::new()
                .app_data(Worker::data(&app_state))
                .wrap(error_pages(Lang::En))
                .configure(|c| public::forms(c, &app_state))
                .configure(public::assets);
            if proxy {
                app.default_service(web::to(proxy_fallback))
            } else {
                app.default_service(web::to(|| async { HttpResponse::Ok().body("proxied") }))
            }
        })
        .workers(1)
        .bind(("127.0.0.1", 0))
        .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Gate {
            addr,
            service: state.forms.clone(),
            state,
            handle,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// The server's proxy fallback without the page rewriting.
async fn proxy_fallback(
    req: HttpRequest,
    payload: web::Payload,
    state: State,
    visitor: Visitor,
) -> Result<HttpResponse, EdgeError> {
    Ok(state
        .upstream
        .forward(
            &req,
            RequestBody::Stream(payload),
            &visitor,
            ForwardPolicy::passthrough(),
        )
        .await?)
}

/// A response reduced to what the tests look at.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: String,
    pub cache_control: String,
    pub retry_after: Option<String>,
    pub body: String,
}

pub fn client() -> awc::Client {
    // As server::start does: with ring and aws-lc-rs both compiled in, rustls cannot choose.
    consentgate::proxy::install_tls_provider();
    awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish()
}

pub async fn post_raw(url: &str, content_type: &str, accept: &str, body: Vec<u8>) -> Answer {
    post_with_headers(
        url,
        &[("content-type", content_type), ("accept", accept)],
        body,
    )
    .await
}

pub async fn post_with_headers(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut req = client().post(url);
    for (name, value) in headers {
        req = req.insert_header((*name, *value));
    }
    let mut resp = req.send_body(body).await.expect("gate answers");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let location = header("location");
    let content_type = header("content-type").unwrap_or_default();
    let cache_control = header("cache-control").unwrap_or_default();
    let retry_after = header("retry-after");
    let body = resp.body().limit(1 << 20).await.expect("body");
    Answer {
        status: resp.status().as_u16(),
        location,
        content_type,
        cache_control,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

pub fn urlencode(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

pub const FORM_CT: &str = "application/x-www-form-urlencoded";
pub const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

pub async fn post_form(url: &str, pairs: &[(&str, &str)]) -> Answer {
    post_raw(url, FORM_CT, BROWSER_ACCEPT, urlencode(pairs)).await
}
