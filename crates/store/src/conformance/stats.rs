//! Checks on the counters `/metrics` reads: jobs submitted and finished counted once each,
//! runner loads, the wait and run time announced with a claim and an end, and worker stats
//! that disappear with their worker.

use std::time::Duration;

use hero_job::{EventStatus, JobStatus};

use super::events::next_of;
use super::{LEASE, NO_WAIT, claim_now, fresh_job, fresh_queue, report};
use crate::{Finish, RunnerLoad, Store, WorkerStats};

/// Every job stored counts once as submitted, alone or in a batch; every end counts once
/// under its status, however it ended, and a refused late report counts nothing. The load
/// of the runner shows what waits and what runs.
pub async fn job_counters_count_each_submission_and_end_once(store: &dyn Store) {
    let queue = fresh_queue();
    let single = fresh_job(&queue);
    let batch: Vec<_> = (0..4).map(|_| fresh_job(&queue)).collect();
    store.submit_job(&single, None).await.expect("submit");
    store.submit_jobs(&batch, None, true).await.expect("submit");
    let claimed = store
        .claim(&queue, "w-stats", LEASE, NO_WAIT, 3)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);
    let loads = store
        .runner_loads(std::slice::from_ref(&queue))
        .await
        .expect("loads");
    assert_eq!(
        loads,
        [RunnerLoad {
            queued: 2,
            running: Some(3)
        }]
    );
    let [first, second, third] = [0, 1, 2].map(|i| claimed[i].attempt());
    assert!(report(store, "w-stats", &first, Finish::completed("42")).await);
    assert!(report(store, "w-stats", &second, Finish::failed("boom")).await);
    assert!(!report(store, "w-stats", &first, Finish::failed("late")).await);
    store
        .end_job(&third.id, Finish::stopped("stopped by the caller"))
        .await
        .expect("end");
    store.stop_job(&batch[3].id, None).await.expect("stop");
    let stats = store.job_stats().await.expect("stats");
    assert_eq!(stats.submitted.get(&queue), Some(&5));
    let finished = |status| stats.finished.get(&(queue.clone(), status)).copied();
    assert_eq!(finished(JobStatus::Completed), Some(1));
    assert_eq!(finished(JobStatus::Failed), Some(1));
    assert_eq!(finished(JobStatus::Stopped), Some(2));
    let loads = store
        .runner_loads(std::slice::from_ref(&queue))
        .await
        .expect("loads");
    assert_eq!(
        loads,
        [RunnerLoad {
            queued: 1,
            running: Some(0)
        }]
    );
}

/// A claim announces each job's wait since it was queued; an end of a run announces its run
/// time since the claim; an end of a job that never ran announces none.
pub async fn a_claim_announces_the_wait_and_an_end_the_run_time(store: &dyn Store) {
    let mut watch = store.watch_jobs().await.expect("watch");
    let queue = fresh_queue();
    let ran = fresh_job(&queue);
    let never = fresh_job(&queue);
    store.submit_job(&ran, None).await.expect("submit");
    let attempt = claim_now(store, &queue, "w-times")
        .await
        .expect("a job")
        .attempt();
    store.submit_job(&never, None).await.expect("submit");
    store.stop_job(&never.id, None).await.expect("stop");
    assert!(report(store, "w-times", &attempt, Finish::completed("42")).await);
    let ids = [ran.id.as_str(), never.id.as_str()];
    let (mut ran_seen, mut never_seen) = (Vec::new(), Vec::new());
    while ran_seen.len() < 3 || never_seen.len() < 2 {
        let change = next_of(&mut watch, &ids).await;
        let seen = if change.id == ran.id {
            &mut ran_seen
        } else {
            &mut never_seen
        };
        seen.push((change.status, change.elapsed_ms));
    }
    assert_eq!(ran_seen[0], (EventStatus::Queued, None));
    assert_eq!(ran_seen[1].0, EventStatus::Running);
    assert!(
        ran_seen[1].1.is_some(),
        "the claim tells the wait: {ran_seen:?}"
    );
    assert_eq!(ran_seen[2].0, EventStatus::Completed);
    assert!(
        ran_seen[2].1.is_some(),
        "the end tells the run time: {ran_seen:?}"
    );
    assert_eq!(
        never_seen,
        [(EventStatus::Queued, None), (EventStatus::Stopped, None)]
    );
}

/// A worker's stats are read back while it is alive and its entry lasts, and are gone once
/// it stops writing them and their time to live has passed.
pub async fn worker_stats_disappear_when_their_worker_stops_writing(store: &dyn Store) {
    let queue = fresh_queue();
    let worker = format!("{queue}-w");
    store.heartbeat(&worker, LEASE, &[]).await.expect("beat");
    let stats = WorkerStats {
        worker: worker.clone(),
        runner: queue.clone(),
        jobs: 7,
        failures: 2,
        busy: 1,
        slots: 4,
    };
    store
        .put_worker_stats(&stats, Duration::from_secs(30))
        .await
        .expect("put");
    let read = store.worker_stats().await.expect("read");
    assert!(read.contains(&stats), "{read:?}");
    store
        .put_worker_stats(&stats, Duration::from_millis(100))
        .await
        .expect("put");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let read = store.worker_stats().await.expect("read");
        if !read.iter().any(|s| s.worker == worker) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the entry outlived its time to live"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A job queued long after it was created (`job.start`, a delay, a retry) waits from when
/// it was queued: its claim announces that wait, not its age.
pub async fn a_job_queued_later_waits_from_when_it_was_queued(store: &dyn Store) {
    let mut watch = store.watch_jobs().await.expect("watch");
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    store.create_job(&job, None).await.expect("create");
    // Time passing is what is tested here: the job must be older than its wait.
    let age = Duration::from_secs(1);
    tokio::time::sleep(age).await;
    store.start_job(&job.id, None).await.expect("start");
    claim_now(store, &queue, "w-later").await.expect("a job");
    let ids = [job.id.as_str()];
    let claimed = loop {
        let change = next_of(&mut watch, &ids).await;
        if change.status == EventStatus::Running {
            break change;
        }
    };
    let wait = claimed.elapsed_ms.expect("the claim tells the wait");
    assert!(
        u128::from(wait) < age.as_millis(),
        "waited {wait} ms: counted from its creation, not from its start"
    );
}
