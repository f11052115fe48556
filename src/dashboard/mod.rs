//! The operators' dashboard: accounts and sign-in ([`auth`]), the audit log of operator actions
//! ([`audit`]), the pages ([`views`]: minijinja templates under assets/dashboard, rendered from
//! typed view models with auto-escaping) and the exports operators hand over ([`export`]).
//!
//! This module owns everything of the dashboard that does not need the HTTP edge; the routes
//! mount on top of it. It calls the feature services below it (the forms inbox, consent
//! look-up) and alone writes the audit log.

pub mod audit;
pub mod auth;
pub mod export;
pub mod views;
