//! The Redis store on a local Redis Cluster: the shared conformance suite, where a
//! namespace's keys live (each runner's shard on the master of its hash tag, found by id
//! through the directory), and what the store survives.

mod common;

use std::time::Duration;

use common::{Layout, SplitClaims};
use hero_job::JobStatus;
use hero_store::{JobFilter, Store};
use hero_store_redis::{ClusterStore, Durability, RedisStore};
use hero_test_support::RedisCluster;

const NAMESPACE: &str = "conformance";

/// Key `rest` of the namespace's own slot.
fn home_key(rest: &str) -> String {
    format!("{{{NAMESPACE}}}:v1:{rest}")
}

/// Key `rest` of `runner`'s shard.
fn shard_key(runner: &str, rest: &str) -> String {
    format!("{{{NAMESPACE}/{runner}}}:v1:{rest}")
}

async fn connect(cluster: &RedisCluster) -> ClusterStore {
    ClusterStore::connect(&cluster.url(), NAMESPACE, Durability::Async)
        .await
        .expect("connect")
}

/// A connection to the node on `port`, for raw keys.
async fn node(port: u16) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect")
}

/// The conformance suite's faults, through redis-rs' cluster connection.
async fn faults(cluster: &RedisCluster) -> SplitClaims<redis::cluster_async::ClusterConnection> {
    let nodes: Vec<String> = cluster
        .ports()
        .iter()
        .map(|port| format!("redis://127.0.0.1:{port}"))
        .collect();
    let conn = redis::cluster::ClusterClient::new(nodes)
        .expect("cluster client")
        .get_async_connection()
        .await
        .expect("cluster connection");
    SplitClaims {
        conn,
        layout: Layout::Shards(NAMESPACE.to_owned()),
    }
}

/// Runner names whose shards fall on each master in turn: `per_master` on each, in the
/// order of `cluster.ports()`.
fn runners_on_every_master(cluster: &RedisCluster, per_master: usize) -> Vec<String> {
    let masters = cluster.ports();
    let mut chosen: Vec<Vec<String>> = vec![Vec::new(); masters.len()];
    for n in 0.. {
        if chosen.iter().all(|names| names.len() == per_master) {
            break;
        }
        let name = format!("r{n}");
        let master = cluster.master_of(&shard_key(&name, "jobs"));
        let at = masters
            .iter()
            .position(|&port| port == master)
            .expect("a master");
        if chosen[at].len() < per_master {
            chosen[at].push(name);
        }
    }
    chosen.into_iter().flatten().collect()
}

/// Every script, the blocking claims, the subscriptions and the listings through a cluster.
#[tokio::test]
async fn cluster_store_passes_the_conformance_suite_on_a_three_master_cluster() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    faults(&cluster)
        .await
        .run_suite(std::sync::Arc::new(store))
        .await;
}

/// As above, with a replica per master and every submit (its directory entry, and its job
/// in its shard) confirmed by a replica of the master it went to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_store_passes_the_conformance_suite_on_a_cluster_waiting_for_a_replica() {
    let cluster = tokio::task::block_in_place(RedisCluster::start_with_replicas);
    let durability = Durability::Replicated {
        timeout: Duration::from_secs(2),
    };
    let store = ClusterStore::connect(&cluster.url(), NAMESPACE, durability)
        .await
        .expect("connect");
    faults(&cluster)
        .await
        .run_suite(std::sync::Arc::new(store))
        .await;
}

