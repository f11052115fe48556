//! The `cg_consent` cookie: `v1.<id>.<categories>.<revision>.<issued>.<mac>`.
//!
//! `categories` are the granted optional categories joined with `-` (empty when none);
//! `issued` is Unix seconds; `mac` is HMAC-SHA256 over everything before it, base64url without
//! padding. banner.js reads the granted categories from it; only the gate can vouch for it.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// Name of the consent cookie.
pub const COOKIE_NAME: &str = "cg_consent";
const VERSION: &str = "v1";

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
}

/// Signs and verifies consent cookies with the key derived for that purpose.
#[derive(Clone)]
pub struct CookieCodec {
    key: Key,
    lifetime: Duration,
    revision: u32,
}

impl CookieCodec {
    /// `lifetime`: how long a decision holds; `revision`: the current policy revision.
    pub fn new(key: Key, lifetime: Duration, revision: u32) -> Self {
        Self {
            key,
            lifetime,
            revision,
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
            c.granted.join("-"),
            c.revision,
            c.issued
        );
        let tag = self.mac(&payload).finalize().into_bytes();
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// Verify MAC only (no expiry or revision check): used to show a visitor their own record.
    pub fn verify(&self, value: &str) -> Result<ConsentCookie, CookieRejection> {
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
        if version != VERSION || id.is_empty() {
            return Err(CookieRejection::Malformed);
        }
        let granted = cats
            .split('-')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(ConsentCookie {
            id: id.to_owned(),
            granted,
            revision: revision.parse().map_err(|_| CookieRejection::Malformed)?,
            issued: issued.parse().map_err(|_| CookieRejection::Malformed)?,
        })
    }

    /// Verify MAC, lifetime and revision at `now` (Unix seconds): the only way a cookie counts
    /// as consent.
    pub fn decode(&self, value: &str, now: u64) -> Result<ConsentCookie, CookieRejection> {
        let c = self.verify(value)?;
        if c.revision != self.revision {
            return Err(CookieRejection::OldRevision);
        }
        if now >= c.issued.saturating_add(self.lifetime.as_secs()) {
            return Err(CookieRejection::Expired);
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    fn codec(revision: u32) -> CookieCodec {
        CookieCodec::new(
            crate::keys::derive(
                b"a test secret that is long enough!",
                "consent-cookie-mac/v1",
            ),
            Duration::from_secs(180 * DAY),
            revision,
        )
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
        assert!(value.starts_with("v1.AAAAAAAAAAAAAAAAAAAAAA.analytics-video_embeds.3.1700000000."));
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
        let forged = value.replace(".analytics-video_embeds.", ".analytics-marketing.");
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
}
