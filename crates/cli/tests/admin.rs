//! `hero runners`, `runner start|stop|status|logs`, `secret add|remove`, `info` and
//! `completions` against a real supervisor.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, Running, Supervisor, job, until};
use hero_supervisor_openrpc_client::RunnerState;

#[tokio::test]
async fn runners_and_runner_status_show_the_configured_runner() {
    let sup = Supervisor::start().await;
    until("the runner is up", || async {
        sup.client
            .get_runner_status(ADMIN, RUNNER)
            .await
            .unwrap()
            .status
            == RunnerState::Running
    })
    .await;
    let table = sup.hero(&["runners"]).await.expect(0);
    assert!(table.stdout.contains("QUEUED"), "{table:?}");
    assert!(
        table.stdout.contains(RUNNER) && table.stdout.contains("running"),
        "{table:?}"
    );
    let listed = sup.hero(&["--json", "runners"]).await.expect(0).json();
    assert_eq!(listed[0]["name"], RUNNER);

    let status = sup.hero(&["runner", "status", RUNNER]).await.expect(0);
    assert!(
        status.stdout.contains("status") && status.stdout.contains("running"),
        "{status:?}"
    );
    let status = sup
        .hero(&["--json", "runner", "status", RUNNER])
        .await
        .expect(0)
        .json();
    assert_eq!(status["status"], "running");
    let unknown = sup.hero(&["runner", "status", "nobody"]).await.expect(1);
    assert!(unknown.stderr.contains("nobody"), "{unknown:?}");
    sup.stop().await;
}

#[tokio::test]
async fn runner_stop_and_start_change_the_runner() {
    let sup = Supervisor::start().await;
    sup.hero(&["runner", "stop", RUNNER]).await.expect(0);
    until("the runner is stopped", || async {
        sup.client
            .get_runner_status(ADMIN, RUNNER)
            .await
            .unwrap()
            .status
            == RunnerState::Stopped
    })
    .await;
    let started = sup.hero(&["runner", "start", RUNNER]).await.expect(0);
    assert_eq!(started.stdout, format!("started {RUNNER}\n"));
    until("the runner is back", || async {
        sup.client
            .get_runner_status(ADMIN, RUNNER)
            .await
            .unwrap()
            .status
            == RunnerState::Running
    })
    .await;
    sup.stop().await;
}

#[tokio::test]
async fn runner_logs_prints_the_last_lines_and_follows_new_ones() {
    let sup = Supervisor::start().await;
    sup.client
        .job_run(ADMIN, job("print(\"x\")").build().unwrap())
        .await
        .unwrap();
    until("the runner logged", || async {
        !sup.client
            .get_runner_logs(ADMIN, RUNNER, Some(5))
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    let logs = sup
        .hero(&["--json", "runner", "logs", RUNNER, "-n", "1"])
        .await
        .expect(0);
    assert_eq!(logs.json().as_array().unwrap().len(), 1, "{logs:?}");
    let text = sup.hero(&["runner", "logs", RUNNER]).await.expect(0);
    assert!(!text.stdout.is_empty());

    let mut follow = Running::spawn(sup.command(
        &["--json", "runner", "logs", "-f", RUNNER, "-n", "1"],
        &[("HERO_SECRET", ADMIN)],
    ));
    let first = follow.line().await;
    assert!(serde_json::from_str::<String>(&first).is_ok(), "{first}");
    // A new job writes new lines, which arrive while following.
    sup.client
        .job_run(ADMIN, job("print(\"y\")").build().unwrap())
        .await
        .unwrap();
    let next = follow.line().await;
    assert!(serde_json::from_str::<String>(&next).is_ok(), "{next}");
    follow.kill().await;
    sup.stop().await;
}

#[tokio::test]
async fn secret_add_and_remove_take_effect_at_once() {
    let sup = Supervisor::start().await;
    let fresh = "a-fresh-user-secret";
    let as_fresh = [("HERO_SECRET", fresh)];
    sup.hero_with(&["jobs"], &as_fresh, None).await.expect(3);

    let added = sup.hero(&["secret", "add", "user", fresh]).await.expect(0);
    assert_eq!(added.stdout, "added a user secret\n");
    assert!(!added.stdout.contains(fresh) && !added.stderr.contains(fresh));
    sup.hero_with(&["jobs"], &as_fresh, None).await.expect(0);

    let env = [("HERO_SECRET", ADMIN)];
    let removed = sup
        .hero_with(
            &["--json", "secret", "remove", "user", "-"],
            &env,
            Some(fresh),
        )
        .await
        .expect(0);
    assert_eq!(removed.json()["ok"], true);
    sup.hero_with(&["jobs"], &as_fresh, None).await.expect(3);
    sup.hero(&["secret", "add", "root", fresh]).await.expect(2);
    sup.stop().await;
}

#[tokio::test]
async fn info_shows_version_backend_and_counts() {
    let sup = Supervisor::start().await;
    let info = sup.hero(&["info"]).await.expect(0);
    assert!(
        info.stdout.contains("version") && info.stdout.contains("redis (ok)"),
        "{info:?}"
    );
    let json = sup.hero(&["--json", "info"]).await.expect(0).json();
    assert_eq!(json["backend"]["kind"], "redis");
    assert!(json["jobs"]["total"].is_u64(), "{json}");
    sup.stop().await;
}

#[tokio::test]
async fn completions_prints_a_shell_script_without_a_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = common::command(&["completions", "bash"], dir.path(), &[], &[]);
    let run = common::run(&mut command, None).await.expect(0);
    assert!(
        run.stdout.contains("complete -F") && run.stdout.contains("hero"),
        "{}",
        run.stdout
    );
    let mut command = common::command(&["completions", "tcsh"], dir.path(), &[], &[]);
    common::run(&mut command, None).await.expect(2);
}
