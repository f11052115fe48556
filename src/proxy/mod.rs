//! The upstream leg: forwards a visitor's request to the site behind the gate and streams the
//! response back. Bodies are never buffered whole; only HTML responses go through a body filter
//! (the rewriter, supplied by the caller through [`HtmlFilter`]), everything else passes byte
//! for byte. Redirects are passed on, never followed.
//!
//! Fail closed: the filter sees the first bytes of every response before its head is sent
//! (enough to sniff a missing Content-Type and to find a BOM) and may refuse it; a page it
//! cannot rewrite is answered with the 502 page, or — once part of it went out — broken off,
//! never passed on unrewritten. Ranges are not asked for on page requests, and tracker cookies
//! the upstream sets are dropped for visitors who did not consent to them.

mod connect;
mod error;
mod headers;
mod range;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::{BodyStream, SizedStream};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use url::Url;

pub use error::{ProxyError, TlsConfigError};
pub use headers::{end_to_end, upstream_request_headers, ForwardedInfo};

use crate::config::{Config, HostPolicy, IpForwarding};
use crate::http::SiteHost;
use crate::metrics::Metrics;
use crate::privacy::Visitor;
use range::{prefers_html, strip_range};

/// Settings shared by every worker's [`Proxy`].
#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub upstream: Url,
    pub host_policy: HostPolicy,
    pub ip_forwarding: IpForwarding,
    pub connect_timeout: Duration,
    pub response_timeout: Duration,
    pub pool_max_connections: usize,
    pub pool_idle_timeout: Duration,
    pub max_request_body: usize,
    /// Request headers never forwarded besides the built-in lists: the configured
    /// client-address header and `privacy.strip_headers`.
    pub strip_headers: Vec<header::HeaderName>,
    /// TLS client configuration for an https upstream.
    pub tls: Arc<rustls::ClientConfig>,
    /// `host[:port]` of the upstream (the Host header under `host_header = "upstream"`).
    pub authority: String,
    /// `scheme://authority/prefix` without a trailing slash; request paths are appended.
    base: String,
    /// Where upstream response times are recorded, if anywhere (set by the server).
    pub metrics: Option<Arc<Metrics>>,
    /// `upstream.request_identity`: page requests ask the upstream for an uncompressed page.
    pub request_identity: bool,
}

impl ProxySettings {
    /// Read at start; fails only on unusable upstream TLS settings.
    pub fn from_config(cfg: &Config) -> Result<Self, TlsConfigError> {
        let upstream = cfg.upstream.base_url();
        let host = upstream.host_str().unwrap_or("localhost");
        let authority = match upstream.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let base = format!(
            "{}://{authority}{}",
            upstream.scheme(),
            upstream.path().trim_end_matches('/')
        );
        Ok(Self {
            tls: Arc::new(tls_client_config(cfg.upstream.tls_ca_file.as_deref())?),
            authority,
            base,
            upstream: cfg.upstream.base_url().clone(),
            host_policy: cfg.upstream.host_header,
            ip_forwarding: cfg.privacy.ip_forwarding,
            connect_timeout: cfg.upstream.connect_timeout,
            response_timeout: cfg.upstream.response_timeout,
            pool_max_connections: cfg.upstream.pool_max_connections,
            pool_idle_timeout: cfg.upstream.pool_idle_timeout,
            max_request_body: cfg.limits.max_request_body_bytes,
            strip_headers: std::iter::once(cfg.privacy.client_ip_header.clone())
                .chain(cfg.privacy.strip_headers.iter().cloned())
                .collect(),
            metrics: None,
            request_identity: cfg.upstream.request_identity,
        })
    }
}

impl ProxySettings {
    /// Whether a TCP connection to the upstream opens within the connect timeout. Cheaper and
    /// more honest for a readiness check than a page request, which would also test the CMS's
    /// own health.
    pub async fn reachable(&self) -> bool {
        let Some(host) = self.upstream.host_str() else {
            return false;
        };
        let port = self.upstream.port_or_known_default().unwrap_or(80);
        let connect = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port));
        matches!(
            tokio::time::timeout(self.connect_timeout, connect).await,
            Ok(Ok(_))
        )
    }
}

