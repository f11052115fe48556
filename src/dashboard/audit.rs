//! The audit log of operator actions: who did what to which record, when — never the
//! content. Every sign-in (successful or not), sign-out, opened entry, export, deletion,
//! consent look-up and erasure, and every change to a data-subject request, is appended through [`AuditLog::append`] before the action's
//! result is shown, so an action that cannot be logged does not happen. Entries live in the
//! store's append-only log (`store.audit_max_entries`, `store.audit_retention`); admins read
//! them filtered by operator and action, page by page, or as CSV.

use serde::{Deserialize, Serialize};

use super::export::{csv_document, ExportError};
use crate::consent::rfc3339;
use crate::store::{AuditId, Store, StoreError};

/// Operator name recorded for a failed sign-in that named no configured account (configured
/// names cannot contain parentheses, so it never collides with one).
pub const UNKNOWN_OPERATOR: &str = "(unknown)";
/// Most entries returned in one page.
pub const MAX_PAGE: usize = 200;
/// Most entries one page request looks at while filtering; the page then ends early and
/// says where to go on.
pub const MAX_SCAN: usize = 5_000;
/// Entries read from the store per round trip while filtering.
const CHUNK: usize = 250;

/// What an operator did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    SignOut,
    /// Read one contact-form entry (object: `<form>/<entry id>`).
    EntryOpened,
    /// Exported one entry as JSON (object: `<form>/<entry id>`).
    EntryExported,
    /// Exported all entries of a form (object: the form id; count: entries).
    FormExported,
    /// Marked an entry handled, which deletes it (object: `<form>/<entry id>`).
    EntryHandled,
    EntryDeleted,
    /// Searched the inbox for one person (object: the keyed e-mail hash; count: entries).
    PersonSearched,
    PersonExported,
    /// Deleted everything for one person (object: the keyed e-mail hash; count: entries).
    PersonErased,
    /// Looked up a consent record (object: the consent id).
    ConsentLookedUp,
    ConsentExported,
    ConsentErased,
    /// Exported receipts of a date range (object: the range; count: receipts).
    ReceiptsExported,
    /// Exported the audit log (count: entries).
    AuditExported,
    /// Registered a data-subject request (object: the request id).
    RequestRegistered,
    /// Opened a request, which shows the person's contact (object: the request id).
    RequestOpened,
    /// Changed a request's status (object: `<request id>/<new status>`).
    RequestStatusChanged,
    /// Extended a request's deadline (object: the request id; count: months).
    RequestExtended,
    /// Attached entries or consent records to a request (object: the request id; count).
    RequestAttached,
    /// Took an entry or consent record off a request (object: `<request id> <what>`).
    RequestDetached,
    /// Exported what a request concerns (object: the request id; count: records).
    RequestExported,
    /// Corrected a field of an entry (object: `<request id> <form>/<entry id>/<field>`);
    /// neither value is recorded.
    EntryRectified,
    /// Restricted an entry (object: `<request id> <form>/<entry id>`).
    EntryRestricted,
    /// Lifted an entry's restriction (object: `<request id> <form>/<entry id>`).
    EntryRestrictionLifted,
    /// Erased what a request concerns, entries and consent records (object: the request id;
    /// count: records).
    RequestErased,
    /// Made a read-only API token (object: the token's id, never the token).
    ApiTokenCreated,
    /// Revoked an API token (object: the token's id).
    ApiTokenRevoked,
    /// Classified a discovered cookie or origin (object: `<cookie|origin> <name> <category>`).
    TrackerClassified,
}

impl AuditAction {
    /// Every action, in the order the filter offers them.
    pub const ALL: [AuditAction; 30] = [
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::SignOut,
        AuditAction::EntryOpened,
        AuditAction::EntryExported,
        AuditAction::FormExported,
        AuditAction::EntryHandled,
        AuditAction::EntryDeleted,
        AuditAction::PersonSearched,
        AuditAction::PersonExported,
        AuditAction::PersonErased,
        AuditAction::ConsentLookedUp,
        AuditAction::ConsentExported,
        AuditAction::ConsentErased,
        AuditAction::ReceiptsExported,
        AuditAction::AuditExported,
        AuditAction::RequestRegistered,
        AuditAction::RequestOpened,
        AuditAction::RequestStatusChanged,
        AuditAction::RequestExtended,
        AuditAction::RequestAttached,
        AuditAction::RequestDetached,
        AuditAction::RequestExported,
        AuditAction::EntryRectified,
        AuditAction::EntryRestricted,
        AuditAction::EntryRestrictionLifted,
        AuditAction::RequestErased,
        AuditAction::ApiTokenCreated,
        AuditAction::ApiTokenRevoked,
        AuditAction::TrackerClassified,
    ];

