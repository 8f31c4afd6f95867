//! *Jobs at scale*: the supervisor's memory and the latency of its reads with 1,000 jobs
//! stored, then with N (a million by default), in one run against one supervisor.
//!
//! The supervisor is the release `supervisor` binary, run as a child process so its resident
//! memory is its own. One `mock_runner` (1×32) ends the jobs as they are submitted. At each
//! size, after the store is filled: Redis's `used_memory`, the supervisor's memory, the same
//! fixed warm-up of calls, its memory again, then each call timed.
//!
//! - `fill`: submitting the jobs and waiting for them to end, in a fixed mix;
//! - `probe`: the warm-up and the timed calls;
//! - `process`: the supervisor process and its memory;
//! - `report`: the printed figures, the larger size as a ratio to the smaller.

mod fill;
mod probe;
pub(crate) mod process;
mod report;

use std::time::{Duration, Instant};

use anyhow::Context;

use crate::runners::{Layout, Placement, RunnerKind, Runners, Transport};
use crate::workload::Setup;

pub(crate) use report::print;

use fill::Target;
use probe::{Probe, Timing};
use process::{Memory, SupervisorProcess};

/// The smaller store, measured first: the baseline of every ratio.
pub(crate) const BASELINE_JOBS: usize = 1_000;

/// The runner that ends the jobs: one process, with enough slots that each claim takes a
/// full batch.
const LAYOUT: Layout = Layout {
    processes: 1,
    concurrency: 32,
};

/// Idle time before the supervisor's memory is read: it gives freed memory back to the
/// system within a second or so of an answer that grew it.
const SETTLE: Duration = Duration::from_secs(2);

/// Time allowed for one call of the probe; a million jobs make some calls slow.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything the workload measured.
#[derive(Debug)]
pub(crate) struct Scale {
    /// The supervisor's memory once it answered, before any job.
    pub(crate) started: Memory,
    /// Redis's `used_memory` before any job, in bytes.
    pub(crate) redis_empty: u64,
    pub(crate) baseline: Snapshot,
    pub(crate) scaled: Snapshot,
}

/// The figures at one store size.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) stored: usize,
    /// Submitting the jobs added for this size and waiting until they ended.
    pub(crate) fill: Duration,
    /// Redis's `used_memory` once the jobs ended, before any call, in bytes.
    pub(crate) redis_used: u64,
    /// The supervisor's memory [`SETTLE`] after the jobs ended, before any call.
    pub(crate) filled: Memory,
    /// ... right after the warm-up.
    pub(crate) warm_now: Memory,
    /// ... [`SETTLE`] after the warm-up.
    pub(crate) warm: Memory,
    /// ... [`SETTLE`] after the timed calls.
    pub(crate) after: Memory,
    pub(crate) timings: Vec<Timing>,
}

/// Runs the workload: [`BASELINE_JOBS`] stored, then `stored`.
///
/// # Errors
///
/// A process cannot be started, a call of the fill fails, or the jobs stop ending.
pub(crate) async fn run(setup: &Setup<'_>, stored: usize) -> anyhow::Result<Scale> {
    anyhow::ensure!(
        stored > BASELINE_JOBS,
        "--stored-jobs must be above the baseline of {BASELINE_JOBS}"
    );
    let namespace = "bench_scale";
    let queue = "mock_runner_scale";
    let mut redis = redis::Client::open(setup.redis_url)?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to the bench's redis")?;
    let redis_empty = used_memory(&mut redis).await?;
    let supervisor =
        SupervisorProcess::start(setup.bin_dir, setup.redis_url, namespace, setup.work_dir).await?;
    let started = supervisor.memory()?;
    let transport = Transport::Redis(setup.redis_url.to_owned());
    let placement = Placement {
        transport: &transport,
        namespace,
        queue,
        work_dir: setup.work_dir,
    };
    let runners = Runners::start(RunnerKind::Mock, setup.bin_dir, LAYOUT, &placement)?;
    let target = Target {
        client: &supervisor.client,
        redis: &redis,
        namespace,
        queue,
        idle_queue: "scale_idle",
    };
    let http = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .build()
        .context("building the HTTP client for /health")?;
    let measure = |from: usize, to: usize| {
        let (target, supervisor, http) = (&target, &supervisor, &http);
        async move {
            eprintln!("scale: {from} → {to} stored jobs");
            let begun = Instant::now();
            fill::grow(target, from, to).await?;
            let fill = begun.elapsed();
            snapshot(to, fill, target, supervisor, http).await
        }
    };
    let baseline = measure(0, BASELINE_JOBS).await?;
    let scaled = measure(BASELINE_JOBS, stored).await?;
    runners.stop().await;
    supervisor.stop().await;
    Ok(Scale {
        started,
        redis_empty,
        baseline,
        scaled,
    })
}

async fn snapshot(
    stored: usize,
    fill: Duration,
    target: &Target<'_>,
    supervisor: &SupervisorProcess,
    http: &reqwest::Client,
) -> anyhow::Result<Snapshot> {
    let redis_used = used_memory(&mut target.redis.clone()).await?;
    tokio::time::sleep(SETTLE).await;
    let filled = supervisor.memory()?;
    let client = supervisor.client.clone().with_timeout(CALL_TIMEOUT);
    let probe = Probe::new(&client, http, &supervisor.url, target.queue).await?;
    eprintln!("  warm-up: {} rounds of every call", probe::WARMUP_ROUNDS);
    probe.warm_up().await;
    let warm_now = supervisor.memory()?;
    tokio::time::sleep(SETTLE).await;
    let warm = supervisor.memory()?;
    eprintln!("  timing each call");
    let timings = probe.time_all().await;
    tokio::time::sleep(SETTLE).await;
    let after = supervisor.memory()?;
    Ok(Snapshot {
        stored,
        fill,
        redis_used,
        filled,
        warm_now,
        warm,
        after,
        timings,
    })
}

/// Redis's `used_memory` (`INFO memory`), in bytes.
async fn used_memory(conn: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(conn)
        .await
        .context("INFO memory")?;
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .context("no used_memory in INFO memory")
}
