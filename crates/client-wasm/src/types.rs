//! TypeScript declarations of the plain data the promises resolve to, in the wire shapes of
//! `hero-job` and `hero-supervisor-api` (the results travel as JSON, so these are those
//! types' serde forms). wasm-bindgen copies this text into the package's `.d.ts`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Where a job is in its life; the last three are final. `scheduled` waits for its time
 * (`delay`, `run_at`, or the backoff before a retry). */
export type JobStatus =
  "created" | "scheduled" | "queued" | "running" | "completed" | "failed" | "stopped";

/** A job as submitted; `jobs_list` returns it with its status, `jobs_create_many` takes its fields
 * (those it needs) as a plain object. Timestamps are RFC 3339. */
export interface Job {
  id: string;
  caller_id: string;
  context_id: string;
  payload: string;
  executor: string;
  runner: string;
  timeout: number;
  /** Present when the job allows runs again after a lost runner (and after an error, with
   * `retry_on_error`). */
  retries?: number;
  /** Seconds from creation before it may run; absent when none. */
  delay?: number;
  /** When it may run (RFC 3339); absent when at once. */
  run_at?: string;
  /** 0-9, higher first; absent when 0. */
  priority?: number;
  /** Present (true) when a failed run is retried. */
  retry_on_error?: boolean;
  /** Base of the backoff between retries in seconds; absent when 1. */
  retry_backoff_secs?: number;
  /** The level of the secret that submitted the job, set by the supervisor. */
  level: "user" | "admin";
  env_vars: Record<string, string>;
  created_at: string;
  updated_at: string;
}

/** A stored job with where it is, as `jobs_list` returns it. */
export interface JobRecord extends Job {
  status: JobStatus;
  started_at: string | null;
  completed_at: string | null;
}

/** Which jobs `jobs_list` returns: every condition given must hold. */
export interface ListFilter {
  status?: JobStatus | JobStatus[];
  runner?: string;
  caller_id?: string;
  context_id?: string;
  /** 1 to 10,000; 1,000 when absent. */
  limit?: number;
  /** A job id: only jobs created before it (the page after the one it ended). */
  before?: string;
}

/** The outcome of a finished job: exactly one of the two keys. */
export type JobResult = { success: string } | { error: string };

/** The answer of `job_status`. */
export interface JobStatusInfo {
  job_id: string;
  status: JobStatus;
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  /** Why a queued job still waits, when its runner looks absent. */
  reason?: string;
  /** The latest progress the job reported, kept once it ends; absent when none. */
  progress?: Progress;
  /** The number of the current or last run, from 1; 0 before the first. */
  attempt: number;
  /** The error of the latest failed run, retried or final; absent when none. */
  last_error?: string;
}

/** How far a running job says it is. */
export interface Progress {
  /** 0 to 100. */
  percent: number;
  /** At most 1 KiB. */
  message: string;
}

/** A runner's state. */
export type RunnerState =
  "starting" | "running" | "backoff" | "stopping" | "stopped" | "failed" | "offline" | "unknown";

/** One runner, local (an `[[actors]]` entry) or remote (registered). */
export interface RunnerInfo {
  name: string;
  queue: string;
  kind: "local" | "remote";
  access: "user" | "admin";
  status: RunnerState;
  pid: number | null;
  process_manager: string | null;
  queue_length: number;
  restarts: number;
  last_exit: string | null;
  last_seen: string | null;
}

/** What `schedules_create` takes: a unique name, a cron expression (5 fields, or 6 with
 * seconds first; UTC), and the job each tick creates (no id). */
export interface NewSchedule {
  name: string;
  cron: string;
  job: WasmJob | Partial<Job>;
}

/** A schedule as `schedules_create` and `schedules_list` return it. Timestamps are RFC 3339. */
export interface Schedule {
  name: string;
  cron: string;
  job: Job;
  created_at: string;
  /** The latest tick that created a job; absent before the first. */
  last_tick?: string;
  /** The next tick from now. */
  next_tick?: string;
}

/** The answer of `get_supervisor_info`. */
export interface SupervisorInfo {
  version: string;
  backend: { kind: string; status: "ok" | "unavailable" };
  namespace: string;
  uptime_secs: number;
  runners: { total: number; by_status: Record<string, number> };
  jobs: { total: number; by_status: Record<string, number> };
  [key: string]: unknown;
}

