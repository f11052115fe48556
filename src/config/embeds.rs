//! `[embeds]`: how the click-to-load placeholders of embedded media load their player, and
//! whether they show a thumbnail the gate fetches itself. Which vendors are embeds, and their
//! categories, is the catalogue's (`[trackers]`).

use std::net::IpAddr;
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use super::consent::RateLimitConfig;
use super::problem::ConfigProblem;
use super::values::de_required_http_url;

/// `[embeds]` (see config/consentgate.toml). Default: every player from its vendor's own host,
/// no thumbnails.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, expecting = "an [embeds] table")]
pub struct EmbedsConfig {
    /// `[embeds.youtube]`.
    pub youtube: YoutubeEmbedConfig,
}

/// `[embeds.youtube]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "an [embeds.youtube] table")]
pub struct YoutubeEmbedConfig {
    /// Players load from www.youtube-nocookie.com (YouTube sets no cookies until the video
    /// plays; the visitor's address still reaches Google). Default false.
    pub nocookie: bool,
    /// Placeholders show the video's thumbnail, which the gate fetches from Google itself and
    /// serves from `/_gate/embed-thumb/youtube/<id>.jpg` (the gate's address reaches Google,
    /// never the visitor's). Default false.
    pub thumbnails: bool,
    /// Where thumbnails are fetched from (scheme, host and port only): https, or http to a
    /// loopback address (for testing). Default `https://i.ytimg.com`.
    #[serde(deserialize_with = "de_required_http_url")]
    pub thumbnail_origin: Url,
    /// Thumbnails the gate may fetch from Google (cache misses, counted for every gate on the
    /// store together) per window; past it, `rate_limited` (429). Default
    /// `{ max = 120, window = "1m" }`; max = 0 turns it off.
    pub thumbnail_fetches: RateLimitConfig,
}

/// `thumbnail_origin` by default: YouTube's image host.
pub const DEFAULT_THUMBNAIL_ORIGIN: &str = "https://i.ytimg.com";

impl Default for YoutubeEmbedConfig {
    fn default() -> Self {
        Self {
            nocookie: false,
            thumbnails: false,
            // A constant that parses.
            thumbnail_origin: Url::parse(DEFAULT_THUMBNAIL_ORIGIN).expect("valid default origin"),
            thumbnail_fetches: RateLimitConfig {
                max: 120,
                window: Duration::from_secs(60),
            },
        }
    }
}

impl EmbedsConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let origin = &self.youtube.thumbnail_origin;
        let mut problems = Vec::new();
        let loopback = match origin.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        // Plain http would let anyone on the way swap the images; only a test's own machine.
        if origin.scheme() != "https" && !loopback {
            problems.push(ConfigProblem::new(
                "embeds.youtube.thumbnail_origin",
                format!(
                    "expected an https:// URL (http only to a loopback address), got \"{origin}\""
                ),
            ));
        }
        if origin.path() != "/" || origin.query().is_some() || origin.fragment().is_some() {
            problems.push(ConfigProblem::new(
                "embeds.youtube.thumbnail_origin",
                format!(
                    "expected an origin without a path, like \"{DEFAULT_THUMBNAIL_ORIGIN}\", got \
                     \"{origin}\""
                ),
            ));
        }
        problems.extend(
            self.youtube
                .thumbnail_fetches
                .problem("embeds.youtube.thumbnail_fetches"),
        );
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nocookie_is_off_unless_asked_for() {
        let cfg: EmbedsConfig = toml::from_str("").unwrap();
        assert!(!cfg.youtube.nocookie);
        let cfg: EmbedsConfig = toml::from_str("[youtube]\nnocookie = true").unwrap();
        assert!(cfg.youtube.nocookie);
    }

    #[test]
    fn thumbnails_are_off_unless_asked_for_and_come_from_youtube() {
        let cfg: EmbedsConfig = toml::from_str("").unwrap();
        assert!(!cfg.youtube.thumbnails);
        assert_eq!(
            cfg.youtube.thumbnail_origin.as_str(),
            "https://i.ytimg.com/"
        );
        assert!(cfg.validate().is_empty());
        let cfg: EmbedsConfig = toml::from_str("[youtube]\nthumbnails = true").unwrap();
        assert!(cfg.youtube.thumbnails);
    }

    #[test]
    fn a_thumbnail_origin_is_https_or_loopback_http_without_a_path() {
        let problems = |origin: &str| {
            let cfg: EmbedsConfig =
                toml::from_str(&format!("[youtube]\nthumbnail_origin = \"{origin}\"")).unwrap();
            cfg.validate()
                .into_iter()
                .map(|p| p.key)
                .collect::<Vec<_>>()
        };
        for fine in [
            "https://images.example.org",
            "http://127.0.0.1:8080",
            "http://[::1]:9",
            "http://localhost:1",
        ] {
            assert!(problems(fine).is_empty(), "{fine}");
        }
        for bad in [
            "http://i.ytimg.com",
            "https://i.ytimg.com/vi",
            "http://10.0.0.1",
        ] {
            assert_eq!(problems(bad), ["embeds.youtube.thumbnail_origin"], "{bad}");
        }
        assert!(
            toml::from_str::<EmbedsConfig>("[youtube]\nthumbnail_origin = \"ftp://x\"").is_err()
        );
        let cfg: EmbedsConfig =
            toml::from_str("[youtube]\nthumbnail_fetches = { max = 5, window = \"0s\" }").unwrap();
        let keys: Vec<String> = cfg.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["embeds.youtube.thumbnail_fetches.window"]);
    }
}
