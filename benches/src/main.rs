//! `supervisor-bench`: Hero Supervisor's throughput and latency through its public JSON-RPC
//! API with real runner processes, each figure beside a Redis floor measured in the same run.
//!
//! - `cluster` (`--cluster`, on its own): the drain over 6 runner queues on a Redis Cluster
//!   of 1 and of 3 masters, in alternating rounds.
//! - `floor`: `PING` round trips against the bench's own redis-server.
//! - `drain`: *enqueue + drain* of N jobs.
//! - `durability` (`--durability`, on its own): what `durability = "replicated"` costs
//!   `jobs.create` and `jobs.create_many`, beside `"async"`, with a replica of the bench's
//!   Redis.
//! - `io` (`--io`, on its own): the drain of jobs that each wait 10 ms, one process at
//!   concurrency 256, then 1 to 4 processes.
//! - `resources`: CPU time and memory of the supervisor, runner and Redis processes.
//! - `roundtrip`: sequential `job.run` latency.
//! - `scale` (`--scale`, on its own): the supervisor's memory and read latency with 1,000
//!   and with a million jobs stored.
//! - `supervisor`, `runners`: the in-process supervisor and the runner child processes.
//! - `workload`, `latency`, `report`: shared set-up, histograms, the printed table.

mod cluster;
mod drain;
mod durability;
mod floor;
mod hops;
mod io;
mod latency;
mod report;
mod resources;
mod roundtrip;
mod runners;
mod scale;
mod supervisor;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use hero_test_support::RedisServer;

use crate::runners::{Layout, RunnerKind};
use crate::workload::{Backend, Setup};

/// The drain layouts of the peers' note: 2 processes, or one process running 8 at once.
const DRAIN_LAYOUTS: [Layout; 2] = [
    Layout {
        processes: 2,
        concurrency: 4,
    },
    Layout {
        processes: 1,
        concurrency: 8,
    },
];

