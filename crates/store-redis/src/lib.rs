//! The Redis store of Hero Supervisor.
//!
//! - `connection`: [`RedisStore`] itself: connecting, the health check, the shared
//!   connections, and [`redact_url`] for errors and logs.
//! - `url`: the URL forms: one Redis, a Sentinel set (`redis+sentinel://…/MASTER`) or a
//!   Redis Cluster (`redis+cluster://…`), each also over TLS (`rediss…`).
//! - `target`: the one place that decides where a connection goes: one Redis, the master
//!   the sentinels name now, or a cluster's node.
//! - `durability`: acknowledging a submit once a replica has it too ([`Durability`]).
//! - `link`: the shared connection, reconnecting by itself (across failovers too).
//! - `store`: the [`hero_store::Store`] implementation, one delegation per method into the
//!   files below.
//! - `jobs`: creating, starting, reading, deleting, stopping and ending jobs.
//! - `listing`: listing jobs newest first through the indexes the scripts keep.
//! - `waits`: waiting for a job's end (`wait_final`, `run_job`) on the events subscription.
//! - `claims`: claims with leases and attempt tokens, heartbeats, finishing, reaping.
//! - `schedule`: queuing the scheduled jobs whose time has come.
//! - `runners`: registered runners, when a queue was last seen, queue lengths.
//! - `secrets`: secret grants and watching them change.
//! - `schedules`: cron schedules and the claim of each of their ticks.
//! - `counts`: jobs counted by status, from the status indexes.
//! - `stats`: the counters `/metrics` reads: jobs submitted and finished, runner loads, and
//!   what each runner worker reports of itself.
//! - `retention`: how long finished jobs are kept, and removing them once it has passed.
//! - `scripts`: one Lua script per atomic operation (`lua/`), loaded once.
//! - `keys`: the versioned key layout, one function per key.
//! - `events`: the one subscription that wakes waiters without polling and feeds watchers.
//! - `changes`: reading the job changes announced to watchers.
//! - `watch`: watching every job change, and reading the results watchers send.
//! - `record`: reading a job hash back into a [`hero_job::JobRecord`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), hero_store::Error> {
//! use hero_store::Store;
//! use hero_store_redis::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379", "hero").await?;
//! store.health().await?;
//! # Ok(())
//! # }
//! ```

mod changes;
mod claims;
mod cluster;
mod connection;
mod counts;
mod durability;
mod events;
mod jobs;
mod keys;
mod link;
mod listing;
mod record;
mod reports;
mod retention;
mod runners;
mod scheduled;
mod schedules;
mod scripts;
mod secrets;
mod shards;
mod stats;
mod store;
mod target;
mod url;
mod waits;
mod watch;

pub use connection::{RedisStore, redact_url};
pub use durability::Durability;
pub use shards::{ClusterStore, connect};
pub use target::check_url;
