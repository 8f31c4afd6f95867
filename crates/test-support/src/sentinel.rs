//! A Sentinel deployment in miniature: a master, one replica and three sentinels (quorum 2),
//! each its own process on a free loopback port, quick to notice a dead master
//! (`down-after-milliseconds` 1000); over TLS too, with [`SentinelSet::start_tls`].

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{RedisServer, free_port, wait_until};

/// Each sentinel's log, in its own directory.
const LOG: &str = "sentinel.log";

/// The name the sentinels know the master by.
pub const MASTER_NAME: &str = "hero";

/// A master, its replica and three sentinels, all killed when dropped.
#[derive(Debug)]
pub struct SentinelSet {
    /// The two data nodes; which one is master changes with each failover.
    nodes: Vec<RedisServer>,
    sentinels: Vec<SentinelProcess>,
}

#[derive(Debug)]
struct SentinelProcess {
    child: Child,
    port: u16,
    /// Its TLS port, in a TLS set.
    tls_port: Option<u16>,
    dir: tempfile::TempDir,
}

impl Drop for SentinelProcess {
    fn drop(&mut self) {
        // It may have exited already; either way it is gone afterwards.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SentinelSet {
    /// Starts the master, the replica (waiting until it has synced) and the sentinels
    /// (waiting until each knows the replica and the two other sentinels, so a failover can
    /// be agreed on at once).
    ///
    /// # Panics
    ///
    /// When a process does not start or the set does not form within [`TIMEOUT`](crate::TIMEOUT).
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// As [`start`](Self::start), with every process serving TLS as well, with the PEM
    /// certificate `cert` (its own authority) and key `key`: the data nodes replicate over
    /// TLS, the sentinels reach them and each other over TLS and name the nodes' TLS ports,
    /// and [`url`](Self::url) is `rediss+sentinel://` on the sentinels' TLS ports. The plain
    /// ports stay open for the harness.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &Path, key: &Path) -> Self {
        Self::start_with(Some((cert, key)))
    }

    fn start_with(tls: Option<(&Path, &Path)>) -> Self {
        let node = |replica_of: Option<u16>| {
            RedisServer::start_with(false, || {
                let mut args = Vec::new();
                if let Some((cert, key)) = tls {
                    args = crate::tls_args(free_port(), cert, key);
                    args.extend(["--tls-replication", "yes"].map(str::to_owned));
                }
                if let Some(port) = replica_of {
                    args.extend(crate::replica_of(port));
                }
                args
            })
        };
        let master = node(None);
        // The port the sentinels and the replica know the master by.
        let master_port = master.tls_port().unwrap_or(master.port());
        let replica = node(Some(master_port));
        let set = Self {
            nodes: vec![master, replica],
            sentinels: (0..3)
                .map(|_| SentinelProcess::start(master_port, tls))
                .collect(),
        };
        set.wait_until_replicated();
        wait_until("the sentinels to know each other and the replica", || {
            set.sentinels.iter().all(|sentinel| {
                let known = |what: &str| {
                    sentinel
                        .query::<Vec<redis::Value>>(&[what, MASTER_NAME])
                        .map_or(0, |list| list.len())
                };
                known("SENTINELS") == 2 && known("REPLICAS") == 1
            })
        });
        set
    }

