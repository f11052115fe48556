//! The demo website: the static pages in assets/demo-site (a small Dutch foundation's site with
//! real-shaped GA4, GTM, Hotjar and Meta pixel snippets and a contact form), served on a loopback
//! port as the upstream for `consentgate demo` and for end-to-end tests; and the demo's
//! operator account, whose password is made at start and printed once.

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use base64::Engine;

use crate::config::dashboard::{DashboardUser, PasswordHash, Role};
use crate::dashboard::auth::{hash_password, PasswordError};

/// The demo operator's name.
pub const DEMO_OPERATOR: &str = "demo";

/// The demo's operator account and its password (to print once; only the hash is kept).
pub struct DemoAccount {
    pub user: DashboardUser,
    pub password: String,
}

/// A fresh admin account `demo` with a random 128-bit password.
pub fn demo_account() -> Result<DemoAccount, PasswordError> {
    let bytes: [u8; 16] = rand::random();
    let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = PasswordHash::parse(&hash_password(&password)?).map_err(PasswordError::Argon2)?;
    Ok(DemoAccount {
        user: DashboardUser {
            name: DEMO_OPERATOR.to_owned(),
            password_hash: hash,
            role: Role::Admin,
            totp_secret: None,
            language: None,
        },
        password,
    })
}

/// Where the demo pages live in the source tree.
pub fn demo_site_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo-site")
}

/// A running demo site.
pub struct DemoSite {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
}

/// Serve the demo site on 127.0.0.1 at a free port. Call inside an actix system.
pub fn serve_demo_site() -> std::io::Result<DemoSite> {
    let dir = demo_site_dir();
    if !dir.join("index.html").is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("demo site not found at {}", dir.display()),
        ));
    }
    let server = HttpServer::new(move || {
        App::new().service(actix_files::Files::new("/", dir.clone()).index_file("index.html"))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| std::io::Error::other("demo site bound to no address"))?;
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    Ok(DemoSite { addr, handle })
}