/// Why a body filter stopped: the page must not be passed on.
pub type FilterError = Box<dyn std::error::Error + Send + Sync>;

/// A filter over an HTML response body, fed chunk by chunk.
pub trait BodyFilter {
    /// Bytes to send for this chunk (may be empty while the filter buffers). The chunk is
    /// handed over, so a filter that holds it back need not copy it. An error ends the
    /// response: a 502 page if nothing was sent yet, else a broken-off transfer.
    fn push(&mut self, chunk: Bytes) -> Result<Bytes, FilterError>;
    /// Whatever remains at the end of the body.
    fn finish(&mut self) -> Result<Bytes, FilterError>;
    /// How many body bytes the filter holds back before it sends anything (0: it streams). A
    /// body no longer than this is read whole first, so the visitor gets it with a
    /// Content-Length in one write instead of chunked — at no cost in latency.
    fn holds_back(&self) -> usize {
        0
    }
}

/// What an [`HtmlFilter`] needs to know about a response it may filter.
pub struct HtmlResponseInfo<'a> {
    /// The visitor's request (method, path, Accept-Encoding).
    pub request: &'a HttpRequest,
    pub status: u16,
    /// The upstream's response headers (every Content-Type, Content-Encoding, ETag …).
    pub headers: &'a HeaderMap,
}

/// A filter started for one response, with the headers its output needs.
pub struct StartedFilter {
    pub body: Box<dyn BodyFilter>,
    /// The Content-Encoding of the output (`None`: identity).
    pub content_encoding: Option<&'static str>,
    /// The Content-Type to send instead of the upstream's (a sniffed page, a page transcoded
    /// to UTF-8, several Content-Type headers); `None` keeps the upstream's.
    pub content_type: Option<HeaderValue>,
    /// Headers the gate adds to the page (its Content-Security-Policy), appended.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

/// What a filter makes of a response from its head and the first bytes of its body.
pub enum Verdict {
    /// Not a page a browser renders as HTML: the body streams through untouched.
    Pass,
    /// An HTML page the gate cannot make safe: answered with the 502 page, with the reason
    /// for the log.
    Refuse(String),
    /// Rewritten through this filter.
    Filter(StartedFilter),
    /// More of the body is needed to decide (the filter asks for at most a few KiB).
    NeedMore,
}

/// Decides, per response with a body, whether (is it HTML?) and how its body is filtered.
pub trait HtmlFilter {
    /// The verdict on a response: `prefix` holds the body's first chunks as received,
    /// `complete` whether that is the whole body. Never `NeedMore` when `complete`.
    fn start(&self, info: &HtmlResponseInfo<'_>, prefix: &[Bytes], complete: bool) -> Verdict;
}

/// Per-request choices made by the caller (consent policy, rewriting).
pub struct ForwardPolicy<'a> {
    /// Cookies for which this returns false are not sent upstream, and the upstream's
    /// `Set-Cookie` for them is not passed to the visitor.
    pub keep_cookie: &'a dyn Fn(&str) -> bool,
    /// Extra `Set-Cookie` values for the visitor (e.g. deletions of refused tracker cookies);
    /// a response carrying them is made `Cache-Control: private`.
    pub set_cookies: Vec<HeaderValue>,
    pub html: Option<&'a dyn HtmlFilter>,
    /// Largest request body forwarded, in bytes, instead of `limits.max_request_body_bytes`
    /// (a `[[passthrough]]` prefix's own limit). Default none.
    pub max_request_body: Option<usize>,
}

impl ForwardPolicy<'_> {
    /// Forward everything untouched (no cookie filtering, no rewriting).
    pub fn passthrough() -> ForwardPolicy<'static> {
        ForwardPolicy {
            keep_cookie: &|_| true,
            set_cookies: Vec::new(),
            html: None,
            max_request_body: None,
        }
    }
}

/// The request body to forward.
pub enum RequestBody {
    Stream(web::Payload),
    Buffered(Bytes),
    /// The part the gate already read (to look for a form in it), then the rest as it comes.
    Prefixed(Bytes, web::Payload),
}

