//! Cookieless page-view counting through the real proxy: what a visit to an HTML page becomes
//! in the statistics (path without query, referrer host only, UTM, browser and device, entry or
//! not, what the consent cookie granted), what is not a visit (bots, prefetches, other methods
//! and statuses, non-HTML), the daily bound on distinct paths, unique visitors, and the switch
//! that turns counting off.

mod support;

use support::gate::TestGate;
use support::visits::{
    consent_cookie, site, today, total_views, trusting_loopback, views_by, Visit, CHROME_ANDROID,
    GOOGLEBOT, SAFARI_IPHONE,
};

use consentgate::stats::visit::OTHER;

#[actix_web::test]
async fn a_page_view_keeps_its_path_without_query_and_only_the_referrer_host() {
    let site = site();
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let from_search = Visit::to("/nieuws/zwemles?id=7&email=ans%40example.org&utm_source=nieuwsbrief&utm_medium=email&utm_campaign=herfst")
        .referred_by("https://www.google.com/search?q=zwemles+voor+mijn+dochter");
    assert_eq!(from_search.send(&gate).await, 200);
    let inside = Visit::to("/contact?ref=menu").referred_by(&gate.url("/nieuws/zwemles?id=7"));
    assert_eq!(inside.send(&gate).await, 200);
    assert_eq!(Visit::to("/").by(SAFARI_IPHONE).send(&gate).await, 200);

    let day = today(&gate).await;
    assert_eq!(total_views(&day), 3);
    assert_eq!(
        views_by(&day, |k| k.path.clone()),
        [
            ("/".into(), 1),
            ("/contact".into(), 1),
            ("/nieuws/zwemles".into(), 1)
        ]
        .into()
    );
    let entry = |path: &str| {
        day.views
            .iter()
            .find(|(k, _)| k.path == path)
            .map(|(k, _)| k.clone())
            .unwrap()
    };
    let news = entry("/nieuws/zwemles");
    assert!(news.entry);
    assert_eq!(news.referrer, "google.com");
    assert_eq!(
        (
            news.utm_source.as_str(),
            news.utm_medium.as_str(),
            news.utm_campaign.as_str()
        ),
        ("nieuwsbrief", "email", "herfst")
    );
    assert_eq!(
        (news.browser.as_str(), news.device.as_str()),
        ("Firefox", "desktop")
    );
    // A click inside the site is no entry and has no referrer.
    let contact = entry("/contact");
    assert!(!contact.entry);
    assert_eq!(contact.referrer, "");
    let home = entry("/");
    assert_eq!(
        (home.browser.as_str(), home.device.as_str()),
        ("Safari", "mobile")
    );
    assert_eq!(home.host, "127.0.0.1");

    // Nothing of the query, the search terms or the full referrer is stored anywhere.
    let raw = gate
        .store()
        .read_counters("views", &[gate.state().stats.today()])
        .await
        .unwrap();
    let text = format!("{raw:?}");
    for secret in [
        "id=7",
        "example.org",
        "zwemles+voor",
        "search",
        "ref=menu",
        "Mozilla",
    ] {
        assert!(!text.contains(secret), "{secret} stored: {text}");
    }
}

#[actix_web::test]
async fn bots_prefetches_and_what_is_no_page_view_are_not_counted_as_visits() {
    let site = site();
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let not_views = [
        Visit::to("/").by(GOOGLEBOT),
        Visit::to("/").by("curl/8.5.0"),
        Visit::to("/").without_user_agent(),
        Visit::to("/").header("sec-purpose", "prefetch;prerender"),
        Visit::to("/").header("purpose", "prefetch"),
        Visit::to("/data.json"),
        Visit::to("/missing"),
        Visit::to("/").method("HEAD"),
        Visit::to("/").method("POST"),
        // The gate's own routes never reach the page filter.
        Visit::to("/_gate/healthz"),
    ];
    for v in &not_views {
        v.send(&gate).await;
    }
    let day = today(&gate).await;
    assert_eq!(total_views(&day), 0, "{:?}", day.views);
    let bots: Vec<(&str, u64)> = day
        .bots
        .iter()
        .map(|((_, name), n)| (name.as_str(), *n))
        .collect();
    assert_eq!(
        bots,
        [("Googlebot", 1), ("No user agent", 1), ("Script", 1)],
        "bots are counted apart, by name"
    );
    // And a person's view right after is counted.
    Visit::to("/").send(&gate).await;
    assert_eq!(total_views(&today(&gate).await), 1);
}

