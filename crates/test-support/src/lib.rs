//! Test helpers for Hero Supervisor: real components, started privately per test suite.
//!
//! - [`RedisServer`]: a private `redis-server` on a free port.
//! - [`SentinelSet`]: a master, a replica and three sentinels watching them, for failovers.
//! - [`RedisCluster`]: Redis Cluster masters sharing the slots, three or as many as asked for.
//! - [`eventually`]: poll with a deadline, for states that announce no event.
//! - [`TIMEOUT`]: the default bound on any await in a test.
//! - [`free_port`]: a loopback port nobody listens on.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod cluster;
mod sentinel;

pub use cluster::RedisCluster;
pub use sentinel::{MASTER_NAME, SentinelSet};

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

/// A private `redis-server`, killed when dropped. Without persistence unless started with
/// [`start_persistent`](Self::start_persistent).
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    persistent: bool,
    /// More arguments, kept for [`restart`](Self::restart): `--replicaof` for a replica.
    extra: Vec<String>,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts `redis-server` on a free port and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// When `redis-server` is not installed or does not answer within [`TIMEOUT`].
    pub fn start() -> Self {
        Self::start_with(false, Vec::new)
    }

    /// Starts `redis-server` as a replica of the Redis on `master_port` (on 127.0.0.1).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_replica_of(master_port: u16) -> Self {
        Self::start_with(false, || replica_of(master_port))
    }

    /// Starts `redis-server` with an append-only file synced on every write, as a deployment
    /// that must lose nothing runs it, so that [`restart`](Self::restart) keeps every write.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_persistent() -> Self {
        Self::start_with(true, Vec::new)
    }

    /// Starts `redis-server` serving TLS as well, on a port of its own, with the PEM
    /// certificate `cert` and key `key`, asking clients for no certificate; the plain port
    /// stays open for the harness. Connect over TLS with [`tls_url`](Self::tls_url).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        Self::start_with(false, || tls_args(free_port(), cert, key))
    }

    /// Starts the server with the arguments `extra` makes, made again for each attempt since
    /// each may name a port of its own.
    pub(crate) fn start_with(persistent: bool, extra: impl Fn() -> Vec<String>) -> Self {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = free_port();
            let extra = extra();
            let mut server = Self {
                child: spawn_redis(port, persistent, &extra, dir.path()),
                port,
                persistent,
                extra,
                dir,
            };
            if server.wait_until_up() {
                return server;
            }
            // Lost the port race; try another.
        }
        panic!("redis-server did not start; is it installed (apt-get install redis-server)?");
    }

    /// Kills the server with SIGKILL, as a crash would, and leaves it down until
    /// [`restart`](Self::restart).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and data directory (after [`kill`](Self::kill),
    /// or killing it now) and waits until it answers.
    ///
    /// # Panics
    ///
    /// When it does not come back within 10 s, e.g. because another process took the port.
    pub fn restart(&mut self) {
        self.kill();
        self.child = spawn_redis(self.port, self.persistent, &self.extra, self.dir.path());
        assert!(
            self.wait_until_up(),
            "redis-server did not come back on port {}",
            self.port
        );
    }

    /// Starts the server again on the same port, as a replica of the server on `master_port`
    /// from its first instant and with `replica-priority 0`, as an operator brings back a
    /// failed node without persistence. It comes back empty, and Sentinel takes a replica
    /// that has never reached its master for a fit one: promoted before it has synced, its
    /// empty data set would be copied over the other node's. Make it promotable again with
    /// [`set_replica_priority`](Self::set_replica_priority) once it has synced.
    ///
    /// # Panics
    ///
    /// As [`restart`](Self::restart).
    pub fn restart_as_replica_of(&mut self, master_port: u16) {
        // Its other arguments (TLS, say) stay; whatever it replicated before does not.
        let mut args = std::mem::take(&mut self.extra).into_iter();
        while let Some(arg) = args.next() {
            let skip = match arg.as_str() {
                "--replicaof" => 2,
                "--replica-priority" => 1,
                _ => 0,
            };
            if skip == 0 {
                self.extra.push(arg);
            } else {
                args.nth(skip - 1);
            }
        }
        self.extra.extend(replica_of(master_port));
        self.extra
            .extend(["--replica-priority", "0"].map(str::to_owned));
        self.restart();
    }

    /// `CONFIG SET replica-priority PRIORITY`: 0 keeps Sentinel from ever promoting this node.
    /// A later [`restart`](Self::restart) keeps it.
    ///
    /// # Panics
    ///
    /// When the server does not answer.
    pub fn set_replica_priority(&mut self, priority: u32) {
        if let Some(at) = self
            .extra
            .iter()
            .position(|arg| arg == "--replica-priority")
            && let Some(value) = self.extra.get_mut(at + 1)
        {
            *value = priority.to_string();
        }
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("replica-priority")
            .arg(priority)
            .query::<()>(&mut self.connection())
            .expect("CONFIG SET replica-priority");
    }

    fn wait_until_up(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return false;
            }
            if self.ping() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
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

    /// `rediss://127.0.0.1:TLS_PORT` for a server started with [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> Option<String> {
        Some(format!("rediss://127.0.0.1:{}", self.tls_port()?))
    }

    /// The port it serves TLS on, when it does: started with [`start_tls`](Self::start_tls),
    /// or as a node of a TLS Sentinel set or cluster.
    pub fn tls_port(&self) -> Option<u16> {
        let at = self.extra.iter().position(|arg| arg == "--tls-port")?;
        self.extra.get(at + 1)?.parse().ok()
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

fn spawn_redis(port: u16, persistent: bool, extra: &[String], dir: &std::path::Path) -> Child {
    let persistence: &[&str] = if persistent {
        &[
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ]
    } else {
        &["--save", "", "--appendonly", "no"]
    };
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(persistence)
        .args(extra)
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed")
}

/// The arguments making a server (or a sentinel) serve TLS on `port` with the PEM certificate
/// `cert` (its own authority too, for a cluster's bus and replication) and key `key`, asking
/// clients for no certificate.
pub(crate) fn tls_args(port: u16, cert: &Path, key: &Path) -> Vec<String> {
    let mut args = vec!["--tls-port".to_owned(), port.to_string()];
    for (name, file) in [
        ("--tls-cert-file", cert),
        ("--tls-key-file", key),
        ("--tls-ca-cert-file", cert),
    ] {
        args.push(name.to_owned());
        args.push(file.display().to_string());
    }
    args.extend(["--tls-auth-clients", "no"].map(str::to_owned));
    args
}

/// The arguments making a server a replica of the Redis on `master_port` (on 127.0.0.1).
pub(crate) fn replica_of(master_port: u16) -> Vec<String> {
    ["--replicaof", "127.0.0.1", &master_port.to_string()]
        .map(str::to_owned)
        .to_vec()
}

/// Polls `check` every 20 ms, blocking the thread, until it holds; for checks that read a
/// file or make one quick blocking call.
///
/// # Panics
///
/// Naming `what`, when [`TIMEOUT`] passes first.
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
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
