//! Session ids and the session record kept in the store.
//!
//! The id is 256 random bits, sent to the browser base64url-encoded in the session cookie. The
//! store never sees it: its key is a keyed hash of the id (`keys.session`), so a copy of the
//! store does not let anyone take over a session. The record holds the operator's name, a
//! fingerprint of their configuration entry (a changed entry ends the session), the sign-in
//! time (absolute timeout) and the time of the last request (idle timeout).

use base64::Engine;
use cookie::{Cookie, SameSite};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::keys::Key;

/// Session cookie name over HTTPS: `__Host-` makes browsers insist on Secure, Path=/ and no
/// Domain, so no other host can plant or read it.
pub const COOKIE_NAME_SECURE: &str = "__Host-cg_session";
/// Session cookie name over plain HTTP (loopback, or `secure_cookie = false`).
pub const COOKIE_NAME_PLAIN: &str = "cg_session";
/// The last-request time is written back at most this often, in seconds, so a busy page
/// does not cost a store write per request; idle expiry is exact to within this.
pub const TOUCH_INTERVAL_SECS: u64 = 60;

/// The cookie name for a response that is (or is not) Secure.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        COOKIE_NAME_SECURE
    } else {
        COOKIE_NAME_PLAIN
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, Path=/, no Max-Age (the browser forgets it
/// when it closes; the store ends it sooner).
pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((cookie_name(secure), value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

/// A cookie that makes the browser forget the session cookie (sign-out, ended session).
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// A session id: 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SessionId([u8; 32]);

impl std::fmt::Debug for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionId(..)")
    }
}

impl SessionId {
    pub(crate) fn random() -> Self {
        Self(rand::random())
    }

    /// The id in a cookie value; `None` for anything that is not exactly a well-formed id.
    pub(crate) fn parse(cookie_value: &str) -> Option<Self> {
        if cookie_value.len() != 43 {
            return None;
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cookie_value)
            .ok()?;
        bytes.try_into().ok().map(Self)
    }

    pub(crate) fn cookie_value(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0)
    }

    /// The store key: HMAC-SHA256 of the id, hex.
    pub(crate) fn store_key(&self, key: &Key) -> String {
        hex(&mac(key, b"session-id/v1", &self.0))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// HMAC-SHA256 over `label | data`; the label keeps the uses of one key apart.
pub(crate) fn mac(key: &Key, label: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(label);
    m.update(b"|");
    m.update(data);
    m.finalize().into_bytes().into()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store keeps per session (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StoredSession {
    /// Operator name.
    pub user: String,
    /// Fingerprint of the operator's configuration entry when the session began.
    pub fp: String,
    /// Sign-in time, unix seconds.
    pub created: u64,
    /// Last request (to within [`TOUCH_INTERVAL_SECS`]), unix seconds.
    pub seen: u64,
}

/// Why a request has no session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    /// No cookie, a malformed one, or one the store does not know (signed out, never existed).
    Missing,
    /// No request for `dashboard.idle_timeout`.
    IdleTimeout,
    /// `dashboard.absolute_timeout` since sign-in.
    AbsoluteTimeout,
    /// The operator's configuration entry changed or was removed since sign-in.
    Revoked,
}

/// Decide a stored session's fate at `now` (unix s): `Err` if it has ended, else whether the
/// last-request time should be written back.
pub(crate) fn check_times(
    s: &StoredSession,
    now: u64,
    idle: u64,
    absolute: u64,
) -> Result<bool, SessionEnd> {
    if now.saturating_sub(s.created) >= absolute {
        return Err(SessionEnd::AbsoluteTimeout);
    }
    if now.saturating_sub(s.seen) >= idle {
        return Err(SessionEnd::IdleTimeout);
    }
    Ok(now.saturating_sub(s.seen) >= TOUCH_INTERVAL_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: u64 = 30 * 60;
    const ABSOLUTE: u64 = 12 * 3600;

    fn stored(created: u64, seen: u64) -> StoredSession {
        StoredSession {
            user: "ann".into(),
            fp: "f".into(),
            created,
            seen,
        }
    }

    #[test]
    fn idle_and_absolute_expiry_are_decided_by_the_times_passed_in() {
        let t0 = 1_700_000_000;
        assert_eq!(
            check_times(&stored(t0, t0), t0 + 10, IDLE, ABSOLUTE),
            Ok(false)
        );
        assert_eq!(
            check_times(&stored(t0, t0), t0 + 61, IDLE, ABSOLUTE),
            Ok(true)
        );
        assert_eq!(
            check_times(&stored(t0, t0), t0 + IDLE - 1, IDLE, ABSOLUTE),
            Ok(true)
        );
        assert_eq!(
            check_times(&stored(t0, t0), t0 + IDLE, IDLE, ABSOLUTE),
            Err(SessionEnd::IdleTimeout)
        );
        // Active all along, but the absolute limit still ends it.
        let seen = t0 + ABSOLUTE - 5;
        assert_eq!(
            check_times(&stored(t0, seen), t0 + ABSOLUTE, IDLE, ABSOLUTE),
            Err(SessionEnd::AbsoluteTimeout)
        );
        // A clock that stepped back does not end or extend anything.
        assert_eq!(
            check_times(&stored(t0, t0), t0 - 100, IDLE, ABSOLUTE),
            Ok(false)
        );
    }

    #[test]
    fn ids_round_trip_through_the_cookie_and_junk_is_refused() {
        let id = SessionId::random();
        let value = id.cookie_value();
        assert_eq!(value.len(), 43);
        assert_eq!(SessionId::parse(&value), Some(id.clone()));
        assert_ne!(SessionId::random(), id);
        for junk in [
            "",
            "x",
            &value[1..],
            &format!("{value}A"),
            &value.replace(|_| true, "!"),
        ] {
            assert_eq!(SessionId::parse(junk), None, "{junk}");
        }
        let key = Key([7; 32]);
        assert_eq!(id.store_key(&key).len(), 64);
        assert!(
            !id.store_key(&key).contains(&value),
            "the store key is not the id"
        );
    }

    #[test]
    fn session_cookie_is_host_only_http_only_and_strict() {
        let c = session_cookie("v".into(), true);
        assert_eq!(c.name(), "__Host-cg_session");
        let text = c.to_string();
        for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(text.contains(part), "{text}");
        }
        assert!(!text.contains("Domain"), "{text}");
        let plain = session_cookie("v".into(), false);
        assert_eq!(plain.name(), "cg_session");
        assert!(!plain.to_string().contains("Secure"));
        assert!(removal_cookie(true).to_string().contains("Max-Age=0"));
    }
}
