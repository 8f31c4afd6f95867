//! The runner endpoint: runners that reach the store through the supervisor's Unix socket
//! (`--supervisor unix://PATH`) instead of Redis. The runners here are given a Redis URL
//! nobody listens on, so every job they run went through the socket.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{ADMIN, REGISTER, USER, bounded, until};
use hero_job::{JobResult, JobStatus};
use hero_supervisor::config::ActorTransport;
use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::JobBuilder;
use hero_test_support::TIMEOUT;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::process::Child;

/// A supervisor with no actors that accepts jobs for runners it has not met yet, so each
/// test starts its own runners on the socket.
async fn supervisor() -> common::TestSupervisor {
    common::TestSupervisor::start_with(|config| {
        config.actors.clear();
        config.accept_unknown_runners = true;
    })
    .await
}

fn socket(sup: &common::TestSupervisor) -> PathBuf {
    sup.data_dir.path().join("runner.sock")
}

/// An `osis_runner` on queue `name` that reaches the store through the supervisor only.
fn runner_on_socket(sup: &common::TestSupervisor, name: &str) -> Child {
    tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
        .args(["--name", name, "--redis-url", "redis://127.0.0.1:1"])
        .arg("--supervisor")
        .arg(format!("unix://{}", socket(sup).display()))
        .args(["--lease-ms", "1500", "--heartbeat-ms", "200", "--db-path"])
        .arg(sup.data_dir.path().join(format!("{name}_db")))
        .env_clear()
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

fn job(runner: &str, payload: &str) -> JobBuilder {
    common::job(payload)
        .runner(runner)
        .id(uuid::Uuid::new_v4().to_string())
}

/// A runner's side of the socket, spoken by hand: one request, then its answer.
struct Socket {
    stream: BufReader<UnixStream>,
    next_id: u64,
}

impl Socket {
    async fn connect(path: &Path) -> Self {
        Self {
            stream: BufReader::new(bounded(UnixStream::connect(path)).await.unwrap()),
            next_id: 1,
        }
    }

    async fn send_line(&mut self, line: &str) -> Value {
        let stream = self.stream.get_mut();
        stream.write_all(line.as_bytes()).await.unwrap();
        stream.write_all(b"\n").await.unwrap();
        let mut answer = String::new();
        bounded(self.stream.read_line(&mut answer)).await.unwrap();
        serde_json::from_str(&answer).unwrap()
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let request =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let answer = self.send_line(&request.to_string()).await;
        assert_eq!(answer["id"], self.next_id, "{answer}");
        answer
    }

    async fn claim(&mut self, queue: &str, worker: &str, lease_ms: u64, wait_ms: u64) -> Value {
        let params = json!({"queue": queue, "worker": worker, "lease_ms": lease_ms,
            "wait_ms": wait_ms, "most": 1});
        let answer = self.call("runner.claim", params).await;
        answer["result"].clone()
    }
}

#[tokio::test]
async fn jobs_run_to_completion_and_fail_through_the_socket() {
    let sup = supervisor().await;
    let _runner = runner_on_socket(&sup, "on_socket");

    let done = bounded(sup.client.job_run(
        USER,
        job("on_socket", "print(\"hi\"); 40 + 2").build().unwrap(),
    ))
    .await
    .unwrap();
    assert_eq!(
        done,
        JobResult::Success {
            success: "hi\n42".into()
        }
    );

    let failing = job("on_socket", "throw \"boom\"").build().unwrap();
    let id = failing.id.clone();
    let failed = bounded(sup.client.job_run(USER, failing)).await.unwrap();
    assert!(
        matches!(&failed, JobResult::Error { error } if error.contains("boom")),
        "{failed:?}"
    );
    let status = sup.client.job_status(&id).await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
}

#[tokio::test]
async fn an_actor_with_the_supervisor_transport_runs_jobs_through_the_socket() {
    let sup = common::TestSupervisor::start_with(|config| {
        config.actors[0].transport_choice = Some(ActorTransport::Supervisor);
        // A Redis nobody serves: the job can only run if the runner uses the socket.
        config.actors[0]
            .env
            .insert("HERO_REDIS_URL".into(), "redis://127.0.0.1:1".into());
    })
    .await;
    let done = bounded(
        sup.client
            .job_run(USER, common::job("40 + 2").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        done,
        JobResult::Success {
            success: "42".into()
        }
    );
}

#[tokio::test]
async fn a_runner_killed_mid_job_has_its_job_finished_by_another_on_the_socket() {
    let sup = supervisor().await;
    let mut first = runner_on_socket(&sup, "killed");
    let job = job("killed", "sleep(2); \"second try\"")
        .retries(1)
        .build()
        .unwrap();
    let id = job.id.clone();
    let waiting = {
        let client = sup.client.clone();
        tokio::spawn(async move { client.job_run(USER, job).await })
    };
    until("the first runner runs the job", || async {
        // Not found until the call spawned above has submitted it.
        matches!(sup.client.job_status(&id).await, Ok(s) if s.status == JobStatus::Running)
    })
    .await;
    first.start_kill().unwrap();
    bounded(first.wait()).await.unwrap();

    let _second = runner_on_socket(&sup, "killed");
    let result = bounded(waiting).await.unwrap().unwrap();
    assert_eq!(
        result,
        JobResult::Success {
            success: "second try".into()
        }
    );
}

#[tokio::test]
async fn a_late_report_from_an_old_attempt_is_refused() {
    let sup = supervisor().await;
    let mut socket = Socket::connect(&socket(&sup)).await;
    let job = job("fenced", "1").retries(1).build().unwrap();
    let id = bounded(sup.client.jobs_create(USER, job)).await.unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();

    let first = socket.claim("fenced", "w1", 300, 5_000).await;
    assert_eq!(first[0]["job"]["id"], id.as_str(), "{first}");
    let old_token = first[0]["token"].clone();
    // w1 never renews its lease: the reaper gives the job back to the queue for w2.
    let mut second = json!([]);
    let deadline = Instant::now() + TIMEOUT;
    while second.as_array().is_none_or(Vec::is_empty) {
        assert!(Instant::now() < deadline, "the job was never requeued");
        second = socket.claim("fenced", "w2", 10_000, 1_000).await;
    }
    let new_token = second[0]["token"].clone();
    assert_ne!(old_token, new_token);

    let old = json!({"id": id, "token": old_token});
    let late = socket
        .call(
            "runner.finish",
            json!({"worker": "w1", "attempt": old, "status": "completed",
                "result": {"success": "old"}}),
        )
        .await;
    assert_eq!(late["result"], false, "{late}");
    let progress = socket
        .call(
            "runner.progress",
            json!({"worker": "w1", "attempt": old, "progress": {"percent": 50, "message": "old"}}),
        )
        .await;
    assert_eq!(progress["result"], false, "{progress}");

    let current = json!({"id": id, "token": new_token});
    let taken = socket
        .call(
            "runner.finish",
            json!({"worker": "w2", "attempt": current, "status": "completed",
                "result": {"success": "new"}}),
        )
        .await;
    assert_eq!(taken["result"], true, "{taken}");
    assert_eq!(
        sup.client.job_result(&id).await.unwrap(),
        JobResult::Success {
            success: "new".into()
        }
    );
}

#[tokio::test]
async fn a_long_poll_claim_returns_as_soon_as_a_job_arrives() {
    // Jobs for a runner never seen are refused, so the first job accepted proves the claim
    // below has reached the store and is waiting.
    let sup = common::TestSupervisor::start_with(|config| config.actors.clear()).await;
    let path = socket(&sup);
    let started = Instant::now();
    let claiming = tokio::spawn(async move {
        let mut socket = Socket::connect(&path).await;
        socket.claim("polled", "w1", 10_000, 30_000).await
    });
    let job = job("polled", "1").build().unwrap();
    let id = job.id.clone();
    until("the waiting claim makes the runner known", || async {
        sup.client.jobs_create(USER, job.clone()).await.is_ok()
    })
    .await;
    assert!(
        !claiming.is_finished(),
        "the claim waits while no job is queued"
    );
    bounded(sup.client.job_start(USER, &id)).await.unwrap();

    let claimed = bounded(claiming).await.unwrap();
    assert_eq!(claimed[0]["job"]["id"], id.as_str(), "{claimed}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the claim answered when the job came, not at the end of its 30 s wait"
    );
    assert_eq!(
        sup.client.job_status(&id).await.unwrap().status,
        JobStatus::Running
    );
}

#[tokio::test]
async fn a_long_poll_claim_with_no_job_returns_empty_after_its_wait() {
    let sup = supervisor().await;
    let mut socket = Socket::connect(&socket(&sup)).await;
    let started = Instant::now();
    let claimed = socket.claim("empty", "w1", 10_000, 500).await;
    assert_eq!(claimed, json!([]));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(5),
        "waited {waited:?}"
    );
}

#[tokio::test]
async fn the_socket_is_readable_by_the_supervisors_user_only_and_removed_at_shutdown() {
    let elsewhere = tempfile::tempdir().unwrap();
    let path = elsewhere.path().join("runners.sock");
    let configured = path.clone();
    let sup = common::TestSupervisor::start_with(|config| {
        config.actors.clear();
        config.runner_endpoint.socket = Some(configured);
    })
    .await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    assert!(
        !socket(&sup).exists(),
        "only the configured socket is served"
    );

    sup.stop().await;
    assert!(!path.exists(), "the socket is removed at shutdown");
}

#[tokio::test]
async fn a_stale_socket_is_replaced_and_a_live_one_left_to_its_supervisor() {
    let redis = hero_test_support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runner.sock");
    // A socket file nobody listens on, as a supervisor killed with SIGKILL leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());

    let mut config = common::config(&redis, dir.path());
    config.actors.clear();
    let start = |config| async {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        bounded(hero_supervisor::start(config, listener)).await
    };
    let first = start(config.clone()).await.unwrap();
    let mut socket = Socket::connect(&path).await;
    let health = socket.call("runner.health", json!({})).await;
    assert_eq!(health["result"], Value::Null, "{health}");

    // A second supervisor on the same data directory that does not need the socket
    // starts without one; one that needs it is refused, naming the socket.
    let second = start(config.clone()).await.unwrap();
    let mut needing = config.clone();
    needing.runner_endpoint.socket = Some(path.clone());
    let error = match start(needing).await {
        Ok(_) => panic!("a second supervisor took over a socket still served"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("runner.sock"), "{error}");
    let health = socket.call("runner.health", json!({})).await;
    assert_eq!(health["result"], Value::Null, "the first still serves");

    bounded(second.serve_until(async {})).await;
    assert!(
        path.exists(),
        "the second leaves the first one's socket alone"
    );
    bounded(first.serve_until(async {})).await;
    assert!(!path.exists(), "the socket is removed at shutdown");
}

#[tokio::test]
async fn a_runner_on_the_socket_carries_on_across_a_supervisor_restart() {
    let redis = hero_test_support::RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let start = || async {
        let mut config = common::config(&redis, dir.path());
        config.actors.clear();
        config.accept_unknown_runners = true;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let running = bounded(hero_supervisor::start(config, listener))
            .await
            .unwrap();
        let client = hero_supervisor_openrpc_client::SupervisorClient::new(running.url()).unwrap();
        (running, client)
    };
    // Started before any supervisor serves: it keeps trying until one does.
    let _runner = tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
        .args(["--name", "restarted", "--redis-url", "redis://127.0.0.1:1"])
        .arg("--db-path")
        .arg(dir.path().join("restarted_db"))
        .arg("--supervisor")
        .arg(format!(
            "unix://{}",
            dir.path().join("runner.sock").display()
        ))
        .env_clear()
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let (first, client) = start().await;
    let answer = bounded(client.job_run(USER, job("restarted", "1 + 1").build().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        answer,
        JobResult::Success {
            success: "2".into()
        }
    );
    bounded(first.serve_until(async {})).await;

    let (second, client) = start().await;
    let answer = bounded(client.job_run(USER, job("restarted", "2 + 2").build().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        answer,
        JobResult::Success {
            success: "4".into()
        }
    );
    bounded(second.serve_until(async {})).await;
}

/// An `osis_runner` on queue `name` that reaches the store through the supervisor's API.
fn runner_over_http(sup: &common::TestSupervisor, name: &str, secret: &str) -> Child {
    tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
        .args(["--name", name, "--redis-url", "redis://127.0.0.1:1"])
        .args(["--supervisor", &sup.url, "--db-path"])
        .arg(sup.data_dir.path().join(format!("{name}_db")))
        .env_clear()
        .env("HERO_RUNNER_SECRET", secret)
        .kill_on_drop(true)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_runner_over_http_with_a_register_secret_runs_and_fails_jobs() {
    let sup = supervisor().await;
    let _runner = runner_over_http(&sup, "over_http", REGISTER);

    let done = bounded(
        sup.client
            .job_run(USER, job("over_http", "40 + 2").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        done,
        JobResult::Success {
            success: "42".into()
        }
    );
    let failed = bounded(
        sup.client
            .job_run(USER, job("over_http", "throw \"boom\"").build().unwrap()),
    )
    .await
    .unwrap();
    assert!(
        matches!(&failed, JobResult::Error { error } if error.contains("boom")),
        "{failed:?}"
    );
}

#[tokio::test]
async fn the_runner_methods_on_the_api_need_a_register_or_admin_secret() {
    let sup = supervisor().await;
    for secret in [USER, "wrong-secret"] {
        let code = sup
            .error_code(
                "runner.claim",
                json!({"secret": secret, "queue": "q", "worker": "w", "lease_ms": 1000,
                       "wait_ms": 0, "most": 1}),
            )
            .await;
        assert_eq!(code, i64::from(codes::UNAUTHORIZED), "{secret}");
    }
    let answer = sup.call("runner.health", json!({"secret": ADMIN})).await;
    assert_eq!(answer["result"], Value::Null, "{answer}");

    // A runner given a user's secret says why and stops, rather than retrying for ever.
    let runner = runner_over_http(&sup, "refused", USER);
    let output = bounded(runner.wait_with_output()).await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unauthorized"), "{stderr}");
    assert!(
        !stderr.contains(USER),
        "the secret is never printed: {stderr}"
    );
}

#[tokio::test]
async fn malformed_requests_get_clear_errors_and_the_connection_serves_on() {
    let sup = supervisor().await;
    let mut socket = Socket::connect(&socket(&sup)).await;

    let garbage = socket.send_line("{not json").await;
    assert_eq!(garbage["error"]["code"], codes::PARSE_ERROR, "{garbage}");
    let unknown = socket.call("jobs.list", json!({})).await;
    assert_eq!(
        unknown["error"]["code"],
        codes::METHOD_NOT_FOUND,
        "{unknown}"
    );
    let positional = socket.call("runner.claim", json!(["q", "w"])).await;
    assert_eq!(
        positional["error"]["code"],
        codes::INVALID_PARAMS,
        "{positional}"
    );
    let not_final = socket
        .call(
            "runner.finish",
            json!({"worker": "w", "attempt": {"id": "x", "token": 1}, "status": "running",
                "result": {"success": ""}}),
        )
        .await;
    assert_eq!(
        not_final["error"]["code"],
        codes::INVALID_PARAMS,
        "{not_final}"
    );
    let no_lease = socket
        .call(
            "runner.claim",
            json!({"queue": "q", "worker": "w", "lease_ms": 0, "wait_ms": 0, "most": 1}),
        )
        .await;
    assert_eq!(
        no_lease["error"]["code"],
        codes::INVALID_PARAMS,
        "{no_lease}"
    );

    let health = socket.call("runner.health", json!({})).await;
    assert_eq!(health["result"], Value::Null, "{health}");
}
