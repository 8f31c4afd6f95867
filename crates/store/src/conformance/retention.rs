//! Checks on retention and counting: a finished job is removed with every trace of it once
//! its retention has passed, one not yet due stays, a delete leaves nothing for the reaper to
//! remove later, and the counts by status always match the jobs.

use std::collections::HashMap;
use std::time::Duration;

use hero_job::{Job, JobStatus};

use super::{LONG_WAIT, claim_and_lose, claim_now, fresh_job, fresh_queue, report};
use crate::{Error, Finish, JobFilter, Retention, Store};

/// Short enough for a check, long enough that a job is read back before it is due.
const SHORT: Duration = Duration::from_secs(1);

/// A job with its own caller and context, so the listings by them show this check's jobs
/// only.
fn job_with_own_indexes(queue: &str) -> Job {
    let mut job = fresh_job(queue);
    job.caller_id = format!("{queue}-caller");
    job.context_id = format!("{queue}-context");
    job
}

fn is_gone(result: crate::Result<hero_job::JobRecord>) -> bool {
    matches!(result, Err(Error::JobNotFound { .. }))
}

/// Reaps until every job of `ids` is gone, or panics after [`LONG_WAIT`].
async fn reap_until_gone(store: &dyn Store, ids: &[&str]) {
    let deadline = tokio::time::Instant::now() + LONG_WAIT;
    loop {
        store.reap_expired().await.expect("reap");
        let mut all_gone = true;
        for id in ids {
            all_gone &= is_gone(store.job(id).await);
        }
        if all_gone {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "finished jobs stayed past their retention"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ids `filter` lists.
async fn listed(store: &dyn Store, filter: JobFilter) -> Vec<String> {
    let records = store.list_jobs(&filter).await.expect("list");
    records.into_iter().map(|r| r.job.id).collect()
}

/// A completed and a stopped job past their (short) retention are not found, not listed
/// under any filter and not counted; a failed job, whose retention has not passed, stays
/// everywhere.
pub async fn a_finished_job_past_its_retention_is_gone_with_its_index_entries(store: &dyn Store) {
    let counts_before = store.job_counts().await.expect("counts");
    store
        .put_retention(&Retention {
            completed: SHORT,
            stopped: SHORT,
            ..Retention::default()
        })
        .await
        .expect("retention");
    let queue = fresh_queue();
    let owner = format!("{queue}-owner");
    let [completed, failed, stopped] = [(); 3].map(|()| job_with_own_indexes(&queue));
    for job in [&completed, &failed] {
        store.submit_job(job, Some(&owner)).await.expect("submit");
        let claimed = claim_now(store, &queue, "w-retain").await.expect("claimed");
        let finish = if job.id == completed.id {
            Finish::completed("done")
        } else {
            Finish::failed("broken")
        };
        assert!(report(store, "w-retain", &claimed.attempt(), finish).await);
    }
    store
        .create_job(&stopped, Some(&owner))
        .await
        .expect("create");
    store.stop_job(&stopped.id, None).await.expect("stop");
    // Each job's removal time was fixed as it ended: the defaults are back for later checks.
    store
        .put_retention(&Retention::default())
        .await
        .expect("retention");
    assert_eq!(
        store.job(&completed.id).await.expect("not yet due").status,
        JobStatus::Completed
    );

    reap_until_gone(store, &[&completed.id, &stopped.id]).await;
    let kept = store.job(&failed.id).await.expect("the failed job is kept");
    assert_eq!(kept.status, JobStatus::Failed);
    let filters = [
        JobFilter::all(),
        JobFilter {
            runner: Some(queue.clone()),
            ..JobFilter::all()
        },
        JobFilter {
            caller_id: Some(failed.caller_id.clone()),
            ..JobFilter::all()
        },
        JobFilter {
            context_id: Some(failed.context_id.clone()),
            ..JobFilter::all()
        },
        JobFilter {
            owner: Some(owner.clone()),
            ..JobFilter::all()
        },
    ];
    for filter in filters {
        let ids = listed(store, filter.clone()).await;
        assert!(
            ids.contains(&failed.id),
            "the kept job is listed by {filter:?}"
        );
        for gone in [&completed.id, &stopped.id] {
            assert!(
                !ids.contains(gone),
                "an expired job is listed by {filter:?}"
            );
        }
    }
    for status in [JobStatus::Completed, JobStatus::Stopped] {
        let filter = JobFilter {
            status: vec![status],
            ..JobFilter::all()
        };
        let ids = listed(store, filter).await;
        assert!(!ids.contains(&completed.id) && !ids.contains(&stopped.id));
    }
    let counts = store.job_counts().await.expect("counts");
    let count = |counts: &HashMap<JobStatus, u64>, s| counts.get(&s).copied().unwrap_or(0);
    for status in [JobStatus::Completed, JobStatus::Stopped] {
        assert_eq!(
            count(&counts, status),
            count(&counts_before, status),
            "expired {status:?} jobs are still counted"
        );
    }
    assert_eq!(
        count(&counts, JobStatus::Failed),
        count(&counts_before, JobStatus::Failed) + 1
    );
    store.delete_job(&failed.id, None).await.expect("delete");
}

/// A job deleted after it finished leaves no removal behind: a new job created under its id
/// stays past the old job's retention, whatever its status.
pub async fn a_job_created_again_under_a_deleted_ids_name_outlives_the_old_retention(
    store: &dyn Store,
) {
    store
        .put_retention(&Retention {
            completed: SHORT,
            ..Retention::default()
        })
        .await
        .expect("retention");
    let queue = fresh_queue();
    let old = fresh_job(&queue);
    store.submit_job(&old, None).await.expect("submit");
    let claimed = claim_now(store, &queue, "w-reuse").await.expect("claimed");
    assert!(
        report(
            store,
            "w-reuse",
            &claimed.attempt(),
            Finish::completed("old")
        )
        .await
    );
    store
        .put_retention(&Retention::default())
        .await
        .expect("retention");
    store.delete_job(&old.id, None).await.expect("delete");
    let again = fresh_job(&queue);
    let again = Job {
        id: old.id.clone(),
        ..again
    };
    store
        .create_job(&again, None)
        .await
        .expect("the id is free");

    // A job that ends meanwhile under the short retention tells when the old one was due.
    store
        .put_retention(&Retention {
            completed: SHORT,
            ..Retention::default()
        })
        .await
        .expect("retention");
    let marker = fresh_job(&queue);
    store.submit_job(&marker, None).await.expect("submit");
    let claimed = claim_now(store, &queue, "w-reuse").await.expect("claimed");
    assert!(report(store, "w-reuse", &claimed.attempt(), Finish::completed("m")).await);
    store
        .put_retention(&Retention::default())
        .await
        .expect("retention");
    reap_until_gone(store, &[&marker.id]).await;
    let record = store.job(&again.id).await.expect("the new job stays");
    assert_eq!(record.status, JobStatus::Created);
    store.delete_job(&again.id, None).await.expect("delete");
}

/// After every kind of change (create, create many, start, claim, finish, stop, end, a lost
/// runner, delete, expiry) the counts by status are exactly the jobs in each status: those
/// of this check, and those every earlier check of the suite left in the store (requeued by
/// a heartbeat, reaped, fenced, ...), since the tally covers every job.
pub async fn job_counts_match_the_jobs_after_every_kind_of_change(store: &dyn Store) {
    let queue = fresh_queue();
    let jobs: Vec<Job> = (0..10).map(|_| fresh_job(&queue)).collect();
    store
        .submit_jobs(&jobs[..4], None, false)
        .await
        .expect("create many");
    store
        .submit_jobs(&jobs[4..6], None, true)
        .await
        .expect("submit many");
    store.create_job(&jobs[6], None).await.expect("create");
    store.submit_job(&jobs[7], None).await.expect("submit");
    store.start_job(&jobs[0].id, None).await.expect("start");
    store
        .stop_job(&jobs[1].id, None)
        .await
        .expect("stop created");
    store
        .delete_job(&jobs[2].id, None)
        .await
        .expect("delete created");
    // Queue order: jobs[4], jobs[5], jobs[7], jobs[0].
    let first = claim_now(store, &queue, "w-count").await.expect("claimed");
    assert!(report(store, "w-count", &first.attempt(), Finish::completed("ok")).await);
    let second = claim_now(store, &queue, "w-count").await.expect("claimed");
    assert!(report(store, "w-count", &second.attempt(), Finish::failed("no")).await);
    let third = claim_now(store, &queue, "w-count").await.expect("claimed");
    store
        .end_job(&third.job.id, Finish::stopped("stopped"))
        .await
        .expect("end");
    let lost = claim_and_lose(store, &queue, "w-count-lost").await;
    super::reap_while(store, &lost.job.id, JobStatus::Running).await;
    store.submit_job(&jobs[8], None).await.expect("submit");
    store
        .stop_job(&jobs[8].id, None)
        .await
        .expect("stop queued");
    store.submit_job(&jobs[9], None).await.expect("submit");
    let running = claim_now(store, &queue, "w-count").await.expect("claimed");
    store
        .delete_job(&first.job.id, None)
        .await
        .expect("delete final");
    assert_eq!(running.job.id, jobs[9].id);

    let mut tallied: HashMap<JobStatus, u64> = HashMap::new();
    for record in store.list_jobs(&JobFilter::all()).await.expect("list") {
        *tallied.entry(record.status).or_default() += 1;
    }
    let counts = store.job_counts().await.expect("counts");
    for status in JobStatus::ALL {
        assert_eq!(
            counts.get(&status).copied().unwrap_or(0),
            tallied.get(&status).copied().unwrap_or(0),
            "{status:?} counted apart from the jobs in it"
        );
    }
    store
        .delete_job(&running.job.id, None)
        .await
        .expect("delete running");
}
