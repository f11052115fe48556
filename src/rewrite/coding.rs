//! Content-Encoding: incremental decoders for what the upstream sent and encoders for what the
//! client accepts (which one that is, is negotiated at the edge: `http::extract`). Both are push-based (`write` in, drain the inner buffer out) so the body
//! streams through without being collected.

use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder};
use flate2::Compression;

/// A content coding consentgate can decode and produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    Identity,
    Gzip,
    Deflate,
    Brotli,
}

impl Coding {
    /// The `Content-Encoding` value to send, `None` for identity (send no header).
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Deflate => Some("deflate"),
            Coding::Brotli => Some("br"),
        }
    }
}

/// The coding of an upstream body from its `Content-Encoding`; `None` = unsupported (several
/// codings stacked, zstd, …): the proxy then streams the response untouched.
pub fn coding_from_header(content_encoding: Option<&str>) -> Option<Coding> {
    let Some(value) = content_encoding else {
        return Some(Coding::Identity);
    };
    let codings: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"))
        .collect();
    match codings.as_slice() {
        [] => Some(Coding::Identity),
        [one] if one.eq_ignore_ascii_case("gzip") || one.eq_ignore_ascii_case("x-gzip") => {
            Some(Coding::Gzip)
        }
        [one] if one.eq_ignore_ascii_case("deflate") => Some(Coding::Deflate),
        [one] if one.eq_ignore_ascii_case("br") => Some(Coding::Brotli),
        _ => None,
    }
}

/// Incremental decoder of an upstream body.
pub(crate) enum Decoder {
    Identity,
    Gzip(Box<GzDecoder<Vec<u8>>>),
    /// HTTP "deflate" is zlib-wrapped, but some servers send raw deflate; decided on the first
    /// two bytes.
    DeflateUndecided(Vec<u8>),
    Zlib(Box<ZlibDecoder<Vec<u8>>>),
    RawDeflate(Box<DeflateDecoder<Vec<u8>>>),
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
}

impl Decoder {
    pub fn new(coding: Coding) -> Self {
        match coding {
            Coding::Identity => Decoder::Identity,
            Coding::Gzip => Decoder::Gzip(Box::new(GzDecoder::new(Vec::new()))),
            Coding::Deflate => Decoder::DeflateUndecided(Vec::new()),
            Coding::Brotli => {
                Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 8192)))
            }
        }
    }

    /// Decode `input`, appending the plain bytes to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Decoder::Identity => {
                out.extend_from_slice(input);
                Ok(())
            }
            // flush() hands over everything decoded so far, so the page streams without lagging
            // a chunk behind and a later corrupt chunk cannot take earlier output with it.
            Decoder::Gzip(d) => drain(
                d.write_all(input).and_then(|()| d.flush()),
                d.get_mut(),
                out,
            ),
            Decoder::Zlib(d) => drain(
                d.write_all(input).and_then(|()| d.flush()),
                d.get_mut(),
                out,
            ),
            Decoder::RawDeflate(d) => drain(
                d.write_all(input).and_then(|()| d.flush()),
                d.get_mut(),
                out,
            ),
            Decoder::Brotli(d) => drain(d.write_all(input), d.get_mut(), out),
            Decoder::DeflateUndecided(head) => {
                head.extend_from_slice(input);
                if head.len() < 2 {
                    return Ok(());
                }
                let (cmf, flg) = (head[0], head[1]);
                let zlib = cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
                let buffered = std::mem::take(head);
                *self = if zlib {
                    Decoder::Zlib(Box::new(ZlibDecoder::new(Vec::new())))
                } else {
                    Decoder::RawDeflate(Box::new(DeflateDecoder::new(Vec::new())))
                };
                self.push(&buffered, out)
            }
        }
    }

    /// End of input: flush what is left; an error means the body was truncated or corrupt.
    pub fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Decoder::Identity => Ok(()),
            Decoder::DeflateUndecided(head) if head.is_empty() => Ok(()),
            Decoder::DeflateUndecided(_) => Err(std::io::ErrorKind::UnexpectedEof.into()),
            Decoder::Gzip(d) => {
                let v = d.finish()?;
                out.extend_from_slice(&v);
                Ok(())
            }
            Decoder::Zlib(d) => {
                let v = d.finish()?;
                out.extend_from_slice(&v);
                Ok(())
            }
            Decoder::RawDeflate(d) => {
                let v = d.finish()?;
                out.extend_from_slice(&v);
                Ok(())
            }
            Decoder::Brotli(d) => match d.into_inner() {
                Ok(v) => {
                    out.extend_from_slice(&v);
                    Ok(())
                }
                Err(v) => {
                    out.extend_from_slice(&v);
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                }
            },
        }
    }
}