/// The upstream client of one worker (awc clients are per thread).
pub struct Proxy {
    client: awc::Client,
    settings: Arc<ProxySettings>,
}

impl Proxy {
    pub fn new(settings: Arc<ProxySettings>) -> Self {
        let connector = awc::Connector::new()
            .connector(connect::Connector)
            .rustls_0_23(settings.tls.clone())
            .timeout(settings.connect_timeout)
            .limit(settings.pool_max_connections)
            .conn_keep_alive(settings.pool_idle_timeout);
        // awc's own timeout would also cut off long response bodies; the gate applies
        // `response_timeout` to the response head and an idle timeout to the body instead.
        let client = awc::Client::builder()
            .connector(connector)
            .disable_redirects()
            .no_default_headers()
            .disable_timeout()
            .finish();
        Self { client, settings }
    }

    pub fn settings(&self) -> &ProxySettings {
        &self.settings
    }

    fn upstream_url(&self, req: &HttpRequest) -> String {
        let base = &self.settings.base;
        let (path, query) = (req.path(), req.query_string());
        let mut url = String::with_capacity(base.len() + path.len() + query.len() + 1);
        url.push_str(base);
        url.push_str(path);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// Forward a request and stream the response back.
    pub async fn forward(
        &self,
        req: &HttpRequest,
        body: RequestBody,
        visitor: &Visitor,
        policy: ForwardPolicy<'_>,
    ) -> Result<HttpResponse, ProxyError> {
        if req.headers().contains_key(header::UPGRADE) {
            return Err(ProxyError::UpgradeNotSupported);
        }
        // Only a Host that is one of the site's configured names goes on (`listen.hosts`).
        let site = SiteHost::of(req);
        let visitor_host = site.authority.as_deref();
        let host = match (self.settings.host_policy, visitor_host) {
            (HostPolicy::Client, Some(h)) => h.to_owned(),
            _ => self.settings.authority.clone(),
        };
        let forwarded = ForwardedInfo {
            anonymized_ip: match self.settings.ip_forwarding {
                IpForwarding::Anonymize => Some(visitor.anonymized_ip),
                IpForwarding::Strip => None,
            },
            proto: if visitor.https { "https" } else { "http" },
            host: visitor_host,
            strip: &self.settings.strip_headers,
            mentions: &visitor.address_mentions,
        };
        let mut out_headers =
            upstream_request_headers(req.headers(), &host, &forwarded, policy.keep_cookie);
        // A range of a page cannot be rewritten (and is not what a browser navigates to).
        // Accept is parsed only when there is something to decide: most requests carry no
        // range, and the parse is a measurable share of a small page's cost.
        let ranged =
            out_headers.contains_key(header::RANGE) || out_headers.contains_key(header::IF_RANGE);
        if policy.html.is_some()
            && req.method() == Method::GET
            && (ranged || self.settings.request_identity)
            && prefers_html(req)
        {
            strip_range(&mut out_headers);
            if self.settings.request_identity {
                // The gate decodes the page anyway and compresses it for the visitor itself.
                out_headers.insert(
                    header::ACCEPT_ENCODING,
                    HeaderValue::from_static("identity"),
                );
            }
        }
        let mut upstream_req = self
            .client
            .request(req.method().clone(), self.upstream_url(req));
        *upstream_req.headers_mut() = out_headers;

        let limit = policy
            .max_request_body
            .unwrap_or(self.settings.max_request_body);
        let overflowed = Rc::new(Cell::new(false));
        let (prefix, payload) = match body {
            RequestBody::Buffered(bytes) => {
                if bytes.len() > limit {
                    return Err(ProxyError::RequestTooLarge { limit });
                }
                (Some(bytes), None)
            }
            RequestBody::Stream(payload) => (None, Some(payload)),
            RequestBody::Prefixed(prefix, payload) => (Some(prefix), Some(payload)),
        };
        let send = match (prefix, payload) {
            (Some(bytes), None) => upstream_req.send_body(bytes),
            (prefix, payload) => match request_body_length(req.headers())? {
                // Not `send()`: that announces `content-length: 0` on every GET.
                BodyLength::None => upstream_req.send_body(actix_web::body::None::new()),
                BodyLength::Known(len) if len > limit as u64 => {
                    return Err(ProxyError::RequestTooLarge { limit })
                }
                BodyLength::Known(len) => {
                    upstream_req.send_body(SizedStream::new(len, joined_stream(prefix, payload)))
                }
                BodyLength::Chunked => {
                    let payload = joined_stream(prefix, payload);
                    let flag = overflowed.clone();
                    let mut seen = 0usize;
                    let limited = payload.map(move |chunk| {
                        let chunk = chunk?;
                        seen += chunk.len();
                        if seen > limit {
                            flag.set(true);
                            return Err(actix_web::error::PayloadError::Overflow);
                        }
                        Ok(chunk)
                    });
                    upstream_req.send_stream(limited)
                }
            },
        };
        let sent = std::time::Instant::now();
        let response = match tokio::time::timeout(self.settings.response_timeout, send).await {
            Err(_) => return Err(ProxyError::UpstreamTimeout(self.settings.response_timeout)),
            Ok(Err(_)) if overflowed.get() => return Err(ProxyError::RequestTooLarge { limit }),
            Ok(Err(e)) => return Err(self.map_send_error(e)),
            Ok(Ok(r)) => r,
        };
        if let Some(metrics) = &self.settings.metrics {
            metrics.upstream_latency(sent.elapsed());
        }
        self.respond(req, response, policy).await
    }

    /// Forward a body the gate has already read (e.g. a form it also stored), sending only the
    /// cookies `keep_cookie` allows (the visitor's consent applies here too).
    pub async fn forward_buffered(
        &self,
        req: &HttpRequest,
        body: Bytes,
        visitor: &Visitor,
        keep_cookie: &dyn Fn(&str) -> bool,
    ) -> Result<HttpResponse, ProxyError> {
        let policy = ForwardPolicy {
            keep_cookie,
            ..ForwardPolicy::passthrough()
        };
        self.forward(req, RequestBody::Buffered(body), visitor, policy)
            .await
    }

    fn map_send_error(&self, e: awc::error::SendRequestError) -> ProxyError {
        use awc::error::{ConnectError, SendRequestError};
        match e {
            SendRequestError::Timeout | SendRequestError::Connect(ConnectError::Timeout) => {
                ProxyError::UpstreamTimeout(self.settings.response_timeout)
            }
            other => ProxyError::UpstreamUnreachable(other.to_string()),
        }
    }

    async fn respond<S>(
        &self,
        req: &HttpRequest,
        upstream: awc::ClientResponse<S>,
        policy: ForwardPolicy<'_>,
    ) -> Result<HttpResponse, ProxyError>
    where
        S: Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin + 'static,
    {
        let status = upstream.status();
        let up_headers = upstream.headers().clone();
        let bodiless = req.method() == Method::HEAD
            || status.is_informational()
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED;
        let content_length: Option<u64> =
            header_str(&up_headers, header::CONTENT_LENGTH).and_then(|v| v.parse().ok());
        let cache_control = private_cache_control(&upstream, !policy.set_cookies.is_empty());
        let chunked = up_headers.get_all(header::TRANSFER_ENCODING).any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
        });
        let mut body = UpstreamBody::new(upstream, self.settings.response_timeout, content_length)
            .ending_with_close(connect::ends_body(chunked, content_length));
        // The filter decides from the head and the first bytes of the body; nothing is sent
        // before it has.
        let mut prefix: Vec<Bytes> = Vec::new();
        let mut filter = None;
        if let (Some(html), false) = (policy.html, bodiless) {
            let info = HtmlResponseInfo {
                request: req,
                status: status.as_u16(),
                headers: &up_headers,
            };
            let mut complete = false;
            loop {
                match html.start(&info, &prefix, complete) {
                    Verdict::Pass => break,
                    Verdict::Refuse(why) => return Err(ProxyError::UpstreamUnreadable(why)),
                    Verdict::Filter(started) => {
                        filter = Some(started);
                        break;
                    }
                    Verdict::NeedMore if complete => {
                        return Err(ProxyError::UpstreamUnreadable(
                            "the page filter could not decide".into(),
                        ))
                    }
                    Verdict::NeedMore => match body.next().await? {
                        Some(chunk) => prefix.push(chunk),
                        None => complete = true,
                    },
                }
            }
        }