    /// The snake_case name used in storage, CSV and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::SignOut => "sign_out",
            AuditAction::EntryOpened => "entry_opened",
            AuditAction::EntryExported => "entry_exported",
            AuditAction::FormExported => "form_exported",
            AuditAction::EntryHandled => "entry_handled",
            AuditAction::EntryDeleted => "entry_deleted",
            AuditAction::PersonSearched => "person_searched",
            AuditAction::PersonExported => "person_exported",
            AuditAction::PersonErased => "person_erased",
            AuditAction::ConsentLookedUp => "consent_looked_up",
            AuditAction::ConsentExported => "consent_exported",
            AuditAction::ConsentErased => "consent_erased",
            AuditAction::ReceiptsExported => "receipts_exported",
            AuditAction::AuditExported => "audit_exported",
            AuditAction::RequestRegistered => "request_registered",
            AuditAction::RequestOpened => "request_opened",
            AuditAction::RequestStatusChanged => "request_status_changed",
            AuditAction::RequestExtended => "request_extended",
            AuditAction::RequestAttached => "request_attached",
            AuditAction::RequestDetached => "request_detached",
            AuditAction::RequestExported => "request_exported",
            AuditAction::EntryRectified => "entry_rectified",
            AuditAction::EntryRestricted => "entry_restricted",
            AuditAction::EntryRestrictionLifted => "entry_restriction_lifted",
            AuditAction::RequestErased => "request_erased",
            AuditAction::ApiTokenCreated => "api_token_created",
            AuditAction::ApiTokenRevoked => "api_token_revoked",
            AuditAction::TrackerClassified => "tracker_classified",
        }
    }

    /// The action called `name` (as in [`AuditAction::as_str`]).
    pub fn from_name(name: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// One audit entry. `object` identifies a record (an entry id, a consent id, a keyed e-mail
/// hash), never its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When, unix seconds.
    pub at: u64,
    /// Operator name (or `--as NAME` on the command line; [`UNKNOWN_OPERATOR`]).
    pub operator: String,
    pub action: AuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// How many records the action touched, where that is more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

impl AuditEvent {
    pub fn new(at: u64, operator: &str, action: AuditAction) -> Self {
        Self {
            at,
            operator: operator.to_owned(),
            action,
            object: None,
            count: None,
        }
    }

    pub fn object(mut self, object: impl Into<String>) -> Self {
        self.object = Some(object.into());
        self
    }

    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }
}

/// Why the audit log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
}

/// Which entries to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub operator: Option<String>,
    pub action: Option<AuditAction>,
}

impl AuditFilter {
    fn matches(&self, e: &AuditEvent) -> bool {
        self.operator.as_ref().is_none_or(|o| *o == e.operator)
            && self.action.is_none_or(|a| a == e.action)
    }
}

/// One page of the log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditPage {
    pub events: Vec<(AuditId, AuditEvent)>,
    /// Where the next page starts (pass it as `before`); `None` at the end of the log.
    pub next: Option<AuditId>,
    /// Entries that could not be read (written by a newer version, or damaged); skipped.
    pub unreadable: usize,
}

