//! Many hosts on one Redis, each a network namespace on one bridge: Redis on one, two
//! supervisors on two more, `mock_runner` on three runner hosts, and the test process on the
//! bridge reaching the supervisors as a client on the LAN would. A runner host cut off past its
//! lease loses nothing (the jobs it held run again elsewhere, or fail "runner lost" without
//! retries), its late reports are refused, and a SIGKILLed supervisor's jobs are served by the
//! other. One more test prints the I/O-bound drain rate on 1, 2 and 3 runner hosts, never
//! asserting it.
//!
//! These tests need root and `ip` (iproute2): `scripts/test-multihost` builds what they start
//! and runs them.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod netns;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use hero_job::{JobResult, JobStatus};
use hero_supervisor_openrpc_client::{JobBuilder, SupervisorClient};
use hero_test_support::{TIMEOUT, eventually, wait_until, workspace_binary};
use netns::{Host, Lan, Process};
use nix::sys::signal::Signal;

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");
const NAMESPACE: &str = "multihost";
const ADMIN: &str = "multihost-admin";
const USER: &str = "multihost-user";
/// Every runner host serves the same queue, so a job may run on any of them.
const QUEUE: &str = "mock";
/// Each host has its own address, so every supervisor and Redis uses its usual port.
const SUPERVISOR_PORT: u16 = 3030;
const REDIS_PORT: u16 = 6379;
/// Short leases so that a cut host is given up in about a second, not fifteen.
const LEASE_MS: u64 = 1000;
const HEARTBEAT_MS: u64 = 200;
/// What a runner logs when the store refuses a report because the run was ended elsewhere.
const REFUSED: &str = "outcome dropped";

/// Redis, two supervisors and `runners` runner hosts, each on its own host of one LAN.
///
/// Fields drop in order: the processes before the LAN they run in, the LAN last.
struct Cluster {
    supervisors: Vec<SupervisorHost>,
    runners: Vec<RunnerHost>,
    #[allow(dead_code)] // held only so that Redis runs as long as the cluster
    redis: Process,
    dir: tempfile::TempDir,
    lan: Lan,
}

struct SupervisorHost {
    process: Process,
    client: SupervisorClient,
    url: String,
}

struct RunnerHost {
    host: Host,
    process: Process,
    /// The file its `mock_runner` records each execution in (`MOCK_JOB_LOG`).
    executions: PathBuf,
}

/// How the runner hosts run their jobs.
#[derive(Clone, Copy)]
struct Runners {
    hosts: usize,
    concurrency: usize,
    /// Each job's wait (`MOCK_JOB_SLEEP_MS`): an I/O-bound job.
    job_ms: u64,
}

impl Cluster {
    async fn start(runners: Runners) -> Self {
        let mut lan = Lan::new();
        let dir = tempfile::tempdir().unwrap();
        let redis_host = lan.host("redis");
        let redis = start_redis(&redis_host, dir.path());
        let redis_url = format!("redis://{}:{REDIS_PORT}", redis_host.ip);
        let mut cluster = Self {
            supervisors: Vec::new(),
            runners: Vec::new(),
            redis,
            dir,
            lan,
        };
        for name in ["sup-a", "sup-b"] {
            let host = cluster.lan.host(name);
            let supervisor = start_supervisor(&host, &redis_url, cluster.dir.path()).await;
            cluster.supervisors.push(supervisor);
        }
        for index in 1..=runners.hosts {
            let host = cluster.lan.host(&format!("r{index}"));
            let runner = start_runner(host, &redis_url, cluster.dir.path(), runners);
            cluster.runners.push(runner);
        }
        for runner in &cluster.runners {
            wait_until(&format!("{} claims jobs", runner.host.name), || {
                runner.process.output().contains("runner started")
            });
        }
        cluster
    }

    fn supervisor(&self, index: usize) -> &SupervisorClient {
        &self.supervisors[index].client
    }

    /// Every execution recorded on every runner host: job id → the hosts that ran it.
    fn executions(&self) -> BTreeMap<String, Vec<String>> {
        let mut executions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for runner in &self.runners {
            for (id, host) in read_executions(&runner.executions) {
                executions.entry(id).or_default().push(host);
            }
        }
        executions
    }

