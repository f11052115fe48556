//! A consent record in the shape of ISO/IEC TS 27560:2023 (consent record information
//! structure): a pure function from a consent id's receipts to JSON a regulator can read.
//!
//! The field names are those of the TS (clause 6.3: record header, PII processing, event
//! sections), in snake_case. One record per consent id; one event per decision and category
//! (purpose). What the TS asks for that the gate does not know (the controller's name,
//! address and contact: `pii_controllers`, `party_identification`) is left out; README.md
//! ("Answering the regulator") lists every field and where its value comes from.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};

use super::archive::{ShownContent, ShownTexts};
use super::model::{Action, Receipt};

/// `schema_version` of every exported record.
pub const SCHEMA_VERSION: &str = "ISO/IEC TS 27560:2023";
/// How a decision is expressed: by pressing a button in the banner.
const EVENT_TYPE: &str = "expressed";
const LAWFUL_BASIS: &str = "consent";
const LAWFUL_BASIS_REFERENCE: &str =
    "GDPR art. 6(1)(a); ePrivacy Directive 2002/58/EC art. 5(3) (cookies and similar)";
const PII_TYPE: &str = "online identifiers stored in or read from the visitor's browser (cookies)";
const COLLECTION_METHOD: &str =
    "set and read by the vendor's script in the visitor's browser, only after consent to this purpose";
const WITHDRAWAL_METHOD: &str = "the \"Cookie settings\" button on every page of the website reopens the banner; withdrawing is one click, as easy as consenting";

/// What the mapping needs besides the receipts.
pub struct Iso27560Context<'a> {
    /// `consent.privacy_statement_url`.
    pub privacy_statement: &'a str,
    /// `consent.cookie_lifetime`: how long a decision holds before the banner asks again.
    pub validity: Duration,
    /// `consent.cookie_lifetime + consent.proof_retention`: how long a receipt is kept.
    pub record_retention: Duration,
    /// Archived banner texts, by texts hash (those that could be read).
    pub archived: &'a BTreeMap<String, ShownTexts>,
    /// The banner's current texts by language, for a version the archive no longer has.
    pub current: &'a BTreeMap<String, ShownContent>,
}

/// ISO 8601 duration in seconds, e.g. `PT15780096S`.
fn iso_duration(d: Duration) -> String {
    format!("PT{}S", d.as_secs())
}

/// The TS 27560 record of one consent id. `history` is the id's receipts, oldest first (as
/// the store keeps them); an empty history gives a record with no events.
pub fn record(id: &str, history: &[Receipt], ctx: &Iso27560Context<'_>) -> Value {
    let latest = history.last();
    let language = latest.map_or("", |r| r.language.as_str());
    // Names and vendors of purposes as the visitor last saw them.
    let content = latest
        .and_then(|r| ctx.archived.get(&r.texts_hash).map(|t| &t.content))
        .or_else(|| ctx.current.get(language));

    let mut purpose_ids: Vec<&str> = Vec::new();
    for r in history {
        for c in r.granted.iter().chain(&r.refused) {
            if !purpose_ids.contains(&c.as_str()) {
                purpose_ids.push(c);
            }
        }
    }
    let purposes: Vec<Value> = purpose_ids.iter().map(|id| purpose(id, content)).collect();

    let mut notices: Vec<Value> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for r in history {
        if seen.contains(&r.texts_hash.as_str()) {
            continue;
        }
        seen.push(&r.texts_hash);
        notices.push(notice(r, ctx));
    }

    let mut events = Vec::new();
    let mut given: Vec<&str> = Vec::new();
    for r in history {
        for c in &r.granted {
            events.push(event(id, r, c, "consent given", ctx));
            if !given.contains(&c.as_str()) {
                given.push(c);
            }
        }
        for c in &r.refused {
            // Refusing what was given before is a withdrawal, whichever button did it.
            let state = if given.contains(&c.as_str()) || r.action == Action::Withdraw {
                "consent withdrawn"
            } else {
                "consent refused"
            };
            events.push(event(id, r, c, state, ctx));
            given.retain(|g| g != c);
        }
    }

    json!({
        "schema_version": SCHEMA_VERSION,
        "record_id": id,
        "pii_principal_id": id,
        "pii_processing": {
            "privacy_notice": notices,
            "language": language,
            "purposes": purposes,
        },
        "events": events,
        "record_retention_period": iso_duration(ctx.record_retention),
    })
}