#[actix_web::test]
async fn paths_past_the_daily_cap_are_counted_as_other() {
    let site = site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .config_toml("[stats]\nmax_paths_per_day = 3\n")
        .start()
        .await;
    for path in ["/a", "/b", "/c", "/d", "/e", "/a", "/e"] {
        Visit::to(path).send(&gate).await;
        // One at a time, so the order of arrival decides which paths get in.
        gate.state().stats.flush().await;
    }
    let day = today(&gate).await;
    assert_eq!(
        views_by(&day, |k| k.path.clone()),
        [
            ("/a".into(), 2),
            ("/b".into(), 1),
            ("/c".into(), 1),
            (OTHER.into(), 3)
        ]
        .into()
    );
}

#[actix_web::test]
async fn unique_visitors_are_addresses_with_browsers_not_requests() {
    let site = site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .config_toml(&trusting_loopback())
        .start()
        .await;
    // Three addresses; one of them with a second browser; every visitor opens two pages.
    let visitors = [
        ("192.0.2.10", CHROME_ANDROID),
        ("192.0.2.11", CHROME_ANDROID),
        ("198.51.100.7", CHROME_ANDROID),
        ("198.51.100.7", SAFARI_IPHONE),
    ];
    for (address, ua) in visitors {
        for path in ["/", "/over-ons"] {
            Visit::to(path).by(ua).at(address).send(&gate).await;
        }
    }
    let day = today(&gate).await;
    assert_eq!(total_views(&day), 8);
    assert_eq!(day.visitors.get("127.0.0.1"), Some(&4));
    // The countries of the addresses (test database), never the addresses.
    assert_eq!(
        views_by(&day, |k| k.country.clone()),
        [("DE".into(), 4), ("NL".into(), 4)].into()
    );
    assert!(!format!("{day:?}").contains("192.0.2"));
}

#[actix_web::test]
async fn views_with_the_banner_and_with_consent_are_told_apart_by_the_verified_cookie() {
    let site = site();
    let gate = TestGate::new().upstream(&site.url()).start().await;
    let accepted = consent_cookie(&gate, "accept_all", &[]).await;
    let analytics_only = consent_cookie(&gate, "custom", &["analytics"]).await;
    let refused = consent_cookie(&gate, "reject_all", &[]).await;
    let forged = "cg_consent=v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~marketing.1.1.forged";
    for cookie in [Some(&accepted), Some(&analytics_only), Some(&refused), None] {
        let mut v = Visit::to("/");
        if let Some(c) = cookie {
            v = v.with_cookie(c);
        }
        v.send(&gate).await;
    }
    Visit::to("/").with_cookie(forged).send(&gate).await;
    let day = today(&gate).await;
    let consent = views_by(&day, |k| match &k.consent {
        None => "banner".to_owned(),
        Some(granted) => granted.join("+"),
    });
    assert_eq!(
        consent,
        [
            ("banner".into(), 2),
            (String::new(), 1),
            ("analytics".into(), 1),
            // Accept all: the embeds' own categories too.
            ("analytics+marketing+youtube+vimeo+google_maps".into(), 1)
        ]
        .into()
    );
}

#[actix_web::test]
async fn counting_can_be_switched_off() {
    let site = site();
    let gate = TestGate::new()
        .upstream(&site.url())
        .config_toml("[stats]\ncount_page_views = false\n")
        .start()
        .await;
    Visit::to("/").send(&gate).await;
    Visit::to("/").by(GOOGLEBOT).send(&gate).await;
    let day = today(&gate).await;
    assert_eq!(total_views(&day), 0);
    assert!(day.bots.is_empty() && day.visitors.is_empty());
    // Consent decisions are still counted.
    consent_cookie(&gate, "accept_all", &[]).await;
    gate.state().stats.flush().await;
    let consent = gate
        .state()
        .stats
        .read(
            consentgate::stats::Area::Consent,
            &[gate.state().stats.today()],
        )
        .await
        .unwrap();
    assert_eq!(consent[0].get("action:accept_all"), Some(&1));
}
