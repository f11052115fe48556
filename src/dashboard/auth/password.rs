//! Passwords: argon2id hashes for new passwords (`consentgate hash-password`) and verification
//! that costs the same whether or not the account exists.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::config::dashboard::PasswordHash;

/// Shortest password `hash-password` accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password looked at, in bytes; longer ones are refused (and cost a dummy check).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password is too long: at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("argon2 failed: {0}")]
    Argon2(String),
}

/// A PHC string (argon2id, version 19, the argon2 crate's default parameters: 19 MiB memory,
/// 2 passes, 1 lane — the OWASP minimum) for a new password.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    hash_with(password, Params::default())
}

fn hash_with(password: &str, params: Params) -> Result<String, PasswordError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt =
        SaltString::encode_b64(&salt_bytes).map_err(|e| PasswordError::Argon2(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Argon2(e.to_string()))
}

/// Checks passwords. An unknown account is checked against a dummy hash made once at start
/// with the parameters of a configured hash, so the answer takes as long as for a wrong
/// password. CPU-bound (tens of milliseconds): call it off the async executor.
pub struct Verifier {
    dummy: PasswordHash,
}

impl Verifier {
    /// `like`: a configured hash whose parameters the dummy copies (the default parameters
    /// when there is none).
    pub fn new(like: Option<&PasswordHash>) -> Result<Self, PasswordError> {
        let params = like
            .and_then(|h| argon2::password_hash::PasswordHash::new(h.as_str()).ok())
            .and_then(|h| Params::try_from(&h).ok())
            .unwrap_or_default();
        let throwaway: [u8; 24] = rand::random();
        let phc = hash_with(&hex(&throwaway), params)?;
        let dummy = PasswordHash::parse(&phc).map_err(PasswordError::Argon2)?;
        Ok(Self { dummy })
    }

    /// Whether `password` matches `hash`; with `hash = None` (no such account) the dummy is
    /// checked and the answer is false.
    pub fn verify(&self, hash: Option<&PasswordHash>, password: &str) -> bool {
        let too_long = password.len() > MAX_PASSWORD_BYTES;
        let (target, real) = match hash {
            Some(h) if !too_long => (h, true),
            _ => (&self.dummy, false),
        };
        // Oversized input is cut to what a real check would read, so it costs the same.
        let input = if too_long {
            &password.as_bytes()[..MAX_PASSWORD_BYTES]
        } else {
            password.as_bytes()
        };
        let matched = argon2::password_hash::PasswordHash::new(target.as_str())
            .is_ok_and(|parsed| Argon2::default().verify_password(input, &parsed).is_ok());
        real && matched
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Cheap parameters so tests do not spend seconds in argon2.
    pub(crate) fn test_hash(password: &str) -> PasswordHash {
        let params = Params::new(64, 1, 1, None).unwrap();
        PasswordHash::parse(&hash_with(password, params).unwrap()).unwrap()
    }

    #[test]
    fn new_hashes_are_argon2id_with_default_parameters_and_verify() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        let hash = PasswordHash::parse(&phc).unwrap();
        let v = Verifier::new(Some(&hash)).unwrap();
        assert!(v.verify(Some(&hash), "correct horse battery"));
        assert!(!v.verify(Some(&hash), "correct horse battery!"));
        assert_ne!(
            phc,
            hash_password("correct horse battery").unwrap(),
            "salted"
        );
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(matches!(
            hash_password("elevenchars"),
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            hash_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        ));
    }

    #[test]
    fn unknown_account_checks_the_dummy_and_never_matches() {
        let hash = test_hash("a password long enough");
        let v = Verifier::new(Some(&hash)).unwrap();
        assert!(!v.verify(None, "a password long enough"));
        assert!(!v.verify(None, ""));
        // The dummy copies the configured parameters, so both checks do the same work.
        assert!(v.dummy.as_str().starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        let long = format!("a password long enough{}", "x".repeat(MAX_PASSWORD_BYTES));
        assert!(!v.verify(Some(&test_hash(&long)), &long));
    }
}
