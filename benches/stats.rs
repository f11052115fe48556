//! What counting page views costs (issue 14).
//!
//! * `page_view_hook/*`: the page-view hook as the proxy calls it for an HTML page — check for
//!   a prefetch, copy the user agent, referrer, host, path and UTM query into the event, hash
//!   the visitor (BLAKE3 over the full address, user agent and host) and `try_send` it (the
//!   writer classifies) — against the same call with `stats.count_page_views = false`. The channel holds every event of a sample and
//!   nothing drains it, so every send succeeds and no writer competes for the core.
//! * `writer/*`: how many page views per second the writer sustains: 20 000 views from 5 000
//!   visitors over 200 paths, 4 browsers, referrers and UTM, each through the hook, timed
//!   until the writer has stored them all, on one thread (embedded store, and Redis when
//!   `redis-server` is on PATH).
//!
//! `cargo bench --bench stats`; the figures and the machine are in the README ("Performance").
//! See [`hook_calls_only`] for instruction counts.

#[path = "../tests/support/redis.rs"]
#[allow(dead_code)]
mod redis;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use actix_web::HttpRequest;
use criterion::{criterion_group, BatchSize, Criterion, Throughput};

use consentgate::clock::SystemClock;
use consentgate::config::{PrivacyConfig, StoreBackend, StoreConfig};
use consentgate::privacy::Privacy;
use consentgate::stats::visit::Seen;
use consentgate::stats::{Stats, StatsSettings};
use consentgate::store::Store;

const BROWSERS: [&str; 4] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
];

/// A page request as a browser sends it: from `visitor`, with a search engine or campaign
/// referrer now and then.
fn request(visitor: u32, path: u32) -> HttpRequest {
    let ip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | visitor));
    let uri = if path.is_multiple_of(7) {
        format!("/nieuws/{path}?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=najaar")
    } else {
        format!("/nieuws/{path}?id={visitor}")
    };
    let referer = match path % 3 {
        0 => "https://www.google.com/search?q=stichting",
        1 => "https://www.example.org/",
        _ => "https://duckduckgo.com/",
    };
    TestRequest::get()
        .uri(&uri)
        .insert_header(("host", "www.example.org"))
        .insert_header(("user-agent", BROWSERS[visitor as usize % BROWSERS.len()]))
        .insert_header(("referer", referer))
        .insert_header(("accept", "text/html,application/xhtml+xml"))
        .peer_addr(SocketAddr::new(ip, 50_000))
        .to_http_request()
}

fn settings(count: bool) -> StatsSettings {
    StatsSettings {
        count_page_views: count,
        ..StatsSettings::default()
    }
}

fn hook(c: &mut Criterion) {
    let privacy = Privacy::new(&PrivacyConfig::default()).expect("privacy");
    let req = request(4711, 12);
    let granted = vec!["analytics".to_owned()];
    let seen = Seen {
        country: Some("NL"),
        granted: Some(&granted),
    };
    let mut group = c.benchmark_group("page_view_hook");
    for (name, count) in [("counting_on", true), ("counting_off", false)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let n = usize::try_from(iters).unwrap_or(usize::MAX);
                let stats = Stats::with_settings(
                    Store::memory(),
                    SystemClock::shared(),
                    n,
                    settings(count),
                );
                let start = Instant::now();
                for _ in 0..iters {
                    stats.page_view(&req, &seen, |key, parts| {
                        privacy.visitor_hash(&req, key, parts)
                    });
                }
                let took = start.elapsed();
                assert_eq!(stats.dropped(), 0, "the channel held every event");
                took
            })
        });
    }
    group.finish();
}

const VIEWS: u32 = 20_000;

/// Send every request as a page view and wait until the writer stored them all.
fn write_all(rt: &tokio::runtime::Runtime, store: Store, requests: &[HttpRequest]) -> Duration {
    let privacy = Privacy::new(&PrivacyConfig::default()).expect("privacy");
    let stats = Stats::with_settings(store, SystemClock::shared(), requests.len(), settings(true));
    let _writer = rt.block_on(async { stats.spawn_writer() });
    let seen = Seen {
        country: Some("NL"),
        granted: None,
    };
    let start = Instant::now();
    for req in requests {
        stats.page_view(req, &seen, |key, parts| {
            privacy.visitor_hash(req, key, parts)
        });
    }
    rt.block_on(stats.flush());
    let took = start.elapsed();
    assert_eq!(stats.dropped(), 0);
    took
}

fn writer(c: &mut Criterion) {
    // One thread, as the gate's writer shares a core with the workers: the views are sent
    // first and written while `flush` waits, so a figure is the whole cost on one core.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let requests: Vec<HttpRequest> = (0..VIEWS).map(|i| request(i % 5_000, i % 200)).collect();
    let mut group = c.benchmark_group("writer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(VIEWS)));
    group.bench_function("memory", |b| {
        b.iter_batched(
            Store::memory,
            |store| write_all(&rt, store, &requests),
            BatchSize::PerIteration,
        )
    });
    let has_redis = std::process::Command::new("redis-server")
        .arg("--version")
        .output()
        .is_ok();
    if has_redis {
        let server = redis::RedisServer::new();
        let cfg = StoreConfig {
            backend: StoreBackend::Redis,
            redis_url: Some(server.url()),
            ..StoreConfig::default()
        };
        let store = rt
            .block_on(Store::connect(&cfg))
            .expect("connect to the bench's redis-server");
        group.bench_function("redis", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    server.cli(&["FLUSHALL"]);
                    total += write_all(&rt, store.clone(), &requests);
                }
                total
            })
        });
        drop(server);
    }
    group.finish();
}

/// `CG_HOOK_CALLS=n [CG_HOOK_COUNT=false]`: only call the hook `n` times and exit, for
/// instruction counts under `valgrind --tool=callgrind` (stable on a shared machine); the
/// difference between two `n` is the cost of the calls alone.
fn hook_calls_only(n: u64, count: bool) {
    let privacy = Privacy::new(&PrivacyConfig::default()).expect("privacy");
    let req = request(4711, 12);
    let granted = vec!["analytics".to_owned()];
    let seen = Seen {
        country: Some("NL"),
        granted: Some(&granted),
    };
    let capacity = usize::try_from(n).unwrap_or(usize::MAX);
    let stats = Stats::with_settings(
        Store::memory(),
        SystemClock::shared(),
        capacity,
        settings(count),
    );
    for _ in 0..n {
        stats.page_view(&req, &seen, |key, parts| {
            privacy.visitor_hash(&req, key, parts)
        });
    }
    assert_eq!(stats.dropped(), 0);
}

criterion_group!(benches, hook, writer);

fn main() {
    if let Some(n) = std::env::var("CG_HOOK_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
    {
        let count = std::env::var("CG_HOOK_COUNT").map_or(true, |v| v != "false");
        hook_calls_only(n, count);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
