//! Checks on scheduling: delayed jobs wait as `scheduled` until due, priorities order a
//! runner's queue, a failed run of a job that asks for it backs off and runs again, and a
//! failed or stopped job can be queued again.

use std::time::Duration;

use hero_job::{Job, JobStatus};
use tokio::time::Instant;

use super::{
    LEASE, LONG_WAIT, NO_WAIT, claim_and_lose, claim_now, fresh_job, fresh_queue, reap_while,
    report, status_of,
};
use crate::{Error, Finish, Store};

/// Promotes due jobs until `id` is no longer `scheduled`, or panics after [`LONG_WAIT`].
async fn promote_until_queued(store: &dyn Store, id: &str) {
    let deadline = Instant::now() + LONG_WAIT;
    while status_of(store, id).await == JobStatus::Scheduled {
        assert!(Instant::now() < deadline, "job {id} was never queued");
        let promoted = store.promote_due().await.expect("promote");
        if promoted.queued == 0 {
            // Nothing was due: wait for the earliest due time the store named, briefly.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn job_with(queue: &str, change: impl FnOnce(&mut Job)) -> Job {
    let mut job = fresh_job(queue);
    change(&mut job);
    job
}

/// A delayed job waits as `scheduled`, is not claimable before its time, and is claimable
/// once due and promoted; one whose `run_at` has passed is queued at once.
pub async fn a_delayed_job_is_claimable_only_once_due(store: &dyn Store) {
    let queue = fresh_queue();
    let delayed = job_with(&queue, |j| j.delay = Some(1));
    let submitted = Instant::now();
    store.submit_job(&delayed, None).await.expect("submit");
    assert_eq!(status_of(store, &delayed.id).await, JobStatus::Scheduled);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    let early = store.promote_due().await.expect("promote");
    // A machine so loaded that the submit and the reads above took the whole delay sees the
    // job due already; the early state is then not observable, and only the rest is checked.
    if submitted.elapsed() < Duration::from_millis(900) {
        assert!(
            early.next_due.is_some(),
            "the store names when the scheduled job comes due"
        );
        assert_eq!(
            claim_now(store, &queue, "w1").await,
            None,
            "not before its time"
        );
    }
    promote_until_queued(store, &delayed.id).await;
    assert!(
        submitted.elapsed() >= Duration::from_millis(900),
        "queued {:?} after submit, before its delay",
        submitted.elapsed()
    );
    let claimed = claim_now(store, &queue, "w1").await.expect("due job");
    assert_eq!(claimed.job.id, delayed.id);

    let past = job_with(&queue, |j| {
        j.run_at = Some(j.created_at - chrono::Duration::hours(1))
    });
    store.submit_job(&past, None).await.expect("submit");
    assert_eq!(status_of(store, &past.id).await, JobStatus::Queued);

    let created = job_with(&queue, |j| j.delay = Some(3600));
    store.create_job(&created, None).await.expect("create");
    store.start_job(&created.id, None).await.expect("start");
    assert_eq!(
        status_of(store, &created.id).await,
        JobStatus::Scheduled,
        "starting a job that is not due schedules it"
    );
    store.stop_job(&created.id, None).await.expect("stop");
    assert_eq!(status_of(store, &created.id).await, JobStatus::Stopped);
}

/// Within a runner's queue the highest priority goes first and one priority is first in,
/// first out, in a single batch claim; `queue_len` counts every priority.
pub async fn higher_priorities_are_claimed_first_and_in_order_within_one(store: &dyn Store) {
    let queue = fresh_queue();
    let priorities = [0, 5, 9, 5, 0, 9];
    let jobs: Vec<Job> = priorities
        .iter()
        .map(|&p| job_with(&queue, |j| j.priority = p))
        .collect();
    store
        .submit_jobs(&jobs[..3], None, true)
        .await
        .expect("submit many");
    for job in &jobs[3..] {
        store.submit_job(job, None).await.expect("submit");
    }
    assert_eq!(store.queue_len(&queue).await.expect("len"), 6);
    let claimed = store
        .claim(&queue, "w1", LEASE, NO_WAIT, 10)
        .await
        .expect("claim");
    let order: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    let expected: Vec<&str> = [2, 5, 1, 3, 0, 4]
        .iter()
        .map(|&i| jobs[i].id.as_str())
        .collect();
    assert_eq!(order, expected, "priority first, then first in, first out");
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
}

/// A job of a priority above 0 requeued after its runner was lost goes back to the front of
/// its priority, ahead of the jobs of that priority queued since and of every lower one.
pub async fn a_lost_priority_job_returns_to_the_front_of_its_priority(store: &dyn Store) {
    let queue = fresh_queue();
    let lost = job_with(&queue, |j| {
        j.priority = 4;
        j.retries = 1;
    });
    store.submit_job(&lost, None).await.expect("submit");
    let worker = format!("{queue}-lost");
    claim_and_lose(store, &queue, &worker).await;
    let later = job_with(&queue, |j| j.priority = 4);
    let lower = job_with(&queue, |j| j.priority = 0);
    store.submit_job(&lower, None).await.expect("submit");
    store.submit_job(&later, None).await.expect("submit");
    reap_while(store, &lost.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &lost.id).await, JobStatus::Queued);
    let claimed = store
        .claim(&queue, "w1", LEASE, NO_WAIT, 10)
        .await
        .expect("claim");
    let order: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_eq!(order, [&lost.id, &later.id, &lower.id]);
}

/// A worker blocked on an empty queue wakes for a job of a higher priority. Runs outside
/// [`Audited`](super::Audited): the claim waits while the job is submitted.
pub async fn a_blocked_claim_wakes_for_a_priority_job(store: &dyn Store) {
    // Shorter than the suite's own time limit, so a claim never woken fails this check.
    const WAIT: Duration = Duration::from_secs(5);
    let queue = fresh_queue();
    let job = job_with(&queue, |j| j.priority = 3);
    let started = Instant::now();
    let (claimed, submitted) = tokio::join!(store.claim(&queue, "w1", LEASE, WAIT, 1), async {
        // Lets the claim reach its blocking wait first; the check holds either way.
        tokio::time::sleep(Duration::from_millis(200)).await;
        store.submit_job(&job, None).await
    });
    submitted.expect("submit");
    let claimed = claimed.expect("claim");
    assert_eq!(claimed.len(), 1, "the blocked claim took the priority job");
    assert_eq!(claimed[0].job.id, job.id);
    assert!(
        started.elapsed() < WAIT / 2,
        "woken, not timed out: {:?}",
        started.elapsed()
    );
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
}

/// A failed run of a job with `retry_on_error` goes back to `scheduled` with its error and
/// attempt number, is queued after its backoff, and the last allowed run's failure is final.
pub async fn a_failed_run_that_asks_for_retries_backs_off_then_runs_again(store: &dyn Store) {
    let queue = fresh_queue();
    let job = job_with(&queue, |j| {
        j.retry_on_error = true;
        j.retries = 1;
        j.retry_backoff_secs = 1;
    });
    store.submit_job(&job, None).await.expect("submit");
    let first = claim_now(store, &queue, "w1").await.expect("claim");
    assert_eq!(store.job(&job.id).await.expect("read").attempt, 1);
    let failed_at = Instant::now();
    assert!(report(store, "w1", &first.attempt(), Finish::failed("boom 1")).await);
    let waiting = store.job(&job.id).await.expect("read");
    assert_eq!(
        waiting.status,
        JobStatus::Scheduled,
        "backing off, not ended"
    );
    assert_eq!(waiting.result, None);
    let info = waiting.status_info();
    assert_eq!(
        (info.attempt, info.last_error.as_deref()),
        (1, Some("boom 1"))
    );
    let still = store
        .wait_final(&job.id, Duration::from_millis(100))
        .await
        .expect("wait");
    assert!(!still.status.is_final(), "a retried failure is not an end");
    promote_until_queued(store, &job.id).await;
    assert!(
        failed_at.elapsed() >= Duration::from_millis(450),
        "requeued after {:?}, before half its backoff",
        failed_at.elapsed()
    );
    let second = claim_now(store, &queue, "w1").await.expect("claim again");
    assert_ne!(second.token, first.token);
    assert_eq!(store.job(&job.id).await.expect("read").attempt, 2);
    assert!(report(store, "w1", &second.attempt(), Finish::failed("boom 2")).await);
    let done = store.job(&job.id).await.expect("read");
    assert_eq!(done.status, JobStatus::Failed, "no retries left");
    let info = done.status_info();
    assert_eq!(
        (info.attempt, info.last_error.as_deref()),
        (2, Some("boom 2"))
    );
}

/// `retry_job` queues a failed or a stopped job again as a fresh one; any other status is
/// refused, and another owner's job is not found.
pub async fn a_failed_or_stopped_job_can_be_queued_again(store: &dyn Store) {
    let queue = fresh_queue();
    let failed = fresh_job(&queue);
    store.submit_job(&failed, Some("o1")).await.expect("submit");
    let claimed = claim_now(store, &queue, "w1").await.expect("claim");
    assert!(report(store, "w1", &claimed.attempt(), Finish::failed("boom")).await);
    assert!(matches!(
        store.retry_job(&failed.id, Some("o2")).await,
        Err(Error::JobNotFound { .. })
    ));
    store
        .retry_job(&failed.id, Some("o1"))
        .await
        .expect("retry");
    let again = store.job(&failed.id).await.expect("read");
    assert_eq!(again.status, JobStatus::Queued);
    assert_eq!(
        (again.result, again.attempt, again.completed_at),
        (None, 0, None)
    );
    let rerun = claim_now(store, &queue, "w1")
        .await
        .expect("claimable again");
    assert_eq!(rerun.job.id, failed.id);
    assert!(matches!(
        store.retry_job(&failed.id, None).await,
        Err(Error::WrongState {
            status: JobStatus::Running,
            ..
        })
    ));
    assert!(report(store, "w1", &rerun.attempt(), Finish::completed("ok")).await);
    assert!(matches!(
        store.retry_job(&failed.id, None).await,
        Err(Error::WrongState {
            status: JobStatus::Completed,
            ..
        })
    ));

    let stopped = fresh_job(&queue);
    store.create_job(&stopped, None).await.expect("create");
    store.stop_job(&stopped.id, None).await.expect("stop");
    store.retry_job(&stopped.id, None).await.expect("retry");
    assert_eq!(status_of(store, &stopped.id).await, JobStatus::Queued);
    assert!(matches!(
        store.retry_job("no-such-job", None).await,
        Err(Error::JobNotFound { .. })
    ));
}

/// A job past its deadline whose worker does not end it, and that asked to be retried after
/// an error, goes back to `scheduled` when the reaper catches it, and runs again. Not in
/// [`run_all`](super::run_all): the deadline's grace makes it take several seconds, so a
/// store's tests run it on its own.
pub async fn a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again(store: &dyn Store) {
    let queue = fresh_queue();
    let job = job_with(&queue, |j| {
        j.timeout = 1;
        j.retry_on_error = true;
        j.retries = 1;
        j.retry_backoff_secs = 0;
    });
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-stuck");
    let first = claim_now(store, &queue, &worker).await.expect("claim");
    let deadline = Instant::now() + LONG_WAIT;
    while status_of(store, &job.id).await == JobStatus::Running {
        assert!(Instant::now() < deadline, "never timed out");
        store
            .heartbeat(&worker, LEASE, std::slice::from_ref(&first.attempt()))
            .await
            .expect("heartbeat");
        store.reap_expired().await.expect("reap");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waiting = store.job(&job.id).await.expect("read");
    assert_eq!(waiting.status, JobStatus::Scheduled, "retried, not failed");
    let info = waiting.status_info();
    assert_eq!(info.attempt, 1);
    assert!(
        info.last_error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        info.last_error
    );
    promote_until_queued(store, &job.id).await;
    let second = claim_now(store, &queue, "w2").await.expect("claim again");
    assert!(report(store, "w2", &second.attempt(), Finish::completed("ok")).await);
    let done = store.job(&job.id).await.expect("read");
    assert_eq!((done.status, done.attempt), (JobStatus::Completed, 2));
}
