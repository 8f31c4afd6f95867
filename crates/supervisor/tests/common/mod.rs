//! A real supervisor for integration tests: its own redis-server, the real `osis_runner`,
//! served in-process on a free port.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part of the harness

use std::future::Future;
use std::time::Duration;

use hero_supervisor::Config;
use hero_supervisor::config::{ActorConfig, ActorTransport, ProcessManagerKind, RunnerAccess};
use hero_supervisor_openrpc_client::{JobBuilder, SupervisorClient};
use hero_test_support::{RedisServer, TIMEOUT};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const ADMIN: &str = "admin-secret";
pub const USER: &str = "user-secret";
pub const REGISTER: &str = "register-secret";
pub const RUNNER: &str = "osis_runner_1";

pub struct TestSupervisor {
    pub url: String,
    pub client: SupervisorClient,
    pub http: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    // Dropped last: the runner must not lose its Redis before it is stopped.
    pub redis: RedisServer,
}

/// The default config of the tests: every secret level, one `osis_runner` actor.
pub fn config(redis: &RedisServer, data_dir: &std::path::Path) -> Config {
    let mut config = Config::default_local();
    config.redis_url = Some(redis.url());
    config.namespace = "test".into();
    config.data_dir = Some(data_dir.to_owned());
    config.admin_secrets = vec![ADMIN.into()];
    config.user_secrets = vec![USER.into()];
    config.register_secrets = vec![REGISTER.into()];
    let binary = hero_test_support::workspace_binary("osis_runner");
    assert!(
        binary.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        binary.display()
    );
    config.actors = vec![ActorConfig {
        id: RUNNER.into(),
        name: RUNNER.into(),
        binary_path: binary,
        db_path: None,
        redis_url: None,
        process_manager: ProcessManagerKind::Simple,
        concurrency: None,
        env: Default::default(),
        access: RunnerAccess::User,
        transport_choice: Some(ActorTransport::Redis),
    }];
    config
}

impl TestSupervisor {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let redis = RedisServer::start();
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = config(&redis, data_dir.path());
        adjust(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            hero_supervisor::run(config, listener, async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            })
            .await
            .expect("supervisor runs");
        });
        let supervisor = Self {
            client: SupervisorClient::new(&url).expect("client"),
            http: reqwest::Client::new(),
            url,
            data_dir,
            stop: Some(stop),
            task: Some(task),
            redis,
        };
        let up = hero_test_support::eventually(TIMEOUT, || async {
            supervisor.health().await.is_some()
        })
        .await;
        assert!(up, "supervisor did not answer /health");
        supervisor
    }

    pub async fn health(&self) -> Option<Value> {
        let response = self
            .http
            .get(format!("{}/health", self.url))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// Sends a raw body and returns the JSON answer.
    pub async fn raw(&self, body: String) -> Value {
        bounded(async {
            self.http
                .post(&self.url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("a JSON answer")
        })
        .await
    }

    /// Calls `method` with `params` and returns the whole response object.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        self.raw(body.to_string()).await
    }

    /// Calls and returns the error code, panicking on success.
    pub async fn error_code(&self, method: &str, params: Value) -> i64 {
        let answer = self.call(method, params).await;
        answer["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("{method} should fail, got {answer}"))
    }

    /// Stops the supervisor and waits until its runners are gone.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            bounded(task).await.expect("supervisor task ends cleanly");
        }
    }
}

/// A job for the test runner.
pub fn job(payload: &str) -> JobBuilder {
    JobBuilder::new()
        .caller_id("tests")
        .context_id("ctx")
        .payload(payload)
        .executor("osis")
        .runner(RUNNER)
        .timeout(20)
}

/// Awaits `future`, failing the test instead of hanging past [`TIMEOUT`].
pub async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .expect("the operation finishes in time")
}

/// Polls `check` until it holds, within [`TIMEOUT`].
pub async fn until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    assert!(
        hero_test_support::eventually(TIMEOUT, check).await,
        "timed out waiting until {what}"
    );
}

pub const SHORT: Duration = Duration::from_millis(300);

/// Runs the `supervisor` binary on `config`, written into `dir`, until it exits, as an
/// operator starting it on a bad config would; returns (exit success, stderr).
pub fn run_binary_until_exit(config: &str, dir: &std::path::Path) -> (bool, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("the config is written");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_supervisor"))
        .arg("--config")
        .arg(&path)
        .env("HERO_SUPERVISOR_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the supervisor binary starts");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while child.try_wait().expect("the child is waited for").is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "supervisor did not exit on a bad config"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("its output is read");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
