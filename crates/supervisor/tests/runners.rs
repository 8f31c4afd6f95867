//! The runner methods against real runner processes: local actors under the process
//! manager (simple and tmux), and a runner started by hand and registered.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, REGISTER, RUNNER, USER, bounded, job, until};
use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::JobResult;
use serde_json::{Value, json};

async fn status(sup: &common::TestSupervisor, name: &str) -> Value {
    let answer = sup.call("get_runner_status", json!([ADMIN, name])).await;
    assert!(answer["result"].is_object(), "{answer}");
    answer["result"].clone()
}

#[tokio::test]
async fn list_runners_shows_the_local_actor_running() {
    let sup = common::TestSupervisor::start().await;
    let answer = sup.call("list_runners", json!([ADMIN])).await;
    let runners = answer["result"].as_array().unwrap();
    assert_eq!(runners.len(), 1, "{answer}");
    let runner = &runners[0];
    assert_eq!(runner["name"], RUNNER);
    assert_eq!(runner["kind"], "local");
    assert_eq!(runner["status"], "running");
    assert_eq!(runner["process_manager"], "simple");
    assert!(runner["pid"].as_u64().is_some(), "{runner}");
    assert_eq!(runner["queue_length"], 0);
    assert_eq!(
        sup.error_code("list_runners", json!([USER])).await,
        i64::from(codes::UNAUTHORIZED)
    );
    sup.stop().await;
}

#[tokio::test]
async fn jobs_sent_to_a_stopped_runner_wait_and_run_when_it_starts() {
    let sup = common::TestSupervisor::start().await;
    let answer = sup.call("stop_runner", json!([ADMIN, RUNNER])).await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    assert_eq!(status(&sup, RUNNER).await["status"], "stopped");
    // Stopping twice is fine.
    sup.call("stop_runner", json!([ADMIN, RUNNER, true])).await;
    let id = bounded(sup.client.jobs_create(USER, job("40 + 2").build().unwrap()))
        .await
        .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let queued = sup.call("job.status", json!([id])).await["result"].clone();
    assert_eq!(queued["status"], "queued");
    let reason = queued["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("stopped"), "{queued}");
    let typed = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(
        typed.reason.as_deref(),
        Some(reason),
        "the client reads the reason too"
    );
    assert_eq!(status(&sup, RUNNER).await["queue_length"], 1);

    sup.call("start_runner", json!([ADMIN, RUNNER])).await;
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("42"));
    sup.stop().await;
}

#[tokio::test]
async fn a_crashed_runner_is_restarted_and_counted() {
    let sup = common::TestSupervisor::start().await;
    let before = status(&sup, RUNNER).await;
    let pid = i32::try_from(before["pid"].as_u64().unwrap()).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    until("the runner is restarted", || async {
        let now = status(&sup, RUNNER).await;
        now["restarts"] == 1 && now["status"] == "running" && now["pid"] != before["pid"]
    })
    .await;
    let result = bounded(sup.client.job_run(USER, job("1 + 1").build().unwrap())).await;
    assert_eq!(result.unwrap(), JobResult::success("2"));
    sup.stop().await;
}

#[tokio::test]
async fn runner_logs_return_the_last_lines() {
    let sup = common::TestSupervisor::start().await;
    bounded(
        sup.client
            .job_run(USER, job("print(\"x\")").build().unwrap()),
    )
    .await
    .unwrap();
    until("the runner logged", || async {
        let logs = sup.call("get_runner_logs", json!([ADMIN, RUNNER, 5])).await;
        logs["result"]
            .as_array()
            .is_some_and(|lines| !lines.is_empty())
    })
    .await;
    let logs = sup
        .call(
            "get_runner_logs",
            json!({"secret": ADMIN, "actor_id": RUNNER, "lines": 1}),
        )
        .await;
    assert_eq!(logs["result"].as_array().unwrap().len(), 1, "{logs}");
    assert_eq!(
        sup.error_code("get_runner_logs", json!([ADMIN, "nobody"]))
            .await,
        i64::from(codes::NOT_FOUND)
    );
    sup.stop().await;
}

