//! The job methods end to end: real supervisor, real Redis, real `osis_runner`.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{USER, bounded, job};
use hero_supervisor_openrpc_client::{ClientError, JobResult, JobStatus, Progress};

#[tokio::test]
async fn job_run_returns_what_the_runner_printed() {
    let sup = common::TestSupervisor::start().await;
    let hello = bounded(
        sup.client
            .job_run(USER, job("print(\"Hello\")").build().unwrap()),
    )
    .await;
    assert_eq!(hello.unwrap(), JobResult::success("Hello"));
    let answer = bounded(sup.client.job_run(USER, job("40 + 2").build().unwrap())).await;
    assert_eq!(answer.unwrap(), JobResult::success("42"));
    sup.stop().await;
}

#[tokio::test]
async fn create_start_status_result_follow_the_job_through_its_life() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("print(\"a\"); 1 + 1").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 4);
    let status = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Created);
    assert_eq!(status.started_at, None);
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("a\n2"));
    let status = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Completed);
    let started = status.started_at.expect("a started job has started_at");
    let completed = status.completed_at.expect("a final job has completed_at");
    assert!(status.created_at <= started && started <= completed);
    sup.stop().await;
}

#[tokio::test]
async fn the_same_built_job_submitted_twice_gets_two_ids() {
    let sup = common::TestSupervisor::start().await;
    let built = job("1").build().unwrap();
    let first = bounded(sup.client.jobs_create(USER, built.clone()))
        .await
        .unwrap();
    let second = bounded(sup.client.jobs_create(USER, built)).await.unwrap();
    assert_ne!(first, second);
    sup.stop().await;
}

#[tokio::test]
async fn a_taken_client_chosen_id_is_a_conflict_and_the_job_is_unchanged() {
    let sup = common::TestSupervisor::start().await;
    let first = job("1").id("my-job").build().unwrap();
    bounded(sup.client.jobs_create(USER, first)).await.unwrap();
    let twin = job("2").id("my-job").build().unwrap();
    let err = bounded(sup.client.jobs_create(USER, twin.clone()))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Conflict { .. }), "{err}");
    let err = bounded(sup.client.job_run(USER, twin)).await.unwrap_err();
    assert!(matches!(err, ClientError::Conflict { .. }), "{err}");
    let jobs = bounded(sup.client.jobs_list(USER)).await.unwrap();
    let stored = jobs.iter().find(|j| j.job.id == "my-job").unwrap();
    assert_eq!(stored.job.payload, "1");
    sup.stop().await;
}

