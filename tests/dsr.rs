//! The register of data-subject requests through a real gate: registering a request, its
//! statuses and extension, finding a person's entries and consent record, and every action
//! on them (export, correction, restriction, erasure) on the embedded store and on Redis;
//! who may use it, the escaping of every text it stores, what stands out when requests fall
//! due, the daily due-soon webhook, and erasure that holds in copies of Redis taken earlier.

mod forms_common;
mod support;

use std::time::Duration;

use consentgate::clock::{utc_date, SharedClock, TestClock};
use consentgate::dashboard::audit::{AuditAction, AuditEvent};
use consentgate::forms::crypto::{self, KeyRing};
use consentgate::store::KeyLayout;

use forms_common::start_site;
use support::dashboard::{
    assert_escaped, audit_events, contact_fields, dashboard_gate, decide, pairs, submit_contact,
    Operator, Page, HOSTILE,
};
use support::gate::{RunningTestGate, StoreChoice};
use support::redis::RedisServer;
use support::wait;

/// 2026-03-31 12:00 UTC, in ms.
const MARCH_31_NOON: u64 = 1_774_958_400_000;

/// The version of the request its page shows (every action form carries it).
fn version(page: &Page) -> String {
    let needle = "name=\"version\" value=\"";
    let at = page.body.find(needle).expect("a version on the page") + needle.len();
    let rest = &page.body[at..];
    rest[..rest.find('"').expect("quoted")].to_owned()
}

fn today(gate: &RunningTestGate) -> String {
    utc_date(gate.state().clock.unix_secs()).to_string()
}

