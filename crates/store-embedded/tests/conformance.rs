//! The embedded store against the shared store conformance suite, each test on its own file.

use std::sync::Arc;
use std::time::Duration;

use hero_store::conformance::Faults;
use hero_store::{Claimed, Store};
use hero_store_embedded::EmbeddedStore;

/// How long a check may take before the test fails instead of hanging.
const TIMEOUT: Duration = Duration::from_secs(120);

async fn open(dir: &tempfile::TempDir) -> EmbeddedStore {
    EmbeddedStore::open(dir.path().join("store.redb"))
        .await
        .expect("open the store file")
}

#[tokio::test]
async fn embedded_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(&dir).await;
    let faults = Damage(store.clone());
    tokio::time::timeout(
        TIMEOUT,
        hero_store::conformance::run_all(Arc::new(store), &faults),
    )
    .await
    .expect("the suite finishes in time");
}

#[tokio::test]
async fn two_handles_on_one_file_claim_each_tick_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let a = open(&dir).await;
    let b = a.clone();
    tokio::time::timeout(
        TIMEOUT,
        hero_store::conformance::a_tick_is_claimed_once_when_two_stores_race(&a, &b),
    )
    .await
    .expect("the check finishes in time");
}

#[tokio::test]
async fn a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let audited = hero_store::conformance::Audited::new(Arc::new(open(&dir).await));
    tokio::time::timeout(
        TIMEOUT,
        hero_store::conformance::a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again(
            &audited,
        ),
    )
    .await
    .expect("the check finishes in time");
}

#[tokio::test]
async fn jobs_without_a_caller_or_context_id_are_listed_by_their_other_fields() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(&dir).await;
    let job = |n: usize, caller: &str| {
        hero_job::JobBuilder::new()
            .id(format!("job-{n}"))
            .payload("1")
            .executor("osis")
            .runner("r")
            .caller_id(caller)
            .build()
            .expect("a valid job")
    };
    store.create_job(&job(0, ""), None).await.expect("create");
    let many = [job(1, ""), job(2, "c"), job(3, "")];
    store
        .submit_jobs(&many, None, true)
        .await
        .expect("submit many");
    let list = |filter: hero_store::JobFilter| {
        let store = store.clone();
        async move {
            store
                .list_jobs(&filter)
                .await
                .expect("list")
                .into_iter()
                .map(|record| record.job.id)
                .collect::<Vec<_>>()
        }
    };
    let by_caller = list(hero_store::JobFilter {
        caller_id: Some("c".into()),
        ..hero_store::JobFilter::default()
    })
    .await;
    assert_eq!(by_caller, ["job-2"]);
    let by_runner = list(hero_store::JobFilter {
        runner: Some("r".into()),
        ..hero_store::JobFilter::default()
    })
    .await;
    assert_eq!(by_runner.len(), 4, "every job is listed by its runner");
}

#[tokio::test]
async fn a_reaping_backlog_of_several_batches_is_removed_a_full_batch_at_a_time() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = open(&dir).await;
    store
        .put_retention(&hero_store::Retention {
            completed: Duration::from_millis(1),
            ..hero_store::Retention::default()
        })
        .await
        .expect("retention");
    let jobs: Vec<hero_job::Job> = (0..1200)
        .map(|i| {
            hero_job::JobBuilder::new()
                .id(format!("job-{i}"))
                .payload("1")
                .executor("osis")
                .runner("r")
                .build()
                .expect("valid job")
        })
        .collect();
    store.submit_jobs(&jobs, None, true).await.expect("submit");
    let claimed = store
        .claim(
            "r",
            "w",
            Duration::from_secs(60),
            Duration::ZERO,
            jobs.len(),
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), jobs.len());
    for claim in &claimed {
        let done = hero_store::Finish::completed("ok");
        assert!(
            store
                .finish("w", &claim.attempt(), done)
                .await
                .expect("finish")
        );
    }
    // Every job ended over a millisecond ago: the first pass finds them all and takes a full
    // batch of 500 at least; how many more it takes depends on its time budget, which one
    // fsync-bound batch may use up on a loaded machine.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    let mut passes = Vec::new();
    while store
        .job_counts()
        .await
        .expect("counts")
        .values()
        .sum::<u64>()
        > 0
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs left: {passes:?}"
        );
        let expired = store.reap_expired().await.expect("reap").expired;
        if expired > 0 {
            passes.push(expired);
        }
    }
    assert_eq!(passes.iter().sum::<u64>(), 1200, "{passes:?}");
    assert!(passes[0] >= 500, "a pass takes a full batch: {passes:?}");
}

/// A claim here is one transaction, so it cannot be cut in two: the checks of a claim whose
/// second half is lost do not apply. A damaged record can be made, and is.
struct Damage(EmbeddedStore);

#[async_trait::async_trait]
impl Faults for Damage {
    async fn move_without_marking(&self, _queue: &str, _worker: &str) -> Option<String> {
        None
    }

    async fn mark_moved(
        &self,
        _queue: &str,
        _worker: &str,
        _moved: &str,
        _lease: Duration,
        _most: usize,
    ) -> Vec<Claimed> {
        unreachable!("nothing is ever moved without being marked")
    }

    async fn corrupt_job(&self, id: &str) -> bool {
        self.0.damage_job(id).await.expect("damage the job")
    }
}
