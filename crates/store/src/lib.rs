//! The storage interface of Hero Supervisor, holding no backend types.
//!
//! - [`Store`]: jobs, queues, claims with leases, results, and waiting for a job's end.
//! - [`Error`]: the failures a caller can act on.
//! - [`JobChange`], [`Watched`]: the changes [`Store::watch_jobs`] hands out.
//! - [`ScheduleRecord`], [`TickClaim`]: cron schedules and the claim of each tick.
//! - [`JobStats`], [`RunnerLoad`], [`WorkerStats`]: the counters `/metrics` reads.
//! - [`conformance`]: checks every store implementation must pass.
//!
//! A job's life through a store: [`Store::create_job`] (`created`) → [`Store::start_job`]
//! (`queued`, on its runner's queue) → [`Store::claim`] by a worker (`running`, in the
//! worker's in-flight set, with an attempt token, kept alive by [`Store::heartbeat`]) →
//! [`Store::finish`] of that attempt (final, waiters woken) → removed by
//! [`Store::reap_expired`] once its [`Retention`] has passed.

pub mod conformance;
mod error;
mod retention;
mod schedule;
mod stats;
mod store;
mod watch;

pub use error::Error;
pub use retention::{DEFAULT_COMPLETED_RETENTION, DEFAULT_FAILED_RETENTION, Retention};
pub use schedule::{ScheduleRecord, TickClaim};
pub use stats::{JobStats, RunnerLoad, WorkerStats};
pub use store::{
    Attempt, Claimed, DEFAULT_LIST_LIMIT, Finish, JobFilter, MAX_LIST_LIMIT, MAX_RUNNER_LOSSES,
    NextClaim, Promoted, Reaped, RunnerAccess, RunnerRecord, StopOutcome, Store, TIMEOUT_GRACE,
};
pub use watch::{JobChange, WATCH_CAPACITY, Watched};

/// The result type of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
