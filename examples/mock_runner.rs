//! A no-op runner for benchmarks: every job completes at once with its payload as output.
//!
//! It also shows how small a Rust runner is: one `Executor` and a one-line `main`; the
//! `hero-runner` SDK claims, reports, heartbeats, handles stop and timeout, and shuts down.
//!
//! ```text
//! cargo run -p hero-examples --example mock_runner -- --name mock --redis-url redis://127.0.0.1:6379
//! ```
//!
//! With `MOCK_JOB_SLEEP_MS=N` in its environment every job waits N milliseconds (a timer, no
//! CPU) before it echoes: an I/O-bound job for the bench's `--io` workload. Unset or `0`, it
//! echoes at once. The runner's command line stays the supervisor's, so the knob is a
//! variable, not a flag.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hero_job::Job;
use hero_runner::{Executor, JobContext};

/// The variable naming how long each job waits before it echoes.
const SLEEP_VAR: &str = "MOCK_JOB_SLEEP_MS";

/// Returns each job's payload unchanged, after `sleep` if there is one; runs jobs of executor
/// `mock`.
struct Echo {
    sleep: Option<Duration>,
}

#[async_trait::async_trait]
impl Executor for Echo {
    fn name(&self) -> &str {
        "mock"
    }

    async fn execute(&self, job: &Job, _ctx: &JobContext) -> Result<String, String> {
        if let Some(sleep) = self.sleep {
            tokio::time::sleep(sleep).await;
        }
        Ok(job.payload.clone())
    }
}

/// The per-job wait from [`SLEEP_VAR`]: `None` when unset or `0`.
fn job_sleep() -> anyhow::Result<Option<Duration>> {
    let Some(value) = std::env::var_os(SLEEP_VAR) else {
        return Ok(None);
    };
    let millis: u64 = value
        .to_str()
        .and_then(|text| text.trim().parse().ok())
        .with_context(|| format!("{SLEEP_VAR} must be a whole number of milliseconds"))?;
    Ok((millis > 0).then(|| Duration::from_millis(millis)))
}

fn main() -> ExitCode {
    hero_runner::cli::run_main(|_args| {
        Ok(Arc::new(Echo {
            sleep: job_sleep()?,
        }))
    })
}
