//! The statistics on a real redis-server: the daily salt is made when the gate's clock starts a
//! day, shared, and gone two days later (read from Redis itself); two gates on one Redis count
//! into the same figures, unique visitors included; and 10 000 visitors are counted within
//! HyperLogLog's error.

mod support;

use std::time::Duration;

use consentgate::clock::{SystemClock, TestClock};
use consentgate::config::{StoreBackend, StoreConfig};
use consentgate::stats::visit::{PageView, ViewKey};
use consentgate::stats::{Event, Stats, StatsSettings};
use consentgate::store::Store;

use support::gate::{StoreChoice, TestGate};
use support::redis::RedisServer;
use support::visits::{
    site, today, total_views, trusting_loopback, views_by, Visit, SAFARI_IPHONE,
};

/// 2026-11-22 12:00 UTC.
const NOON: u64 = 1_795_348_800_000;
const DAY_MS: u64 = 86_400_000;

fn salt_key(day: &str) -> String {
    format!("{{cg:salt:{day}}}")
}

/// What Redis holds under a day's salt key: its length (0 when gone) and TTL in seconds.
fn salt_in_redis(redis: &RedisServer, day: &str) -> (usize, i64) {
    let len: usize = redis
        .cli(&["STRLEN", &salt_key(day)])
        .trim()
        .parse()
        .unwrap();
    let ttl: i64 = redis.cli(&["TTL", &salt_key(day)]).trim().parse().unwrap();
    (len, ttl)
}

fn salt_bytes(redis: &RedisServer, day: &str) -> String {
    // Hex, so the bytes survive the command line.
    redis.cli(&["--no-raw", "GET", &salt_key(day)])
}

#[actix_web::test]
async fn the_daily_salt_is_made_at_the_day_shared_and_gone_two_days_later() {
    let redis = RedisServer::new();
    let site = site();
    let clock = TestClock::at_unix_ms(NOON);
    let gate = TestGate::new()
        .upstream(&site.url())
        .store(StoreChoice::Redis(redis.url()))
        .clock(clock.clone())
        .config_toml(&trusting_loopback())
        .start()
        .await;
    let visitor = || Visit::to("/").by(SAFARI_IPHONE).at("192.0.2.10");

    visitor().send(&gate).await;
    let first = today(&gate).await;
    assert_eq!(first.visitors.get("127.0.0.1"), Some(&1));
    let (len, ttl) = salt_in_redis(&redis, "2026-11-22");
    assert_eq!(len, 32, "32 random bytes");
    assert!(
        (47 * 3600..=48 * 3600).contains(&ttl),
        "kept at most 48 h, ttl {ttl}"
    );
    let day_one = salt_bytes(&redis, "2026-11-22");

    // Past midnight: a new salt, and the same visitor is a visitor of the new day too.
    clock.set_unix_ms(NOON + DAY_MS / 2 + 5_000);
    visitor().send(&gate).await;
    let second = today(&gate).await;
    assert_eq!(second.day, "2026-11-23");
    assert_eq!(second.visitors.get("127.0.0.1"), Some(&1));
    assert_eq!(salt_in_redis(&redis, "2026-11-23").0, 32);
    assert_ne!(salt_bytes(&redis, "2026-11-23"), day_one, "rotated");
    // Yesterday's is kept, for views just after midnight.
    assert_eq!(salt_bytes(&redis, "2026-11-22"), day_one);

    // Two days on, the first day's salt is gone from Redis.
    clock.set_unix_ms(NOON + 2 * DAY_MS - DAY_MS / 2 + 5_000);
    visitor().send(&gate).await;
    today(&gate).await;
    assert_eq!(
        salt_in_redis(&redis, "2026-11-22"),
        (0, -2),
        "the old salt is deleted"
    );
    assert_eq!(salt_in_redis(&redis, "2026-11-23").0, 32);
    assert_eq!(salt_in_redis(&redis, "2026-11-24").0, 32);
    // The day's counts stay.
    let days = ["2026-11-22".to_owned(), "2026-11-23".to_owned()];
    let read = gate.state().stats.read_visits(&days).await.unwrap();
    assert_eq!(read[0].visitors.get("127.0.0.1"), Some(&1));
    assert_eq!(total_views(&read[1]), 1);
}

#[actix_web::test]
async fn two_gates_on_one_redis_count_into_the_same_figures() {
    let redis = RedisServer::new();
    let site = site();
    let start = || {
        TestGate::new()
            .upstream(&site.url())
            .store(StoreChoice::Redis(redis.url()))
            .config_toml(&trusting_loopback())
            .config_toml("[stats]\nmax_paths_per_day = 2\n")
            .start()
    };
    let (a, b) = (start().await, start().await);
    // One visitor through both gates, a second through one.
    Visit::to("/a").at("192.0.2.10").send(&a).await;
    today(&a).await;
    Visit::to("/b").at("192.0.2.10").send(&b).await;
    today(&b).await;
    Visit::to("/c").at("198.51.100.7").send(&b).await;
    today(&b).await;
    for gate in [&a, &b] {
        let day = today(gate).await;
        assert_eq!(total_views(&day), 3);
        assert_eq!(
            day.visitors.get("127.0.0.1"),
            Some(&2),
            "the same visitor once"
        );
        // The bound on paths holds for both gates together: /c came third.
        assert_eq!(
            views_by(&day, |k| k.path.clone()),
            [("/a".into(), 1), ("/b".into(), 1), ("(other)".into(), 1)].into()
        );
    }
}

fn view(visitor: u32) -> Event {
    let mut digest = [0u8; 32];
    digest[..4].copy_from_slice(&visitor.to_be_bytes());
    Event::PageView(Box::new(PageView {
        key: ViewKey {
            host: "stichting.example".into(),
            path: "/".into(),
            entry: true,
            referrer: String::new(),
            utm_source: String::new(),
            utm_medium: String::new(),
            utm_campaign: String::new(),
            country: "NL".into(),
            browser: "Firefox".into(),
            device: "desktop".into(),
            consent: None,
        },
        visitor: digest,
    }))
}

#[actix_web::test]
async fn ten_thousand_visitors_are_counted_within_two_percent() {
    let redis = RedisServer::new();
    let store = Store::connect(&StoreConfig {
        backend: StoreBackend::Redis,
        redis_url: Some(redis.url()),
        timeout: Duration::from_secs(5),
        ..StoreConfig::default()
    })
    .await
    .unwrap();
    let stats = Stats::with_settings(
        store,
        SystemClock::shared(),
        40_000,
        StatsSettings::default(),
    );
    stats.spawn_writer();
    // 10 000 visitors, a third of them with a second and third page.
    for visitor in 0..10_000u32 {
        stats.record(view(visitor));
    }
    for visitor in (0..10_000u32).step_by(3) {
        stats.record(view(visitor));
        stats.record(view(visitor));
    }
    stats.flush().await;
    assert_eq!(stats.dropped(), 0);
    let day = stats.read_visits(&[stats.today()]).await.unwrap().remove(0);
    assert_eq!(total_views(&day), 10_000 + 2 * 3_334);
    let counted = day.visitors["stichting.example"];
    assert!(
        (9_800..=10_200).contains(&counted),
        "10 000 visitors counted as {counted}"
    );
}