#[tokio::test]
async fn starting_a_job_twice_is_a_conflict() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(sup.client.jobs_create(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let err = bounded(sup.client.job_start(USER, &id)).await.unwrap_err();
    assert!(matches!(err, ClientError::Conflict { .. }), "{err}");
    sup.stop().await;
}

#[tokio::test]
async fn jobs_list_returns_full_jobs_with_their_status() {
    let sup = common::TestSupervisor::start().await;
    let created = bounded(sup.client.jobs_create(USER, job("7").build().unwrap()))
        .await
        .unwrap();
    bounded(sup.client.job_run(USER, job("8").build().unwrap()))
        .await
        .unwrap();
    let jobs = bounded(sup.client.jobs_list(USER)).await.unwrap();
    assert_eq!(jobs.len(), 2);
    let listed = jobs.iter().find(|j| j.job.id == created).unwrap();
    assert_eq!(listed.job.payload, "7");
    assert_eq!(listed.job.executor, "osis");
    assert_eq!(listed.status, hero_job::JobStatus::Created);
    let raw = sup.call("jobs.list", serde_json::json!([USER])).await;
    let statuses: Vec<&str> = raw["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["status"].as_str().unwrap())
        .collect();
    assert!(statuses.contains(&"created") && statuses.contains(&"completed"));
    sup.stop().await;
}

#[tokio::test]
async fn a_deleted_job_and_its_result_are_gone() {
    let sup = common::TestSupervisor::start().await;
    let built = job("3").id("to-delete").build().unwrap();
    bounded(sup.client.job_run(USER, built)).await.unwrap();
    bounded(sup.client.job_delete(USER, "to-delete"))
        .await
        .unwrap();
    let err = bounded(sup.client.job_status("to-delete"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
    let err = bounded(sup.client.job_result("to-delete"))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
    assert!(
        bounded(sup.client.jobs_list(USER))
            .await
            .unwrap()
            .is_empty()
    );
    sup.stop().await;
}

#[tokio::test]
async fn stopping_a_queued_job_ends_it_stopped_and_it_never_runs() {
    let sup = common::TestSupervisor::start_with(|c| c.accept_unknown_runners = true).await;
    // No runner serves this queue, so the job stays queued.
    let queued = job("1").runner("nobody_home").build().unwrap();
    let id = bounded(sup.client.jobs_create(USER, queued)).await.unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    assert_eq!(
        bounded(sup.client.job_status(&id)).await.unwrap().status,
        JobStatus::Queued
    );
    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    let status = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Stopped);
    assert!(status.completed_at.is_some());
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert!(matches!(result, JobResult::Error { .. }), "{result:?}");
    let len: u64 = redis::cmd("LLEN")
        .arg("test:v1:queue:nobody_home")
        .query(&mut sup.redis.connection())
        .unwrap();
    assert_eq!(len, 0, "the stopped job left its queue");
    // Stopping a final job is not an error and changes nothing.
    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    assert_eq!(
        bounded(sup.client.job_status(&id)).await.unwrap().status,
        JobStatus::Stopped
    );
    sup.stop().await;
}

#[tokio::test]
async fn stopping_a_running_loop_interrupts_it() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("loop {}").build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    common::until("the loop runs", || async {
        sup.client.job_status(&id).await.unwrap().status == JobStatus::Running
    })
    .await;
    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    let status = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Stopped);
    // The runner is free again: a new job runs.
    let next = bounded(sup.client.job_run(USER, job("5").build().unwrap())).await;
    assert_eq!(next.unwrap(), JobResult::success("5"));
    sup.stop().await;
}

#[tokio::test]
async fn a_job_past_its_timeout_fails_with_a_timeout_error() {
    let sup = common::TestSupervisor::start().await;
    let result = bounded(
        sup.client
            .job_run(USER, job("loop {}").timeout(1).build().unwrap()),
    )
    .await
    .unwrap();
    match result {
        JobResult::Error { error } => assert!(error.contains("timed out"), "{error}"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    sup.stop().await;
}

#[tokio::test]
async fn a_script_error_is_the_jobs_error_result() {
    let sup = common::TestSupervisor::start().await;
    let result = bounded(
        sup.client
            .job_run(USER, job("throw \"boom\"").build().unwrap()),
    )
    .await
    .unwrap();
    match result {
        JobResult::Error { error } => assert!(error.contains("boom"), "{error}"),
        other => panic!("expected an error, got {other:?}"),
    }
    let status = bounded(sup.client.job_status(&{
        let id = bounded(
            sup.client
                .jobs_create(USER, job("undefined_fn()").build().unwrap()),
        )
        .await
        .unwrap();
        bounded(sup.client.job_start(USER, &id)).await.unwrap();
        bounded(sup.client.job_result(&id)).await.unwrap();
        id
    }))
    .await
    .unwrap();
    assert_eq!(status.status, JobStatus::Failed);
    sup.stop().await;
}

#[tokio::test]
async fn env_vars_reach_the_script() {
    let sup = common::TestSupervisor::start().await;
    let built = job("ENV[\"GREETING\"] + \" \" + env(\"NAME\")")
        .env_var("GREETING", "hello")
        .env_var("NAME", "world")
        .build()
        .unwrap();
    let result = bounded(sup.client.job_run(USER, built)).await.unwrap();
    assert_eq!(result, JobResult::success("hello world"));
    sup.stop().await;
}

#[tokio::test]
async fn stopping_the_supervisor_stops_its_runner() {
    let sup = common::TestSupervisor::start().await;
    bounded(sup.client.job_run(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    let pids = runner_pids(&sup.data_dir);
    assert!(!pids.is_empty(), "the runner should be running");
    sup.stop().await;
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| s.contains(") Z")),
            "runner {pid} outlived the supervisor"
        );
    }
}

/// Pids of `osis_runner` processes started for this test's data directory.
fn runner_pids(data_dir: &tempfile::TempDir) -> Vec<u32> {
    let marker = data_dir.path().display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                let cmd = String::from_utf8_lossy(&cmd);
                cmd.contains("osis_runner") && cmd.contains(&marker)
            })
        })
        .collect()
}

#[tokio::test]
async fn a_job_whose_runner_is_killed_ends_failed_as_runner_lost() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("loop {}").timeout(120).build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    common::until("the job runs", || async {
        sup.client.job_status(&id).await.unwrap().status == JobStatus::Running
    })
    .await;
    for pid in runner_pids(&sup.data_dir) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap()),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    // The lease (15 s) runs out, then the reaper (every 2 s) ends the job.
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    match result {
        JobResult::Error { error } => assert!(error.contains("runner lost"), "{error}"),
        other => panic!("expected runner lost, got {other:?}"),
    }
    // The runner was restarted and takes jobs again.
    let next = bounded(sup.client.job_run(USER, job("5").build().unwrap())).await;
    assert_eq!(next.unwrap(), JobResult::success("5"));
    sup.stop().await;
}

