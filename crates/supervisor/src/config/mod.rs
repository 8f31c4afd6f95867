//! The supervisor's configuration: the TOML file of the contract, or the defaults that let
//! `supervisor` with no file start on a fresh machine.
//!
//! - this file: the schema ([`Config`], [`Limits`], [`TlsConfig`]), loading and defaults;
//! - `retention`: the `[retention]` table and its bounds;
//! - `durability`: when a submit is acknowledged (`durability`, `durability_timeout_ms`);
//! - `metrics`: the `[metrics]` table (`GET /metrics` access, history sampling);
//! - `actor`: an `[[actors]]` table and its process manager;
//! - `runner_endpoint`: the `[runner_endpoint]` table (the socket runners reach the store by);
//! - `check`: what the types cannot say (names, binaries, origins), and error messages that
//!   name the line and key but never a value;
//! - `secrets`: secrets from files and the environment, and the generated admin secret.

use std::path::{Path, PathBuf};

pub use hero_store::RunnerAccess;
use hero_supervisor_api::Secret;
use serde::Deserialize;

use crate::error::ConfigError;

mod actor;
mod check;
mod durability;
mod metrics;
mod retention;
mod runner_endpoint;
mod secrets;

pub use actor::{ActorConfig, ActorTransport, ProcessManagerKind};
pub use durability::{Durability, MAX_DURABILITY_TIMEOUT_MS};
pub use metrics::{MAX_HISTORY_INTERVAL_SECS, MetricsConfig};
pub use retention::{MAX_RETENTION_SECS, Retention};
pub use runner_endpoint::RunnerEndpointConfig;

/// Everything the supervisor reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Redis holding jobs and queues. Default: none, and then the supervisor keeps them in
    /// its embedded store, the file `store.redb` under the data directory, and its actors
    /// reach it through the runner endpoint.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// When a submit (`jobs.create`, `jobs.create_many`, `job.run`, `job.start`) is
    /// acknowledged: `"async"` (default) once Redis' master has the job, or `"replicated"`
    /// once one replica has it too (`WAIT`), failing with -32004 when none confirms within
    /// `durability_timeout_ms` (the job may exist all the same). `"replicated"` needs a
    /// `redis_url`.
    #[serde(default)]
    pub durability: Durability,
    /// How long a `"replicated"` submit waits for a replica, in milliseconds. Default 1000;
    /// 1 to 60,000.
    #[serde(default = "durability::default_timeout_ms")]
    pub durability_timeout_ms: u64,
    /// Prefix of every Redis key. Default `hero`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Address the API listens on. Default `127.0.0.1`.
    #[serde(default = "default_bind_address")]
    pub bind_address: String,
    /// Port the API listens on. Default 3030.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Secrets with full access.
    #[serde(default)]
    pub admin_secrets: Vec<Secret>,
    /// Secrets for job operations.
    #[serde(default)]
    pub user_secrets: Vec<Secret>,
    /// Secrets that may only register runners.
    #[serde(default)]
    pub register_secrets: Vec<Secret>,
    /// A file of more admin secrets, one per line (blank lines and `#` comments skipped), so
    /// the config file itself can be committed without secrets.
    #[serde(default)]
    pub admin_secrets_file: Option<PathBuf>,
    /// A file of more user secrets, as `admin_secrets_file`.
    #[serde(default)]
    pub user_secrets_file: Option<PathBuf>,
    /// A file of more register secrets, as `admin_secrets_file`.
    #[serde(default)]
    pub register_secrets_file: Option<PathBuf>,
    /// Where the supervisor keeps its files (runner logs, generated secrets). Default:
    /// `$HERO_SUPERVISOR_DATA_DIR`, else `$HOME/.local/share/hero-supervisor`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// When true, `job.status` and `job.result` need a user or admin secret too.
    /// Default false: a job id (a UUID v4) is itself the capability to read the job.
    #[serde(default)]
    pub require_secret_for_reads: bool,
    /// The tmux server actors with `process_manager = "tmux:SESSION"` run in: a socket name as
    /// given to `tmux -L`. Default: the user's default tmux server.
    #[serde(default)]
    pub tmux_socket: Option<String>,
    /// When true, jobs may be submitted to runners nobody knows yet (not a configured actor,
    /// not registered, never seen claiming); they wait on their queue for a runner that
    /// appears later. Default false: such a submission is refused at once, naming the
    /// runners that are known.
    #[serde(default)]
    pub accept_unknown_runners: bool,
    /// Size and connection limits of the API.
    #[serde(default)]
    pub limits: Limits,
    /// How long finished jobs are kept. Default: a day for completed ones, a week for failed
    /// and stopped ones.
    #[serde(default)]
    pub retention: Retention,
    /// Who may read `GET /metrics`, and how often `metrics.history` takes a sample. Default:
    /// open to anyone, a sample every 10 s.
    #[serde(default)]
    pub metrics: MetricsConfig,
    /// Web origins (`https://app.example:8443`, or `*` for any) whose pages may call the API
    /// from a browser. Default: none, so only pages the supervisor itself serves can.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Serve the API over TLS (https and wss) with this certificate. Default: none, plain
    /// HTTP, as behind a TLS-terminating proxy.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// The Unix socket runners reach the store through (`--supervisor unix://PATH`).
    /// Default: `<data_dir>/runner.sock`.
    #[serde(default)]
    pub runner_endpoint: RunnerEndpointConfig,
    /// Runners the supervisor starts and supervises.
    #[serde(default)]
    pub actors: Vec<ActorConfig>,
}