#[tokio::test]
async fn an_unregistered_runner_is_forgotten_but_configured_actors_stay() {
    let sup = common::TestSupervisor::start().await;
    bounded(sup.client.register_runner(REGISTER, "remote_gone", None))
        .await
        .unwrap();
    assert_eq!(
        sup.error_code("unregister_runner", json!([REGISTER, "remote_gone"]))
            .await,
        i64::from(codes::UNAUTHORIZED)
    );
    bounded(sup.client.unregister_runner(ADMIN, "remote_gone"))
        .await
        .unwrap();
    let names: Vec<String> = bounded(sup.client.list_runners(ADMIN))
        .await
        .unwrap()
        .into_iter()
        .map(|runner| runner.name)
        .collect();
    assert_eq!(names, [common::RUNNER]);
    assert_eq!(
        sup.error_code("unregister_runner", json!([ADMIN, "remote_gone"]))
            .await,
        i64::from(codes::NOT_FOUND)
    );
    let answer = sup
        .call(
            "unregister_runner",
            json!({"secret": ADMIN, "name": common::RUNNER}),
        )
        .await;
    assert_eq!(
        answer["error"]["code"],
        i64::from(codes::CONFLICT),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("configured"),
        "{answer}"
    );
    // Its jobs are refused again: the runner is unknown once more.
    assert_eq!(
        sup.error_code(
            "jobs.create",
            json!([USER, {"payload": "1", "executor": "osis", "runner": "remote_gone"}])
        )
        .await,
        i64::from(codes::NOT_FOUND)
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_registered_runner_started_by_hand_is_listed_with_its_activity() {
    let sup = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    let answer = sup
        .call("register_runner", json!([REGISTER, "remote_1"]))
        .await;
    assert_eq!(answer["result"], "remote_1", "{answer}");
    assert_eq!(
        sup.error_code("register_runner", json!([ADMIN, "remote_1"]))
            .await,
        i64::from(codes::CONFLICT)
    );
    assert_eq!(
        sup.error_code("register_runner", json!([USER, "remote_2"]))
            .await,
        i64::from(codes::UNAUTHORIZED)
    );
    let listed = status(&sup, "remote_1").await;
    assert_eq!(listed["kind"], "remote");
    assert_eq!(listed["status"], "unknown");
    assert_eq!(
        sup.error_code("start_runner", json!([ADMIN, "remote_1"]))
            .await,
        i64::from(codes::CONFLICT)
    );

    // A job for it waits, and says why.
    let id = bounded(
        sup.client
            .jobs_create(USER, job("7 * 6").runner("remote_1").build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let queued = sup.call("job.status", json!([id])).await["result"].clone();
    assert!(
        queued["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("remote_1"),
        "{queued}"
    );

    // Started by hand, as on another host: same Redis, same namespace.
    let mut runner =
        tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
            .args(["--name", "remote_1", "--namespace", "test", "--db-path"])
            .arg(sup.data_dir.path().join("remote_db"))
            .env("HERO_REDIS_URL", sup.redis.url())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("42"));
    let listed = status(&sup, "remote_1").await;
    assert_eq!(listed["status"], "running", "{listed}");
    assert!(listed["last_seen"].is_string(), "{listed}");
    runner.kill().await.unwrap();
    sup.stop().await;
}

#[tokio::test]
async fn a_tmux_actor_runs_jobs_in_a_window_of_its_session() {
    let socket = format!("hero-test-{}", std::process::id());
    let sup = common::TestSupervisor::start_with(|c| {
        c.tmux_socket = Some(socket.clone());
        c.actors[0].process_manager = hero_supervisor::config::ProcessManagerKind::Tmux {
            session: "osis_session".into(),
        };
    })
    .await;
    let result = bounded(
        sup.client
            .job_run(USER, job("print(\"Hello\")").build().unwrap()),
    )
    .await;
    assert_eq!(result.unwrap(), JobResult::success("Hello"));
    let listed = status(&sup, RUNNER).await;
    assert_eq!(listed["process_manager"], "tmux:osis_session");
    let windows = std::process::Command::new("tmux")
        .args([
            "-L",
            &socket,
            "list-windows",
            "-t",
            "osis_session",
            "-F",
            "#{window_name}",
        ])
        .output()
        .unwrap();
    let windows = String::from_utf8_lossy(&windows.stdout);
    assert!(windows.lines().any(|w| w == RUNNER), "{windows}");
    sup.call("stop_runner", json!([ADMIN, RUNNER])).await;
    assert_eq!(status(&sup, RUNNER).await["status"], "stopped");
    sup.stop().await;
    // The test's private tmux server goes with it; failing to end it leaves no job behind.
    let _ = std::process::Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .output();
}

#[tokio::test]
async fn the_rust_client_reads_runner_records() {
    let sup = common::TestSupervisor::start().await;
    let runners = bounded(sup.client.list_runners(ADMIN)).await.unwrap();
    assert_eq!(runners.len(), 1);
    assert_eq!(
        runners[0].status,
        hero_supervisor_openrpc_client::RunnerState::Running
    );
    let one = bounded(sup.client.get_runner_status(ADMIN, RUNNER))
        .await
        .unwrap();
    assert_eq!(one.name, RUNNER);
    let name = bounded(sup.client.register_runner_with_access(
        REGISTER,
        "far_away",
        Some("far_queue"),
        Some("user"),
    ))
    .await
    .unwrap();
    assert_eq!(name, "far_away");
    bounded(sup.client.stop_runner(ADMIN, RUNNER, false))
        .await
        .unwrap();
    bounded(sup.client.start_runner(ADMIN, RUNNER))
        .await
        .unwrap();
    let logs = bounded(sup.client.get_runner_logs(ADMIN, RUNNER, Some(3)))
        .await
        .unwrap();
    assert!(logs.len() <= 3);
    sup.stop().await;
}

#[tokio::test]
async fn following_a_runners_logs_streams_new_lines_over_websocket() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let sup = common::TestSupervisor::start().await;
    let (mut socket, _) = bounded(tokio_tungstenite::connect_async(
        sup.url.replace("http://", "ws://"),
    ))
    .await
    .unwrap();
    let mut send = async |request: Value| {
        socket
            .send(Message::text(request.to_string()))
            .await
            .unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "runner_logs.subscribe",
                "params": [USER, RUNNER]}),
    )
    .await;
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "runner_logs.subscribe",
                "params": {"secret": ADMIN, "actor_id": RUNNER, "lines": 1}}),
    )
    .await;
    let mut denied = false;
    let mut subscription = None;
    let mut marker_seen = false;
    let mut job_sent = false;
    while !(denied && marker_seen) {
        let message = bounded(socket.next())
            .await
            .expect("the socket stays open")
            .unwrap();
        let message: Value = serde_json::from_str(message.to_text().unwrap()).unwrap();
        if message["id"] == 1 {
            assert_eq!(message["error"]["code"], codes::UNAUTHORIZED, "{message}");
            denied = true;
        } else if message["id"] == 2 {
            subscription = Some(message["result"].clone());
        } else if message["method"] == "runner_logs.line" {
            assert_eq!(
                Some(&message["params"]["subscription"]),
                subscription.as_ref()
            );
            let line = message["params"]["result"].as_str().unwrap();
            marker_seen |= line.contains("follow-marker");
        }
        if subscription.is_some() && !job_sent {
            job_sent = true;
            bounded(
                sup.client
                    .job_run(USER, job("print(\"follow-marker\")").build().unwrap()),
            )
            .await
            .unwrap();
        }
    }
    sup.stop().await;
}

