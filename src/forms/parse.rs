//! Turning a buffered request body into `(name, value)` pairs: `application/x-www-form-urlencoded`
//! and `multipart/form-data` (read with the `multer` crate). Everything must be valid UTF-8;
//! file parts are refused (the gate keeps text only); the body is already bounded by the form's
//! size limit, so a multipart body is parsed from memory.

use bytes::Bytes;

/// Why a body could not be read as a form submission.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the request is not a form submission (content type {0:?})")]
    UnsupportedType(String),
    #[error("the form contained a file, which this form does not accept")]
    FilePart,
    #[error("the form data is not valid UTF-8 text")]
    BadEncoding,
    #[error("the form data is malformed ({0})")]
    Malformed(&'static str),
}

/// The body formats a form may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyKind {
    UrlEncoded,
    Multipart { boundary: String },
}

/// Decide the format from the Content-Type header.
pub fn body_kind(content_type: Option<&str>) -> Result<BodyKind, ParseError> {
    let raw = content_type.unwrap_or("");
    let mime: mime::Mime = raw
        .parse()
        .map_err(|_| ParseError::UnsupportedType(raw.chars().take(80).collect()))?;
    match (mime.type_(), mime.subtype()) {
        (mime::APPLICATION, mime::WWW_FORM_URLENCODED) => Ok(BodyKind::UrlEncoded),
        (mime::MULTIPART, mime::FORM_DATA) => {
            let boundary = mime
                .get_param(mime::BOUNDARY)
                .map(|b| b.as_str().to_owned())
                .filter(|b| !b.is_empty() && b.len() <= 200)
                .ok_or(ParseError::Malformed("multipart without a boundary"))?;
            Ok(BodyKind::Multipart { boundary })
        }
        _ => Err(ParseError::UnsupportedType(mime.essence_str().to_owned())),
    }
}

/// Parse a whole body of the given kind.
pub async fn parse(kind: &BodyKind, body: Bytes) -> Result<Vec<(String, String)>, ParseError> {
    match kind {
        BodyKind::UrlEncoded => parse_urlencoded(&body),
        BodyKind::Multipart { boundary } => parse_multipart(body, boundary).await,
    }
}

fn parse_urlencoded(body: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        out.push((decode_component(name)?, decode_component(value)?));
    }
    Ok(out)
}

/// One urlencoded name or value. Not `url::form_urlencoded`: it replaces invalid UTF-8, and
/// the visitor must be told instead.
fn decode_component(raw: &[u8]) -> Result<String, ParseError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| ParseError::BadEncoding)
}

async fn parse_multipart(body: Bytes, boundary: &str) -> Result<Vec<(String, String)>, ParseError> {
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut out = Vec::new();
    // Each round consumes one part of a body that is already in memory and bounded.
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let is_file = field.file_name().is_some()
            || field
                .content_type()
                .is_some_and(|m| m.essence_str() != "text/plain");
        let name = field.name().map(str::to_owned);
        let value = field.bytes().await.map_err(malformed)?;
        if is_file {
            // Browsers send an empty part for a file input left empty; that carries nothing.
            if value.is_empty() {
                continue;
            }
            return Err(ParseError::FilePart);
        }
        let name = name.ok_or(ParseError::Malformed("part without a name"))?;
        let value = String::from_utf8(value.to_vec()).map_err(|_| ParseError::BadEncoding)?;
        out.push((name, value));
    }
    Ok(out)
}

