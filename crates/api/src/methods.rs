//! The method table: every method the supervisor serves, declared once.
//!
//! The server registers exactly these methods, parses params through them, and
//! `rpc.discover` describes them; clients call them by these names.

use hero_job::{Job, JobResult, JobStatusInfo};
use schemars::JsonSchema;
use serde_json::Value;

use crate::codes::{
    BACKEND_UNAVAILABLE, BUSY, CONFLICT, INVALID_PARAMS, NOT_FOUND, UNAUTHORIZED, WAIT_TIMED_OUT,
};

mod runner_endpoint;

/// Wire names, usable as `match` patterns.
pub mod names {
    /// `jobs.create`
    pub const JOBS_CREATE: &str = "jobs.create";
    /// `jobs.create_many`
    pub const JOBS_CREATE_MANY: &str = "jobs.create_many";
    /// `jobs.list`
    pub const JOBS_LIST: &str = "jobs.list";
    /// `job.run`
    pub const JOB_RUN: &str = "job.run";
    /// `job.start`
    pub const JOB_START: &str = "job.start";
    /// `job.status`
    pub const JOB_STATUS: &str = "job.status";
    /// `job.result`
    pub const JOB_RESULT: &str = "job.result";
    /// `job.stop`
    pub const JOB_STOP: &str = "job.stop";
    /// `job.delete`
    pub const JOB_DELETE: &str = "job.delete";
    /// `schedules.create`
    pub const SCHEDULES_CREATE: &str = "schedules.create";
    /// `schedules.list`
    pub const SCHEDULES_LIST: &str = "schedules.list";
    /// `schedules.delete`
    pub const SCHEDULES_DELETE: &str = "schedules.delete";
    /// `job.retry`
    pub const JOB_RETRY: &str = "job.retry";
    /// `register_runner`
    pub const REGISTER_RUNNER: &str = "register_runner";
    /// `unregister_runner`
    pub const UNREGISTER_RUNNER: &str = "unregister_runner";
    /// `list_runners`
    pub const LIST_RUNNERS: &str = "list_runners";
    /// `start_runner`
    pub const START_RUNNER: &str = "start_runner";
    /// `stop_runner`
    pub const STOP_RUNNER: &str = "stop_runner";
    /// `get_runner_status`
    pub const GET_RUNNER_STATUS: &str = "get_runner_status";
    /// `get_runner_logs`
    pub const GET_RUNNER_LOGS: &str = "get_runner_logs";
    /// `add_secret`
    pub const ADD_SECRET: &str = "add_secret";
    /// `remove_secret`
    pub const REMOVE_SECRET: &str = "remove_secret";
    /// `get_supervisor_info`
    pub const GET_SUPERVISOR_INFO: &str = "get_supervisor_info";
    /// `metrics.history`
    pub const METRICS_HISTORY: &str = "metrics.history";
    /// `rpc.discover`
    pub const RPC_DISCOVER: &str = "rpc.discover";
    /// `runner.claim`: the runner endpoint's methods, on the API port.
    pub const RUNNER_CLAIM: &str = crate::endpoint::CLAIM;
    /// `runner.heartbeat`
    pub const RUNNER_HEARTBEAT: &str = crate::endpoint::HEARTBEAT;
    /// `runner.finish`
    pub const RUNNER_FINISH: &str = crate::endpoint::FINISH;
    /// `runner.progress`
    pub const RUNNER_PROGRESS: &str = crate::endpoint::PROGRESS;
    /// `runner.put_worker_stats`
    pub const RUNNER_PUT_WORKER_STATS: &str = crate::endpoint::PUT_WORKER_STATS;
    /// `runner.health`
    pub const RUNNER_HEALTH: &str = crate::endpoint::HEALTH;
    /// `runner_logs.subscribe`: WebSocket only.
    pub const RUNNER_LOGS_SUBSCRIBE: &str = "runner_logs.subscribe";
    /// `runner_logs.line`: the notification of `runner_logs.subscribe`.
    pub const RUNNER_LOGS_LINE: &str = "runner_logs.line";
    /// `runner_logs.unsubscribe`
    pub const RUNNER_LOGS_UNSUBSCRIBE: &str = "runner_logs.unsubscribe";
    /// `jobs.subscribe`: WebSocket only.
    pub const JOBS_SUBSCRIBE: &str = "jobs.subscribe";
    /// `jobs.event`: the notification of `jobs.subscribe`.
    pub const JOBS_EVENT: &str = "jobs.event";
    /// `jobs.unsubscribe`
    pub const JOBS_UNSUBSCRIBE: &str = "jobs.unsubscribe";
}

