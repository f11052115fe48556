//! The operators' side of consent records: look up by consent id (see
//! [`ConsentService::record_of`]), erase, list and count decisions by date range and action,
//! and the ISO/IEC TS 27560 export with the exact banner texts each decision was made on.
//! HTTP-free; the dashboard audits every call.

use std::collections::BTreeMap;

use super::archive::ShownTexts;
use super::iso27560::{self, Iso27560Context};
use super::model::{Action, Receipt};
use super::record::{OwnRecord, RecordError};
use super::ConsentService;
use crate::store::ReceiptQuery;

/// Largest page [`ConsentService::list_receipts`] returns.
pub const MAX_RECEIPT_PAGE: usize = 500;

/// Whether `id` can be a consent id (the banner shows 22 characters of base64url); anything
/// else is not looked up.
pub fn valid_consent_id(id: &str) -> bool {
    (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Which decisions to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptFilter {
    /// First decision time included, unix milliseconds.
    pub from_ms: u64,
    /// Last decision time included, unix milliseconds.
    pub to_ms: u64,
    /// Only decisions with this action; `None` for all.
    pub action: Option<Action>,
}

/// A page of decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReceiptList {
    pub receipts: Vec<Receipt>,
    /// Decisions matching the filter over all pages.
    pub total: usize,
    /// Stored receipts on this page this version cannot read; skipped.
    pub unreadable: usize,
}

impl ConsentService {
    /// Erase a consent record: its current receipt, its history and its entries in the time
    /// index. The visitor's cookie then counts as no consent for the gate's purposes (nothing
    /// backs it). True if anything existed.
    pub async fn erase(&self, id: &str) -> Result<bool, RecordError> {
        if !valid_consent_id(id) {
            return Ok(false);
        }
        Ok(self.store.delete_receipt(id).await?)
    }

    /// A page of decisions (newest first, or oldest first for exports); `limit` is capped at
    /// [`MAX_RECEIPT_PAGE`].
    pub async fn list_receipts(
        &self,
        filter: &ReceiptFilter,
        newest_first: bool,
        offset: usize,
        limit: usize,
    ) -> Result<ReceiptList, RecordError> {
        let page = self
            .store
            .list_receipts(&ReceiptQuery {
                from_ms: filter.from_ms,
                to_ms: filter.to_ms,
                action: filter.action.map(Action::as_str),
                newest_first,
                offset,
                limit: limit.min(MAX_RECEIPT_PAGE),
            })
            .await?;
        let mut list = ReceiptList {
            total: page.total,
            ..ReceiptList::default()
        };
        for bytes in page.receipts {
            match serde_json::from_slice::<Receipt>(&bytes) {
                Ok(r) => list.receipts.push(r),
                Err(_) => list.unreadable += 1,
            }
        }
        Ok(list)
    }

    /// Decisions per action in a time range (unix ms, both ends included), every action
    /// listed (0 when none).
    pub async fn count_receipts(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<Vec<(Action, u64)>, RecordError> {
        let counts = self.store.count_receipts(from_ms, to_ms).await?;
        Ok(Action::ALL
            .into_iter()
            .map(|a| (a, counts.get(a.as_str()).copied().unwrap_or(0)))
            .collect())
    }

    /// The ISO/IEC TS 27560 record of a consent id, with the archived banner texts of every
    /// decision in it (see [`iso27560`]). `record` is what [`ConsentService::record_of`] read.
    pub async fn iso27560_record(
        &self,
        id: &str,
        record: &OwnRecord,
    ) -> Result<serde_json::Value, RecordError> {
        let mut archived: BTreeMap<String, ShownTexts> = BTreeMap::new();
        for r in &record.history {
            if !archived.contains_key(&r.texts_hash) {
                if let Some(texts) = self.shown_texts(&r.texts_hash).await? {
                    archived.insert(r.texts_hash.clone(), texts);
                }
            }
        }
        let current = ["nl", "en"]
            .into_iter()
            .filter_map(|lang| Some((lang.to_owned(), self.current_texts(lang)?)))
            .collect();
        let ctx = Iso27560Context {
            privacy_statement: &self.privacy_statement,
            validity: self.lifetime,
            record_retention: self.receipt_ttl,
            archived: &archived,
            current: &current,
        };
        Ok(iso27560::record(id, &record.history, &ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::consent::{DecisionRequest, RecordContext};
    use crate::store::Store;

    fn service(store: Store) -> ConsentService {
        crate::consent::service_with(&Config::default(), store)
    }

    async fn decide(svc: &ConsentService, action: Action, previous: Option<String>) -> String {
        let request = DecisionRequest {
            action,
            granted: Vec::new(),
            language: "nl".into(),
            texts_hash: svc.bundle().texts_hash["nl"].clone(),
        };
        let ctx = RecordContext {
            previous_cookie: previous,
            ..RecordContext::default()
        };
        svc.record(request, ctx)
            .await
            .unwrap()
            .cookie
            .value()
            .to_owned()
    }

    /// A receipt time at the index's resolution (milliseconds).
    fn unix_ms(rfc3339: &str) -> i128 {
        let t =
            time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
                .unwrap();
        t.unix_timestamp_nanos() / 1_000_000
    }

    const ALL_TIME: ReceiptFilter = ReceiptFilter {
        from_ms: 0,
        to_ms: u64::MAX,
        action: None,
    };

    #[tokio::test]
    async fn a_decision_is_archived_indexed_exportable_and_erasable() {
        let svc = service(Store::memory());
        let cookie = decide(&svc, Action::AcceptAll, None).await;
        decide(&svc, Action::Withdraw, Some(cookie.clone())).await;
        decide(&svc, Action::RejectAll, None).await;

        let page = svc.list_receipts(&ALL_TIME, true, 0, 10).await.unwrap();
        assert_eq!(page.total, 3);
        // Newest first; decisions within one millisecond come in index order (by member),
        // so only the times are checked for order.
        let times: Vec<i128> = page.receipts.iter().map(|r| unix_ms(&r.time)).collect();
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
        let mut actions: Vec<&str> = page.receipts.iter().map(|r| r.action.as_str()).collect();
        actions.sort_unstable();
        assert_eq!(actions, ["accept_all", "reject_all", "withdraw"]);
        let counts = svc.count_receipts(0, u64::MAX).await.unwrap();
        assert_eq!(
            counts,
            [
                (Action::AcceptAll, 1),
                (Action::RejectAll, 1),
                (Action::Custom, 0),
                (Action::Withdraw, 1)
            ]
        );
        let withdrawals = ReceiptFilter {
            action: Some(Action::Withdraw),
            ..ALL_TIME
        };
        assert_eq!(
            svc.list_receipts(&withdrawals, true, 0, 10)
                .await
                .unwrap()
                .total,
            1
        );

        // The texts the visitor saw are archived under the receipt's hash, verifiably.
        let withdrawn = page
            .receipts
            .iter()
            .find(|r| r.action == Action::Withdraw)
            .expect("the withdrawal is listed");
        let id = withdrawn.id.clone();
        let hash = &withdrawn.texts_hash;
        let shown = svc.shown_texts(hash).await.unwrap().expect("archived");
        assert!(shown.verified);
        assert_eq!(shown.language, "nl");
        assert_eq!(shown.revision, 1);
        assert!(shown.content.texts.contains_key("accept_all"));
        assert!(shown
            .content
            .vendors
            .iter()
            .any(|v| v.id == "google_analytics"));

        let record = svc.record_of(&id).await.unwrap().expect("record");
        assert_eq!(record.history.len(), 2);
        let iso = svc.iso27560_record(&id, &record).await.unwrap();
        assert_eq!(iso["record_id"], id.as_str());
        assert_eq!(
            iso["pii_processing"]["privacy_notice"][0]["texts_verified"],
            true
        );
        let states: Vec<&str> = iso["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["event_state"].as_str())
            .collect();
        assert_eq!(
            states,
            // One event per category: analytics, marketing and the embeds' own (YouTube, Vimeo,
            // Google Maps).
            [["consent given"; 5], ["consent withdrawn"; 5]].concat()
        );

        assert!(svc.erase(&id).await.unwrap());
        assert!(svc.record_of(&id).await.unwrap().is_none());
        let after = svc.list_receipts(&ALL_TIME, true, 0, 10).await.unwrap();
        assert_eq!(after.total, 1, "the erased id's decisions left the index");
        assert!(after.receipts.iter().all(|r| r.id != id));
        assert!(!svc.erase(&id).await.unwrap());
        assert!(!svc.erase("not an id").await.unwrap());
        // Other receipts still refer to the texts, so the archive keeps them.
        assert!(svc.shown_texts(hash).await.unwrap().is_some());
    }

    #[test]
    fn only_id_shaped_text_is_looked_up() {
        assert!(valid_consent_id("AAAAAAAAAAAAAAAAAAAAAA"));
        assert!(valid_consent_id("a-b_c-d_e-f_g-h_i-j_kl"));
        for bad in [
            "",
            "short",
            "AAAAAAAAAAAAAAAAAAAA{}",
            "AAAAAAAAAA AAAAAAAAAAA",
            "ÄAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(!valid_consent_id(bad), "{bad}");
        }
    }
}
