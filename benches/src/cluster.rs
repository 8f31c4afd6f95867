//! *6 runner queues on 1 vs 3 masters* (`--cluster`): the drain of no-op jobs spread evenly
//! over [`RUNNERS`] runner queues, on a Redis Cluster of one master and of three, in
//! alternating rounds (1, 3, 1, 3, …), each on a fresh cluster
//! ([`RedisCluster::start_masters`]) with a fresh `supervisor` binary on its
//! `redis+cluster://` URL, where the store gives each runner's queue and jobs a hash tag of
//! their own, `{NAMESPACE/RUNNER}` (its shard).
//!
//! The runner names are chosen so that the shards spread evenly: `drain_0`, `drain_1`, … are tried in order, asking the cluster
//! which master serves each name's tag, until every master holds
//! `RUNNERS ÷ masters` of them (two each on three masters).
//!
//! Each runner is its own `mock_runner` process at concurrency [`CONCURRENCY`]. The jobs are
//! queued through `jobs.create_many` (1,000 per call) with no runner up, then the runners
//! start and the drain is timed as the *enqueue + drain* workload times it: first end to last
//! end on the namespace's end-of-job channel, `{NAMESPACE}:v1:events`, which a cluster
//! delivers from whichever master publishes to every node. Every result is read back and
//! checked. The CPU time of each redis-server, of the supervisor, of the runners and of the
//! bench is read from `/proc/PID/stat` from the runners' start to the last job's end, so the
//! report shows which of them bound the drain.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use hero_test_support::RedisCluster;

use crate::drain::{self, Ended};
use crate::floor::rate;
use crate::latency::millis;
use crate::report::thousands;
use crate::resources::{self, TICK};
use crate::runners::{Layout, Placement, RunnerKind, Runners};
use crate::supervisor::Supervisor;
use crate::workload::Setup;

/// The cluster sizes compared, in the order each round runs them.
pub(crate) const MASTERS: [usize; 2] = [1, 3];

/// Runner queues the jobs are spread over, each served by one process.
pub(crate) const RUNNERS: usize = 6;

/// Jobs each runner process runs at once.
pub(crate) const CONCURRENCY: usize = 4;

/// The supervisor's namespace, the same in every round: each round has a cluster of its own.
pub(crate) const NAMESPACE: &str = "bench_cluster";

/// Names tried before giving up on filling every master's share; a share of two on three
/// masters is met within a few dozen.
const MAX_NAME_TRIES: usize = 10_000;

const KIND: RunnerKind = RunnerKind::Mock;

/// The figures of one round on one cluster size.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// The round's number, from 1.
    pub(crate) round: usize,
    pub(crate) masters: usize,
    pub(crate) jobs: usize,
    /// Jobs ended per second, first end to last.
    pub(crate) drain_per_sec: f64,
    /// From the first job's end to the last's.
    pub(crate) elapsed: Duration,
    /// From starting the runner processes to the first job's end.
    pub(crate) startup: Duration,
    /// Each runner name and the port of the master serving its tag, in name order.
    pub(crate) placement: Vec<(String, u16)>,
    /// Each redis-server's port and CPU time from the runners' start to the last job's end,
    /// in the cluster's node order.
    pub(crate) redis_cpu: Vec<(u16, Duration)>,
    /// CPU time of the supervisor, of all runner processes together, and of the bench, over
    /// the same span.
    pub(crate) supervisor_cpu: Duration,
    pub(crate) runners_cpu: Duration,
    pub(crate) bench_cpu: Duration,
}

impl Round {
    /// The span the CPU times were read over: the runners' start to the last job's end.
    pub(crate) fn window(&self) -> Duration {
        self.startup + self.elapsed
    }
}

/// Every round of `--cluster`, in the order run.
#[derive(Debug)]
pub(crate) struct ClusterDrains {
    pub(crate) jobs: usize,
    pub(crate) rounds: Vec<Round>,
}

impl ClusterDrains {
    /// The median drain rate over the rounds on `masters` masters; 0 when none ran.
    pub(crate) fn median_per_sec(&self, masters: usize) -> f64 {
        median(
            self.rounds
                .iter()
                .filter(|r| r.masters == masters)
                .map(|r| r.drain_per_sec)
                .collect(),
        )
    }
}

