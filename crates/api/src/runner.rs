//! What the runner methods return: one record per runner, local or remote.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a runner runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunnerKind {
    /// An `[[actors]]` entry: started and supervised by this supervisor.
    Local,
    /// Registered with `register_runner`: started by hand, possibly on another host.
    Remote,
}

/// A runner's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunnerState {
    /// Being started.
    Starting,
    /// Up; for a remote runner: it claimed or waited for work recently.
    Running,
    /// Exited unexpectedly; waiting to be restarted.
    Backoff,
    /// Being stopped.
    Stopping,
    /// Stopped on request.
    Stopped,
    /// Crashed too often in a row; not restarted until `start_runner`.
    Failed,
    /// A remote runner not seen recently.
    Offline,
    /// Not known yet.
    Unknown,
}

impl RunnerState {
    /// The wire name: `running`, `stopped`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Backoff => "backoff",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
            Self::Offline => "offline",
            Self::Unknown => "unknown",
        }
    }
}

/// The least secret level that may submit jobs to a runner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunnerAccess {
    /// User and admin secrets.
    #[default]
    User,
    /// Admin secrets only: a runner with system access.
    Admin,
}

/// The answer of `get_runner_status`, and each entry of `list_runners`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunnerInfo {
    /// The actor id (local) or the registered name (remote); what the runner methods take.
    pub name: String,
    /// The queue the runner takes jobs from: what jobs address with `runner`.
    pub queue: String,
    /// Local or remote.
    pub kind: RunnerKind,
    /// Which secrets may submit jobs to it; `user` when a server does not say.
    #[serde(default)]
    pub access: RunnerAccess,
    /// Its state.
    pub status: RunnerState,
    /// The process id, for a local runner that is up.
    pub pid: Option<u32>,
    /// `simple` or `tmux:SESSION` for a local runner; absent for a remote one.
    pub process_manager: Option<String>,
    /// Jobs waiting on its queue.
    pub queue_length: u64,
    /// Restarts after unexpected exits since the supervisor started.
    pub restarts: u32,
    /// How the process last ended, if it has.
    pub last_exit: Option<String>,
    /// When a runner of this queue last claimed or waited for work.
    pub last_seen: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_the_wire_names() {
        use RunnerState::*;
        for state in [
            Starting, Running, Backoff, Stopping, Stopped, Failed, Offline, Unknown,
        ] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }
}
