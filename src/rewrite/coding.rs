//! Content-Encoding: incremental decoders for what the upstream sent (gzip, deflate, br, zstd,
//! also stacked) and encoders for what the client accepts (which one that is, is negotiated at
//! the edge: `http::extract`). Both are push-based (`write` in, drain the inner buffer out) so
//! the body streams through without being collected. Decoded output is capped: every decoder
//! writes into a [`Capped`] buffer that refuses to grow past the cap, so a small compressed
//! body cannot inflate into gigabytes of memory before anyone checks.
//!
//! zstd is decoded by `ruzstd`, a pure-Rust decoder: no C library to build or audit, and its
//! frame decoder takes input in pieces and writes into a bounded buffer, which is what a
//! streaming, capped decode needs.

use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder};
use flate2::Compression;

/// A content coding consentgate can decode (all) and produce (all but zstd).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Coding {
    #[default]
    Identity,
    Gzip,
    Deflate,
    Brotli,
    Zstd,
}

impl Coding {
    /// The `Content-Encoding` value to send, `None` for identity (send no header).
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Deflate => Some("deflate"),
            Coding::Brotli => Some("br"),
            Coding::Zstd => Some("zstd"),
        }
    }

    fn from_token(token: &str) -> Option<Coding> {
        let token = token.trim();
        Some(match token.to_ascii_lowercase().as_str() {
            "identity" | "" => Coding::Identity,
            "gzip" | "x-gzip" => Coding::Gzip,
            "deflate" => Coding::Deflate,
            "br" => Coding::Brotli,
            "zstd" => Coding::Zstd,
            _ => return None,
        })
    }
}

/// Most codings stacked on one body that the gate decodes; more is refused (each layer costs a
/// decoder, and no server needs more).
pub const MAX_STACKED_CODINGS: usize = 4;

/// The codings of an upstream body from all its `Content-Encoding` values, in the order they
/// were applied (`identity` dropped); `Err` names a coding the gate cannot decode, or too
/// many stacked.
pub fn codings_from_headers<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Coding>, String> {
    let mut codings = Vec::new();
    for token in values.into_iter().flat_map(|v| v.split(',')) {
        match Coding::from_token(token) {
            Some(Coding::Identity) => {}
            Some(coding) => codings.push(coding),
            None => return Err(format!("unsupported content coding {:?}", token.trim())),
        }
    }
    if codings.len() > MAX_STACKED_CODINGS {
        return Err(format!("{} content codings stacked", codings.len()));
    }
    Ok(codings)
}

/// The single coding of a body from one `Content-Encoding` value; `None` when it names
/// several or one the gate cannot decode.
pub fn coding_from_header(content_encoding: Option<&str>) -> Option<Coding> {
    match codings_from_headers(content_encoding).ok()?.as_slice() {
        [] => Some(Coding::Identity),
        [one] => Some(*one),
        _ => None,
    }
}

/// A growable output buffer with a cap on everything ever written to it: a write past the cap
/// fails, which stops the decoder writing into it.
#[derive(Debug, Default)]
pub(crate) struct Capped {
    pub buf: Vec<u8>,
    written: usize,
    cap: usize,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            written: 0,
            cap,
        }
    }
}

impl Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.written + data.len() > self.cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::OutOfMemory,
                TooLarge(self.cap),
            ));
        }
        self.written += data.len();
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The error a [`Capped`] buffer fails with: the body decodes to more than this many bytes.
#[derive(Debug, thiserror::Error)]
#[error("decoded body larger than {0} bytes")]
pub struct TooLarge(pub usize);

/// Whether an I/O error is a [`Capped`] buffer refusing to grow.
pub(crate) fn too_large(e: &std::io::Error) -> Option<usize> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<TooLarge>())
        .map(|t| t.0)
}

/// Decoders for stacked codings, undone in reverse order of application, each capped (an
/// error whose [`TooLarge`] payload says so when the cap is reached).
pub struct DecodeChain {
    /// Innermost coding last: input goes through `stages[0]` first.
    stages: Vec<Decoder>,
}

