//! *I/O-bound drain* (`--io`): jobs that each wait [`SLEEP_MS`] in the runner (a timer, no
//! CPU; `mock_runner` with `MOCK_JOB_SLEEP_MS`), so throughput is bounded by how many run at
//! once, not by CPU.
//!
//! - *saturation*: one runner process at concurrency [`SATURATION_CONCURRENCY`]; the ideal is
//!   that many jobs per [`SLEEP_MS`].
//! - *scaling*: 1 to [`MAX_PROCESSES`] runner processes at a fixed concurrency each; the ideal
//!   grows linearly with the processes.
//!
//! Each layout runs [`waves`](run) waves: `processes × concurrency × waves` jobs, queued
//! through `jobs.create_many` ([`BULK_CHUNK`](crate::drain) per call) with no runner up, then
//! drained and timed as the *enqueue + drain* workload times its drain: first end to last end
//! on `{ns}:v1:events`. Every result is read back and checked. The supervisor is the
//! `supervisor` binary in a child process, so the CPU time and memory read from `/proc` around
//! the drain are its own.

use std::time::{Duration, Instant};

use crate::drain::{self, Ended};
use crate::floor::rate;
use crate::latency::millis;
use crate::report::thousands;
use crate::resources::{self, Costs, Pids, TICK};
use crate::runners::{Layout, Placement, RunnerKind, Runners};
use crate::supervisor::Supervisor;
use crate::workload::{self, Setup};

/// How long each job waits in the runner, in milliseconds.
pub(crate) const SLEEP_MS: u64 = 10;

/// Jobs the one process of the saturation layout runs at once.
const SATURATION_CONCURRENCY: usize = 256;

/// The most runner processes of the scaling layouts.
const MAX_PROCESSES: usize = 4;

/// The figures of one layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IoDrain {
    pub(crate) layout: Layout,
    pub(crate) jobs: usize,
    /// Jobs ended per second, first end to last.
    pub(crate) drain_per_sec: f64,
    /// From the first job's end to the last's.
    pub(crate) elapsed: Duration,
    /// From starting the runner processes to the first job's end.
    pub(crate) startup: Duration,
    /// What the drain cost, from the runners' start to the last job's end.
    pub(crate) costs: Costs,
}

impl IoDrain {
    /// Every slot busy all the time: `processes × concurrency` jobs per [`SLEEP_MS`].
    pub(crate) fn ideal_per_sec(&self) -> f64 {
        ideal_per_sec(self.layout)
    }
}

/// `processes × concurrency` jobs per [`SLEEP_MS`].
fn ideal_per_sec(layout: Layout) -> f64 {
    (layout.processes * layout.concurrency) as f64 * 1_000.0 / SLEEP_MS as f64
}

/// Everything `--io` measured.
#[derive(Debug)]
pub(crate) struct Io {
    pub(crate) waves: usize,
    pub(crate) saturation: IoDrain,
    /// 1 to [`MAX_PROCESSES`] processes, in order.
    pub(crate) scaling: Vec<IoDrain>,
}

/// Runs the saturation layout, then the scaling ones at `concurrency` per process, each for
/// `waves` waves.
///
/// # Errors
///
/// As [`run_layout`].
pub(crate) async fn run(setup: &Setup<'_>, concurrency: usize, waves: usize) -> anyhow::Result<Io> {
    anyhow::ensure!(concurrency > 0, "--io-concurrency must be at least 1");
    anyhow::ensure!(waves >= 2, "an I/O drain needs at least 2 waves to time");
    let layout = Layout {
        processes: 1,
        concurrency: SATURATION_CONCURRENCY,
    };
    eprintln!(
        "io: {} jobs of {SLEEP_MS} ms, mock_runner {layout}",
        jobs(layout, waves)
    );
    let saturation = run_layout(setup, layout, waves, SLEEP_MS).await?;
    let mut scaling = Vec::with_capacity(MAX_PROCESSES);
    for processes in 1..=MAX_PROCESSES {
        let layout = Layout {
            processes,
            concurrency,
        };
        eprintln!(
            "io: {} jobs of {SLEEP_MS} ms, mock_runner {layout}",
            jobs(layout, waves)
        );
        scaling.push(run_layout(setup, layout, waves, SLEEP_MS).await?);
    }
    Ok(Io {
        waves,
        saturation,
        scaling,
    })
}

fn jobs(layout: Layout, waves: usize) -> usize {
    layout.processes * layout.concurrency * waves
}

