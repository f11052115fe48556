//! `[stats]`: the cookieless visit statistics — whether page views are counted at all, and how
//! many distinct values a day may hold before the rest is counted as "(other)".

use serde::Deserialize;

use super::problem::ConfigProblem;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, expecting = "a [stats] table")]
pub struct StatsConfig {
    /// Count HTML page views (views, unique visitors, paths, referrers, …). Consent decisions
    /// and form outcomes are counted either way. Default true.
    pub count_page_views: bool,
    /// Most distinct paths counted per day; further paths are counted as "(other)". The same
    /// bound applies to entry paths, referrer hosts, each UTM field and site hosts. Default 1000.
    pub max_paths_per_day: usize,
    /// Most distinct combinations (host, path, referrer, UTM, country, browser, device, consent)
    /// kept per day; beyond it a view keeps its country, browser, device and consent and is
    /// counted with path, referrer and UTM as "(other)". Bounds what the overview reads per
    /// day. Default 10000.
    pub max_combinations_per_day: usize,
}

impl Default for StatsConfig {
    fn default() -> Self {
        Self {
            count_page_views: true,
            max_paths_per_day: 1000,
            max_combinations_per_day: 10_000,
        }
    }
}

impl StatsConfig {
    /// Checks serde cannot express.
    pub fn validate(&self) -> Vec<ConfigProblem> {
        let mut problems = Vec::new();
        if !(1..=100_000).contains(&self.max_paths_per_day) {
            problems.push(ConfigProblem::new(
                "stats.max_paths_per_day",
                "must be between 1 and 100000",
            ));
        }
        if !(100..=1_000_000).contains(&self.max_combinations_per_day) {
            problems.push(ConfigProblem::new(
                "stats.max_combinations_per_day",
                "must be between 100 and 1000000",
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_outside_their_range_are_named() {
        assert!(StatsConfig::default().validate().is_empty());
        let cfg = StatsConfig {
            max_paths_per_day: 0,
            max_combinations_per_day: 5,
            ..StatsConfig::default()
        };
        let keys: Vec<String> = cfg.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            ["stats.max_paths_per_day", "stats.max_combinations_per_day"]
        );
    }
}
