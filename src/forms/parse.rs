//! Turning a buffered request body into `(name, value)` pairs: `application/x-www-form-urlencoded`
//! and `multipart/form-data`. Everything must be valid UTF-8; file parts are refused (the gate
//! keeps text only); a multipart body is parsed from memory because it is already bounded by the
//! form's size limit.

use memchr::memmem;

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
pub fn parse(kind: &BodyKind, body: &[u8]) -> Result<Vec<(String, String)>, ParseError> {
    match kind {
        BodyKind::UrlEncoded => parse_urlencoded(body),
        BodyKind::Multipart { boundary } => parse_multipart(body, boundary),
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

fn decode_component(raw: &[u8]) -> Result<String, ParseError> {
    let plus_as_space: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let bytes: Vec<u8> = percent_encoding::percent_decode(&plus_as_space).collect();
    String::from_utf8(bytes).map_err(|_| ParseError::BadEncoding)
}

fn parse_multipart(body: &[u8], boundary: &str) -> Result<Vec<(String, String)>, ParseError> {
    let delimiter = format!("--{boundary}");
    let next_delimiter = format!("\r\n--{boundary}");
    let first = memmem::find(body, delimiter.as_bytes())
        .ok_or(ParseError::Malformed("boundary not found"))?;
    let mut pos = first + delimiter.len();
    let mut out = Vec::new();
    // Each round consumes one part; a body of n bytes has fewer than n parts.
    loop {
        let rest = &body[pos..];
        if rest.starts_with(b"--") {
            return Ok(out);
        }
        let Some(rest) = rest.strip_prefix(b"\r\n") else {
            return Err(ParseError::Malformed(
                "boundary not followed by a line break",
            ));
        };
        let end = memmem::find(rest, next_delimiter.as_bytes())
            .ok_or(ParseError::Malformed("unterminated part"))?;
        if let Some(field) = parse_part(&rest[..end])? {
            out.push(field);
        }
        pos += 2 + end + next_delimiter.len();
    }
}

/// One part → `Some((name, value))`, `None` for an empty file input (no file chosen).
fn parse_part(part: &[u8]) -> Result<Option<(String, String)>, ParseError> {
    let (head, value) = if let Some(value) = part.strip_prefix(b"\r\n") {
        (&b""[..], value)
    } else {
        let split = memmem::find(part, b"\r\n\r\n").ok_or(ParseError::Malformed("part headers"))?;
        (&part[..split], &part[split + 4..])
    };
    let head = std::str::from_utf8(head).map_err(|_| ParseError::BadEncoding)?;
    let mut name = None;
    let mut is_file = false;
    for line in head.split("\r\n") {
        let Some((header, content)) = line.split_once(':') else {
            return Err(ParseError::Malformed("part header line"));
        };
        let header = header.trim();
        if header.eq_ignore_ascii_case("content-disposition") {
            for (key, val) in disposition_params(content) {
                if key.eq_ignore_ascii_case("name") {
                    name = Some(val);
                } else if key.eq_ignore_ascii_case("filename")
                    || key.eq_ignore_ascii_case("filename*")
                {
                    is_file = true;
                }
            }
        } else if header.eq_ignore_ascii_case("content-type") {
            let text_plain = content
                .trim()
                .parse::<mime::Mime>()
                .map(|m| m.essence_str() == "text/plain")
                .unwrap_or(false);
            is_file |= !text_plain;
        }
    }
    if is_file {
        // Browsers send an empty part for a file input left empty; that carries nothing.
        return if value.is_empty() {
            Ok(None)
        } else {
            Err(ParseError::FilePart)
        };
    }
    let name = name.ok_or(ParseError::Malformed("part without a name"))?;
    let value = String::from_utf8(value.to_vec()).map_err(|_| ParseError::BadEncoding)?;
    Ok(Some((name, value)))
}

/// Parameters of `form-data; name="a"; filename="b"` (quoted strings with backslash escapes).
fn disposition_params(content: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = content.chars().peekable();
    // Skip the disposition type up to the first ';'.
    for c in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    while chars.peek().is_some() {
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
        }
        let mut value = String::new();
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
            }
        } else {
            for c in chars.by_ref() {
                if c == ';' {
                    break;
                }
                value.push(c);
            }
        }
        let key = key.trim();
        if !key.is_empty() {
            params.push((key.to_owned(), value.trim().to_owned()));
        }
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn urlencoded_decodes_plus_and_percent() {
        let got = parse(
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
            parse(&BodyKind::UrlEncoded, b"naam=%FF%FE"),
            Err(ParseError::BadEncoding)
        );
        assert_eq!(
            parse(&BodyKind::UrlEncoded, b"naam=\xff"),
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
        let got = parse(&BodyKind::Multipart { boundary: B.into() }, &body).unwrap();
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
            parse(&BodyKind::Multipart { boundary: B.into() }, &body),
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
            parse(&BodyKind::Multipart { boundary: B.into() }, &body),
            Err(ParseError::BadEncoding)
        );
        let truncated =
            format!("--{B}\r\nContent-Disposition: form-data; name=\"naam\"\r\n\r\nJan");
        assert!(matches!(
            parse(
                &BodyKind::Multipart { boundary: B.into() },
                truncated.as_bytes()
            ),
            Err(ParseError::Malformed(_))
        ));
    }
}
