//! YouTube thumbnails for the click-to-load placeholders (`[embeds.youtube] thumbnails`, off by
//! default): `GET /_gate/embed-thumb/youtube/<id>.jpg` on the public listener, so a placeholder
//! can show the video's picture while the visitor's browser contacts no Google host before the
//! click.
//!
//! The gate fetches `<thumbnail_origin>/vi/<id>/hqdefault.jpg` itself, with a request of its
//! own: nothing of the visitor's request goes along (no cookie, address, referrer, user agent
//! or language), so the one answer is the answer for every visitor. Each fetch is bounded
//! ([`FETCH_TIMEOUT`], [`MAX_IMAGE_BYTES`], `image/jpeg` only, no redirects); what arrives is
//! kept in memory ([`CACHE_BYTES`] in all, [`CACHE_TTL`] each, the least recently served goes
//! first when full), one fetch per id at a time, and at most `thumbnail_fetches` fetches per
//! window for every gate on the store together — the route cannot make the gate fetch without
//! end. Only valid video ids are ever asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use url::Url;

use super::outbound::{fetch, FetchError};
use super::store_error;
use crate::clock::SharedClock;
use crate::config::{RateLimitConfig, YoutubeEmbedConfig};
use crate::http::{Code, EdgeError};
use crate::rewrite::{extract_mime_type, is_youtube_id, THUMBNAIL_PREFIX};
use crate::store::{Store, StoreError};

/// Longest one fetch from Google may take, connecting included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest thumbnail accepted, in bytes (YouTube's `hqdefault.jpg` is 10–40 KB); a larger
/// answer is refused and not kept.
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;
/// Bytes of thumbnails kept in memory at most.
pub const CACHE_BYTES: usize = 8 * 1024 * 1024;
/// How long a kept thumbnail is served before it is fetched again; also the browser's
/// `max-age`.
pub const CACHE_TTL: Duration = Duration::from_secs(86_400);
/// The rate-limit key every gate on the store counts its fetches under.
const FETCH_LIMIT_KEY: &str = "embed-thumbs";

/// The thumbnail service of one gate; cheap to clone.
#[derive(Clone)]
pub struct Thumbs {
    inner: Arc<Inner>,
}

struct Inner {
    origin: Url,
    limit: RateLimitConfig,
    store: Store,
    clock: SharedClock,
    cache: Mutex<Cache>,
    /// Ids being fetched: a request for one waits for that fetch, then finds it kept.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Why no thumbnail could be served.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ThumbError {
    #[error("not a YouTube video id")]
    BadId,
    #[error("the thumbnail fetch limit is reached for this window")]
    RateLimited(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("Google answered {0}")]
    Status(u16),
    #[error("Google's answer is not image/jpeg")]
    NotJpeg,
}

impl From<ThumbError> for EdgeError {
    fn from(e: ThumbError) -> EdgeError {
        match e {
            ThumbError::BadId => EdgeError::new(Code::BadRequest)
                .detail("expected /_gate/embed-thumb/youtube/<11-character video id>.jpg"),
            ThumbError::RateLimited(window) => {
                EdgeError::new(Code::RateLimited).retry_after(window.as_secs().max(1))
            }
            ThumbError::Store(e) => store_error(e),
            other => {
                tracing::warn!(error = %other, "embed thumbnail could not be fetched");
                EdgeError::new(Code::ThumbnailUnavailable).detail(other.to_string())
            }
        }
    }
}

