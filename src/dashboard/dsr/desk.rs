//! One operator's actions on the register at one moment, for the dashboard's routes. Every
//! change is checked against the version the operator saw (so nobody acts on a page another
//! operator has changed meanwhile), written to the audit log first — an action the log cannot
//! record does not happen — and then into the request's own history. Audit objects name the
//! request and the record, never its content: `<request id>`, `<request id>/<status>`,
//! `<request id> <form>/<entry id>[/<field>]`, `<request id> <kind>:<keyed hash>`.

use time::Date;

use super::export::{self, Contents};
use super::model::{text, EntryRef, Refusal, Request, Rule, Status};
use super::{Channel, Kind, Register, RegisterError};
use crate::clock::utc_date;
use crate::consent::{valid_consent_id, ConsentService, OwnRecord};
use crate::dashboard::audit::{AuditAction, AuditEvent, AuditLog};
use crate::forms::{Entry, FormsService, PersonQuery, Rectification};
use crate::keys::Key;

/// How often an action that already happened retries recording itself in the request when
/// other operators keep changing it.
const RECORD_ATTEMPTS: usize = 5;

/// What the registration form gives.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub kind: Kind,
    pub received: Date,
    pub channel: Channel,
    pub contact: String,
}

/// An entry attached to a request, as it is now (`None`: no longer stored).
#[derive(Debug, Clone)]
pub struct Attached {
    pub reference: EntryRef,
    pub entry: Option<Entry>,
}

/// A request with what it concerns, as its page shows it.
pub struct RequestView {
    pub request: Request,
    pub version: u64,
    pub entries: Vec<Attached>,
    /// Each attached consent id with its record (`None`: no longer stored).
    pub consents: Vec<(String, Option<OwnRecord>)>,
}

/// What to take off a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Entry(EntryRef),
    Consent(String),
}

/// One operator's audited actions on the register; cheap to build per request.
pub struct RequestDesk<'a> {
    pub register: &'a Register,
    pub forms: &'a FormsService,
    pub consent: &'a ConsentService,
    pub audit: &'a AuditLog,
    /// Who acts (a configured operator name).
    pub operator: &'a str,
    /// When, unix seconds.
    pub now: u64,
    /// Keys the hash that stands in for a searched value in the log (`keys.email_index`).
    pub lookup_key: &'a Key,
}

