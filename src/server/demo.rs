//! The demo website: the static pages in assets/demo-site (a small Dutch foundation's site with
//! real-shaped GA4, GTM, Hotjar and Meta pixel snippets and a contact form), served on a loopback
//! port as the upstream for `consentgate demo` and for end-to-end tests.

use std::net::SocketAddr;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};

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
