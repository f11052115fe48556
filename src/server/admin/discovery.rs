//! Discovery (admin): the cookies and origins seen in traffic that the catalogue does not
//! classify, the CSP reports, and classifying one — written to `trackers.override_file` and
//! put in force at once by reloading the catalogue, without a restart.

use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;

use super::edge::{page, query, see_other, Operator, Posted};
use crate::config::{Config, CspMode, OverrideError};
use crate::dashboard::discovery::{self, Classification, ClassifyError};
use crate::dashboard::views::{paths, with_query, Area, DiscoveryPage};
use crate::dashboard::DashboardError;
use crate::http::{Code, EdgeError};
use crate::stats::discovery::Found;

use super::super::state::State;

#[derive(Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The tracker categories of `config`: the two built in, then the declared ones.
fn categories(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = vec!["analytics".into(), "marketing".into()];
    for c in &config.consent.categories {
        if !out.contains(&c.id) && c.id != discovery::NECESSARY {
            out.push(c.id.clone());
        }
    }
    out
}

/// `GET /discovery`.
pub async fn list(state: State, op: Operator, req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    let q: DoneQuery = query(&req)?;
    let areas = state.areas();
    let findings = discovery::findings(&state.stats, areas.page.rewriter.catalogue(), op.now)
        .await
        .map_err(super::overview::store_error)?;
    let config = &areas.config;
    let mode = match config.csp.mode {
        CspMode::Off => "off",
        CspMode::ReportOnly => "report-only",
        CspMode::Enforce => "enforce",
    };
    let can_classify = config.trackers.override_file.is_some();
    let mut view = DiscoveryPage::new(findings, &categories(config), can_classify, mode);
    if q.done == "classified" {
        view.notice = Some("classified");
    }
    page(&state, &op.chrome(&state, Area::Discovery), &view)
}

#[derive(Deserialize)]
pub struct ClassifyForm {
    kind: String,
    name: String,
    choice: String,
}

fn classify_error(e: ClassifyError) -> EdgeError {
    match e {
        ClassifyError::Refused(why) => EdgeError::new(Code::BadRequest).detail(why),
        ClassifyError::Override(e @ OverrideError::NotConfigured) => {
            EdgeError::new(Code::BadRequest).detail(e.to_string())
        }
        ClassifyError::Override(e) => EdgeError::new(Code::Internal).detail(e.to_string()),
        ClassifyError::Audit(e) => DashboardError::from(e).into(),
    }
}

/// `POST /discovery/classify`: write the classification and reload the catalogue.
pub async fn classify(
    state: State,
    posted: Posted<ClassifyForm>,
) -> Result<HttpResponse, EdgeError> {
    let form = &posted.form;
    let kind = match form.kind.as_str() {
        "cookie" => Found::Cookie,
        "origin" => Found::Origin,
        _ => return Err(EdgeError::new(Code::BadRequest).detail("kind: cookie or origin")),
    };
    let c = Classification {
        kind,
        name: form.name.trim(),
        choice: form.choice.as_str(),
    };
    {
        // Read, write and reload as one step (no await inside).
        let _one_at_a_time = state
            .dashboard
            .classifying
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let areas = state.areas();
        let trackers =
            discovery::classify_in_file(&areas.config.trackers, c, &categories(&areas.config))
                .map_err(classify_error)?;
        let mut config = Config::clone(&areas.config);
        config.trackers = trackers;
        state
            .reload(config)
            .map_err(|e| EdgeError::new(Code::Internal).detail(e.to_string()))?;
    }
    discovery::audit_classification(&state.dashboard.audit, posted.op.name(), posted.op.now, c)
        .await
        .map_err(classify_error)?;
    Ok(see_other(&with_query(
        paths::DISCOVERY,
        &[("done", "classified")],
    )))
}
