//! What a user agent string says, as far as the statistics need it: a known bot (counted
//! apart, never as a visit), or a browser family and a device class. The full string is never
//! kept, and no version is recorded.
//!
//! A small documented table, matched in one pass (Aho-Corasick, ASCII case-insensitive) so the
//! cost per page view stays well under a microsecond; crates that parse user agents with
//! hundreds of regular expressions cost more per request than the rest of the counting. What
//! it knows:
//! * **Bots**, by name: search engines (Googlebot, Bingbot, …), link previews (Facebook,
//!   Slack, WhatsApp, …), SEO and AI crawlers (AhrefsBot, GPTBot, ClaudeBot, …), headless
//!   browsers (HeadlessChrome, Lighthouse, PhantomJS), scripts (curl, Python, Go, Java, …) and
//!   uptime monitors; anything else that calls itself a bot, crawler or spider. A request
//!   without a user agent counts as a bot too (every browser sends one).
//! * **Browser families**, first match wins because browsers name their ancestors too: Edge,
//!   Opera, Samsung Internet, Yandex Browser, Vivaldi, Firefox, Internet Explorer, Chrome,
//!   Safari; else "Other".
//! * **Device class**: tablet (iPad, Android without "Mobile", Kindle, "Tablet"), mobile
//!   ("Mobi", iPhone, iPod, Windows Phone, other Android), else desktop. iPads that present
//!   themselves as a Mac (iPadOS' default) count as desktop.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Device classes, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Device {
    Desktop,
    Mobile,
    Tablet,
}

impl Device {
    pub const ALL: [Device; 3] = [Device::Desktop, Device::Mobile, Device::Tablet];

    pub fn as_str(self) -> &'static str {
        match self {
            Device::Desktop => "desktop",
            Device::Mobile => "mobile",
            Device::Tablet => "tablet",
        }
    }
}

/// What the statistics make of a user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// A known bot (or no user agent at all): counted by name, never as a visit.
    Bot(&'static str),
    /// A person's browser.
    Browser {
        family: &'static str,
        device: Device,
    },
}

/// Name of the bot entry for requests without a user agent.
pub const NO_USER_AGENT: &str = "No user agent";