fn drain(
    result: std::io::Result<()>,
    inner: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    out.append(inner);
    result
}

/// Incremental encoder of the client body.
pub(crate) enum Encoder {
    Identity,
    Gzip(Box<GzEncoder<Vec<u8>>>),
    Deflate(Box<ZlibEncoder<Vec<u8>>>),
    Brotli(Box<brotli::CompressorWriter<Vec<u8>>>),
}

/// Levels chosen for a proxy that compresses every page on the fly: fast, still ~4–6× on HTML.
const GZIP_LEVEL: u32 = 1;
const BROTLI_QUALITY: u32 = 4;
const BROTLI_LGWIN: u32 = 22;

impl Encoder {
    pub fn new(coding: Coding) -> Self {
        match coding {
            Coding::Identity => Encoder::Identity,
            Coding::Gzip => Encoder::Gzip(Box::new(GzEncoder::new(
                Vec::new(),
                Compression::new(GZIP_LEVEL),
            ))),
            Coding::Deflate => Encoder::Deflate(Box::new(ZlibEncoder::new(
                Vec::new(),
                Compression::new(GZIP_LEVEL),
            ))),
            Coding::Brotli => Encoder::Brotli(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                16 * 1024,
                BROTLI_QUALITY,
                BROTLI_LGWIN,
            ))),
        }
    }

    /// Encode `input`, appending whatever the encoder has completed to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Encoder::Identity => {
                out.extend_from_slice(input);
                Ok(())
            }
            Encoder::Gzip(e) => drain(e.write_all(input), e.get_mut(), out),
            Encoder::Deflate(e) => drain(e.write_all(input), e.get_mut(), out),
            Encoder::Brotli(e) => drain(e.write_all(input), e.get_mut(), out),
        }
    }

    pub fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Encoder::Identity => Ok(()),
            Encoder::Gzip(e) => {
                out.extend_from_slice(&e.finish()?);
                Ok(())
            }
            Encoder::Deflate(e) => {
                out.extend_from_slice(&e.finish()?);
                Ok(())
            }
            Encoder::Brotli(e) => {
                out.extend_from_slice(&e.into_inner());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_encoding_header_is_understood() {
        assert_eq!(coding_from_header(None), Some(Coding::Identity));
        assert_eq!(coding_from_header(Some("GZIP")), Some(Coding::Gzip));
        assert_eq!(coding_from_header(Some("br")), Some(Coding::Brotli));
        assert_eq!(coding_from_header(Some("deflate")), Some(Coding::Deflate));
        assert_eq!(coding_from_header(Some("identity")), Some(Coding::Identity));
        assert_eq!(coding_from_header(Some("zstd")), None);
        assert_eq!(coding_from_header(Some("gzip, br")), None);
    }

    #[test]
    fn every_coding_round_trips_in_small_pieces() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("<p>{i}</p>").into_bytes())
            .collect();
        for coding in [
            Coding::Identity,
            Coding::Gzip,
            Coding::Deflate,
            Coding::Brotli,
        ] {
            let mut enc = Encoder::new(coding);
            let mut wire = Vec::new();
            for piece in text.chunks(777) {
                enc.push(piece, &mut wire).unwrap();
            }
            enc.finish(&mut wire).unwrap();
            let mut dec = Decoder::new(coding);
            let mut plain = Vec::new();
            for piece in wire.chunks(7) {
                dec.push(piece, &mut plain).unwrap();
            }
            dec.finish(&mut plain).unwrap();
            assert_eq!(plain, text, "{coding:?}");
        }
    }

    #[test]
    fn raw_deflate_from_misconfigured_servers_is_decoded() {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"<html>raw deflate</html>").unwrap();
        let wire = e.finish().unwrap();
        let mut dec = Decoder::new(Coding::Deflate);
        let mut plain = Vec::new();
        for piece in wire.chunks(1) {
            dec.push(piece, &mut plain).unwrap();
        }
        dec.finish(&mut plain).unwrap();
        assert_eq!(plain, b"<html>raw deflate</html>");
    }
}