/// Runs `rounds` rounds, each on every size of [`MASTERS`] in turn, with `jobs` jobs each.
///
/// # Errors
///
/// As [`run_round`].
pub(crate) async fn run(
    setup: &Setup<'_>,
    jobs: usize,
    rounds: usize,
) -> anyhow::Result<ClusterDrains> {
    anyhow::ensure!(rounds > 0, "--rounds must be at least 1");
    anyhow::ensure!(
        jobs >= RUNNERS,
        "a cluster drain needs at least {RUNNERS} jobs, one per runner"
    );
    let mut done = Vec::with_capacity(rounds * MASTERS.len());
    for round in 1..=rounds {
        for masters in MASTERS {
            eprintln!(
                "cluster, round {round}: {jobs} jobs over {RUNNERS} mock_runner queues \
                 (1×{CONCURRENCY} each), {masters} master(s)"
            );
            done.push(run_round(setup, masters, round, jobs).await?);
        }
    }
    Ok(ClusterDrains { jobs, rounds: done })
}

/// One round: a fresh cluster of `masters` masters, a supervisor and [`RUNNERS`] runners on
/// it, `jobs` jobs queued, then drained and timed.
///
/// # Errors
///
/// The cluster does not form or leaves some master without its share of runner names, a
/// process cannot be started or read, a call fails, a job does not end within the drain's
/// stall timeout, or a job's result is not its payload.
pub(crate) async fn run_round(
    setup: &Setup<'_>,
    masters: usize,
    round: usize,
    jobs: usize,
) -> anyhow::Result<Round> {
    // Dropped last, killing the nodes: the runners and the supervisor are stopped first.
    let (cluster, placement) = tokio::task::spawn_blocking(move || {
        let cluster = RedisCluster::start_masters(masters);
        let placement = place(&cluster, NAMESPACE);
        (cluster, placement)
    })
    .await
    .context("starting the cluster")?;
    let placement = placement?;
    let url = cluster.url();
    let nodes: Vec<(u16, String)> = cluster
        .ports()
        .into_iter()
        .map(|port| (port, format!("redis://127.0.0.1:{port}")))
        .collect();
    let work_dir = setup
        .work_dir
        .join(format!("cluster_{masters}m_round{round}"));
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating {}", work_dir.display()))?;
    let setup = Setup {
        redis_url: &url,
        work_dir: &work_dir,
        ..*setup
    };

    let supervisor = Supervisor::start_process(&setup, NAMESPACE).await?;
    let client = &supervisor.client;
    let supervisor_pid = supervisor
        .pid()
        .context("the supervisor process has exited")?;
    let mut redis_pids = Vec::with_capacity(nodes.len());
    for (_, node_url) in &nodes {
        redis_pids.push(resources::redis_pid(node_url).await?);
    }

    let mut ids = Vec::with_capacity(RUNNERS);
    for ((name, _), count) in placement.iter().zip(split(jobs, RUNNERS)) {
        ids.push(drain::enqueue_bulk(client, KIND, name, count).await?);
    }

    // Any node will do: a cluster forwards every PUBLISH to all its nodes.
    let (_, first_node) = nodes.first().context("the cluster has no node")?;
    let mut ended =
        Ended::Channel(drain::ended_events(first_node, &format!("{{{NAMESPACE}}}")).await?);
    let layout = Layout {
        processes: 1,
        concurrency: CONCURRENCY,
    };
    let spawned = Instant::now();
    let mut runners = Vec::with_capacity(RUNNERS);
    for (name, _) in &placement {
        let at = Placement {
            transport: &supervisor.transport,
            namespace: NAMESPACE,
            queue: name,
            work_dir: &work_dir,
        };
        runners.push(Runners::start(KIND, setup.bin_dir, layout, &at)?);
    }
    let runner_pids: Vec<u32> = runners.iter().flat_map(Runners::pids).collect();
    let cpu = |pids: &[u32]| -> anyhow::Result<Vec<Duration>> {
        pids.iter()
            .map(|&pid| resources::sample(pid).map(|s| s.cpu))
            .collect()
    };
    let read = || -> anyhow::Result<[Vec<Duration>; 4]> {
        Ok([
            cpu(&redis_pids).context("a redis-server")?,
            cpu(&[supervisor_pid]).context("the supervisor")?,
            cpu(&runner_pids).context("a runner")?,
            cpu(&[std::process::id()]).context("the bench")?,
        ])
    };
    let before = read()?;
    let (first, last) = drain::wait_ended(&mut ended, jobs).await?;
    let after = read()?;
    for runners in runners {
        runners.stop().await;
    }

    for ids in &ids {
        drain::verify(client, setup.in_flight, KIND, ids).await?;
    }
    supervisor.stop().await?;
    drop(cluster);

    let spent = |i: usize| -> Vec<Duration> {
        before[i]
            .iter()
            .zip(&after[i])
            .map(|(b, a)| a.saturating_sub(*b))
            .collect()
    };
    let total = |i: usize| -> Duration { spent(i).into_iter().sum() };
    Ok(Round {
        round,
        masters,
        jobs,
        drain_per_sec: rate(jobs - 1, last - first),
        elapsed: last - first,
        startup: first - spawned,
        placement,
        redis_cpu: nodes.iter().map(|(port, _)| *port).zip(spent(0)).collect(),
        supervisor_cpu: total(1),
        runners_cpu: total(2),
        bench_cpu: total(3),
    })
}

