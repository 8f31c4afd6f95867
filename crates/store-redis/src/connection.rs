//! The connection to Redis: [`RedisStore`] and what every operation shares (the
//! connections, the key layout, the loaded scripts), connecting, the health check, and
//! how a Redis failure becomes [`Error::Unavailable`] without leaking a password. Which
//! node a connection reaches is `target.rs`'s to decide.

use std::sync::Arc;
use std::time::Duration;

use hero_store::{Error, Result};
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

use crate::durability::Durability;
use crate::events::Events;
use crate::keys::Keys;
use crate::link::Link;
use crate::scripts::Scripts;
use crate::target::Target;

/// How long connecting and each ordinary command may take before the store reports
/// the backend unavailable.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](hero_store::Store) keeping everything in Redis under `{namespace}:v1:`.
///
/// Cloning is cheap and shares connections. Several processes may use one Redis at once:
/// no state lives outside it.
#[derive(Clone)]
pub struct RedisStore {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    /// Where every connection goes: one Redis, or a Sentinel set's master.
    pub(crate) target: Target,
    /// Shared, reconnecting connection for every non-blocking command.
    pub(crate) conn: Link,
    /// `BLMOVE` blocks its connection, so waiting claims get one of their own; the mutex
    /// lets one claimer wait at a time while the others queue behind it.
    pub(crate) blocking: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    /// The namespace's subscription, shared by a cluster's shards (`shards.rs`).
    pub(crate) subscription: Arc<Subscription>,
    pub(crate) keys: Keys,
    pub(crate) scripts: Arc<Scripts>,
    pub(crate) safe_url: String,
    /// Present when submits wait for a replica (`durability.rs`).
    pub(crate) durable: Option<crate::durability::Durable>,
    /// Runners' reports waiting for the next batch (`reports.rs`).
    pub(crate) reports: crate::reports::Reports,
}

/// The namespace's end-of-job and change subscription, opened by the first waiter or watcher.
#[derive(Default)]
pub(crate) struct Subscription {
    pub(crate) events: OnceCell<Arc<Events>>,
    /// The subscription task, aborted when the last store holding it is dropped.
    pub(crate) listener: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(task) = self
            .listener
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            task.abort();
        }
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.inner.safe_url)
            .finish_non_exhaustive()
    }
}

/// `url` with any password replaced by `***`, fit for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or("", |(user, _)| user);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// Refuses a namespace holding `{`, `}` or `/`, on any backend: they make the hash tags of a
/// cluster's shards (`{NAMESPACE/RUNNER}`), and the scripts would take such a namespace's keys
/// for a shard's and misname its channels (`chan` in `lua/lib.lua`).
pub(crate) fn check_namespace(namespace: &str, safe_url: &str) -> Result<()> {
    if namespace.contains(['{', '}', '/']) {
        return Err(Error::Unsupported {
            reason: format!(
                "redis at {safe_url}: a namespace cannot hold `{{`, `}}` or `/`, which make \
                 the hash tags of a cluster's shards"
            ),
        });
    }
    Ok(())
}

impl RedisStore {
    /// Connects to the Redis at `url` and checks that it answers.
    ///
    /// `url` is `redis://…` (also `rediss://`, `unix://`) for one Redis, or
    /// `redis+sentinel://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[?db=N]` for the
    /// master a Sentinel set names: the credentials and `db` are the master's, and after a
    /// failover every connection reconnects to the new master by itself
    /// (`rediss+sentinel://` over TLS). A Redis Cluster (`redis+cluster://…`,
    /// `rediss+cluster://…`) is opened with [`ClusterStore`](crate::ClusterStore).
    ///
    /// Over TLS, certificates chain to the system's authorities or to `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR`. redis-rs builds its TLS client on rustls' process-wide crypto provider:
    /// when the program has installed none, this installs ring, so a program that installs
    /// its own must do so before the first TLS URL is opened.
    ///
    /// # Errors
    ///
    /// `Unavailable` when the URL is malformed or Redis does not answer in time;
    /// `Unsupported` for a cluster URL, or a namespace holding `{`, `}` or `/`. The message
    /// names the URL without its password.
    pub async fn connect(url: &str, namespace: &str) -> Result<Self> {
        Self::connect_with(url, namespace, Durability::Async).await
    }

