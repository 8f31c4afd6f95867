//! *enqueue + drain*: queue N jobs through `jobs.create` + `job.start` with no runner up,
//! then start the runners and time how fast they empty the queue.
//!
//! Between the two, N more jobs are queued through `jobs.create_many` in chunks of
//! [`BULK_CHUNK`], one call at a time, on a queue of their own that no runner takes from: the
//! bulk enqueue figure, measured against the same supervisor and Redis as the per-job one.
//!
//! The drain is timed from the first job's end to the last's, as announced on the store's
//! end-of-job channel (Redis) or by `jobs.subscribe` (the embedded store, which has no
//! channel outside the supervisor), so runner start-up is left out; afterwards every job's
//! result is read back with `job.result` and checked.
//!
//! On Redis the supervisor is the `supervisor` binary in a child process, so its CPU time and
//! memory can be read apart from the bench's (see [`crate::resources`]): before the enqueue,
//! after each enqueue, at the runners' start and after the last job ended. The embedded
//! store's supervisor is served in-process (its runners reach it through a socket the bench
//! names), so no costs are read there.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt, stream};
use hero_supervisor_openrpc_client::{
    EventFilter, EventStatus, EventStatusFilter, JobEvents, SupervisorClient,
};
use redis::AsyncCommands;

use crate::floor::rate;
use crate::resources::{self, Costs, Pids};
use crate::runners::{Layout, Placement, RunnerKind, Runners};
use crate::supervisor::{SECRET, Supervisor};
use crate::workload::{self, Backend, Setup};

/// Longest wait for the next job to end before the drain counts as stuck.
const STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Jobs per `jobs.create_many` call in the bulk enqueue.
const BULK_CHUNK: usize = 1_000;

/// The figures of one drain workload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Drain {
    pub(crate) backend: Backend,
    pub(crate) kind: RunnerKind,
    pub(crate) layout: Layout,
    pub(crate) jobs: usize,
    /// Jobs created and started per second, `in_flight` requests at a time.
    pub(crate) enqueue_per_sec: f64,
    /// Jobs queued per second through `jobs.create_many`, [`BULK_CHUNK`] per call.
    pub(crate) bulk_enqueue_per_sec: f64,
    /// Jobs ended per second, first end to last.
    pub(crate) drain_per_sec: f64,
    /// From starting the runner processes to the first job's end.
    pub(crate) startup: Duration,
    /// What each phase cost the processes, per job; `None` on the embedded store.
    pub(crate) costs: Option<DrainCosts>,
}

/// The CPU time per job of each phase of a drain workload, and the processes' peak memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainCosts {
    /// `jobs.create` + `job.start` of every job (no runner up yet).
    pub(crate) enqueue: Costs,
    /// `jobs.create_many` of as many jobs again.
    pub(crate) bulk: Costs,
    /// From the runners' start to the last job's end.
    pub(crate) drain: Costs,
}

/// Runs the workload with `jobs` jobs for `kind` runners laid out as `layout`.
///
/// # Errors
///
/// Any call fails, a job does not end within [`STALL_TIMEOUT`] of the previous one, or a
/// job's result is not the expected output.
pub(crate) async fn run(
    setup: &Setup<'_>,
    kind: RunnerKind,
    layout: Layout,
    jobs: usize,
) -> anyhow::Result<Drain> {
    anyhow::ensure!(jobs >= 2, "a drain needs at least 2 jobs to time");
    let (namespace, queue) = workload::names("drain", kind, layout);
    let supervisor = match setup.backend {
        Backend::Redis => Supervisor::start_process(setup, &namespace).await?,
        Backend::Embedded => Supervisor::start(setup, &namespace).await?,
    };
    let client = &supervisor.client;
    let mut pids = match supervisor.pid() {
        Some(pid) => Some(Pids {
            supervisor: pid,
            runners: Vec::new(),
            redis: resources::redis_pid(setup.redis_url).await?,
        }),
        None => None,
    };
    let snapshot = |pids: &Option<Pids>| pids.as_ref().map(Pids::snapshot).transpose();

    let before_enqueue = snapshot(&pids)?;
    let started = Instant::now();
    let ids = enqueue(client, setup.in_flight, kind, &queue, jobs).await?;
    let enqueue_per_sec = rate(jobs, started.elapsed());
    let after_enqueue = snapshot(&pids)?;
    check_queued(setup, &namespace, &queue, jobs).await?;

    let bulk_queue = format!("{queue}-bulk");
    let before_bulk = snapshot(&pids)?;
    let started = Instant::now();
    enqueue_bulk(client, kind, &bulk_queue, jobs).await?;
    let bulk_enqueue_per_sec = rate(jobs, started.elapsed());
    let after_bulk = snapshot(&pids)?;
    check_queued(setup, &namespace, &bulk_queue, jobs).await?;

    let mut ended = match setup.backend {
        Backend::Redis => Ended::Channel(ended_events(setup.redis_url, &namespace).await?),
        Backend::Embedded => Ended::Subscription(ended_subscription(client, &queue).await?),
    };
    let spawned = Instant::now();
    let placement = Placement {
        transport: &supervisor.transport,
        namespace: &namespace,
        queue: &queue,
        work_dir: setup.work_dir,
    };
    let runners = Runners::start(kind, setup.bin_dir, layout, &placement)?;
    if let Some(pids) = &mut pids {
        pids.runners = runners.pids();
    }
    let before_drain = snapshot(&pids)?;
    let (first, last) = wait_ended(&mut ended, jobs).await?;
    let after_drain = snapshot(&pids)?;
    runners.stop().await;

    verify(client, setup.in_flight, kind, &ids).await?;
    supervisor.stop().await?;
    let costs = (|| {
        Some(DrainCosts {
            enqueue: before_enqueue?.costs_to(&after_enqueue?, jobs),
            bulk: before_bulk?.costs_to(&after_bulk?, jobs),
            drain: before_drain?.costs_to(&after_drain?, jobs),
        })
    })();
    Ok(Drain {
        backend: setup.backend,
        kind,
        layout,
        jobs,
        enqueue_per_sec,
        bulk_enqueue_per_sec,
        drain_per_sec: rate(jobs - 1, last - first),
        startup: first - spawned,
        costs,
    })
}

