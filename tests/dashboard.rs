//! The operators' dashboard through a real gate: every route per role, the inbox and
//! data-subject work, consent look-up and erasure, exports, the audit trail of all of it,
//! escaping of hostile input wherever it is shown, refusals of bad input, security headers,
//! the health page and `/metrics`.

mod support;

use support::dashboard::{
    assert_escaped, audit_events, contact_fields, dashboard_gate, decide, pairs, submit_contact,
    Operator, Page, HOSTILE,
};

use consentgate::dashboard::audit::{AuditAction, AuditEvent};

fn actions(events: &[AuditEvent]) -> Vec<AuditAction> {
    events.iter().map(|e| e.action).collect()
}

#[actix_web::test]
async fn every_route_answers_each_role_as_its_permissions_say() {
    let gate = dashboard_gate().start().await;
    let entry = submit_contact(&gate, &pairs(&contact_fields("Graag een afspraak"))).await;
    let consent = decide(&gate, "accept_all").await;
    let routes: Vec<(String, [u16; 4])> = [
        // path, [admin, inbox, analyst, nobody]
        ("/".to_owned(), [200, 303, 200, 303]),
        ("/inbox".to_owned(), [200, 200, 403, 303]),
        ("/inbox/contact".to_owned(), [200, 200, 403, 303]),
        (format!("/inbox/contact/e/{entry}"), [200, 200, 403, 303]),
        (
            format!("/inbox/contact/e/{entry}/export"),
            [200, 200, 403, 303],
        ),
        ("/inbox/contact/export".to_owned(), [200, 200, 403, 303]),
        ("/person".to_owned(), [200, 200, 403, 303]),
        ("/consent".to_owned(), [200, 200, 403, 303]),
        (format!("/consent/{consent}"), [200, 200, 403, 303]),
        (format!("/consent/{consent}/export"), [200, 200, 403, 303]),
        ("/receipts".to_owned(), [200, 200, 403, 303]),
        ("/receipts/export.jsonl".to_owned(), [200, 200, 403, 303]),
        ("/receipts/export.csv".to_owned(), [200, 200, 403, 303]),
        ("/audit".to_owned(), [200, 403, 403, 303]),
        ("/audit/export.csv".to_owned(), [200, 403, 403, 303]),
        ("/health".to_owned(), [200, 403, 403, 303]),
        ("/overview/export.zip".to_owned(), [200, 403, 200, 303]),
        ("/overview/export.json".to_owned(), [200, 403, 200, 303]),
        ("/how-we-count".to_owned(), [200, 403, 200, 303]),
        ("/api-tokens".to_owned(), [200, 403, 200, 303]),
        // A session is no API token.
        ("/api/v1/overview".to_owned(), [401, 401, 401, 401]),
        ("/sign-in".to_owned(), [200, 200, 200, 200]),
        ("/_gate/healthz".to_owned(), [200, 200, 200, 200]),
        ("/metrics".to_owned(), [200, 200, 200, 200]),
    ]
    .into_iter()
    .collect();
    let who = [
        Some(Operator::signed_in(&gate, "ann").await),
        Some(Operator::signed_in(&gate, "ida").await),
        Some(Operator::signed_in(&gate, "ali").await),
        None,
    ];
    let nobody = Operator::new(&gate);
    for (path, expected) in &routes {
        for (i, op) in who.iter().enumerate() {
            let page = op.as_ref().unwrap_or(&nobody).get(path).await;
            assert_eq!(
                page.status,
                expected[i],
                "GET {path} as {} gave {}",
                ["admin", "inbox", "analyst", "nobody"][i],
                page.status
            );
            if page.status == 303 && op.is_none() {
                let location = page.location().unwrap_or_default();
                let back = if path == "/" {
                    "/sign-in".to_owned()
                } else {
                    format!(
                        "/sign-in?{}",
                        support::dashboard::urlencode(&[("next", path.as_str())])
                    )
                };
                assert_eq!(location, back, "{path}");
            }
            if page.status == 403 {
                assert!(page.body.contains("<h1>"), "a page, not a bare status");
            }
        }
    }
    // The inbox role's start page is its inbox.
    assert_eq!(
        who[1].as_ref().unwrap().get("/").await.location(),
        Some("/inbox")
    );

    // State-changing routes refuse roles without the permission, even with a valid token.
    let analyst = who[2].as_ref().unwrap();
    analyst.get("/").await;
    for path in [
        format!("/inbox/contact/e/{entry}/handled"),
        format!("/inbox/contact/e/{entry}/delete"),
        "/person".to_owned(),
        "/person/delete".to_owned(),
        format!("/consent/{consent}/erase"),
    ] {
        let page = analyst
            .post(&path, &[("email", "ans@example.org"), ("expected", "1")])
            .await;
        assert_eq!(page.status, 403, "POST {path} as analyst");
        let page = nobody.post(&path, &[]).await;
        assert_eq!(page.status, 303, "POST {path} without a session");
    }
    assert!(
        gate.forms().get("contact", &entry).await.unwrap().is_some(),
        "nothing was deleted"
    );
    assert!(gate.consent().record_of(&consent).await.unwrap().is_some());
}

