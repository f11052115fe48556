//! [`FormsService`]: what the gate knows about its forms (config, keys, the forms script),
//! sealing entries under per-day data keys and opening them, and the library API the dashboard
//! uses on stored entries. The capture pipeline itself is in `submit.rs`, the actions of
//! data-subject requests in `person.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use url::Url;

use super::age::AgeBand;
use super::crypto::{self, KeyRing, OpenError, Period};
use super::lookup::{entry_hashes, PersonQuery};
use super::notify::{Notifier, QUEUE_CAPACITY};
use super::page::Pages;
use super::path::canonical;
use super::plugin::{
    cf7_feedback_id, claim, Via, CF7_FORM_CLASS, ELEMENTOR_FORM_CLASS, WPFORMS_FORM_CLASS,
};
use super::token::FillToken;
use super::validate::{parse_date, Checked};
use super::FormsError;
use crate::clock::{utc_date, SharedClock};
use crate::config::{Config, FieldType, FormConfig, FormPlugin};
use crate::http::HashedAsset;
use crate::keys::{self, Key, Keys};
use crate::stats::Stats;
use crate::store::{FormEntryRecord, Store, StoreError};

/// How often the background sweep trims the form indexes.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Largest page [`FormsService::list`] returns.
pub const MAX_PAGE: usize = 200;
/// How long a day's data key outlives the last entry of its day, for clocks of several gates
/// and Redis that differ a little; never more than the form's retention itself, so a copy of
/// an entry stays readable at most twice its retention after its day ends.
pub const DATA_KEY_MARGIN: Duration = Duration::from_secs(300);

/// What is sealed inside a stored entry.
#[derive(Serialize, Deserialize)]
pub(super) struct SealedPayload {
    pub fields: Vec<(String, String)>,
    pub country: Option<String>,
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
    /// Why the entry could not be decrypted (its key was removed from the configuration, or
    /// its day's data key expired), if so.
    pub unreadable: Option<String>,
    /// Restricted (GDPR art. 18): kept, but out of the inbox, the webhook and every export.
    /// The inbox API never returns such entries; the register's does.
    pub restricted: bool,
    /// The age band at submission, from the form's first `date_of_birth` field.
    pub age_band: Option<AgeBand>,
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
    /// Opens entries sealed before per-day data keys (format 1).
    ring: KeyRing,
    /// Wraps the per-day data keys (the current secret's key, then previous ones).
    wrap: KeyRing,
    /// Current lookup (e-mail, name, phone) index key first, then keys of previous secrets.
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

/// What a wrapped data key is bound to: it unwraps only as the key of this form and period.
fn data_key_aad(form: &str, name: &str) -> Vec<u8> {
    format!("consentgate-form-data-key/v1|{form}|{name}").into_bytes()
}

/// Data keys already unwrapped while opening a batch of entries (`None`: expired).
pub(super) type KeyCache = HashMap<(String, Period), Option<Key>>;

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
        let previous = |purpose: &str| -> Vec<Key> {
            cfg.previous_secrets
                .iter()
                .map(|s| keys::derive(s.expose(), purpose))
                .collect()
        };
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
                ring: KeyRing::new(&keys.form_encryption, &previous("form-encryption/v1")),
                wrap: KeyRing::new(
                    &keys.form_data_key_wrap,
                    &previous(keys::FORM_DATA_KEY_WRAP),
                ),
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

    /// Whether some form is found by what its POST carries (a plugin form), so POSTs of form
    /// data elsewhere are read before they go on ([`form_for_body`](Self::form_for_body)).
    pub fn reads_form_posts(&self) -> bool {
        self.inner
            .forms
            .iter()
            .any(|f| f.plugin != FormPlugin::Html)
    }

