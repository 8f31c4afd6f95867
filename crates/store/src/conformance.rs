//! Behaviour every [`Store`] must show, as checks a store's own tests run.
//!
//! Each check uses fresh ids and queue names, so the checks can share one store instance.
//! A failed check panics with a message saying what was expected. Every check runs through
//! [`Audited`], which fails on any change of a job's status that
//! [`JobStatus::can_become`] forbids: the store's scripts and the job's life cycle cannot
//! drift apart.
//!
//! ```ignore
//! #[tokio::test]
//! async fn redis_store_conforms() {
//!     let store = my_store().await;
//!     hero_store::conformance::run_all(Arc::new(store.clone()), &MyFaults(store)).await;
//! }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use hero_job::{Job, JobRecord, JobResult, JobStatus};

use crate::{Attempt, Claimed, Error, Finish, Reaped, RunnerRecord, StopOutcome, Store};

const LEASE: Duration = Duration::from_secs(30);
const NO_WAIT: Duration = Duration::from_millis(50);
/// Long enough that only a wake-up, not a poll, can end the wait in time.
const LONG_WAIT: Duration = Duration::from_secs(30);

/// Faults a store's own test injects that the [`Store`] trait cannot express: a claim cut in
/// two, as when the reply of its second step is lost.
#[async_trait]
pub trait Faults: Send + Sync {
    /// The first half of a claim whose second half never runs: moves the oldest id of `queue`
    /// into `worker`'s in-flight set without marking the job running (with Redis: `BLMOVE`
    /// without `claim.lua`). `None` when the queue is empty or the store has no such split.
    async fn move_without_marking(&self, queue: &str, worker: &str) -> Option<String>;

    /// The second half of such a claim, arriving late: marks `moved` running for `worker` if
    /// it is still in the worker's in-flight set, then claims up to `most` jobs in all from
    /// `queue` as [`Store::claim`] does, with lease `lease`.
    async fn mark_moved(
        &self,
        queue: &str,
        worker: &str,
        moved: &str,
        lease: Duration,
        most: usize,
    ) -> Vec<Claimed>;
}

/// Runs every check in turn, each through [`Audited`].
pub async fn run_all(store: Arc<dyn Store>, faults: &dyn Faults) {
    let audited = Audited::new(store);
    let store: &dyn Store = &audited;
    created_job_reads_back_unchanged(store).await;
    duplicate_id_is_a_conflict(store).await;
    start_queues_once(store).await;
    claim_takes_the_oldest_job_and_marks_it_running(store).await;
    a_batch_claim_takes_the_oldest_jobs_in_order(store).await;
    finish_records_the_result_once(store).await;
    wait_final_wakes_on_finish(store).await;
    stop_of_a_queued_job_takes_it_off_the_queue(store).await;
    stop_of_a_running_job_is_requested_through_the_heartbeat(store).await;
    ended_job_refuses_the_runners_late_report(store).await;
    heartbeat_tells_a_worker_to_give_up_jobs_it_no_longer_holds(store).await;
    delete_removes_the_job_and_its_queue_entry(store).await;
    list_includes_every_job(store).await;
    runners_register_once_and_are_seen_when_they_claim(store).await;
    secret_grants_persist_and_announce_themselves(store).await;
    job_counts_cover_every_status(store).await;
    a_job_whose_worker_lost_its_lease_fails_as_runner_lost(store).await;
    a_job_with_retries_is_requeued_when_its_worker_is_lost(store).await;
    a_job_running_past_its_timeout_fails_whatever_its_worker_does(store).await;
    a_lost_job_whose_stop_was_asked_ends_stopped(store).await;
    a_job_keeps_its_owner_out_of_sight(store).await;
    a_registration_keeps_its_access_until_unregistered(store).await;
    a_report_of_an_older_attempt_after_a_requeue_is_refused(store).await;
    a_reused_id_never_gets_the_deleted_jobs_report(store).await;
    a_stop_is_confirmed_only_by_the_run_it_reached(store).await;
    a_job_that_loses_its_runner_twice_fails_whatever_its_retries(store).await;
    ending_a_job_follows_its_allowed_transitions(store).await;
    a_moved_but_unmarked_id_returns_to_its_queue_while_its_worker_lives(store, faults).await;
    a_late_claim_does_not_mark_an_id_the_heartbeat_returned(store, faults).await;
    a_refused_report_leaves_a_new_claim_of_its_id_alone(store, faults).await;
}

