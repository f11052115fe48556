use super::*;
use crate::stats::visit::OTHER;

fn day(d: &str) -> Date {
    crate::dashboard::views::parse_day(d).unwrap()
}

fn params(pairs: &[(&str, &str)]) -> QueryParams {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    serde_urlencoded::from_str(&q).unwrap()
}

fn query(pairs: &[(&str, &str)]) -> OverviewQuery {
    OverviewQuery::parse(&params(pairs), day("2026-11-22")).unwrap()
}

#[test]
fn ranges_are_the_last_days_a_month_or_custom() {
    let q = query(&[]);
    assert_eq!(
        (q.range, day_text(q.period.from)),
        (RangeKind::Last(30), "2026-10-24".into())
    );
    assert_eq!(q.period.len(), 30);
    let q = query(&[("days", "7")]);
    assert_eq!(day_text(q.period.from), "2026-11-16");
    let q = query(&[("range", "90d")]);
    assert_eq!(q.period.len(), 90);
    let q = query(&[("range", "month"), ("month", "2024-02")]);
    assert_eq!(
        (day_text(q.period.from), day_text(q.period.to)),
        ("2024-02-01".into(), "2024-02-29".into())
    );
    let q = query(&[("range", "month"), ("month", "2025-12")]);
    assert_eq!(day_text(q.period.to), "2025-12-31");
    let q = query(&[("range", "month")]);
    assert_eq!(day_text(q.period.from), "2026-11-01");
    let q = query(&[
        ("range", "custom"),
        ("from", "2026-01-10"),
        ("to", "2026-01-12"),
    ]);
    assert_eq!(q.period.len(), 3);
    assert_eq!(day_text(q.period.previous().from), "2026-01-07");
    assert_eq!(day_text(q.period.previous().to), "2026-01-09");
    let leap = Period {
        from: day("2024-02-29"),
        to: day("2024-03-01"),
    };
    let back = leap.year_before().unwrap();
    assert_eq!(
        (day_text(back.from), day_text(back.to)),
        ("2023-02-28".into(), "2023-03-01".into())
    );
}

#[test]
fn bad_queries_name_their_parameter() {
    for (pairs, word) in [
        (vec![("days", "5")], "days"),
        (vec![("days", "many")], "days"),
        (vec![("range", "forever")], "range"),
        (vec![("range", "month"), ("month", "2026-13")], "month"),
        (vec![("range", "custom"), ("from", "2026-01-10")], "to"),
        (
            vec![
                ("range", "custom"),
                ("from", "2026-01-10"),
                ("to", "2026-01-09"),
            ],
            "to",
        ),
        (
            vec![
                ("range", "custom"),
                ("from", "2020-01-01"),
                ("to", "2026-01-09"),
            ],
            "to",
        ),
        (vec![("path", "/a\nb")], "path"),
    ] {
        let err = OverviewQuery::parse(&params(&pairs), day("2026-11-22")).unwrap_err();
        assert!(err.0.starts_with(word), "{pairs:?}: {err}");
    }
}

#[test]
fn parameters_survive_a_round_trip() {
    let q = query(&[
        ("range", "custom"),
        ("from", "2026-01-10"),
        ("to", "2026-01-12"),
        ("path", "/a b"),
        ("country", "NL"),
    ]);
    let pairs: Vec<(&str, String)> = q.params();
    let again: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(query(&again), q);
}

fn key(path: &str, referrer: &str, country: &str, consent: Option<&[&str]>) -> ViewKey {
    ViewKey {
        host: "s.example".into(),
        path: path.into(),
        entry: !referrer.starts_with('='),
        referrer: referrer.trim_start_matches('=').into(),
        utm_source: if referrer == "news.example" {
            "nieuwsbrief".into()
        } else {
            String::new()
        },
        utm_medium: String::new(),
        utm_campaign: String::new(),
        country: country.into(),
        browser: "Firefox".into(),
        device: "desktop".into(),
        consent: consent.map(|c| c.iter().map(|s| s.to_string()).collect()),
    }
}

fn visits(d: &str, views: Vec<(ViewKey, u64)>, visitors: u64) -> DayVisits {
    DayVisits {
        day: d.into(),
        views,
        visitors: [("s.example".to_owned(), visitors)].into(),
        bots: [(("s.example".to_owned(), "Googlebot".to_owned()), 4)].into(),
    }
}

