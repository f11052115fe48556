//! Every template rendered with hostile strings in every field it shows; message tables
//! complete; no inline style or script; links always stay on the dashboard.

use std::time::Duration;

use super::frame::with_query;
use super::*;
use crate::config::dashboard::Role;
use crate::config::{FieldType, FormConfig, FormFieldConfig, FormLanguage, FormMode};
use crate::consent::{
    Action, OwnRecord, Receipt, ReceiptList, ShownCategory, ShownContent, ShownTexts, ShownVendor,
};
use crate::dashboard::audit::{AuditAction, AuditEvent, AuditFilter, AuditPage as AuditLogPage};
use crate::forms::{Entry, EntryField, EntryPage};
use crate::store::AuditId;

/// Markup, both quote kinds, an event handler and a script URL in one string.
const HOSTILE: &str = "<script>alert(1)</script>\"'onmouseover=\"x\" javascript:alert(1)";

fn views() -> Views {
    Views::new().expect("templates and messages parse")
}

fn chrome(lang: Language, role: Role, area: Area) -> Chrome {
    Chrome::signed_in(
        lang,
        "/_dash/dashboard.0123.css",
        HOSTILE,
        role,
        area,
        HOSTILE.into(),
    )
}

fn form() -> FormConfig {
    FormConfig {
        id: HOSTILE.into(),
        path: "/contact".into(),
        path_case_sensitive: false,
        mode: FormMode::Store,
        fields: vec![FormFieldConfig {
            name: "email".into(),
            kind: FieldType::Email,
            required: true,
            max_length: None,
            label: Some(HOSTILE.into()),
        }],
        retention: Duration::from_secs(30 * 86_400),
        redirect: "/bedankt".into(),
        language: FormLanguage::Nl,
        max_body_bytes: 65_536,
        honeypot_field: "cg_website".into(),
        min_fill_time: Duration::from_secs(3),
        rate_limit_max: 5,
        rate_limit_window: Duration::from_secs(600),
        notify_webhook: None,
        plugin: Default::default(),
        plugin_form_id: None,
        plugin_element_id: None,
        thank_you_message: None,
        age_rules: Default::default(),
    }
}

fn entry() -> Entry {
    Entry {
        id: HOSTILE.into(),
        form: HOSTILE.into(),
        created: 1_700_000_000,
        country: Some(HOSTILE.into()),
        fields: vec![EntryField {
            name: HOSTILE.into(),
            label: HOSTILE.into(),
            value: format!("{HOSTILE}\nsecond line"),
        }],
        unreadable: None,
        restricted: false,
        age_band: None,
    }
}

fn receipt() -> Receipt {
    Receipt {
        id: HOSTILE.into(),
        time: "2026-11-22T14:03:05Z".into(),
        action: Action::Custom,
        granted: vec![HOSTILE.into()],
        refused: vec![HOSTILE.into()],
        policy_revision: 3,
        language: HOSTILE.into(),
        texts_hash: HOSTILE.into(),
        country: Some(HOSTILE.into()),
        gpc: true,
    }
}

fn shown() -> ShownTexts {
    ShownTexts {
        hash: HOSTILE.into(),
        verified: false,
        revision: 3,
        language: HOSTILE.into(),
        first_used: 1_700_000_000,
        last_used: 1_700_000_100,
        content: ShownContent {
            texts: BTreeMap::from([(HOSTILE.to_owned(), HOSTILE.to_owned())]),
            categories: vec![ShownCategory {
                id: HOSTILE.into(),
                name: HOSTILE.into(),
                description: HOSTILE.into(),
            }],
            vendors: vec![ShownVendor {
                id: HOSTILE.into(),
                name: HOSTILE.into(),
                description: HOSTILE.into(),
                category: HOSTILE.into(),
                cookies: vec![HOSTILE.into()],
                hosts: vec![HOSTILE.into()],
            }],
            privacy: HOSTILE.into(),
        },
    }
}

/// Values of every `name="…"` attribute in `html`.
fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            &rest[..rest.find('"').unwrap_or(rest.len())]
        })
        .collect()
}