fn fresh_job(queue: &str) -> Job {
    let now = Utc::now();
    Job {
        id: uuid::Uuid::new_v4().to_string(),
        caller_id: "conformance".into(),
        context_id: "ctx".into(),
        payload: "40 + 2".into(),
        executor: "osis".into(),
        runner: queue.into(),
        timeout: 60,
        env_vars: [("K".to_owned(), "v".to_owned())].into(),
        retries: 0,
        created_at: now,
        updated_at: now,
    }
}

fn fresh_queue() -> String {
    format!("conformance-{}", uuid::Uuid::new_v4().simple())
}

async fn status_of(store: &dyn Store, id: &str) -> JobStatus {
    store.job(id).await.expect("job exists").status
}

async fn claim_now(store: &dyn Store, queue: &str, worker: &str) -> Option<Claimed> {
    let mut jobs = store
        .claim(queue, worker, LEASE, NO_WAIT, 1)
        .await
        .expect("claim answers");
    assert!(jobs.len() <= 1, "a claim of one returned {}", jobs.len());
    jobs.pop()
}

/// `create_job` stores every field and the `created` status.
pub async fn created_job_reads_back_unchanged(store: &dyn Store) {
    let job = fresh_job(&fresh_queue());
    store.create_job(&job, None).await.expect("create");
    let record = store.job(&job.id).await.expect("read back");
    assert_eq!(record.job, job, "stored job differs from the submitted one");
    assert_eq!(record.status, JobStatus::Created);
    assert_eq!(record.started_at, None);
    assert_eq!(record.result, None);
    assert!(matches!(
        store.job("no-such-job").await,
        Err(Error::JobNotFound { .. })
    ));
}

/// A second job with a taken id is refused and the first is unchanged.
pub async fn duplicate_id_is_a_conflict(store: &dyn Store) {
    let job = fresh_job(&fresh_queue());
    store.create_job(&job, None).await.expect("create");
    let mut twin = job.clone();
    twin.payload = "other".into();
    assert!(matches!(
        store.create_job(&twin, None).await,
        Err(Error::JobExists { .. })
    ));
    assert!(matches!(
        store.submit_job(&twin, None).await,
        Err(Error::JobExists { .. })
    ));
    assert_eq!(
        store.job(&job.id).await.expect("read").job.payload,
        "40 + 2"
    );
}

/// `start_job` queues a created job; starting it again is refused.
pub async fn start_queues_once(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.create_job(&job, None).await.expect("create");
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    store.start_job(&job.id).await.expect("start");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);
    assert!(matches!(
        store.start_job(&job.id).await,
        Err(Error::WrongState { .. })
    ));
    assert!(matches!(
        store.start_job("no-such-job").await,
        Err(Error::JobNotFound { .. })
    ));
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);
}

/// Claims are first in, first out, and mark the job running.
pub async fn claim_takes_the_oldest_job_and_marks_it_running(store: &dyn Store) {
    let queue = fresh_queue();
    let first = fresh_job(&queue);
    let second = fresh_job(&queue);
    store.submit_job(&first, None).await.expect("submit");
    store.submit_job(&second, None).await.expect("submit");
    let claimed = claim_now(store, &queue, "w1").await.expect("a job");
    assert_eq!(claimed.job.id, first.id);
    let record = store.job(&first.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Running);
    assert!(record.started_at.is_some());
    assert_eq!(
        claim_now(store, &queue, "w1").await.map(|c| c.job.id),
        Some(second.id)
    );
    assert_eq!(claim_now(store, &queue, "w1").await, None);
}

