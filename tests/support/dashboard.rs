//! The operators' side of a test gate: configured operators (cheap argon2 hashes so sign-ins
//! stay fast), a browser-like HTTP client for the admin listener that keeps the session cookie
//! and the page's CSRF token, and a contact-form entry made through the gate's public listener.

use std::cell::RefCell;
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use argon2::password_hash::{PasswordHasher, SaltString};
use consentgate::config::FORM_TOKEN_FIELD;
use consentgate::dashboard::audit::AuditEvent;

use super::gate::{RunningTestGate, TestGate};

/// Every test operator's password.
pub const PASSWORD: &str = "correct horse battery staple";
/// Base32 TOTP secret of `tom` (RFC 6238's test key, "12345678901234567890").
pub const TOM_TOTP: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

/// An argon2id hash of `password` with the smallest parameters (tests only: fast to check).
pub fn cheap_hash(password: &str) -> String {
    let params = argon2::Params::new(64, 1, 1, None).expect("argon2 parameters");
    let salt = SaltString::encode_b64(b"consentgate-test").expect("salt");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

/// `[[dashboard.users]]` for ann (admin), ida (inbox), ali (analyst, English) and tom (admin
/// with TOTP), all with [`PASSWORD`].
pub fn users_toml() -> String {
    let hash = cheap_hash(PASSWORD);
    format!(
        "[[dashboard.users]]\nname = \"ann\"\nrole = \"admin\"\npassword_hash = \"{hash}\"\n\
         [[dashboard.users]]\nname = \"ida\"\nrole = \"inbox\"\npassword_hash = \"{hash}\"\n\
         [[dashboard.users]]\nname = \"ali\"\nrole = \"analyst\"\npassword_hash = \"{hash}\"\nlanguage = \"en\"\n\
         [[dashboard.users]]\nname = \"tom\"\nrole = \"admin\"\npassword_hash = \"{hash}\"\ntotp_secret = \"{TOM_TOTP}\"\n"
    )
}

/// The demo's contact form and the test operators, on top of a gate.
pub fn dashboard_gate() -> TestGate {
    TestGate::new()
        .config_toml(include_str!("../../config/demo.toml"))
        .config_toml(&users_toml())
}

/// An answer reduced to what the tests look at.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body with minijinja's `&#x2f;` (how it writes `/` in attributes) read back as `/`,
    /// so links can be looked for as they are.
    pub fn text(&self) -> String {
        self.body.replace("&#x2f;", "/")
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The CSRF token in the page's forms, if it has any.
    pub fn csrf(&self) -> Option<String> {
        let needle = "name=\"csrf\" value=\"";
        let at = self.body.find(needle)? + needle.len();
        let rest = &self.body[at..];
        Some(rest[..rest.find('"')?].to_owned())
    }
}

/// Form fields urlencoded.
pub fn urlencode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A browser on the admin listener: it keeps the session cookie, sends what a browser sends
/// on a same-origin form post, and does not follow redirects (tests look at them).
pub struct Operator {
    base: String,
    client: awc::Client,
    /// `name=value` of the session cookie, once set.
    pub cookie: RefCell<Option<String>>,
    /// The CSRF token of the last page that had one.
    pub csrf: RefCell<Option<String>>,
}

impl Operator {
    pub fn new(gate: &RunningTestGate) -> Operator {
        Operator::at(&gate.admin_url(""))
    }

    /// A browser on the admin listener at `base` (`http://host:port`).
    pub fn at(base: &str) -> Operator {
        consentgate::proxy::install_tls_provider();
        Operator {
            base: base.to_owned(),
            client: awc::Client::builder()
                .disable_redirects()
                .timeout(Duration::from_secs(20))
                .finish(),
            cookie: RefCell::new(None),
            csrf: RefCell::new(None),
        }
    }

    /// Signed in as `name` with [`PASSWORD`] (the test fails otherwise).
    pub async fn signed_in(gate: &RunningTestGate, name: &str) -> Operator {
        let op = Operator::new(gate);
        let page = op.sign_in(name, PASSWORD, None).await;
        assert_eq!(page.status, 303, "{name} could not sign in: {}", page.body);
        op
    }

    fn keep(&self, page: &Page) {
        for v in page.headers.get_all("set-cookie") {
            let Ok(text) = v.to_str() else { continue };
            let Ok(c) = cookie::Cookie::parse(text.to_owned()) else {
                continue;
            };
            if c.name().ends_with("cg_session") {
                *self.cookie.borrow_mut() = if c.value().is_empty() {
                    None
                } else {
                    Some(format!("{}={}", c.name(), c.value()))
                };
            }
        }
        if let Some(token) = page.csrf() {
            *self.csrf.borrow_mut() = Some(token);
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> Page {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .insert_header(("accept", "text/html,application/xhtml+xml,*/*;q=0.8"));
        if let Some(c) = self.cookie.borrow().as_ref() {
            req = req.insert_header(("cookie", c.as_str()));
        }
        for h in headers {
            req = req.insert_header(*h);
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("the admin listener answers");
        let body = res.body().limit(8 << 20).await.expect("body");
        let page = Page {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        self.keep(&page);
        page
    }

    pub async fn get(&self, path: &str) -> Page {
        self.send("GET", path, &[], None).await
    }

    /// GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Page {
        self.send("GET", path, headers, None).await
    }

    /// A same-origin form post with the current CSRF token added.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self.csrf.borrow().clone().unwrap_or_default();
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &urlencode(&all), &[("sec-fetch-site", "same-origin")])
            .await
    }

    /// A form post exactly as given (no token added).
    pub async fn post_raw(&self, path: &str, body: &str, headers: &[(&str, &str)]) -> Page {
        let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        self.send("POST", path, &all, Some(body.to_owned())).await
    }

    /// Any request.
    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Page {
        self.send(method, path, headers, None).await
    }

    /// The sign-in form posted as a browser does.
    pub async fn sign_in(&self, name: &str, password: &str, code: Option<&str>) -> Page {
        self.sign_in_to(name, password, code, "").await
    }

    pub async fn sign_in_to(
        &self,
        name: &str,
        password: &str,
        code: Option<&str>,
        next: &str,
    ) -> Page {
        let body = urlencode(&[
            ("name", name),
            ("password", password),
            ("code", code.unwrap_or("")),
            ("next", next),
        ]);
        self.post_raw("/sign-in", &body, &[("sec-fetch-site", "same-origin")])
            .await
    }
}

/// Send the contact form through the gate's public listener as a visitor would (a fill-time
/// token issued a minute earlier); returns the stored entry's id.
pub async fn submit_contact(gate: &RunningTestGate, fields: &[(&str, &str)]) -> String {
    let keys = gate.keys();
    let minute_ago = gate.state().clock.unix_ms().saturating_sub(60_000);
    let form = &gate
        .config()
        .forms
        .first()
        .expect("a form is configured")
        .id;
    let token = consentgate::forms::token::FillToken::new(keys.form_token).issue(form, minute_ago);
    let mut all = vec![(FORM_TOKEN_FIELD, token.as_str())];
    all.extend_from_slice(fields);
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut res = client
        .post(gate.url("/contact"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("accept", "application/json"))
        .send_body(urlencode(&all))
        .await
        .expect("the gate answers");
    let body = res.body().await.expect("body");
    assert_eq!(
        res.status().as_u16(),
        200,
        "the entry was not stored: {}",
        String::from_utf8_lossy(&body)
    );
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON answer");
    v["id"].as_str().expect("entry id").to_owned()
}

/// A message from Ans, with `text` as its message.
pub fn contact_fields(text: &str) -> Vec<(&'static str, String)> {
    vec![
        ("naam", "Ans de Vries".to_owned()),
        ("email", "ans@example.org".to_owned()),
        ("bericht", text.to_owned()),
    ]
}

/// Borrow owned field pairs for [`submit_contact`].
pub fn pairs<'a>(fields: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Record a consent decision through the public listener; returns the consent id.
pub async fn decide(gate: &RunningTestGate, action: &str) -> String {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut res = client
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .send_json(&serde_json::json!({
            "action": action,
            "language": "nl",
            "texts_hash": gate.texts_hash("nl"),
        }))
        .await
        .expect("the gate answers");
    assert_eq!(res.status().as_u16(), 200);
    let v: serde_json::Value = res.json().await.expect("JSON");
    v["id"].as_str().expect("consent id").to_owned()
}

/// Markup, both quote kinds and a script URL.
pub const HOSTILE: &str =
    "<script>alert(1)</script>\"'><img src=x onerror=alert(2)> javascript:alert(3)";

/// No raw markup from [`HOSTILE`] made it into a page.
pub fn assert_escaped(page: &Page, what: &str) {
    for raw in ["<script>alert(1)", "<img src=x"] {
        assert!(
            !page.body.contains(raw),
            "{what}: {raw} appears unescaped:\n{}",
            page.body
        );
    }
}

/// The audit log as stored, newest first.
pub async fn audit_events(gate: &RunningTestGate) -> Vec<AuditEvent> {
    gate.store()
        .read_audit(1000)
        .await
        .expect("audit log readable")
        .into_iter()
        .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("audit entry"))
        .collect()
}
