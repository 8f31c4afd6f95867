//! The Hero Supervisor client for JavaScript: a wasm-bindgen facade over
//! `hero-supervisor-openrpc-client`, published on npm as `hero-supervisor-openrpc-client`.
//!
//! - `client.rs`: [`WasmSupervisorClient`] — the supervisor's URL, timeouts, and the turn of a
//!   native call into a JavaScript `Promise`; also `rpc_discover`.
//! - `jobs.rs`, `runners.rs`, `schedules.rs`, `admin.rs`, `endpoint.rs` (a runner's store
//!   calls): one JavaScript method per method of the native client, under the same names,
//!   plus the seed document's `create_job`.
//! - `job.rs`: [`WasmJob`], a job built in JavaScript and checked by `hero_job::JobBuilder`.
//! - `subscription.rs`: [`WasmSubscription`], a WebSocket subscription (`runner_logs_subscribe`,
//!   `jobs_subscribe`) delivering to a callback or an async iterator; `websocket.rs` opens its
//!   connection and reads what the supervisor sends on it.
//! - `error.rs`: every failure as a JavaScript `Error` named `SupervisorError`, with the
//!   contract's `code`, a `kind` and `retryable`.
//! - `types.rs`: the TypeScript declarations of what the promises resolve to.
//!
//! The wire format, method names and job model are the native client's: HTTP goes through
//! reqwest's wasm backend, which calls the global `fetch`, so one build runs in browsers and in
//! Node 20. On other targets the crate compiles (so the workspace lints and tests it) but its
//! JavaScript glue is inert.
//!
//! ```
//! use hero_supervisor_openrpc_client_wasm::WasmJob;
//!
//! let job = WasmJob::new("job-1".into(), "40 + 2".into(), "osis".into(), "osis_runner_1".into());
//! let job = job.to_job().expect("every field is valid");
//! assert_eq!(job.timeout, hero_job::DEFAULT_TIMEOUT_SECS);
//! ```

mod admin;
mod client;
mod endpoint;
mod error;
mod job;
mod jobs;
mod runners;
mod schedules;
mod subscription;
mod types;
mod websocket;

pub use client::WasmSupervisorClient;
pub use error::Failure;
pub use job::WasmJob;
pub use subscription::WasmSubscription;
