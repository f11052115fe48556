//! The register of data-subject requests (GDPR art. 12, 15–21, 7(3)): each request with its
//! type, how and when it came in, the person's contact, how their identity was checked, its
//! status and legal due date (see [`due`]), and the entries and consent records it concerns.
//! From a request the operator finds the person's data, exports it (JSON and a readable HTML
//! page, Dutch or English), corrects it, restricts it or erases it ([`RequestDesk`]); every
//! change is written to the audit log and into the request itself.
//!
//! Requests are stored sealed as a whole (XChaCha20-Poly1305 under a key derived from the
//! secret; earlier secrets still open) with a version, so two operators cannot overwrite each
//! other's change. An open request is kept until `dsr.retention` after its due date, a closed
//! one `dsr.retention` after it closed (default one year: the proof it was answered); then
//! the store deletes it. Once a day, open requests due within [`DUE_SOON_DAYS`] days or
//! overdue are posted (ids and dates only) to `dsr.notify_webhook`, when configured.

mod desk;
pub mod due;
mod export;
pub mod model;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use time::Date;

pub use desk::{Attached, NewRequest, RequestDesk, RequestView, Target};
pub use export::{json as export_json, ConsentExport, Contents};
pub use model::{Channel, EntryRef, Kind, Refusal, Request, Status};

use crate::clock::{utc_date, SharedClock};
use crate::config::{Config, Deadline, DsrConfig};
use crate::consent::RecordError;
use crate::dashboard::audit::AuditError;
use crate::dashboard::export::ExportError;
use crate::forms::crypto::KeyRing;
use crate::forms::{FormsError, FormsService};
use crate::http::{Code, EdgeError};
use crate::keys::{self, Keys};
use crate::store::{DsrRecord, DsrWrite, Store, StoreError};

/// Requests due within this many days (or overdue) stand out and are notified.
pub const DUE_SOON_DAYS: i64 = 7;
/// How often the due-soon task looks whether today's notification went out.
pub const DUE_NOTICE_INTERVAL: Duration = Duration::from_secs(600);

/// Why the register could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Audit(#[from] AuditError),
    #[error(transparent)]
    Forms(#[from] FormsError),
    #[error(transparent)]
    Consent(#[from] RecordError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("no such request")]
    NotFound,
    /// Someone else changed the request since it was shown.
    #[error("the request was changed meanwhile")]
    Changed,
    /// A rule of the register said no (shown on the request's page).
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("stored request {0} cannot be opened with the configured secrets")]
    Unreadable(String),
}

impl From<RegisterError> for EdgeError {
    fn from(e: RegisterError) -> Self {
        let store = |s: &StoreError| {
            if s.is_transient() {
                Code::StoreUnavailable
            } else {
                Code::StoreCorrupt
            }
        };
        let code = match &e {
            RegisterError::Store(s)
            | RegisterError::Audit(AuditError::Store(s))
            | RegisterError::Forms(FormsError::Store(s))
            | RegisterError::Consent(RecordError::Store(s)) => store(s),
            RegisterError::Consent(RecordError::Corrupt) => Code::StoreCorrupt,
            RegisterError::NotFound | RegisterError::Forms(FormsError::UnknownForm(_)) => {
                Code::NotFound
            }
            RegisterError::Refused(_) | RegisterError::Changed => Code::BadRequest,
            _ => Code::Internal,
        };
        if code == Code::StoreUnavailable {
            tracing::warn!(error = %e, "dashboard: store unavailable");
            return EdgeError::new(code);
        }
        EdgeError::new(code).detail(e.to_string())
    }
}

/// Open requests that need attention: overdue, or due within [`DUE_SOON_DAYS`] days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Attention {
    /// Most overdue first.
    pub overdue: Vec<Due>,
    /// Soonest first.
    pub due_soon: Vec<Due>,
}

/// An open request and its due date, without anything about the person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Due {
    pub id: String,
    pub kind: Kind,
    #[serde(serialize_with = "day_text")]
    pub due: Date,
    /// Negative when overdue.
    pub days_left: i64,
}

fn day_text<S: serde::Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&d.to_string())
}

impl Attention {
    /// How many requests need attention.
    pub fn count(&self) -> usize {
        self.overdue.len() + self.due_soon.len()
    }
}

struct Inner {
    store: Store,
    ring: KeyRing,
    config: DsrConfig,
}

/// The register; cheap to clone, shared by every worker.
#[derive(Clone)]
pub struct Register {
    inner: Arc<Inner>,
}

fn aad(id: &str) -> Vec<u8> {
    format!("consentgate-dsr/v1|{id}").into_bytes()
}