impl DecodeChain {
    /// Decoders for `codings` (as applied, first to last), each output capped at `cap` bytes.
    pub fn new(codings: &[Coding], cap: usize) -> Self {
        Self {
            stages: codings
                .iter()
                .rev()
                .map(|&c| Decoder::with_cap(c, cap))
                .collect(),
        }
    }

    /// Decode `input`, appending the plain bytes to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        let Some((last, first)) = self.stages.split_last_mut() else {
            // Identity: one copy, as before there were stages.
            out.extend_from_slice(input);
            return Ok(());
        };
        let mut data: Option<Vec<u8>> = None;
        for stage in first {
            let mut next = Vec::new();
            stage.push(data.as_deref().unwrap_or(input), &mut next)?;
            data = Some(next);
        }
        last.push(data.as_deref().unwrap_or(input), out)
    }

    /// End of input: what is left, through the remaining stages.
    pub fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        let mut carried: Vec<u8> = Vec::new();
        for mut stage in self.stages {
            let mut produced = Vec::new();
            if !carried.is_empty() {
                stage.push(&carried, &mut produced)?;
            }
            stage.finish(&mut produced)?;
            carried = produced;
        }
        out.append(&mut carried);
        Ok(())
    }
}

/// Incremental decoder of an upstream body; its output is capped (see [`Capped`]).
pub(crate) enum Decoder {
    Identity,
    Gzip(Box<GzDecoder<Capped>>),
    /// HTTP "deflate" is zlib-wrapped, but some servers send raw deflate; decided on the first
    /// two bytes.
    DeflateUndecided(Vec<u8>, usize),
    Zlib(Box<ZlibDecoder<Capped>>),
    RawDeflate(Box<DeflateDecoder<Capped>>),
    Brotli(Box<brotli::DecompressorWriter<Capped>>),
    Zstd(Box<ZstdStream>),
}

impl Decoder {
    /// A decoder without a practical cap (tests).
    #[cfg(test)]
    pub fn new(coding: Coding) -> Self {
        Self::with_cap(coding, 1 << 30)
    }

