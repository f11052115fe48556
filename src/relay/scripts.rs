//! gtag.js and gtm.js served from the gate: fetched from Google on demand, for the configured
//! measurement and container ids only (never an open proxy), size-capped, and cached by the
//! rules of HTTP caching (http-cache-semantics): fresh for as long as Google's Cache-Control
//! (or Expires) allows, then revalidated with a conditional GET (`If-None-Match` /
//! `If-Modified-Since`) — a 304 keeps the copy, a 200 replaces it.
//!
//! The cache acts as a private cache (`private` responses are kept, as gtag.js is): the gate
//! fetches for itself, with no cookie, address or anything else of a visitor in the request,
//! so the one answer Google gives it is the answer for every visitor. When Google fails and an
//! older copy exists, the older copy is served rather than no analytics at all.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use actix_web::http::header::{self, ContentEncoding};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use http_cache_semantics::{AfterResponse, BeforeRequest, CacheOptions, CachePolicy};
use url::Url;

use super::outbound::{FetchError, Fetched, Outbound};
use crate::clock::SharedClock;
use crate::http::negotiate::preferred_encoding;
use crate::metrics::Metrics;

/// Script URLs the cache keeps at once (each configured id, in the few variants of query a
/// tag asks for); beyond it, the copy stored longest ago goes.
const MAX_ENTRIES: usize = 32;

/// A script as stored.
pub(crate) struct Cached {
    policy: CachePolicy,
    body: Bytes,
    /// The body gzipped once, for the browsers that accept it.
    gzip: Bytes,
}

/// Why no script could be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScriptError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("Google answered {0}")]
    Status(u16),
}

/// The script cache; see the module documentation.
pub(crate) struct Scripts {
    origin: Url,
    entries: Mutex<HashMap<String, (SystemTime, Arc<Cached>)>>,
    /// One fetch at a time: visitors asking for a script being fetched wait for that fetch
    /// instead of starting their own.
    fetching: tokio::sync::Mutex<()>,
    clock: SharedClock,
    metrics: Arc<Metrics>,
}

/// How the gate asks Google: no cookie, no address, nothing of the visitor.
fn request_for(url: &Url) -> http::request::Parts {
    let (parts, ()) = http::Request::get(url.as_str())
        .header("user-agent", "consentgate-relay")
        .header("accept", "*/*")
        .body(())
        .unwrap_or_default()
        .into_parts();
    parts
}

impl Scripts {
    pub fn new(origin: Url, clock: SharedClock, metrics: Arc<Metrics>) -> Self {
        Self {
            origin,
            entries: Mutex::new(HashMap::new()),
            fetching: tokio::sync::Mutex::new(()),
            clock,
            metrics,
        }
    }

