//! Headless Chromium driven through chromedriver (Debian's `chromium` + `chromium-driver`).
//! Every host is resolved to the tracker sink except loopback, so nothing leaves the machine.

use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use super::wait;

pub struct Browser {
    pub client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// chromedriver in its own process group, plus every Chromium process started with this
/// test's own profile directory: all are killed (by pid) when the test ends or panics, so no
/// browser outlives its test. Chromium moves some helpers into other process groups, hence the
/// profile match.
struct Driver {
    child: Child,
    profile: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in pids_with_arg(&self.profile) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

/// Pids whose command line contains `needle` (our unique profile path).
fn pids_with_arg(needle: &str) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.bytes().all(|b| b.is_ascii_digit()).then_some(name)
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Whether chromium and chromedriver are installed; tests say so clearly and skip otherwise.
/// Chromium and chromedriver must be installed: a browser test that silently skipped would
/// pass without checking anything. `scripts/test` installs them.
pub fn require() {
    for path in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            std::path::Path::new(path).exists(),
            "{path} is missing: the browser tests need Debian's chromium and chromium-driver; \
             run them through scripts/test, which installs both (apt-get install chromium chromium-driver)"
        );
    }
}

impl Browser {
    /// Start chromedriver and a fresh headless Chromium. `sink`: where every non-loopback host
    /// goes. `lang`: the browser's preferred language (Accept-Language, navigator.languages).
    pub async fn start(sink: SocketAddr, lang: &str) -> Browser {
        Self::start_with(sink, lang, &[]).await
    }

