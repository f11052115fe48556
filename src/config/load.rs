//! The assembler: reads each section with its own type, applies the environment, and validates
//! once, at load — every section on its own, then what spans sections (tracker categories
//! against the banner's categories, the upstream against the gate's own listener).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::{Host, Url};

use super::consent::{ConsentConfig, CONSENT_TEXT_KEYS};
use super::csp::CspConfig;
use super::dashboard::DashboardConfig;
use super::dsr::DsrConfig;
use super::embeds::EmbedsConfig;
use super::env::{secret_problem, EnvOverrides, EnvSource, Secret};
use super::forms::{form_plugin_warnings, validate_forms, FormConfig};
use super::limits::LimitsConfig;
use super::listen::ListenConfig;
use super::log::LogConfig;
use super::passthrough::{validate_passthrough, PassthroughConfig};
use super::privacy::PrivacyConfig;
use super::problem::{did_you_mean_hint, ConfigError, ConfigProblem};
use super::read::{read_value, unknown_key};
use super::relay::RelayConfig;
use super::stats::StatsConfig;
use super::store::StoreConfig;
use super::trackers::{valid_category, TrackersConfig, NECESSARY};
use super::upstream::{HostPolicy, UpstreamConfig};

/// The whole, validated configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Config {
    pub listen: ListenConfig,
    pub upstream: UpstreamConfig,
    pub privacy: PrivacyConfig,
    pub limits: LimitsConfig,
    pub store: StoreConfig,
    pub log: LogConfig,
    pub trackers: TrackersConfig,
    pub consent: ConsentConfig,
    pub forms: Vec<FormConfig>,
    /// `[[passthrough]]` path prefixes passed by untouched; default none.
    pub passthrough: Vec<PassthroughConfig>,
    pub dashboard: DashboardConfig,
    /// `[dsr]`: the register of data-subject requests.
    pub dsr: DsrConfig,
    pub stats: StatsConfig,
    /// First-party analytics relays (`[relay.google_analytics]`); off by default.
    pub relay: RelayConfig,
    /// `[embeds]`: how click-to-load players load.
    pub embeds: EmbedsConfig,
    /// `[csp]`: the gate's Content-Security-Policy on pages; report-only by default.
    pub csp: CspConfig,
    /// Set from `CONSENTGATE_SECRET`, never from the file (it would end up in backups and repos).
    #[serde(skip)]
    pub secret: Option<Secret>,
    /// Earlier secrets, from `CONSENTGATE_PREVIOUS_SECRETS`: stored form entries sealed under
    /// them still decrypt; nothing new uses them.
    #[serde(skip)]
    pub previous_secrets: Vec<Secret>,
}

/// What loading produced besides the config: things worth a warning but not fatal, each
/// written `key: message`.
#[derive(Debug, Default)]
pub struct LoadNotes {
    pub warnings: Vec<String>,
}

/// How far each section could be read.
#[derive(Default)]
struct Reading {
    problems: Vec<ConfigProblem>,
    /// Sections that could not be read at all (left at their defaults): their own checks are
    /// skipped, so defaults do not add problems the operator did not make.
    unreadable: BTreeSet<&'static str>,
    /// Sections with a wrongly typed value (taken out, so at its default): checks spanning
    /// sections are skipped for them.
    incomplete: BTreeSet<&'static str>,
}

impl Reading {
    /// Reads one top-level section, recording its problems.
    fn section<T: DeserializeOwned + Default>(
        &mut self,
        table: &mut toml::Table,
        name: &'static str,
    ) -> T {
        let Some(value) = table.remove(name) else {
            return T::default();
        };
        let read = read_value(value, name);
        self.problems.extend(read.problems);
        if !read.complete {
            self.incomplete.insert(name);
        }
        read.value.unwrap_or_else(|| {
            self.unreadable.insert(name);
            T::default()
        })
    }
}

/// A TOML syntax error as `line L, column C: message`.
fn syntax_problem(text: &str, e: &toml::de::Error) -> ConfigProblem {
    let at = e.span().map_or(0, |span| span.start).min(text.len());
    let before = text.get(..at).unwrap_or_default();
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    ConfigProblem::new(format!("line {line}, column {column}"), e.message())
}

