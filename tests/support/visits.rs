//! Page visits through a gate, as the statistics see them: a site of HTML pages (plus a JSON
//! file and a missing page), visitors with their own user agent, referrer and address (the
//! address through `X-Forwarded-For`, for gates that trust 127.0.0.1 as their proxy), consent
//! cookies made through the real consent route, and what the statistics wrote for a day.

use std::time::Duration;

use actix_web::{web, HttpResponse};

use consentgate::stats::DayVisits;

use super::gate::RunningTestGate;
use super::upstream::{self, Upstream};

pub const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";
pub const CHROME_ANDROID: &str = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36";
pub const GOOGLEBOT: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";

/// TOML that makes a gate take the visitor's address from `X-Forwarded-For` sent from
/// 127.0.0.1 (as from a TLS terminator), with the test country database.
pub fn trusting_loopback() -> String {
    format!(
        "[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\ngeo_database = \"{}/assets/geo/test-country.mmdb\"\n",
        env!("CARGO_MANIFEST_DIR")
    )
}

const PAGE: &str = "<!DOCTYPE html><html lang=\"nl\"><head><title>Stichting</title></head>\
                    <body><p>Welkom</p></body></html>";

/// A site whose every path is an HTML page, except `/data.json` (JSON) and `/missing` (a 404
/// page).
pub fn site() -> Upstream {
    upstream::serve(|s| {
        s.route(
            "/data.json",
            web::get().to(|| async { HttpResponse::Ok().json(serde_json::json!({"a": 1})) }),
        )
        .route(
            "/missing",
            web::get().to(|| async {
                HttpResponse::NotFound()
                    .content_type("text/html; charset=utf-8")
                    .body(PAGE)
            }),
        )
        .default_service(web::to(|| async {
            HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(PAGE)
        }));
    })
}

/// One request of a visitor.
#[derive(Debug, Clone)]
pub struct Visit {
    pub method: &'static str,
    pub path: String,
    pub user_agent: Option<String>,
    pub referer: Option<String>,
    /// Sent as `X-Forwarded-For` (counts only on a gate that trusts loopback).
    pub address: Option<String>,
    /// `name=value` pairs for the Cookie header.
    pub cookie: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Visit {
    /// A GET of `path` by Firefox.
    pub fn to(path: &str) -> Visit {
        Visit {
            method: "GET",
            path: path.to_owned(),
            user_agent: Some(FIREFOX.to_owned()),
            referer: None,
            address: None,
            cookie: None,
            headers: Vec::new(),
        }
    }

    pub fn by(mut self, user_agent: &str) -> Visit {
        self.user_agent = Some(user_agent.to_owned());
        self
    }

    pub fn without_user_agent(mut self) -> Visit {
        self.user_agent = None;
        self
    }

    pub fn referred_by(mut self, referer: &str) -> Visit {
        self.referer = Some(referer.to_owned());
        self
    }

    pub fn at(mut self, address: &str) -> Visit {
        self.address = Some(address.to_owned());
        self
    }

    pub fn with_cookie(mut self, cookie: &str) -> Visit {
        self.cookie = Some(cookie.to_owned());
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Visit {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn method(mut self, method: &'static str) -> Visit {
        self.method = method;
        self
    }

    /// Send it to `base` (`http://host:port`); the status (the body is read whole).
    pub async fn send_to(&self, base: &str) -> u16 {
        let client = awc::Client::builder()
            .disable_redirects()
            .timeout(Duration::from_secs(10))
            .finish();
        let method = actix_web::http::Method::from_bytes(self.method.as_bytes()).expect("method");
        let mut req = client.request(method, format!("{base}{}", self.path));
        // awc sends its own user agent unless told otherwise.
        req = req.insert_header(("user-agent", self.user_agent.as_deref().unwrap_or("")));
        if let Some(r) = &self.referer {
            req = req.insert_header(("referer", r.as_str()));
        }
        if let Some(a) = &self.address {
            req = req.insert_header(("x-forwarded-for", a.as_str()));
        }
        if let Some(c) = &self.cookie {
            req = req.insert_header(("cookie", c.as_str()));
        }
        for (k, v) in &self.headers {
            req = req.insert_header((k.as_str(), v.as_str()));
        }
        let mut res = req.send().await.expect("the gate answers");
        let _ = res.body().limit(4 << 20).await;
        res.status().as_u16()
    }

    /// Send it to the gate's public listener.
    pub async fn send(&self, gate: &RunningTestGate) -> u16 {
        self.send_to(&gate.url("")).await
    }
}

/// Make a consent decision through the gate's real route; the `cg_consent=…` pair it set.
pub async fn consent_cookie(gate: &RunningTestGate, action: &str, granted: &[&str]) -> String {
    let mut body = serde_json::json!({
        "action": action,
        "language": "nl",
        "texts_hash": gate.texts_hash("nl"),
    });
    if action == "custom" {
        body["granted"] = serde_json::json!(granted);
    }
    let res = awc::Client::new()
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .send_json(&body)
        .await
        .expect("the gate answers");
    assert_eq!(res.status().as_u16(), 200, "decision {action} refused");
    res.headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().filter(|p| p.starts_with("cg_consent=")))
        .expect("a consent cookie")
        .to_owned()
}

/// Everything the gate counted so far, for its clock's day (waits for the writer).
pub async fn today(gate: &RunningTestGate) -> DayVisits {
    let stats = &gate.state().stats;
    stats.flush().await;
    stats
        .read_visits(&[stats.today()])
        .await
        .expect("statistics readable")
        .remove(0)
}

/// Views per value of one part of the combinations (e.g. `|k| k.path.clone()`).
pub fn views_by(
    day: &DayVisits,
    part: impl Fn(&consentgate::stats::visit::ViewKey) -> String,
) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for (k, n) in &day.views {
        *out.entry(part(k)).or_default() += n;
    }
    out
}

/// All views of the day.
pub fn total_views(day: &DayVisits) -> u64 {
    day.views.iter().map(|(_, n)| n).sum()
}
