//! What admins oversee: the audit log (filtered by operator and action, paged, CSV export) and
//! the health page (store, geo database, upstream, version, uptime, forms, configuration).

use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{download, page, query, Operator};
use crate::dashboard::audit::{AuditAction, AuditFilter};
use crate::dashboard::health::{checks, effective_config, Probe};
use crate::dashboard::views::{Area, AuditView, HealthPage};
use crate::dashboard::DashboardError;
use crate::http::{Code, EdgeError};
use crate::store::AuditId;

use super::super::state::State;

/// Audit entries per page.
pub const PAGE: usize = 50;

#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    operator: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    before: String,
}

fn filter(q: &AuditQuery) -> Result<AuditFilter, EdgeError> {
    let bad = |d: &str| EdgeError::new(Code::BadRequest).detail(d.to_owned());
    Ok(AuditFilter {
        operator: (!q.operator.is_empty()).then(|| q.operator.chars().take(128).collect()),
        action: match q.action.as_str() {
            "" => None,
            name => Some(AuditAction::from_name(name).ok_or_else(|| bad("action: unknown"))?),
        },
    })
}

/// `GET /audit`: newest first, filtered, one page.
pub async fn audit(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let q: AuditQuery = query(&req)?;
    let filter = filter(&q)?;
    let before = match q.before.as_str() {
        "" => None,
        text => Some(
            text.parse::<AuditId>()
                .map_err(|e| EdgeError::new(Code::BadRequest).detail(format!("before: {e}")))?,
        ),
    };
    let log = state
        .dashboard
        .audit
        .page(&filter, before, PAGE)
        .await
        .map_err(|e| EdgeError::from(DashboardError::from(e)))?;
    let operators: Vec<&str> = state
        .dashboard
        .operators
        .iter()
        .map(String::as_str)
        .collect();
    page(
        &state,
        &op.chrome(&state, Area::Audit),
        &AuditView::new(&filter, &operators, &log),
    )
}

/// `GET /audit/export.csv`: the filtered log as CSV (the export is audited too).
pub async fn export(
    state: State,
    op: Operator,
    req: HttpRequest,
) -> Result<HttpResponse, EdgeError> {
    let q: AuditQuery = query(&req)?;
    let filter = filter(&q)?;
    let areas = state.areas();
    let desk = op.desk(&state, &areas);
    let (csv, _) = desk.export_audit(&filter).await?;
    Ok(download(csv, "text/csv; charset=utf-8", "audit.csv"))
}

/// `GET /health`: what works, how long it has run, what it is configured to do.
pub async fn health(state: State, op: Operator) -> Result<HttpResponse, EdgeError> {
    let store = async {
        let sent = Instant::now();
        state.store.ping().await.map(|()| sent.elapsed())
    };
    let (store, upstream) = tokio::join!(store, state.proxy_settings.reachable());
    let probe = Probe {
        store: store.map_err(|e| e.to_string()),
        backend: state.store.backend_name(),
        geo: state.privacy.geo_build_epoch(),
        geo_configured: state.config.privacy.geo_database.is_some(),
        upstream,
        stats_dropped: state.stats.dropped(),
    };
    let uptime = Duration::from_secs(op.now.saturating_sub(state.dashboard.started));
    // The configuration in force: as started, with the sections a reload replaced.
    let areas = state.areas();
    let view = HealthPage::new(
        checks(&probe),
        uptime,
        areas.forms.forms(),
        effective_config(&areas.config),
    );
    page(&state, &op.chrome(&state, Area::Health), &view)
}