impl Config {
    /// Read, parse, apply the environment and validate.
    pub fn load(path: &Path, env: &dyn EnvSource) -> Result<(Config, LoadNotes), ConfigError> {
        let (config, notes) = Self::check(path, env);
        config.map(|c| (c, notes))
    }

    /// Like [`Config::load`], but the warnings come back even when there are problems, so
    /// `check-config` can show both.
    pub fn check(path: &Path, env: &dyn EnvSource) -> (Result<Config, ConfigError>, LoadNotes) {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::check_toml(&text, env),
            Err(e) => (
                Err(ConfigError::one(
                    "--config",
                    format!("cannot read {}: {e}", path.display()),
                )),
                LoadNotes::default(),
            ),
        }
    }

    /// Parse TOML text, apply the environment and validate. No file or process access apart
    /// from checking that configured files exist and reading `trackers.override_file`.
    pub fn from_toml(text: &str, env: &dyn EnvSource) -> Result<(Config, LoadNotes), ConfigError> {
        let (config, notes) = Self::check_toml(text, env);
        config.map(|c| (c, notes))
    }

    /// [`Config::check`] on text already read (a reload compares it with what is running).
    pub fn check_toml(text: &str, env: &dyn EnvSource) -> (Result<Config, ConfigError>, LoadNotes) {
        let env = EnvOverrides::read(env);
        let mut notes = LoadNotes {
            warnings: env.unknown.iter().map(ToString::to_string).collect(),
        };
        let mut table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(e) => return (Err(ConfigError(vec![syntax_problem(text, &e)])), notes),
        };
        let mut reading = Reading::default();
        let mut config = Config {
            listen: reading.section(&mut table, "listen"),
            upstream: reading.section(&mut table, "upstream"),
            privacy: reading.section(&mut table, "privacy"),
            limits: reading.section(&mut table, "limits"),
            store: reading.section(&mut table, "store"),
            log: reading.section(&mut table, "log"),
            trackers: reading.section(&mut table, "trackers"),
            consent: reading.section(&mut table, "consent"),
            forms: reading.section(&mut table, "forms"),
            passthrough: reading.section(&mut table, "passthrough"),
            dashboard: reading.section(&mut table, "dashboard"),
            dsr: reading.section(&mut table, "dsr"),
            stats: reading.section(&mut table, "stats"),
            relay: reading.section(&mut table, "relay"),
            embeds: reading.section(&mut table, "embeds"),
            csp: reading.section(&mut table, "csp"),
            secret: env.secret,
            previous_secrets: env.previous_secrets,
        };
        let mut problems = std::mem::take(&mut reading.problems);
        problems.extend(config.trackers.read_override());
        // What is left at the top level belongs to no section.
        problems.extend(table.keys().map(|key| unknown_key(key.clone())));
        if let Some(url) = env.redis_url {
            config.store.redis_url = Some(url);
        }
        // One message per key: a value taken out for its type is at its default now, so what
        // the checks would say about it (or below it) is about the default, not the file; and
        // `secret` in the file already says where the secret goes.
        let reported: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
        problems.extend(config.problems(&reading).into_iter().filter(|p| {
            !reported.iter().any(|key| {
                p.key == *key
                    || p.key
                        .strip_prefix(key.as_str())
                        .is_some_and(|rest| rest.starts_with(['.', '[']))
            })
        }));
        notes
            .warnings
            .extend(config.warnings().iter().map(ToString::to_string));
        if problems.is_empty() {
            (Ok(config), notes)
        } else {
            (Err(ConfigError(problems)), notes)
        }
    }

    /// Semantic checks serde cannot express. Returns every problem, not just the first.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        self.problems(&Reading::default())
    }

    fn problems(&self, reading: &Reading) -> Vec<ConfigProblem> {
        let read = |name: &str| !reading.unreadable.contains(name);
        let complete = |name: &str| read(name) && !reading.incomplete.contains(name);
        let mut problems = Vec::new();
        if read("listen") {
            problems.extend(self.listen.validate());
        }
        if read("upstream") {
            problems.extend(self.upstream.validate());
        }
        if read("privacy") {
            problems.extend(self.privacy.validate());
        }
        if read("limits") {
            problems.extend(self.limits.validate());
        }
        if read("store") {
            problems.extend(self.store.validate());
        }
        if read("log") {
            problems.extend(self.log.validate());
        }
        if read("forms") {
            problems.extend(validate_forms(&self.forms));
        }
        if read("passthrough") {
            problems.extend(validate_passthrough(&self.passthrough));
        }
        if read("consent") {
            problems.extend(self.consent.validate(CONSENT_TEXT_KEYS));
        }
        if read("trackers") {
            problems.extend(self.trackers.validate());
        }
        if read("dashboard") {
            problems.extend(self.dashboard.validate());
        }
        if read("dsr") {
            problems.extend(self.dsr.validate());
        }
        if read("stats") {
            problems.extend(self.stats.validate());
        }
        if read("relay") {
            problems.extend(self.relay.google_analytics.validate());
        }
        if read("csp") {
            problems.extend(self.csp.validate());
        }
        if read("embeds") {
            problems.extend(self.embeds.validate());
        }
        problems.extend(secret_problem(self.secret.as_ref()));
        if complete("trackers") && complete("consent") {
            problems.extend(category_problems(&self.trackers, &self.consent));
        }
        if complete("listen")
            && complete("upstream")
            && self.upstream.host_header == HostPolicy::Client
            && self.listen.hosts.is_empty()
        {
            problems.push(ConfigProblem::new(
                "listen.hosts",
                "required with upstream.host_header = \"client\": the site would pick its pages \
                 by a Host header any visitor can write; list the site's names, e.g. \
                 hosts = [\"www.example.org\", \"example.org\"]",
            ));
        }
        problems
    }

    /// Settings that are legal but most likely not what was meant.
    pub fn warnings(&self) -> Vec<ConfigProblem> {
        let mut warnings = self.listen.warnings();
        if let Some(url) = &self.upstream.url {
            if addresses_listener(url, self.listen.public) {
                warnings.push(ConfigProblem::new(
                    "upstream.url",
                    format!(
                        "{url} is the gate's own public listener (listen.public = {}): every \
                         request would be proxied back to the gate itself",
                        self.listen.public
                    ),
                ));
            }
        }
        warnings.extend(form_plugin_warnings(&self.forms));
        warnings
    }
}

