//! The Redis store on a local three-master Redis Cluster: the shared conformance suite, and
//! where the namespace's keys live.

mod common;

use std::time::Duration;

use common::SplitClaims;
use hero_store::Store;
use hero_store_redis::{Durability, RedisStore};
use hero_test_support::RedisCluster;

const NAMESPACE: &str = "conformance";

/// The namespace's keys on a cluster: the namespace is their hash tag.
fn key(rest: &str) -> String {
    format!("{{{NAMESPACE}}}:v1:{rest}")
}

/// A connection to the master serving the namespace's slot, for raw keys.
async fn namespace_master(cluster: &RedisCluster) -> redis::aio::MultiplexedConnection {
    let port = cluster.master_of(&key("jobs"));
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

/// Every script, the blocking claims, the subscriptions and the listings through a cluster.
#[tokio::test]
async fn redis_store_passes_the_conformance_suite_on_a_three_master_cluster() {
    let cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), NAMESPACE)
        .await
        .expect("connect");
    let faults = SplitClaims {
        conn: namespace_master(&cluster).await,
        prefix: format!("{{{NAMESPACE}}}:v1:"),
    };
    faults.run_suite(store).await;
}

/// As above, with a replica per master and every submit confirmed by the namespace's
/// master's replica (`WAIT` on a connection of its own to that master).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_the_conformance_suite_on_a_cluster_waiting_for_a_replica() {
    let cluster = tokio::task::block_in_place(RedisCluster::start_with_replicas);
    let durability = Durability::Replicated {
        timeout: Duration::from_secs(2),
    };
    let store = RedisStore::connect_with(&cluster.url(), NAMESPACE, durability)
        .await
        .expect("connect");
    let faults = SplitClaims {
        conn: namespace_master(&cluster).await,
        prefix: format!("{{{NAMESPACE}}}:v1:"),
    };
    faults.run_suite(store).await;
}

#[tokio::test]
async fn on_a_cluster_every_key_of_a_namespace_lives_on_the_master_of_its_hash_tag() {
    let cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), NAMESPACE)
        .await
        .expect("connect");
    let job = hero_job::JobBuilder::new()
        .id("job-1")
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job");
    store.submit_jobs(&[job], None, true).await.expect("submit");
    let mut conn = namespace_master(&cluster).await;
    for name in ["job:job-1", "jobs", "queue:r", "idx:runner:r"] {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key(name))
            .query_async(&mut conn)
            .await
            .expect("EXISTS");
        assert!(exists, "{} is on the namespace's master", key(name));
    }
    let others: Vec<u16> = cluster
        .ports()
        .into_iter()
        .filter(|port| *port != cluster.master_of(&key("jobs")))
        .collect();
    assert_eq!(others.len(), 2, "three masters");
    for port in others {
        let mut other = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect");
        let size: i64 = redis::cmd("DBSIZE")
            .query_async(&mut other)
            .await
            .expect("DBSIZE");
        assert_eq!(size, 0, "the master on {port} holds none of the namespace");
    }
}

#[tokio::test]
async fn a_cluster_store_carries_on_while_a_master_serving_none_of_its_namespace_is_down() {
    let mut cluster = RedisCluster::start();
    let store = RedisStore::connect(&cluster.url(), NAMESPACE)
        .await
        .expect("connect");
    let own = cluster.master_of(&key("jobs"));
    let other = cluster
        .ports()
        .into_iter()
        .find(|port| *port != own)
        .expect("three masters");
    cluster.kill(other);
    store
        .health()
        .await
        .expect("the namespace's master answers");
    let job = hero_job::JobBuilder::new()
        .id("after")
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job");
    store.submit_jobs(&[job], None, true).await.expect("submit");
    let record = store.job("after").await.expect("read");
    assert_eq!(record.status, hero_job::JobStatus::Queued);
}

#[tokio::test]
async fn a_malformed_cluster_url_is_refused_with_its_form_and_without_the_password() {
    let err = RedisStore::connect("redis+cluster://:hunter2@127.0.0.1:7000/3", "x")
        .await
        .expect_err("a cluster has no database 3");
    let message = err.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("HOST:PORT"), "{message}");
    assert!(message.contains("127.0.0.1:7000"), "{message}");
}