/// A claim of several takes at most that many, oldest first, and skips stopped jobs.
pub async fn a_batch_claim_takes_the_oldest_jobs_in_order(store: &dyn Store) {
    let queue = fresh_queue();
    let jobs: Vec<Job> = (0..4).map(|_| fresh_job(&queue)).collect();
    for job in &jobs {
        store.submit_job(job, None).await.expect("submit");
    }
    store.stop_job(&jobs[1].id).await.expect("stop");
    let claimed = store
        .claim(&queue, "w1", LEASE, NO_WAIT, 2)
        .await
        .expect("claim");
    let ids: Vec<&str> = claimed.iter().map(|c| c.job.id.as_str()).collect();
    assert_ne!(
        claimed[0].token, claimed[1].token,
        "each claim has its own token"
    );
    assert_eq!(ids, [jobs[0].id.as_str(), jobs[2].id.as_str()]);
    let rest = store
        .claim(&queue, "w1", LEASE, LONG_WAIT, 10)
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1, "one job was left");
    assert_eq!(rest[0].job.id, jobs[3].id);
}

/// The first report is final; a second one changes nothing.
pub async fn finish_records_the_result_once(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let attempt = claim_now(store, &queue, "w1")
        .await
        .expect("a job")
        .attempt();
    let done = store
        .finish("w1", &attempt, Finish::completed("42"))
        .await
        .expect("finish");
    assert!(done);
    let again = store
        .finish("w1", &attempt, Finish::failed("late"))
        .await
        .expect("finish");
    assert!(!again, "a second report must be refused");
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Completed);
    assert_eq!(record.result, Some(JobResult::success("42")));
    assert!(record.completed_at.is_some());
}

/// A waiter wakes when the job ends, long before its timeout.
pub async fn wait_final_wakes_on_finish(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let waiter = store.wait_final(&job.id, LONG_WAIT);
    let finisher = async {
        let attempt = claim_now(store, &queue, "w1")
            .await
            .expect("a job")
            .attempt();
        store
            .finish("w1", &attempt, Finish::completed("done"))
            .await
            .expect("finish");
    };
    let (record, ()) =
        tokio::time::timeout(LONG_WAIT / 3, async { tokio::join!(waiter, finisher) })
            .await
            .expect("the waiter must wake on finish, not at its timeout");
    let record = record.expect("wait");
    assert_eq!(record.result, Some(JobResult::success("done")));
    let unfinished = fresh_job(&queue);
    store.create_job(&unfinished, None).await.expect("create");
    let record = store
        .wait_final(&unfinished.id, NO_WAIT)
        .await
        .expect("wait");
    assert_eq!(
        record.status,
        JobStatus::Created,
        "timeout returns the job as it is"
    );
}

/// Stopping a queued job removes it from its queue; stopping a final job changes nothing.
pub async fn stop_of_a_queued_job_takes_it_off_the_queue(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    assert_eq!(
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::Stopped
    );
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
    assert_eq!(claim_now(store, &queue, "w1").await, None);
    assert_eq!(
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::AlreadyFinal
    );
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
}

/// A running job's stop reaches its worker through the heartbeat.
pub async fn stop_of_a_running_job_is_requested_through_the_heartbeat(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-w");
    let attempt = claim_now(store, &queue, &worker)
        .await
        .expect("a job")
        .attempt();
    let running = [attempt.clone()];
    let beat = store.heartbeat(&worker, LEASE, &running).await;
    assert!(beat.expect("beat").is_empty());
    assert_eq!(
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::Requested
    );
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let beat = store.heartbeat(&worker, LEASE, &running).await;
    assert_eq!(beat.expect("beat"), vec![attempt.clone()]);
    let stopped = store
        .finish(&worker, &attempt, Finish::stopped("stopped"))
        .await;
    assert!(stopped.expect("finish"));
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
}

