//! Behaviour every [`Store`] must show, as checks a store's own tests run.
//!
//! Each check uses fresh ids and queue names, so the checks can share one store instance.
//! A failed check panics with a message saying what was expected.
//!
//! ```ignore
//! #[tokio::test]
//! async fn redis_store_conforms() {
//!     let store = my_store().await;
//!     hero_store::conformance::run_all(&store).await;
//! }
//! ```

use std::time::Duration;

use chrono::Utc;
use hero_job::{Job, JobResult, JobStatus};

use crate::{Error, Finish, StopOutcome, Store};

const LEASE: Duration = Duration::from_secs(30);
const NO_WAIT: Duration = Duration::from_millis(50);
/// Long enough that only a wake-up, not a poll, can end the wait in time.
const LONG_WAIT: Duration = Duration::from_secs(30);

/// Runs every check in turn.
pub async fn run_all(store: &dyn Store) {
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

async fn claim_now(store: &dyn Store, queue: &str, worker: &str) -> Option<Job> {
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
    assert_eq!(claimed.id, first.id);
    let record = store.job(&first.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Running);
    assert!(record.started_at.is_some());
    assert_eq!(
        claim_now(store, &queue, "w1").await.map(|j| j.id),
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
    let ids: Vec<&str> = claimed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, [jobs[0].id.as_str(), jobs[2].id.as_str()]);
    let rest = store
        .claim(&queue, "w1", LEASE, LONG_WAIT, 10)
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1, "one job was left");
    assert_eq!(rest[0].id, jobs[3].id);
}

/// The first report is final; a second one changes nothing.
pub async fn finish_records_the_result_once(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    claim_now(store, &queue, "w1").await.expect("a job");
    let done = store
        .finish("w1", &job.id, Finish::completed("42"))
        .await
        .expect("finish");
    assert!(done);
    let again = store
        .finish("w1", &job.id, Finish::failed("late"))
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
        claim_now(store, &queue, "w1").await.expect("a job");
        store
            .finish("w1", &job.id, Finish::completed("done"))
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
    claim_now(store, &queue, &worker).await.expect("a job");
    let running = [job.id.clone()];
    let beat = store.heartbeat(&worker, LEASE, &running).await;
    assert!(beat.expect("beat").is_empty());
    assert_eq!(
        store.stop_job(&job.id).await.expect("stop"),
        StopOutcome::Requested
    );
    assert_eq!(status_of(store, &job.id).await, JobStatus::Running);
    let beat = store.heartbeat(&worker, LEASE, &running).await;
    assert_eq!(beat.expect("beat"), vec![job.id.clone()]);
    let stopped = store
        .finish(&worker, &job.id, Finish::stopped("stopped"))
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
    for _ in 0..3 {
        claim_now(store, &queue, &worker).await.expect("a job");
    }
    store
        .end_job(&ended.id, Finish::failed("timed out"))
        .await
        .expect("end");
    store.delete_job(&deleted.id).await.expect("delete");
    let running = [ended.id.clone(), deleted.id.clone(), kept.id.clone()];
    let mut give_up = store
        .heartbeat(&worker, LEASE, &running)
        .await
        .expect("beat");
    give_up.sort();
    let mut expected = vec![ended.id.clone(), deleted.id.clone()];
    expected.sort();
    assert_eq!(give_up, expected);
    let other = store
        .heartbeat("someone-else", LEASE, std::slice::from_ref(&kept.id))
        .await
        .expect("beat");
    assert_eq!(other, vec![kept.id.clone()], "a job held by another worker");
}

/// `end_job` wins over a runner that reports afterwards.
pub async fn ended_job_refuses_the_runners_late_report(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    claim_now(store, &queue, "w1").await.expect("a job");
    let ended = store
        .end_job(&job.id, Finish::failed("timed out"))
        .await
        .expect("end");
    assert_eq!(ended.status, JobStatus::Failed);
    let late = store
        .finish("w1", &job.id, Finish::completed("late"))
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
    claim_and_lose(store, &queue, &worker).await;
    reap_while(store, &job.id, JobStatus::Running).await;
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(record.status, JobStatus::Failed);
    assert!(
        matches!(&record.result, Some(JobResult::Error { error }) if error.contains("runner lost")),
        "{:?}",
        record.result
    );
    let late = store
        .finish(&worker, &job.id, Finish::completed("late"))
        .await
        .expect("finish");
    assert!(!late, "a reaped job refuses its worker's late report");
}

/// Claims the one job queued on `queue` for `worker` with a lease that expires at once, as if
/// the worker died right after claiming it; returns the job.
async fn claim_and_lose(store: &dyn Store, queue: &str, worker: &str) -> Job {
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
    claim_and_lose(store, &queue, &first).await;
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);

    let second = format!("{queue}-second");
    let again = claim_and_lose(store, &queue, &second).await;
    assert_eq!(again, job, "the requeued job is claimed again");
    let late = store
        .finish(&first, &job.id, Finish::completed("late"))
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
    let claimed = store
        .claim(&queue, &worker, LEASE, NO_WAIT, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    while status_of(store, &job.id).await == JobStatus::Running {
        assert!(tokio::time::Instant::now() < deadline, "never timed out");
        store
            .heartbeat(&worker, LEASE, std::slice::from_ref(&job.id))
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
        .heartbeat(&worker, LEASE, std::slice::from_ref(&job.id))
        .await
        .expect("heartbeat");
    assert_eq!(give_up, vec![job.id.clone()]);
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
