//! A real supervisor for the `hero` tests — its own redis-server, the real `osis_runner`,
//! served in-process on a free port — and the built `hero` binary run against it.

#![allow(dead_code, unreachable_pub)] // each test file uses a different part of the harness

use std::future::Future;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use hero_supervisor::Config;
use hero_supervisor::config::{ActorConfig, ActorTransport, ProcessManagerKind, RunnerAccess};
use hero_supervisor_openrpc_client::{JobBuilder, SupervisorClient};
use hero_test_support::{RedisServer, TIMEOUT};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;

pub const ADMIN: &str = "admin-secret";
pub const USER: &str = "user-secret";
pub const RUNNER: &str = "osis_runner_1";

const HERO: &str = env!("CARGO_BIN_EXE_hero");

pub struct Supervisor {
    pub url: String,
    pub client: SupervisorClient,
    /// The data directory of the supervisor, and the `HERO_SUPERVISOR_DATA_DIR` of every
    /// `hero` run, so no test reads the secret file of the machine's own supervisor.
    pub data_dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    // Dropped last: the runner must not lose its Redis before it is stopped.
    redis: RedisServer,
}

impl Supervisor {
    /// A supervisor with an admin and a user secret and one `osis_runner` actor.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// As [`start`](Self::start), with the config changed by `adjust` first.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let redis = RedisServer::start();
        let data_dir = tempfile::tempdir().expect("a temporary directory");
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
            .expect("the supervisor runs");
        });
        let client = SupervisorClient::new(&url).expect("client");
        let up = hero_test_support::eventually(TIMEOUT, || async {
            client.rpc_discover().await.is_ok()
        })
        .await;
        assert!(up, "the supervisor did not answer");
        Self {
            url,
            client,
            data_dir,
            stop: Some(stop),
            task: Some(task),
            redis,
        }
    }

    /// Runs `hero args…` with the admin secret in `HERO_SECRET` until it exits.
    pub async fn hero(&self, args: &[&str]) -> Run {
        self.hero_with(args, &[("HERO_SECRET", ADMIN)], None).await
    }

    /// Runs `hero args…` with `env` (and `HERO_URL`), `stdin` written to it, until it exits.
    pub async fn hero_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut command = self.command(args, env);
        run(&mut command, stdin).await
    }

    /// `hero args…` with `env`, ready to spawn.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        command(args, self.data_dir.path(), &[("HERO_URL", &self.url)], env)
    }

    /// Stops the supervisor and waits until its runners are gone.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            bounded(task)
                .await
                .expect("the supervisor task ends cleanly");
        }
    }
}

fn config(redis: &RedisServer, data_dir: &Path) -> Config {
    let mut config = Config::default_local();
    config.redis_url = Some(redis.url());
    config.namespace = "cli".into();
    config.data_dir = Some(data_dir.to_owned());
    config.admin_secrets = vec![ADMIN.into()];
    config.user_secrets = vec![USER.into()];
    let binary = hero_test_support::workspace_binary("osis_runner");
    assert!(
        binary.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace --bins)",
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

/// `hero args…` with a clean environment of `HERO_*` variables: only `base` and `env`, and
/// `HERO_SUPERVISOR_DATA_DIR` set to `data_dir`.
pub fn command(
    args: &[&str],
    data_dir: &Path,
    base: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Command {
    let mut command = Command::new(HERO);
    command
        .args(args)
        .env_remove("HERO_URL")
        .env_remove("HERO_SECRET")
        .env_remove("HERO_RUNNER")
        .env_remove("HERO_EXECUTOR")
        .env("HERO_SUPERVISOR_DATA_DIR", data_dir)
        .envs(base.iter().copied())
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// What one run of `hero` did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON, failing the test when it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {self:?}"))
    }

    /// Fails the test unless `hero` exited with `code`.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit status: {self:?}");
        self
    }
}

/// Runs `command` with `stdin` to the end, within [`TIMEOUT`].
pub async fn run(command: &mut Command, stdin: Option<&str>) -> Run {
    if stdin.is_some() {
        command.stdin(Stdio::piped());
    }
    let mut child = command.spawn().expect("hero starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(text.as_bytes())
            .await
            .expect("stdin is written");
        drop(pipe);
    }
    let output: Output = bounded(child.wait_with_output())
        .await
        .expect("hero's output is read");
    Run {
        code: output.status.code().expect("hero exited, not killed"),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A `hero` that keeps running (`watch`, `runner logs -f`), read line by line.
pub struct Running {
    pub child: Child,
    pub stdout: Lines<BufReader<ChildStdout>>,
}

impl Running {
    pub fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("hero starts");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        Self { child, stdout }
    }

    /// The next line on stdout, within [`TIMEOUT`].
    pub async fn line(&mut self) -> String {
        bounded(self.stdout.next_line())
            .await
            .expect("stdout is read")
            .expect("hero is still printing")
    }

    /// The first line of stderr, within [`TIMEOUT`]; the rest of stderr is left unread.
    pub async fn stderr_line(&mut self) -> String {
        let stderr = self.child.stderr.take().expect("stderr is piped");
        let mut lines = BufReader::new(stderr).lines();
        bounded(lines.next_line())
            .await
            .expect("stderr is read")
            .unwrap_or_else(|| panic!("hero ended without a line on stderr"))
    }

    /// Kills `hero` and waits for it.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("hero is killed");
    }
}

/// A job for the test runner.
pub fn job(payload: &str) -> JobBuilder {
    JobBuilder::new()
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
