//! Sub-keys derived from the one configured secret (HKDF-SHA256), one per purpose, so a key
//! leaked from one feature (say, the consent-cookie MAC) says nothing about another (form
//! encryption). Nothing outside this module sees the secret itself.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::config::Secret;

/// A 256-bit key for one purpose.
#[derive(Clone)]
pub struct Key(pub [u8; 32]);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Derive the key for `purpose` (e.g. `"consent-cookie-mac/v1"`) from raw secret bytes.
pub fn derive(secret: &[u8], purpose: &str) -> Key {
    let hk = Hkdf::<Sha256>::new(Some(b"consentgate"), secret);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte output limit, so expand cannot fail.
    hk.expand(purpose.as_bytes(), &mut out)
        .expect("32-byte HKDF output is always valid");
    Key(out)
}

/// Purpose of the key that wraps forms' per-day data keys.
pub const FORM_DATA_KEY_WRAP: &str = "form-data-key-wrap/v1";
/// Purpose of the key that seals data-subject requests.
pub const DSR_SEALING: &str = "dsr-sealing/v1";

/// All keys the gate uses, derived once at start.
#[derive(Clone, Debug)]
pub struct Keys {
    /// HMAC key for the `cg_consent` cookie.
    pub consent_cookie: Key,
    /// AEAD key for contact-form entries sealed before per-day data keys (opening only).
    pub form_encryption: Key,
    /// AEAD key that wraps the per-day data keys of contact-form entries.
    pub form_data_key_wrap: Key,
    /// AEAD key for what the register of data-subject requests stores.
    pub dsr_sealing: Key,
    /// HMAC key for dashboard session ids and CSRF tokens.
    pub session: Key,
    /// HMAC key for form fill-time tokens.
    pub form_token: Key,
    /// Key for hashing e-mail addresses into the erasure index.
    pub email_index: Key,
    /// Key of the in-request visitor hash of the unique count (hashed again under the
    /// day's salt before anything is stored).
    pub visitor_hash: Key,
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        let s = secret.expose();
        Self {
            consent_cookie: derive(s, "consent-cookie-mac/v1"),
            form_encryption: derive(s, "form-encryption/v1"),
            form_data_key_wrap: derive(s, FORM_DATA_KEY_WRAP),
            dsr_sealing: derive(s, DSR_SEALING),
            session: derive(s, "dashboard-session/v1"),
            form_token: derive(s, "form-fill-token/v1"),
            email_index: derive(s, "form-email-index/v1"),
            visitor_hash: derive(s, "stats-visitor-hash/v1"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_independent_keys_and_derivation_is_stable() {
        let a = derive(b"the same secret, long enough to use", "a");
        let b = derive(b"the same secret, long enough to use", "b");
        let a2 = derive(b"the same secret, long enough to use", "a");
        assert_ne!(a.0, b.0);
        assert_eq!(a.0, a2.0);
        assert_ne!(a.0, derive(b"another secret, also long enough!!", "a").0);
    }
}