#[tokio::test]
async fn the_rust_client_follows_a_runners_logs_as_a_stream() {
    use futures::StreamExt;

    let sup = common::TestSupervisor::start().await;
    let mut lines = bounded(sup.client.runner_logs_subscribe(ADMIN, RUNNER, Some(1)))
        .await
        .unwrap();
    bounded(
        sup.client
            .job_run(USER, job("print(\"stream-marker\")").build().unwrap()),
    )
    .await
    .unwrap();
    loop {
        let line = bounded(lines.next()).await.unwrap().unwrap();
        if line.contains("stream-marker") {
            break;
        }
    }
    bounded(lines.unsubscribe()).await.unwrap();
    let refused = bounded(sup.client.runner_logs_subscribe(USER, RUNNER, None)).await;
    assert_eq!(refused.unwrap_err().code(), Some(codes::UNAUTHORIZED));
    sup.stop().await;
}

#[tokio::test]
async fn an_actors_concurrency_and_environment_reach_its_runner() {
    let sup = common::TestSupervisor::start_with(|c| {
        c.actors[0].concurrency = Some(2);
        c.actors[0]
            .env
            .insert("OSIS_MAX_OPERATIONS".into(), "1000".into());
    })
    .await;
    let result = bounded(sup.client.job_run(USER, job("loop {}").build().unwrap()))
        .await
        .unwrap();
    match result {
        JobResult::Error { error } => assert!(error.contains("1000 operations"), "{error}"),
        other => panic!("expected the operations limit, got {other:?}"),
    }
    let pid = status(&sup, RUNNER).await["pid"].as_u64().unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let at = args.iter().position(|a| a == "--concurrency").unwrap();
    assert_eq!(args[at + 1], "2");
    sup.stop().await;
}

