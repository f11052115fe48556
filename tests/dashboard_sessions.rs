//! Signing in and staying signed in, through a real gate on a clock the tests move: the way
//! back after signing in, one answer for every refusal, throttling per account and per
//! (anonymised) address, TOTP, idle and absolute expiry, revocation when an operator's entry
//! changes, sign-out, the `__Host-` cookie over HTTPS, and a store outage.

mod support;

use std::sync::Arc;
use std::time::Duration;

use support::dashboard::{dashboard_gate, Operator, PASSWORD, TOM_TOTP};
use support::gate::{StoreChoice, TestGate};
use support::redis as redis_support;

use consentgate::clock::{Clock, TestClock};
use consentgate::config::dashboard::TotpSecret;
use consentgate::dashboard::audit::AuditAction;
use consentgate::dashboard::auth::Totp;

/// 2026-11-22 10:00:05 UTC: five seconds into a minute, so a test's attempts share it.
const T0_MS: u64 = 1_795_341_605_000;

fn clock() -> Arc<TestClock> {
    TestClock::at_unix_ms(T0_MS)
}

/// The admin listener trusts the test as a TLS terminator, so each request can name its own
/// (documentation-prefix) client address and scheme.
const TRUST_LOOPBACK: &str = "[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n";

fn from(address: &str) -> [(&str, &str); 1] {
    [("x-forwarded-for", address)]
}

#[actix_web::test]
async fn a_missing_session_lands_on_sign_in_and_returns_to_the_page_after() {
    let gate = dashboard_gate().start().await;
    let op = Operator::new(&gate);
    let away = op.get("/receipts?from=2026-11-01&to=2026-11-02").await;
    assert_eq!(away.status, 303);
    let location = away.location().unwrap().to_owned();
    assert_eq!(
        location,
        "/sign-in?next=%2Freceipts%3Ffrom%3D2026-11-01%26to%3D2026-11-02"
    );
    let form = op.get(&location).await;
    assert_eq!(form.status, 200);
    assert!(form
        .text()
        .contains("name=\"next\" value=\"/receipts?from=2026-11-01&amp;to=2026-11-02\""));
    let back = op
        .sign_in_to(
            "ann",
            PASSWORD,
            None,
            "/receipts?from=2026-11-01&to=2026-11-02",
        )
        .await;
    assert_eq!(back.status, 303);
    assert_eq!(
        back.location(),
        Some("/receipts?from=2026-11-01&to=2026-11-02")
    );
    assert_eq!(
        op.get("/receipts?from=2026-11-01&to=2026-11-02")
            .await
            .status,
        200
    );
    // A form posted without a session comes back to the page the form was on.
    let nobody = Operator::new(&gate);
    let posted = nobody
        .post("/consent/AAAAAAAAAAAAAAAAAAAAAA/erase", &[])
        .await;
    assert_eq!(
        posted.location(),
        Some("/sign-in?next=%2Fconsent%2FAAAAAAAAAAAAAAAAAAAAAA")
    );
}

#[actix_web::test]
async fn an_unknown_name_and_a_wrong_password_get_the_same_answer() {
    let gate = dashboard_gate().start().await;
    let op = Operator::new(&gate);
    let wrong = op.sign_in("ann", "not the password", None).await;
    let unknown = op.sign_in("annie", "not the password", None).await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, wrong.status);
    assert_eq!(
        unknown.body.replace("value=\"annie\"", "value=\"ann\""),
        wrong.body,
        "the pages differ only in the name typed"
    );
    assert!(wrong.header("set-cookie").is_none());
    assert!(
        !wrong.body.contains("not the password"),
        "no password echoed"
    );
    let events = gate.store().read_audit(10).await.unwrap();
    let operators: Vec<String> = events
        .iter()
        .map(|(_, b)| {
            let e: consentgate::dashboard::audit::AuditEvent = serde_json::from_slice(b).unwrap();
            assert_eq!(e.action, AuditAction::SignInFailed);
            e.operator
        })
        .collect();
    assert_eq!(operators, ["(unknown)", "ann"]);
}

