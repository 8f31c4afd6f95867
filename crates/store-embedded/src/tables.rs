//! The redb tables of the store file, the key encodings of its indexes, and [`Meta`], the
//! state of one job kept beside its submitted form. `docs/embedded-store.md` lays them out.

use chrono::{DateTime, Utc};
use hero_job::{JobStatus, Progress};
use hero_store::Error;
use redb::{ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// Job id → [`Meta`] as JSON: everything but the payload and the result, so claiming, reaping
/// and listing never decode a payload that may be a megabyte long.
pub(crate) const META: TableDefinition<&str, &str> = TableDefinition::new("job_meta");
/// Job id → the job as submitted (JSON).
pub(crate) const BODY: TableDefinition<&str, &str> = TableDefinition::new("job_body");
/// Job id → its result (JSON), once it has one.
pub(crate) const RESULTS: TableDefinition<&str, &str> = TableDefinition::new("job_result");
/// The listing indexes: (index name, creation ms, id). Index names: `a` every job, `s:STATUS`,
/// `r:RUNNER`, `c:CALLER`, `x:CONTEXT`, `o:OWNER`.
pub(crate) const INDEX: TableDefinition<(&str, i64, &str), ()> = TableDefinition::new("index");
/// Named counters: sizes of the indexes (`n:INDEX`), queue lengths (`q:RUNNER`), running
/// jobs per runner (`running:RUNNER`), the `/metrics` counters (`submitted:RUNNER`,
/// `finished:RUNNER:STATUS`), sequences (`seq:attempt`, `seq:queue`) and the retention
/// (`retention:STATUS`, ms).
pub(crate) const NUMBERS: TableDefinition<&str, u64> = TableDefinition::new("numbers");
/// The queues: (runner, 9 − priority, sequence) → id. The sequence grows for the back of a
/// priority and is negative for its front, so the first entry of a runner is the next job.
pub(crate) const QUEUE: TableDefinition<(&str, u8, i64), &str> = TableDefinition::new("queue");
/// The runs each worker holds: (worker, id) → attempt token.
pub(crate) const INFLIGHT: TableDefinition<(&str, &str), u64> = TableDefinition::new("inflight");
/// Worker → when its lease ends (ms).
pub(crate) const LEASES: TableDefinition<&str, i64> = TableDefinition::new("leases");
/// (lease end ms, worker): the workers in the order their leases end, for the reaper.
pub(crate) const LEASE_ENDS: TableDefinition<(i64, &str), ()> = TableDefinition::new("lease_ends");
/// (deadline ms, id): running jobs by the time the timeout backstop fails them.
pub(crate) const DEADLINES: TableDefinition<(i64, &str), ()> = TableDefinition::new("deadlines");
/// (removal ms, id): finished jobs by the time their retention passes.
pub(crate) const EXPIRY: TableDefinition<(i64, &str), ()> = TableDefinition::new("expiry");
/// (due ms, id): `scheduled` jobs by the time they are queued.
pub(crate) const SCHEDULED: TableDefinition<(i64, &str), ()> = TableDefinition::new("scheduled");
/// Runner name → its registration (JSON).
pub(crate) const RUNNERS: TableDefinition<&str, &str> = TableDefinition::new("runners");
/// Queue → when a runner last claimed from it or ran one of its jobs (ms).
pub(crate) const SEEN: TableDefinition<&str, i64> = TableDefinition::new("seen");
/// SHA-256 of a secret → its grant.
pub(crate) const SECRETS: TableDefinition<&str, &str> = TableDefinition::new("secrets");
/// Schedule name → its record (JSON).
pub(crate) const SCHEDULES: TableDefinition<&str, &str> = TableDefinition::new("schedules");
/// Worker → what it last reported of itself, with when that lapses (JSON).
pub(crate) const WORKER_STATS: TableDefinition<&str, &str> = TableDefinition::new("worker_stats");

/// What the store keeps of a job beside its submitted form: the fields the Redis store keeps
/// in the job's hash.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub(crate) runner: String,
    pub(crate) status: JobStatus,
    pub(crate) owner: Option<String>,
    pub(crate) caller: String,
    pub(crate) context: String,
    /// The listing indexes' score: the job's `created_at` in ms.
    pub(crate) created_ms: i64,
    pub(crate) updated_at: DateTime<Utc>,
    pub(crate) timeout: u64,
    pub(crate) retries: u32,
    pub(crate) priority: u8,
    /// When it may first run (ms), from `delay` or `run_at`.
    pub(crate) due: Option<i64>,
    pub(crate) retry_on_error: bool,
    pub(crate) backoff: u64,
    pub(crate) worker: Option<String>,
    pub(crate) attempt: Option<u64>,
    pub(crate) started_at: Option<DateTime<Utc>>,
    pub(crate) completed_at: Option<DateTime<Utc>>,
    pub(crate) deadline: Option<i64>,
    pub(crate) claimed_ms: Option<i64>,
    pub(crate) queued_ms: Option<i64>,
    pub(crate) stop: bool,
    pub(crate) losses: u32,
    pub(crate) requeues: u32,
    pub(crate) errors: u32,
    pub(crate) last_error: Option<String>,
    pub(crate) progress: Option<Progress>,
    /// Its entry in [`QUEUE`] while `queued`: (9 − priority, sequence).
    pub(crate) queue_at: Option<(u8, i64)>,
    /// Its entry in [`SCHEDULED`] while `scheduled`.
    pub(crate) scheduled_at: Option<i64>,
    /// Its entry in [`EXPIRY`] once final.
    pub(crate) expires_at: Option<i64>,
}

impl Meta {
    /// True when `worker` holds the run `token` of this job.
    pub(crate) fn is_run(&self, worker: &str, token: u64) -> bool {
        self.status == JobStatus::Running
            && self.worker.as_deref() == Some(worker)
            && self.attempt == Some(token)
    }

    /// The listing indexes the job is in, but its status's: empty caller and context ids are
    /// in none, as a filter never asks for them.
    pub(crate) fn indexes(&self) -> Vec<String> {
        let mut names = vec!["a".to_owned(), format!("r:{}", self.runner)];
        if let Some(owner) = &self.owner {
            names.push(format!("o:{owner}"));
        }
        if !self.caller.is_empty() {
            names.push(format!("c:{}", self.caller));
        }
        if !self.context.is_empty() {
            names.push(format!("x:{}", self.context));
        }
        names
    }
}

/// The name of the listing index of `status`.
pub(crate) fn by_status(status: JobStatus) -> String {
    format!("s:{}", status.as_str())
}

/// The [`Meta`] of job `id`; `None` when there is no such job.
pub(crate) fn meta(
    table: &impl ReadableTable<&'static str, &'static str>,
    id: &str,
) -> Result<Option<Meta>, Error> {
    let Some(json) = table.get(id).map_err(crate::db::unavailable)? else {
        return Ok(None);
    };
    serde_json::from_str(json.value())
        .map(Some)
        .map_err(|e| Error::Corrupt {
            key: id.to_owned(),
            reason: format!("job state: {e}"),
        })
}

/// The counter `name`, 0 when never written.
pub(crate) fn number(
    table: &impl ReadableTable<&'static str, u64>,
    name: &str,
) -> Result<u64, Error> {
    Ok(table
        .get(name)
        .map_err(crate::db::unavailable)?
        .map_or(0, |n| n.value()))
}
