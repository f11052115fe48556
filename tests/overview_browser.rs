//! The overview in headless Chromium, with figures made the way a site gets them: two weeks
//! (on the gate's test clock) of visits to the demo site through the gate — the demo traffic
//! generator's visitors, plus a real browser that opens pages and answers the banner each day —
//! then an analyst reads the numbers back from the overview and finds exactly what was sent.
//! The overview, "How we count" and the API tokens page pass axe-core in Dutch and English, and
//! are kept as screenshots in test-artifacts/.

mod support;

use std::time::Duration;

use fantoccini::Locator;

use consentgate::clock::TestClock;
use consentgate::server::demo::serve_demo_site;
use consentgate::server::traffic::{generate, TrafficPlan};
use support::axe;
use support::browser::{self, Browser};
use support::dashboard::{dashboard_gate, PASSWORD};
use support::sink::Sink;
use support::visits::trusting_loopback;

/// 2026-11-09 10:00 UTC: two weeks before the day the analyst looks.
const FIRST_DAY: u64 = 1_794_218_400_000;
const DAY: Duration = Duration::from_secs(86_400);
/// A desktop Chrome: the headless browser's own user agent would count as a bot.
const DESKTOP_CHROME: &str = "--user-agent=Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn open(b: &Browser, url: &str) {
    b.client.goto(url).await.expect("goto");
    b.wait_js("document.readyState === 'complete'").await;
}

async fn type_into(b: &Browser, css: &str, text: &str) {
    let field = b.client.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(text).await.expect("type");
}

async fn sign_in(b: &Browser, admin: &str, name: &str) {
    open(b, &format!("{admin}/sign-in")).await;
    type_into(b, "#name", name).await;
    type_into(b, "#password", PASSWORD).await;
    b.click("form.stack button[type=submit]").await;
    b.wait_js("!document.querySelector('#password')").await;
}

async fn sign_out(b: &Browser) {
    b.click("form.who button[type=submit]").await;
    b.wait_js("location.pathname === '/sign-in'").await;
}

async fn look(b: &Browser, page: &str, lang: &str) {
    axe::check(b, &format!("{page} ({lang})")).await;
    b.screenshot(&format!("dashboard-{page}-{lang}.png")).await;
}

/// The figure in the summary row of `metric`, as the page shows it.
async fn shown(b: &Browser, metric: &str) -> String {
    b.js(&format!(
        "return document.querySelector('#metric-{metric} td.value').textContent"
    ))
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[actix_web::test]
async fn an_analyst_reads_back_the_visits_and_decisions_made_through_the_gate() {
    browser::require();
    axe::axe_source();
    let site = serve_demo_site().expect("demo site");
    let clock = TestClock::at_unix_ms(FIRST_DAY);
    let gate = dashboard_gate()
        .upstream(&format!("http://{}", site.addr))
        .config_toml(&trusting_loopback())
        .clock(clock.clone())
        .start()
        .await;
    let sink = Sink::start().await;
    let b = Browser::start_with(
        sink.addr,
        "en",
        &[DESKTOP_CHROME, "--window-size=1280,1500"],
    )
    .await;
    let texts_hash = gate.texts_hash("nl");

    // Two weeks of visits; the browser comes by in the second week.
    let (mut views, mut decisions, mut bots) = (0, 0, 0);
    for day in 0..14u64 {
        let plan = TrafficPlan {
            visitors: 6 + (day as usize * 7) % 9,
            bots: 1,
            seed: day,
        };
        let report = generate(gate.public_addr, &texts_hash, plan).await.unwrap();
        assert_eq!(report.failed, 0);
        if day >= 7 {
            views += report.page_views;
            decisions += report.decisions;
            bots += report.bot_requests;
            b.client.delete_all_cookies().await.expect("cookies");
            // A new query each day: Chrome would otherwise show yesterday's page from its cache,
            // which no server sees (and the gate counts the path without the query).
            b.open(&gate.url(&format!("/?visit={day}"))).await;
            let answer = if day % 2 == 0 { "accept" } else { "reject" };
            b.click(&format!("#cg-banner button[data-a={answer}]"))
                .await;
            b.wait_js("document.cookie.indexOf('cg_consent=') >= 0")
                .await;
            b.open(&gate.url(&format!("/over-ons.html?visit={day}")))
                .await;
            views += 2;
            decisions += 1;
        }
        // Everything of the day is written before the clock moves on.
        gate.state().stats.flush().await;
        clock.advance(DAY);
    }
    clock.set_unix_ms(FIRST_DAY + 13 * 86_400_000 + 3_600_000);

    let admin = gate.admin_url("");
    sign_in(&b, &admin, "ali").await;
    open(&b, &format!("{admin}/?range=7d")).await;
    assert_eq!(shown(&b, "views").await, views.to_string());
    assert_eq!(shown(&b, "decisions").await, decisions.to_string());
    assert_eq!(shown(&b, "bots").await, bots.to_string());
    let visitors: u64 = shown(&b, "visitors").await.parse().unwrap();
    assert!(
        visitors > 7 && visitors < views as u64,
        "{visitors} visitors"
    );
    // The period before had traffic too, so there is a change to show.
    let change = b
        .js("return document.querySelector('#metric-views').children[3].textContent")
        .await;
    assert!(change.as_str().unwrap().ends_with('%'), "{change}");
    assert!(b
        .js("return document.querySelectorAll('svg.chart').length")
        .await
        .as_u64()
        .is_some_and(|n| n >= 2));
    look(&b, "overview", "en").await;
    b.js("document.getElementById('panel-paths').scrollIntoView(); return true")
        .await;
    b.screenshot("dashboard-overview-tables-en.png").await;

    // A table row sets its filter; the figures follow it.
    b.click("#table-countries a[href*='country=NL']").await;
    b.wait_js("location.search.indexOf('country=NL') >= 0")
        .await;
    assert!(b
        .js("return document.querySelector('.active-filters').textContent")
        .await
        .as_str()
        .unwrap()
        .contains("NL"));
    let filtered: u64 = shown(&b, "views").await.parse().unwrap();
    assert!(filtered > 0 && filtered < views as u64);

    open(&b, &format!("{admin}/how-we-count")).await;
    look(&b, "how-we-count", "en").await;
    open(&b, &format!("{admin}/api-tokens")).await;
    type_into(&b, "#label", "monthly report").await;
    b.click("form.inline button[type=submit]").await;
    b.wait_js("document.querySelector('#new-token')").await;
    look(&b, "api-tokens", "en").await;
    sign_out(&b).await;

    // The same in Dutch.
    sign_in(&b, &admin, "ann").await;
    open(&b, &format!("{admin}/?range=7d")).await;
    assert_eq!(shown(&b, "views").await, views.to_string());
    look(&b, "overview", "nl").await;
    open(&b, &format!("{admin}/how-we-count")).await;
    look(&b, "how-we-count", "nl").await;
    drop(b);
    site.handle.stop(false).await;
}
