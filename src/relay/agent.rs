//! The user agent Google gets: browser family and major version only (`Firefox/128`), read
//! with woothee. The operating system, device model and exact build — what makes a user-agent
//! string tell one browser from another — stay at the gate.

use actix_web::http::header::HeaderValue;

/// `Family/major` of `user_agent`, `Family` without a readable version, `Other` for a client
/// woothee does not know as a browser.
pub(crate) fn reduced(user_agent: Option<&HeaderValue>) -> String {
    let parsed = user_agent
        .and_then(|v| v.to_str().ok())
        .and_then(|ua| woothee::parser::Parser::new().parse(ua));
    // Only browsers: a crawler's or library's name can be as rare as a fingerprint.
    let Some(found) = parsed.filter(|r| r.browser_type == "browser") else {
        return "Other".to_owned();
    };
    let family: String = found.name.chars().filter(|c| !c.is_whitespace()).collect();
    let major = found.version.split('.').next().unwrap_or_default();
    if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) {
        format!("{family}/{major}")
    } else {
        family
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(ua: &str) -> String {
        reduced(Some(&HeaderValue::from_str(ua).unwrap()))
    }

    #[test]
    fn only_family_and_major_version_remain() {
        assert_eq!(
            reduce("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.224 Safari/537.36"),
            "Chrome/120"
        );
        assert_eq!(
            reduce(
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
            ),
            "Firefox/128"
        );
        assert_eq!(
            reduce("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"),
            "Safari/17"
        );
        assert_eq!(reduce("curl/8.5.0"), "Other");
        assert_eq!(reduced(None), "Other");
    }
}
