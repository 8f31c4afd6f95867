//! Every example in `docs/runners/osis.md` runs through the real executor and gives the
//! output the page shows, so the reference cannot drift from the runner.

mod examples;

use hero_job::JobBuilder;
use hero_osis_runner::{KvStore, Limits, OsisExecutor};
use hero_runner::{Executor, JobContext};
use hero_test_support::TIMEOUT;
use tokio_util::sync::CancellationToken;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/runners/osis.md");

/// Runs `script` as a job of context `docs` with `NAME=World`, on an empty store.
async fn run(script: &str, line: usize) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = KvStore::open(dir.path()).expect("the store opens");
    let executor = OsisExecutor::new(store, Limits::default());
    let job = JobBuilder::new()
        .id(format!("docs-line-{line}"))
        .context_id("docs")
        .payload(script)
        .executor("osis")
        .runner("osis_runner_1")
        .env_var("NAME", "World")
        .build()
        .expect("a valid job");
    let ctx = JobContext::new(job.id.clone(), CancellationToken::new());
    tokio::time::timeout(TIMEOUT, executor.execute(&job, &ctx))
        .await
        .unwrap_or_else(|_| panic!("the example at line {line} ends within {TIMEOUT:?}"))
}

#[tokio::test]
async fn every_example_in_the_reference_gives_its_output() {
    let markdown = std::fs::read_to_string(REFERENCE).expect("docs/runners/osis.md exists");
    let examples = examples::parse(&markdown);
    assert!(
        examples.len() >= 20,
        "found only {} examples",
        examples.len()
    );
    let mut failures = Vec::new();
    for example in &examples {
        let result = run(&example.script, example.line).await;
        failures.extend(example.mismatch(&result));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
