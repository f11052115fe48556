//! The markup the rewriter injects, in the two forms a page needs: as given (HTML) and as
//! well-formed XML for `application/xhtml+xml` pages, which a browser parses as XML — there a
//! bare `defer` or an unclosed `<link>` is a fatal error and the page shows nothing.

use std::collections::BTreeSet;

use lol_html::html_content::{ContentType, Element};
use lol_html::{element, rewrite_str, Settings};

/// HTML elements without content: closed with `/>` in the XML form.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr",
];

/// One piece of injected markup in both forms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Injection {
    pub html: String,
    pub xhtml: String,
}

impl Injection {
    pub fn new(html: String) -> Self {
        let xhtml = xml_form(&html);
        Self { html, xhtml }
    }

    /// The form for a page: XML for XHTML pages.
    pub fn for_page(&self, xhtml: bool) -> &str {
        if xhtml {
            &self.xhtml
        } else {
            &self.html
        }
    }
}

/// Escape text for a double-quoted attribute value, valid in HTML and XML alike.
pub(crate) fn escape_attr(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// `html` with the site's vendor ids, space-separated, in a `data-v` attribute of its first
/// `<script>` (the banner, which reads it from its own element); unchanged when there are
/// none. Ids are catalogue ids (`[a-z0-9_-]`), escaped all the same.
pub(crate) fn with_site_vendors(html: &str, ids: &BTreeSet<String>) -> String {
    if ids.is_empty() {
        return html.to_owned();
    }
    let value = ids.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
    let mut done = false;
    let settings = Settings::new().append_element_content_handler(element!("script", move |el| {
        if !done {
            done = true;
            el.set_attribute("data-v", &value)?;
        }
        Ok(())
    }));
    // The gate's own markup, built at start: if lol_html cannot read it, the banner names
    // this page's vendors only (as without the set).
    rewrite_str(html, settings).unwrap_or_else(|_| html.to_owned())
}

/// `html` with every attribute given a quoted value (`defer` → `defer="defer"`) and every void
/// element closed (`<link …/>`): well-formed XML that HTML parsers read the same way.
fn xml_form(html: &str) -> String {
    if html.is_empty() {
        return String::new();
    }
    let settings =
        Settings::new().append_element_content_handler(element!("*", |el: &mut Element| {
            let name = el.tag_name();
            let mut tag = format!("<{name}");
            for attr in el.attributes() {
                let attr_name = attr.name();
                let value = match attr.value_source_location() {
                    Some(_) => attr.value(),
                    None => attr_name.clone(),
                };
                // The value is as written (references undecoded); only quotes need escaping.
                tag.push_str(&format!(
                    " {attr_name}=\"{}\"",
                    value.replace('"', "&quot;")
                ));
            }
            if VOID.contains(&name.as_str()) {
                tag.push_str("/>");
                el.replace(&tag, ContentType::Html);
            } else {
                tag.push('>');
                // Keep the content and end tag; only the start tag is rewritten.
                el.before(&tag, ContentType::Html);
                el.start_tag().remove();
            }
            Ok(())
        }));
    // The injected markup is the gate's own, built at start: if lol_html cannot read it, the
    // HTML form is used for XHTML pages too (it is well-formed when written so).
    rewrite_str(html, settings).unwrap_or_else(|_| html.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_xml_form_quotes_every_attribute_and_closes_void_elements() {
        let inj = Injection::new(
            "<script src=\"/_gate/banner.1.js\" defer></script><link rel=stylesheet href=\"/_gate/banner.1.css\">".into(),
        );
        assert_eq!(
            inj.xhtml,
            "<script src=\"/_gate/banner.1.js\" defer=\"defer\"></script><link rel=\"stylesheet\" href=\"/_gate/banner.1.css\"/>"
        );
        assert_eq!(inj.for_page(false), inj.html);
    }

    #[test]
    fn the_site_vendors_go_on_the_first_script_only() {
        let head =
            "<script src=\"/_gate/banner.1.js\" defer></script><script src=\"/x.js\"></script>";
        let ids: BTreeSet<String> = ["youtube", "google_analytics"].map(String::from).into();
        assert_eq!(
            with_site_vendors(head, &ids),
            "<script src=\"/_gate/banner.1.js\" defer data-v=\"google_analytics youtube\"></script><script src=\"/x.js\"></script>"
        );
        assert_eq!(with_site_vendors(head, &BTreeSet::new()), head);
    }

    #[test]
    fn attribute_text_is_escaped_for_html_and_xml() {
        assert_eq!(escape_attr("a&b\"<c>"), "a&amp;b&quot;&lt;c&gt;");
    }
}