/// The [`RUNNERS`] runner names for `cluster`, each with the port of the master serving its
/// tag `{namespace/NAME}`, an equal share on every master.
fn place(cluster: &RedisCluster, namespace: &str) -> anyhow::Result<Vec<(String, u16)>> {
    let masters = cluster.ports();
    anyhow::ensure!(
        !masters.is_empty() && RUNNERS.is_multiple_of(masters.len()),
        "{RUNNERS} runners do not split evenly over {} masters",
        masters.len()
    );
    choose_names(&masters, RUNNERS / masters.len(), |name| {
        cluster.master_of_tag(&format!("{namespace}/{name}"))
    })
}

/// Tries `drain_0`, `drain_1`, … in order, `master_of` telling the port serving each, and
/// keeps a name while its master holds fewer than `share`, until every one of `masters` holds
/// `share`.
fn choose_names(
    masters: &[u16],
    share: usize,
    mut master_of: impl FnMut(&str) -> u16,
) -> anyhow::Result<Vec<(String, u16)>> {
    let wanted = masters.len() * share;
    let mut held: HashMap<u16, usize> = masters.iter().map(|&port| (port, 0)).collect();
    let mut chosen = Vec::with_capacity(wanted);
    for n in 0..MAX_NAME_TRIES {
        if chosen.len() == wanted {
            break;
        }
        let name = format!("drain_{n}");
        let port = master_of(&name);
        // A port outside `masters` (a replica's answer mid-failover) is skipped.
        if let Some(count) = held.get_mut(&port).filter(|count| **count < share) {
            *count += 1;
            chosen.push((name, port));
        }
    }
    anyhow::ensure!(
        chosen.len() == wanted,
        "{MAX_NAME_TRIES} names left some master without {share} runners: {chosen:?}"
    );
    Ok(chosen)
}

/// `jobs` split over `parts`, the first ones taking one more where it does not divide.
fn split(jobs: usize, parts: usize) -> Vec<usize> {
    (0..parts)
        .map(|i| jobs / parts + usize::from(i < jobs % parts))
        .collect()
}

