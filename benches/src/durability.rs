//! *durability* (`--durability`): what `durability = "replicated"` costs a submit. The bench's
//! Redis gets a replica on the same host; then, in alternating rounds, a supervisor with
//! `"async"` and one with `"replicated"` each take sequential `jobs.create` calls (their
//! latency) and `jobs.create_many` calls of 1,000 jobs, 4 at once (their rate). No runner claims the jobs: only the submit path is measured. Each round is
//! on a namespace of its own; the figures are the medians over the rounds, and the ratios
//! replicated ÷ async.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use hero_supervisor::config::Durability;
use hero_test_support::RedisServer;

use crate::latency;
use crate::runners::RunnerKind;
use crate::supervisor::{SECRET, Supervisor};
use crate::workload::{self, Setup};

/// Rounds of each mode, alternating, so drift in the machine's load hits both alike.
const ROUNDS: usize = 3;
/// Jobs per `jobs.create_many` call.
const CHUNK: usize = 1000;
/// `jobs.create_many` calls in flight at once.
const MANY_IN_FLIGHT: usize = 4;
/// The queue the jobs wait on; nobody claims them.
const QUEUE: &str = "durability_bench";

/// One mode's figures: medians over its rounds.
#[derive(Debug)]
pub(crate) struct Mode {
    pub(crate) name: &'static str,
    pub(crate) create: latency::Quantiles,
    pub(crate) many_jobs_per_sec: f64,
}

/// Both modes, async first.
#[derive(Debug)]
pub(crate) struct Durabilities {
    pub(crate) creates: usize,
    pub(crate) many_jobs: usize,
    pub(crate) modes: [Mode; 2],
}

/// Starts the replica, then measures both modes in alternating rounds.
///
/// # Errors
///
/// The replica does not sync, a supervisor does not start, or a call fails.
pub(crate) async fn run(
    setup: &Setup<'_>,
    redis_port: u16,
    creates: usize,
    many_calls: usize,
) -> anyhow::Result<Durabilities> {
    let replica =
        tokio::task::spawn_blocking(move || RedisServer::start_replica_of(redis_port)).await?;
    wait_for_replica(setup.redis_url).await?;
    let modes = [
        ("async", Durability::Async),
        ("replicated", Durability::Replicated),
    ];
    let mut rounds: [Vec<(latency::Quantiles, f64)>; 2] = [Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        for (i, (name, durability)) in modes.into_iter().enumerate() {
            eprintln!(
                "durability ({name}), round {}: {creates} jobs.create, {many_calls} jobs.create_many of {CHUNK}",
                round + 1
            );
            let namespace = format!("bench_durability_{name}_{round}");
            rounds[i].push(measure(setup, &namespace, durability, creates, many_calls).await?);
        }
    }
    drop(replica);
    let [async_rounds, replicated_rounds] = rounds;
    Ok(Durabilities {
        creates,
        many_jobs: many_calls * CHUNK,
        modes: [
            summarise("async", async_rounds),
            summarise("replicated", replicated_rounds),
        ],
    })
}

/// Waits until the bench's Redis reports its replica in sync.
async fn wait_for_replica(url: &str) -> anyhow::Result<()> {
    let mut conn = redis::Client::open(url)?
        .get_multiplexed_async_connection()
        .await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut conn)
            .await?;
        if info.contains("state=online") {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the replica did not sync within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One round of one mode: the `jobs.create` latencies, then the `jobs.create_many` rate.
async fn measure(
    setup: &Setup<'_>,
    namespace: &str,
    durability: Durability,
    creates: usize,
    many_calls: usize,
) -> anyhow::Result<(latency::Quantiles, f64)> {
    let supervisor = Supervisor::start_with(setup, namespace, |config| {
        config.durability = durability;
    })
    .await?;
    let client = &supervisor.client;
    let mut histogram = latency::histogram();
    for n in 0..creates {
        let job = workload::job(RunnerKind::Mock, QUEUE, n)?;
        let sent = Instant::now();
        client
            .jobs_create(SECRET, job)
            .await
            .context("jobs.create")?;
        latency::record(&mut histogram, sent.elapsed());
    }
    let started = Instant::now();
    futures::stream::iter(0..many_calls)
        .map(|call| async move {
            let jobs = (0..CHUNK)
                .map(|n| workload::job(RunnerKind::Mock, QUEUE, call * CHUNK + n))
                .collect::<anyhow::Result<Vec<_>>>()?;
            client
                .jobs_create_many(SECRET, jobs, true)
                .await
                .context("jobs.create_many")?;
            anyhow::Ok(())
        })
        .buffer_unordered(MANY_IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let rate = (many_calls * CHUNK) as f64 / started.elapsed().as_secs_f64();
    supervisor.stop().await?;
    Ok((latency::quantiles(&histogram), rate))
}

/// The medians of one mode's rounds.
fn summarise(name: &'static str, mut rounds: Vec<(latency::Quantiles, f64)>) -> Mode {
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let of = |pick: fn(&latency::Quantiles) -> Duration, rounds: &[(latency::Quantiles, f64)]| {
        Duration::from_secs_f64(median(
            rounds.iter().map(|(q, _)| pick(q).as_secs_f64()).collect(),
        ))
    };
    let create = latency::Quantiles {
        p50: of(|q| q.p50, &rounds),
        p90: of(|q| q.p90, &rounds),
        p99: of(|q| q.p99, &rounds),
    };
    let rate = median(rounds.drain(..).map(|(_, rate)| rate).collect());
    Mode {
        name,
        create,
        many_jobs_per_sec: rate,
    }
}

/// Prints both modes and the ratios.
pub(crate) fn print(figures: &Durabilities) {
    println!(
        "\ndurability: {} sequential jobs.create, {} jobs in jobs.create_many calls of {CHUNK} \
         ({MANY_IN_FLIGHT} at once); one replica on the same host; medians of {ROUNDS} \
         alternating rounds",
        figures.creates, figures.many_jobs
    );
    println!(
        "{:<12} {:>14} {:>14} {:>14} {:>20}",
        "durability", "create p50 ms", "create p90 ms", "create p99 ms", "create_many jobs/s"
    );
    for mode in &figures.modes {
        println!(
            "{:<12} {:>14.3} {:>14.3} {:>14.3} {:>20.0}",
            mode.name,
            latency::millis(mode.create.p50),
            latency::millis(mode.create.p90),
            latency::millis(mode.create.p99),
            mode.many_jobs_per_sec
        );
    }
    let [a, r] = &figures.modes;
    let ratio = |r: Duration, a: Duration| r.as_secs_f64() / a.as_secs_f64().max(f64::EPSILON);
    println!(
        "replicated ÷ async: create p50 ×{:.2}, p99 ×{:.2}; create_many rate ×{:.2}",
        ratio(r.create.p50, a.create.p50),
        ratio(r.create.p99, a.create.p99),
        r.many_jobs_per_sec / a.many_jobs_per_sec.max(f64::EPSILON)
    );
}
