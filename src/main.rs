//! The `consentgate` command line: thin wrappers around the library.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use consentgate::clock::{Clock, SystemClock};
use consentgate::config::{self, Config, ConfigError, EnvSource, ProcessEnv};
use consentgate::dashboard::audit::AuditLog;
use consentgate::dashboard::auth::Permission;
use consentgate::dashboard::desk::{Desk, Finish, ReceiptFormat};
use consentgate::dashboard::views::{day_range_ms, human_time, parse_day};
use consentgate::forms::{FormsService, MAX_PAGE};
use consentgate::keys::Keys;
use consentgate::privacy::Privacy;
use consentgate::proxy::ProxySettings;
use consentgate::rewrite::{self, Rewriter};
use consentgate::server;
use consentgate::store::Store;
use std::io::{Read, Write};

// glibc malloc spends measurable time consolidating the 8–64 KiB buffers every proxied page
// allocates; mimalloc's per-thread free lists fit the one-runtime-per-worker model.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "consentgate",
    version,
    about = "A reverse proxy that makes a website keep its privacy statement"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gate in front of the configured upstream.
    Serve {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a configuration file and print every problem with its key (exit 1 if any).
    CheckConfig {
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Print what the gate would send for an HTML page (banner injected, trackers inert).
    Rewrite {
        /// HTML file, or - for standard input.
        #[arg(default_value = "-")]
        input: PathBuf,
        /// Use this configuration's tracker catalogue and banner (default: built-in).
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The page's path on the site (a form with a relative or empty action posts there).
        #[arg(long, default_value = "/")]
        path: String,
    },
    /// List the trackers in an HTML page (vendor, element, line) and what the gate does with each,
    /// then the other third-party hosts it loads from that the catalogue does not know.
    /// Also lists every form: where it posts (and a form plugin's own endpoint), and whether
    /// the configuration's [[forms]] capture it.
    Scan {
        /// HTML file, or - for standard input.
        #[arg(default_value = "-")]
        input: PathBuf,
        /// Use this configuration's tracker catalogue and forms (default: built-in, no forms).
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The page's path on the site (a form with a relative or empty action posts there).
        #[arg(long, default_value = "/")]
        path: String,
    },
    /// Hash an operator's password for `[[dashboard.users]] password_hash`. Reads it from
    /// standard input: asked twice without echo on a terminal, one line when piped.
    HashPassword,
    /// Make a TOTP secret for an operator: prints `totp_secret = "…"` for their
    /// `[[dashboard.users]]` entry and an otpauth:// URI for an authenticator app. Shown once.
    TotpSecret {
        /// The operator's `name` in `[[dashboard.users]]`.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// Name the authenticator app shows for the account.
        #[arg(long, default_value = "consentgate")]
        issuer: String,
    },
    /// Read and handle the contact-form inbox from the command line, each action audited like
    /// the dashboard's. Works on the configured store: Redis in production. With the memory
    /// backend this process has its own, empty store and sees none of the gate's entries.
    Inbox {
        #[command(flatten)]
        desk: DeskArgs,
        #[command(subcommand)]
        action: InboxAction,
    },
    /// Look up and export consent receipts from the command line, audited like the
    /// dashboard. Works on the configured store (Redis; the memory backend is empty here).
    Receipts {
        #[command(flatten)]
        desk: DeskArgs,
        #[command(subcommand)]
        action: ReceiptsAction,
    },
    /// Run the demo website with the gate in front of it, on the embedded store.
    Demo {
        /// Public address of the gate.
        #[arg(long, default_value = "127.0.0.1:8080")]
        public: SocketAddr,
        /// Admin (dashboard) address.
        #[arg(long, default_value = "127.0.0.1:8081")]
        admin: SocketAddr,
        /// Also send a bounded burst of made-up visits and consent decisions to the gate
        /// (loopback only), so the dashboard's overview shows figures at once.
        #[arg(long)]
        traffic: bool,
    },
}

/// Who acts on which store, for `inbox` and `receipts`.
#[derive(clap::Args)]
struct DeskArgs {
    /// The gate's configuration file (its store and secret are used).
    #[arg(long, short, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The operator acting: a `[[dashboard.users]]` name whose role allows it; the audit log
    /// records them.
    #[arg(long = "as", value_name = "NAME", global = true)]
    operator: Option<String>,
}

#[derive(Subcommand)]
enum InboxAction {
    /// List a form's entries, newest first: id, received, time left, size — no content.
    List {
        /// The form (`[[forms]] id`); default: every form.
        #[arg(long)]
        form: Option<String>,
    },
    /// Print every field of one entry (audited: entry_opened).
    Show {
        #[arg(long)]
        form: String,
        entry: String,
    },
    /// Print one entry, or every entry of the form, as JSON (audited).
    Export {
        #[arg(long)]
        form: String,
        entry: Option<String>,
    },
    /// Mark an entry handled, which deletes it for good (audited: entry_handled).
    Handled {
        #[arg(long)]
        form: String,
        entry: String,
    },
}

#[derive(Subcommand)]
enum ReceiptsAction {
    /// Print a consent record: every decision of one consent id (audited: consent_looked_up).
    Show {
        // Ids are random base64url and may start with `-`.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// Export one consent record as ISO/IEC TS 27560 JSON (give its id), or the receipts of a
    /// date range as JSON lines or CSV (give --from and --to) (audited).
    Export {
        /// A consent id.
        #[arg(allow_hyphen_values = true)]
        id: Option<String>,
        /// First day, YYYY-MM-DD (UTC).
        #[arg(long, requires = "to", conflicts_with = "id")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (UTC), included.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Only this action: accept_all, reject_all, custom or withdraw.
        #[arg(long)]
        action: Option<String>,
        /// jsonl (default) or csv.
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(&config).await,
        Command::CheckConfig { config } => return check_config(&config),
        Command::Demo {
            public,
            admin,
            traffic,
        } => demo(public, admin, traffic).await,
        Command::Rewrite {
            input,
            config,
            path,
        } => rewrite_page(&input, config.as_deref(), &path),
        Command::Scan {
            input,
            config,
            path,
        } => scan_page(&input, config.as_deref(), &path),
        Command::HashPassword => hash_password(),
        Command::TotpSecret { user, issuer } => totp_secret(&user, &issuer),
        Command::Inbox { desk, action } => inbox(&desk, action).await,
        Command::Receipts { desk, action } => receipts(&desk, action).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consentgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `FILE has N problem(s):` and one indented line per problem.
fn problems_report(path: &Path, problems: &[String]) -> String {
    let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
    format!(
        "{} has {} problem(s):\n{}",
        path.display(),
        problems.len(),
        lines.join("\n")
    )
}

/// Load the configuration; its warnings are printed whether or not it has problems.
fn load(path: &Path, env: &dyn EnvSource) -> anyhow::Result<Config> {
    let (config, warnings) = load_with_warnings(path, env);
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
    config
}

/// Load the configuration; its warnings are returned for the caller to report.
fn load_with_warnings(path: &Path, env: &dyn EnvSource) -> (anyhow::Result<Config>, Vec<String>) {
    let (config, notes) = Config::check(path, env);
    (reported(path, config), notes.warnings)
}

/// A configuration, or every problem of `path` in one report.
fn reported(path: &Path, config: Result<Config, ConfigError>) -> anyhow::Result<Config> {
    config.map_err(|ConfigError(problems)| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(problems_report(path, &problems))
    })
}

async fn serve(path: &Path) -> anyhow::Result<()> {
    // Read once: what the gate starts with is what a reload (SIGHUP) compares the file with.
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (config, notes) = Config::check_toml(&text, &ProcessEnv);
    let (config, warnings) = (reported(path, config), notes.warnings);
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            for warning in warnings {
                eprintln!("warning: {warning}");
            }
            return Err(e);
        }
    };
    consentgate::telemetry::init(&config.log);
    // In the gate's own log (text or JSON), where the operator looks.
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let start_up = purge_freed_memory_at_once();
    let gate = server::start(config).await.context("cannot start")?;
    keep_releasing_freed_memory(start_up);
    let reloader = server::Reloader::new(path, &text, Box::new(ProcessEnv));
    gate.run(Some(reloader))
        .await
        .context("server stopped with an error")
}

/// Hand memory the gate used and freed back to the OS, now and then every
/// [`RELEASE_EVERY`]. Building the gate churns through ~100 MiB (the assets' brotli at
/// quality 11 above all) and a burst of connections through tens more; mimalloc returns freed
/// pages only a while later and only when the thread that freed them allocates again, which
/// an idle gate does not — they stayed in its RSS. A forced collection purges every page
/// freed back to the allocator's arena by the calling thread; it costs microseconds. The
/// start-up's pages, freed by the workers as well, are purged as they are freed (see
/// [`purge_freed_memory_at_once`]) until the second collection, when the delay mimalloc
/// serves with comes back.
fn keep_releasing_freed_memory(start_up: StartUpPurge) {
    actix_web::rt::spawn(async move {
        // The first tick is at once: start-up's temporaries go first.
        let mut every = tokio::time::interval(RELEASE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        release_freed_memory();
        every.tick().await;
        start_up.end();
        loop {
            release_freed_memory();
            every.tick().await;
        }
    });
}

/// How often freed memory is handed back to the OS.
const RELEASE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

fn release_freed_memory() {
    // SAFETY: mi_collect takes no pointers and only walks mimalloc's own free lists and
    // arenas under its own locks; mimalloc allows it from any thread at any time.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true)
    };
}

/// `mi_option_purge_delay` in mimalloc 3's `mimalloc.h` (libmimalloc-sys names no constant for
/// it): milliseconds before a freed page goes back to the OS; 0 is at once.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The purge delay to restore once the gate is up.
struct StartUpPurge(std::ffi::c_long);

/// Purge freed pages at once while the gate is being built: every thread's start-up
/// temporaries leave at once instead of sitting in partly used pages (idle RSS 36 → 24 MiB,
/// measured). Serving with no delay costs ~8 % CPU on small pages, so the delay comes back
/// once the gate runs ([`StartUpPurge::end`]). Call before any worker thread starts.
fn purge_freed_memory_at_once() -> StartUpPurge {
    // SAFETY: mi_option_get/set take an option number and a value, no pointers; called before
    // the gate starts any thread.
    #[allow(unsafe_code)]
    unsafe {
        let serving = libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
        StartUpPurge(serving)
    }
}

impl StartUpPurge {
    fn end(self) {
        // SAFETY: as above; the option is initialised by now, so this is one aligned store of
        // a `long` that the allocator's threads read as a whole, old or new.
        #[allow(unsafe_code)]
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, self.0)
        };
    }
}

