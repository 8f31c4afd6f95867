//! The supervisor under test, with no actors: the bench starts the runners itself, so it can
//! time them apart from their start-up. Served in-process on `127.0.0.1:0`, or, where its own
//! CPU time and memory are measured, as the `supervisor` binary in a child process.

use std::time::Duration;

use anyhow::Context;
use hero_supervisor::Config;
use hero_supervisor_openrpc_client::SupervisorClient;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::runners::Transport;
use crate::scale::process::SupervisorProcess;
use crate::workload::{Backend, Setup};

/// The user secret the bench's supervisors accept.
pub(crate) const SECRET: &str = "bench-user-secret";

/// Time allowed for the supervisor to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running supervisor; dropping it stops it.
pub(crate) struct Supervisor {
    pub(crate) client: SupervisorClient,
    /// How this supervisor's runners reach its store.
    pub(crate) transport: Transport,
    served: Served,
}

/// Where the supervisor runs.
enum Served {
    InProcess(InProcess),
    Process(Box<SupervisorProcess>),
}

/// A supervisor task of the bench's own runtime.
struct InProcess {
    /// Dropping or sending on it completes the supervisor's shutdown future.
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), hero_supervisor::StartError>>>,
}

impl Supervisor {
    /// Serves a supervisor on `setup`'s backend under `namespace` and waits until it answers
    /// `rpc.discover`. On Redis its files are in the scratch directory; on the embedded
    /// store, in a directory of its own there named after `namespace`, so each workload
    /// starts on an empty store file.
    ///
    /// # Errors
    ///
    /// The port cannot be bound, or the supervisor fails or does not answer in time.
    pub(crate) async fn start(setup: &Setup<'_>, namespace: &str) -> anyhow::Result<Self> {
        Self::start_with(setup, namespace, |_| {}).await
    }

    /// As [`start`](Self::start), with `adjust` applied to the config last.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub(crate) async fn start_with(
        setup: &Setup<'_>,
        namespace: &str,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        let mut config = Config::default_local();
        config.namespace = namespace.to_owned();
        let transport = match setup.backend {
            Backend::Redis => {
                config.redis_url = Some(setup.redis_url.to_owned());
                config.data_dir = Some(setup.work_dir.to_owned());
                Transport::Redis(setup.redis_url.to_owned())
            }
            Backend::Embedded => {
                config.redis_url = None;
                let data_dir = setup.work_dir.join(format!("embedded_{namespace}"));
                std::fs::create_dir_all(&data_dir)
                    .with_context(|| format!("creating {}", data_dir.display()))?;
                let socket = data_dir.join("runner.sock");
                // Named, not left to the default: the runners are started by the bench, not
                // as actors, and must find it.
                config.runner_endpoint.socket = Some(socket.clone());
                config.data_dir = Some(data_dir);
                Transport::Socket(socket)
            }
        };
        config.user_secrets = vec![SECRET.into()];
        config.actors.clear();
        // The benchmark's runners are started beside the supervisor and may not have claimed
        // yet when the first jobs are sent.
        config.accept_unknown_runners = true;
        adjust(&mut config);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(hero_supervisor::run(config, listener, async {
            // A dropped sender means stop as well.
            let _ = stopped.await;
        }));
        let supervisor = Self {
            client: SupervisorClient::new(&url)?,
            transport,
            served: Served::InProcess(InProcess {
                stop: Some(stop),
                task: Some(task),
            }),
        };
        tokio::time::timeout(START_TIMEOUT, supervisor.client.rpc_discover())
            .await
            .context("the supervisor did not answer within 10 s")?
            .context("the supervisor did not start")?;
        Ok(supervisor)
    }

    /// Starts the release `supervisor` binary as a child process on the bench's Redis under
    /// `namespace`, its files in a directory of the scratch directory named after
    /// `namespace`, and waits until it answers `rpc.discover`: its CPU time and memory, read
    /// from `/proc/PID`, are then its own.
    ///
    /// # Errors
    ///
    /// The binary cannot be started, or it fails or does not answer in time.
    pub(crate) async fn start_process(setup: &Setup<'_>, namespace: &str) -> anyhow::Result<Self> {
        let work_dir = setup.work_dir.join(format!("supervisor_{namespace}"));
        std::fs::create_dir_all(&work_dir)
            .with_context(|| format!("creating {}", work_dir.display()))?;
        let process =
            SupervisorProcess::start(setup.bin_dir, setup.redis_url, namespace, &work_dir).await?;
        let supervisor = Self {
            client: process.client.clone(),
            transport: Transport::Redis(setup.redis_url.to_owned()),
            served: Served::Process(Box::new(process)),
        };
        tokio::time::timeout(START_TIMEOUT, supervisor.client.rpc_discover())
            .await
            .context("the supervisor did not answer within 10 s")?
            .context("the supervisor did not start")?;
        Ok(supervisor)
    }

    /// The supervisor's process id when it runs as a process of its own.
    pub(crate) fn pid(&self) -> Option<u32> {
        match &self.served {
            Served::InProcess(_) => None,
            Served::Process(process) => process.pid(),
        }
    }

    /// Stops serving and waits until the supervisor has shut down.
    ///
    /// # Errors
    ///
    /// The supervisor ended with an error.
    pub(crate) async fn stop(self) -> anyhow::Result<()> {
        match self.served {
            Served::InProcess(mut served) => {
                drop(served.stop.take());
                if let Some(task) = served.task.take() {
                    task.await
                        .context("the supervisor task panicked")?
                        .context("the supervisor failed")?;
                }
            }
            Served::Process(process) => process.stop().await,
        }
        Ok(())
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            // Reached only on an error path: stop serving without waiting.
            task.abort();
        }
    }
}
