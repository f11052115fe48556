//! `[dashboard]`: the operators' accounts and how their sessions behave.
//!
//! Typed at the edge like every section: a password hash is checked to be an argon2id PHC
//! string and a TOTP secret is base32-decoded while the file is read, so a bad value stops the
//! gate at start naming its key (`dashboard.users[1].password_hash: …`) and the dashboard never
//! re-parses configuration text. Neither the hash nor the secret appears in `Debug` output.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::values::de_duration;
use super::ConfigProblem;

/// Shortest accepted TOTP secret, in bytes (RFC 4226 §4 requires at least 128 bits).
pub const MIN_TOTP_SECRET_BYTES: usize = 16;
/// Longest operator name, in characters.
pub const MAX_USER_NAME_LEN: usize = 64;

/// `[dashboard]`, see config/consentgate.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DashboardConfig {
    /// The operators who may sign in. Default: none (nobody can sign in).
    pub users: Vec<DashboardUser>,
    /// Every operator must have a `totp_secret`; checked at start. Default false.
    pub require_totp: bool,
    /// A session ends after this long without a request. Default 30 minutes.
    #[serde(deserialize_with = "de_duration")]
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, however active. Default 12 hours.
    #[serde(deserialize_with = "de_duration")]
    pub absolute_timeout: Duration,
    /// Page language when neither the operator's own `language` nor the browser's
    /// Accept-Language picks nl or en. Default `"nl"`.
    pub language: Language,
    /// Whether the session cookie is `Secure` (and then named `__Host-…`): `"auto"` (default:
    /// when the request came through a trusted TLS terminator), `true` or `false`.
    pub secure_cookie: SecureCookie,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        Self {
            users: Vec::new(),
            require_totp: false,
            idle_timeout: Duration::from_secs(30 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            language: Language::Nl,
            secure_cookie: SecureCookie::Auto,
        }
    }
}

/// `[[dashboard.users]]`: one operator.
#[derive(Debug, Clone, Deserialize)]
pub struct DashboardUser {
    /// Sign-in name: 1–64 characters `a-z 0-9 . _ @ -` (lower case). Required.
    pub name: String,
    /// argon2id PHC string from `consentgate hash-password`. Required.
    pub password_hash: PasswordHash,
    /// `"admin"`, `"inbox"` or `"analyst"`. Required.
    pub role: Role,
    /// Base32 TOTP secret from `consentgate totp-secret`; unset = no second factor.
    #[serde(default)]
    pub totp_secret: Option<TotpSecret>,
    /// The operator's page language; unset = the browser's, then `dashboard.language`.
    #[serde(default)]
    pub language: Option<Language>,
}

/// What an operator may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the audit log and the health page.
    Admin,
    /// Contact-form inbox, consent look-up and data-subject requests.
    Inbox,
    /// Figures only.
    Analyst,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Inbox => "inbox",
            Role::Analyst => "analyst",
        }
    }
}

/// A language the dashboard is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Nl,
    En,
}

impl Language {
    /// The BCP 47 tag, `"nl"` or `"en"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Nl => "nl",
            Language::En => "en",
        }
    }

    /// The language of a tag like `"nl"`, `"nl-BE"` or `"EN-gb"`, if it is one of ours.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("nl") {
            Some(Language::Nl)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }
}

/// `dashboard.secure_cookie`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureCookie {
    /// Secure when the request reached the gate over HTTPS (through a trusted TLS terminator).
    Auto,
    Always,
    Never,
}

impl SecureCookie {
    /// Whether a cookie set in answer to a request is `Secure`; `request_https` says whether
    /// that request came in over HTTPS.
    pub fn applies(self, request_https: bool) -> bool {
        match self {
            SecureCookie::Auto => request_https,
            SecureCookie::Always => true,
            SecureCookie::Never => false,
        }
    }
}

impl<'de> Deserialize<'de> for SecureCookie {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            Word(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::Flag(true)) => Ok(SecureCookie::Always),
            Ok(Raw::Flag(false)) => Ok(SecureCookie::Never),
            Ok(Raw::Word(w)) if w == "auto" => Ok(SecureCookie::Auto),
            _ => Err(serde::de::Error::custom("expected true, false or \"auto\"")),
        }
    }
}

