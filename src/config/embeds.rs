//! `[embeds]`: how the click-to-load placeholders of embedded media load their player.
//! Which vendors are embeds, and their categories, is the catalogue's (`[trackers]`).

use serde::Deserialize;

/// `[embeds]` (see config/consentgate.toml). Default: every player from its vendor's own host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, expecting = "an [embeds] table")]
pub struct EmbedsConfig {
    /// `[embeds.youtube]`.
    pub youtube: YoutubeEmbedConfig,
}

/// `[embeds.youtube]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, expecting = "an [embeds.youtube] table")]
pub struct YoutubeEmbedConfig {
    /// Players load from www.youtube-nocookie.com (YouTube sets no cookies until the video
    /// plays; the visitor's address still reaches Google). Default false.
    pub nocookie: bool,
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
}