    /// As [`connect`](Self::connect), with submits acknowledged as `durability` says.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with(url: &str, namespace: &str, durability: Durability) -> Result<Self> {
        let safe_url = redact_url(url);
        let target = Target::open(url).map_err(|reason| Error::Unavailable {
            reason: format!("redis at {safe_url}: {reason}"),
        })?;
        check_namespace(namespace, &safe_url)?;
        if target.is_cluster() {
            return Err(Error::Unsupported {
                reason: format!(
                    "redis at {safe_url}: a Redis Cluster holds a namespace in shards: open it \
                     with `ClusterStore` (or `hero_store_redis::connect`)"
                ),
            });
        }
        Self::open(target, Keys::new(namespace), safe_url, durability).await
    }

    /// The store of the keys `keys` names, reached through `target`, checked to answer.
    pub(crate) async fn open(
        target: Target,
        keys: Keys,
        safe_url: String,
        durability: Durability,
    ) -> Result<Self> {
        let unavailable = |e: redis::RedisError| Error::Unavailable {
            reason: format!("redis at {safe_url}: {e}"),
        };
        let target = target.serving(&keys);
        // Boxed: redis-rs' Sentinel lookup nests deep enough to overflow the compiler's
        // layout depth in the futures of callers that await this one.
        let conn = tokio::time::timeout(COMMAND_TIMEOUT, Box::pin(target.link()))
            .await
            .map_err(|_| Error::Unavailable {
                reason: format!("redis at {safe_url}: no answer within {COMMAND_TIMEOUT:?}"),
            })?
            .map_err(unavailable)?;
        let store = Self {
            inner: Arc::new(Inner {
                target,
                conn,
                blocking: tokio::sync::Mutex::new(None),
                subscription: Arc::default(),
                keys,
                scripts: Arc::new(Scripts::load()),
                safe_url,
                durable: crate::durability::Durable::new(durability),
                reports: crate::reports::Reports::default(),
            }),
        };
        store.health().await?;
        Ok(store)
    }

    /// The store of the keys `keys` names (one shard of a namespace on a Redis Cluster, see
    /// `shards.rs`), sharing this one's connection, scripts and subscription; its blocking
    /// claims and durable submits get connections of their own, to the master serving `keys`.
    pub(crate) fn sibling(&self, keys: Keys, durability: Durability) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                target: inner.target.clone().serving(&keys),
                conn: inner.conn.clone(),
                blocking: tokio::sync::Mutex::new(None),
                subscription: inner.subscription.clone(),
                keys,
                scripts: inner.scripts.clone(),
                safe_url: inner.safe_url.clone(),
                durable: crate::durability::Durable::new(durability),
                reports: crate::reports::Reports::default(),
            }),
        }
    }

    pub(crate) fn conn(&self) -> Link {
        self.inner.conn.clone()
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.inner.keys
    }

    pub(crate) fn unavailable(&self, e: redis::RedisError) -> Error {
        Error::Unavailable {
            reason: format!("redis at {}: {e}", self.inner.safe_url),
        }
    }

    pub(crate) async fn health(&self) -> Result<()> {
        let pong = self
            .inner
            .target
            .ping(&self.inner.conn)
            .await
            .map_err(|e| self.unavailable(e))?;
        if pong != "PONG" {
            return Err(Error::Unavailable {
                reason: format!("redis at {}: unexpected PING answer", self.inner.safe_url),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_leave_the_url_redactor() {
        assert_eq!(
            redact_url("redis://user:hunter2@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://:hunter2@host"), "redis://:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }
}