/// A job ended or deleted behind its worker's back is named by the next heartbeat, so the
/// worker stops executing it.
pub async fn heartbeat_tells_a_worker_to_give_up_jobs_it_no_longer_holds(store: &dyn Store) {
    let queue = fresh_queue();
    let ended = fresh_job(&queue);
    let deleted = fresh_job(&queue);
    let kept = fresh_job(&queue);
    for job in [&ended, &deleted, &kept] {
        store.submit_job(job, None).await.expect("submit");
    }
    let worker = format!("{queue}-w");
    let mut running = Vec::new();
    for _ in 0..3 {
        running.push(
            claim_now(store, &queue, &worker)
                .await
                .expect("a job")
                .attempt(),
        );
    }
    store
        .end_job(&ended.id, Finish::failed("timed out"))
        .await
        .expect("end");
    store.delete_job(&deleted.id).await.expect("delete");
    let mut give_up: Vec<String> = store
        .heartbeat(&worker, LEASE, &running)
        .await
        .expect("beat")
        .into_iter()
        .map(|attempt| attempt.id)
        .collect();
    give_up.sort();
    let mut expected = vec![ended.id.clone(), deleted.id.clone()];
    expected.sort();
    assert_eq!(give_up, expected);
    let kept = running[2].clone();
    let other = store
        .heartbeat("someone-else", LEASE, std::slice::from_ref(&kept))
        .await
        .expect("beat");
    assert_eq!(other, vec![kept], "a job held by another worker");
}

/// `end_job` wins over a runner that reports afterwards.
pub async fn ended_job_refuses_the_runners_late_report(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    let attempt = claim_now(store, &queue, "w1")
        .await
        .expect("a job")
        .attempt();
    let ended = store
        .end_job(&job.id, Finish::failed("timed out"))
        .await
        .expect("end");
    assert_eq!(ended.status, JobStatus::Failed);
    let late = store
        .finish("w1", &attempt, Finish::completed("late"))
        .await
        .expect("finish");
    assert!(!late);
    let again = store
        .end_job(&job.id, Finish::stopped("stop"))
        .await
        .expect("end");
    assert_eq!(
        again.status,
        JobStatus::Failed,
        "the first final state stands"
    );
    assert_eq!(again.result, Some(JobResult::error("timed out")));
}

/// Deleting a queued job removes it and its queue entry.
pub async fn delete_removes_the_job_and_its_queue_entry(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    store.delete_job(&job.id).await.expect("delete");
    assert!(matches!(
        store.job(&job.id).await,
        Err(Error::JobNotFound { .. })
    ));
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    assert_eq!(claim_now(store, &queue, "w1").await, None);
    assert!(matches!(
        store.delete_job(&job.id).await,
        Err(Error::JobNotFound { .. })
    ));
}

/// `list_jobs` returns created, queued and finished jobs alike.
pub async fn list_includes_every_job(store: &dyn Store) {
    let queue = fresh_queue();
    let created = fresh_job(&queue);
    let queued = fresh_job(&queue);
    store.create_job(&created, None).await.expect("create");
    store.submit_job(&queued, None).await.expect("submit");
    let listed = store.list_jobs().await.expect("list");
    for id in [&created.id, &queued.id] {
        assert!(
            listed.iter().any(|record| &record.job.id == id),
            "job {id} missing from the list"
        );
    }
}

