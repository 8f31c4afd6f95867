//! Fault injection on the embedded store (no `redis_url`): runners reach the store through
//! the supervisor's runner socket, so killing a runner or the supervisor itself must still
//! leave every accepted job in exactly one final state.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{ADMIN, USER, bounded, until};
use futures::StreamExt;
use hero_job::{JobResult, JobStatus};
use hero_supervisor_api::params::EventFilter;
use hero_supervisor_openrpc_client::{JobBuilder, JobEvents, SupervisorClient};
use hero_test_support::{free_port, workspace_binary};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::Rng;

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");
const LEASE_MS: &str = "1000";
const HEARTBEAT_MS: &str = "200";

/// The `supervisor` binary with no `redis_url`, one actor, data in `dir`; SIGTERMed when
/// dropped so that a failing test leaves no runner behind.
struct SupervisorProcess {
    child: Child,
    client: SupervisorClient,
    url: String,
    runner: String,
}

impl SupervisorProcess {
    /// Starts the binary with the actor `runner` (binary `binary`, `concurrency` slots, short
    /// leases) and waits until it serves and its runner runs.
    async fn start(dir: &Path, runner: &str, binary: &str, concurrency: usize) -> Self {
        let port = free_port();
        let config = format!(
            r#"
bind_address = "127.0.0.1"
port = {port}
admin_secrets = ["{ADMIN}"]
user_secrets = ["{USER}"]

[[actors]]
id = "{runner}"
name = "{runner}"
binary_path = "{binary}"
concurrency = {concurrency}

[actors.env]
HERO_RUNNER_LEASE_MS = "{LEASE_MS}"
HERO_RUNNER_HEARTBEAT_MS = "{HEARTBEAT_MS}"
"#,
            binary = workspace_binary(binary).display(),
        );
        let path = dir.join(format!("config-{port}.toml"));
        std::fs::write(&path, config).unwrap();
        let child = Command::new(SUPERVISOR)
            .arg("--config")
            .arg(&path)
            .env("HERO_SUPERVISOR_DATA_DIR", dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let supervisor = Self {
            child,
            client: SupervisorClient::new(&url).unwrap(),
            url,
            runner: runner.to_owned(),
        };
        let http = reqwest::Client::new();
        until("the supervisor answers /health", || async {
            http.get(format!("{}/health", supervisor.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
        let info = bounded(supervisor.client.supervisor_info(ADMIN))
            .await
            .unwrap();
        assert_eq!(info.backend.kind, "embedded");
        until("its runner runs", || async {
            supervisor
                .client
                .get_runner_status(ADMIN, &supervisor.runner)
                .await
                .is_ok_and(|info| info.pid.is_some())
        })
        .await;
        supervisor
    }

    async fn until_running(&self, id: &str) {
        until("the job runs", || async {
            self.client
                .job_status(id)
                .await
                .is_ok_and(|s| s.status == JobStatus::Running)
        })
        .await;
    }

    async fn runner_pid(&self) -> Pid {
        let info = bounded(self.client.get_runner_status(ADMIN, &self.runner))
            .await
            .unwrap();
        Pid::from_raw(i32::try_from(info.pid.unwrap()).unwrap())
    }

    fn signal(&self, signal: Signal) {
        kill(
            Pid::from_raw(i32::try_from(self.child.id()).unwrap()),
            signal,
        )
        .unwrap();
    }

    async fn exited(&mut self) {
        until("the supervisor exits", || {
            std::future::ready(self.child.try_wait().unwrap().is_some())
        })
        .await;
    }
}

impl Drop for SupervisorProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        self.signal(Signal::SIGTERM);
        let deadline = std::time::Instant::now() + Duration::from_secs(25);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runner processes the test started itself, killed when dropped, even by a failing test.
struct Runners(Vec<Child>);

impl Drop for Runners {
    fn drop(&mut self) {
        for runner in &mut self.0 {
            let _ = runner.kill();
            let _ = runner.wait();
        }
    }
}

/// True once `pid` no longer runs (gone, or a zombie nobody reaped).
fn is_gone(pid: Pid) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

fn osis_job(payload: &str) -> JobBuilder {
    JobBuilder::new()
        .caller_id("faults")
        .context_id("ctx")
        .payload(payload)
        .executor("osis")
        .runner("osis_runner_1")
        .timeout(30)
}

/// A `sal` job that appends one mark to its own file under `marks` each time it runs, so
/// runs are counted by the file system, not by the system under test.
fn marked_job(marks: &Path, runner: &str, n: usize, retries: u32) -> (String, JobBuilder) {
    let id = uuid::Uuid::new_v4().to_string();
    let payload = format!(
        "append_file({:?}, \"x\"); sleep({}); \"done\"",
        marks.join(&id).display(),
        0.05 * f64::from(u32::try_from(n % 4).unwrap() + 1)
    );
    let job = JobBuilder::new()
        .id(&id)
        .caller_id("chaos")
        .payload(payload)
        .executor("sal")
        .runner(runner)
        .timeout(60)
        .retries(retries);
    (id, job)
}

fn runs(marks: &Path, id: &str) -> usize {
    std::fs::read_to_string(marks.join(id))
        .map(|s| s.len())
        .unwrap_or(0)
}

/// Final-state events only, of every job the admin secret sees.
async fn ends(client: &SupervisorClient) -> JobEvents {
    let filter: EventFilter =
        serde_json::from_value(serde_json::json!({"status": ["completed", "failed", "stopped"]}))
            .unwrap();
    bounded(client.jobs_subscribe(ADMIN, Some(filter)))
        .await
        .unwrap()
}

/// Counts the final events of `events` per job until the stream ends (the supervisor went
/// away) or, once `expected` jobs ended, for one more second: a second end would show.
fn count_ends(mut events: JobEvents, expected: usize) -> tokio::task::JoinHandle<Ends> {
    tokio::spawn(async move {
        let mut ends = Ends::default();
        let mut linger = None;
        loop {
            let next = match linger {
                None => events.next().await,
                Some(at) => match tokio::time::timeout_at(at, events.next()).await {
                    Ok(next) => next,
                    Err(_) => break,
                },
            };
            match next {
                Some(Ok(event)) => *ends.per_job.entry(event.job_id).or_default() += 1,
                Some(Err(error)) => {
                    ends.cut = Some(error.to_string());
                    break;
                }
                None => break,
            }
            if ends.per_job.len() == expected && linger.is_none() {
                linger = Some(tokio::time::Instant::now() + Duration::from_secs(1));
            }
        }
        ends
    })
}

#[derive(Default)]
struct Ends {
    per_job: HashMap<String, usize>,
    /// Why the subscription ended early, if it did.
    cut: Option<String>,
}

#[tokio::test]
async fn on_the_embedded_store_a_job_with_retries_outlives_its_killed_runner() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = SupervisorProcess::start(dir.path(), "osis_runner_1", "osis_runner", 1).await;
    let first = supervisor.runner_pid().await;
    let id = uuid::Uuid::new_v4().to_string();
    let job = osis_job("sleep(3); \"second try\"")
        .id(&id)
        .retries(1)
        .build()
        .unwrap();
    let waiting = {
        let client = supervisor.client.clone();
        tokio::spawn(async move { client.job_run(USER, job).await })
    };
    supervisor.until_running(&id).await;
    kill(first, Signal::SIGKILL).unwrap();

    let result = bounded(waiting).await.unwrap().unwrap();
    assert_eq!(result, JobResult::success("second try"));
    assert_ne!(
        supervisor.runner_pid().await,
        first,
        "the restarted runner ran it"
    );
}

#[tokio::test]
async fn on_the_embedded_store_a_job_without_retries_whose_runner_is_killed_fails_as_runner_lost() {
    let dir = tempfile::tempdir().unwrap();
    let supervisor = SupervisorProcess::start(dir.path(), "osis_runner_1", "osis_runner", 1).await;
    let runner = supervisor.runner_pid().await;
    let id = uuid::Uuid::new_v4().to_string();
    let job = osis_job("sleep(3); \"never\"").id(&id).build().unwrap();
    bounded(supervisor.client.jobs_create(USER, job))
        .await
        .unwrap();
    bounded(supervisor.client.job_start(USER, &id))
        .await
        .unwrap();
    supervisor.until_running(&id).await;
    kill(runner, Signal::SIGKILL).unwrap();

    let result = bounded(supervisor.client.job_result(&id)).await.unwrap();
    assert!(
        matches!(&result, JobResult::Error { error } if error.contains("runner lost")),
        "{result:?}"
    );
    assert_eq!(
        bounded(supervisor.client.job_status(&id))
            .await
            .unwrap()
            .status,
        JobStatus::Failed
    );
    let next = bounded(
        supervisor
            .client
            .job_run(USER, osis_job("1 + 1").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(next, JobResult::success("2"), "the restarted runner serves");
}

/// A `sal_runner` on the chaos queue reaching the embedded store through `socket`, started by
/// the test so that the test decides when it dies.
fn chaos_runner(socket: &Path, n: usize) -> Child {
    Command::new(workspace_binary("sal_runner"))
        .args(["--name", "chaos", "--id", &format!("chaos-{n}")])
        .args(["--access", "user"])
        .arg("--supervisor")
        .arg(format!("unix://{}", socket.display()))
        .args(["--concurrency", "4"])
        .args(["--lease-ms", LEASE_MS, "--heartbeat-ms", HEARTBEAT_MS])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// The embedded counterpart of the Redis chaos run: 300 jobs, half with retries, over three
/// runners on the runner socket of which one is killed with SIGKILL every 150–450 ms. Every
/// job ends, none ends twice, none without retries runs twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_store_jobs_under_random_runner_kills_all_end_exactly_once() {
    const JOBS: usize = 300;
    const RUNNERS: usize = 3;
    let marks_dir = tempfile::tempdir().unwrap();
    let marks = marks_dir.path().to_owned();
    let supervisor = common::TestSupervisor::start_with(|config| {
        config.redis_url = None;
        config.actors.clear();
        config.accept_unknown_runners = true;
    })
    .await;
    let client = supervisor.client.clone();
    let info = bounded(client.supervisor_info(ADMIN)).await.unwrap();
    assert_eq!(info.backend.kind, "embedded");
    let socket: PathBuf = supervisor.data_dir.path().join("runner.sock");
    let announcements = count_ends(ends(&client).await, JOBS);

    let killing = tokio::sync::watch::channel(false);
    let chaos = {
        let socket = socket.clone();
        let mut done = killing.1.clone();
        tokio::spawn(async move {
            let mut runners = Runners((0..RUNNERS).map(|n| chaos_runner(&socket, n)).collect());
            let mut kills = 0;
            loop {
                let pause = Duration::from_millis(rand::rng().random_range(150..450));
                if tokio::time::timeout(pause, done.changed()).await.is_ok() {
                    break;
                }
                let victim = rand::rng().random_range(0..runners.0.len());
                runners.0[victim].kill().unwrap();
                runners.0[victim].wait().unwrap();
                runners.0[victim] = chaos_runner(&socket, RUNNERS + kills);
                kills += 1;
            }
            drop(runners);
            kills
        })
    };

    let mut retries = BTreeMap::new();
    for n in 0..JOBS {
        let allowed = if n % 2 == 0 { 3 } else { 0 };
        let (id, job) = marked_job(&marks, "chaos", n, allowed);
        bounded(client.jobs_create(USER, job.build().unwrap()))
            .await
            .unwrap();
        bounded(client.job_start(USER, &id)).await.unwrap();
        retries.insert(id, allowed);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let pending = bounded(pending_jobs(&client)).await;
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} jobs never ended: lost or stuck"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    killing.0.send(true).unwrap();
    let kills = bounded(chaos).await.unwrap();
    let ends = bounded(announcements).await.unwrap();
    assert_eq!(ends.cut, None, "the subscription saw every event");

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut ran_twice_unasked = Vec::new();
    for (id, allowed) in &retries {
        let status = bounded(client.job_status(id)).await.unwrap().status;
        *by_status.entry(status.to_string()).or_default() += 1;
        let runs = runs(&marks, id);
        if runs > 1 && *allowed == 0 {
            ran_twice_unasked.push(id.clone());
        }
        if status == JobStatus::Completed {
            assert!(runs >= 1, "{id} completed without running");
        }
    }
    let duplicates: Vec<_> = ends.per_job.iter().filter(|(_, n)| **n > 1).collect();
    let lost = JOBS - ends.per_job.len();
    let _ = writeln!(
        std::io::stderr(),
        "embedded chaos: {JOBS} jobs, {kills} runner kills (SIGKILL), final states \
         {by_status:?}, lost {lost}, ended twice {}, run twice without retries {}",
        duplicates.len(),
        ran_twice_unasked.len()
    );
    assert_eq!(lost, 0, "every job's end was announced");
    assert!(duplicates.is_empty(), "jobs ended twice: {duplicates:?}");
    assert!(
        ran_twice_unasked.is_empty(),
        "jobs without retries ran twice: {ran_twice_unasked:?}"
    );
    assert!(kills > 0, "the run ended before any fault was injected");
    assert_eq!(by_status.values().sum::<usize>(), JOBS);
    supervisor.stop().await;
}

/// How many jobs are not final yet, from the supervisor's counts.
async fn pending_jobs(client: &SupervisorClient) -> u64 {
    let info = client.supervisor_info(ADMIN).await.unwrap();
    ["created", "queued", "running"]
        .iter()
        .map(|s| info.jobs.by_status.get(*s).copied().unwrap_or(0))
        .sum()
}

/// The supervisor is SIGKILLed while its runner drains a queue of jobs, half with retries;
/// its runner follows it down, and a supervisor started again on the same data directory
/// ends every acknowledged job exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_the_embedded_store_a_supervisor_killed_mid_drain_and_restarted_ends_every_job_once() {
    const JOBS: usize = 60;
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    let mut first = SupervisorProcess::start(dir.path(), "sal_runner_1", "sal_runner", 4).await;
    let runner = first.runner_pid().await;
    let before = count_ends(ends(&first.client).await, JOBS);

    let mut retries = BTreeMap::new();
    for n in 0..JOBS {
        let allowed = if n % 2 == 0 { 2 } else { 0 };
        let (id, job) = marked_job(&marks, "sal_runner_1", n, allowed);
        // Admin: `sal` runs jobs of admin secrets only by default.
        bounded(first.client.jobs_create(ADMIN, job.build().unwrap()))
            .await
            .unwrap();
        bounded(first.client.job_start(ADMIN, &id)).await.unwrap();
        retries.insert(id, allowed);
    }
    until("a few jobs completed", || async {
        let info = first.client.supervisor_info(ADMIN).await.unwrap();
        let done = info.jobs.by_status.get("completed").copied().unwrap_or(0);
        done >= 4
    })
    .await;

    first.signal(Signal::SIGKILL);
    first.exited().await;
    until("its runner followed it down", || {
        std::future::ready(is_gone(runner))
    })
    .await;
    let before = bounded(before).await.unwrap();
    assert!(
        before.per_job.len() < JOBS,
        "the kill came mid-drain, with jobs left to end"
    );

    let second = SupervisorProcess::start(dir.path(), "sal_runner_1", "sal_runner", 4).await;
    let after = count_ends(ends(&second.client).await, JOBS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let pending = bounded(pending_jobs(&second.client)).await;
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} jobs never ended after the restart: lost or stuck"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for (id, allowed) in &retries {
        let status = bounded(second.client.job_status(id)).await.unwrap().status;
        assert!(status.is_final(), "{id} is {status}");
        *by_status.entry(status.to_string()).or_default() += 1;
        let runs = runs(&marks, id);
        if *allowed == 0 {
            assert!(runs <= 1, "{id} ran {runs} times without retries");
        }
        if status == JobStatus::Completed {
            assert!(runs >= 1, "{id} completed without running");
        }
    }
    // The first supervisor's events stop with it: a job that ended as it died may have been
    // announced by neither; none may be announced twice.
    let mut seen = before.per_job;
    let after = {
        // Every job ended: the second subscription has nothing more to wait for.
        drop(second);
        bounded(after).await.unwrap()
    };
    for (id, n) in after.per_job {
        *seen.entry(id).or_default() += n;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let _ = writeln!(
        std::io::stderr(),
        "embedded supervisor kill: {JOBS} jobs, final states {by_status:?}, ended twice {}",
        twice.len()
    );
    assert!(twice.is_empty(), "jobs ended twice: {twice:?}");
    assert_eq!(by_status.values().sum::<usize>(), JOBS);
}
