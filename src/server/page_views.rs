//! The page-view hook: the page filter, wrapped so that every HTML page it starts to rewrite
//! for a GET answered with status 200 is counted in the statistics, and every page it
//! rewrites gets the Content-Security-Policy of the visitor's verified consent. The filter alone decides
//! what is HTML, so views are counted exactly where the gate knows the answer. Counting builds
//! a small event and puts it on the statistics' bounded channel; it never waits.

use actix_web::http::Method;
use bytes::Bytes;

use super::page_filter::PageRewrite;
use super::state::AppState;
use crate::consent::csp::CspPolicy;
use crate::consent::WirePolicy;
use crate::privacy::Visitor;
use crate::proxy::{HtmlFilter, HtmlResponseInfo, Verdict};
use crate::stats::visit::Seen;

/// The page filter of one request, counting the page view it filters.
pub struct Counted<'a> {
    page: &'a PageRewrite,
    state: &'a AppState,
    visitor: &'a Visitor,
    wire: &'a WirePolicy,
    csp: &'a CspPolicy,
}

impl<'a> Counted<'a> {
    pub fn new(
        state: &'a AppState,
        page: &'a PageRewrite,
        visitor: &'a Visitor,
        wire: &'a WirePolicy,
        csp: &'a CspPolicy,
    ) -> Counted<'a> {
        Counted {
            page,
            state,
            visitor,
            wire,
            csp,
        }
    }
}

impl HtmlFilter for Counted<'_> {
    fn start(&self, info: &HtmlResponseInfo<'_>, prefix: &[Bytes], complete: bool) -> Verdict {
        let mut verdict = self.page.start(info, prefix, complete);
        let req = info.request;
        // The policy for the visitor's verified consent, on every page the gate rewrites.
        if let Verdict::Filter(started) = &mut verdict {
            started
                .headers
                .extend(self.csp.headers(self.wire.consent()));
        }
        // Only a page that is rewritten is a page the visitor sees; a refused one is not.
        if matches!(verdict, Verdict::Filter(_))
            && info.status == 200
            && req.method() == Method::GET
        {
            let seen = Seen {
                country: self.visitor.country.as_deref(),
                granted: self.wire.consent(),
            };
            let privacy = &self.state.privacy;
            self.state.stats.page_view(req, &seen, |key, parts| {
                privacy.visitor_hash(req, key, parts)
            });
        }
        verdict
    }
}
