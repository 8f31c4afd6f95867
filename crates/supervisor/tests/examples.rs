//! Every runnable example, run against a real supervisor, and every example config loaded.
//!
//! The example binaries are built by `cargo build --workspace --all-targets`, which the
//! test script runs first.

mod common;

use std::path::{Path, PathBuf};

use hero_supervisor::Config;
use hero_supervisor::config::RunnerAccess;

fn example(name: &str) -> PathBuf {
    let path = hero_test_support::workspace_binary("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: build the examples first (cargo build --workspace --all-targets)",
        path.display()
    );
    path
}

async fn run_example(path: &Path, env: &[(&str, &str)]) {
    let output = common::bounded(
        tokio::process::Command::new(path)
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the example starts");
    assert!(
        output.status.success(),
        "{} failed:\n{}\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_seed_documents_rust_example_runs_as_written() {
    let sup = common::TestSupervisor::start().await;
    run_example(&example("seed"), &[("SUPERVISOR_URL", &sup.url)]).await;
    sup.stop().await;
}

#[tokio::test]
async fn the_client_example_covers_every_method() {
    let sup = common::TestSupervisor::start().await;
    run_example(
        &example("all_methods"),
        &[
            ("SUPERVISOR_URL", &sup.url),
            ("SUPERVISOR_SECRET", common::USER),
            ("RUNNER", common::RUNNER),
        ],
    )
    .await;
    sup.stop().await;
}

#[tokio::test]
async fn the_mock_runner_example_serves_jobs_as_an_actor() {
    let sup = common::TestSupervisor::start_with(|c| {
        let mut actor = c.actors[0].clone();
        actor.id = "mock".into();
        actor.name = "mock".into();
        actor.binary_path = example("mock_runner");
        c.actors = vec![actor];
    })
    .await;
    let job = hero_supervisor_openrpc_client::JobBuilder::new()
        .payload("echoed as it is")
        .executor("mock")
        .runner("mock")
        .timeout(20)
        .build()
        .unwrap();
    let result = common::bounded(sup.client.job_run(common::USER, job))
        .await
        .unwrap();
    assert_eq!(
        result,
        hero_supervisor_openrpc_client::JobResult::success("echoed as it is")
    );
    sup.stop().await;
}

#[tokio::test]
async fn the_embedded_supervisor_example_runs() {
    let redis = hero_test_support::RedisServer::start();
    run_example(&example("supervisor_setup"), &[("REDIS_URL", &redis.url())]).await;
}

#[test]
fn every_example_config_loads_and_keeps_sal_runners_for_admins() {
    let configs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/configs");
    let runner = hero_test_support::workspace_binary("osis_runner");
    let dir = tempfile::tempdir().unwrap();
    let mut loaded = 0;
    for entry in std::fs::read_dir(&configs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        let original = std::fs::read_to_string(&path).unwrap();
        let text = original
            .replace("/path/to/osis_runner", &runner.display().to_string())
            .replace("/path/to/sal_runner", &runner.display().to_string());
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        Config::load(&copy).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let as_shipped: Config = toml::from_str(&original).unwrap();
        for actor in &as_shipped.actors {
            if actor.binary_path.ends_with("sal_runner") {
                assert_eq!(
                    actor.access,
                    RunnerAccess::Admin,
                    "{}: actor {} runs sal_runner open to user secrets",
                    path.display(),
                    actor.id
                );
            }
        }
        loaded += 1;
    }
    assert!(loaded >= 4, "only {loaded} example configs found");
}
