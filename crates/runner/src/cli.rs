//! Binary support: the command line every runner accepts and a whole `main` around [`run`].
//!
//! The supervisor starts a runner as `BINARY --id ID --name NAME --db-path PATH --redis-url
//! URL --namespace NS --access LEVEL`; [`RunnerArgs`] accepts exactly these flags, and
//! `--supervisor unix://PATH` in place of Redis to reach the store through the supervisor's
//! runner endpoint. A runner binary is [`run_main`] with a closure that builds its
//! [`Executor`]. Only this module uses `anyhow`.

use std::future::Future;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use hero_job::Level;
use hero_store::Store;
use hero_store_redis::{Durability, redact_url};
use hero_supervisor_api::Secret;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::{Executor, RemoteStore, RunnerConfig, run};

/// How long a starting runner keeps trying to reach its store before it gives up.
const CONNECT_PATIENCE: Duration = Duration::from_secs(30);

/// How often a runner checks that the process that started it is still alive.
const PARENT_CHECK: Duration = Duration::from_secs(1);

/// How long the runtime waits for blocking work that ignored cancellation when exiting.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// How long, past its shutdown grace, a runner that reaches the store through the supervisor
/// that started it keeps trying to report once that supervisor died: the store died with it,
/// so the reports may never land; the jobs left unreported are reaped as lost once a
/// supervisor runs on that store again.
const ORPHAN_REPORT_PATIENCE: Duration = Duration::from_secs(5);

/// The command line of a runner binary.
#[derive(Clone, Parser)]
#[command(
    version,
    about = "A Hero Supervisor runner: claims jobs from its queue and runs them"
)]
pub struct RunnerArgs {
    /// The actor id the supervisor knows this process by; shown in logs.
    #[arg(long)]
    pub id: Option<String>,
    /// The runner name: the queue this process claims jobs from.
    #[arg(long)]
    pub name: String,
    /// Where the runner keeps its own data, for runners that have any.
    #[arg(long)]
    pub db_path: Option<PathBuf>,
    /// The Redis holding the jobs: `redis://HOST:PORT` (`rediss://` over TLS),
    /// `redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER_NAME` (`rediss+sentinel://` over TLS)
    /// to follow a Sentinel set's master across failovers, or
    /// `redis+cluster://HOST:PORT[,HOST:PORT…]` (`rediss+cluster://` over TLS) for a Redis
    /// Cluster. A password in it is never logged.
    #[arg(
        long,
        env = "HERO_REDIS_URL",
        hide_env_values = true,
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,
    /// The key prefix in Redis, the same as the supervisor's.
    #[arg(long, default_value = "hero")]
    pub namespace: String,
    /// Reach the store through the supervisor instead of Redis: `unix:///PATH/runner.sock`
    /// (its runner socket, by default `runner.sock` in the supervisor's data directory), or
    /// `http(s)://HOST:PORT` (its API, with `--secret`). When given, `--redis-url` and
    /// `--namespace` are not used.
    #[arg(long, env = "HERO_RUNNER_SUPERVISOR", value_parser = parse_supervisor, value_name = "unix://PATH|http(s)://HOST:PORT")]
    pub supervisor: Option<SupervisorEndpoint>,
    /// A register or admin secret of the supervisor, for `--supervisor http(s)://…`; never
    /// logged.
    #[arg(long, env = "HERO_RUNNER_SECRET", hide_env_values = true)]
    pub secret: Option<Secret>,
    /// Most jobs executed at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// The least secret level whose jobs this runner executes (`user` or `admin`); at `admin`
    /// a job submitted with a user secret is refused unexecuted. Default: the executor's
    /// own (`admin` for `sal`, `user` for the others).
    #[arg(long, env = "HERO_RUNNER_ACCESS")]
    pub access: Option<Level>,
    /// Milliseconds the store keeps this runner's claims without a heartbeat; past it, the
    /// supervisor's reaper treats the runner as lost.
    #[arg(long, env = "HERO_RUNNER_LEASE_MS", default_value_t = 15_000)]
    pub lease_ms: u64,
    /// Milliseconds between heartbeats; bounds how fast `job.stop` reaches a running job.
    #[arg(long, env = "HERO_RUNNER_HEARTBEAT_MS", default_value_t = 500)]
    pub heartbeat_ms: u64,
}