#[actix_web::test]
async fn an_operator_reads_an_entry_marks_it_handled_and_it_is_gone_from_the_store() {
    let gate = dashboard_gate().start().await;
    let text = "Kunnen jullie mij terugbellen over de aanvraag?";
    let entry = submit_contact(&gate, &pairs(&contact_fields(text))).await;
    let ida = Operator::signed_in(&gate, "ida").await;

    let inbox = ida.get("/inbox").await;
    assert_eq!(inbox.status, 200);
    assert!(
        !inbox.body.contains("terugbellen"),
        "the list shows no content"
    );
    assert!(inbox.text().contains(&format!("/inbox/contact/e/{entry}")));
    assert!(
        inbox.body.contains("Wordt automatisch verwijderd over")
            && inbox.body.contains(" dagen</td>"),
        "time left until deletion"
    );

    let opened = ida.get(&format!("/inbox/contact/e/{entry}")).await;
    assert_eq!(opened.status, 200);
    for shown in [text, "Ans de Vries", "ans@example.org"] {
        assert!(opened.body.contains(shown), "{shown} not shown");
    }
    assert_eq!(opened.header("cache-control"), Some("no-store"));

    let done = ida
        .post(&format!("/inbox/contact/e/{entry}/handled"), &[])
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), Some("/inbox/contact?done=handled"));
    assert!(gate.forms().get("contact", &entry).await.unwrap().is_none());
    assert!(gate
        .store()
        .get_form_entry("contact", &entry)
        .await
        .unwrap()
        .is_none());
    let after = ida.get("/inbox/contact?done=handled").await;
    assert!(after.body.contains("afgehandeld"), "{}", after.body);
    assert!(!after.body.contains(&entry));
    assert_eq!(
        ida.get(&format!("/inbox/contact/e/{entry}")).await.status,
        404
    );
    assert_eq!(
        ida.post(&format!("/inbox/contact/e/{entry}/delete"), &[])
            .await
            .status,
        404,
        "gone is gone"
    );

    let audit = audit_events(&gate).await;
    let object = format!("contact/{entry}");
    for action in [AuditAction::EntryOpened, AuditAction::EntryHandled] {
        assert!(
            audit.iter().any(|e| e.action == action
                && e.operator == "ida"
                && e.object.as_deref() == Some(&object)),
            "{action:?} not audited"
        );
    }
}

