//! Prometheus metrics: one registry (the `prometheus-client` crate) with the counters and
//! histograms the areas add to where things happen, and its text exposition, which the admin
//! listener serves at `/metrics`.
//!
//! Ground layer: the areas above call the typed methods here ([`Metrics::request`],
//! [`Metrics::upstream_latency`], [`RewriteMeter`], …); this module knows none of them. Values
//! that other modules already count (rewrite-memo look-ups) are read at scrape time and passed to
//! [`Metrics::encode`] as [`ScrapeCounter`]s and [`ScrapeGauge`]s. No label carries personal data: labels are status
//! classes, actions, configured form ids, error codes and error kinds.

use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::{prometheus_text, EncodeLabelSet};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// `Content-Type` of [`Metrics::encode`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Which listener answered a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Listener {
    Public,
    Admin,
}

impl Listener {
    pub fn as_str(self) -> &'static str {
        match self {
            Listener::Public => "public",
            Listener::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    listener: &'static str,
    class: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ActionLabels {
    action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct FormLabels {
    form: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// What can become of a hit the analytics relay accepted ([`Metrics::relay_hit`]).
pub const RELAY_HIT_OUTCOMES: [&str; 7] = [
    "forwarded",
    "queue_full",
    "unreachable",
    "timeout",
    "refused",
    "failed",
    "withheld",
];
/// How the analytics relay answered a script request ([`Metrics::relay_script`]).
pub const RELAY_SCRIPT_OUTCOMES: [&str; 5] =
    ["cached", "revalidated", "fetched", "stale", "failed"];

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// A counter another module keeps, exported at scrape time.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeCounter {
    /// Metric name without the `consentgate_` prefix and without `_total`.
    pub name: &'static str,
    pub help: &'static str,
    pub value: u64,
}

/// A level another module keeps (it goes up and down, e.g. bytes held), exported at scrape
/// time as a gauge.
#[derive(Debug, Clone, Copy)]
pub struct ScrapeGauge {
    /// Metric name without the `consentgate_` prefix.
    pub name: &'static str,
    pub help: &'static str,
    pub value: i64,
}

/// Every metric of the gate; one per process, shared by all workers (`Arc`).
pub struct Metrics {
    registry: Registry,
    /// Requests per status class, per listener, prepared so counting takes no lock.
    requests: [[Counter; 5]; 2],
    upstream_latency: Histogram,
    rewrite_seconds: Histogram,
    rewrite_bytes: Counter,
    consent_decisions: Family<ActionLabels, Counter>,
    form_submissions: Family<FormLabels, Counter>,
    store_errors: Family<KindLabels, Counter>,
    stats_dropped: Counter,
    relay_hits: Family<OutcomeLabels, Counter>,
    relay_scripts: Family<OutcomeLabels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero. Names start with `consentgate_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("consentgate");
        let requests_family = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "Requests answered, by listener and status class",
            requests_family.clone(),
        );
        let requests = [Listener::Public, Listener::Admin].map(|listener| {
            CLASSES.map(|class| {
                requests_family
                    .get_or_create(&RequestLabels {
                        listener: listener.as_str(),
                        class,
                    })
                    .clone()
            })
        });
        // 1 ms … 33 s: a CMS page takes tens to hundreds of milliseconds.
        let upstream_latency = Histogram::new(exponential_buckets(0.001, 2.0, 16));
        registry.register(
            "upstream_response_seconds",
            "Time from sending a request upstream until its response head arrived, in seconds",
            upstream_latency.clone(),
        );
        // 50 µs … 1.6 s: a memo hit takes microseconds, a large page milliseconds.
        let rewrite_seconds = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "rewrite_seconds",
            "CPU time spent rewriting one HTML page (all its chunks), in seconds",
            rewrite_seconds.clone(),
        );
        let rewrite_bytes = Counter::default();
        registry.register(
            "rewrite_input_bytes",
            "Bytes of HTML (as received from the upstream) passed through the rewriter",
            rewrite_bytes.clone(),
        );
        let consent_decisions = Family::default();
        registry.register(
            "consent_decisions",
            "Consent decisions recorded, by action",
            consent_decisions.clone(),
        );
        let form_submissions = Family::default();
        registry.register(
            "form_submissions",
            "Contact-form submissions, by form and outcome (stored, or the error code)",
            form_submissions.clone(),
        );
        let store_errors = Family::<KindLabels, Counter>::default();
        // Every kind `StoreError::kind` names, at 0 from the start: an alert on "errors rose"
        // needs the series to exist before the first error.
        for kind in ["unavailable", "timeout", "full", "corrupt"] {
            drop(store_errors.get_or_create(&KindLabels { kind }));
        }
        registry.register(
            "store_errors",
            "Failed store operations, by kind (unavailable, timeout, corrupt)",
            store_errors.clone(),
        );
        let stats_dropped = Counter::default();
        registry.register(
            "stats_events_dropped",
            "Statistics events dropped because the writer's channel was full",
            stats_dropped.clone(),
        );
        let relay_hits = Family::<OutcomeLabels, Counter>::default();
        let relay_scripts = Family::<OutcomeLabels, Counter>::default();
        for outcome in RELAY_HIT_OUTCOMES {
            drop(relay_hits.get_or_create(&OutcomeLabels { outcome }));
        }
        for outcome in RELAY_SCRIPT_OUTCOMES {
            drop(relay_scripts.get_or_create(&OutcomeLabels { outcome }));
        }
        registry.register(
            "relay_hits",
            "Analytics hits the relay accepted, by outcome: forwarded, dropped (queue_full, \
             unreachable, timeout, failed), refused by Google, or withheld (never forwarded)",
            relay_hits.clone(),
        );
        registry.register(
            "relay_scripts",
            "Analytics scripts the relay served, by where they came from: cached, revalidated \
             (304), fetched, stale (Google failed, an old copy served) or failed (none served)",
            relay_scripts.clone(),
        );
        Metrics {
            registry,
            relay_hits,
            relay_scripts,
            requests,
            upstream_latency,
            rewrite_seconds,
            rewrite_bytes,
            consent_decisions,
            form_submissions,
            store_errors,
            stats_dropped,
        }
    }

    /// Count a request answered with `status` on `listener`.
    pub fn request(&self, listener: Listener, status: u16) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        let row = match listener {
            Listener::Public => 0,
            Listener::Admin => 1,
        };
        self.requests[row][class].inc();
    }

    /// An upstream response head arrived this long after the request was sent.
    pub fn upstream_latency(&self, elapsed: Duration) {
        self.upstream_latency.observe(elapsed.as_secs_f64());
    }

    /// A meter for one page's rewrite; it reports when dropped.
    pub fn rewrite_meter(self: &Arc<Self>) -> RewriteMeter {
        RewriteMeter {
            metrics: self.clone(),
            elapsed: Duration::ZERO,
            bytes: 0,
        }
    }

    /// A consent decision with this action (`accept_all`, …) was stored.
    pub fn consent_decision(&self, action: &'static str) {
        self.consent_decisions
            .get_or_create(&ActionLabels { action })
            .inc();
    }

    /// A submission to the configured form `form` ended with `outcome` (`stored` or an
    /// error code).
    pub fn form_submission(&self, form: &str, outcome: &'static str) {
        self.form_submissions
            .get_or_create(&FormLabels {
                form: form.to_owned(),
                outcome,
            })
            .inc();
    }

    /// A store operation failed; `kind` is `unavailable`, `timeout` or `corrupt`.
    pub fn store_error(&self, kind: &'static str) {
        self.store_errors.get_or_create(&KindLabels { kind }).inc();
    }

    /// A statistics event was dropped.
    pub fn stats_event_dropped(&self) {
        self.stats_dropped.inc();
    }

    /// A relayed hit ended with `outcome`, one of [`RELAY_HIT_OUTCOMES`].
    pub fn relay_hit(&self, outcome: &'static str) {
        self.relay_hits
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// A relayed script was answered as `outcome`, one of [`RELAY_SCRIPT_OUTCOMES`].
    pub fn relay_script(&self, outcome: &'static str) {
        self.relay_scripts
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Everything in the Prometheus text format, followed by `extra` and `levels` (values
    /// other modules keep, read at scrape time).
    pub fn encode(
        &self,
        extra: &[ScrapeCounter],
        levels: &[ScrapeGauge],
    ) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        if !extra.is_empty() || !levels.is_empty() {
            let mut scraped = Registry::with_prefix("consentgate");
            for c in extra {
                scraped.register(c.name, c.help, ConstCounter::new(c.value));
            }
            for g in levels {
                scraped.register(g.name, g.help, ConstGauge::new(g.value));
            }
            let mut more = String::new();
            prometheus_text::encode(&mut more, &scraped)?;
            out.write_str(&more)?;
        }
        Ok(out)
    }
}

/// Times one page's rewrite chunk by chunk and reports the total (one histogram observation,
/// the bytes) when dropped — also when the page breaks off.
pub struct RewriteMeter {
    metrics: Arc<Metrics>,
    elapsed: Duration,
    bytes: u64,
}

impl RewriteMeter {
    /// Run `work` (rewriting `input_bytes` bytes, 0 for the final flush) and add its time.
    pub fn measure<T>(&mut self, input_bytes: usize, work: impl FnOnce() -> T) -> T {
        let started = std::time::Instant::now();
        let out = work();
        self.elapsed += started.elapsed();
        self.bytes += input_bytes as u64;
        out
    }
}

impl Drop for RewriteMeter {
    fn drop(&mut self) {
        self.metrics
            .rewrite_seconds
            .observe(self.elapsed.as_secs_f64());
        self.metrics.rewrite_bytes.inc_by(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|l| l.starts_with(prefix))
    }

    #[test]
    fn counters_and_histograms_come_out_in_the_prometheus_text_format() {
        let m = Arc::new(Metrics::new());
        m.request(Listener::Public, 200);
        m.request(Listener::Public, 204);
        m.request(Listener::Admin, 503);
        m.request(Listener::Public, 999);
        m.upstream_latency(Duration::from_millis(3));
        {
            let mut meter = m.rewrite_meter();
            meter.measure(1000, || ());
            meter.measure(24, || ());
        }
        m.consent_decision("accept_all");
        m.form_submission("contact", "stored");
        m.form_submission("contact", "too_fast");
        m.store_error("timeout");
        m.stats_event_dropped();
        m.relay_hit("queue_full");
        m.relay_script("revalidated");
        let text = m
            .encode(
                &[ScrapeCounter {
                    name: "rewrite_memo_hits",
                    help: "Pages served from the rewrite memo",
                    value: 7,
                }],
                &[ScrapeGauge {
                    name: "rewrite_memo_bytes",
                    help: "Bytes the rewrite memo holds",
                    value: 4096,
                }],
            )
            .unwrap();
        for expected in [
            "consentgate_http_requests_total{listener=\"public\",class=\"2xx\"} 2",
            "consentgate_http_requests_total{listener=\"admin\",class=\"5xx\"} 1",
            "consentgate_http_requests_total{listener=\"public\",class=\"5xx\"} 1",
            "consentgate_upstream_response_seconds_count 1",
            "consentgate_rewrite_seconds_count 1",
            "consentgate_rewrite_input_bytes_total 1024",
            "consentgate_consent_decisions_total{action=\"accept_all\"} 1",
            "consentgate_form_submissions_total{form=\"contact\",outcome=\"too_fast\"} 1",
            "consentgate_store_errors_total{kind=\"timeout\"} 1",
            "consentgate_stats_events_dropped_total 1",
            "consentgate_relay_hits_total{outcome=\"queue_full\"} 1",
            "consentgate_relay_hits_total{outcome=\"forwarded\"} 0",
            "consentgate_relay_scripts_total{outcome=\"revalidated\"} 1",
            "consentgate_rewrite_memo_hits_total 7",
            "consentgate_rewrite_memo_bytes 4096",
        ] {
            assert!(text.contains(expected), "{expected} missing:\n{text}");
        }
        assert!(line(
            &text,
            "# TYPE consentgate_upstream_response_seconds histogram"
        )
        .is_some());
        assert!(
            line(
                &text,
                "consentgate_upstream_response_seconds_bucket{le=\"0.004\"} 1"
            )
            .is_some(),
            "{text}"
        );
        assert!(
            !text.contains("# EOF"),
            "plain Prometheus text, not OpenMetrics"
        );
    }
}