impl std::fmt::Debug for RunnerArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerArgs")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("db_path", &self.db_path)
            .field("redis_url", &redact_url(&self.redis_url))
            .field("namespace", &self.namespace)
            .field("supervisor", &self.supervisor)
            .field("secret", &self.secret)
            .field("concurrency", &self.concurrency)
            .field("access", &self.access)
            .field("lease_ms", &self.lease_ms)
            .field("heartbeat_ms", &self.heartbeat_ms)
            .finish()
    }
}

/// A whole runner `main`: parses [`RunnerArgs`], sets up logging, builds the executor with
/// `make` and runs [`main_with`] until SIGTERM or SIGINT.
///
/// Logs go to stderr, filtered by `RUST_LOG` (default `info`). `make` runs inside the Tokio
/// runtime, so it may spawn tasks. A failure is printed as one line, `error: …` with its
/// causes, and the process exits with status 1.
pub fn run_main<F>(make: F) -> ExitCode
where
    F: FnOnce(&RunnerArgs) -> anyhow::Result<Arc<dyn Executor>>,
{
    let args = RunnerArgs::parse();
    init_tracing();
    match start(make, args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn start<F>(make: F, args: RunnerArgs) -> anyhow::Result<()>
where
    F: FnOnce(&RunnerArgs) -> anyhow::Result<Arc<dyn Executor>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    let executor = {
        let _entered = runtime.enter();
        make(&args).context("setting up the executor")?
    };
    let result = runtime.block_on(main_with(executor, args));
    // A blocking thread that ignored cancellation must not keep the process alive.
    runtime.shutdown_timeout(EXIT_GRACE);
    result
}

/// Connects to the store in `args` (Redis, or the supervisor's runner endpoint with
/// `--supervisor`) and runs `executor` there until SIGTERM or SIGINT.
///
/// Connecting is retried with backoff for up to 30 s, logging each failure; a signal during
/// that time ends the runner cleanly. The shutdown is graceful, as for [`run`].
///
/// # Errors
///
/// When the signal handlers cannot be installed, the store stays unreachable for 30 s, or
/// the arguments make an invalid [`RunnerConfig`] (e.g. `--concurrency 0`).
pub async fn main_with(executor: Arc<dyn Executor>, args: RunnerArgs) -> anyhow::Result<()> {
    let signal = shutdown_signal()?;
    let (orphaned_tx, orphaned_rx) = tokio::sync::oneshot::channel();
    let shutdown = async move {
        let _ = orphaned_tx.send(signal.await == Shutdown::ParentGone);
    };
    tokio::pin!(shutdown);
    let access = args.access.unwrap_or_else(|| executor.default_access());
    let store_at = match &args.supervisor {
        Some(endpoint) => endpoint.to_string(),
        None => redact_url(&args.redis_url).to_string(),
    };
    tracing::info!(
        id = args.id.as_deref().unwrap_or("-"),
        name = %args.name,
        access = %access,
        store = %store_at,
        namespace = %args.namespace,
        "runner starting"
    );
    let store: Arc<dyn Store> = tokio::select! {
        () = &mut shutdown => return Ok(()),
        store = connect_store(&args) => store?,
    };
    let config = RunnerConfig {
        concurrency: args.concurrency,
        access,
        lease: Duration::from_millis(args.lease_ms),
        heartbeat: Duration::from_millis(args.heartbeat_ms),
        ..RunnerConfig::new(&args.name)
    };
    // A runner reporting to Redis outlives its supervisor until its reports land; one whose
    // store is the dead supervisor would retry them for ever and never exit.
    let through_supervisor = args.supervisor.is_some();
    let patience = config.shutdown_grace + ORPHAN_REPORT_PATIENCE;
    let give_up = async move {
        if through_supervisor && orphaned_rx.await == Ok(true) {
            tokio::time::sleep(patience).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = run(store, config, executor, shutdown) => {
            result.with_context(|| format!("running runner `{}`", args.name))
        }
        () = give_up => {
            tracing::warn!(
                ?patience,
                "the supervisor holding the store is gone; exiting with reports unsent, \
                 their jobs are reaped as lost when a supervisor runs on that store again"
            );
            Ok(())
        }
    }
}

async fn connect_store(args: &RunnerArgs) -> anyhow::Result<Arc<dyn Store>> {
    let endpoint = match &args.supervisor {
        None => return connect(&args.redis_url, &args.namespace).await,
        Some(endpoint) => endpoint,
    };
    let store = match endpoint {
        SupervisorEndpoint::Unix(path) => RemoteStore::unix(path),
        SupervisorEndpoint::Http(url) => {
            let secret = args.secret.clone().filter(|s| !s.is_empty()).context(
                "--supervisor http(s)://… needs --secret (or HERO_RUNNER_SECRET): a register or \
                 admin secret of the supervisor",
            )?;
            RemoteStore::http(url, secret).with_context(|| format!("using `{url}`"))?
        }
    };
    Ok(Arc::new(connect_endpoint(store, endpoint).await?))
}

/// Checks that the supervisor answers through `store`, retrying with backoff for up to
/// [`CONNECT_PATIENCE`]: a runner may start before the supervisor serves.
async fn connect_endpoint(
    store: RemoteStore,
    endpoint: &SupervisorEndpoint,
) -> anyhow::Result<RemoteStore> {
    let deadline = Instant::now() + CONNECT_PATIENCE;
    let mut backoff = Backoff::store();
    loop {
        let error = match store.health().await {
            Ok(()) => {
                tracing::info!(supervisor = %endpoint, "connected through the supervisor");
                return Ok(store);
            }
            Err(error) => error,
        };
        let delay = backoff.next_delay();
        if !error.is_retryable() || Instant::now() + delay >= deadline {
            return Err(error).with_context(|| {
                format!(
                    "reaching the supervisor at {endpoint} (gave up after {CONNECT_PATIENCE:?})"
                )
            });
        }
        tracing::warn!(supervisor = %endpoint, %error, ?delay, "cannot reach the supervisor; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// Connects to Redis, retrying with backoff for up to [`CONNECT_PATIENCE`].
async fn connect(url: &str, namespace: &str) -> anyhow::Result<Arc<dyn Store>> {
    let safe_url = redact_url(url);
    let deadline = Instant::now() + CONNECT_PATIENCE;
    let mut backoff = Backoff::store();
    loop {
        let error = match hero_store_redis::connect(url, namespace, Durability::Async).await {
            Ok(store) => {
                tracing::info!(redis = %safe_url, "connected");
                return Ok(store);
            }
            Err(error) => error,
        };
        let delay = backoff.next_delay();
        if !error.is_retryable() || Instant::now() + delay >= deadline {
            return Err(error).with_context(|| {
                format!("connecting to redis at {safe_url} (gave up after {CONNECT_PATIENCE:?})")
            });
        }
        tracing::warn!(redis = %safe_url, %error, ?delay, "cannot reach redis; retrying");
        tokio::time::sleep(delay).await;
    }
}

/// Where a runner reaches the supervisor's runner endpoint (`--supervisor`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SupervisorEndpoint {
    /// `unix://PATH`: the supervisor's Unix socket on this host.
    Unix(PathBuf),
    /// `http://HOST:PORT` or `https://…`: the supervisor's API, with a secret.
    Http(String),
}

impl std::fmt::Display for SupervisorEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "unix://{}", path.display()),
            Self::Http(url) => f.write_str(url),
        }
    }
}

