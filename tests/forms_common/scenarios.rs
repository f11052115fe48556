//! Behaviour every store backend must show; run by forms_memory.rs and forms_redis.rs.

use crate::support::gate::StoreChoice;
use consentgate::config::Config;
use consentgate::stats::Area;

use super::*;

pub const MESSAGE: &str = "Ik heb een vraag over de thuiszorg van mijn moeder & haar dossier.";

fn good(token: &str) -> Vec<(&str, &str)> {
    vec![
        ("naam", "Jan <b>de</b> Vries"),
        ("email", "Jan.de.Vries@Example.nl"),
        ("telefoon", "+31 20 123 4567"),
        ("bericht", MESSAGE),
        ("nieuwsbrief", "ja"),
        ("cg_website", ""),
        ("cg_t", token),
    ]
}

/// Today's count of a form counter field, once the statistics writer has caught up.
async fn counter(gate: &Gate, field: &str) -> i64 {
    let stats = &gate.running.state().stats;
    stats.flush().await;
    let days = stats
        .read(Area::Forms, &[stats.today()])
        .await
        .expect("counters readable");
    days[0].get(field).copied().unwrap_or(0)
}

async fn setup(store: StoreChoice, extra: &str) -> (Config, Gate) {
    let gate = Gate::start(contact_gate(extra, store)).await;
    (gate.config().clone(), gate)
}

/// A browser-style post is stored encrypted, the visitor is sent to the thank-you page only
/// afterwards, and the dashboard API reads it back with unknown fields dropped.
pub async fn round_trip(store: StoreChoice) {
    let site = start_site();
    let gate = Gate::start(contact_gate("", store).upstream(&site.url())).await;
    let (cfg, store) = (gate.config().clone(), gate.store().clone());
    let token = aged_token(&cfg);
    let answer = post_form(&gate.url("/contact"), &good(&token)).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/bedankt.html"));
    assert!(answer.cache_control.contains("no-store"));

    let page = gate.service.list("contact", 0, 10).await.unwrap();
    assert_eq!(page.total, 1);
    let entry = &page.entries[0];
    let fields: Vec<(&str, &str)> = entry
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.value.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("naam", "Jan <b>de</b> Vries"),
            ("email", "Jan.de.Vries@Example.nl"),
            ("telefoon", "+31 20 123 4567"),
            ("bericht", MESSAGE),
        ]
    );
    assert_eq!(entry.fields[0].label, "Naam");
    let again = gate
        .service
        .get("contact", &entry.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&again, entry);

    // The record as the store holds it carries no plaintext.
    let raw = store
        .get_form_entry("contact", &entry.id)
        .await
        .unwrap()
        .unwrap();
    let ct = String::from_utf8_lossy(&raw.ciphertext);
    assert!(!ct.contains("Vries") && !ct.contains("thuiszorg"));
    assert!(raw.email_hash.is_some());
    assert_eq!(counter(&gate, "contact:stored").await, 1);

    // Other methods on the form path are the site's business.
    let mut get = client().get(gate.url("/contact")).send().await.unwrap();
    assert_eq!(get.body().await.unwrap(), "proxied");
    gate.stop().await;
}

/// A fetch()-style submission that asks for JSON gets JSON, for success and for refusal.
pub async fn json_answers(store: StoreChoice) {
    let (cfg, gate) = setup(store, "").await;
    let token = aged_token(&cfg);
    let answer = post_raw(
        &gate.url("/contact"),
        FORM_CT,
        "application/json",
        urlencode(&good(&token)),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["redirect"], "/bedankt.html");

    let mut bad = good(&token);
    bad[1].1 = "geen-adres";
    let answer = post_raw(
        &gate.url("/contact"),
        FORM_CT,
        "application/json",
        urlencode(&bad),
    )
    .await;
    assert_eq!(answer.status, 422);
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(v["error"], "invalid_fields");
    assert!(v["fields"]["email"].is_string(), "{v}");
    assert!(answer.content_type.starts_with("application/json"));
    gate.stop().await;
}

