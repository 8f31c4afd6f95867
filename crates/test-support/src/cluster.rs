//! A Redis Cluster in miniature: three masters by default (one, or three and more, with
//! [`RedisCluster::start_masters`]), no replicas unless asked for, each its own process on
//! free loopback ports, the 16384 slots spread over them by `redis-cli --cluster create`, or
//! all given to the one node of a one-master cluster. The masters keep serving their own
//! slots while another is down (`cluster-require-full-coverage no`), so a test can take one
//! away.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{RedisServer, free_port, wait_until};

/// Cluster masters, and their replicas when asked for, all killed when dropped.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers, joins them into one cluster that covers every
    /// slot, and waits until each node says `cluster_state:ok`.
    ///
    /// # Panics
    ///
    /// When `redis-server` or `redis-cli` is missing, or the cluster does not form within
    /// [`TIMEOUT`](crate::TIMEOUT).
    pub fn start() -> Self {
        Self::start_with(3, 0)
    }

    /// Starts `masters` cluster-enabled servers without replicas, all the 16384 slots
    /// spread over them, and waits until each says `cluster_state:ok`. One master owns every
    /// slot; three or more split them as [`start`](Self::start) does (`redis-cli --cluster
    /// create` wants at least three masters).
    ///
    /// # Panics
    ///
    /// When `masters` is 0 or 2, when `redis-server` or `redis-cli` is missing, or the
    /// cluster does not form within [`TIMEOUT`](crate::TIMEOUT).
    pub fn start_masters(masters: usize) -> Self {
        match masters {
            1 => Self::start_single(),
            3.. => Self::start_with(masters, 0),
            _ => panic!("a test cluster has 1 or at least 3 masters, not {masters}"),
        }
    }

    /// As [`start`](Self::start), with one replica per master, each synced before this
    /// returns, so that a killed master fails over to its replica.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_with_replicas() -> Self {
        let cluster = Self::start_with(3, 1);
        wait_until("the replicas sync", || cluster.nodes.iter().all(is_synced));
        cluster
    }

    /// Three masters that clients, and each other, reach over TLS as well
    /// ([`tls_url`](Self::tls_url)), with the PEM certificate `cert` (their authority too)
    /// and key `key`; a TLS client is told the nodes' TLS ports (`tls-cluster yes`).
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Self {
        Self::start_with_tls(3, 0, Some((cert, key)))
    }

    /// One node owning every slot: `redis-cli --cluster create` refuses fewer than three
    /// masters, so the slots are assigned by hand.
    fn start_single() -> Self {
        // A node learns its own address only from a peer; alone, it would name its slots'
        // master with an empty IP, which clients cannot connect to.
        let node = start_node(|| vec!["--cluster-announce-ip".to_owned(), "127.0.0.1".to_owned()]);
        let mut conn = node.connection();
        let _: () = redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(0)
            .arg(16383)
            .query(&mut conn)
            .expect("CLUSTER ADDSLOTSRANGE 0 16383");
        let cluster = Self { nodes: vec![node] };
        wait_until("the cluster is ok", || cluster.nodes.iter().all(is_ok));
        cluster
    }

    fn start_with(masters: usize, replicas: usize) -> Self {
        Self::start_with_tls(masters, replicas, None)
    }

    fn start_with_tls(
        masters: usize,
        replicas: usize,
        tls: Option<(&std::path::Path, &std::path::Path)>,
    ) -> Self {
        let nodes: Vec<RedisServer> = (0..masters * (1 + replicas))
            .map(|_| {
                start_node(|| {
                    let Some((cert, key)) = tls else {
                        return Vec::new();
                    };
                    let mut args = crate::tls_args(free_port(), cert, key);
                    args.extend(["--tls-cluster", "yes"].map(str::to_owned));
                    args
                })
            })
            .collect();
        // Over TLS the nodes meet on their TLS ports, as clients will reach them.
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.tls_port().unwrap_or(node.port())))
            .collect();
        let mut create = Command::new("redis-cli");
        if let Some((cert, _)) = tls {
            create.arg("--tls").arg("--cacert").arg(cert);
        }
        let created = create
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli is installed");
        assert!(created.success(), "redis-cli --cluster create failed");
        let cluster = Self { nodes };
        wait_until("the cluster is ok", || cluster.nodes.iter().all(is_ok));
        cluster
    }

    /// `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        format!("redis+cluster://{}", hosts.join(","))
    }

    /// `rediss+cluster://127.0.0.1:TLS_PORT…` for a cluster started with
    /// [`start_tls`](Self::start_tls).
    pub fn tls_url(&self) -> Option<String> {
        let hosts = self
            .nodes
            .iter()
            .map(|node| node.tls_url()?.strip_prefix("rediss://").map(str::to_owned))
            .collect::<Option<Vec<String>>>()?;
        Some(format!("rediss+cluster://{}", hosts.join(",")))
    }

    /// The node started `index`-th, e.g. for `CLIENT LIST` on its plain port.
    ///
    /// # Panics
    ///
    /// When the cluster has no such node.
    pub fn node(&self, index: usize) -> &RedisServer {
        &self.nodes[index]
    }

    /// The ports of every node, masters and replicas.
    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(RedisServer::port).collect()
    }

    /// Kills the node on `port` with SIGKILL, as a crash would.
    ///
    /// # Panics
    ///
    /// When no node of this cluster is on `port`.
    pub fn kill(&mut self, port: u16) {
        self.nodes
            .iter_mut()
            .find(|node| node.port() == port)
            .expect("a node of this cluster")
            .kill();
    }

    /// Waits until a node other than `old` serves `key`'s slot as its master, and returns
    /// its port.
    ///
    /// # Panics
    ///
    /// When no replica took over within [`TIMEOUT`](crate::TIMEOUT).
    pub fn wait_for_new_master(&self, key: &str, old: u16) -> u16 {
        let mut new = None;
        wait_until(&format!("a replica takes over from {old}"), || {
            new = self.try_master_of(key).filter(|port| *port != old);
            new.is_some()
        });
        new.expect("the wait ended with a new master")
    }

    /// The port of the master serving the slot of hash tag `tag`: that of every key holding
    /// `{tag}`.
    ///
    /// # Panics
    ///
    /// As [`master_of`](Self::master_of).
    pub fn master_of_tag(&self, tag: &str) -> u16 {
        self.master_of(&format!("{{{tag}}}"))
    }

    /// The port of the master serving `key`'s slot, as the first node that answers says.
    ///
    /// # Panics
    ///
    /// When no node answers or the answer cannot be read.
    pub fn master_of(&self, key: &str) -> u16 {
        self.try_master_of(key)
            .expect("a node names the master of the slot")
    }

    fn try_master_of(&self, key: &str) -> Option<u16> {
        self.nodes.iter().find_map(|node| master_of(node, key))
    }
}