/// What must hold for every rendered page.
fn assert_safe(page: &str, html: &str) {
    assert!(!html.contains("<script"), "{page}: a script element");
    assert!(!html.contains("<style"), "{page}: a style element");
    assert!(!html.contains(" style="), "{page}: a style attribute");
    assert!(
        !html.contains("{&#34;"),
        "{page}: a structure printed as it is"
    );
    assert!(
        !html.contains("\"onmouseover") && !html.contains(" onmouseover"),
        "{page}: an event handler got through"
    );
    for attr in ["href", "action", "src"] {
        for value in attributes(html, attr) {
            // minijinja writes `/` as `&#x2f;`; either way the link is a path here.
            assert!(
                value.starts_with('/') || value.starts_with("&#x2f;") || value == "#main",
                "{page}: {attr}=\"{value}\" leaves the dashboard"
            );
            assert!(!value.contains("javascript:"), "{page}: {attr}=\"{value}\"");
        }
    }
}

/// The hostile string shows up as text, escaped.
fn assert_shown_escaped(page: &str, html: &str) {
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "{page}: hostile text not shown escaped"
    );
}

fn render_all(lang: Language) -> Vec<(&'static str, String)> {
    let v = views();
    let mut out = Vec::new();

    let mut sign_in = SignInPage::new(HOSTILE);
    sign_in.name = HOSTILE.into();
    sign_in.refused = true;
    sign_in.retry_after = Some(42);
    sign_in.notice = Some(SignInNotice::Idle);
    let anon = Chrome::anonymous(lang, "/_dash/dashboard.0123.css");
    out.push(("sign_in", v.render(&anon, &sign_in).unwrap()));

    let f = form();
    let page = EntryPage {
        entries: vec![entry()],
        total: 7,
    };
    let inbox = InboxPage::new(&[(&f, 7), (&form(), 0)], &f, &page, 1, 1, 1_700_000_500);
    out.push((
        "inbox",
        v.render(&chrome(lang, Role::Inbox, Area::Inbox), &inbox)
            .unwrap(),
    ));

    let e = EntryView::new(&f, &entry(), 1_700_000_500);
    out.push((
        "entry",
        v.render(&chrome(lang, Role::Inbox, Area::Inbox), &e)
            .unwrap(),
    ));

    let found = [entry(), entry()];
    for confirm in [false, true] {
        let mut person = PersonPage::new(HOSTILE, Some(&found), confirm);
        person.deleted = Some(2);
        out.push((
            "person",
            v.render(&chrome(lang, Role::Admin, Area::Person), &person)
                .unwrap(),
        ));
    }

    let record = OwnRecord {
        current: Some(receipt()),
        history: vec![receipt(), receipt()],
        history_total: 2,
    };
    let archived = BTreeMap::from([(HOSTILE.to_owned(), shown())]);
    let consent = ConsentPage::new(HOSTILE, Lookup::Found(&record, &archived));
    out.push((
        "consent",
        v.render(&chrome(lang, Role::Inbox, Area::Consent), &consent)
            .unwrap(),
    ));
    let not_archived = BTreeMap::new();
    let consent = ConsentPage::new(HOSTILE, Lookup::Found(&record, &not_archived));
    out.push((
        "consent",
        v.render(&chrome(lang, Role::Inbox, Area::Consent), &consent)
            .unwrap(),
    ));
    for lookup in [Lookup::Invalid, Lookup::NotFound, Lookup::Nothing] {
        let page = ConsentPage::new(HOSTILE, lookup);
        out.push((
            "consent",
            v.render(&chrome(lang, Role::Inbox, Area::Consent), &page)
                .unwrap(),
        ));
    }

    let day = |s| parse_day(s).unwrap();
    let list = ReceiptList {
        receipts: vec![receipt()],
        total: 3,
        unreadable: 0,
    };
    let counts = [(Action::AcceptAll, 2), (Action::Custom, 1)];
    let receipts = ReceiptsPage::new(
        day("2026-11-01"),
        day("2026-11-30"),
        Some(Action::Custom),
        &counts,
        &list,
        1,
        1,
    );
    out.push((
        "receipts",
        v.render(&chrome(lang, Role::Admin, Area::Receipts), &receipts)
            .unwrap(),
    ));

    let log = AuditLogPage {
        events: vec![(
            AuditId { ms: 1, seq: 0 },
            AuditEvent::new(1_700_000_000, HOSTILE, AuditAction::ConsentErased)
                .object(HOSTILE)
                .count(3),
        )],
        next: Some(AuditId { ms: 1, seq: 0 }),
        unreadable: 1,
    };
    let filter = AuditFilter {
        operator: Some(HOSTILE.into()),
        action: Some(AuditAction::SignIn),
    };
    let audit = AuditView::new(&filter, &[HOSTILE, "ann"], &log);
    out.push((
        "audit",
        v.render(&chrome(lang, Role::Admin, Area::Audit), &audit)
            .unwrap(),
    ));

    let health = HealthPage::new(
        vec![
            HealthCheck::new("store", false, HOSTILE.into()),
            HealthCheck::new("geo_off", true, HOSTILE.into()),
        ],
        Duration::from_secs(3_725),
        &[form()],
        HOSTILE.into(),
    );
    out.push((
        "health",
        v.render(&chrome(lang, Role::Admin, Area::Health), &health)
            .unwrap(),
    ));

    out.push((
        "discovery",
        v.render(
            &chrome(lang, Role::Admin, Area::Discovery),
            &discovery_page(),
        )
        .unwrap(),
    ));

    for (name, page) in overview_pages() {
        out.push((
            name,
            v.render(&chrome(lang, Role::Analyst, Area::Figures), &page)
                .unwrap(),
        ));
    }
    let honesty = HonestyPage {
        counting: false,
        max_paths: 1000,
        max_combinations: 10_000,
        geo: false,
        back_href: paths::FIGURES,
    };
    out.push((
        "how_we_count",
        v.render(&chrome(lang, Role::Analyst, Area::Figures), &honesty)
            .unwrap(),
    ));
    let mut tokens = TokensPage::new(
        &[(HOSTILE.into(), HOSTILE.into(), 1_700_000_000, 1_731_536_000)],
        Some(HOSTILE.into()),
    );
    tokens.notice = Some("token_revoked");
    out.push((
        "api_tokens",
        v.render(&chrome(lang, Role::Analyst, Area::Figures), &tokens)
            .unwrap(),
    ));

    let mut inbox = InboxPage::without_forms();
    inbox.notice = Some(Done::Handled.message());
    out.push((
        "no_forms",
        v.render(&chrome(lang, Role::Admin, Area::Inbox), &inbox)
            .unwrap(),
    ));

    for status in ERROR_STATUSES.into_iter().chain([418]) {
        let mut error = ErrorPage::new(status, HOSTILE);
        error.detail = Some(HOSTILE.into());
        error.reason = Some("reason_csrf_failed".into());
        out.push(("error", v.render(&anon, &error).unwrap()));
    }
    out
}