    fn stored(&self, key: &str) -> Option<Arc<Cached>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(key).map(|(_, c)| c.clone())
    }

    fn store(&self, key: &str, cached: Arc<Cached>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
            }
        }
        entries.insert(key.to_owned(), (self.clock.now(), cached));
    }

    /// The script at `path_and_query` (already checked against the configured ids, in its
    /// canonical form) below the script origin.
    pub async fn get(
        &self,
        path_and_query: &str,
        outbound: &Outbound,
    ) -> Result<Arc<Cached>, ScriptError> {
        let url = self
            .origin
            .join(path_and_query)
            .map_err(|e| ScriptError::Fetch(FetchError::Unreadable(e.to_string())))?;
        let request = request_for(&url);
        if let Some(fresh) = self.fresh(path_and_query, &request) {
            return Ok(fresh);
        }
        let _turn = self.fetching.lock().await;
        // Whoever held the turn before may have just refreshed it.
        if let Some(fresh) = self.fresh(path_and_query, &request) {
            return Ok(fresh);
        }
        let cached = self.stored(path_and_query);
        let outgoing = match &cached {
            Some(c) => match c.policy.before_request(&request, self.clock.now()) {
                BeforeRequest::Stale { request, .. } => request,
                BeforeRequest::Fresh(_) => request.clone(),
            },
            None => request.clone(),
        };
        let fetched = outbound.fetch(outgoing).await;
        match self.take(path_and_query, &request, cached.as_ref(), fetched) {
            Ok(served) => Ok(served),
            Err(e) => match cached {
                Some(old) => {
                    tracing::warn!(error = %e, "relay: Google failed; an older copy of a script served");
                    self.metrics.relay_script("stale");
                    Ok(old)
                }
                None => {
                    tracing::warn!(error = %e, "relay: a script could not be fetched");
                    self.metrics.relay_script("failed");
                    Err(e)
                }
            },
        }
    }

    /// The stored copy, if HTTP caching lets it be used without asking Google.
    fn fresh(&self, key: &str, request: &http::request::Parts) -> Option<Arc<Cached>> {
        let cached = self.stored(key)?;
        match cached.policy.before_request(request, self.clock.now()) {
            BeforeRequest::Fresh(_) => {
                self.metrics.relay_script("cached");
                Some(cached)
            }
            BeforeRequest::Stale { .. } => None,
        }
    }

    /// Google's answer applied to the cache.
    fn take(
        &self,
        key: &str,
        request: &http::request::Parts,
        cached: Option<&Arc<Cached>>,
        fetched: Result<Fetched, FetchError>,
    ) -> Result<Arc<Cached>, ScriptError> {
        let fetched = fetched?;
        let now = self.clock.now();
        let status = fetched.head.status;
        if status == http::StatusCode::NOT_MODIFIED {
            let old = cached.ok_or(ScriptError::Status(304))?;
            return match old.policy.after_response(request, &fetched.head, now) {
                AfterResponse::NotModified(policy, _) => {
                    let renewed = Arc::new(Cached {
                        policy,
                        body: old.body.clone(),
                        gzip: old.gzip.clone(),
                    });
                    self.store(key, renewed.clone());
                    self.metrics.relay_script("revalidated");
                    Ok(renewed)
                }
                // A 304 whose validators do not match the copy: the copy cannot be vouched for.
                AfterResponse::Modified(..) => Err(ScriptError::Status(304)),
            };
        }
        if status != http::StatusCode::OK {
            return Err(ScriptError::Status(status.as_u16()));
        }
        let options = CacheOptions {
            shared: false,
            ..CacheOptions::default()
        };
        let policy = CachePolicy::new_options(request, &fetched.head, now, options);
        let storable = policy.is_storable();
        let fresh = Arc::new(Cached {
            gzip: gzip(&fetched.body),
            body: fetched.body,
            policy,
        });
        if storable {
            self.store(key, fresh.clone());
        }
        self.metrics.relay_script("fetched");
        Ok(fresh)
    }
}

fn gzip(body: &[u8]) -> Bytes {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail; an empty result only means the plain body is sent.
    gz.write_all(body)
        .and_then(|()| gz.finish())
        .map(Bytes::from)
        .unwrap_or_default()
}

impl Cached {
    /// The script for a browser: JavaScript whatever Google labelled it, cached by the browser
    /// only for the copy's remaining freshness, gzipped when accepted.
    pub fn respond(&self, req: &HttpRequest, now: SystemTime) -> HttpResponse {
        let ttl = self.policy.time_to_live(now).as_secs();
        let mut res = HttpResponse::Ok();
        res.insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, format!("private, max-age={ttl}")))
            .insert_header((header::VARY, "Accept-Encoding"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
        let gzip_ok = preferred_encoding(req, &[ContentEncoding::Gzip]) == ContentEncoding::Gzip;
        if gzip_ok && !self.gzip.is_empty() {
            res.insert_header((header::CONTENT_ENCODING, "gzip"))
                .body(self.gzip.clone())
        } else {
            res.body(self.body.clone())
        }
    }
}
