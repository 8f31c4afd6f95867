//! The real `osis_runner` binary against a private Redis: jobs submitted through the store
//! run as Rhai scripts and end with the contract's results (§9).

mod common;

use common::{
    RunnerProcess, assert_overlapped, connect, error_of, job, output_of, run_job, stop, submit,
    wait_final, wait_running,
};
use hero_job::{JobResult, JobStatus};
use hero_test_support::{RedisServer, TIMEOUT, eventually};

const QUEUE: &str = "osis_runner_1";
const BINARY: &str = env!("CARGO_BIN_EXE_osis_runner");

fn osis(id: &str, payload: &str, timeout: u64) -> hero_job::JobBuilder {
    job(QUEUE, "osis", id, payload, timeout)
}

#[tokio::test]
async fn osis_runner_runs_scripts_and_enforces_timeouts() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let mut runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let sum = run_job(&store, osis("sum", "40 + 2", 10)).await;
    assert_eq!(sum.status, JobStatus::Completed);
    let wire = serde_json::to_value(&sum.result).expect("results serialize");
    assert_eq!(wire, serde_json::json!({"success": "42"}));

    let hello = run_job(&store, osis("hello", r#"print("Hello")"#, 10)).await;
    assert_eq!(hello.result, Some(JobResult::success("Hello")));

    let env = osis("env", r#"ENV["WHO"] + "!""#, 10).env_var("WHO", "me");
    assert_eq!(output_of(&run_job(&store, env).await), "me!");

    let boom = run_job(&store, osis("boom", r#"throw "boom""#, 10)).await;
    assert_eq!(boom.status, JobStatus::Failed);
    assert!(error_of(&boom).contains("boom"), "{boom:?}");

    let endless = run_job(&store, osis("endless", "loop {}", 1)).await;
    assert_eq!(endless.status, JobStatus::Failed);
    assert!(error_of(&endless).contains("timed out"), "{endless:?}");

    // Still alive after all of that: nothing above crashed the runner.
    assert!(runner.is_running());
    runner.terminate().await;
}

#[tokio::test]
async fn stop_interrupts_a_busy_loop() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    submit(&store, osis("busy", "loop {}", 600)).await;
    wait_running(&store, "busy").await;
    stop(&store, "busy").await;
    let busy = wait_final(&store, "busy").await;
    assert_eq!(busy.status, JobStatus::Stopped, "{busy:?}");

    // The runner is free again.
    assert_eq!(
        output_of(&run_job(&store, osis("next", "1", 10)).await),
        "1"
    );
}

#[tokio::test]
async fn the_store_is_scoped_by_context_and_survives_a_restart() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let store = connect(&redis).await;

    let first = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    for (id, context) in [("set-a", "alice"), ("set-b", "bob")] {
        let payload = format!(r#"kv_set("owner", "{context}"); kv_set("{context}:only", 1)"#);
        let set = run_job(&store, osis(id, &payload, 10).context_id(context)).await;
        assert_eq!(set.status, JobStatus::Completed, "{set:?}");
    }
    first.terminate().await;

    let _second = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let read = r#"[kv_get("owner"), kv_keys()]"#;
    for (id, context, expected) in [
        ("get-a", "alice", r#"["alice", ["alice:only", "owner"]]"#),
        ("get-b", "bob", r#"["bob", ["bob:only", "owner"]]"#),
        ("get-c", "carol", "[(), []]"),
        ("get-none", "", "[(), []]"),
    ] {
        let got = run_job(&store, osis(id, read, 10).context_id(context)).await;
        assert_eq!(output_of(&got), expected, "context {context:?}");
    }
}

#[tokio::test]
async fn concurrency_2_runs_two_jobs_at_once() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.args(["--concurrency", "2"]);
    });
    let store = connect(&redis).await;

    submit(&store, osis("nap-1", "sleep(1)", 10)).await;
    submit(&store, osis("nap-2", "sleep(1)", 10)).await;
    let first = wait_final(&store, "nap-1").await;
    let second = wait_final(&store, "nap-2").await;
    assert_eq!(first.status, JobStatus::Completed);
    assert_eq!(second.status, JobStatus::Completed);
    assert_overlapped(&first, &second);
}

#[tokio::test]
async fn printed_lines_reach_the_runner_log_with_the_job_id() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let payload = r#"print("first line"); print("second line")"#;
    let printed = run_job(&store, osis("printer", payload, 10)).await;
    assert_eq!(output_of(&printed), "first line\nsecond line");
    let logged = eventually(TIMEOUT, || {
        let log = runner.log();
        async move {
            ["first line", "second line"].iter().all(|text| {
                log.lines()
                    .any(|line| line.contains(text) && line.contains("job=printer"))
            })
        }
    })
    .await;
    assert!(
        logged,
        "both lines are logged with the job id:\n{}",
        runner.log()
    );
}

#[tokio::test]
async fn limits_come_from_the_environment() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.env("OSIS_MAX_OPERATIONS", "1000");
    });
    let store = connect(&redis).await;

    let spin = run_job(&store, osis("spin", "loop {}", 10)).await;
    assert!(
        error_of(&spin).starts_with("script exceeded the limit of 1000 operations"),
        "{spin:?}"
    );
}

