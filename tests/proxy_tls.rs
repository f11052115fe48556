//! An https upstream: the gate verifies its certificate against the public roots plus the
//! operator's `upstream.tls_ca_file`, and refuses an upstream it cannot verify (502).

mod support;

use support::{gate, tls_server};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gate::TestGate;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// An internal CA and an https upstream whose certificate it signed (for 127.0.0.1).
/// Returns the upstream address and the CA certificate as PEM.
async fn tls_upstream() -> (SocketAddr, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tls_server::serve(listener, config, |head| {
        let seen = head.to_lowercase();
        let xff = seen
            .lines()
            .find_map(|l| l.strip_prefix("x-forwarded-for: "))
            .unwrap_or("none")
            .trim()
            .to_owned();
        let body = format!("secure upstream saw {xff}");
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    (addr, ca.pem())
}

fn client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(10))
        .finish()
}

#[actix_web::test]
async fn https_upstream_signed_by_the_configured_ca_is_proxied() {
    consentgate::proxy::install_tls_provider();
    let (addr, ca_pem) = tls_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let gate = TestGate::new()
        .upstream(&format!("https://{addr}"))
        .config(|c| c.upstream.tls_ca_file = Some(ca_file))
        .start()
        .await;
    let mut res = client().get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(body, "secure upstream saw 127.0.0.0");
    gate.stop().await;
}

#[actix_web::test]
async fn https_upstream_with_an_unknown_certificate_is_refused_with_502() {
    consentgate::proxy::install_tls_provider();
    let (addr, _) = tls_upstream().await;
    let gate = TestGate::new()
        .upstream(&format!("https://{addr}"))
        .start()
        .await;
    let res = client().get(gate.url("/")).send().await.unwrap();
    assert_eq!(res.status(), 502);
    gate.stop().await;
}

#[actix_web::test]
async fn a_ca_file_without_certificates_stops_the_gate_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("empty.pem");
    std::fs::write(&ca_file, "not a certificate\n").unwrap();
    let err = TestGate::new()
        .upstream("https://127.0.0.1:9")
        .config(move |c| c.upstream.tls_ca_file = Some(ca_file))
        .try_start()
        .await
        .err()
        .expect("start refused");
    assert!(
        err.to_string().starts_with("upstream.tls_ca_file:"),
        "{err}"
    );
}
