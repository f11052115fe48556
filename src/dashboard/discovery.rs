//! Discovery, the operator's side: the cookies and third-party origins seen in traffic that the
//! catalogue does not classify, the CSP violations browsers reported, and classifying one —
//! as a tracker of a category (a vendor entry in `trackers.override_file`) or as something the
//! site needs (an approved origin, a necessary cookie name). Writing the file is audited here;
//! the caller then reloads the catalogue ([`AppState::reload`](crate::server::AppState::reload)).

use std::path::Path;

use crate::config::{LearnedTrackers, OverrideError, TrackersConfig, VendorConfig};
use crate::stats::discovery::{Blocked, Discovered, Found};
use crate::stats::{day_key, Stats};
use crate::store::StoreError;
use crate::trackers::Catalogue;

use super::audit::{AuditAction, AuditError, AuditEvent, AuditLog};

/// Days of traffic the page looks back on.
pub const DAYS: u64 = 30;
/// What an unclassified entry can be marked as besides a tracker category.
pub const NECESSARY: &str = "necessary";

/// Why a classification was not written.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Override(#[from] OverrideError),
    #[error(transparent)]
    Audit(#[from] AuditError),
}

/// What the page shows.
#[derive(Debug, Default)]
pub struct Findings {
    /// Cookies and origins the catalogue does not classify, origins first.
    pub unclassified: Vec<Discovered>,
    /// Reports of a tracker host blocked (or that would have been), with the vendor's name.
    pub tracker_attempts: Vec<(Blocked, String)>,
    /// Reports of other origins: probably the site's own needs, to approve.
    pub needed: Vec<Blocked>,
    /// Reports of inline code or `eval` (only with script hashes configured).
    pub other: Vec<Blocked>,
}

/// The last [`DAYS`] day keys up to `now` (unix s), oldest first.
fn days(now: u64) -> Vec<String> {
    (0..DAYS)
        .rev()
        .map(|back| day_key(now.saturating_sub(back * 86_400)))
        .collect()
}

/// Read what the last [`DAYS`] days found, as `catalogue` classifies it now.
pub async fn findings(
    stats: &Stats,
    catalogue: &Catalogue,
    now: u64,
) -> Result<Findings, StoreError> {
    let days = days(now);
    let (found, blocked) =
        futures_util::future::try_join(stats.read_discovered(&days), stats.read_blocked(&days))
            .await?;
    let mut out = Findings {
        unclassified: found
            .into_iter()
            .filter(|d| match d.kind {
                Found::Cookie => !catalogue.knows_cookie(&d.name),
                Found::Origin => !catalogue.knows_origin(&d.name),
                // Catalogue vendors are classified by definition (and counted apart).
                Found::Vendor => false,
            })
            .collect(),
        ..Findings::default()
    };
    out.unclassified
        .sort_by(|a, b| b.kind.cmp(&a.kind).then(a.name.cmp(&b.name)));
    for b in blocked {
        if !b.origin.contains("://") {
            out.other.push(b);
        } else if let Some(vendor) = catalogue.vendor_for_url(&format!("{}/", b.origin)) {
            let name = vendor.name.clone();
            out.tracker_attempts.push((b, name));
        } else if !catalogue.knows_origin(&b.origin) {
            out.needed.push(b);
        }
    }
    Ok(out)
}

/// A vendor id for `host`: its labels joined by `_`, `[a-z0-9_]`, unique among `taken`.
pub fn vendor_id(host: &str, taken: &[&str]) -> String {
    let base: String = host
        .trim_start_matches("www.")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let base = if base.is_empty() {
        "vendor".into()
    } else {
        base
    };
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id.as_str()) {
        id = format!("{base}_{n}");
        n += 1;
    }
    id
}

/// `learned` with `name` (a cookie name or an origin) classified as `choice`: [`NECESSARY`]
/// or one of `categories`. `taken`: the vendor ids in use.
pub fn classified(
    learned: &LearnedTrackers,
    kind: Found,
    name: &str,
    choice: &str,
    categories: &[String],
    taken: &[&str],
) -> Result<LearnedTrackers, ClassifyError> {
    let mut out = learned.clone();
    let refused = |why: &str| ClassifyError::Refused(why.to_owned());
    if name.is_empty() || name.len() > crate::stats::discovery::MAX_NAME_LEN {
        return Err(refused("name: expected a cookie name or an origin"));
    }
    let host = match kind {
        Found::Origin => {
            let origin = crate::config::origin_of(name)
                .filter(|o| o == name)
                .ok_or_else(|| refused("name: expected an origin like https://cdn.example.org"))?;
            Some(
                url::Url::parse(&origin)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .ok_or_else(|| refused("name: the origin has no host name"))?,
            )
        }
        Found::Cookie => None,
        Found::Vendor => return Err(refused("kind: a catalogue vendor is classified already")),
    };
    if choice == NECESSARY {
        match kind {
            Found::Origin => out.approved_origins.push(name.to_owned()),
            Found::Cookie | Found::Vendor => out.necessary_cookies.push(name.to_owned()),
        }
        out.approved_origins.dedup();
        out.necessary_cookies.dedup();
        return Ok(out);
    }
    if !categories.iter().any(|c| c == choice) {
        return Err(refused("category: not one of the site's categories"));
    }
    let id = vendor_id(host.as_deref().unwrap_or(name), taken);
    let (hosts, cookie_names) = match host {
        Some(host) => {
            if crate::config::parse_host_spec(&host).is_none() {
                return Err(refused(
                    "name: only an origin with a DNS name can be a tracker",
                ));
            }
            (vec![host], Vec::new())
        }
        None => (Vec::new(), vec![name.to_owned()]),
    };
    out.vendors.push(VendorConfig {
        id,
        name: Some(name.to_owned()),
        description: Default::default(),
        category: choice.to_owned(),
        hosts,
        paths: Vec::new(),
        inline_signatures: Vec::new(),
        usage_signatures: Vec::new(),
        cookie_names,
        cookie_prefixes: Vec::new(),
        embed: None,
    });
    Ok(out)
}

