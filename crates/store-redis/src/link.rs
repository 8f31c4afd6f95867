//! The shared connection every non-blocking command uses, reconnecting by itself.
//!
//! For one Redis it is redis-rs' `ConnectionManager`. For a Sentinel set it is a
//! [`Failover`]: one multiplexed connection to the master the sentinels named, given up after
//! a connection error or an answer that says the node no longer takes writes (`READONLY`, a
//! demoted node unblocking its clients), and opened again by the next command, to whichever
//! master the sentinels name then. The command that met the failure fails (the store reports
//! it unavailable; callers retry as after any Redis blip), and none is re-sent: a write whose
//! answer was lost may have happened.

use std::sync::Mutex;

use futures::FutureExt;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};

use crate::target::Target;

/// The store's shared connection.
#[derive(Clone)]
pub(crate) enum Link {
    /// One Redis: redis-rs reconnects to the same address.
    Single(ConnectionManager),
    /// A Sentinel set's master, whichever it is now.
    Failover(std::sync::Arc<Failover>),
    /// A Redis Cluster: redis-rs sends each command to the node serving its keys' slot.
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(manager) => manager.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
            Self::Failover(failover) => {
                let failover = failover.clone();
                async move {
                    let (generation, mut conn) = failover.connection().await?;
                    let answer = conn.req_packed_command(cmd).await;
                    failover.after(generation, &answer);
                    answer
                }
                .boxed()
            }
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(manager) => manager.req_packed_commands(pipeline, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            Self::Failover(failover) => {
                let failover = failover.clone();
                async move {
                    let (generation, mut conn) = failover.connection().await?;
                    let answer = conn.req_packed_commands(pipeline, offset, count).await;
                    failover.after(generation, &answer);
                    answer
                }
                .boxed()
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            // A cluster has only database 0.
            Self::Cluster(_) => 0,
            Self::Single(manager) => manager.get_db(),
            Self::Failover(failover) => failover.db,
        }
    }
}

/// A connection to a Sentinel set's master that follows it across failovers.
pub(crate) struct Failover {
    target: Target,
    /// The database each connection selects as it opens (the URL's `?db=`).
    db: i64,
    config: AsyncConnectionConfig,
    current: Mutex<Current>,
    /// One connect at a time: callers that queued behind a failed one fail with it, so a
    /// master that is down costs one lookup per turn, not one per waiting command.
    connecting: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Current {
    conn: Option<MultiplexedConnection>,
    /// Bumped by each new connection, so a failure met on an old one does not drop a new one.
    generation: u64,
    /// Bumped by each failed connect.
    failures: u64,
}

impl Failover {
    pub(crate) fn new(target: Target, db: i64, config: AsyncConnectionConfig) -> Self {
        Self {
            target,
            db,
            config,
            current: Mutex::default(),
            connecting: tokio::sync::Mutex::new(()),
        }
    }

    /// Connects now, so that a store that cannot reach its master says so at once.
    pub(crate) async fn ready(&self) -> redis::RedisResult<()> {
        self.connection().await.map(|_| ())
    }

    async fn connection(&self) -> redis::RedisResult<(u64, MultiplexedConnection)> {
        let failures = {
            let current = self.lock();
            if let Some(conn) = &current.conn {
                return Ok((current.generation, conn.clone()));
            }
            current.failures
        };
        let _turn = self.connecting.lock().await;
        {
            let current = self.lock();
            if let Some(conn) = &current.conn {
                return Ok((current.generation, conn.clone()));
            }
            if current.failures != failures {
                return Err(RedisError::from((
                    ErrorKind::Io,
                    "no master reachable through the sentinels",
                )));
            }
        }
        match self.target.connect(&self.config).await {
            Ok(conn) => {
                let mut current = self.lock();
                current.generation += 1;
                current.conn = Some(conn.clone());
                tracing::info!("connected to the master the sentinels name");
                Ok((current.generation, conn))
            }
            Err(error) => {
                self.lock().failures += 1;
                Err(error)
            }
        }
    }

    /// Gives up the connection of `generation` when `answer` says it no longer reaches the
    /// master.
    fn after<T>(&self, generation: u64, answer: &redis::RedisResult<T>) {
        let Err(error) = answer else { return };
        if !is_lost_master(error) {
            return;
        }
        let mut current = self.lock();
        if current.generation == generation && current.conn.is_some() {
            tracing::warn!(%error, "lost the master; asking the sentinels again");
            current.conn = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Current> {
        // Every change under the lock is one assignment: the state is whole even after a panic.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// True when `error` means the connection no longer reaches a master that takes writes: the
/// connection failed, or the node was demoted to a replica.
pub(crate) fn is_lost_master(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_unrecoverable_error()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::Server(
                redis::ServerErrorKind::ReadOnly | redis::ServerErrorKind::MasterDown
            )
        )
        || error.code() == Some("UNBLOCKED")
}