/// Whether `url` reaches the listener bound to `listener` on this machine.
fn addresses_listener(url: &Url, listener: SocketAddr) -> bool {
    if url.port_or_known_default() != Some(listener.port()) {
        return false;
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
            return listener.ip().is_loopback() || listener.ip().is_unspecified();
        }
        _ => return false,
    };
    // A listener on 0.0.0.0 / :: answers on every local address; loopback is the one we know.
    ip == listener.ip()
        || (listener.ip().is_unspecified() && (ip.is_loopback() || ip.is_unspecified()))
}

/// Every tracker category must be one the banner can name (analytics, marketing or a declared
/// `[[consent.categories]]` entry), and every declared category must hold a vendor: otherwise
/// the banner shows a switch without a name or purpose, or a switch that does nothing.
fn category_problems(trackers: &TrackersConfig, consent: &ConsentConfig) -> Vec<ConfigProblem> {
    let declared: Vec<&str> = consent.categories.iter().map(|c| c.id.as_str()).collect();
    let offered: Vec<&str> = ["analytics", "marketing"]
        .into_iter()
        .chain(declared.iter().copied())
        .collect();
    let vendors = trackers.resolved_vendors();
    // Where each vendor's category was written; built-in vendors without an override are
    // checked by the built-in file's own test.
    let mut written: Vec<(String, &str, &str)> = trackers
        .categories
        .iter()
        .filter(|(id, _)| vendors.iter().any(|v| &v.id == *id))
        .map(|(id, category)| {
            (
                format!("trackers.categories.{id}"),
                id.as_str(),
                category.as_str(),
            )
        })
        .collect();
    written.extend(
        trackers
            .vendors
            .iter()
            .enumerate()
            .filter(|(_, v)| !trackers.categories.contains_key(&v.id))
            .map(|(i, v)| {
                (
                    format!("trackers.vendors[{i}].category"),
                    v.id.as_str(),
                    v.category.as_str(),
                )
            }),
    );
    let mut problems = Vec::new();
    for (key, vendor, category) in written {
        // A vendor in a category of its own is named by the vendor itself.
        if valid_category(category) && category != vendor && !offered.contains(&category) {
            problems.push(ConfigProblem::new(
                key,
                format!(
                    "category {category:?} is not declared{}: the banner would offer it without \
                     a name or purpose; declare it with a [[consent.categories]] entry (id, name, \
                     description) or use \"analytics\" or \"marketing\"",
                    did_you_mean_hint(category, offered.iter().copied())
                ),
            ));
        }
    }
    for (i, id) in consent.banner_vendors.iter().enumerate() {
        let known = vendors
            .iter()
            .any(|v| &v.id == id && v.category != NECESSARY);
        if !known {
            problems.push(ConfigProblem::new(
                format!("consent.banner_vendors[{i}]"),
                format!(
                    "{id:?} is not a vendor of the catalogue that the banner asks consent for{}",
                    did_you_mean_hint(
                        id,
                        vendors
                            .iter()
                            .filter(|v| v.category != NECESSARY)
                            .map(|v| v.id.as_str())
                    )
                ),
            ));
        }
    }
    for (i, declared) in consent.categories.iter().enumerate() {
        let used = vendors.iter().any(|v| v.category == declared.id);
        if !used && !declared.id.is_empty() {
            problems.push(ConfigProblem::new(
                format!("consent.categories[{i}].id"),
                format!(
                    "no vendor is in category {:?}, so its switch would do nothing; put one in it \
                     with [trackers] categories = {{ <vendor id> = {:?} }} or a \
                     [[trackers.vendors]] category, or remove the category",
                    declared.id, declared.id
                ),
            ));
        }
    }
    problems
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use crate::config::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SECRET: (&str, &str) = (ENV_SECRET, "0123456789abcdef0123456789abcdef-test");

    fn keys_of(err: ConfigError) -> Vec<String> {
        err.0.into_iter().map(|p| p.key).collect()
    }

    #[test]
    fn minimal_config_gets_documented_defaults() {
        let (config, _) = Config::from_toml(
            "[upstream]\nurl = \"http://127.0.0.1:9000\"\n",
            &env(&[SECRET]),
        )
        .unwrap();
        assert_eq!(config.privacy.ipv4_prefix, 24);
        assert_eq!(config.privacy.ipv6_prefix, 48);
        assert_eq!(config.privacy.ip_forwarding, IpForwarding::Anonymize);
        assert_eq!(config.upstream.host_header, HostPolicy::Upstream);
        assert_eq!(config.upstream.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.store.backend, StoreBackend::Memory);
    }

    #[test]
    fn wrong_value_names_the_key() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\nconnect_timeout = \"soon\"\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err.clone()), vec!["upstream.connect_timeout"]);
        assert!(err.to_string().contains("expected a duration"), "{err}");
    }

    #[test]
    fn bad_cidr_names_the_key() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[privacy]\ntrusted_proxies = [\"10.0.0.0/8\", \"nonsense\"]\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err), vec!["privacy.trusted_proxies[1]"]);
    }

    #[test]
    fn unknown_keys_and_semantic_problems_are_all_reported() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"ftp://x\"\nconect_timeout = \"1s\"\n[privacy]\nipv4_prefix = 33\n[listen]\npublic = \"127.0.0.1:1\"\nadmin = \"127.0.0.1:1\"\n",
            &env(&[]),
        )
        .unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "upstream.conect_timeout",
            "upstream.url",
            "privacy.ipv4_prefix",
            "listen.admin",
            "secret",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn enum_values_are_checked() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[privacy]\nip_forwarding = \"hash\"\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err.clone()), vec!["privacy.ip_forwarding"]);
        assert!(err.to_string().contains("anonymize"), "{err}");
    }

    #[test]
    fn environment_overrides_secrets_and_warns_about_misspellings() {
        let (config, notes) = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[store]\nbackend = \"redis\"\n",
            &env(&[
                SECRET,
                (ENV_REDIS_URL, "redis://127.0.0.1:6390/0"),
                ("CONSENTGATE_SECRT", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(
            config.store.redis_url.as_deref(),
            Some("redis://127.0.0.1:6390/0")
        );
        assert_eq!(config.secret.unwrap().expose(), SECRET.1.as_bytes());
        assert!(notes
            .warnings
            .iter()
            .any(|w| w.contains("CONSENTGATE_SECRT")));
    }

    #[test]
    fn consent_section_defaults_and_key_naming_errors() {
        let (config, _) =
            Config::from_toml("[upstream]\nurl = \"http://x\"\n", &env(&[SECRET])).unwrap();
        assert_eq!(
            config.consent.cookie_lifetime,
            Duration::from_secs(15_780_096)
        );
        assert_eq!(config.consent.policy_revision, 1);
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n[consent]\ncookie_lifetime = \"2years\"\ncookie_lifetme = \"1d\"\nprivacy_statement_url = \"privacy\"\n[consent.texts.nl]\ntitel = \"x\"\n[[consent.categories]]\nid = \"marketing\"\nnmae = \"x\"\nname = { nl = \"M\" }\ndescription = { nl = \"M\", en = \"M\" }\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "consent.cookie_lifetme",
            "consent.categories[0].nmae",
            "consent.cookie_lifetime",
            "consent.privacy_statement_url",
            "consent.texts.nl.titel",
            "consent.categories[0].id",
            "consent.categories[0].name.en",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn example_config_parses() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/consentgate.toml"
        ))
        .unwrap();
        let with_upstream = if text.contains("\n[upstream]") {
            text
        } else {
            format!("{text}\n[upstream]\nurl = \"http://x\"\n")
        };
        if let Err(e) = Config::from_toml(&with_upstream, &env(&[SECRET])) {
            assert!(!e.to_string().contains("consent"), "{e}");
        }
    }

    #[test]
    fn short_secret_is_refused() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x\"\n",
            &env(&[(ENV_SECRET, "short")]),
        )
        .unwrap_err();
        assert_eq!(keys_of(err), vec!["secret"]);
    }

    const FORM: &str = "[upstream]\nurl = \"http://x\"\n[[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/bedankt.html\"\n[[forms.fields]]\nname = \"email\"\ntype = \"email\"\nrequired = true\n";

    #[test]
    fn form_gets_documented_defaults() {
        let (config, _) = Config::from_toml(FORM, &env(&[SECRET])).unwrap();
        let form = &config.forms[0];
        assert_eq!(form.mode, FormMode::Store);
        assert_eq!(form.retention, Duration::from_secs(30 * 24 * 3600));
        assert_eq!(form.max_body_bytes, 64 * 1024);
        assert_eq!(form.min_fill_time, Duration::from_secs(3));
        assert_eq!(form.honeypot_field, "cg_website");
        assert_eq!(form.rate_limit_max, 5);
        assert_eq!(form.fields[0].max_length(), 254);
        assert!(form.notify_webhook.is_none());
    }

    #[test]
    fn form_problems_name_the_key() {
        let text = format!(
            "{FORM}[[forms]]\nid = \"Contact Form\"\npath = \"/_gate/x\"\nredirect = \"\"\nretention = \"0s\"\nfields = []\n"
        );
        let err = Config::from_toml(&text, &env(&[SECRET])).unwrap_err();
        let keys = keys_of(err);
        for expected in [
            "forms[1].id",
            "forms[1].path",
            "forms[1].redirect",
            "forms[1].retention",
            "forms[1].fields",
        ] {
            assert!(
                keys.contains(&expected.to_string()),
                "{expected} missing from {keys:?}"
            );
        }
        let err = Config::from_toml(
            &FORM.replace("type = \"email\"", "type = \"file\""),
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("forms[0].fields[0].type"), "{err}");
    }

    #[test]
    fn previous_secrets_come_from_the_environment() {
        let (config, _) = Config::from_toml(
            FORM,
            &env(&[SECRET, (ENV_PREVIOUS_SECRETS, "old-one, old-two")]),
        )
        .unwrap();
        let old: Vec<&[u8]> = config.previous_secrets.iter().map(|s| s.expose()).collect();
        assert_eq!(old, [b"old-one".as_slice(), b"old-two".as_slice()]);
    }

    fn problems_of(text: &str) -> Vec<ConfigProblem> {
        Config::from_toml(text, &env(&[SECRET])).unwrap_err().0
    }

    /// The one problem reported for `key`.
    fn message_for(problems: &[ConfigProblem], key: &str) -> String {
        let found: Vec<_> = problems.iter().filter(|p| p.key == key).collect();
        assert_eq!(found.len(), 1, "one problem for {key} in {problems:#?}");
        found[0].message.clone()
    }

    const UPSTREAM: &str = "[upstream]\nurl = \"http://127.0.0.1:8000/\"\n";

    #[test]
    fn a_log_level_that_is_no_level_is_refused() {
        let problems = problems_of(&format!("{UPSTREAM}[log]\nlevel = \"information\"\n"));
        let msg = message_for(&problems, "log.level");
        assert!(msg.contains("would log nothing"), "{msg}");
        assert!(msg.contains("did you mean \"info\"?"), "{msg}");
    }

    #[test]
    fn a_duration_without_unit_is_explained() {
        let problems = problems_of("[upstream]\nurl = \"http://x/\"\nconnect_timeout = 5\n");
        let msg = message_for(&problems, "upstream.connect_timeout");
        assert!(msg.starts_with("expected a duration like \"5s\""), "{msg}");
        assert!(msg.ends_with("got 5"), "{msg}");
    }

    #[test]
    fn an_upstream_without_scheme_gets_one_message_with_the_url_meant() {
        for (written, meant) in [
            ("127.0.0.1:8000", "http://127.0.0.1:8000/"),
            ("localhost:8000", "http://localhost:8000/"),
        ] {
            let problems = problems_of(&format!("[upstream]\nurl = \"{written}\"\n"));
            let msg = message_for(&problems, "upstream.url");
            assert_eq!(
                msg,
                format!("expected an http:// or https:// URL like {meant:?}, got {written:?}")
            );
        }
    }

    #[test]
    fn bare_trusted_proxy_addresses_are_single_addresses() {
        let (config, _) = Config::from_toml(
            &format!("{UPSTREAM}[privacy]\ntrusted_proxies = [\"192.0.2.10\", \"::1\", \"10.0.0.0/8\"]\n"),
            &env(&[SECRET]),
        )
        .unwrap();
        let nets: Vec<String> = config
            .privacy
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["192.0.2.10/32", "::1/128", "10.0.0.0/8"]);
    }

    #[test]
    fn a_bare_port_as_listener_suggests_an_address() {
        let problems = problems_of(&format!("{UPSTREAM}[listen]\npublic = \"8080\"\n"));
        let msg = message_for(&problems, "listen.public");
        assert!(msg.contains("like \"127.0.0.1:8080\""), "{msg}");
        assert!(msg.ends_with("got \"8080\""), "{msg}");
    }

    #[test]
    fn a_secret_in_the_file_points_to_the_environment() {
        let problems = problems_of(&format!("secret = \"hunter2hunter2\"\n{UPSTREAM}"));
        let msg = message_for(&problems, "secret");
        assert!(msg.contains(ENV_SECRET), "{msg}");
        assert!(!msg.contains("hunter2"), "never echo a secret: {msg}");
    }

    #[test]
    fn a_tracker_category_must_be_declared_for_the_banner() {
        let problems = problems_of(&format!(
            "{UPSTREAM}[trackers.categories]\nhotjar = \"statistic\"\n\
             [[consent.categories]]\nid = \"statistics\"\n\
             name = {{ nl = \"Statistiek\", en = \"Statistics\" }}\n\
             description = {{ nl = \"Tellen.\", en = \"Counting.\" }}\n"
        ));
        let msg = message_for(&problems, "trackers.categories.hotjar");
        assert!(msg.contains("not declared"), "{msg}");
        assert!(msg.contains("did you mean \"statistics\"?"), "{msg}");
        // ...and the declared one has no vendor now.
        let msg = message_for(&problems, "consent.categories[0].id");
        assert!(msg.contains("no vendor"), "{msg}");
    }

    #[test]
    fn an_added_vendor_in_an_undeclared_category_is_refused() {
        let problems = problems_of(&format!(
            "{UPSTREAM}[[trackers.vendors]]\nid = \"matomo\"\ncategory = \"analytic\"\nhosts = [\"matomo.cloud\"]\n"
        ));
        let msg = message_for(&problems, "trackers.vendors[0].category");
        assert!(msg.contains("did you mean \"analytics\"?"), "{msg}");
    }

    #[test]
    fn a_banner_vendor_must_be_a_catalogue_vendor() {
        let problems = problems_of(&format!(
            "{UPSTREAM}[consent]\nbanner_vendors = [\"vimeo\", \"youtub\"]\n"
        ));
        let msg = message_for(&problems, "consent.banner_vendors[1]");
        assert!(msg.contains("did you mean \"youtube\"?"), "{msg}");
        assert_eq!(problems.len(), 1, "vimeo is one: {problems:?}");
    }

    #[test]
    fn the_banner_vendors_refresh_is_bounded() {
        for refresh in ["0s", "500ms", "2days"] {
            let problems = problems_of(&format!(
                "{UPSTREAM}[consent]\nbanner_vendors_refresh = \"{refresh}\"\n"
            ));
            let msg = message_for(&problems, "consent.banner_vendors_refresh");
            assert!(msg.contains("from 1s to 1day"), "{refresh}: {msg}");
        }
        let (config, _) = Config::from_toml(
            &format!("{UPSTREAM}[consent]\nbanner_vendors_refresh = \"1s\"\n"),
            &env(&[SECRET]),
        )
        .expect("1s is allowed");
        assert_eq!(
            config.consent.banner_vendors_refresh,
            Duration::from_secs(1)
        );
    }

    #[test]
    fn a_category_with_no_vendor_is_refused() {
        let problems = problems_of(&format!(
            "{UPSTREAM}[[consent.categories]]\nid = \"video\"\n\
             name = {{ nl = \"Video\", en = \"Video\" }}\n\
             description = {{ nl = \"Video's.\", en = \"Videos.\" }}\n"
        ));
        let msg = message_for(&problems, "consent.categories[0].id");
        assert!(msg.contains("no vendor is in category \"video\""), "{msg}");
    }

    #[test]
    fn declared_categories_with_vendors_are_accepted() {
        let text = format!(
            "{UPSTREAM}[trackers.categories]\nhotjar = \"recordings\"\n\
             [[trackers.vendors]]\nid = \"peertube\"\ncategory = \"video\"\nhosts = [\"video.example.org\"]\n\
             [[consent.categories]]\nid = \"recordings\"\n\
             name = {{ nl = \"Opnames\", en = \"Recordings\" }}\n\
             description = {{ nl = \"Opnames.\", en = \"Recordings.\" }}\n\
             [[consent.categories]]\nid = \"video\"\n\
             name = {{ nl = \"Video\", en = \"Video\" }}\n\
             description = {{ nl = \"Video's.\", en = \"Videos.\" }}\n"
        );
        Config::from_toml(&text, &env(&[SECRET])).unwrap();
    }

    #[test]
    fn an_admin_listener_on_a_public_address_is_a_warning() {
        let (_, notes) = Config::from_toml(
            &format!("{UPSTREAM}[listen]\nadmin = \"0.0.0.0:8081\"\nhosts = [\"example.org\"]\n"),
            &env(&[SECRET]),
        )
        .unwrap();
        assert_eq!(notes.warnings.len(), 1, "{:?}", notes.warnings);
        assert!(
            notes.warnings[0].starts_with("listen.admin: 0.0.0.0:8081 is not a loopback address"),
            "{:?}",
            notes.warnings
        );
    }

    #[test]
    fn an_upstream_that_is_the_gate_itself_is_a_warning() {
        for (public, url) in [
            ("127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("0.0.0.0:8080", "http://localhost:8080"),
            ("[::]:8443", "https://[::1]:8443/"),
        ] {
            let (_, notes) = Config::from_toml(
                &format!("[upstream]\nurl = \"{url}\"\n[listen]\npublic = \"{public}\"\n"),
                &env(&[SECRET]),
            )
            .unwrap();
            assert!(
                notes
                    .warnings
                    .iter()
                    .any(|w| w.starts_with("upstream.url:")
                        && w.contains("proxied back to the gate")),
                "{public} {url}: {:?}",
                notes.warnings
            );
        }
        let (_, notes) = Config::from_toml(
            "[upstream]\nurl = \"http://127.0.0.1:8000/\"\n[listen]\npublic = \"127.0.0.1:8080\"\n\
             hosts = [\"example.org\"]\n",
            &env(&[SECRET]),
        )
        .unwrap();
        assert!(notes.warnings.is_empty(), "{:?}", notes.warnings);
    }

    #[test]
    fn site_names_are_typed_and_an_empty_list_is_a_warning() {
        let (config, notes) = Config::from_toml(
            &format!("{UPSTREAM}[listen]\nhosts = [\"WWW.Example.org\", \"*.example.org:8443\"]\n"),
            &env(&[SECRET]),
        )
        .unwrap();
        let hosts: Vec<String> = config
            .listen
            .hosts
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(hosts, ["www.example.org", "*.example.org:8443"]);
        assert!(notes.warnings.is_empty(), "{:?}", notes.warnings);
        let problems = problems_of(&format!(
            "{UPSTREAM}[listen]\nhosts = [\"ok.example\", \"x/y\"]\n"
        ));
        assert!(message_for(&problems, "listen.hosts[1]").starts_with("expected a host name"));
        let (_, notes) = Config::from_toml(UPSTREAM, &env(&[SECRET])).unwrap();
        assert!(
            notes
                .warnings
                .iter()
                .any(|w| w.starts_with("listen.hosts: not set")),
            "{:?}",
            notes.warnings
        );
    }

    #[test]
    fn passing_the_visitors_host_on_needs_the_site_names() {
        let problems = problems_of(&format!("{UPSTREAM}host_header = \"client\"\n"));
        let msg = message_for(&problems, "listen.hosts");
        assert!(msg.contains("upstream.host_header = \"client\""), "{msg}");
    }

    #[test]
    fn key_paths_have_one_spelling_and_messages_no_parser_trailer() {
        let text = format!(
            "{FORM}[[forms.fields]]\nname = \"naam\"\ntype = \"text\"\n\
             [[forms.fields]]\nname = \"bericht\"\ntype = \"textarea\"\nlable = \"Bericht\"\n"
        );
        let problems = problems_of(&text);
        assert_eq!(
            message_for(&problems, "forms[0].fields[2].lable"),
            "unknown key (misspelt, or not supported)"
        );
        let problems = problems_of(&FORM.replace("type = \"email\"", "type = \"file\""));
        let msg = message_for(&problems, "forms[0].fields[0].type");
        assert!(!msg.contains('\n') && !msg.contains(" in `"), "{msg:?}");
        let problems = problems_of(&format!("{UPSTREAM}[privacy]\nipv4_prefix = \"24\"\n"));
        assert_eq!(
            message_for(&problems, "privacy.ipv4_prefix"),
            "invalid type: string \"24\", expected a whole number from 0 to 255"
        );
    }

    #[test]
    fn a_syntax_error_names_line_and_column_on_one_line() {
        let err = Config::from_toml(
            "[upstream]\nurl = \"http://x/\"\n[listen\n",
            &env(&[SECRET]),
        )
        .unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert!(err.0[0].key.starts_with("line 3, column "), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn wrong_values_in_several_sections_are_all_reported() {
        let problems = problems_of(
            "[upstream]\nurl = \"127.0.0.1:8000\"\n[listen]\npublic = \"8080\"\n\
             [store]\ntimeout = 2\n[privacy]\nipv4_prefix = 40\n",
        );
        for key in [
            "upstream.url",
            "listen.public",
            "store.timeout",
            "privacy.ipv4_prefix",
        ] {
            message_for(&problems, key);
        }
    }

    #[test]
    fn a_misspelt_environment_variable_gets_a_suggestion() {
        let (_, notes) =
            Config::from_toml(UPSTREAM, &env(&[SECRET, ("CONSENTGATE_SECRT", "x")])).unwrap();
        assert!(
            notes
                .warnings
                .iter()
                .any(|w| w.starts_with("CONSENTGATE_SECRT:")
                    && w.contains("did you mean \"CONSENTGATE_SECRET\"?")),
            "{:?}",
            notes.warnings
        );
    }
}