/// Every refusal path: the right status, a page in Dutch that says the message was not sent,
/// nothing stored, and the refusal counted.
pub async fn every_refusal_is_explained_counted_and_not_stored(store: StoreChoice) {
    let (cfg, gate) = setup(store, "max_body_bytes = 2048").await;
    let url = gate.url("/contact");
    let token = aged_token(&cfg);

    // Too large.
    let big = "x".repeat(4096);
    let mut pairs = good(&token);
    pairs[3].1 = &big;
    let a = post_form(&url, &pairs).await;
    assert_eq!(a.status, 413);
    assert!(
        a.body.contains("NIET verzonden") && a.body.contains("2 KB"),
        "{}",
        a.body
    );

    // Not UTF-8.
    let a = post_raw(
        &url,
        FORM_CT,
        BROWSER_ACCEPT,
        b"naam=Jan&bericht=%FF%FEhallo".to_vec(),
    )
    .await;
    assert_eq!(a.status, 400);
    assert!(a.body.contains("UTF-8"));

    // A file part.
    let boundary = "----cgtest";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"naam\"\r\n\r\nJan\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 data\r\n--{boundary}--\r\n"
    );
    let a = post_raw(
        &url,
        &format!("multipart/form-data; boundary={boundary}"),
        BROWSER_ACCEPT,
        body.into_bytes(),
    )
    .await;
    assert_eq!(a.status, 415);
    assert!(a.body.contains("geen bestanden"));

    // Not a form at all.
    let a = post_raw(
        &url,
        "application/json",
        BROWSER_ACCEPT,
        b"{\"naam\":\"Jan\"}".to_vec(),
    )
    .await;
    assert_eq!(a.status, 415);

    // Honeypot filled in: refused, and the page gives back what was typed without the trap value.
    let mut pairs = good(&token);
    pairs[5].1 = "http://spam.example";
    let a = post_form(&url, &pairs).await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("verborgen veld"));
    assert!(a.body.contains("thuiszorg") && !a.body.contains("spam.example"));

    // No token / too fast: asked to send once more, with a fresh token on the page.
    let mut pairs = good("");
    pairs.pop();
    let a = post_form(&url, &pairs).await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("nog één keer"), "{}", a.body);
    assert!(a.body.contains("name=\"cg_t\" value=\""));
    let just_now = token_issued_ago(&cfg, std::time::Duration::ZERO);
    let a = post_form(&url, &good(&just_now)).await;
    assert_eq!(a.status, 422, "a token issued this instant is too fast");

    // Missing required field and a bad e-mail address.
    let mut pairs = good(&token);
    pairs[1].1 = "jan@localhost";
    pairs[0].1 = "";
    let a = post_form(&url, &pairs).await;
    assert_eq!(a.status, 422);
    assert!(a.body.contains("Dit veld is verplicht."));
    assert!(a.body.contains("geldig e-mailadres"));
    assert!(
        a.body.contains("value=\"jan@localhost\""),
        "typed e-mail kept"
    );
    assert!(
        a.body.contains(MESSAGE.replace('&', "&amp;").as_str()),
        "typed message kept, escaped"
    );

    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 0);
    for code in [
        "body_too_large",
        "bad_encoding",
        "file_part",
        "unsupported_media_type",
        "honeypot",
        "too_fast",
        "invalid_fields",
    ] {
        assert!(
            counter(&gate, &format!("contact:{code}")).await >= 1,
            "{code} not counted"
        );
    }
    assert_eq!(counter(&gate, "contact:stored").await, 0);
    gate.stop().await;
}

/// What the visitor typed comes back escaped: markup in a field is shown, never run.
pub async fn typed_markup_is_escaped_on_the_error_page(store: StoreChoice) {
    let (cfg, gate) = setup(store, "").await;
    let token = aged_token(&cfg);
    let mut pairs = good(&token);
    pairs[0].1 = "<script>alert(1)</script>\"><img src=x>";
    pairs[1].1 = "";
    let a = post_form(&gate.url("/contact"), &pairs).await;
    assert_eq!(a.status, 422);
    assert!(!a.body.contains("<script>alert(1)"), "{}", a.body);
    assert!(
        a.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || a.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{}",
        a.body
    );
    assert!(a.content_type.starts_with("text/html"));
    gate.stop().await;
}

