//! The handle to one managed process: start, stop, status and logs, whichever the backend.
//!
//! The process itself is owned by a task ([`crate::supervise`]); handles reach it through a
//! bounded command channel and read its status and logs from shared state.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tracing::Instrument;

use crate::backend::Launcher;
use crate::logs::Logs;
use crate::simple::SimpleLauncher;
use crate::status::{ProcessState, ProcessStatus};
use crate::supervise::{Command, Supervise};
use crate::tmux::TmuxLauncher;
use crate::{Backend, Error, Policy, ProcessSpec};

/// Commands waiting for the task; a caller past this waits for room.
const COMMAND_BUFFER: usize = 16;

/// A process run under a [`Backend`] and a [`Policy`]: restarted when it crashes, stopped with
/// its whole process group, its output logged.
///
/// Cloning gives another handle to the same process. When the last handle is dropped, the
/// process is killed (SIGKILL to its group); call [`stop`](Self::stop) first for a graceful end.
#[derive(Debug, Clone)]
pub struct ProcessManager {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    id: String,
    /// To the task that owns the process; closed when the last handle goes, which tells the
    /// task to kill the process and end.
    commands: mpsc::Sender<Command>,
    /// Written by the task on every change, read by handles without asking the task.
    status: Arc<watch::Sender<ProcessStatus>>,
    logs: Logs,
}

impl ProcessManager {
    /// Manages `spec` under `backend`; nothing runs until [`start`](Self::start).
    ///
    /// # Errors
    ///
    /// The log file `spec.log_path` cannot be opened.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn new(spec: ProcessSpec, backend: Backend, policy: Policy) -> Result<Self, Error> {
        let logs = Logs::open(&spec.id, &spec.log_path, &policy).map_err(|source| Error::Log {
            id: spec.id.clone(),
            path: spec.log_path.clone(),
            source,
        })?;
        let id = spec.id.clone();
        Ok(match backend {
            Backend::Simple => {
                let launcher = SimpleLauncher {
                    spec,
                    logs: logs.clone(),
                };
                Self::spawn(id, launcher, policy, logs)
            }
            Backend::Tmux { session, socket } => {
                let launcher = TmuxLauncher::new(spec, session, socket, logs.clone());
                Self::spawn(id, launcher, policy, logs)
            }
        })
    }

    /// Starts the task that owns the process and returns a handle to it.
    pub(crate) fn spawn<L: Launcher>(id: String, launcher: L, policy: Policy, logs: Logs) -> Self {
        let (commands, receiver) = mpsc::channel(COMMAND_BUFFER);
        let status = Arc::new(watch::Sender::new(ProcessStatus::stopped()));
        let task = Supervise::new(id.clone(), launcher, policy, status.clone(), receiver);
        tokio::spawn(task.run().instrument(tracing::info_span!("process", %id)));
        Self {
            shared: Arc::new(Shared {
                id,
                commands,
                status,
                logs,
            }),
        }
    }

    /// The process's id as given in its spec.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Starts the process and turns autorestart back on; `Ok` at once if it is running.
    ///
    /// A process waiting out its backoff, stopped or failed is started now, its fast-crash
    /// count cleared.
    ///
    /// # Errors
    ///
    /// The process cannot be started (it is then `failed`), or the manager is gone.
    ///
    /// # Cancel safety
    ///
    /// The start goes ahead even when the returned future is dropped.
    pub async fn start(&self) -> Result<(), Error> {
        let (reply, done) = oneshot::channel();
        self.send(Command::Start(reply)).await?;
        done.await.map_err(|_| self.gone())?
    }

    /// Stops the process and its whole group, with no restart until the next start; `Ok` at
    /// once if nothing runs.
    ///
    /// Without `force`: SIGTERM, up to [`Policy::stop_grace`] to exit, then SIGKILL. With
    /// `force`: SIGKILL at once, also cutting short a graceful stop in progress. Returns
    /// when the process has exited.
    ///
    /// # Errors
    ///
    /// The manager is gone.
    ///
    /// # Cancel safety
    ///
    /// The stop goes ahead even when the returned future is dropped.
    pub async fn stop(&self, force: bool) -> Result<(), Error> {
        let (done, stopped) = oneshot::channel();
        self.send(Command::Stop { force, done }).await?;
        stopped.await.map_err(|_| self.gone())
    }

    /// What the process is doing now; `unknown` if the manager is gone.
    pub fn status(&self) -> ProcessStatus {
        let mut status = self.shared.status.borrow().clone();
        if self.shared.commands.is_closed() {
            status.state = ProcessState::Unknown;
        }
        status
    }

    /// A receiver that sees every status change, to wait for a state without polling.
    pub fn subscribe_status(&self) -> watch::Receiver<ProcessStatus> {
        self.shared.status.subscribe()
    }

    /// The last `lines` lines of output, oldest first, at most [`Policy::tail_lines`].
    pub fn logs(&self, lines: usize) -> Vec<String> {
        self.shared.logs.tail(lines)
    }

    /// A receiver of every line of output from now on, across restarts.
    ///
    /// A receiver more than 1024 lines behind skips the oldest and gets
    /// [`broadcast::error::RecvError::Lagged`].
    pub fn subscribe_logs(&self) -> broadcast::Receiver<String> {
        self.shared.logs.subscribe()
    }

    async fn send(&self, command: Command) -> Result<(), Error> {
        self.shared
            .commands
            .send(command)
            .await
            .map_err(|_| self.gone())
    }

    fn gone(&self) -> Error {
        Error::Gone {
            id: self.shared.id.clone(),
        }
    }
}