#[tokio::test]
async fn each_runners_queue_and_jobs_live_on_the_master_of_its_shard_and_are_found_by_id() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    let jobs: Vec<hero_job::Job> = runners
        .iter()
        .map(|runner| job_for(&format!("job-{runner}"), runner))
        .collect();
    store
        .submit_jobs(&jobs, None, true)
        .await
        .expect("one batch over three shards");

    for (runner, port) in runners.iter().zip(cluster.ports()) {
        let mut conn = node(port).await;
        for name in [
            format!("job:job-{runner}"),
            format!("queue:{runner}"),
            "jobs".into(),
        ] {
            let exists: bool = redis::cmd("EXISTS")
                .arg(shard_key(runner, &name))
                .query_async(&mut conn)
                .await
                .expect("EXISTS");
            assert!(
                exists,
                "{} is on the master on {port}",
                shard_key(runner, &name)
            );
        }
        let record = store
            .job(&format!("job-{runner}"))
            .await
            .expect("found by id");
        assert_eq!(record.job.runner, *runner);
        assert_eq!(store.queue_len(runner).await.expect("queue_len"), 1);
    }

    let listed = store.list_jobs(&JobFilter::default()).await.expect("list");
    let mut ids: Vec<&str> = listed.iter().map(|r| r.job.id.as_str()).collect();
    ids.sort_unstable();
    let mut want: Vec<String> = runners.iter().map(|r| format!("job-{r}")).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "a listing without a runner reads every shard");
    let counts = store.job_counts().await.expect("counts");
    assert_eq!(counts.get(&JobStatus::Queued), Some(&3));

    let claimed = store
        .claim(
            &runners[1],
            "w-1",
            Duration::from_secs(30),
            Duration::ZERO,
            8,
        )
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1, "a claim takes only its own runner's job");
    assert_eq!(claimed[0].job.id, format!("job-{}", runners[1]));
}

#[tokio::test]
async fn a_listing_over_shards_pages_newest_first_as_on_one_redis() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    // Created one millisecond apart, round robin over the shards.
    let start = chrono::Utc::now() - chrono::Duration::seconds(60);
    let jobs: Vec<hero_job::Job> = (0..9)
        .map(|i| {
            let mut job = job_for(&format!("j{i}"), &runners[i % 3]);
            job.created_at = start + chrono::Duration::milliseconds(i as i64);
            job
        })
        .collect();
    store.submit_jobs(&jobs, None, false).await.expect("submit");
    let mut pages = Vec::new();
    let mut before = None;
    loop {
        let filter = JobFilter {
            limit: 4,
            before: before.clone(),
            ..JobFilter::default()
        };
        let page: Vec<String> = store
            .list_jobs(&filter)
            .await
            .expect("list")
            .into_iter()
            .map(|record| record.job.id)
            .collect();
        if page.is_empty() {
            break;
        }
        before = page.last().cloned();
        pages.push(page);
    }
    assert_eq!(
        pages,
        vec![
            vec!["j8", "j7", "j6", "j5"],
            vec!["j4", "j3", "j2", "j1"],
            vec!["j0"],
        ]
    );
}

/// A listing reads the shards a page at a time: one shard holding the newest jobs, many
/// pages of them, comes first in full, then the others' in order.
#[tokio::test]
async fn a_listing_reads_on_in_the_shard_whose_jobs_are_newest() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    let start = chrono::Utc::now() - chrono::Duration::seconds(600);
    let mut jobs = Vec::new();
    // Runners 1 and 2: 10 older jobs each, interleaved; runner 0: 120 newer ones.
    for i in 0..20 {
        let mut job = job_for(&format!("old{i:03}"), &runners[1 + i % 2]);
        job.created_at = start + chrono::Duration::milliseconds(i as i64);
        jobs.push(job);
    }
    for i in 0..120 {
        let mut job = job_for(&format!("new{i:03}"), &runners[0]);
        job.created_at = start + chrono::Duration::milliseconds(1000 + i as i64);
        jobs.push(job);
    }
    store.submit_jobs(&jobs, None, false).await.expect("submit");
    let newest_first: Vec<String> = jobs.iter().rev().map(|job| job.id.clone()).collect();
    for limit in [125, 140, 1000] {
        let listed: Vec<String> = store
            .list_jobs(&JobFilter {
                limit,
                ..JobFilter::default()
            })
            .await
            .expect("list")
            .into_iter()
            .map(|record| record.job.id)
            .collect();
        let want: Vec<String> = newest_first.iter().take(limit).cloned().collect();
        assert_eq!(listed, want, "limit {limit}");
    }
}

