//! Passive discovery, the gate's side: which cookie names (upstream Set-Cookie, visitors'
//! Cookie headers) and third-party origins (the pages the rewriter sees) the catalogue does not
//! classify, handed to the statistics' discovery ([`crate::stats::discovery`]) — names only,
//! never values, nothing about the visitor. Everything here runs on the request's path, so it
//! only filters and calls [`Stats::discover`], which never waits. The catalogue vendors a
//! rewritten page holds join the site's vendor set (the banner names them) and are noted too,
//! so the set is read back after a restart.

use std::sync::Arc;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpRequest;

use crate::config::split_host;
use cookie::Cookie;

use crate::http::extract::request_cookies;
use crate::http::SiteHosts;
use crate::rewrite::PageFound;
use crate::stats::discovery::Found;
use crate::stats::Stats;
use crate::trackers::{Catalogue, SiteVendors};

/// Most cookie names of one request or response looked at.
const MAX_COOKIES: usize = 32;

/// Notes what the catalogue does not classify; one per catalogue (rebuilt on reload).
#[derive(Clone)]
pub struct Discovery {
    stats: Stats,
    catalogue: Arc<Catalogue>,
    sites: SiteHosts,
    /// The vendors the site uses (shared with the rewriter, kept across reloads).
    site_vendors: Arc<SiteVendors>,
}

impl Discovery {
    pub fn new(
        stats: Stats,
        catalogue: Arc<Catalogue>,
        sites: SiteHosts,
        site_vendors: Arc<SiteVendors>,
    ) -> Discovery {
        Discovery {
            stats,
            catalogue,
            sites,
            site_vendors,
        }
    }

    /// What a page at `host` (its Host header) and `path` was found to hold: its origins
    /// ([`Discovery::page_origins`]) and the catalogue vendors made inert in it, which join the
    /// site's vendor set at once and are noted (once a day per process) for the next start.
    pub fn page_found(&self, host: &str, path: &str, found: PageFound) {
        self.site_vendors
            .add(&self.catalogue, found.vendors.iter().map(String::as_str));
        for vendor in &found.vendors {
            self.stats.discover(Found::Vendor, vendor, "");
        }
        self.page_origins(host, path, found.origins);
    }

    /// The cookie names `req` carries, on its path.
    pub fn request_cookies(&self, req: &HttpRequest) {
        for cookie in request_cookies(req).take(MAX_COOKIES) {
            self.cookie(cookie.name(), req.path());
        }
    }

    /// The cookie names an upstream response sets (`headers`), on `path`.
    pub fn set_cookies(&self, headers: &HeaderMap, path: &str) {
        // One cookie per Set-Cookie header; the rest of the value is its attributes.
        let set = headers
            .get_all(header::SET_COOKIE)
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Cookie::parse(v).ok());
        for cookie in set.take(MAX_COOKIES) {
            self.cookie(cookie.name(), path);
        }
    }

    fn cookie(&self, name: &str, path: &str) {
        if !self.catalogue.knows_cookie(name) {
            self.stats.discover(Found::Cookie, name, path);
        }
    }

    /// The origins a page at `host` (its Host header) and `path` fetches from; the page's own
    /// host and the site's names (`listen.hosts`) are first-party.
    pub fn page_origins(&self, host: &str, path: &str, origins: Vec<String>) {
        let own = split_host(host).map(|(name, _)| name);
        for origin in origins {
            if self.first_party(own.as_deref(), &origin) || self.catalogue.knows_origin(&origin) {
                continue;
            }
            self.stats.discover(Found::Origin, &origin, path);
        }
    }

    /// An origin a CSP report says was blocked on `path`.
    pub fn reported_origin(&self, origin: &str, path: &str) {
        if !self.catalogue.knows_origin(origin) && !self.first_party(None, origin) {
            self.stats.discover(Found::Origin, origin, path);
        }
    }

    fn first_party(&self, own: Option<&str>, origin: &str) -> bool {
        let Some(authority) = origin.split_once("://").map(|(_, a)| a) else {
            return false;
        };
        let Some((name, port)) = split_host(authority) else {
            return false;
        };
        own.is_some_and(|own| own.eq_ignore_ascii_case(&name)) || self.sites.names(&name, port)
    }
}
