//! The Redis store against the shared store conformance suite, on a private redis-server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Layout, SplitClaims};
use hero_store::Store;
use hero_store_redis::{Durability, RedisStore};
use hero_test_support::{RedisServer, SentinelSet};

const NAMESPACE: &str = "conformance";

/// A key of the namespace, as `docs/runner-protocol.md` lays them out.
fn key(rest: &str) -> String {
    format!("{NAMESPACE}:v1:{rest}")
}

#[tokio::test]
async fn redis_store_passes_the_conformance_suite() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
    let faults = SplitClaims {
        conn: redis::Client::open(redis.url())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect"),
        layout: Layout::Prefix(format!("{NAMESPACE}:v1:")),
    };
    faults.run_suite(std::sync::Arc::new(store)).await;
}

/// Every connection through the sentinels (the shared one, the blocking claims', the
/// subscription's), and every submit confirmed by the replica.
#[tokio::test]
async fn redis_store_passes_the_conformance_suite_through_a_sentinel_set_waiting_for_a_replica() {
    let set = SentinelSet::start();
    let durability = Durability::Replicated {
        timeout: Duration::from_secs(2),
    };
    let store = RedisStore::connect_with(&set.url(), NAMESPACE, durability)
        .await
        .expect("connect");
    let master = set.master_port().expect("the sentinels name a master");
    let faults = SplitClaims {
        conn: redis::Client::open(format!("redis://127.0.0.1:{master}"))
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect"),
        layout: Layout::Prefix(format!("{NAMESPACE}:v1:")),
    };
    faults.run_suite(std::sync::Arc::new(store)).await;
}

#[tokio::test]
async fn a_malformed_sentinel_url_is_refused_with_its_form_and_without_the_password() {
    let err = RedisStore::connect("redis+sentinel://:hunter2@127.0.0.1:26379", "x")
        .await
        .expect_err("no master name");
    let message = err.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("/MASTER_NAME"), "{message}");
    assert!(message.contains("127.0.0.1:26379"), "{message}");
}

#[tokio::test]
async fn a_sentinel_set_with_no_sentinel_listening_is_reported_unavailable() {
    let port = hero_test_support::free_port();
    let err = RedisStore::connect(
        &format!("redis+sentinel://:hunter2@127.0.0.1:{port}/m"),
        "x",
    )
    .await
    .expect_err("nothing listens there");
    let message = err.to_string();
    assert!(err.is_retryable(), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");
}

#[tokio::test]
async fn two_redis_stores_on_one_redis_claim_each_tick_once() {
    let redis = RedisServer::start();
    let a = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
    let b = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
    tokio::time::timeout(
        hero_test_support::TIMEOUT,
        hero_store::conformance::a_tick_is_claimed_once_when_two_stores_race(&a, &b),
    )
    .await
    .expect("the check finishes in time");
}

#[tokio::test]
async fn a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
    let audited = hero_store::conformance::Audited::new(Arc::new(store));
    tokio::time::timeout(
        hero_test_support::TIMEOUT,
        hero_store::conformance::a_job_past_its_deadline_that_asks_for_retries_is_scheduled_again(
            &audited,
        ),
    )
    .await
    .expect("the check finishes in time");
}

#[tokio::test]
async fn jobs_without_a_caller_or_context_id_leave_no_empty_caller_or_context_index() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
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
    let mut conn = redis::Client::open(redis.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    for index in ["idx:caller:", "idx:context:"] {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key(index))
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert!(!exists, "{index} (empty) was written");
    }
    let by_caller: Vec<String> = redis::cmd("ZRANGE")
        .arg(key("idx:caller:c"))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .expect("ZRANGE");
    assert_eq!(by_caller, ["job-2"]);
    let listed = store
        .list_jobs(&hero_store::JobFilter {
            runner: Some("r".into()),
            ..hero_store::JobFilter::default()
        })
        .await
        .expect("list");
    assert_eq!(listed.len(), 4, "every job is listed by its runner");
}

