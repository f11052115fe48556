//! The page-view hook: the page filter, wrapped so that every HTML page it starts to rewrite
//! for a GET answered with status 200 is counted in the statistics. The filter alone decides
//! what is HTML, so views are counted exactly where the gate knows the answer. Counting builds
//! a small event and puts it on the statistics' bounded channel; it never waits.

use actix_web::http::Method;
use bytes::Bytes;

use super::page_filter::PageRewrite;
use super::state::AppState;
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
}

impl<'a> Counted<'a> {
    pub fn new(
        state: &'a AppState,
        page: &'a PageRewrite,
        visitor: &'a Visitor,
        wire: &'a WirePolicy,
    ) -> Counted<'a> {
        Counted {
            page,
            state,
            visitor,
            wire,
        }
    }
}

impl HtmlFilter for Counted<'_> {
    fn start(&self, info: &HtmlResponseInfo<'_>, prefix: &[Bytes], complete: bool) -> Verdict {
        let verdict = self.page.start(info, prefix, complete);
        let req = info.request;
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