/// Queues the jobs of `layout`, starts its runners with every job waiting `sleep_ms`, and
/// times the drain.
///
/// # Errors
///
/// Any call fails, a job does not end within the drain's stall timeout, a job's result is not
/// its payload, or a process's `/proc` files cannot be read.
pub(crate) async fn run_layout(
    setup: &Setup<'_>,
    layout: Layout,
    waves: usize,
    sleep_ms: u64,
) -> anyhow::Result<IoDrain> {
    let kind = RunnerKind::Mock;
    let jobs = jobs(layout, waves);
    let (namespace, queue) = workload::names("io", kind, layout);
    let supervisor = Supervisor::start_process(setup, &namespace).await?;
    let client = &supervisor.client;
    let mut pids = Pids {
        supervisor: supervisor
            .pid()
            .ok_or_else(|| anyhow::anyhow!("the supervisor process has exited"))?,
        runners: Vec::new(),
        redis: resources::redis_pid(setup.redis_url).await?,
    };

    let ids = drain::enqueue_bulk(client, kind, &queue, jobs).await?;
    drain::check_queued(setup, &namespace, &queue, jobs).await?;

    let mut ended = Ended::Channel(drain::ended_events(setup.redis_url, &namespace).await?);
    let placement = Placement {
        transport: &supervisor.transport,
        namespace: &namespace,
        queue: &queue,
        work_dir: setup.work_dir,
    };
    let sleep = sleep_ms.to_string();
    let spawned = Instant::now();
    let runners = Runners::start_with_env(
        kind,
        setup.bin_dir,
        layout,
        &placement,
        &[("MOCK_JOB_SLEEP_MS", &sleep)],
    )?;
    pids.runners = runners.pids();
    let before = pids.snapshot()?;
    let (first, last) = drain::wait_ended(&mut ended, jobs).await?;
    let after = pids.snapshot()?;
    runners.stop().await;

    drain::verify(client, setup.in_flight, kind, &ids).await?;
    supervisor.stop().await?;
    Ok(IoDrain {
        layout,
        jobs,
        drain_per_sec: rate(jobs - 1, last - first),
        elapsed: last - first,
        startup: first - spawned,
        costs: before.costs_to(&after, jobs),
    })
}

/// Prints the figures to stdout.
pub(crate) fn print(io: &Io) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\nMEASURED IN THIS RUN ({}, {cores} cores, private redis-server, no persistence)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    println!(
        "\nI/O-bound drain: every job waits {SLEEP_MS} ms in mock_runner; {} waves of jobs \
         queued through jobs.create_many, then the runners started",
        io.waves
    );
    println!(
        "  {:<11} {:>6} {:>9} {:>9} {:>9} {:>7} {:>8} {:>8} {:>9}",
        "", "procs", "jobs", "drained", "drain/s", "ideal/s", "÷ideal", "÷linear", "startup"
    );
    let s = &io.saturation;
    println!(
        "  {:<11} {:>6} {:>9} {:>6.0} ms {:>9} {:>7} {:>7.2}× {:>8} {:>6.0} ms",
        "saturation",
        s.layout.to_string(),
        s.jobs,
        millis(s.elapsed),
        thousands(s.drain_per_sec),
        thousands(s.ideal_per_sec()),
        s.drain_per_sec / s.ideal_per_sec(),
        "",
        millis(s.startup),
    );
    let one = io.scaling.first().map_or(0.0, |d| d.drain_per_sec);
    for d in &io.scaling {
        println!(
            "  {:<11} {:>6} {:>9} {:>6.0} ms {:>9} {:>7} {:>7.2}× {:>7.2}× {:>6.0} ms",
            "scaling",
            d.layout.to_string(),
            d.jobs,
            millis(d.elapsed),
            thousands(d.drain_per_sec),
            thousands(d.ideal_per_sec()),
            d.drain_per_sec / d.ideal_per_sec(),
            linear_ratio(d, one),
            millis(d.startup),
        );
    }
    println!(
        "  drained: first job ended to last; ideal/s: every slot busy all the time (procs × concurrency per {SLEEP_MS} ms); \
         ÷linear: drain/s ÷ (procs × the 1-process drain/s); 0.9× or more meets either aim;\n  \
         startup: runners started to first job ended"
    );
    print_costs(
        "  CPU per job and peak memory of the drain (supervisor binary as a child process)",
        std::iter::once(("saturation", s)).chain(io.scaling.iter().map(|d| ("scaling", d))),
    );
}

