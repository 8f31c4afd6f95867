//! The supervisor under test, served in-process on `127.0.0.1:0` with no actors: the bench
//! starts the runners itself, so it can time them apart from their start-up.

use std::time::Duration;

use anyhow::Context;
use hero_supervisor::Config;
use hero_supervisor_openrpc_client::SupervisorClient;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The user secret the bench's supervisors accept.
pub(crate) const SECRET: &str = "bench-user-secret";

/// Time allowed for the supervisor to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running supervisor; dropping it stops it.
pub(crate) struct Supervisor {
    pub(crate) client: SupervisorClient,
    /// Dropping or sending on it completes the supervisor's shutdown future.
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), hero_supervisor::StartError>>>,
}

impl Supervisor {
    /// Serves a supervisor on Redis `redis_url` under `namespace`, keeping its files in
    /// `data_dir`, and waits until it answers `rpc.discover`.
    ///
    /// # Errors
    ///
    /// The port cannot be bound, or the supervisor fails or does not answer in time.
    pub(crate) async fn start(
        redis_url: &str,
        namespace: &str,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Self> {
        let mut config = Config::default_local();
        config.redis_url = Some(redis_url.to_owned());
        config.namespace = namespace.to_owned();
        config.data_dir = Some(data_dir.to_owned());
        config.user_secrets = vec![SECRET.into()];
        config.actors.clear();
        // The benchmark's runners are started beside the supervisor and may not have claimed
        // yet when the first jobs are sent.
        config.accept_unknown_runners = true;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hero_supervisor::run(config, listener, async {
            // A dropped sender means stop as well.
            let _ = stopped.await;
        }));
        let supervisor = Self {
            client: SupervisorClient::new(&url)?,
            stop: Some(stop),
            task: Some(task),
        };
        tokio::time::timeout(START_TIMEOUT, supervisor.client.rpc_discover())
            .await
            .context("the supervisor did not answer within 10 s")?
            .context("the supervisor did not start")?;
        Ok(supervisor)
    }

    /// Stops serving and waits until the supervisor has shut down.
    ///
    /// # Errors
    ///
    /// The supervisor ended with an error.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stop.take());
        if let Some(task) = self.task.take() {
            task.await
                .context("the supervisor task panicked")?
                .context("the supervisor failed")?;
        }
        Ok(())
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Reached only on an error path: stop serving without waiting.
            task.abort();
        }
    }
}