fn parse_supervisor(value: &str) -> Result<SupervisorEndpoint, String> {
    if let Some(path) = value.strip_prefix("unix://") {
        if path.is_empty() {
            return Err("`unix://` needs the socket's path, e.g. unix:///data/runner.sock".into());
        }
        return Ok(SupervisorEndpoint::Unix(PathBuf::from(path)));
    }
    let host = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match host {
        Some(host) if !host.is_empty() => Ok(SupervisorEndpoint::Http(value.to_owned())),
        _ => Err(format!(
            "`{value}` is not a supervisor endpoint: use unix://PATH (its runner socket) or \
             http(s)://HOST:PORT (its API, with --secret)"
        )),
    }
}

/// Why a runner shuts down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shutdown {
    Signal,
    ParentGone,
}

/// Completes on the first SIGTERM or SIGINT, or when the supervisor that started this runner
/// dies.
///
/// A supervisor killed with SIGKILL cannot stop its runners; without the parent watch they
/// would live on beside the ones its restart starts, claiming jobs no supervisor tracks. An
/// orphaned runner instead finishes its running jobs, as on SIGTERM, and exits.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = Shutdown> + Send> {
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(async move {
        let (name, why) = tokio::select! {
            _ = terminate.recv() => ("SIGTERM", Shutdown::Signal),
            _ = interrupt.recv() => ("SIGINT", Shutdown::Signal),
            () = parent_gone() => ("the parent process exited", Shutdown::ParentGone),
        };
        tracing::info!("{name}; shutting down");
        why
    })
}