    /// `redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/hero`, or
    /// `rediss+sentinel://…` on the TLS ports of a TLS set.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|sentinel| format!("127.0.0.1:{}", sentinel.tls_port.unwrap_or(sentinel.port)))
            .collect();
        let scheme = if self.sentinels.iter().any(|s| s.tls_port.is_some()) {
            "rediss+sentinel"
        } else {
            "redis+sentinel"
        };
        format!("{scheme}://{}/{MASTER_NAME}", hosts.join(","))
    }

    /// The port of the master as the first sentinel that answers names it: its TLS port in
    /// a TLS set.
    pub fn master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|sentinel| {
            let (_host, port): (String, u16) = sentinel
                .query(&["GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
                .ok()?;
            Some(port)
        })
    }

    /// The data node on `port`, plain or TLS.
    ///
    /// # Panics
    ///
    /// When no node of the set listens on `port`.
    pub fn node(&mut self, port: u16) -> &mut RedisServer {
        self.nodes
            .iter_mut()
            .find(|node| node.port() == port || node.tls_port() == Some(port))
            .expect("a node of the set")
    }

    /// The plain port of the data node on `port`, plain or TLS, for the harness' own
    /// queries; `port` itself when no node of the set listens on it.
    fn plain(&self, port: u16) -> u16 {
        self.nodes
            .iter()
            .find(|node| node.tls_port() == Some(port))
            .map_or(port, RedisServer::port)
    }

    /// Kills the master with SIGKILL, as a crash would; returns its port.
    ///
    /// # Panics
    ///
    /// When no sentinel names a master.
    pub fn kill_master(&mut self) -> u16 {
        let port = self.master_port().expect("the sentinels name a master");
        self.node(port).kill();
        port
    }

    /// Asks a sentinel to fail the master over now (`SENTINEL FAILOVER`), as an operator
    /// would before maintenance.
    ///
    /// # Panics
    ///
    /// When no sentinel accepts.
    pub fn fail_over(&self) {
        let accepted = self
            .sentinels
            .iter()
            .any(|sentinel| sentinel.query::<String>(&["FAILOVER", MASTER_NAME]).is_ok());
        assert!(accepted, "no sentinel accepted SENTINEL FAILOVER");
    }

    /// Waits until every sentinel names a master other than `old`, and that node says it is
    /// one; returns its port.
    ///
    /// # Panics
    ///
    /// When that does not happen within [`TIMEOUT`](crate::TIMEOUT).
    pub fn wait_for_new_master(&self, old: u16) -> u16 {
        let mut new = None;
        wait_until("the sentinels to promote the replica", || {
            let named: Vec<Option<u16>> = self
                .sentinels
                .iter()
                .map(|sentinel| {
                    sentinel
                        .query::<(String, u16)>(&["GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
                        .ok()
                        .map(|(_, port)| port)
                })
                .collect();
            let Some(Some(port)) = named.first().copied() else {
                return false;
            };
            let agreed = port != old && named.iter().all(|p| *p == Some(port));
            new = Some(port);
            agreed && role(self.plain(port)).as_deref() == Some("master")
        });
        new.expect("a master was named")
    }

    /// Brings back the node on `old`, killed by [`kill_master`](Self::kill_master), once
    /// the sentinels have promoted `new`, as an operator brings back a node without
    /// persistence: a replica of `new` that Sentinel may not promote
    /// ([`RedisServer::restart_as_replica_of`]) until it has synced, promotable after.
    ///
    /// # Panics
    ///
    /// When it does not come back or sync within [`TIMEOUT`](crate::TIMEOUT).
    pub fn rejoin(&mut self, old: u16, new: u16) {
        self.node(old).restart_as_replica_of(new);
        self.wait_until_replicated();
        self.node(old).set_replica_priority(100);
    }

    /// The state of the set, for a failed test's message: each data node's role, link to its
    /// master and number of keys, the master each sentinel names, and the events the
    /// sentinels logged (`+sdown`, `+switch-master`, …).
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let port = node.port();
            let info = info_replication(port).unwrap_or_default();
            let field = |name: &str| {
                info.lines()
                    .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                    .unwrap_or("-")
                    .trim()
                    .to_owned()
            };
            let tls = node
                .tls_port()
                .map_or(String::new(), |tls| format!(" (TLS {tls})"));
            out += &format!(
                "node {port}{tls}: role {}, link {}, keys {}\n",
                field("role"),
                field("master_link_status"),
                dbsize(port).map_or("-".to_owned(), |n| n.to_string()),
            );
        }
        for sentinel in &self.sentinels {
            let named = sentinel
                .query::<(String, u16)>(&["GET-MASTER-ADDR-BY-NAME", MASTER_NAME])
                .map_or("-".to_owned(), |(_, port)| port.to_string());
            out += &format!(
                "sentinel {} names {named}; its events:\n",
                sentinel.tls_port.unwrap_or(sentinel.port)
            );
            let log = std::fs::read_to_string(sentinel.log()).unwrap_or_default();
            // Sentinel logs each state change as a warning (`#`) naming it `+event`/`-event`.
            let events = log.lines().filter(|line| {
                line.split_once(" # ").is_some_and(|(_, event)| {
                    event.starts_with(['+', '-']) || event.contains("failover")
                })
            });
            for line in events {
                out += &format!("  {line}\n");
            }
        }
        out
    }

    /// Waits until the master the sentinels name has a replica in sync with it.
    ///
    /// # Panics
    ///
    /// When that does not happen within [`TIMEOUT`](crate::TIMEOUT).
    pub fn wait_until_replicated(&self) {
        wait_until("the master to have a replica in sync", || {
            let Some(port) = self.master_port() else {
                return false;
            };
            info_replication(self.plain(port))
                .is_some_and(|info| info.contains("role:master") && info.contains("state=online"))
        });
    }
}