#[actix_web::test]
async fn sign_in_is_throttled_per_account_and_per_address() {
    let test_clock = clock();
    let gate = dashboard_gate()
        .clock(test_clock.clone())
        .config_toml(TRUST_LOOPBACK)
        .start()
        .await;
    let op = Operator::new(&gate);
    let attempt = |name: &'static str, password: &'static str, address: &'static str| {
        let op = &op;
        async move {
            let body = support::dashboard::urlencode(&[("name", name), ("password", password)]);
            op.post_raw(
                "/sign-in",
                &body,
                &[("sec-fetch-site", "same-origin"), from(address)[0]],
            )
            .await
        }
    };
    // One account from five addresses: the sixth attempt is refused unchecked, even with the
    // right password.
    for address in [
        "192.0.2.1",
        "192.0.2.2",
        "198.51.100.3",
        "203.0.113.4",
        "2001:db8::5",
    ] {
        assert_eq!(attempt("ann", "wrong", address).await.status, 401);
    }
    let sixth = attempt("ann", PASSWORD, "2001:db8:9::6").await;
    assert_eq!(sixth.status, 429);
    assert_eq!(sixth.header("retry-after"), Some("55"));
    assert!(sixth.body.contains("55 seconden"), "{}", sixth.body);
    // One (anonymised) address trying five names, known or not: the sixth is refused.
    for name in ["ida", "nobody", "ali", "someone", "tom"] {
        assert_eq!(attempt(name, "wrong", "2001:db8:5::77").await.status, 401);
    }
    let same_prefix = attempt("ida", PASSWORD, "2001:db8:5:ffff::1").await;
    assert_eq!(same_prefix.status, 429, "the same /48");
    assert_eq!(
        attempt("ida", PASSWORD, "2001:db8:7::1").await.status,
        303,
        "another address"
    );
    // A minute later ann may try again, and her right password works.
    test_clock.advance(Duration::from_secs(60));
    assert_eq!(attempt("ann", PASSWORD, "192.0.2.1").await.status, 303);
}

#[actix_web::test]
async fn a_totp_operator_needs_a_current_code_and_each_code_works_once() {
    let clock = clock();
    let gate = dashboard_gate().clock(clock.clone()).start().await;
    let totp = Totp::new(&TotpSecret::from_base32(TOM_TOTP).unwrap());
    let now = T0_MS / 1000;
    let op = Operator::new(&gate);
    assert_eq!(op.sign_in("tom", PASSWORD, None).await.status, 401);
    let code = totp.code_at(now);
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert_eq!(op.sign_in("tom", PASSWORD, Some(&wrong)).await.status, 401);
    assert_eq!(op.sign_in("tom", "wrong", Some(&code)).await.status, 401);
    assert_eq!(op.sign_in("tom", PASSWORD, Some(&code)).await.status, 303);
    let again = Operator::new(&gate);
    assert_eq!(
        again.sign_in("tom", PASSWORD, Some(&code)).await.status,
        401,
        "a used code is refused"
    );
    // Operators without a second factor ignore the field (a minute later: one address may
    // try five times a minute).
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        again.sign_in("ann", PASSWORD, Some("123456")).await.status,
        303
    );
}

#[actix_web::test]
async fn sessions_end_after_idle_time_and_after_absolute_time() {
    let clock = clock();
    let gate = dashboard_gate().clock(clock.clone()).start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    // Active every 20 minutes: still signed in after an hour.
    for _ in 0..3 {
        clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(ann.get("/inbox").await.status, 200);
    }
    // 30 minutes without a request: signed out, told why, and the cookie is removed.
    clock.advance(Duration::from_secs(30 * 60));
    let idle = ann.get("/inbox").await;
    assert_eq!(idle.status, 303);
    assert_eq!(
        idle.location(),
        Some("/sign-in?next=%2Finbox&notice=session_idle")
    );
    assert!(
        ann.cookie.borrow().is_none(),
        "the ended session's cookie is removed"
    );
    let notice = ann.get(idle.location().unwrap()).await;
    assert!(
        notice.body.contains("een tijd niets deed"),
        "{}",
        notice.body
    );

    // However active, a session ends 12 hours after signing in.
    let ann = Operator::signed_in(&gate, "ann").await;
    let started = clock.unix_secs();
    while clock.unix_secs() + 25 * 60 < started + 12 * 3600 {
        clock.advance(Duration::from_secs(25 * 60));
        assert_eq!(ann.get("/").await.status, 200);
    }
    clock.advance(Duration::from_secs(25 * 60));
    let expired = ann.get("/").await;
    assert_eq!(expired.location(), Some("/sign-in?notice=session_expired"));
}

