//! The actors this supervisor starts: one managed runner process each, restarted when it
//! crashes, stopped on shutdown.

use std::path::Path;
use std::time::Duration;

use hero_process::{Backend, Policy, ProcessManager, ProcessSpec};
use hero_store_redis::redact_url;

use crate::config::{ActorConfig, ActorTransport, Config, ProcessManagerKind};
use crate::error::StartError;

/// Time a runner gets after SIGTERM before it is killed: longer than the runner SDK's own
/// shutdown grace (10 s) plus its last claim (1 s), executor grace (1 s) and reports, so a
/// runner that drains cleanly is never killed mid-report.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// One configured actor and its process.
pub(crate) struct Actor {
    pub(crate) config: ActorConfig,
    pub(crate) process: ProcessManager,
}

/// The configured actors.
pub(crate) struct Registry {
    actors: Vec<Actor>,
}

impl Registry {
    /// Starts every configured actor.
    ///
    /// # Errors
    ///
    /// The first actor whose log file cannot be opened or whose process cannot be started;
    /// those already started are killed when the registry is dropped.
    pub(crate) async fn start(config: &Config) -> Result<Self, StartError> {
        let data_dir = config.data_dir();
        let mut actors = Vec::with_capacity(config.actors.len());
        for actor in &config.actors {
            let spec = spec(config, actor, &data_dir);
            tracing::info!(
                actor = %actor.id,
                runner = %actor.name,
                store = %actor
                    .redis_url
                    .as_deref()
                    .or(config.redis_url.as_deref())
                    .filter(|_| actor.transport(config.redis_url.is_some()) == ActorTransport::Redis)
                    .map_or_else(|| "through the supervisor".to_owned(), redact_url),
                log = %spec.log_path.display(),
                "starting actor"
            );
            let backend = match &actor.process_manager {
                ProcessManagerKind::Simple => Backend::Simple,
                ProcessManagerKind::Tmux { session } => Backend::Tmux {
                    session: session.clone(),
                    socket: config.tmux_socket.clone(),
                },
            };
            let policy = Policy {
                stop_grace: STOP_GRACE,
                ..Policy::default()
            };
            let process = ProcessManager::new(spec, backend, policy)?;
            process.start().await?;
            actors.push(Actor {
                config: actor.clone(),
                process,
            });
        }
        Ok(Self { actors })
    }

    /// Every actor, in config order.
    pub(crate) fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// The actor with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Actor> {
        self.actors.iter().find(|actor| actor.config.id == id)
    }

    /// The actor serving `queue`, if one does.
    pub(crate) fn serving(&self, queue: &str) -> Option<&Actor> {
        self.actors.iter().find(|actor| actor.config.name == queue)
    }

    /// Stops every actor, all at once, each with its grace period.
    pub(crate) async fn stop_all(&self) {
        let stops = self.actors.iter().map(|actor| async {
            if let Err(e) = actor.process.stop(false).await {
                tracing::warn!(actor = %actor.config.id, error = %e, "cannot stop actor");
            }
        });
        futures::future::join_all(stops).await;
    }
}

fn spec(config: &Config, actor: &ActorConfig, data_dir: &Path) -> ProcessSpec {
    let db_path = actor
        .db_path
        .clone()
        .unwrap_or_else(|| data_dir.join("db").join(&actor.id));
    let redis_url = actor
        .redis_url
        .clone()
        .or_else(|| config.redis_url.clone())
        .unwrap_or_default();
    let mut args = vec![
        "--id".into(),
        actor.id.clone(),
        "--name".into(),
        actor.name.clone(),
        "--db-path".into(),
        db_path.display().to_string(),
        "--namespace".into(),
        config.namespace.clone(),
        // Always given, so the runner checks each job's level against the configuration and
        // not its own default (a sal runner configured for users must take their jobs).
        "--access".into(),
        actor.access.as_str().to_owned(),
    ];
    if let Some(concurrency) = actor.concurrency {
        args.extend(["--concurrency".into(), concurrency.to_string()]);
    }
    // The runner follows its supervisor: it drains and exits if this process dies.
    let mut env = vec![(
        "HERO_SUPERVISOR_PID".to_owned(),
        std::process::id().to_string(),
    )];
    let socket = config.runner_endpoint.socket_path(data_dir);
    match (actor.transport(config.redis_url.is_some()), socket) {
        (ActorTransport::Supervisor, Some(socket)) => {
            args.extend([
                "--supervisor".into(),
                format!("unix://{}", socket.display()),
            ]);
        }
        // `check` refuses a supervisor transport without a socket, and a Redis transport
        // without a Redis; Redis is the fallback.
        _ => {
            // Through the environment, not argv: a password in the URL must not show in `ps`.
            env.push(("HERO_REDIS_URL".to_owned(), redis_url));
        }
    }
    // The runner logs at the supervisor's level; nothing else of the supervisor's environment,
    // which may hold secrets, reaches it.
    if let Ok(filter) = std::env::var("RUST_LOG") {
        env.push(("RUST_LOG".to_owned(), filter));
    }
    env.extend(actor.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    ProcessSpec {
        id: actor.id.clone(),
        program: actor.binary_path.clone(),
        args,
        env,
        log_path: data_dir.join("logs").join(format!("{}.log", actor.id)),
    }
}