/// A registered name is taken for good; a queue is seen once a runner claims from it.
pub async fn runners_register_once_and_are_seen_when_they_claim(store: &dyn Store) {
    let queue = fresh_queue();
    let runner = crate::RunnerRecord {
        name: format!("{queue}-runner"),
        queue: queue.clone(),
        access: crate::RunnerAccess::User,
        registered_at: Utc::now(),
    };
    store.register_runner(&runner).await.expect("register");
    assert!(matches!(
        store.register_runner(&runner).await,
        Err(Error::RunnerExists { .. })
    ));
    let listed = store.runners().await.expect("runners");
    assert!(
        listed
            .iter()
            .any(|r| r.name == runner.name && r.queue == queue)
    );
    assert_eq!(store.last_seen(&queue).await.expect("seen"), None);
    claim_now(store, &queue, "w1").await;
    let seen = store.last_seen(&queue).await.expect("seen");
    let age = Utc::now() - seen.expect("seen after a claim");
    assert!(age.num_seconds().abs() < 60, "seen {age} ago");
}

/// A grant is stored under its hash and announced to watchers.
pub async fn secret_grants_persist_and_announce_themselves(store: &dyn Store) {
    let mut watch = store.watch_secrets().await.expect("watch");
    let hash = format!("{:064}", uuid::Uuid::new_v4().as_u128());
    store.put_secret_grant(&hash, "user").await.expect("grant");
    assert_eq!(
        store
            .secret_grants()
            .await
            .expect("grants")
            .get(&hash)
            .map(String::as_str),
        Some("user")
    );
    tokio::time::timeout(LONG_WAIT / 3, watch.changed())
        .await
        .expect("a grant is announced")
        .expect("the watch stays open");
    store
        .put_secret_grant(&hash, "revoked")
        .await
        .expect("revoke");
    assert_eq!(
        store
            .secret_grants()
            .await
            .expect("grants")
            .get(&hash)
            .map(String::as_str),
        Some("revoked")
    );
}

/// Counts include every job by its status.
pub async fn job_counts_cover_every_status(store: &dyn Store) {
    let before = store.job_counts().await.expect("counts");
    let queue = fresh_queue();
    let created = fresh_job(&queue);
    let queued = fresh_job(&queue);
    store.create_job(&created, None).await.expect("create");
    store.submit_job(&queued, None).await.expect("submit");
    let after = store.job_counts().await.expect("counts");
    let grew = |status: JobStatus| {
        after.get(&status).copied().unwrap_or(0) - before.get(&status).copied().unwrap_or(0)
    };
    assert_eq!(grew(JobStatus::Created), 1);
    assert_eq!(grew(JobStatus::Queued), 1);
}

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
    let late = store
        .finish(&worker, &attempt, Finish::completed("late"))
        .await
        .expect("finish");
    assert!(!late, "a reaped job refuses its worker's late report");
}

/// Claims the one job queued on `queue` for `worker` with a lease that expires at once, as if
/// the worker died right after claiming it; returns the claim.
async fn claim_and_lose(store: &dyn Store, queue: &str, worker: &str) -> Claimed {
    let mut claimed = store
        .claim(queue, worker, Duration::from_millis(1), NO_WAIT, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "one job was queued");
    claimed.remove(0)
}

/// Reaps until `id` leaves `status`, or panics after [`LONG_WAIT`].
async fn reap_while(store: &dyn Store, id: &str, status: JobStatus) {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    while status_of(store, id).await == status {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job stayed {status:?}: never reaped"
        );
        store.reap_expired().await.expect("reap");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let late = store
        .finish(&first, &lost, Finish::completed("late"))
        .await
        .expect("finish");
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
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::Requested
    );
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
}

/// A job's owner comes back with it, from a read and from the list, and never in its JSON.
pub async fn a_job_keeps_its_owner_out_of_sight(store: &dyn Store) {
    let queue = fresh_queue();
    let owned = fresh_job(&queue);
    let unowned = fresh_job(&queue);
    let owner = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    store.create_job(&owned, Some(owner)).await.expect("create");
    store.submit_job(&unowned, None).await.expect("submit");
    let record = store.job(&owned.id).await.expect("read");
    assert_eq!(record.owner.as_deref(), Some(owner));
    assert_eq!(store.job(&unowned.id).await.expect("read").owner, None);
    let listed = store.list_jobs().await.expect("list");
    let from_list = listed
        .iter()
        .find(|r| r.job.id == owned.id)
        .expect("the owned job is listed");
    assert_eq!(from_list.owner.as_deref(), Some(owner));
    let json = serde_json::to_string(&record).expect("a record serializes");
    assert!(!json.contains(owner), "the owner leaked into {json}");
}