/// Measures Hero Supervisor through its JSON-RPC API with real runners.
#[derive(Debug, Parser)]
#[command(about)]
struct Args {
    /// Jobs enqueued and drained per drain workload.
    #[arg(long, default_value_t = 20_000)]
    jobs: usize,
    /// Sequential `job.run` calls per roundtrip workload.
    #[arg(long, default_value_t = 2_000)]
    roundtrips: usize,
    /// A smoke run: 1,000 jobs and 200 roundtrips, a shorter floor.
    #[arg(long)]
    quick: bool,
    /// Where `osis_runner` and `examples/mock_runner` are. Default: this executable's
    /// directory (`target/release`).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Requests in flight while enqueuing and reading results back.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
    /// Run only the *jobs at scale* workload: the `supervisor` binary's memory and read
    /// latency with 1,000 jobs stored, then with `--stored-jobs`. Takes minutes.
    #[arg(long)]
    scale: bool,
    /// Runs the drain and roundtrip workloads a second time on a supervisor with the embedded
    /// store (no `redis_url`; runners through its runner socket), and reports those figures
    /// beside, and as ratios to, the Redis ones of the same run.
    #[arg(long, conflicts_with = "scale")]
    embedded: bool,
    /// Run only the *hops* workload: where one `job.run` spends its time, from `MONITOR`
    /// stamps (`--roundtrips` calls, no-op runner).
    #[arg(long, conflicts_with_all = ["scale", "embedded"])]
    hops: bool,
    /// Run only the *I/O-bound drain* workload: jobs that each wait 10 ms in `mock_runner`,
    /// one process at concurrency 256, then 1 to 4 processes at `--io-concurrency` each.
    #[arg(long, conflicts_with_all = ["scale", "embedded", "hops"])]
    io: bool,
    /// Run only the *durability* workload: `jobs.create` latency and `jobs.create_many` rate
    /// with `durability = "async"` and `"replicated"` (a replica of the bench's Redis is
    /// started), in alternating rounds: `--roundtrips` creates and `--jobs` jobs each round.
    #[arg(long, conflicts_with_all = ["scale", "embedded", "hops", "io"])]
    durability: bool,
    /// Run only the *6 runner queues on 1 vs 3 masters* workload: `--jobs` no-op jobs spread
    /// over 6 `mock_runner` processes (concurrency 4 each) on a fresh Redis Cluster of 1
    /// master, then of 3, `--rounds` times alternating; the drain rates, their medians and
    /// the ratio 3 ÷ 1, and each redis-server's CPU time.
    #[arg(long, conflicts_with_all = ["scale", "embedded", "hops", "io", "durability"])]
    cluster: bool,
    /// Rounds of `--cluster`, each on 1 then 3 masters.
    #[arg(long, default_value_t = 3, requires = "cluster")]
    rounds: usize,
    /// Jobs each runner process of `--io`'s scaling layouts runs at once.
    #[arg(long, default_value_t = 16, requires = "io")]
    io_concurrency: usize,
    /// Jobs stored at the larger size of `--scale`. Default 1,000,000; 20,000 with `--quick`.
    #[arg(long, requires = "scale")]
    stored_jobs: Option<usize>,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut args: Args) -> anyhow::Result<()> {
    if args.quick {
        args.jobs = 1_000;
        args.roundtrips = 200;
    }
    anyhow::ensure!(args.in_flight > 0, "--in-flight must be at least 1");
    anyhow::ensure!(args.rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(
        !args.cluster || args.jobs >= cluster::RUNNERS,
        "--cluster needs at least {} jobs, one per runner",
        cluster::RUNNERS
    );
    let bin_dir = match args.bin_dir.take() {
        Some(dir) => dir,
        None => own_dir()?,
    };
    check_binaries(&bin_dir, &args)?;
    let work_dir = tempfile::Builder::new()
        .prefix("hero-bench-")
        .tempdir()
        .context("creating a scratch directory")?;
    // Dropped last: runners and supervisors must not lose their Redis before they stop.
    let redis = tokio::task::spawn_blocking(RedisServer::start).await?;
    let redis_url = redis.url();
    let setup = Setup {
        backend: Backend::Redis,
        redis_url: &redis_url,
        bin_dir: &bin_dir,
        work_dir: work_dir.path(),
        in_flight: args.in_flight,
    };
    let outcome = if args.scale {
        let default = if args.quick { 20_000 } else { 1_000_000 };
        scale::run(&setup, args.stored_jobs.unwrap_or(default))
            .await
            .map(|scale| scale::print(&scale, &bin_dir.join("supervisor")))
    } else if args.io {
        // Full: each layout drains for about 1 s of ideal time; quick: a fifth of that.
        let waves = if args.quick { 20 } else { 100 };
        io::run(&setup, args.io_concurrency, waves)
            .await
            .map(|io| io::print(&io))
    } else if args.durability {
        let many_calls = args.jobs.div_ceil(1000);
        durability::run(&setup, redis.port(), args.roundtrips, many_calls)
            .await
            .map(|figures| durability::print(&figures))
    } else if args.cluster {
        cluster::run(&setup, args.jobs, args.rounds)
            .await
            .map(|figures| cluster::print(&figures))
    } else if args.hops {
        hops::run(&setup, args.roundtrips)
            .await
            .map(|hops| hops::print(&hops))
    } else {
        measure(&setup, &args).await.map(|report| report.print())
    };
    match outcome {
        Ok(()) => Ok(()),
        Err(error) => {
            let kept = work_dir.keep();
            Err(error.context(format!("runner logs kept in {}", kept.display())))
        }
    }
}

async fn measure(setup: &Setup<'_>, args: &Args) -> anyhow::Result<report::Report> {
    let floor_ops = if args.quick { 2_000 } else { 20_000 };
    eprintln!("redis floor: {floor_ops} sequential PINGs, then 50 connections");
    let floor = floor::measure(setup.redis_url, floor_ops).await?;
    let (drains, roundtrips) = workloads(setup, args).await?;
    let embedded = if args.embedded {
        let setup = Setup {
            backend: Backend::Embedded,
            ..*setup
        };
        Some(workloads(&setup, args).await?)
    } else {
        None
    };
    Ok(report::Report {
        floor,
        drains,
        roundtrips,
        embedded,
    })
}

/// The drain and roundtrip workloads on `setup`'s backend.
async fn workloads(
    setup: &Setup<'_>,
    args: &Args,
) -> anyhow::Result<(Vec<drain::Drain>, Vec<roundtrip::Roundtrip>)> {
    let backend = setup.backend.name();
    let mut drains = Vec::new();
    for kind in [RunnerKind::Mock, RunnerKind::Osis] {
        for layout in DRAIN_LAYOUTS {
            eprintln!(
                "drain ({backend}): {} jobs, {} {layout}",
                args.jobs,
                kind.name()
            );
            drains.push(drain::run(setup, kind, layout, args.jobs).await?);
        }
    }
    let mut roundtrips = Vec::new();
    for kind in [RunnerKind::Mock, RunnerKind::Osis] {
        eprintln!(
            "roundtrip ({backend}): {} job.run, {}",
            args.roundtrips,
            kind.name()
        );
        roundtrips.push(roundtrip::run(setup, kind, args.roundtrips).await?);
    }
    Ok((drains, roundtrips))
}

/// The directory of this executable: `target/release` under `cargo run --release`.
fn own_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("finding this executable's path")?;
    exe.parent()
        .map(Path::to_path_buf)
        .context("this executable has no parent directory")
}

/// Checks that the binaries the chosen workloads start are built: `mock_runner` always,
/// `osis_runner` for the drain and roundtrip workloads, and the `supervisor` binary wherever
/// it runs as a child process (every workload but `--hops`).
fn check_binaries(bin_dir: &Path, args: &Args) -> anyhow::Result<()> {
    let mut binaries = vec![RunnerKind::Mock.binary(bin_dir)];
    if !(args.scale || args.io || args.hops || args.durability || args.cluster) {
        binaries.push(RunnerKind::Osis.binary(bin_dir));
    }
    if !(args.hops || args.durability) {
        binaries.push(bin_dir.join("supervisor"));
    }
    for binary in binaries {
        anyhow::ensure!(
            binary.is_file(),
            "{} is missing; build it first: cargo build --release -p hero-examples \
             -p hero-osis-runner -p hero-supervisor -p hero-bench --bins --examples",
            binary.display()
        );
    }
    Ok(())
}