/// The audit log in the store.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Append one entry; fails when the store does (the action must not go ahead then).
    pub async fn append(&self, event: &AuditEvent) -> Result<AuditId, AuditError> {
        let bytes = serde_json::to_vec(event).map_err(ExportError::from)?;
        let id = self.store.append_audit(&bytes).await?;
        id.parse::<AuditId>()
            .map_err(|_| AuditError::Store(StoreError::Corrupt("audit id".into())))
    }

    /// Up to `limit` (at most [`MAX_PAGE`]) matching entries older than `before`, newest
    /// first. Looks at most at [`MAX_SCAN`] entries, so a rare filter over a long log comes
    /// back in several shorter pages rather than one slow one.
    pub async fn page(
        &self,
        filter: &AuditFilter,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<AuditPage, AuditError> {
        let limit = limit.clamp(1, MAX_PAGE);
        let mut page = AuditPage::default();
        let mut cursor = before;
        let mut scanned = 0;
        loop {
            let chunk = self.store.read_audit_page(cursor, CHUNK).await?;
            let exhausted = chunk.len() < CHUNK;
            for (id, bytes) in chunk {
                scanned += 1;
                cursor = Some(id);
                match serde_json::from_slice::<AuditEvent>(&bytes) {
                    Ok(e) if filter.matches(&e) => {
                        page.events.push((id, e));
                        if page.events.len() == limit {
                            page.next = Some(id);
                            return Ok(page);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => page.unreadable += 1,
                }
            }
            if exhausted {
                return Ok(page);
            }
            if scanned >= MAX_SCAN {
                page.next = cursor;
                return Ok(page);
            }
        }
    }

    /// Every matching entry, newest first, as CSV (`time`, `operator`, `action`, `object`,
    /// `count`; time in RFC 3339 UTC), and how many entries it holds.
    pub async fn export_csv(&self, filter: &AuditFilter) -> Result<(Vec<u8>, usize), AuditError> {
        let mut events = Vec::new();
        let mut before = None;
        loop {
            let page = self.page(filter, before, MAX_PAGE).await?;
            events.extend(page.events.into_iter().map(|(_, e)| e));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        let rows: Vec<[String; 5]> = events
            .iter()
            .map(|e| {
                [
                    rfc3339(e.at),
                    e.operator.clone(),
                    e.action.as_str().to_owned(),
                    e.object.clone().unwrap_or_default(),
                    e.count.map(|c| c.to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        let doc = csv_document(
            &["time", "operator", "action", "object", "count"],
            rows.iter().map(|r| r.iter().map(String::as_str)),
        )?;
        Ok((doc, events.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log() -> AuditLog {
        AuditLog::new(Store::memory())
    }

    #[test]
    fn action_names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::from_name(a.as_str()), Some(a));
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        assert_eq!(AuditAction::from_name("sign_in "), None);
    }

    #[tokio::test]
    async fn entries_are_filtered_by_operator_and_action_and_paged() {
        let log = log();
        for i in 0..12u64 {
            let operator = if i % 2 == 0 { "ann" } else { "tom" };
            let action = if i % 3 == 0 {
                AuditAction::EntryOpened
            } else {
                AuditAction::SignIn
            };
            log.append(
                &AuditEvent::new(1_000 + i, operator, action).object(format!("contact/{i}")),
            )
            .await
            .unwrap();
        }
        let all = log.page(&AuditFilter::default(), None, 5).await.unwrap();
        let times: Vec<u64> = all.events.iter().map(|(_, e)| e.at).collect();
        assert_eq!(times, [1011, 1010, 1009, 1008, 1007]);
        let rest = log
            .page(&AuditFilter::default(), all.next, 50)
            .await
            .unwrap();
        assert_eq!(rest.events.len(), 7);
        assert_eq!(rest.next, None);

        let ann_opened = AuditFilter {
            operator: Some("ann".into()),
            action: Some(AuditAction::EntryOpened),
        };
        let page = log.page(&ann_opened, None, 50).await.unwrap();
        let objects: Vec<&str> = page
            .events
            .iter()
            .filter_map(|(_, e)| e.object.as_deref())
            .collect();
        assert_eq!(objects, ["contact/6", "contact/0"]);
    }

    #[tokio::test]
    async fn csv_export_has_one_row_per_entry_and_no_formulas() {
        let log = log();
        log.append(
            &AuditEvent::new(1_700_000_000, "ann", AuditAction::ConsentErased).object("-abc"),
        )
        .await
        .unwrap();
        log.append(&AuditEvent::new(
            1_700_000_060,
            UNKNOWN_OPERATOR,
            AuditAction::SignInFailed,
        ))
        .await
        .unwrap();
        let (csv, n) = log.export_csv(&AuditFilter::default()).await.unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "time,operator,action,object,count\n\
             2023-11-14T22:14:20Z,(unknown),sign_in_failed,,\n\
             2023-11-14T22:13:20Z,ann,consent_erased,'-abc,\n"
        );
    }

    #[tokio::test]
    async fn unreadable_entries_are_counted_and_skipped() {
        let store = Store::memory();
        store.append_audit(b"not json").await.unwrap();
        let log = AuditLog::new(store);
        log.append(&AuditEvent::new(1, "ann", AuditAction::SignOut))
            .await
            .unwrap();
        let page = log.page(&AuditFilter::default(), None, 10).await.unwrap();
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.unreadable, 1);
    }
}
