//! Test harness: real `redis-server` processes on free loopback ports, owned by the test.
//!
//! * [`RedisServer`]: one standalone server in its own temp dir; [`RedisServer::stop`] and
//!   [`RedisServer::start`] take it down and bring it back on the same port (outage tests).
//! * [`RedisCluster`]: three cluster-enabled masters, slots assigned with
//!   `CLUSTER ADDSLOTSRANGE` and joined with `CLUSTER MEET`, ready when every node reports
//!   `cluster_state:ok`.
//!
//! Servers are killed in `Drop`. The harness only ever talks to processes it started: ports are
//! chosen by binding port 0 on 127.0.0.1, and readiness is checked against our own child
//! process. Nothing is persisted (`save ""`, no AOF), except by a [`RedisServer::durable`]
//! server, which keeps every write in its append-only file as production Redis should.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const READY_ATTEMPTS: usize = 200; // × 25 ms = 5 s
const READY_STEP: Duration = Duration::from_millis(25);

fn install_hint(what: &str, err: impl std::fmt::Display) -> String {
    format!(
        "cannot run `{what}` ({err}). The Redis tests need redis-server and redis-cli on PATH: \
         `scripts/test` installs them, or run `apt-get install -y redis-server redis-tools` \
         (and stop the redis service it starts; the tests start their own servers)."
    )
}

/// Fails the test with an installation hint if the Redis binaries are missing.
pub fn require_redis_binaries() {
    for bin in ["redis-server", "redis-cli"] {
        if let Err(e) = Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            panic!("{}", install_hint(bin, e));
        }
    }
}

