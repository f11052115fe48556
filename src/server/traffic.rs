//! `consentgate demo --traffic`: a small, bounded generator of made-up visits to the demo
//! gate, so its overview shows real figures within a minute. It sends a fixed number of
//! requests, only to a loopback address, as a handful of visitors would: different browsers
//! and phones, arriving from a search engine, social media, a newsletter link (UTM) or
//! directly, reading one to four pages, and most of them answering the banner through the real
//! consent route, their later pages carrying the cookie. Visitors' addresses are documentation
//! prefixes (NL, DE, BE in the test country database) sent as `X-Forwarded-For`, which the demo
//! gate believes from 127.0.0.1 only when this generator runs. A few bots come by too.

use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// How much traffic to make.
#[derive(Debug, Clone, Copy)]
pub struct TrafficPlan {
    /// Made-up visitors, each one to four page views. Default 60.
    pub visitors: usize,
    /// Bot requests besides. Default 6.
    pub bots: usize,
    /// Fixes the made-up choices, so two runs send the same traffic.
    pub seed: u64,
}

impl Default for TrafficPlan {
    fn default() -> Self {
        TrafficPlan {
            visitors: 60,
            bots: 6,
            seed: 14,
        }
    }
}

/// What was sent, and how the gate answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrafficReport {
    pub page_views: usize,
    pub decisions: usize,
    pub bot_requests: usize,
    /// Requests not answered 200 (none, when the demo site is up).
    pub failed: usize,
}

/// Why no traffic was sent.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("demo traffic goes to loopback addresses only, not {0}")]
    NotLoopback(SocketAddr),
}

const USER_AGENTS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
];

const BOTS: [&str; 3] = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0",
];

const PAGES: [&str; 4] = ["/", "/over-ons.html", "/contact.html", "/privacy.html"];

/// Where a visitor came from: a referrer, and a query for the first page.
const ARRIVALS: [(Option<&str>, &str); 5] = [
    (
        Some("https://www.google.com/search?q=stichting+zwemles"),
        "",
    ),
    (Some("https://duckduckgo.com/"), ""),
    (
        Some("https://l.facebook.com/"),
        "?utm_source=facebook&utm_medium=social&utm_campaign=open-dag",
    ),
    (
        None,
        "?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=najaar",
    ),
    (None, ""),
];

/// Address prefixes of the test country database: NL, DE, BE, and a private one (no country).
const NETWORKS: [&str; 4] = ["192.0.2", "198.51.100", "203.0.113", "10.1.2"];

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Send the plan's traffic to the gate at `gate` (its public listener). `texts_hash_nl`: the
/// banner's Dutch texts hash, which decisions carry.
pub async fn generate(
    gate: SocketAddr,
    texts_hash_nl: &str,
    plan: TrafficPlan,
) -> Result<TrafficReport, TrafficError> {
    if !gate.ip().is_loopback() {
        return Err(TrafficError::NotLoopback(gate));
    }
    let base = format!("http://{gate}");
    let client = awc::Client::builder()
        .disable_redirects()
        .timeout(Duration::from_secs(10))
        .finish();
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let mut report = TrafficReport::default();
    for i in 0..plan.visitors {
        let address = format!("{}.{}", pick(&mut rng, &NETWORKS), 1 + i % 250);
        let ua = *pick(&mut rng, &USER_AGENTS);
        let (referrer, query) = *pick(&mut rng, &ARRIVALS);
        let pages = rng.random_range(1..=4);
        let decides = rng.random_bool(0.6);
        let mut cookie: Option<String> = None;
        let mut previous: Option<String> = None;
        for n in 0..pages {
            let path = if n == 0 {
                format!("{}{query}", pick(&mut rng, &PAGES))
            } else {
                (*pick(&mut rng, &PAGES)).to_owned()
            };
            let mut req = client
                .get(format!("{base}{path}"))
                .insert_header(("user-agent", ua))
                .insert_header(("x-forwarded-for", address.as_str()));
            let from = match (&previous, referrer) {
                (Some(p), _) => Some(format!("{base}{p}")),
                (None, r) => r.map(str::to_owned),
            };
            if let Some(from) = from {
                req = req.insert_header(("referer", from));
            }
            if let Some(c) = &cookie {
                req = req.insert_header(("cookie", c.as_str()));
            }
            report.page_views += 1;
            match req.send().await {
                Ok(mut res) if res.status().is_success() => {
                    let _ = res.body().limit(4 << 20).await;
                }
                _ => report.failed += 1,
            }
            previous = Some(path);
            if n == 0 && decides {
                cookie = decide(&client, &base, &address, ua, texts_hash_nl, &mut rng).await;
                match cookie {
                    Some(_) => report.decisions += 1,
                    None => report.failed += 1,
                }
            }
        }
    }
    for _ in 0..plan.bots {
        let sent = client
            .get(format!("{base}{}", pick(&mut rng, &PAGES)))
            .insert_header(("user-agent", *pick(&mut rng, &BOTS)))
            .send()
            .await;
        report.bot_requests += 1;
        match sent {
            Ok(mut res) if res.status().is_success() => {
                let _ = res.body().limit(4 << 20).await;
            }
            _ => report.failed += 1,
        }
    }
    Ok(report)
}

/// A decision through the real consent route; the `cg_consent=…` pair it set.
async fn decide(
    client: &awc::Client,
    base: &str,
    address: &str,
    ua: &str,
    texts_hash: &str,
    rng: &mut StdRng,
) -> Option<String> {
    let roll: f64 = rng.random();
    let body = if roll < 0.45 {
        serde_json::json!({"action": "accept_all", "language": "nl", "texts_hash": texts_hash})
    } else if roll < 0.85 {
        serde_json::json!({"action": "reject_all", "language": "nl", "texts_hash": texts_hash})
    } else {
        serde_json::json!({"action": "custom", "granted": ["analytics"], "language": "nl", "texts_hash": texts_hash})
    };
    let res = client
        .post(format!("{base}/_gate/consent"))
        .insert_header(("origin", base))
        .insert_header(("user-agent", ua))
        .insert_header(("x-forwarded-for", address))
        .send_json(&body)
        .await
        .ok()?;
    if !res.status().is_success() {
        return None;
    }
    res.headers()
        .get_all("set-cookie")
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.split(';').next().filter(|p| p.starts_with("cg_consent=")))
        .map(str::to_owned)
}