#[tokio::test]
async fn a_bad_limit_or_a_missing_db_path_stops_start_up_with_one_line() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let bad_limit = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.env("OSIS_MAX_CALL_DEPTH", "deep");
    });
    let (status, log) = bad_limit.exited().await;
    assert_eq!(status.code(), Some(1), "{log}");
    assert_eq!(
        log.lines().last(),
        Some(
            "error: setting up the executor: `OSIS_MAX_CALL_DEPTH` is `deep`; \
             expected a whole number of at least 1"
        )
    );

    let no_db = RunnerProcess::spawn(RunnerProcess::command(BINARY, QUEUE, &redis));
    let (status, log) = no_db.exited().await;
    assert_eq!(status.code(), Some(1), "{log}");
    let last = log.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: setting up the executor: --db-path is required"),
        "{log}"
    );
}

#[tokio::test]
async fn an_exceeded_limit_fails_only_its_job_at_once_and_the_runner_keeps_running() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let mut runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |command| {
        command.env("OSIS_MAX_KV_BYTES", "1000");
    });
    let store = connect(&redis).await;

    // A neighbour that runs through every failure below.
    let neighbour = r#"kv_set("n", 1); sleep(2); "neighbour done""#;
    submit(&store, osis("neighbour", neighbour, 30).context_id("ctx")).await;
    wait_running(&store, "neighbour").await;

    let nesting = "let a = []; for i in 0..100000 { a = [a]; } a";
    let large_map = r#"let s = "x"; s.pad(5000000, "x");
        let m = #{}; for i in 0..300 { m[`k${i}`] = s; } m.len()"#;
    let quota = r#"let v = "x"; v.pad(600, "x"); kv_set("a", v);
        try { kv_set("b", v) } catch { print("caught") }"#;
    for (id, payload, expected) in [
        (
            "nesting",
            nesting,
            "data exceeded the limit of 64 levels of nesting",
        ),
        (
            "large-map",
            large_map,
            "a string exceeded the limit of 10485760 bytes",
        ),
        (
            "quota",
            quota,
            "the key-value store of the job's context exceeded the limit of 1000 bytes",
        ),
    ] {
        // Each limit fails well before the job's own timeout.
        let failed = run_job(&store, osis(id, payload, 600).context_id("ctx")).await;
        assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
        assert!(error_of(&failed).starts_with(expected), "{failed:?}");
    }

    // The failed write took no room: the context still has its other 600 bytes.
    let room = r#"kv_exists("b") + " " + kv_get("a").len()"#;
    let room = run_job(&store, osis("room", room, 10).context_id("ctx")).await;
    assert_eq!(output_of(&room), "false 600");
    let other = r#"let v = "y"; v.pad(900, "y"); kv_set("c", v); "stored""#;
    let other = run_job(&store, osis("other", other, 10).context_id("other-ctx")).await;
    assert_eq!(output_of(&other), "stored", "the quota is per context");

    let neighbour = wait_final(&store, "neighbour").await;
    assert_eq!(output_of(&neighbour), "neighbour done");
    assert!(runner.is_running());
    runner.terminate().await;
}

#[tokio::test]
async fn the_seeds_single_quoted_hello_world_runs() {
    let redis = RedisServer::start();
    let db = tempfile::tempdir().expect("a temporary directory");
    let _runner = RunnerProcess::start(BINARY, QUEUE, &redis, db.path(), |_| {});
    let store = connect(&redis).await;

    let hello = run_job(&store, osis("hello", "print('Hello World')", 10)).await;
    assert_eq!(hello.result, Some(JobResult::success("Hello World")));
}