#[actix_web::test]
async fn a_data_subject_request_finds_exports_and_erases_one_persons_entries() {
    let gate = dashboard_gate().start().await;
    for text in ["eerste", "tweede"] {
        submit_contact(&gate, &pairs(&contact_fields(text))).await;
    }
    let mut other = contact_fields("van iemand anders");
    other[1].1 = "piet@example.org".into();
    let kept = submit_contact(&gate, &pairs(&other)).await;
    let ann = Operator::signed_in(&gate, "ann").await;
    ann.get("/person").await;

    let found = ann.post("/person", &[("email", " Ans@Example.org ")]).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.text().matches("/inbox/contact/e/").count(), 2);
    let export = ann
        .post("/person/export", &[("email", "ans@example.org")])
        .await;
    assert_eq!(export.status, 200);
    assert!(export
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    let json: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);

    let confirm = ann
        .post("/person/confirm", &[("email", "ans@example.org")])
        .await;
    assert!(confirm.body.contains("2 in totaal"), "{}", confirm.body);
    // A confirmation for another count deletes nothing and asks again.
    let stale = ann
        .post(
            "/person/delete",
            &[("email", "ans@example.org"), ("expected", "5")],
        )
        .await;
    assert_eq!(stale.status, 409);
    assert_eq!(
        gate.forms()
            .find_by_email("ans@example.org")
            .await
            .unwrap()
            .len(),
        2
    );
    let erased = ann
        .post(
            "/person/delete",
            &[("email", "ans@example.org"), ("expected", "2")],
        )
        .await;
    assert_eq!(erased.status, 200);
    assert!(
        erased.body.contains("Verwijderde berichten: 2."),
        "{}",
        erased.body
    );
    assert!(gate
        .forms()
        .find_by_email("ans@example.org")
        .await
        .unwrap()
        .is_empty());
    assert!(gate.forms().get("contact", &kept).await.unwrap().is_some());

    let audit = audit_events(&gate).await;
    for action in [
        AuditAction::PersonSearched,
        AuditAction::PersonExported,
        AuditAction::PersonErased,
    ] {
        let e = audit.iter().find(|e| e.action == action).expect("audited");
        let object = e.object.as_deref().unwrap_or_default();
        assert_eq!(object.len(), 32, "a keyed hash stands in for the address");
        assert!(!object.contains('@'));
    }
    let erased = audit
        .iter()
        .find(|e| e.action == AuditAction::PersonErased)
        .unwrap();
    assert_eq!(erased.count, Some(2));
}

#[actix_web::test]
async fn a_consent_record_is_looked_up_exported_and_erased() {
    let gate = dashboard_gate().start().await;
    let id = decide(&gate, "accept_all").await;
    let other = decide(&gate, "reject_all").await;
    let ida = Operator::signed_in(&gate, "ida").await;

    let found = ida.get(&format!("/consent?id={id}")).await;
    assert_eq!(found.status, 200);
    assert!(found.body.contains("alles geaccepteerd") || found.body.contains(&id));
    assert!(
        found.body.contains("Alles accepteren"),
        "the texts shown beside it"
    );
    let export = ida.get(&format!("/consent/{id}/export")).await;
    assert_eq!(export.status, 200);
    let iso: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(iso["record_id"], id.as_str());
    assert_eq!(iso["schema_version"], "ISO/IEC TS 27560:2023");

    assert_eq!(ida.get("/consent?id=not-an-id").await.status, 400);
    assert_eq!(
        ida.get("/consent?id=AAAAAAAAAAAAAAAAAAAAAA").await.status,
        404
    );

    ida.get(&format!("/consent/{id}")).await;
    let erased = ida.post(&format!("/consent/{id}/erase"), &[]).await;
    assert_eq!(erased.status, 303);
    assert_eq!(erased.location(), Some("/consent?done=erased"));
    assert!(gate.consent().record_of(&id).await.unwrap().is_none());
    assert!(gate.consent().record_of(&other).await.unwrap().is_some());
    assert_eq!(ida.get(&format!("/consent/{id}")).await.status, 404);

    let audit = audit_events(&gate).await;
    for action in [
        AuditAction::ConsentLookedUp,
        AuditAction::ConsentExported,
        AuditAction::ConsentErased,
    ] {
        assert!(
            audit
                .iter()
                .any(|e| e.action == action && e.object.as_deref() == Some(id.as_str())),
            "{action:?}"
        );
    }
}

