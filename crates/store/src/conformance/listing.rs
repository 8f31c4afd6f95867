//! Checks on filtered listing: each index follows every change of a job, the order is newest
//! first, `before` pages and `limit` bounds.

use chrono::Duration as Span;
use hero_job::JobStatus;

use super::{claim_and_lose, claim_now, fresh_job, fresh_queue, reap_while, report};
use crate::{Finish, JobFilter, Store};

/// The ids `filter` lists, in order.
async fn ids(store: &dyn Store, filter: JobFilter) -> Vec<String> {
    store
        .list_jobs(&filter)
        .await
        .expect("list")
        .into_iter()
        .map(|record| record.job.id)
        .collect()
}

/// The ids of `runner`'s jobs listed under `status`, through the status filter alone.
async fn under(store: &dyn Store, runner: &str, status: JobStatus) -> Vec<String> {
    ids(
        store,
        JobFilter {
            status: vec![status],
            ..JobFilter::all()
        },
    )
    .await
    .into_iter()
    .filter(|id| id.starts_with(runner))
    .collect()
}

/// Asserts that `id` is listed under `now` and under no other status, by the status filter,
/// with the runner filter, and with each record carrying that status.
async fn listed_as(store: &dyn Store, runner: &str, id: &str, now: JobStatus) {
    for status in JobStatus::ALL {
        let found = under(store, runner, status).await.iter().any(|x| x == id);
        assert_eq!(
            found,
            status == now,
            "job listed as {status:?} while {now:?}"
        );
    }
    let by_runner = store
        .list_jobs(&JobFilter {
            runner: Some(runner.to_owned()),
            status: vec![now],
            ..JobFilter::default()
        })
        .await
        .expect("list");
    assert!(
        by_runner.iter().any(|r| r.job.id == id && r.status == now),
        "job missing from its runner's listing as {now:?}"
    );
}

/// A job whose id starts with its runner's name, so the status listings can be narrowed to
/// this check's jobs.
fn job_of(runner: &str) -> hero_job::Job {
    let mut job = fresh_job(runner);
    job.id = format!("{runner}-{}", uuid::Uuid::new_v4().simple());
    job
}

/// Each status index follows a job through start, claim, finish, stop, requeue, reaping and
/// delete: it is listed under its new status and no longer under its old one.
pub async fn every_status_change_moves_the_job_between_listings(store: &dyn Store) {
    let queue = fresh_queue();
    let job = job_of(&queue);
    store.create_job(&job, None).await.expect("create");
    listed_as(store, &queue, &job.id, JobStatus::Created).await;
    store.start_job(&job.id, None).await.expect("start");
    listed_as(store, &queue, &job.id, JobStatus::Queued).await;
    let claimed = claim_now(store, &queue, "w-list").await.expect("claimed");
    listed_as(store, &queue, &job.id, JobStatus::Running).await;
    assert!(report(store, "w-list", &claimed.attempt(), Finish::completed("ok")).await);
    listed_as(store, &queue, &job.id, JobStatus::Completed).await;
    store.delete_job(&job.id, None).await.expect("delete");
    for status in JobStatus::ALL {
        assert!(
            under(store, &queue, status).await.is_empty(),
            "deleted job listed"
        );
    }
    let by_runner = ids(
        store,
        JobFilter {
            runner: Some(queue.clone()),
            ..JobFilter::default()
        },
    )
    .await;
    assert!(by_runner.is_empty(), "deleted job listed by its runner");

    let stopped = job_of(&queue);
    store.submit_job(&stopped, None).await.expect("submit");
    store.stop_job(&stopped.id, None).await.expect("stop");
    listed_as(store, &queue, &stopped.id, JobStatus::Stopped).await;

    let mut retried = job_of(&queue);
    retried.retries = 1;
    store.submit_job(&retried, None).await.expect("submit");
    claim_and_lose(store, &queue, &format!("{queue}-lost")).await;
    listed_as(store, &queue, &retried.id, JobStatus::Running).await;
    reap_while(store, &retried.id, JobStatus::Running).await;
    listed_as(store, &queue, &retried.id, JobStatus::Queued).await;
    claim_and_lose(store, &queue, &format!("{queue}-lost-again")).await;
    reap_while(store, &retried.id, JobStatus::Running).await;
    listed_as(store, &queue, &retried.id, JobStatus::Failed).await;

    let ended = job_of(&queue);
    store.submit_job(&ended, None).await.expect("submit");
    store
        .end_job(&ended.id, Finish::failed("gave up"))
        .await
        .expect("end");
    listed_as(store, &queue, &ended.id, JobStatus::Failed).await;
}

