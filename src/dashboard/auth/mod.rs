//! Accounts and sign-in, without HTTP: password check (argon2id), the TOTP second factor,
//! throttling, server-side sessions in the store, CSRF tokens and roles.
//!
//! Every decision that depends on time takes `now` (unix seconds) from the caller, so the
//! routes can pass their clock in and tests can move it. The answer to a failed sign-in is the
//! same for an unknown name, a wrong password and a wrong code, and costs the same time (an
//! unknown name is checked against a dummy hash). What the store learns: keyed hashes of
//! session ids and account names, anonymised addresses, counters — never a password or an id
//! that would open a session.

mod csrf;
pub mod password;
pub mod roles;
pub mod session;
pub mod throttle;
pub mod totp;

use std::time::Duration;

use cookie::Cookie;

pub use password::{hash_password, PasswordError, Verifier};
pub use roles::Permission;
pub use session::SessionEnd;
pub use totp::{new_secret, Totp, TotpError, TotpSetup};

use session::{SessionId, StoredSession};
use throttle::Throttle;

use crate::config::dashboard::{
    DashboardConfig, DashboardUser, Language, PasswordHash, Role, SecureCookie,
};
use crate::keys::{Key, Keys};
use crate::store::{Store, StoreError};

/// Longest account name looked at when throttling; longer input is cut (it cannot be a name).
const MAX_NAME_INPUT: usize = 256;
/// A used TOTP step is remembered this long (it is acceptable for at most three steps).
const TOTP_REPLAY_MEMORY: Duration = Duration::from_secs(4 * totp::STEP_SECS);

/// Why an authentication operation could not be answered (as opposed to a refusal).
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The store failed; `is_transient()` errors mean "try again later" (503).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The password check could not run.
    #[error("password check failed: {0}")]
    Password(#[from] PasswordError),
    /// The blocking task that checks passwords panicked or was cancelled.
    #[error("password check did not finish: {0}")]
    Worker(String),
}

/// One configured operator, ready for checking.
struct Account {
    name: String,
    role: Role,
    hash: PasswordHash,
    totp: Option<Totp>,
    language: Option<Language>,
    /// Keyed hash of the entry; a session started under another fingerprint is revoked.
    fingerprint: String,
}

/// What a sign-in form sent, plus where it came from.
pub struct Attempt<'a> {
    /// The name as typed (trimmed and lower-cased here).
    pub name: &'a str,
    pub password: &'a str,
    /// The TOTP code, if the form had one.
    pub code: Option<&'a str>,
    /// The client's anonymised address (never the full one): the throttle's second key.
    pub address: &'a str,
    /// The session cookie the request carried, if any: it is ended, so signing in always
    /// starts a fresh session id (no session fixation).
    pub previous: Option<&'a str>,
}

/// The answer to a sign-in attempt.
pub enum SignIn {
    /// Signed in: set the session cookie to `cookie_value` (see [`Auth::session_cookie`]).
    Accepted(NewSession),
    /// Refused. The person signing in gets the same answer whatever the reason.
    Refused(Refusal),
    /// Too many attempts for this name or address: try again after this long (429).
    Throttled { retry_after: Duration },
}

/// A new session.
pub struct NewSession {
    pub session: Session,
    /// The session cookie's value (the session id); shown to nobody else.
    pub cookie_value: String,
}

/// Why a sign-in was refused — for the audit log only, never for the person signing in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The configured account the attempt named; `None` when the name is not configured (the
    /// typed text is not kept: it may be a password typed into the wrong field).
    pub account: Option<String>,
    pub reason: RefusalReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalReason {
    UnknownAccount,
    WrongPassword,
    MissingCode,
    WrongCode,
    /// A code that was already used (or is older than one that was).
    ReplayedCode,
}

/// An operator's live session.
#[derive(Debug, Clone)]
pub struct Session {
    pub operator: String,
    pub role: Role,
    /// The operator's configured language, if any.
    pub language: Option<Language>,
    /// Sign-in time, unix seconds.
    pub created: u64,
    id: SessionId,
}