/// One classification asked for in the dashboard.
#[derive(Debug, Clone, Copy)]
pub struct Classification<'a> {
    pub kind: Found,
    pub name: &'a str,
    /// [`NECESSARY`] or a tracker category.
    pub choice: &'a str,
}

impl Classification<'_> {
    /// The audit log's object: `<cookie|origin> <name> <choice>`.
    pub fn object(&self) -> String {
        format!("{} {} {}", self.kind.as_str(), self.name, self.choice)
    }
}

/// `trackers` with `c` added to its override file, which is read afresh (it may have been
/// edited by hand since it was loaded), checked like the configuration, and written
/// atomically. `categories`: the tracker categories the site declares. The caller puts the
/// result in force.
pub fn classify_in_file(
    trackers: &TrackersConfig,
    c: Classification<'_>,
    categories: &[String],
) -> Result<TrackersConfig, ClassifyError> {
    let path: &Path = trackers
        .override_file
        .as_deref()
        .ok_or(OverrideError::NotConfigured)?;
    let current = LearnedTrackers::read(path).map_err(ClassifyError::Refused)?;
    let mut next = trackers.clone();
    next.learned = LearnedTrackers::default();
    let taken: Vec<String> = next
        .resolved_vendors()
        .into_iter()
        .map(|v| v.id)
        .chain(current.vendors.iter().map(|v| v.id.clone()))
        .collect();
    let taken: Vec<&str> = taken.iter().map(String::as_str).collect();
    next.learned = classified(&current, c.kind, c.name, c.choice, categories, &taken)?;
    if let Some(problem) = next.validate().into_iter().next() {
        return Err(ClassifyError::Refused(problem.to_string()));
    }
    next.learned.write(path)?;
    Ok(next)
}

/// Audit `operator`'s classification at `now` (unix s).
pub async fn audit_classification(
    audit: &AuditLog,
    operator: &str,
    now: u64,
    c: Classification<'_>,
) -> Result<(), ClassifyError> {
    let event = AuditEvent::new(now, operator, AuditAction::TrackerClassified).object(c.object());
    audit.append(&event).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<String> {
        vec!["analytics".into(), "marketing".into()]
    }

    #[test]
    fn an_origin_classified_as_a_tracker_becomes_a_vendor_of_its_host() {
        let out = classified(
            &LearnedTrackers::default(),
            Found::Origin,
            "https://www.clarity.ms",
            "analytics",
            &cats(),
            &["google_analytics"],
        )
        .unwrap();
        assert_eq!(out.vendors.len(), 1);
        assert_eq!(out.vendors[0].id, "clarity_ms");
        assert_eq!(out.vendors[0].hosts, ["www.clarity.ms"]);
        assert_eq!(out.vendors[0].category, "analytics");
    }

    #[test]
    fn necessary_ones_are_approved_not_vendors() {
        let l = LearnedTrackers::default();
        let o = classified(
            &l,
            Found::Origin,
            "https://cdn.example.org",
            NECESSARY,
            &cats(),
            &[],
        )
        .unwrap();
        assert_eq!(o.approved_origins, ["https://cdn.example.org"]);
        let c = classified(&l, Found::Cookie, "PHPSESSID", NECESSARY, &cats(), &[]).unwrap();
        assert_eq!(c.necessary_cookies, ["PHPSESSID"]);
        assert!(c.vendors.is_empty() && o.vendors.is_empty());
    }

    #[test]
    fn unknown_categories_and_bad_origins_are_refused() {
        let l = LearnedTrackers::default();
        assert!(classified(&l, Found::Cookie, "x", "statistics", &cats(), &[]).is_err());
        assert!(classified(
            &l,
            Found::Origin,
            "https://a.example/x",
            NECESSARY,
            &cats(),
            &[]
        )
        .is_err());
    }

    #[test]
    fn vendor_ids_are_unique() {
        assert_eq!(vendor_id("clarity.ms", &["clarity_ms"]), "clarity_ms_2");
    }
}
