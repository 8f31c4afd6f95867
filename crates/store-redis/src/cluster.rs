//! A Redis Cluster (`redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]`, or
//! `rediss+cluster://…` over TLS): the URL, and the node that serves a namespace.
//!
//! On a cluster every key of a namespace carries it as a hash tag (`{hero}:v1:…` for `hero`, see
//! `keys.rs`), so the whole namespace lives in one slot, served by one master: each script
//! touches one slot, and every connection the store opens besides the shared one (the
//! blocking claim's, the subscription's, the durable submits') goes to that master, asked
//! anew from the cluster for each connection, so a connection opened after a cluster
//! failover reaches the promoted replica. The shared connection is redis-rs' cluster
//! connection, which follows the slot by itself (`MOVED`, `ASK`).

use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{IntoConnectionInfo, RedisConnectionInfo, RedisResult, Value};

use crate::connection::COMMAND_TIMEOUT;
use crate::url::Authority;

/// The scheme of a URL naming a Redis Cluster.
pub(crate) const CLUSTER_SCHEME: &str = "redis+cluster";

/// The scheme of a URL naming a Redis Cluster whose every node is reached over TLS.
pub(crate) const CLUSTER_TLS_SCHEME: &str = "rediss+cluster";

/// For the scheme of a cluster URL, whether it asks for TLS; `None` for another scheme.
pub(crate) fn cluster_scheme(scheme: &str) -> Option<bool> {
    crate::url::tls_variant(scheme, CLUSTER_SCHEME, CLUSTER_TLS_SCHEME)
}

/// Redis' default port, for a node named without one.
const REDIS_PORT: u16 = 6379;

/// How many slots a cluster has.
const SLOTS: u16 = 16384;

/// The parts of a `redis+cluster://` URL.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ClusterUrl {
    /// The seed nodes, as `(host, port)`, in the order given: any of them leads to the rest.
    pub(crate) nodes: Vec<(String, u16)>,
    /// Credentials for every node.
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// Whether every node is reached over TLS (`rediss+cluster://`).
    pub(crate) tls: bool,
}

impl std::fmt::Debug for ClusterUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterUrl")
            .field("nodes", &self.nodes)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("tls", &self.tls)
            .finish()
    }
}

impl ClusterUrl {
    /// Reads what follows `redis+cluster://` (`rediss+cluster://` when `tls`).
    ///
    /// # Errors
    ///
    /// What is wrong with it, with the form, never repeating any of it.
    pub(crate) fn parse(rest: &str, tls: bool) -> Result<Self, String> {
        let scheme = if tls {
            CLUSTER_TLS_SCHEME
        } else {
            CLUSTER_SCHEME
        };
        parse(rest, tls).map_err(|e| {
            format!("{e} (the form is {scheme}://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…])")
        })
    }
}

fn parse(rest: &str, tls: bool) -> Result<ClusterUrl, String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if !path.is_empty() {
        return Err(
            "a cluster URL takes no path, database or query: a cluster has only database 0".into(),
        );
    }
    let Authority {
        username,
        password,
        hosts: nodes,
    } = Authority::parse(authority, "a node", REDIS_PORT)?;
    Ok(ClusterUrl {
        nodes,
        username,
        password,
        tls,
    })
}

/// A cluster, and the slot of the namespace the store keeps in it.
pub(crate) struct Cluster {
    client: ClusterClient,
    /// The credentials of every node, for the connections opened to one of them.
    credentials: RedisConnectionInfo,
    /// Whether every node is reached over TLS.
    tls: bool,
    slot: u16,
    /// The store's cluster connection, opened once: the shared link is a clone of it, and
    /// the lookups of the namespace's master go through it.
    conn: std::sync::Arc<tokio::sync::OnceCell<ClusterConnection>>,
}

impl Cluster {
    /// The cluster `url` names, for the namespace whose keys start with `prefix`.
    pub(crate) fn new(url: &ClusterUrl, prefix: &str) -> RedisResult<Self> {
        if url.tls {
            crate::target::install_tls_provider();
        }
        // redis-rs reaches every node as it reaches the first seed, with or without TLS.
        let nodes = url
            .nodes
            .iter()
            .map(|(host, port)| {
                crate::target::address(host.clone(), *port, url.tls).into_connection_info()
            })
            .collect::<RedisResult<Vec<_>>>()?;
        let mut builder = ClusterClientBuilder::new(nodes)
            .connection_timeout(COMMAND_TIMEOUT)
            .response_timeout(COMMAND_TIMEOUT);
        let mut credentials = RedisConnectionInfo::default();
        if let Some(username) = &url.username {
            builder = builder.username(username);
            credentials = credentials.set_username(username);
        }
        if let Some(password) = &url.password {
            builder = builder.password(password);
            credentials = credentials.set_password(password);
        }
        Ok(Self {
            client: builder.build()?,
            credentials,
            tls: url.tls,
            slot: slot(prefix.as_bytes()),
            conn: std::sync::Arc::default(),
        })
    }

    /// This cluster, for the keys that start with `prefix`: a namespace, or one shard of it.
    /// Shares the cluster connection.
    pub(crate) fn serving(&self, prefix: &str) -> Self {
        Self {
            client: self.client.clone(),
            credentials: self.credentials.clone(),
            tls: self.tls,
            slot: slot(prefix.as_bytes()),
            conn: self.conn.clone(),
        }
    }

    /// The store's cluster connection, opened by the first caller.
    pub(crate) async fn connection(&self) -> RedisResult<ClusterConnection> {
        self.conn
            .get_or_try_init(|| self.client.get_async_connection())
            .await
            .cloned()
    }