/// Who may call a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No secret needed.
    Anyone,
    /// Whoever holds the job id; the secret is optional unless the server requires it.
    JobHolder,
    /// A user or admin secret.
    User,
    /// A register or admin secret.
    Register,
    /// An admin secret.
    Admin,
}

impl Access {
    /// How the OpenRPC document words it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Anyone => "No secret needed.",
            Self::JobHolder => {
                "Anyone holding the job id; the secret is needed only when the server \
                 is configured to require it for reads."
            }
            Self::User => "Needs a user or admin secret.",
            Self::Register => "Needs a register or admin secret.",
            Self::Admin => "Needs an admin secret.",
        }
    }
}

/// One parameter, in its positional place.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name when params are passed by name.
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// False when it may be left out.
    pub required: bool,
    /// Its JSON schema.
    pub schema: fn() -> Value,
}

/// One method of the API.
#[derive(Debug, Clone, Copy)]
pub struct Method {
    /// The wire name, e.g. `job.run`.
    pub name: &'static str,
    /// One line on what it does.
    pub summary: &'static str,
    /// What it does in full.
    pub description: &'static str,
    /// Params in positional order.
    pub params: &'static [Param],
    /// The result's name and JSON schema.
    pub result: (&'static str, fn() -> Value),
    /// Who may call it.
    pub access: Access,
    /// The contract's error codes it may answer with, beyond the standard ones.
    pub errors: &'static [i32],
}

/// The JSON schema of `T`, self-contained (no `$ref`s).
pub fn schema_of<T: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    drop_clock_defaults(&mut schema);
    schema
}

/// Timestamps default to the server's clock at the time of the call; a default frozen
/// when the document was generated would mislead, and would make the document differ
/// from one call to the next.
fn drop_clock_defaults(schema: &mut Value) {
    match schema {
        Value::Object(object) => {
            if object.get("format").and_then(Value::as_str) == Some("date-time") {
                object.remove("default");
            }
            object.values_mut().for_each(drop_clock_defaults);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_clock_defaults),
        _ => {}
    }
}

fn string() -> Value {
    serde_json::json!({"type": "string"})
}

fn null() -> Value {
    serde_json::json!({"type": "null"})
}

const SECRET: Param = Param {
    name: "secret",
    summary: "A user or admin secret.",
    required: true,
    schema: string,
};

const OPTIONAL_SECRET: Param = Param {
    name: "secret",
    summary: "A user or admin secret; needed only when the server requires it for reads.",
    required: false,
    schema: string,
};

const LIST_FILTER: Param = Param {
    name: "filter",
    summary: "Which jobs: `status` (one or a list), `runner`, `caller_id`, `context_id`, \
              `limit` (1 to 10,000, default 1,000), `before` (a job id: jobs created before \
              it). Every condition given must hold.",
    required: false,
    schema: schema_of::<crate::params::ListFilter>,
};

const JOB: Param = Param {
    name: "job",
    summary: "The job; an empty or absent id asks the server to assign a UUID v4.",
    required: true,
    schema: schema_of::<Job>,
};

const JOBS: Param = Param {
    name: "jobs",
    summary: "The jobs; an empty or absent id asks the server to assign a UUID v4.",
    required: true,
    schema: schema_of::<Vec<Job>>,
};

const START: Param = Param {
    name: "start",
    summary: "Queue the jobs (default true); false leaves them `created` for `job.start`.",
    required: false,
    schema: boolean,
};

fn string_list() -> Value {
    serde_json::json!({"type": "array", "items": {"type": "string"}})
}

const JOB_ID: Param = Param {
    name: "job_id",
    summary: "The job's id.",
    required: true,
    schema: string,
};

const ADMIN_SECRET: Param = Param {
    name: "secret",
    summary: "An admin secret.",
    required: true,
    schema: string,
};

const ACTOR_ID: Param = Param {
    name: "actor_id",
    summary: "The runner: an actor id, or the name a remote runner registered.",
    required: true,
    schema: string,
};

fn boolean() -> Value {
    serde_json::json!({"type": "boolean"})
}