impl Session {
    /// Whether the operator may use `area`.
    pub fn may(&self, area: Permission) -> bool {
        area.granted_to(self.role)
    }
}

/// A request's session, or why it has none.
#[derive(Debug)]
pub enum SessionState {
    Active(Session),
    Ended(SessionEnd),
}

/// Sign-in, sessions and CSRF tokens for the configured operators; shared by all workers.
pub struct Auth {
    accounts: Vec<Account>,
    verifier: std::sync::Arc<Verifier>,
    key: Key,
    store: Store,
    throttle: Throttle,
    idle: u64,
    absolute: u64,
    secure_cookie: SecureCookie,
}

impl Auth {
    /// Build from the validated `[dashboard]` section. Computes the dummy hash (one argon2
    /// run), so call it once at start.
    pub fn new(cfg: &DashboardConfig, keys: &Keys, store: Store) -> Result<Self, AuthError> {
        let key = keys.session.clone();
        let accounts = cfg
            .users
            .iter()
            .map(|u| Account {
                name: u.name.clone(),
                role: u.role,
                hash: u.password_hash.clone(),
                totp: u.totp_secret.as_ref().map(Totp::new),
                language: u.language,
                fingerprint: fingerprint(&key, u),
            })
            .collect();
        let verifier = Verifier::new(cfg.users.first().map(|u| &u.password_hash))?;
        Ok(Self {
            accounts,
            verifier: std::sync::Arc::new(verifier),
            key,
            throttle: Throttle::new(store.clone()),
            store,
            idle: cfg.idle_timeout.as_secs(),
            absolute: cfg.absolute_timeout.as_secs(),
            secure_cookie: cfg.secure_cookie,
        })
    }

    /// Whether the session cookie is Secure for a request that did (or did not) come in over
    /// HTTPS.
    pub fn secure_cookie(&self, request_https: bool) -> bool {
        self.secure_cookie.applies(request_https)
    }