fn check_config(path: &Path) -> ExitCode {
    let config = match load(path, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e:#}");
            return ExitCode::FAILURE;
        }
    };
    // Opening the geo database and the upstream CA file is part of starting; a corrupt file
    // must show up here too.
    let start_problems: Vec<String> = [
        Privacy::new(&config.privacy).err().map(|e| e.to_string()),
        ProxySettings::from_config(&config)
            .err()
            .map(|e| e.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !start_problems.is_empty() {
        eprintln!("{}", problems_report(path, &start_problems));
        return ExitCode::FAILURE;
    }
    println!(
        "{}: OK — public {} → upstream {}, admin {}",
        path.display(),
        config.listen.public,
        config.upstream.base_url(),
        config.listen.admin
    );
    ExitCode::SUCCESS
}

/// The configuration for `rewrite`/`scan`: the file if given (its secret is not needed to
/// rewrite, so a placeholder stands in when the environment has none), else the defaults.
fn offline_config(path: Option<&Path>) -> anyhow::Result<Config> {
    let mut env: BTreeMap<String, String> = ProcessEnv
        .names()
        .into_iter()
        .filter_map(|k| ProcessEnv.var(&k).map(|v| (k, v)))
        .collect();
    env.entry(config::ENV_SECRET.to_owned())
        .or_insert_with(random_secret);
    match path {
        Some(path) => load(path, &env),
        None => {
            let (config, _) = Config::from_toml("[upstream]\nurl = \"http://127.0.0.1/\"\n", &env)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            Ok(config)
        }
    }
}

fn offline_rewriter(config: Option<&Path>) -> anyhow::Result<Rewriter> {
    Ok(offline_areas(config)?.0)
}

/// The rewriter and the forms service a gate with `config` would run, without a store.
fn offline_areas(config: Option<&Path>) -> anyhow::Result<(Rewriter, FormsService)> {
    let config = offline_config(config)?;
    let secret = config.secret.clone().context("no secret")?;
    let (rewriter, _, forms) =
        server::page_rewriter(&config, &Keys::derive(&secret), Store::memory())?;
    Ok((rewriter, forms))
}

fn read_input(input: &Path) -> anyhow::Result<Vec<u8>> {
    if input == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read standard input")?;
        Ok(buf)
    } else {
        std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))
    }
}

