//! Read-only API tokens: a program reads the overview's figures as JSON with one, and nothing
//! else. Each operator who may see the figures makes and revokes their own in the dashboard
//! (both audited). A token is `cgt_` and 43 characters of base64url (256 random bits); the
//! store keeps only its SHA-256, with the operator, a label and its times, so a copy of the
//! store gives nobody a working token. A token stops working when it expires
//! ([`TOKEN_LIFETIME`]), is revoked, or its operator is removed from the configuration or
//! loses the figures (checked on every use by the route).

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::audit::{AuditAction, AuditError, AuditEvent, AuditLog};
use crate::store::{Store, StoreError};

/// Start of every token, so one found in a log or repository is recognisable.
pub const TOKEN_PREFIX: &str = "cgt_";
/// How long a token works after it is made: one year.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 86_400);
/// Most tokens one operator may hold at a time.
pub const MAX_TOKENS_PER_OPERATOR: usize = 10;
/// Longest label, in characters.
pub const MAX_LABEL: usize = 64;
/// Hex digits of the hash that identify a token on the page and in the audit log.
const ID_LEN: usize = 12;

/// Why a token could not be made, listed or revoked.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The operator already holds [`MAX_TOKENS_PER_OPERATOR`].
    #[error("at most {MAX_TOKENS_PER_OPERATOR} tokens per operator; revoke one first")]
    TooMany,
    /// An empty label, or one with control characters.
    #[error("label: 1 to {MAX_LABEL} characters, no control characters")]
    BadLabel,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    operator: String,
    label: String,
    /// Unix seconds.
    created: u64,
    expires: u64,
}

/// A token as its owner sees it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// The first hex digits of the token's hash.
    pub id: String,
    pub label: String,
    pub created: u64,
    pub expires: u64,
}

/// The SHA-256 of a token, hex.
fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The API tokens in the store.
#[derive(Clone)]
pub struct ApiTokens {
    store: Store,
}

impl ApiTokens {
    pub fn new(store: Store) -> ApiTokens {
        ApiTokens { store }
    }

    async fn all(&self) -> Result<Vec<(String, Record)>, StoreError> {
        Ok(self
            .store
            .list_api_tokens()
            .await?
            .into_iter()
            // A record this version cannot read is no token.
            .filter_map(|(h, bytes)| Some((h, serde_json::from_slice(&bytes).ok()?)))
            .collect())
    }

    /// The operator's unexpired tokens, oldest first.
    pub async fn list(&self, operator: &str, now: u64) -> Result<Vec<TokenInfo>, TokenError> {
        let mut own: Vec<TokenInfo> = self
            .all()
            .await?
            .into_iter()
            .filter(|(_, r)| r.operator == operator && r.expires > now)
            .map(|(h, r)| TokenInfo {
                id: h.chars().take(ID_LEN).collect(),
                label: r.label,
                created: r.created,
                expires: r.expires,
            })
            .collect();
        own.sort_by(|a, b| a.created.cmp(&b.created).then_with(|| a.id.cmp(&b.id)));
        Ok(own)
    }

