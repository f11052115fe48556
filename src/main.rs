//! The `consentgate` command line: thin wrappers around the library.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use consentgate::config::{self, Config, ConfigError, EnvSource, ProcessEnv};
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
    /// List the trackers in an HTML page (vendor, element, line) and what the gate does with each.
    Scan {
        /// HTML file, or - for standard input.
        #[arg(default_value = "-")]
        input: PathBuf,
        /// Use this configuration's tracker catalogue (default: built-in).
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Run the demo website with the gate in front of it, on the embedded store.
    Demo {
        /// Public address of the gate.
        #[arg(long, default_value = "127.0.0.1:8080")]
        public: SocketAddr,
        /// Admin (dashboard) address.
        #[arg(long, default_value = "127.0.0.1:8081")]
        admin: SocketAddr,
    },
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(&config).await,
        Command::CheckConfig { config } => return check_config(&config),
        Command::Demo { public, admin } => demo(public, admin).await,
        Command::Rewrite {
            input,
            config,
            path,
        } => rewrite_page(&input, config.as_deref(), &path),
        Command::Scan { input, config } => scan_page(&input, config.as_deref()),
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
    let (config, notes) = Config::check(path, env);
    for warning in notes.warnings {
        eprintln!("warning: {warning}");
    }
    config.map_err(|ConfigError(problems)| {
        let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(problems_report(path, &problems))
    })
}

async fn serve(path: &Path) -> anyhow::Result<()> {
    let config = load(path, &ProcessEnv)?;
    consentgate::telemetry::init(&config.log);
    let gate = server::start(config).await.context("cannot start")?;
    gate.wait().await.context("server stopped with an error")
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
    let config = offline_config(config)?;
    let secret = config.secret.clone().context("no secret")?;
    let (rewriter, _, _) = server::page_rewriter(&config, &Keys::derive(&secret), Store::memory())?;
    Ok(rewriter)
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

fn scan_page(input: &Path, config: Option<&Path>) -> anyhow::Result<()> {
    let rewriter = offline_rewriter(config)?;
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
    Ok(())
}

const DEMO_TOML: &str = include_str!("../config/demo.toml");

async fn demo(public: SocketAddr, admin: SocketAddr) -> anyhow::Result<()> {
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
    config.privacy.geo_database =
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/geo/test-country.mmdb"));
    consentgate::telemetry::init(&config.log);
    let gate = server::start(config)
        .await
        .context("cannot start the gate")?;
    println!("consentgate demo");
    println!("  the demo website, as it is:      http://{}/", site.addr);
    println!(
        "  the same site through the gate:  http://{}/",
        gate.public_addr
    );
    println!(
        "  the operators' side (admin):     http://{}/_gate/healthz",
        gate.admin_addr
    );
    println!("Stop with Ctrl-C.");
    gate.wait().await.context("server stopped with an error")
}

fn random_secret() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}
