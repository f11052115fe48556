//! The overview through a real gate: visits and decisions made through the public listener are
//! on the page an analyst opens, and its CSV files and JSON hold exactly what the page shows;
//! the JSON API opens with an API token and the token opens nothing else.

mod support;

use std::collections::BTreeMap;
use std::io::Read;

use serde_json::Value;

use consentgate::config::dashboard::Role;
use support::dashboard::{dashboard_gate, Operator, Page};
use support::gate::{RunningTestGate, StoreChoice};
use support::visits::{
    consent_cookie, site, trusting_loopback, Visit, CHROME_ANDROID, GOOGLEBOT, SAFARI_IPHONE,
};

/// The cells of every body row of the table with this id, as text (entities decoded).
fn table(html: &str, id: &str) -> Vec<Vec<String>> {
    use lol_html::{element, text, HtmlRewriter, Settings};
    use std::cell::RefCell;
    let rows: RefCell<Vec<Vec<String>>> = RefCell::new(Vec::new());
    let row_sel = format!("#{id} tbody tr");
    let cell_sel = format!("#{id} tbody tr > *");
    {
        let mut rewriter = HtmlRewriter::new(
            Settings::new()
                .append_element_content_handler(element!(row_sel, |_| {
                    rows.borrow_mut().push(Vec::new());
                    Ok(())
                }))
                .append_element_content_handler(element!(cell_sel, |_| {
                    if let Some(r) = rows.borrow_mut().last_mut() {
                        r.push(String::new());
                    }
                    Ok(())
                }))
                .append_element_content_handler(text!(cell_sel, |t| {
                    if let Some(c) = rows.borrow_mut().last_mut().and_then(|r| r.last_mut()) {
                        c.push_str(t.as_str());
                    }
                    Ok(())
                })),
            |_: &[u8]| {},
        );
        rewriter.write(html.as_bytes()).expect("HTML");
        rewriter.end().expect("HTML");
    }
    rows.into_inner()
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|c| htmlize::unescape(c.trim()).into_owned())
                .collect()
        })
        .collect()
}

/// A JSON number or null as the page words it (`–` for none; percentages with one decimal).
fn shown(v: &Value, percent: bool) -> String {
    match v {
        Value::Null => "–".to_owned(),
        Value::Number(n) if percent => format!("{:.1} %", n.as_f64().unwrap()),
        other => other.to_string(),
    }
}

/// The same value as the CSV files write it.
fn csv_form(v: &Value, percent: bool) -> String {
    match v {
        Value::Null => String::new(),
        Value::Number(n) if percent => format!("{:.1}", n.as_f64().unwrap()),
        other => other.to_string(),
    }
}

fn csv_rows(files: &BTreeMap<String, String>, name: &str) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_reader(files[name].as_bytes());
    reader
        .records()
        .map(|r| r.expect("CSV row").iter().map(str::to_owned).collect())
        .collect()
}

/// Visits and decisions from three countries, one bot.
async fn traffic(gate: &RunningTestGate) {
    for (i, address) in ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
        .into_iter()
        .enumerate()
    {
        let ua = if i == 0 {
            SAFARI_IPHONE
        } else {
            CHROME_ANDROID
        };
        Visit::to("/")
            .by(ua)
            .at(address)
            .referred_by("https://www.google.com/search?q=stichting")
            .send(gate)
            .await;
        Visit::to("/over-ons")
            .by(ua)
            .at(address)
            .referred_by(&gate.url("/"))
            .send(gate)
            .await;
    }
    for address in ["198.51.100.7", "198.51.100.8"] {
        Visit::to("/nieuws?utm_source=nieuwsbrief&utm_medium=email&utm_campaign=herfst")
            .at(address)
            .send(gate)
            .await;
    }
    let accepted = consent_cookie(gate, "accept_all", &[]).await;
    Visit::to("/contact")
        .at("203.0.113.5")
        .with_cookie(&accepted)
        .send(gate)
        .await;
    consent_cookie(gate, "reject_all", &[]).await;
    Visit::to("/").by(GOOGLEBOT).send(gate).await;
    gate.state().stats.flush().await;
}

async fn overview_gate() -> (support::upstream::Upstream, RunningTestGate) {
    let site = site();
    let gate = dashboard_gate()
        .upstream(&site.url())
        .config_toml(&trusting_loopback())
        .start()
        .await;
    (site, gate)
}

