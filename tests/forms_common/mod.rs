//! Shared fixture for the forms tests: the real gate with the demo contact form configured, a
//! loopback site that records what reaches it, and helpers to post.
#![allow(dead_code)]

pub mod scenarios;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::gate::{RunningTestGate, StoreChoice, TestGate};
use crate::support::{upstream, wait};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use consentgate::config::Config;
use consentgate::forms::FormsService;
use consentgate::keys::Keys;
use consentgate::server::AppState;
use consentgate::store::Store;

pub const SECRET: &str = "forms-test-secret-0123456789abcdef0123456789";

/// The demo contact form with test-friendly knobs; `extra` lines are added to the form table.
pub fn form_toml(extra: &str) -> String {
    format!(
        r#"[[forms]]
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

/// A gate with the contact form (`extra` lines added to its table) on `store`, signed with
/// [`SECRET`].
pub fn contact_gate(extra: &str, store: StoreChoice) -> TestGate {
    TestGate::new()
        .secret(SECRET)
        .store(store)
        .config_toml(&form_toml(extra))
}

/// The configuration a gate would get, for services a test builds itself (e.g. after a key
/// rotation, with or without the old secret).
pub fn config(toml: &str, secret: &str, previous: Option<&str>) -> Config {
    let mut gate = TestGate::new().secret(secret).config_toml(toml);
    if let Some(p) = previous {
        gate = gate.previous_secrets(p);
    }
    gate.build_config()
}

/// The gate's state as `server::start` builds it, on `store`.
pub fn state(cfg: &Config, store: Store) -> Arc<AppState> {
    Arc::new(AppState::build(cfg.clone(), store).expect("app state builds"))
}

/// The forms service alone (library API; nothing runs in the background).
pub fn service(cfg: &Config, store: Store) -> FormsService {
    state(cfg, store).areas().forms.clone()
}

/// A fill-time token for the first configured form, issued a minute ago (what forms.js would
/// have fetched at page load). Each call gives a new one: a token opens one stored submission.
pub fn aged_token(cfg: &Config) -> String {
    token_issued_ago(cfg, std::time::Duration::from_secs(60))
}

/// A fill-time token for the first configured form, issued `ago` before now.
pub fn token_issued_ago(cfg: &Config, ago: std::time::Duration) -> String {
    let form = &cfg.forms.first().expect("a form is configured").id;
    form_token_issued_ago(cfg, form, ago)
}

/// A fill-time token for the form `form` (its `[[forms]] id`), issued `ago` before now.
pub fn form_token_issued_ago(cfg: &Config, form: &str, ago: std::time::Duration) -> String {
    let keys = Keys::derive(cfg.secret.as_ref().expect("secret set"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    consentgate::forms::token::FillToken::new(keys.form_token)
        .issue(form, now - ago.as_millis() as u64)
}

/// What a loopback site received.
#[derive(Clone, Default)]
pub struct Recorder(pub Arc<Mutex<Vec<(String, String, Bytes)>>>);

impl Recorder {
    pub fn requests(&self) -> Vec<(String, String, Bytes)> {
        self.0.lock().unwrap().clone()
    }
    /// Wait until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<(String, String, Bytes)> {
        wait::until_true(&format!("{n} requests at the site"), wait::DEADLINE, || {
            self.0.lock().unwrap().len() >= n
        })
        .await;
        self.requests()
    }
}

/// A loopback site that records every request; it answers GET with "proxied", anything else
/// with 303 → /cms-bedankt (as a CMS thanks for a form it received).
pub struct Site {
    pub upstream: upstream::Upstream,
    pub recorder: Recorder,
}

impl Site {
    pub fn url(&self) -> String {
        self.upstream.url()
    }
}

pub fn start_site() -> Site {
    let recorder = Recorder::default();
    let r = recorder.clone();
    let upstream = upstream::serve(move |site| {
        let r = r.clone();
        site.default_service(web::to(move |req: HttpRequest, body: Bytes| {
            let r = r.clone();
            async move {
                let ct = req
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                r.0.lock().unwrap().push((req.path().to_string(), ct, body));
                if req.method() == actix_web::http::Method::GET {
                    return HttpResponse::Ok()
                        .content_type("text/plain")
                        .body("proxied");
                }
                HttpResponse::SeeOther()
                    .insert_header(("location", "/cms-bedankt"))
                    .finish()
            }
        }));
    });
    Site { upstream, recorder }
}

/// The gate under test, with the inbox API on its store as `service`.
pub struct Gate {
    pub running: RunningTestGate,
    pub service: FormsService,
}

impl Gate {
    pub async fn start(gate: TestGate) -> Gate {
        let running = gate.start().await;
        Gate {
            service: running.forms(),
            running,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.running.url(path)
    }

    pub fn config(&self) -> &Config {
        self.running.config()
    }

    pub fn store(&self) -> &Store {
        self.running.store()
    }

    pub async fn stop(self) {
        self.running.stop().await;
    }
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

/// `pairs` as a browser's FormData sends them: the Content-Type and the multipart body.
pub fn multipart(pairs: &[(String, String)]) -> (String, Vec<u8>) {
    let boundary = "----WebKitFormBoundaryGateTest";
    let mut body = String::new();
    for (name, value) in pairs {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

/// Nothing but `marker` reached the site: the gate forwards in order, so a GET sent after the
/// submissions arriving alone proves none of them went upstream.
pub async fn only_marker_reached(site: &Site, gate: &Gate) {
    let resp = client()
        .get(gate.url("/marker"))
        .send()
        .await
        .expect("gate answers");
    assert_eq!(resp.status().as_u16(), 200);
    let seen = site.recorder.wait_for(1).await;
    let paths: Vec<_> = seen.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/marker"], "only the marker reached the site");
}
