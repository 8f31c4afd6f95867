//! The runner-side half of per-runner access: every job carries the level of the secret that
//! submitted it, and a runner open to admins only refuses a user's job even when the
//! supervisor's check at submit did not stop it (a runner nobody registered, a registration
//! removed, a job queued before the runner became admin-only).

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::path::{Path, PathBuf};

use common::{ADMIN, REGISTER, RUNNER, USER, bounded, until};
use hero_supervisor::config::RunnerAccess;
use hero_supervisor_api::codes;
use serde_json::{Value, json};
use tokio::process::Child;

/// A `sal_runner` started by hand on queue `name`, as on another host: no `--access`, so it
/// keeps its own default.
fn sal_by_hand(sup: &common::TestSupervisor, name: &str) -> Child {
    tokio::process::Command::new(hero_test_support::workspace_binary("sal_runner"))
        .args(["--name", name, "--namespace", "test", "--db-path"])
        .arg(sup.data_dir.path().join(format!("{name}_db")))
        .env("HERO_REDIS_URL", sup.redis.url())
        .env_remove("HERO_RUNNER_ACCESS")
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// A sal job on `runner` that writes `marker` if it runs at all.
fn writing_job(runner: &str, marker: &Path) -> Value {
    let payload = format!("write_file({:?}, \"ran\"); \"ran\"", marker.display());
    json!({"payload": payload, "executor": "sal", "runner": runner, "timeout": 10})
}

fn marker(sup: &common::TestSupervisor, name: &str) -> PathBuf {
    sup.data_dir.path().join(name)
}

/// Asserts that `answer` is the runner's refusal of a user's job, naming the runner.
fn assert_refused(answer: &Value, runner: &str) {
    let error = answer["result"]["error"]
        .as_str()
        .unwrap_or_else(|| panic!("the job fails: {answer}"));
    assert!(
        error.contains(runner) && error.contains("admin secrets only"),
        "{error}"
    );
}

/// Runs admin jobs on `runner` until one succeeds: the first claim makes the runner known.
async fn until_known(sup: &common::TestSupervisor, runner: &str) {
    let job = json!({"payload": "40 + 2", "executor": "sal", "runner": runner, "timeout": 10});
    until("the runner is known and runs an admin's job", || async {
        sup.call("job.run", json!([ADMIN, job.clone()])).await["result"] == json!({"success": "42"})
    })
    .await;
}

// Regression: a hand-started, unregistered sal runner is known from its claims and has no
// access level at the supervisor, so a user's job reached it and ran with system access.
#[tokio::test]
async fn a_hand_started_unregistered_sal_runner_refuses_a_users_job_and_runs_an_admins() {
    let sup = common::TestSupervisor::start().await;
    let mut runner = sal_by_hand(&sup, "sal_2");
    until_known(&sup, "sal_2").await;

    let user_marker = marker(&sup, "user_ran");
    let answer = sup
        .call("job.run", json!([USER, writing_job("sal_2", &user_marker)]))
        .await;
    assert_refused(&answer, "sal_2");
    assert!(!user_marker.exists(), "the user's script never ran");
    let listed = sup.call("jobs.list", json!([USER])).await;
    assert_eq!(listed["result"][0]["status"], "failed", "{listed}");
    assert_eq!(listed["result"][0]["level"], "user", "{listed}");

    let admin_marker = marker(&sup, "admin_ran");
    let answer = sup
        .call(
            "job.run",
            json!([ADMIN, writing_job("sal_2", &admin_marker)]),
        )
        .await;
    assert_eq!(answer["result"], json!({"success": "ran"}), "{answer}");
    assert!(admin_marker.exists());
    runner.kill().await.unwrap();
    sup.stop().await;
}

// Regression: unregistering an admin-only runner that kept running opened it to users.
#[tokio::test]
async fn an_unregistered_admin_runner_that_keeps_running_still_refuses_users() {
    let sup = common::TestSupervisor::start().await;
    let registered = sup
        .call(
            "register_runner",
            json!({"secret": ADMIN, "name": "sal_3", "access": "admin"}),
        )
        .await;
    assert_eq!(registered["result"], "sal_3", "{registered}");
    let mut runner = sal_by_hand(&sup, "sal_3");
    until_known(&sup, "sal_3").await;
    let removed = sup.call("unregister_runner", json!([ADMIN, "sal_3"])).await;
    assert_eq!(removed["result"], Value::Null, "{removed}");

    let user_marker = marker(&sup, "user_ran");
    let answer = sup
        .call("job.run", json!([USER, writing_job("sal_3", &user_marker)]))
        .await;
    assert_refused(&answer, "sal_3");
    assert!(!user_marker.exists(), "the user's script never ran");
    runner.kill().await.unwrap();
    sup.stop().await;
}

// Regression: with `accept_unknown_runners`, a user's job queued before its runner registered
// as admin-only ran once the runner came.
#[tokio::test]
async fn a_users_job_queued_before_its_runner_became_admin_only_is_refused_by_the_runner() {
    let sup = common::TestSupervisor::start_with(|c| c.accept_unknown_runners = true).await;
    let user_marker = marker(&sup, "user_ran");
    let created = sup
        .call(
            "jobs.create",
            json!([USER, writing_job("sal_4", &user_marker)]),
        )
        .await;
    let id = created["result"].clone();
    assert!(id.is_string(), "{created}");
    let started = sup.call("job.start", json!([USER, id])).await;
    assert_eq!(started["result"], Value::Null, "{started}");
    let registered = sup
        .call(
            "register_runner",
            json!({"secret": ADMIN, "name": "sal_4", "access": "admin"}),
        )
        .await;
    assert_eq!(registered["result"], "sal_4", "{registered}");
    let mut runner = sal_by_hand(&sup, "sal_4");

    let answer = sup.call("job.result", json!([id])).await;
    assert_refused(&answer, "sal_4");
    assert!(!user_marker.exists(), "the user's script never ran");
    runner.kill().await.unwrap();
    sup.stop().await;
}

#[tokio::test]
async fn a_job_carries_the_level_of_its_secret_whatever_the_client_sent() {
    let sup = common::TestSupervisor::start().await;
    let job = json!({"payload": "1", "executor": "osis", "runner": RUNNER, "level": "admin"});
    for secret in [USER, ADMIN] {
        let answer = sup.call("jobs.create", json!([secret, job.clone()])).await;
        assert!(answer["result"].is_string(), "{answer}");
    }
    let listed = sup.call("jobs.list", json!([ADMIN])).await;
    let mut levels: Vec<&str> = listed["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|job| job["level"].as_str().unwrap())
        .collect();
    levels.sort_unstable();
    assert_eq!(levels, ["admin", "user"], "{listed}");
    sup.stop().await;
}

#[tokio::test]
async fn a_sal_actor_configured_for_users_runs_a_users_job() {
    let sup = common::TestSupervisor::start_with(|config| {
        let mut sal = config.actors[0].clone();
        sal.id = "sal_runner_1".into();
        sal.name = "sal_runner_1".into();
        sal.binary_path = hero_test_support::workspace_binary("sal_runner");
        sal.access = RunnerAccess::User;
        config.actors.push(sal);
    })
    .await;
    let user_marker = marker(&sup, "user_ran");
    let answer = sup
        .call(
            "job.run",
            json!([USER, writing_job("sal_runner_1", &user_marker)]),
        )
        .await;
    assert_eq!(answer["result"], json!({"success": "ran"}), "{answer}");
    assert!(user_marker.exists());
    sup.stop().await;
}

// Regression: a register secret registering `admin` on a configured user actor's queue made
// that queue admin-only, so every user job there was refused.
#[tokio::test]
async fn a_register_secret_cannot_register_on_a_configured_actors_queue() {
    let sup = common::TestSupervisor::start().await;
    for access in ["admin", "user"] {
        let answer = sup
            .call("register_runner", json!([REGISTER, "x", RUNNER, access]))
            .await;
        assert_eq!(
            answer["error"]["code"],
            i64::from(codes::CONFLICT),
            "{answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(RUNNER) && message.contains("admin secret"),
            "{message}"
        );
    }
    let runners = bounded(sup.client.list_runners(ADMIN)).await.unwrap();
    assert_eq!(runners.len(), 1, "nothing was registered: {runners:?}");
    let job = json!({"payload": "40 + 2", "executor": "osis", "runner": RUNNER, "timeout": 10});
    let answer = sup.call("job.run", json!([USER, job])).await;
    assert_eq!(answer["result"], json!({"success": "42"}), "{answer}");
    // Other queues stay open to register secrets, and admins may still add to this one.
    let elsewhere = sup
        .call("register_runner", json!([REGISTER, "x", "x_queue"]))
        .await;
    assert_eq!(elsewhere["result"], "x", "{elsewhere}");
    let by_admin = sup
        .call("register_runner", json!([ADMIN, "y", RUNNER, "user"]))
        .await;
    assert_eq!(by_admin["result"], "y", "{by_admin}");
    sup.stop().await;
}
