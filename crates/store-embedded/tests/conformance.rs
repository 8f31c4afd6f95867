//! The embedded store against the shared store conformance suite, each test on its own file.

use std::sync::Arc;
use std::time::Duration;

use hero_store::Claimed;
use hero_store::conformance::Faults;
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