/// Completes when the supervisor that started this runner dies: it names itself in
/// `HERO_SUPERVISOR_PID`, and the runner is re-parented when it is gone. A runner started by
/// anything else (by hand, a shell script, tmux) never completes this: its launcher may exit
/// while it is meant to go on.
async fn parent_gone() {
    let parent = std::os::unix::process::parent_id();
    let started_by_supervisor = std::env::var("HERO_SUPERVISOR_PID")
        .ok()
        .and_then(|pid| pid.parse::<u32>().ok())
        .is_some_and(|pid| pid == parent);
    if !started_by_supervisor {
        return std::future::pending().await;
    }
    let mut ticks = tokio::time::interval(PARENT_CHECK);
    loop {
        ticks.tick().await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Supervisors capture runner output into log files, where colour codes are noise.
        .with_ansi(std::io::stderr().is_terminal())
        // A runner whose supervisor died writes into a closed pipe. Reporting that failure
        // would itself write to stderr and panic the task that logged, e.g. the heartbeat,
        // so the runner would lose its jobs instead of finishing them.
        .log_internal_errors(false)
        .init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_supervisors_command_line_parses() {
        let args = RunnerArgs::try_parse_from([
            "osis_runner",
            "--id",
            "osis_runner_1",
            "--name",
            "osis_runner_1",
            "--db-path",
            "/tmp/db",
            "--redis-url",
            "redis://:hunter2@127.0.0.1:6379",
            "--namespace",
            "ns",
        ])
        .expect("the supervisor's flags parse");
        assert_eq!(args.name, "osis_runner_1");
        assert_eq!(args.db_path, Some(PathBuf::from("/tmp/db")));
        assert_eq!(args.namespace, "ns");
        assert_eq!(args.concurrency, 4);
        assert_eq!(args.access, None, "no flag leaves the executor's default");
        assert!(!format!("{args:?}").contains("hunter2"));
    }

    #[test]
    fn access_takes_a_level_and_nothing_else() {
        let args = RunnerArgs::try_parse_from(["sal_runner", "--name", "s", "--access", "user"])
            .expect("a level parses");
        assert_eq!(args.access, Some(Level::User));
        assert!(RunnerArgs::try_parse_from(["r", "--name", "s", "--access", "root"]).is_err());
    }

    #[test]
    fn supervisor_takes_a_unix_socket_in_place_of_redis() {
        let args = RunnerArgs::try_parse_from([
            "osis_runner",
            "--name",
            "osis_runner_1",
            "--supervisor",
            "unix:///data/runner.sock",
        ])
        .expect("a unix endpoint parses");
        assert_eq!(
            args.supervisor,
            Some(SupervisorEndpoint::Unix(PathBuf::from("/data/runner.sock")))
        );
        let redis = RunnerArgs::try_parse_from(["osis_runner", "--name", "o"]).expect("parses");
        assert_eq!(redis.supervisor, None, "without the flag, Redis as before");
    }

    #[test]
    fn supervisor_takes_an_http_url_with_a_secret_that_is_never_shown() {
        let args = RunnerArgs::try_parse_from([
            "osis_runner",
            "--name",
            "o",
            "--supervisor",
            "https://sup.example:3030",
            "--secret",
            "hunter2-register",
        ])
        .expect("an http endpoint parses");
        assert_eq!(
            args.supervisor,
            Some(SupervisorEndpoint::Http("https://sup.example:3030".into()))
        );
        assert_eq!(
            args.secret.as_ref().map(Secret::expose),
            Some("hunter2-register")
        );
        assert!(!format!("{args:?}").contains("hunter2"));
    }

    #[test]
    fn supervisor_refuses_anything_but_a_socket_or_an_api_url() {
        for bad in ["unix://", "/data/runner.sock", "http://", "ftp://h", ""] {
            let parsed =
                RunnerArgs::try_parse_from(["osis_runner", "--name", "o", "--supervisor", bad]);
            assert!(parsed.is_err(), "`{bad}` must be refused");
        }
    }

    #[test]
    fn name_is_required() {
        assert!(RunnerArgs::try_parse_from(["runner"]).is_err());
    }
}
