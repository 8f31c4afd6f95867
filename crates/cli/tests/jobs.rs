//! `hero run`, `status`, `result`, `wait`, `stop`, `delete`, `retry` and `jobs` against a real
//! supervisor, through the built binary.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, Supervisor, bounded, job, until};
use hero_supervisor_openrpc_client::JobStatus;

#[tokio::test]
async fn run_prints_the_result_of_a_payload_given_as_argument_file_or_stdin() {
    let sup = Supervisor::start().await;
    let run = sup.hero(&["run", "40 + 2"]).await.expect(0);
    assert_eq!(run.stdout, "42\n");

    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("hello.rhai");
    std::fs::write(&script, "print(\"Hello\")").unwrap();
    let run = sup
        .hero(&["run", "--file", script.to_str().unwrap()])
        .await
        .expect(0);
    assert_eq!(run.stdout, "Hello\n");

    let env = [("HERO_SECRET", ADMIN)];
    let piped = sup.hero_with(&["run"], &env, Some("6 * 7")).await.expect(0);
    assert_eq!(piped.stdout, "42\n");
    let dash = sup
        .hero_with(
            &["run", "-", "--runner", RUNNER, "--executor", "osis"],
            &env,
            Some("1 + 1"),
        )
        .await
        .expect(0);
    assert_eq!(dash.stdout, "2\n");
    sup.stop().await;
}

#[tokio::test]
async fn a_failing_job_exits_1_with_its_error_on_stderr() {
    let sup = Supervisor::start().await;
    let run = sup.hero(&["run", "throw \"boom\""]).await.expect(1);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert!(run.stderr.contains("boom"), "{run:?}");

    let json = sup
        .hero(&["--json", "run", "throw \"boom\""])
        .await
        .expect(1);
    assert!(json.json()["error"].as_str().unwrap().contains("boom"));
    sup.stop().await;
}

#[tokio::test]
async fn json_output_of_run_and_status_parses() {
    let sup = Supervisor::start().await;
    let run = sup.hero(&["--json", "run", "40 + 2"]).await.expect(0);
    assert_eq!(run.json(), serde_json::json!({"success": "42"}));

    let id = sup
        .client
        .jobs_create(ADMIN, job("1").build().unwrap())
        .await
        .unwrap();
    let status = sup.hero(&["--json", "status", &id]).await.expect(0);
    assert_eq!(status.json()["job_id"], id.as_str());
    assert_eq!(status.json()["status"], "created");
    sup.stop().await;
}

#[tokio::test]
async fn wait_blocks_until_the_job_is_final_and_result_refuses_before() {
    let sup = Supervisor::start().await;
    let id = sup
        .client
        .jobs_create(ADMIN, job("sleep(1); 40 + 2").build().unwrap())
        .await
        .unwrap();
    let early = sup.hero(&["result", &id]).await.expect(1);
    assert!(early.stderr.contains("hero wait"), "{early:?}");

    sup.client.job_start(ADMIN, &id).await.unwrap();
    let waited = sup.hero(&["wait", &id]).await.expect(0);
    assert_eq!(waited.stdout, "42\n");
    let status = sup.hero(&["status", &id]).await.expect(0);
    assert!(status.stdout.contains("completed"), "{status:?}");
    let result = sup.hero(&["result", &id]).await.expect(0);
    assert_eq!(result.stdout, "42\n");
    sup.stop().await;
}

#[tokio::test]
async fn stop_retry_and_delete_change_the_job() {
    let sup = Supervisor::start().await;
    let id = sup
        .client
        .jobs_create(ADMIN, job("sleep(30)").build().unwrap())
        .await
        .unwrap();
    sup.client.job_start(ADMIN, &id).await.unwrap();
    until("the job runs", || async {
        sup.client.job_status(&id).await.unwrap().status == JobStatus::Running
    })
    .await;

    let stopped = sup.hero(&["stop", &id]).await.expect(0);
    assert_eq!(stopped.stdout, format!("stopped {id}\n"));
    until("the job is stopped", || async {
        sup.client.job_status(&id).await.unwrap().status == JobStatus::Stopped
    })
    .await;
    sup.hero(&["wait", &id]).await.expect(1);

    sup.hero(&["retry", &id]).await.expect(0);
    let status = sup.client.job_status(&id).await.unwrap().status;
    assert!(!status.is_final(), "retried job is {status}");
    sup.hero(&["stop", &id]).await.expect(0);

    let deleted = sup.hero(&["--json", "delete", &id]).await.expect(0);
    assert_eq!(deleted.json()["job_id"], id.as_str());
    let gone = sup.hero(&["status", &id]).await.expect(1);
    assert!(gone.stderr.contains("not found"), "{gone:?}");
    sup.stop().await;
}

#[tokio::test]
async fn jobs_lists_what_its_filters_select() {
    let sup = Supervisor::start().await;
    let done = bounded(sup.hero(&["run", "1"])).await.expect(0);
    drop(done);
    let created = sup
        .client
        .jobs_create(ADMIN, job("2").build().unwrap())
        .await
        .unwrap();

    let all = sup.hero(&["--json", "jobs"]).await.expect(0).json();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");

    let only = sup
        .hero(&["--json", "jobs", "--status", "created"])
        .await
        .expect(0)
        .json();
    let ids: Vec<&str> = only
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [created.as_str()]);

    let both = sup
        .hero(&[
            "--json",
            "jobs",
            "--status",
            "created,completed",
            "--runner",
            RUNNER,
            "--limit",
            "1",
        ])
        .await
        .expect(0)
        .json();
    assert_eq!(both.as_array().unwrap().len(), 1, "{both}");
    let before = sup
        .hero(&["--json", "jobs", "--before", &created])
        .await
        .expect(0)
        .json();
    assert_eq!(before[0]["status"], "completed", "{before}");

    let table = sup.hero(&["jobs", "--runner", "nobody"]).await.expect(0);
    assert!(table.stdout.contains("STATUS"), "{table:?}");
    let table = sup.hero(&["jobs"]).await.expect(0);
    assert!(
        table.stdout.contains(&created) && table.stdout.contains("created"),
        "{table:?}"
    );
    sup.stop().await;
}
