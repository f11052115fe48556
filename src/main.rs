//! The `consentgate` command line: thin wrappers around the library.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use consentgate::config::{self, Config, ConfigError, EnvSource, ProcessEnv};
use consentgate::privacy::Privacy;
use consentgate::server;

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
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consentgate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &Path, env: &dyn EnvSource) -> anyhow::Result<Config> {
    match Config::load(path, env) {
        Ok((config, notes)) => {
            for warning in notes.warnings {
                eprintln!("warning: {warning}");
            }
            Ok(config)
        }
        Err(ConfigError(problems)) => {
            let lines: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
            anyhow::bail!(
                "{} has {} problem(s):\n{}",
                path.display(),
                problems.len(),
                lines.join("\n")
            )
        }
    }
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
    // Opening the geo database is part of starting; a corrupt file must show up here too.
    if let Err(e) = Privacy::new(&config.privacy) {
        eprintln!("{} has 1 problem(s):\n  {e}", path.display());
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
