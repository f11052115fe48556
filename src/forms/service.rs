//! [`FormsService`]: what the gate knows about its forms (config, keys, the forms script),
//! sealing entries, and the library API the dashboard uses on stored entries. The capture
//! pipeline itself is in `submit.rs`.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::crypto::{email_hash, KeyRing, OpenError};
use super::notify::{Notifier, QUEUE_CAPACITY};
use super::page::Pages;
use super::path::canonical;
use super::plugin::{cf7_feedback_id, Via, CF7_FORM_CLASS};
use super::token::FillToken;
use super::validate::Checked;
use super::FormsError;
use crate::clock::SharedClock;
use crate::config::{Config, FieldType, FormConfig, FormPlugin};
use crate::http::HashedAsset;
use crate::keys::{self, Key, Keys};
use crate::stats::Stats;
use crate::store::{FormEntryRecord, Store};

/// How often the background sweep trims the form indexes.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Largest page [`FormsService::list`] returns.
pub const MAX_PAGE: usize = 200;

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

/// A stored submission.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: String,
    pub created: u64,
}

struct Inner {
    forms: Vec<FormConfig>,
    /// Each form's path in canonical form ([`super::path::canonical`]), in `forms` order.
    canonical_paths: Vec<String>,
    store: Store,
    ring: KeyRing,
    /// Current e-mail index key first, then keys of previous secrets.
    email_keys: Vec<Key>,
    tokens: FillToken,
    pages: Pages,
    stats: Stats,
    clock: SharedClock,
    notifier: Notifier,
    script: Option<HashedAsset>,
}

/// Contact-form capture and inbox; cheap to clone, shared by all workers.
#[derive(Clone)]
pub struct FormsService {
    inner: Arc<Inner>,
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
    /// under `cfg.previous_secrets` still open. Outcomes are counted in `stats`; `clock` tells
    /// fill times and entry times. Webhook notifications and the index sweep start with
    /// [`FormsService::spawn_background`].
    pub fn new(cfg: &Config, keys: &Keys, store: Store, stats: Stats, clock: SharedClock) -> Self {
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
        if cfg.forms.iter().any(|f| f.notify_webhook.is_some()) {
            // The webhook client may speak TLS.
            crate::proxy::install_tls_provider();
        }
        Self {
            inner: Arc::new(Inner {
                script: super::script::build(&cfg.forms),
                canonical_paths: cfg
                    .forms
                    .iter()
                    .map(|f| canonical(&f.path, f.path_case_sensitive))
                    .collect(),
                forms: cfg.forms.clone(),
                store,
                ring: KeyRing::new(&keys.form_encryption, &previous),
                email_keys,
                tokens: FillToken::new(keys.form_token.clone()),
                pages: Pages::new(),
                stats,
                clock,
                notifier: Notifier::new(QUEUE_CAPACITY),
            }),
        }
    }

    /// The configured forms, in configuration order.
    pub fn forms(&self) -> &[FormConfig] {
        &self.inner.forms
    }

    /// The form at `index` in configuration order.
    pub fn form(&self, index: usize) -> Option<&FormConfig> {
        self.inner.forms.get(index)
    }

    /// The form a POST to `path` (as sent, percent-encoded) is for: its configured path in any
    /// spelling a CMS would read as the same path. The first in configuration order wins.
    pub fn form_for_path(&self, path: &str) -> Option<&FormConfig> {
        let inner = &self.inner;
        let (sensitive, folded) = (canonical(path, true), canonical(path, false));
        inner
            .forms
            .iter()
            .zip(&inner.canonical_paths)
            .find(|(form, wanted)| {
                let seen = if form.path_case_sensitive {
                    &sensitive
                } else {
                    &folded
                };
                seen == *wanted
            })
            .map(|(form, _)| form)
    }

