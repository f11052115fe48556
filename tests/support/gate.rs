//! The one way integration tests start a consentgate: the real `server::start` (both listeners,
//! every area, the page rewriter) on free loopback ports, in-process.
//!
//! * [`TestGate`]: a builder for what differs between tests — the upstream, the store, and the
//!   configuration (TOML fragments merged over test defaults, then edits on the parsed
//!   [`Config`]).
//! * [`RunningTestGate`]: the started gate, with its addresses, its configuration and a handle on
//!   its store; dropping it stops the gate.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use consentgate::clock::{SharedClock, SystemClock};
use consentgate::config::{Config, StoreBackend, ENV_PREVIOUS_SECRETS, ENV_SECRET};
use consentgate::consent::ConsentService;
use consentgate::forms::FormsService;
use consentgate::keys::Keys;
use consentgate::server::{self, AppState, Areas, RunningGate, StartError};
use consentgate::store::Store;

pub const TEST_SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

/// The upstream of a gate whose test never reaches the site (nothing listens on the discard
/// port).
pub const NO_UPSTREAM: &str = "http://127.0.0.1:9";

/// What every test gate starts from; a test's own TOML is merged over it. One worker keeps the
/// suite light on a small machine; short upstream timeouts keep failing tests quick. The site's
/// names are the loopback ones the tests (and the browser) reach the gate by, as an operator
/// would list theirs.
fn defaults() -> String {
    format!(
        "[listen]\nworkers = 1\nhosts = [\"127.0.0.1\", \"[::1]\", \"localhost\"]\n\
         [upstream]\nurl = \"{NO_UPSTREAM}\"\n\
         connect_timeout = \"1s\"\nresponse_timeout = \"2s\"\n"
    )
}

/// Where the gate's data lives.
#[derive(Clone)]
pub enum StoreChoice {
    /// The embedded store (the default); the test reads the very store the gate writes to.
    Memory,
    /// A store the test already holds, e.g. the one an earlier gate used
    /// ([`RunningTestGate::same_store`]).
    Shared(Store),
    /// A standalone `redis-server` (`redis://127.0.0.1:<port>/`): the gate opens it from its
    /// configuration, as in production.
    Redis(String),
    /// A Redis Cluster, given as the seed list (`redis://a/,redis://b/,…`).
    Cluster(String),
}

/// A change to the parsed configuration ([`TestGate::config`]).
type ConfigEdit = Box<dyn FnOnce(&mut Config)>;

/// A gate to be started; see the module documentation.
pub struct TestGate {
    upstream: Option<String>,
    toml: Vec<String>,
    edits: Vec<ConfigEdit>,
    store: StoreChoice,
    env: BTreeMap<String, String>,
    clock: Option<SharedClock>,
}

impl Default for TestGate {
    fn default() -> Self {
        Self::new()
    }
}

impl TestGate {
    /// A gate in front of [`NO_UPSTREAM`], on the embedded store, with [`TEST_SECRET`].
    pub fn new() -> TestGate {
        TestGate {
            upstream: None,
            toml: Vec::new(),
            edits: Vec::new(),
            store: StoreChoice::Memory,
            env: [(ENV_SECRET.to_owned(), TEST_SECRET.to_owned())].into(),
            clock: None,
        }
    }

    /// The site behind the gate (`http://127.0.0.1:<port>`); wins over `upstream.url` in any
    /// TOML given.
    pub fn upstream(mut self, url: &str) -> TestGate {
        self.upstream = Some(url.to_owned());
        self
    }

    /// TOML merged over the defaults and over earlier fragments (tables merge key by key, a
    /// later value wins). May be a whole file such as config/demo.toml.
    pub fn config_toml(mut self, toml: &str) -> TestGate {
        self.toml.push(toml.to_owned());
        self
    }

    /// An edit of the parsed configuration, for what TOML cannot say or a test computes.
    pub fn config(mut self, edit: impl FnOnce(&mut Config) + 'static) -> TestGate {
        self.edits.push(Box::new(edit));
        self
    }

