//! The vendors the site uses: every catalogue vendor the rewriter has made inert on any of the
//! site's pages, plus the ones the operator declares (`consent.banner_vendors`). The banner's
//! first layer names them all, so a visitor who accepts on a page without YouTube has been told
//! about YouTube all the same. Only catalogue ids are ever held (never text from a page), so
//! the set is bounded by the catalogue. It only grows while the gate runs; each growth bumps
//! its generation, which the rewrite memo keys on, so no page keeps an older list.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use super::Catalogue;

/// Most vendors held, whatever the catalogue holds (a defence; the catalogue bounds it first).
pub const MAX_SITE_VENDORS: usize = 256;

/// One state of the set: its vendor ids, sorted, and a number that changes with every growth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteSet {
    /// Starts at 0 and grows by one whenever a vendor is added (process-local).
    pub generation: u64,
    pub ids: BTreeSet<String>,
}

/// The site-wide vendor set, shared by every worker and kept across reloads.
#[derive(Debug, Default)]
pub struct SiteVendors {
    current: RwLock<Arc<SiteSet>>,
}

impl SiteVendors {
    /// An empty set (generation 0).
    pub fn new() -> SiteVendors {
        SiteVendors::default()
    }

    /// The set as it is now; later growth does not change what was taken.
    pub fn current(&self) -> Arc<SiteSet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Add the ids `catalogue` knows (others are ignored); returns those that were new. Cheap
    /// when nothing is new (a read lock and a look-up per id): it runs after every rewrite.
    pub fn add<'a>(
        &self,
        catalogue: &Catalogue,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let now = self.current();
        let mut new: Vec<String> = ids
            .into_iter()
            .filter(|id| !now.ids.contains(*id) && catalogue.vendor(id).is_some())
            .map(str::to_owned)
            .collect();
        new.sort();
        new.dedup();
        if new.is_empty() {
            return new;
        }
        let mut slot = self.current.write().unwrap_or_else(|p| p.into_inner());
        let mut next = SiteSet::clone(&slot);
        new.retain(|id| next.ids.len() < MAX_SITE_VENDORS && next.ids.insert(id.clone()));
        if !new.is_empty() {
            next.generation += 1;
            *slot = Arc::new(next);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_catalogue_vendors_join_and_each_growth_is_a_new_generation() {
        let catalogue = Catalogue::builtin();
        let site = SiteVendors::new();
        assert_eq!(site.current().generation, 0);
        assert_eq!(
            site.add(&catalogue, ["hotjar", "not-a-vendor", "hotjar"]),
            vec!["hotjar".to_owned()]
        );
        let first = site.current();
        assert_eq!(first.generation, 1);
        assert!(site.add(&catalogue, ["hotjar"]).is_empty());
        assert_eq!(site.current().generation, 1, "nothing new, same generation");
        site.add(&catalogue, ["youtube"]);
        let second = site.current();
        assert_eq!(second.generation, 2);
        assert_eq!(
            second.ids.iter().map(String::as_str).collect::<Vec<_>>(),
            ["hotjar", "youtube"]
        );
        assert_eq!(first.ids.len(), 1, "a taken state does not change");
    }
}
