//! Rust client for the Hero Supervisor JSON-RPC 2.0 API, over HTTP, with subscriptions over
//! WebSocket.
//!
//! - `client.rs`: [`SupervisorClient`] — the supervisor's URL, timeouts, the shared connection
//!   pool and the one generic call every method uses; also `rpc_discover`.
//! - `jobs.rs`: the job methods (`job_run`, `jobs_create`, `job_start`, `job_status`,
//!   `job_result`, `job_stop`, `job_delete`, `jobs_list`).
//! - `runners.rs`: the runner methods (`register_runner`, `list_runners`, `start_runner`,
//!   `stop_runner`, `get_runner_status`, `get_runner_logs`).
//! - `schedules.rs`: `schedules_create`, `schedules_list`, `schedules_delete`, with
//!   [`Schedule`].
//! - `admin.rs`: `add_secret`, `remove_secret`, `get_supervisor_info`, `metrics_history`.
//! - `endpoint.rs`: a runner's store calls through the supervisor (`runner_claim`,
//!   `runner_heartbeat`, `runner_finish`, `runner_progress`, `runner_put_worker_stats`,
//!   `runner_health`).
//! - `ws.rs`: the WebSocket transport and its subscriptions (`jobs_subscribe`,
//!   `runner_logs_subscribe`), as streams; not on wasm32.
//! - `rpc.rs`: the JSON-RPC envelope; params go by name, under the names declared in
//!   `hero_supervisor_api::methods`.
//! - `error.rs`: [`ClientError`], one variant per contract error code.
//!
//! [`Job`], [`JobBuilder`], [`JobResult`], [`JobStatus`], [`JobStatusInfo`], [`Progress`],
//! [`JobEvent`] and [`EventStatus`] are the `hero-job` types, re-exported; [`codes`] are the
//! contract's error codes.
//!
//! ```no_run
//! use hero_supervisor_openrpc_client::{ClientError, JobBuilder, JobResult, SupervisorClient};
//!
//! # async fn run() -> Result<(), ClientError> {
//! let client = SupervisorClient::new("http://localhost:3030")?;
//! let job = JobBuilder::new()
//!     .payload("40 + 2")
//!     .executor("osis")
//!     .runner("osis_runner_1")
//!     .timeout(30)
//!     .build()?;
//! match client.job_run("user-secret", job).await {
//!     Ok(JobResult::Success { success }) => println!("output: {success}"),
//!     Ok(JobResult::Error { error }) => println!("the job failed: {error}"),
//!     Err(ClientError::Unauthorized { message }) => println!("check the secret: {message}"),
//!     Err(other) => return Err(other),
//! }
//! # Ok(())
//! # }
//! ```

mod admin;
mod client;
mod endpoint;
mod error;
mod jobs;
mod rpc;
mod runners;
mod schedules;
#[cfg(test)]
mod test_server;
#[cfg(not(target_arch = "wasm32"))]
mod ws;

pub use client::{CONNECT_TIMEOUT, DEFAULT_TIMEOUT, SupervisorClient};
pub use error::ClientError;
pub use hero_job::{
    EventStatus, Job, JobBuilder, JobEvent, JobRecord, JobResult, JobStatus, JobStatusInfo,
    Progress,
};
pub use hero_supervisor_api::codes;
pub use hero_supervisor_api::info::{BackendInfo, BackendStatus, Counts, SupervisorInfo};
pub use hero_supervisor_api::metrics::{MetricsHistory, MetricsSample};
pub use hero_supervisor_api::params::{EventFilter, EventStatusFilter, ListFilter, StatusFilter};
pub use hero_supervisor_api::runner::{RunnerAccess, RunnerInfo, RunnerKind, RunnerState};
pub use hero_supervisor_api::schedule::Schedule;
#[cfg(not(target_arch = "wasm32"))]
pub use ws::{JobEvents, LogLines, Subscription};
