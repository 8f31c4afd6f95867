//! Counters the store keeps for every process sharing it: jobs submitted and finished per
//! runner, the load of each runner's queue, and what each runner worker reports of itself.
//! `/metrics` reads them, so every supervisor on one store shows the same figures.

use std::collections::HashMap;

use hero_job::JobStatus;

/// Jobs submitted and finished since the store was first used, per runner.
///
/// Kept by the store in the same atomic step as the change they count, so they never miss
/// one and never count one twice, whichever process made it. A job queued again by
/// `job.retry` is not submitted again, but each of its ends is counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStats {
    /// Jobs stored, per runner (queue) name.
    pub submitted: HashMap<String, u64>,
    /// Jobs that reached a final status, per runner and status (`completed`, `failed`,
    /// `stopped`).
    pub finished: HashMap<(String, JobStatus), u64>,
}

/// What waits on and runs from one runner's queue at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunnerLoad {
    /// Jobs queued, of every priority (as [`Store::queue_len`](crate::Store::queue_len)).
    pub queued: u64,
    /// Jobs running; `None` when the store cannot count them without reading jobs (Redis
    /// before 7.0, which lacks `ZINTERCARD`).
    pub running: Option<u64>,
}

/// What one runner worker (one runner process) reports of itself.
///
/// Written by the worker beside its heartbeat and kept for a limited time, so the entry of a
/// worker that died disappears on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerStats {
    /// The worker's id (unique per runner process).
    pub worker: String,
    /// The runner (queue) it takes jobs from.
    pub runner: String,
    /// Jobs it ran to an end it reported, since it started.
    pub jobs: u64,
    /// Of those, the ones it reported failed.
    pub failures: u64,
    /// Jobs it runs now.
    pub busy: u64,
    /// Jobs it may run at once (its concurrency).
    pub slots: u64,
}
