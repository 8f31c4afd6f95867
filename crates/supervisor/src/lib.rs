//! Hero Supervisor: serves the JSON-RPC API, keeps jobs in a store, and runs the runners.
//!
//! - `config`: the TOML configuration, its defaults, its checks and where secrets come from.
//! - `server`: HTTP + WebSocket JSON-RPC server, `/health`, size and connection limits.
//! - `wire`: makes JSON-RPC ids and notifications standard before the RPC library reads them.
//! - `unsubscribe`: lets the unsubscribe methods take their subscription id by name.
//! - `tls`: the optional TLS certificate and the accept loop that serves over it.
//! - `rpc`: one handler per method group (`job`, `runner`, `admin`), behind one gate that
//!   parses params and checks the secret; `rpc/access.rs` decides who may use a runner and
//!   who owns a job.
//! - `auth`: the three secret levels, run-time grants, and the one function that decides.
//! - `supervisor`: the state every call shares, and the permits of waiting calls.
//! - `registry`: the actor processes this supervisor starts and stops.
//! - `events`: the hub feeding `jobs.subscribe` subscriptions the store's job changes.
//! - `schedule`, `ticker`: cron expressions, and the task creating each tick's job once.
//! - `reaper`: ends the jobs of runners that stopped renewing their lease.
//! - `memory`: gives the allocator's free memory back to the system after large answers.
//! - `metrics`: `GET /metrics` and `metrics.history`: what the store counts for everyone and
//!   what this supervisor measures itself.
//! - `promoter`: queues scheduled jobs when they come due.
//! - `runner_endpoint`: the Unix socket runners reach the store through, when they cannot
//!   reach it themselves.
//! - `error`: errors, and their one mapping onto JSON-RPC error codes.
//!
//! [`run`] ties them together; `main.rs` only reads arguments and passes a signal.

mod auth;
pub mod config;
mod error;
mod events;
mod memory;
mod metrics;
mod promoter;
mod reaper;
mod registry;
mod rpc;
mod runner_endpoint;
mod schedule;
mod server;
mod supervisor;
mod ticker;
mod tls;
mod unsubscribe;
mod wire;

use std::future::Future;
use std::sync::Arc;

use hero_store::Store;

pub use config::Config;
pub use error::{ConfigError, StartError};

/// Runs the supervisor on `listener` until `shutdown` completes: [`start`] then
/// [`Running::serve_until`].
///
/// # Errors
///
/// The TLS certificate cannot be used, the store cannot be reached, an actor cannot be
/// started, or the server cannot start.
pub async fn run(
    config: Config,
    listener: std::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), StartError> {
    start(config, listener).await?.serve_until(shutdown).await;
    Ok(())
}

/// A started supervisor: store connected, actors started, API serving.
pub struct Running {
    server: jsonrpsee::server::ServerHandle,
    /// Kept for its lifetime: dropping it stops reaping.
    _reaper: reaper::Reaper,
    /// Kept for its lifetime: dropping it stops creating the jobs of schedules.
    _ticker: ticker::Ticker,
    /// Kept for its lifetime: dropping it stops trimming.
    _trimmer: memory::Trimmer,
    /// Kept for its lifetime: dropping it stops queuing scheduled jobs.
    _promoter: promoter::Promoter,
    /// Kept for its lifetime: dropping it stops measuring jobs and sampling the history.
    _metrics: metrics::Tasks,
    /// Stopped after the actors, which may report their last jobs through it.
    runner_endpoint: Option<runner_endpoint::RunnerEndpoint>,
    supervisor: Arc<supervisor::Supervisor>,
    address: std::net::SocketAddr,
    is_tls: bool,
}

/// The store the config names, and the backend's name for `/health` and
/// `get_supervisor_info`: the Redis of `redis_url`, else the embedded store in the file
/// `store.redb` under the data directory.
async fn open_store(config: &Config) -> Result<(Arc<dyn Store>, &'static str), StartError> {
    if let Some(url) = &config.redis_url {
        let store =
            hero_store_redis::connect(url, &config.namespace, config.store_durability()).await?;
        return Ok((store, "redis"));
    }
    let dir = config.data_dir();
    std::fs::create_dir_all(&dir).map_err(|source| StartError::DataDir {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(EMBEDDED_FILE);
    let store = hero_store_embedded::EmbeddedStore::open(&path).await?;
    // The file holds every job's payload and result, and the secrets granted at run time.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        StartError::DataDir {
            path: path.clone(),
            source,
        }
    })?;
    Ok((Arc::new(store), "embedded"))
}