        let mut builder = HttpResponse::build(status);
        let drop: &[&str] = match (&filter, bodiless) {
            (_, true) => &[],
            // The body changes: its length, coding and ranges no longer describe it.
            (Some(_), false) => &[
                "content-length",
                "content-encoding",
                "content-range",
                "accept-ranges",
            ],
            (None, false) => &["content-length"],
        };
        let new_type = filter.as_ref().and_then(|f| f.content_type.clone());
        for (name, value) in end_to_end(&up_headers, drop) {
            if filter.is_some() && name == header::ETAG && !is_weak_etag(value) {
                // The body changes, so a strong validator would be a lie.
                continue;
            }
            if new_type.is_some() && name == header::CONTENT_TYPE {
                continue;
            }
            if name == header::SET_COOKIE && !keeps_set_cookie(value, policy.keep_cookie) {
                continue;
            }
            if cache_control.is_some() && name == header::CACHE_CONTROL {
                continue;
            }
            builder.append_header((name.clone(), value.clone()));
        }
        if let Some(content_type) = new_type {
            builder.insert_header((header::CONTENT_TYPE, content_type));
        }
        for cookie in policy.set_cookies {
            builder.append_header((header::SET_COOKIE, cookie));
        }
        if let Some(cache_control) = cache_control {
            builder.insert_header((header::CACHE_CONTROL, cache_control));
        }
        if bodiless {
            return Ok(builder.body(actix_web::body::None::new()));
        }
        let Some(mut started) = filter else {
            let first = futures_util::stream::iter(prefix.into_iter().map(Ok));
            let stream = first.chain(filtered_body(body, None));
            return Ok(match content_length {
                Some(len) => builder.body(SizedStream::new(len, stream)),
                None => builder.body(BodyStream::new(stream)),
            });
        };
        if let Some(coding) = started.content_encoding {
            builder.insert_header((header::CONTENT_ENCODING, coding));
        }
        builder.append_header((header::VARY, "Accept-Encoding"));
        for (name, value) in std::mem::take(&mut started.headers) {
            builder.append_header((name, value));
        }
        let held = started.body.holds_back() as u64;
        let mut out = Vec::new();
        for chunk in prefix {
            out.push(started.body.push(chunk).map_err(unreadable)?);
        }
        if held == 0 || content_length.is_some_and(|len| len > held) {
            let first = joined(out);
            let first = (!first.is_empty()).then_some(Ok(first));
            let rest = filtered_body(body, Some(started.body));
            return Ok(builder.body(BodyStream::new(
                futures_util::stream::iter(first).chain(rest),
            )));
        }
        // The filter sends nothing before it has the whole body anyway: read it here, so the
        // visitor gets a Content-Length, and a body that breaks off or cannot be rewritten
        // becomes an error page instead of a cut connection.
        while let Some(chunk) = body.next().await? {
            out.push(started.body.push(chunk).map_err(unreadable)?);
            if body.seen > held {
                // No length announced and more than the filter holds back: what it has let
                // through so far goes first, the rest streams behind it.
                let first = joined(out);
                let first = (!first.is_empty()).then_some(Ok(first));
                let rest = filtered_body(body, Some(started.body));
                return Ok(builder.body(BodyStream::new(
                    futures_util::stream::iter(first).chain(rest),
                )));
            }
        }
        out.push(started.body.finish().map_err(unreadable)?);
        Ok(builder.body(joined(out)))
    }
}

