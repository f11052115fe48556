//! Consent vocabulary: actions, the decision a visitor posts, and the receipt kept as proof.

use serde::{Deserialize, Serialize};

/// What the visitor did. Defined with the statistics that count it (the lower layer).
pub use crate::stats::ConsentAction as Action;

/// The JSON body of `POST /_gate/consent`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub action: Action,
    /// Granted optional categories; only for `custom`, otherwise must be absent or empty.
    #[serde(default)]
    pub granted: Vec<String>,
    /// Language the banner was shown in (`nl` / `en`).
    pub language: String,
    /// SHA-256 (hex) of the banner texts shown, or its first [`TEXTS_HASH_SHORT`] digits as
    /// built into banner.js.
    pub texts_hash: String,
}

/// Hex digits of the texts hash banner.js carries and sends: enough to tell which wording a
/// page was built with; the receipt records the whole hash. Each full hash would cost the
/// banner's gzipped budget about 50 bytes.
pub const TEXTS_HASH_SHORT: usize = 16;

/// The optional JSON body of `DELETE /_gate/consent`: what the banner showed when the visitor
/// withdrew. Without it the default language and its texts are recorded.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawRequest {
    pub language: String,
    pub texts_hash: String,
}

/// Why a decision was refused (→ 400 with this text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("unknown category {0:?}")]
    UnknownCategory(String),
    #[error("categories may only be listed for action \"custom\"")]
    CategoriesNotAllowed,
    #[error("unsupported language {0:?} (expected nl or en)")]
    Language(String),
    #[error("texts_hash does not match the banner texts this site shows; reload the page")]
    TextsHash,
}

/// A validated decision: which optional categories are granted and refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub granted: Vec<String>,
    pub refused: Vec<String>,
    pub language: String,
    pub texts_hash: String,
}

impl DecisionRequest {
    /// `optional`: all optional category ids in display order; `hash_for`: the texts hash the
    /// gate built for a language.
    pub fn validate(
        self,
        optional: &[String],
        hash_for: impl Fn(&str) -> Option<String>,
    ) -> Result<Decision, DecisionError> {
        let Some(expected) = hash_for(&self.language) else {
            return Err(DecisionError::Language(self.language));
        };
        let short =
            self.texts_hash.len() == TEXTS_HASH_SHORT && expected.starts_with(&self.texts_hash);
        if expected != self.texts_hash && !short {
            return Err(DecisionError::TextsHash);
        }
        let granted: Vec<String> = match self.action {
            Action::AcceptAll => {
                self.reject_listed()?;
                optional.to_vec()
            }
            Action::RejectAll | Action::Withdraw => {
                self.reject_listed()?;
                Vec::new()
            }
            Action::Custom => {
                for c in &self.granted {
                    // "necessary" is always on; listing it is harmless.
                    if c != "necessary" && !optional.contains(c) {
                        return Err(DecisionError::UnknownCategory(c.clone()));
                    }
                }
                optional
                    .iter()
                    .filter(|c| self.granted.contains(c))
                    .cloned()
                    .collect()
            }
        };
        let refused = optional
            .iter()
            .filter(|c| !granted.contains(c))
            .cloned()
            .collect();
        Ok(Decision {
            action: self.action,
            granted,
            refused,
            language: self.language,
            texts_hash: expected,
        })
    }

    fn reject_listed(&self) -> Result<(), DecisionError> {
        if self.granted.is_empty() {
            Ok(())
        } else {
            Err(DecisionError::CategoriesNotAllowed)
        }
    }
}

