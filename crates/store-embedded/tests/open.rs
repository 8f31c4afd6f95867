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

#[tokio::test]
async fn secrets_runners_schedules_retention_and_counters_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("store.redb");
    let job = JobBuilder::new()
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job");
    let now = chrono::Utc::now();
    let schedule = hero_store::ScheduleRecord {
        name: "nightly".into(),
        cron: "0 0 * * *".into(),
        job: job.clone(),
        owner: Some("o".into()),
        created_at: now,
        last_tick: now,
        seed: "seed".into(),
    };
    let retention = hero_store::Retention {
        completed: Duration::from_millis(1),
        ..hero_store::Retention::default()
    };
    {
        let store = EmbeddedStore::open(&file).await.expect("open");
        assert!(
            store
                .put_secret_grant("hash", "user", &["admin".to_owned()])
                .await
                .expect("grant")
        );
        let runner = hero_store::RunnerRecord {
            name: "remote".into(),
            queue: "remote".into(),
            access: hero_store::RunnerAccess::Admin,
            registered_at: now,
        };
        store.register_runner(&runner).await.expect("register");
        store.put_schedule(&schedule, 10).await.expect("schedule");
        store.put_retention(&retention).await.expect("retention");
        store.submit_job(&job, None).await.expect("submit");
    }
    let store = EmbeddedStore::open(&file).await.expect("reopen");
    let grants = store.secret_grants().await.expect("grants");
    assert_eq!(grants.get("hash").map(String::as_str), Some("user"));
    let runners = store.runners().await.expect("runners");
    assert_eq!(runners.len(), 1);
    assert_eq!(runners[0].access, hero_store::RunnerAccess::Admin);
    let schedules = store.schedules().await.expect("schedules");
    assert_eq!(schedules[0].name, "nightly");
    assert_eq!(
        schedules[0].last_tick.timestamp_millis(),
        now.timestamp_millis()
    );
    let stats = store.job_stats().await.expect("stats");
    assert_eq!(stats.submitted.get("r"), Some(&1));
    assert_eq!(store.queue_len("r").await.expect("len"), 1);
    // The retention set before the restart is the one a job ending after it gets.
    let claimed = store
        .claim("r", "w", Duration::from_secs(30), Duration::ZERO, 1)
        .await
        .expect("claim");
    let done = hero_store::Finish::completed("ok");
    assert!(
        store
            .finish("w", &claimed[0].attempt(), done)
            .await
            .expect("finish")
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while store.job(&job.id).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job outlived the retention set before the restart"
        );
        store.reap_expired().await.expect("reap");
    }
}