/// The third stored message from one network within the window is refused with 429.
pub async fn rate_limit_per_anonymised_address(store: StoreChoice) {
    let (cfg, gate) = setup(store, "rate_limit_max = 2\nrate_limit_window = \"10m\"").await;
    for _ in 0..2 {
        assert_eq!(
            post_form(&gate.url("/contact"), &good(&aged_token(&cfg)))
                .await
                .status,
            303
        );
    }
    let a = post_form(&gate.url("/contact"), &good(&aged_token(&cfg))).await;
    assert_eq!(a.status, 429);
    assert!(a.body.contains("thuiszorg"), "text kept on the 429 page");
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 2);
    gate.stop().await;
}

/// With a short retention the entry disappears from listings, reads and the e-mail index.
pub async fn entry_expires_after_retention(store: StoreChoice) {
    let (cfg, gate) = setup(store, "retention = \"1s\"").await;
    let store = gate.store().clone();
    let token = aged_token(&cfg);
    assert_eq!(
        post_form(&gate.url("/contact"), &good(&token)).await.status,
        303
    );
    let page = gate.service.list("contact", 0, 10).await.unwrap();
    assert_eq!(page.total, 1);
    let id = page.entries[0].id.clone();
    wait::until(
        "the entry to expire after its retention",
        wait::DEADLINE,
        || async { gate.service.get("contact", &id).await.unwrap().is_none() },
    )
    .await;
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 0);
    assert!(gate
        .service
        .find_by_email("jan.de.vries@example.nl")
        .await
        .unwrap()
        .is_empty());
    gate.service.sweep_once().await.unwrap();
    assert!(store
        .get_form_entry("contact", &id)
        .await
        .unwrap()
        .is_none());
    gate.stop().await;
}

/// Mark handled, delete, export, and find / erase everything for one e-mail address.
pub async fn inbox_api_handles_deletes_exports_and_erases(store: StoreChoice) {
    let (cfg, gate) = setup(store, "rate_limit_max = 0").await;
    let store = gate.store().clone();
    for email in [
        "jan@example.nl",
        "piet@example.nl",
        "JAN@example.nl",
        "jan@example.nl",
    ] {
        let token = aged_token(&cfg);
        let mut pairs = good(&token);
        pairs[1].1 = email;
        assert_eq!(post_form(&gate.url("/contact"), &pairs).await.status, 303);
    }
    let svc = &gate.service;
    let page = svc.list("contact", 0, 2).await.unwrap();
    assert_eq!((page.total, page.entries.len()), (4, 2));
    assert!(
        page.entries[0].created >= page.entries[1].created,
        "newest first"
    );

    let export = svc.export_json("contact").await.unwrap();
    let exported: serde_json::Value = serde_json::from_str(&export).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 4);
    assert!(export.contains("thuiszorg"));

    let jans = svc.find_by_email(" Jan@Example.NL").await.unwrap();
    assert_eq!(jans.len(), 3);
    let first = jans[0].id.clone();
    assert!(svc.mark_handled("contact", &first).await.unwrap());
    assert!(svc.get("contact", &first).await.unwrap().is_none());
    assert!(store
        .get_form_entry("contact", &first)
        .await
        .unwrap()
        .is_none());
    assert!(
        !svc.delete("contact", &first).await.unwrap(),
        "already gone"
    );

    assert!(svc
        .export_email_json("jan@example.nl")
        .await
        .unwrap()
        .contains("jan@example.nl"));
    assert_eq!(svc.delete_all_for_email("jan@example.nl").await.unwrap(), 2);
    let left = svc.list("contact", 0, 10).await.unwrap();
    assert_eq!(left.total, 1);
    assert_eq!(left.entries[0].fields[1].value, "piet@example.nl");
    assert!(svc
        .find_by_email("jan@example.nl")
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        svc.list("nope", 0, 10).await,
        Err(consentgate::forms::FormsError::UnknownForm(_))
    ));
    gate.stop().await;
}