#[tokio::test]
async fn log_lines_returned_are_capped_by_the_config() {
    let sup = common::TestSupervisor::start_with(|c| c.limits.max_log_lines = 2).await;
    for n in 0..3 {
        bounded(
            sup.client
                .job_run(USER, job(&format!("print({n})")).build().unwrap()),
        )
        .await
        .unwrap();
    }
    until("the runner logged several lines", || async {
        let logs = sup.call("get_runner_logs", json!([ADMIN, RUNNER, 1])).await;
        logs["result"]
            .as_array()
            .is_some_and(|lines| !lines.is_empty())
    })
    .await;
    let logs = sup
        .call("get_runner_logs", json!([ADMIN, RUNNER, 50]))
        .await;
    assert_eq!(logs["result"].as_array().unwrap().len(), 2, "{logs}");
    sup.stop().await;
}

#[tokio::test]
async fn each_job_a_runner_runs_in_turn_is_logged_under_its_own_id() {
    // One slot: every job after the first comes with the report of the one before, and runs
    // in the same task.
    let sup = common::TestSupervisor::start_with(|c| c.actors[0].concurrency = Some(1)).await;
    let jobs = (0..4)
        .map(|i| job(&format!("{i} + 1")).build().unwrap())
        .collect();
    let ids = bounded(sup.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    let ended = |lines: &[Value]| -> Vec<String> {
        lines
            .iter()
            .filter_map(Value::as_str)
            .filter(|line| line.contains("job ended"))
            .map(str::to_owned)
            .collect()
    };
    until("every job's end is logged", || async {
        let logs = sup
            .call("get_runner_logs", json!([ADMIN, RUNNER, 200]))
            .await;
        logs["result"]
            .as_array()
            .is_some_and(|lines| ended(lines).len() >= ids.len())
    })
    .await;
    let logs = sup
        .call("get_runner_logs", json!([ADMIN, RUNNER, 200]))
        .await;
    let ended = ended(logs["result"].as_array().unwrap());
    for id in &ids {
        let lines = ended
            .iter()
            .filter(|line| line.contains(id.as_str()))
            .count();
        assert_eq!(
            lines, 1,
            "job {id} ends in one log line of its own: {ended:#?}"
        );
    }
    sup.stop().await;
}
