//! Durability: a job the store acknowledged survives `kill -9` of the process that stored
//! it, and the file works on after the crash.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use hero_job::{JobBuilder, JobStatus};
use hero_store::{Finish, Store};
use hero_store_embedded::EmbeddedStore;

/// Set in the child: the store file it submits jobs to until it is killed.
const CHILD_FILE: &str = "HERO_EMBEDDED_CRASH_FILE";

/// Jobs the child must have acknowledged before it is killed.
const ACKED_BEFORE_KILL: usize = 40;

fn job(n: usize) -> hero_job::Job {
    JobBuilder::new()
        .id(format!("job-{n}"))
        .payload(format!("payload {n}"))
        .executor("osis")
        .runner("r")
        .caller_id("crash")
        .build()
        .expect("a valid job")
}

#[test]
fn acknowledged_jobs_survive_a_kill_9_and_the_store_works_on() {
    if let Ok(file) = std::env::var(CHILD_FILE) {
        submit_until_killed(&file);
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("store.redb");
    let mut child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "acknowledged_jobs_survive_a_kill_9_and_the_store_works_on",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_FILE, &file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut acked = Vec::new();
    while acked.len() < ACKED_BEFORE_KILL {
        let line = lines
            .next()
            .expect("the child prints until it is killed")
            .expect("a line");
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.parse::<usize>().expect("a job number"));
        }
    }
    child.kill().expect("SIGKILL the child mid-stream");
    // What it printed before it died was acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(n) = line.strip_prefix("acked ") {
            acked.push(n.parse::<usize>().expect("a job number"));
        }
    }
    child.wait().expect("reap the child");

    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = EmbeddedStore::open(&file)
            .await
            .expect("reopen after the crash");
        for &n in &acked {
            let record = store
                .job(&format!("job-{n}"))
                .await
                .expect("an acknowledged job");
            assert_eq!(record.status, JobStatus::Queued);
            assert_eq!(record.job.payload, job(n).payload);
        }
        let queued = store.queue_len("r").await.expect("queue length");
        assert!(
            queued >= acked.len() as u64,
            "{queued} queued, {} acked",
            acked.len()
        );
        let claimed = store
            .claim("r", "w", Duration::from_secs(30), Duration::ZERO, 1)
            .await
            .expect("claim after the crash");
        assert_eq!(claimed[0].job.id, "job-0", "the oldest job comes first");
        assert!(
            store
                .finish("w", &claimed[0].attempt(), Finish::completed("ok"))
                .await
                .expect("finish")
        );
        let more = job(1_000_000);
        store
            .submit_job(&more, None)
            .await
            .expect("submit after the crash");
        assert_eq!(
            store.job(&more.id).await.expect("read").status,
            JobStatus::Queued
        );
    });
}

/// The child: submits job after job, printing each one's number once the store acknowledged
/// it, until the parent kills it.
fn submit_until_killed(file: &str) {
    use std::io::Write;
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let store = EmbeddedStore::open(file).await.expect("open");
        let mut out = std::io::stdout();
        for n in 0.. {
            store.submit_job(&job(n), None).await.expect("submit");
            writeln!(out, "acked {n}").expect("print");
            out.flush().expect("flush");
        }
    });
}