/// Limits on what clients may send; every one has a default fit for a single host.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes. Default 2 MiB: a maximal payload plus its envelope.
    pub max_request_bytes: u32,
    /// Largest response body in bytes. Default 256 MiB, enough for `jobs.list` of ~500k jobs.
    pub max_response_bytes: u32,
    /// Most calls that wait for a job (`job.run`, `job.result`) at once, and the open
    /// connections they may hold. Default 1024. A wait past it is refused at once (`-32009`).
    pub max_connections: u32,
    /// Connections accepted beyond `max_connections`, which waiting calls cannot take, so other
    /// calls (an admin's `list_runners`, a `job.stop`) are answered even while every wait is
    /// pending. Default 64.
    pub reserved_connections: u32,
    /// Most calls in one batch. Default 100.
    pub max_batch_len: u32,
    /// Largest job payload in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Most jobs one `jobs.create_many` call may submit. Default 10,000; the call must also
    /// fit in `max_request_bytes`.
    pub max_jobs_per_call: usize,
    /// Most schedules the store may hold, counted over every owner and every supervisor
    /// sharing it. Default 1,000; `schedules.create` beyond it is refused.
    pub max_schedules: usize,
    /// Most log lines `get_runner_logs` returns, and `runner_logs.subscribe` sends first.
    /// Default 10,000; asking for more gives this many.
    pub max_log_lines: usize,
    /// Most subscriptions (`jobs.subscribe`, `runner_logs.subscribe`) one WebSocket connection
    /// may hold open. Default 64; one more is refused.
    pub max_subscriptions_per_connection: u32,
    /// Most `jobs.subscribe` events waiting to be sent to one subscription; when a client
    /// reads so slowly that one more is due, its subscription ends with an error
    /// notification (-32009) instead of growing. Default 1,024.
    pub max_events_per_subscription: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 2 << 20,
            max_response_bytes: 256 << 20,
            max_connections: 1024,
            reserved_connections: 64,
            max_batch_len: 100,
            max_payload_bytes: hero_job::Limits::default().max_payload_bytes,
            max_jobs_per_call: 10_000,
            max_schedules: 1000,
            max_log_lines: 10_000,
            max_subscriptions_per_connection: 64,
            max_events_per_subscription: 1024,
        }
    }
}

/// The `[tls]` table: the certificate and key the API is served with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the certificate chain, the server's own certificate first.
    pub cert_path: PathBuf,
    /// PEM file of the certificate's private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key_path: PathBuf,
}

fn default_namespace() -> String {
    "hero".into()
}

fn default_bind_address() -> String {
    "127.0.0.1".into()
}

fn default_port() -> u16 {
    3030
}

