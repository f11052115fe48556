//! CSRF tokens: one per session, derived from the session id with a keyed hash (so nothing
//! extra is stored, and the token says nothing about the id), compared in constant time.
//! Every state-changing request carries it in a hidden form field.

use base64::Engine;

use super::session::{mac, SessionId};
use crate::keys::Key;

const LABEL: &[u8] = b"csrf/v1";

/// The session's token (base64url, 43 characters).
pub(crate) fn token(key: &Key, id: &SessionId) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac(key, LABEL, id.bytes()))
}

/// Whether `presented` is the session's token.
pub(crate) fn verify(key: &Key, id: &SessionId, presented: &str) -> bool {
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(presented.trim())
    else {
        return false;
    };
    let expected = mac(key, LABEL, id.bytes());
    bytes.len() == expected.len()
        && bool::from(subtle::ConstantTimeEq::ct_eq(
            bytes.as_slice(),
            expected.as_slice(),
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_belongs_to_one_session_and_one_key() {
        let key = Key([1; 32]);
        let id = SessionId::random();
        let t = token(&key, &id);
        assert!(verify(&key, &id, &t));
        assert!(!verify(&key, &SessionId::random(), &t), "another session");
        assert!(!verify(&Key([2; 32]), &id, &t), "another secret");
        for wrong in ["", "x", &t[1..], &format!("{t}A"), "%%%%"] {
            assert!(!verify(&key, &id, wrong), "{wrong}");
        }
        assert_ne!(t, id.cookie_value());
    }
}
