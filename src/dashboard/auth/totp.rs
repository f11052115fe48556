//! The optional second factor: TOTP (RFC 6238 — HMAC-SHA1, 6 digits, 30-second steps), as
//! every authenticator app speaks it. A code is accepted for the step before, the current and
//! the step after (clock drift); that a code is used only once is enforced with the store in
//! [`super::Auth`].

use totp_rs::{Algorithm, TOTP};

use crate::config::dashboard::TotpSecret;

/// Length of a step, in seconds.
pub const STEP_SECS: u64 = 30;
/// Digits of a code.
pub const DIGITS: usize = 6;
/// Size of a new secret, in bytes (160 bits, RFC 4226's recommendation).
pub const NEW_SECRET_BYTES: usize = 20;

/// Why a TOTP set-up could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("{0}")]
    Invalid(String),
}

/// A new secret, shown once to the operator.
pub struct TotpSetup {
    /// Base32 (RFC 4648, no padding): what goes into `totp_secret` and what an app can type in.
    pub secret_base32: String,
    /// `otpauth://totp/<issuer>:<user>?secret=…&issuer=…`, for a QR code or a password manager.
    pub uri: String,
}

/// A fresh random secret for `user`, labelled with `issuer` in authenticator apps.
pub fn new_secret(user: &str, issuer: &str) -> Result<TotpSetup, TotpError> {
    let bytes: [u8; NEW_SECRET_BYTES] = rand::random();
    let totp = TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        1,
        STEP_SECS,
        bytes.to_vec(),
        Some(issuer.to_owned()),
        user.to_owned(),
    )
    .map_err(|e| TotpError::Invalid(e.to_string()))?;
    Ok(TotpSetup {
        secret_base32: totp.get_secret_base32(),
        uri: totp.get_url(),
    })
}

/// One operator's code generator.
pub struct Totp {
    inner: TOTP,
}

impl Totp {
    pub fn new(secret: &TotpSecret) -> Self {
        // The secret's length was checked when the configuration was read; the label does not
        // take part in checking codes.
        Self {
            inner: TOTP::new_unchecked(
                Algorithm::SHA1,
                DIGITS,
                1,
                STEP_SECS,
                secret.expose().to_vec(),
                None,
                String::new(),
            ),
        }
    }

    /// The step (`unix / 30`) whose code `code` is, among the step before `now`, the current
    /// one and the one after; `None` when it is none of them. Spaces in `code` are ignored.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<u64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = now / STEP_SECS;
        let mut found = None;
        // Every candidate is compared (constant time each) so the time taken does not say
        // which step matched.
        for step in current.saturating_sub(1)..=current + 1 {
            let expected = self.inner.generate(step * STEP_SECS);
            if bool::from(subtle::ConstantTimeEq::ct_eq(
                expected.as_bytes(),
                code.as_bytes(),
            )) {
                found = Some(step);
            }
        }
        found
    }

    /// The code for the step containing `unix` (tests and the demo).
    pub fn code_at(&self, unix: u64) -> String {
        self.inner.generate(unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_secret() -> TotpSecret {
        // RFC 6238 appendix B's SHA-1 seed.
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let t = Totp::new(&rfc_secret());
        // Appendix B lists 8-digit codes; the 6-digit code is their last six digits.
        assert_eq!(t.code_at(59), "287082");
        assert_eq!(t.code_at(1_111_111_109), "081804");
        assert_eq!(t.code_at(2_000_000_000), "279037");
    }

    #[test]
    fn the_step_before_and_after_are_accepted_and_no_other() {
        let t = Totp::new(&rfc_secret());
        let now = 1_111_111_109;
        let step = now / STEP_SECS;
        for (offset, accepted) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let at = (now as i64 + offset * STEP_SECS as i64) as u64;
            let code = t.code_at(at);
            let expected = accepted.then(|| (step as i64 + offset) as u64);
            assert_eq!(t.matching_step(&code, now), expected, "offset {offset}");
        }
        let spaced = format!("{} {}", &t.code_at(now)[..3], &t.code_at(now)[3..]);
        assert_eq!(t.matching_step(&spaced, now), Some(step));
        for junk in ["", "12345", "1234567", "abcdef", "０８１８０４"] {
            assert_eq!(t.matching_step(junk, now), None, "{junk}");
        }
    }

    #[test]
    fn new_secrets_decode_and_name_the_user_in_the_uri() {
        let setup = new_secret("ann@example.org", "consentgate").unwrap();
        let secret = TotpSecret::from_base32(&setup.secret_base32).unwrap();
        assert_eq!(secret.expose().len(), NEW_SECRET_BYTES);
        assert!(
            setup
                .uri
                .starts_with("otpauth://totp/consentgate:ann%40example.org?secret="),
            "{}",
            setup.uri
        );
        assert!(setup.uri.contains(&setup.secret_base32));
        assert!(setup.uri.contains("issuer=consentgate"));
        assert_ne!(
            new_secret("ann", "consentgate").unwrap().secret_base32,
            setup.secret_base32
        );
    }
}
