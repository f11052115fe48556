//! Sealing form entries: XChaCha20-Poly1305 under a key derived from the secret, with the key's
//! id stored in front of the ciphertext so entries sealed before a key rotation still open.
//! The entry's form id, entry id and creation time are bound as associated data, so a
//! ciphertext copied onto another entry does not open.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// Format byte of a sealed entry: `[1][key id: 8][nonce: 24][ciphertext + tag]`.
const FORMAT_V1: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

type HmacSha256 = Hmac<Sha256>;

/// Why a stored entry could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("entry is not in a known format")]
    Format,
    #[error("entry was sealed with a key that is no longer configured")]
    UnknownKey,
    #[error("entry failed authentication (damaged or moved)")]
    Damaged,
}

struct RingKey {
    id: [u8; KEY_ID_LEN],
    aead: XChaCha20Poly1305,
}

impl RingKey {
    fn new(key: &Key) -> Self {
        Self {
            id: key_id(key),
            aead: XChaCha20Poly1305::new((&key.0).into()),
        }
    }
}

/// A short public fingerprint of a key, so the right key is found without trying them all.
fn key_id(key: &Key) -> [u8; KEY_ID_LEN] {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(b"consentgate form key id");
    let full = mac.finalize().into_bytes();
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&full[..KEY_ID_LEN]);
    id
}

/// The current sealing key plus older keys that only open.
pub struct KeyRing {
    current: RingKey,
    previous: Vec<RingKey>,
}

impl KeyRing {
    /// `current` seals new entries; `previous` (from earlier secrets) only open old ones.
    pub fn new(current: &Key, previous: &[Key]) -> Self {
        Self {
            current: RingKey::new(current),
            previous: previous.iter().map(RingKey::new).collect(),
        }
    }

    /// Encrypt `plaintext` for the entry named by `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let sealed = self
            .current
            .aead
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Encryption only fails for messages beyond ~256 GiB; entries are ≤ 64 KiB.
            .expect("XChaCha20-Poly1305 encrypts any entry-sized message");
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Decrypt an entry sealed by [`KeyRing::seal`] under any key of the ring.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER_LEN || sealed[0] != FORMAT_V1 {
            return Err(OpenError::Format);
        }
        let id = &sealed[1..1 + KEY_ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(self.previous.iter())
            .find(|k| k.id == id)
            .ok_or(OpenError::UnknownKey)?;
        let nonce = XNonce::from_slice(&sealed[1 + KEY_ID_LEN..HEADER_LEN]);
        key.aead
            .decrypt(
                nonce,
                Payload {
                    msg: &sealed[HEADER_LEN..],
                    aad,
                },
            )
            .map_err(|_| OpenError::Damaged)
    }
}

/// Keyed hash of an e-mail address for the erasure index: the store can find a person's
/// entries without holding the address in the clear. Case and surrounding space are ignored.
pub fn email_hash(key: &Key, email: &str) -> String {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&key.0).expect("HMAC takes any key length");
    mac.update(email.trim().to_lowercase().as_bytes());
    let digest = mac.finalize().into_bytes();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::derive;

    fn ring(current: &str, previous: &[&str]) -> KeyRing {
        let prev: Vec<Key> = previous.iter().map(|s| derive(s.as_bytes(), "f")).collect();
        KeyRing::new(&derive(current.as_bytes(), "f"), &prev)
    }

    #[test]
    fn sealed_entry_opens_and_hides_the_text() {
        let r = ring("a", &[]);
        let sealed = r.seal(b"Jan Jansen wants help", b"contact|1|10");
        assert!(!sealed.windows(b"Jansen".len()).any(|w| w == b"Jansen"));
        assert_eq!(
            r.open(&sealed, b"contact|1|10").unwrap(),
            b"Jan Jansen wants help"
        );
    }

    #[test]
    fn entry_moved_to_another_id_does_not_open() {
        let r = ring("a", &[]);
        let sealed = r.seal(b"x", b"contact|1|10");
        assert_eq!(r.open(&sealed, b"contact|2|10"), Err(OpenError::Damaged));
    }

    #[test]
    fn old_entries_open_after_rotation_and_new_ones_use_the_new_key() {
        let old = ring("old", &[]);
        let sealed_old = old.seal(b"before", b"aad");
        let rotated = ring("new", &["old"]);
        assert_eq!(rotated.open(&sealed_old, b"aad").unwrap(), b"before");
        let sealed_new = rotated.seal(b"after", b"aad");
        assert_eq!(old.open(&sealed_new, b"aad"), Err(OpenError::UnknownKey));
        let forgotten = ring("new", &[]);
        assert_eq!(
            forgotten.open(&sealed_old, b"aad"),
            Err(OpenError::UnknownKey)
        );
    }

    #[test]
    fn email_hash_ignores_case_and_space() {
        let k = derive(b"s", "e");
        assert_eq!(
            email_hash(&k, " Jan@Example.NL "),
            email_hash(&k, "jan@example.nl")
        );
        assert_ne!(
            email_hash(&k, "jan@example.nl"),
            email_hash(&k, "piet@example.nl")
        );
    }
}
