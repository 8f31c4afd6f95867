//! A no-op runner for benchmarks: every job completes at once with its payload as output.
//!
//! It also shows how small a Rust runner is: one `Executor` and a one-line `main`; the
//! `hero-runner` SDK claims, reports, heartbeats, handles stop and timeout, and shuts down.
//!
//! ```text
//! cargo run -p hero-examples --example mock_runner -- --name mock --redis-url redis://127.0.0.1:6379
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use hero_job::Job;
use hero_runner::{Executor, JobContext};

/// Returns each job's payload unchanged, without doing any work; runs jobs of executor
/// `mock`.
struct Echo;

#[async_trait::async_trait]
impl Executor for Echo {
    fn name(&self) -> &str {
        "mock"
    }

    async fn execute(&self, job: &Job, _ctx: &JobContext) -> Result<String, String> {
        Ok(job.payload.clone())
    }
}

fn main() -> ExitCode {
    hero_runner::cli::run_main(|_args| Ok(Arc::new(Echo)))
}