impl SentinelProcess {
    fn start(master_port: u16, tls: Option<(&Path, &Path)>) -> Self {
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = free_port();
            let tls_port = tls.map(|_| free_port());
            // It reaches the data nodes and the other sentinels over TLS, as they reach it.
            let tls_args = match (tls, tls_port) {
                (Some((cert, key)), Some(tls_port)) => {
                    let mut args = crate::tls_args(tls_port, cert, key);
                    args.extend(["--tls-replication", "yes"].map(str::to_owned));
                    args
                }
                _ => Vec::new(),
            };
            let config = dir.path().join("sentinel.conf");
            std::fs::write(
                &config,
                format!(
                    "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                     sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n\
                     sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                     sentinel failover-timeout {MASTER_NAME} 10000\n\
                     sentinel parallel-syncs {MASTER_NAME} 1\n\
                     logfile {log}\n",
                    dir = dir.path().display(),
                    log = dir.path().join(LOG).display(),
                ),
            )
            .expect("the sentinel config is written");
            let child = Command::new("redis-server")
                .arg(&config)
                .arg("--sentinel")
                .args(&tls_args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed");
            let mut sentinel = Self {
                child,
                port,
                tls_port,
                dir,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if sentinel.child.try_wait().ok().flatten().is_some() {
                    break; // lost the port race
                }
                if sentinel.query::<String>(&["MYID"]).is_ok() {
                    return sentinel;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("redis-server --sentinel did not start");
    }

    fn log(&self) -> std::path::PathBuf {
        self.dir.path().join(LOG)
    }

    /// `SENTINEL args…` on this sentinel.
    fn query<T: redis::FromRedisValue>(&self, args: &[&str]) -> redis::RedisResult<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port))?;
        let mut conn = client.get_connection_with_timeout(Duration::from_secs(1))?;
        redis::cmd("SENTINEL").arg(args).query(&mut conn)
    }
}

/// The role a data node gives itself (`master`, `slave`), when it answers.
fn role(port: u16) -> Option<String> {
    let info = info_replication(port)?;
    info.lines()
        .find_map(|line| line.strip_prefix("role:"))
        .map(|role| role.trim().to_owned())
}

fn dbsize(port: u16) -> Option<u64> {
    redis::cmd("DBSIZE").query(&mut connect(port)?).ok()
}

fn info_replication(port: u16) -> Option<String> {
    redis::cmd("INFO")
        .arg("replication")
        .query(&mut connect(port)?)
        .ok()
}

/// A connection to the data node on the plain `port`, when it answers within a second.
fn connect(port: u16) -> Option<redis::Connection> {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .ok()?
        .get_connection_with_timeout(Duration::from_secs(1))
        .ok()
}