#[tokio::test]
async fn a_namespace_holding_a_brace_is_refused_on_a_cluster() {
    for namespace in ["a{b", "}a", "a}"] {
        let err = RedisStore::connect("redis+cluster://127.0.0.1:7000", namespace)
            .await
            .expect_err(namespace);
        let message = err.to_string();
        assert!(message.contains("cannot hold `{` or `}`"), "{message}");
    }
}

#[tokio::test]
async fn a_cluster_with_no_node_listening_is_reported_unavailable() {
    let port = hero_test_support::free_port();
    let err = RedisStore::connect(&format!("redis+cluster://:hunter2@127.0.0.1:{port}"), "x")
        .await
        .expect_err("nothing listens there");
    let message = err.to_string();
    assert!(err.is_retryable(), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");
}

/// Kills the namespace's master once the store has its shared, blocking and subscription
/// connections open to it; after its replica takes over, the store serves submits, blocking
/// claims, reports and the announcement of a job's end, as a client that retries sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_store_carries_on_after_its_master_fails_over_to_a_replica() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start_with_replicas);
    let store = RedisStore::connect(&cluster.url(), NAMESPACE)
        .await
        .expect("connect");
    let lease = Duration::from_secs(30);
    // Opens the blocking claim's connection and the subscription, both to the first master.
    let none = store
        .claim("r", "w", lease, Duration::from_millis(50), 1)
        .await
        .expect("claim");
    assert!(none.is_empty());
    store
        .submit_jobs(&[job("before")], None, true)
        .await
        .expect("submit");
    run_one(&store, "before").await;

    let old = cluster.master_of(&key("jobs"));
    // The replica has every write so far, so what it serves after is what the store left.
    let replicas: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query_async(&mut namespace_master(&cluster).await)
        .await
        .expect("WAIT");
    assert_eq!(replicas, 1, "the replica confirmed");
    cluster.kill(old);
    tokio::task::block_in_place(|| cluster.wait_for_new_master(&key("jobs"), old));

    let after = [job("after")];
    retry("a submit after the failover", || {
        store.submit_jobs(&after, None, true)
    })
    .await;
    run_one(&store, "after").await;
}

fn job(id: &str) -> hero_job::Job {
    hero_job::JobBuilder::new()
        .id(id)
        .payload("1")
        .executor("osis")
        .runner("r")
        .build()
        .expect("a valid job")
}

/// Claims `id` (retrying while the store is unavailable, as the runner SDK does), reports it
/// completed, and checks that a waiter hears of its end.
async fn run_one(store: &RedisStore, id: &str) {
    let lease = Duration::from_secs(30);
    let claimed = retry("a blocking claim", || {
        store.claim("r", "w", lease, Duration::from_secs(5), 1)
    })
    .await;
    assert_eq!(claimed.len(), 1, "{id} is claimed");
    assert_eq!(claimed[0].job.id, id);
    let waiter = {
        let store = store.clone();
        let id = id.to_owned();
        // Longer than the test may take: only the announcement can end this wait in time.
        tokio::spawn(async move { store.wait_final(&id, Duration::from_secs(600)).await })
    };
    let attempt = hero_store::Attempt {
        id: id.to_owned(),
        token: claimed[0].token,
    };
    let taken = retry("a report", || {
        store.finish("w", &attempt, hero_store::Finish::completed("1"))
    })
    .await;
    assert!(taken, "the report of {id} is taken");
    let ended = tokio::time::timeout(hero_test_support::TIMEOUT, waiter)
        .await
        .expect("the job's end is announced")
        .expect("the waiter")
        .expect("wait_final");
    assert_eq!(ended.status, hero_job::JobStatus::Completed, "{id}");
}

/// Calls `call` until it succeeds, failing the test after [`hero_test_support::TIMEOUT`].
async fn retry<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = hero_store::Result<T>>,
{
    let deadline = tokio::time::Instant::now() + hero_test_support::TIMEOUT;
    loop {
        match call().await {
            Ok(value) => return value,
            Err(error) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{what} never succeeded: {error}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
