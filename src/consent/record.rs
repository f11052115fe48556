//! Recording a decision: validate it, write the receipt (with TTL, appended to the id's
//! history), count it, sign the cookie that carries it and say which tracker cookies the
//! browser must now delete. Withdrawal (with its defaults) is a decision like any other. Also
//! reading a visitor's own record back. The routes only parse and map.

use actix_web::HttpRequest;
use cookie::{Cookie, SameSite};
use serde::Serialize;

use super::model::{Action, DecisionError, DecisionRequest, Receipt, WithdrawRequest};
use super::{ConsentCookie, ConsentService, WirePolicy, COOKIE_NAME};
use crate::http::extract::{request_cookie, request_cookies};
use crate::http::{Code, EdgeError, SiteHost};
use crate::privacy::Visitor;
use crate::stats::Event;
use crate::store::{ReceiptIndexEntry, StoreError};

/// Facts about the request that a receipt, cookie or deletion needs besides the decision.
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
    /// The site name the request was for (deletions cover the domains it allows).
    pub site: SiteHost,
    /// Names of the cookies sent with the decision.
    pub sent_cookies: Vec<String>,
}

impl RecordContext {
    /// The context of a decision request from `visitor` for `site`.
    pub fn of(req: &HttpRequest, visitor: &Visitor, site: SiteHost) -> Self {
        Self {
            previous_cookie: request_cookie(req, COOKIE_NAME).map(str::to_owned),
            country: visitor.country.clone(),
            gpc: req
                .headers()
                .get("sec-gpc")
                .is_some_and(|v| v.as_bytes() == b"1"),
            https: visitor.https,
            site,
            sent_cookies: request_cookies(req)
                .filter_map(|c| c.name_raw())
                .map(str::to_owned)
                .collect(),
        }
    }
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

impl From<RecordError> for EdgeError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::Decision(d) => EdgeError::new(Code::InvalidDecision).detail(d.to_string()),
            RecordError::Store(StoreError::Corrupt(_)) | RecordError::Corrupt => {
                EdgeError::new(Code::StoreCorrupt)
            }
            RecordError::Store(e) => {
                // The reason (a Redis error) is for the operator's log, not the visitor.
                tracing::warn!(error = %e, "consent store unavailable");
                EdgeError::new(Code::StoreUnavailable)
            }
        }
    }
}

/// A recorded decision, the cookie that now carries it, and the `Set-Cookie` deletions of the
/// tracker cookies the visitor sent that the decision does not cover.
pub struct Recorded {
    pub receipt: Receipt,
    pub cookie: Cookie<'static>,
    pub deletions: Vec<Cookie<'static>>,
}

/// The JSON answer to a recorded decision. `value` is the new `cg_consent`: the page keeps this
/// verified answer under it, as it does the answer of `GET /_gate/consent/state`.
#[derive(Serialize)]
pub struct DecisionAnswer<'a> {
    value: &'a str,
    id: &'a str,
    action: Action,
    granted: &'a [String],
    refused: &'a [String],
    policy_revision: u32,
}

impl Recorded {
    pub fn answer(&self) -> DecisionAnswer<'_> {
        DecisionAnswer {
            value: self.cookie.value(),
            id: &self.receipt.id,
            action: self.receipt.action,
            granted: &self.receipt.granted,
            refused: &self.receipt.refused,
            policy_revision: self.receipt.policy_revision,
        }
    }
}

/// Most history receipts one answer carries ([`ConsentService::own_record`]).
pub const HISTORY_PAGE_MAX: usize = 50;

