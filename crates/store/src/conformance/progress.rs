//! Checks on progress reports: only the current run of a running job may report progress,
//! and the last value it reported stays once the job ends.

use hero_job::{JobStatus, Progress};

use super::{claim_and_lose, claim_now, fresh_job, fresh_queue, reap_while, report};
use crate::{Finish, Store};

async fn progress_of(store: &dyn Store, id: &str) -> Option<Progress> {
    store.job(id).await.expect("job exists").progress
}

/// The run that holds a job records its progress; the latest report wins, `job.status`
/// shows it, and it stays after the job ends, when further reports are refused.
pub async fn progress_of_the_current_run_is_kept_and_refused_after_the_end(store: &dyn Store) {
    let queue = fresh_queue();
    let job = fresh_job(&queue);
    let worker = format!("{queue}-w");
    store.submit_job(&job, None).await.expect("submit");
    assert_eq!(progress_of(store, &job.id).await, None, "none before any");
    let run = claim_now(store, &queue, &worker)
        .await
        .expect("a job")
        .attempt();

    let first = Progress::new(10, "started");
    assert!(
        store
            .progress(&worker, &run, &first)
            .await
            .expect("answers"),
        "the current run's progress is taken"
    );
    let half = Progress::new(50, "half");
    assert!(store.progress(&worker, &run, &half).await.expect("answers"));
    let record = store.job(&job.id).await.expect("read");
    assert_eq!(
        record.progress,
        Some(half.clone()),
        "the latest report wins"
    );
    assert_eq!(record.status_info().progress, Some(half.clone()));

    assert!(report(store, &worker, &run, Finish::completed("done")).await);
    let late = Progress::new(99, "after the end");
    assert!(
        !store.progress(&worker, &run, &late).await.expect("answers"),
        "progress after the end is refused"
    );
    assert_eq!(
        progress_of(store, &job.id).await,
        Some(half),
        "the last progress stays once the job ends"
    );
}

/// Progress from a run that lost its claim (requeued after its worker's lease lapsed), or
/// from a worker that never held the job, is ignored; the current run's is taken. A requeue
/// clears the lost run's progress.
pub async fn progress_of_an_older_attempt_or_another_worker_is_ignored(store: &dyn Store) {
    let queue = fresh_queue();
    let mut job = fresh_job(&queue);
    job.retries = 1;
    store.submit_job(&job, None).await.expect("submit");
    let worker = format!("{queue}-w");
    let old = claim_and_lose(store, &queue, &worker).await.attempt();
    let lost = Progress::new(70, "lost run");
    assert!(
        store.progress(&worker, &old, &lost).await.expect("answers"),
        "taken while the run still holds the job"
    );
    reap_while(store, &job.id, JobStatus::Running).await;
    assert_eq!(
        progress_of(store, &job.id).await,
        None,
        "a requeued job starts again without the lost run's progress"
    );
    let new = claim_now(store, &queue, &worker)
        .await
        .expect("the requeued job")
        .attempt();

    let stale = Progress::new(90, "old run");
    assert!(
        !store
            .progress(&worker, &old, &stale)
            .await
            .expect("answers"),
        "the older attempt's progress is refused"
    );
    let stranger = Progress::new(80, "not mine");
    assert!(
        !store
            .progress("someone-else", &new, &stranger)
            .await
            .expect("answers"),
        "another worker's progress is refused"
    );
    assert_eq!(progress_of(store, &job.id).await, None);
    let current = Progress::new(20, "new run");
    assert!(
        store
            .progress(&worker, &new, &current)
            .await
            .expect("answers")
    );
    assert_eq!(progress_of(store, &job.id).await, Some(current));
}
