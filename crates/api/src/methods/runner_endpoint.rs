//! The runner endpoint's methods as served on the API port, for runners that reach the
//! store through the supervisor over HTTP: each is the socket method of the same name
//! (`crate::endpoint`) with a register or admin `secret` in front.

use hero_job::{JobResult, JobStatus, Progress};

use super::{Access, Method, Param, null, schema_of, string};
use crate::codes::{BACKEND_UNAVAILABLE, INVALID_PARAMS, UNAUTHORIZED};
use crate::endpoint::{self, Attempt, Claimed, WorkerStats};

const SECRET: Param = Param {
    name: "secret",
    summary: "A register or admin secret: the runner's `--secret`.",
    required: true,
    schema: string,
};

const WORKER: Param = Param {
    name: "worker",
    summary: "The worker (one runner process) making the call.",
    required: true,
    schema: string,
};

const LEASE_MS: Param = Param {
    name: "lease_ms",
    summary: "How long the worker's lease lasts without a heartbeat, 1 to 86,400,000 ms.",
    required: true,
    schema: count,
};

const ATTEMPT: Param = Param {
    name: "attempt",
    summary: "The run: `{id, token}`, the token its claim returned.",
    required: true,
    schema: schema_of::<Attempt>,
};

const ERRORS: &[i32] = &[INVALID_PARAMS, UNAUTHORIZED, BACKEND_UNAVAILABLE];

fn count() -> serde_json::Value {
    serde_json::json!({"type": "integer", "minimum": 0})
}

fn boolean() -> serde_json::Value {
    serde_json::json!({"type": "boolean"})
}

/// `runner.claim`.
pub(super) const CLAIM: Method = Method {
    name: endpoint::CLAIM,
    summary: "Take jobs from a queue for a worker, waiting for the first (runners).",
    description: "Moves up to `most` jobs (at most 100) of `queue`, highest priority first, \
                  to `worker`, each `running` under a new attempt token, and renews the \
                  worker's lease. Long-polls: waits up to `wait_ms` (at most 30,000) for a \
                  first job and answers as soon as one is queued, or `[]`. For runners that \
                  reach the store through the supervisor; see `docs/runner-protocol.md`.",
    params: &[
        SECRET,
        Param {
            name: "queue",
            summary: "The queue (runner name) to take jobs from.",
            required: true,
            schema: string,
        },
        WORKER,
        LEASE_MS,
        Param {
            name: "wait_ms",
            summary: "How long to wait for a first job; cut to 30,000.",
            required: true,
            schema: count,
        },
        Param {
            name: "most",
            summary: "Most jobs to take, at least 1; cut to 100.",
            required: true,
            schema: count,
        },
    ],
    result: ("claimed", schema_of::<Vec<Claimed>>),
    access: Access::Register,
    errors: ERRORS,
};

/// `runner.heartbeat`.
pub(super) const HEARTBEAT: Method = Method {
    name: endpoint::HEARTBEAT,
    summary: "Renew a worker's lease; returns the runs it must give up (runners).",
    description: "Renews `worker`'s lease and returns the runs among `running` that were \
                  stopped or are no longer the worker's. `running` must list every run the \
                  worker holds (at most 10,000); one it leaves out goes back to its queue once \
                  its lease has passed.",
    params: &[
        SECRET,
        WORKER,
        LEASE_MS,
        Param {
            name: "running",
            summary: "Every run the worker holds: `[{id, token}]`.",
            required: true,
            schema: schema_of::<Vec<Attempt>>,
        },
    ],
    result: ("stops", schema_of::<Vec<Attempt>>),
    access: Access::Register,
    errors: ERRORS,
};

/// `runner.finish`.
pub(super) const FINISH: Method = Method {
    name: endpoint::FINISH,
    summary: "Report how a run ended (runners).",
    description: "Records the run's end, `completed`, `failed` or `stopped`, with its result \
                  (at most 1 MiB of text), and wakes its waiters. Answers `false`, changing \
                  nothing, when the worker no longer holds that attempt.",
    params: &[
        SECRET,
        WORKER,
        ATTEMPT,
        Param {
            name: "status",
            summary: "`completed`, `failed` or `stopped`.",
            required: true,
            schema: schema_of::<JobStatus>,
        },
        Param {
            name: "result",
            summary: "`{success}` or `{error}`.",
            required: true,
            schema: schema_of::<JobResult>,
        },
    ],
    result: ("taken", boolean),
    access: Access::Register,
    errors: ERRORS,
};

/// `runner.progress`.
pub(super) const PROGRESS: Method = Method {
    name: endpoint::PROGRESS,
    summary: "Record a run's progress (runners).",
    description: "Records `progress` as the run's latest, shown by `job.status`. Answers \
                  `false`, changing nothing, unless the job is running under that worker and \
                  attempt.",
    params: &[
        SECRET,
        WORKER,
        ATTEMPT,
        Param {
            name: "progress",
            summary: "`{percent, message}`: 0 to 100, and at most 1,024 bytes.",
            required: true,
            schema: schema_of::<Progress>,
        },
    ],
    result: ("taken", boolean),
    access: Access::Register,
    errors: ERRORS,
};

/// `runner.put_worker_stats`.
pub(super) const PUT_WORKER_STATS: Method = Method {
    name: endpoint::PUT_WORKER_STATS,
    summary: "Record what a worker reports of itself (runners).",
    description: "Keeps the worker's figures for `ttl_ms`, for `GET /metrics` and the \
                  dashboard.",
    params: &[
        SECRET,
        Param {
            name: "stats",
            summary: "`{worker, runner, jobs, failures, busy, slots}`.",
            required: true,
            schema: schema_of::<WorkerStats>,
        },
        Param {
            name: "ttl_ms",
            summary: "How long they are kept, 1 to 86,400,000 ms.",
            required: true,
            schema: count,
        },
    ],
    result: ("null", null),
    access: Access::Register,
    errors: ERRORS,
};

/// `runner.health`.
pub(super) const HEALTH: Method = Method {
    name: endpoint::HEALTH,
    summary: "Check that the supervisor and its store answer (runners).",
    description: "Answers `null` when the store answers, else -32004.",
    params: &[SECRET],
    result: ("null", null),
    access: Access::Register,
    errors: ERRORS,
};