/// A visitor's own record: the current receipt and one page of the id's history, oldest first.
#[derive(Serialize)]
pub struct OwnRecord {
    pub current: Option<Receipt>,
    pub history: Vec<Receipt>,
    /// Receipts in the whole history (the store keeps the newest `store.receipt_history_max`).
    pub history_total: usize,
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
            .and_then(|c| self.codec.receipt_id(c))
            .unwrap_or_else(new_id);
        let now = time::OffsetDateTime::from(self.clock.now());
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
        self.stats.record(Event::Consent {
            action: receipt.action,
            granted: receipt.granted.clone(),
            refused: receipt.refused.clone(),
            country: receipt.country.clone(),
        });
        let value = self.codec.encode(&ConsentCookie {
            id,
            granted: receipt.granted.clone(),
            revision: self.revision,
            issued: self.clock.unix_secs(),
        });
        let cookie = Cookie::build((COOKIE_NAME, value))
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX),
            ))
            .same_site(SameSite::Lax)
            .secure(ctx.https)
            .build();
        // Tracker cookies sent with this request that the new decision does not cover go now.
        let wire = WirePolicy::new(
            self.catalogue.clone(),
            receipt.granted.clone(),
            ctx.sent_cookies.iter().map(String::as_str),
        );
        Ok(Recorded {
            deletions: wire.deletions(&ctx.site),
            receipt,
            cookie,
        })
    }

    /// Withdraw consent: recorded as a decision granting nothing. `shown` says what the banner
    /// showed; without it the default language and its texts are recorded.
    pub async fn withdraw(
        &self,
        shown: Option<WithdrawRequest>,
        ctx: RecordContext,
    ) -> Result<Recorded, RecordError> {
        let shown = shown.unwrap_or_else(|| WithdrawRequest {
            texts_hash: self
                .bundle
                .texts_hash
                .get(&self.default_language)
                .cloned()
                .unwrap_or_default(),
            language: self.default_language.clone(),
        });
        let decision = DecisionRequest {
            action: Action::Withdraw,
            granted: Vec::new(),
            language: shown.language,
            texts_hash: shown.texts_hash,
        };
        self.record(decision, ctx).await
    }

    /// The record behind a `cg_consent` value (MAC checked; expired, old-revision and
    /// old-format cookies still show their record), with the history receipts from `offset` on,
    /// at most `limit` (capped at [`HISTORY_PAGE_MAX`]). `None` when the cookie does not verify
    /// or nothing is stored.
    pub async fn own_record(
        &self,
        cookie_value: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Option<OwnRecord>, RecordError> {
        let Some(id) = self.codec.receipt_id(cookie_value) else {
            return Ok(None);
        };
        self.read_record(&id, offset, limit.min(HISTORY_PAGE_MAX))
            .await
    }

    /// The record of a consent id with its whole history (the newest
    /// `store.receipt_history_max`): what an operator looks up by the id the visitor reads in
    /// the banner. `None` when nothing is stored.
    pub async fn record_of(&self, id: &str) -> Result<Option<OwnRecord>, RecordError> {
        self.read_record(id, 0, usize::MAX).await
    }

    async fn read_record(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<Option<OwnRecord>, RecordError> {
        let parse =
            |b: Vec<u8>| serde_json::from_slice::<Receipt>(&b).map_err(|_| RecordError::Corrupt);
        let current = match self.store.get_receipt(id).await? {
            Some(b) => Some(parse(b)?),
            None => None,
        };
        let page = self.store.receipt_history(id, offset, limit).await?;
        let history = page
            .receipts
            .into_iter()
            .map(parse)
            .collect::<Result<Vec<_>, _>>()?;
        if current.is_none() && page.total == 0 {
            return Ok(None);
        }
        Ok(Some(OwnRecord {
            current,
            history,
            history_total: page.total,
        }))
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
}

fn new_id() -> String {
    use base64::Engine;
    let bytes: [u8; 16] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::tests::service;
    use super::*;

    fn ctx(cookies: &[&str]) -> RecordContext {
        RecordContext {
            site: SiteHost {
                authority: None,
                cookie_domains: ["www.stichting.example", "stichting.example"]
                    .map(String::from)
                    .into(),
            },
            sent_cookies: cookies.iter().map(|c| c.to_string()).collect(),
            ..RecordContext::default()
        }
    }

    #[actix_web::test]
    async fn withdrawal_without_a_body_records_the_default_language_and_deletes_trackers() {
        let svc = service(1);
        let recorded = svc.withdraw(None, ctx(&["_ga", "session"])).await.unwrap();
        assert_eq!(recorded.receipt.action, Action::Withdraw);
        assert_eq!(recorded.receipt.language, "nl");
        assert_eq!(recorded.receipt.texts_hash, svc.bundle().texts_hash["nl"]);
        assert!(recorded.receipt.granted.is_empty());
        let deleted: Vec<&str> = recorded.deletions.iter().map(|c| c.name()).collect();
        assert!(deleted.iter().all(|n| *n == "_ga") && !deleted.is_empty());
        assert!(recorded
            .deletions
            .iter()
            .any(|c| c.domain() == Some("stichting.example")));
    }
}