/// A registration keeps the access it was given, and is gone once unregistered.
pub async fn a_registration_keeps_its_access_until_unregistered(store: &dyn Store) {
    let queue = fresh_queue();
    let runner = crate::RunnerRecord {
        name: format!("{queue}-system"),
        queue: queue.clone(),
        access: crate::RunnerAccess::Admin,
        registered_at: Utc::now(),
    };
    store.register_runner(&runner).await.expect("register");
    let listed = store.runners().await.expect("runners");
    let found = listed
        .iter()
        .find(|r| r.name == runner.name)
        .expect("the runner is listed");
    assert_eq!(found.access, crate::RunnerAccess::Admin);
    store
        .unregister_runner(&runner.name)
        .await
        .expect("unregister");
    let listed = store.runners().await.expect("runners");
    assert!(listed.iter().all(|r| r.name != runner.name));
    assert!(matches!(
        store.unregister_runner(&runner.name).await,
        Err(Error::RunnerNotFound { .. })
    ));
    store
        .register_runner(&runner)
        .await
        .expect("the name is free again");
}

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

/// `end_job` changes a job only along [`JobStatus::can_become`]: a created job cannot fail
/// (it never started), but may be stopped; a queued job may fail.
pub async fn ending_a_job_follows_its_allowed_transitions(store: &dyn Store) {
    let queue = fresh_queue();
    let created = fresh_job(&queue);
    store.create_job(&created, None).await.expect("create");
    let record = store
        .end_job(&created.id, Finish::failed("timed out"))
        .await
        .expect("end");
    assert_eq!(
        record.status,
        JobStatus::Created,
        "created cannot become failed"
    );
    let record = store
        .end_job(&created.id, Finish::stopped("stopped"))
        .await
        .expect("end");
    assert_eq!(record.status, JobStatus::Stopped);
    let queued = fresh_job(&queue);
    store.submit_job(&queued, None).await.expect("submit");
    let record = store
        .end_job(&queued.id, Finish::failed("timed out"))
        .await
        .expect("end");
    assert_eq!(record.status, JobStatus::Failed);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
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

/// A [`Store`] that checks every status change its operations make against
/// [`JobStatus::can_become`], and panics on a forbidden one.
///
/// It compares the statuses of every job before and after each operation that may change
/// one, so the checks must not run operations concurrently with each other.
/// `run_job` is passed through unchecked: it waits for the job's end, which other operations
/// bring about meanwhile.
pub struct Audited {
    inner: Arc<dyn Store>,
}

impl Audited {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        Self { inner }
    }

    async fn statuses(&self) -> HashMap<String, JobStatus> {
        self.inner
            .list_jobs()
            .await
            .expect("list jobs for the audit")
            .into_iter()
            .map(|record| (record.job.id, record.status))
            .collect()
    }

    /// Runs `operation` and checks every status change it made.
    async fn audit<T>(&self, name: &str, operation: impl Future<Output = T>) -> T {
        let before = self.statuses().await;
        let output = operation.await;
        for (id, after) in self.statuses().await {
            match before.get(&id) {
                Some(&was) => assert!(
                    was == after || was.can_become(after),
                    "`{name}` moved job {id} from {was} to {after}, which \
                     JobStatus::can_become forbids"
                ),
                None => assert!(
                    matches!(after, JobStatus::Created | JobStatus::Queued),
                    "`{name}` made job {id} appear as {after}"
                ),
            }
        }
        output
    }
}

