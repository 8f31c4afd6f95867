//! Checks on lost workers and overdue jobs: what reaping does to a job whose lease lapsed,
//! whose timeout passed, whose stop was asked, or whose runner was lost twice.

use std::time::Duration;

use hero_job::{JobResult, JobStatus};

use super::{
    LEASE, LONG_WAIT, NO_WAIT, claim_and_lose, fresh_job, fresh_queue, reap_while, report,
    status_of,
};
use crate::{Finish, StopOutcome, Store};

/// A worker that stops heartbeating loses its jobs: they fail, and its late report is refused.
pub async fn a_job_whose_worker_lost_its_lease_fails_as_runner_lost(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-dying");
    let attempt = claim_and_lose(store, &queue, &worker).await.attempt();
    reap_while(store, &job.id, JobStatus::Running).await;
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Failed);
    assert!(
        matches!(&record.result, Some(JobResult::Error { error }) if error.contains("runner lost")),
        "{:?}",
        record.result
    );
    let late = report(store, &worker, &attempt, Finish::completed("late")).await;
    assert!(!late, "a reaped job refuses its worker's late report");
}

/// A job that allows retries goes back to its queue when its worker is lost, runs again on
/// another worker, and fails as "runner lost" once its retries are spent.
pub async fn a_job_with_retries_is_requeued_when_its_worker_is_lost(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 1;
    store.submit_job(&job, None).await.expect("submit");
    let first = format!("{queue}-first");
    let lost = claim_and_lose(store, &queue, &first).await.attempt();
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);

    let second = format!("{queue}-second");
    let again = claim_and_lose(store, &queue, &second).await;
    assert_eq!(again.job, job, "the requeued job is claimed again");
    let late = report(store, &first, &lost, Finish::completed("late")).await;
    assert!(!late, "the lost worker's late report is refused");

    reap_while(store, &job.id, JobStatus::Running).await;
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Failed, "its one retry is spent");
    assert!(
        matches!(&record.result, Some(JobResult::Error { error }) if error.contains("runner lost")),
        "{:?}",
        record.result
    );
}

/// A job still running [`TIMEOUT_GRACE`](crate::TIMEOUT_GRACE) past its timeout fails as
/// timed out, though its worker keeps renewing its lease; the worker is told to give it up.
pub async fn a_job_running_past_its_timeout_fails_whatever_its_worker_does(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.timeout = 1;
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-stuck");
    let mut claimed = store
        .claim(&queue, &worker, LEASE, NO_WAIT, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let attempt = claimed.remove(0).attempt();
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    while status_of(store, &job.id).await == JobStatus::Running {
        assert!(tokio::time::Instant::now() < deadline, "never timed out");
        store
            .heartbeat(&worker, LEASE, std::slice::from_ref(&attempt))
            .await
            .expect("heartbeat");
        store.reap_expired().await.expect("reap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Failed);
    assert!(
        matches!(&record.result, Some(JobResult::Error { error }) if error.contains("timed out")),
        "{:?}",
        record.result
    );
    let give_up = store
        .heartbeat(&worker, LEASE, std::slice::from_ref(&attempt))
        .await
        .expect("heartbeat");
    assert_eq!(give_up, vec![attempt]);
}

/// A job asked to stop whose worker is then lost ends `stopped`, as asked, even with retries
/// left.
pub async fn a_lost_job_whose_stop_was_asked_ends_stopped(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 2;
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-gone");
    claim_and_lose(store, &queue, &worker).await;
    assert_eq!(
        store.stop_job(&job.id, None).await.expect("stop"),
        StopOutcome::Requested
    );
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
}

/// A job whose runner is lost twice while running it fails, though its retries would allow
/// more: it may be what kills its runner.
pub async fn a_job_that_loses_its_runner_twice_fails_whatever_its_retries(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 5;
    store.submit_job(&job, None).await.expect("submit");
    for loss in 1..=crate::MAX_RUNNER_LOSSES {
        let worker = format!("{queue}-killed-{loss}");
        claim_and_lose(store, &queue, &worker).await;
        reap_while(store, &job.id, JobStatus::Running).await;
    }
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Failed, "retries do not save it");
    assert!(
        matches!(&record.result, Some(JobResult::Error { error })
            if error.contains(&format!("runner lost {} times", crate::MAX_RUNNER_LOSSES))),
        "{:?}",
        record.result
    );
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
}