fn consent(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

fn sample() -> (OverviewQuery, Data) {
    let q = query(&[
        ("range", "custom"),
        ("from", "2026-11-21"),
        ("to", "2026-11-22"),
    ]);
    let current = PeriodData {
        visits: vec![
            visits(
                "2026-11-21",
                vec![
                    (key("/", "", "NL", None), 6),
                    (key("/", "google.com", "DE", Some(&["analytics"])), 2),
                    (key("/contact", "=", "NL", Some(&[])), 2),
                ],
                5,
            ),
            visits(
                "2026-11-22",
                vec![
                    (key("/", "news.example", "", None), 4),
                    (
                        key("/over", "=", "NL", Some(&["analytics", "marketing"])),
                        6,
                    ),
                ],
                7,
            ),
        ],
        consent: vec![
            consent(&[
                ("action:accept_all", 2),
                ("action:reject_all", 1),
                ("granted:analytics", 2),
                ("granted:marketing", 2),
                ("country:NL:action:accept_all", 1),
                ("country:NL:action:reject_all", 1),
                ("country:NL:granted:analytics", 1),
                ("country:NL:granted:marketing", 1),
            ]),
            consent(&[("action:custom", 1), ("granted:analytics", 1)]),
        ],
    };
    let previous = PeriodData {
        visits: vec![
            visits("2026-11-19", vec![(key("/", "", "NL", None), 5)], 4),
            DayVisits::default(),
        ],
        consent: vec![
            consent(&[("action:accept_all", 1), ("granted:analytics", 1)]),
            BTreeMap::new(),
        ],
    };
    let data = Data {
        current,
        previous,
        last_year: Some(PeriodData::default()),
        forms: vec![consent(&[("contact:stored", 2), ("contact:honeypot", 1)])],
    };
    (q, data)
}

fn categories() -> Vec<String> {
    vec!["analytics".into(), "marketing".into()]
}

fn metric<'a>(o: &'a Overview, name: &str) -> &'a SummaryRow {
    o.summary.iter().find(|r| r.metric == name).unwrap()
}

#[test]
fn views_visitors_consent_and_coverage_add_up() {
    let (q, data) = sample();
    let o = build(&q, &categories(), &data);
    assert_eq!(metric(&o, "views").value, Some(Figure::Count(20)));
    assert_eq!(metric(&o, "views").previous, Some(Figure::Count(5)));
    assert_eq!(metric(&o, "views").change, Some(300.0));
    assert_eq!(metric(&o, "visitors").value, Some(Figure::Count(12)));
    assert_eq!(metric(&o, "banner_views").value, Some(Figure::Count(10)));
    assert_eq!(metric(&o, "decisions").value, Some(Figure::Count(4)));
    // 8 of 20 views carried analytics consent.
    assert_eq!(metric(&o, "coverage").value, Some(Figure::Percent(40.0)));
    assert_eq!(metric(&o, "bots").value, Some(Figure::Count(8)));
    // No data a year before: no comparison.
    assert_eq!(o.last_year, None);
    assert_eq!(metric(&o, "views").last_year, None);
    let analytics = &o.categories[0];
    assert_eq!(analytics.granted, Some(3));
    assert_eq!(analytics.consent_rate, Some(75.0));
    assert_eq!(analytics.opt_in_rate, Some(30.0));
    assert_eq!(analytics.coverage, Some(40.0));
    assert_eq!(o.categories[1].views_granted, 6);
    assert_eq!(o.days[0].views, 10);
    assert_eq!(o.days[1].visitors, Some(7));
    assert_eq!(o.days[1].decisions.unwrap().custom, 1);
    assert_eq!(o.previous_views, [5, 0]);
    let nl = o
        .consent_by_country
        .iter()
        .find(|c| c.country == "NL")
        .unwrap();
    assert_eq!((nl.decisions, nl.banner_views), (2, 6));
    assert_eq!(nl.categories[0].consent_rate, Some(50.0));
    let unknown = o
        .consent_by_country
        .iter()
        .find(|c| c.country == UNKNOWN)
        .unwrap();
    assert_eq!((unknown.decisions, unknown.banner_views), (2, 4));
    assert_eq!(o.forms[0].stored, 2);
}

#[test]
fn tables_count_paths_entries_referrers_and_utm() {
    let (q, data) = sample();
    let o = build(&q, &categories(), &data);
    let p = |id: &str| o.panels.iter().find(|p| p.id == id).unwrap();
    let rows = |id: &str| -> Vec<(String, u64)> {
        p(id)
            .rows
            .iter()
            .map(|r| (r.value.clone(), r.views))
            .collect()
    };
    assert_eq!(
        rows("paths"),
        [
            ("/".into(), 12),
            ("/over".into(), 6),
            ("/contact".into(), 2)
        ]
    );
    assert_eq!(rows("entries"), [("/".into(), 12)]);
    assert_eq!(
        rows("referrers"),
        [
            (DIRECT.into(), 6),
            ("news.example".into(), 4),
            ("google.com".into(), 2)
        ]
    );
    assert_eq!(rows("utm_source"), [("nieuwsbrief".into(), 4)]);
    assert_eq!(
        rows("countries"),
        [("NL".into(), 14), (UNKNOWN.into(), 4), ("DE".into(), 2)]
    );
    assert_eq!(p("paths").rows[0].share, Some(60.0));
    assert_eq!(p("paths").filter(), Some("path"));
}