/// Drain rate of `d` as a share of `processes ×` the one-process rate `one`.
fn linear_ratio(d: &IoDrain, one: f64) -> f64 {
    d.drain_per_sec / (d.layout.processes as f64 * one)
}

fn print_costs<'a>(title: &str, rows: impl Iterator<Item = (&'a str, &'a IoDrain)>) {
    println!("\n{title}");
    println!(
        "  {:<11} {:>6} {:>12} {:>12} {:>12} {:>10} {:>10} {:>10}",
        "",
        "procs",
        "sup µs/job",
        "runner µs/job",
        "redis µs/job",
        "sup MiB",
        "runner MiB",
        "redis MiB"
    );
    for (name, d) in rows {
        let c = &d.costs;
        println!(
            "  {:<11} {:>6} {:>12.1} {:>12.1} {:>12.1} {:>10.1} {:>10.1} {:>10.1}",
            name,
            d.layout.to_string(),
            c.supervisor.cpu_us_per_job,
            c.runners.cpu_us_per_job,
            c.redis.cpu_us_per_job,
            mib(c.supervisor.peak_kib),
            mib(c.runners.peak_kib),
            mib(c.redis.peak_kib),
        );
    }
    println!(
        "  µs/job: user + system CPU time from /proc/PID/stat ({} ms ticks) over the drain \
         (runners from their start), ÷ jobs; runner: all its processes together;\n  MiB: peak \
         resident memory (VmHWM) in the process's life; runner: the largest process; redis: \
         over the whole run",
        TICK.as_millis()
    );
}

/// KiB as MiB.
pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(processes: usize, concurrency: usize, drain_per_sec: f64) -> IoDrain {
        IoDrain {
            layout: Layout {
                processes,
                concurrency,
            },
            jobs: 0,
            drain_per_sec,
            elapsed: Duration::ZERO,
            startup: Duration::ZERO,
            costs: Costs::default(),
        }
    }

    #[tokio::test]
    async fn an_io_drain_sleeps_in_every_job_checks_every_result_and_reads_each_process() {
        let bin_dir = crate::drain::tests::bin_dir();
        assert!(
            bin_dir.join("supervisor").is_file(),
            "build the supervisor first: cargo build -p hero-supervisor --bins"
        );
        let redis = tokio::task::spawn_blocking(hero_test_support::RedisServer::start)
            .await
            .expect("starting redis-server");
        let redis_url = redis.url();
        let work_dir = tempfile::tempdir().expect("a scratch directory");
        let setup = Setup {
            backend: crate::workload::Backend::Redis,
            redis_url: &redis_url,
            bin_dir: &bin_dir,
            work_dir: work_dir.path(),
            in_flight: 4,
        };
        let layout = Layout {
            processes: 2,
            concurrency: 3,
        };

        let sleep = Duration::from_millis(100);

        let drain = run_layout(&setup, layout, 3, 100)
            .await
            .expect("the I/O drain on redis");

        assert_eq!(drain.jobs, 18);
        // At most 6 jobs run at once and each lasts at least its sleep, so at most 6 end in
        // any span of one sleep: 18 need three spans, the last end at least two sleeps after
        // the first. A runner that ignored MOCK_JOB_SLEEP_MS ends them all in milliseconds.
        assert!(
            drain.elapsed >= 2 * sleep,
            "18 jobs ended within {:?}",
            drain.elapsed
        );
        assert!(drain.drain_per_sec > 0.0);
        let costs = drain.costs;
        assert_eq!(costs.runners.processes, 2);
        assert!(costs.supervisor.peak_kib > 0 && costs.runners.peak_kib > 0);
        assert!(costs.redis.peak_kib > 0);
    }

    #[test]
    fn the_ideal_is_every_slot_busy_each_sleep() {
        assert!((drain(1, 256, 0.0).ideal_per_sec() - 25_600.0).abs() < 1e-9);
        assert!((drain(4, 16, 0.0).ideal_per_sec() - 6_400.0).abs() < 1e-9);
    }

    #[test]
    fn the_linear_ratio_compares_with_processes_times_one_process() {
        assert!((linear_ratio(&drain(3, 16, 4_500.0), 1_500.0) - 1.0).abs() < 1e-9);
        assert!((linear_ratio(&drain(4, 16, 3_000.0), 1_000.0) - 0.75).abs() < 1e-9);
    }
}
