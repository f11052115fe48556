//! YouTube's image host (i.ytimg.com) stood in for on a loopback port, for gates with
//! `[embeds.youtube] thumbnails`: it records every request with its headers, and answers
//! `/vi/<id>/hqdefault.jpg` by the id: [`VIDEO`] and any other id a small picture labelled
//! image/jpeg ([`PICTURE`]), [`OVERSIZE`] a JPEG larger than the gate accepts, [`NOT_JPEG`] an
//! HTML page, [`MISSING`] 404.

use std::sync::{Arc, Mutex};

use actix_web::{web, HttpRequest, HttpResponse};

use super::upstream::{self, Upstream};

/// A video whose thumbnail exists.
pub const VIDEO: &str = "KPnmmIrD0oc";
/// A video whose "thumbnail" is 300 KiB (the gate takes at most 256 KiB).
pub const OVERSIZE: &str = "BIGBIGBIG00";
/// A video whose "thumbnail" is text/html.
pub const NOT_JPEG: &str = "HTMLHTML000";
/// A video without a thumbnail.
pub const MISSING: &str = "GONEGONE000";

/// What the stand-in serves as a thumbnail, labelled image/jpeg: a 480 × 360 PNG of diagonal
/// bands (the gate never decodes it; Chromium sniffs images, so a screenshot shows it).
pub static PICTURE: std::sync::LazyLock<Vec<u8>> = std::sync::LazyLock::new(|| png(480, 360));

/// A PNG of `width` × `height` pixels: bands of two colours across the diagonal.
fn png(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    let mut raw = Vec::new();
    for y in 0..height {
        raw.push(0); // no filter
        for x in 0..width {
            let band = ((x + y) / 40) % 2 == 0;
            raw.extend_from_slice(if band {
                &[42, 111, 151]
            } else {
                &[244, 162, 97]
            });
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).expect("compress in memory");
    let data = z.finish().expect("compress in memory");
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, body) in [
        (&b"IHDR"[..], &header[..]),
        (b"IDAT", &data),
        (b"IEND", &[]),
    ] {
        out.extend_from_slice(&(body.len() as u32).to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

/// CRC-32 (ISO-HDLC), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One request the stand-in received: its path and headers (names lower-case).
#[derive(Debug, Clone)]
pub struct Fetch {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

/// The running stand-in; dropping it stops it.
pub struct ImageHost {
    pub site: Upstream,
    fetches: Arc<Mutex<Vec<Fetch>>>,
}

impl ImageHost {
    pub fn start() -> ImageHost {
        let fetches: Arc<Mutex<Vec<Fetch>>> = Arc::default();
        let seen = fetches.clone();
        let site = upstream::serve(move |cfg| {
            let seen = seen.clone();
            cfg.default_service(web::to(move |req: HttpRequest| {
                let seen = seen.clone();
                async move {
                    seen.lock().expect("fetches").push(Fetch {
                        path: req.path().to_owned(),
                        headers: req
                            .headers()
                            .iter()
                            .map(|(k, v)| {
                                (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned())
                            })
                            .collect(),
                    });
                    answer(req.path())
                }
            }));
        });
        ImageHost { site, fetches }
    }

    /// `[embeds.youtube]` turning thumbnails on, fetched from this stand-in; `extra` lines
    /// go into the same table.
    pub fn config(&self, extra: &str) -> String {
        format!(
            "[embeds.youtube]\nthumbnails = true\nthumbnail_origin = \"{}\"\n{extra}\n",
            self.site.url()
        )
    }

    pub fn fetches(&self) -> Vec<Fetch> {
        self.fetches.lock().expect("fetches").clone()
    }

    /// Fetches of video `id`'s thumbnail.
    pub fn fetches_of(&self, id: &str) -> usize {
        let path = format!("/vi/{id}/hqdefault.jpg");
        self.fetches().iter().filter(|f| f.path == path).count()
    }
}

fn answer(path: &str) -> HttpResponse {
    let id = path
        .strip_prefix("/vi/")
        .and_then(|p| p.strip_suffix("/hqdefault.jpg"));
    match id {
        Some(OVERSIZE) => HttpResponse::Ok()
            .content_type("image/jpeg")
            .body(vec![0xffu8; 300 * 1024]),
        Some(NOT_JPEG) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("<p>Sign in to continue</p>"),
        Some(MISSING) | None => HttpResponse::NotFound().finish(),
        Some(_) => HttpResponse::Ok()
            .content_type("image/jpeg")
            .insert_header(("set-cookie", "YSC=from-google; Path=/"))
            .body(PICTURE.as_slice()),
    }
}
