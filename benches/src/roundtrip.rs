//! *roundtrip*: one client, `job.run` after `job.run`, with the runners already up; each
//! call submits a job and blocks until its result is back.

use std::time::Instant;

use anyhow::Context;

use crate::latency::{self, Quantiles};
use crate::runners::{Layout, Placement, RunnerKind, Runners};
use crate::supervisor::{SECRET, Supervisor};
use crate::workload::{self, Backend, Setup};

/// The runners serving the roundtrips: one process running up to 8 jobs at once.
pub(crate) const LAYOUT: Layout = Layout {
    processes: 1,
    concurrency: 8,
};

/// Untimed calls first: they wait for the runner to come up and warm every connection.
pub(crate) const WARMUP: usize = 50;

/// The figures of one roundtrip workload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roundtrip {
    pub(crate) backend: Backend,
    pub(crate) kind: RunnerKind,
    pub(crate) calls: usize,
    pub(crate) latency: Quantiles,
}

/// A supervisor of its own for `workload`, with `kind` runners in the roundtrip layout
/// started beside it, and the queue they serve.
///
/// # Errors
///
/// The supervisor or a runner does not start.
pub(crate) async fn start(
    setup: &Setup<'_>,
    kind: RunnerKind,
    workload: &str,
) -> anyhow::Result<(Supervisor, Runners, String)> {
    let (namespace, queue) = workload::names(workload, kind, LAYOUT);
    let supervisor = Supervisor::start(setup, &namespace).await?;
    let placement = Placement {
        transport: &supervisor.transport,
        namespace: &namespace,
        queue: &queue,
        work_dir: setup.work_dir,
    };
    let runners = Runners::start(kind, setup.bin_dir, LAYOUT, &placement)?;
    Ok((supervisor, runners, queue))
}

/// Runs `calls` sequential `job.run` calls against `kind` runners and checks each result.
///
/// # Errors
///
/// A call fails or a job's result is not the expected output.
pub(crate) async fn run(
    setup: &Setup<'_>,
    kind: RunnerKind,
    calls: usize,
) -> anyhow::Result<Roundtrip> {
    let (supervisor, runners, queue) = start(setup, kind, "roundtrip").await?;

    let mut histogram = latency::histogram();
    for n in 0..WARMUP + calls {
        let job = workload::job(kind, &queue, n)?;
        let sent = Instant::now();
        let result = supervisor
            .client
            .job_run(SECRET, job)
            .await
            .with_context(|| format!("job.run of job {n}"))?;
        let took = sent.elapsed();
        workload::check(kind, n, &result)?;
        if n >= WARMUP {
            latency::record(&mut histogram, took);
        }
    }

    runners.stop().await;
    supervisor.stop().await?;
    Ok(Roundtrip {
        backend: setup.backend,
        kind,
        calls,
        latency: latency::quantiles(&histogram),
    })
}
