//! [`FormsService`]: the capture pipeline (parse → spam checks → validation → rate limit →
//! seal → store) and the library API the dashboard uses on stored entries.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::crypto::{email_hash, KeyRing, OpenError};
use super::page::{Outcome, Pages};
use super::parse::{self, ParseError};
use super::token::{FillToken, TokenCheck};
use super::validate::{self, Checked};
use super::FormsError;
use crate::config::{Config, FieldType, FormConfig, FORM_TOKEN_FIELD};
use crate::keys::{self, Key, Keys};
use crate::privacy::Privacy;
use crate::store::{FormEntryRecord, Store, StoreError};

/// How often [`FormsService::spawn_sweeper`] trims the form indexes.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Largest page [`FormsService::list`] returns.
pub const MAX_PAGE: usize = 200;
/// Counter hash (per day) holding `<form>.<outcome>` counts; no personal data.
pub const COUNTER_NAME: &str = "forms";

/// What is sealed inside a stored entry.
#[derive(Serialize, Deserialize)]
struct SealedPayload {
    fields: Vec<(String, String)>,
    country: Option<String>,
}

/// One field of a decrypted entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryField {
    pub name: String,
    /// The configured label (the name when none is configured or the field was removed since).
    pub label: String,
    pub value: String,
}

/// A decrypted entry as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: String,
    pub form: String,
    /// Submission time, Unix seconds.
    pub created: u64,
    /// ISO country code when geo look-up was on.
    pub country: Option<String>,
    /// Empty when the entry could not be opened (see `unreadable`).
    pub fields: Vec<EntryField>,
    /// Why the entry could not be decrypted (its key was removed from the configuration), if so.
    pub unreadable: Option<String>,
}

/// One page of a form's inbox, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct EntryPage {
    pub entries: Vec<Entry>,
    /// Unexpired entries of the form over all pages.
    pub total: usize,
}

/// A submission the pipeline refused, with what the visitor typed when it could be read.
#[derive(Debug)]
pub struct Refusal {
    pub outcome: Outcome,
    pub typed: Option<Checked>,
}

impl Refusal {
    /// A refusal before anything the visitor typed could be read.
    pub fn bare(outcome: Outcome) -> Self {
        Self {
            outcome,
            typed: None,
        }
    }
}

/// A stored submission.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub created: u64,
}

struct Inner {
    forms: Vec<FormConfig>,
    store: Store,
    ring: KeyRing,
    /// Current e-mail index key first, then keys of previous secrets.
    email_keys: Vec<Key>,
    tokens: FillToken,
    pages: Pages,
    privacy: Privacy,
    script: Option<super::routes::Script>,
}

