//! The operators' desk: every action on personal data, audited, for the dashboard's routes and
//! the command line alike. Each method writes its audit entry before the result leaves it, so
//! an action the log cannot record does not happen (an entry is not shown, a record is not
//! deleted). What an entry records: operator, time, action, the record's id and a count —
//! never the content, never an e-mail address (a keyed hash stands in for it).

use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use super::audit::{AuditAction, AuditError, AuditEvent, AuditFilter, AuditLog};
use super::export::{receipts_csv, receipts_jsonl, ExportError};
use crate::consent::{
    rfc3339, valid_consent_id, ConsentService, OwnRecord, ReceiptFilter, RecordError, ShownTexts,
};
use crate::forms::lookup::email_hash;
use crate::forms::{Entry, FormsError, FormsService};
use crate::http::{Code, EdgeError};
use crate::keys::Key;
use crate::store::StoreError;

/// Why a desk action could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Forms(#[from] FormsError),
    #[error(transparent)]
    Consent(#[from] RecordError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

impl DeskError {
    /// The edge code: unknown forms are `not_found`, store outages `store_unavailable`.
    pub fn code(&self) -> Code {
        let store = |e: &StoreError| {
            if e.is_transient() {
                Code::StoreUnavailable
            } else {
                Code::StoreCorrupt
            }
        };
        match self {
            DeskError::Forms(FormsError::UnknownForm(_)) => Code::NotFound,
            DeskError::Forms(FormsError::Store(e))
            | DeskError::Consent(RecordError::Store(e))
            | DeskError::Audit(AuditError::Store(e))
            | DeskError::Export(ExportError::Consent(RecordError::Store(e))) => store(e),
            DeskError::Consent(RecordError::Corrupt) => Code::StoreCorrupt,
            DeskError::Export(ExportError::TooLarge { .. }) => Code::BadRequest,
            _ => Code::Internal,
        }
    }
}

impl From<DeskError> for EdgeError {
    fn from(e: DeskError) -> Self {
        let code = e.code();
        if code == Code::StoreUnavailable {
            // The store's reason is for the operator's log, not for the page.
            tracing::warn!(error = %e, "dashboard: store unavailable");
            return EdgeError::new(code);
        }
        EdgeError::new(code).detail(e.to_string())
    }
}

/// How an operator finished with an entry; both delete it for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Dealt with (the privacy statement: no copy is kept once handled).
    Handled,
    Deleted,
}

/// What "delete everything for this person" did.
#[derive(Debug)]
pub enum PersonErasure {
    /// The entries were deleted; how many.
    Erased(usize),
    /// The confirmation named another number of entries than there are now: nothing was
    /// deleted; these are the entries there are now, to confirm again.
    Changed(Vec<Entry>),
}

/// A consent record as an operator sees it: the receipts and the archived texts by hash.
pub struct ConsentLookup {
    pub record: OwnRecord,
    pub texts: BTreeMap<String, ShownTexts>,
}

/// One operator's audited actions at one moment; cheap to build per request.
pub struct Desk<'a> {
    pub forms: &'a FormsService,
    pub consent: &'a ConsentService,
    pub audit: &'a AuditLog,
    /// Who acts (a configured operator name).
    pub operator: &'a str,
    /// When, unix seconds.
    pub now: u64,
    /// Keys the e-mail hash that stands in for an address in the log (`keys.email_index`, so
    /// it matches the store's index).
    pub email_key: &'a Key,
}

/// `<form>/<entry id>`, the audit object of an entry.
fn entry_object(form: &str, id: &str) -> String {
    format!("{form}/{id}")
}

/// Entries in a JSON array (what the forms' exports produce).
fn json_items(json: &str) -> u64 {
    serde_json::from_str::<Vec<IgnoredAny>>(json).map_or(0, |v| v.len() as u64)
}