    /// Make a token for `operator` (audited: `api_token_created`). Returns the token, to be
    /// shown once, and its id.
    pub async fn create(
        &self,
        audit: &AuditLog,
        operator: &str,
        label: &str,
        now: u64,
    ) -> Result<(String, String), TokenError> {
        let label = label.trim();
        if label.is_empty()
            || label.chars().count() > MAX_LABEL
            || label.chars().any(char::is_control)
        {
            return Err(TokenError::BadLabel);
        }
        if self.list(operator, now).await?.len() >= MAX_TOKENS_PER_OPERATOR {
            return Err(TokenError::TooMany);
        }
        let bytes: [u8; 32] = rand::random();
        let token = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let h = hash(&token);
        let id: String = h.chars().take(ID_LEN).collect();
        let record = Record {
            operator: operator.to_owned(),
            label: label.to_owned(),
            created: now,
            expires: now + TOKEN_LIFETIME.as_secs(),
        };
        let json = serde_json::to_vec(&record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store.put_api_token(&h, &json, TOKEN_LIFETIME).await?;
        let event = AuditEvent::new(now, operator, AuditAction::ApiTokenCreated).object(id.clone());
        if let Err(e) = audit.append(&event).await {
            // A token whose making cannot be logged does not exist.
            self.store.delete_api_token(&h).await?;
            return Err(e.into());
        }
        Ok((token, id))
    }

    /// Revoke the operator's token with this id (audited: `api_token_revoked`). False when
    /// the operator holds no such token.
    pub async fn revoke(
        &self,
        audit: &AuditLog,
        operator: &str,
        id: &str,
        now: u64,
    ) -> Result<bool, TokenError> {
        if id.len() != ID_LEN {
            return Ok(false);
        }
        let found = self
            .all()
            .await?
            .into_iter()
            .find(|(h, r)| h.starts_with(id) && r.operator == operator);
        let Some((h, _)) = found else {
            return Ok(false);
        };
        // Revoked first: a revocation that then cannot be logged still takes the token away.
        self.store.delete_api_token(&h).await?;
        audit
            .append(&AuditEvent::new(now, operator, AuditAction::ApiTokenRevoked).object(id))
            .await?;
        Ok(true)
    }

    /// The operator a presented token belongs to, if it is a live token.
    pub async fn verify(&self, token: &str, now: u64) -> Result<Option<String>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
            return Ok(None);
        }
        let Some(bytes) = self.store.get_api_token(&hash(token)).await? else {
            return Ok(None);
        };
        let record: Option<Record> = serde_json::from_slice(&bytes).ok();
        Ok(record.filter(|r| r.expires > now).map(|r| r.operator))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_token_works_until_it_is_revoked_or_expires_and_only_its_hash_is_stored() {
        let store = Store::memory();
        let tokens = ApiTokens::new(store.clone());
        let audit = AuditLog::new(store.clone());
        let (token, id) = tokens
            .create(&audit, "ali", "monthly report", 1_000)
            .await
            .unwrap();
        assert!(token.starts_with(TOKEN_PREFIX) && token.len() == 4 + 43);
        assert_eq!(
            tokens.verify(&token, 1_001).await.unwrap().as_deref(),
            Some("ali")
        );
        assert_eq!(tokens.verify("cgt_guess", 1_001).await.unwrap(), None);
        assert_eq!(tokens.verify(&token[1..], 1_001).await.unwrap(), None);
        let later = 1_000 + TOKEN_LIFETIME.as_secs();
        assert_eq!(tokens.verify(&token, later).await.unwrap(), None);
        let stored = store.list_api_tokens().await.unwrap();
        assert_eq!(stored.len(), 1);
        assert_ne!(stored[0].0, token);
        assert!(!String::from_utf8_lossy(&stored[0].1).contains(&token));
        let listed = tokens.list("ali", 1_001).await.unwrap();
        assert_eq!(
            (listed[0].id.as_str(), listed[0].label.as_str()),
            (id.as_str(), "monthly report")
        );
        assert!(tokens.list("ann", 1_001).await.unwrap().is_empty());
        // Another operator cannot revoke it.
        assert!(!tokens.revoke(&audit, "ann", &id, 1_002).await.unwrap());
        assert!(tokens.revoke(&audit, "ali", &id, 1_002).await.unwrap());
        assert_eq!(tokens.verify(&token, 1_003).await.unwrap(), None);
        let log = store.read_audit(10).await.unwrap();
        assert_eq!(log.len(), 2);
        assert!(!log
            .iter()
            .any(|(_, e)| String::from_utf8_lossy(e).contains(&token)));
    }

    #[tokio::test]
    async fn labels_and_counts_are_bounded() {
        let store = Store::memory();
        let tokens = ApiTokens::new(store.clone());
        let audit = AuditLog::new(store);
        for bad in ["", "  ", "a\nb"] {
            assert!(matches!(
                tokens.create(&audit, "ali", bad, 1).await,
                Err(TokenError::BadLabel)
            ));
        }
        for i in 0..MAX_TOKENS_PER_OPERATOR {
            tokens
                .create(&audit, "ali", &format!("t{i}"), 1)
                .await
                .unwrap();
        }
        assert!(matches!(
            tokens.create(&audit, "ali", "one more", 1).await,
            Err(TokenError::TooMany)
        ));
    }
}
