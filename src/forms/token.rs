//! The fill-time token: the time a form was handed out, signed, so the gate can tell a person
//! (who needs a few seconds to fill in a form) from a bot that posts at once — without a
//! third-party captcha. forms.js fetches one when the page loads; the gate's own 422 page
//! embeds one, so the form also works without JavaScript (a second submit after the wait).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// How long a handed-out token stays valid, in milliseconds (a page left open for a day).
pub const MAX_AGE_MS: u64 = 24 * 3600 * 1000;
const MAC_LEN: usize = 16;

/// What a submitted token says about the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck {
    /// Issued long enough ago.
    Ok,
    /// No token, a forged one, or one older than [`MAX_AGE_MS`].
    Missing,
    /// Genuine, but the form was submitted sooner than the minimum fill time.
    TooFast,
}

/// Issues and checks tokens with the `form_token` key.
pub struct FillToken {
    key: Key,
}

impl FillToken {
    pub fn new(key: Key) -> Self {
        Self { key }
    }

    fn mac(&self, issued_ms: u64) -> [u8; MAC_LEN] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key.0).expect("HMAC takes any key length");
        mac.update(b"cg-fill/v1|");
        mac.update(issued_ms.to_string().as_bytes());
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        out
    }

    /// A token saying "handed out at `now_ms`" (Unix milliseconds).
    pub fn issue(&self, now_ms: u64) -> String {
        format!("{now_ms}.{}", URL_SAFE_NO_PAD.encode(self.mac(now_ms)))
    }

    /// Check a submitted token at `now_ms` against the minimum fill time `min_ms`.
    pub fn check(&self, token: Option<&str>, now_ms: u64, min_ms: u64) -> TokenCheck {
        let Some((issued, mac)) = token.and_then(|t| t.split_once('.')) else {
            return TokenCheck::Missing;
        };
        let (Ok(issued), Ok(mac)) = (issued.parse::<u64>(), URL_SAFE_NO_PAD.decode(mac)) else {
            return TokenCheck::Missing;
        };
        // Constant-time comparison through the hmac crate's verifier.
        let mut verifier =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key.0).expect("HMAC takes any key length");
        verifier.update(b"cg-fill/v1|");
        verifier.update(issued.to_string().as_bytes());
        if verifier.verify_truncated_left(&mac).is_err() || mac.len() != MAC_LEN {
            return TokenCheck::Missing;
        }
        // A token from the future (clock skew between gates) counts as just issued.
        let elapsed = now_ms.saturating_sub(issued);
        if elapsed > MAX_AGE_MS {
            TokenCheck::Missing
        } else if elapsed < min_ms {
            TokenCheck::TooFast
        } else {
            TokenCheck::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::derive;

    fn tokens() -> FillToken {
        FillToken::new(derive(b"secret", "t"))
    }

    #[test]
    fn token_passes_after_the_minimum_fill_time() {
        let t = tokens();
        let token = t.issue(1_000_000);
        assert_eq!(t.check(Some(&token), 1_000_500, 3000), TokenCheck::TooFast);
        assert_eq!(t.check(Some(&token), 1_003_000, 3000), TokenCheck::Ok);
    }

    #[test]
    fn forged_or_stale_tokens_count_as_missing() {
        let t = tokens();
        let token = t.issue(1_000_000);
        let forged = token.replacen("1000000", "0999000", 1);
        assert_eq!(t.check(Some(&forged), 1_003_000, 3000), TokenCheck::Missing);
        assert_eq!(
            t.check(Some("garbage"), 1_003_000, 3000),
            TokenCheck::Missing
        );
        assert_eq!(t.check(None, 1_003_000, 3000), TokenCheck::Missing);
        assert_eq!(
            t.check(Some(&token), 1_000_000 + MAX_AGE_MS + 1, 3000),
            TokenCheck::Missing
        );
        let other = FillToken::new(derive(b"other", "t"));
        assert_eq!(
            other.check(Some(&token), 1_003_000, 3000),
            TokenCheck::Missing
        );
    }
}