/// Creates and starts `jobs` jobs, `in_flight` at a time; returns their ids in job order.
async fn enqueue(
    client: &SupervisorClient,
    in_flight: usize,
    kind: RunnerKind,
    queue: &str,
    jobs: usize,
) -> anyhow::Result<Vec<String>> {
    stream::iter(0..jobs)
        .map(|n| async move {
            let job = workload::job(kind, queue, n)?;
            let id = client
                .jobs_create(SECRET, job)
                .await
                .with_context(|| format!("jobs.create of job {n}"))?;
            client
                .job_start(SECRET, &id)
                .await
                .with_context(|| format!("job.start of {id}"))?;
            anyhow::Ok(id)
        })
        .buffered(in_flight)
        .try_collect()
        .await
}

/// Queues `jobs` jobs through `jobs.create_many`, [`BULK_CHUNK`] per call, one call at a
/// time; returns their ids in job order. Building the jobs is inside the timed span, as in
/// [`enqueue`]: a client pays it too.
pub(crate) async fn enqueue_bulk(
    client: &SupervisorClient,
    kind: RunnerKind,
    queue: &str,
    jobs: usize,
) -> anyhow::Result<Vec<String>> {
    let mut all = Vec::with_capacity(jobs);
    for start in (0..jobs).step_by(BULK_CHUNK) {
        let chunk = (start..jobs.min(start + BULK_CHUNK))
            .map(|n| workload::job(kind, queue, n))
            .collect::<Result<Vec<_>, _>>()?;
        let len = chunk.len();
        let ids = client
            .jobs_create_many(SECRET, chunk, true)
            .await
            .with_context(|| format!("jobs.create_many of jobs {start}.."))?;
        anyhow::ensure!(ids.len() == len, "{} ids for {len} jobs", ids.len());
        all.extend(ids);
    }
    Ok(all)
}

/// Checks that `jobs` jobs wait on `queue`. Only Redis can be read from outside the
/// supervisor; on the embedded store the drain's count of ended jobs and the check of every
/// result stand for it.
pub(crate) async fn check_queued(
    setup: &Setup<'_>,
    namespace: &str,
    queue: &str,
    jobs: usize,
) -> anyhow::Result<()> {
    if setup.backend == Backend::Redis {
        let queued = queue_len(setup.redis_url, namespace, queue).await?;
        anyhow::ensure!(
            queued == jobs,
            "{queued} of {jobs} jobs are queued on {queue}"
        );
    }
    Ok(())
}

/// Where the drain learns that jobs ended.
pub(crate) enum Ended {
    /// The store's end-of-job channel in Redis.
    Channel(redis::aio::PubSubStream),
    /// `jobs.subscribe`, for jobs that end.
    Subscription(JobEvents),
}

impl Ended {
    /// Waits for the next job to end; `None` when the announcements stopped.
    async fn next(&mut self) -> Option<anyhow::Result<()>> {
        match self {
            Self::Channel(stream) => stream.next().await.map(|_| Ok(())),
            Self::Subscription(events) => events.next().await.map(|event| {
                event
                    .map(|_| ())
                    .context("the job event subscription failed")
            }),
        }
    }
}