/// Contact-form capture and inbox; shared by all workers as `web::Data<FormsService>`.
#[derive(Clone)]
pub struct FormsService {
    inner: Arc<Inner>,
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn aad(form: &str, id: &str, created: u64) -> Vec<u8> {
    format!("consentgate-form-entry/v1|{form}|{id}|{created}").into_bytes()
}

fn new_entry_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FormsService {
    /// Build from the validated config. `keys` are the current secret's keys; entries sealed
    /// under `cfg.previous_secrets` still open.
    pub fn new(cfg: &Config, keys: &Keys, store: Store) -> Result<Self, FormsError> {
        let previous: Vec<Key> = cfg
            .previous_secrets
            .iter()
            .map(|s| keys::derive(s.expose(), "form-encryption/v1"))
            .collect();
        let mut email_keys = vec![keys.email_index.clone()];
        email_keys.extend(
            cfg.previous_secrets
                .iter()
                .map(|s| keys::derive(s.expose(), "form-email-index/v1")),
        );
        let privacy = Privacy::new(&cfg.privacy)?;
        if cfg.forms.iter().any(|f| f.notify_webhook.is_some()) {
            // The webhook client may speak TLS.
            crate::proxy::install_tls_provider();
        }
        Ok(Self {
            inner: Arc::new(Inner {
                script: super::routes::Script::build(&cfg.forms),
                forms: cfg.forms.clone(),
                store,
                ring: KeyRing::new(&keys.form_encryption, &previous),
                email_keys,
                tokens: FillToken::new(keys.form_token.clone()),
                pages: Pages::new(),
                privacy,
            }),
        })
    }

    /// The configured forms, in configuration order.
    pub fn forms(&self) -> &[FormConfig] {
        &self.inner.forms
    }

    pub(crate) fn form(&self, index: usize) -> Option<&FormConfig> {
        self.inner.forms.get(index)
    }

    fn form_by_id(&self, id: &str) -> Result<&FormConfig, FormsError> {
        self.inner
            .forms
            .iter()
            .find(|f| f.id == id)
            .ok_or_else(|| FormsError::UnknownForm(id.to_owned()))
    }

    pub(crate) fn pages(&self) -> &Pages {
        &self.inner.pages
    }

    pub(crate) fn privacy(&self) -> &Privacy {
        &self.inner.privacy
    }

    pub(crate) fn script(&self) -> Option<&super::routes::Script> {
        self.inner.script.as_ref()
    }

    /// Tags to inject into every page's `<head>`: the forms script that adds the fill-time
    /// token and honeypot to configured forms. `""` when no form is configured.
    pub fn head_html(&self) -> String {
        match &self.inner.script {
            Some(s) => format!("<script src=\"{}\" defer></script>", s.url),
            None => String::new(),
        }
    }

    /// A fresh fill-time token (what forms.js fetches and the gate's own pages embed).
    pub fn issue_token(&self) -> String {
        self.inner.tokens.issue(now_ms())
    }

    // ---- capture ----

    /// Run one submission through every check and store it. `visitor_key` is the anonymised
    /// address the rate limit counts by; `country` is sealed with the entry. A `Stored` answer
    /// means the store confirmed the write.
    pub async fn capture(
        &self,
        form: &FormConfig,
        content_type: Option<&str>,
        body: &[u8],
        visitor_key: &str,
        country: Option<String>,
    ) -> Result<Stored, Refusal> {
        let result = self
            .capture_inner(form, content_type, body, visitor_key, country)
            .await;
        let code = match &result {
            Ok(_) => "stored",
            Err(r) => r.outcome.code(),
        };
        self.count(form, code).await;
        result
    }

    async fn capture_inner(
        &self,
        form: &FormConfig,
        content_type: Option<&str>,
        body: &[u8],
        visitor_key: &str,
        country: Option<String>,
    ) -> Result<Stored, Refusal> {
        if body.len() > form.max_body_bytes {
            return Err(Refusal::bare(Outcome::TooLarge {
                limit_bytes: form.max_body_bytes,
            }));
        }
        let kind = parse::body_kind(content_type).map_err(refusal_of_parse)?;
        let submitted = parse::parse(&kind, body).map_err(refusal_of_parse)?;
        let checked = validate::check(form, &submitted);
        let field = |name: &str| {
            submitted
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if !form.honeypot_field.is_empty()
            && field(&form.honeypot_field).is_some_and(|v| !v.trim().is_empty())
        {
            return Err(Refusal {
                outcome: Outcome::Honeypot,
                typed: Some(checked),
            });
        }
        if !form.min_fill_time.is_zero() {
            let min_ms = form.min_fill_time.as_millis() as u64;
            if self
                .inner
                .tokens
                .check(field(FORM_TOKEN_FIELD), now_ms(), min_ms)
                != TokenCheck::Ok
            {
                return Err(Refusal {
                    outcome: Outcome::TooFast,
                    typed: Some(checked),
                });
            }
        }
        if !checked.errors.is_empty() {
            return Err(Refusal {
                outcome: Outcome::Invalid,
                typed: Some(checked),
            });
        }
        let store_down = |checked: Checked| {
            move |e: StoreError| {
                tracing::warn!(form = %form.id, error = %e, "form entry not stored");
                Refusal {
                    outcome: Outcome::StoreDown,
                    typed: Some(checked),
                }
            }
        };
        // Only submissions that would be stored count towards the limit, so a person
        // correcting typos is never locked out by their own mistakes.
        if form.rate_limit_max > 0 {
            let key = format!("form:{}:{visitor_key}", form.id);
            let hits = match self
                .inner
                .store
                .hit_rate_limit(&key, form.rate_limit_window)
                .await
            {
                Ok(hits) => hits,
                Err(e) => return Err(store_down(checked)(e)),
            };
            if hits > form.rate_limit_max {
                return Err(Refusal {
                    outcome: Outcome::RateLimited,
                    typed: Some(checked),
                });
            }
        }
        let record = self.seal(form, &checked, country);
        let stored = Stored {
            id: record.id.clone(),
            created: record.created,
        };
        match self
            .inner
            .store
            .put_form_entry(&form.id, &record, form.retention)
            .await
        {
            Ok(()) => Ok(stored),
            Err(e) => Err(store_down(checked)(e)),
        }
    }

    fn seal(
        &self,
        form: &FormConfig,
        checked: &Checked,
        country: Option<String>,
    ) -> FormEntryRecord {
        let id = new_entry_id();
        let created = now_ms() / 1000;
        let email = form
            .fields
            .iter()
            .filter(|f| f.kind == FieldType::Email)
            .find_map(|f| checked.value(&f.name).filter(|v| !v.is_empty()));
        let payload = SealedPayload {
            fields: checked
                .values
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect(),
            country,
        };
        // Serialising strings and options to JSON cannot fail.
        let plaintext = serde_json::to_vec(&payload).unwrap_or_default();
        FormEntryRecord {
            ciphertext: self
                .inner
                .ring
                .seal(&plaintext, &aad(&form.id, &id, created)),
            email_hash: email.map(|e| email_hash(&self.inner.email_keys[0], e)),
            form: form.id.clone(),
            id,
            created,
        }
    }

    /// Count one outcome in today's `forms` counters (`<form>.<code>`); a store failure is
    /// only logged, since counting must never block an answer.
    pub(crate) async fn count(&self, form: &FormConfig, code: &str) {
        let day = time::OffsetDateTime::now_utc().date().to_string();
        let field = format!("{}.{code}", form.id);
        if let Err(e) = self
            .inner
            .store
            .incr_counters(COUNTER_NAME, &day, &[(field.as_str(), 1)])
            .await
        {
            tracing::debug!(error = %e, "form counter not updated");
        }
    }

    // ---- library API for the dashboard ----

    fn open(&self, record: FormEntryRecord) -> Entry {
        let form = self.inner.forms.iter().find(|f| f.id == record.form);
        let label = |name: &str| {
            form.and_then(|f| f.fields.iter().find(|x| x.name == name))
                .map(|x| x.label().to_owned())
                .unwrap_or_else(|| name.to_owned())
        };
        let opened = self
            .inner
            .ring
            .open(
                &record.ciphertext,
                &aad(&record.form, &record.id, record.created),
            )
            .and_then(|plain| {
                serde_json::from_slice::<SealedPayload>(&plain).map_err(|_| OpenError::Format)
            });
        let (fields, country, unreadable) = match opened {
            Ok(p) => (
                p.fields
                    .into_iter()
                    .map(|(name, value)| EntryField {
                        label: label(&name),
                        name,
                        value,
                    })
                    .collect(),
                p.country,
                None,
            ),
            Err(e) => (Vec::new(), None, Some(e.to_string())),
        };
        Entry {
            id: record.id,
            form: record.form,
            created: record.created,
            country,
            fields,
            unreadable,
        }
    }

    /// A page of a form's entries, decrypted, newest first; `limit` is capped at [`MAX_PAGE`].
    pub async fn list(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<EntryPage, FormsError> {
        self.form_by_id(form)?;
        let page = self
            .inner
            .store
            .list_form_entries(form, offset, limit.min(MAX_PAGE))
            .await?;
        Ok(EntryPage {
            total: page.total,
            entries: page.entries.into_iter().map(|r| self.open(r)).collect(),
        })
    }

    /// One entry, decrypted; `None` when it does not exist (any more).
    pub async fn get(&self, form: &str, id: &str) -> Result<Option<Entry>, FormsError> {
        self.form_by_id(form)?;
        let record = self.inner.store.get_form_entry(form, id).await?;
        Ok(record.map(|r| self.open(r)))
    }

    /// The operator dealt with the entry: it is deleted (the privacy statement promises no
    /// copy is kept after handling). True if it existed.
    pub async fn mark_handled(&self, form: &str, id: &str) -> Result<bool, FormsError> {
        self.delete(form, id).await
    }

    /// Delete an entry for good. True if it existed.
    pub async fn delete(&self, form: &str, id: &str) -> Result<bool, FormsError> {
        self.form_by_id(form)?;
        Ok(self.inner.store.delete_form_entry(form, id).await?)
    }

    /// Every unexpired entry of a form as a JSON array (data portability), newest first.
    pub async fn export_json(&self, form: &str) -> Result<String, FormsError> {
        let mut all = Vec::new();
        let mut offset = 0;
        // Bounded by the number of entries: each round takes a full page or ends.
        loop {
            let page = self.list(form, offset, MAX_PAGE).await?;
            let n = page.entries.len();
            all.extend(page.entries);
            offset += n;
            if n < MAX_PAGE || offset >= page.total {
                break;
            }
        }
        Ok(serde_json::to_string_pretty(&all).unwrap_or_else(|_| "[]".into()))
    }

    /// Every unexpired entry, in any form, submitted with this e-mail address (access request).
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Entry>, FormsError> {
        let mut found = Vec::new();
        for (form, id) in self.ids_for_email(email).await? {
            if let Some(record) = self.inner.store.get_form_entry(&form, &id).await? {
                found.push(self.open(record));
            }
        }
        Ok(found)
    }

    /// [`FormsService::find_by_email`] as JSON, for a data-portability answer.
    pub async fn export_email_json(&self, email: &str) -> Result<String, FormsError> {
        let found = self.find_by_email(email).await?;
        Ok(serde_json::to_string_pretty(&found).unwrap_or_else(|_| "[]".into()))
    }

    /// Erasure request: delete every entry submitted with this e-mail address; returns how many.
    pub async fn delete_all_for_email(&self, email: &str) -> Result<usize, FormsError> {
        let mut deleted = 0;
        for (form, id) in self.ids_for_email(email).await? {
            if self.inner.store.delete_form_entry(&form, &id).await? {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    async fn ids_for_email(&self, email: &str) -> Result<Vec<(String, String)>, FormsError> {
        let mut ids = Vec::new();
        // Entries from before a key rotation were indexed with the old key's hash.
        for key in &self.inner.email_keys {
            for hit in self
                .inner
                .store
                .find_form_entries_by_email(&email_hash(key, email))
                .await?
            {
                if !ids.contains(&hit) {
                    ids.push(hit);
                }
            }
        }
        Ok(ids)
    }

    /// Trim expired members from every form's index once; returns how many were dropped.
    pub async fn sweep_once(&self) -> Result<usize, FormsError> {
        let mut dropped = 0;
        for form in &self.inner.forms {
            dropped += self.inner.store.sweep_form_index(&form.id).await?;
        }
        Ok(dropped)
    }

    /// Start the background sweep (every [`SWEEP_INTERVAL`]) on the current actix/tokio
    /// runtime. Entries expire by store TTL regardless; this keeps indexes small.
    pub fn spawn_sweeper(&self) -> actix_web::rt::task::JoinHandle<()> {
        let service = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(SWEEP_INTERVAL);
            loop {
                tick.tick().await;
                match service.sweep_once().await {
                    Ok(n) if n > 0 => tracing::debug!(dropped = n, "form index sweep"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "form index sweep failed"),
                }
            }
        })
    }
}

fn refusal_of_parse(e: ParseError) -> Refusal {
    Refusal::bare(match e {
        ParseError::UnsupportedType(_) => Outcome::UnsupportedType,
        ParseError::FilePart => Outcome::FilePart,
        ParseError::BadEncoding => Outcome::BadEncoding,
        ParseError::Malformed(_) => Outcome::Malformed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_can_be_shared_by_all_workers() {
        fn assert_shareable<T: Clone + Send + Sync + 'static>() {}
        assert_shareable::<FormsService>();
    }

    #[test]
    fn aad_binds_form_entry_and_time() {
        assert_ne!(aad("a", "1", 5), aad("a", "1", 6));
        assert_ne!(aad("a", "1", 5), aad("b", "1", 5));
        assert_ne!(aad("a", "1", 5), aad("a", "2", 5));
    }
}