    /// A decoder whose output, in total, may not exceed `cap` bytes.
    pub fn with_cap(coding: Coding, cap: usize) -> Self {
        match coding {
            Coding::Identity => Decoder::Identity,
            Coding::Gzip => Decoder::Gzip(Box::new(GzDecoder::new(Capped::new(cap)))),
            Coding::Deflate => Decoder::DeflateUndecided(Vec::new(), cap),
            Coding::Brotli => Decoder::Brotli(Box::new(brotli::DecompressorWriter::new(
                Capped::new(cap),
                8192,
            ))),
            Coding::Zstd => Decoder::Zstd(Box::new(ZstdStream::new(cap))),
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
                &mut d.get_mut().buf,
                out,
            ),
            Decoder::Zlib(d) => drain(
                d.write_all(input).and_then(|()| d.flush()),
                &mut d.get_mut().buf,
                out,
            ),
            Decoder::RawDeflate(d) => drain(
                d.write_all(input).and_then(|()| d.flush()),
                &mut d.get_mut().buf,
                out,
            ),
            Decoder::Brotli(d) => drain(d.write_all(input), &mut d.get_mut().buf, out),
            Decoder::Zstd(d) => d.push(input, out),
            Decoder::DeflateUndecided(head, cap) => {
                head.extend_from_slice(input);
                if head.len() < 2 {
                    return Ok(());
                }
                let (cmf, flg) = (head[0], head[1]);
                let zlib = cmf & 0x0f == 8 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
                let buffered = std::mem::take(head);
                let cap = *cap;
                *self = if zlib {
                    Decoder::Zlib(Box::new(ZlibDecoder::new(Capped::new(cap))))
                } else {
                    Decoder::RawDeflate(Box::new(DeflateDecoder::new(Capped::new(cap))))
                };
                self.push(&buffered, out)
            }
        }
    }

    /// End of input: flush what is left; an error means the body was truncated or corrupt.
    pub fn finish(self, out: &mut Vec<u8>) -> std::io::Result<()> {
        match self {
            Decoder::Identity => Ok(()),
            Decoder::DeflateUndecided(head, _) if head.is_empty() => Ok(()),
            Decoder::DeflateUndecided(..) => Err(std::io::ErrorKind::UnexpectedEof.into()),
            Decoder::Gzip(d) => {
                out.append(&mut d.finish()?.buf);
                Ok(())
            }
            Decoder::Zlib(d) => {
                out.append(&mut d.finish()?.buf);
                Ok(())
            }
            Decoder::RawDeflate(d) => {
                out.append(&mut d.finish()?.buf);
                Ok(())
            }
            Decoder::Brotli(d) => match d.into_inner() {
                Ok(mut v) => {
                    out.append(&mut v.buf);
                    Ok(())
                }
                Err(mut v) => {
                    out.append(&mut v.buf);
                    Err(std::io::ErrorKind::UnexpectedEof.into())
                }
            },
            Decoder::Zstd(d) => d.finish(out),
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

/// A zstd body decoded as it arrives: input is buffered until the decoder can take a frame
/// header or a whole block (blocks are at most 128 KiB), output drained in bounded pieces.
/// Concatenated and skippable frames are read as the format allows.
pub(crate) struct ZstdStream {
    decoder: ruzstd::decoding::FrameDecoder,
    input: Vec<u8>,
    /// A frame has been started (its header read) and not finished.
    in_frame: bool,
    produced: usize,
    cap: usize,
}

/// Largest zstd frame header: magic, descriptor, window, dictionary id, content size.
const ZSTD_MAX_HEADER: usize = 18;

impl ZstdStream {
    fn new(cap: usize) -> Self {
        Self {
            decoder: ruzstd::decoding::FrameDecoder::new(),
            input: Vec::new(),
            in_frame: false,
            produced: 0,
            cap,
        }
    }

    fn corrupt(e: impl std::fmt::Display) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("zstd: {e}"))
    }

    fn push(&mut self, data: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
        self.input.extend_from_slice(data);
        self.run(out, false)
    }

    fn finish(mut self, out: &mut Vec<u8>) -> std::io::Result<()> {
        self.run(out, true)?;
        if self.in_frame || !self.input.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    fn run(&mut self, out: &mut Vec<u8>, last: bool) -> std::io::Result<()> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        let mut piece = vec![0u8; 64 * 1024];
        let mut at = 0;
        loop {
            if !self.in_frame {
                let rest = &self.input[at..];
                if rest.is_empty() || (rest.len() < ZSTD_MAX_HEADER && !last) {
                    break;
                }
                let mut reader = rest;
                match self.decoder.reset(&mut reader) {
                    Ok(()) => {
                        at += rest.len() - reader.len();
                        self.in_frame = true;
                    }
                    Err(FrameDecoderError::ReadFrameHeaderError(
                        ReadFrameHeaderError::SkipFrame { length, .. },
                    )) => {
                        let skip = rest.len() - reader.len() + length as usize;
                        if skip > rest.len() {
                            if last {
                                return Err(std::io::ErrorKind::UnexpectedEof.into());
                            }
                            break;
                        }
                        at += skip;
                        continue;
                    }
                    Err(e) => return Err(Self::corrupt(e)),
                }
            }
            let available = self.input.len() - at;
            let (read, written) = self
                .decoder
                .decode_from_to(&self.input[at..], &mut piece)
                .map_err(Self::corrupt)?;
            if read > available {
                // ruzstd reports the 4-byte checksum as read before it has arrived.
                if last {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
                break;
            }
            at += read;
            self.produced += written;
            if self.produced > self.cap {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::OutOfMemory,
                    TooLarge(self.cap),
                ));
            }
            out.extend_from_slice(&piece[..written]);
            if self.decoder.is_finished() && written == 0 {
                if self.decoder.can_collect() > 0 {
                    // Reading the checksum does not drain; the next call does.
                    continue;
                }
                self.in_frame = false;
                continue;
            }
            if read == 0 && written == 0 {
                break;
            }
        }
        self.input.drain(..at);
        Ok(())
    }
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
    /// The encoder for `coding`. The gate does not compress in zstd (the edge never picks it
    /// for a client), so zstd falls back to identity.
    pub fn new(coding: Coding) -> Self {
        match coding {
            Coding::Identity | Coding::Zstd => Encoder::Identity,
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
        assert_eq!(coding_from_header(Some("zstd")), Some(Coding::Zstd));
        assert_eq!(coding_from_header(Some("gzip, br")), None);
        assert_eq!(
            codings_from_headers(["gzip, identity", "br"]),
            Ok(vec![Coding::Gzip, Coding::Brotli])
        );
        assert!(codings_from_headers(["compress"]).is_err());
        assert!(codings_from_headers(["gzip, gzip, gzip, gzip, gzip"]).is_err());
    }

    #[test]
    fn stacked_codings_are_undone_in_reverse_order() {
        let text = b"<html><body>twice compressed</body></html>".repeat(50);
        let mut wire = Vec::new();
        let mut gz = Encoder::new(Coding::Gzip);
        gz.push(&text, &mut wire).unwrap();
        gz.finish(&mut wire).unwrap();
        let mut br_wire = Vec::new();
        let mut br = Encoder::new(Coding::Brotli);
        br.push(&wire, &mut br_wire).unwrap();
        br.finish(&mut br_wire).unwrap();
        // Content-Encoding: gzip, br — gzip applied first.
        let mut chain = DecodeChain::new(&[Coding::Gzip, Coding::Brotli], 1 << 20);
        let mut plain = Vec::new();
        for piece in br_wire.chunks(5) {
            chain.push(piece, &mut plain).unwrap();
        }
        chain.finish(&mut plain).unwrap();
        assert_eq!(plain, text);
    }

    #[test]
    fn zstd_is_decoded_in_pieces_including_concatenated_frames() {
        let text: Vec<u8> = (0..30_000u32)
            .flat_map(|i| format!("<p>{i}</p>").into_bytes())
            .collect();
        let mut wire = ruzstd::encoding::compress_to_vec(
            &text[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        wire.extend(ruzstd::encoding::compress_to_vec(
            &b"<p>second frame</p>"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        ));
        for piece_len in [1, 7, 4096] {
            let mut dec = Decoder::new(Coding::Zstd);
            let mut plain = Vec::new();
            for piece in wire.chunks(piece_len) {
                dec.push(piece, &mut plain).unwrap();
            }
            dec.finish(&mut plain).unwrap();
            assert_eq!(&plain[..text.len()], &text[..], "{piece_len}");
            assert_eq!(&plain[text.len()..], b"<p>second frame</p>");
        }
        let mut cut = Decoder::new(Coding::Zstd);
        let mut plain = Vec::new();
        cut.push(&wire[..wire.len() / 2], &mut plain).unwrap();
        assert!(cut.finish(&mut plain).is_err(), "a truncated zstd body");
    }

    #[test]
    fn decoding_stops_at_the_cap_for_every_coding() {
        let zeros = vec![0u8; 4 << 20];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Brotli, Coding::Zstd] {
            let wire = match coding {
                Coding::Zstd => ruzstd::encoding::compress_to_vec(
                    &zeros[..],
                    ruzstd::encoding::CompressionLevel::Fastest,
                ),
                _ => {
                    let mut enc = Encoder::new(coding);
                    let mut wire = Vec::new();
                    enc.push(&zeros, &mut wire).unwrap();
                    enc.finish(&mut wire).unwrap();
                    wire
                }
            };
            let mut chain = DecodeChain::new(&[coding], 1 << 20);
            let mut plain = Vec::new();
            let err = wire
                .chunks(64 * 1024)
                .try_for_each(|piece| chain.push(piece, &mut plain))
                .expect_err("past the cap");
            assert_eq!(too_large(&err), Some(1 << 20), "{coding:?}: {err}");
            assert!(plain.len() <= (1 << 20) + 64 * 1024, "{coding:?}");
        }
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