/// An argon2id password hash in PHC string format, checked when the configuration is read.
/// `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Checks that `phc` is an argon2id (version 19) PHC string with parameters, salt and hash.
    pub fn parse(phc: &str) -> Result<PasswordHash, String> {
        let expected = "expected an argon2id PHC string like \"$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\" (make one with `consentgate hash-password`)";
        let parsed = argon2::password_hash::PasswordHash::new(phc)
            .map_err(|e| format!("{expected}; this one does not parse ({e})"))?;
        if parsed.algorithm != argon2::Algorithm::Argon2id.ident() {
            return Err(format!(
                "{expected}; this one uses {}",
                parsed.algorithm.as_str()
            ));
        }
        if parsed.version != Some(argon2::Version::V0x13.into()) {
            return Err(format!("{expected}; this one is not version 19"));
        }
        if argon2::Params::try_from(&parsed).is_err() || parsed.hash.is_none() {
            return Err(format!(
                "{expected}; its parameters, salt or hash are not usable"
            ));
        }
        Ok(PasswordHash(phc.to_owned()))
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl<'de> Deserialize<'de> for PasswordHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PasswordHash::parse(text.trim()).map_err(serde::de::Error::custom)
    }
}

/// A TOTP shared secret (the decoded bytes of its base32 form). `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    /// Decodes base32 (RFC 4648; case, spaces and `=` padding ignored, as authenticator apps
    /// show it) and checks the length (at least [`MIN_TOTP_SECRET_BYTES`]).
    pub fn from_base32(text: &str) -> Result<TotpSecret, String> {
        let normal: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let bytes = totp_rs::Secret::Encoded(normal).to_bytes().map_err(|_| {
            "expected a base32 secret (A–Z, 2–7), as printed by `consentgate totp-secret`"
                .to_owned()
        })?;
        if bytes.len() < MIN_TOTP_SECRET_BYTES {
            return Err(format!(
                "too short: at least {MIN_TOTP_SECRET_BYTES} bytes ({} base32 characters) are needed",
                (MIN_TOTP_SECRET_BYTES * 8).div_ceil(5)
            ));
        }
        Ok(TotpSecret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> TotpSecret {
        TotpSecret(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl<'de> Deserialize<'de> for TotpSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        TotpSecret::from_base32(&text).map_err(serde::de::Error::custom)
    }
}

/// Whether `name` is a valid operator name (see [`DashboardUser::name`]).
pub fn valid_user_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USER_NAME_LEN
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'@' | b'-')
        })
}

