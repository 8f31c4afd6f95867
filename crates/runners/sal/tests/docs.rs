//! Every example in `docs/runners/sal.md` runs through the real executor, in a fresh
//! temporary directory standing for `{{TMP}}`, and gives the output the page shows.

#[path = "../../osis/tests/examples/mod.rs"]
mod examples;

use hero_job::JobBuilder;
use hero_osis_runner::Limits;
use hero_runner::{Executor, JobContext};
use hero_sal_runner::SalExecutor;
use hero_test_support::TIMEOUT;
use tokio_util::sync::CancellationToken;

const REFERENCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/runners/sal.md");

/// Runs `script` as a job with `NAME=World`.
async fn run(script: &str, line: usize) -> Result<String, String> {
    let job = JobBuilder::new()
        .id(format!("docs-line-{line}"))
        .payload(script)
        .executor("sal")
        .runner("sal_runner_1")
        .env_var("NAME", "World")
        .build()
        .expect("a valid job");
    let ctx = JobContext::new(job.id.clone(), CancellationToken::new());
    let executor = SalExecutor::new(Limits::default());
    tokio::time::timeout(TIMEOUT, executor.execute(&job, &ctx))
        .await
        .unwrap_or_else(|_| panic!("the example at line {line} ends within {TIMEOUT:?}"))
}

#[tokio::test]
async fn every_example_in_the_reference_gives_its_output() {
    let markdown = std::fs::read_to_string(REFERENCE).expect("docs/runners/sal.md exists");
    let examples = examples::parse(&markdown);
    assert!(
        examples.len() >= 15,
        "found only {} examples",
        examples.len()
    );
    let mut failures = Vec::new();
    for example in &examples {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tmp = dir.path().to_str().expect("temporary paths are UTF-8");
        let script = example.script.replace("{{TMP}}", tmp);
        let result = run(&script, example.line).await;
        let result = result
            .map(|output| output.replace(tmp, "{{TMP}}"))
            .map_err(|error| error.replace(tmp, "{{TMP}}"));
        failures.extend(example.mismatch(&result));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