impl Thumbs {
    /// The service `config` describes, or `None` when thumbnails are off. Fetches are counted
    /// in `store`; `clock` tells a kept thumbnail's age.
    pub fn new(config: &YoutubeEmbedConfig, store: Store, clock: SharedClock) -> Option<Thumbs> {
        config.thumbnails.then(|| Thumbs {
            inner: Arc::new(Inner {
                origin: config.thumbnail_origin.clone(),
                limit: config.thumbnail_fetches,
                store,
                clock,
                cache: Mutex::new(Cache::new(CACHE_BYTES, CACHE_TTL)),
                fetching: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The JPEG thumbnail of video `id`: kept, or fetched with `client` (one of
    /// [`client`]'s) and kept.
    pub(crate) async fn get(&self, id: &str, client: &awc::Client) -> Result<Bytes, ThumbError> {
        if !is_youtube_id(id) {
            return Err(ThumbError::BadId);
        }
        if let Some(kept) = self.kept(id) {
            return Ok(kept);
        }
        let turn = Turn::take(&self.inner, id);
        let _held = turn.lock.lock().await;
        // Whoever held the turn before may have just fetched it.
        if let Some(kept) = self.kept(id) {
            return Ok(kept);
        }
        self.admit().await?;
        let body = self.fetch(id, client).await?;
        let now = self.inner.clock.now();
        lock(&self.inner.cache).put(id, body.clone(), now);
        Ok(body)
    }

    fn kept(&self, id: &str) -> Option<Bytes> {
        lock(&self.inner.cache).get(id, self.inner.clock.now())
    }

    /// Count one fetch against `thumbnail_fetches`.
    async fn admit(&self) -> Result<(), ThumbError> {
        let RateLimitConfig { max, window } = self.inner.limit;
        if max == 0 {
            return Ok(());
        }
        let fetches = self
            .inner
            .store
            .hit_rate_limit(FETCH_LIMIT_KEY, window)
            .await?;
        if fetches > max {
            return Err(ThumbError::RateLimited(window));
        }
        Ok(())
    }

    async fn fetch(&self, id: &str, client: &awc::Client) -> Result<Bytes, ThumbError> {
        // `id` is 11 URL-safe characters, checked above: the path cannot leave `/vi/`.
        let url = format!("{}vi/{id}/hqdefault.jpg", self.inner.origin);
        // The gate's own request: these two headers and nothing else.
        let (request, ()) = http::Request::get(url)
            .header(header::USER_AGENT.as_str(), "consentgate")
            .header(header::ACCEPT.as_str(), "image/jpeg")
            .body(())
            .map_err(|e| FetchError::Unreadable(e.to_string()))?
            .into_parts();
        let fetched =
            actix_web::rt::time::timeout(FETCH_TIMEOUT, fetch(client, &request, MAX_IMAGE_BYTES))
                .await
                .map_err(|_| FetchError::Timeout)??;
        if fetched.head.status != http::StatusCode::OK {
            return Err(ThumbError::Status(fetched.head.status.as_u16()));
        }
        let types = fetched.head.headers.get_all(header::CONTENT_TYPE.as_str());
        let jpeg = extract_mime_type(types.iter().filter_map(|v| v.to_str().ok()))
            .is_some_and(|m| m.essence == "image/jpeg");
        if !jpeg {
            return Err(ThumbError::NotJpeg);
        }
        Ok(fetched.body)
    }
}

/// A request's turn to fetch one id; the id's entry goes when no request waits for it any
/// more (also when the visitor left halfway).
struct Turn<'a> {
    inner: &'a Inner,
    id: String,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Turn<'a> {
    fn take(inner: &'a Inner, id: &str) -> Turn<'a> {
        let lock = lock(&inner.fetching)
            .entry(id.to_owned())
            .or_default()
            .clone();
        Turn {
            inner,
            id: id.to_owned(),
            lock,
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut fetching = lock(&self.inner.fetching);
        // Held by the map and this turn alone: nobody else waits.
        if Arc::strong_count(&self.lock) == 2 {
            fetching.remove(&self.id);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The kept thumbnails: at most `cap` bytes, each for `ttl`.
struct Cache {
    entries: HashMap<String, Entry>,
    bytes: usize,
    cap: usize,
    ttl: Duration,
    /// Counts uses, to tell the least recently served entry.
    tick: u64,
}

struct Entry {
    body: Bytes,
    fetched: SystemTime,
    used: u64,
}

impl Cache {
    fn new(cap: usize, ttl: Duration) -> Cache {
        Cache {
            entries: HashMap::new(),
            bytes: 0,
            cap,
            ttl,
            tick: 0,
        }
    }

    fn fresh(&self, entry: &Entry, now: SystemTime) -> bool {
        now.duration_since(entry.fetched)
            .is_ok_and(|age| age < self.ttl)
    }

    fn get(&mut self, id: &str, now: SystemTime) -> Option<Bytes> {
        let fresh = self.entries.get(id).map(|e| self.fresh(e, now))?;
        if !fresh {
            self.remove(id);
            return None;
        }
        self.tick += 1;
        let tick = self.tick;
        let entry = self.entries.get_mut(id)?;
        entry.used = tick;
        Some(entry.body.clone())
    }

    fn remove(&mut self, id: &str) {
        if let Some(old) = self.entries.remove(id) {
            self.bytes -= old.body.len();
        }
    }

    fn put(&mut self, id: &str, body: Bytes, now: SystemTime) {
        self.remove(id);
        if body.len() > self.cap {
            return;
        }
        let stale: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| !self.fresh(e, now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in stale {
            self.remove(&key);
        }
        while self.bytes + body.len() > self.cap {
            let least = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            match least {
                Some(key) => self.remove(&key),
                None => break,
            }
        }
        self.tick += 1;
        self.bytes += body.len();
        self.entries.insert(
            id.to_owned(),
            Entry {
                body,
                fetched: now,
                used: self.tick,
            },
        );
    }
}

/// A client for fetching thumbnails: bounded in time, following no redirect, adding no header
/// of its own. awc clients are bound to their thread: one per worker.
pub fn client() -> awc::Client {
    let connector = awc::Connector::new().timeout(FETCH_TIMEOUT).limit(8);
    awc::Client::builder()
        .connector(connector)
        .timeout(FETCH_TIMEOUT)
        .disable_redirects()
        .no_default_headers()
        .finish()
}

/// One worker's thumbnail client.
struct ThumbClient(awc::Client);

/// `GET /_gate/embed-thumb/youtube/<id>.jpg`; nothing when thumbnails are off (the path is
/// then `not_found`, as every unknown `/_gate/` path). Call in each worker's app factory (the
/// worker's client is made here); mount before the `/_gate` fallback.
pub fn configure(cfg: &mut web::ServiceConfig, thumbs: Option<&Thumbs>) {
    let Some(thumbs) = thumbs else { return };
    cfg.service(
        web::scope(THUMBNAIL_PREFIX.trim_end_matches('/'))
            .app_data(web::Data::new(thumbs.clone()))
            .app_data(web::Data::new(ThumbClient(client())))
            .route("/{file}", web::get().to(thumbnail))
            .default_service(web::to(bad_path)),
    );
}

/// The thumbnail, for every visitor alike: cacheable by anyone for a day.
async fn thumbnail(
    thumbs: web::Data<Thumbs>,
    client: web::Data<ThumbClient>,
    file: web::Path<String>,
) -> Result<HttpResponse, EdgeError> {
    let id = file.strip_suffix(".jpg").ok_or(ThumbError::BadId)?;
    let body = thumbs.get(id, &client.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/jpeg"))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", CACHE_TTL.as_secs()),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(body))
}

/// Anything else below the prefix: another method, or a deeper path.
async fn bad_path(req: HttpRequest) -> Result<HttpResponse, EdgeError> {
    if req.method() != Method::GET {
        return Err(Code::MethodNotAllowed.into());
    }
    Err(ThumbError::BadId.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: Duration = CACHE_TTL;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    #[test]
    fn a_kept_thumbnail_is_served_for_a_day_then_fetched_again() {
        let mut cache = Cache::new(100, DAY);
        cache.put("a", Bytes::from_static(b"jpeg"), at(0));
        assert_eq!(cache.get("a", at(3600)).as_deref(), Some(&b"jpeg"[..]));
        assert_eq!(cache.get("a", at(DAY.as_secs())), None);
        assert_eq!(cache.bytes, 0);
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_served_and_never_keeps_an_oversize_one() {
        let mut cache = Cache::new(10, DAY);
        cache.put("a", Bytes::from_static(b"aaaa"), at(0));
        cache.put("b", Bytes::from_static(b"bbbb"), at(1));
        // "a" served since: "b" is the least recently served.
        assert!(cache.get("a", at(2)).is_some());
        cache.put("c", Bytes::from_static(b"cccc"), at(3));
        assert!(cache.get("b", at(4)).is_none());
        assert!(cache.get("a", at(4)).is_some() && cache.get("c", at(4)).is_some());
        assert_eq!(cache.bytes, 8);
        cache.put("d", Bytes::from_static(b"dddddddddddd"), at(5));
        assert!(cache.get("d", at(6)).is_none());
        assert_eq!(cache.bytes, 8);
    }
}
