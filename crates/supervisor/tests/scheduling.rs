//! Scheduling end to end: delayed jobs, priorities, retries after an error and `job.retry`,
//! with a real supervisor, real Redis and a real `osis_runner`.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN, RUNNER, USER, bounded, job};
use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::{ClientError, JobResult, JobStatus};
use serde_json::json;

/// A second user secret, whose retry of the first's job must not be allowed.
const OTHER_USER: &str = "other-user-secret";

#[tokio::test]
async fn a_delayed_job_waits_scheduled_and_runs_after_its_delay() {
    let sup = common::TestSupervisor::start().await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("40 + 2").delay(2).build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let waiting = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(waiting.status, JobStatus::Scheduled);
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert_eq!(result, JobResult::success("42"));
    let done = bounded(sup.client.job_status(&id)).await.unwrap();
    let started = done.started_at.expect("it ran");
    let waited = started - done.created_at;
    assert!(
        waited >= chrono::Duration::milliseconds(1900),
        "ran {waited} after its creation, before its delay of 2 s"
    );
    assert!(
        waited < chrono::Duration::seconds(5),
        "ran {waited} after its creation: the promoter was late"
    );

    let begun = Instant::now();
    let ran = bounded(
        sup.client
            .job_run(USER, job("1 + 1").delay(1).build().unwrap()),
    )
    .await;
    assert_eq!(ran.unwrap(), JobResult::success("2"));
    assert!(
        begun.elapsed() >= Duration::from_millis(900),
        "job.run waited for the delay"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_job_that_throws_with_retry_on_error_fails_after_every_attempt_and_job_run_waits_for_the_last()
 {
    let sup = common::TestSupervisor::start().await;
    let throwing = job("throw \"boom\"")
        .retry_on_error(true)
        .retries(2)
        .retry_backoff_secs(1)
        .build()
        .unwrap();
    let id = "throws-thrice";
    let ran = bounded(sup.client.job_run(USER, hero_job_with_id(throwing, id)))
        .await
        .unwrap();
    let JobResult::Error { error } = ran else {
        panic!("a throwing job fails, got {ran:?}");
    };
    assert!(error.contains("boom"), "{error}");
    let status = bounded(sup.client.job_status(id)).await.unwrap();
    assert_eq!(status.status, JobStatus::Failed);
    assert_eq!(
        status.attempt, 3,
        "retries + 1 runs, and job.run waited for the last"
    );
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("boom")),
        "{:?}",
        status.last_error
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_timed_out_run_with_retry_on_error_is_run_again() {
    let sup = common::TestSupervisor::start().await;
    let slow = job("sleep(30); 1")
        .id("times-out-twice")
        .timeout(1)
        .retry_on_error(true)
        .retries(1)
        .retry_backoff_secs(0)
        .build()
        .unwrap();
    let ran = bounded(sup.client.job_run(USER, slow)).await.unwrap();
    assert!(!ran.is_success(), "{ran:?}");
    let status = bounded(sup.client.job_status("times-out-twice"))
        .await
        .unwrap();
    assert_eq!((status.status, status.attempt), (JobStatus::Failed, 2));
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        status.last_error
    );
    sup.stop().await;
}

fn hero_job_with_id(
    mut job: hero_supervisor_openrpc_client::Job,
    id: &str,
) -> hero_supervisor_openrpc_client::Job {
    job.id = id.to_owned();
    job
}

#[tokio::test]
async fn a_runner_of_concurrency_one_runs_higher_priorities_first_and_one_priority_in_order() {
    let sup = common::TestSupervisor::start_with(|c| c.actors[0].concurrency = Some(1)).await;
    bounded(sup.client.stop_runner(ADMIN, RUNNER, false))
        .await
        .unwrap();
    let priorities = [0, 5, 9, 5, 0, 9];
    let jobs = priorities
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            job(&i.to_string())
                .id(format!("p{i}"))
                .priority(p)
                .build()
                .unwrap()
        })
        .collect();
    bounded(sup.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    bounded(sup.client.start_runner(ADMIN, RUNNER))
        .await
        .unwrap();
    let mut started = Vec::new();
    for i in 0..priorities.len() {
        let id = format!("p{i}");
        bounded(sup.client.job_result(&id)).await.unwrap();
        let status = bounded(sup.client.job_status(&id)).await.unwrap();
        started.push((status.started_at.expect("it ran"), id));
    }
    started.sort();
    let order: Vec<&str> = started.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(order, ["p2", "p5", "p1", "p3", "p0", "p4"]);
    sup.stop().await;
}

#[tokio::test]
async fn job_retry_queues_a_failed_job_again_and_refuses_an_unfinished_or_foreign_one() {
    let sup = common::TestSupervisor::start_with(|c| c.user_secrets.push(OTHER_USER.into())).await;
    let id = bounded(
        sup.client
            .jobs_create(USER, job("throw \"once\"").build().unwrap()),
    )
    .await
    .unwrap();
    let conflict = bounded(sup.client.job_retry(USER, &id)).await.unwrap_err();
    assert!(
        matches!(conflict, ClientError::Conflict { .. }),
        "{conflict}"
    );
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    bounded(sup.client.job_result(&id)).await.unwrap();
    let first = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(first.status, JobStatus::Failed);

    let answer = sup
        .call(
            "job.retry",
            json!({"secret": ADMIN, "job_id": "no-such-job"}),
        )
        .await;
    assert_eq!(answer["error"]["code"], codes::NOT_FOUND);
    let foreign = sup
        .call("job.retry", json!({"secret": OTHER_USER, "job_id": id}))
        .await;
    assert_eq!(foreign["error"]["code"], codes::NOT_FOUND, "{foreign}");
    let untouched = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(untouched.status, JobStatus::Failed);
    bounded(sup.client.job_retry(USER, &id)).await.unwrap();
    let result = bounded(sup.client.job_result(&id)).await.unwrap();
    assert!(!result.is_success(), "it ran again and threw again");
    let again = bounded(sup.client.job_status(&id)).await.unwrap();
    assert_eq!(again.status, JobStatus::Failed);
    assert!(
        again.completed_at > first.completed_at,
        "a second run ended"
    );
    assert_eq!(again.attempt, 1, "a retried job starts its count again");
    sup.stop().await;
}