    /// The form a POST to `path` (as sent) with `query` is for, and how it came: a plugin's
    /// own endpoint (CF7's REST feedback route for the form's `plugin_form_id`) or the form's
    /// path. The plugin endpoint is checked first: it is never a page path.
    pub fn form_for_request(&self, path: &str, query: &str) -> Option<(&FormConfig, Via)> {
        let plugin = self
            .inner
            .forms
            .iter()
            .any(|f| f.plugin == FormPlugin::Cf7)
            .then(|| cf7_feedback_id(path, query))
            .flatten()
            .and_then(|id| {
                self.inner
                    .forms
                    .iter()
                    .find(|f| f.plugin == FormPlugin::Cf7 && f.plugin_form_id == Some(id))
            });
        match plugin {
            Some(form) => Some((form, Via::Plugin(form.plugin))),
            None => self.form_for_path(path).map(|form| (form, Via::Page)),
        }
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

    pub(crate) fn tokens(&self) -> &FillToken {
        &self.inner.tokens
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.inner.clock
    }

    pub(crate) fn notifier(&self) -> &Notifier {
        &self.inner.notifier
    }

    /// forms.js (content-hashed); `None` when no form is configured.
    pub fn script(&self) -> Option<&HashedAsset> {
        self.inner.script.as_ref()
    }

    /// The tag that loads forms.js, which adds the fill-time token and honeypot to configured
    /// forms; the rewriter puts it into pages with such a form. `""` when none is configured.
    pub fn script_html(&self) -> String {
        match &self.inner.script {
            Some(s) => format!("<script src=\"{}\" defer></script>", s.url()),
            None => String::new(),
        }
    }

    /// The configured form paths (where the gate captures POSTs).
    pub fn paths(&self) -> Vec<String> {
        self.inner.forms.iter().map(|f| f.path.clone()).collect()
    }

    /// The classes of the configured plugins' `<form>` elements (`wpcf7-form` when a CF7 form
    /// is configured): pages holding one get the forms script wherever the form posts.
    pub fn plugin_form_classes(&self) -> Vec<String> {
        let cf7 = self.inner.forms.iter().any(|f| f.plugin == FormPlugin::Cf7);
        cf7.then(|| CF7_FORM_CLASS.to_owned()).into_iter().collect()
    }

    /// A fresh fill-time token for `form` (what forms.js fetches and the gate's own pages
    /// embed); it opens that form once.
    pub fn issue_token(&self, form: &FormConfig) -> String {
        self.inner
            .tokens
            .issue(&form.id, self.inner.clock.unix_ms())
    }

    /// Webhook notifications dropped because the queue was full.
    pub fn notifications_dropped(&self) -> u64 {
        self.inner.notifier.dropped()
    }

    pub(crate) fn seal(
        &self,
        form: &FormConfig,
        checked: &Checked,
        country: Option<String>,
    ) -> FormEntryRecord {
        let id = new_entry_id();
        let created = self.inner.clock.unix_secs();
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

    /// Start the background work on the current actix system: the webhook sender and the
    /// index sweep (every [`SWEEP_INTERVAL`]; entries expire by store TTL regardless, this
    /// keeps indexes small). Returns their handles; abort them to stop.
    pub fn spawn_background(&self) -> Vec<actix_web::rt::task::JoinHandle<()>> {
        let mut tasks: Vec<_> = self.inner.notifier.spawn().into_iter().collect();
        // The sweep holds only a weak reference, so it ends with the service.
        let service = Arc::downgrade(&self.inner);
        tasks.push(actix_web::rt::spawn(async move {
            let mut tick = actix_web::rt::time::interval(SWEEP_INTERVAL);
            loop {
                tick.tick().await;
                let Some(inner) = service.upgrade() else {
                    return;
                };
                match (FormsService { inner }).sweep_once().await {
                    Ok(n) if n > 0 => tracing::debug!(dropped = n, "form index sweep"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "form index sweep failed"),
                }
            }
        }));
        tasks
    }
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
