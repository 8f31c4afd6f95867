//! The Redis store on a local three-master Redis Cluster: the shared conformance suite, and
//! where the namespace's keys live.

use std::sync::Arc;

use hero_store::conformance::Faults;
use hero_store::{Claimed, Store};
use hero_store_redis::RedisStore;
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
    };
    tokio::time::timeout(
        hero_test_support::TIMEOUT * 4,
        hero_store::conformance::run_all(Arc::new(store), &faults),
    )
    .await
    .expect("the suite finishes in time");
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

/// Cuts a claim in two as a lost reply does: the `BLMOVE` the store waits with, and
/// `claim.lua` run later, or never. Keys as `docs/runner-protocol.md` lays them out, under
/// the cluster's hash tag, on the master serving them.
struct SplitClaims {
    conn: redis::aio::MultiplexedConnection,
}

#[async_trait::async_trait]
impl Faults for SplitClaims {
    async fn move_without_marking(&self, queue: &str, worker: &str) -> Option<String> {
        redis::cmd("LMOVE")
            .arg(key(&format!("queue:{queue}")))
            .arg(key(&format!("inflight:{worker}")))
            .arg("RIGHT")
            .arg("LEFT")
            .query_async(&mut self.conn.clone())
            .await
            .expect("lmove")
    }

    async fn mark_moved(
        &self,
        queue: &str,
        worker: &str,
        moved: &str,
        lease: std::time::Duration,
        most: usize,
    ) -> Vec<Claimed> {
        let claimed: Vec<(u64, String, String)> = redis::Script::new(concat!(
            include_str!("../lua/lib.lua"),
            include_str!("../lua/claim.lua")
        ))
        .key(key(&format!("queue:{queue}")))
        .key(key(&format!("inflight:{worker}")))
        .key(key("workers"))
        .key(key("seen"))
        .key(key("attempts"))
        .arg(key("job:"))
        .arg(worker)
        .arg(u64::try_from(lease.as_millis()).expect("a short lease"))
        .arg(chrono::Utc::now().to_rfc3339())
        .arg(moved)
        .arg(most)
        .arg(queue)
        .arg(5000)
        .invoke_async(&mut self.conn.clone())
        .await
        .expect("claim.lua");
        claimed
            .into_iter()
            .map(|(token, json, _id)| Claimed {
                job: serde_json::from_str(&json).expect("job json"),
                token,
            })
            .collect()
    }

    async fn corrupt_job(&self, id: &str) -> bool {
        let () = redis::cmd("HSET")
            .arg(key(&format!("job:{id}")))
            .arg("job")
            .arg("{not json")
            .query_async(&mut self.conn.clone())
            .await
            .expect("hset");
        true
    }
}
