//! Start a consentgate in-process for end-to-end tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use consentgate::config::{Config, ENV_SECRET};
use consentgate::server::{self, RunningGate};

pub const TEST_SECRET: &str = "test-secret-0123456789-abcdefghijklmnop";

/// Build a config for a gate on free loopback ports in front of `upstream`; `extra` is TOML
/// appended verbatim (e.g. a `[privacy]` table).
pub fn config(upstream: &str, extra: &str) -> Config {
    let text = format!(
        "[listen]\npublic = \"127.0.0.1:0\"\nadmin = \"127.0.0.1:0\"\nworkers = 1\n\
         [upstream]\nurl = \"{upstream}\"\nconnect_timeout = \"1s\"\nresponse_timeout = \"2s\"\n{extra}\n"
    );
    let env: BTreeMap<String, String> = [(ENV_SECRET.to_owned(), TEST_SECRET.to_owned())].into();
    match Config::from_toml(&text, &env) {
        Ok((config, _)) => config,
        Err(e) => panic!("test config invalid:\n{e}\n---\n{text}"),
    }
}

pub async fn start(config: Config) -> RunningGate {
    server::start(config).await.expect("gate starts")
}

pub fn url(gate: &RunningGate, path: &str) -> String {
    format!("http://{}{}", gate.public_addr, path)
}
