//! The test country database (assets/geo/test-country.mmdb): how it is made, that the maxminddb
//! crate reads it like a real GeoLite2 Country file, and the gate's country look-ups on it.
//!
//! Regenerate after changing `networks()`: `CONSENTGATE_WRITE_GEO=1 cargo test --test geo`.

mod support;

use support::gate;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use consentgate::config::PrivacyConfig;
use consentgate::privacy::{Geo, Privacy};
use gate::TestGate;
use ipnet::IpNet;
use mmdb_writer::Writer;
use serde::Serialize;

/// GeoIP2-Country-shaped record: the fields a GeoLite2 Country database carries.
#[derive(Serialize)]
struct CountryRecord {
    continent: Continent,
    country: Country,
    registered_country: Country,
}

#[derive(Serialize)]
struct Continent {
    code: &'static str,
    geoname_id: u32,
    names: BTreeMap<&'static str, &'static str>,
}

#[derive(Serialize)]
struct Country {
    geoname_id: u32,
    is_in_european_union: bool,
    iso_code: &'static str,
    names: BTreeMap<&'static str, &'static str>,
}

/// Documentation prefixes (RFC 5737, RFC 3849) so no real address is mapped.
fn networks() -> Vec<(&'static str, &'static str, u32, &'static str, &'static str)> {
    vec![
        ("192.0.2.0/24", "NL", 2750405, "Netherlands", "Nederland"),
        ("198.51.100.0/24", "DE", 2921044, "Germany", "Duitsland"),
        ("203.0.113.0/24", "BE", 2802361, "Belgium", "België"),
        ("2001:db8:1::/48", "NL", 2750405, "Netherlands", "Nederland"),
        ("2001:db8:2::/48", "FR", 3017382, "France", "Frankrijk"),
    ]
}

fn build_database() -> Vec<u8> {
    let mut writer = Writer::builder("GeoLite2-Country")
        .languages(["en", "nl"])
        .description(&[(
            "en",
            "consentgate test country database (documentation prefixes only)",
        )])
        // Fixed so the committed file is reproducible byte for byte.
        .build_epoch(UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .build();
    for (net, iso, id, en, nl) in networks() {
        let country = || Country {
            geoname_id: id,
            is_in_european_union: true,
            iso_code: iso,
            names: [("en", en), ("nl", nl)].into(),
        };
        let record = CountryRecord {
            continent: Continent {
                code: "EU",
                geoname_id: 6255148,
                names: [("en", "Europe"), ("nl", "Europa")].into(),
            },
            country: country(),
            registered_country: country(),
        };
        writer
            .insert(net.parse::<IpNet>().unwrap(), &record)
            .unwrap();
    }
    writer.to_bytes().unwrap()
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/geo/test-country.mmdb")
}

#[test]
fn committed_test_database_is_what_the_generator_makes() {
    let fresh = build_database();
    if std::env::var_os("CONSENTGATE_WRITE_GEO").is_some() {
        std::fs::write(committed_path(), &fresh).unwrap();
    }
    let committed = std::fs::read(committed_path()).expect("assets/geo/test-country.mmdb exists");
    assert!(
        committed == fresh,
        "assets/geo/test-country.mmdb is stale; regenerate it (see module doc)"
    );
}

#[test]
fn maxminddb_reads_it_like_a_geolite2_country_file() {
    let reader = maxminddb::Reader::open_readfile(committed_path()).unwrap();
    assert_eq!(reader.metadata().database_type, "GeoLite2-Country");
    let found = reader.lookup("192.0.2.44".parse().unwrap()).unwrap();
    let record: maxminddb::geoip2::Country = found.decode().unwrap().unwrap();
    assert_eq!(record.country.iso_code, Some("NL"));
    assert_eq!(record.continent.code, Some("EU"));
}

#[test]
fn country_lookups_on_the_test_database() {
    let geo = Geo::open(&committed_path()).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(geo.country(ip("192.0.2.1")).as_deref(), Some("NL"));
    assert_eq!(geo.country(ip("198.51.100.200")).as_deref(), Some("DE"));
    assert_eq!(geo.country(ip("203.0.113.9")).as_deref(), Some("BE"));
    assert_eq!(geo.country(ip("2001:db8:2:ffff::1")).as_deref(), Some("FR"));
    assert_eq!(geo.country(ip("::ffff:192.0.2.1")).as_deref(), Some("NL"));
    // Private, loopback and unknown addresses: no country, no error.
    for none in [
        "10.1.2.3",
        "192.168.1.1",
        "127.0.0.1",
        "::1",
        "8.8.8.8",
        "2001:db8:3::1",
    ] {
        assert_eq!(geo.country(ip(none)), None, "{none}");
    }
}

#[test]
fn missing_or_corrupt_database_fails_at_start_with_a_clear_message() {
    let missing = PrivacyConfig {
        geo_database: Some("/nonexistent/GeoLite2-Country.mmdb".into()),
        ..PrivacyConfig::default()
    };
    let err = Privacy::new(&missing)
        .err()
        .expect("missing file refused")
        .to_string();
    assert!(
        err.contains("privacy.geo_database") && err.contains("not found"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.mmdb");
    std::fs::write(&corrupt, b"this is not a MaxMind database at all").unwrap();
    let cfg = PrivacyConfig {
        geo_database: Some(corrupt),
        ..PrivacyConfig::default()
    };
    let err = Privacy::new(&cfg)
        .err()
        .expect("corrupt file refused")
        .to_string();
    assert!(err.contains("privacy.geo_database"), "{err}");
}

#[actix_web::test]
async fn gate_refuses_to_start_with_a_corrupt_database() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.mmdb");
    std::fs::write(&corrupt, vec![0u8; 4096]).unwrap();
    let err = TestGate::new()
        .config(move |c| c.privacy.geo_database = Some(corrupt))
        .try_start()
        .await
        .err()
        .expect("start refused");
    assert!(err.to_string().contains("privacy.geo_database"), "{err}");
}

#[actix_web::test]
async fn a_consent_receipt_keeps_the_country_and_never_the_address() {
    let gate = TestGate::new()
        .config_toml("[privacy]\ntrusted_proxies = [\"127.0.0.1/32\"]\n")
        .config(|c| c.privacy.geo_database = Some(committed_path()))
        .start()
        .await;
    let texts_hash = gate.texts_hash("nl");
    let client = awc::Client::default();
    let res = client
        .post(gate.url("/_gate/consent"))
        .insert_header(("origin", gate.origin()))
        .insert_header(("x-forwarded-for", "192.0.2.77"))
        .send_json(&serde_json::json!({"action": "accept_all", "language": "nl", "texts_hash": texts_hash}))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("cg_consent="))
        .expect("consent cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut res = client
        .get(gate.url("/_gate/consent"))
        .insert_header(("cookie", cookie))
        .send()
        .await
        .unwrap();
    let record: serde_json::Value = res.json().await.unwrap();
    assert_eq!(record["current"]["country"], "NL", "{record}");
    let text = record.to_string();
    assert!(
        !text.contains("192.0.2"),
        "receipt holds the address: {text}"
    );
    gate.stop().await;
}