fn purpose(id: &str, content: Option<&ShownContent>) -> Value {
    let category = content.and_then(|c| c.categories.iter().find(|k| k.id == id));
    let vendors: Vec<Value> = content
        .map(|c| {
            c.vendors
                .iter()
                .filter(|v| v.category == id)
                .map(|v| {
                    json!({
                        "party_name": v.name,
                        "purpose": v.description,
                        "pii_attribute_id": v.cookies,
                        "retention_period": c.texts.get(&format!("retention.{}", v.id)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let cookies: Vec<&String> = content
        .map(|c| {
            c.vendors
                .iter()
                .filter(|v| v.category == id)
                .flat_map(|v| &v.cookies)
                .collect()
        })
        .unwrap_or_default();
    json!({
        "purpose": id,
        "purpose_name": category.map(|c| c.name.as_str()),
        "purpose_description": category.map(|c| c.description.as_str()),
        "lawful_basis": LAWFUL_BASIS,
        "lawful_basis_reference": LAWFUL_BASIS_REFERENCE,
        "pii_information": [{ "pii_type": PII_TYPE, "pii_attribute_id": cookies }],
        "collection_method": COLLECTION_METHOD,
        "recipient_third_parties": vendors,
        "withdrawal_method": WITHDRAWAL_METHOD,
    })
}

fn notice(r: &Receipt, ctx: &Iso27560Context<'_>) -> Value {
    let archived = ctx.archived.get(&r.texts_hash);
    json!({
        "url": ctx.privacy_statement,
        "policy_revision": r.policy_revision,
        "language": r.language,
        "texts_sha256": r.texts_hash,
        "texts_archived": archived.is_some(),
        "texts_verified": archived.map(|t| t.verified),
        "first_used": archived.map(|t| super::rfc3339(t.first_used)),
        "last_used": archived.map(|t| super::rfc3339(t.last_used)),
        "texts": archived.map(|t| &t.content),
    })
}

fn event(id: &str, r: &Receipt, purpose: &str, state: &str, ctx: &Iso27560Context<'_>) -> Value {
    json!({
        "event_time": r.time,
        "validity_duration": iso_duration(ctx.validity),
        "entity_id": id,
        "event_type": EVENT_TYPE,
        "event_state": state,
        "purpose": purpose,
        "action": r.action.as_str(),
        "policy_revision": r.policy_revision,
        "texts_sha256": r.texts_hash,
        "country": r.country,
        "global_privacy_control": r.gpc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consent::archive::{ShownCategory, ShownVendor};

    fn receipt(action: Action, granted: &[&str], refused: &[&str], time: &str) -> Receipt {
        Receipt {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            time: time.into(),
            action,
            granted: granted.iter().map(|s| s.to_string()).collect(),
            refused: refused.iter().map(|s| s.to_string()).collect(),
            policy_revision: 2,
            language: "nl".into(),
            texts_hash: "h1".into(),
            country: Some("NL".into()),
            gpc: false,
        }
    }

    fn content() -> ShownContent {
        ShownContent {
            texts: BTreeMap::from([("retention.google_analytics".to_owned(), "2 jaar".to_owned())]),
            categories: vec![ShownCategory {
                id: "analytics".into(),
                name: "Statistieken".into(),
                description: "Telt bezoeken.".into(),
            }],
            vendors: vec![ShownVendor {
                id: "google_analytics".into(),
                name: "Google Analytics".into(),
                description: "Meet bezoek.".into(),
                category: "analytics".into(),
                cookies: vec!["_ga".into(), "_ga_*".into()],
                hosts: vec!["google-analytics.com".into()],
            }],
            privacy: "/privacy".into(),
        }
    }

    fn archived() -> BTreeMap<String, ShownTexts> {
        BTreeMap::from([(
            "h1".to_owned(),
            ShownTexts {
                hash: "h1".into(),
                verified: true,
                revision: 2,
                language: "nl".into(),
                first_used: 1_700_000_000,
                last_used: 1_700_000_100,
                content: content(),
            },
        )])
    }

    #[test]
    fn each_decision_becomes_events_per_purpose_with_the_ts_field_names() {
        let history = vec![
            receipt(
                Action::AcceptAll,
                &["analytics", "marketing"],
                &[],
                "2026-01-01T10:00:00Z",
            ),
            receipt(
                Action::Custom,
                &["analytics"],
                &["marketing"],
                "2026-02-01T10:00:00Z",
            ),
            receipt(
                Action::Withdraw,
                &[],
                &["analytics", "marketing"],
                "2026-03-01T10:00:00Z",
            ),
        ];
        let archived = archived();
        let current = BTreeMap::new();
        let ctx = Iso27560Context {
            privacy_statement: "/privacy",
            validity: Duration::from_secs(15_780_096),
            record_retention: Duration::from_secs(47_316_096),
            archived: &archived,
            current: &current,
        };
        let r = record("AAAAAAAAAAAAAAAAAAAAAA", &history, &ctx);
        assert_eq!(r["schema_version"], SCHEMA_VERSION);
        assert_eq!(r["record_id"], "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(r["pii_principal_id"], "AAAAAAAAAAAAAAAAAAAAAA");
        let states: Vec<(&str, &str)> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["purpose"].as_str().unwrap(),
                    e["event_state"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                ("analytics", "consent given"),
                ("marketing", "consent given"),
                ("analytics", "consent given"),
                ("marketing", "consent withdrawn"),
                ("analytics", "consent withdrawn"),
                ("marketing", "consent withdrawn"),
            ]
        );
        let first = &r["events"][0];
        assert_eq!(first["event_time"], "2026-01-01T10:00:00Z");
        assert_eq!(first["validity_duration"], "PT15780096S");
        assert_eq!(first["event_type"], "expressed");
        assert_eq!(first["texts_sha256"], "h1");
        let purposes = r["pii_processing"]["purposes"].as_array().unwrap();
        assert_eq!(purposes[0]["purpose"], "analytics");
        assert_eq!(purposes[0]["purpose_name"], "Statistieken");
        assert_eq!(purposes[0]["lawful_basis"], "consent");
        assert_eq!(
            purposes[0]["recipient_third_parties"][0]["party_name"],
            "Google Analytics"
        );
        assert_eq!(
            purposes[0]["recipient_third_parties"][0]["retention_period"],
            "2 jaar"
        );
        assert_eq!(
            purposes[0]["pii_information"][0]["pii_attribute_id"],
            json!(["_ga", "_ga_*"])
        );
        let notices = r["pii_processing"]["privacy_notice"].as_array().unwrap();
        assert_eq!(notices.len(), 1, "one notice per texts version");
        assert_eq!(notices[0]["texts_verified"], true);
        assert_eq!(notices[0]["texts"]["categories"][0]["name"], "Statistieken");
        assert_eq!(notices[0]["first_used"], "2023-11-14T22:13:20Z");
        assert_eq!(r["record_retention_period"], "PT47316096S");
    }

    #[test]
    fn a_first_refusal_is_refused_not_withdrawn_and_missing_texts_are_said_so() {
        let history = vec![receipt(
            Action::RejectAll,
            &[],
            &["analytics"],
            "2026-01-01T10:00:00Z",
        )];
        let archived = BTreeMap::new();
        let current = BTreeMap::from([("nl".to_owned(), content())]);
        let ctx = Iso27560Context {
            privacy_statement: "/privacy",
            validity: Duration::from_secs(60),
            record_retention: Duration::from_secs(120),
            archived: &archived,
            current: &current,
        };
        let r = record("x", &history, &ctx);
        assert_eq!(r["events"][0]["event_state"], "consent refused");
        assert_eq!(
            r["pii_processing"]["privacy_notice"][0]["texts_archived"],
            false
        );
        assert_eq!(
            r["pii_processing"]["privacy_notice"][0]["texts"],
            Value::Null
        );
        // Purpose names then come from the current texts.
        assert_eq!(
            r["pii_processing"]["purposes"][0]["purpose_name"],
            "Statistieken"
        );
        let text = r.to_string();
        for never in ["ip", "user_agent", "email"] {
            assert!(!text.contains(&format!("\"{never}\"")), "{never} in {text}");
        }
    }
}