fn unreadable(e: FilterError) -> ProxyError {
    ProxyError::UpstreamUnreadable(e.to_string())
}

/// Whether an upstream `Set-Cookie` may reach the visitor: not when it sets a cookie the
/// visitor's consent does not allow (a tracker cookie of a refused category). A value whose
/// name cannot be read is passed on (the browser files it under no tracker's name).
fn keeps_set_cookie(value: &HeaderValue, keep_cookie: &dyn Fn(&str) -> bool) -> bool {
    let Ok(text) = value.to_str() else {
        return true;
    };
    match cookie::Cookie::parse(text) {
        Ok(c) => keep_cookie(c.name()),
        Err(_) => true,
    }
}

/// When the gate adds `Set-Cookie`, the response must not be stored by a shared cache (one
/// visitor's cookie deletions would be replayed to others): the upstream's Cache-Control
/// without `public` and `s-maxage`, plus `private`. `None` when nothing is added.
fn private_cache_control<S>(
    upstream: &awc::ClientResponse<S>,
    adds_cookies: bool,
) -> Option<HeaderValue> {
    use actix_web::http::header::{CacheControl, CacheDirective, Header};
    if !adds_cookies {
        return None;
    }
    let mut directives: Vec<CacheDirective> = CacheControl::parse(upstream)
        .map(|cc| cc.0)
        .unwrap_or_default()
        .into_iter()
        .filter(|d| !matches!(d, CacheDirective::Public | CacheDirective::SMaxAge(_)))
        .collect();
    if !directives.contains(&CacheDirective::Private) {
        directives.push(CacheDirective::Private);
    }
    HeaderValue::from_str(&CacheControl(directives).to_string()).ok()
}