impl RequestDesk<'_> {
    fn event(&self, action: AuditAction, object: String) -> AuditEvent {
        AuditEvent::new(self.now, self.operator, action).object(object)
    }

    fn today(&self) -> Date {
        utc_date(self.now)
    }

    async fn load(&self, id: &str) -> Result<(Request, u64), RegisterError> {
        self.register.get(id).await?.ok_or(RegisterError::NotFound)
    }

    /// The request as the operator saw it at `version`.
    async fn load_at(&self, id: &str, version: u64) -> Result<Request, RegisterError> {
        let (request, current) = self.load(id).await?;
        if current != version {
            return Err(RegisterError::Changed);
        }
        Ok(request)
    }

    /// Audit `event`, add it to the (already changed) request and store it over `version`.
    async fn commit(
        &self,
        mut request: Request,
        version: u64,
        event: AuditEvent,
    ) -> Result<Request, RegisterError> {
        self.audit.append(&event).await?;
        request.history.push(event);
        self.register
            .save(&request, Some(version), self.now)
            .await?;
        Ok(request)
    }

    /// After an action on the data that already happened (and was audited): add `event` to
    /// the request's history with `change`, on whatever version is current.
    async fn record(
        &self,
        id: &str,
        event: AuditEvent,
        change: impl Fn(&mut Request),
    ) -> Result<(), RegisterError> {
        for _ in 0..RECORD_ATTEMPTS {
            let (mut request, version) = self.load(id).await?;
            change(&mut request);
            request.history.push(event.clone());
            match self.register.save(&request, Some(version), self.now).await {
                Err(RegisterError::Changed) => continue,
                other => return other.map(|_| ()),
            }
        }
        Err(RegisterError::Changed)
    }

    /// Register a new request (audited: `request_registered`); due by `dsr.deadline`.
    pub async fn register_request(&self, new: NewRequest) -> Result<Request, RegisterError> {
        if new.received > self.today() {
            return Err(Refusal::ReceivedLater.into());
        }
        let mut request = Request {
            id: super::new_id(),
            kind: new.kind,
            received: new.received,
            channel: new.channel,
            contact: text(&new.contact)?,
            rule: Rule::from(self.register.deadline()),
            status: Status::Received,
            identity_note: None,
            reason: None,
            extension: None,
            entries: Vec::new(),
            consents: Vec::new(),
            history: Vec::new(),
            registered: self.now,
            closed: None,
        };
        let event = self.event(AuditAction::RequestRegistered, request.id.clone());
        self.audit.append(&event).await?;
        request.history.push(event);
        // A clash with an existing id (48 random bits) fails as "changed": nothing is lost.
        self.register.save(&request, None, self.now).await?;
        Ok(request)
    }

    /// A request with the entries and consent records it concerns (audited:
    /// `request_opened`, as it shows the person's contact); `None` when there is none.
    pub async fn open(&self, id: &str) -> Result<Option<RequestView>, RegisterError> {
        let Some((request, version)) = self.register.get(id).await? else {
            return Ok(None);
        };
        self.audit
            .append(&self.event(AuditAction::RequestOpened, request.id.clone()))
            .await?;
        let mut entries = Vec::with_capacity(request.entries.len());
        for reference in &request.entries {
            let entry = self.forms.get_any(&reference.form, &reference.id).await?;
            entries.push(Attached {
                reference: reference.clone(),
                entry,
            });
        }
        let mut consents = Vec::with_capacity(request.consents.len());
        for consent in &request.consents {
            consents.push((consent.clone(), self.consent.record_of(consent).await?));
        }
        Ok(Some(RequestView {
            request,
            version,
            entries,
            consents,
        }))
    }

    /// Move the request to `status` (audited: `request_status_changed`, `<id>/<status>`).
    pub async fn change_status(
        &self,
        id: &str,
        version: u64,
        status: Status,
        note: &str,
    ) -> Result<Request, RegisterError> {
        let mut request = self.load_at(id, version).await?;
        request.change_status(status, note, self.now)?;
        let object = format!("{id}/{}", status.as_str());
        let event = self.event(AuditAction::RequestStatusChanged, object);
        self.commit(request, version, event).await
    }

    /// Extend the deadline (audited: `request_extended`, count: months).
    pub async fn extend(
        &self,
        id: &str,
        version: u64,
        months: u8,
        reason: &str,
        told_on: Date,
    ) -> Result<Request, RegisterError> {
        let mut request = self.load_at(id, version).await?;
        request.extend(months, reason, told_on, self.today())?;
        let event = self
            .event(AuditAction::RequestExtended, id.to_owned())
            .count(u64::from(months));
        self.commit(request, version, event).await
    }

    /// The person's entries found by `query`, restricted ones included (audited:
    /// `person_searched`, object `<id> <kind>:<keyed hash>`).
    pub async fn search(
        &self,
        id: &str,
        query: PersonQuery<'_>,
    ) -> Result<Vec<Entry>, RegisterError> {
        let (request, _) = self.load(id).await?;
        if !request.is_open() {
            return Err(Refusal::Closed.into());
        }
        let hash = query.hash(self.lookup_key).ok_or(Refusal::Query)?;
        let found = self.forms.find_person(query).await?;
        let object = format!("{id} {}:{hash}", query.kind());
        let event = self
            .event(AuditAction::PersonSearched, object)
            .count(found.len() as u64);
        self.audit.append(&event).await?;
        self.record(id, event, |_| {}).await?;
        Ok(found)
    }

    /// Attach entries and a consent record to the request (audited: `request_attached`,
    /// count: how many were new). Each must exist.
    pub async fn attach(
        &self,
        id: &str,
        version: u64,
        entries: &[EntryRef],
        consent: Option<&str>,
    ) -> Result<usize, RegisterError> {
        let mut request = self.load_at(id, version).await?;
        if !request.is_open() {
            return Err(Refusal::Closed.into());
        }
        let mut added = 0;
        for e in entries {
            if self.forms.get_any(&e.form, &e.id).await?.is_none() {
                return Err(Refusal::EntryGone.into());
            }
            if !request.entries.contains(e) {
                request.entries.push(e.clone());
                added += 1;
            }
        }
        if let Some(consent) = consent.map(str::trim).filter(|c| !c.is_empty()) {
            let exists =
                valid_consent_id(consent) && self.consent.record_of(consent).await?.is_some();
            if !exists {
                return Err(Refusal::ConsentNotFound.into());
            }
            if !request.consents.iter().any(|c| c == consent) {
                request.consents.push(consent.to_owned());
                added += 1;
            }
        }
        if added == 0 {
            return Err(Refusal::NothingChosen.into());
        }
        let event = self
            .event(AuditAction::RequestAttached, id.to_owned())
            .count(added as u64);
        self.commit(request, version, event).await?;
        Ok(added)
    }

    /// Take an entry or consent record off the request (audited: `request_detached`).
    pub async fn detach(
        &self,
        id: &str,
        version: u64,
        target: &Target,
    ) -> Result<Request, RegisterError> {
        let mut request = self.load_at(id, version).await?;
        if !request.is_open() {
            return Err(Refusal::Closed.into());
        }
        let before = request.entries.len() + request.consents.len();
        let what = match target {
            Target::Entry(e) => {
                request.entries.retain(|x| x != e);
                e.object()
            }
            Target::Consent(c) => {
                request.consents.retain(|x| x != c);
                format!("consent/{c}")
            }
        };
        if request.entries.len() + request.consents.len() == before {
            return Err(Refusal::NotAttached.into());
        }
        let event = self.event(AuditAction::RequestDetached, format!("{id} {what}"));
        self.commit(request, version, event).await
    }

    /// Everything the request concerns, for the person's export (audited:
    /// `request_exported`, count: records in it). Restricted entries are left out (and
    /// counted). The caller makes the JSON ([`super::export::json`]) or HTML document of it.
    pub async fn export(
        &self,
        id: &str,
        version: u64,
    ) -> Result<(Request, Contents), RegisterError> {
        let request = self.load_at(id, version).await?;
        request.check_may_act()?;
        let contents = export::gather(self.forms, self.consent, &request).await?;
        let event = self
            .event(AuditAction::RequestExported, id.to_owned())
            .count(contents.count() as u64);
        self.audit.append(&event).await?;
        self.record(id, event, |_| {}).await?;
        Ok((request, contents))
    }

    /// The attached entry `entry`, checked to be attached and still there.
    async fn attached_entry(
        &self,
        request: &Request,
        entry: &EntryRef,
    ) -> Result<Entry, RegisterError> {
        if !request.entries.contains(entry) {
            return Err(Refusal::NotAttached.into());
        }
        self.forms
            .get_any(&entry.form, &entry.id)
            .await?
            .ok_or_else(|| Refusal::EntryGone.into())
    }

    /// Correct one field of an attached entry (audited: `entry_rectified`, object
    /// `<id> <form>/<entry>/<field>`; neither the old nor the new value is recorded).
    pub async fn rectify(
        &self,
        id: &str,
        version: u64,
        entry: &EntryRef,
        field: &str,
        value: &str,
    ) -> Result<(), RegisterError> {
        let request = self.load_at(id, version).await?;
        request.check_may_act()?;
        let current = self.attached_entry(&request, entry).await?;
        if let Some(refusal) = self.forms.rectification_problem(&current, field, value) {
            return Err(refusal_of(refusal).into());
        }
        let object = format!("{id} {}/{field}", entry.object());
        let event = self.event(AuditAction::EntryRectified, object);
        self.audit.append(&event).await?;
        match self
            .forms
            .rectify(&entry.form, &entry.id, field, value)
            .await?
        {
            Rectification::Done => {}
            other => return Err(refusal_of(other).into()),
        }
        self.record(id, event, |_| {}).await
    }

    /// Restrict an attached entry, or lift its restriction (audited: `entry_restricted` or
    /// `entry_restriction_lifted`, object `<id> <form>/<entry>`).
    pub async fn restrict(
        &self,
        id: &str,
        version: u64,
        entry: &EntryRef,
        restricted: bool,
    ) -> Result<(), RegisterError> {
        let request = self.load_at(id, version).await?;
        request.check_may_act()?;
        self.attached_entry(&request, entry).await?;
        let action = if restricted {
            AuditAction::EntryRestricted
        } else {
            AuditAction::EntryRestrictionLifted
        };
        let event = self.event(action, format!("{id} {}", entry.object()));
        self.audit.append(&event).await?;
        if !self
            .forms
            .set_restricted(&entry.form, &entry.id, restricted)
            .await?
        {
            return Err(Refusal::EntryGone.into());
        }
        self.record(id, event, |_| {}).await
    }

    /// Erase every attached entry and consent record for good, if there are exactly
    /// `expected` (what the operator confirmed); audited: `request_erased`, count: records.
    /// Returns how many entries and consent records were still there to delete.
    pub async fn erase(
        &self,
        id: &str,
        version: u64,
        expected: usize,
    ) -> Result<(usize, usize), RegisterError> {
        let request = self.load_at(id, version).await?;
        request.check_may_act()?;
        let total = request.entries.len() + request.consents.len();
        if total != expected {
            return Err(Refusal::CountChanged.into());
        }
        if total == 0 {
            return Err(Refusal::NothingChosen.into());
        }
        let event = self
            .event(AuditAction::RequestErased, id.to_owned())
            .count(total as u64);
        self.audit.append(&event).await?;
        let mut entries = 0;
        for e in &request.entries {
            if self.forms.delete(&e.form, &e.id).await? {
                entries += 1;
            }
        }
        let mut consents = 0;
        for c in &request.consents {
            if self.consent.erase(c).await? {
                consents += 1;
            }
        }
        let (gone_entries, gone_consents) = (request.entries.clone(), request.consents.clone());
        self.record(id, event, |r| {
            r.entries.retain(|e| !gone_entries.contains(e));
            r.consents.retain(|c| !gone_consents.contains(c));
        })
        .await?;
        Ok((entries, consents))
    }
}

/// A correction the forms refused, as the register words it.
fn refusal_of(r: Rectification) -> Refusal {
    match r {
        Rectification::Done | Rectification::NotFound => Refusal::EntryGone,
        Rectification::UnknownField => Refusal::UnknownField,
        Rectification::Unreadable => Refusal::EntryUnreadable,
        Rectification::Refused(_) => Refusal::ValueRejected,
    }
}
