//! Contact forms: the gate captures POSTs to each configured `[[forms]]` path before the proxy
//! sees them, checks them (size, format, UTF-8, no files, honeypot, fill-time token, rate limit
//! per anonymised address, required fields and formats), seals them (XChaCha20-Poly1305 under
//! a key derived from the secret, older keys still open) and stores them with a TTL equal to the
//! form's retention, indexed newest first and by a keyed hash of the e-mail address. The visitor
//! is thanked only after the store confirmed the write; every refusal is a readable page (or
//! JSON) that keeps what they typed. This module also owns the inbox API the dashboard uses
//! (list, read, mark handled, delete, export, find and erase by e-mail address), the forms
//! script that adds the token and honeypot to pages, and the optional notification webhook
//! (ids and time only, never field contents).

pub mod crypto;
pub mod page;
pub mod parse;
mod routes;
mod service;
pub mod token;
pub mod validate;

pub use routes::configure;
pub use service::{
    Entry, EntryField, EntryPage, FormsService, Refusal, Stored, COUNTER_NAME, MAX_PAGE,
    SWEEP_INTERVAL,
};

use crate::privacy::GeoError;
use crate::store::StoreError;

/// Errors of the forms library API.
#[derive(Debug, thiserror::Error)]
pub enum FormsError {
    /// No `[[forms]]` entry has this id.
    #[error("no form with id {0:?} is configured")]
    UnknownForm(String),
    /// The store failed; `is_transient()` errors mean "try again later" (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The geo database named in `privacy.geo_database` could not be opened.
    #[error("geo database: {0}")]
    Geo(#[from] GeoError),
}