/// The middle value (the upper one of an even count); 0 of none.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Prints every round, the placements, the medians and their ratio to stdout.
pub(crate) fn print(figures: &ClusterDrains) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!(
        "\nMEASURED IN THIS RUN ({}, {cores} cores, private Redis Clusters, no persistence)",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let rounds = figures.rounds.len() / MASTERS.len();
    println!(
        "\n{RUNNERS} runner queues on 1 vs 3 masters: {} no-op jobs spread evenly over {RUNNERS} \
         mock_runner processes (1×{CONCURRENCY} each), queued through jobs.create_many, then the \
         runners started; the supervisor binary on redis+cluster://; {rounds} alternating \
         round(s), a fresh cluster each",
        figures.jobs
    );
    println!(
        "  {:<7} {:>5} {:>7} {:>9} {:>9} {:>9}   {:<32} {:>8} {:>10} {:>8}",
        "masters",
        "round",
        "jobs",
        "drain/s",
        "drained",
        "startup",
        "redis CPU s (busy %), each node",
        "sup CPU",
        "runner CPU",
        "bench"
    );
    for r in &figures.rounds {
        let window = r.window().as_secs_f64().max(f64::EPSILON);
        let redis: Vec<String> = r
            .redis_cpu
            .iter()
            .map(|(_, cpu)| {
                format!(
                    "{:.2} ({:.0}%)",
                    cpu.as_secs_f64(),
                    cpu.as_secs_f64() / window * 100.0
                )
            })
            .collect();
        println!(
            "  {:<7} {:>5} {:>7} {:>9} {:>6.0} ms {:>6.0} ms   {:<32} {:>7.2}s {:>9.2}s {:>7.2}s",
            r.masters,
            r.round,
            r.jobs,
            thousands(r.drain_per_sec),
            millis(r.elapsed),
            millis(r.startup),
            redis.join("  "),
            r.supervisor_cpu.as_secs_f64(),
            r.runners_cpu.as_secs_f64(),
            r.bench_cpu.as_secs_f64(),
        );
    }
    println!(
        "  drained: first job ended to last; startup: runners started to first job ended; CPU: \
         user + system time from /proc/PID/stat ({} ms ticks) from the runners' start to the \
         last job's end;\n  busy %: that node's CPU time ÷ the same span (100% is one core \
         saturated, redis-server runs commands on one thread); runner: all {RUNNERS} processes \
         together; bench: this process, which holds the subscription to the end-of-job channel",
        TICK.as_millis()
    );
    println!("\n  placement (runner → master port; tag {{{NAMESPACE}/RUNNER}})");
    for r in &figures.rounds {
        let placed: Vec<String> = r
            .placement
            .iter()
            .map(|(name, port)| format!("{name} → {port}"))
            .collect();
        println!(
            "  {} master(s), round {}: {}",
            r.masters,
            r.round,
            placed.join(", ")
        );
    }
    let [one, three] = MASTERS.map(|masters| figures.median_per_sec(masters));
    println!(
        "\n  median drain/s: {} on {} master, {} on {} masters; {} ÷ {}: ×{:.2}",
        thousands(one),
        MASTERS[0],
        thousands(three),
        MASTERS[1],
        MASTERS[1],
        MASTERS[0],
        three / one.max(f64::EPSILON)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_tried_in_order_and_kept_until_each_master_holds_its_share() {
        // drain_N is served by master 7000 + N % 3, except that drain_0..drain_2 all fall on
        // 7000, which must then take no more than its share.
        let master_of = |name: &str| {
            let n: u16 = name["drain_".len()..].parse().expect("a drain_N name");
            if n < 3 { 7000 } else { 7000 + n % 3 }
        };

        let chosen = choose_names(&[7000, 7001, 7002], 2, master_of).expect("a placement");

        let names: Vec<&str> = chosen.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "drain_0", "drain_1", "drain_4", "drain_5", "drain_7", "drain_8"
            ]
        );
        for port in [7000, 7001, 7002] {
            let held = chosen.iter().filter(|(_, p)| *p == port).count();
            assert_eq!(held, 2, "master {port} holds {held}");
        }
    }

    #[test]
    fn a_master_no_name_lands_on_is_an_error_not_a_hang() {
        let error = choose_names(&[7000, 7001], 1, |_| 7000).expect_err("7001 gets no name");
        assert!(error.to_string().contains("without 1 runners"), "{error}");
    }

    #[test]
    fn the_jobs_split_evenly_over_the_runners() {
        assert_eq!(split(20_000, 6), [3_334, 3_334, 3_333, 3_333, 3_333, 3_333]);
        assert_eq!(split(12, 6), [2; 6]);
        assert_eq!(split(20_000, 6).iter().sum::<usize>(), 20_000);
    }

    #[test]
    fn the_median_is_the_middle_round() {
        assert!((median(vec![3.0, 1.0, 2.0]) - 2.0).abs() < f64::EPSILON);
        assert!((median(vec![5.0]) - 5.0).abs() < f64::EPSILON);
        assert!(median(Vec::new()).abs() < f64::EPSILON);
    }

    #[tokio::test]
    async fn a_cluster_drain_runs_one_then_three_masters_with_two_runners_on_each_of_three() {
        let bin_dir = crate::drain::tests::bin_dir();
        assert!(
            bin_dir.join("supervisor").is_file(),
            "build the supervisor first: cargo build -p hero-supervisor --bins"
        );
        let work_dir = tempfile::tempdir().expect("a scratch directory");
        let setup = Setup {
            backend: crate::workload::Backend::Redis,
            // Unused: each round names its own cluster.
            redis_url: "redis://127.0.0.1:1/",
            bin_dir: &bin_dir,
            work_dir: work_dir.path(),
            in_flight: 4,
        };

        let figures = run(&setup, 60, 1)
            .await
            .expect("one round on 1 and 3 masters");

        let sizes: Vec<usize> = figures.rounds.iter().map(|r| r.masters).collect();
        assert_eq!(sizes, MASTERS);
        for r in &figures.rounds {
            assert_eq!(r.jobs, 60);
            assert!(r.drain_per_sec > 0.0);
            assert_eq!(r.placement.len(), RUNNERS);
            assert_eq!(r.redis_cpu.len(), r.masters, "one CPU figure per node");
            let nodes: Vec<u16> = r.redis_cpu.iter().map(|(port, _)| *port).collect();
            for (node, _) in &r.redis_cpu {
                let held = r.placement.iter().filter(|(_, p)| p == node).count();
                assert_eq!(held, RUNNERS / r.masters, "{node} of {nodes:?}");
            }
        }
        assert!(figures.median_per_sec(3) > 0.0);
    }
}
