//! consentgate: a reverse proxy that makes a website keep the promises of its privacy
//! statement from the outside — consent banner, trackers blocked until consent, visitor IP
//! addresses anonymised, contact-form submissions kept encrypted for a short time.
//!
//! Layers, top to bottom (nothing imports a module above it, no two modules import each
//! other): `server` → `dashboard` → `consent`, `forms`, `relay`, `proxy` → `rewrite`, `trackers`,
//! `privacy`, `stats` → `http`, `store`, `config`, `keys`, `telemetry`, `metrics`, `clock`.
#![deny(unsafe_code)] // one audited exception: the memory-mapped geo database (privacy/geo.rs)

pub mod clock;
pub mod config;
pub mod consent;
pub mod dashboard;
pub mod forms;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod privacy;
pub mod proxy;
pub mod relay;
pub mod rewrite;
pub mod server;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod trackers;
