//! Checks on attempt tokens and split claims: a report, heartbeat or stop confirmation from
//! an older run, a deleted job or a claim cut in two never changes the current run; a claim
//! whose reply was lost, or a job that cannot be read, never strands a job; an id moved to
//! a runner's worker never runs there once its job belongs to another runner.

use std::time::Duration;

use hero_job::{JobResult, JobStatus};

use super::{
    Faults, LEASE, LONG_WAIT, NO_WAIT, claim_and_lose, claim_now, fresh_job, fresh_queue,
    reap_while, report, status_of,
};
use crate::{Claimed, Finish, StopOutcome, Store};

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
    let late = report(store, &worker, &old, Finish::completed("old")).await;
    assert!(!late, "the old attempt's report is refused");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let done = report(store, &worker, &new, Finish::completed("new")).await;
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
    store.delete_job(&job.id, None).await.expect("delete");
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
    let late = report(store, &worker, &old, Finish::completed("old")).await;
    assert!(!late, "the deleted job's report is refused");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let done = report(store, &worker, &new, Finish::completed("new")).await;
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
        store.stop_job(&job.id, None).await.expect("stop"),
        StopOutcome::Requested
    );
    let beat = store
        .heartbeat(&worker, LEASE, &[old.clone(), new.clone()])
        .await
        .expect("beat");
    assert_eq!(beat.len(), 2, "both runs give up: {beat:?}");
    let late = report(store, &worker, &old, Finish::stopped("old run")).await;
    assert!(!late, "the old run cannot confirm the stop");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let confirmed = report(store, &worker, &new, Finish::stopped("job stopped")).await;
    assert!(confirmed);
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
    let after = report(store, &worker, &new, Finish::completed("late")).await;
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
    store.delete_job(&job.id, None).await.expect("delete");
    store
        .submit_job(&job, None)
        .await
        .expect("the id is free again");
    let Some(moved) = faults.move_without_marking(&queue, &worker).await else {
        return;
    };
    let late = report(store, &worker, &old, Finish::completed("old")).await;
    assert!(!late, "the deleted run's report is refused");
    let claimed = faults.mark_moved(&queue, &worker, &moved, LEASE, 1).await;
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(ids, [job.id.as_str()], "the new job is claimed");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
}

/// An id moved to a worker of runner `a` whose job was then deleted and created again under
/// that id for runner `b` is never marked running by `a`'s late claim, nor returned to `a`'s
/// queue by `a`'s heartbeat: the new job stays queued once, on `b`, and `b` runs it.
pub async fn a_claim_never_marks_a_job_created_again_for_another_runner(
    store: &dyn Store,
    faults: &dyn Faults,
) {
    for late in ["claim", "heartbeat"] {
        let a = fresh_queue();
        let b = fresh_queue();
        let job = fresh_job(&a);
        store.submit_job(&job, None).await.expect("submit");
        let worker = format!("{a}-w");
        let Some(moved) = faults.move_without_marking(&a, &worker).await else {
            return;
        };
        store.delete_job(&job.id, None).await.expect("delete");
        let mut again = fresh_job(&b);
        again.id = job.id.clone();
        store
            .submit_job(&again, None)
            .await
            .expect("the id is free again");
        if late == "claim" {
            let claimed = faults.mark_moved(&a, &worker, &moved, LEASE, 1).await;
            assert!(
                claimed.is_empty(),
                "runner a's claim took runner b's job: {claimed:?}"
            );
        } else {
            let beat = store.heartbeat(&worker, LEASE, &[]).await.expect("beat");
            assert!(beat.is_empty(), "{beat:?}");
        }
        assert_eq!(status_of(store, &job.id).await, JobStatus::Queued, "{late}");
        assert_eq!(store.queue_len(&a).await.expect("len"), 0, "{late}");
        assert_eq!(store.queue_len(&b).await.expect("len"), 1, "{late}");
        let on_b = claim_now(store, &b, &format!("{b}-w"))
            .await
            .expect("runner b claims its job");
        assert_eq!(on_b.job.runner, b, "{late}");
        assert_eq!(
            claim_now(store, &b, &format!("{b}-w")).await,
            None,
            "{late}"
        );
    }
}

