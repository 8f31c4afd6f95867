//! Where a store's connections go, decided once from the URL: one Redis, the master a
//! Sentinel set names, or the master of a Redis Cluster that serves the namespace. Every
//! connection the store opens — the shared one, the blocking claim's, the subscription's,
//! the durable submits' — is opened here, so a connection opened after a failover reaches
//! the new master, and another kind of deployment is one more variant.

use std::sync::Arc;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection, PubSub};
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{AsyncConnectionConfig, ConnectionAddr, RedisResult};

use crate::cluster::Cluster;
use crate::connection::COMMAND_TIMEOUT;
use crate::keys::Keys;
use crate::link::{Failover, Link};
use crate::url::{RedisUrl, SentinelUrl};

/// What the store's URL names.
#[derive(Clone)]
pub(crate) enum Target {
    /// One Redis at a fixed address.
    Single(Arc<redis::Client>),
    /// The master a Sentinel set names, asked anew for each connection.
    Sentinel(Arc<Sentinel>),
    /// A Redis Cluster, whose master of the namespace's slot is asked anew for each
    /// connection.
    Cluster(Arc<Cluster>),
}

/// The sentinels of one master name.
pub(crate) struct Sentinel {
    /// The database on the master.
    db: i64,
    /// redis-rs asks the sentinels in turn and checks that the node named is a master; it
    /// needs `&mut` to keep its connections to them, hence the lock, which also keeps two
    /// lookups from running at once.
    client: tokio::sync::Mutex<SentinelClient>,
}

/// Checks that `url` is a Redis URL the store can connect with (`redis://`, `rediss://`,
/// `unix://`, `redis+sentinel://…/MASTER_NAME`, `redis+cluster://…`, and `rediss+sentinel`,
/// `rediss+cluster` over TLS), without connecting.
///
/// # Errors
///
/// What is wrong with it, never repeating it (it may hold a password).
pub fn check_url(url: &str) -> Result<(), String> {
    Target::open(url).map(|_| ())
}

impl Target {
    /// The target `url` names.
    ///
    /// # Errors
    ///
    /// The URL is malformed; the reason never repeats it.
    pub(crate) fn open(url: &str) -> Result<Self, String> {
        match RedisUrl::parse(url)? {
            RedisUrl::Single(url) => {
                let client = redis::Client::open(url).map_err(|e| e.to_string())?;
                if matches!(
                    client.get_connection_info().addr(),
                    ConnectionAddr::TcpTls { .. }
                ) {
                    install_tls_provider();
                }
                Ok(Self::Single(Arc::new(client)))
            }
            RedisUrl::Sentinel(url) => Sentinel::new(&url)
                .map(|sentinel| Self::Sentinel(Arc::new(sentinel)))
                .map_err(|e| e.to_string()),
            RedisUrl::Cluster(url) => Cluster::new(&url, "")
                .map(|cluster| Self::Cluster(Arc::new(cluster)))
                .map_err(|e| e.to_string()),
        }
    }

    /// True for a Redis Cluster, whose keys must carry a hash tag.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// This target with its connections going where `keys` live: on a cluster, to the master
    /// of their slot.
    pub(crate) fn serving(self, keys: &Keys) -> Self {
        match self {
            Self::Cluster(cluster) => Self::Cluster(Arc::new(cluster.serving(keys.prefix()))),
            other => other,
        }
    }

    /// A client for the node that takes writes now.
    async fn master(&self) -> RedisResult<redis::Client> {
        match self {
            Self::Single(client) => Ok(redis::Client::clone(client)),
            Self::Sentinel(sentinel) => sentinel.master().await,
            Self::Cluster(cluster) => cluster.master().await,
        }
    }

    /// `PING` through `link` to the node that serves the store.
    pub(crate) async fn ping(&self, link: &Link) -> RedisResult<String> {
        match self {
            Self::Cluster(cluster) => cluster.ping().await,
            Self::Single(_) | Self::Sentinel(_) => {
                redis::cmd("PING").query_async(&mut link.clone()).await
            }
        }
    }

    /// A new connection to the node that takes writes now.
    pub(crate) async fn connect(
        &self,
        config: &AsyncConnectionConfig,
    ) -> RedisResult<MultiplexedConnection> {
        self.master()
            .await?
            .get_multiplexed_async_connection_with_config(config)
            .await
    }

    /// A new pub/sub connection to the node that takes writes now.
    pub(crate) async fn pubsub(&self) -> RedisResult<PubSub> {
        self.master().await?.get_async_pubsub().await
    }

    /// The shared connection: it reconnects by itself after a failure, to the same address
    /// for one Redis, to whichever master the sentinels name for a Sentinel set, to whichever
    /// node serves each key's slot for a cluster.
    pub(crate) async fn link(&self) -> RedisResult<Link> {
        match self {
            Self::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(COMMAND_TIMEOUT))
                    .set_response_timeout(Some(COMMAND_TIMEOUT))
                    .set_number_of_retries(2);
                let manager =
                    ConnectionManager::new_with_config(redis::Client::clone(client), config)
                        .await?;
                Ok(Link::Single(manager))
            }
            Self::Sentinel(sentinel) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(COMMAND_TIMEOUT))
                    .set_response_timeout(Some(COMMAND_TIMEOUT));
                let failover = Failover::new(self.clone(), sentinel.db, config);
                failover.ready().await?;
                Ok(Link::Failover(Arc::new(failover)))
            }
            Self::Cluster(cluster) => cluster.connection().await.map(Link::Cluster),
        }
    }
}

/// A host's address, reached over TLS, its certificate checked, when `tls`.
pub(crate) fn address(host: String, port: u16, tls: bool) -> ConnectionAddr {
    if tls {
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure: false,
            tls_params: None,
        }
    } else {
        ConnectionAddr::Tcp(host, port)
    }
}

/// redis-rs builds its TLS client on rustls' process-wide crypto provider, which rustls
/// cannot pick by itself when a program links two (ring, which this project uses, and
/// aws-lc-rs, which some HTTP crates bring). Installs ring unless the program installed one.
pub(crate) fn install_tls_provider() {
    // An error only says a provider is installed already: the program's choice stands.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Sentinel {
    fn new(url: &SentinelUrl) -> RedisResult<Self> {
        if url.tls {
            install_tls_provider();
        }
        let sentinels = url
            .sentinels
            .iter()
            .map(|(host, port)| address(host.clone(), *port, url.tls));
        let mut builder =
            SentinelClientBuilder::new(sentinels, &url.master, SentinelServerType::Master)?
                .set_client_to_redis_db(url.db);
        if url.tls {
            builder = builder.set_client_to_redis_tls_mode(redis::TlsMode::Secure);
        }
        if let Some(username) = &url.username {
            builder = builder.set_client_to_redis_username(username);
        }
        if let Some(password) = &url.password {
            builder = builder.set_client_to_redis_password(password);
        }
        Ok(Self {
            db: url.db,
            client: tokio::sync::Mutex::new(builder.build()?),
        })
    }

    /// Asks the sentinels for the master, bounded: a sentinel that does not answer must not
    /// hold up every caller.
    async fn master(&self) -> RedisResult<redis::Client> {
        let lookup = async { self.client.lock().await.async_get_client().await };
        match tokio::time::timeout(COMMAND_TIMEOUT, lookup).await {
            Ok(client) => client,
            Err(_) => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no sentinel named a master in time",
            ))),
        }
    }
}
