//! The runner protocol is language-neutral: `examples/python_runner/runner.py`, a runner in
//! Python built on the protocol alone, serves a real supervisor's jobs.
//!
//! It needs `python3` with the `redis` package, which `scripts/setup` installs; without them
//! these tests fail and say so.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{ADMIN, REGISTER, TestSupervisor, USER, bounded, until};
use hero_supervisor_openrpc_client::{JobBuilder, JobResult, JobStatus};
use hero_test_support::TIMEOUT;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::time::Instant;

const RUNNER: &str = "py_runner";

/// `examples/python_runner/runner.py` as a child process, killed when dropped.
struct PythonRunner {
    child: Child,
    /// Its stderr, shown when an assertion about it fails.
    log: PathBuf,
}

impl PythonRunner {
    /// Starts the runner against `sup`'s Redis, in the harness's namespace.
    fn start(sup: &TestSupervisor) -> Self {
        Self::start_with(sup, &[])
    }

    /// Starts the runner with `extra` flags.
    fn start_with(sup: &TestSupervisor, extra: &[&str]) -> Self {
        require_python();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/python_runner/runner.py");
        let log = sup.data_dir.path().join("py_runner.log");
        let child = Command::new("python3")
            .arg(&script)
            .args(["--name", RUNNER, "--redis-url", &sup.redis.url()])
            .args(["--namespace", "test"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the runner to exit.
    async fn terminate(mut self) -> ExitStatus {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        kill(pid, Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the runner did not exit on SIGTERM:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for PythonRunner {
    fn drop(&mut self) {
        // After `terminate` the child is already reaped and both calls fail harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails, rather than skips, when the runner cannot work here.
fn require_python() {
    let found = Command::new("python3")
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    assert!(
        found.is_ok_and(|status| status.success()),
        "the Python runner needs python3 with the `redis` package: run scripts/setup"
    );
}

/// A supervisor starting no runner of its own, and the Python runner beside it.
async fn start() -> (TestSupervisor, PythonRunner) {
    let sup = TestSupervisor::start_with(|c| c.actors.clear()).await;
    // Registered as an operator would, so jobs are accepted before its first claim.
    bounded(sup.client.register_runner(REGISTER, RUNNER, None))
        .await
        .unwrap();
    let runner = PythonRunner::start(&sup);
    (sup, runner)
}

async fn stop(sup: TestSupervisor, runner: PythonRunner) {
    let status = runner.terminate().await;
    assert!(status.success(), "the runner exited with {status}");
    sup.stop().await;
}

fn job(payload: &str) -> JobBuilder {
    JobBuilder::new()
        .caller_id("tests")
        .payload(payload)
        .executor("python")
        .runner(RUNNER)
        .timeout(20)
}

async fn run(sup: &TestSupervisor, job: JobBuilder) -> JobResult {
    bounded(sup.client.job_run(USER, job.build().unwrap()))
        .await
        .unwrap()
}

async fn status(sup: &TestSupervisor, id: &str) -> JobStatus {
    bounded(sup.client.job_status(id)).await.unwrap().status
}

/// Submits `job` and returns its id once the runner has claimed it.
async fn start_running(sup: &TestSupervisor, job: JobBuilder) -> String {
    let id = bounded(sup.client.jobs_create(USER, job.build().unwrap()))
        .await
        .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    until("the runner claims the job", || async {
        status(sup, &id).await == JobStatus::Running
    })
    .await;
    id
}

#[tokio::test]
async fn python_payloads_complete_with_their_value_and_see_their_env() {
    let (sup, runner) = start().await;
    assert_eq!(run(&sup, job("6 * 7")).await, JobResult::success("42"));
    let greeting = job("'hello ' + env['NAME'].upper()").env_var("NAME", "world");
    assert_eq!(run(&sup, greeting).await, JobResult::success("hello WORLD"));
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_raising_payload_fails_with_the_exception() {
    let (sup, runner) = start().await;
    let result = run(&sup, job("int('forty-two')")).await;
    assert_eq!(
        result,
        JobResult::error("ValueError: invalid literal for int() with base 10: 'forty-two'")
    );
    let result = run(&sup, job("__import__('os')")).await;
    assert_eq!(
        result,
        JobResult::error("NameError: name '__import__' is not defined")
    );
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_payload_past_its_timeout_fails() {
    let (sup, runner) = start().await;
    let result = run(&sup, job("sleep(10)").timeout(1)).await;
    assert_eq!(result, JobResult::error("job timed out after 1s"));
    stop(sup, runner).await;
}

#[tokio::test]
async fn stopping_a_running_python_job_ends_it_stopped_promptly() {
    let (sup, runner) = start().await;
    let id = start_running(&sup, job("sleep(30)").timeout(60)).await;
    let asked = Instant::now();
    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    // Heartbeats every 500 ms deliver the stop; the supervisor's own fallback takes 5 s.
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "the stop took {:?}",
        asked.elapsed()
    );
    assert_eq!(status(&sup, &id).await, JobStatus::Stopped);
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(
        result,
        JobResult::error("job stopped"),
        "the runner itself reports the stop:\n{}",
        runner.log()
    );
    stop(sup, runner).await;
}

#[tokio::test]
async fn sigterm_lets_the_running_job_finish_then_the_runner_exits_cleanly() {
    let (sup, runner) = start().await;
    let id = start_running(&sup, job("sleep(1) or 'done'")).await;
    let status = runner.terminate().await;
    assert!(status.success(), "the runner exited with {status}");
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("done"));
    sup.stop().await;
}

#[tokio::test]
async fn a_python_runner_never_reports_a_deleted_run_into_a_job_reusing_its_id() {
    let (sup, runner) = start().await;
    let id = start_running(&sup, job("sleep(2) or 'old'").id("dup")).await;
    bounded(sup.client.job_delete(USER, &id)).await.unwrap();
    let result = run(&sup, job("sleep(3) or 'new'").id("dup")).await;
    assert_eq!(result, JobResult::success("new"), "{}", runner.log());
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_python_runner_refuses_a_job_of_another_executor() {
    let (sup, runner) = start().await;
    let result = run(&sup, job("6 * 7").executor("osis")).await;
    assert_eq!(
        result,
        JobResult::error(format!("runner {RUNNER} runs executor python, not osis"))
    );
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_python_runner_with_admin_access_refuses_a_users_job_and_runs_an_admins() {
    let sup = TestSupervisor::start_with(|c| c.actors.clear()).await;
    bounded(sup.client.register_runner(REGISTER, RUNNER, None))
        .await
        .unwrap();
    let runner = PythonRunner::start_with(&sup, &["--access", "admin"]);
    let result = run(&sup, job("6 * 7")).await;
    assert_eq!(
        result,
        JobResult::error(format!(
            "runner {RUNNER} runs jobs of admin secrets only; this job was submitted with a user secret"
        )),
        "{}",
        runner.log()
    );
    let by_admin = bounded(sup.client.job_run(ADMIN, job("6 * 7").build().unwrap()))
        .await
        .unwrap();
    assert_eq!(by_admin, JobResult::success("42"), "{}", runner.log());
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_python_payloads_progress_shows_in_job_status() {
    let (sup, runner) = start().await;
    let id = bounded(sup.client.jobs_create(
        USER,
        job("progress(40, 'py half') or 'done'").build().unwrap(),
    ))
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("done"), "{}", runner.log());
    let info = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(
        info.progress,
        Some(hero_supervisor_openrpc_client::Progress::new(40, "py half"))
    );
    let bad = run(&sup, job("progress(101)")).await;
    match bad {
        JobResult::Error { error } => assert!(error.contains("progress:"), "{error}"),
        other => panic!("expected an error, got {other:?}"),
    }
    stop(sup, runner).await;
}

#[tokio::test]
async fn a_python_runner_serves_priority_jobs_and_its_failed_runs_are_retried() {
    let (sup, runner) = start().await;
    assert_eq!(
        run(&sup, job("6 * 7").priority(7)).await,
        JobResult::success("42"),
        "a priority job reaches a runner blocked on its priority-0 list"
    );
    let raising = job("1 / 0")
        .id("py-retried")
        .retry_on_error(true)
        .retries(1)
        .retry_backoff_secs(0);
    let JobResult::Error { error } = run(&sup, raising).await else {
        panic!("a raising payload fails");
    };
    assert!(error.contains("ZeroDivisionError"), "{error}");
    let status = bounded(sup.client.job_status("py-retried")).await.unwrap();
    assert_eq!(
        (status.status, status.attempt),
        (JobStatus::Failed, 2),
        "its finish.lua call retried the first failure"
    );
    stop(sup, runner).await;
}
