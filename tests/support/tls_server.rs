//! A loopback HTTPS server for tests: one request per connection, answered with whatever the
//! caller's function makes of the request head. The caller brings the TLS configuration (its own
//! certificate and crypto provider).

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::{rustls, TlsAcceptor};

/// Serve until the listener fails or the returned task is aborted. `answer` gets the request
/// head (request line and headers) and returns the raw response, sent before the connection
/// is closed.
pub fn serve<F>(
    listener: TcpListener,
    config: rustls::ServerConfig,
    answer: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(&str) -> String + Send + Sync + 'static,
{
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, answer) = (acceptor.clone(), answer.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut chunk = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65_536 {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let response = answer(&String::from_utf8_lossy(&head));
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    })
}
