//! Sealing form entries with XChaCha20-Poly1305. The entry's form id, entry id and creation
//! time are bound as associated data, so a ciphertext copied onto another entry does not open.
//!
//! Entries are sealed under a random **per-day data key** (format 2): one 256-bit key per form
//! and UTC day, kept in the store only wrapped (sealed by a [`KeyRing`] under a key derived
//! from the secret) and expiring with the last entry of its day. Once it has expired, every
//! copy of that day's entries — in an AOF file, an RDB snapshot, a backup — is noise, even to
//! someone who holds the secret. The entry names its day and the id of the wrapping key, so
//! the right data key is found, also after a secret rotation.
//!
//! Entries sealed before data keys existed (format 1: directly under the secret-derived key,
//! its id in front) still open through the [`KeyRing`].

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// Format byte of a sealed entry: `[1][key id: 8][nonce: 24][ciphertext + tag]`.
const FORMAT_V1: u8 = 1;
/// Format byte of an entry under a per-day data key:
/// `[2][day: 4, big-endian days since 1970-01-01][wrapping key id: 8][nonce: 24][ciphertext + tag]`.
const FORMAT_V2: u8 = 2;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;
const DAY_LEN: usize = 4;
const HEADER_V2_LEN: usize = 1 + DAY_LEN + KEY_ID_LEN + NONCE_LEN;

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
    /// The data key of the entry's day is gone: its retention has passed.
    #[error("the data key of the entry's day has expired (its retention has passed)")]
    KeyExpired,
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

    /// Encrypt `plaintext` for the record named by `aad`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + 16);
        out.push(FORMAT_V1);
        out.extend_from_slice(&self.current.id);
        encrypt_into(&self.current.aead, plaintext, aad, &mut out);
        out
    }

    /// The id of the key that seals: what a data key's name carries so that it is found again.
    pub fn current_id(&self) -> [u8; KEY_ID_LEN] {
        self.current.id
    }

    /// `key` sealed for storage (the data key `name` of a form).
    pub fn wrap(&self, key: &Key, name: &[u8]) -> Vec<u8> {
        self.seal(&key.0, name)
    }

    /// A data key from [`KeyRing::wrap`], under any key of the ring.
    pub fn unwrap(&self, wrapped: &[u8], name: &[u8]) -> Result<Key, OpenError> {
        let bytes = self.open(wrapped, name)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| OpenError::Format)?;
        Ok(Key(key))
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

/// A fresh random 256-bit data key.
pub fn new_data_key() -> Key {
    Key(rand::random())
}

/// Appends `[nonce][ciphertext + tag]` of `plaintext` under `aead` to `out`.
fn encrypt_into(aead: &XChaCha20Poly1305, plaintext: &[u8], aad: &[u8], out: &mut Vec<u8>) {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let sealed = aead
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        // Encryption only fails for messages beyond ~256 GiB; entries are ≤ 64 KiB.
        .expect("XChaCha20-Poly1305 encrypts any entry-sized message");
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
}

/// Which data key an entry of format 2 was sealed under: its UTC day and the id of the key
/// that wrapped the data key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// Days since 1970-01-01 (UTC).
    pub day: u32,
    pub wrap_id: [u8; KEY_ID_LEN],
}

impl Period {
    /// The period of an entry created at `unix` seconds, under the wrapping key `wrap_id`.
    pub fn of(unix: u64, wrap_id: [u8; KEY_ID_LEN]) -> Period {
        Period {
            day: u32::try_from(unix / 86_400).unwrap_or(u32::MAX),
            wrap_id,
        }
    }

    /// The data key's name in the store: `2026-11-22:<wrapping key id in hex>`.
    pub fn name(&self) -> String {
        let day = crate::clock::utc_date(u64::from(self.day) * 86_400);
        let id: String = self.wrap_id.iter().map(|b| format!("{b:02x}")).collect();
        format!("{day}:{id}")
    }

    /// When the day ends, unix seconds.
    pub fn day_end(&self) -> u64 {
        (u64::from(self.day) + 1) * 86_400
    }
}

