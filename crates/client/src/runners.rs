//! The runner methods: register runners started by hand, and list, start, stop and watch
//! runners. All but `register_runner` need an admin secret.

use hero_supervisor_api::methods::names;
use hero_supervisor_api::runner::RunnerInfo;

use crate::client::{arg, text};
use crate::{ClientError, SupervisorClient};

impl SupervisorClient {
    /// Registers a runner started by hand under `name`, taking jobs from `queue` (default:
    /// the name), open to user and admin secrets, and returns the name (`register_runner`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Conflict`] when the name is taken, [`ClientError::Unauthorized`] for a
    /// secret that is neither a register nor an admin secret.
    pub async fn register_runner(
        &self,
        secret: &str,
        name: &str,
        queue: Option<&str>,
    ) -> Result<String, ClientError> {
        self.register_runner_with_access(secret, name, queue, None)
            .await
    }

    /// As [`register_runner`](Self::register_runner), with `access`: the least secret level
    /// that may submit jobs to it, `"user"` (the default) or `"admin"` for a runner with
    /// system access.
    ///
    /// # Errors
    ///
    /// As `register_runner`, and [`ClientError::InvalidParams`] for an unknown `access`.
    pub async fn register_runner_with_access(
        &self,
        secret: &str,
        name: &str,
        queue: Option<&str>,
        access: Option<&str>,
    ) -> Result<String, ClientError> {
        self.call(
            names::REGISTER_RUNNER,
            [
                text(secret),
                text(name),
                queue.map(|q| q.into()),
                access.map(|a| a.into()),
            ],
        )
        .await
    }

    /// Removes the registration of the runner registered as `name` (`unregister_runner`);
    /// its queue and jobs stay.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] when no runner is registered under `name`,
    /// [`ClientError::Conflict`] for a configured actor, [`ClientError::Unauthorized`] for a
    /// secret that is not an admin secret.
    pub async fn unregister_runner(&self, secret: &str, name: &str) -> Result<(), ClientError> {
        self.call(names::UNREGISTER_RUNNER, [text(secret), text(name)])
            .await
    }

    /// Every local and remote runner with its state (`list_runners`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a secret that is not an admin secret.
    pub async fn list_runners(&self, secret: &str) -> Result<Vec<RunnerInfo>, ClientError> {
        self.call(names::LIST_RUNNERS, [text(secret)]).await
    }

    /// Starts a local runner, or re-enables its restarts (`start_runner`).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown runner, [`ClientError::Conflict`] for a
    /// remote one.
    pub async fn start_runner(&self, secret: &str, actor_id: &str) -> Result<(), ClientError> {
        self.call(names::START_RUNNER, [text(secret), text(actor_id)])
            .await
    }

    /// Stops a local runner: gracefully, or at once with `force` (`stop_runner`).
    ///
    /// # Errors
    ///
    /// As [`start_runner`](Self::start_runner).
    pub async fn stop_runner(
        &self,
        secret: &str,
        actor_id: &str,
        force: bool,
    ) -> Result<(), ClientError> {
        self.call(
            names::STOP_RUNNER,
            [text(secret), text(actor_id), arg(&force)?],
        )
        .await
    }

    /// One runner's state (`get_runner_status`).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown runner.
    pub async fn get_runner_status(
        &self,
        secret: &str,
        actor_id: &str,
    ) -> Result<RunnerInfo, ClientError> {
        self.call(names::GET_RUNNER_STATUS, [text(secret), text(actor_id)])
            .await
    }

    /// The last `lines` lines a local runner wrote, oldest first (`get_runner_logs`).
    ///
    /// # Errors
    ///
    /// As [`start_runner`](Self::start_runner).
    pub async fn get_runner_logs(
        &self,
        secret: &str,
        actor_id: &str,
        lines: Option<usize>,
    ) -> Result<Vec<String>, ClientError> {
        let lines = lines.map(|n| arg(&n)).transpose()?.flatten();
        self.call(
            names::GET_RUNNER_LOGS,
            [text(secret), text(actor_id), lines, None],
        )
        .await
    }
}
