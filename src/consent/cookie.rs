//! The `cg_consent` cookie: `v2.<id>.<categories>.<revision>.<issued>.<mac>`.
//!
//! `categories` are the granted optional categories joined with `~` (empty when none): category
//! ids are `[a-z0-9_-]`, so `~` (a cookie-octet, RFC 6265 §4.1.1) never occurs in one, and
//! `marketing-email` can no longer be read as `marketing` + `email` — the flaw of `v1`, which
//! joined them with `-`. `issued` is Unix seconds; `mac` is HMAC-SHA256 over everything before
//! it, base64url without padding. Decoding is strict: any field out of shape, or a category this
//! gate does not offer, makes the whole cookie invalid. A `v1` cookie counts as no consent (the
//! visitor is asked again) but still names its receipt. Only the gate can vouch for a cookie:
//! the page acts on the categories the gate verified, never on the cookie's text.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// Name of the consent cookie.
pub const COOKIE_NAME: &str = "cg_consent";
const VERSION: &str = "v2";
/// The format before category ids were separated by `~`: still verified, to find its receipt.
const OLD_VERSION: &str = "v1";
/// Separates granted categories; category ids cannot contain it.
const SEPARATOR: char = '~';

/// What a valid consent cookie says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentCookie {
    /// Receipt id (base64url, 128 random bits).
    pub id: String,
    /// Granted optional categories (never contains "necessary").
    pub granted: Vec<String>,
    /// Policy revision the decision was made under.
    pub revision: u32,
    /// When the decision was made, Unix seconds.
    pub issued: u64,
}

/// Why a cookie does not count as consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieRejection {
    #[error("malformed consent cookie")]
    Malformed,
    #[error("consent cookie signature does not verify")]
    BadMac,
    #[error("consent cookie has expired")]
    Expired,
    #[error("consent cookie is for an older policy revision")]
    OldRevision,
    #[error("consent cookie is in an older format")]
    OldFormat,
    #[error("consent cookie grants a category this site does not offer")]
    UnknownCategory,
}

/// Signs and verifies consent cookies with the key derived for that purpose.
#[derive(Clone)]
pub struct CookieCodec {
    key: Key,
    lifetime: Duration,
    revision: u32,
    /// The optional categories the site offers: a cookie granting any other is invalid.
    known: Vec<String>,
}

impl CookieCodec {
    /// `lifetime`: how long a decision holds; `revision`: the current policy revision; `known`:
    /// the optional category ids the site offers.
    pub fn new(key: Key, lifetime: Duration, revision: u32, known: Vec<String>) -> Self {
        Self {
            key,
            lifetime,
            revision,
            known,
        }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(payload.as_bytes());
        mac
    }

    /// The cookie value for a decision.
    pub fn encode(&self, c: &ConsentCookie) -> String {
        let payload = format!(
            "{VERSION}.{}.{}.{}.{}",
            c.id,
            c.granted.join(&SEPARATOR.to_string()),
            c.revision,
            c.issued
        );
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The five fields before the MAC, if the MAC verifies: `[version, id, categories,
    /// revision, issued]`.
    fn signed_fields<'v>(&self, value: &'v str) -> Result<[&'v str; 5], CookieRejection> {
        let (payload, tag) = value.rsplit_once('.').ok_or(CookieRejection::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| CookieRejection::Malformed)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| CookieRejection::BadMac)?;
        let parts: Vec<&str> = payload.split('.').collect();
        let [version, id, cats, revision, issued] = parts[..] else {
            return Err(CookieRejection::Malformed);
        };
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(CookieRejection::Malformed);
        }
        Ok([version, id, cats, revision, issued])
    }

    /// Verify MAC and shape (no expiry, revision or category check): used to show a visitor
    /// their own record. Only the current format.
    pub fn verify(&self, value: &str) -> Result<ConsentCookie, CookieRejection> {
        let [version, id, cats, revision, issued] = self.signed_fields(value)?;
        if version == OLD_VERSION {
            return Err(CookieRejection::OldFormat);
        }
        if version != VERSION {
            return Err(CookieRejection::Malformed);
        }
        Ok(ConsentCookie {
            id: id.to_owned(),
            granted: parse_categories(cats)?,
            revision: parse_number(revision)?,
            issued: parse_number(issued)?,
        })
    }

    /// The receipt id a cookie of this or the older format names, if its MAC verifies: a
    /// returning visitor keeps one history, and can see it, across the format change.
    pub fn receipt_id(&self, value: &str) -> Option<String> {
        let [version, id, ..] = self.signed_fields(value).ok()?;
        (version == VERSION || version == OLD_VERSION).then(|| id.to_owned())
    }

    /// Verify MAC, shape, lifetime, revision and categories at `now` (Unix seconds): the only
    /// way a cookie counts as consent.
    pub fn decode(&self, value: &str, now: u64) -> Result<ConsentCookie, CookieRejection> {
        let c = self.verify(value)?;
        if c.revision != self.revision {
            return Err(CookieRejection::OldRevision);
        }
        if now >= c.issued.saturating_add(self.lifetime.as_secs()) {
            return Err(CookieRejection::Expired);
        }
        if !c.granted.iter().all(|g| self.known.contains(g)) {
            return Err(CookieRejection::UnknownCategory);
        }
        Ok(c)
    }

    /// When a decision issued at `issued` (Unix seconds) stops counting, Unix seconds.
    pub fn expires(&self, issued: u64) -> u64 {
        issued.saturating_add(self.lifetime.as_secs())
    }
}

