//! What the health page reports: each check as a row (store reachable and how fast, which
//! backend, the geo database and its build date, the upstream, dropped statistics) and the
//! effective configuration with every secret removed. The server probes; this module words.

use std::time::Duration;

use url::Url;

use super::views::HealthCheck;
use crate::config::Config;

/// Placeholder for a value the page must not show.
pub const HIDDEN: &str = "(set; not shown)";

/// What the server found out just now.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The store's round trip, or why it failed.
    pub store: Result<Duration, String>,
    /// `memory`, `redis` or `redis_cluster`.
    pub backend: &'static str,
    /// `None`: no geo database configured; `Some(build time, unix s)` when loaded.
    pub geo: Option<u64>,
    pub geo_configured: bool,
    /// A TCP connection to the upstream opened within the connect timeout.
    pub upstream: bool,
    /// Statistics events dropped since start.
    pub stats_dropped: u64,
}

/// The rows of the health table; `key` names the check (message `check_<key>`).
pub fn checks(p: &Probe) -> Vec<HealthCheck> {
    let store = match &p.store {
        Ok(rtt) => HealthCheck::new(
            "store",
            true,
            format!("{} · {:.1} ms", p.backend, rtt.as_secs_f64() * 1000.0),
        ),
        Err(why) => HealthCheck::new("store", false, format!("{} · {why}", p.backend)),
    };
    let geo = match (p.geo_configured, p.geo) {
        (false, _) => HealthCheck::new("geo_off", true, String::new()),
        (true, Some(built)) => HealthCheck::new("geo", true, super::views::human_time(built)),
        (true, None) => HealthCheck::new("geo", false, String::new()),
    };
    vec![
        store,
        geo,
        HealthCheck::new("upstream", p.upstream, String::new()),
        HealthCheck::new("stats", p.stats_dropped == 0, p.stats_dropped.to_string()),
    ]
}

/// `url` without what could be a credential: user, password, query and fragment, and the
/// path (webhook URLs often carry their token there).
fn bare(url: &Url) -> Url {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    if u.path() != "/" {
        u.set_path("/…");
    }
    u
}

/// The configuration the gate runs with, as text, with secrets removed: the secret and
/// earlier secrets, password hashes and TOTP secrets (their `Debug` never shows them), the
/// Redis URL (it holds the password) and credentials in URLs.
pub fn effective_config(config: &Config) -> String {
    let mut c = config.clone();
    if c.store.redis_url.is_some() {
        c.store.redis_url = Some(HIDDEN.to_owned());
    }
    if let Some(url) = &c.upstream.url {
        let mut u = url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        c.upstream.url = Some(u);
    }
    for form in &mut c.forms {
        form.notify_webhook = form.notify_webhook.as_ref().map(bare);
    }
    format!("{c:#?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::dashboard::{DashboardUser, PasswordHash, Role, TotpSecret};
    use crate::config::Secret;

    #[test]
    fn effective_configuration_shows_no_secret() {
        let env = [(
            "CONSENTGATE_SECRET".to_owned(),
            "a-very-secret-value-0123456789-abcdef".to_owned(),
        )]
        .into_iter()
        .collect::<std::collections::BTreeMap<_, _>>();
        let (mut config, _) = Config::from_toml(
            "[upstream]\nurl = \"https://cms:pw-upstream@cms.example/\"\n\
             [store]\nbackend = \"redis\"\nredis_url = \"redis://:pw-redis@127.0.0.1:6379/0\"\n\
             [[forms]]\nid = \"contact\"\npath = \"/contact\"\nredirect = \"/thanks\"\n\
             notify_webhook = \"https://hooks.example/services/pw-hook?token=pw-query\"\n\
             [[forms.fields]]\nname = \"email\"\ntype = \"email\"\n",
            &env,
        )
        .unwrap();
        config.previous_secrets = vec![Secret::new(b"pw-previous".to_vec())];
        config.dashboard.users.push(DashboardUser {
            name: "ann".into(),
            password_hash: PasswordHash::parse(
                "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$Z2FyYmFnZWdhcmJhZ2U",
            )
            .unwrap(),
            role: Role::Admin,
            totp_secret: Some(TotpSecret::from_bytes(b"pw-totp-0123456789".to_vec())),
            language: None,
        });
        let text = effective_config(&config);
        for secret in [
            "pw-",
            "a-very-secret",
            "argon2id",
            "c29tZXNhbHQ",
            "hooks.example/services",
        ] {
            assert!(!text.contains(secret), "{secret} shown:\n{text}");
        }
        assert!(text.contains("cms.example"), "{text}");
        assert!(text.contains("hooks.example"), "{text}");
        assert!(text.contains(HIDDEN));
        assert!(text.contains("ann"));
    }

    #[test]
    fn checks_say_what_failed() {
        let mut p = Probe {
            store: Ok(Duration::from_micros(1500)),
            backend: "redis",
            geo: Some(1_700_000_000),
            geo_configured: true,
            upstream: true,
            stats_dropped: 0,
        };
        let rows = checks(&p);
        assert!(rows.iter().all(|c| c.ok));
        assert_eq!(rows[0].detail, "redis · 1.5 ms");
        assert_eq!(rows[1].detail, "2023-11-14 22:13 UTC");
        p.store = Err("connection refused".into());
        p.upstream = false;
        let rows = checks(&p);
        assert!(!rows[0].ok && rows[0].detail.contains("connection refused"));
        assert!(!rows[2].ok);
    }
}