/// `jobs.subscribe` for the jobs of `queue` that end, opened before any job can end.
async fn ended_subscription(client: &SupervisorClient, queue: &str) -> anyhow::Result<JobEvents> {
    let filter = EventFilter {
        job_ids: None,
        runner: Some(queue.to_owned()),
        status: Some(EventStatusFilter::Many(vec![
            EventStatus::Completed,
            EventStatus::Failed,
        ])),
    };
    client
        .jobs_subscribe(SECRET, Some(filter))
        .await
        .context("jobs.subscribe")
}

/// Length of the runner's queue list, read straight from Redis.
async fn queue_len(url: &str, namespace: &str, queue: &str) -> anyhow::Result<usize> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await
        .context("connecting to the bench's redis")?;
    let key = format!("{namespace}:v1:queue:{queue}");
    conn.llen(&key).await.with_context(|| format!("LLEN {key}"))
}

/// The store's end-of-job announcements of `namespace` (`{namespace}:v1:events`, see
/// `docs/runner-protocol.md`), subscribed before any job can end.
pub(crate) async fn ended_events(
    url: &str,
    namespace: &str,
) -> anyhow::Result<redis::aio::PubSubStream> {
    let mut pubsub = redis::Client::open(url)?
        .get_async_pubsub()
        .await
        .context("subscribing to job events")?;
    let channel = format!("{namespace}:v1:events");
    pubsub
        .subscribe(&channel)
        .await
        .with_context(|| format!("SUBSCRIBE {channel}"))?;
    Ok(pubsub.into_on_message())
}

/// Waits for `jobs` end announcements; returns when the first and the last arrived.
pub(crate) async fn wait_ended(
    ended: &mut Ended,
    jobs: usize,
) -> anyhow::Result<(Instant, Instant)> {
    let mut first = None;
    for seen in 0..jobs {
        tokio::time::timeout(STALL_TIMEOUT, ended.next())
            .await
            .with_context(|| format!("no job ended for {STALL_TIMEOUT:?} after {seen} of {jobs}"))?
            .context("the job event subscription closed")??;
        first.get_or_insert_with(Instant::now);
    }
    let last = Instant::now();
    Ok((first.unwrap_or(last), last))
}

/// Reads every job's result back through `job.result` and checks its output.
pub(crate) async fn verify(
    client: &SupervisorClient,
    in_flight: usize,
    kind: RunnerKind,
    ids: &[String],
) -> anyhow::Result<()> {
    stream::iter(ids.iter().enumerate())
        .map(|(n, id)| async move {
            let result = client
                .job_result(id)
                .await
                .with_context(|| format!("job.result of {id}"))?;
            workload::check(kind, n, &result)
        })
        .buffer_unordered(in_flight)
        .try_collect()
        .await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The runner binaries next to this test's executable (`target/debug/deps/..`): build
    /// them with `cargo build -p hero-examples --examples`.
    pub(crate) fn bin_dir() -> std::path::PathBuf {
        let exe = std::env::current_exe().expect("the test's own path");
        let dir = exe
            .parent()
            .and_then(std::path::Path::parent)
            .expect("the test runs from target/<profile>/deps")
            .to_path_buf();
        assert!(
            RunnerKind::Mock.binary(&dir).is_file(),
            "build the runner first: cargo build -p hero-examples --examples"
        );
        dir
    }

    #[tokio::test]
    async fn an_embedded_drain_runs_every_job_through_the_runner_socket_and_checks_its_result() {
        let work_dir = tempfile::tempdir().expect("a scratch directory");
        let bin_dir = bin_dir();
        let setup = Setup {
            backend: Backend::Embedded,
            // Never connected to: the embedded backend has no Redis.
            redis_url: "redis://127.0.0.1:1/",
            bin_dir: &bin_dir,
            work_dir: work_dir.path(),
            in_flight: 4,
        };
        let layout = Layout {
            processes: 1,
            concurrency: 2,
        };

        let drain = run(&setup, RunnerKind::Mock, layout, 20)
            .await
            .expect("the drain on the embedded store");

        assert_eq!(drain.backend, Backend::Embedded);
        assert_eq!(drain.jobs, 20);
        assert!(drain.drain_per_sec > 0.0 && drain.enqueue_per_sec > 0.0);
        let store = work_dir
            .path()
            .join("embedded_bench_drain_mock_1x2")
            .join("store.redb");
        assert!(store.is_file(), "the jobs were kept in {}", store.display());
    }
}