/// `a~b~c` (empty: none) into category ids: each non-empty, `[a-z0-9_-]`, none twice.
fn parse_categories(field: &str) -> Result<Vec<String>, CookieRejection> {
    if field.is_empty() {
        return Ok(Vec::new());
    }
    let mut granted: Vec<String> = Vec::new();
    for id in field.split(SEPARATOR) {
        let valid = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !valid || granted.iter().any(|g| g == id) {
            return Err(CookieRejection::Malformed);
        }
        granted.push(id.to_owned());
    }
    Ok(granted)
}

/// A decimal number as the gate writes it: digits only, no sign, no leading `+`.
fn parse_number<T: std::str::FromStr>(field: &str) -> Result<T, CookieRejection> {
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CookieRejection::Malformed);
    }
    field.parse().map_err(|_| CookieRejection::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn known() -> Vec<String> {
        ["analytics", "marketing", "marketing-email", "video_embeds"]
            .map(String::from)
            .to_vec()
    }

    fn codec(revision: u32) -> CookieCodec {
        CookieCodec::new(
            crate::keys::derive(
                b"a test secret that is long enough!",
                "consent-cookie-mac/v1",
            ),
            Duration::from_secs(180 * DAY),
            revision,
            known(),
        )
    }

    /// A value in any shape, signed with the test key: what only a bug of ours could issue.
    fn signed(c: &CookieCodec, payload: &str) -> String {
        let tag = c.mac(payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    fn sample() -> ConsentCookie {
        ConsentCookie {
            id: "AAAAAAAAAAAAAAAAAAAAAA".into(),
            granted: vec!["analytics".into(), "video_embeds".into()],
            revision: 3,
            issued: 1_700_000_000,
        }
    }

    #[test]
    fn round_trip_keeps_the_decision() {
        let c = codec(3);
        let value = c.encode(&sample());
        assert!(value.starts_with("v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~video_embeds.3.1700000000."));
        assert_eq!(c.decode(&value, 1_700_000_100), Ok(sample()));
    }

    #[test]
    fn no_granted_categories_round_trips() {
        let c = codec(3);
        let mut s = sample();
        s.granted.clear();
        assert_eq!(c.decode(&c.encode(&s), 1_700_000_100), Ok(s));
    }

    #[test]
    fn tampered_categories_do_not_count() {
        let c = codec(3);
        let value = c.encode(&sample());
        let forged = value.replace(".analytics~video_embeds.", ".analytics~marketing.");
        assert_eq!(
            c.decode(&forged, 1_700_000_100),
            Err(CookieRejection::BadMac)
        );
    }

    #[test]
    fn another_key_does_not_verify() {
        let value = codec(3).encode(&sample());
        let other = CookieCodec::new(
            crate::keys::derive(
                b"another secret that is long enough",
                "consent-cookie-mac/v1",
            ),
            Duration::from_secs(180 * DAY),
            3,
            known(),
        );
        assert_eq!(
            other.decode(&value, 1_700_000_100),
            Err(CookieRejection::BadMac)
        );
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let c = codec(3);
        for v in ["", ".", "v1", "v1.a.b.c.d.e.f", "v1....!!", "v1.x..3.1.%%%"] {
            assert!(c.decode(v, 0).is_err(), "{v:?}");
        }
    }

    #[test]
    fn expired_cookie_does_not_count() {
        let c = codec(3);
        let value = c.encode(&sample());
        assert!(c.decode(&value, 1_700_000_000 + 180 * DAY - 1).is_ok());
        assert_eq!(
            c.decode(&value, 1_700_000_000 + 180 * DAY),
            Err(CookieRejection::Expired)
        );
    }

    #[test]
    fn older_policy_revision_does_not_count_but_still_verifies() {
        let value = codec(2).encode(&ConsentCookie {
            revision: 2,
            ..sample()
        });
        assert_eq!(
            codec(3).decode(&value, 1_700_000_100),
            Err(CookieRejection::OldRevision)
        );
        assert!(codec(3).verify(&value).is_ok());
    }

    #[test]
    fn a_category_with_a_dash_is_one_category() {
        let c = codec(3);
        let email_only = ConsentCookie {
            granted: vec!["marketing-email".into()],
            ..sample()
        };
        let value = c.encode(&email_only);
        assert!(value.contains(".marketing-email."), "{value}");
        let decoded = c.decode(&value, 1_700_000_100).unwrap();
        assert_eq!(decoded.granted, vec!["marketing-email"]);
        assert!(!decoded.granted.contains(&"marketing".to_owned()));
    }

    #[test]
    fn the_separator_is_a_cookie_octet_no_category_id_can_contain() {
        // RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
        let b = SEPARATOR as u32;
        assert!(matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E));
        assert!(!crate::config::valid_category(&SEPARATOR.to_string()));
        assert!(!crate::config::valid_category("a~b"));
    }

    #[test]
    fn decoding_is_strict() {
        let c = codec(3);
        for payload in [
            // Empty category between separators, a trailing separator, a repeated category.
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~~marketing.3.1700000000",
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~.3.1700000000",
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~analytics.3.1700000000",
            // Characters no category id has; numbers with a sign; an empty id; a sixth field.
            "v2.AAAAAAAAAAAAAAAAAAAAAA.Analytics.3.1700000000",
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics.+3.1700000000",
            "v2..analytics.3.1700000000",
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics.3.1700000000.x",
            "v3.AAAAAAAAAAAAAAAAAAAAAA.analytics.3.1700000000",
        ] {
            let value = signed(&c, payload);
            assert_eq!(
                c.decode(&value, 1_700_000_100),
                Err(CookieRejection::Malformed),
                "{payload}"
            );
        }
    }

    #[test]
    fn a_category_the_site_does_not_offer_makes_the_cookie_invalid() {
        let c = codec(3);
        let value = signed(
            &c,
            "v2.AAAAAAAAAAAAAAAAAAAAAA.analytics~recordings.3.1700000000",
        );
        assert_eq!(
            c.decode(&value, 1_700_000_100),
            Err(CookieRejection::UnknownCategory)
        );
    }

    #[test]
    fn the_old_format_is_no_consent_but_still_names_its_receipt() {
        let c = codec(3);
        let old = signed(
            &c,
            "v1.AAAAAAAAAAAAAAAAAAAAAA.analytics-marketing.3.1700000000",
        );
        assert_eq!(
            c.decode(&old, 1_700_000_100),
            Err(CookieRejection::OldFormat)
        );
        assert_eq!(
            c.receipt_id(&old).as_deref(),
            Some("AAAAAAAAAAAAAAAAAAAAAA")
        );
        let forged = old.replace("v1.AAAA", "v1.BAAA");
        assert_eq!(c.receipt_id(&forged), None);
    }
}