fn unzip(raw: &[u8]) -> BTreeMap<String, String> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(raw.to_vec())).expect("a zip");
    let mut files = BTreeMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).expect("entry");
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
        let mut text = String::new();
        f.read_to_string(&mut text).expect("UTF-8 CSV");
        files.insert(f.name().expect("a UTF-8 name").into_owned(), text);
    }
    files
}

async fn get_bytes(base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Vec<u8>) {
    let mut req = awc::Client::builder()
        .disable_redirects()
        .finish()
        .get(format!("{base}{path}"));
    for h in headers {
        req = req.insert_header(*h);
    }
    let mut res = req.send().await.expect("the admin listener answers");
    let body = res.body().limit(8 << 20).await.expect("body");
    (res.status().as_u16(), body.to_vec())
}

#[actix_web::test]
async fn the_csv_files_and_the_json_hold_exactly_what_the_overview_shows() {
    let (_site, gate) = overview_gate().await;
    traffic(&gate).await;
    let ali = Operator::signed_in(&gate, "ali").await;
    let query = "range=7d";
    let page: Page = ali.get(&format!("/?{query}")).await;
    assert_eq!(page.status, 200);
    let html = &page.body;
    let json_page = ali.get(&format!("/overview/export.json?{query}")).await;
    assert_eq!(json_page.status, 200);
    assert!(json_page
        .header("content-disposition")
        .unwrap()
        .contains("overview-"));
    let json: Value = serde_json::from_str(&json_page.body).expect("JSON");
    let cookie = ali.cookie.borrow().clone().unwrap();
    let (status, zip) = get_bytes(
        &gate.admin_url(""),
        &format!("/overview/export.zip?{query}"),
        &[("cookie", &cookie)],
    )
    .await;
    assert_eq!(status, 200);
    let files = unzip(&zip);

    // The figures are the traffic's: 9 views of 6 visitors, the bot apart, 8 with the banner.
    let metric = |name: &str| -> &Value {
        json["summary"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["metric"] == name)
            .unwrap()
    };
    assert_eq!(metric("views")["value"], 9);
    assert_eq!(metric("visitors")["value"], 6);
    assert_eq!(metric("banner_views")["value"], 8);
    assert_eq!(metric("decisions")["value"], 2);
    assert_eq!(metric("bots")["value"], 1);
    assert_eq!(metric("coverage")["value"], 11.1);

    // Summary: page, JSON and CSV agree on every figure.
    let summary_csv = csv_rows(&files, "summary.csv");
    for (i, m) in json["summary"].as_array().unwrap().iter().enumerate() {
        let name = m["metric"].as_str().unwrap();
        let percent = name == "coverage";
        let cells = summary_row(html, name);
        assert_eq!(cells[1], shown(&m["value"], percent), "{name} on the page");
        assert_eq!(cells[2], shown(&m["previous"], percent), "{name} before");
        assert_eq!(summary_csv[i][0], name);
        assert_eq!(
            summary_csv[i][1],
            csv_form(&m["value"], percent),
            "{name} in CSV"
        );
        assert_eq!(summary_csv[i][2], csv_form(&m["previous"], percent));
    }

    // Every table of visits: the same rows in the same order.
    for panel in json["panels"].as_array().unwrap() {
        let id = panel["id"].as_str().unwrap();
        let on_page = table(html, &format!("table-{id}"));
        let in_csv = csv_rows(&files, &format!("{id}.csv"));
        let rows = panel["rows"].as_array().unwrap();
        assert_eq!(on_page.len(), rows.len(), "{id}: rows on the page");
        assert_eq!(in_csv.len(), rows.len(), "{id}: rows in the CSV");
        for ((row, page_row), csv_row) in rows.iter().zip(&on_page).zip(&in_csv) {
            let value = row["value"].as_str().unwrap();
            if !value.starts_with('(') {
                assert_eq!(page_row[0], value, "{id}");
            }
            assert_eq!(csv_row[0], value, "{id}");
            assert_eq!(page_row[1], row["views"].to_string(), "{id} {value}");
            assert_eq!(csv_row[1], row["views"].to_string(), "{id} {value}");
            assert_eq!(page_row[2], shown(&row["share"], true), "{id} {value}");
            assert_eq!(csv_row[2], csv_form(&row["share"], true), "{id} {value}");
        }
    }
    let paths: Vec<String> = table(html, "table-paths")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(paths, ["/", "/over-ons", "/nieuws", "/contact"]);
    let referrers = table(html, "table-referrers");
    assert!(referrers
        .iter()
        .any(|r| r[..2] == ["google.com".to_owned(), "3".to_owned()]));
    assert_eq!(
        table(html, "table-utm_campaign")[0][..2],
        ["herfst".to_owned(), "2".to_owned()]
    );
    let countries: Vec<(String, String)> = table(html, "table-countries")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(
        countries,
        [
            ("NL".into(), "6".into()),
            ("DE".into(), "2".into()),
            ("BE".into(), "1".into())
        ]
    );

    // Per category and per country.
    let categories = table(html, "table-categories");
    let categories_csv = csv_rows(&files, "categories.csv");
    for ((c, page_row), csv_row) in json["categories"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&categories)
        .zip(&categories_csv)
    {
        assert_eq!(page_row[0], c["category"].as_str().unwrap());
        assert_eq!(page_row[1], shown(&c["granted"], false));
        assert_eq!(page_row[3], shown(&c["consent_rate"], true));
        assert_eq!(page_row[4], shown(&c["opt_in_rate"], true));
        assert_eq!(page_row[6], shown(&c["coverage"], true));
        assert_eq!(csv_row[2], csv_form(&c["consent_rate"], true));
        assert_eq!(csv_row[3], csv_form(&c["opt_in_rate"], true));
    }
    assert_eq!(
        categories[0][..5],
        ["analytics", "1", "1", "50.0 %", "12.5 %"].map(str::to_owned)
    );
    let by_country = table(html, "table-consent-countries");
    let json_countries = json["consent_by_country"].as_array().unwrap();
    assert_eq!(by_country.len(), json_countries.len());
    for (row, c) in by_country.iter().zip(json_countries) {
        assert_eq!(row[0], c["country"].as_str().unwrap());
        assert_eq!(row[1], c["decisions"].to_string());
        assert_eq!(row[2], c["banner_views"].to_string());
    }

    // Day by day.
    let days = table(html, "table-days");
    let days_csv = csv_rows(&files, "days.csv");
    for ((d, page_row), csv_row) in json["days"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&days)
        .zip(&days_csv)
    {
        assert_eq!(page_row[0], d["day"].as_str().unwrap());
        assert_eq!(page_row[1], d["views"].to_string());
        assert_eq!(page_row[2], shown(&d["visitors"], false));
        assert_eq!(csv_row[1], d["views"].to_string());
        assert_eq!(csv_row[4], csv_form(&d["decisions"]["accept_all"], false));
    }
    let decisions = table(html, "table-decisions");
    assert_eq!(decisions[0][1], json["decisions"]["accept_all"].to_string());
    assert_eq!(decisions[1][1], json["decisions"]["reject_all"].to_string());
}

