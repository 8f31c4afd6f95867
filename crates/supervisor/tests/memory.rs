//! The `supervisor` process's resident memory follows what it holds, not the largest answer
//! it ever built (issue 11: one `jobs.list` grew it from 15 MB to 580 MB for good).

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hero_supervisor_openrpc_client::{JobBuilder, ListFilter, SupervisorClient};
use hero_test_support::{RedisServer, TIMEOUT};

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");
const SECRET: &str = "memory-test-user-secret";
const MIB: u64 = 1024;

/// The supervisor binary on `redis`, serving on a free port; returns it and its URL.
fn serve(redis: &RedisServer, dir: &std::path::Path) -> (Child, String) {
    let config = format!(
        "redis_url = {:?}\nport = 0\nuser_secrets = [{SECRET:?}]\n\
         admin_secrets = [\"memory-test-admin-secret\"]\naccept_unknown_runners = true\n",
        redis.url()
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(SUPERVISOR)
        .arg("--config")
        .arg(&path)
        .env("HERO_SUPERVISOR_DATA_DIR", dir)
        .env("RUST_LOG", "warn")
        .env_remove("MALLOC_ARENA_MAX")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first
        .strip_prefix("supervisor listening on ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL in {first:?}"))
        .to_owned();
    (child, url)
}

/// `VmRSS` of `child`, in KiB.
fn resident_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn memory_freed_after_the_largest_listings_is_given_back() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut child, url) = serve(&redis, dir.path());
    let client = SupervisorClient::new(&url).unwrap();
    for chunk in 0..10 {
        let jobs = (0..1_000)
            .map(|n| {
                JobBuilder::new()
                    .payload(format!("job {chunk}-{n} {}", "x".repeat(200)))
                    .executor("osis")
                    .runner("nobody")
                    .build()
                    .unwrap()
            })
            .collect();
        common::bounded(client.jobs_create_many(SECRET, jobs, false))
            .await
            .unwrap();
    }
    // The answers of everyday size, so what follows differs only by the answers' size.
    for _ in 0..3 {
        common::bounded(client.jobs_list(SECRET)).await.unwrap();
    }
    let everyday = resident_kib(&child);
    let largest = ListFilter {
        limit: Some(10_000),
        ..ListFilter::default()
    };
    for _ in 0..3 {
        let jobs = common::bounded(client.jobs_list_filtered(SECRET, &largest))
            .await
            .unwrap();
        assert_eq!(jobs.len(), 10_000);
    }
    let after_largest = resident_kib(&child);
    let settled = hero_test_support::eventually(TIMEOUT, || async {
        resident_kib(&child) <= everyday + 4 * MIB
    })
    .await;
    let last = resident_kib(&child);
    // Killing fails only if it already exited; waiting reaps it either way.
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        settled,
        "resident memory stayed at {last} KiB after listing 10,000 jobs \
         ({after_largest} KiB right after), against {everyday} KiB after listing 1,000"
    );
}