/// The overview with hostile values in every place data reaches: unfiltered, and under filters
/// (which hide decisions and visitors).
fn overview_pages() -> Vec<(&'static str, OverviewPage)> {
    use crate::dashboard::overview::{build, Data, OverviewQuery, PeriodData, QueryParams};
    use crate::stats::visit::ViewKey;
    use crate::stats::DayVisits;
    let key = ViewKey {
        host: HOSTILE.into(),
        path: HOSTILE.into(),
        entry: true,
        referrer: HOSTILE.into(),
        utm_source: HOSTILE.into(),
        utm_medium: HOSTILE.into(),
        utm_campaign: HOSTILE.into(),
        country: HOSTILE.into(),
        browser: HOSTILE.into(),
        device: HOSTILE.into(),
        consent: Some(vec![HOSTILE.into()]),
    };
    let day = DayVisits {
        day: "2026-11-22".into(),
        views: vec![
            (key.clone(), 3),
            (
                ViewKey {
                    consent: None,
                    ..key
                },
                2,
            ),
        ],
        visitors: BTreeMap::from([(HOSTILE.to_owned(), 2)]),
        bots: BTreeMap::new(),
    };
    let period = PeriodData {
        visits: vec![day.clone(), day],
        consent: vec![
            BTreeMap::from([
                ("action:custom".to_owned(), 2),
                (format!("granted:{HOSTILE}"), 1),
                (format!("country:{HOSTILE}:action:custom"), 1),
            ]),
            BTreeMap::new(),
        ],
    };
    let data = Data {
        current: period.clone(),
        previous: period.clone(),
        last_year: Some(period),
        forms: vec![BTreeMap::from([
            (format!("{HOSTILE}:stored"), 3),
            (format!("{HOSTILE}:{HOSTILE}"), 1),
        ])],
    };
    let today = parse_day("2026-11-22").unwrap();
    let words = ChartWords {
        views: HOSTILE,
        visitors: HOSTILE,
        previous_views: HOSTILE,
        day: HOSTILE,
        count: HOSTILE,
        visits_title: HOSTILE,
        visits_desc: HOSTILE,
        decisions_title: HOSTILE,
        decisions_desc: HOSTILE,
        actions: [HOSTILE; 4],
        points: HOSTILE,
    };
    let plain = QueryParams {
        range: "custom".into(),
        from: "2026-11-21".into(),
        to: "2026-11-22".into(),
        ..QueryParams::default()
    };
    let filtered = QueryParams {
        path: HOSTILE.replace(['\n', '\r'], ""),
        referrer: "(direct)".into(),
        ..plain.clone()
    };
    [("overview", plain), ("overview_filtered", filtered)]
        .into_iter()
        .map(|(name, params)| {
            let q = OverviewQuery::parse(&params, today).unwrap();
            let o = build(&q, &[HOSTILE.to_owned()], &data);
            (name, OverviewPage::new(&o, &q, &words))
        })
        .collect()
}

