//! The real `osis_runner` binary against a private Redis: jobs submitted through the store
//! run as Rhai scripts and end with the contract's results (§9).

use std::process::{Child, Command, Stdio};

use hero_job::{JobBuilder, JobRecord, JobResult, JobStatus};
use hero_store::Store;
use hero_store_redis::RedisStore;
use hero_test_support::{RedisServer, TIMEOUT, eventually};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

const QUEUE: &str = "osis_runner_1";
const NAMESPACE: &str = "osis-test";

/// The runner process, killed when the test ends however it ends.
struct RunnerProcess(Child);

impl RunnerProcess {
    fn start(redis: &RedisServer, db_path: &std::path::Path) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_osis_runner"))
            .args(["--id", QUEUE, "--name", QUEUE])
            .arg("--db-path")
            .arg(db_path)
            .args(["--redis-url", &redis.url(), "--namespace", NAMESPACE])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the osis_runner binary starts");
        Self(child)
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        // The child may already have exited; either way it must not outlive the test.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run_job(store: &RedisStore, id: &str, payload: &str, timeout: u64) -> JobRecord {
    let job = JobBuilder::new()
        .id(id)
        .payload(payload)
        .executor("osis")
        .runner(QUEUE)
        .timeout(timeout)
        .build()
        .expect("a valid job");
    store.submit_job(&job).await.expect("submit");
    let record = tokio::time::timeout(TIMEOUT, store.wait_final(id, TIMEOUT))
        .await
        .expect("wait_final returns within its timeout")
        .expect("the job exists");
    assert!(record.status.is_final(), "{id} is still {}", record.status);
    record
}

fn error_of(record: &JobRecord) -> &str {
    match &record.result {
        Some(JobResult::Error { error }) => error,
        other => panic!("expected an error result, got {other:?}"),
    }
}

#[tokio::test]
async fn osis_runner_runs_scripts_and_enforces_timeouts() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let mut runner = RunnerProcess::start(&redis, db.path());
    let store = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");

    let sum = run_job(&store, "sum", "40 + 2", 10).await;
    assert_eq!(sum.status, JobStatus::Completed);
    let wire = serde_json::to_value(&sum.result).expect("results serialize");
    assert_eq!(wire, serde_json::json!({"success": "42"}));

    let hello = run_job(&store, "hello", r#"print("Hello")"#, 10).await;
    assert_eq!(hello.result, Some(JobResult::success("Hello")));

    let boom = run_job(&store, "boom", r#"throw "boom""#, 10).await;
    assert_eq!(boom.status, JobStatus::Failed);
    assert!(error_of(&boom).contains("boom"), "{boom:?}");

    let endless = run_job(&store, "endless", "loop {}", 1).await;
    assert_eq!(endless.status, JobStatus::Failed);
    assert!(error_of(&endless).contains("timed out"), "{endless:?}");

    // Still alive after all of that: nothing above crashed the runner.
    assert!(runner.0.try_wait().expect("child status").is_none());

    let pid = Pid::from_raw(i32::try_from(runner.0.id()).expect("pids fit in i32"));
    kill(pid, Signal::SIGTERM).expect("the runner can be signalled");
    let exited = eventually(TIMEOUT, || {
        let exited = runner.0.try_wait().expect("child status").is_some();
        async move { exited }
    })
    .await;
    assert!(exited, "the runner exits on SIGTERM");
    let status = runner.0.wait().expect("the exit status");
    assert!(status.success(), "SIGTERM is a clean shutdown: {status}");
}