#[tokio::test]
async fn unreachable_redis_is_reported_without_the_password() {
    let port = hero_test_support::free_port();
    let err = RedisStore::connect(&format!("redis://:hunter2@127.0.0.1:{port}"), "x")
        .await
        .expect_err("nothing listens there");
    let message = err.to_string();
    assert!(err.is_retryable(), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");
}

#[tokio::test]
async fn namespaces_do_not_see_each_other() {
    let redis = RedisServer::start();
    let a = RedisStore::connect(&redis.url(), "a")
        .await
        .expect("connect");
    let b = RedisStore::connect(&redis.url(), "b")
        .await
        .expect("connect");
    let job = hero_job::JobBuilder::new()
        .id("shared-id")
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("valid job");
    a.create_job(&job, None).await.expect("create in a");
    b.create_job(&job, None)
        .await
        .expect("the same id is free in b");
    assert_eq!(
        a.list_jobs(&hero_store::JobFilter::default())
            .await
            .expect("list")
            .len(),
        1
    );
}

#[tokio::test]
async fn deleting_a_finished_job_leaves_no_expiry_entry_behind() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "expiry")
        .await
        .expect("connect");
    let job = hero_job::JobBuilder::new()
        .id("finished")
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("valid job");
    store.submit_job(&job, None).await.expect("submit");
    let claimed = store
        .claim("r", "w", Duration::from_secs(30), Duration::ZERO, 1)
        .await
        .expect("claim");
    let finished = store
        .finish(
            "w",
            &claimed[0].attempt(),
            hero_store::Finish::completed("ok"),
        )
        .await
        .expect("finish");
    assert!(finished);
    let mut conn = redis.connection();
    let due: u64 = redis::cmd("ZCARD")
        .arg("expiry:v1:expiry")
        .query(&mut conn)
        .expect("zcard");
    assert_eq!(due, 1, "the finished job waits for its retention");
    store.delete_job("finished", None).await.expect("delete");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("expiry:v1:*")
        .query(&mut conn)
        .expect("keys");
    let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    // What the claim left: the attempt counter, when the queue was seen (its worker's
    // lease too) and the namespace's job counters; nothing of the job.
    assert_eq!(
        keys,
        [
            "expiry:v1:attempts",
            "expiry:v1:seen",
            "expiry:v1:stats",
            "expiry:v1:workers"
        ]
    );
}

#[tokio::test]
async fn one_reaping_pass_removes_a_backlog_of_several_batches() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "backlog")
        .await
        .expect("connect");
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
    // The first pass that finds due jobs finds nearly all of them (they ended a millisecond
    // apart), more than one batch of 500: it goes on past a full batch.
    let deadline = tokio::time::Instant::now() + hero_test_support::TIMEOUT;
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
    assert!(
        passes[0] > 1000,
        "one pass removes several batches: {passes:?}"
    );
}

// Regression: a batch of reports that asked for next jobs and got none announced a `running`
// change without a job line, which every supervisor logged as malformed.
#[tokio::test]
async fn a_report_that_claims_nothing_announces_no_empty_change() {
    use futures::StreamExt;

    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), NAMESPACE)
        .await
        .expect("connect");
    let mut pubsub = redis::Client::open(redis.url())
        .expect("url")
        .get_async_pubsub()
        .await
        .expect("pubsub");
    pubsub
        .subscribe(format!("{NAMESPACE}:v1:changes"))
        .await
        .expect("subscribe");
    let job = |id: &str| {
        hero_job::JobBuilder::new()
            .id(id)
            .payload("1")
            .executor("osis")
            .runner("q")
            .build()
            .expect("valid job")
    };
    store.submit_job(&job("first"), None).await.expect("submit");
    let claimed = store
        .claim("q", "w", Duration::from_secs(30), Duration::ZERO, 1)
        .await
        .expect("claim")
        .pop()
        .expect("the job");
    let next = hero_store::NextClaim {
        queue: "q".into(),
        lease: Duration::from_secs(30),
    };
    let (took, none) = store
        .finish_and_claim(
            "w",
            &claimed.attempt(),
            hero_store::Finish::completed("1"),
            Some(&next),
        )
        .await
        .expect("report");
    assert!(took && none.is_none());
    // A later change marks the end of what the report announced.
    store
        .submit_job(&job("marker"), None)
        .await
        .expect("submit");
    let mut messages = pubsub.on_message();
    loop {
        let message = tokio::time::timeout(hero_test_support::TIMEOUT, messages.next())
            .await
            .expect("a change in time")
            .expect("subscribed");
        let payload: String = message.get_payload().expect("text");
        let job_lines: Vec<&str> = payload.split('\n').skip(2).collect();
        assert!(
            job_lines.iter().all(|line| !line.is_empty()),
            "a change without a job line: {payload:?}"
        );
        if payload.contains("marker") {
            break;
        }
    }
}