/// A Discovery page with every table filled, hostile names included.
fn discovery_page() -> DiscoveryPage {
    use crate::dashboard::discovery::Findings;
    use crate::stats::discovery::{Blocked, Discovered, Found};
    let blocked = |origin: &str| Blocked {
        origin: origin.into(),
        path: HOSTILE.into(),
        directive: "script-src".into(),
        count: 3,
        last_seen: "2026-11-22".into(),
    };
    let findings = Findings {
        unclassified: vec![Discovered {
            kind: Found::Cookie,
            name: HOSTILE.into(),
            first_seen: "2026-11-20".into(),
            last_seen: "2026-11-22".into(),
            count: 2,
            paths: ["/".to_owned(), HOSTILE.to_owned()].into(),
        }],
        tracker_attempts: vec![(blocked("https://www.google-analytics.com"), HOSTILE.into())],
        needed: vec![blocked(HOSTILE)],
        other: vec![blocked("inline")],
    };
    DiscoveryPage::new(
        findings,
        &["analytics".into(), HOSTILE.into()],
        true,
        "report-only",
    )
}

#[test]
fn every_page_renders_hostile_strings_escaped_in_both_languages() {
    for lang in [Language::Nl, Language::En] {
        for (page, html) in render_all(lang) {
            assert_safe(page, &html);
            assert!(
                html.contains(&format!("<html lang=\"{}\">", lang.as_str())),
                "{page}"
            );
            let static_text = ["error", "no_forms", "how_we_count"].contains(&page);
            if !static_text || html.contains("<p>&lt;") {
                assert_shown_escaped(page, &html);
            }
        }
    }
}

#[test]
fn pages_carry_the_words_of_their_language() {
    let nl = render_all(Language::Nl);
    let en = render_all(Language::En);
    let find = |pages: &[(&str, String)], name: &str| {
        pages
            .iter()
            .find(|(p, _)| *p == name)
            .map(|(_, h)| h.clone())
            .unwrap()
    };
    assert!(find(&nl, "sign_in").contains("Inloggen"));
    assert!(find(&en, "sign_in").contains("Sign in"));
    assert!(find(&nl, "inbox").contains("Wordt automatisch verwijderd over"));
    assert!(find(&en, "receipts").contains("chose per category"));
    assert!(find(&nl, "how_we_count").contains("Hoe we bezoek tellen"));
    assert!(find(&en, "overview").contains("What analytics can still see"));
}

#[test]
fn the_overview_shows_its_charts_with_a_table_and_links_that_set_filters() {
    let (_, page) = overview_pages().remove(0);
    let html = views()
        .render(&chrome(Language::En, Role::Analyst, Area::Figures), &page)
        .unwrap();
    assert!(html.matches("<svg xmlns").count() >= 2);
    assert!(html.contains("role=\"img\" aria-labelledby=\"visits-chart-title visits-chart-desc\""));
    assert!(html.contains("<details><summary>Show the figures as a table</summary>"));
    // A path row links to the overview filtered by it, the period kept.
    assert!(
        html.contains("range=custom&amp;from=2026-11-21&amp;to=2026-11-22&amp;path="),
        "{html}"
    );
    let (_, filtered) = overview_pages().remove(1);
    let html = views()
        .render(
            &chrome(Language::En, Role::Analyst, Area::Figures),
            &filtered,
        )
        .unwrap();
    assert!(html.contains("not shown under these filters"));
    assert!(html.contains("(direct, or no referrer sent)"));
}

