//! The one error vocabulary at the HTTP edge: a table of stable snake_case [`Code`]s (one per
//! condition, each with its status and its nl/en wording), [`EdgeError`] (what every area's
//! handlers return), one JSON body shape `{"error": code, "message": text, "fields": {…}?}`
//! and one HTML error page. Which of the two a client gets, and in which language, is decided
//! per request by [`error_pages`] from Accept and Accept-Language — the same language rule the
//! banner follows: the page's own language, then the browser's, then the configured default.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::negotiate::{language, reply_format};
pub use super::negotiate::{Format, Lang};

/// Seconds a client should wait before retrying when the store is down (`Retry-After`).
pub const STORE_RETRY_AFTER_SECS: u64 = 30;

/// One condition the gate answers with an error. The string form ([`Code::as_str`]) is
/// stable: clients, counters and support requests rely on it. README lists them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    NotFound,
    MisdirectedRequest,
    CrossOrigin,
    UnsupportedMediaType,
    BodyTooLarge,
    MalformedBody,
    BadEncoding,
    BadRequest,
    RequestTimeout,
    InvalidDecision,
    NoConsent,
    FilePart,
    Honeypot,
    TooFast,
    InvalidFields,
    RateLimited,
    Forbidden,
    CsrfFailed,
    InvalidToken,
    MethodNotAllowed,
    StoreUnavailable,
    StoreCorrupt,
    UpstreamUnreachable,
    UpstreamIncomplete,
    UpstreamUnreadable,
    UpstreamTimeout,
    UpgradeNotSupported,
    NotRelayed,
    RelayUnavailable,
    ThumbnailUnavailable,
    Internal,
}

/// Title and explanation of a code for a person, in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message {
    pub title: &'static str,
    /// May contain `{limit}`, replaced by the body limit in KB.
    pub text: &'static str,
}

const fn m(title: &'static str, text: &'static str) -> Message {
    Message { title, text }
}