/** The answer of `metrics_history`: one sample per `interval_secs`, oldest first, at most 360. */
export interface MetricsHistory {
  interval_secs: number;
  samples: MetricsSample[];
}

/** One interval of `metrics_history`: counts across the store, latencies in ms (`null` when no
 * job was measured), and the jobs queued and running at its end. */
export interface MetricsSample {
  /** The interval's end, Unix milliseconds. */
  at_ms: number;
  submitted: number;
  completed: number;
  failed: number;
  stopped: number;
  wait_p50_ms: number | null;
  wait_p95_ms: number | null;
  duration_p50_ms: number | null;
  duration_p95_ms: number | null;
  queued: number;
  running: number;
}

/** The OpenRPC 1.x document of `rpc_discover`. */
export interface OpenRpcDocument {
  openrpc: string;
  info: { title: string; version: string; [key: string]: unknown };
  methods: Array<{ name: string; params: unknown[]; result: unknown; [key: string]: unknown }>;
  [key: string]: unknown;
}

/** What a job became, in a `jobs_subscribe` event: a status, or `deleted` by `job_delete`. */
export type EventStatus = JobStatus | "deleted";

/** Which events `jobs_subscribe` sends: every condition given must hold. */
export interface EventFilter {
  /** Only these jobs. */
  job_ids?: string[];
  runner?: string;
  /** Progress reports have status `running`. */
  status?: EventStatus | EventStatus[];
}

/** One change of a job, as `jobs_subscribe` delivers it. */
export interface JobEvent {
  job_id: string;
  runner: string;
  status: EventStatus;
  /** When the store made the change, RFC 3339. */
  at: string;
  /** The progress reported: present on progress events (status `running`) only. */
  progress?: Progress;
  /** The job's result: present on final events (`completed`, `failed`, `stopped`). */
  result?: JobResult;
}

/** What `with_websocket` takes: the standard `WebSocket` constructor, or one that makes
 * objects with its `send`, `close` and `on…` handlers, such as the `ws` package's. */
export type WebSocketConstructor = new (url: string) => object;

/**
 * A live WebSocket subscription of `runner_logs_subscribe` or `jobs_subscribe`, on a
 * connection of its own. Items go to the callback given when subscribing, or else wait for
 * `for await (const item of subscription)` (at most 10,000 unread: past that it ends with kind
 * `lagged`). Leaving the loop early closes the subscription.
 */
export class WasmSubscription<T> implements AsyncIterableIterator<T> {
  private constructor();
  /** The id the supervisor gave the subscription. */
  readonly id: string;
  /** Ends the subscription and closes its connection; nothing is delivered after the call.
   * Resolves once the connection is closed; calling it again does nothing more. */
  close(): Promise<void>;
  /** Settles when the subscription ends: resolves after `close()`, rejects with a
   * `SupervisorError` when the connection is lost (kind `transport`) or the server ends it. */
  readonly closed: Promise<void>;
  next(): Promise<IteratorResult<T, undefined>>;
  return(): Promise<IteratorResult<T, undefined>>;
  [Symbol.asyncIterator](): WasmSubscription<T>;
  /** Frees the object's memory; `close()` first, or the connection stays open. */
  free(): void;
  [Symbol.dispose](): void;
}

/** What a failed call rejects with (and what the constructors throw). */
export type SupervisorErrorKind =
  | "unauthorized" | "not_found" | "conflict" | "backend_unavailable" | "invalid_params"
  | "wait_timed_out" | "rpc" | "transport" | "invalid_url" | "invalid_response"
  | "invalid_job" | "busy" | "lagged" | "unknown";

/**
 * An `Error` named `SupervisorError`. `code` is the JSON-RPC error code the supervisor
 * answered with (-32001 unauthorized, -32002 not found, -32003 conflict, -32004 backend
 * unavailable, -32602 invalid params, ...), or `null` when the failure is local; `message`
 * is the supervisor's message.
 */
export interface SupervisorError extends Error {
  name: "SupervisorError";
  code: number | null;
  kind: SupervisorErrorKind;
  retryable: boolean;
}
"#;
