//! What [`Store::watch_jobs`](crate::Store::watch_jobs) hands out: every change of every job,
//! made by any process sharing the store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hero_job::{EventStatus, Progress};

/// One change of one job, as the store announced it.
///
/// Holds what the store announces with the change and nothing more: never the payload or the
/// result, which can be megabytes and which every watcher would otherwise receive. A watcher
/// that needs the result reads it with [`Store::results`](crate::Store::results).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobChange {
    /// The job's id.
    pub id: String,
    /// The runner (queue) the job was submitted to.
    pub runner: String,
    /// The job's owner, as passed to [`Store::create_job`](crate::Store::create_job).
    pub owner: Option<String>,
    /// What the job became; `running` for a progress report.
    pub status: EventStatus,
    /// The progress reported, on a progress report only.
    pub progress: Option<Progress>,
    /// When the store made the change, by the store's clock.
    pub at: DateTime<Utc>,
    /// How long the job spent in the state it left, by the store's clock, when the store
    /// says: on `running`, its wait since it was queued; on a final status reached from
    /// `running`, its run time since its claim.
    pub elapsed_ms: Option<u64>,
}

/// What a [`Store::watch_jobs`](crate::Store::watch_jobs) receiver gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// A job changed.
    Changed(Arc<JobChange>),
    /// Changes may have been lost since the last one received: the store lost its connection
    /// to the other processes for a while. What a watcher shows may be stale; read it again.
    Missed,
}

/// How many changes a [`Store::watch_jobs`](crate::Store::watch_jobs) receiver may fall behind
/// before it loses the oldest (its `recv` then answers `Lagged`, which means the same as
/// [`Watched::Missed`]).
pub const WATCH_CAPACITY: usize = 16_384;
