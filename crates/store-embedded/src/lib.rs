//! The embedded store of Hero Supervisor: every [`hero_store::Store`] method on one
//! [redb](https://docs.rs/redb) file, for a supervisor that runs without Redis.
//!
//! Each state change is one redb write transaction (the atomic step a Lua script is in the
//! Redis store), committed durably before the call returns. Blocked claims, waiters on a
//! job's end and watchers are woken by in-process notifications after the commit, never by
//! polling. One process at a time uses a file.
//!
//! - `db`: [`EmbeddedStore`] itself: opening the file, one transaction per operation on a
//!   blocking thread, the health check.
//! - `store`: the [`hero_store::Store`] implementation, one delegation per method into the
//!   files below.
//! - `tables`: the redb tables, the key encodings of the indexes, a job's state.
//! - `transitions`: the steps state changes are made of (status indexes, queues, ends).
//! - `jobs`: creating, starting, reading, deleting, stopping, ending and retrying jobs.
//! - `listing`: listing jobs newest first through the indexes; counts by status and queue.
//! - `waits`: waiting for a job's end.
//! - `claims`: claims with leases and attempt tokens, heartbeats, reports, progress.
//! - `reaper`: lost workers, the timeout backstop.
//! - `retention`: how long finished jobs are kept, and removing them once it has passed.
//! - `scheduled`: queuing delayed jobs whose time has come.
//! - `schedules`: cron schedules and the claim of each tick.
//! - `runners`: registered runners and when a queue was last seen.
//! - `secrets`: secret grants.
//! - `stats`: the counters `/metrics` reads.
//! - `watch`: the in-process notifications.
//! - `faults`: damage a test injects on purpose.
//!
//! ```no_run
//! # async fn demo() -> Result<(), hero_store::Error> {
//! use hero_store::Store;
//! use hero_store_embedded::EmbeddedStore;
//!
//! let store = EmbeddedStore::open("/var/lib/hero/store.redb").await?;
//! store.health().await?;
//! # Ok(())
//! # }
//! ```

mod claims;
mod db;
mod faults;
mod jobs;
mod listing;
mod reaper;
mod retention;
mod runners;
mod scheduled;
mod schedules;
mod secrets;
mod stats;
mod store;
mod tables;
mod transitions;
mod waits;
mod watch;

pub use db::EmbeddedStore;