/// After a secret rotation old entries still open (and are found by e-mail), new entries use
/// the new key, and without the old secret the old entries stay sealed.
pub async fn key_rotation_keeps_old_entries_readable(store: StoreChoice) {
    let toml = form_toml("");
    let gate = Gate::start(contact_gate("", store)).await;
    let (old_cfg, store, same_store) = (
        gate.config().clone(),
        gate.store().clone(),
        gate.running.same_store(),
    );
    assert_eq!(
        post_form(&gate.url("/contact"), &good(&aged_token(&old_cfg)))
            .await
            .status,
        303
    );
    let old_id = gate.service.list("contact", 0, 1).await.unwrap().entries[0]
        .id
        .clone();
    gate.stop().await;

    let new_secret = "the-next-secret-after-rotation-0123456789abcdef";
    let gate = Gate::start(
        contact_gate("", same_store)
            .secret(new_secret)
            .previous_secrets(SECRET),
    )
    .await;
    let rotated = gate.config().clone();
    let old = gate.service.get("contact", &old_id).await.unwrap().unwrap();
    assert!(old.unreadable.is_none());
    assert_eq!(old.fields[3].value, MESSAGE);
    assert_eq!(
        gate.service
            .find_by_email("jan.de.vries@example.nl")
            .await
            .unwrap()
            .len(),
        1
    );
    // Tokens signed with the old secret are no longer accepted; a new one is.
    assert_eq!(
        post_form(&gate.url("/contact"), &good(&aged_token(&rotated)))
            .await
            .status,
        303
    );
    let page = gate.service.list("contact", 0, 10).await.unwrap();
    let new_id = page
        .entries
        .iter()
        .find(|e| e.id != old_id)
        .unwrap()
        .id
        .clone();
    gate.stop().await;

    let forgotten = service(&config(&toml, new_secret, None), store.clone());
    let old = forgotten.get("contact", &old_id).await.unwrap().unwrap();
    assert!(old.unreadable.is_some() && old.fields.is_empty());
    let new = forgotten.get("contact", &new_id).await.unwrap().unwrap();
    assert_eq!(new.fields[3].value, MESSAGE);
    let old_only = service(&old_cfg, store);
    assert!(old_only
        .get("contact", &new_id)
        .await
        .unwrap()
        .unwrap()
        .unreadable
        .is_some());
}

/// store_and_forward, through the real proxy: the entry is stored and the upstream also
/// receives the original body; its redirect is what the visitor gets.
pub async fn store_and_forward_reaches_the_upstream(store: StoreChoice) {
    let site = start_site();
    let recorder = &site.recorder;
    let gate =
        Gate::start(contact_gate("mode = \"store_and_forward\"", store).upstream(&site.url()))
            .await;
    let cfg = gate.config().clone();
    let token = aged_token(&cfg);
    let a = post_form(&gate.url("/contact"), &good(&token)).await;
    assert_eq!(a.status, 303);
    assert_eq!(
        a.location.as_deref(),
        Some("/cms-bedankt"),
        "upstream's own answer"
    );
    let got = recorder.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "/contact");
    assert!(got[0].1.starts_with("application/x-www-form-urlencoded"));
    assert!(String::from_utf8_lossy(&got[0].2).contains("thuiszorg"));
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 1);

    // In "store" mode the upstream never sees a submission.
    let gate2 = Gate::start(contact_gate("", StoreChoice::Memory).upstream(&site.url())).await;
    let store_only = gate2.config().clone();
    assert_eq!(
        post_form(&gate2.url("/contact"), &good(&aged_token(&store_only)))
            .await
            .status,
        303
    );
    assert_eq!(recorder.requests().len(), 1);
    gate.stop().await;
    gate2.stop().await;
}

/// The notification webhook learns that an entry arrived, never what it says.
pub async fn webhook_carries_no_personal_data(store: StoreChoice) {
    let hook = start_site();
    let recorder = &hook.recorder;
    let (cfg, gate) = setup(store, &format!("notify_webhook = \"{}/hook\"", hook.url())).await;
    assert_eq!(
        post_form(&gate.url("/contact"), &good(&aged_token(&cfg)))
            .await
            .status,
        303
    );
    let got = recorder.wait_for(1).await;
    assert_eq!(got.len(), 1, "webhook called once");
    let v: serde_json::Value = serde_json::from_slice(&got[0].2).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["created", "entry_id", "form"]);
    let text = String::from_utf8_lossy(&got[0].2);
    assert!(!text.contains("Vries") && !text.contains("example.nl") && !text.contains("thuiszorg"));
    gate.stop().await;
}