#[actix_web::test]
async fn receipts_are_listed_counted_and_exported_by_date_range() {
    let gate = dashboard_gate().start().await;
    for action in ["accept_all", "accept_all", "reject_all"] {
        decide(&gate, action).await;
    }
    let ann = Operator::signed_in(&gate, "ann").await;
    let list = ann.get("/receipts").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("1–3 van 3"), "{}", list.body);
    let only = ann.get("/receipts?action=reject_all").await;
    assert!(only.body.contains("1–1 van 1"), "{}", only.body);

    let jsonl = ann.get("/receipts/export.jsonl").await;
    assert_eq!(jsonl.body.lines().count(), 3);
    assert!(jsonl.header("content-type").unwrap().contains("ndjson"));
    let csv = ann.get("/receipts/export.csv?action=accept_all").await;
    assert_eq!(csv.body.lines().count(), 3, "header and two rows");
    assert!(csv.body.starts_with("time,consent_id,action"));

    let audit = audit_events(&gate).await;
    let exports: Vec<&AuditEvent> = audit
        .iter()
        .filter(|e| e.action == AuditAction::ReceiptsExported)
        .collect();
    assert_eq!(exports.len(), 2);
    assert_eq!(exports[0].count, Some(2));
    assert!(exports[0]
        .object
        .as_deref()
        .unwrap()
        .ends_with("accept_all"));
}

#[actix_web::test]
async fn the_audit_log_holds_every_action_and_none_of_the_content() {
    let gate = dashboard_gate().start().await;
    let secret_text = "Mijn diagnose is vertrouwelijk";
    let one = submit_contact(&gate, &pairs(&contact_fields(secret_text))).await;
    let two = submit_contact(&gate, &pairs(&contact_fields("tweede"))).await;
    let consent = decide(&gate, "custom").await;

    let failed = Operator::new(&gate);
    failed.sign_in("ann", "a wrong password", None).await;
    failed.sign_in("nobody", "guess-the-password", None).await;
    let ann = Operator::signed_in(&gate, "ann").await;
    ann.get(&format!("/inbox/contact/e/{one}")).await;
    ann.get(&format!("/inbox/contact/e/{one}/export")).await;
    ann.get("/inbox/contact/export").await;
    ann.post(&format!("/inbox/contact/e/{one}/handled"), &[])
        .await;
    ann.get("/inbox").await;
    ann.post(&format!("/inbox/contact/e/{two}/delete"), &[])
        .await;
    ann.post("/person", &[("email", "ans@example.org")]).await;
    ann.post("/person/export", &[("email", "ans@example.org")])
        .await;
    ann.post(
        "/person/delete",
        &[("email", "ans@example.org"), ("expected", "0")],
    )
    .await;
    ann.get(&format!("/consent/{consent}")).await;
    ann.get(&format!("/consent/{consent}/export")).await;
    ann.post(&format!("/consent/{consent}/erase"), &[]).await;
    ann.get("/receipts/export.csv").await;
    ann.get("/audit/export.csv").await;
    ann.get("/audit").await;
    ann.get("/api-tokens").await;
    let made = ann.post("/api-tokens", &[("label", "rapportage")]).await;
    assert_eq!(made.status, 200);
    let revoke = made
        .text()
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .find(|a| a.ends_with("/revoke"))
        .expect("a revoke form");
    assert_eq!(ann.post(&revoke, &[]).await.status, 303);
    let out = ann.post("/sign-out", &[]).await;
    assert_eq!(out.status, 303);

    let events = audit_events(&gate).await;
    let seen = actions(&events);
    // The register's actions are exercised (and their audit entries checked) in tests/dsr.rs,
    // classifications on the Discovery page in tests/csp_discovery.rs.
    let register = |a: &AuditAction| {
        let name = a.as_str();
        name.starts_with("request_") || name.starts_with("entry_re") || name == "tracker_classified"
    };
    for action in AuditAction::ALL.into_iter().filter(|a| !register(a)) {
        assert!(seen.contains(&action), "{action:?} missing from {seen:?}");
    }
    let failed: Vec<&str> = events
        .iter()
        .filter(|e| e.action == AuditAction::SignInFailed)
        .map(|e| e.operator.as_str())
        .collect();
    assert_eq!(
        failed,
        ["(unknown)", "ann"],
        "newest first; the typed name is not kept"
    );
    let raw = format!("{events:?}");
    for content in [
        secret_text,
        "Ans de Vries",
        "ans@example.org",
        "a wrong password",
        "nobody",
    ] {
        assert!(!raw.contains(content), "{content} in the audit log");
    }
    // The log as admins read it.
    let ann = Operator::signed_in(&gate, "ann").await;
    let page = ann.get("/audit?operator=ann&action=entry_opened").await;
    assert!(
        page.text().contains(&format!("contact/{one}")),
        "{}",
        page.body
    );
    assert_eq!(
        page.body.matches("<tr><td>").count(),
        1,
        "only ann's one opening"
    );
    let csv = ann.get("/audit/export.csv").await;
    assert!(csv.body.starts_with("time,operator,action,object,count"));
    assert!(csv.body.contains(",ann,entry_handled,"));
}

