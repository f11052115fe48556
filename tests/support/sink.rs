//! The tracker sink: a loopback HTTPS server that every tracker host is routed to (Chromium
//! `--host-resolver-rules`), recording each request. It answers tracker script URLs with small
//! stand-ins that behave like the real thing where it matters to consent: they set the vendor's
//! first-party cookies, take over the queue the page's snippets (and the guard's stubs) filled
//! and send one hit per page view or event in it, and GTM loads the Meta pixel (as a container
//! would).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_rustls::rustls;

use super::{tls_server, wait};

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Hit {
    pub host: String,
    pub path: String,
}

pub struct Sink {
    pub addr: SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: tokio::task::JoinHandle<()>,
    sentinels: AtomicUsize,
}

/// A host no catalogue knows: requests to it are markers, never tracker contact.
const SENTINEL_HOST: &str = "sentinel.consentgate.test";

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Tracker hosts the demo pages and the stand-in scripts talk to.
pub const TRACKER_HOSTS: &[&str] = &[
    "www.googletagmanager.com",
    "www.google-analytics.com",
    "region1.google-analytics.com",
    "stats.g.doubleclick.net",
    "static.hotjar.com",
    "script.hotjar.com",
    "vars.hotjar.com",
    "in.hotjar.com",
    "ws.hotjar.com",
    "connect.facebook.net",
    "www.facebook.com",
];

/// ga.js and dc.js: `_gat` and the `_gaq` queue, a `__utm.gif` hit per page view or event.
const GA_JS: &str = "(function(host){var acct='';\
    function hit(id,kind){new Image().src='https://'+host+'/__utm.gif?utmac='+id+'&utmt='+kind;}\
    function run(c){var m=c[0];if(m==='_setAccount')acct=c[1];\
      else if(m==='_trackPageview')hit(acct,'page');else if(m==='_trackEvent')hit(acct,'event');}\
    window._gat={_getTracker:function(id){return{_trackPageview:function(){hit(id,'page');},\
      _trackEvent:function(){hit(id,'event');}};}};\
    var q=window._gaq||[];window._gaq={push:function(){[].forEach.call(arguments,run);}};\
    if(q.forEach)q.forEach(run);window.__gaJsLoaded=(window.__gaJsLoaded||0)+1;})";

/// The stand-in script for `path` on `host`, if it is one (also served by other stand-ins
/// for Google, such as the relay's script origin).
pub fn script_for(host: &str, path: &str) -> Option<String> {
    let js = if host == "www.googletagmanager.com" && path.starts_with("/gtm.js") {
        // A GTM container that also loads the Meta pixel: the guard must stop that when only
        // analytics is granted.
        "document.cookie='_ga=GA1.1.111.222; path=/; max-age=3600';\
          var s=document.createElement('script');s.async=true;\
          s.src='https://connect.facebook.net/en_US/fbevents.js';document.head.appendChild(s);\
          window.__gtmLoaded=(window.__gtmLoaded||0)+1;"
            .to_owned()
    } else if host == "www.googletagmanager.com" && path.starts_with("/gtag/js") {
        // gtag.js: a page view per `config` (with what identifies a visitor in a real one:
        // client and user ids, click id, address, client hints, screen, the page's full URL
        // and the referrer), an event hit per `event`, queued or pushed later.
        "document.cookie='_ga_DEMO12345=GS1.1.333; path=/; max-age=3600';\
          window.__gtagLoaded=(window.__gtagLoaded||0)+1;\
          (function(){var dl=window.dataLayer=window.dataLayer||[];\
          function who(){return '&cid=555.666&uid=member-7&_uip=192.0.2.7&gclid=clk&uaa=x86\
            &uafvl=Chromium%3B120&sr=1920x1080&dl='+encodeURIComponent(location.href)+\
            '&dr='+encodeURIComponent('https://mail.example.com/inbox?id=7');}\
          function run(a){if(Object.prototype.toString.call(a)!=='[object Arguments]')return;\
            var u='https://region1.google-analytics.com/g/collect?v=2';\
            if(a[0]==='config')new Image().src=u+'&tid='+a[1]+'&en=page_view'+who();\
            else if(a[0]==='event')new Image().src=u+'&en='+a[1];}\
          dl.forEach(run);var push=dl.push;\
          dl.push=function(){[].forEach.call(arguments,run);return push.apply(dl,arguments);};})();"
            .to_owned()
    } else if host == "www.google-analytics.com" && path.starts_with("/analytics.js") {
        // analytics.js: takes over the `ga` queue; a hit per `send`.
        "(function(){var n=window.GoogleAnalyticsObject||'ga',q=(window[n]&&window[n].q)||[];\
          function run(a){if(a[0]==='send')new Image().src=\
            'https://www.google-analytics.com/collect?v=1&t='+(a[1]||'');}\
          window[n]=function(){run(arguments);};window[n].answer=42;q.forEach(run);\
          window.__analyticsLoaded=(window.__analyticsLoaded||0)+1;})();"
            .to_owned()
    } else if host == "www.google-analytics.com" && path.starts_with("/ga.js") {
        format!("{GA_JS}('www.google-analytics.com');")
    } else if host == "stats.g.doubleclick.net" && path.starts_with("/dc.js") {
        format!("{GA_JS}('stats.g.doubleclick.net');")
    } else if host == "static.hotjar.com" {
        "document.cookie='_hjSessionUser_3456789=abc; path=/; max-age=3600';\
          window.__hotjarLoaded=(window.__hotjarLoaded||0)+1;\
          (function(){var q=(window.hj&&window.hj.q)||[];\
          function run(a){new Image().src='https://in.hotjar.com/hit?c='+a[0]+'&e='+(a[1]||'');}\
          window.hj=function(){run(arguments);};q.forEach(run);})();"
            .to_owned()
    } else if host == "connect.facebook.net" {
        // fbevents.js: takes over the fbq queue; a /tr hit per `track`, after `init`.
        "document.cookie='_fbp=fb.1.123.456; path=/; max-age=3600';\
          window.__fbLoaded=(window.__fbLoaded||0)+1;\
          (function(){var f=window.fbq,id='';if(!f)return;\
          function run(a){if(a[0]==='init')id=a[1];else if(a[0]==='track'||a[0]==='trackCustom')\
            new Image().src='https://www.facebook.com/tr?id='+id+'&ev='+a[1];}\
          f.callMethod=function(){run(arguments);};(f.queue||[]).splice(0).forEach(run);})();"
            .to_owned()
    } else {
        return None;
    };
    Some(js)
}