    /// The session cookie carrying `value`.
    pub fn session_cookie(&self, value: String, secure: bool) -> Cookie<'static> {
        session::session_cookie(value, secure)
    }

    /// Check an attempt at `now` (unix s). Throttled attempts are not checked at all; every
    /// other one costs one argon2 run, on the blocking thread pool.
    pub async fn sign_in(&self, attempt: &Attempt<'_>, now: u64) -> Result<SignIn, AuthError> {
        let typed: String = attempt
            .name
            .trim()
            .chars()
            .take(MAX_NAME_INPUT)
            .collect::<String>()
            .to_lowercase();
        let keys = vec![
            format!(
                "acct:{}",
                &session::hex(&session::mac(
                    &self.key,
                    b"signin-account/v1",
                    typed.as_bytes()
                ))[..32]
            ),
            format!("addr:{}", attempt.address),
        ];
        if let Some(retry_after) = self.throttle.admit(&keys, now).await? {
            return Ok(SignIn::Throttled { retry_after });
        }
        let account = self.accounts.iter().find(|a| a.name == typed);
        let password_ok = {
            let verifier = self.verifier.clone();
            let hash = account.map(|a| a.hash.clone());
            let password = attempt.password.to_owned();
            tokio::task::spawn_blocking(move || verifier.verify(hash.as_ref(), &password))
                .await
                .map_err(|e| AuthError::Worker(e.to_string()))?
        };
        let verdict = match account {
            None => Err(RefusalReason::UnknownAccount),
            Some(_) if !password_ok => Err(RefusalReason::WrongPassword),
            Some(a) => self.second_factor(a, attempt.code, now).await?.map(|()| a),
        };
        match verdict {
            Ok(account) => {
                self.throttle.succeeded(&keys).await?;
                if let Some(old) = attempt.previous.and_then(SessionId::parse) {
                    self.store.delete_session(&old.store_key(&self.key)).await?;
                }
                Ok(SignIn::Accepted(self.start_session(account, now).await?))
            }
            Err(reason) => {
                self.throttle.failed(&keys).await?;
                Ok(SignIn::Refused(Refusal {
                    account: account.map(|a| a.name.clone()),
                    reason,
                }))
            }
        }
    }

    /// The TOTP check for an account whose password matched: `Ok(Ok(()))` when it has no
    /// second factor or the code is valid and unused.
    async fn second_factor(
        &self,
        account: &Account,
        code: Option<&str>,
        now: u64,
    ) -> Result<Result<(), RefusalReason>, AuthError> {
        let Some(totp) = &account.totp else {
            return Ok(Ok(()));
        };
        let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
            return Ok(Err(RefusalReason::MissingCode));
        };
        let Some(step) = totp.matching_step(code, now) else {
            return Ok(Err(RefusalReason::WrongCode));
        };
        // The first use of a step counts 1; a second use (replay) more. Earlier steps are
        // marked used too, so an older code captured alongside is refused as well.
        let marker = |s: u64| format!("totp:{}:{s}", account.name);
        let uses = self
            .store
            .hit_rate_limit(&marker(step), TOTP_REPLAY_MEMORY)
            .await?;
        if uses > 1 {
            return Ok(Err(RefusalReason::ReplayedCode));
        }
        for earlier in step.saturating_sub(2)..step {
            self.store
                .hit_rate_limit(&marker(earlier), TOTP_REPLAY_MEMORY)
                .await?;
        }
        Ok(Ok(()))
    }

    async fn start_session(&self, account: &Account, now: u64) -> Result<NewSession, AuthError> {
        let id = SessionId::random();
        let stored = StoredSession {
            user: account.name.clone(),
            fp: account.fingerprint.clone(),
            created: now,
            seen: now,
        };
        self.put(&id, &stored).await?;
        Ok(NewSession {
            cookie_value: id.cookie_value(),
            session: Session {
                operator: account.name.clone(),
                role: account.role,
                language: account.language,
                created: now,
                id,
            },
        })
    }

    async fn put(&self, id: &SessionId, stored: &StoredSession) -> Result<(), AuthError> {
        let bytes = serde_json::to_vec(stored)
            .map_err(|e| StoreError::Corrupt(format!("session record: {e}")))?;
        self.store
            .put_session(
                &id.store_key(&self.key),
                &bytes,
                Duration::from_secs(self.idle),
            )
            .await?;
        Ok(())
    }

    /// The session behind a session cookie value at `now` (unix s). An ended session is
    /// deleted from the store.
    pub async fn session(&self, cookie_value: &str, now: u64) -> Result<SessionState, AuthError> {
        let Some(id) = SessionId::parse(cookie_value) else {
            return Ok(SessionState::Ended(SessionEnd::Missing));
        };
        let store_key = id.store_key(&self.key);
        let Some(bytes) = self
            .store
            .get_session(&store_key, Duration::from_secs(self.idle))
            .await?
        else {
            return Ok(SessionState::Ended(SessionEnd::Missing));
        };
        // A record this version cannot read ends the session rather than failing the page.
        let Ok(mut stored) = serde_json::from_slice::<StoredSession>(&bytes) else {
            self.store.delete_session(&store_key).await?;
            return Ok(SessionState::Ended(SessionEnd::Revoked));
        };
        let account = self
            .accounts
            .iter()
            .find(|a| a.name == stored.user && a.fingerprint == stored.fp);
        let verdict = match account {
            None => Err(SessionEnd::Revoked),
            Some(a) => session::check_times(&stored, now, self.idle, self.absolute).map(|t| (a, t)),
        };
        let (account, touch) = match verdict {
            Ok(live) => live,
            Err(end) => {
                self.store.delete_session(&store_key).await?;
                return Ok(SessionState::Ended(end));
            }
        };
        if touch {
            stored.seen = now;
            self.put(&id, &stored).await?;
        }
        Ok(SessionState::Active(Session {
            operator: account.name.clone(),
            role: account.role,
            language: account.language,
            created: stored.created,
            id,
        }))
    }

    /// End the session behind a cookie value (sign-out). Unknown values are not an error.
    pub async fn sign_out(&self, cookie_value: &str) -> Result<(), AuthError> {
        if let Some(id) = SessionId::parse(cookie_value) {
            self.store.delete_session(&id.store_key(&self.key)).await?;
        }
        Ok(())
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, session: &Session) -> String {
        csrf::token(&self.key, &session.id)
    }

    /// Whether a submitted CSRF token belongs to this session (constant-time).
    pub fn csrf_valid(&self, session: &Session, presented: &str) -> bool {
        csrf::verify(&self.key, &session.id, presented)
    }
}

