//! *I/O-bound drain* (`--io`): jobs that each wait [`SLEEP_MS`] in the runner (a timer, no
//! CPU; `mock_runner` with `MOCK_JOB_SLEEP_MS`), so throughput is bounded by how many run at
//! once, not by CPU.
//!
//! - *saturation*: one runner process at concurrency [`SATURATION_SLOTS`]; the ideal is that
//!   many jobs per [`SLEEP_MS`]. Then the same slots split over 2 and 4 processes, which
//!   shows whether one process's claim loop is the limit, and the 1-process layout with no
//!   sleep, which shows what the machine's CPU allows (the no-op drain rate).
//! - *scaling*: 1 to [`MAX_PROCESSES`] runner processes at a fixed concurrency each; the ideal
//!   grows linearly with the processes.
//!
//! Each layout runs [`waves`](run) waves: `processes × concurrency × waves` jobs, queued
//! through `jobs.create_many` (1,000 per call) with no runner up, then
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

/// Jobs the saturation layouts run at once, over all their processes.
const SATURATION_SLOTS: usize = 256;

/// The process counts the saturation slots are split over.
const SATURATION_SPLITS: [usize; 3] = [1, 2, 4];

/// The most runner processes of the scaling layouts.
const MAX_PROCESSES: usize = 4;

/// The figures of one layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IoDrain {
    pub(crate) layout: Layout,
    /// How long each job waited in the runner, in milliseconds.
    pub(crate) sleep_ms: u64,
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
    /// Every slot busy all the time: `processes × concurrency` jobs per sleep; `None` for
    /// jobs that do not sleep.
    pub(crate) fn ideal_per_sec(&self) -> Option<f64> {
        (self.sleep_ms > 0).then(|| {
            (self.layout.processes * self.layout.concurrency) as f64 * 1_000.0
                / self.sleep_ms as f64
        })
    }
}

/// Everything `--io` measured.
#[derive(Debug)]
pub(crate) struct Io {
    pub(crate) waves: usize,
    /// [`SATURATION_SLOTS`] over each of [`SATURATION_SPLITS`] processes, in order.
    pub(crate) saturation: Vec<IoDrain>,
    /// One process at [`SATURATION_SLOTS`] with jobs that do not sleep.
    pub(crate) ceiling: IoDrain,
    /// 1 to [`MAX_PROCESSES`] processes, in order.
    pub(crate) scaling: Vec<IoDrain>,
}

/// Runs the saturation layouts and their no-sleep ceiling, then the scaling ones at
/// `concurrency` per process, each for `waves` waves.
///
/// # Errors
///
/// As [`run_layout`].
pub(crate) async fn run(setup: &Setup<'_>, concurrency: usize, waves: usize) -> anyhow::Result<Io> {
    anyhow::ensure!(concurrency > 0, "--io-concurrency must be at least 1");
    anyhow::ensure!(waves >= 2, "an I/O drain needs at least 2 waves to time");
    let mut saturation = Vec::with_capacity(SATURATION_SPLITS.len());
    for processes in SATURATION_SPLITS {
        let layout = Layout {
            processes,
            concurrency: SATURATION_SLOTS / processes,
        };
        saturation.push(run_logged(setup, "io_sat", layout, waves, SLEEP_MS).await?);
    }
    let layout = Layout {
        processes: 1,
        concurrency: SATURATION_SLOTS,
    };
    let ceiling = run_logged(setup, "io_cpu", layout, waves, 0).await?;
    let mut scaling = Vec::with_capacity(MAX_PROCESSES);
    for processes in 1..=MAX_PROCESSES {
        let layout = Layout {
            processes,
            concurrency,
        };
        scaling.push(run_logged(setup, "io_scale", layout, waves, SLEEP_MS).await?);
    }
    Ok(Io {
        waves,
        saturation,
        ceiling,
        scaling,
    })
}

/// [`run_layout`], saying on stderr what it runs.
async fn run_logged(
    setup: &Setup<'_>,
    workload: &str,
    layout: Layout,
    waves: usize,
    sleep_ms: u64,
) -> anyhow::Result<IoDrain> {
    eprintln!(
        "io: {} jobs of {sleep_ms} ms, mock_runner {layout}",
        jobs(layout, waves)
    );
    run_layout(setup, workload, layout, waves, sleep_ms).await
}

fn jobs(layout: Layout, waves: usize) -> usize {
    layout.processes * layout.concurrency * waves
}

