//! How sure the store is of a submitted job before it answers: once the master has it
//! (Redis' own asynchronous replication, the default), or once a replica has it too.
//!
//! `WAIT` counts the replicas that acknowledged the writes of the connection it is sent on,
//! and blocks that connection meanwhile. So a replicated submit runs its script and its
//! `WAIT` on a connection of a small pool of its own: never on the shared connection, where
//! a `WAIT` would hold up every other command, and never on a connection that may have
//! reconnected in between, where it would count replicas of nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hero_store::{Error, Result};
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, FromRedisValue, ScriptInvocation};

use crate::connection::{COMMAND_TIMEOUT, RedisStore};
use crate::scripts::millis;
use crate::target::Target;

/// When the store acknowledges a submit (`jobs.create`, `jobs.create_many`, `job.run`,
/// `job.start`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Durability {
    /// Once the master has it. A failover may drop what the replica had not received yet.
    #[default]
    Async,
    /// Once one replica has it too (`WAIT 1`); when none confirms within `timeout`, the call
    /// fails with [`Error::NotReplicated`], and the job may exist all the same.
    Replicated {
        /// How long to wait for a replica.
        timeout: Duration,
    },
}

/// Connections for replicated submits: a few, so that one waiting submit does not hold up
/// the others (each `WAIT` blocks its connection).
const POOL: usize = 4;

pub(crate) struct Durable {
    timeout: Duration,
    /// Each empty until first used, and again after a failure: the next use reconnects, to
    /// whichever master the target names then.
    slots: Vec<Mutex<Option<MultiplexedConnection>>>,
    next: AtomicUsize,
}

impl Durable {
    pub(crate) fn new(durability: Durability) -> Option<Self> {
        match durability {
            Durability::Async => None,
            Durability::Replicated { timeout } => Some(Self {
                timeout,
                slots: (0..POOL).map(|_| Mutex::new(None)).collect(),
                next: AtomicUsize::new(0),
            }),
        }
    }

    fn slot(&self) -> &Mutex<Option<MultiplexedConnection>> {
        &self.slots[self.next.fetch_add(1, Ordering::Relaxed) % POOL]
    }

    async fn connection(
        &self,
        target: &Target,
        slot: &Mutex<Option<MultiplexedConnection>>,
    ) -> redis::RedisResult<MultiplexedConnection> {
        if let Some(conn) = lock(slot).clone() {
            return Ok(conn);
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(COMMAND_TIMEOUT))
            .set_response_timeout(Some(self.timeout + COMMAND_TIMEOUT));
        let conn = target.connect(&config).await?;
        *lock(slot) = Some(conn.clone());
        Ok(conn)
    }
}

fn lock(
    slot: &Mutex<Option<MultiplexedConnection>>,
) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
    // One assignment under the lock: whole even after a panic.
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

impl RedisStore {
    /// Runs a script that submits jobs, answering as the store's [`Durability`] asks.
    ///
    /// # Errors
    ///
    /// `Unavailable` when Redis fails; `NotReplicated` when no replica confirmed in time.
    pub(crate) async fn submit_script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T> {
        let Some(durable) = &self.inner.durable else {
            return invocation
                .invoke_async(&mut self.conn())
                .await
                .map_err(|e| self.unavailable(e));
        };
        let slot = durable.slot();
        let replicated = async {
            let mut conn = durable.connection(&self.inner.target, slot).await?;
            let answer: T = invocation.invoke_async(&mut conn).await?;
            let replicas: i64 = redis::cmd("WAIT")
                .arg(1)
                .arg(millis(durable.timeout))
                .query_async(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>((answer, replicas))
        };
        match replicated.await {
            Ok((answer, replicas)) if replicas >= 1 => Ok(answer),
            Ok(_) => Err(Error::NotReplicated {
                timeout_ms: millis(durable.timeout),
            }),
            Err(e) => {
                *lock(slot) = None;
                Err(self.unavailable(e))
            }
        }
    }
}
