//! The runner SDK of Hero Supervisor: a runner is one [`Executor`]; this crate does the rest.
//!
//! A runner claims jobs from its queue in a [`Store`](hero_store::Store), runs up to
//! [`RunnerConfig::concurrency`] of them at once, interrupts each at its timeout or on
//! `job.stop`, reports every outcome (retrying while the store is away), refuses jobs of
//! another executor or below its [`RunnerConfig::access`] level, and shuts down gracefully.
//!
//! - `executor`: [`Executor`], the trait a runner implements, and [`JobContext`].
//! - `config`: [`RunnerConfig`], with every default documented.
//! - `runner`: [`run`], the claim loop and the shutdown sequence.
//! - `job`: one job's task: execute under timeout and token, then report.
//! - `heartbeat`: renews the worker's lease and delivers stop requests; `inflight` holds the
//!   running jobs' tokens for it; beside it, the worker's `counters` go to the store.
//! - `progress`: keeps each job's latest progress and writes it to the store, coalesced.
//! - `backoff`: capped exponential backoff with jitter for store retries.
//! - `remote`: [`RemoteStore`], the store of a runner that reaches it through the
//!   supervisor's runner endpoint.
//! - [`cli`]: [`RunnerArgs`](cli::RunnerArgs) and [`run_main`](cli::run_main) for binaries.
//! - `error`: [`Error`].
//!
//! A complete runner binary that echoes each payload:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use hero_job::Job;
//! use hero_runner::{Executor, JobContext};
//!
//! struct Echo;
//!
//! #[async_trait::async_trait]
//! impl Executor for Echo {
//!     fn name(&self) -> &str {
//!         "echo"
//!     }
//!
//!     async fn execute(&self, job: &Job, _ctx: &JobContext) -> Result<String, String> {
//!         Ok(job.payload.clone())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     hero_runner::cli::run_main(|_args| Ok(Arc::new(Echo)))
//! }
//! ```

mod backoff;
pub mod cli;
mod config;
mod counters;
mod error;
mod executor;
mod heartbeat;
mod inflight;
mod job;
mod progress;
mod remote;
mod runner;

pub use config::RunnerConfig;
pub use error::Error;
pub use executor::{Executor, JobContext};
pub use remote::RemoteStore;
pub use runner::run;