impl Code {
    /// Every code, in the order the README lists them.
    pub const ALL: [Code; 31] = [
        Code::NotFound,
        Code::MisdirectedRequest,
        Code::CrossOrigin,
        Code::UnsupportedMediaType,
        Code::BodyTooLarge,
        Code::MalformedBody,
        Code::BadEncoding,
        Code::BadRequest,
        Code::RequestTimeout,
        Code::InvalidDecision,
        Code::NoConsent,
        Code::FilePart,
        Code::Honeypot,
        Code::TooFast,
        Code::InvalidFields,
        Code::RateLimited,
        Code::Forbidden,
        Code::CsrfFailed,
        Code::InvalidToken,
        Code::MethodNotAllowed,
        Code::StoreUnavailable,
        Code::StoreCorrupt,
        Code::UpstreamUnreachable,
        Code::UpstreamIncomplete,
        Code::UpstreamUnreadable,
        Code::UpstreamTimeout,
        Code::UpgradeNotSupported,
        Code::NotRelayed,
        Code::RelayUnavailable,
        Code::ThumbnailUnavailable,
        Code::Internal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Code::NotFound => "not_found",
            Code::MisdirectedRequest => "misdirected_request",
            Code::CrossOrigin => "cross_origin",
            Code::UnsupportedMediaType => "unsupported_media_type",
            Code::BodyTooLarge => "body_too_large",
            Code::MalformedBody => "malformed_body",
            Code::BadEncoding => "bad_encoding",
            Code::BadRequest => "bad_request",
            Code::RequestTimeout => "request_timeout",
            Code::InvalidDecision => "invalid_decision",
            Code::NoConsent => "no_consent",
            Code::FilePart => "file_part",
            Code::Honeypot => "honeypot",
            Code::TooFast => "too_fast",
            Code::InvalidFields => "invalid_fields",
            Code::RateLimited => "rate_limited",
            Code::Forbidden => "forbidden",
            Code::CsrfFailed => "csrf_failed",
            Code::InvalidToken => "invalid_token",
            Code::MethodNotAllowed => "method_not_allowed",
            Code::StoreUnavailable => "store_unavailable",
            Code::StoreCorrupt => "store_corrupt",
            Code::UpstreamUnreachable => "upstream_unreachable",
            Code::UpstreamIncomplete => "upstream_incomplete",
            Code::UpstreamUnreadable => "upstream_unreadable",
            Code::UpstreamTimeout => "upstream_timeout",
            Code::UpgradeNotSupported => "upgrade_not_supported",
            Code::NotRelayed => "not_relayed",
            Code::RelayUnavailable => "relay_unavailable",
            Code::ThumbnailUnavailable => "thumbnail_unavailable",
            Code::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            Code::NotFound | Code::NoConsent => StatusCode::NOT_FOUND,
            Code::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
            Code::CrossOrigin | Code::Forbidden | Code::CsrfFailed | Code::NotRelayed => {
                StatusCode::FORBIDDEN
            }
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::InvalidToken => StatusCode::UNAUTHORIZED,
            Code::UnsupportedMediaType | Code::FilePart => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Code::MalformedBody | Code::BadEncoding | Code::BadRequest | Code::InvalidDecision => {
                StatusCode::BAD_REQUEST
            }
            Code::Honeypot | Code::TooFast | Code::InvalidFields => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::StoreCorrupt | Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::UpstreamUnreachable
            | Code::UpstreamIncomplete
            | Code::UpstreamUnreadable
            | Code::RelayUnavailable
            | Code::ThumbnailUnavailable => StatusCode::BAD_GATEWAY,
            Code::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Code::UpgradeNotSupported => StatusCode::NOT_IMPLEMENTED,
        }
    }

    /// The message table: what a person reads about this code.
    pub fn message(self, lang: Lang) -> Message {
        use Lang::{En, Nl};
        match (self, lang) {
            (Code::NotFound, Nl) => m("Niet gevonden", "Op dit adres is niets te vinden."),
            (Code::NotFound, En) => m("Not found", "There is nothing at this address."),
            (Code::MisdirectedRequest, Nl) => m("Verkeerd adres", "Deze server hoort niet bij het adres dat u opvroeg. Controleer de spelling van het webadres."),
            (Code::MisdirectedRequest, En) => m("Wrong address", "This server does not serve the address you asked for. Please check the spelling of the web address."),
            (Code::CrossOrigin, Nl) => m("Verzoek geweigerd", "Dit verzoek kwam van een andere website en is daarom geweigerd."),
            (Code::CrossOrigin, En) => m("Request refused", "This request came from another website and was therefore refused."),
            (Code::UnsupportedMediaType, Nl) => m("Dit kon niet worden gelezen", "Wat er verstuurd is, heeft een vorm die dit adres niet aanneemt."),
            (Code::UnsupportedMediaType, En) => m("This could not be read", "What was sent is in a format this address does not accept."),
            (Code::BodyTooLarge, Nl) => m("Te groot", "Wat u verstuurde is groter dan de {limit} KB die hier is toegestaan. Maak het korter en verstuur het opnieuw."),
            (Code::BodyTooLarge, En) => m("Too large", "What you sent is larger than the {limit} KB allowed here. Please shorten it and send it again."),
            (Code::MalformedBody, Nl) => m("Dit kon niet worden gelezen", "Wat er verstuurd is, kwam beschadigd of onvolledig aan. Probeer het opnieuw."),
            (Code::MalformedBody, En) => m("This could not be read", "What was sent arrived damaged or incomplete. Please try again."),
            (Code::BadEncoding, Nl) => m("Dit kon niet worden gelezen", "Het bevatte tekens die niet als tekst te lezen zijn (geen geldige UTF-8)."),
            (Code::BadEncoding, En) => m("This could not be read", "It contained characters that are not readable text (not valid UTF-8)."),
            (Code::BadRequest, Nl) => m("Ongeldig verzoek", "Het verzoek kon niet worden begrepen."),
            (Code::BadRequest, En) => m("Bad request", "The request could not be understood."),
            (Code::RequestTimeout, Nl) => m("Te langzaam", "Wat u verstuurde kwam te langzaam binnen. Controleer uw verbinding en probeer het opnieuw."),
            (Code::RequestTimeout, En) => m("Too slow", "What you sent arrived too slowly. Please check your connection and try again."),
            (Code::InvalidDecision, Nl) => m("Keuze niet opgeslagen", "Uw cookiekeuze kon niet worden opgeslagen: de pagina is verouderd. Laad de pagina opnieuw en kies nogmaals."),
            (Code::InvalidDecision, En) => m("Choice not saved", "Your cookie choice could not be saved: the page is out of date. Please reload it and choose again."),
            (Code::NoConsent, Nl) => m("Geen keuze vastgelegd", "Voor deze browser is geen cookiekeuze vastgelegd."),
            (Code::NoConsent, En) => m("No choice recorded", "No cookie choice has been recorded for this browser."),
            (Code::FilePart, Nl) => m("Bestanden zijn niet mogelijk", "Via dit formulier kunt u geen bestanden meesturen. Verstuur het zonder bijlage."),
            (Code::FilePart, En) => m("Files are not accepted", "This form does not accept attachments. Please send it without one."),
            (Code::Honeypot, Nl) => m("Controleer het formulier", "Een verborgen veld dat leeg moet blijven was ingevuld (soms doet de automatische invulhulp van een browser dat). Controleer uw gegevens en klik opnieuw op Versturen."),
            (Code::Honeypot, En) => m("Please check the form", "A hidden field that must stay empty was filled in (a browser's autofill sometimes does this). Check your details and press Send again."),
            (Code::TooFast, Nl) => m("Nog één keer versturen", "Als bescherming tegen spam vragen we u het formulier na controle nog één keer te versturen."),
            (Code::TooFast, En) => m("Please send once more", "As a protection against spam, please check the form and send it once more."),
            (Code::InvalidFields, Nl) => m("Controleer het formulier", "Pas de gemarkeerde velden aan en verstuur het opnieuw."),
            (Code::InvalidFields, En) => m("Please check the form", "Please correct the marked fields and send it again."),
            (Code::RateLimited, Nl) => m("Even geduld", "Er zijn vanaf uw netwerk kort na elkaar veel berichten verstuurd. Probeer het over enkele minuten opnieuw."),
            (Code::RateLimited, En) => m("Please wait a moment", "Many messages were sent from your network in a short time. Please try again in a few minutes."),
            (Code::Forbidden, Nl) => m("Geen toegang", "Uw rol geeft geen toegang tot deze pagina."),
            (Code::Forbidden, En) => m("No access", "Your role does not give access to this page."),
            (Code::CsrfFailed, Nl) => m("Verzoek geweigerd", "Het formulier was verouderd of kwam van elders. Open de pagina opnieuw en probeer het nog eens."),
            (Code::CsrfFailed, En) => m("Request refused", "The form was out of date or came from somewhere else. Open the page again and retry."),
            (Code::InvalidToken, Nl) => m("Geen geldig token", "Dit verzoek had geen geldig API-token (ontbreekt, ingetrokken, verlopen, of de beheerder mag de cijfers niet meer zien)."),
            (Code::InvalidToken, En) => m("No valid token", "This request carried no valid API token (missing, revoked, expired, or its operator may no longer see the figures)."),
            (Code::MethodNotAllowed, Nl) => m("Niet toegestaan", "Dit adres neemt dit soort verzoek niet aan."),
            (Code::MethodNotAllowed, En) => m("Not allowed", "This address does not accept this kind of request."),
            (Code::StoreUnavailable, Nl) => m("Tijdelijk niet beschikbaar", "Door een storing bij ons is niets opgeslagen. Probeer het over enkele minuten opnieuw."),
            (Code::StoreUnavailable, En) => m("Temporarily unavailable", "Because of a fault on our side nothing was saved. Please try again in a few minutes."),
            (Code::StoreCorrupt, Nl) => m("Er ging iets mis", "Opgeslagen gegevens konden niet worden gelezen. Probeer het later opnieuw."),
            (Code::StoreCorrupt, En) => m("Something went wrong", "Stored data could not be read. Please try again later."),
            (Code::UpstreamUnreachable, Nl) => m("Website niet bereikbaar", "De website achter deze gateway is nu niet bereikbaar. Probeer het over enkele minuten opnieuw."),
            (Code::UpstreamUnreachable, En) => m("Website unreachable", "The website behind this gateway cannot be reached right now. Please try again in a few minutes."),
            (Code::UpstreamIncomplete, Nl) => m("Onvolledige pagina", "De website achter deze gateway stuurde een onvolledige pagina. Probeer het opnieuw."),
            (Code::UpstreamIncomplete, En) => m("Incomplete page", "The website behind this gateway sent an incomplete page. Please try again."),
            (Code::UpstreamUnreadable, Nl) => m("Pagina niet getoond", "De website achter deze gateway stuurde een pagina die de gateway niet kon controleren op trackers. Om uw privacy te beschermen wordt hij niet getoond. Probeer het later opnieuw."),
            (Code::UpstreamUnreadable, En) => m("Page not shown", "The website behind this gateway sent a page the gateway could not check for trackers. To protect your privacy it is not shown. Please try again later."),
            (Code::UpstreamTimeout, Nl) => m("Geen antwoord op tijd", "De website achter deze gateway antwoordde niet op tijd. Probeer het over enkele minuten opnieuw."),
            (Code::UpstreamTimeout, En) => m("No answer in time", "The website behind this gateway did not answer in time. Please try again in a few minutes."),
            (Code::UpgradeNotSupported, Nl) => m("Niet ondersteund", "Dit soort verbinding (WebSocket) wordt door de gateway van deze website niet ondersteund."),
            (Code::UpgradeNotSupported, En) => m("Not supported", "This connection type (WebSocket) is not supported by this website's gateway."),
            (Code::NotRelayed, Nl) => m("Niet doorgestuurd", "Deze website stuurt alleen metingen en scripts van haar eigen Google Analytics door, en metingen alleen na toestemming voor analyse."),
            (Code::NotRelayed, En) => m("Not passed on", "This website passes on only the measurements and scripts of its own Google Analytics, and measurements only after consent to analytics."),
            (Code::RelayUnavailable, Nl) => m("Script niet beschikbaar", "Het analysescript kon nu niet bij Google worden opgehaald. De website werkt gewoon; probeer het later opnieuw."),
            (Code::RelayUnavailable, En) => m("Script unavailable", "The analytics script could not be fetched from Google right now. The website works as usual; please try again later."),
            (Code::ThumbnailUnavailable, Nl) => m("Afbeelding niet beschikbaar", "Het voorbeeldplaatje van deze video kon nu niet worden opgehaald. De video zelf kunt u gewoon laden."),
            (Code::ThumbnailUnavailable, En) => m("Image unavailable", "The preview image of this video could not be fetched right now. The video itself can still be loaded."),
            (Code::Internal, Nl) => m("Er ging iets mis", "De gateway van deze website kon dit verzoek niet afhandelen. Probeer het later opnieuw."),
            (Code::Internal, En) => m("Something went wrong", "The website's gateway could not handle this request. Please try again later."),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lead sentence of every page that refuses a contact-form message (part of the message
/// table, so the form pages and the error page read alike).
pub fn message_not_sent(lang: Lang) -> &'static str {
    match lang {
        Lang::Nl => "Uw bericht is NIET verzonden.",
        Lang::En => "Your message was NOT sent.",
    }
}

/// An error answer: a [`Code`] plus what the answer needs besides the table's wording.
/// Rendered as JSON or HTML, in nl or en, by [`error_pages`] for the request at hand.
#[derive(Debug, Clone)]
pub struct EdgeError {
    code: Code,
    /// Technical detail (English) for the JSON message and logs; never personal data.
    detail: Option<String>,
    limit_bytes: Option<usize>,
    /// Per-field problems (field name → message), JSON only.
    fields: Option<BTreeMap<String, String>>,
    retry_after_secs: Option<u64>,
    /// The language of the page the request came from (a form's); beats Accept-Language.
    lang: Option<Lang>,
    /// A complete page that replaces the generic one for HTML clients (a form page).
    page: Option<String>,
    /// The shape to use when Accept does not say (`*/*` or no header).
    format: Format,
}

/// The JSON body of every error answer.
#[derive(Serialize)]
struct JsonBody<'a> {
    error: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a BTreeMap<String, String>>,
}

impl EdgeError {
    /// An error with the table's wording; JSON unless the client prefers HTML.
    pub fn new(code: Code) -> Self {
        Self {
            code,
            detail: None,
            limit_bytes: None,
            fields: None,
            retry_after_secs: None,
            lang: None,
            page: None,
            format: Format::Json,
        }
    }

    /// `body_too_large` for a limit of `limit_bytes`.
    pub fn too_large(limit_bytes: usize) -> Self {
        let mut e = Self::new(Code::BodyTooLarge);
        e.limit_bytes = Some(limit_bytes);
        e
    }

    pub fn code(&self) -> Code {
        self.code
    }

    /// Add technical detail (shown in JSON after the message, and logged).
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Per-field problems for the JSON body.
    pub fn fields(mut self, fields: BTreeMap<String, String>) -> Self {
        self.fields = Some(fields);
        self
    }

    /// Ask the client to retry after this many seconds.
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// The page language, when the request came from a page whose language is known.
    pub fn in_language(mut self, lang: Lang) -> Self {
        self.lang = Some(lang);
        self
    }

    /// A complete HTML page to send HTML clients instead of the generic error page.
    pub fn page(mut self, html: String) -> Self {
        self.page = Some(html);
        self
    }

    /// HTML when the client's Accept does not decide (pages, form posts), instead of JSON.
    pub fn html_by_default(mut self) -> Self {
        self.format = Format::Html;
        self
    }

    /// The shape used when Accept does not decide.
    pub fn default_format(&self) -> Format {
        self.format
    }

    /// The page language given with [`EdgeError::in_language`], if any.
    pub fn language(&self) -> Option<Lang> {
        self.lang
    }

    /// The table's explanation in `lang`, with the limit filled in.
    pub fn text(&self, lang: Lang) -> String {
        let text = self.code.message(lang).text;
        match self.limit_bytes {
            Some(limit) => text.replace("{limit}", &(limit / 1024).to_string()),
            None => text.to_owned(),
        }
    }

    /// The answer in the given shape and language.
    pub fn respond(&self, format: Format, lang: Lang) -> HttpResponse {
        let mut res = HttpResponse::build(self.code.status());
        // An error answer can echo what a visitor typed (form pages): no cache may keep it.
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        res.insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
        let retry = match (self.retry_after_secs, self.code) {
            (Some(secs), _) => Some(secs),
            (None, Code::StoreUnavailable) => Some(STORE_RETRY_AFTER_SECS),
            (None, _) => None,
        };
        if let Some(secs) = retry {
            res.insert_header((header::RETRY_AFTER, HeaderValue::from(secs)));
        }
        if self.code == Code::InvalidToken {
            // RFC 6750: the scheme the client should use.
            res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"consentgate\""));
        }
        if self.code == Code::RequestTimeout {
            // The rest of the body may still be trickling in: nothing more is read from this
            // connection.
            res.force_close();
        }
        match format {
            Format::Json => {
                let mut message = self.text(lang);
                if let Some(detail) = &self.detail {
                    message = format!("{message} ({detail})");
                }
                res.json(JsonBody {
                    error: self.code.as_str(),
                    message,
                    fields: self.fields.as_ref(),
                })
            }
            Format::Html => {
                let page = match &self.page {
                    Some(page) => page.clone(),
                    None => self.generic_page(lang),
                };
                res.content_type("text/html; charset=utf-8").body(page)
            }
        }
    }

    /// The gate's own error page. Every piece of text is from the message table or the code
    /// (nothing from the request), so plain formatting is safe here.
    fn generic_page(&self, lang: Lang) -> String {
        let status = self.code.status();
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{status_code} {title}</title>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head>\
             <body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem\">\
             <h1>{title}</h1><p>{text}</p><p><small>{status_code} · consentgate: {code}</small></p></body></html>\n",
            lang = lang.as_str(),
            status_code = status.as_u16(),
            title = self.code.message(lang).title,
            text = self.text(lang),
            code = self.code.as_str(),
        )
    }
}