    /// `PING` to the master of the namespace's slot: a cluster client sends a bare `PING` to
    /// every master, and one that serves none of the namespace being down must not make the
    /// store look down.
    pub(crate) async fn ping(&self) -> RedisResult<String> {
        let route = Route::new(self.slot, SlotAddr::Master);
        let answer = self
            .connection()
            .await?
            .route_command(
                redis::cmd("PING"),
                RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
            )
            .await?;
        Ok(redis::from_redis_value(answer)?)
    }

    /// A client for the master that serves the namespace's slot now, as that slot's master
    /// itself describes the cluster.
    pub(crate) async fn master(&self) -> RedisResult<redis::Client> {
        let lookup = async {
            let mut conn = self.connection().await?;
            let route = Route::new(self.slot, SlotAddr::Master);
            let slots = conn
                .route_command(
                    redis::cmd("CLUSTER").arg("SLOTS").clone(),
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route)),
                )
                .await?;
            master_of(&slots, self.slot).ok_or_else(|| {
                redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "the cluster names no master for the namespace's slot",
                ))
            })
        };
        let (host, port) = match tokio::time::timeout(COMMAND_TIMEOUT, lookup).await {
            Ok(address) => address?,
            Err(_) => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "the cluster named no master in time",
                )));
            }
        };
        // Over TLS, `CLUSTER SLOTS` names each node's TLS port (`tls-cluster yes`).
        let info = crate::target::address(host, port, self.tls)
            .into_connection_info()?
            .set_redis_settings(self.credentials.clone());
        redis::Client::open(info)
    }
}

/// The address of the master of `slot` in a `CLUSTER SLOTS` answer: entries of
/// `[first slot, last slot, [host, port, id, …], replicas…]`.
fn master_of(slots: &Value, slot: u16) -> Option<(String, u16)> {
    let Value::Array(ranges) = slots else {
        return None;
    };
    ranges.iter().find_map(|range| {
        let Value::Array(parts) = range else {
            return None;
        };
        let first: u16 = redis::from_redis_value_ref(parts.first()?).ok()?;
        let last: u16 = redis::from_redis_value_ref(parts.get(1)?).ok()?;
        let Value::Array(master) = parts.get(2)? else {
            return None;
        };
        let host: String = redis::from_redis_value_ref(master.first()?).ok()?;
        let port: u16 = redis::from_redis_value_ref(master.get(1)?).ok()?;
        // An unknown endpoint is "?", or empty.
        let known = !host.is_empty() && host != "?";
        ((first..=last).contains(&slot) && known).then_some((host, port))
    })
}

/// The slot of `key` as Redis computes it: CRC16 (XMODEM) of its hash tag — what lies
/// between its first `{` and the next `}`, when not empty — or of the whole key.
pub(crate) fn slot(key: &[u8]) -> u16 {
    let tag = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16(tag.unwrap_or(key)) % SLOTS
}

fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |crc, &byte| {
        (0..8).fold(crc ^ (u16::from(byte) << 8), |crc, _| {
            if crc & 0x8000 == 0 {
                crc << 1
            } else {
                (crc << 1) ^ 0x1021
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::RedisUrl;

    fn cluster(url: &str) -> ClusterUrl {
        match RedisUrl::parse(url) {
            Ok(RedisUrl::Cluster(parsed)) => parsed,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn a_cluster_url_names_its_seed_nodes_and_credentials() {
        let url = cluster("redis+cluster://app:p%40ss@10.0.0.1:7000,h2,[::1]:7002");
        assert_eq!(
            url.nodes,
            [
                ("10.0.0.1".to_owned(), 7000),
                ("h2".to_owned(), 6379),
                ("::1".to_owned(), 7002)
            ]
        );
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        let bare = cluster("redis+cluster://:secret@h:1/");
        assert_eq!(bare.username, None);
        assert_eq!(bare.password.as_deref(), Some("secret"));
        assert!(!bare.tls);
        let tls = cluster("REDISS+cluster://h:1,h:2");
        assert!(tls.tls, "rediss+cluster:// reaches every node over TLS");
        assert_eq!(tls.nodes.len(), 2);
    }

    #[test]
    fn a_malformed_cluster_url_is_refused_with_its_form_and_without_its_password() {
        for url in [
            "redis+cluster://:hunter2@",
            "redis+cluster://:hunter2@h:99999",
            "redis+cluster://:hunter2@h:x",
            "redis+cluster://:hunter2@h:1,",
            "redis+cluster://:hunter2@h:1/2",
            "redis+cluster://:hunter2@h:1?db=1",
            "redis+cluster://:hunter2@[::1",
            "redis+cluster://:hunter2%zz@h:1",
            "rediss+cluster://:hunter2@h:1/0",
        ] {
            let error = RedisUrl::parse(url).expect_err(url);
            assert!(!error.contains("hunter2"), "{error}");
            assert!(error.contains("HOST:PORT"), "{error}");
        }
    }

    #[test]
    fn slots_are_computed_as_redis_computes_them() {
        // The check value of CRC16/XMODEM, and slots Redis' own documentation gives.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"foo"), 12182);
        assert_eq!(slot(b"{user1000}.following"), slot(b"user1000"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_ne!(slot(b"{}a"), slot(b"{}b"), "an empty tag does not count");
        assert_eq!(slot(b"{hero}:v1:jobs"), slot(b"{hero}:v1:queue:r"));
    }
}