    /// [`Browser::start`] with extra Chromium switches (e.g. `--force-prefers-reduced-motion`).
    pub async fn start_with(sink: SocketAddr, lang: &str, extra: &[&str]) -> Browser {
        // Both rustls providers are compiled in (ring for the gate, aws-lc-rs via dev
        // dependencies), so the WebDriver client needs one chosen, as server::start does.
        consentgate::proxy::install_tls_provider();
        let port = free_port();
        let profile = tempfile::tempdir().expect("profile dir");
        let driver = Driver {
            child: Command::new("/usr/bin/chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver"),
            profile: format!("--user-data-dir={}", profile.path().display()),
        };
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-dev-shm-usage".into(),
            "--ignore-certificate-errors".into(),
            "--window-size=1280,900".into(),
            format!("--lang={lang}"),
            format!("--user-data-dir={}", profile.path().display()),
            format!(
                "--host-resolver-rules=MAP * 127.0.0.1:{}, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                sink.port()
            ),
        ];
        let args: Vec<String> = args
            .into_iter()
            .chain(extra.iter().map(|a| a.to_string()))
            .collect();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": args,
                "prefs": {"intl.accept_languages": lang},
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        // chromedriver needs a moment to listen; bounded retries.
        for _ in 0..50 {
            match ClientBuilder::rustls()
                .expect("rustls connector")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    }
                }
                Err(e) => {
                    last = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        panic!("chromedriver did not accept a session: {last:?}");
    }

    /// Go to `url` and wait until the page has loaded and banner.js has started.
    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
        self.wait_started().await;
    }

    /// Go to `url` and wait until the page has loaded (pages without the banner, such as the
    /// dashboard).
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("goto");
        self.wait_js("document.readyState === 'complete'").await;
    }

    /// The consent id the gate's cookie carries (`cg_consent=v2.<id>.…`).
    pub async fn consent_id(&self) -> String {
        let cookie = self.js("return document.cookie").await;
        cookie
            .as_str()
            .unwrap_or_default()
            .split("; ")
            .find_map(|c| c.strip_prefix("cg_consent=v2."))
            .and_then(|rest| rest.split('.').next())
            .expect("a consent cookie")
            .to_owned()
    }

    /// A visitor on the demo site's contact page at `page_url`: accepts the banner, fills in
    /// `fields` (CSS selector, text), waits out the form's fill time (1 s in these tests) and
    /// sends it, ending on the thank-you page. Returns the consent id the click made.
    pub async fn accept_and_write(&self, page_url: &str, fields: &[(&str, &str)]) -> String {
        self.goto(page_url).await;
        self.click("#cg-banner button[data-a=accept]").await;
        self.wait_js("document.cookie.indexOf('cg_consent=') >= 0")
            .await;
        let consent = self.consent_id().await;
        let token = "document.querySelector('form.contact-form input[name=cg_t]')";
        self.wait_js(&format!("{token} && {token}.value.indexOf('.') > 0"))
            .await;
        for (css, text) in fields {
            self.type_into(css, text).await;
        }
        self.wait_js(&format!(
            "Date.now() - Number({token}.value.split('.')[0]) > 1000"
        ))
        .await;
        self.click("form.contact-form button[type=submit]").await;
        self.wait_js("location.pathname === '/bedankt.html'").await;
        consent
    }

    /// Replace the text of the field `css` with `text`, typed.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .client
            .find(fantoccini::Locator::Css(css))
            .await
            .expect(css);
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    /// Wait until the current page has loaded and banner.js has started.
    pub async fn wait_started(&self) {
        self.wait_js("document.readyState === 'complete' && window.__cgBanner === 1")
            .await;
    }

    /// Evaluate JS and return its value.
    pub async fn js(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .expect("execute script")
    }

    /// Wait until a JS condition holds in the page.
    pub async fn wait_js(&self, condition: &str) {
        // A condition that throws (an element not there yet) is not met yet.
        let script = format!("try {{ return !!({condition}); }} catch (e) {{ return false; }}");
        wait::until(condition, wait::DEADLINE, || async {
            self.js(&script).await == json!(true)
        })
        .await;
    }

    /// Once the page has fired its load event, have it request `url` (an image, so no CORS or
    /// script rules apply). Returns when the request has been started.
    pub async fn request_after_load(&self, url: &str) {
        self.client
            .execute_async(
                "var url = arguments[0], done = arguments[arguments.length - 1];
                 function go() {
                   var img = new Image();
                   (window.__cgMarkers = window.__cgMarkers || []).push(img);
                   img.src = url;
                   done(true);
                 }
                 // Two task turns after load: work the page deferred with setTimeout(…, 0)
                 // (as activation code may) has started its requests by then.
                 function later() { setTimeout(function () { setTimeout(go, 0); }, 0); }
                 if (document.readyState === 'complete') { later(); }
                 else { window.addEventListener('load', later); }",
                vec![json!(url)],
            )
            .await
            .expect("marker request");
    }

    pub async fn click(&self, css: &str) {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
    }

    /// Names of the cookies the page can see.
    pub async fn cookie_names(&self) -> Vec<String> {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies")
            .iter()
            .map(|c| c.name().to_owned())
            .collect()
    }

    pub async fn screenshot(&self, name: &str) {
        // Not mid-animation: the banner slides in unless reduced motion is asked for.
        self.wait_js(
            "document.getAnimations().every(function(a){return a.playState !== 'running'})",
        )
        .await;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts");
        let _ = std::fs::create_dir_all(&dir);
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(dir.join(name), png).expect("write screenshot");
    }

    /// Press a key on the focused element (WebDriver key codes, e.g. `\u{E004}` Tab).
    pub async fn press(&self, key: &str) {
        self.client
            .active_element()
            .await
            .expect("active element")
            .send_keys(key)
            .await
            .expect("send keys");
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params}).to_string();
        (http::Method::POST, Some(body))
    }
}

impl Browser {
    /// Lay pages out in a viewport of `width` × `height` CSS pixels with `scale` device pixels
    /// per CSS pixel (DevTools' device emulation: no window size limits apply). For the current
    /// page and the ones opened after it.
    pub async fn emulate_viewport(&self, width: u32, height: u32, scale: f64) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": scale,
                    "mobile": false
                }),
            })
            .await
            .expect("emulate the viewport");
    }
}

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const SPACE: &str = "\u{E00D}";
pub const ESCAPE: &str = "\u{E00C}";
