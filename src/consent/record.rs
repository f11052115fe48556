//! Recording a decision: validate it, write the receipt (with TTL, appended to the id's
//! history), count it, and sign the cookie that carries it. Also reading a visitor's own
//! record back. HTTP-free, so the routes stay thin.

use cookie::{Cookie, SameSite};

use super::model::{DecisionError, DecisionRequest, Receipt};
use super::{now_secs, ConsentCookie, ConsentService, COOKIE_NAME};
use crate::store::{ReceiptIndexEntry, StoreError};

/// Facts about the request that a receipt or cookie needs besides the decision itself.
#[derive(Debug, Default, Clone)]
pub struct RecordContext {
    /// The visitor's current `cg_consent` value, if any: a verifiable one keeps its id.
    pub previous_cookie: Option<String>,
    /// ISO country code when geo look-up is on.
    pub country: Option<String>,
    /// The request carried `Sec-GPC: 1`.
    pub gpc: bool,
    /// The visitor reached the site over HTTPS (the cookie gets `Secure`).
    pub https: bool,
}

/// Why a decision was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Decision(#[from] DecisionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("stored consent record is unreadable")]
    Corrupt,
}

/// A recorded decision and the cookie that now carries it.
pub struct Recorded {
    pub receipt: Receipt,
    pub cookie: Cookie<'static>,
}

/// A visitor's own record: the current receipt and every receipt of the id, oldest first.
pub struct OwnRecord {
    pub current: Option<Receipt>,
    pub history: Vec<Receipt>,
}

impl ConsentService {
    /// Validate and store a decision. Nothing is signed unless the receipt is stored: with the
    /// store down the visitor keeps no consent (fail closed).
    pub async fn record(
        &self,
        request: DecisionRequest,
        ctx: RecordContext,
    ) -> Result<Recorded, RecordError> {
        let decision = request.validate(&self.bundle.optional, |lang| {
            self.bundle.texts_hash.get(lang).cloned()
        })?;
        // A returning visitor keeps their id so all their decisions form one history.
        let id = ctx
            .previous_cookie
            .as_deref()
            .and_then(|c| self.codec.verify(c).ok())
            .map(|c| c.id)
            .unwrap_or_else(new_id);
        let now = time::OffsetDateTime::now_utc();
        let receipt = Receipt {
            id: id.clone(),
            time: now
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            action: decision.action,
            granted: decision.granted,
            refused: decision.refused,
            policy_revision: self.revision,
            language: decision.language,
            texts_hash: decision.texts_hash,
            country: ctx.country,
            gpc: ctx.gpc,
        };
        let bytes = serde_json::to_vec(&receipt).map_err(|_| RecordError::Corrupt)?;
        // The texts go into the archive first, so a stored receipt never refers to texts the
        // gate does not have; the index last, so it never lists a receipt that is not stored.
        self.archive_texts_of(&receipt, now.unix_timestamp())
            .await?;
        let seq = self
            .store
            .put_receipt(&id, &bytes, self.receipt_ttl)
            .await?;
        let entry = ReceiptIndexEntry {
            id: &id,
            seq,
            action: receipt.action.as_str(),
            time_ms: u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
            receipt: &bytes,
        };
        self.store.index_receipt(&entry, self.receipt_ttl).await?;
        self.count(&receipt, now).await;
        let value = self.codec.encode(&ConsentCookie {
            id,
            granted: receipt.granted.clone(),
            revision: self.revision,
            issued: now_secs(),
        });
        let cookie = Cookie::build((COOKIE_NAME, value))
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX),
            ))
            .same_site(SameSite::Lax)
            .secure(ctx.https)
            .build();
        Ok(Recorded { receipt, cookie })
    }

    /// The record behind a `cg_consent` value (MAC checked; expired or old-revision cookies
    /// still show their record). `None` when the cookie does not verify or nothing is stored.
    pub async fn own_record(&self, cookie_value: &str) -> Result<Option<OwnRecord>, RecordError> {
        let Ok(cookie) = self.codec.verify(cookie_value) else {
            return Ok(None);
        };
        self.record_of(&cookie.id).await
    }

    /// The record of a consent id: what a visitor sees of their own, and what an operator
    /// looks up by the id the visitor reads in the banner. `None` when nothing is stored.
    pub async fn record_of(&self, id: &str) -> Result<Option<OwnRecord>, RecordError> {
        let parse =
            |b: Vec<u8>| serde_json::from_slice::<Receipt>(&b).map_err(|_| RecordError::Corrupt);
        let current = match self.store.get_receipt(id).await? {
            Some(b) => Some(parse(b)?),
            None => None,
        };
        let history = self
            .store
            .receipt_history(id)
            .await?
            .into_iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        if current.is_none() && history.is_empty() {
            return Ok(None);
        }
        Ok(Some(OwnRecord { current, history }))
    }

    /// Archive the texts `receipt` refers to (always the current bundle's: a decision with
    /// another hash is refused) and note the use at `at` (unix s).
    async fn archive_texts_of(&self, receipt: &Receipt, at: i64) -> Result<(), RecordError> {
        let Some(body) = self.bundle.texts_shown.get(&receipt.language) else {
            return Err(RecordError::Corrupt);
        };
        self.store
            .archive_texts(
                &receipt.texts_hash,
                body.as_bytes(),
                receipt.policy_revision,
                &receipt.language,
                u64::try_from(at).unwrap_or(0),
                self.receipt_ttl,
            )
            .await?;
        Ok(())
    }

    /// Daily counters by action, category and country; a failure must not undo a stored
    /// decision, so it is only logged.
    async fn count(&self, r: &Receipt, now: time::OffsetDateTime) {
        let day = format!(
            "{:04}-{:02}-{:02}",
            now.year(),
            u8::from(now.month()),
            now.day()
        );
        let mut fields: Vec<String> = vec![format!("action:{}", r.action.as_str())];
        fields.extend(r.granted.iter().map(|c| format!("granted:{c}")));
        fields.extend(r.refused.iter().map(|c| format!("refused:{c}")));
        if let Some(c) = &r.country {
            fields.push(format!("country:{c}"));
        }
        let pairs: Vec<(&str, i64)> = fields.iter().map(|f| (f.as_str(), 1)).collect();
        if let Err(e) = self.store.incr_counters("consent", &day, &pairs).await {
            tracing::warn!(error = %e, "consent counters not updated");
        }
    }
}

fn new_id() -> String {
    use base64::Engine;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