fn line_count() -> Value {
    serde_json::json!({"type": "integer", "minimum": 1})
}

fn log_lines() -> Value {
    serde_json::json!({"type": "array", "items": {"type": "string"}})
}

const ADMIN_SECRET_PARAM: Param = Param {
    name: "admin_secret",
    summary: "An admin secret.",
    required: true,
    schema: string,
};

fn secret_type() -> Value {
    serde_json::json!({"type": "string", "enum": ["admin", "user", "register"]})
}

const SECRET_CHANGE_PARAMS: &[Param] = &[
    ADMIN_SECRET_PARAM,
    Param {
        name: "secret_type",
        summary: "`admin`, `user` or `register`.",
        required: true,
        schema: secret_type,
    },
    Param {
        name: "secret_value",
        summary: "The secret, 8 to 256 bytes.",
        required: true,
        schema: string,
    },
];

fn runner_access() -> Value {
    serde_json::json!({"type": "string", "enum": ["user", "admin"]})
}

const RUNNER_ERRORS: &[i32] = &[INVALID_PARAMS, UNAUTHORIZED, NOT_FOUND, BACKEND_UNAVAILABLE];

const USER_ERRORS: &[i32] = &[INVALID_PARAMS, UNAUTHORIZED, NOT_FOUND, BACKEND_UNAVAILABLE];
/// Errors of calls that change something that may be missing, or be in the way.
const CHANGE_ERRORS: &[i32] = &[
    INVALID_PARAMS,
    UNAUTHORIZED,
    NOT_FOUND,
    CONFLICT,
    BACKEND_UNAVAILABLE,
];
/// Errors any call that checks a secret and reaches the store may give.
const BASIC_ERRORS: &[i32] = &[INVALID_PARAMS, UNAUTHORIZED, BACKEND_UNAVAILABLE];