#[test]
fn entry_page_shows_every_field_and_the_list_reveals_no_content() {
    let v = views();
    let f = form();
    let mut e = entry();
    e.fields[0].value = "Graag een afspraak, groet Ans".into();
    let page = EntryPage {
        entries: vec![e.clone()],
        total: 1,
    };
    let inbox = InboxPage::new(&[(&f, 1)], &f, &page, 0, 20, 1_700_000_000 + 86_400);
    let html = v
        .render(&chrome(Language::Nl, Role::Inbox, Area::Inbox), &inbox)
        .unwrap();
    assert!(
        !html.contains("afspraak"),
        "the list shows no field content"
    );
    assert!(html.contains("Ingevulde velden: 1; tekens: 29"), "{html}");
    assert!(html.contains("29 dagen"), "retention left");
    let entry = EntryView::new(&f, &e, 1_700_000_000);
    let html = v
        .render(&chrome(Language::Nl, Role::Inbox, Area::Inbox), &entry)
        .unwrap();
    assert!(html.contains("Graag een afspraak, groet Ans"));
    assert!(html.contains(&format!("name=\"{CSRF_FIELD}\"")));
}

#[test]
fn person_confirmation_names_how_many_entries_go() {
    let v = views();
    let found = [entry(), entry(), entry()];
    let page = PersonPage::new("ans@example.org", Some(&found), true);
    let html = v
        .render(&chrome(Language::En, Role::Inbox, Area::Person), &page)
        .unwrap();
    assert!(
        html.contains("sent with this address: 3 in total"),
        "{html}"
    );
    assert!(html.contains("Yes, delete all 3"));
    assert!(html.contains("name=\"expected\" value=\"3\""));
    // The address only travels in form fields, never in a link.
    for href in attributes(&html, "href") {
        assert!(!href.contains("example.org"), "{href}");
    }
}

#[test]
fn navigation_lists_only_what_the_role_may_open() {
    let labels = |role| -> Vec<&'static str> {
        Chrome::signed_in(
            Language::En,
            "/x.css",
            "ann",
            role,
            Area::Figures,
            String::new(),
        )
        .nav
        .into_iter()
        .map(|i| i.label)
        .collect()
    };
    assert_eq!(labels(Role::Analyst), ["nav_figures"]);
    assert_eq!(
        labels(Role::Inbox),
        [
            "nav_inbox",
            "nav_requests",
            "nav_person",
            "nav_consent",
            "nav_receipts"
        ]
    );
    assert_eq!(labels(Role::Admin).len(), 9);
    assert!(Chrome::anonymous(Language::En, "/x.css").nav.is_empty());
}