#[actix_web::test]
async fn markup_in_fields_addresses_paths_and_referrers_is_shown_escaped() {
    let gate = dashboard_gate().start().await;
    let mut fields = contact_fields(HOSTILE);
    fields[0].1 = HOSTILE.to_owned();
    let entry = submit_contact(&gate, &pairs(&fields)).await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let referrer = [("referer", HOSTILE)];

    let page = ann
        .get_with(&format!("/inbox/contact/e/{entry}"), &referrer)
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "{}",
        page.body
    );
    assert_escaped(&page, "entry");
    assert_escaped(&ann.get_with("/inbox/contact", &referrer).await, "inbox");

    let searched = ann
        .post(
            "/person",
            &[("email", "\"><script>alert(1)</script>@example.org")],
        )
        .await;
    assert_eq!(searched.status, 200);
    assert_escaped(&searched, "person search");

    for path in [
        "/inbox/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/consent/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/consent?id=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "/audit?operator=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    ] {
        let page = ann.get_with(path, &referrer).await;
        assert!(page.status < 500, "{path}: {}", page.status);
        assert_escaped(&page, path);
    }
    // A path that sends nobody elsewhere after signing in.
    let nobody = Operator::new(&gate);
    let page = nobody.get("/sign-in?next=https://evil.example/").await;
    assert!(!page.body.contains("evil.example"), "{}", page.body);
    let page = nobody
        .sign_in_to(
            "ann",
            support::dashboard::PASSWORD,
            None,
            "//evil.example/x",
        )
        .await;
    assert_eq!(page.location(), Some("/"));
}

#[actix_web::test]
async fn bad_requests_get_the_standard_refusals_never_a_500() {
    let gate = dashboard_gate().start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    ann.get("/").await;
    let cases: Vec<(&str, &str, u16)> = vec![
        ("DELETE", "/inbox", 405),
        ("POST", "/inbox", 405),
        ("GET", "/sign-out", 405),
        ("PUT", "/sign-in", 405),
        ("GET", "/no/such/page", 404),
        ("GET", "/inbox/no-such-form", 404),
        ("GET", "/inbox/contact/e/0123", 404),
        ("GET", "/_gate/dashboard.nope.css", 404),
        ("GET", "/?days=5", 400),
        ("GET", "/?days=many", 400),
        ("GET", "/receipts?from=yesterday", 400),
        ("GET", "/receipts?from=2026-11-02&to=2026-11-01", 400),
        ("GET", "/receipts?action=maybe", 400),
        ("GET", "/audit?before=xyz", 400),
        ("GET", "/audit?action=dance", 400),
        ("GET", "/inbox/contact?offset=-1", 400),
    ];
    for (method, path, expected) in cases {
        let page = ann.request(method, path, &[]).await;
        assert_eq!(page.status, expected, "{method} {path}");
        assert!(
            page.body.contains("<h1>"),
            "{method} {path}: the dashboard's page"
        );
    }
    // A JSON client gets the standard JSON body.
    let json = ann
        .get_with("/inbox/no-such-form", &[("accept", "application/json")])
        .await;
    let v: serde_json::Value = serde_json::from_str(&json.body).expect("JSON body");
    assert_eq!(v["error"], "not_found");
    // Bodies: too large, not a form, broken.
    let token = ann.csrf.borrow().clone().unwrap();
    let big = format!("csrf={token}&email={}", "a".repeat(20_000));
    let same = [("sec-fetch-site", "same-origin")];
    assert_eq!(ann.post_raw("/person", &big, &same).await.status, 413);
    let json_body = ann
        .post_raw(
            "/person",
            "{}",
            &[
                ("sec-fetch-site", "same-origin"),
                ("content-type", "application/json"),
            ],
        )
        .await;
    assert_eq!(json_body.status, 415);
    assert_eq!(
        ann.post(
            "/person/delete",
            &[("email", "a@b.nl"), ("expected", "many")]
        )
        .await
        .status,
        400
    );
    assert_eq!(
        ann.post("/person", &[("email", "no address")]).await.status,
        400
    );
}