fn rewrite_page(input: &Path, config: Option<&Path>, path: &str) -> anyhow::Result<()> {
    let rewriter = offline_rewriter(config)?;
    let page = read_input(input)?;
    // A page the gate would refuse (502) is not printed half-rewritten.
    let out = rewrite::rewrite_document_at(&rewriter, &page, path)
        .context("the gate would refuse this page (502)")?;
    std::io::stdout()
        .write_all(&out)
        .context("cannot write to standard output")
}

fn scan_page(input: &Path, config: Option<&Path>, path: &str) -> anyhow::Result<()> {
    let (rewriter, forms) = offline_areas(config)?;
    let page = read_input(input)?;
    let findings = rewrite::scan_document(&rewriter, &page)
        .context("the gate would refuse this page (502)")?;
    for finding in &findings {
        println!("{finding}");
    }
    let inert = findings
        .iter()
        .filter(|f| f.action == rewrite::Action::Neutralised)
        .count();
    println!(
        "{} tracker element(s) found; {inert} made inert until consent, {} already inert.",
        findings.len(),
        findings.len() - inert
    );
    // The third parties the catalogue does not know: not blocked, so worth a look.
    let site = offline_config(config)?;
    let own: Vec<String> = site
        .listen
        .hosts
        .iter()
        .map(|h| h.name.clone())
        .chain(
            site.upstream
                .url
                .iter()
                .filter_map(|u| u.host_str().map(str::to_owned)),
        )
        .map(|h| h.strip_prefix("www.").unwrap_or(&h).to_owned())
        .collect();
    let unknown = rewrite::unknown_hosts(&page, rewriter.catalogue(), &own);
    let listed: Vec<String> = unknown.iter().map(ToString::to_string).collect();
    if listed.is_empty() {
        println!("No other third-party hosts.");
    } else {
        println!(
            "{} other third-party host(s) the catalogue does not know (not blocked): {}",
            listed.len(),
            listed.join(", ")
        );
    }
    let forms = consentgate::forms::report::report(&forms, path, &page);
    for form in &forms {
        println!("{form}");
    }
    let open = forms
        .iter()
        .filter(|f| f.plugin_form.is_some() && f.plugin_captured_by.is_none())
        .count();
    println!(
        "{} form(s) found; {open} form plugin form(s) not captured.",
        forms.len()
    );
    Ok(())
}