/// A run whose claim reply never reached its worker (lost, timed out) is not listed by the
/// worker's heartbeats: once it is older than a lease, a heartbeat takes it back to the front
/// of its queue, whatever the job's retries, and another worker runs it. A run the worker
/// lists, or one claimed less than a lease ago, is left alone.
pub async fn a_run_whose_claim_reply_was_lost_returns_to_its_queue_after_a_lease(
    store: &dyn Store,
) {
    let queue = fresh_queue();
    let lost = fresh_job(&queue);
    let kept = fresh_job(&queue);
    let waiting = fresh_job(&queue);
    let worker = format!("{queue}-w");
    store.submit_job(&lost, None).await.expect("submit");
    store.submit_job(&kept, None).await.expect("submit");
    let old = claim_now(store, &queue, &worker)
        .await
        .expect("a job, whose reply is then dropped")
        .attempt();
    let kept_run = claim_now(store, &queue, &worker)
        .await
        .expect("a job")
        .attempt();
    store.submit_job(&waiting, None).await.expect("submit");
    let listed = std::slice::from_ref(&kept_run);

    let beat = store.heartbeat(&worker, LEASE, listed).await.expect("beat");
    assert!(beat.is_empty(), "{beat:?}");
    assert_eq!(
        status_of(store, &lost.id).await,
        JobStatus::Running,
        "a claim younger than a lease may still be answering"
    );

    let short = Duration::from_millis(50);
    // Well inside the suite's own time limit, so a failure names this check.
    let deadline = tokio::time::Instant::now() + LONG_WAIT / 3;
    while status_of(store, &lost.id).await == JobStatus::Running {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the unlisted run was never taken back"
        );
        tokio::time::sleep(short).await;
        let beat = store.heartbeat(&worker, short, listed).await.expect("beat");
        assert!(beat.is_empty(), "{beat:?}");
    }
    assert_eq!(status_of(store, &lost.id).await, JobStatus::Queued);
    assert_eq!(
        status_of(store, &kept.id).await,
        JobStatus::Running,
        "a listed run is never taken back"
    );
    let record = store.job(&lost.id).await.expect("read");
    assert_eq!(record.started_at, None, "its attempt is cleared");

    let other = format!("{queue}-other");
    let again = claim_now(store, &queue, &other)
        .await
        .expect("the run taken back is claimable");
    assert_eq!(
        again.job.id, lost.id,
        "it went to the front of its queue, though it has no retries"
    );
    let late = report(store, &worker, &old, Finish::completed("old")).await;
    assert!(!late, "the lost claim's run cannot report");
    assert!(
        store
            .finish(&other, &again.attempt(), Finish::completed("new"))
            .await
            .expect("finish")
    );
    assert_eq!(
        store.job(&lost.id).await.expect("read").result,
        Some(JobResult::success("new"))
    );
    assert_eq!(
        claim_now(store, &queue, &other).await.map(|c| c.job.id),
        Some(waiting.id)
    );
}

/// A job whose stored form cannot be read fails alone, under its own attempt, and the rest
/// of the batch it was claimed in runs: nothing is left marked running with nobody on it.
///
/// Runs on the store itself, not through [`super::Audited`], which reads every job.
pub async fn an_unreadable_job_fails_alone_and_the_rest_of_its_batch_runs(
    store: &dyn Store,
    faults: &dyn Faults,
) {
    let queue = fresh_queue();
    let jobs: Vec<_> = (0..3).map(|_| fresh_job(&queue)).collect();
    for job in &jobs {
        store.submit_job(job, None).await.expect("submit");
    }
    if !faults.corrupt_job(&jobs[1].id).await {
        return;
    }
    let failed_before = failed_count(store).await;
    let worker = format!("{queue}-w");
    let claimed = store
        .claim(&queue, &worker, LEASE, NO_WAIT, 3)
        .await
        .expect("the batch is claimed despite one unreadable job");
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(ids, [jobs[0].id.as_str(), jobs[2].id.as_str()]);
    assert_eq!(
        failed_count(store).await,
        failed_before + 1,
        "the unreadable job is failed at once"
    );
    let held: Vec<_> = claimed.iter().map(Claimed::attempt).collect();
    let beat = store.heartbeat(&worker, LEASE, &held).await.expect("beat");
    assert!(beat.is_empty(), "{beat:?}");
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    // The audit of the checks that follow reads every job.
    store.delete_job(&jobs[1].id, None).await.expect("delete");
}

async fn failed_count(store: &dyn Store) -> u64 {
    store
        .job_counts()
        .await
        .expect("counts")
        .get(&JobStatus::Failed)
        .copied()
        .unwrap_or(0)
}
