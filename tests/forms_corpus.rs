//! Real contact forms from ../shared/corpus/forms (Contact Form 7 markup saved from live sites):
//! configured from their own fields, posted the way CF7's script posts them (multipart with its
//! hidden `_wpcf7*` fields, action with a `#fragment`, array names like `opt-in[]`), captured
//! with only the configured fields kept. Says so and passes when the corpus folder is absent.

mod forms_common;

use std::path::Path;

use consentgate::store::Store;
use forms_common::*;

/// `(tag, attributes)` of every `<input>`, `<textarea>` and `<select>` in `html`.
fn controls(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for (i, _) in html.match_indices('<') {
        let rest = &html[i + 1..];
        let Some(tag) = ["input", "textarea", "select"]
            .into_iter()
            .find(|t| rest.starts_with(t))
        else {
            continue;
        };
        let end = rest.find('>').unwrap_or(rest.len());
        out.push((tag.to_string(), attributes(&rest[tag.len()..end])));
    }
    out
}

fn attributes(text: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let mut rest = text;
    // Each round consumes at least one `="` pair or ends.
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].rsplit([' ', '\n', '\t']).next().unwrap_or("");
        let after = &rest[eq + 2..];
        let close = after.find('"').unwrap_or(after.len());
        attrs.push((name.to_string(), after[..close].to_string()));
        rest = &after[(close + 1).min(after.len())..];
    }
    attrs
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

struct CorpusForm {
    path: String,
    /// (name, gate field type) of the fields a person fills in.
    visible: Vec<(String, &'static str)>,
    /// (name, value) of hidden fields the CMS adds.
    hidden: Vec<(String, String)>,
}

fn read_forms(html: &str) -> Vec<CorpusForm> {
    let base = url::Url::parse("https://site.example/").unwrap();
    let mut forms = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let head_end = chunk.find('>').unwrap_or(0);
        let head = attributes(&chunk[..head_end]);
        let Some(action) = attr(&head, "action") else {
            continue;
        };
        let path = base.join(action).unwrap().path().to_string();
        let body = chunk.split("</form>").next().unwrap_or("");
        let mut form = CorpusForm {
            path,
            visible: Vec::new(),
            hidden: Vec::new(),
        };
        for (tag, attrs) in controls(body) {
            let Some(name) = attr(&attrs, "name") else {
                continue;
            };
            let kind = attr(&attrs, "type").unwrap_or("text");
            match (tag.as_str(), kind) {
                (_, "submit") => {}
                ("input", "hidden") => form.hidden.push((
                    name.to_string(),
                    attr(&attrs, "value").unwrap_or("").to_string(),
                )),
                ("textarea", _) => form.visible.push((name.to_string(), "textarea")),
                (_, "email") => form.visible.push((name.to_string(), "email")),
                (_, "tel") => form.visible.push((name.to_string(), "phone")),
                _ => form.visible.push((name.to_string(), "text")),
            }
        }
        forms.push(form);
    }
    forms
}

fn sample(kind: &str) -> &'static str {
    match kind {
        "email" => "anna.schmidt@example.de",
        "phone" => "+49 30 1234567",
        "textarea" => "Bitte rufen Sie mich zurück. Grüße",
        _ => "Anna Schmidt",
    }
}

fn multipart(boundary: &str, pairs: &[(String, String)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in pairs {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body.into_bytes()
}

#[actix_web::test]
async fn real_cf7_forms_are_captured_with_only_their_configured_fields() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/forms");
    let Ok(listing) = std::fs::read_dir(&dir) else {
        eprintln!(
            "SKIPPED: corpus folder {} is absent; the forms corpus check did not run",
            dir.display()
        );
        return;
    };
    let mut files: Vec<_> = listing
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".cf7-form-only.html"))
        .collect();
    files.sort();
    let mut captured = 0;
    for file in &files {
        let html = std::fs::read_to_string(file).unwrap();
        let forms = read_forms(&html);
        assert!(!forms.is_empty(), "no form found in {}", file.display());
        // Several CF7 forms on one page post to the same path; the gate captures one per path.
        let form = &forms[0];
        let mut fields = String::new();
        for (name, kind) in &form.visible {
            fields.push_str(&format!(
                "[[forms.fields]]\nname = \"{name}\"\ntype = \"{kind}\"\nrequired = {}\n",
                *kind == "email"
            ));
        }
        let toml = format!(
            "[upstream]\nurl = \"http://127.0.0.1:9\"\n[[forms]]\nid = \"cf7\"\npath = \"{}\"\nredirect = \"/danke/\"\nlanguage = \"en\"\n{fields}",
            form.path
        );
        let cfg = config(&toml, SECRET, None);
        let gate = Gate::start(&cfg, Store::memory()).await;
        let token = aged_token(&cfg);

        let mut pairs: Vec<(String, String)> = form.hidden.clone();
        for (name, kind) in &form.visible {
            pairs.push((name.clone(), sample(kind).to_string()));
        }
        pairs.push(("cg_t".into(), token.clone()));
        let boundary = "----WebKitFormBoundaryCorpus7";
        let ct = format!("multipart/form-data; boundary={boundary}");
        let a = post_raw(
            &gate.url(&form.path),
            &ct,
            "application/json, */*;q=0.1",
            multipart(boundary, &pairs),
        )
        .await;
        assert_eq!(a.status, 200, "{}: {}", file.display(), a.body);

        let entry = &gate.service.list("cf7", 0, 1).await.unwrap().entries[0];
        let kept: Vec<&str> = entry.fields.iter().map(|f| f.name.as_str()).collect();
        let expected: Vec<&str> = form.visible.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(kept, expected, "{}", file.display());
        assert!(
            entry.fields.iter().all(|f| !f.name.starts_with('_')),
            "CF7's hidden fields are not kept"
        );

        // Without the e-mail address the same post is refused and says which field.
        let email = form
            .visible
            .iter()
            .find(|(_, k)| *k == "email")
            .map(|(n, _)| n.clone());
        if let Some(email) = email {
            let without: Vec<(String, String)> =
                pairs.iter().filter(|(n, _)| *n != email).cloned().collect();
            let a = post_raw(
                &gate.url(&form.path),
                &ct,
                BROWSER_ACCEPT,
                multipart(boundary, &without),
            )
            .await;
            assert_eq!(a.status, 422, "{}", file.display());
            assert!(a.body.contains("This field is required."));
            assert!(a.body.contains("Anna Schmidt"), "what was typed is kept");
        }
        captured += 1;
        gate.stop().await;
    }
    eprintln!("forms corpus: {captured} real CF7 forms captured");
    assert_eq!(captured, files.len());
}