impl Sink {
    pub async fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let names: Vec<String> = TRACKER_HOSTS.iter().map(|s| s.to_string()).collect();
        let cert = rcgen::generate_simple_self_signed(names).expect("self-signed cert");
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls versions")
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .expect("tls config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let hits = Arc::new(Mutex::new(Vec::new()));
        let recorded = hits.clone();
        let task = tls_server::serve(listener, config, move |head| {
            let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
            let host = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("host").then(|| v.trim().to_owned())
                })
                .unwrap_or_default();
            let host = host.split(':').next().unwrap_or("").to_owned();
            let body = script_for(&host, &path).unwrap_or_default();
            let ctype = if body.is_empty() {
                "image/gif"
            } else {
                "text/javascript"
            };
            recorded.lock().expect("hits").push(Hit { host, path });
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        });
        Sink {
            addr,
            hits,
            task,
            sentinels: AtomicUsize::new(0),
        }
    }

    /// Every request so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }

    /// Requests to any tracker host ([`ALL`]).
    pub fn tracker_hits(&self) -> Vec<Hit> {
        self.hits_to(ALL)
    }

    /// Requests whose host ends with one of `suffixes`.
    pub fn hits_to(&self, suffixes: &[&str]) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| {
                suffixes
                    .iter()
                    .any(|s| h.host == *s || h.host.ends_with(&format!(".{s}")))
            })
            .collect()
    }

    pub fn clear(&self) {
        self.hits.lock().expect("hits").clear();
    }

    /// Wait until the page in `b` has loaded and a request it makes after everything it has
    /// started so far has reached the sink. A tracker request the page was going to make has
    /// then arrived too, so "no tracker hits" after this is a real negative, not a guess about
    /// how long to wait. (The load event waits for every fetch started before it; the marker is
    /// sent after that, and after whatever the test did since.)
    pub async fn settle(&self, b: &super::browser::Browser) {
        let path = format!("/marker/{}", self.sentinels.fetch_add(1, Ordering::Relaxed));
        b.request_after_load(&format!("https://{SENTINEL_HOST}{path}"))
            .await;
        wait::until_true(
            &format!("the page's marker request {path} to reach the sink"),
            wait::DEADLINE,
            || {
                self.hits()
                    .iter()
                    .any(|h| h.host == SENTINEL_HOST && h.path == path)
            },
        )
        .await;
    }
}

/// Analytics hosts of the built-in catalogue.
pub const ANALYTICS: &[&str] = &[
    "googletagmanager.com",
    "google-analytics.com",
    "hotjar.com",
    "doubleclick.net",
];
/// Marketing hosts of the built-in catalogue.
pub const MARKETING: &[&str] = &["facebook.net", "facebook.com"];
/// Every tracker host.
pub const ALL: &[&str] = &[
    "googletagmanager.com",
    "google-analytics.com",
    "hotjar.com",
    "doubleclick.net",
    "facebook.net",
    "facebook.com",
];