/// Issue 10: a job id reused after `job.delete` while its first job was still running gets
/// its own result; the deleted run's report is refused, though it finishes first.
#[tokio::test]
async fn a_reused_job_id_gets_its_own_result_never_the_deleted_runs() {
    let sup = common::TestSupervisor::start().await;
    let old = job("sleep(2); \"old\"").id("dup").build().unwrap();
    bounded(sup.client.jobs_create(USER, old)).await.unwrap();
    bounded(sup.client.job_start(USER, "dup")).await.unwrap();
    common::until("the first dup runs", || async {
        sup.client
            .job_status("dup")
            .await
            .is_ok_and(|s| s.status == JobStatus::Running)
    })
    .await;
    bounded(sup.client.job_delete(USER, "dup")).await.unwrap();

    let new = job("sleep(5); \"new\"").id("dup").build().unwrap();
    let started = std::time::Instant::now();
    let result = bounded(sup.client.job_run(USER, new)).await.unwrap();
    assert_eq!(result, JobResult::success("new"));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(5),
        "the answer came after {:?}, before the new job could end",
        started.elapsed()
    );
    let result = bounded(sup.client.job_result("dup")).await.unwrap();
    assert_eq!(result, JobResult::success("new"), "the old run never lands");
    sup.stop().await;
}

/// Issue 10: a runner never executes a job of another executor; it fails it naming both.
#[tokio::test]
async fn a_runner_refuses_a_job_of_another_executor_naming_both() {
    let sup = common::TestSupervisor::start_with(|config| {
        let mut sal = config.actors[0].clone();
        sal.id = "sal_runner_1".into();
        sal.name = "sal_runner_1".into();
        sal.binary_path = hero_test_support::workspace_binary("sal_runner");
        config.actors.push(sal);
    })
    .await;
    let marker = sup.data_dir.path().join("ran");
    let payload = format!("write_file({:?}, \"x\"); \"ran\"", marker.display());
    let foreign = job(&payload).runner("sal_runner_1").build().unwrap();
    let result = bounded(sup.client.job_run(USER, foreign)).await.unwrap();
    assert_eq!(
        result,
        JobResult::error("runner sal_runner_1 runs executor sal, not osis")
    );
    assert!(!marker.exists(), "the payload never ran");
    let own = common::job("print(\"osis\")").build().unwrap();
    let result = bounded(sup.client.job_run(USER, own)).await.unwrap();
    assert_eq!(result, JobResult::success("osis"), "osis jobs still run");
    sup.stop().await;
}

#[tokio::test]
async fn job_status_shows_the_progress_a_running_script_reports_and_keeps_it_once_ended() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(sup.client.jobs_create(
        USER,
        job(r#"progress(50, "half"); sleep(60)"#).build().unwrap(),
    ))
    .await
    .unwrap();
    let before = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(before.progress, None, "no progress before the job reports");
    let raw = sup
        .call("job.status", serde_json::json!({"job_id": id}))
        .await;
    assert!(
        raw["result"].get("progress").is_none(),
        "absent, not null: {raw}"
    );
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let half = Progress::new(50, "half");
    common::until("the running job shows its progress", || async {
        let status = sup.client.job_status(&id).await.unwrap();
        status.status == JobStatus::Running && status.progress.as_ref() == Some(&half)
    })
    .await;
    let raw = sup
        .call("job.status", serde_json::json!({"job_id": id}))
        .await;
    assert_eq!(
        raw["result"]["progress"],
        serde_json::json!({"percent": 50, "message": "half"})
    );

    bounded(sup.client.job_stop(USER, &id)).await.unwrap();
    let stopped = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(stopped.status, JobStatus::Stopped);
    assert_eq!(stopped.progress, Some(half), "the last progress stays");
    sup.stop().await;
}

#[tokio::test]
async fn progress_reported_just_before_a_job_ends_is_kept() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client.jobs_create(
            USER,
            // The second report comes while the SDK waits before its next write, and the job
            // ends before that wait does: only the write before the outcome can keep it.
            job(r#"progress(1, "first"); sleep(0.1); progress(100, "last"); "done""#)
                .build()
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("done"));
    let status = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Completed);
    assert_eq!(status.progress, Some(Progress::new(100, "last")));
    sup.stop().await;
}

#[tokio::test]
async fn a_bad_progress_percent_fails_the_job_naming_progress() {
    let sup = common::TestSupervisor::start().await;
    let result = bounded(
        sup.client
            .job_run(USER, job(r#"progress(120, "too far")"#).build().unwrap()),
    )
    .await
    .unwrap();
    match result {
        JobResult::Error { error } => assert!(error.contains("progress:"), "{error}"),
        other => panic!("expected an error, got {other:?}"),
    }
    sup.stop().await;
}