/// Seal an entry under the data key of `period`.
pub fn seal_in_period(key: &Key, period: &Period, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let aead = XChaCha20Poly1305::new((&key.0).into());
    let mut out = Vec::with_capacity(HEADER_V2_LEN + plaintext.len() + 16);
    out.push(FORMAT_V2);
    out.extend_from_slice(&period.day.to_be_bytes());
    out.extend_from_slice(&period.wrap_id);
    encrypt_into(&aead, plaintext, aad, &mut out);
    out
}

/// The period of a sealed entry: `Some` for format 2 (open it with [`open_in_period`]),
/// `None` for format 1 (open it with [`KeyRing::open`]).
pub fn period_of(sealed: &[u8]) -> Result<Option<Period>, OpenError> {
    match sealed.first() {
        Some(&FORMAT_V1) => Ok(None),
        Some(&FORMAT_V2) if sealed.len() >= HEADER_V2_LEN => {
            let mut day = [0u8; DAY_LEN];
            day.copy_from_slice(&sealed[1..1 + DAY_LEN]);
            let mut wrap_id = [0u8; KEY_ID_LEN];
            wrap_id.copy_from_slice(&sealed[1 + DAY_LEN..1 + DAY_LEN + KEY_ID_LEN]);
            Ok(Some(Period {
                day: u32::from_be_bytes(day),
                wrap_id,
            }))
        }
        _ => Err(OpenError::Format),
    }
}

/// Decrypt an entry sealed by [`seal_in_period`] with its period's data key.
pub fn open_in_period(key: &Key, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
    if sealed.len() < HEADER_V2_LEN || sealed[0] != FORMAT_V2 {
        return Err(OpenError::Format);
    }
    let at = 1 + DAY_LEN + KEY_ID_LEN;
    let nonce = XNonce::from_slice(&sealed[at..HEADER_V2_LEN]);
    XChaCha20Poly1305::new((&key.0).into())
        .decrypt(
            nonce,
            Payload {
                msg: &sealed[HEADER_V2_LEN..],
                aad,
            },
        )
        .map_err(|_| OpenError::Damaged)
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
    fn an_entry_under_a_data_key_opens_with_that_key_only_and_names_its_period() {
        let r = ring("a", &[]);
        let key = new_data_key();
        let period = Period::of(1_700_000_000, r.current_id());
        let sealed = seal_in_period(&key, &period, b"Jan Jansen wants help", b"contact|1|10");
        assert!(!sealed.windows(6).any(|w| w == b"Jansen"));
        assert_eq!(period_of(&sealed), Ok(Some(period)));
        assert_eq!(
            period.name(),
            format!("2023-11-14:{}", hex(&r.current_id()))
        );
        assert_eq!(period.day_end(), 1_700_006_400);
        assert_eq!(
            open_in_period(&key, &sealed, b"contact|1|10").unwrap(),
            b"Jan Jansen wants help"
        );
        assert_eq!(
            open_in_period(&new_data_key(), &sealed, b"contact|1|10"),
            Err(OpenError::Damaged)
        );
        assert_eq!(
            open_in_period(&key, &sealed, b"contact|2|10"),
            Err(OpenError::Damaged)
        );
        // The secret-derived keys cannot open it: only the data key can.
        assert_eq!(r.open(&sealed, b"contact|1|10"), Err(OpenError::Format));
        let old = r.seal(b"before data keys", b"aad");
        assert_eq!(period_of(&old), Ok(None));
        assert_eq!(period_of(b""), Err(OpenError::Format));
        assert_eq!(period_of(&[2, 0, 0]), Err(OpenError::Format));
    }

    #[test]
    fn data_keys_are_wrapped_for_their_name_and_unwrap_after_rotation() {
        let key = new_data_key();
        let old = ring("old", &[]);
        let wrapped = old.wrap(&key, b"contact:2026-11-22");
        assert!(!wrapped.windows(32).any(|w| w == key.0));
        let rotated = ring("new", &["old"]);
        assert_eq!(
            rotated.unwrap(&wrapped, b"contact:2026-11-22").unwrap().0,
            key.0
        );
        assert!(rotated.unwrap(&wrapped, b"contact:2026-11-23").is_err());
        assert_eq!(
            ring("new", &[])
                .unwrap(&wrapped, b"contact:2026-11-22")
                .map(|k| k.0),
            Err(OpenError::UnknownKey)
        );
        assert_ne!(old.current_id(), rotated.current_id());
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}