impl Config {
    /// Reads and checks the TOML file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not valid TOML, has an unknown key or a wrong type
    /// (named with its line), names an actor binary that does not exist, or a TLS
    /// certificate or key that cannot be used.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            reason: match e.span() {
                Some(span) => check::describe_at(&text, span.start, e.message()),
                None => e.message().to_owned(),
            },
        })?;
        config.check().map_err(|e| match e {
            ConfigError::Invalid { key, reason } => ConfigError::Parse {
                path: path.to_owned(),
                reason: format!("key `{key}`: {reason}"),
            },
            other => other,
        })?;
        Ok(config)
    }

    /// The configuration used when no file is given: the embedded store under the data
    /// directory, and two actors found next to the supervisor's own executable,
    /// `osis_runner_1` (sandboxed, for user secrets) and `sal_runner_1` (system access, for
    /// admin secrets only), both reaching the store through the supervisor.
    pub fn default_local() -> Self {
        // Without its own path (a deleted executable), the binary is looked up relative to
        // the working directory; `check` then names the path that does not exist.
        let binary_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Self {
            redis_url: None,
            durability: Durability::Async,
            durability_timeout_ms: durability::default_timeout_ms(),
            namespace: default_namespace(),
            bind_address: default_bind_address(),
            port: default_port(),
            admin_secrets: Vec::new(),
            user_secrets: Vec::new(),
            register_secrets: Vec::new(),
            admin_secrets_file: None,
            user_secrets_file: None,
            register_secrets_file: None,
            data_dir: None,
            require_secret_for_reads: false,
            accept_unknown_runners: false,
            tmux_socket: None,
            limits: Limits::default(),
            retention: Retention::default(),
            metrics: MetricsConfig::default(),
            cors_allowed_origins: Vec::new(),
            tls: None,
            runner_endpoint: RunnerEndpointConfig::default(),
            actors: vec![
                ActorConfig {
                    id: "osis_runner_1".into(),
                    name: "osis_runner_1".into(),
                    binary_path: binary_dir.join("osis_runner"),
                    db_path: None,
                    redis_url: None,
                    process_manager: ProcessManagerKind::Simple,
                    concurrency: None,
                    env: Default::default(),
                    access: RunnerAccess::User,
                    transport_choice: None,
                },
                ActorConfig {
                    id: "sal_runner_1".into(),
                    name: "sal_runner_1".into(),
                    binary_path: binary_dir.join("sal_runner"),
                    db_path: None,
                    redis_url: None,
                    process_manager: ProcessManagerKind::Simple,
                    concurrency: None,
                    env: Default::default(),
                    // System access: admin secrets only.
                    access: RunnerAccess::Admin,
                    transport_choice: None,
                },
            ],
        }
    }

    /// The Redis store's form of `durability` and `durability_timeout_ms`.
    pub fn store_durability(&self) -> hero_store_redis::Durability {
        durability::to_store(self.durability, self.durability_timeout_ms)
    }

    /// The data directory in force.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        if let Some(dir) = std::env::var_os("HERO_SUPERVISOR_DATA_DIR") {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".local/share/hero-supervisor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_seed_example_parses() {
        let config = parse(
            r#"
redis_url = "redis://localhost:6379"
namespace = "hero"
bind_address = "127.0.0.1"
port = 3030
admin_secrets = ["admin-secret-123"]
user_secrets = ["user-secret-456"]
register_secrets = ["register-secret-789"]
[[actors]]
id = "sal_runner_1"
name = "sal_runner_1"
binary_path = "/path/to/sal_runner"
db_path = "/tmp/sal_db"
redis_url = "redis://localhost:6379"
process_manager = "simple"
[[actors]]
id = "osis_runner_1"
name = "osis_runner_1"
binary_path = "/path/to/osis_runner"
db_path = "/tmp/osis_db"
redis_url = "redis://localhost:6379"
process_manager = "tmux:osis_session"
"#,
        )
        .unwrap();
        assert_eq!(config.actors.len(), 2);
        assert_eq!(
            config.actors[1].process_manager,
            ProcessManagerKind::Tmux {
                session: "osis_session".into()
            }
        );
        assert!(config.admin_secrets[0].matches(&Secret::new("admin-secret-123")));
    }

    #[test]
    fn the_tls_table_takes_a_certificate_and_a_key_and_nothing_else() {
        let config = parse("[tls]\ncert_path = '/c.pem'\nkey_path = '/k.pem'").unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert_path, Path::new("/c.pem"));
        assert_eq!(tls.key_path, Path::new("/k.pem"));
        let err =
            parse("[tls]\ncert_path = '/c.pem'\nkey_path = '/k.pem'\nca = '/ca.pem'").unwrap_err();
        assert!(err.contains("ca"), "{err}");
        let err = parse("[tls]\ncert_path = '/c.pem'").unwrap_err();
        assert!(err.contains("key_path"), "{err}");
        assert!(parse("").unwrap().tls.is_none());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = parse("admin_secrets = [\"hunter2\"]").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