#[test]
fn message_tables_have_the_same_keys_and_every_key_the_templates_use() {
    let v = views();
    let nl = &v.messages["nl"];
    let en = &v.messages["en"];
    assert_eq!(
        nl.keys().collect::<Vec<_>>(),
        en.keys().collect::<Vec<_>>(),
        "nl and en differ"
    );
    let mut used: Vec<String> = Vec::new();
    for (name, source) in TEMPLATES {
        for (at, _) in source.match_indices("t.") {
            let before = source[..at].chars().last().unwrap_or(' ');
            if before.is_alphanumeric() || before == '_' || before == '.' {
                continue;
            }
            let key: String = source[at + 2..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !key.is_empty() {
                used.push(format!("{name}: {key}"));
                assert!(
                    en.contains_key(&key),
                    "{name} uses t.{key}, which is missing"
                );
            }
        }
    }
    assert!(used.len() > 50, "found only {} uses", used.len());
    // Keys the templates build from values.
    let mut dynamic: Vec<String> = Vec::new();
    dynamic
        .extend([Role::Admin, Role::Inbox, Role::Analyst].map(|r| format!("role_{}", r.as_str())));
    dynamic.extend(Action::ALL.map(|a| format!("action_{}", a.as_str())));
    dynamic.extend(AuditAction::ALL.map(|a| format!("audit_{}", a.as_str())));
    dynamic.extend(ERROR_STATUSES.map(|s| format!("error_{s}")));
    dynamic.extend(Area::NAV.map(|(_, _, label)| label.to_owned()));
    dynamic.extend(["days", "hours", "under_an_hour"].map(str::to_owned));
    use crate::dashboard::overview::RangeKind;
    dynamic.extend(RangeKind::CHOICES.map(|r| format!("range_{r}")));
    dynamic.extend(
        [
            "views",
            "visitors",
            "banner_views",
            "decisions",
            "coverage",
            "bots",
        ]
        .map(|m| format!("metric_{m}")),
    );
    for panel in crate::dashboard::overview::PANELS {
        dynamic.push(format!("panel_{panel}"));
        dynamic.push(format!("column_{panel}"));
    }
    dynamic.extend(["host", "path", "country", "referrer"].map(|f| format!("filter_{f}")));
    dynamic.extend(
        [
            "value_other",
            "value_direct",
            "value_unknown",
            "token_revoked",
        ]
        .map(str::to_owned),
    );
    dynamic.extend(SignInNotice::ALL.map(|n| n.as_str().to_owned()));
    dynamic.extend(Done::ALL.map(|d| d.message().to_owned()));
    dynamic.extend(["store", "geo", "geo_off", "upstream", "stats"].map(|k| format!("check_{k}")));
    dynamic.extend(
        [
            "csrf_failed",
            "cross_origin",
            "method_not_allowed",
            "bad_request",
        ]
        .map(|k| format!("reason_{k}")),
    );
    for key in dynamic {
        assert!(en.contains_key(&key), "{key} is missing");
    }
}

#[test]
fn templates_have_no_inline_style_script_or_handlers() {
    for (name, source) in TEMPLATES {
        let lower = source.to_ascii_lowercase();
        for bad in ["<script", "<style", " style=", "javascript:"] {
            assert!(!lower.contains(bad), "{name} contains {bad}");
        }
        for (at, _) in lower.match_indices(" on") {
            let attr: String = lower[at + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                !lower[at + 1 + attr.len()..].starts_with('='),
                "{name} has an event handler {attr}"
            );
        }
    }
    assert!(STYLESHEET.contains(":focus-visible"));
}

#[test]
fn return_paths_stay_on_the_dashboard() {
    assert_eq!(
        safe_return_path("/inbox/contact?offset=20"),
        "/inbox/contact?offset=20"
    );
    for bad in [
        "",
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/sign-in",
        "/a\nb",
    ] {
        assert_eq!(safe_return_path(bad), "/", "{bad:?}");
    }
}

#[test]
fn links_percent_encode_ids() {
    assert_eq!(links::consent("a/b?c"), "/consent/a%2Fb%3Fc");
    assert_eq!(
        links::entry_action("contact", "../x", "handled"),
        "/inbox/contact/e/..%2Fx/handled"
    );
    assert_eq!(
        with_query("/audit", &[("operator", "a&b=c"), ("action", "")]),
        "/audit?operator=a%26b%3Dc"
    );
}

#[test]
fn day_ranges_cover_whole_utc_days() {
    let from = parse_day("2026-11-01").unwrap();
    let to = parse_day(" 2026-11-02 ").unwrap();
    let (a, b) = day_range_ms(from, to).unwrap();
    assert_eq!(a, 1_793_491_200_000);
    assert_eq!(b, a + 2 * 86_400_000 - 1);
    assert_eq!(day_range_ms(to, from), None);
    for bad in ["", "2026-13-01", "1-11-2026", "2026-11-01T00:00"] {
        assert_eq!(parse_day(bad), None, "{bad}");
    }
}

#[test]
fn pager_links_neighbouring_pages() {
    let p = Pager::new("/receipts", &[("from", "2026-11-01")], 20, 20, 20, 55);
    assert_eq!((p.first, p.last, p.total), (21, 40, 55));
    assert_eq!(
        p.previous_href.as_deref(),
        Some("/receipts?from=2026-11-01")
    );
    assert_eq!(
        p.next_href.as_deref(),
        Some("/receipts?from=2026-11-01&offset=40")
    );
    let last = Pager::new("/x", &[], 40, 15, 20, 55);
    assert_eq!(last.next_href, None);
    let empty = Pager::new("/x", &[], 0, 0, 20, 0);
    assert_eq!((empty.first, empty.last), (0, 0));
    assert_eq!((empty.previous_href, empty.next_href), (None, None));
}

#[test]
fn times_and_spans_read_well() {
    assert_eq!(human_time(1_700_000_000), "2023-11-14 22:13 UTC");
    let mut r = receipt();
    r.time = "2026-11-22T14:03:05.590261364Z".into();
    assert_eq!(ReceiptRow::new(&r).time, "2026-11-22 14:03:05 UTC");
    r.time = "2026-11-22T14:03:05Z".into();
    assert_eq!(ReceiptRow::new(&r).time, "2026-11-22 14:03:05 UTC");
    assert_eq!(
        Span::of(Duration::from_secs(30 * 86_400)),
        Span {
            unit: "days",
            n: 30
        }
    );
    assert_eq!(
        Span::of(Duration::from_secs(36 * 3600)),
        Span {
            unit: "hours",
            n: 36
        }
    );
    assert_eq!(Span::of(Duration::from_secs(59)).unit, "under_an_hour");
}