fn hash_password() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        // rpassword prompts on the terminal itself, so standard output holds only the hash.
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let again = rpassword::prompt_password("Same password again: ")
            .context("cannot read the password")?;
        if first != again {
            anyhow::bail!("the two passwords differ; nothing was hashed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let phc = consentgate::dashboard::auth::hash_password(&password)?;
    println!("{phc}");
    Ok(())
}

fn totp_secret(user: &str, issuer: &str) -> anyhow::Result<()> {
    if !config::dashboard::valid_user_name(user) {
        anyhow::bail!(
            "--user {user:?}: expected the operator's name, 1–{} characters a-z, 0-9, '.', '_', '@' or '-'",
            config::dashboard::MAX_USER_NAME_LEN
        );
    }
    let setup = consentgate::dashboard::auth::new_secret(user, issuer)?;
    eprintln!("Add this line to the [[dashboard.users]] entry with name = {user:?}:");
    println!("totp_secret = \"{}\"", setup.secret_base32);
    eprintln!("and add this to the operator's authenticator app (as a QR code, or paste it):");
    println!("{}", setup.uri);
    eprintln!("It is shown only now; anyone who has it can make codes for {user}.");
    Ok(())
}

/// The services `inbox` and `receipts` act through, on the configured store.
struct DeskContext {
    config: Config,
    keys: Keys,
    forms: consentgate::forms::FormsService,
    consent: consentgate::consent::ConsentService,
    audit: AuditLog,
    operator: String,
}

impl DeskContext {
    /// Load the configuration, check that `--as` names an operator whose role has `need`, and
    /// open the store.
    async fn open(args: &DeskArgs, need: Permission) -> anyhow::Result<DeskContext> {
        let path = args.config.as_deref().context(
            "--config FILE is required: the gate's configuration (its store and secret)",
        )?;
        let name = args
            .operator
            .as_deref()
            .context("--as NAME is required: the operator acting, for the audit log")?;
        let config = load(path, &ProcessEnv)?;
        let user = config
            .dashboard
            .users
            .iter()
            .find(|u| u.name == name)
            .with_context(|| format!("--as {name}: no such operator in [[dashboard.users]]"))?;
        if !need.granted_to(user.role) {
            anyhow::bail!(
                "--as {name}: the role {} may not do this",
                user.role.as_str()
            );
        }
        if config.store.backend == config::StoreBackend::Memory {
            eprintln!(
                "warning: store.backend is \"memory\": this command has its own, empty store and \
                 cannot see what a running gate stored; use Redis to work on it from here"
            );
        }
        let secret = config.secret.clone().context("no secret")?;
        let keys = Keys::derive(&secret);
        let store = Store::connect(&config.store).await?;
        let (_, consent, forms) = server::page_rewriter(&config, &keys, store.clone())?;
        Ok(DeskContext {
            operator: name.to_owned(),
            audit: AuditLog::new(store),
            config,
            keys,
            forms,
            consent,
        })
    }

    fn desk(&self) -> Desk<'_> {
        Desk {
            forms: &self.forms,
            consent: &self.consent,
            audit: &self.audit,
            operator: &self.operator,
            now: SystemClock.unix_secs(),
            email_key: &self.keys.email_index,
        }
    }
}

