//! Form capture cannot be sidestepped (issue 12 point 6), through a real gate: a POST to the
//! form's path written another way is captured like one to the configured path and never
//! reaches the site, and a fill-time token opens one form, once.

mod forms_common;
mod support;

use forms_common::{
    aged_token, contact_gate, form_toml, post_form, start_site, urlencode, Gate, SECRET,
};
use support::gate::{StoreChoice, TestGate};
use support::upstream;

fn fields(token: &str) -> Vec<u8> {
    urlencode(&[
        ("naam", "Jan"),
        ("email", "jan@example.nl"),
        ("bericht", "Een vraag over de thuiszorg."),
        ("cg_t", token),
    ])
}

#[actix_web::test]
async fn posts_to_the_form_path_written_another_way_are_captured() {
    let site = start_site();
    let gate =
        Gate::start(contact_gate("rate_limit_max = 0", StoreChoice::Memory).upstream(&site.url()))
            .await;
    let cfg = gate.config().clone();
    let variants = [
        "//contact",
        "/contact/",
        "/./contact",
        "/Contact",
        "/x/../contact",
        "/%63ontact",
        "/contact//",
    ];
    for target in variants {
        let body = fields(&aged_token(&cfg));
        // Raw, so the request target reaches the gate exactly as written.
        let request = format!(
            "POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
            body.len(),
            String::from_utf8(body).unwrap()
        );
        let answer = upstream::raw_exchange(gate.running.public_addr, &request).await;
        assert!(
            answer.starts_with("HTTP/1.1 303"),
            "{target}: {}",
            answer.lines().next().unwrap_or("")
        );
    }
    let stored = gate.service.list("contact", 0, 20).await.unwrap().total;
    assert_eq!(stored, variants.len());
    assert!(
        site.recorder.requests().is_empty(),
        "the site saw a submission: {:?}",
        site.recorder.requests()
    );
    // Other paths and other methods still go to the site.
    assert_eq!(
        post_form(&gate.url("/contacts"), &[("a", "b")])
            .await
            .status,
        303
    );
    assert_eq!(site.recorder.wait_for(1).await[0].0, "/contacts");
    gate.stop().await;
}

#[actix_web::test]
async fn a_fill_time_token_opens_one_submission_of_one_form() {
    let second_form = "[[forms]]\nid = \"newsletter\"\npath = \"/nieuwsbrief\"\n\
                       redirect = \"/bedankt.html\"\n[[forms.fields]]\nname = \"email\"\n\
                       type = \"email\"\nrequired = true\n";
    // One fragment: a later `[[forms]]` fragment would replace the list, not extend it.
    let both = format!("{}{second_form}", form_toml(""));
    let gate = Gate::start(TestGate::new().secret(SECRET).config_toml(&both)).await;
    let cfg = gate.config().clone();
    let token = aged_token(&cfg); // for "contact", the first form
    let pairs = [
        ("naam", "Jan"),
        ("email", "jan@example.nl"),
        ("bericht", "Een vraag."),
        ("cg_t", token.as_str()),
    ];
    // Not for another form.
    let other = post_form(&gate.url("/nieuwsbrief"), &pairs).await;
    assert_eq!(other.status, 422, "{}", other.body);
    assert!(other.body.contains("nog één keer") || other.body.contains("once more"));
    // Once for its own.
    assert_eq!(post_form(&gate.url("/contact"), &pairs).await.status, 303);
    let again = post_form(&gate.url("/contact"), &pairs).await;
    assert_eq!(again.status, 422, "a replayed token: {}", again.body);
    assert!(
        again.body.contains("name=\"cg_t\" value=\""),
        "a fresh token on the page"
    );
    assert_eq!(gate.service.list("contact", 0, 10).await.unwrap().total, 1);
    gate.stop().await;
}