/// Listing is newest first, `limit` bounds it, and `before` continues where a page ended,
/// through jobs created in the same millisecond too; each filter field narrows it.
pub async fn listing_is_newest_first_and_pages_with_before(store: &dyn Store) {
    let queue = fresh_queue();
    let base = chrono::Utc::now();
    let mut jobs = Vec::new();
    for i in 0..30 {
        let mut job = job_of(&queue);
        // Three jobs per millisecond, so paging must order ties too.
        job.created_at = base + Span::milliseconds(i / 3);
        job.context_id = if i % 2 == 0 { "even" } else { "odd" }.into();
        jobs.push(job);
    }
    store
        .submit_jobs(&jobs, Some("lister"), false)
        .await
        .expect("submit");
    let runner = JobFilter {
        runner: Some(queue.clone()),
        ..JobFilter::default()
    };
    let listed = ids(store, runner.clone()).await;
    assert_eq!(listed.len(), 30);
    let mut expected: Vec<(i64, String)> = jobs
        .iter()
        .map(|j| (j.created_at.timestamp_millis(), j.id.clone()))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(listed, expected, "not newest first");

    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = ids(
            store,
            JobFilter {
                limit: 7,
                before: before.clone(),
                ..runner.clone()
            },
        )
        .await;
        assert!(page.len() <= 7, "limit exceeded");
        let Some(last) = page.last() else { break };
        before = Some(last.clone());
        paged.extend(page);
    }
    assert_eq!(paged, expected, "pages with before skip or repeat jobs");

    // Several statuses merge their indexes in the same order.
    for job in jobs.iter().step_by(4) {
        store.stop_job(&job.id, None).await.expect("stop");
    }
    let merged: Vec<String> = ids(
        store,
        JobFilter {
            status: vec![JobStatus::Stopped, JobStatus::Created],
            ..JobFilter::all()
        },
    )
    .await
    .into_iter()
    .filter(|id| id.starts_with(&queue))
    .collect();
    assert_eq!(merged, expected, "several statuses out of order");
    let mut merged_pages = Vec::new();
    let mut before = None;
    loop {
        let page = ids(
            store,
            JobFilter {
                status: vec![JobStatus::Created, JobStatus::Stopped],
                limit: 4,
                before: before.clone(),
                ..JobFilter::default()
            },
        )
        .await;
        let Some(last) = page.last() else { break };
        before = Some(last.clone());
        merged_pages.extend(page.into_iter().filter(|id| id.starts_with(&queue)));
    }
    assert_eq!(
        merged_pages, expected,
        "pages of several statuses skip or repeat jobs"
    );

    let odd = ids(
        store,
        JobFilter {
            context_id: Some("odd".into()),
            owner: Some("lister".into()),
            caller_id: Some("conformance".into()),
            ..runner.clone()
        },
    )
    .await;
    assert_eq!(odd.len(), 15);
    assert!(
        odd.iter()
            .all(|id| jobs.iter().any(|j| &j.id == id && j.context_id == "odd"))
    );
    let other_owner = ids(
        store,
        JobFilter {
            owner: Some("someone-else".into()),
            ..runner
        },
    )
    .await;
    assert!(other_owner.is_empty(), "another owner's jobs listed");
    assert!(matches!(
        store
            .list_jobs(&JobFilter {
                before: Some("no-such-job".into()),
                ..JobFilter::default()
            })
            .await,
        Err(crate::Error::JobNotFound { .. })
    ));
}

/// Jobs submitted together for several runners, callers and contexts are each listed under
/// their own runner, caller, context, owner and status, and under no other.
pub async fn jobs_submitted_together_are_listed_under_each_of_their_own_fields(store: &dyn Store) {
    let (a, b) = (fresh_queue(), fresh_queue());
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let mut jobs = Vec::new();
    for i in 0..12 {
        let mut job = job_of(if i % 2 == 0 { &a } else { &b });
        job.caller_id = format!("caller-{tag}-{}", i % 3);
        job.context_id = format!("context-{tag}-{}", i % 4);
        jobs.push(job);
    }
    let owner = format!("owner-{tag}");
    store
        .submit_jobs(&jobs, Some(&owner), true)
        .await
        .expect("submit");
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let expect = |keep: &dyn Fn(&hero_job::Job) -> bool| {
        sorted(
            jobs.iter()
                .filter(|job| keep(job))
                .map(|job| job.id.clone())
                .collect(),
        )
    };
    let listed = |filter: JobFilter| async move { sorted(ids(store, filter).await) };
    for runner in [&a, &b] {
        let filter = JobFilter {
            runner: Some(runner.clone()),
            ..JobFilter::default()
        };
        assert_eq!(listed(filter).await, expect(&|j| &j.runner == runner));
        let queued = JobFilter {
            runner: Some(runner.clone()),
            status: vec![JobStatus::Queued],
            ..JobFilter::default()
        };
        assert_eq!(listed(queued).await, expect(&|j| &j.runner == runner));
    }
    for i in 0..3 {
        let caller = format!("caller-{tag}-{i}");
        let filter = JobFilter {
            caller_id: Some(caller.clone()),
            ..JobFilter::default()
        };
        assert_eq!(listed(filter).await, expect(&|j| j.caller_id == caller));
    }
    for i in 0..4 {
        let context = format!("context-{tag}-{i}");
        let filter = JobFilter {
            context_id: Some(context.clone()),
            ..JobFilter::default()
        };
        assert_eq!(listed(filter).await, expect(&|j| j.context_id == context));
    }
    let mine = JobFilter {
        owner: Some(owner.clone()),
        ..JobFilter::default()
    };
    assert_eq!(listed(mine).await, expect(&|_| true));
}
