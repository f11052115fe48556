//! `consentgate scan` on a page with a Contact Form 7 form reports where the form posts and
//! whether the configuration captures it — the real CF7 markup from ../shared/corpus/forms
//! (read at test time) and a small CF7-shaped page of our own.

mod support;

use std::process::Command;

use support::corpus;

const SECRET: &str = "cli-scan-forms-secret-0123456789-abcdefgh";

/// A CF7-shaped form (our own markup, as CF7 renders it) and a search form.
const PAGE: &str = r#"<!DOCTYPE html><html><body>
<form role="search" action="/"><input name="s"></form>
<div class="wpcf7" id="wpcf7-f352-o1"><form action="/contact/#wpcf7-f352-o1" method="post" class="wpcf7-form init" novalidate="novalidate">
<div style="display: none;"><input type="hidden" name="_wpcf7" value="352" /><input type="hidden" name="_wpcf7_unit_tag" value="wpcf7-f352-o1" /></div>
<input type="text" name="your-name" /><input type="submit" value="Send" class="wpcf7-form-control wpcf7-submit" /></form></div>
</body></html>"#;

fn config(cf7_id: u64) -> String {
    format!(
        "[upstream]\nurl = \"http://127.0.0.1:8088/\"\n\
         [[forms]]\nid = \"contact\"\npath = \"/contact/\"\nredirect = \"/contact/\"\n\
         plugin = \"cf7\"\nplugin_form_id = {cf7_id}\n\
         [[forms.fields]]\nname = \"your-name\"\ntype = \"text\"\n"
    )
}

fn scan(page: &str, config: Option<&str>, path: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let page_file = dir.path().join("page.html");
    std::fs::write(&page_file, page).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_consentgate"));
    cmd.arg("scan").arg(&page_file).args(["--path", path]);
    cmd.env("CONSENTGATE_SECRET", SECRET)
        .env_remove("CONSENTGATE_REDIS_URL");
    if let Some(toml) = config {
        let file = dir.path().join("consentgate.toml");
        std::fs::write(&file, toml).unwrap();
        cmd.arg("--config").arg(file);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn scan_reports_a_cf7_form_as_captured_or_not_by_the_configuration() {
    let captured = scan(PAGE, Some(&config(352)), "/contact/");
    assert!(
        captured.contains(
            "Contact Form 7 (id 352): its script posts to \
             /wp-json/contact-form-7/v1/contact-forms/352/feedback: captured by [[forms]] id = \"contact\""
        ),
        "{captured}"
    );
    assert!(
        captured.contains("without JavaScript: POST /contact/: captured"),
        "{captured}"
    );
    assert!(
        captured.contains("form  GET /: passed to the site"),
        "{captured}"
    );
    assert!(
        captured.contains("0 form plugin form(s) not captured"),
        "{captured}"
    );

    for report in [
        scan(PAGE, Some(&config(999)), "/contact/"),
        scan(PAGE, None, "/contact/"),
    ] {
        assert!(
            report.contains("(id 352): its script posts to /wp-json/contact-form-7/v1/contact-forms/352/feedback: NOT captured")
                && report.contains("plugin = \"cf7\", plugin_form_id = 352"),
            "{report}"
        );
        assert!(
            report.contains("1 form plugin form(s) not captured"),
            "{report}"
        );
    }
}

#[test]
fn scan_finds_the_cf7_forms_of_real_pages() {
    let Some(listing) = corpus::entries("forms", "scan of real CF7 pages") else {
        return;
    };
    let mut checked = 0;
    for entry in listing.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".cf7-form-only.html") {
            continue;
        }
        let html = std::fs::read_to_string(entry.path()).unwrap();
        let ids: Vec<&str> = html
            .split("name=\"_wpcf7\" value=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        let report = scan(&html, None, "/");
        for id in &ids {
            assert!(
                report.contains(&format!("Contact Form 7 (id {id}): its script posts to /wp-json/contact-form-7/v1/contact-forms/{id}/feedback: NOT captured")),
                "{name}: form {id} missing from\n{report}"
            );
        }
        assert!(
            report.contains(&format!("{} form plugin form(s) not captured", ids.len())),
            "{name}:\n{report}"
        );
        checked += 1;
    }
    assert!(checked > 0, "no CF7 form in the corpus");
}

fn check_config(file: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_consentgate"))
        .args(["check-config", "--config"])
        .arg(file)
        .env("CONSENTGATE_SECRET", SECRET)
        .env_remove("CONSENTGATE_REDIS_URL")
        .output()
        .unwrap()
}

#[test]
fn check_config_warns_about_a_form_aimed_at_cf7s_endpoint_without_naming_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("consentgate.toml");
    std::fs::write(
        &file,
        "[upstream]\nurl = \"http://127.0.0.1:8088/\"\n\
         [[forms]]\nid = \"contact\"\npath = \"/wp-json/contact-form-7/v1/contact-forms/352/feedback\"\n\
         redirect = \"/contact/\"\n[[forms.fields]]\nname = \"your-name\"\ntype = \"text\"\n",
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: forms[0].path:")
            && stderr.contains("plugin = \"cf7\", plugin_form_id = 352"),
        "{stderr}"
    );
}