#[tokio::test]
async fn an_id_held_by_one_runner_is_refused_for_another_and_its_batch_stores_nothing() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    store
        .create_job(&job_for("taken", &runners[0]), None)
        .await
        .expect("create");
    let err = store
        .create_job(&job_for("taken", &runners[1]), None)
        .await
        .expect_err("the id is taken on another shard");
    assert!(matches!(err, hero_store::Error::JobExists { .. }), "{err}");
    let batch = [job_for("fresh", &runners[2]), job_for("taken", &runners[1])];
    let err = store
        .submit_jobs(&batch, None, true)
        .await
        .expect_err("one id of the batch is taken");
    assert!(matches!(err, hero_store::Error::JobExists { .. }), "{err}");
    assert!(
        matches!(
            store.job("fresh").await,
            Err(hero_store::Error::JobNotFound { .. })
        ),
        "nothing of the batch is stored"
    );
    assert_eq!(
        store.job("taken").await.expect("kept").job.runner,
        runners[0]
    );

    // Once deleted, its id is free for any runner, and the directory forgets it.
    store.delete_job("taken", None).await.expect("delete");
    let mut home = node(cluster.master_of(&home_key("dir"))).await;
    let entries: u64 = redis::cmd("HLEN")
        .arg(home_key("dir"))
        .query_async(&mut home)
        .await
        .expect("HLEN");
    assert_eq!(entries, 0, "a deleted job leaves no directory entry");
    store
        .create_job(&job_for("taken", &runners[1]), None)
        .await
        .expect("the id is free again");
    assert_eq!(
        store.job("taken").await.expect("found").job.runner,
        runners[1]
    );
}

/// A submit that stopped between reserving its id and storing its job (a supervisor killed
/// there) left an entry whose job is not found: after a while, another runner may take the id.
#[tokio::test]
async fn an_id_whose_submit_stopped_half_way_is_freed_for_another_runner_once_stale() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    let mut home = node(cluster.master_of(&home_key("dir"))).await;
    let reserve = |id: &str, entry: String| {
        redis::cmd("HSET")
            .arg(home_key("dir"))
            .arg(id)
            .arg(entry)
            .clone()
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    let () = reserve("old", format!("{} {}", runners[0], now_ms - 3_600_000))
        .query_async(&mut home)
        .await
        .expect("HSET");
    let () = reserve("recent", format!("{} {now_ms}", runners[0]))
        .query_async(&mut home)
        .await
        .expect("HSET");
    assert!(
        matches!(
            store.job("old").await,
            Err(hero_store::Error::JobNotFound { .. })
        ),
        "a half-done submit's job is not found"
    );

    store
        .create_job(&job_for("old", &runners[1]), None)
        .await
        .expect("a stale reservation is taken over");
    assert_eq!(
        store.job("old").await.expect("found").job.runner,
        runners[1]
    );
    let err = store
        .create_job(&job_for("recent", &runners[1]), None)
        .await
        .expect_err("a reservation may be a submit still on its way");
    assert!(matches!(err, hero_store::Error::JobExists { .. }), "{err}");
    store
        .create_job(&job_for("recent", &runners[0]), None)
        .await
        .expect("the same runner's retry goes on");
}

#[tokio::test]
async fn jobs_removed_by_retention_leave_no_directory_entry() {
    let cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    store
        .put_retention(&hero_store::Retention {
            completed: Duration::from_millis(1),
            ..hero_store::Retention::default()
        })
        .await
        .expect("retention");
    let jobs: Vec<hero_job::Job> = runners
        .iter()
        .map(|runner| job_for(&format!("done-{runner}"), runner))
        .collect();
    store.submit_jobs(&jobs, None, true).await.expect("submit");
    for runner in &runners {
        let claimed = store
            .claim(
                runner,
                &format!("{runner}-w"),
                Duration::from_secs(30),
                Duration::ZERO,
                1,
            )
            .await
            .expect("claim");
        let taken = store
            .finish(
                &format!("{runner}-w"),
                &claimed[0].attempt(),
                hero_store::Finish::completed("1"),
            )
            .await
            .expect("finish");
        assert!(taken);
    }
    let deadline = tokio::time::Instant::now() + hero_test_support::TIMEOUT;
    let mut expired = 0;
    while expired < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "retention removes the jobs"
        );
        expired += store.reap_expired().await.expect("reap").expired;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut home = node(cluster.master_of(&home_key("dir"))).await;
    let entries: u64 = redis::cmd("HLEN")
        .arg(home_key("dir"))
        .query_async(&mut home)
        .await
        .expect("HLEN");
    assert_eq!(entries, 0, "each removed job's entry went with it");
}