/// The embedded store's file name in the data directory.
pub const EMBEDDED_FILE: &str = "store.redb";

/// Connects the store, starts the configured actors and serves the API on `listener`.
///
/// # Errors
///
/// The TLS certificate cannot be used, the store cannot be reached, an actor cannot be
/// started, or the server cannot start.
pub async fn start(config: Config, listener: std::net::TcpListener) -> Result<Running, StartError> {
    let address = listener.local_addr().map_err(StartError::Server)?;
    // Read before anything starts, so a bad certificate leaves no runner behind.
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let is_tls = tls.is_some();
    let (store, backend) = open_store(&config).await?;
    // Written where every script that ends a job reads it, so jobs finished by runners on
    // other hosts get the same retention.
    store.put_retention(&config.retention.to_store()).await?;
    let secrets = auth::Secrets::load(
        config.admin_secrets.clone(),
        config.user_secrets.clone(),
        config.register_secrets.clone(),
        store.as_ref(),
    )
    .await?;
    // Before the actors, so a runner started to use it finds it there.
    let runner_endpoint = runner_endpoint::RunnerEndpoint::start_configured(&config, &store)?;
    let registry = registry::Registry::start(&config).await?;
    let supervisor = Arc::new(supervisor::Supervisor {
        store,
        secrets,
        require_secret_for_reads: config.require_secret_for_reads,
        accept_unknown_runners: config.accept_unknown_runners,
        job_limits: hero_job::Limits {
            max_payload_bytes: config.limits.max_payload_bytes,
            ..hero_job::Limits::default()
        },
        max_log_lines: config.limits.max_log_lines.max(1),
        max_jobs_per_call: config.limits.max_jobs_per_call,
        max_schedules: config.limits.max_schedules,
        schedules_changed: tokio::sync::Notify::new(),
        backend,
        registry,
        namespace: config.namespace.clone(),
        waits: tokio::sync::Semaphore::new(config.limits.max_connections as usize),
        max_waits: config.limits.max_connections,
        anonymous_waits: tokio::sync::Semaphore::new(
            (config.limits.max_connections as usize / 2).max(1),
        ),
        shutdown: tokio_util::sync::CancellationToken::new(),
        max_events_per_subscription: config.limits.max_events_per_subscription.max(1),
        hub: Arc::default(),
        started: std::time::Instant::now(),
        metrics: Arc::new(metrics::Metrics::new(config.metrics.history_interval_secs)),
        metrics_require_secret: config.metrics.require_secret,
        known_runners: rpc::RunnersCache::default(),
    });
    // Watching before serving, so the first jobs submitted are measured too.
    let metrics = metrics::Tasks::start(supervisor.store.clone(), supervisor.metrics.clone()).await;
    let server = server::start(
        listener,
        supervisor.clone(),
        &config.limits,
        &config.cors_allowed_origins,
        tls,
    )?;
    let reaper = reaper::Reaper::start(supervisor.store.clone());
    let ticker = ticker::Ticker::start(supervisor.clone());
    let promoter = promoter::Promoter::start(supervisor.store.clone());
    tracing::info!(%address, tls = is_tls, "serving JSON-RPC over HTTP and WebSocket");
    Ok(Running {
        server,
        _reaper: reaper,
        _ticker: ticker,
        _trimmer: memory::Trimmer::start(),
        _promoter: promoter,
        _metrics: metrics,
        runner_endpoint,
        supervisor,
        address,
        is_tls,
    })
}

impl Running {
    /// The address the API listens on.
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// The API's base URL: `https://ADDRESS` when serving over TLS, else `http://ADDRESS`.
    pub fn url(&self) -> String {
        let scheme = if self.is_tls { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// Serves until `shutdown` completes, then stops serving and stops the actors.
    pub async fn serve_until(self, shutdown: impl Future<Output = ()>) {
        shutdown.await;
        tracing::info!("shutting down");
        self.supervisor.shutdown.cancel();
        // A server that already stopped needs no second stop.
        let _ = self.server.stop();
        self.server.stopped().await;
        self.supervisor.registry.stop_all().await;
        if let Some(endpoint) = self.runner_endpoint {
            endpoint.stop().await;
        }
    }
}