    /// Submits `count` jobs through supervisor `via`, queued at once, each run again at most
    /// `retries` times; returns their ids in order.
    async fn submit(&self, via: usize, count: usize, retries: u32) -> Vec<String> {
        let jobs = (0..count)
            .map(|i| {
                let mut job = job(&format!("job-{i}"));
                job.retries = retries;
                job
            })
            .collect();
        bounded(self.supervisor(via).jobs_create_many(USER, jobs, true))
            .await
            .unwrap()
    }

    /// Each job's result and attempt as supervisor `via` reads them, once every job is final.
    async fn outcomes(&self, via: usize, ids: &[String]) -> BTreeMap<String, Outcome> {
        let client = self.supervisor(via);
        let mut outcomes = BTreeMap::new();
        for id in ids {
            let result = bounded(client.job_result(id)).await.unwrap();
            let status = bounded(client.job_status(id)).await.unwrap();
            outcomes.insert(
                id.clone(),
                Outcome {
                    result,
                    status: status.status,
                    attempt: status.attempt,
                },
            );
        }
        outcomes
    }
}

/// A final job as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    result: JobResult,
    status: JobStatus,
    attempt: u32,
}

impl Outcome {
    /// The host whose report was taken: `mock_runner` ends each output with `@HOST`.
    fn host(&self) -> &str {
        match &self.result {
            JobResult::Success { success } => success.rsplit_once('@').unwrap().1,
            JobResult::Error { error } => panic!("every job succeeds, got the error {error}"),
        }
    }
}

fn start_redis(host: &Host, dir: &Path) -> Process {
    let args = [
        "--port".to_owned(),
        REDIS_PORT.to_string(),
        "--bind".to_owned(),
        host.ip.to_string(),
        // Other hosts reach it without a password: the LAN is the test's own.
        "--protected-mode".to_owned(),
        "no".to_owned(),
        "--save".to_owned(),
        String::new(),
        "--appendonly".to_owned(),
        "no".to_owned(),
        "--dir".to_owned(),
        dir.display().to_string(),
    ];
    let redis = Process::start(
        host,
        "redis",
        Path::new("redis-server"),
        &args,
        &[],
        dir.join("redis.log"),
    );
    let url = format!("redis://{}:{REDIS_PORT}", host.ip);
    wait_until("redis answers across the LAN", || {
        redis::Client::open(url.as_str())
            .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
            .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn))
            .is_ok()
    });
    redis
}

async fn start_supervisor(host: &Host, redis_url: &str, dir: &Path) -> SupervisorHost {
    let data = dir.join(&host.name);
    std::fs::create_dir_all(&data).unwrap();
    // No actors: every runner is remote, seen when it claims; jobs may be submitted before
    // a supervisor has seen one.
    let config = format!(
        r#"redis_url = "{redis_url}"
namespace = "{NAMESPACE}"
bind_address = "{ip}"
port = {SUPERVISOR_PORT}
admin_secrets = ["{ADMIN}"]
user_secrets = ["{USER}"]
accept_unknown_runners = true
"#,
        ip = host.ip,
    );
    let path = dir.join(format!("{}.toml", host.name));
    std::fs::write(&path, config).unwrap();
    let process = Process::start(
        host,
        &host.name,
        Path::new(SUPERVISOR),
        &["--config".to_owned(), path.display().to_string()],
        &[("HERO_SUPERVISOR_DATA_DIR", data.display().to_string())],
        dir.join(format!("{}.log", host.name)),
    );
    let url = format!("http://{}:{SUPERVISOR_PORT}", host.ip);
    let supervisor = SupervisorHost {
        process,
        client: SupervisorClient::new(&url).unwrap(),
        url,
    };
    let http = reqwest::Client::new();
    until(&format!("{} answers /health", host.name), || async {
        is_healthy(&http, &supervisor.url).await
    })
    .await;
    supervisor
}

