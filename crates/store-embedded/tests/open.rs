//! Opening a store file: shared by clones within a process, refused to a second open.

use std::time::Duration;

use hero_job::JobBuilder;
use hero_store::Store;
use hero_store_embedded::EmbeddedStore;

#[tokio::test]
async fn a_second_open_of_one_file_is_refused_and_says_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("store.redb");
    let _first = EmbeddedStore::open(&file).await.expect("open");
    let Err(err) = EmbeddedStore::open(&file).await else {
        panic!("a second open of one file was allowed");
    };
    let message = err.to_string();
    assert!(err.is_retryable(), "{message}");
    assert!(message.contains("already open"), "{message}");
    assert!(message.contains("one process at a time"), "{message}");
}

#[tokio::test]
async fn a_claim_blocked_on_one_handle_wakes_for_a_job_submitted_through_a_clone() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path().join("store.redb"))
        .await
        .expect("open");
    let other = store.clone();
    let claim = tokio::spawn(async move {
        other
            .claim(
                "r",
                "w",
                Duration::from_secs(30),
                Duration::from_secs(30),
                1,
            )
            .await
            .expect("claim")
    });
    // Wait until the claim is blocked: it marked the queue seen before it waited.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.last_seen("r").await.expect("last seen").is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the claim never ran"
        );
        tokio::task::yield_now().await;
    }
    let job = JobBuilder::new()
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job");
    let started = tokio::time::Instant::now();
    store.submit_job(&job, None).await.expect("submit");
    let claimed = tokio::time::timeout(Duration::from_secs(5), claim)
        .await
        .expect("the claim wakes long before its 30 s wait ends")
        .expect("the claim task");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].job.id, job.id);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn waits_and_leases_too_long_to_represent_are_served_without_a_panic() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path().join("store.redb"))
        .await
        .expect("open");
    let job = JobBuilder::new()
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job");
    store.submit_job(&job, None).await.expect("submit");
    let claimed = store
        .claim("r", "w", Duration::MAX, Duration::MAX, 1)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    let beat = store
        .heartbeat("w", Duration::MAX, &[claimed[0].attempt()])
        .await
        .expect("heartbeat");
    assert!(beat.is_empty(), "{beat:?}");
    let done = hero_store::Finish::completed("ok");
    assert!(
        store
            .finish("w", &claimed[0].attempt(), done)
            .await
            .expect("finish")
    );
    let record = store
        .wait_final(&job.id, Duration::MAX)
        .await
        .expect("wait");
    assert_eq!(record.status, hero_job::JobStatus::Completed);
}