async fn inbox(args: &DeskArgs, action: InboxAction) -> anyhow::Result<()> {
    let ctx = DeskContext::open(args, Permission::Inbox).await?;
    let desk = ctx.desk();
    let mut out = std::io::stdout().lock();
    match action {
        InboxAction::List { form } => {
            let forms: Vec<&config::FormConfig> = ctx
                .config
                .forms
                .iter()
                .filter(|f| form.as_deref().is_none_or(|id| f.id == id))
                .collect();
            if forms.is_empty() {
                anyhow::bail!("no such form; configured: {}", form_ids(&ctx.config));
            }
            for f in forms {
                let mut offset = 0;
                loop {
                    let page = ctx.forms.list(&f.id, offset, MAX_PAGE).await?;
                    if offset == 0 {
                        writeln!(out, "{} ({} entries)", f.id, page.total)?;
                    }
                    for e in &page.entries {
                        let left = (e.created + f.retention.as_secs()).saturating_sub(desk.now);
                        writeln!(
                            out,
                            "  {}  received {}  deleted in {}  {} fields, {} characters",
                            e.id,
                            human_time(e.created),
                            humantime::format_duration(std::time::Duration::from_secs(
                                left / 3600 * 3600
                            )),
                            e.fields.iter().filter(|x| !x.value.is_empty()).count(),
                            e.fields
                                .iter()
                                .map(|x| x.value.chars().count())
                                .sum::<usize>(),
                        )?;
                    }
                    offset += page.entries.len();
                    if page.entries.is_empty() || offset >= page.total {
                        break;
                    }
                }
            }
        }
        InboxAction::Show { form, entry } => {
            let e = desk
                .open_entry(&form, &entry)
                .await?
                .with_context(|| format!("no entry {entry} in form {form}"))?;
            writeln!(
                out,
                "form: {}\nentry: {}\nreceived: {}",
                e.form,
                e.id,
                human_time(e.created)
            )?;
            if let Some(why) = &e.unreadable {
                writeln!(out, "cannot be decrypted: {why}")?;
            }
            for field in &e.fields {
                writeln!(out, "{}: {}", field.label, field.value)?;
            }
        }
        InboxAction::Export { form, entry } => {
            let json = match entry {
                Some(id) => desk
                    .export_entry(&form, &id)
                    .await?
                    .with_context(|| format!("no entry {id} in form {form}"))?,
                None => desk.export_form(&form).await?.0,
            };
            writeln!(out, "{json}")?;
        }
        InboxAction::Handled { form, entry } => {
            if !desk.finish_entry(&form, &entry, Finish::Handled).await? {
                anyhow::bail!("no entry {entry} in form {form}");
            }
            writeln!(out, "{form}/{entry}: marked handled and deleted")?;
        }
    }
    Ok(())
}

