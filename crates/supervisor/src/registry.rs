//! The actors this supervisor starts: one runner process each, stopped on shutdown.

use std::path::Path;
use std::time::Duration;

use hero_process::{ProcessSpec, SimpleProcess};
use hero_store_redis::redact_url;

use crate::config::{ActorConfig, Config, ProcessManagerKind};
use crate::error::StartError;

/// Time a runner gets after SIGTERM before it is killed: longer than the runner SDK's own
/// shutdown grace (10 s) plus its last claim (1 s), executor grace (1 s) and reports, so a
/// runner that drains cleanly is never killed mid-report.
const STOP_GRACE: Duration = Duration::from_secs(20);

/// The running actors.
pub(crate) struct Registry {
    processes: Vec<SimpleProcess>,
}

impl Registry {
    /// Starts every configured actor.
    ///
    /// # Errors
    ///
    /// The first actor that cannot be started; those already started are killed.
    pub(crate) fn start(config: &Config) -> Result<Self, StartError> {
        let data_dir = config.data_dir();
        let mut processes = Vec::with_capacity(config.actors.len());
        for actor in &config.actors {
            let spec = spec(config, actor, &data_dir);
            tracing::info!(
                actor = %actor.id,
                runner = %actor.name,
                redis = %redact_url(actor.redis_url.as_deref().unwrap_or(config.redis_url())),
                log = %spec.log_path.display(),
                "starting actor"
            );
            if let ProcessManagerKind::Tmux { session } = &actor.process_manager {
                tracing::warn!(
                    actor = %actor.id,
                    %session,
                    "tmux process manager not available in this build; running as a simple child"
                );
            }
            processes.push(SimpleProcess::start(spec)?);
        }
        Ok(Self { processes })
    }

    /// Stops every actor, all at once, each with its grace period.
    pub(crate) async fn stop_all(mut self) {
        futures::future::join_all(self.processes.iter_mut().map(|p| p.stop(STOP_GRACE))).await;
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
        .unwrap_or_else(|| config.redis_url().to_owned());
    ProcessSpec {
        id: actor.id.clone(),
        program: actor.binary_path.clone(),
        args: vec![
            "--id".into(),
            actor.id.clone(),
            "--name".into(),
            actor.name.clone(),
            "--db-path".into(),
            db_path.display().to_string(),
            "--namespace".into(),
            config.namespace.clone(),
        ],
        // Through the environment, not argv: a password in the URL must not show in `ps`.
        env: vec![("HERO_REDIS_URL".into(), redis_url)],
        log_path: data_dir.join("logs").join(format!("{}.log", actor.id)),
    }
}