#[actix_web::test]
async fn signing_out_or_in_again_ends_the_old_session() {
    let gate = dashboard_gate().start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let first = ann.cookie.borrow().clone().unwrap();
    ann.get("/").await;
    // Signing in again rotates the session id; the old one is dead.
    assert_eq!(ann.sign_in("ann", PASSWORD, None).await.status, 303);
    let second = ann.cookie.borrow().clone().unwrap();
    assert_ne!(first, second);
    let replay = Operator::new(&gate);
    *replay.cookie.borrow_mut() = Some(first);
    assert_eq!(replay.get("/").await.status, 303);

    ann.get("/").await;
    let out = ann.post("/sign-out", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), Some("/sign-in?notice=signed_out"));
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let stolen = Operator::new(&gate);
    *stolen.cookie.borrow_mut() = Some(second);
    assert_eq!(
        stolen.get("/").await.status,
        303,
        "signed out is signed out"
    );
}

#[actix_web::test]
async fn changing_an_operators_entry_ends_their_sessions() {
    let before = dashboard_gate().start().await;
    let ann = Operator::signed_in(&before, "ann").await;
    let cookie = ann.cookie.borrow().clone().unwrap();
    let store = before.same_store();
    before.stop().await;
    let demoted = support::dashboard::users_toml().replacen(
        "name = \"ann\"\nrole = \"admin\"",
        "name = \"ann\"\nrole = \"analyst\"",
        1,
    );
    let after = TestGate::new()
        .config_toml(include_str!("../config/demo.toml"))
        .config_toml(&demoted)
        .store(store)
        .start()
        .await;
    let op = Operator::new(&after);
    *op.cookie.borrow_mut() = Some(cookie);
    let page = op.get("/audit").await;
    assert_eq!(page.status, 303);
    assert_eq!(
        page.location(),
        Some("/sign-in?next=%2Faudit&notice=session_revoked")
    );
}

#[actix_web::test]
async fn over_https_the_session_cookie_is_host_only_and_secure() {
    let gate = dashboard_gate().config_toml(TRUST_LOOPBACK).start().await;
    let op = Operator::new(&gate);
    let body = support::dashboard::urlencode(&[("name", "ann"), ("password", PASSWORD)]);
    let signed = op
        .post_raw(
            "/sign-in",
            &body,
            &[
                ("sec-fetch-site", "same-origin"),
                ("x-forwarded-proto", "https"),
                ("x-forwarded-for", "192.0.2.10"),
            ],
        )
        .await;
    assert_eq!(signed.status, 303);
    let cookie = signed.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-cg_session="), "{cookie}");
    for part in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let https = [("x-forwarded-proto", "https")];
    assert_eq!(op.get_with("/", &https).await.status, 200);
    // The plain-HTTP cookie name is not accepted for an HTTPS request, and vice versa.
    assert_eq!(op.get("/").await.status, 303);
}

#[actix_web::test]
async fn a_store_outage_shows_the_store_unavailable_page_and_recovers() {
    let mut redis = redis_support::RedisServer::new();
    let gate = dashboard_gate()
        .store(StoreChoice::Redis(redis.url()))
        .config_toml("[store]\ntimeout = \"500ms\"\n")
        .start()
        .await;
    let ann = Operator::signed_in(&gate, "ann").await;
    assert_eq!(ann.get("/inbox").await.status, 200);

    // A hung Redis host: nothing answers within store.timeout.
    redis.pause();
    let down = ann.get("/inbox").await;
    assert_eq!(down.status, 503);
    assert_eq!(down.header("retry-after"), Some("30"));
    assert!(
        down.body.contains("De opslag is niet bereikbaar"),
        "{}",
        down.body
    );
    let nobody = Operator::new(&gate);
    assert_eq!(nobody.sign_in("ann", PASSWORD, None).await.status, 503);

    redis.resume();
    support::wait::until(
        "the dashboard back after the outage",
        support::wait::DEADLINE,
        || async { ann.get("/inbox").await.status == 200 },
    )
    .await;
}