fn start_runner(host: Host, redis_url: &str, dir: &Path, runners: Runners) -> RunnerHost {
    let executions = dir.join(format!("{}.executions", host.name));
    let args = [
        "--name",
        QUEUE,
        "--redis-url",
        redis_url,
        "--namespace",
        NAMESPACE,
        "--concurrency",
        &runners.concurrency.to_string(),
        "--lease-ms",
        &LEASE_MS.to_string(),
        "--heartbeat-ms",
        &HEARTBEAT_MS.to_string(),
    ]
    .map(str::to_owned);
    let envs = [
        ("MOCK_JOB_SLEEP_MS", runners.job_ms.to_string()),
        ("MOCK_RUNNER_HOST", host.name.clone()),
        ("MOCK_JOB_LOG", executions.display().to_string()),
        // The refused reports are logged at debug level, each in its job's span.
        ("RUST_LOG", "info,hero_runner::job=debug".to_owned()),
    ];
    let process = Process::start(
        &host,
        &host.name,
        &workspace_binary("examples/mock_runner"),
        &args,
        &envs,
        dir.join(format!("{}.log", host.name)),
    );
    RunnerHost {
        host,
        process,
        executions,
    }
}

/// The lines `JOB_ID HOST` of a `MOCK_JOB_LOG` file; none before its first execution.
fn read_executions(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            let (id, host) = line.split_once(' ').unwrap();
            (id.to_owned(), host.to_owned())
        })
        .collect()
}

async fn is_healthy(http: &reqwest::Client, url: &str) -> bool {
    http.get(format!("{url}/health"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .is_ok_and(|response| response.status().is_success())
}

fn job(payload: &str) -> hero_job::Job {
    JobBuilder::new()
        .caller_id("multihost")
        .context_id("drain")
        .payload(payload)
        .executor("mock")
        .runner(QUEUE)
        .timeout(30)
        // One more run, for a job whose host is lost while running it.
        .retries(1)
        .build()
        .unwrap()
}

/// Awaits `future`, failing the test instead of hanging past [`TIMEOUT`].
async fn bounded<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .expect("the operation finishes in time")
}

/// Polls `check` until it holds, within [`TIMEOUT`].
async fn until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    assert!(
        eventually(TIMEOUT, check).await,
        "timed out waiting until {what}"
    );
}

/// A drain whose first runner host was cut off mid-way, read once every job was final.
struct CutDrain {
    cluster: Cluster,
    ids: Vec<String>,
    outcomes: BTreeMap<String, Outcome>,
    executions: BTreeMap<String, Vec<String>>,
}

/// The runner host the partition tests cut off.
const CUT: &str = "r1";

impl CutDrain {
    /// Submits a drain through supervisor A, cuts host r1 off once it has run a few jobs and
    /// holds more, and waits through supervisor B until every job is final. The link stays
    /// down.
    async fn run() -> Self {
        let cluster = Cluster::start(Runners {
            hosts: 3,
            concurrency: 4,
            job_ms: 400,
        })
        .await;
        let ids = cluster.submit(0, 48, 1).await;
        let cut = &cluster.runners[0];
        // Past its first four, every execution started after one of its reports was taken:
        // the cut falls mid-drain, with jobs of r1 both done and in its hands.
        wait_until("r1 has run a few jobs", || {
            read_executions(&cut.executions).len() >= 6
        });
        cluster.lan.cut(&cut.host);
        // Final only once the reaper gave r1's jobs to the others: the cut outlasted the lease.
        let outcomes = cluster.outcomes(1, &ids).await;
        let executions = cluster.executions();
        Self {
            cluster,
            ids,
            outcomes,
            executions,
        }
    }