#[actix_web::test]
async fn state_changes_need_the_sessions_csrf_token_and_the_same_origin() {
    let gate = dashboard_gate().start().await;
    let entry = submit_contact(&gate, &pairs(&contact_fields("blijf staan"))).await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let ida = Operator::signed_in(&gate, "ida").await;
    ida.get("/inbox").await;
    let page = ann.get(&format!("/inbox/contact/e/{entry}")).await;
    let token = page.csrf().expect("the page has a token");
    let path = format!("/inbox/contact/e/{entry}/handled");
    let same = [("sec-fetch-site", "same-origin")];

    let missing = ann.post_raw(&path, "", &same).await;
    assert_eq!(missing.status, 403);
    assert!(missing.body.contains("verouderd"), "{}", missing.body);
    let wrong = ann
        .post_raw(
            &path,
            "csrf=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            &same,
        )
        .await;
    assert_eq!(wrong.status, 403);
    let other_session = ida.csrf.borrow().clone().unwrap();
    let stolen = ann
        .post_raw(&path, &format!("csrf={other_session}"), &same)
        .await;
    assert_eq!(stolen.status, 403, "another session's token");
    let cross = ann
        .post_raw(
            &path,
            &format!("csrf={token}"),
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(cross.status, 403);
    let foreign_origin = ann
        .post_raw(
            &path,
            &format!("csrf={token}"),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(foreign_origin.status, 403);
    assert!(gate.forms().get("contact", &entry).await.unwrap().is_some());

    let ok = ann.post_raw(&path, &format!("csrf={token}"), &same).await;
    assert_eq!(ok.status, 303);
    assert!(gate.forms().get("contact", &entry).await.unwrap().is_none());
}

#[actix_web::test]
async fn every_dashboard_answer_carries_the_security_headers() {
    let gate = dashboard_gate().start().await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let nobody = Operator::new(&gate);
    for page in [
        ann.get("/").await,
        ann.get("/inbox").await,
        ann.get("/nope").await,
        nobody.get("/sign-in").await,
        nobody.get("/inbox").await,
    ] {
        let csp = page.header("content-security-policy").expect("a CSP");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
    let home = ann.get("/").await;
    let css_path = home
        .text()
        .split("href=\"")
        .find_map(|s| {
            s.strip_prefix("/_gate/dashboard.")
                .map(|rest| rest.split('"').next().unwrap())
        })
        .map(|rest| format!("/_gate/dashboard.{rest}"))
        .expect("the stylesheet link");
    let css = nobody.get(&css_path).await;
    assert_eq!(css.status, 200);
    assert!(css.header("cache-control").unwrap().contains("immutable"));
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // The session cookie: HttpOnly, SameSite=Strict, and not readable by another path.
    let fresh = Operator::new(&gate);
    let signed = fresh
        .sign_in("ann", support::dashboard::PASSWORD, None)
        .await;
    let cookie = signed.header("set-cookie").unwrap();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{cookie}");
    }
}

#[actix_web::test]
async fn the_health_page_reports_the_store_version_forms_and_no_secret() {
    let gate = dashboard_gate()
        .config_toml("[store]\naudit_retention = \"90d\"\n")
        .start()
        .await;
    let ann = Operator::signed_in(&gate, "ann").await;
    let page = ann.get("/health").await;
    assert_eq!(page.status, 200);
    for shown in [
        "memory",
        env!("CARGO_PKG_VERSION"),
        "contact",
        "30days",
        "Opslag",
        "audit_retention",
    ] {
        assert!(page.body.contains(shown), "{shown} missing");
    }
    for secret in [support::gate::TEST_SECRET, "argon2id", "GEZDGNBVGY3TQOJQ"] {
        assert!(!page.body.contains(secret), "{secret} shown");
    }
}

#[actix_web::test]
async fn the_figures_count_decisions_and_submissions() {
    let gate = dashboard_gate().start().await;
    decide(&gate, "accept_all").await;
    decide(&gate, "reject_all").await;
    submit_contact(&gate, &pairs(&contact_fields("hallo"))).await;
    gate.state().stats.flush().await;
    let ali = Operator::signed_in(&gate, "ali").await;
    let page = ali.get("/?days=7").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<html lang=\"en\">"),
        "ali reads English"
    );
    assert!(
        page.body.contains("accepted all</th><td>1</td>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("refused all</th><td>1</td>"));
    assert!(page
        .body
        .contains("<th scope=\"row\">analytics</th><td>1</td><td>1</td><td>50.0 %</td>"));
    assert!(page
        .body
        .contains("<th scope=\"row\">contact</th><td>1</td>"));
    // The analyst sees nothing else in the navigation.
    assert!(!page.text().contains("href=\"/inbox\""));
}

#[actix_web::test]
async fn metrics_count_requests_decisions_submissions_and_rewrites() {
    let site = support::upstream::start();
    let gate = dashboard_gate().upstream(&site.url()).start().await;
    decide(&gate, "accept_all").await;
    submit_contact(&gate, &pairs(&contact_fields("hallo"))).await;
    let client = awc::Client::default();
    // The first view teaches the gate the page's vendors, so the second is rewritten again
    // (its banner tag names them); the third is the memo's.
    for _ in 0..3 {
        let mut res = client.get(gate.url("/tracker.html")).send().await.unwrap();
        res.body().await.unwrap();
    }
    let nobody = Operator::new(&gate);
    let page = nobody.get("/metrics").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = &page.body;
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{prefix} missing:\n{text}"))
    };
    assert!(value("consentgate_http_requests_total{listener=\"public\",class=\"2xx\"}") >= 4.0);
    assert_eq!(
        value("consentgate_consent_decisions_total{action=\"accept_all\"}"),
        1.0
    );
    assert_eq!(
        value("consentgate_form_submissions_total{form=\"contact\",outcome=\"stored\"}"),
        1.0
    );
    assert_eq!(value("consentgate_upstream_response_seconds_count"), 3.0);
    assert_eq!(value("consentgate_rewrite_seconds_count"), 3.0);
    assert!(value("consentgate_rewrite_input_bytes_total") > 0.0);
    assert_eq!(value("consentgate_rewrite_memo_hits_total"), 1.0);
    assert_eq!(value("consentgate_rewrite_memo_misses_total"), 2.0);
    // The pages in the memo count with their bytes in and out, below the memo's limit.
    let held = value("consentgate_rewrite_memo_bytes");
    assert!(held > 0.0 && held < value("consentgate_rewrite_memo_max_bytes"));
    assert_eq!(value("consentgate_stats_events_dropped_total"), 0.0);
    assert!(text.contains("# TYPE consentgate_store_errors_total counter"));
}

#[actix_web::test]
async fn the_language_is_the_operators_then_the_browsers_then_the_configured_one() {
    let gate = dashboard_gate()
        .config_toml("[dashboard]\nlanguage = \"en\"\n")
        .start()
        .await;
    let nobody = Operator::new(&gate);
    let lang = |page: &Page| {
        let at = page.body.find("<html lang=\"").expect("html") + 12;
        page.body[at..at + 2].to_owned()
    };
    for (accept, expected) in [("fr, de", "en"), ("de, nl-BE;q=0.8, en;q=0.5", "nl")] {
        let page = nobody
            .get_with("/sign-in", &[("accept-language", accept)])
            .await;
        assert_eq!(lang(&page), expected, "{accept}");
    }
    // ali's own setting (en) beats a Dutch browser; ann has none, so the browser decides.
    let dutch = [("accept-language", "nl")];
    let ali = Operator::signed_in(&gate, "ali").await;
    assert_eq!(lang(&ali.get_with("/", &dutch).await), "en");
    let ann = Operator::signed_in(&gate, "ann").await;
    assert_eq!(lang(&ann.get_with("/", &dutch).await), "nl");
    assert_eq!(
        lang(&ann.get_with("/nope", &dutch).await),
        "nl",
        "error pages too"
    );
}
