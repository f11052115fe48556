//! Which form a POST is for. Many CMSs read `//contact`, `/contact/`, `/./contact`,
//! `/x/../contact`, `/%63ontact` and `/Contact` as `/contact`: a POST to any of them must be
//! captured like one to the configured path, or it would skip the honeypot, the token and the
//! rate limit and reach the site — which is promised never to see it. So both the request path
//! and the configured one are reduced to one canonical form before they are compared.

use percent_encoding::percent_decode_str;
use url::Url;

/// The canonical form of a request path: percent-decoded, backslashes as slashes, runs of
/// slashes merged, dot segments resolved (the `url` crate, WHATWG), no trailing slash, and
/// ASCII lower case unless `case_sensitive`.
pub fn canonical(path: &str, case_sensitive: bool) -> String {
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let mut merged = String::with_capacity(decoded.len() + 1);
    merged.push('/');
    for c in decoded.chars() {
        match c {
            // IIS and the URL standard read a backslash as a slash.
            '/' | '\\' if merged.ends_with('/') => {}
            '/' | '\\' => merged.push('/'),
            // Kept in the path: a decoded `?` or `#` must not start a query or fragment.
            '?' => merged.push_str("%3F"),
            '#' => merged.push_str("%23"),
            c => merged.push(c),
        }
    }
    let resolved = Url::parse(&format!("http://path.invalid{merged}"))
        .map(|url| url.path().to_owned())
        .unwrap_or(merged);
    let trimmed = match resolved.strip_suffix('/') {
        Some(rest) if !rest.is_empty() => rest.to_owned(),
        _ => resolved,
    };
    if case_sensitive {
        trimmed
    } else {
        trimmed.to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn path_variants_a_cms_reads_as_the_form_path_are_the_form_path() {
        for variant in [
            "/contact",
            "//contact",
            "/contact/",
            "/contact//",
            "/./contact",
            "/x/../contact",
            "/x/%2e%2e/contact",
            "/%63ontact",
            "/Contact",
            "\\contact",
            "/x/..%2fcontact",
        ] {
            assert_eq!(canonical(variant, false), "/contact", "{variant}");
        }
        assert_eq!(canonical("/Contact", true), "/Contact");
        assert_eq!(canonical("/", false), "/");
        assert_eq!(canonical("", false), "/");
    }

    #[test]
    fn other_paths_stay_other_paths() {
        for other in ["/contacts", "/contact.php", "/a/contact", "/contact%3Fx"] {
            assert_ne!(canonical(other, false), "/contact", "{other}");
        }
        assert_eq!(canonical("/über uns", false), "/%c3%bcber%20uns");
    }
}
