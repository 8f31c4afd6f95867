//! Checks on jobs as records: creating, starting, reading, listing, waiting for, stopping,
//! deleting, ending and counting them.

use hero_job::{JobResult, JobStatus};

use super::{LEASE, LONG_WAIT, NO_WAIT, claim_now, fresh_job, fresh_queue, status_of};
use crate::{Error, Finish, StopOutcome, Store};

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
    store.start_job(&job.id, None).await.expect("start");
    assert_eq!(status_of(store, &job.id).await, JobStatus::Queued);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);
    assert!(matches!(
        store.start_job(&job.id, None).await,
        Err(Error::WrongState { .. })
    ));
    assert!(matches!(
        store.start_job("no-such-job", None).await,
        Err(Error::JobNotFound { .. })
    ));
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);
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

/// A run job's answer is its stored final record, progress and owner included, whether it
/// completed or failed.
pub async fn a_run_jobs_record_is_the_stored_one(store: &dyn Store) {
    let queue = fresh_queue();
    for finish in [
        Finish::completed("done"),
        Finish::failed("it broke\non two lines"),
    ] {
        let job = fresh_job(&queue);
        let runner = async {
            let attempt = store
                .claim(&queue, "w1", LEASE, LONG_WAIT, 1)
                .await
                .expect("claim")
                .pop()
                .expect("the run's job is claimed")
                .attempt();
            let progress = hero_job::Progress::new(50, "half");
            store
                .progress("w1", &attempt, &progress)
                .await
                .expect("progress");
            store
                .finish("w1", &attempt, finish.clone())
                .await
                .expect("finish");
        };
        let (record, ()) = tokio::time::timeout(LONG_WAIT, async {
            tokio::join!(store.run_job(&job, Some("owner-1"), LONG_WAIT), runner)
        })
        .await
        .expect("the run ends when its job does");
        let record = record.expect("run");
        assert!(record.status.is_final(), "{record:?}");
        assert_eq!(record.result, Some(finish.result.clone()));
        assert_eq!(
            record,
            store.job(&job.id).await.expect("read"),
            "the answer is the stored record"
        );
    }
}

/// Stopping a queued job removes it from its queue; stopping a final job changes nothing.
pub async fn stop_of_a_queued_job_takes_it_off_the_queue(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    assert_eq!(
        store.stop_job(&job.id, None).await.expect("stop"),
        StopOutcome::Stopped
    );
    assert_eq!(status_of(store, &job.id).await, JobStatus::Stopped);
    assert_eq!(claim_now(store, &queue, "w1").await, None);
    assert_eq!(
        store.stop_job(&job.id, None).await.expect("stop"),
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
        store.stop_job(&job.id, None).await.expect("stop"),
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

/// Deleting a queued job removes it and its queue entry.
pub async fn delete_removes_the_job_and_its_queue_entry(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.submit_job(&job, None).await.expect("submit");
    store.delete_job(&job.id, None).await.expect("delete");
    assert!(matches!(
        store.job(&job.id).await,
        Err(Error::JobNotFound { .. })
    ));
    assert_eq!(store.queue_len(&queue).await.expect("len"), 0);
    assert_eq!(claim_now(store, &queue, "w1").await, None);
    assert!(matches!(
        store.delete_job(&job.id, None).await,
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
    let listed = store
        .list_jobs(&crate::JobFilter::default())
        .await
        .expect("list");
    for id in [&created.id, &queued.id] {
        assert!(
            listed.iter().any(|record| &record.job.id == id),
            "job {id} missing from the list"
        );
    }
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

/// `submit_jobs` stores every job as `create_job`/`submit_job` would, queued in order; one
/// taken id, even in a call long enough to be cut in chunks, stores none of them.
pub async fn submitting_many_jobs_stores_all_in_order_or_none(store: &dyn Store) {
    let (queue, other) = (fresh_queue(), fresh_queue());
    let mut jobs: Vec<_> = (0..3).map(|_| fresh_job(&queue)).collect();
    // One job of another queue between them: each queue keeps the order of its own jobs.
    jobs.insert(1, fresh_job(&other));
    store
        .submit_jobs(&jobs, Some("owner-hash"), true)
        .await
        .expect("submit many");
    for job in &jobs {
        let record = store.job(&job.id).await.expect("stored");
        assert_eq!(
            record.job, *job,
            "stored job differs from the submitted one"
        );
        assert_eq!(record.status, JobStatus::Queued);
        assert_eq!(record.owner.as_deref(), Some("owner-hash"));
    }
    let claimed = store
        .claim(&queue, "w-many", LEASE, NO_WAIT, 3)
        .await
        .expect("claim");
    let order: Vec<_> = claimed.iter().map(|c| c.job.id.clone()).collect();
    let submitted: Vec<_> = [&jobs[0], &jobs[2], &jobs[3]]
        .iter()
        .map(|j| j.id.clone())
        .collect();
    assert_eq!(
        order, submitted,
        "queued jobs are claimed in submission order"
    );
    let elsewhere = claim_now(store, &other, "w-many").await.expect("a job");
    assert_eq!(elsewhere.job.id, jobs[1].id);

    let unstarted = fresh_queue();
    let created: Vec<_> = (0..2).map(|_| fresh_job(&unstarted)).collect();
    store
        .submit_jobs(&created, None, false)
        .await
        .expect("create many");
    assert_eq!(status_of(store, &created[1].id).await, JobStatus::Created);
    assert_eq!(store.queue_len(&unstarted).await.expect("len"), 0);

    // A taken id, in a short call and in one longer than any store's chunk.
    let refused = fresh_queue();
    for len in [3, 2_500] {
        let mut batch: Vec<_> = (0..len).map(|_| fresh_job(&refused)).collect();
        let taken = len - 1;
        batch[taken].id = jobs[0].id.clone();
        match store.submit_jobs(&batch, None, true).await {
            Err(Error::JobExists { id }) => assert_eq!(id, jobs[0].id),
            other => panic!("a taken id among {len} jobs gave {other:?}"),
        }
        assert!(
            matches!(
                store.job(&batch[0].id).await,
                Err(Error::JobNotFound { .. })
            ),
            "a refused call of {len} jobs stored its first job"
        );
        assert_eq!(store.queue_len(&refused).await.expect("len"), 0);
    }
    assert_eq!(
        store.job(&jobs[0].id).await.expect("read").job.payload,
        jobs[0].payload,
        "the job holding the taken id is unchanged"
    );

    // The same id twice in one call is refused too, and stores neither.
    let twin = fresh_job(&refused);
    let pair = [twin.clone(), twin.clone()];
    assert!(matches!(
        store.submit_jobs(&pair, None, true).await,
        Err(Error::JobExists { .. })
    ));
    assert!(matches!(
        store.job(&twin.id).await,
        Err(Error::JobNotFound { .. })
    ));
}
