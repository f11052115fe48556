//! Typed configuration: one TOML file plus environment overrides for secrets.
//!
//! The file is parsed once into typed values (socket addresses, URLs, CIDRs, durations, enums)
//! and validated at load; every problem names the key it is about (`forms[0].fields[2].type`)
//! and says what was expected. Unknown keys are reported, not ignored. The rest of the program
//! never re-parses a configuration string.
//!
//! One file per section (struct, `Default`, `validate`); `load.rs` assembles the whole and
//! checks what spans sections. The built-in tracker vendors are data (assets/trackers.toml),
//! read with the `[trackers]` types. Environment variables are read through [`EnvSource`] so
//! the loader is a pure function that tests feed with a map.

mod consent;
mod csp;
pub mod dashboard;
mod dsr;
mod embeds;
mod env;
mod forms;
mod hosts;
mod limits;
mod listen;
mod load;
mod log;
mod passthrough;
mod privacy;
mod problem;
mod read;
mod relay;
mod stats;
mod store;
mod trackers;
mod upstream;
mod values;

pub use consent::{
    ConsentCategoryConfig, ConsentConfig, RateLimitConfig, BUILTIN_CATEGORIES, CONSENT_LANGUAGES,
    CONSENT_TEXT_KEYS,
};
pub use csp::{origin_of, CspConfig, CspMode};
pub use dsr::{Deadline, DsrConfig};
pub use embeds::{EmbedsConfig, YoutubeEmbedConfig, DEFAULT_THUMBNAIL_ORIGIN};
pub use env::{
    EnvSource, ProcessEnv, Secret, ENV_PREVIOUS_SECRETS, ENV_REDIS_URL, ENV_SECRET, MIN_SECRET_LEN,
};
pub use forms::{
    AgeNotes, AgeRules, FieldType, FormConfig, FormFieldConfig, FormLanguage, FormMode, FormPlugin,
    FORM_TOKEN_FIELD, MAX_AGE_NOTE,
};
pub use hosts::{split_host, HostPattern};
pub use limits::LimitsConfig;
pub use listen::ListenConfig;
pub use load::{Config, LoadNotes};
pub use log::{LogConfig, LogFormat};
pub use passthrough::PassthroughConfig;
pub use privacy::{IpForwarding, PrivacyConfig};
pub use problem::{ConfigError, ConfigProblem};
pub use relay::{
    GaRelayConfig, ReferrerPolicy, RelayConfig, DEFAULT_COLLECT_URL, DEFAULT_SCRIPT_ORIGIN,
    GA_VENDOR, GTM_VENDOR, RELAY_PREFIX,
};
pub use stats::StatsConfig;
pub use store::{StoreBackend, StoreConfig};
pub use trackers::{
    builtin_vendor_ids, builtin_vendors, EmbedConfig, EmbedKind, LearnedTrackers, LocalText,
    OverrideError, PathRuleConfig, TrackersConfig, VendorConfig, NECESSARY,
};
pub(crate) use trackers::{parse_host_spec, valid_category};
pub use upstream::{HostPolicy, UpstreamConfig};