/// A loopback port nobody listens on right now. With `with_bus`, port + 10000 (the cluster bus
/// port) is free as well.
pub fn free_port(with_bus: bool) -> u16 {
    for _ in 0..100 {
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(addr) = listener.local_addr() else {
            continue;
        };
        let port = addr.port();
        if !with_bus {
            return port;
        }
        if port < 55_000 && TcpListener::bind((Ipv4Addr::LOCALHOST, port + 10_000)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port found in 100 attempts");
}

/// Sends one inline command and returns the raw reply (good enough for PING / CLUSTER INFO).
fn raw_command(port: u16, command: &str) -> Option<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    s.write_all(format!("{command}\r\n").as_bytes()).ok()?;
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// One `redis-server` child process.
pub struct RedisServer {
    port: u16,
    dir: tempfile::TempDir,
    cluster: bool,
    /// `appendonly yes` with `appendfsync always`: a write acknowledged is a write kept, across
    /// a kill and restart.
    durable: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a standalone server on a free port and waits until it answers PING.
    pub fn new() -> RedisServer {
        Self::on_port(free_port(false))
    }

    /// Starts a standalone server on `port` (e.g. one a store was pointed at before the server
    /// existed).
    pub fn on_port(port: u16) -> RedisServer {
        Self::spawn(port, false, false)
    }

    /// A standalone server on a free port that keeps every acknowledged write on disk
    /// (`appendonly yes`, `appendfsync always`), so a [`RedisServer::stop`] (SIGKILL) and
    /// [`RedisServer::start`] loses nothing it acknowledged.
    pub fn durable() -> RedisServer {
        Self::spawn(free_port(false), false, true)
    }

    fn spawn(port: u16, cluster: bool, durable: bool) -> RedisServer {
        require_redis_binaries();
        let dir = tempfile::Builder::new()
            .prefix("consentgate-redis-")
            .tempdir()
            .expect("create a temp dir for redis-server");
        let mut server = RedisServer {
            port,
            dir,
            cluster,
            durable,
            child: None,
        };
        server.start();
        server
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the server (again) on the same port — with an empty data set, or for a durable
    /// server with what it had written — and waits until it answers PING. Does nothing if it
    /// is running.
    pub fn start(&mut self) {
        if self.child.is_some() {
            return;
        }
        let dir: PathBuf = self.dir.path().to_owned();
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&dir)
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg(if self.durable { "yes" } else { "no" })
            .arg("--appendfsync")
            .arg("always")
            .arg("--logfile")
            .arg(dir.join("redis.log"));
        if self.cluster {
            cmd.arg("--cluster-enabled")
                .arg("yes")
                .arg("--cluster-config-file")
                .arg(dir.join("nodes.conf"))
                .arg("--cluster-node-timeout")
                .arg("2000");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}", install_hint("redis-server", e)));
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        for _ in 0..READY_ATTEMPTS {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    let log = std::fs::read_to_string(self.dir.path().join("redis.log"))
                        .unwrap_or_default();
                    panic!(
                        "redis-server on port {} exited at start ({status}); log:\n{log}",
                        self.port
                    );
                }
            }
            if raw_command(self.port, "PING").is_some_and(|r| r.starts_with("+PONG")) {
                return;
            }
            std::thread::sleep(READY_STEP);
        }
        panic!("redis-server on port {} not ready after 5 s", self.port);
    }

    /// Runs `redis-cli -p <port> <args…>` against this server and returns its output; fails the
    /// test if redis-cli fails or answers with an error.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}", install_hint("redis-cli", e)));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success() && !text.starts_with("ERR"),
            "redis-cli {args:?} on port {}: {text}{}",
            self.port,
            String::from_utf8_lossy(&out.stderr)
        );
        text
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered, like a
    /// hung host. Undo with [`RedisServer::resume`].
    pub fn pause(&mut self) {
        self.signal("-STOP");
    }

    /// Lets a paused server run again (SIGCONT).
    pub fn resume(&mut self) {
        self.signal("-CONT");
    }

    fn signal(&mut self, sig: &str) {
        let Some(child) = self.child.as_ref() else {
            panic!("redis-server on port {} is not running", self.port);
        };
        let status = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {sig} {} failed", child.id());
    }

    /// Kills the server (SIGKILL, like a crash) and waits until it is gone. Idempotent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // A paused process is killed just the same by SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Default for RedisServer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Three masters, no replicas, all 16384 slots assigned.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers, joins them and waits until the cluster is ok.
    pub fn new() -> RedisCluster {
        let mut nodes: Vec<RedisServer> = Vec::with_capacity(3);
        while nodes.len() < 3 {
            let port = free_port(true);
            if nodes.iter().any(|n| n.port == port) {
                continue;
            }
            nodes.push(RedisServer::spawn(port, true, false));
        }
        let cluster = RedisCluster { nodes };
        // Slots and MEET by hand rather than `redis-cli --cluster create`, which polls once a
        // second: this way the cluster is ready as soon as gossip has spread (~100 ms).
        let ranges = [(0, 5460), (5461, 10922), (10923, 16383)];
        for (i, (node, (first, last))) in cluster.nodes.iter().zip(ranges).enumerate() {
            node.cli(&["CLUSTER", "SET-CONFIG-EPOCH", &(i + 1).to_string()]);
            node.cli(&[
                "CLUSTER",
                "ADDSLOTSRANGE",
                &first.to_string(),
                &last.to_string(),
            ]);
        }
        for other in &cluster.nodes[1..] {
            cluster.nodes[0].cli(&["CLUSTER", "MEET", "127.0.0.1", &other.port.to_string()]);
        }
        cluster.wait_ok();
        cluster
    }

    /// Waits (up to 10 s) until every node reports `cluster_state:ok`, e.g. after a restart.
    pub fn wait_ok(&self) {
        for _ in 0..READY_ATTEMPTS * 2 {
            let all_ok = self.nodes.iter().all(|n| {
                raw_command(n.port, "CLUSTER INFO").is_some_and(|r| r.contains("cluster_state:ok"))
            });
            if all_ok {
                return;
            }
            std::thread::sleep(READY_STEP);
        }
        panic!("redis cluster not ok after 10 s");
    }

    /// Seed list for `store.redis_url`: `redis://127.0.0.1:a/,redis://127.0.0.1:b/,…`.
    pub fn url(&self) -> String {
        let urls: Vec<String> = self.nodes.iter().map(RedisServer::url).collect();
        urls.join(",")
    }

    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    pub fn nodes_mut(&mut self) -> &mut [RedisServer] {
        &mut self.nodes
    }
}

impl Default for RedisCluster {
    fn default() -> Self {
        Self::new()
    }
}