impl From<Code> for EdgeError {
    fn from(code: Code) -> Self {
        EdgeError::new(code)
    }
}

impl fmt::Display for EdgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.code),
            None => write!(f, "{}", self.code),
        }
    }
}

impl std::error::Error for EdgeError {}

impl ResponseError for EdgeError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    /// Without the request at hand: the default shape, in the page language or English.
    /// [`error_pages`] replaces this with the answer the request asked for.
    fn error_response(&self) -> HttpResponse {
        self.respond(self.format, self.lang.unwrap_or(Lang::En))
    }
}

/// Middleware that renders every [`EdgeError`] for its request: JSON or HTML by Accept, nl or
/// en by the page language, then Accept-Language, then `default_lang`. Other responses (an
/// upstream's own 404 page, say) pass untouched.
pub fn error_pages<B: MessageBody + 'static>(default_lang: Lang) -> ErrorHandlers<B> {
    render_edge_errors(move |req, err| {
        let format = reply_format(req, err.default_format());
        let lang = language(req, err.language(), default_lang);
        Some(err.respond(format, lang))
    })
}

/// Middleware that replaces every response carrying an [`EdgeError`] with what `render` makes
/// of it for the request; `None` leaves the response as it is (for a middleware further out).
pub fn render_edge_errors<B, F>(render: F) -> ErrorHandlers<B>
where
    B: MessageBody + 'static,
    F: Fn(&actix_web::HttpRequest, &EdgeError) -> Option<HttpResponse> + 'static,
{
    ErrorHandlers::new().default_handler(move |res: ServiceResponse<B>| {
        let fresh = res
            .response()
            .error()
            .and_then(|e| e.as_error::<EdgeError>())
            .and_then(|err| render(res.request(), err));
        Ok(match fresh {
            Some(fresh) => {
                let (req, _) = res.into_parts();
                ErrorHandlerResponse::Response(
                    ServiceResponse::new(req, fresh).map_into_right_body(),
                )
            }
            None => ErrorHandlerResponse::Response(res.map_into_left_body()),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_with_wording_in_both_languages() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert!(code.status().is_client_error() || code.status().is_server_error());
            let (nl, en) = (code.message(Lang::Nl), code.message(Lang::En));
            assert!(!nl.title.is_empty() && !nl.text.is_empty() && !en.text.is_empty());
            assert_ne!(nl.text, en.text, "{s} is not translated");
        }
    }

    #[test]
    fn json_body_has_the_one_shape() {
        let mut fields = BTreeMap::new();
        fields.insert(
            "email".to_owned(),
            "Enter a valid e-mail address.".to_owned(),
        );
        let res = EdgeError::new(Code::InvalidFields)
            .fields(fields)
            .respond(Format::Json, Lang::En);
        assert_eq!(res.status(), 422);
        let body = actix_web::body::to_bytes(res.into_body());
        let body = futures_util::FutureExt::now_or_never(body)
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["error"], "invalid_fields");
        assert_eq!(v["fields"]["email"], "Enter a valid e-mail address.");
        assert!(v["message"]
            .as_str()
            .unwrap()
            .contains("correct the marked fields"));
        assert_eq!(v.as_object().unwrap().len(), 3);
    }

    #[test]
    fn store_outage_always_carries_retry_after_and_the_limit_is_filled_in() {
        let res = EdgeError::new(Code::StoreUnavailable).respond(Format::Html, Lang::Nl);
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers().get(header::RETRY_AFTER).unwrap(), "30");
        assert_eq!(
            EdgeError::too_large(2048).text(Lang::Nl),
            "Wat u verstuurde is groter dan de 2 KB die hier is toegestaan. Maak het korter en verstuur het opnieuw."
        );
    }
}