/// The cells of the summary row of `metric`.
fn summary_row(html: &str, metric: &str) -> Vec<String> {
    let rows = table(html, "table-summary");
    let index = [
        "views",
        "visitors",
        "banner_views",
        "decisions",
        "coverage",
        "bots",
    ]
    .iter()
    .position(|m| *m == metric)
    .unwrap();
    rows[index].clone()
}

#[actix_web::test]
async fn a_filter_narrows_the_page_and_the_exports_alike() {
    let (_site, gate) = overview_gate().await;
    traffic(&gate).await;
    let ali = Operator::signed_in(&gate, "ali").await;
    let query = "range=7d&country=NL";
    let page = ali.get(&format!("/?{query}")).await;
    let json: Value = serde_json::from_str(
        &ali.get(&format!("/overview/export.json?{query}"))
            .await
            .body,
    )
    .unwrap();
    assert_eq!(json["filters"]["country"], "NL");
    assert_eq!(summary_row(&page.body, "views")[1], "6");
    assert_eq!(json["summary"][0]["value"], 6);
    // Visitors are not counted per country: the page says so instead of a figure.
    assert_eq!(summary_row(&page.body, "visitors")[1], "–");
    assert!(page.body.contains("not per page, country or referrer"));
    let paths: Vec<String> = table(&page.body, "table-paths")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(paths, ["/", "/over-ons"]);
    // A row of the table links to the same period with its filter added.
    assert!(page
        .text()
        .contains("href=\"/?range=7d&amp;path=%2Fover-ons&amp;country=NL\""));
}