/// Register a request as `op` (received `received`, by e-mail); returns its id.
async fn register(op: &Operator, kind: &str, received: &str, contact: &str) -> String {
    let form = op.get("/requests/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let done = op
        .post(
            "/requests",
            &[
                ("kind", kind),
                ("received", received),
                ("channel", "email"),
                ("contact", contact),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "not registered: {}", done.body);
    let location = done.location().expect("to the request's page").to_owned();
    assert!(location.ends_with("?done=registered"), "{location}");
    let id = location
        .trim_start_matches("/requests/")
        .trim_end_matches("?done=registered")
        .to_owned();
    assert_eq!(id.len(), 12, "{location}");
    id
}

/// POST `action` on request `id` with the version its page shows now.
async fn act(op: &Operator, id: &str, action: &str, fields: &[(&str, &str)]) -> Page {
    let shown = op.get(&format!("/requests/{id}")).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let v = version(&shown);
    let mut all = vec![("version", v.as_str())];
    all.extend_from_slice(fields);
    op.post(&format!("/requests/{id}/{action}"), &all).await
}

async fn act_ok(op: &Operator, id: &str, action: &str, fields: &[(&str, &str)]) {
    let page = act(op, id, action, fields).await;
    assert_eq!(page.status, 303, "{action} refused: {}", page.body);
}

/// Every action of the register on real entries of one person, on `store`.
async fn acting_on_a_persons_data(store: StoreChoice) {
    let gate = dashboard_gate().store(store).start().await;
    let first = submit_contact(&gate, &pairs(&contact_fields("Eerste vraag"))).await;
    let second = submit_contact(&gate, &pairs(&contact_fields("Tweede vraag"))).await;
    let other = submit_contact(
        &gate,
        &[
            ("naam", "Bob Bakker"),
            ("email", "bob@example.org"),
            ("bericht", "Van iemand anders"),
        ],
    )
    .await;
    let consent = decide(&gate, "accept_all").await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let id = register(&ann, "access", &today(&gate), "ans@example.org").await;

    // Nothing is disclosed before the person's identity is checked.
    let early = act(&ann, &id, "export", &[("format", "json")]).await;
    assert_eq!(early.status, 422, "{}", early.body);
    act_ok(
        &ann,
        &id,
        "status",
        &[("status", "identity_checked"), ("note", "ID shown at desk")],
    )
    .await;

    // Found by the e-mail address as the person wrote it, however it is spelled.
    let found = ann
        .post(
            &format!("/requests/{id}/search"),
            &[("by", "email"), ("value", "  ANS@Example.org ")],
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let text = found.text();
    assert!(text.contains(&format!("contact/{first}")), "{text}");
    assert!(text.contains(&format!("contact/{second}")), "{text}");
    assert!(!text.contains(&other), "another person's entry was found");
    // By name, folded.
    let by_name = ann
        .post(
            &format!("/requests/{id}/search"),
            &[("by", "name"), ("value", "ans  DE vries")],
        )
        .await;
    assert!(by_name.text().contains(&format!("contact/{first}")));

    let (e1, e2) = (format!("contact/{first}"), format!("contact/{second}"));
    act_ok(&ann, &id, "attach", &[("entry", &e1), ("entry", &e2)]).await;
    act_ok(&ann, &id, "attach", &[("consent", &consent)]).await;
    // Taken off and attached again.
    act_ok(&ann, &id, "detach", &[("consent", &consent)]).await;
    let page = ann.get(&format!("/requests/{id}")).await.body;
    let consents = &page[page.find("consents-title").expect("a consent section")..];
    let consents = &consents[..consents.find("</section>").expect("its end")];
    assert!(!consents.contains(&consent), "{consents}");
    act_ok(&ann, &id, "attach", &[("consent", &consent)]).await;

    // Access: one JSON file and one readable page, in Dutch or English.
    let json = act(&ann, &id, "export", &[("format", "json")]).await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert!(json
        .header("content-type")
        .unwrap_or("")
        .starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&json.body).expect("JSON export");
    let exported = v.to_string();
    assert!(exported.contains("Eerste vraag") && exported.contains("Tweede vraag"));
    assert!(exported.contains(&consent), "{exported}");
    assert!(!exported.contains("Van iemand anders"));
    for lang in ["nl", "en"] {
        let html = act(&ann, &id, "export", &[("format", "html"), ("lang", lang)]).await;
        assert_eq!(html.status, 200, "{}", html.body);
        assert!(html
            .header("content-disposition")
            .is_some_and(|d| d.contains(&format!("request-{id}-{lang}.html"))));
        assert!(html.body.contains(&format!("lang=\"{lang}\"")));
        assert!(html.body.contains("Tweede vraag"));
    }

    // Restriction: kept, but gone from the inbox, the form's export and the person's export.
    act_ok(&ann, &id, "restrict", &[("entry", &e2)]).await;
    let ida = Operator::signed_in(&gate, "ida").await;
    let inbox = ida.get("/inbox/contact").await;
    assert!(inbox.text().contains(&first) && !inbox.text().contains(&second));
    let form_export = gate.forms().export_json("contact").await.expect("export");
    assert!(form_export.contains("Eerste vraag") && !form_export.contains("Tweede vraag"));
    let json = act(&ann, &id, "export", &[("format", "json")]).await;
    assert!(!json.body.contains("Tweede vraag") && json.body.contains("Eerste vraag"));
    let kept = gate.store().get_form_entry("contact", &second).await;
    assert!(kept.expect("store").expect("kept").restricted);
    act_ok(&ann, &id, "lift", &[("entry", &e2)]).await;
    assert!(ida.get("/inbox/contact").await.text().contains(&second));

    // Rectification: the new value is stored, neither value is in the audit log.
    act_ok(
        &ann,
        &id,
        "rectify",
        &[
            ("entry", &e1),
            ("field", "bericht"),
            ("value", "Gecorrigeerd"),
        ],
    )
    .await;
    let fixed = gate.forms().get("contact", &first).await.expect("store");
    let fixed = fixed.expect("still there");
    assert!(fixed
        .fields
        .iter()
        .any(|f| f.name == "bericht" && f.value == "Gecorrigeerd"));
    assert!(!fixed.fields.iter().any(|f| f.value == "Eerste vraag"));
    // A value the form refuses is not stored.
    let refused = act(
        &ann,
        &id,
        "rectify",
        &[
            ("entry", &e1),
            ("field", "email"),
            ("value", "not an address"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);

    // Erasure: entries and consent record gone for good; the other person's entry stays.
    let stale = act(&ann, &id, "erase", &[("expected", "2")]).await;
    assert_eq!(stale.status, 422, "the confirmed count must match");
    act_ok(&ann, &id, "erase", &[("expected", "3")]).await;
    for e in [&first, &second] {
        assert!(gate
            .store()
            .get_form_entry("contact", e)
            .await
            .expect("store")
            .is_none());
    }
    assert!(gate
        .forms()
        .find_by_email("ans@example.org")
        .await
        .expect("store")
        .is_empty());
    assert!(gate
        .consent()
        .record_of(&consent)
        .await
        .expect("store")
        .is_none());
    assert!(gate
        .store()
        .get_form_entry("contact", &other)
        .await
        .expect("store")
        .is_some());

    let before = version(&ann.get(&format!("/requests/{id}")).await);
    act_ok(&ann, &id, "status", &[("status", "done")]).await;
    let closed = ann.get(&format!("/requests/{id}")).await;
    assert!(!closed.text().contains(&format!("/requests/{id}/erase")));
    let after = (before.parse::<u64>().expect("a number") + 1).to_string();
    let late = ann
        .post(
            &format!("/requests/{id}/status"),
            &[("version", &after), ("status", "in_progress")],
        )
        .await;
    assert_eq!(late.status, 422, "a closed request stays closed");

    // Every change is in the audit log, with the operator; no content, no address.
    let audit = audit_events(&gate).await;
    for action in [
        AuditAction::RequestRegistered,
        AuditAction::RequestOpened,
        AuditAction::RequestStatusChanged,
        AuditAction::PersonSearched,
        AuditAction::RequestAttached,
        AuditAction::RequestDetached,
        AuditAction::RequestExported,
        AuditAction::EntryRestricted,
        AuditAction::EntryRestrictionLifted,
        AuditAction::EntryRectified,
        AuditAction::RequestErased,
    ] {
        let e = audit
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("{action:?} not audited"));
        assert_eq!(e.operator, "ann");
        assert!(e.object.as_deref().is_some_and(|o| o.starts_with(&id)));
    }
    let done = format!("{id}/done");
    assert!(audit
        .iter()
        .any(|e| e.action == AuditAction::RequestStatusChanged
            && e.object.as_deref() == Some(done.as_str())));
    let log = serde_json::to_string(&audit).expect("JSON");
    for secret in [
        "Gecorrigeerd",
        "Eerste",
        "ans@example.org",
        "Vries",
        "ID shown",
    ] {
        assert!(!log.contains(secret), "{secret} in the audit log");
    }
    // The request itself keeps the history of what was done, by whom.
    let history = closed.text();
    let history = &history[history.find("history-title").expect("a history")..];
    assert!(
        history.contains(&done) && history.contains(">ann<"),
        "{history}"
    );
}

#[actix_web::test]
async fn every_action_on_a_persons_entries_works_on_the_embedded_store() {
    acting_on_a_persons_data(StoreChoice::Memory).await;
}

#[actix_web::test]
async fn every_action_on_a_persons_entries_works_on_redis() {
    let server = RedisServer::new();
    acting_on_a_persons_data(StoreChoice::Redis(server.url())).await;
}

#[actix_web::test]
async fn the_register_is_for_admins_and_inbox_operators_only() {
    let gate = dashboard_gate().start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let id = register(&ann, "erasure", &today(&gate), "ans@example.org").await;
    let ida = Operator::signed_in(&gate, "ida").await;
    let ali = Operator::signed_in(&gate, "ali").await;
    let nobody = Operator::new(&gate);
    for path in [
        "/requests".to_owned(),
        "/requests/new".to_owned(),
        format!("/requests/{id}"),
    ] {
        assert_eq!(ann.get(&path).await.status, 200, "{path}");
        assert_eq!(ida.get(&path).await.status, 200, "{path}");
        assert_eq!(ali.get(&path).await.status, 403, "{path}");
        assert_eq!(nobody.get(&path).await.status, 303, "{path}");
    }
    // An analyst cannot act, even with a valid token of their own.
    let refused = ali
        .post(
            &format!("/requests/{id}/status"),
            &[("version", "1"), ("status", "withdrawn"), ("note", "x")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(!ali.get("/").await.text().contains("/requests"));
    // An inbox operator can register and work on requests.
    register(&ida, "access", &today(&gate), "iemand@example.org").await;
    // Cross-site posts are refused.
    let page = ida.get(&format!("/requests/{id}")).await;
    let cross = ida
        .post_raw(
            &format!("/requests/{id}/status"),
            &support::dashboard::urlencode(&[
                ("csrf", page.csrf().unwrap_or_default().as_str()),
                ("version", &version(&page)),
                ("status", "withdrawn"),
                ("note", "x"),
            ]),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
}

#[actix_web::test]
async fn every_text_the_register_stores_is_escaped() {
    let gate = dashboard_gate().start().await;
    let entry = submit_contact(&gate, &pairs(&contact_fields(HOSTILE))).await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let id = register(&ann, "access", &today(&gate), HOSTILE).await;
    act_ok(
        &ann,
        &id,
        "status",
        &[("status", "identity_checked"), ("note", HOSTILE)],
    )
    .await;
    act_ok(
        &ann,
        &id,
        "attach",
        &[("entry", &format!("contact/{entry}"))],
    )
    .await;
    let searched = ann
        .post(
            &format!("/requests/{id}/search"),
            &[("by", "name"), ("value", HOSTILE)],
        )
        .await;
    assert_escaped(&searched, "search");
    let html = act(&ann, &id, "export", &[("format", "html"), ("lang", "en")]).await;
    assert_escaped(&html, "HTML export");
    let told = today(&gate);
    act_ok(
        &ann,
        &id,
        "extend",
        &[("months", "1"), ("reason", HOSTILE), ("told_on", &told)],
    )
    .await;
    act_ok(
        &ann,
        &id,
        "status",
        &[("status", "refused"), ("note", HOSTILE)],
    )
    .await;
    let page = ann.get(&format!("/requests/{id}")).await;
    assert_escaped(&page, "request page");
    assert!(
        page.body.contains("&lt;script&gt;alert(1)"),
        "{}",
        page.body
    );
    assert_escaped(&ann.get("/requests").await, "register");
    assert_escaped(&ann.get("/audit").await, "audit log");
}

#[actix_web::test]
async fn an_extension_is_possible_once_and_only_before_the_due_date() {
    let clock = TestClock::at_unix_ms(MARCH_31_NOON);
    let shared: SharedClock = clock.clone();
    let gate = dashboard_gate().clock(shared).start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    // Received 31 January: due 28 February (2026 is no leap year), which has passed.
    let late = register(&ann, "access", "2026-01-31", "a@example.org").await;
    let page = ann.get(&format!("/requests/{late}")).await;
    assert!(page.body.contains("2026-02-28"), "{}", page.body);
    let refused = act(
        &ann,
        &late,
        "extend",
        &[
            ("months", "2"),
            ("reason", "busy"),
            ("told_on", "2026-02-20"),
        ],
    )
    .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    // Received today, 31 March: due 30 April; extended by two months to 30 June.
    let id = register(&ann, "access", "2026-03-31", "b@example.org").await;
    assert!(ann
        .get(&format!("/requests/{id}"))
        .await
        .body
        .contains("2026-04-30"));
    act_ok(
        &ann,
        &id,
        "extend",
        &[
            ("months", "2"),
            ("reason", "many records"),
            ("told_on", "2026-03-31"),
        ],
    )
    .await;
    let page = ann.get(&format!("/requests/{id}")).await;
    assert!(page.body.contains("2026-06-30"), "{}", page.body);
    let again = act(
        &ann,
        &id,
        "extend",
        &[
            ("months", "1"),
            ("reason", "more"),
            ("told_on", "2026-03-31"),
        ],
    )
    .await;
    assert_eq!(again.status, 422, "only one extension");
    let audit = audit_events(&gate).await;
    let extended: Vec<&AuditEvent> = audit
        .iter()
        .filter(|e| e.action == AuditAction::RequestExtended)
        .collect();
    assert_eq!(extended.len(), 1);
    assert_eq!(extended[0].count, Some(2));
    // A future received date is refused.
    let future = ann
        .post(
            "/requests",
            &[
                ("kind", "access"),
                ("received", "2026-04-01"),
                ("channel", "letter"),
                ("contact", "c"),
            ],
        )
        .await;
    assert_eq!(future.status, 422);
}

#[actix_web::test]
async fn requests_due_soon_and_overdue_stand_out_and_are_notified_without_personal_data() {
    let hook = start_site();
    let clock = TestClock::at_unix_ms(MARCH_31_NOON);
    let shared: SharedClock = clock.clone();
    let gate = dashboard_gate()
        .clock(shared)
        .config_toml(&format!("[dsr]\nnotify_webhook = \"{}/due\"\n", hook.url()))
        .start()
        .await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let overdue = register(&ann, "erasure", "2026-02-20", "ans@example.org").await;
    let soon = register(&ann, "access", "2026-03-05", "bob@example.org").await;
    let later = register(&ann, "access", "2026-03-30", "cor@example.org").await;
    let home = ann.get("/").await;
    assert_eq!(home.status, 200);
    let text = home.text();
    assert!(text.contains(&overdue) && text.contains(&soon), "{text}");
    assert!(!text.contains(&later));
    assert!(
        text.contains("class=\"badge\">2<"),
        "a count of 2 in the navigation"
    );
    // An analyst sees neither.
    let ali = Operator::signed_in(&gate, "ali").await;
    assert!(!ali.get("/").await.text().contains(&overdue));

    let state = gate.state();
    let now = state.clock.unix_secs();
    let named = state
        .dashboard
        .register
        .notify_due_soon(&state.areas().forms, now)
        .await
        .expect("notified");
    assert_eq!(named, 2);
    let got = hook.recorder.wait_for(1).await;
    let body = String::from_utf8_lossy(&got[0].2).into_owned();
    assert!(body.contains(&overdue) && body.contains(&soon) && body.contains("2026-03-20"));
    for personal in ["ans@", "bob@", "example.org"] {
        assert!(
            !body.contains(personal),
            "{personal} in the webhook: {body}"
        );
    }
    // Once a day.
    let again = state
        .dashboard
        .register
        .notify_due_soon(&state.areas().forms, now)
        .await
        .expect("checked");
    assert_eq!(again, 0);
}

/// A contact form whose entries are kept `retention`.
fn short_form(retention: &str) -> String {
    format!(
        "[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/bedankt.html\"\n\
         retention = \"{retention}\"\nlanguage = \"nl\"\n\
         [[forms.fields]]\nname = \"naam\"\ntype = \"text\"\nrequired = true\n\
         [[forms.fields]]\nname = \"email\"\ntype = \"email\"\nrequired = true\n\
         [[forms.fields]]\nname = \"bericht\"\ntype = \"textarea\"\n"
    )
}

#[actix_web::test]
async fn an_entry_copied_out_of_redis_cannot_be_read_once_its_days_key_expired() {
    let server = RedisServer::new();
    // One second before midnight UTC: the day's data key lives for the rest of the day, the
    // retention and a margin no longer than the retention — a few seconds of real time.
    let day_end = MARCH_31_NOON + 12 * 3600 * 1000 - 1000;
    let clock: SharedClock = TestClock::at_unix_ms(day_end);
    let gate = support::gate::TestGate::new()
        .store(StoreChoice::Redis(server.url()))
        .clock(clock)
        .config_toml(&short_form("2s"))
        .start()
        .await;
    let id = submit_contact(
        &gate,
        &[
            ("naam", "Ans de Vries"),
            ("email", "ans@example.org"),
            ("bericht", "Mijn dossier"),
        ],
    )
    .await;
    let layout = KeyLayout::new(&gate.config().store.key_prefix);
    let entry_key = layout.form_entry("contact", &id);
    let client = redis::Client::open(server.url()).expect("redis url");
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    // The backup: the entry exactly as Redis holds it.
    let copy: Vec<u8> = redis::cmd("DUMP")
        .arg(&entry_key)
        .query_async(&mut c)
        .await
        .expect("DUMP");
    assert!(!copy.is_empty());
    let record = gate
        .store()
        .get_form_entry("contact", &id)
        .await
        .expect("store")
        .expect("stored");
    let readable = gate.forms().get("contact", &id).await.expect("store");
    assert!(readable.expect("stored").unreadable.is_none());
    let period = crypto::period_of(&record.ciphertext)
        .expect("known format")
        .expect("sealed under a day's key");
    let key_name = period.name();
    let dk_key = layout.form_data_key("contact", &key_name);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&dk_key)
        .query_async(&mut c)
        .await
        .expect("PTTL");
    assert!(ttl > 0 && ttl <= 5_000, "data key TTL {ttl} ms");

    wait::until(
        "the day's data key to expire",
        Duration::from_secs(20),
        || {
            let store = gate.store().clone();
            let name = key_name.clone();
            async move {
                store
                    .get_form_data_key("contact", &name)
                    .await
                    .expect("store")
                    .is_none()
            }
        },
    )
    .await;

    // Restored from the backup, the entry is there — and noise.
    let _: () = redis::cmd("RESTORE")
        .arg(&entry_key)
        .arg(0)
        .arg(copy.as_slice())
        .arg("REPLACE")
        .query_async(&mut c)
        .await
        .expect("RESTORE");
    let restored = gate.forms().get("contact", &id).await.expect("store");
    let restored = restored.expect("the restored copy is stored");
    assert!(restored.unreadable.is_some());
    assert!(restored.fields.is_empty());
    // Nor does the master secret open it, by any key derived from it.
    let keys = gate.keys();
    let aad = format!("consentgate-form-entry/v1|contact|{id}|{}", record.created);
    for key in [
        &keys.form_encryption,
        &keys.form_data_key_wrap,
        &keys.email_index,
        &keys.dsr_sealing,
    ] {
        let ring = KeyRing::new(key, &[]);
        assert!(ring.open(&record.ciphertext, aad.as_bytes()).is_err());
        assert!(crypto::open_in_period(key, &record.ciphertext, aad.as_bytes()).is_err());
    }
}

/// A youth-care intake form with a date of birth, and the dashboard's operators.
fn intake_gate(clock: SharedClock) -> support::gate::TestGate {
    support::gate::TestGate::new()
        .clock(clock)
        .config_toml(
            "[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/bedankt.html\"\n\
             language = \"nl\"\n\
             [forms.age_rules.nl]\nfrom_12 = \"Jongere en ouder tekenen allebei.\"\n\
             [[forms.fields]]\nname = \"naam\"\ntype = \"text\"\nrequired = true\n\
             [[forms.fields]]\nname = \"email\"\ntype = \"email\"\n\
             [[forms.fields]]\nname = \"geboortedatum\"\ntype = \"date_of_birth\"\nrequired = true\n",
        )
        .config_toml(&support::dashboard::users_toml())
}

#[actix_web::test]
async fn the_age_band_at_submission_changes_on_the_12th_and_16th_birthday() {
    let clock: SharedClock = TestClock::at_unix_ms(MARCH_31_NOON);
    let gate = intake_gate(clock).start().await;
    let ida = Operator::signed_in(&gate, "ida").await;
    for (born, band, note) in [
        (
            "2014-04-01",
            "Jonger dan 12 bij het insturen",
            "een ouder of voogd beslist",
        ),
        (
            "2014-03-31",
            "12 tot 16 bij het insturen",
            "Jongere en ouder tekenen allebei.",
        ),
        (
            "2010-04-01",
            "12 tot 16 bij het insturen",
            "Jongere en ouder tekenen allebei.",
        ),
        (
            "2010-03-31",
            "16 of ouder bij het insturen",
            "de persoon beslist zelf",
        ),
    ] {
        let id = submit_contact(&gate, &[("naam", "Sam"), ("geboortedatum", born)]).await;
        let page = ida.get(&format!("/inbox/contact/e/{id}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains(band), "born {born}: {band} expected");
        assert!(page.body.contains(note), "born {born}: {note} expected");
    }
    // An implausible date of birth is refused like any invalid field.
    let client = awc::Client::default();
    let token = consentgate::forms::token::FillToken::new(gate.keys().form_token)
        .issue("contact", MARCH_31_NOON - 60_000);
    let res = client
        .post(gate.url("/contact"))
        .insert_header(("content-type", "application/x-www-form-urlencoded"))
        .insert_header(("accept", "application/json"))
        .send_body(support::dashboard::urlencode(&[
            (consentgate::config::FORM_TOKEN_FIELD, token.as_str()),
            ("naam", "Sam"),
            ("geboortedatum", "2026-04-01"),
        ]))
        .await
        .expect("the gate answers");
    assert_eq!(res.status().as_u16(), 422);
}

#[actix_web::test]
async fn the_register_shows_the_age_band_of_an_attached_entry() {
    let clock: SharedClock = TestClock::at_unix_ms(MARCH_31_NOON);
    let gate = intake_gate(clock).start().await;
    let entry = submit_contact(
        &gate,
        &[
            ("naam", "Sam Jansen"),
            ("email", "ouder@example.org"),
            ("geboortedatum", "2013-06-15"),
        ],
    )
    .await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let id = register(&ann, "access", "2026-03-31", "ouder@example.org").await;
    let found = ann
        .post(
            &format!("/requests/{id}/search"),
            &[("by", "name"), ("value", "sam jansen")],
        )
        .await;
    assert!(found.text().contains(&format!("contact/{entry}")));
    assert!(found.body.contains("12 tot 16 bij het insturen"));
    act_ok(
        &ann,
        &id,
        "attach",
        &[("entry", &format!("contact/{entry}"))],
    )
    .await;
    let page = ann.get(&format!("/requests/{id}")).await;
    assert!(page.body.contains("12 tot 16 bij het insturen"));
    assert!(page.body.contains("Jongere en ouder tekenen allebei."));
}

#[actix_web::test]
async fn a_closed_request_is_kept_for_the_retention_then_deleted_its_audit_entries_stay() {
    let clock = TestClock::at_unix_ms(MARCH_31_NOON);
    let shared: SharedClock = clock.clone();
    // The embedded store on the same clock, so its expiry moves with it.
    let store = consentgate::store::Store::memory_with_clock(Default::default(), shared.clone());
    let gate = dashboard_gate()
        .clock(shared)
        .store(StoreChoice::Shared(store))
        .config_toml("[dsr]\nretention = \"30d\"\n")
        .start()
        .await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let closed = register(&ann, "objection", "2026-03-31", "a@example.org").await;
    let open = register(&ann, "access", "2026-03-31", "b@example.org").await;
    act_ok(
        &ann,
        &closed,
        "status",
        &[
            ("status", "withdrawn"),
            ("note", "per telefoon ingetrokken"),
        ],
    )
    .await;
    clock.advance(Duration::from_secs(29 * 86_400));
    let ann = Operator::signed_in(&gate, "ann").await;
    assert_eq!(ann.get(&format!("/requests/{closed}")).await.status, 200);
    clock.advance(Duration::from_secs(2 * 86_400));
    let ann = Operator::signed_in(&gate, "ann").await;
    assert_eq!(ann.get(&format!("/requests/{closed}")).await.status, 404);
    let list = ann.get("/requests").await;
    assert!(!list.text().contains(&closed));
    // The open one, overdue now, is kept until the retention after its due date.
    assert!(list.text().contains(&open), "{}", list.body);
    let audit = audit_events(&gate).await;
    assert!(audit
        .iter()
        .any(|e| e.action == AuditAction::RequestRegistered
            && e.object.as_deref() == Some(closed.as_str())));
}