/// Queues the jobs of `layout` under names made of `workload` and the layout, starts its
/// runners with every job waiting `sleep_ms` (none at 0), and times the drain.
///
/// # Errors
///
/// Any call fails, a job does not end within the drain's stall timeout, a job's result is not
/// its payload, or a process's `/proc` files cannot be read.
pub(crate) async fn run_layout(
    setup: &Setup<'_>,
    workload: &str,
    layout: Layout,
    waves: usize,
    sleep_ms: u64,
) -> anyhow::Result<IoDrain> {
    let kind = RunnerKind::Mock;
    let jobs = jobs(layout, waves);
    let (namespace, queue) = workload::names(workload, kind, layout);
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
        sleep_ms,
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
    for d in &io.saturation {
        print_row("saturation", d, None);
    }
    print_row("no sleep", &io.ceiling, None);
    let one = io.scaling.first().map_or(0.0, |d| d.drain_per_sec);
    for d in &io.scaling {
        print_row("scaling", d, Some(linear_ratio(d, one)));
    }
    println!(
        "  drained: first job ended to last; ideal/s: every slot busy all the time (procs × \
         concurrency per {SLEEP_MS} ms); ÷linear: drain/s ÷ (procs × the 1-process drain/s);\n  \
         0.9× or more meets either aim; no sleep: the 1-process layout's jobs without the wait, \
         what the CPU allows; startup: runners started to first job ended"
    );
    print_costs(
        "  CPU per job and peak memory of the drain (supervisor binary as a child process)",
        io.saturation
            .iter()
            .map(|d| ("saturation", d))
            .chain(std::iter::once(("no sleep", &io.ceiling)))
            .chain(io.scaling.iter().map(|d| ("scaling", d))),
    );
}

/// One line of the drain table.
fn print_row(name: &str, d: &IoDrain, linear: Option<f64>) {
    let blank = || "".to_owned();
    println!(
        "  {:<11} {:>6} {:>9} {:>6.0} ms {:>9} {:>7} {:>8} {:>8} {:>6.0} ms",
        name,
        d.layout.to_string(),
        d.jobs,
        millis(d.elapsed),
        thousands(d.drain_per_sec),
        d.ideal_per_sec().map_or_else(blank, thousands),
        d.ideal_per_sec()
            .map_or_else(blank, |ideal| format!("{:.2}×", d.drain_per_sec / ideal)),
        linear.map_or_else(blank, |ratio| format!("{ratio:.2}×")),
        millis(d.startup),
    );
}

/// Drain rate of `d` as a share of `processes ×` the one-process rate `one`.
fn linear_ratio(d: &IoDrain, one: f64) -> f64 {
    d.drain_per_sec / (d.layout.processes as f64 * one)
}

/// The share of the machine's `cores` the four roles kept busy from the runners' start to the
/// last job's end.
fn busy_share(d: &IoDrain, cores: usize) -> f64 {
    let c = &d.costs;
    let cpu = c.supervisor.cpu + c.runners.cpu + c.redis.cpu + c.bench.cpu;
    let window = (d.startup + d.elapsed).as_secs_f64() * cores.max(1) as f64;
    cpu.as_secs_f64() / window.max(f64::EPSILON)
}

fn print_costs<'a>(title: &str, rows: impl Iterator<Item = (&'a str, &'a IoDrain)>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("\n{title}");
    println!(
        "  {:<11} {:>6} {:>12} {:>12} {:>12} {:>12} {:>9} {:>10} {:>10} {:>10}",
        "",
        "procs",
        "sup µs/job",
        "runner µs/job",
        "redis µs/job",
        "bench µs/job",
        "CPUs busy",
        "sup MiB",
        "runner MiB",
        "redis MiB"
    );
    for (name, d) in rows {
        let c = &d.costs;
        println!(
            "  {:<11} {:>6} {:>12.1} {:>12.1} {:>12.1} {:>12.1} {:>8.0}% {:>10.1} {:>10.1} {:>10.1}",
            name,
            d.layout.to_string(),
            c.supervisor.cpu_us_per_job,
            c.runners.cpu_us_per_job,
            c.redis.cpu_us_per_job,
            c.bench.cpu_us_per_job,
            busy_share(d, cores) * 100.0,
            mib(c.supervisor.peak_kib),
            mib(c.runners.peak_kib),
            mib(c.redis.peak_kib),
        );
    }
    println!(
        "  µs/job: user + system CPU time from /proc/PID/stat ({} ms ticks) over the drain \
         (runners from their start), ÷ jobs; runner: all its processes together;\n  bench: this \
         process, which holds the subscription to the end-of-job channel; CPUs busy: the four \
         together ÷ (cores × the drain's time from the runners' start);\n  MiB: peak \
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
            sleep_ms: SLEEP_MS,
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

        let drain = run_layout(&setup, "io_test", layout, 3, 100)
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
        assert_eq!(drain(1, 256, 0.0).ideal_per_sec(), Some(25_600.0));
        assert_eq!(drain(4, 16, 0.0).ideal_per_sec(), Some(6_400.0));
        let no_sleep = IoDrain {
            sleep_ms: 0,
            ..drain(1, 256, 0.0)
        };
        assert_eq!(no_sleep.ideal_per_sec(), None);
    }

    #[test]
    fn the_linear_ratio_compares_with_processes_times_one_process() {
        assert!((linear_ratio(&drain(3, 16, 4_500.0), 1_500.0) - 1.0).abs() < 1e-9);
        assert!((linear_ratio(&drain(4, 16, 3_000.0), 1_000.0) - 0.75).abs() < 1e-9);
    }
}
