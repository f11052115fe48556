//! What a data-subject request does with one person's entries, through the register: find
//! them by e-mail address, name or phone number (restricted ones included, marked), read one,
//! restrict it or lift the restriction, correct a field (the entry is sealed again; the old
//! value is not kept in the live store), or erase it. The audit log and the request's own
//! record of actions are the register's business (dashboard/dsr); this is the forms side.

use std::time::Duration;

use super::lookup::PersonQuery;
use super::service::{Entry, FormsService, KeyCache};
use super::validate::{check_field, Problem};
use super::FormsError;
use crate::clock::utc_date;

/// What became of a correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rectification {
    /// The entry now holds the new value.
    Done,
    /// No such entry (any more).
    NotFound,
    /// The form has no field of that name.
    UnknownField,
    /// The entry cannot be decrypted, so it cannot be corrected either.
    Unreadable,
    /// The new value fails the field's check.
    Refused(Problem),
}

impl FormsService {
    /// One entry, restricted or not; `None` when it does not exist (any more).
    pub async fn get_any(&self, form: &str, id: &str) -> Result<Option<Entry>, FormsError> {
        self.form_by_id(form)?;
        match self.store().get_form_entry(form, id).await? {
            Some(record) => Ok(Some(self.open(record, &mut KeyCache::new()).await?)),
            None => Ok(None),
        }
    }

    /// Every unexpired entry, in any form, restricted or not, whose e-mail address, name or
    /// phone number matches `query` exactly after normalising (see `forms::lookup`).
    pub async fn find_person(&self, query: PersonQuery<'_>) -> Result<Vec<Entry>, FormsError> {
        let mut records = Vec::new();
        for (form, id) in self.ids_for(query).await? {
            if let Some(record) = self.store().get_form_entry(&form, &id).await? {
                records.push(record);
            }
        }
        Ok(self.open_all(records).await?)
    }

    /// Restrict an entry (kept, but out of the inbox, the webhook and every export) or lift
    /// the restriction. True if the entry exists.
    pub async fn set_restricted(
        &self,
        form: &str,
        id: &str,
        restricted: bool,
    ) -> Result<bool, FormsError> {
        self.form_by_id(form)?;
        Ok(self
            .store()
            .set_form_entry_restricted(form, id, restricted)
            .await?)
    }

    /// What would stop correcting `field` of `entry` to `value`, if anything: an unknown
    /// field, an entry that cannot be decrypted, or a value the form would refuse.
    pub fn rectification_problem(
        &self,
        entry: &Entry,
        field: &str,
        value: &str,
    ) -> Option<Rectification> {
        if let Err(problem) = self.checked_value(&entry.form, field, value, entry.created) {
            return Some(problem);
        }
        entry.unreadable.as_ref().map(|_| Rectification::Unreadable)
    }

    /// `value` for `field` of an entry of `form` created at `created`, normalised as a
    /// submission would store it, or why it cannot be.
    fn checked_value(
        &self,
        form: &str,
        field: &str,
        value: &str,
        created: u64,
    ) -> Result<String, Rectification> {
        let config = self
            .forms()
            .iter()
            .find(|f| f.id == form)
            .ok_or(Rectification::NotFound)?;
        let field = config
            .fields
            .iter()
            .find(|f| f.name == field)
            .ok_or(Rectification::UnknownField)?;
        match check_field(field, value, utc_date(created)) {
            (_, Some(problem)) => Err(Rectification::Refused(problem)),
            (value, None) => Ok(value),
        }
    }

    /// Replace the value of `field` in an entry (an empty value removes it, unless the field
    /// is required), checked as the form checks it. The entry is sealed again with a new
    /// nonce and keeps its id, time, restriction and expiry.
    pub async fn rectify(
        &self,
        form: &str,
        id: &str,
        field: &str,
        value: &str,
    ) -> Result<Rectification, FormsError> {
        let config = self.form_by_id(form)?.clone();
        let Some(record) = self.store().get_form_entry(form, id).await? else {
            return Ok(Rectification::NotFound);
        };
        let value = match self.checked_value(form, field, value, record.created) {
            Ok(value) => value,
            Err(problem) => return Ok(problem),
        };
        let Ok(mut payload) = self.open_payload(&record, &mut KeyCache::new()).await? else {
            return Ok(Rectification::Unreadable);
        };
        payload.fields.retain(|(name, _)| name != field);
        if !value.is_empty() {
            // Configuration order, as a submission stores them.
            let at = config
                .fields
                .iter()
                .take_while(|f| f.name != field)
                .filter(|f| payload.fields.iter().any(|(n, _)| *n == f.name))
                .count();
            payload.fields.insert(at, (field.to_owned(), value));
        }
        let now = self.clock().unix_secs();
        let left = (record.created + config.retention.as_secs()).saturating_sub(now);
        if left == 0 {
            return Ok(Rectification::NotFound);
        }
        let mut sealed = self
            .seal_payload(&config, record.id.clone(), record.created, &payload)
            .await?;
        sealed.restricted = record.restricted;
        self.store()
            .put_form_entry(form, &sealed, Duration::from_secs(left))
            .await?;
        Ok(Rectification::Done)
    }
}