/// A cluster-enabled server that belongs to no cluster yet, with the arguments `more` makes.
fn start_node(more: impl Fn() -> Vec<String>) -> RedisServer {
    // The bus port is named rather than left at PORT + 10000, which may be past 65535 or
    // taken; each attempt to start names a new one.
    RedisServer::start_with(false, || {
        let mut args: Vec<String> = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-port",
            &free_port().to_string(),
            "--cluster-node-timeout",
            "2000",
            "--cluster-require-full-coverage",
            "no",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(more());
        args
    })
}

/// The port of the master serving `key`'s slot, as `node` says; `None` when it does not
/// answer (killed).
fn master_of(node: &RedisServer, key: &str) -> Option<u16> {
    let mut conn = redis::Client::open(node.url())
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
        .ok()?;
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(&mut conn)
        .ok()?;
    let ranges: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut conn).ok()?;
    ranges.iter().find_map(|range| {
        let redis::Value::Array(parts) = range else {
            return None;
        };
        let int = |v: &redis::Value| redis::from_redis_value::<i64>(v.clone()).ok();
        let (start, end) = (int(parts.first()?)?, int(parts.get(1)?)?);
        let redis::Value::Array(master) = parts.get(2)? else {
            return None;
        };
        let port = u16::try_from(int(master.get(1)?)?).ok()?;
        (start..=end).contains(&slot).then_some(port)
    })
}

/// True for a master with a replica in sync, or a replica whose link to its master is up.
fn is_synced(node: &RedisServer) -> bool {
    let info: Option<String> = redis::Client::open(node.url())
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
        .and_then(|mut conn| redis::cmd("INFO").arg("replication").query(&mut conn))
        .ok();
    info.is_some_and(|info| {
        info.lines().any(|line| {
            let line = line.trim();
            line == "master_link_status:up" || line == "connected_slaves:1"
        })
    })
}

fn is_ok(node: &RedisServer) -> bool {
    redis::Client::open(node.url())
        .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
        .and_then(|mut conn| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut conn))
        .is_ok_and(|info| info.lines().any(|line| line.trim() == "cluster_state:ok"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hash tags whose slots fall in the first, middle and last third of the slots, where
    /// `redis-cli --cluster create` puts three different masters.
    const TAGS_IN_EACH_THIRD: [&str; 3] = ["hero/d", "hero/a", "hero/c"];

    #[test]
    fn a_one_master_cluster_serves_every_slot_from_its_one_node() {
        let cluster = RedisCluster::start_masters(1);
        let [port] = cluster.ports()[..] else {
            panic!("one node, not {:?}", cluster.ports());
        };

        for tag in TAGS_IN_EACH_THIRD {
            assert_eq!(cluster.master_of_tag(tag), port, "the master of {{{tag}}}");
        }
        // Clients connect to the address the cluster names for a slot's master.
        let described: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut cluster.nodes[0].connection())
            .expect("CLUSTER NODES");
        assert!(
            described.contains(&format!("127.0.0.1:{port}@")),
            "the node names its address: {described}"
        );
        assert!(cluster.url().starts_with("redis+cluster://127.0.0.1:"));
    }

    #[test]
    fn a_three_master_cluster_spreads_the_slots_over_three_nodes() {
        let cluster = RedisCluster::start_masters(3);
        assert_eq!(cluster.ports().len(), 3);

        let mut masters: Vec<u16> = TAGS_IN_EACH_THIRD
            .iter()
            .map(|tag| cluster.master_of_tag(tag))
            .collect();
        masters.sort_unstable();
        let mut ports = cluster.ports();
        ports.sort_unstable();

        assert_eq!(masters, ports, "each third of the slots has its own master");
    }

    #[test]
    #[should_panic(expected = "1 or at least 3 masters")]
    fn a_two_master_cluster_is_refused() {
        let _ = RedisCluster::start_masters(2);
    }
}