#[test]
fn filters_apply_to_views_and_say_what_they_cannot_filter() {
    let (mut q, data) = sample();
    q.filters.path = Some("/".into());
    let o = build(&q, &categories(), &data);
    assert_eq!(metric(&o, "views").value, Some(Figure::Count(12)));
    assert_eq!(metric(&o, "visitors").value, None);
    assert_eq!(metric(&o, "decisions").value, None);
    assert!(!o.decisions_counted && !o.visitors_counted);
    assert_eq!(o.categories[0].consent_rate, None);
    assert_eq!(o.categories[0].coverage, Some(16.7));
    assert!(o.consent_by_country.is_empty());
    let (mut q, data) = sample();
    q.filters.country = Some("NL".into());
    let o = build(&q, &categories(), &data);
    assert_eq!(metric(&o, "views").value, Some(Figure::Count(14)));
    assert_eq!(metric(&o, "decisions").value, Some(Figure::Count(2)));
    assert_eq!(o.consent_by_country.len(), 1);
    let (mut q, data) = sample();
    q.filters.referrer = Some(DIRECT.into());
    let o = build(&q, &categories(), &data);
    assert_eq!(metric(&o, "views").value, Some(Figure::Count(6)));
    let (mut q, data) = sample();
    q.filters.country = Some(UNKNOWN.into());
    let o = build(&q, &categories(), &data);
    assert_eq!(metric(&o, "views").value, Some(Figure::Count(4)));
    assert_eq!(metric(&o, "decisions").value, Some(Figure::Count(2)));
}

#[test]
fn long_tables_sum_the_rest_in_one_line() {
    let (q, mut data) = sample();
    let many: Vec<(ViewKey, u64)> = (0..15)
        .map(|i| (key(&format!("/p{i:02}"), "", "NL", None), 20 - i))
        .collect();
    data.current.visits[0].views = many;
    data.current.visits[0]
        .views
        .push((key(OTHER, "", "NL", None), 1));
    data.current.visits[1].views.clear();
    let o = build(&q, &categories(), &data);
    let paths = &o.panels[0];
    assert_eq!(paths.rows.len(), TOP_ROWS);
    assert_eq!(paths.rows[0].value, "/p00");
    let rest = paths.rest.as_ref().unwrap();
    assert_eq!(rest.values, 6);
    assert_eq!(rest.views, 10 + 9 + 8 + 7 + 6 + 1);
}

#[test]
fn a_year_before_is_compared_when_it_has_data() {
    let (q, mut data) = sample();
    data.last_year = Some(PeriodData {
        visits: vec![visits(
            "2025-11-21",
            vec![(key("/", "", "NL", None), 40)],
            30,
        )],
        consent: vec![],
    });
    let o = build(&q, &categories(), &data);
    assert!(o.last_year.is_some());
    assert_eq!(metric(&o, "views").last_year, Some(Figure::Count(40)));
    assert_eq!(metric(&o, "views").change_last_year, Some(-50.0));
    assert_eq!(metric(&o, "coverage").change_last_year, Some(40.0));
}

#[test]
fn the_csv_files_hold_the_same_figures_as_the_json() {
    let (q, data) = sample();
    let o = build(&q, &categories(), &data);
    let files = csv_files(&o).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        names.contains(&"summary.csv")
            && names.contains(&"paths.csv")
            && names.contains(&"forms.csv")
    );
    let summary = String::from_utf8(files[0].1.clone()).unwrap();
    assert!(summary.contains("views,20,5,300.0,,"), "{summary}");
    assert!(summary.contains("coverage,40.0,"), "{summary}");
    let json: serde_json::Value = serde_json::from_slice(&json(&o).unwrap()).unwrap();
    assert_eq!(json["summary"][0]["value"], 20);
    assert_eq!(json["summary"][4]["value"], 40.0);
    assert_eq!(json["period"]["from"], "2026-11-21");
    assert_eq!(json["panels"][0]["rows"][0]["value"], "/");
    let zip = csv_zip(&o).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    assert_eq!(archive.len(), files.len());
    let mut paths = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("paths.csv").unwrap(), &mut paths).unwrap();
    assert_eq!(
        paths,
        "value,views,share\n/,12,60.0\n/over,6,30.0\n/contact,2,10.0\n"
    );
}
