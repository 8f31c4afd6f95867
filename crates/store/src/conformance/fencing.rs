//! Checks on attempt tokens and split claims: a report, heartbeat or stop confirmation from
//! an older run, a deleted job or a claim cut in two never changes the current run.

use std::time::Duration;

use hero_job::{JobResult, JobStatus};

use super::{
    Faults, LEASE, claim_and_lose, claim_now, fresh_job, fresh_queue, reap_while, status_of,
};
use crate::{Finish, StopOutcome, Store};

/// A worker whose lease lapsed and whose job was requeued may come back: its report and
/// heartbeat of the old attempt are refused, even when the same worker claimed the job again.
pub async fn a_report_of_an_older_attempt_after_a_requeue_is_refused(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 1;
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-returning");
    let old = claim_and_lose(store, &queue, &worker).await.attempt();
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);
    let new = claim_now(store, &queue, &worker)
        .await
        .expect("the requeued job")
        .attempt();
    assert_ne!(old.token, new.token, "a new claim gets a new token");

    let beat = store
        .heartbeat(&worker, LEASE, &[old.clone(), new.clone()])
        .await
        .expect("beat");
    assert_eq!(beat, vec![old.clone()], "only the old attempt is given up");
    let late = store
        .finish(&worker, &old, Finish::completed("old"))
        .await
        .expect("finish");
    assert!(!late, "the old attempt's report is refused");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let done = store
        .finish(&worker, &new, Finish::completed("new"))
        .await
        .expect("finish");
    assert!(done, "the current attempt's report is taken");
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.result, Some(JobResult::success("new")));
}

/// A job deleted while running and created again under the same id never takes the old
/// run's report, heartbeat or give-up, even from the worker that now runs the new job.
pub async fn a_reused_id_never_gets_the_deleted_jobs_report(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    let worker = format!("{queue}-w");
    store.submit_job(&job, None).await.expect("submit");
    let old = claim_now(store, &queue, &worker)
        .await
        .expect("a job")
        .attempt();
    store.delete_job(&job.id).await.expect("delete");
    let mut again = fresh_job(&queue);
    again.id = job.id.clone();
    again.payload = "new".into();
    store
        .submit_job(&again, None)
        .await
        .expect("the id is free again");
    let new = claim_now(store, &queue, &worker)
        .await
        .expect("the new job")
        .attempt();
    assert_ne!(
        old.token, new.token,
        "tokens never repeat, even for a reused id"
    );

    let beat = store
        .heartbeat(&worker, LEASE, &[old.clone(), new.clone()])
        .await
        .expect("beat");
    assert_eq!(
        beat,
        vec![old.clone()],
        "only the deleted job's run is given up"
    );
    let late = store
        .finish(&worker, &old, Finish::completed("old"))
        .await
        .expect("finish");
    assert!(!late, "the deleted job's report is refused");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let done = store
        .finish(&worker, &new, Finish::completed("new"))
        .await
        .expect("finish");
    assert!(done);
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.result, Some(JobResult::success("new")));
}

/// A stop asked of a running job is confirmed by the run it reached, never by an older run
/// of the same job that comes back.
pub async fn a_stop_is_confirmed_only_by_the_run_it_reached(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 1;
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-w");
    let old = claim_and_lose(store, &queue, &worker).await.attempt();
    reap_while(store, &job.id, JobStatus::Running).await;
    let new = claim_now(store, &queue, &worker)
        .await
        .expect("the requeued job")
        .attempt();
    assert_eq!(
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::Requested
    );
    let beat = store
        .heartbeat(&worker, LEASE, &[old.clone(), new.clone()])
        .await
        .expect("beat");
    assert_eq!(beat.len(), 2, "both runs give up: {beat:?}");
    let late = store
        .finish(&worker, &old, Finish::stopped("old run"))
        .await
        .expect("finish");
    assert!(!late, "the old run cannot confirm the stop");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let confirmed = store
        .finish(&worker, &new, Finish::stopped("job stopped"))
        .await
        .expect("finish");
    assert!(confirmed);
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
    let after = store
        .finish(&worker, &new, Finish::completed("late"))
        .await
        .expect("finish");
    assert!(!after, "a report after the stop is refused");
}

/// An id a claim moved to its worker but never marked running (the claim's reply was lost)
/// returns to its queue at the worker's next heartbeat, though the worker stays alive, and
/// another worker runs it.
pub async fn a_moved_but_unmarked_id_returns_to_its_queue_while_its_worker_lives(
    store: &dyn Store,
    faults: &dyn Faults,
) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-lossy");
    let Some(moved) = faults.move_without_marking(&queue, &worker).await else {
        return;
    };
    assert_eq!(moved, job.id);
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    let beat = store.heartbeat(&worker, LEASE, &[]).await.expect("beat");
    assert!(beat.is_empty(), "{beat:?}");
    assert_eq!(
        store.queue_len(&queue).await.expect("len"),
        1,
        "the heartbeat returns the id to its queue"
    );
    let other = claim_now(store, &queue, &format!("{queue}-other"))
        .await
        .expect("the returned job is claimable");
    assert_eq!(other.job.id, job.id);
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
}

/// The late second half of a claim does not mark an id its worker's heartbeat already
/// returned to the queue: the job is claimed once, and held in one in-flight entry, so the
/// reaper still finds it when that worker is lost.
pub async fn a_late_claim_does_not_mark_an_id_the_heartbeat_returned(
    store: &dyn Store,
    faults: &dyn Faults,
) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-slow");
    let Some(moved) = faults.move_without_marking(&queue, &worker).await else {
        return;
    };
    store.heartbeat(&worker, LEASE, &[]).await.expect("beat");
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);
    let claimed = faults
        .mark_moved(&queue, &worker, &moved, Duration::from_millis(1), 1)
        .await;
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(ids, [job.id.as_str()], "claimed once, from the queue");
    assert_eq!(
        store.queue_len(&queue).await.expect("len"),
        0,
        "the id left its queue once"
    );
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(
        status_of(store, &job.id).await,
        JobStatus::Failed,
        "the reaper found it in its lost worker's in-flight set"
    );
}

/// A deleted run's report, refused, does not disturb its worker's claim of a new job under
/// the same id that is still being marked: the new job is claimed and runs.
pub async fn a_refused_report_leaves_a_new_claim_of_its_id_alone(
    store: &dyn Store,
    faults: &dyn Faults,
) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    let worker = format!("{queue}-w");
    store.submit_job(&job, None).await.expect("submit");
    let old = claim_now(store, &queue, &worker)
        .await
        .expect("a job")
        .attempt();
    store.delete_job(&job.id).await.expect("delete");
    store
        .submit_job(&job, None)
        .await
        .expect("the id is free again");
    let Some(moved) = faults.move_without_marking(&queue, &worker).await else {
        return;
    };
    let late = store
        .finish(&worker, &old, Finish::completed("old"))
        .await
        .expect("finish");
    assert!(!late, "the deleted run's report is refused");
    let claimed = faults.mark_moved(&queue, &worker, &moved, LEASE, 1).await;
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(ids, [job.id.as_str()], "the new job is claimed");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
}