#[derive(Clone, Copy)]
enum Mark {
    Bot(&'static str),
    Family(&'static str),
    Tablet,
    Mobile,
    Android,
    Mobi,
}

/// Markers in priority order within each kind: named bots before the generic words, browsers
/// whose strings contain another's name before that other.
const MARKERS: &[(&str, Mark)] = &[
    ("googlebot", Mark::Bot("Googlebot")),
    ("google-inspectiontool", Mark::Bot("Googlebot")),
    ("googleother", Mark::Bot("Googlebot")),
    ("adsbot-google", Mark::Bot("Googlebot")),
    ("mediapartners-google", Mark::Bot("Googlebot")),
    ("apis-google", Mark::Bot("Googlebot")),
    ("feedfetcher-google", Mark::Bot("Googlebot")),
    ("bingbot", Mark::Bot("Bingbot")),
    ("bingpreview", Mark::Bot("Bingbot")),
    ("adidxbot", Mark::Bot("Bingbot")),
    ("yandexbot", Mark::Bot("YandexBot")),
    ("baiduspider", Mark::Bot("Baiduspider")),
    ("duckduckbot", Mark::Bot("DuckDuckBot")),
    ("applebot", Mark::Bot("Applebot")),
    ("facebookexternalhit", Mark::Bot("Facebook")),
    ("meta-externalagent", Mark::Bot("Facebook")),
    ("twitterbot", Mark::Bot("Twitterbot")),
    ("linkedinbot", Mark::Bot("LinkedInBot")),
    ("slackbot", Mark::Bot("Slackbot")),
    ("discordbot", Mark::Bot("Discordbot")),
    ("telegrambot", Mark::Bot("TelegramBot")),
    ("whatsapp", Mark::Bot("WhatsApp")),
    ("ahrefsbot", Mark::Bot("AhrefsBot")),
    ("semrushbot", Mark::Bot("SemrushBot")),
    ("mj12bot", Mark::Bot("MJ12bot")),
    ("petalbot", Mark::Bot("PetalBot")),
    ("gptbot", Mark::Bot("GPTBot")),
    ("chatgpt-user", Mark::Bot("ChatGPT")),
    ("oai-searchbot", Mark::Bot("ChatGPT")),
    ("claudebot", Mark::Bot("ClaudeBot")),
    ("claude-web", Mark::Bot("ClaudeBot")),
    ("anthropic-ai", Mark::Bot("ClaudeBot")),
    ("perplexitybot", Mark::Bot("PerplexityBot")),
    ("ccbot", Mark::Bot("CCBot")),
    ("bytespider", Mark::Bot("Bytespider")),
    ("amazonbot", Mark::Bot("Amazonbot")),
    ("headlesschrome", Mark::Bot("Headless browser")),
    ("phantomjs", Mark::Bot("Headless browser")),
    ("puppeteer", Mark::Bot("Headless browser")),
    ("playwright", Mark::Bot("Headless browser")),
    ("lighthouse", Mark::Bot("Lighthouse")),
    ("pingdom", Mark::Bot("Monitor")),
    ("uptimerobot", Mark::Bot("Monitor")),
    ("statuscake", Mark::Bot("Monitor")),
    ("site24x7", Mark::Bot("Monitor")),
    ("curl/", Mark::Bot("Script")),
    ("wget/", Mark::Bot("Script")),
    ("python-requests", Mark::Bot("Script")),
    ("python-urllib", Mark::Bot("Script")),
    ("python-httpx", Mark::Bot("Script")),
    ("aiohttp", Mark::Bot("Script")),
    ("go-http-client", Mark::Bot("Script")),
    ("java/", Mark::Bot("Script")),
    ("okhttp", Mark::Bot("Script")),
    ("axios/", Mark::Bot("Script")),
    ("node-fetch", Mark::Bot("Script")),
    ("undici", Mark::Bot("Script")),
    ("libwww-perl", Mark::Bot("Script")),
    ("apache-httpclient", Mark::Bot("Script")),
    ("guzzlehttp", Mark::Bot("Script")),
    ("scrapy", Mark::Bot("Script")),
    ("bot", Mark::Bot("Other bot")),
    ("crawl", Mark::Bot("Other bot")),
    ("spider", Mark::Bot("Other bot")),
    ("slurp", Mark::Bot("Other bot")),
    ("archiver", Mark::Bot("Other bot")),
    ("edg/", Mark::Family("Edge")),
    ("edge/", Mark::Family("Edge")),
    ("edga/", Mark::Family("Edge")),
    ("edgios/", Mark::Family("Edge")),
    ("opr/", Mark::Family("Opera")),
    ("opera", Mark::Family("Opera")),
    ("opios/", Mark::Family("Opera")),
    ("samsungbrowser/", Mark::Family("Samsung Internet")),
    ("yabrowser/", Mark::Family("Yandex Browser")),
    ("vivaldi/", Mark::Family("Vivaldi")),
    ("firefox/", Mark::Family("Firefox")),
    ("fxios/", Mark::Family("Firefox")),
    ("msie ", Mark::Family("Internet Explorer")),
    ("trident/", Mark::Family("Internet Explorer")),
    ("chrome/", Mark::Family("Chrome")),
    ("crios/", Mark::Family("Chrome")),
    ("chromium/", Mark::Family("Chrome")),
    ("safari/", Mark::Family("Safari")),
    ("ipad", Mark::Tablet),
    ("tablet", Mark::Tablet),
    ("kindle", Mark::Tablet),
    ("silk/", Mark::Tablet),
    ("iphone", Mark::Mobile),
    ("ipod", Mark::Mobile),
    ("windows phone", Mark::Mobile),
    ("android", Mark::Android),
    ("mobi", Mark::Mobi),
];

/// Every browser family the table names, then "Other".
pub const FAMILIES: [&str; 10] = [
    "Chrome",
    "Safari",
    "Firefox",
    "Edge",
    "Samsung Internet",
    "Opera",
    "Yandex Browser",
    "Vivaldi",
    "Internet Explorer",
    "Other",
];

/// The user-agent classifier; built once, shared by every worker.
pub struct Agents {
    matcher: Option<AhoCorasick>,
}

impl Default for Agents {
    fn default() -> Self {
        Self::new()
    }
}

impl Agents {
    pub fn new() -> Agents {
        // The table is fixed and small, so building cannot fail; if it ever did, every request
        // would count as a browser of family "Other" rather than the gate failing to start.
        let matcher = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(MARKERS.iter().map(|(m, _)| m))
            .ok();
        Agents { matcher }
    }

    /// Classify a user agent (`None`: the request had none).
    pub fn classify(&self, user_agent: Option<&str>) -> Agent {
        let ua = match user_agent.map(str::trim) {
            None | Some("") => return Agent::Bot(NO_USER_AGENT),
            Some(ua) => ua,
        };
        let mut seen = [false; MARKERS.len()];
        if let Some(matcher) = &self.matcher {
            for m in matcher.find_overlapping_iter(ua) {
                seen[m.pattern().as_usize()] = true;
            }
        }
        let marks = || {
            MARKERS
                .iter()
                .zip(seen)
                .filter(|(_, hit)| *hit)
                .map(|((_, mark), _)| *mark)
        };
        if let Some(name) = marks().find_map(|m| match m {
            Mark::Bot(name) => Some(name),
            _ => None,
        }) {
            return Agent::Bot(name);
        }
        let family = marks()
            .find_map(|m| match m {
                Mark::Family(name) => Some(name),
                _ => None,
            })
            .unwrap_or("Other");
        let has = |want: fn(&Mark) -> bool| marks().any(|m| want(&m));
        let android = has(|m| matches!(m, Mark::Android));
        let mobi = has(|m| matches!(m, Mark::Mobi));
        let device = if has(|m| matches!(m, Mark::Tablet)) || (android && !mobi) {
            Device::Tablet
        } else if mobi || android || has(|m| matches!(m, Mark::Mobile)) {
            Device::Mobile
        } else {
            Device::Desktop
        };
        Agent::Browser { family, device }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn browser(ua: &str) -> (&'static str, Device) {
        match Agents::new().classify(Some(ua)) {
            Agent::Browser { family, device } => (family, device),
            Agent::Bot(name) => panic!("{ua} read as the bot {name}"),
        }
    }

    fn bot(ua: &str) -> &'static str {
        match Agents::new().classify(Some(ua)) {
            Agent::Bot(name) => name,
            other => panic!("{ua} read as {other:?}"),
        }
    }

    #[test]
    fn browsers_are_told_apart_by_family_and_device() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", Device::Desktop),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0", "Edge", Device::Desktop),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", Device::Desktop),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari", Device::Desktop),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari", Device::Mobile),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome", Device::Mobile),
            ("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", "Safari", Device::Tablet),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Chrome", Device::Mobile),
            ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", Device::Tablet),
            ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet", Device::Mobile),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0", "Opera", Device::Desktop),
            ("Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer", Device::Desktop),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "Firefox", Device::Mobile),
            ("SomethingNew/1.0", "Other", Device::Desktop),
        ];
        for (ua, family, device) in cases {
            assert_eq!(browser(ua), (family, device), "{ua}");
            assert!(FAMILIES.contains(&family));
        }
    }

    #[test]
    fn bots_scripts_and_headless_browsers_are_bots() {
        let cases = [
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Googlebot"),
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36", "Bingbot"),
            ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "Facebook"),
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "GPTBot"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", "Headless browser"),
            ("curl/8.5.0", "Script"),
            ("python-requests/2.31.0", "Script"),
            ("Go-http-client/1.1", "Script"),
            ("Mozilla/5.0 (compatible; SomeNewCrawler/0.1)", "Other bot"),
            ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "Monitor"),
        ];
        for (ua, name) in cases {
            assert_eq!(bot(ua), name, "{ua}");
        }
        assert_eq!(Agents::new().classify(None), Agent::Bot(NO_USER_AGENT));
        assert_eq!(
            Agents::new().classify(Some("  ")),
            Agent::Bot(NO_USER_AGENT)
        );
    }
}
