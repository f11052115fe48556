//! The real `consentgate` binary for tests of what it writes to its log and how it starts and
//! stops: [`GateProcess::serve`] writes a config file (listeners on free loopback ports), runs
//! `consentgate serve` and collects everything it writes; the process is killed when the test
//! ends, also when it fails half-way.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{upstream, wait};

pub const SECRET: &str = "binary-test-secret-0123456789-abcdefghijk";

/// A running `consentgate serve`.
pub struct GateProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
    pub public_port: u16,
    pub admin_port: u16,
    /// The configuration file the process was started with (a test may rewrite it, then
    /// send SIGHUP).
    config: std::path::PathBuf,
    /// The `[listen]` lines every version of the file starts with.
    listen: String,
    _dir: tempfile::TempDir,
}

/// Collects everything `stream` writes, line by line, into `log` until it closes.
fn collect(stream: impl Read + Send + 'static, log: &Arc<Mutex<String>>) -> JoinHandle<()> {
    let log = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    })
}

impl GateProcess {
    /// `consentgate serve` with `[listen]` on free ports (and `workers = 1`, the loopback
    /// names) followed by `toml`, and `CONSENTGATE_LOG` unset. Returns once `/_gate/healthz`
    /// answers.
    pub async fn serve(toml: &str) -> GateProcess {
        let dir = tempfile::tempdir().unwrap();
        let (public_port, admin_port) = (upstream::closed_port(), upstream::closed_port());
        let config = dir.path().join("gate.toml");
        let listen = format!(
            "[listen]\npublic = \"127.0.0.1:{public_port}\"\nadmin = \"127.0.0.1:{admin_port}\"\n\
             workers = 1\nhosts = [\"127.0.0.1\"]\n"
        );
        std::fs::write(&config, format!("{listen}{toml}")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_consentgate"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("CONSENTGATE_SECRET", SECRET)
            .env_remove("CONSENTGATE_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), &log),
            collect(child.stderr.take().unwrap(), &log),
        ];
        let gate = GateProcess {
            child,
            log,
            readers,
            public_port,
            admin_port,
            config,
            listen,
            _dir: dir,
        };
        // awc needs rustls' provider chosen (ring and aws-lc-rs are both compiled in).
        consentgate::proxy::install_tls_provider();
        let client = awc::Client::default();
        let health = gate.url("/_gate/healthz");
        wait::until("the gate to come up", wait::DEADLINE, || async {
            let res = client.get(&health).send().await;
            res.is_ok_and(|r| r.status() == 200)
        })
        .await;
        gate
    }

    /// `http://127.0.0.1:<public port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.public_port)
    }

    /// `http://127.0.0.1:<admin port><path>`.
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.admin_port)
    }

    /// Everything logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait until a log line satisfies `matches`; returns it.
    pub async fn wait_for_line(&self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        wait::until_some(what, wait::DEADLINE, || {
            let found = self.log().lines().find(|l| matches(l)).map(str::to_owned);
            std::future::ready(found)
        })
        .await
    }

    /// Replace the configuration file with the same `[listen]` lines followed by `toml` (as
    /// [`GateProcess::serve`] wrote it); the process reads it again on SIGHUP.
    pub fn rewrite_config(&self, toml: &str) {
        std::fs::write(&self.config, format!("{}{toml}", self.listen)).unwrap();
    }

    /// Send a signal (`"HUP"`, `"TERM"`, …) to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Stop the process with SIGTERM (a graceful stop, as systemd does) and return everything
    /// it logged once it has exited.
    pub fn terminate(self) -> String {
        self.terminate_with_status().1
    }

    /// [`GateProcess::terminate`], with how the process exited.
    pub fn terminate_with_status(mut self) -> (std::process::ExitStatus, String) {
        self.signal("TERM");
        self.exit_status_and_log()
    }

    /// Wait until the process has exited (it was told to stop); its exit status and log.
    pub fn exit_status_and_log(&mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        (status, self.log())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kill the process and return everything it logged.
    pub fn kill(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        self.log()
    }
}

impl Drop for GateProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