fn form_ids(config: &Config) -> String {
    let ids: Vec<&str> = config.forms.iter().map(|f| f.id.as_str()).collect();
    if ids.is_empty() {
        "none".to_owned()
    } else {
        ids.join(", ")
    }
}

async fn receipts(args: &DeskArgs, action: ReceiptsAction) -> anyhow::Result<()> {
    let ctx = DeskContext::open(args, Permission::ConsentRecords).await?;
    let desk = ctx.desk();
    let mut out = std::io::stdout().lock();
    match action {
        ReceiptsAction::Show { id } => {
            let found = desk
                .look_up_consent(&id)
                .await?
                .with_context(|| format!("no consent record with id {id}"))?;
            writeln!(out, "consent id: {id}")?;
            for r in &found.record.history {
                let archived = if found.texts.contains_key(&r.texts_hash) {
                    "archived"
                } else {
                    "not archived"
                };
                writeln!(
                    out,
                    "  {}  {}  granted: {}  refused: {}  revision {}  {}  texts {} ({archived}){}",
                    r.time,
                    r.action.as_str(),
                    or_none(&r.granted),
                    or_none(&r.refused),
                    r.policy_revision,
                    r.language,
                    r.texts_hash,
                    r.country
                        .as_deref()
                        .map(|c| format!("  {c}"))
                        .unwrap_or_default(),
                )?;
            }
        }
        ReceiptsAction::Export { id: Some(id), .. } => {
            let json = desk
                .export_consent(&id)
                .await?
                .with_context(|| format!("no consent record with id {id}"))?;
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        ReceiptsAction::Export {
            id: None,
            from,
            to,
            action,
            format,
        } => {
            let (Some(from), Some(to)) = (from, to) else {
                anyhow::bail!("give a consent id, or --from and --to");
            };
            let day = |text: &str, flag: &str| {
                parse_day(text).with_context(|| format!("--{flag} {text}: expected YYYY-MM-DD"))
            };
            let (from_ms, to_ms) = day_range_ms(day(&from, "from")?, day(&to, "to")?)
                .context("--to is before --from")?;
            let action = match action.as_deref() {
                None => None,
                Some(a) => Some(
                    consentgate::consent::Action::ALL
                        .into_iter()
                        .find(|x| x.as_str() == a)
                        .with_context(|| {
                            format!(
                                "--action {a}: expected accept_all, reject_all, custom or withdraw"
                            )
                        })?,
                ),
            };
            let format = match format.as_str() {
                "jsonl" => ReceiptFormat::JsonLines,
                "csv" => ReceiptFormat::Csv,
                other => anyhow::bail!("--format {other}: expected jsonl or csv"),
            };
            let filter = consentgate::consent::ReceiptFilter {
                from_ms,
                to_ms,
                action,
            };
            let (doc, count) = desk.export_receipts(&filter, format).await?;
            out.write_all(&doc)?;
            eprintln!("{count} receipt(s)");
        }
    }
    Ok(())
}

fn or_none(list: &[String]) -> String {
    if list.is_empty() {
        "-".to_owned()
    } else {
        list.join(",")
    }
}

const DEMO_TOML: &str = include_str!("../config/demo.toml");

async fn demo(public: SocketAddr, admin: SocketAddr, traffic: bool) -> anyhow::Result<()> {
    let site = server::demo::serve_demo_site().context("cannot start the demo site")?;
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    // A fresh secret per run: the demo keeps nothing across restarts anyway.
    let secret = ProcessEnv
        .var(config::ENV_SECRET)
        .unwrap_or_else(random_secret);
    env.insert(config::ENV_SECRET.to_owned(), secret);
    let (mut config, _) = Config::from_toml(DEMO_TOML, &env)
        .map_err(|e| anyhow::anyhow!("config/demo.toml is invalid:\n{e}"))?;
    config.upstream.url = Some(format!("http://{}/", site.addr).parse()?);
    config.listen.public = public;
    config.listen.admin = admin;
    demo_hosts(&mut config.listen.hosts, public);
    config.privacy.geo_database =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/geo/test-country.mmdb"));
    if traffic {
        // The generator stands in for a TLS terminator: its visitors' made-up addresses come
        // in X-Forwarded-For from 127.0.0.1.
        config
            .privacy
            .trusted_proxies
            .push("127.0.0.1/32".parse().context("loopback network")?);
    }
    let account = server::demo::demo_account()?;
    config.dashboard.users.push(account.user);
    consentgate::telemetry::init(&config.log);
    let start_up = purge_freed_memory_at_once();
    let gate = server::start(config)
        .await
        .context("cannot start the gate")?;
    keep_releasing_freed_memory(start_up);
    println!("consentgate demo");
    println!("  the demo website, as it is:      http://{}/", site.addr);
    println!(
        "  the same site through the gate:  http://{}/",
        gate.public_addr
    );
    println!(
        "  the operators' dashboard:        http://{}/",
        gate.admin_addr
    );
    println!(
        "    sign in as {:?} with password {}  (made for this run, shown only now)",
        server::demo::DEMO_OPERATOR,
        account.password
    );
    println!("  Messages sent with the contact page land in the dashboard's inbox.");
    if traffic {
        let texts_hash = gate
            .state()
            .areas()
            .consent
            .bundle()
            .texts_hash
            .get("nl")
            .cloned()
            .unwrap_or_default();
        let report = server::traffic::generate(
            gate.public_addr,
            &texts_hash,
            server::traffic::TrafficPlan::default(),
        )
        .await?;
        println!(
            "  Demo traffic sent: {} page views, {} consent decisions, {} bot requests \
             ({} not answered); see the overview.",
            report.page_views, report.decisions, report.bot_requests, report.failed
        );
    }
    println!("Stop with Ctrl-C.");
    gate.wait().await.context("server stopped with an error")
}

/// The demo is opened by its listener's address: add it to the site's names, or accept any
/// name when it listens on every interface (it is then opened by a name the demo cannot know).
fn demo_hosts(hosts: &mut Vec<config::HostPattern>, public: SocketAddr) {
    if public.ip().is_unspecified() {
        hosts.clear();
    } else if let Ok(own) = config::HostPattern::parse(&public.ip().to_string()) {
        if !hosts.contains(&own) {
            hosts.push(own);
        }
    }
}

fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_option_number_is_mimallocs_purge_delay() {
        // Its default in mimalloc 3 (src/options.c) is 1 000 ms; no neighbouring option has
        // that default, so a renumbering in a mimalloc upgrade shows here.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads one option by number, no pointers.
        #[allow(unsafe_code)]
        let delay = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }
}