/// multer's errors, reduced to what the visitor is told (its messages can quote the data).
fn malformed(e: multer::Error) -> ParseError {
    match e {
        multer::Error::DecodeHeaderName { .. } | multer::Error::DecodeHeaderValue { .. } => {
            ParseError::BadEncoding
        }
        multer::Error::IncompleteStream | multer::Error::IncompleteFieldData { .. } => {
            ParseError::Malformed("unterminated part")
        }
        multer::Error::IncompleteHeaders | multer::Error::ReadHeaderFailed(_) => {
            ParseError::Malformed("part headers")
        }
        _ => ParseError::Malformed("multipart body"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn run(kind: &BodyKind, body: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
        let body = Bytes::copy_from_slice(body);
        futures_util::FutureExt::now_or_never(parse(kind, body)).expect("parsing is in memory")
    }

    #[test]
    fn urlencoded_decodes_plus_and_percent() {
        let got = run(
            &BodyKind::UrlEncoded,
            b"naam=Jan+de+Vries&bericht=caf%C3%A9%0A%26+meer&leeg",
        )
        .unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("naam", "Jan de Vries"),
                ("bericht", "café\n& meer"),
                ("leeg", "")
            ])
        );
    }

    #[test]
    fn urlencoded_invalid_utf8_is_refused() {
        assert_eq!(
            run(&BodyKind::UrlEncoded, b"naam=%FF%FE"),
            Err(ParseError::BadEncoding)
        );
        assert_eq!(
            run(&BodyKind::UrlEncoded, b"naam=\xff"),
            Err(ParseError::BadEncoding)
        );
    }

    #[test]
    fn content_types_are_recognised() {
        assert_eq!(
            body_kind(Some("application/x-www-form-urlencoded; charset=UTF-8")),
            Ok(BodyKind::UrlEncoded)
        );
        assert_eq!(
            body_kind(Some(
                "multipart/form-data; boundary=----WebKitFormBoundaryx7"
            )),
            Ok(BodyKind::Multipart {
                boundary: "----WebKitFormBoundaryx7".into()
            })
        );
        assert!(matches!(
            body_kind(Some("application/json")),
            Err(ParseError::UnsupportedType(_))
        ));
        assert!(matches!(
            body_kind(None),
            Err(ParseError::UnsupportedType(_))
        ));
    }

    const B: &str = "----WebKitFormBoundaryAbC";

    fn multipart(parts: &[&str]) -> Vec<u8> {
        let mut body = String::new();
        for p in parts {
            body.push_str(&format!("--{B}\r\n{p}\r\n"));
        }
        body.push_str(&format!("--{B}--\r\n"));
        body.into_bytes()
    }

    #[test]
    fn multipart_fields_are_read_and_empty_file_inputs_skipped() {
        let body = multipart(&[
            "Content-Disposition: form-data; name=\"naam\"\r\n\r\nJan \"de\" Vries",
            "Content-Disposition: form-data; name=\"bericht\"\r\n\r\nregel 1\r\nregel 2",
            "Content-Disposition: form-data; name=\"bijlage\"; filename=\"\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        ]);
        let got = run(&BodyKind::Multipart { boundary: B.into() }, &body).unwrap();
        assert_eq!(
            got,
            pairs(&[
                ("naam", "Jan \"de\" Vries"),
                ("bericht", "regel 1\r\nregel 2")
            ])
        );
    }

    #[test]
    fn multipart_file_part_is_refused() {
        let body = multipart(&[
            "Content-Disposition: form-data; name=\"naam\"\r\n\r\nJan",
            "Content-Disposition: form-data; name=\"cv\"; filename=\"cv.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4",
        ]);
        assert_eq!(
            run(&BodyKind::Multipart { boundary: B.into() }, &body),
            Err(ParseError::FilePart)
        );
    }

    #[test]
    fn multipart_invalid_utf8_and_truncation_are_refused() {
        let mut body =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"naam\"\r\n\r\n").into_bytes();
        body.extend_from_slice(b"\xc3\x28");
        body.extend_from_slice(format!("\r\n--{B}--\r\n").as_bytes());
        assert_eq!(
            run(&BodyKind::Multipart { boundary: B.into() }, &body),
            Err(ParseError::BadEncoding)
        );
        let truncated =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"naam\"\r\n\r\nJan");
        assert!(matches!(
            run(
                &BodyKind::Multipart { boundary: B.into() },
                truncated.as_bytes()
            ),
            Err(ParseError::Malformed(_))
        ));
    }
}