    /// The jobs r1 started but whose outcome is another host's: those it held when cut.
    fn held(&self) -> BTreeSet<String> {
        self.ids
            .iter()
            .filter(|id| {
                self.executions
                    .get(*id)
                    .is_some_and(|hosts| hosts.iter().any(|host| host == CUT))
                    && self.outcomes[*id].host() != CUT
            })
            .cloned()
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; run by scripts/test-multihost"]
async fn a_runner_host_cut_off_mid_drain_loses_no_job_and_only_its_held_jobs_run_twice() {
    let drain = CutDrain::run().await;

    for (index, id) in drain.ids.iter().enumerate() {
        let outcome = &drain.outcomes[id];
        assert_eq!(outcome.status, JobStatus::Completed, "{id}: {outcome:?}");
        let JobResult::Success { success } = &outcome.result else {
            unreachable!("host() checked it");
        };
        assert_eq!(
            success.rsplit_once('@').unwrap().0,
            format!("job-{index}"),
            "each job's result is its own"
        );
        let ran_on = drain.executions.get(id).cloned().unwrap_or_default();
        assert!(
            ran_on.iter().any(|host| host == outcome.host()),
            "{id}: its result comes from a host that ran it: {ran_on:?}, {outcome:?}"
        );
    }
    let held = drain.held();
    assert!(
        !held.is_empty(),
        "the cut caught r1 holding jobs: {:?}",
        drain.executions
    );
    for id in &drain.ids {
        let ran_on = &drain.executions[id];
        if held.contains(id) {
            let elsewhere: Vec<_> = ran_on.iter().filter(|host| *host != CUT).collect();
            assert_eq!(
                (ran_on.len(), elsewhere.len()),
                (2, 1),
                "{id}, held by the cut host, ran once more elsewhere: {ran_on:?}"
            );
            assert_eq!(
                drain.outcomes[id].attempt, 2,
                "{id}: its second run shows in its attempt"
            );
        } else {
            assert_eq!(ran_on.len(), 1, "{id} ran exactly once: {ran_on:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; run by scripts/test-multihost"]
async fn a_cut_off_runner_hosts_late_reports_are_refused_once_its_link_is_back() {
    let mut drain = CutDrain::run().await;
    let held = drain.held();
    assert!(!held.is_empty(), "the cut caught r1 holding jobs");

    drain.cluster.lan.restore(&drain.cluster.runners[0].host);
    // A runner ends once every report it holds is taken or refused: its exit means the late
    // reports were all sent.
    let cut = &mut drain.cluster.runners[0].process;
    cut.signal(Signal::SIGTERM);
    let mut exited = None;
    wait_until("r1 has sent its late reports and exited", || {
        exited = cut.exited();
        exited.is_some()
    });
    assert_eq!(exited, Some(true), "r1 exits cleanly: {}", cut.output());

    let after = drain.cluster.outcomes(1, &drain.ids).await;
    for id in &held {
        assert_eq!(
            after[id], drain.outcomes[id],
            "{id}: the re-run's result and attempt stand"
        );
        assert_ne!(
            after[id].host(),
            CUT,
            "{id}: never the late report's result"
        );
    }
    assert_eq!(
        after, drain.outcomes,
        "no job changed once r1 was back: {after:?}"
    );
    // The runner's side of it. Counted, not matched by id: a runner logs the jobs it takes
    // along with a report in the span of the first job of that chain.
    let log = drain.cluster.runners[0].process.output();
    let refused = log.lines().filter(|line| line.contains(REFUSED)).count();
    assert!(
        refused >= held.len(),
        "r1 reported the {} jobs it held late, and each report was refused:\n{log}",
        held.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; run by scripts/test-multihost"]
async fn a_job_without_retries_held_by_a_cut_off_host_fails_as_runner_lost_and_stays_so() {
    let mut cluster = Cluster::start(Runners {
        hosts: 1,
        concurrency: 4,
        job_ms: 1500,
    })
    .await;
    let ids = cluster.submit(0, 4, 0).await;
    let r1 = &cluster.runners[0];
    wait_until("r1 runs all four jobs", || {
        read_executions(&r1.executions).len() == 4
    });
    cluster.lan.cut(&r1.host);

    let lost = cluster.outcomes(1, &ids).await;
    for (id, outcome) in &lost {
        assert_eq!(outcome.status, JobStatus::Failed, "{id}: {outcome:?}");
        assert!(
            matches!(&outcome.result, JobResult::Error { error } if error.starts_with("runner lost")),
            "{id}: {outcome:?}"
        );
        assert_eq!(outcome.attempt, 1, "{id} ran once: {outcome:?}");
    }

    // Its runs end on r1 as if nothing happened, and their successes wait to be reported.
    wait_until("r1 has ended all four jobs", || {
        let log = cluster.runners[0].process.output();
        log.matches("job ended status=completed").count() == 4
    });
    cluster.lan.restore(&cluster.runners[0].host);
    let r1 = &mut cluster.runners[0].process;
    r1.signal(Signal::SIGTERM);
    wait_until("r1 has sent its late reports and exited", || {
        r1.exited().is_some()
    });
    assert_eq!(
        cluster.outcomes(1, &ids).await,
        lost,
        "r1's late successes never replace \"runner lost\""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; run by scripts/test-multihost"]
async fn a_sigkilled_supervisors_jobs_complete_and_are_served_by_the_other() {
    let mut cluster = Cluster::start(Runners {
        hosts: 3,
        concurrency: 2,
        job_ms: 300,
    })
    .await;
    let ids = cluster.submit(0, 24, 1).await;
    cluster.supervisors[0].process.kill();
    let http = reqwest::Client::new();
    assert!(
        !is_healthy(&http, &cluster.supervisors[0].url).await,
        "supervisor A is gone"
    );

    let outcomes = cluster.outcomes(1, &ids).await;
    for (index, id) in ids.iter().enumerate() {
        let outcome = &outcomes[id];
        assert_eq!(outcome.status, JobStatus::Completed, "{id}: {outcome:?}");
        let expected = format!("job-{index}@{}", outcome.host());
        assert_eq!(outcome.result, JobResult::success(expected));
    }
    let listed: BTreeSet<String> = bounded(cluster.supervisor(1).jobs_list(USER))
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.id.clone())
        .collect();
    let submitted: BTreeSet<String> = ids.iter().cloned().collect();
    assert!(
        listed.is_superset(&submitted),
        "B lists every job submitted through A; missing: {:?}",
        submitted.difference(&listed).collect::<Vec<_>>()
    );
    let ran = bounded(cluster.supervisor(1).job_run(USER, job("after")))
        .await
        .unwrap();
    let JobResult::Success { success } = ran else {
        panic!("job.run through B succeeds: {ran:?}");
    };
    assert!(success.starts_with("after@r"), "{success}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root and ip netns; run by scripts/test-multihost"]
async fn an_io_bound_drain_completes_on_one_two_and_three_runner_hosts_and_prints_its_rate() {
    const JOBS: usize = 240;
    const JOB_MS: u64 = 50;
    const SLOTS: usize = 4;
    let mut rates = Vec::new();
    for hosts in 1..=3 {
        let cluster = Cluster::start(Runners {
            hosts,
            concurrency: SLOTS,
            job_ms: JOB_MS,
        })
        .await;
        let started = std::time::Instant::now();
        cluster.submit(0, JOBS, 1).await;
        until(
            &format!("{JOBS} jobs completed on {hosts} hosts"),
            || async { completed(cluster.supervisor(1)).await == JOBS as u64 },
        )
        .await;
        rates.push(JOBS as f64 / started.elapsed().as_secs_f64());
    }
    // Printed, never asserted: the machine's load decides the figures.
    let ideal = 1000.0 / JOB_MS as f64 * SLOTS as f64;
    for (hosts, rate) in (1..).zip(&rates) {
        println!(
            "drain of {JOBS} jobs of {JOB_MS} ms, {SLOTS} slots per host, {hosts} runner host(s): \
             {rate:.0} jobs/s ({:.2}x one host; ideal {:.0} jobs/s)",
            rate / rates[0],
            ideal * f64::from(hosts)
        );
    }
}

/// How many jobs the store counts as completed, as supervisor `client` reports it.
async fn completed(client: &SupervisorClient) -> u64 {
    bounded(client.supervisor_info(ADMIN))
        .await
        .unwrap()
        .jobs
        .by_status
        .get("completed")
        .copied()
        .unwrap_or(0)
}