pub(super) fn new_id() -> String {
    let bytes: [u8; 6] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `id` can be a request id (12 lowercase hex characters); others are not looked up.
pub fn valid_request_id(id: &str) -> bool {
    id.len() == 12
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Days since 1970-01-01 of `date` (the store's due day).
fn day_number(date: Date) -> u64 {
    crate::clock::unix_midnight(date) / 86_400
}

impl Register {
    /// The register on `store`, sealing with the secret's key (earlier secrets still open).
    pub fn new(config: &Config, keys: &Keys, store: Store) -> Register {
        let previous: Vec<keys::Key> = config
            .previous_secrets
            .iter()
            .map(|s| keys::derive(s.expose(), keys::DSR_SEALING))
            .collect();
        Register {
            inner: Arc::new(Inner {
                store,
                ring: KeyRing::new(&keys.dsr_sealing, &previous),
                config: config.dsr.clone(),
            }),
        }
    }

    /// The deadline new requests are registered under (`dsr.deadline`).
    pub fn deadline(&self) -> Deadline {
        self.inner.config.deadline
    }

    fn open(&self, record: DsrRecord) -> Result<(Request, u64), RegisterError> {
        let plain = self
            .inner
            .ring
            .open(&record.data, &aad(&record.id))
            .map_err(|_| RegisterError::Unreadable(record.id.clone()))?;
        let request: Request = serde_json::from_slice(&plain)
            .map_err(|_| RegisterError::Unreadable(record.id.clone()))?;
        Ok((request, record.version))
    }

    /// One request and its version; `None` when there is none (any more).
    pub async fn get(&self, id: &str) -> Result<Option<(Request, u64)>, RegisterError> {
        if !valid_request_id(id) {
            return Ok(None);
        }
        match self.inner.store.get_dsr_request(id).await? {
            Some(record) => Ok(Some(self.open(record)?)),
            None => Ok(None),
        }
    }

    /// Every request, open ones first by due date, then closed ones newest first; and how
    /// many stored requests could not be opened (sealed under a secret no longer configured).
    pub async fn all(&self) -> Result<(Vec<Request>, usize), RegisterError> {
        let mut requests = Vec::new();
        let mut unreadable = 0;
        for record in self.inner.store.list_dsr_requests().await? {
            match self.open(record) {
                Ok((r, _)) => requests.push(r),
                Err(_) => unreadable += 1,
            }
        }
        requests.sort_by(|a, b| {
            (
                a.status.is_closed(),
                a.is_open().then(|| a.due()),
                b.registered,
            )
                .cmp(&(
                    b.status.is_closed(),
                    b.is_open().then(|| b.due()),
                    a.registered,
                ))
        });
        Ok((requests, unreadable))
    }

    /// Store `request` over `expected` (`None`: a new one). Fails with
    /// [`RegisterError::Changed`] when another write came first.
    async fn save(
        &self,
        request: &Request,
        expected: Option<u64>,
        now: u64,
    ) -> Result<u64, RegisterError> {
        // Serialising dates, strings and enums to JSON cannot fail.
        let plain = serde_json::to_vec(request).unwrap_or_default();
        let sealed = self.inner.ring.seal(&plain, &aad(&request.id));
        let write = DsrWrite {
            id: &request.id,
            data: &sealed,
            expected_version: expected,
            due_day: request.is_open().then(|| day_number(request.due())),
            ttl: request.keep_for(self.inner.config.retention, now),
        };
        self.inner
            .store
            .put_dsr_request(&write)
            .await?
            .ok_or(RegisterError::Changed)
    }

    /// Open requests due on or before `today` + [`DUE_SOON_DAYS`] (overdue ones included):
    /// the navigation's count. One store call, nothing decrypted.
    pub async fn due_count(&self, today: Date) -> Result<u64, RegisterError> {
        let by = day_number(today) + DUE_SOON_DAYS as u64;
        Ok(self.inner.store.count_dsr_due(by).await?)
    }

    /// The open requests overdue or due soon on `today`.
    pub async fn attention(&self, today: Date) -> Result<Attention, RegisterError> {
        let (requests, _) = self.all().await?;
        let mut attention = Attention::default();
        for r in requests.iter().filter(|r| r.is_open()) {
            let days_left = due::days_left(today, r.due());
            let due = Due {
                id: r.id.clone(),
                kind: r.kind,
                due: r.due(),
                days_left,
            };
            if days_left < 0 {
                attention.overdue.push(due);
            } else if days_left <= DUE_SOON_DAYS {
                attention.due_soon.push(due);
            }
        }
        attention.overdue.sort_by_key(|d| d.days_left);
        attention.due_soon.sort_by_key(|d| d.days_left);
        Ok(attention)
    }

    /// Post today's due-soon notification to `dsr.notify_webhook` through the forms' webhook
    /// client, if one is configured, something is due, and no gate sent today's yet (the
    /// store's rate limit makes it once a day across gates). Returns how many requests it
    /// named.
    pub async fn notify_due_soon(
        &self,
        forms: &FormsService,
        now: u64,
    ) -> Result<usize, RegisterError> {
        let Some(url) = &self.inner.config.notify_webhook else {
            return Ok(0);
        };
        let today = utc_date(now);
        let attention = self.attention(today).await?;
        if attention.count() == 0 {
            return Ok(0);
        }
        let key = format!("dsr-due-notice:{today}");
        if self
            .inner
            .store
            .hit_rate_limit(&key, Duration::from_secs(2 * 86_400))
            .await?
            > 1
        {
            return Ok(0);
        }
        let body = serde_json::json!({
            "date": today.to_string(),
            "overdue": attention.overdue,
            "due_soon": attention.due_soon,
        });
        forms.notify(url, "dsr due soon", body);
        Ok(attention.count())
    }

    /// Start the daily due-soon notification on the current actix system: checked at start
    /// and every [`DUE_NOTICE_INTERVAL`] on `clock`'s day. Ends with the register. `None`
    /// when no webhook is configured.
    pub fn spawn_background(
        &self,
        forms: FormsService,
        clock: SharedClock,
    ) -> Option<actix_web::rt::task::JoinHandle<()>> {
        self.inner.config.notify_webhook.as_ref()?;
        let register = Arc::downgrade(&self.inner);
        Some(actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(DUE_NOTICE_INTERVAL);
            loop {
                tick.tick().await;
                let Some(inner) = register.upgrade() else {
                    return;
                };
                let register = Register { inner };
                if let Err(e) = register.notify_due_soon(&forms, clock.unix_secs()).await {
                    tracing::warn!(error = %e, "due-soon notification not sent");
                }
            }
        }))
    }
}