/// The token the page shows once, after it was made.
fn new_token(page: &Page) -> String {
    let start = page
        .body
        .find("<code id=\"new-token\">")
        .expect("a new token")
        + 21;
    let rest = &page.body[start..];
    rest[..rest.find("</code>").unwrap()].to_owned()
}

#[actix_web::test]
async fn an_api_token_reads_the_figures_and_opens_nothing_else() {
    let (_site, gate) = overview_gate().await;
    traffic(&gate).await;
    let ali = Operator::signed_in(&gate, "ali").await;
    ali.get("/api-tokens").await;
    let made = ali
        .post("/api-tokens", &[("label", "monthly report")])
        .await;
    assert_eq!(made.status, 200);
    let token = new_token(&made);
    assert!(token.starts_with("cgt_"));
    // Shown once: the list afterwards has its label and id, never the token.
    let list = ali.get("/api-tokens").await;
    assert!(list.body.contains("monthly report") && !list.body.contains(&token));
    let bearer = format!("Bearer {token}");
    let base = gate.admin_url("");

    let (status, body) = get_bytes(
        &base,
        "/api/v1/overview?range=7d",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 200);
    let api: Value = serde_json::from_slice(&body).unwrap();
    let export: Value =
        serde_json::from_str(&ali.get("/overview/export.json?range=7d").await.body).unwrap();
    assert_eq!(api, export, "the API answers what the page shows");
    assert_eq!(api["summary"][0]["value"], 9);

    // The token is no session: every dashboard page still wants a sign-in.
    for path in [
        "/",
        "/overview/export.json",
        "/inbox",
        "/audit",
        "/api-tokens",
    ] {
        let (status, _) = get_bytes(&base, path, &[("authorization", &bearer)]).await;
        assert_eq!(status, 303, "{path} with a token");
    }
    // Reads only.
    let post = awc::Client::new()
        .post(format!("{base}/api/v1/overview"))
        .insert_header(("authorization", bearer.as_str()))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status().as_u16(), 405);
    // A bad query is a 400 with the standard body.
    let (status, body) = get_bytes(
        &base,
        "/api/v1/overview?range=forever",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["error"],
        "bad_request"
    );
    // No token, a made-up one, or one of another kind.
    for auth in [None, Some("Bearer cgt_made-up"), Some("Basic YWxpOnB3")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("authorization", a)).into_iter().collect();
        let res = awc::Client::new()
            .get(format!("{base}/api/v1/overview"))
            .insert_header(("accept", "application/json"));
        let mut res = headers
            .iter()
            .fold(res, |r, h| r.insert_header(*h))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401, "{auth:?}");
        assert!(res
            .headers()
            .get("www-authenticate")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_token");
    }

    // An operator whose role loses the figures loses the token's use too.
    let demoted = dashboard_gate()
        .store(StoreChoice::Shared(gate.store().clone()))
        .config(|c| {
            for u in &mut c.dashboard.users {
                if u.name == "ali" {
                    u.role = Role::Inbox;
                }
            }
        })
        .start()
        .await;
    let (status, _) = get_bytes(
        &demoted.admin_url(""),
        "/api/v1/overview",
        &[("authorization", &bearer)],
    )
    .await;
    assert_eq!(status, 401);
    // Nor can an inbox operator make one.
    let ida = Operator::signed_in(&gate, "ida").await;
    assert_eq!(ida.get("/api-tokens").await.status, 403);

    // Revoked, it is dead.
    let revoke = list
        .text()
        .split("action=\"")
        .map(|rest| rest.split('"').next().unwrap_or_default().to_owned())
        .find(|a| a.ends_with("/revoke"))
        .unwrap();
    assert_eq!(ali.post(&revoke, &[]).await.status, 303);
    let (status, _) = get_bytes(&base, "/api/v1/overview", &[("authorization", &bearer)]).await;
    assert_eq!(status, 401);
    assert!(ali
        .get("/api-tokens?done=revoked")
        .await
        .body
        .contains("The token was revoked."));
}
