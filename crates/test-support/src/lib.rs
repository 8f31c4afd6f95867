//! Test helpers for Hero Supervisor: real components, started privately per test suite.
//!
//! - [`RedisServer`]: a private `redis-server` on a free port.
//! - [`eventually`]: poll with a deadline, for states that announce no event.
//! - [`TIMEOUT`]: the default bound on any await in a test.
//! - [`free_port`]: a loopback port nobody listens on.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Default bound on any await in a test.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// A loopback TCP port that was free a moment ago.
///
/// # Panics
///
/// When the OS refuses to bind a port, which leaves a test nothing to do.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("the OS hands out a loopback port")
        .port()
}

/// A private `redis-server` without persistence, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed or does not answer within [`TIMEOUT`].
    pub fn start() -> Self {
        for _ in 0..5 {
            if let Some(server) = Self::try_start() {
                return server;
            }
        }
        panic!("redis-server did not start; is it installed (apt-get install redis-server)?");
    }

    fn try_start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        let mut server = Self {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.child.try_wait().ok().flatten().is_some() {
                return None; // lost the port race; try another
            }
            if server.ping() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn ping(&self) -> bool {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn))
            .is_ok()
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A blocking connection for assertions on raw keys.
    ///
    /// # Panics
    ///
    /// When the server does not accept the connection.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|client| client.get_connection())
            .expect("the test redis accepts connections")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // The server may have been killed by the test already.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 20 ms until it returns true; false when `within` passes first.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The path of a binary built by this workspace (`target/<profile>/<name>`), next to the
/// running test executable.
///
/// # Panics
///
/// When the test executable's path cannot be read.
pub fn workspace_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/<test> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executables live in target/<profile>/deps");
    profile_dir.join(name)
}
