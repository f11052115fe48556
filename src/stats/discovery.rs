//! What the gate learns from traffic about the site's cookies and third-party origins, and
//! what the browsers report its Content-Security-Policy blocked — names only: cookie names
//! (never values), origins (`scheme://host[:port]`), page paths without query; nothing about
//! the visitor.
//!
//! Noting never waits: [`Stats::discover`] drops what this process already noted today (a
//! small in-memory set, cleared each day) and puts the rest on the statistics channel. The
//! writer admits at most `stats.max_paths_per_day` distinct entries per area and day (the
//! store decides, across gates) and drops the rest.
//!
//! The vendors of the catalogue that the rewriter made inert on the site's pages are noted the
//! same way ([`Found::Vendor`], no path): the site-wide list the banner's first layer names,
//! read back at start so it survives a restart.
//!
//! Store layout: counter hashes per day — `discovered` (fields `cookie\t<name>\t<path>` and
//! `origin\t<origin>\t<path>`), `site_vendors` (`vendor\t<vendor id>\t`), `csp_reports`
//! (`<blocked origin>\t<path>\t<directive>`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::hash::{Hash, Hasher};

use super::{day_key, Area, Event, Stats};
use crate::store::StoreError;

/// Longest name, origin or path kept, in bytes (longer ones are cut at a character boundary).
pub const MAX_NAME_LEN: usize = 200;
/// Entries this process remembers as noted today; past it, everything goes to the writer,
/// which bounds it again.
const REMEMBERED: usize = 4096;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Found {
    /// A cookie name, from an upstream Set-Cookie or a visitor's Cookie header.
    Cookie,
    /// A third-party origin a page references or a CSP report names.
    Origin,
    /// A catalogue vendor whose markup the rewriter made inert on a page: the vendors the
    /// site uses, which the banner names. Counted apart from the other two
    /// ([`Area::SiteVendors`]), so unknown names cannot crowd them out.
    Vendor,
}

impl Found {
    pub fn as_str(self) -> &'static str {
        match self {
            Found::Cookie => "cookie",
            Found::Origin => "origin",
            Found::Vendor => "vendor",
        }
    }

    fn parse(s: &str) -> Option<Found> {
        match s {
            "cookie" => Some(Found::Cookie),
            "origin" => Some(Found::Origin),
            "vendor" => Some(Found::Vendor),
            _ => None,
        }
    }
}

/// One discovered cookie or origin, over the days read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    pub kind: Found,
    pub name: String,
    /// First and last day key it was seen on.
    pub first_seen: String,
    pub last_seen: String,
    /// Times noted (at most once per path, day and gate process).
    pub count: u64,
    /// Paths it was seen on, sorted.
    pub paths: BTreeSet<String>,
}

/// CSP violations reported for one blocked origin on one page path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// `scheme://host[:port]`, or a keyword like `inline` or `eval`.
    pub origin: String,
    pub path: String,
    /// The directive that blocked it (`script-src`, `connect-src`, …).
    pub directive: String,
    pub count: u64,
    pub last_seen: String,
}