    /// How much of a POST is read to find a plugin form in it: the largest body a plugin form
    /// accepts, in bytes.
    pub fn form_post_limit(&self) -> usize {
        self.inner
            .forms
            .iter()
            .filter(|f| f.plugin != FormPlugin::Html)
            .map(|f| f.max_body_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The configured plugin form a POST to `path` with `query` carrying `fields` submits, and
    /// how (see [`plugin::claim`](super::plugin::claim)). `None` for anything else, which goes
    /// to the site.
    pub fn form_for_body(
        &self,
        path: &str,
        query: &str,
        fields: &[(String, String)],
    ) -> Option<(&FormConfig, Via)> {
        let (key, via) = claim(path, query, fields)?;
        let form = self.inner.forms.iter().find(|f| key.names(f))?;
        Some((form, via))
    }

    pub(super) fn form_by_id(&self, id: &str) -> Result<&FormConfig, FormsError> {
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

    pub(super) fn lookup_key(&self) -> &Key {
        &self.inner.email_keys[0]
    }

    /// Queue `body` for the webhook at `url` through the forms' webhook client (bounded queue,
    /// never waits); `what` names it in logs. For notifications without personal data only.
    pub fn notify(&self, url: &Url, what: &'static str, body: serde_json::Value) {
        self.inner.notifier.send_json(url, what, body);
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
        let mut classes: Vec<String> = self
            .inner
            .forms
            .iter()
            .filter_map(|f| match f.plugin {
                FormPlugin::Cf7 => Some(CF7_FORM_CLASS),
                FormPlugin::Wpforms => Some(WPFORMS_FORM_CLASS),
                FormPlugin::Elementor => Some(ELEMENTOR_FORM_CLASS),
                FormPlugin::Html | FormPlugin::Gravityforms => None,
            })
            .map(str::to_owned)
            .collect();
        classes.sort();
        classes.dedup();
        classes
    }

    /// The `id`s of the configured plugins' `<form>` elements that carry no class of their own
    /// (Gravity Forms: `gform_<id>`): pages holding one get the forms script too.
    pub fn plugin_form_ids(&self) -> Vec<String> {
        self.inner
            .forms
            .iter()
            .filter(|f| f.plugin == FormPlugin::Gravityforms)
            .filter_map(|f| f.plugin_form_id.map(|id| format!("gform_{id}")))
            .collect()
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

    /// Seal a checked submission as a new entry of `form`, under the data key of today.
    pub(crate) async fn seal(
        &self,
        form: &FormConfig,
        checked: &Checked,
        country: Option<String>,
    ) -> Result<FormEntryRecord, StoreError> {
        let payload = SealedPayload {
            fields: checked
                .values
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .cloned()
                .collect(),
            country,
        };
        let created = self.inner.clock.unix_secs();
        self.seal_payload(form, new_entry_id(), created, &payload)
            .await
    }

    /// The entry `id` of `form` created at `created` holding `payload`, sealed under the data
    /// key of its day (created when it is the day's first entry), with its lookup hashes.
    pub(super) async fn seal_payload(
        &self,
        form: &FormConfig,
        id: String,
        created: u64,
        payload: &SealedPayload,
    ) -> Result<FormEntryRecord, StoreError> {
        let period = Period::of(created, self.inner.wrap.current_id());
        let key = self.data_key_for_sealing(form, &period).await?;
        // Serialising strings and options to JSON cannot fail.
        let plaintext = serde_json::to_vec(payload).unwrap_or_default();
        let (email_hash, lookup_hashes) = entry_hashes(self.lookup_key(), form, &payload.fields);
        Ok(FormEntryRecord {
            ciphertext: crypto::seal_in_period(
                &key,
                &period,
                &plaintext,
                &aad(&form.id, &id, created),
            ),
            email_hash,
            lookup_hashes,
            form: form.id.clone(),
            restricted: false,
            id,
            created,
        })
    }

    /// The data key of `period`: the one every gate already uses, or a new one. It lives
    /// until the period's last entry expires (end of the day + retention + a margin), and
    /// each use can only extend that.
    async fn data_key_for_sealing(
        &self,
        form: &FormConfig,
        period: &Period,
    ) -> Result<Key, StoreError> {
        let name = period.name();
        let binding = data_key_aad(&form.id, &name);
        let fresh = crypto::new_data_key();
        let wrapped = self.inner.wrap.wrap(&fresh, &binding);
        let rest_of_day = period
            .day_end()
            .saturating_sub(self.inner.clock.unix_secs());
        let margin = DATA_KEY_MARGIN.min(form.retention);
        let ttl = Duration::from_secs(rest_of_day) + form.retention + margin;
        let stored = self
            .inner
            .store
            .ensure_form_data_key(&form.id, &name, &wrapped, ttl)
            .await?;
        if stored == wrapped {
            return Ok(fresh);
        }
        self.inner.wrap.unwrap(&stored, &binding).map_err(|e| {
            StoreError::Corrupt(format!("data key of form {:?} ({name}): {e}", form.id))
        })
    }

    /// The sealed payload of `record`, with the data keys met so far in `cache`.
    pub(super) async fn open_payload(
        &self,
        record: &FormEntryRecord,
        cache: &mut KeyCache,
    ) -> Result<Result<SealedPayload, OpenError>, StoreError> {
        let aad = aad(&record.form, &record.id, record.created);
        let plain = match crypto::period_of(&record.ciphertext) {
            Err(e) => Err(e),
            Ok(None) => self.inner.ring.open(&record.ciphertext, &aad),
            Ok(Some(period)) => {
                let slot = (record.form.clone(), period);
                if !cache.contains_key(&slot) {
                    let name = period.name();
                    let wrapped = self
                        .inner
                        .store
                        .get_form_data_key(&record.form, &name)
                        .await?;
                    let key = wrapped.map(|w| {
                        self.inner
                            .wrap
                            .unwrap(&w, &data_key_aad(&record.form, &name))
                    });
                    match key {
                        Some(Err(e)) => return Ok(Err(e)),
                        Some(Ok(k)) => cache.insert(slot.clone(), Some(k)),
                        None => cache.insert(slot.clone(), None),
                    };
                }
                match cache.get(&slot) {
                    Some(Some(key)) => crypto::open_in_period(key, &record.ciphertext, &aad),
                    _ => Err(OpenError::KeyExpired),
                }
            }
        };
        Ok(plain.and_then(|p| {
            serde_json::from_slice::<SealedPayload>(&p).map_err(|_| OpenError::Format)
        }))
    }

    // ---- library API for the dashboard ----

    /// Decrypt `record` as the dashboard shows it (labels, age band).
    pub(super) async fn open(
        &self,
        record: FormEntryRecord,
        cache: &mut KeyCache,
    ) -> Result<Entry, StoreError> {
        let form = self.inner.forms.iter().find(|f| f.id == record.form);
        let label = |name: &str| {
            form.and_then(|f| f.fields.iter().find(|x| x.name == name))
                .map(|x| x.label().to_owned())
                .unwrap_or_else(|| name.to_owned())
        };
        let (fields, country, unreadable) = match self.open_payload(&record, cache).await? {
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
        let age_band = form.and_then(|f| age_band(f, &fields, record.created));
        Ok(Entry {
            id: record.id,
            form: record.form,
            created: record.created,
            country,
            fields,
            unreadable,
            restricted: record.restricted,
            age_band,
        })
    }

    /// Decrypt several records, each data key fetched once.
    pub(super) async fn open_all(
        &self,
        records: Vec<FormEntryRecord>,
    ) -> Result<Vec<Entry>, StoreError> {
        let mut cache = KeyCache::new();
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            out.push(self.open(r, &mut cache).await?);
        }
        Ok(out)
    }

    /// A page of a form's entries, decrypted, newest first; `limit` is capped at [`MAX_PAGE`].
    /// Restricted entries are not listed and not counted.
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
            entries: self.open_all(page.entries).await?,
        })
    }

    /// One entry, decrypted; `None` when it does not exist (any more) or is restricted.
    pub async fn get(&self, form: &str, id: &str) -> Result<Option<Entry>, FormsError> {
        Ok(self.get_any(form, id).await?.filter(|e| !e.restricted))
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

    /// Every unexpired, unrestricted entry of a form as a JSON array (data portability),
    /// newest first.
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

    /// Every unexpired, unrestricted entry, in any form, submitted with this e-mail address
    /// (the inbox's "find a person").
    pub async fn find_by_email(&self, email: &str) -> Result<Vec<Entry>, FormsError> {
        let found = self.find_person(PersonQuery::Email(email)).await?;
        Ok(found.into_iter().filter(|e| !e.restricted).collect())
    }

    /// [`FormsService::find_by_email`] as JSON, for a data-portability answer.
    pub async fn export_email_json(&self, email: &str) -> Result<String, FormsError> {
        let found = self.find_by_email(email).await?;
        Ok(serde_json::to_string_pretty(&found).unwrap_or_else(|_| "[]".into()))
    }

    /// Erasure request: delete every unrestricted entry submitted with this e-mail address;
    /// returns how many.
    pub async fn delete_all_for_email(&self, email: &str) -> Result<usize, FormsError> {
        let mut deleted = 0;
        for entry in self.find_by_email(email).await? {
            if self
                .inner
                .store
                .delete_form_entry(&entry.form, &entry.id)
                .await?
            {
                deleted += 1;
            }
        }
        Ok(deleted)
    }

    /// `(form, id)` of every entry indexed under the hash of `query`, restricted or not.
    pub(super) async fn ids_for(
        &self,
        query: PersonQuery<'_>,
    ) -> Result<Vec<(String, String)>, FormsError> {
        let mut ids = Vec::new();
        // Entries from before a key rotation were indexed with the old key's hash.
        for key in &self.inner.email_keys {
            let Some(hash) = query.hash(key) else {
                continue;
            };
            for hit in self.inner.store.find_form_entries_by_hash(&hash).await? {
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
        let mut tasks: Vec<_> = self
            .inner
            .notifier
            .spawn(self.inner.store.clone())
            .into_iter()
            .collect();
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

/// The age band of an entry of `form` with `fields`, created at `created`: from its first
/// `date_of_birth` field that holds a date.
fn age_band(form: &FormConfig, fields: &[EntryField], created: u64) -> Option<AgeBand> {
    form.fields
        .iter()
        .filter(|f| f.kind == FieldType::DateOfBirth)
        .find_map(|f| {
            let value = &fields.iter().find(|x| x.name == f.name)?.value;
            AgeBand::on(parse_date(value)?, utc_date(created))
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