#[async_trait]
impl Store for Audited {
    async fn create_job(&self, job: &Job, owner: Option<&str>) -> crate::Result<()> {
        self.audit("create_job", self.inner.create_job(job, owner))
            .await
    }

    async fn start_job(&self, id: &str) -> crate::Result<()> {
        self.audit("start_job", self.inner.start_job(id)).await
    }

    async fn submit_job(&self, job: &Job, owner: Option<&str>) -> crate::Result<()> {
        self.audit("submit_job", self.inner.submit_job(job, owner))
            .await
    }

    async fn run_job(
        &self,
        job: &Job,
        owner: Option<&str>,
        timeout: Duration,
    ) -> crate::Result<JobRecord> {
        self.inner.run_job(job, owner, timeout).await
    }

    async fn job(&self, id: &str) -> crate::Result<JobRecord> {
        self.inner.job(id).await
    }

    async fn list_jobs(&self) -> crate::Result<Vec<JobRecord>> {
        self.inner.list_jobs().await
    }

    async fn delete_job(&self, id: &str) -> crate::Result<()> {
        self.audit("delete_job", self.inner.delete_job(id)).await
    }

    async fn stop_job(&self, id: &str) -> crate::Result<StopOutcome> {
        self.audit("stop_job", self.inner.stop_job(id)).await
    }

    async fn end_job(&self, id: &str, finish: Finish) -> crate::Result<JobRecord> {
        self.audit("end_job", self.inner.end_job(id, finish)).await
    }

    async fn wait_final(&self, id: &str, timeout: Duration) -> crate::Result<JobRecord> {
        self.inner.wait_final(id, timeout).await
    }

    async fn claim(
        &self,
        queue: &str,
        worker: &str,
        lease: Duration,
        wait: Duration,
        most: usize,
    ) -> crate::Result<Vec<Claimed>> {
        let claim = self.inner.claim(queue, worker, lease, wait, most);
        self.audit("claim", claim).await
    }

    async fn heartbeat(
        &self,
        worker: &str,
        lease: Duration,
        running: &[Attempt],
    ) -> crate::Result<Vec<Attempt>> {
        let beat = self.inner.heartbeat(worker, lease, running);
        self.audit("heartbeat", beat).await
    }

    async fn finish(&self, worker: &str, attempt: &Attempt, finish: Finish) -> crate::Result<bool> {
        let report = self.inner.finish(worker, attempt, finish);
        self.audit("finish", report).await
    }

    async fn register_runner(&self, runner: &RunnerRecord) -> crate::Result<()> {
        self.inner.register_runner(runner).await
    }

    async fn unregister_runner(&self, name: &str) -> crate::Result<()> {
        self.inner.unregister_runner(name).await
    }

    async fn runners(&self) -> crate::Result<Vec<RunnerRecord>> {
        self.inner.runners().await
    }

    async fn last_seen(&self, queue: &str) -> crate::Result<Option<DateTime<Utc>>> {
        self.inner.last_seen(queue).await
    }

    async fn job_counts(&self) -> crate::Result<HashMap<JobStatus, u64>> {
        self.inner.job_counts().await
    }

    async fn secret_grants(&self) -> crate::Result<HashMap<String, String>> {
        self.inner.secret_grants().await
    }

    async fn put_secret_grant(&self, hash: &str, grant: &str) -> crate::Result<()> {
        self.inner.put_secret_grant(hash, grant).await
    }

    async fn watch_secrets(&self) -> crate::Result<tokio::sync::watch::Receiver<u64>> {
        self.inner.watch_secrets().await
    }

    async fn reap_expired(&self) -> crate::Result<Reaped> {
        self.audit("reap_expired", self.inner.reap_expired()).await
    }

    async fn queue_len(&self, queue: &str) -> crate::Result<u64> {
        self.inner.queue_len(queue).await
    }

    async fn health(&self) -> crate::Result<()> {
        self.inner.health().await
    }
}
