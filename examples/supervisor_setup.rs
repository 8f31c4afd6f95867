//! A supervisor embedded in a program: configure it in code, start it, run one job through
//! the Rust client, and shut it down.
//!
//! It needs a Redis and the `osis_runner` binary next to this example's build directory:
//!
//! ```text
//! cargo build -p hero-osis-runner
//! REDIS_URL=redis://127.0.0.1:6379 cargo run -p hero-examples --example supervisor_setup
//! ```

use std::error::Error;

use hero_supervisor::Config;
use hero_supervisor::config::{ActorConfig, ActorTransport, ProcessManagerKind, RunnerAccess};
use hero_supervisor_openrpc_client::{JobBuilder, SupervisorClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let data_dir = tempfile::tempdir()?;
    let mut config = Config::default_local();
    config.redis_url = std::env::var("REDIS_URL").ok();
    config.namespace = format!("example-{}", std::process::id());
    config.data_dir = Some(data_dir.path().to_owned());
    config.user_secrets = vec!["user-secret".into()];
    config.admin_secrets = vec!["admin-secret".into()];
    // target/<profile>/examples/supervisor_setup → target/<profile>/osis_runner
    let runner = std::env::current_exe()?
        .parent()
        .and_then(|examples| examples.parent())
        .map(|profile| profile.join("osis_runner"))
        .ok_or("cannot locate the build directory")?;
    config.actors = vec![ActorConfig {
        id: "osis_runner_1".into(),
        name: "osis_runner_1".into(),
        binary_path: runner,
        db_path: None,
        redis_url: None,
        process_manager: ProcessManagerKind::Simple,
        concurrency: None,
        env: Default::default(),
        access: RunnerAccess::User,
        transport_choice: Some(ActorTransport::Redis),
    }];
    config.check()?;

    // Port 0: the OS picks a free port, which `Running::address` reports.
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let running = hero_supervisor::start(config, listener).await?;
    let url = format!("http://{}", running.address());
    println!("supervisor serving on {url}");

    let client = SupervisorClient::new(&url)?;
    let job = JobBuilder::new()
        .caller_id("supervisor_setup")
        .payload("print(\"Hello from an embedded supervisor\"); 6 * 7")
        .executor("osis")
        .runner("osis_runner_1")
        .timeout(30)
        .build()?;
    let result = client.job_run("user-secret", job).await?;
    println!("result: {result:?}");

    running.serve_until(async {}).await;
    println!("supervisor stopped, runner stopped");
    Ok(())
}
