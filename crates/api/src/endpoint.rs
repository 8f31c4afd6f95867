//! The runner endpoint's wire: what a runner sends the supervisor in place of talking to the
//! store itself, and what it gets back.
//!
//! The endpoint is line-delimited JSON-RPC 2.0 on a Unix socket (one request or response
//! object per line), and the same methods on the API's HTTP/WebSocket port, where each takes
//! a register or admin `secret` first (see [`crate::methods`]); `docs/runner-protocol.md`
//! ("Through the supervisor") describes both for runners in any language. Each method maps
//! onto one store operation of a runner. The supervisor serves it, the runner SDK's remote
//! store calls it.

use hero_job::{Job, JobResult, JobStatus, Progress};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `runner.claim`: take up to `most` jobs of `queue`, waiting up to `wait_ms` for the first.
pub const CLAIM: &str = "runner.claim";
/// `runner.heartbeat`: renew the worker's lease; returns the runs to give up.
pub const HEARTBEAT: &str = "runner.heartbeat";
/// `runner.finish`: report how a run ended; returns whether the report was taken.
pub const FINISH: &str = "runner.finish";
/// `runner.progress`: record a run's progress; returns whether it was taken.
pub const PROGRESS: &str = "runner.progress";
/// `runner.put_worker_stats`: record what a worker reports of itself.
pub const PUT_WORKER_STATS: &str = "runner.put_worker_stats";
/// `runner.health`: checks that the supervisor and its store answer.
pub const HEALTH: &str = "runner.health";

/// Every method of the endpoint.
pub const METHODS: &[&str] = &[CLAIM, HEARTBEAT, FINISH, PROGRESS, PUT_WORKER_STATS, HEALTH];

/// Longest claim wait the supervisor grants, in milliseconds: a longer `wait_ms` is cut to
/// it, so a long-poll never holds a connection's request for more than 30 s.
pub const MAX_CLAIM_WAIT_MS: u64 = 30_000;

/// Most jobs one claim takes: a larger `most` is cut to it.
pub const MAX_CLAIM_BATCH: usize = 100;

/// Longest lease a runner may ask for, in milliseconds (one day).
pub const MAX_LEASE_MS: u64 = 86_400_000;

/// Most runs one heartbeat may list.
pub const MAX_RUNNING: usize = 10_000;

/// Longest output or error one `runner.finish` may carry, in bytes: the runner SDK reports
/// a longer one as an error naming this limit.
pub const MAX_RESULT_BYTES: usize = 1 << 20;

/// Longest request line the supervisor reads, in bytes: a maximal result even if every
/// character of it is escaped, plus the envelope. A longer line ends the connection.
pub const MAX_REQUEST_LINE_BYTES: usize = 8 << 20;

/// One run of a job: its id and the token of the claim that started it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Attempt {
    /// The job's id.
    pub id: String,
    /// The claim's token.
    pub token: u64,
}

/// The params of `runner.claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ClaimParams {
    /// The queue (runner name) to take jobs from.
    pub queue: String,
    /// The worker the jobs are claimed for.
    pub worker: String,
    /// How long the worker's lease lasts without a heartbeat, 1 to [`MAX_LEASE_MS`].
    pub lease_ms: u64,
    /// How long to wait for a first job; cut to [`MAX_CLAIM_WAIT_MS`].
    pub wait_ms: u64,
    /// Most jobs to take, at least 1; cut to [`MAX_CLAIM_BATCH`].
    pub most: usize,
}

/// One job `runner.claim` took: the job and the token of this claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Claimed {
    /// The job as submitted.
    pub job: Job,
    /// This claim's token; every later word about this run carries it.
    pub token: u64,
}

/// The params of `runner.heartbeat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HeartbeatParams {
    /// The worker whose lease is renewed.
    pub worker: String,
    /// The new lease, 1 to [`MAX_LEASE_MS`].
    pub lease_ms: u64,
    /// Every run the worker holds, at most [`MAX_RUNNING`].
    pub running: Vec<Attempt>,
}

/// The params of `runner.finish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FinishParams {
    /// The worker holding the run.
    pub worker: String,
    /// The run.
    pub attempt: Attempt,
    /// `completed`, `failed` or `stopped`.
    pub status: JobStatus,
    /// The output or the error, at most [`MAX_RESULT_BYTES`].
    pub result: JobResult,
}

/// The params of `runner.progress`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProgressParams {
    /// The worker holding the run.
    pub worker: String,
    /// The run.
    pub attempt: Attempt,
    /// How far it is.
    pub progress: Progress,
}

/// What a worker reports of itself (`runner.put_worker_stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerStats {
    /// The worker's id.
    pub worker: String,
    /// The runner (queue) it takes jobs from.
    pub runner: String,
    /// Jobs it ran to an end it reported.
    pub jobs: u64,
    /// Of those, the ones it reported failed.
    pub failures: u64,
    /// Jobs it runs now.
    pub busy: u64,
    /// Jobs it may run at once.
    pub slots: u64,
}

/// The params of `runner.put_worker_stats`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WorkerStatsParams {
    /// The figures.
    pub stats: WorkerStats,
    /// How long they are kept, in milliseconds, 1 to [`MAX_LEASE_MS`].
    pub ttl_ms: u64,
}