/// rustls needs one process-wide crypto provider for its https clients (the upstream, form
/// webhooks); with more than one compiled in (dev-dependencies bring aws-lc-rs) it cannot pick
/// by itself, so every caller picks ring through here.
pub fn install_tls_provider() {
    // Err only means a provider is already installed (a second gate in the same process).
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Public web PKI roots plus the operator's own CAs; HTTP/1.1 only (what a CMS speaks).
fn tls_client_config(
    ca_file: Option<&std::path::Path>,
) -> Result<rustls::ClientConfig, TlsConfigError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        let bad = |why: String| TlsConfigError(format!("{}: {why}", path.display()));
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
            let cert = cert.map_err(|e| bad(e.to_string()))?;
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("no PEM certificate in the file".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsConfigError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

enum BodyLength {
    None,
    Known(u64),
    Chunked,
}

fn request_body_length(headers: &HeaderMap) -> Result<BodyLength, ProxyError> {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return Ok(BodyLength::Chunked);
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => Ok(BodyLength::None),
        Some(v) => {
            let len: u64 = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .ok_or_else(|| ProxyError::BadRequest("invalid Content-Length".into()))?;
            Ok(if len == 0 {
                BodyLength::None
            } else {
                BodyLength::Known(len)
            })
        }
    }
}

/// The part of a body already read, then the rest as it arrives (either may be absent).
fn joined_stream(
    prefix: Option<Bytes>,
    payload: Option<web::Payload>,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::error::PayloadError>> + Unpin {
    futures_util::stream::iter(prefix.map(Ok)).chain(futures_util::stream::iter(payload).flatten())
}

/// The pieces as one buffer; a lone non-empty piece is handed over without a copy.
fn joined(mut pieces: Vec<Bytes>) -> Bytes {
    pieces.retain(|piece| !piece.is_empty());
    if pieces.len() == 1 {
        pieces.pop().unwrap_or_default()
    } else {
        Bytes::from(pieces.concat())
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn is_weak_etag(value: &HeaderValue) -> bool {
    value.as_bytes().starts_with(b"W/")
}

/// Why an upstream body did not arrive whole.
#[derive(Debug, thiserror::Error)]
enum BodyBreak {
    #[error("stalled for {0:?}")]
    Stalled(Duration),
    #[error("broke off: {0}")]
    BrokeOff(String),
    #[error("ended after {seen} of {announced} announced bytes")]
    Short { seen: u64, announced: u64 },
}

impl From<BodyBreak> for ProxyError {
    fn from(e: BodyBreak) -> Self {
        match e {
            BodyBreak::Stalled(idle) => ProxyError::UpstreamTimeout(idle),
            other => ProxyError::UpstreamIncomplete(other.to_string()),
        }
    }
}

impl From<BodyBreak> for std::io::Error {
    fn from(e: BodyBreak) -> Self {
        let kind = match e {
            BodyBreak::Stalled(_) => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e.to_string())
    }
}

/// An upstream response body, read chunk by chunk: each wait is bounded by `idle`, and the end
/// is checked against the announced Content-Length, because awc ends a body the upstream cut
/// short as if it were complete. A connection that closes ([`connect::PeerClosed`]) ends only a
/// body delimited by the close; any other body it cuts.
struct UpstreamBody<S> {
    stream: S,
    idle: Duration,
    announced: Option<u64>,
    seen: u64,
    /// The body has neither length nor chunks: the connection's close is its end.
    ends_with_close: bool,
    /// The end was reached: awc's payload must not be polled again.
    ended: bool,
}

impl<S> UpstreamBody<S>
where
    S: Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin,
{
    fn new(stream: S, idle: Duration, announced: Option<u64>) -> Self {
        Self {
            stream,
            idle,
            announced,
            seen: 0,
            ends_with_close: false,
            ended: false,
        }
    }

    fn ending_with_close(mut self, ends_with_close: bool) -> Self {
        self.ends_with_close = ends_with_close;
        self
    }

    /// The next chunk; `None` once the body is complete.
    async fn next(&mut self) -> Result<Option<Bytes>, BodyBreak> {
        if self.ended {
            return Ok(None);
        }
        match tokio::time::timeout(self.idle, self.stream.next()).await {
            Err(_) => Err(BodyBreak::Stalled(self.idle)),
            Ok(Some(Err(e))) if connect::is_peer_closed(&e) && self.ends_with_close => {
                self.ended = true;
                Ok(None)
            }
            Ok(Some(Err(e))) => Err(BodyBreak::BrokeOff(e.to_string())),
            Ok(Some(Ok(chunk))) => {
                self.seen += chunk.len() as u64;
                Ok(Some(chunk))
            }
            Ok(None) => {
                self.ended = true;
                match self.announced {
                    Some(announced) if announced != self.seen => Err(BodyBreak::Short {
                        seen: self.seen,
                        announced,
                    }),
                    _ => Ok(None),
                }
            }
        }
    }
}

struct BodyState<S> {
    body: UpstreamBody<S>,
    filter: Option<Box<dyn BodyFilter>>,
    done: bool,
}

impl<S> BodyState<S> {
    /// The filter refused the rest of a page already partly sent: end the transfer with an
    /// error, so the visitor's browser sees a broken page, not a complete one.
    fn refused(&mut self, e: FilterError) -> std::io::Error {
        self.done = true;
        tracing::warn!(error = %e, "page broken off: the rest cannot be rewritten");
        std::io::Error::other(e.to_string())
    }
}

/// The response body for the visitor: upstream chunks, through the filter if any. A body that
/// stalls, breaks off or falls short of its announced length, or that the filter refuses, ends
/// with an error (the visitor's connection is closed rather than a truncated or unrewritten
/// body passed off as complete).
fn filtered_body<S>(
    body: UpstreamBody<S>,
    filter: Option<Box<dyn BodyFilter>>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>>
where
    S: Stream<Item = Result<Bytes, awc::error::PayloadError>> + Unpin + 'static,
{
    let state = BodyState {
        body,
        filter,
        done: false,
    };
    futures_util::stream::unfold(state, |mut st| async move {
        while !st.done {
            match st.body.next().await {
                Ok(Some(chunk)) => {
                    let out = match st.filter.as_mut() {
                        Some(f) => f.push(chunk),
                        None => Ok(chunk),
                    };
                    match out {
                        Ok(out) if out.is_empty() => {}
                        Ok(out) => return Some((Ok(out), st)),
                        Err(e) => return Some((Err(st.refused(e)), st)),
                    }
                }
                Ok(None) => {
                    st.done = true;
                    let tail = match st.filter.as_mut() {
                        Some(f) => f.finish(),
                        None => Ok(Bytes::new()),
                    };
                    match tail {
                        Ok(tail) if tail.is_empty() => {}
                        Ok(tail) => return Some((Ok(tail), st)),
                        Err(e) => return Some((Err(st.refused(e)), st)),
                    }
                }
                Err(e) => {
                    st.done = true;
                    tracing::warn!(error = %e, "upstream response body not passed on whole");
                    return Some((Err(e.into()), st));
                }
            }
        }
        None
    })
}
