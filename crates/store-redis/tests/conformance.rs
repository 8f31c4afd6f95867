//! The Redis store against the shared store conformance suite, on a private redis-server.

use hero_store::Store;
use hero_store_redis::RedisStore;
use hero_test_support::RedisServer;

#[tokio::test]
async fn redis_store_passes_the_conformance_suite() {
    let redis = RedisServer::start();
    let store = RedisStore::connect(&redis.url(), "conformance")
        .await
        .expect("connect");
    tokio::time::timeout(
        hero_test_support::TIMEOUT,
        hero_store::conformance::run_all(&store),
    )
    .await
    .expect("the suite finishes in time");
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
    assert_eq!(a.list_jobs().await.expect("list").len(), 1);
}
