//! Checks on watching jobs: every change a store makes reaches a watcher, with the job's
//! runner and owner, and nothing of the job's payload or result.

use hero_job::{EventStatus, JobResult, Progress};
use tokio::sync::broadcast;

use super::{LEASE, LONG_WAIT, NO_WAIT, fresh_job, fresh_queue, report};
use crate::{Finish, JobChange, Store, Watched};

/// The next change of one of `ids`, skipping other jobs' changes; panics after
/// [`LONG_WAIT`] or when changes were missed.
pub(super) async fn next_of(watch: &mut broadcast::Receiver<Watched>, ids: &[&str]) -> JobChange {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    loop {
        let received = tokio::time::timeout_at(deadline, watch.recv())
            .await
            .expect("a change is announced in time");
        match received {
            Ok(Watched::Changed(change)) if ids.contains(&change.id.as_str()) => {
                return (*change).clone();
            }
            Ok(Watched::Changed(_)) => {}
            Ok(Watched::Missed) | Err(_) => panic!("changes were missed: {received:?}"),
        }
    }
}

/// A watcher sees each change of a job in order: created, queued, running (at the claim, and
/// with each progress report), completed, deleted — each with the job's runner and owner —
/// and reads the result of the final one. A batch claim announces every job it took.
pub async fn every_change_of_a_job_reaches_a_watcher(store: &dyn Store) {
    let mut watch = store.watch_jobs().await.expect("watch");
    let queue = fresh_queue();
    let worker = format!("{queue}-w");
    let job = fresh_job(&queue);
    let id = job.id.as_str();
    store
        .create_job(&job, Some("owner-1"))
        .await
        .expect("create");
    let created = next_of(&mut watch, &[id]).await;
    assert_eq!(created.status, EventStatus::Created);
    assert_eq!(created.runner, queue);
    assert_eq!(created.owner.as_deref(), Some("owner-1"));
    assert_eq!(created.progress, None);
    store.start_job(id, None).await.expect("start");
    assert_eq!(next_of(&mut watch, &[id]).await.status, EventStatus::Queued);

    let run = store
        .claim(&queue, &worker, LEASE, NO_WAIT, 1)
        .await
        .expect("claim")
        .remove(0)
        .attempt();
    let running = next_of(&mut watch, &[id]).await;
    assert_eq!(running.status, EventStatus::Running);
    assert_eq!(running.owner.as_deref(), Some("owner-1"));
    let half = Progress::new(50, "half");
    assert!(
        store
            .progress(&worker, &run, &half)
            .await
            .expect("progress")
    );
    let reported = next_of(&mut watch, &[id]).await;
    assert_eq!(reported.status, EventStatus::Running);
    assert_eq!(reported.progress, Some(half));

    assert!(report(store, &worker, &run, Finish::completed("42")).await);
    let completed = next_of(&mut watch, &[id]).await;
    assert_eq!(completed.status, EventStatus::Completed);
    assert_eq!(completed.runner, queue);
    assert!(completed.at >= created.at, "announced in order of time");
    let results = store
        .results(&[id.to_owned(), "no-such-job".to_owned()])
        .await
        .expect("results");
    assert_eq!(results, [Some(JobResult::success("42")), None]);

    store.delete_job(id, None).await.expect("delete");
    let deleted = next_of(&mut watch, &[id]).await;
    assert_eq!(deleted.status, EventStatus::Deleted);
    assert_eq!(deleted.owner.as_deref(), Some("owner-1"));

    let batch = [fresh_job(&queue), fresh_job(&queue)];
    store.submit_jobs(&batch, None, true).await.expect("submit");
    let ids = [batch[0].id.as_str(), batch[1].id.as_str()];
    for _ in &batch {
        let queued = next_of(&mut watch, &ids).await;
        assert_eq!(queued.status, EventStatus::Queued);
        assert_eq!(queued.owner, None, "stored without an owner");
    }
    let claimed = store
        .claim(&queue, &worker, LEASE, NO_WAIT, 2)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 2);
    let mut running: Vec<String> = Vec::new();
    for _ in &batch {
        let change = next_of(&mut watch, &ids).await;
        assert_eq!(change.status, EventStatus::Running);
        running.push(change.id);
    }
    running.sort_unstable();
    let mut expected = ids.map(str::to_owned);
    expected.sort_unstable();
    assert_eq!(running, expected, "the batch claim announced both jobs");
}
