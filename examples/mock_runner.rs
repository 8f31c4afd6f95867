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
//! echoes at once. The runner's command line stays the supervisor's, so the knobs are
//! variables, not flags.
//!
//! Two more, for tests that move jobs between hosts and must tell who ran what:
//! `MOCK_RUNNER_HOST=NAME` makes each job's output its payload followed by `@NAME`, so a stored
//! result names the host whose report was taken; `MOCK_JOB_LOG=PATH` appends one line per
//! execution to the file at PATH, `JOB_ID HOST` (HOST is `MOCK_RUNNER_HOST`, else the machine's
//! host name), written as the execution starts, so runs whose reports are later refused are
//! listed too.

use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use hero_job::Job;
use hero_runner::{Executor, JobContext};

/// The variable naming how long each job waits before it echoes.
const SLEEP_VAR: &str = "MOCK_JOB_SLEEP_MS";

/// The variable naming this runner's host in outputs and execution records.
const HOST_VAR: &str = "MOCK_RUNNER_HOST";

/// The variable naming the file each execution is recorded in.
const LOG_VAR: &str = "MOCK_JOB_LOG";

/// Returns each job's payload unchanged, after `sleep` if there is one; runs jobs of executor
/// `mock`.
struct Echo {
    sleep: Option<Duration>,
    /// Appended to each output as `@HOST` when set.
    host: Option<String>,
    /// Where executions are recorded, when asked. A std mutex: each use is one short append,
    /// never held across an `.await`, and it keeps each line whole among concurrent jobs.
    log: Option<Mutex<ExecutionLog>>,
}

/// The open record file and the host name each of its lines carries.
struct ExecutionLog {
    file: File,
    host: String,
}

impl Echo {
    fn record(&self, job: &Job) -> Result<(), String> {
        let Some(log) = &self.log else {
            return Ok(());
        };
        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let line = format!("{} {}\n", job.id, log.host);
        // One write per line on a file opened for appending keeps lines whole even when
        // several runners share the file.
        log.file
            .write_all(line.as_bytes())
            .map_err(|error| format!("recording the execution failed: {error}"))
    }
}

#[async_trait::async_trait]
impl Executor for Echo {
    fn name(&self) -> &str {
        "mock"
    }

    async fn execute(&self, job: &Job, _ctx: &JobContext) -> Result<String, String> {
        self.record(job)?;
        if let Some(sleep) = self.sleep {
            tokio::time::sleep(sleep).await;
        }
        Ok(match &self.host {
            Some(host) => format!("{}@{host}", job.payload),
            None => job.payload.clone(),
        })
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

/// The record file from [`LOG_VAR`], opened for appending, with the host name its lines
/// carry; `None` when unset.
fn execution_log(host: Option<&str>) -> anyhow::Result<Option<Mutex<ExecutionLog>>> {
    let Some(path) = std::env::var_os(LOG_VAR) else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {LOG_VAR} file {}", path.to_string_lossy()))?;
    let host = match host {
        Some(host) => host.to_owned(),
        None => machine_host_name(),
    };
    Ok(Some(Mutex::new(ExecutionLog { file, host })))
}

/// The kernel's host name; `unknown` where it cannot be read.
fn machine_host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() -> ExitCode {
    hero_runner::cli::run_main(|_args| {
        let host = std::env::var(HOST_VAR).ok().filter(|host| !host.is_empty());
        Ok(Arc::new(Echo {
            sleep: job_sleep()?,
            log: execution_log(host.as_deref())?,
            host,
        }))
    })
}
