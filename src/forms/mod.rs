//! Contact forms: the gate captures POSTs to each configured `[[forms]]` path before the proxy
//! sees them, checks them (size, format, UTF-8, no files, honeypot, fill-time token, rate limit
//! per anonymised address, required fields and formats), seals them (XChaCha20-Poly1305 under
//! a random per-day data key that expires with the day's last entry, wrapped by a key derived
//! from the secret) and stores them with a TTL equal to the form's retention, indexed newest
//! first and by keyed hashes of the e-mail address, names and phone numbers. The visitor
//! is thanked only after the store confirmed the write; every refusal is a readable page (or
//! JSON) that keeps what they typed. This module also owns the inbox API the dashboard uses
//! (list, read, mark handled, delete, export, find and erase by e-mail address), what
//! data-subject requests do with a person's entries (find by e-mail, name or phone, restrict,
//! correct, erase; restricted entries stay out of the inbox, the webhook and exports), the forms
//! script that adds the token and honeypot to pages, forwarding to the upstream for
//! `store_and_forward` forms, and the optional notification webhook (ids and time only, never
//! field contents). Form plugins that post by script to their own endpoint (Contact Form 7's
//! REST route; WPForms, Elementor Pro and Gravity Forms on admin-ajax.php, per submit action;
//! Gravity Forms' iframe post-back) are captured there too and answered in the plugin's
//! format, and their no-JavaScript POSTs are captured on any page by the plugins' hidden id
//! fields (`plugin`, `plugin_reply`). The HTTP routes live in the server; this module is what
//! they call.

pub mod age;
pub mod crypto;
pub mod lookup;
mod notify;
pub mod page;
pub mod parse;
pub mod path;
mod person;
pub mod plugin;
pub mod plugin_reply;
pub mod report;
mod script;
mod service;
mod submit;
pub mod token;
pub mod validate;

pub use lookup::PersonQuery;
pub use notify::{QUEUE_CAPACITY, WEBHOOK_TIMEOUT};
pub use person::Rectification;
pub use script::TOKEN_PATH;
pub use service::{
    Entry, EntryField, EntryPage, FormsService, Stored, DATA_KEY_MARGIN, MAX_PAGE, SWEEP_INTERVAL,
};
pub use submit::{Redirect, Refusal, Submission, Upstream};

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
}