impl Desk<'_> {
    async fn log(&self, event: AuditEvent) -> Result<(), DeskError> {
        self.audit.append(&event).await?;
        Ok(())
    }

    fn event(&self, action: AuditAction) -> AuditEvent {
        AuditEvent::new(self.now, self.operator, action)
    }

    /// Read one entry (audited: `entry_opened`); `None` when it does not exist (any more).
    pub async fn open_entry(&self, form: &str, id: &str) -> Result<Option<Entry>, DeskError> {
        let Some(entry) = self.forms.get(form, id).await? else {
            return Ok(None);
        };
        self.log(
            self.event(AuditAction::EntryOpened)
                .object(entry_object(form, id)),
        )
        .await?;
        Ok(Some(entry))
    }

    /// One entry as JSON (audited: `entry_exported`); `None` when it does not exist.
    pub async fn export_entry(&self, form: &str, id: &str) -> Result<Option<String>, DeskError> {
        let Some(entry) = self.forms.get(form, id).await? else {
            return Ok(None);
        };
        let json = serde_json::to_string_pretty(&entry).map_err(ExportError::from)?;
        self.log(
            self.event(AuditAction::EntryExported)
                .object(entry_object(form, id)),
        )
        .await?;
        Ok(Some(json))
    }

    /// Delete an entry as handled or deleted (audited first); false when it did not exist.
    pub async fn finish_entry(&self, form: &str, id: &str, how: Finish) -> Result<bool, DeskError> {
        if self.forms.get(form, id).await?.is_none() {
            return Ok(false);
        }
        let action = match how {
            Finish::Handled => AuditAction::EntryHandled,
            Finish::Deleted => AuditAction::EntryDeleted,
        };
        self.log(self.event(action).object(entry_object(form, id)))
            .await?;
        Ok(match how {
            Finish::Handled => self.forms.mark_handled(form, id).await?,
            Finish::Deleted => self.forms.delete(form, id).await?,
        })
    }

    /// Every entry of a form as a JSON array, and how many (audited: `form_exported`).
    pub async fn export_form(&self, form: &str) -> Result<(String, u64), DeskError> {
        let json = self.forms.export_json(form).await?;
        let count = json_items(&json);
        self.log(
            self.event(AuditAction::FormExported)
                .object(form)
                .count(count),
        )
        .await?;
        Ok((json, count))
    }

    fn person(&self, action: AuditAction, email: &str, count: u64) -> AuditEvent {
        self.event(action)
            .object(email_hash(self.email_key, email))
            .count(count)
    }

    /// Every entry sent with this e-mail address (audited: `person_searched`).
    pub async fn find_person(&self, email: &str) -> Result<Vec<Entry>, DeskError> {
        let found = self.forms.find_by_email(email).await?;
        self.log(self.person(AuditAction::PersonSearched, email, found.len() as u64))
            .await?;
        Ok(found)
    }

    /// Everything for this address as a JSON array, and how many (audited: `person_exported`).
    pub async fn export_person(&self, email: &str) -> Result<(String, u64), DeskError> {
        let json = self.forms.export_email_json(email).await?;
        let count = json_items(&json);
        self.log(self.person(AuditAction::PersonExported, email, count))
            .await?;
        Ok((json, count))
    }

    /// Delete everything for this address, if there are exactly `expected` entries (what the
    /// operator confirmed); audited: `person_erased`.
    pub async fn erase_person(
        &self,
        email: &str,
        expected: usize,
    ) -> Result<PersonErasure, DeskError> {
        let found = self.forms.find_by_email(email).await?;
        if found.len() != expected {
            return Ok(PersonErasure::Changed(found));
        }
        self.log(self.person(AuditAction::PersonErased, email, expected as u64))
            .await?;
        Ok(PersonErasure::Erased(
            self.forms.delete_all_for_email(email).await?,
        ))
    }

    /// Look up a consent record with the texts each decision was made on (audited:
    /// `consent_looked_up`, found or not). `None` when nothing is stored; the caller checks
    /// the id's shape with [`valid_consent_id`] first.
    pub async fn look_up_consent(&self, id: &str) -> Result<Option<ConsentLookup>, DeskError> {
        if !valid_consent_id(id) {
            return Ok(None);
        }
        self.log(self.event(AuditAction::ConsentLookedUp).object(id))
            .await?;
        let Some(record) = self.consent.record_of(id).await? else {
            return Ok(None);
        };
        let mut texts = BTreeMap::new();
        for r in &record.history {
            if !texts.contains_key(&r.texts_hash) {
                if let Some(shown) = self.consent.shown_texts(&r.texts_hash).await? {
                    texts.insert(r.texts_hash.clone(), shown);
                }
            }
        }
        Ok(Some(ConsentLookup { record, texts }))
    }

    /// The record as ISO/IEC TS 27560 JSON (audited: `consent_exported`); `None` when
    /// nothing is stored.
    pub async fn export_consent(&self, id: &str) -> Result<Option<serde_json::Value>, DeskError> {
        if !valid_consent_id(id) {
            return Ok(None);
        }
        let Some(record) = self.consent.record_of(id).await? else {
            return Ok(None);
        };
        let json = self.consent.iso27560_record(id, &record).await?;
        self.log(self.event(AuditAction::ConsentExported).object(id))
            .await?;
        Ok(Some(json))
    }

    /// Erase a consent record and its history (audited first); false when nothing was stored.
    pub async fn erase_consent(&self, id: &str) -> Result<bool, DeskError> {
        if !valid_consent_id(id) || self.consent.record_of(id).await?.is_none() {
            return Ok(false);
        }
        self.log(self.event(AuditAction::ConsentErased).object(id))
            .await?;
        Ok(self.consent.erase(id).await?)
    }

    /// The receipts of a range as JSON lines or CSV, and how many (audited:
    /// `receipts_exported`, the range as object).
    pub async fn export_receipts(
        &self,
        filter: &ReceiptFilter,
        format: ReceiptFormat,
    ) -> Result<(Vec<u8>, usize), DeskError> {
        let (doc, count) = match format {
            ReceiptFormat::JsonLines => receipts_jsonl(self.consent, filter).await?,
            ReceiptFormat::Csv => receipts_csv(self.consent, filter).await?,
        };
        let mut range = format!(
            "{}..{}",
            rfc3339(filter.from_ms / 1000),
            rfc3339(filter.to_ms / 1000)
        );
        if let Some(action) = filter.action {
            range.push(' ');
            range.push_str(action.as_str());
        }
        self.log(
            self.event(AuditAction::ReceiptsExported)
                .object(range)
                .count(count as u64),
        )
        .await?;
        Ok((doc, count))
    }

    /// The audit log (filtered) as CSV, and how many entries (audited: `audit_exported`).
    pub async fn export_audit(&self, filter: &AuditFilter) -> Result<(Vec<u8>, usize), DeskError> {
        let (doc, count) = self.audit.export_csv(filter).await?;
        self.log(self.event(AuditAction::AuditExported).count(count as u64))
            .await?;
        Ok((doc, count))
    }
}

/// The two shapes of a receipt export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptFormat {
    /// One receipt per line, as stored (`.jsonl`).
    JsonLines,
    Csv,
}
