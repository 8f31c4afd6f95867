//! The real `sal_runner` binary against a private Redis: system functions work in jobs, only
//! admins' jobs run unless the runner is told otherwise, and stop, timeout and concurrency
//! behave as for every runner.

#[path = "../../osis/tests/common/mod.rs"]
mod common;

use common::{
    RunnerProcess, assert_overlapped, connect, error_of, is_dead, job, output_of, read_pid,
    run_job, stop, submit, wait_final, wait_running,
};
use hero_job::{JobStatus, Level};
use hero_test_support::{RedisServer, TIMEOUT, eventually};

const QUEUE: &str = "sal_runner_1";
const BINARY: &str = env!("CARGO_BIN_EXE_sal_runner");

/// A sal job as the supervisor stores it for an admin secret.
fn sal(id: &str, payload: &str, timeout: u64) -> hero_job::JobBuilder {
    job(QUEUE, "sal", id, payload, timeout).level(Level::Admin)
}

/// A script that leaves a file behind if it runs at all.
fn writing(path: &std::path::Path) -> String {
    format!(r#"write_file("{}", "ran"); "ran""#, path.display())
}

#[tokio::test]
async fn a_sal_runner_started_by_hand_refuses_a_users_job_without_running_it() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let work = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let marker = work.path().join("user");
    let refused = run_job(
        &store,
        sal("user", &writing(&marker), 10).level(Level::User),
    )
    .await;
    assert_eq!(refused.status, JobStatus::Failed);
    let error = error_of(&refused);
    assert!(
        error.contains(QUEUE) && error.contains("admin secrets only"),
        "{error}"
    );
    assert!(!marker.exists(), "the refused script did not run");

    let marker = work.path().join("admin");
    let ran = run_job(&store, sal("admin", &writing(&marker), 10)).await;
    assert_eq!(output_of(&ran), "ran");
    assert!(marker.exists());
}

#[tokio::test]
async fn a_sal_runner_given_user_access_runs_a_users_job() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.env("HERO_RUNNER_ACCESS", "user");
    });
    let store = connect(&redis).await;
    let ran = run_job(&store, sal("user", "40 + 2", 10).level(Level::User)).await;
    assert_eq!(output_of(&ran), "42");
}

#[tokio::test]
async fn sal_runner_runs_files_and_commands() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let work = tempfile::tempdir().expect("a temporary directory");
    let mut runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let payload = format!(
        r#"
        let dir = "{}";
        write_file(dir + "/in.txt", env("WHO"));
        let copy = run_with("cp", ["in.txt", "out.txt"], #{{ cwd: dir }});
        print(copy.exit_code);
        read_file(dir + "/out.txt")
        "#,
        work.path().display()
    );
    let copied = run_job(&store, sal("copy", &payload, 10).env_var("WHO", "sal")).await;
    assert_eq!(output_of(&copied), "0\nsal");
    let on_disk = std::fs::read_to_string(work.path().join("out.txt")).expect("out.txt exists");
    assert_eq!(on_disk, "sal");

    let failing = run_job(&store, sal("missing", r#"run("no-such-program", [])"#, 10)).await;
    assert_eq!(failing.status, JobStatus::Failed);
    assert!(
        error_of(&failing).contains("cannot start `no-such-program`"),
        "{failing:?}"
    );

    assert!(runner.is_running());
    runner.terminate().await;
}

#[tokio::test]
async fn stop_and_timeout_interrupt_a_busy_loop() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let endless = run_job(&store, sal("endless", "loop {}", 1)).await;
    assert_eq!(endless.status, JobStatus::Failed);
    assert!(error_of(&endless).contains("timed out"), "{endless:?}");

    submit(&store, sal("busy", "loop {}", 600)).await;
    wait_running(&store, "busy").await;
    stop(&store, "busy").await;
    assert_eq!(wait_final(&store, "busy").await.status, JobStatus::Stopped);
}

#[tokio::test]
async fn stop_kills_the_running_command() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let work = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let pid_file = work.path().join("pid");
    let payload = format!(
        r#"run("sh", ["-c", "echo $$ > {}; exec sleep 600"])"#,
        pid_file.display()
    );
    submit(&store, sal("sleeper", &payload, 600)).await;
    let started = eventually(TIMEOUT, || {
        let written = read_pid(&pid_file).is_some();
        async move { written }
    })
    .await;
    assert!(started, "the command starts");
    let pid = read_pid(&pid_file).expect("the pid is written");

    stop(&store, "sleeper").await;
    assert_eq!(
        wait_final(&store, "sleeper").await.status,
        JobStatus::Stopped
    );
    let gone = eventually(TIMEOUT, || {
        let dead = is_dead(pid);
        async move { dead }
    })
    .await;
    assert!(gone, "the command is killed");
}

#[tokio::test]
async fn concurrency_2_runs_two_jobs_at_once() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.args(["--concurrency", "2"]);
    });
    let store = connect(&redis).await;

    submit(&store, sal("nap-1", "sleep(1)", 10)).await;
    submit(&store, sal("nap-2", "sleep(1)", 10)).await;
    let first = wait_final(&store, "nap-1").await;
    let second = wait_final(&store, "nap-2").await;
    assert_eq!(first.status, JobStatus::Completed);
    assert_eq!(second.status, JobStatus::Completed);
    assert_overlapped(&first, &second);
}