    /// Run the gate on this clock instead of the system's (e.g. a `TestClock` a test moves).
    pub fn clock(mut self, clock: SharedClock) -> TestGate {
        self.clock = Some(clock);
        self
    }

    pub fn store(mut self, store: StoreChoice) -> TestGate {
        self.store = store;
        self
    }

    /// `CONSENTGATE_SECRET` (default [`TEST_SECRET`]).
    pub fn secret(mut self, secret: &str) -> TestGate {
        self.env.insert(ENV_SECRET.to_owned(), secret.to_owned());
        self
    }

    /// `CONSENTGATE_PREVIOUS_SECRETS`: earlier secrets whose form entries still open.
    pub fn previous_secrets(mut self, secrets: &str) -> TestGate {
        self.env
            .insert(ENV_PREVIOUS_SECRETS.to_owned(), secrets.to_owned());
        self
    }

    /// The configuration the gate would start with (the test fails if it is invalid).
    pub fn build_config(&mut self) -> Config {
        // Defaults, then the test's fragments, then what the builder was told explicitly.
        let mut forced = "[listen]\npublic = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\n".to_owned();
        if let Some(url) = &self.upstream {
            forced.push_str(&format!("[upstream]\nurl = \"{url}\"\n"));
        }
        match &self.store {
            StoreChoice::Redis(url) => forced.push_str(&format!(
                "[store]\nbackend = \"redis\"\nredis_url = \"{url}\"\n"
            )),
            StoreChoice::Cluster(url) => forced.push_str(&format!(
                "[store]\nbackend = \"redis_cluster\"\nredis_url = \"{url}\"\n"
            )),
            StoreChoice::Memory | StoreChoice::Shared(_) => {}
        }
        let defaults = defaults();
        let mut table = toml::Table::new();
        for layer in std::iter::once(&defaults)
            .chain(&self.toml)
            .chain(std::iter::once(&forced))
        {
            let parsed: toml::Table = layer
                .parse()
                .unwrap_or_else(|e| panic!("test TOML does not parse: {e}\n---\n{layer}"));
            merge(&mut table, parsed);
        }
        let text = toml::to_string(&table).expect("TOML table serialises");
        let mut config = match Config::from_toml(&text, &self.env) {
            Ok((config, _)) => config,
            Err(e) => panic!("test config invalid:\n{e}\n---\n{text}"),
        };
        for edit in self.edits.drain(..) {
            edit(&mut config);
        }
        config
    }

    /// Start the gate; the test fails if it does not start.
    pub async fn start(self) -> RunningTestGate {
        match self.try_start().await {
            Ok(gate) => gate,
            Err(e) => panic!("gate did not start: {e}"),
        }
    }

    /// Start the gate, or say why it refused (for tests of start-up errors).
    pub async fn try_start(mut self) -> Result<RunningTestGate, StartError> {
        let config = self.build_config();
        let custom_clock = self.clock.is_some();
        let clock = self.clock.unwrap_or_else(SystemClock::shared);
        let (running, store) = match self.store {
            StoreChoice::Memory => {
                let store = Store::connect(&config.store).await?;
                (
                    server::start_with_clock(config.clone(), store.clone(), clock).await?,
                    store,
                )
            }
            StoreChoice::Shared(store) => (
                server::start_with_clock(config.clone(), store.clone(), clock).await?,
                store,
            ),
            // The gate must run on the test's clock: it gets a store opened here.
            StoreChoice::Redis(_) | StoreChoice::Cluster(_) if custom_clock => {
                let store = Store::connect(&config.store).await?;
                (
                    server::start_with_clock(config.clone(), store.clone(), clock).await?,
                    store,
                )
            }
            StoreChoice::Redis(_) | StoreChoice::Cluster(_) => {
                let running = server::start(config.clone()).await?;
                // The test's own connection, driven by the test's runtime: it outlives the gate's
                // workers, and a test may keep reading after the gate stopped.
                (running, Store::connect(&config.store).await?)
            }
        };
        Ok(RunningTestGate {
            public_addr: running.public_addr,
            admin_addr: running.admin_addr,
            config,
            store,
            running: Some(running),
        })
    }
}

