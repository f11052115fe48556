//! The integration-test harness, one module for every test file (`mod support;`): the gate
//! ([`gate::TestGate`]; the real binary, for its log and signals: [`binary::GateProcess`]), the sites in front of which it runs ([`upstream`], the HTTPS
//! [`tls_server`]), Redis servers and clusters ([`redis`]), headless Chromium ([`browser`]) with
//! its tracker [`sink`], YouTube's image host ([`thumbnails`]) and the accessibility checker ([`axe`]), the real-world [`corpus`],
//! the operators' side of a gate ([`dashboard`]), and waiting for events ([`wait`]).
//!
//! Each test file uses a different part, hence `dead_code` is allowed here.
#![allow(dead_code)]

pub mod axe;
pub mod binary;
pub mod browser;
pub mod corpus;
pub mod dashboard;
pub mod gate;
pub mod redis;
pub mod sink;
pub mod thumbnails;
pub mod tls_server;
pub mod upstream;
pub mod visits;
pub mod wait;
