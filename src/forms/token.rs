//! The fill-time token: the form and the time it was handed out, with a random nonce, signed,
//! so the gate can tell a person (who needs a few seconds to fill in a form) from a bot that
//! posts at once — without a third-party captcha. forms.js fetches one per form when the page
//! loads; the gate's own 422 page embeds one, so the form also works without JavaScript (a
//! second submit after the wait). A token opens one form only, and only once: the nonce of a
//! stored submission is remembered in the store until the token would have expired anyway.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::keys::Key;

/// How long a handed-out token stays valid, in milliseconds (a page left open for a day).
pub const MAX_AGE_MS: u64 = 24 * 3600 * 1000;
const MAC_LEN: usize = 16;

/// Random bytes per token, so each one can be used once.
const NONCE_LEN: usize = 12;

/// What a submitted token says about the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCheck<'t> {
    /// Issued for this form long enough ago; `nonce` marks it used once the entry is stored.
    Ok { nonce: &'t str },
    /// No token, a forged one, one for another form, or one older than [`MAX_AGE_MS`].
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

    fn mac(&self, form: &str, issued_ms: u64, nonce: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key.0).expect("HMAC takes any key length");
        mac.update(b"cg-fill/v2|");
        mac.update(form.as_bytes());
        mac.update(b"|");
        mac.update(issued_ms.to_string().as_bytes());
        mac.update(b"|");
        mac.update(nonce.as_bytes());
        mac
    }

    /// A token saying "form `form` handed out at `now_ms`" (Unix milliseconds):
    /// `<issued>.<nonce>.<mac>`.
    pub fn issue(&self, form: &str, now_ms: u64) -> String {
        let nonce = URL_SAFE_NO_PAD.encode(rand::random::<[u8; NONCE_LEN]>());
        let mac = self.mac(form, now_ms, &nonce).finalize().into_bytes();
        format!(
            "{now_ms}.{nonce}.{}",
            URL_SAFE_NO_PAD.encode(&mac[..MAC_LEN])
        )
    }

    /// Check a token submitted with form `form` at `now_ms` against the minimum fill time
    /// `min_ms`. Whether it was used before is for the caller to ask the store.
    pub fn check<'t>(
        &self,
        form: &str,
        token: Option<&'t str>,
        now_ms: u64,
        min_ms: u64,
    ) -> TokenCheck<'t> {
        let mut parts = token.unwrap_or("").split('.');
        let (Some(issued), Some(nonce), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return TokenCheck::Missing;
        };
        let (Ok(issued), Ok(mac)) = (issued.parse::<u64>(), URL_SAFE_NO_PAD.decode(mac)) else {
            return TokenCheck::Missing;
        };
        // Constant-time comparison through the hmac crate's verifier.
        if mac.len() != MAC_LEN
            || self
                .mac(form, issued, nonce)
                .verify_truncated_left(&mac)
                .is_err()
        {
            return TokenCheck::Missing;
        }
        // A token from the future (clock skew between gates) counts as just issued.
        let elapsed = now_ms.saturating_sub(issued);
        if elapsed > MAX_AGE_MS {
            TokenCheck::Missing
        } else if elapsed < min_ms {
            TokenCheck::TooFast
        } else {
            TokenCheck::Ok { nonce }
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
        let token = t.issue("contact", 1_000_000);
        assert_eq!(
            t.check("contact", Some(&token), 1_000_500, 3000),
            TokenCheck::TooFast
        );
        assert!(matches!(
            t.check("contact", Some(&token), 1_003_000, 3000),
            TokenCheck::Ok { nonce } if token.contains(nonce) && nonce.len() == 16
        ));
        assert_ne!(token, t.issue("contact", 1_000_000), "every token is new");
    }

    /// Whether `token` counts as missing for `form` at `now` (minimum fill time 3 s).
    fn missing(t: &FillToken, form: &str, token: Option<&str>, now: u64) -> bool {
        t.check(form, token, now, 3000) == TokenCheck::Missing
    }

    #[test]
    fn forged_stale_or_other_forms_tokens_count_as_missing() {
        let t = tokens();
        let token = t.issue("contact", 1_000_000);
        let forged = token.replacen("1000000", "0999000", 1);
        for bad in [
            Some(forged.as_str()),
            Some("garbage"),
            Some("1.2.3.4"),
            None,
        ] {
            assert!(missing(&t, "contact", bad, 1_003_000), "{bad:?}");
        }
        assert!(missing(
            &t,
            "contact",
            Some(&token),
            1_000_000 + MAX_AGE_MS + 1
        ));
        assert!(
            missing(&t, "newsletter", Some(&token), 1_003_000),
            "a token opens its own form only"
        );
        let other = FillToken::new(derive(b"other", "t"));
        assert!(missing(&other, "contact", Some(&token), 1_003_000));
    }
}