#[test]
fn check_config_refuses_plugin_forms_without_the_plugins_id_of_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("consentgate.toml");
    let form = |plugin: &str| {
        format!(
            "[[forms]]\nid = \"f{plugin}\"\npath = \"/{plugin}\"\nredirect = \"/\"\nplugin = \"{plugin}\"\n\
             [[forms.fields]]\nname = \"n\"\ntype = \"text\"\n"
        )
    };
    std::fs::write(
        &file,
        format!(
            "[upstream]\nurl = \"http://127.0.0.1:8088/\"\n{}{}{}{}",
            form("wpforms"),
            form("cf7"),
            form("gravityforms"),
            form("elementor")
        ),
    )
    .unwrap();
    let out = check_config(&file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("forms[0].plugin_form_id") && stderr.contains("wpforms[id]"),
        "{stderr}"
    );
    assert!(stderr.contains("forms[1].plugin_form_id"), "{stderr}");
    assert!(stderr.contains("forms[2].plugin_form_id"), "{stderr}");
    assert!(stderr.contains("forms[3].plugin_element_id"), "{stderr}");
    assert!(!stderr.contains("not captured"), "{stderr}");
}

/// A Gravity Forms, a WPForms and an Elementor Pro form as the plugins render them (our own
/// markup, trimmed to what identifies them).
const PLUGINS_PAGE: &str = r#"<!DOCTYPE html><html><body>
<div class="gform_wrapper" id="gform_wrapper_3"><form method="post" enctype="multipart/form-data" id="gform_3" action="/aanmelden/#gf_3">
<input type="text" name="input_1"><input type="hidden" class="gform_hidden" name="gform_submit" value="3"></form></div>
<form id="wpforms-form-41" class="wpforms-validate wpforms-form wpforms-ajax-form" data-formid="41" method="post" enctype="multipart/form-data" action="/aanmelden/">
<input type="text" name="wpforms[fields][1]"><input type="hidden" name="wpforms[id]" value="41"></form>
<form class="elementor-form" method="post" name="Contact"><input type="hidden" name="post_id" value="12"><input type="hidden" name="form_id" value="2f6e5b1">
<input type="text" name="form_fields[name]"></form>
</body></html>"#;

#[test]
fn scan_names_each_plugins_endpoint_and_whether_it_is_captured() {
    let open = scan(PLUGINS_PAGE, Some(&config(352)), "/aanmelden/");
    for line in [
        "Gravity Forms (id 3): its script posts to its page (legacy AJAX: into an iframe) or /wp-admin/admin-ajax.php (action=gform_submit_form): NOT captured",
        "plugin = \"gravityforms\", plugin_form_id = 3",
        "WPForms (id 41): its script posts to /wp-admin/admin-ajax.php (action=wpforms_submit): NOT captured",
        "Elementor Pro form (form_id 2f6e5b1): its script posts to /wp-admin/admin-ajax.php (action=elementor_pro_forms_send_form): NOT captured",
        "plugin = \"elementor\", plugin_element_id = \"2f6e5b1\"",
        "3 form plugin form(s) not captured",
    ] {
        assert!(open.contains(line), "{line}\n{open}");
    }

    let toml = "[upstream]\nurl = \"http://127.0.0.1:8088/\"\n\
         [[forms]]\nid = \"wp\"\npath = \"/wp/\"\nredirect = \"/\"\nplugin = \"wpforms\"\nplugin_form_id = 41\n\
         [[forms.fields]]\nname = \"wpforms[fields][1]\"\ntype = \"text\"\n\
         [[forms]]\nid = \"el\"\npath = \"/el/\"\nredirect = \"/\"\nplugin = \"elementor\"\nplugin_element_id = \"2f6e5b1\"\n\
         [[forms.fields]]\nname = \"form_fields[name]\"\ntype = \"text\"\n";
    let captured = scan(PLUGINS_PAGE, Some(toml), "/aanmelden/");
    assert!(
        captured.contains("(action=wpforms_submit): captured by [[forms]] id = \"wp\"; without JavaScript: POST /aanmelden/: captured by [[forms]] id = \"wp\""),
        "{captured}"
    );
    assert!(
        captured
            .contains("(action=elementor_pro_forms_send_form): captured by [[forms]] id = \"el\""),
        "{captured}"
    );
    assert!(
        captured.contains("1 form plugin form(s) not captured"),
        "{captured}"
    );
}