/// `text` cut to [`MAX_NAME_LEN`] bytes, tabs and line breaks removed (they separate fields).
pub(super) fn clean(text: &str) -> String {
    let mut out: String = text.chars().filter(|c| !c.is_control()).collect();
    if out.len() > MAX_NAME_LEN {
        let mut end = MAX_NAME_LEN;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// The counter field of a discovered entry.
pub(super) fn discovered_field(kind: Found, name: &str, path: &str) -> String {
    format!("{}\t{}\t{}", kind.as_str(), clean(name), clean(path))
}

/// The counter field of a CSP violation.
pub(super) fn blocked_field(origin: &str, path: &str, directive: &str) -> String {
    format!("{}\t{}\t{}", clean(origin), clean(path), clean(directive))
}

/// What this process already noted today.
#[derive(Default)]
pub(super) struct Noted {
    day: String,
    seen: HashSet<u64>,
}

impl Noted {
    /// Whether `field` is new today (and remember it, while there is room).
    fn first_today(&mut self, day: &str, field: &str) -> bool {
        if self.day != day {
            self.day = day.to_owned();
            self.seen.clear();
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        field.hash(&mut h);
        let key = h.finish();
        if self.seen.contains(&key) {
            return false;
        }
        if self.seen.len() < REMEMBERED {
            self.seen.insert(key);
        }
        true
    }
}

impl Stats {
    /// Note a cookie name or origin seen on `path` (query removed by the caller). Never
    /// waits; repeated notes of the same entry on the same day cost a hash and a lookup.
    pub fn discover(&self, kind: Found, name: &str, path: &str) {
        if name.is_empty() {
            return;
        }
        let field = discovered_field(kind, name, path);
        let day = day_key(self.inner.clock.unix_secs());
        let new = self
            .inner
            .noted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .first_today(&day, &field);
        if new {
            self.record(match kind {
                Found::Vendor => Event::SiteVendor { field },
                Found::Cookie | Found::Origin => Event::Discovered { field },
            });
        }
    }

    /// Count a CSP violation report: `origin` blocked on `path` by `directive`.
    pub fn csp_violation(&self, origin: &str, path: &str, directive: &str) {
        self.record(Event::CspViolation {
            field: blocked_field(origin, path, directive),
        });
    }

    /// Every cookie and origin discovered on `days` (day keys, oldest first), by kind and name.
    pub async fn read_discovered(&self, days: &[String]) -> Result<Vec<Discovered>, StoreError> {
        Ok(collect(days, self.read(Area::Discovered, days).await?))
    }

    /// The vendor ids the rewriter found on the site's pages on `days` (day keys), each once.
    /// Whether each is still in the catalogue is the caller's to check.
    pub async fn read_site_vendors(&self, days: &[String]) -> Result<Vec<String>, StoreError> {
        let found = collect(days, self.read(Area::SiteVendors, days).await?);
        Ok(found
            .into_iter()
            .filter(|d| d.kind == Found::Vendor)
            .map(|d| d.name)
            .collect())
    }

    /// The CSP violations reported on `days` (day keys, oldest first), most frequent first.
    pub async fn read_blocked(&self, days: &[String]) -> Result<Vec<Blocked>, StoreError> {
        let counters = self.read(Area::CspReports, days).await?;
        let mut out: BTreeMap<String, Blocked> = BTreeMap::new();
        for (day, fields) in days.iter().zip(counters) {
            for (field, n) in fields {
                let mut parts = field.splitn(3, '\t');
                let (Some(origin), Some(path), Some(directive)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let entry = out.entry(field.clone()).or_insert_with(|| Blocked {
                    origin: origin.to_owned(),
                    path: path.to_owned(),
                    directive: directive.to_owned(),
                    count: 0,
                    last_seen: day.clone(),
                });
                entry.count += u64::try_from(n).unwrap_or(0);
                entry.last_seen.clone_from(day);
            }
        }
        let mut out: Vec<Blocked> = out.into_values().collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.origin.cmp(&b.origin)));
        Ok(out)
    }
}

/// Discovered entries from one area's counter hashes of `days` (oldest first), by kind and
/// name; fields this version cannot read are skipped.
fn collect(days: &[String], counters: Vec<BTreeMap<String, i64>>) -> Vec<Discovered> {
    let mut out: BTreeMap<(Found, String), Discovered> = BTreeMap::new();
    for (day, fields) in days.iter().zip(counters) {
        for (field, n) in fields {
            let mut parts = field.splitn(3, '\t');
            let (Some(kind), Some(name), Some(path)) = (
                parts.next().and_then(Found::parse),
                parts.next(),
                parts.next(),
            ) else {
                continue;
            };
            let entry = out
                .entry((kind, name.to_owned()))
                .or_insert_with(|| Discovered {
                    kind,
                    name: name.to_owned(),
                    first_seen: day.clone(),
                    last_seen: day.clone(),
                    count: 0,
                    paths: BTreeSet::new(),
                });
            entry.last_seen.clone_from(day);
            entry.count += u64::try_from(n).unwrap_or(0);
            entry.paths.insert(path.to_owned());
        }
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_lose_separators_and_are_cut() {
        assert_eq!(
            discovered_field(Found::Cookie, "PHP\tSESSID", "/a\nb"),
            "cookie\tPHPSESSID\t/ab"
        );
        let long = "é".repeat(300);
        assert!(clean(&long).len() <= MAX_NAME_LEN);
    }

    #[test]
    fn an_entry_is_new_once_a_day() {
        let mut noted = Noted::default();
        assert!(noted.first_today("2026-01-01", "cookie\tx\t/"));
        assert!(!noted.first_today("2026-01-01", "cookie\tx\t/"));
        assert!(noted.first_today("2026-01-02", "cookie\tx\t/"));
    }
}
