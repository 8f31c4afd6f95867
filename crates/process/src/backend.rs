//! The process managers a process can run under, and the trait each of them implements.

use std::future::Future;
use std::time::Duration;

use crate::Error;
use crate::status::Exit;

/// How a process is run: the config's `simple` or `tmux:SESSION`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// A child of this process, leader of its own process group, output through a pipe.
    Simple,
    /// A window of a tmux session, named after the process and created on each start.
    ///
    /// The session is created if missing, with a placeholder window `hero` that keeps it alive
    /// between runs. The window's output is piped into the same log file as `Simple`'s. Its
    /// environment is the spec's, as for `Simple`, never the tmux server's; and a window named
    /// like the process left by an earlier run is killed and replaced.
    Tmux {
        /// The session.
        session: String,
        /// A private tmux server (`tmux -L SOCKET`); `None` is the user's default server.
        socket: Option<String>,
    },
}

/// Starts instances of one process spec; what a backend provides to the manager.
pub(crate) trait Launcher: Send + 'static {
    /// A started instance.
    type Process: Process;

    /// Starts an instance.
    fn launch(&mut self) -> impl Future<Output = Result<Self::Process, Error>> + Send;
}

/// One started instance of a process, leader of a process group.
///
/// Dropping it kills the group without waiting.
pub(crate) trait Process: Send + 'static {
    /// The pid of the group leader.
    fn pid(&self) -> u32;

    /// Waits for the process to exit on its own, then kills what is left of its group.
    ///
    /// Cancel safe.
    fn exited(&mut self) -> impl Future<Output = Exit> + Send;

    /// SIGTERM to the group, up to `grace` for the process to exit, SIGKILL to the group.
    ///
    /// A zero `grace` sends SIGKILL at once. Cancel safe: stopping again picks up.
    fn stop(&mut self, grace: Duration) -> impl Future<Output = Exit> + Send;
}