/// Keyed hash of everything in an entry that decides who may sign in and as what.
fn fingerprint(key: &Key, user: &DashboardUser) -> String {
    let mut data = Vec::new();
    for part in [
        user.name.as_bytes(),
        user.role.as_str().as_bytes(),
        user.password_hash.as_str().as_bytes(),
        user.totp_secret.as_ref().map_or(&[][..], |s| s.expose()),
    ] {
        data.extend_from_slice(&(part.len() as u64).to_be_bytes());
        data.extend_from_slice(part);
    }
    session::hex(&session::mac(key, b"account/v1", &data)[..16])
}

#[cfg(test)]
mod tests {
    use super::password::tests::test_hash;
    use super::*;
    use crate::config::dashboard::TotpSecret;
    use crate::config::Secret;

    const T0: u64 = 1_700_000_000;
    const PASSWORD: &str = "correct horse battery staple";

    fn user(name: &str, role: Role, totp: Option<&TotpSecret>) -> DashboardUser {
        DashboardUser {
            name: name.into(),
            password_hash: test_hash(PASSWORD),
            role,
            totp_secret: totp.cloned(),
            language: None,
        }
    }

    fn secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec())
    }

    fn auth_with(users: Vec<DashboardUser>, store: Store) -> Auth {
        let cfg = DashboardConfig {
            users,
            ..DashboardConfig::default()
        };
        let keys = Keys::derive(&Secret::new(
            b"auth-unit-test-secret-0123456789abcdef".to_vec(),
        ));
        Auth::new(&cfg, &keys, store).unwrap()
    }

    fn auth() -> Auth {
        auth_with(
            vec![
                user("ann", Role::Admin, None),
                user("tom", Role::Inbox, Some(&secret())),
            ],
            Store::memory(),
        )
    }

    fn attempt<'a>(name: &'a str, password: &'a str, code: Option<&'a str>) -> Attempt<'a> {
        Attempt {
            name,
            password,
            code,
            address: "192.0.2.0",
            previous: None,
        }
    }

    async fn signed_in(auth: &Auth, now: u64) -> NewSession {
        match auth
            .sign_in(&attempt("ann", PASSWORD, None), now)
            .await
            .unwrap()
        {
            SignIn::Accepted(s) => s,
            _ => panic!("ann could not sign in"),
        }
    }

    fn refusal(outcome: SignIn) -> Refusal {
        match outcome {
            SignIn::Refused(r) => r,
            SignIn::Accepted(_) => panic!("accepted"),
            SignIn::Throttled { .. } => panic!("throttled"),
        }
    }

    #[tokio::test]
    async fn right_password_signs_in_and_wrong_or_unknown_get_one_refusal() {
        let a = auth();
        let s = signed_in(&a, T0).await;
        assert_eq!(s.session.operator, "ann");
        assert_eq!(s.session.role, Role::Admin);
        // Name typed with capitals and spaces is the same account.
        assert!(matches!(
            a.sign_in(&attempt("  Ann ", PASSWORD, None), T0)
                .await
                .unwrap(),
            SignIn::Accepted(_)
        ));
        let wrong = refusal(a.sign_in(&attempt("ann", "nope", None), T0).await.unwrap());
        assert_eq!(wrong.account.as_deref(), Some("ann"));
        assert_eq!(wrong.reason, RefusalReason::WrongPassword);
        let unknown = refusal(
            a.sign_in(&attempt("mallory", PASSWORD, None), T0)
                .await
                .unwrap(),
        );
        assert_eq!(unknown.account, None, "the typed name is not kept");
        assert_eq!(unknown.reason, RefusalReason::UnknownAccount);
    }

    #[tokio::test]
    async fn totp_user_needs_a_fresh_code_and_a_code_works_once() {
        let a = auth();
        let t = Totp::new(&secret());
        // 55 s into a minute and 25 s into a step: five attempts fit before the minute ends
        // (the throttle allows five), all in the same step.
        let now = 1_700_000_035;
        let missing = refusal(
            a.sign_in(&attempt("tom", PASSWORD, None), now)
                .await
                .unwrap(),
        );
        assert_eq!(missing.reason, RefusalReason::MissingCode);
        let code = t.code_at(now);
        let last = code.as_bytes()[5] - b'0';
        let wrong_code = format!("{}{}", &code[..5], (last + 1) % 10);
        let wrong = refusal(
            a.sign_in(&attempt("tom", PASSWORD, Some(&wrong_code)), now)
                .await
                .unwrap(),
        );
        assert_eq!(wrong.reason, RefusalReason::WrongCode);
        assert!(matches!(
            a.sign_in(&attempt("tom", PASSWORD, Some(&code)), now + 1)
                .await
                .unwrap(),
            SignIn::Accepted(_)
        ));
        let replay = refusal(
            a.sign_in(&attempt("tom", PASSWORD, Some(&code)), now + 2)
                .await
                .unwrap(),
        );
        assert_eq!(replay.reason, RefusalReason::ReplayedCode);
        let older = t.code_at(now - totp::STEP_SECS);
        let older = refusal(
            a.sign_in(&attempt("tom", PASSWORD, Some(&older)), now + 3)
                .await
                .unwrap(),
        );
        assert_eq!(older.reason, RefusalReason::ReplayedCode);
        // Next minute, next step: the code of the step after it (a phone clock slightly
        // ahead) has not been used, so it is accepted.
        let ahead = t.code_at(now + 2 * totp::STEP_SECS);
        assert!(matches!(
            a.sign_in(&attempt("tom", PASSWORD, Some(&ahead)), now + 10)
                .await
                .unwrap(),
            SignIn::Accepted(_)
        ));
        // A right code never rescues a wrong password.
        let later = now + 10 * totp::STEP_SECS;
        let code = t.code_at(later);
        let r = refusal(
            a.sign_in(&attempt("tom", "wrong", Some(&code)), later)
                .await
                .unwrap(),
        );
        assert_eq!(r.reason, RefusalReason::WrongPassword);
    }

    #[tokio::test]
    async fn sixth_attempt_in_a_minute_is_throttled_for_known_and_unknown_names_alike() {
        let a = auth();
        for name in ["ann", "nobody"] {
            let start = T0 - T0 % 60 + 3600 * u64::from(name == "nobody");
            for i in 0..5 {
                let other = Attempt {
                    address: if name == "ann" {
                        "192.0.2.0"
                    } else {
                        "198.51.100.0"
                    },
                    ..attempt(name, "wrong", None)
                };
                assert!(
                    matches!(
                        a.sign_in(&other, start + i).await.unwrap(),
                        SignIn::Refused(_)
                    ),
                    "{name} attempt {i}"
                );
            }
            let sixth = a
                .sign_in(&attempt(name, PASSWORD, None), start + 5)
                .await
                .unwrap();
            match sixth {
                SignIn::Throttled { retry_after } => {
                    assert_eq!(retry_after, Duration::from_secs(55), "{name}")
                }
                _ => panic!("{name}: sixth attempt was not throttled"),
            }
        }
    }

    #[tokio::test]
    async fn sessions_end_after_idle_time_and_absolute_time() {
        let a = auth();
        let s = signed_in(&a, T0).await;
        let v = s.cookie_value.clone();
        let idle = a.idle;
        // Requests every 20 minutes keep it alive past the first idle deadline...
        let mut now = T0;
        for _ in 0..3 {
            now += 20 * 60;
            assert!(matches!(
                a.session(&v, now).await.unwrap(),
                SessionState::Active(_)
            ));
        }
        // ...and a pause of the idle timeout ends it, for good.
        assert!(matches!(
            a.session(&v, now + idle).await.unwrap(),
            SessionState::Ended(SessionEnd::IdleTimeout)
        ));
        assert!(matches!(
            a.session(&v, now + 1).await.unwrap(),
            SessionState::Ended(SessionEnd::Missing)
        ));

        let s = signed_in(&a, T0).await;
        let mut now = T0;
        while now + 25 * 60 < T0 + a.absolute {
            now += 25 * 60;
            assert!(matches!(
                a.session(&s.cookie_value, now).await.unwrap(),
                SessionState::Active(_)
            ));
        }
        assert!(matches!(
            a.session(&s.cookie_value, T0 + a.absolute).await.unwrap(),
            SessionState::Ended(SessionEnd::AbsoluteTimeout)
        ));
    }

    #[tokio::test]
    async fn sign_in_rotates_the_session_and_sign_out_ends_it() {
        let a = auth();
        let first = signed_in(&a, T0).await;
        let second = match a
            .sign_in(
                &Attempt {
                    previous: Some(&first.cookie_value),
                    ..attempt("ann", PASSWORD, None)
                },
                T0 + 1,
            )
            .await
            .unwrap()
        {
            SignIn::Accepted(s) => s,
            _ => panic!("refused"),
        };
        assert_ne!(first.cookie_value, second.cookie_value);
        assert!(matches!(
            a.session(&first.cookie_value, T0 + 2).await.unwrap(),
            SessionState::Ended(SessionEnd::Missing)
        ));
        a.sign_out(&second.cookie_value).await.unwrap();
        assert!(matches!(
            a.session(&second.cookie_value, T0 + 3).await.unwrap(),
            SessionState::Ended(SessionEnd::Missing)
        ));
        a.sign_out("not a session").await.unwrap();
        assert!(matches!(
            a.session("not a session", T0).await.unwrap(),
            SessionState::Ended(SessionEnd::Missing)
        ));
    }

    #[tokio::test]
    async fn changing_or_removing_the_users_entry_revokes_the_session() {
        let store = Store::memory();
        let ann = user("ann", Role::Admin, None);
        let before = auth_with(vec![ann.clone()], store.clone());
        let s = signed_in(&before, T0).await;
        // The same entry after a restart: the session survives.
        let restarted = auth_with(vec![ann.clone()], store.clone());
        assert!(matches!(
            restarted.session(&s.cookie_value, T0 + 1).await.unwrap(),
            SessionState::Active(_)
        ));
        // Language is not about access: changing it keeps the session.
        let relabelled = DashboardUser {
            language: Some(Language::En),
            ..ann.clone()
        };
        assert!(matches!(
            auth_with(vec![relabelled], store.clone())
                .session(&s.cookie_value, T0 + 1)
                .await
                .unwrap(),
            SessionState::Active(_)
        ));
        let demoted = DashboardUser {
            role: Role::Analyst,
            ..ann.clone()
        };
        let new_password = DashboardUser {
            password_hash: test_hash("another long password"),
            ..ann.clone()
        };
        let with_totp = DashboardUser {
            totp_secret: Some(secret()),
            ..ann.clone()
        };
        for changed in [vec![demoted], vec![new_password], vec![with_totp], vec![]] {
            let s = signed_in(&before, T0).await;
            let after = auth_with(changed, store.clone());
            assert!(matches!(
                after.session(&s.cookie_value, T0 + 2).await.unwrap(),
                SessionState::Ended(SessionEnd::Revoked)
            ));
        }
    }

    #[tokio::test]
    async fn csrf_token_is_per_session() {
        let a = auth();
        let one = signed_in(&a, T0).await.session;
        let two = signed_in(&a, T0).await.session;
        let token = a.csrf_token(&one);
        assert!(a.csrf_valid(&one, &token));
        assert!(!a.csrf_valid(&two, &token));
        assert!(!a.csrf_valid(&one, ""));
        // The token survives the session being looked up again.
        let again = match a
            .session(&signed_in(&a, T0).await.cookie_value, T0)
            .await
            .unwrap()
        {
            SessionState::Active(s) => s,
            SessionState::Ended(e) => panic!("{e:?}"),
        };
        assert!(a.csrf_valid(&again, &a.csrf_token(&again)));
    }
}