/// `from` over `into`: tables merge recursively, any other value replaces.
fn merge(into: &mut toml::Table, from: toml::Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(toml::Value::Table(mine)), toml::Value::Table(theirs)) => merge(mine, theirs),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// A started gate. Dropping it stops the gate.
pub struct RunningTestGate {
    pub public_addr: SocketAddr,
    pub admin_addr: SocketAddr,
    config: Config,
    store: Store,
    running: Option<RunningGate>,
}

impl RunningTestGate {
    /// `http://<public listener><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.public_addr)
    }

    /// `http://<admin listener><path>`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin_addr)
    }

    /// The public listener's origin, as a browser sends it in `Origin`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.public_addr)
    }

    /// The configuration the gate runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The gate's store: the same one for [`StoreChoice::Memory`] and [`StoreChoice::Shared`],
    /// the test's own connection to the same server for Redis.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store choice that puts another gate on this gate's data.
    pub fn same_store(&self) -> StoreChoice {
        match (self.config.store.backend, &self.config.store.redis_url) {
            (StoreBackend::Redis, Some(url)) => StoreChoice::Redis(url.clone()),
            (StoreBackend::RedisCluster, Some(url)) => StoreChoice::Cluster(url.clone()),
            _ => StoreChoice::Shared(self.store.clone()),
        }
    }

    /// The keys the gate derives from its secret.
    pub fn keys(&self) -> Keys {
        Keys::derive(
            self.config
                .secret
                .as_ref()
                .expect("test gates have a secret"),
        )
    }

    /// The consent area the gate serves now: the banner's asset names and texts hashes,
    /// exactly what the gate serves.
    pub fn consent(&self) -> Consent {
        Consent(self.state().areas())
    }

    /// The forms area on the gate's store: the inbox API the dashboard uses.
    pub fn forms(&self) -> FormsService {
        self.state().areas().forms.clone()
    }

    /// The texts hash the banner sends with a decision in `language`.
    pub fn texts_hash(&self, language: &str) -> String {
        self.consent().bundle().texts_hash[language].clone()
    }

    /// Record the consent decision `body` (`/_gate/consent`, same origin) and return the
    /// `cg_consent=…` pair the answer set, for the requests of a visitor who decided so.
    pub async fn decide(&self, body: &serde_json::Value) -> String {
        let res = awc::Client::new()
            .post(self.url("/_gate/consent"))
            .insert_header(("origin", self.origin()))
            .send_json(body)
            .await
            .expect("consent decision sent");
        assert_eq!(res.status().as_u16(), 200, "consent decision recorded");
        let set = res
            .headers()
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("cg_consent="))
            .expect("cg_consent set")
            .to_owned();
        set.split(';').next().unwrap_or_default().to_owned()
    }

    /// The running gate's state: its services, statistics and clock.
    pub fn state(&self) -> &AppState {
        self.running
            .as_ref()
            .expect("the gate runs until stop() or drop")
            .state()
    }

    /// Stop both listeners and wait until in-flight requests have finished.
    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

impl Drop for RunningTestGate {
    fn drop(&mut self) {
        // Drop cannot wait: the stop runs on the runtime's next turn. When the test is over
        // instead, the runtime's end drops the servers, which stops their workers and closes
        // the listeners all the same.
        if let (Some(running), Ok(runtime)) =
            (self.running.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(running.stop());
        }
    }
}

/// The consent service a gate serves at the moment it was asked for ([`RunningTestGate::consent`]).
pub struct Consent(Arc<Areas>);

impl std::ops::Deref for Consent {
    type Target = ConsentService;

    fn deref(&self) -> &ConsentService {
        &self.0.consent
    }
}
