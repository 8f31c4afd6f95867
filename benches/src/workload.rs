//! What every workload shares: the bench's Redis, binaries and scratch directory, and the
//! jobs it submits.

use std::path::Path;

use hero_supervisor_openrpc_client::{Job, JobBuilder, JobResult};

use crate::runners::{Layout, RunnerKind};

/// Seconds a bench job may run; far above what any should need.
const JOB_TIMEOUT_SECS: u64 = 300;

/// The store the supervisor under test keeps its jobs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    /// The bench's private Redis; runners reach it directly (`HERO_REDIS_URL`).
    Redis,
    /// The embedded store (no `redis_url`), a redb file in the supervisor's data directory;
    /// runners reach it through the supervisor's runner socket (`--supervisor unix://…`).
    Embedded,
}

impl Backend {
    /// The backend's name, as printed.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Embedded => "embedded",
        }
    }
}

/// Where a workload runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Setup<'a> {
    /// The store the supervisors under test use.
    pub(crate) backend: Backend,
    /// The bench's private Redis: the store under [`Backend::Redis`], the floor's server
    /// always.
    pub(crate) redis_url: &'a str,
    /// Holds the runner binaries (`target/release`).
    pub(crate) bin_dir: &'a Path,
    /// Scratch space for runner logs and data.
    pub(crate) work_dir: &'a Path,
    /// Requests in flight while enqueuing and verifying.
    pub(crate) in_flight: usize,
}

/// The namespace and queue of one workload, unique within a run so workloads never see
/// each other's jobs.
pub(crate) fn names(workload: &str, kind: RunnerKind, layout: Layout) -> (String, String) {
    let tag = format!(
        "{workload}_{}_{}x{}",
        kind.executor(),
        layout.processes,
        layout.concurrency
    );
    (format!("bench_{tag}"), format!("{}_{tag}", kind.name()))
}

/// Job number `n` of a workload on `queue`.
///
/// # Errors
///
/// The job is invalid, which only a bad queue name can cause.
pub(crate) fn job(kind: RunnerKind, queue: &str, n: usize) -> anyhow::Result<Job> {
    Ok(JobBuilder::new()
        .caller_id("hero-bench")
        .payload(kind.payload(n))
        .executor(kind.executor())
        .runner(queue)
        .timeout(JOB_TIMEOUT_SECS)
        .build()?)
}

/// Checks that job number `n` of `kind` ended with its expected output.
///
/// # Errors
///
/// The job failed or produced something else.
pub(crate) fn check(kind: RunnerKind, n: usize, result: &JobResult) -> anyhow::Result<()> {
    let payload = kind.payload(n);
    let expected = kind.expected_output(&payload);
    match result {
        JobResult::Success { success } if success == expected => Ok(()),
        other => anyhow::bail!(
            "job {n} on {} ended {other:?}, not {expected:?}",
            kind.name()
        ),
    }
}
