//! The operators' dashboard: accounts and sign-in ([`auth`]), the audit log of operator actions
//! ([`audit`]), the audited actions on personal data shared by the pages and the command line
//! ([`desk`]), the pages ([`views`]: minijinja templates under assets/dashboard, rendered from
//! typed view models with auto-escaping), the exports operators hand over ([`export`]), the
//! overview of visits and consent ([`overview`], from the [`figures`] of the counters, with
//! [`charts`] as inline SVG), the read-only API tokens ([`api_tokens`]) and what the health
//! page reports ([`health`]).
//!
//! This module owns everything of the dashboard that does not need the HTTP edge; the routes
//! (server/admin.rs) mount on top of it through [`Dashboard`]. It calls the feature services
//! below it (the forms inbox, consent look-up, statistics) and alone writes the audit log. The
//! register of data-subject requests ([`dsr`]) acts on a person's data through those services.

pub mod api_tokens;
pub mod audit;
pub mod auth;
pub mod charts;
pub mod desk;
pub mod discovery;
pub mod dsr;
pub mod export;
pub mod figures;
pub mod health;
pub mod overview;
pub mod views;

use api_tokens::ApiTokens;
use audit::{AuditAction, AuditError, AuditEvent, AuditLog, UNKNOWN_OPERATOR};
use auth::{Attempt, Auth, AuthError, Session, SignIn};
use desk::Desk;
use dsr::{Register, RequestDesk};
use views::{ViewError, Views};

use crate::config::dashboard::Language;
use crate::config::Config;
use crate::consent::ConsentService;
use crate::forms::FormsService;
use crate::http::{Code, EdgeError, HashedAsset};
use crate::keys::{Key, Keys};
use crate::store::{Store, StoreError};

/// Why the dashboard could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    View(#[from] ViewError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

impl From<DashboardError> for EdgeError {
    fn from(e: DashboardError) -> Self {
        let store = match &e {
            DashboardError::Auth(AuthError::Store(s))
            | DashboardError::Audit(AuditError::Store(s)) => Some(s),
            _ => None,
        };
        match store {
            Some(s) if s.is_transient() => {
                tracing::warn!(error = %e, "dashboard: store unavailable");
                EdgeError::new(Code::StoreUnavailable)
            }
            Some(StoreError::Corrupt(_)) => EdgeError::new(Code::StoreCorrupt),
            _ => EdgeError::new(Code::Internal).detail(e.to_string()),
        }
    }
}

/// Everything the dashboard's routes share: sign-in and sessions, the templates, the audit
/// log and the stylesheet. Built once at start ([`Dashboard::new`]), read by every worker.
pub struct Dashboard {
    pub auth: Auth,
    pub views: Views,
    pub audit: AuditLog,
    /// The register of data-subject requests.
    pub register: Register,
    /// Operators' read-only API tokens (the overview's JSON API).
    pub tokens: ApiTokens,
    /// The stylesheet, content-hashed, served on the admin listener at its `url()`.
    pub css: HashedAsset,
    /// Page language when neither the operator's setting nor the browser decides.
    pub language: Language,
    /// The configured operator names, in configuration order (the audit log's filter).
    pub operators: Vec<String>,
    /// When the gate started, unix seconds (the health page's uptime).
    pub started: u64,
    /// Held while a classification reads, writes and puts in force the override file, so two
    /// operators classifying at once do not lose one's change.
    pub classifying: std::sync::Mutex<()>,
    email_key: Key,
}

impl Dashboard {
    /// Build from the validated configuration: one argon2 run (the dummy hash) and the
    /// templates parsed. `now`: the start time, unix seconds.
    pub fn new(
        config: &Config,
        keys: &Keys,
        store: Store,
        now: u64,
    ) -> Result<Dashboard, DashboardError> {
        let cfg = &config.dashboard;
        Ok(Dashboard {
            auth: Auth::new(cfg, keys, store.clone())?,
            views: Views::new()?,
            audit: AuditLog::new(store.clone()),
            register: Register::new(config, keys, store.clone()),
            tokens: ApiTokens::new(store),
            css: HashedAsset::new(
                "dashboard",
                "css",
                "text/css; charset=utf-8",
                views::STYLESHEET.as_bytes().to_vec(),
            ),
            language: cfg.language,
            operators: cfg.users.iter().map(|u| u.name.clone()).collect(),
            started: now,
            classifying: std::sync::Mutex::new(()),
            email_key: keys.email_index.clone(),
        })
    }

    /// Check a sign-in attempt at `now` (unix s) and audit its outcome: `sign_in`, or
    /// `sign_in_failed` naming the account (or [`UNKNOWN_OPERATOR`]). Throttled attempts are
    /// not checked and not logged (the log would otherwise be the attacker's to fill).
    pub async fn sign_in(&self, attempt: &Attempt<'_>, now: u64) -> Result<SignIn, DashboardError> {
        let outcome = self.auth.sign_in(attempt, now).await?;
        let event = match &outcome {
            SignIn::Accepted(new) => {
                AuditEvent::new(now, &new.session.operator, AuditAction::SignIn)
            }
            SignIn::Refused(refusal) => AuditEvent::new(
                now,
                refusal.account.as_deref().unwrap_or(UNKNOWN_OPERATOR),
                AuditAction::SignInFailed,
            ),
            SignIn::Throttled { .. } => return Ok(outcome),
        };
        if let Err(e) = self.audit.append(&event).await {
            // A sign-in that cannot be logged does not happen.
            if let SignIn::Accepted(new) = &outcome {
                self.auth.sign_out(&new.cookie_value).await?;
            }
            return Err(e.into());
        }
        Ok(outcome)
    }

    /// End a session (audited: `sign_out`).
    pub async fn sign_out(
        &self,
        session: &Session,
        cookie_value: &str,
        now: u64,
    ) -> Result<(), DashboardError> {
        self.audit
            .append(&AuditEvent::new(
                now,
                &session.operator,
                AuditAction::SignOut,
            ))
            .await?;
        self.auth.sign_out(cookie_value).await?;
        Ok(())
    }

    /// The audited actions of `operator` at `now` (unix s).
    pub fn desk<'a>(
        &'a self,
        forms: &'a FormsService,
        consent: &'a ConsentService,
        operator: &'a str,
        now: u64,
    ) -> Desk<'a> {
        Desk {
            forms,
            consent,
            audit: &self.audit,
            operator,
            now,
            email_key: &self.email_key,
        }
    }

    /// The audited actions of `operator` at `now` (unix s) on the register of data-subject
    /// requests.
    pub fn requests<'a>(
        &'a self,
        forms: &'a FormsService,
        consent: &'a ConsentService,
        operator: &'a str,
        now: u64,
    ) -> RequestDesk<'a> {
        RequestDesk {
            register: &self.register,
            forms,
            consent,
            audit: &self.audit,
            operator,
            now,
            lookup_key: &self.email_key,
        }
    }
}