/// A supervisor relaying a worker's reports finds its shard though another relayed its
/// claims, whatever the worker's name.
#[tokio::test]
async fn a_workers_reports_reach_its_shard_through_a_store_that_never_saw_its_claims() {
    let cluster = RedisCluster::start();
    let claims = connect(&cluster).await;
    let reports = connect(&cluster).await;
    let runners = runners_on_every_master(&cluster, 1);
    claims
        .submit_jobs(&[job_for("relayed", &runners[1])], None, true)
        .await
        .expect("submit");
    let claimed = claims
        .claim(
            &runners[1],
            "hostA_worker7",
            Duration::from_secs(30),
            Duration::ZERO,
            1,
        )
        .await
        .expect("claim");
    let attempt = claimed[0].attempt();
    let given_up = reports
        .heartbeat(
            "hostA_worker7",
            Duration::from_secs(30),
            std::slice::from_ref(&attempt),
        )
        .await
        .expect("heartbeat");
    assert!(
        given_up.is_empty(),
        "the run is still the worker's: {given_up:?}"
    );
    let taken = reports
        .finish(
            "hostA_worker7",
            &attempt,
            hero_store::Finish::completed("7"),
        )
        .await
        .expect("finish");
    assert!(taken, "the report reached the job's shard");
    assert_eq!(
        claims.job("relayed").await.expect("read").status,
        JobStatus::Completed
    );
}

/// While the master of one runner's shard is down (no replica to take over), the reaper, the
/// promoter and a new supervisor's start (its retention) carry on for every other shard.
#[tokio::test]
async fn a_dead_master_stops_only_its_own_shards_reaping_and_promoting() {
    let mut cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let home = cluster.master_of(&home_key("dir"));
    let ports = cluster.ports();
    let runners = runners_on_every_master(&cluster, 1);
    let doomed_at = ports
        .iter()
        .position(|&p| p != home)
        .expect("three masters");
    let alive_at = (0..3)
        .find(|&i| i != doomed_at && ports[i] == home)
        .expect("the namespace's master holds a runner");
    let (doomed, alive) = (&runners[doomed_at], &runners[alive_at]);
    store
        .submit_jobs(&[job_for("there", doomed)], None, true)
        .await
        .expect("submit");
    let mut delayed = job_for("later", alive);
    delayed.delay = Some(1);
    store.submit_job(&delayed, None).await.expect("submit");
    cluster.kill(ports[doomed_at]);

    store
        .put_retention(&hero_store::Retention::default())
        .await
        .expect("the retention goes where it can");
    store
        .reap_expired()
        .await
        .expect("the other shards are reaped");
    let deadline = tokio::time::Instant::now() + hero_test_support::TIMEOUT;
    loop {
        let promoted = store
            .promote_due()
            .await
            .expect("the other shards are promoted");
        if promoted.queued == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the delayed job was never queued"
        );
        assert!(
            promoted.next_due.is_some(),
            "a skipped shard keeps the promoter looking"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        store.job("later").await.expect("read").status,
        JobStatus::Queued
    );
}