impl DashboardConfig {
    /// Checks serde cannot express, each naming its key.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        let mut problem =
            |key: String, message: String| problems.push(ConfigProblem::new(key, message));
        for (i, user) in self.users.iter().enumerate() {
            let key = |field: &str| format!("dashboard.users[{i}].{field}");
            if !valid_user_name(&user.name) {
                problem(
                    key("name"),
                    format!(
                        "expected 1–{MAX_USER_NAME_LEN} characters a-z, 0-9, '.', '_', '@' or '-', got {:?}",
                        user.name
                    ),
                );
            } else if self.users[..i].iter().any(|u| u.name == user.name) {
                problem(
                    key("name"),
                    format!("{:?} is used by another user", user.name),
                );
            }
            if self.require_totp && user.totp_secret.is_none() {
                problem(
                    key("totp_secret"),
                    "required because dashboard.require_totp = true (make one with `consentgate totp-secret --user NAME`)".into(),
                );
            }
        }
        if self.idle_timeout < Duration::from_secs(60) {
            problem(
                "dashboard.idle_timeout".into(),
                "must be at least 1m".into(),
            );
        }
        if self.absolute_timeout < self.idle_timeout {
            problem(
                "dashboard.absolute_timeout".into(),
                format!(
                    "must be at least dashboard.idle_timeout ({})",
                    humantime::format_duration(self.idle_timeout)
                ),
            );
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::config::{Config, ConfigError};

    /// argon2id of "correct horse battery staple" with small (test-only) parameters.
    const HASH: &str =
        "$argon2id$v=19$m=64,t=1,p=1$T7DzjDgSCZm/ik7NYCZT2A$UA2dV1ZNH+tvZ2KVUHB62foXlYuEfEcarMiJDxAQg0k";

    fn load(dashboard: &str) -> Result<Config, ConfigError> {
        let env = std::collections::BTreeMap::from([(
            crate::config::ENV_SECRET.to_owned(),
            "0123456789abcdef0123456789abcdef-test".to_owned(),
        )]);
        Config::from_toml(
            &format!("[upstream]\nurl = \"http://x\"\n{dashboard}"),
            &env,
        )
        .map(|(c, _)| c)
    }

    fn keys_of(err: ConfigError) -> Vec<String> {
        err.0.into_iter().map(|p| p.key).collect()
    }

    fn user(name: &str, hash: &str) -> String {
        format!("[[dashboard.users]]\nname = \"{name}\"\npassword_hash = \"{hash}\"\nrole = \"admin\"\n")
    }

    #[test]
    fn dashboard_section_gets_documented_defaults() {
        let d = load("").unwrap().dashboard;
        assert!(d.users.is_empty());
        assert!(!d.require_totp);
        assert_eq!(d.idle_timeout, Duration::from_secs(1800));
        assert_eq!(d.absolute_timeout, Duration::from_secs(12 * 3600));
        assert_eq!(d.language, Language::Nl);
        assert_eq!(d.secure_cookie, SecureCookie::Auto);
        let d = load(&format!(
            "[dashboard]\nsecure_cookie = true\nlanguage = \"en\"\n{}totp_secret = \"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\"\nlanguage = \"nl\"\n",
            user("ann", HASH)
        ))
        .unwrap()
        .dashboard;
        assert_eq!(d.secure_cookie, SecureCookie::Always);
        assert_eq!(d.users[0].role, Role::Admin);
        assert_eq!(d.users[0].language, Some(Language::Nl));
        assert_eq!(
            d.users[0].totp_secret.as_ref().map(|s| s.expose().len()),
            Some(20)
        );
    }

    #[test]
    fn a_bad_hash_names_its_user_and_key() {
        let text = format!("{}{}", user("ann", HASH), user("bob", "$2b$12$notargon"));
        let err = load(&text).unwrap_err();
        assert_eq!(keys_of(err.clone()), ["dashboard.users[1].password_hash"]);
        assert!(err.to_string().contains("argon2id"), "{err}");
        let err = load("[dashboard]\nsecure_cookie = \"sometimes\"\n").unwrap_err();
        assert_eq!(keys_of(err), ["dashboard.secure_cookie"]);
        let err = load(&format!("{}totp_secret = \"SHORT\"\n", user("ann", HASH))).unwrap_err();
        assert_eq!(keys_of(err), ["dashboard.users[0].totp_secret"]);
    }

    #[test]
    fn every_semantic_problem_is_reported_with_its_key() {
        let text = format!(
            "[dashboard]\nrequire_totp = true\nidle_timeout = \"2h\"\nabsolute_timeout = \"1h\"\n{}{}{}rol = \"x\"\n",
            user("ann", HASH),
            user("Ann Smith", HASH),
            user("ann", HASH)
        );
        let keys = keys_of(load(&text).unwrap_err());
        for expected in [
            "dashboard.users[2].rol",
            "dashboard.users[0].totp_secret",
            "dashboard.users[1].name",
            "dashboard.users[2].name",
            "dashboard.absolute_timeout",
        ] {
            assert!(
                keys.contains(&expected.to_owned()),
                "{expected} missing from {keys:?}"
            );
        }
    }

    #[test]
    fn password_hash_must_be_argon2id_version_19() {
        assert!(PasswordHash::parse(HASH).is_ok());
        for bad in [
            "",
            "hunter2",
            "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$3Gv6ZdEbZ2GhiP1C2VfqTIDPsNaIJRqCsjIe2x3wvSA",
            "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$3Gv6ZdEbZ2GhiP1C2VfqTIDPsNaIJRqCsjIe2x3wvSA",
            "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
        ] {
            let err = PasswordHash::parse(bad).unwrap_err();
            assert!(err.contains("argon2id"), "{bad}: {err}");
            if !bad.is_empty() {
                assert!(!err.contains(bad), "the value is not echoed: {err}");
            }
        }
        assert_eq!(
            format!("{:?}", PasswordHash::parse(HASH).unwrap()),
            "PasswordHash(..)"
        );
    }

    #[test]
    fn totp_secret_accepts_what_authenticator_apps_show() {
        let s = TotpSecret::from_base32("jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp").unwrap();
        assert_eq!(s.expose().len(), 20);
        assert_eq!(
            TotpSecret::from_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP====").unwrap(),
            s
        );
        assert!(TotpSecret::from_base32("JBSWY3DPEHPK3PXP")
            .unwrap_err()
            .contains("too short"));
        assert!(TotpSecret::from_base32("not base32 at all!!!!!!!!!!!!!!!")
            .unwrap_err()
            .contains("base32"));
        assert_eq!(format!("{s:?}"), "TotpSecret(..)");
    }

    #[test]
    fn user_names_are_restricted_to_a_safe_alphabet() {
        for ok in ["ann", "a.b_c-d@e", "0"] {
            assert!(valid_user_name(ok), "{ok}");
        }
        let long = "x".repeat(65);
        for bad in ["", "Ann", "a b", "a:b", "<script>", long.as_str()] {
            assert!(!valid_user_name(bad), "{bad}");
        }
    }

    #[test]
    fn languages_come_from_tags() {
        assert_eq!(Language::from_tag("nl-BE"), Some(Language::Nl));
        assert_eq!(Language::from_tag("EN_gb"), Some(Language::En));
        assert_eq!(Language::from_tag("de"), None);
        assert_eq!(Language::from_tag(""), None);
    }
}
