//! What the person gets for an access or portability request: everything the request
//! concerns — its form entries (restricted ones left out, and counted) and its consent records
//! (as ISO/IEC TS 27560 JSON) — as one JSON file for machines ([`json`]) and one HTML page for
//! people, in Dutch or English (the dashboard's views render [`Contents`]). The operator
//! downloads the two separately.

use serde::Serialize;

use super::model::Request;
use super::RegisterError;
use crate::clock::rfc3339;
use crate::consent::{ConsentService, OwnRecord};
use crate::dashboard::export::ExportError;
use crate::forms::{Entry, FormsService};

/// One consent record in an export.
pub struct ConsentExport {
    pub id: String,
    pub record: OwnRecord,
    pub iso27560: serde_json::Value,
}

/// What a request's export holds.
pub struct Contents {
    /// Attached entries that are stored and not restricted.
    pub entries: Vec<Entry>,
    /// Attached entries left out because they are restricted.
    pub restricted: usize,
    /// Attached entries no longer stored (handled, erased, past their retention).
    pub entries_gone: usize,
    pub consents: Vec<ConsentExport>,
    pub consents_gone: usize,
}

impl Contents {
    /// Records in the export.
    pub fn count(&self) -> usize {
        self.entries.len() + self.consents.len()
    }
}

/// Read everything `request` concerns.
pub async fn gather(
    forms: &FormsService,
    consent: &ConsentService,
    request: &Request,
) -> Result<Contents, RegisterError> {
    let mut contents = Contents {
        entries: Vec::new(),
        restricted: 0,
        entries_gone: 0,
        consents: Vec::new(),
        consents_gone: 0,
    };
    for r in &request.entries {
        match forms.get_any(&r.form, &r.id).await? {
            Some(e) if e.restricted => contents.restricted += 1,
            Some(e) => contents.entries.push(e),
            None => contents.entries_gone += 1,
        }
    }
    for id in &request.consents {
        match consent.record_of(id).await? {
            Some(record) => {
                let iso27560 = consent.iso27560_record(id, &record).await?;
                contents.consents.push(ConsentExport {
                    id: id.clone(),
                    record,
                    iso27560,
                });
            }
            None => contents.consents_gone += 1,
        }
    }
    Ok(contents)
}

#[derive(Serialize)]
struct JsonRequest<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    received: String,
    due: String,
}

#[derive(Serialize)]
struct JsonField<'a> {
    name: &'a str,
    label: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct JsonEntry<'a> {
    form: &'a str,
    id: &'a str,
    /// RFC 3339 UTC.
    received: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    age_band: Option<&'static str>,
    /// Why the entry could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    unreadable: Option<&'a str>,
    fields: Vec<JsonField<'a>>,
}

#[derive(Serialize)]
struct JsonExport<'a> {
    request: JsonRequest<'a>,
    exported_at: String,
    form_entries: Vec<JsonEntry<'a>>,
    restricted_entries_left_out: usize,
    entries_no_longer_stored: usize,
    consent_records: Vec<&'a serde_json::Value>,
    consent_records_no_longer_stored: usize,
}

/// The export as JSON (UTF-8, pretty-printed), made at `now` (unix s).
pub fn json(contents: &Contents, request: &Request, now: u64) -> Result<Vec<u8>, ExportError> {
    let doc = JsonExport {
        request: JsonRequest {
            id: &request.id,
            kind: request.kind.as_str(),
            received: request.received.to_string(),
            due: request.due().to_string(),
        },
        exported_at: rfc3339(now),
        form_entries: contents
            .entries
            .iter()
            .map(|e| JsonEntry {
                form: &e.form,
                id: &e.id,
                received: rfc3339(e.created),
                country: e.country.as_deref(),
                age_band: e.age_band.map(|b| b.as_str()),
                unreadable: e.unreadable.as_deref(),
                fields: e
                    .fields
                    .iter()
                    .map(|f| JsonField {
                        name: &f.name,
                        label: &f.label,
                        value: &f.value,
                    })
                    .collect(),
            })
            .collect(),
        restricted_entries_left_out: contents.restricted,
        entries_no_longer_stored: contents.entries_gone,
        consent_records: contents.consents.iter().map(|c| &c.iso27560).collect(),
        consent_records_no_longer_stored: contents.consents_gone,
    };
    let mut out = serde_json::to_vec_pretty(&doc)?;
    out.push(b'\n');
    Ok(out)
}