/// Proof of one decision (GDPR art. 7(1)). Holds no IP address and no user agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// Random 128-bit id, base64url; the same for all decisions of one visitor.
    pub id: String,
    /// RFC 3339, UTC.
    pub time: String,
    pub action: Action,
    pub granted: Vec<String>,
    pub refused: Vec<String>,
    pub policy_revision: u32,
    pub language: String,
    /// SHA-256 (hex) of the banner texts the visitor saw.
    pub texts_hash: String,
    /// ISO country code when geo look-up is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Whether the browser sent `Sec-GPC: 1` with the decision.
    #[serde(default)]
    pub gpc: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn optional() -> Vec<String> {
        vec!["analytics".into(), "marketing".into(), "video".into()]
    }

    fn req(json: &str) -> DecisionRequest {
        serde_json::from_str(json).unwrap()
    }

    fn hash(lang: &str) -> Option<String> {
        (lang == "nl" || lang == "en").then(|| format!("hash-{lang}"))
    }

    #[test]
    fn accept_all_grants_every_optional_category() {
        let d = req(r#"{"action":"accept_all","language":"nl","texts_hash":"hash-nl"}"#)
            .validate(&optional(), hash)
            .unwrap();
        assert_eq!(d.granted, optional());
        assert!(d.refused.is_empty());
    }

    #[test]
    fn custom_keeps_display_order_and_lists_the_refused() {
        let d = req(r#"{"action":"custom","granted":["video","analytics","necessary"],"language":"en","texts_hash":"hash-en"}"#)
            .validate(&optional(), hash)
            .unwrap();
        assert_eq!(d.granted, vec!["analytics", "video"]);
        assert_eq!(d.refused, vec!["marketing"]);
    }

    #[test]
    fn unknown_category_is_refused() {
        let e = req(
            r#"{"action":"custom","granted":["spying"],"language":"en","texts_hash":"hash-en"}"#,
        )
        .validate(&optional(), hash)
        .unwrap_err();
        assert_eq!(e, DecisionError::UnknownCategory("spying".into()));
    }

    #[test]
    fn reject_all_with_categories_is_refused() {
        let e = req(r#"{"action":"reject_all","granted":["analytics"],"language":"en","texts_hash":"hash-en"}"#)
            .validate(&optional(), hash)
            .unwrap_err();
        assert_eq!(e, DecisionError::CategoriesNotAllowed);
    }

    #[test]
    fn wrong_texts_hash_or_language_is_refused() {
        let e = req(r#"{"action":"reject_all","language":"en","texts_hash":"hash-nl"}"#)
            .validate(&optional(), hash)
            .unwrap_err();
        assert_eq!(e, DecisionError::TextsHash);
        let e = req(r#"{"action":"reject_all","language":"de","texts_hash":"hash-de"}"#)
            .validate(&optional(), hash)
            .unwrap_err();
        assert_eq!(e, DecisionError::Language("de".into()));
    }

    #[test]
    fn unknown_fields_and_actions_do_not_parse() {
        assert!(serde_json::from_str::<DecisionRequest>(
            r#"{"action":"accept_all","language":"nl","texts_hash":"x","ip":"1.2.3.4"}"#
        )
        .is_err());
        assert!(serde_json::from_str::<DecisionRequest>(
            r#"{"action":"accept_some","language":"nl","texts_hash":"x"}"#
        )
        .is_err());
    }

    #[test]
    fn the_short_texts_hash_is_accepted_and_the_full_one_recorded() {
        let full = "96e99528ab28b1dace3823cbf35b2692aed01f91d82bde7662bf5a422a745fd4";
        let hash = |_: &str| Some(full.to_owned());
        let short = &full[..TEXTS_HASH_SHORT];
        let d = req(&format!(
            r#"{{"action":"reject_all","language":"en","texts_hash":"{short}"}}"#
        ))
        .validate(&optional(), hash)
        .unwrap();
        assert_eq!(d.texts_hash, full);
        for wrong in [&full[..8], "0000000000000000", &format!("{short}0")] {
            let e = req(&format!(
                r#"{{"action":"reject_all","language":"en","texts_hash":"{wrong}"}}"#
            ))
            .validate(&optional(), hash)
            .unwrap_err();
            assert_eq!(e, DecisionError::TextsHash, "{wrong}");
        }
    }
}
