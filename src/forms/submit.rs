//! One submission through the gate: the capture pipeline (parse → spam checks → validation →
//! rate limit → seal → store, every outcome counted), what a refusal looks like to the visitor
//! (an edge error whose page is the form again, with what they typed), and what happens after
//! a confirmed write (the webhook is told, a `store_and_forward` form goes upstream too).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use bytes::Bytes;
use std::collections::BTreeMap;

use super::page::problem_text;
use super::parse::{self, ParseError};
use super::plugin::Echo;
use super::service::{FormsService, Stored};
use super::token::{TokenCheck, MAX_AGE_MS};
use super::validate::{self, Checked};
use crate::config::{FormConfig, FormMode, FORM_TOKEN_FIELD};
use crate::http::extract::content_type;
use crate::http::{Code, EdgeError, Format};
use crate::privacy::Visitor;
use crate::proxy::Proxy;
use crate::stats::{Event, FormOutcome};
use crate::store::StoreError;

/// How long a used token's nonce is remembered: as long as the token is valid.
const TOKEN_MEMORY: std::time::Duration = std::time::Duration::from_millis(MAX_AGE_MS);

/// A submission as the handler read it.
#[derive(Debug, Clone)]
pub struct Submission {
    pub content_type: Option<String>,
    /// The body, or the code reading it failed with (too large, broken off).
    pub body: Result<Bytes, Code>,
    /// Who sent it: the rate limit counts by the anonymised address, the country is sealed
    /// with the entry.
    pub visitor: Visitor,
}

impl Submission {
    /// The submission of `req` by `visitor`, with its body as read (within the form's limit).
    pub fn new(req: &HttpRequest, body: Result<Bytes, EdgeError>, visitor: &Visitor) -> Self {
        Self {
            content_type: content_type(req).map(str::to_owned),
            body: body.map_err(|e| e.code()),
            visitor: visitor.clone(),
        }
    }
}

/// A submission the pipeline refused, with what the visitor typed when it could be read.
#[derive(Debug)]
pub struct Refusal {
    pub code: Code,
    pub typed: Option<Checked>,
}

impl Refusal {
    /// A refusal before anything the visitor typed could be read.
    pub fn bare(code: Code) -> Self {
        Self { code, typed: None }
    }

    fn with(code: Code, typed: Checked) -> Self {
        Self {
            code,
            typed: Some(typed),
        }
    }
}

/// Where a `store_and_forward` submission goes: the worker's upstream client, and which of the
/// visitor's cookies may go with it (the proxy's consent policy).
pub struct Upstream<'a> {
    pub proxy: &'a Proxy,
    pub keep_cookie: &'a dyn Fn(&str) -> bool,
}

/// Where the upstream sent the visitor after a forwarded submission.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub status: StatusCode,
    pub location: HeaderValue,
}

impl FormsService {
    /// Run one submission through every check and store it; the outcome is counted. A
    /// `Stored` answer means the store confirmed the write.
    pub async fn capture(
        &self,
        form: &FormConfig,
        submission: &Submission,
    ) -> Result<Stored, Refusal> {
        self.capture_echoed(form, submission).await.0
    }

    /// [`capture`](Self::capture), with the plugin fields its answer repeats ([`Echo`]).
    pub async fn capture_echoed(
        &self,
        form: &FormConfig,
        submission: &Submission,
    ) -> (Result<Stored, Refusal>, Echo) {
        let mut echo = Echo::default();
        let result = self.capture_inner(form, submission, &mut echo).await;
        let outcome = match &result {
            Ok(_) => FormOutcome::Stored,
            Err(r) => FormOutcome::Refused(r.code),
        };
        self.stats().record(Event::Form {
            form: form.id.clone(),
            outcome,
        });
        (result, echo)
    }