/// Every method served, in the contract's order.
pub const ALL: &[Method] = &[
    Method {
        name: names::JOBS_CREATE,
        summary: "Store a job without queuing it.",
        description: "Stores the job with status `created`, owned by the secret, and returns \
                      its id. A client-chosen id that already exists is a conflict. A runner \
                      that takes admin jobs only refuses a user secret (unauthorized); a runner \
                      nobody knows is not found, unless the server accepts unknown runners.",
        params: &[SECRET, JOB],
        result: ("job_id", string),
        access: Access::User,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::JOBS_CREATE_MANY,
        summary: "Store several jobs at once, queued unless `start` is false.",
        description: "Stores the jobs, owned by the secret, and returns their ids in order. \
                      Every job is checked first, as for `jobs.create`; a job that fails a \
                      check is named by its index (`jobs[3]: ...`) with the code `jobs.create` \
                      would answer, and nothing is stored. A client-chosen id given twice, or \
                      already taken, is a conflict naming its index, and nothing is stored \
                      (a call of more than 1,000 jobs is stored 1,000 at a time after every \
                      id was checked; only an id another call takes in between leaves the \
                      earlier ones stored). \
                      With `start` true (the default) the jobs are queued in order, else they \
                      stay `created`. At most `[limits] max_jobs_per_call` jobs (default \
                      10,000) per call, within the request size limit.",
        params: &[SECRET, JOBS, START],
        result: ("job_ids", string_list),
        access: Access::User,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::JOBS_LIST,
        summary: "List jobs, newest first, filtered, with their status.",
        description: "Returns the jobs the secret may see that the filter selects, newest \
                      first (jobs created in the same millisecond by id, descending), at most \
                      `limit` of them, each with its `status` and `level` (the level of the \
                      secret that submitted it, `user` or `admin`): with a user secret the \
                      jobs it created, with an admin secret every job. To page, pass the last \
                      id of a page as `before`. Unknown filter fields, a bad status and a \
                      limit of 0 or above 10,000 answer -32602; a `before` naming no stored \
                      job answers -32002. Jobs stored before the listing indexes existed \
                      may be missing from filtered listings and from a user secret's. A \
                      finished job is no longer listed once its retention (`[retention]`: \
                      a day for completed jobs, a week for failed and stopped ones by \
                      default) has passed.",
        params: &[SECRET, LIST_FILTER],
        result: ("jobs", schema_of::<Vec<hero_job::JobRecord>>),
        access: Access::User,
        errors: &[INVALID_PARAMS, UNAUTHORIZED, NOT_FOUND, BACKEND_UNAVAILABLE],
    },
    Method {
        name: names::JOB_RUN,
        summary: "Run a job and return its result.",
        description: "Stores and queues the job, owned by the secret, then blocks until it is \
                      final or its time is up: its timeout, plus its `delay` or `run_at`, plus, \
                      with `retry_on_error`, each retry's timeout and longest backoff; a failed \
                      run that is retried is not an answer. A job still unfinished at its timeout is \
                      ended as failed, so the answer is always a final result. The runner is \
                      checked as for `jobs.create`. When as many calls already wait as the \
                      server allows, answers -32009 at once and stores nothing.",
        params: &[SECRET, JOB],
        result: ("result", schema_of::<JobResult>),
        access: Access::User,
        errors: &[
            INVALID_PARAMS,
            UNAUTHORIZED,
            NOT_FOUND,
            CONFLICT,
            BACKEND_UNAVAILABLE,
            BUSY,
        ],
    },
    Method {
        name: names::JOB_START,
        summary: "Queue a created job.",
        description: "Moves a `created` job onto its runner's queue. Starting a job twice is a \
                      conflict. A user secret reaches only the jobs it created; another's job \
                      is not found. The runner is checked as for `jobs.create`.",
        params: &[SECRET, JOB_ID],
        result: ("null", null),
        access: Access::User,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::JOB_STATUS,
        summary: "Get a job's status without waiting.",
        description: "Returns the status (`created`, `scheduled`, `queued`, `running`, \
                      `completed`, `failed`, `stopped`) and the job's timestamps; for a queued \
                      job whose runner looks absent, `reason` says why it waits; `progress` is \
                      the latest `{percent, message}` its runner reported, kept once it ends; \
                      `attempt` is the number of the current or last run (from 1, 0 before \
                      the first) and `last_error` the error of the latest failed run. \
                      A finished job is removed once its retention (`[retention]`) has \
                      passed; it then answers -32002.",
        params: &[JOB_ID, OPTIONAL_SECRET],
        result: ("status", schema_of::<JobStatusInfo>),
        access: Access::JobHolder,
        errors: USER_ERRORS,
    },
    Method {
        name: names::JOB_RESULT,
        summary: "Get a job's result, waiting until it is final.",
        description: "Blocks until the job is final and returns its result. If the job is not \
                      final within its own timeout, answers error -32000 and the job is left \
                      as it is. When as many calls already wait as the server allows, answers \
                      -32009 at once. A finished job is removed once its retention \
                      (`[retention]`) has passed; it then answers -32002.",
        params: &[JOB_ID, OPTIONAL_SECRET],
        result: ("result", schema_of::<JobResult>),
        access: Access::JobHolder,
        errors: &[
            INVALID_PARAMS,
            UNAUTHORIZED,
            NOT_FOUND,
            BACKEND_UNAVAILABLE,
            WAIT_TIMED_OUT,
            BUSY,
        ],
    },
    Method {
        name: names::JOB_STOP,
        summary: "Stop a job.",
        description: "A created or queued job ends `stopped` at once; a running job is \
                      interrupted by its runner and ends `stopped`; a final job is left as it is. \
                      A user secret reaches only the jobs it created; another's job is not \
                      found.",
        params: &[SECRET, JOB_ID],
        result: ("null", null),
        access: Access::User,
        errors: USER_ERRORS,
    },
    Method {
        name: names::JOB_DELETE,
        summary: "Delete a job and its result.",
        description: "Removes the job, its result and its queue entry. A user secret reaches \
                      only the jobs it created; another's job is not found.",
        params: &[SECRET, JOB_ID],
        result: ("null", null),
        access: Access::User,
        errors: USER_ERRORS,
    },
    Method {
        name: names::JOB_RETRY,
        summary: "Queue a failed or stopped job again.",
        description: "Queues a `failed` or `stopped` job again at once, as a fresh job: its \
                      result, progress, `attempt` and `last_error` are cleared, it gets all its \
                      `retries` again, and it is no longer due for removal by its retention. \
                      A job in any other status is a conflict. A user secret reaches only the \
                      jobs it created; another's job is not found. The runner is checked as \
                      for `jobs.create`.",
        params: &[SECRET, JOB_ID],
        result: ("null", null),
        access: Access::User,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::SCHEDULES_CREATE,
        summary: "Create a job on every tick of a cron expression.",
        description: "Stores the schedule, owned by the secret, and returns it with its \
                      `created_at` and `next_tick`. On every tick of `cron` (5 fields, or 6 \
                      with seconds first; UTC) one job is created from `job` and queued, \
                      exactly once however many supervisors share the store; it is owned by \
                      the schedule's secret and carries its level. The first tick is the first \
                      after the creation; after a time with no supervisor running, only the \
                      latest missed tick creates a job. `job` is checked as for `jobs.create` \
                      (its runner known and open to the secret) and takes no id. A bad name, \
                      cron expression or job answers -32602 naming the problem; a name in use \
                      is a conflict; at most `[limits] max_schedules` schedules (default \
                      1,000) per store, beyond which -32602.",
        params: &[
            SECRET,
            Param {
                name: "schedule",
                summary: "`{name, cron, job}`: its unique name, when it ticks (UTC), and the \
                          job each tick creates.",
                required: true,
                schema: schema_of::<crate::schedule::Schedule>,
            },
        ],
        result: ("schedule", schema_of::<crate::schedule::Schedule>),
        access: Access::User,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::SCHEDULES_LIST,
        summary: "List schedules, by name.",
        description: "Returns the schedules the secret may see, by name, each with its \
                      `last_tick` (absent before the first) and `next_tick`: with a user \
                      secret the ones it created, with an admin secret every one.",
        params: &[SECRET],
        result: ("schedules", schema_of::<Vec<crate::schedule::Schedule>>),
        access: Access::User,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::SCHEDULES_DELETE,
        summary: "Delete a schedule.",
        description: "Removes the schedule: no tick creates a job after this returns. The \
                      jobs its ticks created stay. A user secret reaches only the schedules \
                      it created; another's is not found.",
        params: &[
            SECRET,
            Param {
                name: "name",
                summary: "The schedule's name.",
                required: true,
                schema: string,
            },
        ],
        result: ("null", null),
        access: Access::User,
        errors: USER_ERRORS,
    },
    Method {
        name: names::REGISTER_RUNNER,
        summary: "Register a runner started by hand, possibly on another host.",
        description: "Makes a runner known under `name`, taking jobs from `queue` (default: the \
                      name). It is tracked by its activity on the queue. A name already in use \
                      is a conflict. With `access` `admin`, only admin secrets may submit jobs \
                      to its queue.",
        params: &[
            Param {
                name: "secret",
                summary: "A register or admin secret.",
                required: true,
                schema: string,
            },
            Param {
                name: "name",
                summary: "The runner's name.",
                required: true,
                schema: string,
            },
            Param {
                name: "queue",
                summary: "The queue it takes jobs from; default: the name.",
                required: false,
                schema: string,
            },
            Param {
                name: "access",
                summary: "The least secret level that may submit jobs to it: `user` (default) \
                          or `admin`.",
                required: false,
                schema: runner_access,
            },
        ],
        result: ("name", string),
        access: Access::Register,
        errors: &[INVALID_PARAMS, UNAUTHORIZED, CONFLICT, BACKEND_UNAVAILABLE],
    },
    Method {
        name: names::UNREGISTER_RUNNER,
        summary: "Remove a runner's registration.",
        description: "Forgets the runner registered as `name`; its queue and jobs stay. A name \
                      no runner is registered under is not found; a configured actor cannot be \
                      unregistered (conflict).",
        params: &[
            ADMIN_SECRET,
            Param {
                name: "name",
                summary: "The name the runner registered.",
                required: true,
                schema: string,
            },
        ],
        result: ("null", null),
        access: Access::Admin,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::LIST_RUNNERS,
        summary: "List local and remote runners with their state.",
        description: "Every configured actor and every registered runner, with access, state, pid, \
                      process manager, queue length, restarts and last activity.",
        params: &[ADMIN_SECRET],
        result: ("runners", schema_of::<Vec<crate::runner::RunnerInfo>>),
        access: Access::Admin,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::START_RUNNER,
        summary: "Start a local runner.",
        description: "Starts the actor's process (a no-op if it runs) and re-enables its \
                      automatic restarts. Remote runners are started on their own host.",
        params: &[ADMIN_SECRET, ACTOR_ID],
        result: ("null", null),
        access: Access::Admin,
        errors: RUNNER_ERRORS,
    },
    Method {
        name: names::STOP_RUNNER,
        summary: "Stop a local runner.",
        description: "Stops the actor's process group: SIGTERM, a grace period for running \
                      jobs, then SIGKILL; with `force`, SIGKILL at once. A no-op if it is \
                      stopped. Jobs sent to it wait on its queue until it starts again.",
        params: &[
            ADMIN_SECRET,
            ACTOR_ID,
            Param {
                name: "force",
                summary: "Kill at once instead of letting running jobs finish. Default false.",
                required: false,
                schema: boolean,
            },
        ],
        result: ("null", null),
        access: Access::Admin,
        errors: RUNNER_ERRORS,
    },
    Method {
        name: names::GET_RUNNER_STATUS,
        summary: "Get one runner's state.",
        description: "The same record `list_runners` gives for this runner.",
        params: &[ADMIN_SECRET, ACTOR_ID],
        result: ("status", schema_of::<crate::runner::RunnerInfo>),
        access: Access::Admin,
        errors: RUNNER_ERRORS,
    },
    Method {
        name: names::GET_RUNNER_LOGS,
        summary: "Get the last lines a local runner wrote.",
        description: "The last `lines` lines (default 100, at most the server's \
                      `max_log_lines`, 10,000 unless configured) of the runner's \
                      output, oldest first. With `follow` over WebSocket, use the \
                      `runner_logs.subscribe` subscription instead.",
        params: &[
            ADMIN_SECRET,
            ACTOR_ID,
            Param {
                name: "lines",
                summary: "How many lines; default 100, at most the server's `max_log_lines` (10,000 unless configured).",
                required: false,
                schema: line_count,
            },
            Param {
                name: "follow",
                summary: "Over HTTP: ignored beyond returning the lines so far.",
                required: false,
                schema: boolean,
            },
        ],
        result: ("lines", log_lines),
        access: Access::Admin,
        errors: RUNNER_ERRORS,
    },
    Method {
        name: names::ADD_SECRET,
        summary: "Grant a secret a level.",
        description: "The secret works at once on every supervisor sharing the store, and after \
                      restarts; only its SHA-256 hash is stored.",
        params: SECRET_CHANGE_PARAMS,
        result: ("null", null),
        access: Access::Admin,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::REMOVE_SECRET,
        summary: "Revoke a secret.",
        description: "The secret stops working at once on every supervisor sharing the store, \
                      whether it came from a config file or `add_secret`. Removing the last \
                      admin secret is refused (conflict); an unknown secret is not found.",
        params: SECRET_CHANGE_PARAMS,
        result: ("null", null),
        access: Access::Admin,
        errors: CHANGE_ERRORS,
    },
    Method {
        name: names::GET_SUPERVISOR_INFO,
        summary: "Version, backend, namespace, counts and uptime.",
        description: "Returns `version`, `backend` (`kind`, `status`), `namespace`, \
                      `uptime_secs`, `runners` (`total` and `by_status`) and `jobs` (`total` and \
                      `by_status`).",
        params: &[ADMIN_SECRET_PARAM],
        result: ("info", schema_of::<crate::info::SupervisorInfo>),
        access: Access::Admin,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::METRICS_HISTORY,
        summary: "Throughput, latency and load over the last hour, sampled.",
        description: "Returns `interval_secs` (10 unless configured) and `samples`, oldest \
                      first, one per interval since this supervisor started, at most 360: \
                      `at_ms` (the interval's end, Unix ms), `submitted`, `completed`, \
                      `failed`, `stopped` (jobs in the interval, across every supervisor \
                      sharing the store), `wait_p50_ms`, `wait_p95_ms` (queued to claimed, \
                      jobs claimed in the interval), `duration_p50_ms`, `duration_p95_ms` \
                      (claimed to ended, jobs ended in the interval), each `null` when no job \
                      was measured, and `queued`, `running` (jobs at `at_ms`). The history is \
                      kept in this supervisor's memory.",
        params: &[ADMIN_SECRET_PARAM],
        result: ("history", schema_of::<crate::metrics::MetricsHistory>),
        access: Access::Admin,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::RPC_DISCOVER,
        summary: "This API's OpenRPC document.",
        description: "Returns the OpenRPC document describing every method served.",
        params: &[],
        result: ("openrpc", openrpc_schema),
        access: Access::Anyone,
        errors: &[],
    },
    runner_endpoint::CLAIM,
    runner_endpoint::HEARTBEAT,
    runner_endpoint::FINISH,
    runner_endpoint::PROGRESS,
    runner_endpoint::PUT_WORKER_STATS,
    runner_endpoint::HEALTH,
];