/// `unreserve.lua` removes an entry only while it names the runner whose job went and was
/// reserved before it went: an id submitted again since keeps its new entry.
#[tokio::test]
async fn an_entry_reserved_again_after_its_job_went_is_kept() {
    let redis = hero_test_support::RedisServer::start();
    let mut conn = redis::Client::open(redis.url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let unreserve = redis::Script::new(include_str!("../lua/unreserve.lua"));
    let () = redis::cmd("HSET")
        .arg("dir")
        .arg("old")
        .arg("r1 1000")
        .arg("again")
        .arg("r1 5000")
        .arg("other")
        .arg("r2 1000")
        .query_async(&mut conn)
        .await
        .expect("HSET");
    let removed: u64 = unreserve
        .key("dir")
        .arg("r1")
        .arg(3000)
        .arg("old")
        .arg("again")
        .arg("other")
        .invoke_async(&mut conn)
        .await
        .expect("unreserve.lua");
    assert_eq!(removed, 1);
    let left: Vec<String> = redis::cmd("HKEYS")
        .arg("dir")
        .query_async(&mut conn)
        .await
        .expect("HKEYS");
    let mut left = left;
    left.sort();
    assert_eq!(left, ["again", "other"]);
}

#[tokio::test]
async fn a_cluster_store_carries_on_while_a_master_serving_none_of_its_shards_is_down() {
    let mut cluster = RedisCluster::start();
    let store = connect(&cluster).await;
    let home = cluster.master_of(&home_key("dir"));
    // A runner whose shard is on the namespace's own master: the other two may go.
    let runner = (0..)
        .map(|n| format!("r{n}"))
        .find(|name| cluster.master_of(&shard_key(name, "jobs")) == home)
        .expect("some name falls there");
    let other = cluster
        .ports()
        .into_iter()
        .find(|port| *port != home)
        .expect("three masters");
    cluster.kill(other);
    store
        .health()
        .await
        .expect("the namespace's master answers");
    store
        .submit_jobs(&[job_for("after", &runner)], None, true)
        .await
        .expect("submit");
    let record = store.job("after").await.expect("read");
    assert_eq!(record.status, JobStatus::Queued);
}

#[tokio::test]
async fn a_malformed_cluster_url_is_refused_with_its_form_and_without_the_password() {
    let err = ClusterStore::connect(
        "redis+cluster://:hunter2@127.0.0.1:7000/3",
        "x",
        Durability::Async,
    )
    .await
    .expect_err("a cluster has no database 3");
    let message = err.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("HOST:PORT"), "{message}");
    assert!(message.contains("127.0.0.1:7000"), "{message}");
}

#[tokio::test]
async fn a_namespace_holding_a_brace_or_slash_is_refused_on_a_cluster() {
    for namespace in ["a{b", "}a", "a}", "a/b"] {
        let err = ClusterStore::connect(
            "redis+cluster://127.0.0.1:7000",
            namespace,
            Durability::Async,
        )
        .await
        .expect_err(namespace);
        let message = err.to_string();
        assert!(message.contains("cannot hold `{`, `}` or `/`"), "{message}");
    }
}

#[tokio::test]
async fn the_single_redis_store_refuses_a_cluster_and_names_the_cluster_store() {
    let err = RedisStore::connect("redis+cluster://:hunter2@127.0.0.1:7000", "x")
        .await
        .expect_err("a cluster is sharded");
    let message = err.to_string();
    assert!(message.contains("ClusterStore"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn a_cluster_with_no_node_listening_is_reported_unavailable() {
    let port = hero_test_support::free_port();
    let err = ClusterStore::connect(
        &format!("redis+cluster://:hunter2@127.0.0.1:{port}"),
        "x",
        Durability::Async,
    )
    .await
    .expect_err("nothing listens there");
    let message = err.to_string();
    assert!(err.is_retryable(), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains(&port.to_string()), "{message}");
}

/// Kills the master of runner `r`'s shard once the store has its shared, blocking and
/// subscription connections open; after its replica takes over, the store serves submits,
/// blocking claims, reports and the announcement of a job's end, as a client that retries
/// sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_store_carries_on_after_a_shards_master_fails_over_to_a_replica() {
    let mut cluster = tokio::task::block_in_place(RedisCluster::start_with_replicas);
    let store = connect(&cluster).await;
    let lease = Duration::from_secs(30);
    // Opens the blocking claim's connection and the subscription.
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

    let old = cluster.master_of(&shard_key("r", "jobs"));
    // The replica has every write so far, so what it serves after is what the store left.
    let replicas: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query_async(&mut node(old).await)
        .await
        .expect("WAIT");
    assert_eq!(replicas, 1, "the replica confirmed");
    cluster.kill(old);
    tokio::task::block_in_place(|| cluster.wait_for_new_master(&shard_key("r", "jobs"), old));

    let after = [job("after")];
    retry("a submit after the failover", || {
        store.submit_jobs(&after, None, true)
    })
    .await;
    run_one(&store, "after").await;
}

fn job_for(id: &str, runner: &str) -> hero_job::Job {
    hero_job::JobBuilder::new()
        .id(id)
        .payload("1")
        .executor("osis")
        .runner(runner)
        .build()
        .expect("a valid job")
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
async fn run_one(store: &ClusterStore, id: &str) {
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