    async fn capture_inner(
        &self,
        form: &FormConfig,
        submission: &Submission,
        echo: &mut Echo,
    ) -> Result<Stored, Refusal> {
        let body = submission.body.clone().map_err(Refusal::bare)?;
        if body.len() > form.max_body_bytes {
            return Err(Refusal::bare(Code::BodyTooLarge));
        }
        let kind =
            parse::body_kind(submission.content_type.as_deref()).map_err(refusal_of_parse)?;
        let submitted = parse::parse(&kind, body).await.map_err(refusal_of_parse)?;
        *echo = Echo::read(form, &submitted);
        let today = crate::clock::utc_date(self.clock().unix_secs());
        let checked = validate::check(form, &submitted, today);
        let field = |name: &str| {
            submitted
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if !form.honeypot_field.is_empty()
            && field(&form.honeypot_field).is_some_and(|v| !v.trim().is_empty())
        {
            return Err(Refusal::with(Code::Honeypot, checked));
        }
        let nonce = if form.min_fill_time.is_zero() {
            None
        } else {
            let min_ms = u64::try_from(form.min_fill_time.as_millis()).unwrap_or(u64::MAX);
            let token = field(FORM_TOKEN_FIELD);
            match self
                .tokens()
                .check(&form.id, token, self.clock().unix_ms(), min_ms)
            {
                TokenCheck::Ok { nonce } => Some(nonce),
                TokenCheck::Missing | TokenCheck::TooFast => {
                    return Err(Refusal::with(Code::TooFast, checked))
                }
            }
        };
        if !checked.errors.is_empty() {
            return Err(Refusal::with(Code::InvalidFields, checked));
        }
        let store_down = |checked: Checked| {
            move |e: StoreError| {
                tracing::warn!(form = %form.id, error = %e, "form entry not stored");
                Refusal::with(Code::StoreUnavailable, checked)
            }
        };
        // Only submissions that would be stored count towards the limit, so a person
        // correcting typos is never locked out by their own mistakes.
        if form.rate_limit_max > 0 {
            let key = format!("form:{}:{}", form.id, submission.visitor.anonymized_ip);
            let hits = match self
                .store()
                .hit_rate_limit(&key, form.rate_limit_window)
                .await
            {
                Ok(hits) => hits,
                Err(e) => return Err(store_down(checked)(e)),
            };
            if hits > form.rate_limit_max {
                return Err(Refusal::with(Code::RateLimited, checked));
            }
        }
        // A token opens one submission: its nonce is remembered (first use of a key in a
        // window of the token's lifetime) until the token would have expired anyway. Checked
        // last, so only a submission about to be stored uses its token up and a visitor
        // correcting a typo keeps theirs.
        if let Some(nonce) = nonce {
            let key = format!("form-token:{}:{nonce}", form.id);
            match self.store().hit_rate_limit(&key, TOKEN_MEMORY).await {
                Ok(1) => {}
                Ok(_) => return Err(Refusal::with(Code::TooFast, checked)),
                Err(e) => return Err(store_down(checked)(e)),
            }
        }
        let record = match self
            .seal(form, &checked, submission.visitor.country.clone())
            .await
        {
            Ok(record) => record,
            Err(e) => return Err(store_down(checked)(e)),
        };
        let stored = Stored {
            id: record.id.clone(),
            created: record.created,
        };
        match self
            .store()
            .put_form_entry(&form.id, &record, form.retention)
            .await
        {
            Ok(()) => {
                // Ids only: the operator can match a webhook call or a support request to
                // this line; what the visitor wrote never reaches the log.
                tracing::info!(form = %form.id, entry = %stored.id, "form entry stored");
                Ok(stored)
            }
            Err(e) => Err(store_down(checked)(e)),
        }
    }

    /// The answer to a refusal: the edge error for its code, in the form's language, with the
    /// field problems for JSON clients and, for `Format::Html`, the form page again with what
    /// the visitor typed and a fresh fill-time token.
    pub fn refusal(&self, form: &FormConfig, refusal: Refusal, format: Format) -> EdgeError {
        let mut error = match refusal.code {
            Code::BodyTooLarge => EdgeError::too_large(form.max_body_bytes),
            code => EdgeError::new(code),
        }
        .html_by_default()
        .in_language(form.language.into());
        if refusal.code == Code::RateLimited {
            error = error.retry_after(form.rate_limit_window.as_secs());
        }
        if let Some(typed) = refusal.typed.as_ref().filter(|t| !t.errors.is_empty()) {
            let fields: BTreeMap<String, String> = typed
                .errors
                .iter()
                .map(|e| (e.field.clone(), problem_text(form.language, e.problem)))
                .collect();
            error = error.fields(fields);
        }
        if format == Format::Html {
            let token = self.issue_token(form);
            let page = self
                .pages()
                .render(form, &error, refusal.typed.as_ref(), Some(&token));
            error = error.page(page);
        }
        error
    }

    /// After a confirmed write: tell the webhook (queued, never waited for) and, for a
    /// `store_and_forward` form, hand the submission to the upstream with only the cookies
    /// `keep_cookie` allows (the proxy's consent policy: no unconsented tracker cookies). When the upstream
    /// answers a page visitor with a redirect (the usual post/redirect/get of a CMS form), that
    /// redirect is returned so the CMS's own flow keeps working. Any other answer is not
    /// passed on — an HTML page from this path would reach the visitor without the tracker
    /// rewriting — and the gate thanks the visitor itself: the entry is stored either way.
    pub async fn deliver(
        &self,
        form: &FormConfig,
        stored: &Stored,
        submission: &Submission,
        req: &HttpRequest,
        upstream: Upstream<'_>,
        format: Format,
    ) -> Option<Redirect> {
        if let Some(url) = &form.notify_webhook {
            self.notifier()
                .send(url, &form.id, &stored.id, stored.created);
        }
        if form.mode != FormMode::StoreAndForward {
            return None;
        }
        let body = submission.body.clone().ok()?;
        match upstream
            .proxy
            .forward_buffered(req, body, &submission.visitor, upstream.keep_cookie)
            .await
        {
            Ok(resp) if resp.status().is_redirection() => {
                let location = resp.headers().get(header::LOCATION).cloned();
                match location {
                    Some(location) if format == Format::Html => Some(Redirect {
                        status: resp.status(),
                        location,
                    }),
                    _ => None,
                }
            }
            Ok(resp) if resp.status().is_client_error() || resp.status().is_server_error() => {
                tracing::warn!(form = %form.id, status = resp.status().as_u16(), "upstream refused a forwarded form entry");
                None
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(form = %form.id, error = %e, "form entry stored but not forwarded");
                None
            }
        }
    }
}

fn refusal_of_parse(e: ParseError) -> Refusal {
    Refusal::bare(match e {
        ParseError::UnsupportedType(_) => Code::UnsupportedMediaType,
        ParseError::FilePart => Code::FilePart,
        ParseError::BadEncoding => Code::BadEncoding,
        ParseError::Malformed(_) => Code::MalformedBody,
    })
}