const EVENT_FILTER: Param = Param {
    name: "filter",
    summary: "Which changes: `job_ids` (a list), `runner`, `status` (one or a list; \
              `deleted` included). Every condition given must hold.",
    required: false,
    schema: schema_of::<crate::params::EventFilter>,
};

/// The WebSocket subscriptions: `get_runner_logs` with `follow`, and job events, as streams.
pub const SUBSCRIPTIONS: &[Method] = &[
    Method {
        name: names::RUNNER_LOGS_SUBSCRIBE,
        summary: "Follow a local runner's output (WebSocket).",
        description: "Sends the last `lines` lines, then every new line as it is written, as \
                      `runner_logs.line` notifications whose `result` is the line. Lines \
                      skipped because the client read too slowly are announced as one line \
                      `[N lines skipped]`. Returns the subscription id.",
        params: &[
            ADMIN_SECRET,
            ACTOR_ID,
            Param {
                name: "lines",
                summary: "How many past lines to send first; default 100, at most the server's `max_log_lines`.",
                required: false,
                schema: line_count,
            },
        ],
        result: ("subscription", string),
        access: Access::Admin,
        errors: RUNNER_ERRORS,
    },
    Method {
        name: names::RUNNER_LOGS_UNSUBSCRIBE,
        summary: "Stop following a runner's output.",
        description: "Ends a `runner_logs.subscribe` subscription; true if it existed.",
        params: &[Param {
            name: "subscription",
            summary: "The id `runner_logs.subscribe` returned.",
            required: true,
            schema: string,
        }],
        result: ("ended", boolean),
        access: Access::Anyone,
        errors: &[INVALID_PARAMS],
    },
    Method {
        name: names::JOBS_SUBSCRIBE,
        summary: "Follow changes of jobs as they happen (WebSocket).",
        description: "Sends a `jobs.event` notification for every change of a job the secret \
                      may see (a user secret: the jobs it created; an admin secret: every job) \
                      that the filter selects, made by any supervisor or runner sharing the \
                      store: `{job_id, runner, status, at}`, with `progress` on each progress \
                      report (status `running`) and `result` once final; `deleted` when \
                      `job.delete` removed it (jobs that expire are not announced). Returns \
                      the subscription id. The subscription ends with an error notification \
                      (`params.error` `{code, message}`) when events may have been missed: \
                      -32009 when the client read too slowly and more events were pending \
                      than the server keeps per subscription, -32004 when the server lost \
                      its connection to the store, -32001 when the secret was removed. \
                      Subscribe again and re-read with `jobs.list` or `job.status`.",
        params: &[SECRET, EVENT_FILTER],
        result: ("subscription", string),
        access: Access::User,
        errors: BASIC_ERRORS,
    },
    Method {
        name: names::JOBS_UNSUBSCRIBE,
        summary: "Stop following job changes.",
        description: "Ends a `jobs.subscribe` subscription; true if it existed.",
        params: &[Param {
            name: "subscription",
            summary: "The id `jobs.subscribe` returned.",
            required: true,
            schema: string,
        }],
        result: ("ended", boolean),
        access: Access::Anyone,
        errors: &[INVALID_PARAMS],
    },
];

fn openrpc_schema() -> Value {
    serde_json::json!({"type": "object"})
}

/// The method or subscription named `name`, if the API has it.
pub fn find(name: &str) -> Option<&'static Method> {
    ALL.iter()
        .chain(SUBSCRIPTIONS)
        .find(|method| method.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn optional_params_come_last() {
        for method in ALL {
            let first_optional = method.params.iter().position(|p| !p.required);
            if let Some(first) = first_optional {
                assert!(
                    method.params[first..].iter().all(|p| !p.required),
                    "{}: a required param follows an optional one",
                    method.name
                );
            }
        }
    }

    #[test]
    fn job_schema_requires_only_what_the_job_needs() {
        let schema = schema_of::<Job>();
        let required = schema["required"].as_array().expect("a required list");
        let mut required: Vec<_> = required.iter().filter_map(Value::as_str).collect();
        required.sort_unstable();
        assert_eq!(required, ["executor", "payload", "runner"]);
    }
}
