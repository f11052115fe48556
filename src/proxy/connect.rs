//! The upstream's TCP connections, each wrapped so that the end of the stream is an error the
//! proxy can see ([`PeerClosed`]).
//!
//! Why: awc ends a response body the same way whether its decoder saw the body's end (the last
//! chunk, the announced length) or the connection simply closed — `PlStream` in awc's
//! `h1proto.rs` maps both to the end of the stream, and actix-codec's `Framed` calls
//! `decode_eof`, which the chunked decoder passes with an empty buffer once it has handed out
//! the partial chunk. So a chunked page whose upstream closes mid-chunk looked complete, and
//! would have been rewritten and delivered with a Content-Length as if it were whole. With
//! this wrapper, a connection that closes before awc's decoder has seen the end surfaces as
//! `PayloadError::Io(PeerClosed)`: for a chunked or sized body that is a cut, for a body that
//! ends with the connection (neither length nor chunks) it is the end ([`ends_body`]). Where
//! the decoder finishes first, awc never reads the close, so complete bodies are unaffected.
//!
//! Least invasive of the fixes found: awc's payload stream is private, patching actix-http
//! would mean carrying a fork, and the connector is awc's public extension point. Over
//! https the wrapper sits under TLS; rustls reports a close without `close_notify` as an error
//! of its own, so a cut there was already visible.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_tls::connect::{ConnectError, ConnectInfo, Connection};
use actix_web::dev::Service;
use actix_web::http::Uri;
use actix_web::rt::net::{ActixStream, Ready, TcpStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The upstream closed the connection (its read side ended) before awc was done reading.
#[derive(Debug, thiserror::Error)]
#[error("the site closed the connection")]
pub struct PeerClosed;

/// Whether an awc payload error is the connection's end rather than a failure.
pub fn is_peer_closed(e: &awc::error::PayloadError) -> bool {
    match e {
        awc::error::PayloadError::Io(io) => {
            io.get_ref().is_some_and(|inner| inner.is::<PeerClosed>())
        }
        _ => false,
    }
}

/// Whether a body that stops with [`PeerClosed`] is complete: an HTTP/1.1 body with neither
/// `Transfer-Encoding: chunked` nor a Content-Length ends with the connection (RFC 9112 §6.3).
pub fn ends_body(chunked: bool, content_length: Option<u64>) -> bool {
    !chunked && content_length.is_none()
}

/// A TCP stream whose end of stream is reported as the error [`PeerClosed`].
#[derive(Debug)]
pub struct EndIsError(TcpStream);

impl AsyncRead for EndIsError {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.remaining() > 0 && buf.filled().len() == before => {
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    PeerClosed,
                )))
            }
            other => other,
        }
    }
}

impl AsyncWrite for EndIsError {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }
}

impl ActixStream for EndIsError {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        ActixStream::poll_read_ready(&self.0, cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        ActixStream::poll_write_ready(&self.0, cx)
    }
}

/// awc's TCP connector: resolves the host (tokio's resolver) and opens a [`EndIsError`]
/// connection to the first address that answers. awc applies its connect timeout around it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Connector;

impl Service<ConnectInfo<Uri>> for Connector {
    type Response = Connection<Uri, EndIsError>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::always_ready!();

    fn call(&self, req: ConnectInfo<Uri>) -> Self::Future {
        Box::pin(async move {
            let (host, port) = (req.hostname().to_owned(), req.port());
            let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
                .await
                .map_err(|e| ConnectError::Resolver(Box::new(e)))?;
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(stream) => {
                        return Ok(Connection::new(req.request().clone(), EndIsError(stream)))
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.map_or(ConnectError::NoRecords, ConnectError::Io))
        })
    }
}
