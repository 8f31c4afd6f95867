//! The `simple` backend: a child in its own process group, its output read through a pipe.

use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};
use tracing::Instrument;

use crate::backend::{Launcher, Process};
use crate::logs::{Logs, pump};
use crate::status::Exit;
use crate::{Error, Policy, ProcessSpec};

/// A running child process, leader of its own process group.
///
/// Its stdout and stderr share one pipe, read line by line into the log file (rotated with
/// the default [`Policy`]). Dropping it kills the whole group, so an early return never leaves
/// a runner behind.
#[derive(Debug)]
pub struct SimpleProcess {
    id: String,
    child: Child,
    /// The group id, equal to the child's pid; kept because `Child::id` is gone once reaped.
    pgid: Pid,
    /// Set once the child is reaped and its group killed: the pid may then be reused by an
    /// unrelated process group, which must never be signalled.
    stopped: bool,
}

impl SimpleProcess {
    /// Starts `spec.program` in a new process group, output appended to `spec.log_path`.
    ///
    /// Prefer [`ProcessManager`](crate::ProcessManager), which also restarts and stops it.
    ///
    /// # Errors
    ///
    /// The log file cannot be opened or the program cannot be executed.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime, which reads the output.
    pub fn start(spec: ProcessSpec) -> Result<Self, Error> {
        let logs = Logs::open(&spec.id, &spec.log_path, &Policy::default()).map_err(|source| {
            Error::Log {
                id: spec.id.clone(),
                path: spec.log_path.clone(),
                source,
            }
        })?;
        Self::spawn(&spec, &logs)
    }

    /// Starts `spec.program` in a new process group, its output pumped into `logs`.
    pub(crate) fn spawn(spec: &ProcessSpec, logs: &Logs) -> Result<Self, Error> {
        let spawn_error = |source| Error::Spawn {
            id: spec.id.clone(),
            program: spec.program.clone(),
            source,
        };
        let env = spec.environment()?;
        // One pipe for both streams keeps their lines in the order they were written.
        let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
        let writer_for_stderr = writer.try_clone().map_err(spawn_error)?;
        let output = pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).map_err(spawn_error)?;
        // The command, holding our copies of the write end, is dropped at the end of this
        // statement: the pump then sees the end of the output when the group's last process
        // closes it.
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .env_clear()
            .envs(env)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .stderr(writer_for_stderr)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(spawn_error)?;
        let pid = child.id().ok_or_else(|| {
            spawn_error(std::io::Error::other(
                "the child exited before its pid was read",
            ))
        })?;
        let pgid = Pid::from_raw(
            i32::try_from(pid)
                .map_err(|_| spawn_error(std::io::Error::other("pid out of range")))?,
        );
        let span = tracing::info_span!("logs", id = %spec.id);
        tokio::spawn(pump(output, logs.clone()).instrument(span));
        tracing::info!(id = %spec.id, pid, "started runner process");
        Ok(Self {
            id: spec.id.clone(),
            child,
            pgid,
            stopped: false,
        })
    }

    /// The process's id as given in its spec.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for the child to exit and returns its status.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future leaves the child running and watchable again.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Stops the whole process group: SIGTERM, up to `grace` to exit, then SIGKILL.
    ///
    /// Returns when the child has exited. Processes of the group that outlive the child
    /// still receive the SIGKILL.
    pub async fn stop(&mut self, grace: Duration) {
        Process::stop(self, grace).await;
    }

    /// Kills what is left of the group once the child is reaped, and never signals it again.
    fn finish(&mut self, status: std::io::Result<ExitStatus>) -> Exit {
        if !self.stopped {
            // Grandchildren may outlive the child, or have ignored SIGTERM when it obeyed.
            self.signal(Signal::SIGKILL);
            self.stopped = true;
        }
        match status {
            Ok(status) => Exit::from(status),
            Err(error) => {
                tracing::warn!(id = %self.id, %error, "cannot reap runner process");
                Exit::Unknown
            }
        }
    }

    fn signal(&self, signal: Signal) {
        // ESRCH: the group is already gone, which is what stopping wants.
        if let Err(e) = killpg(self.pgid, signal)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(id = %self.id, %signal, error = %e, "cannot signal process group");
        }
    }
}

impl Process for SimpleProcess {
    fn pid(&self) -> u32 {
        self.pgid.as_raw().unsigned_abs()
    }

    async fn exited(&mut self) -> Exit {
        let status = self.child.wait().await;
        self.finish(status)
    }

    async fn stop(&mut self, grace: Duration) -> Exit {
        if !self.stopped && !grace.is_zero() {
            self.signal(Signal::SIGTERM);
            if tokio::time::timeout(grace, self.child.wait())
                .await
                .is_err()
            {
                tracing::warn!(id = %self.id, ?grace, "runner ignored SIGTERM; killing it");
            }
        }
        if !self.stopped {
            self.signal(Signal::SIGKILL);
        }
        let status = self.child.wait().await;
        let exit = self.finish(status);
        tracing::info!(id = %self.id, %exit, "stopped runner process");
        exit
    }
}

impl Drop for SimpleProcess {
    fn drop(&mut self) {
        if !self.stopped {
            self.signal(Signal::SIGKILL);
        }
    }
}

/// Starts a [`SimpleProcess`] per launch, all writing to the same [`Logs`].
#[derive(Debug)]
pub(crate) struct SimpleLauncher {
    pub(crate) spec: ProcessSpec,
    pub(crate) logs: Logs,
}

impl Launcher for SimpleLauncher {
    type Process = SimpleProcess;

    async fn launch(&mut self) -> Result<SimpleProcess, Error> {
        SimpleProcess::spawn(&self.spec, &self.logs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &tempfile::TempDir, script: &str) -> ProcessSpec {
        ProcessSpec {
            id: "test".into(),
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("GREETING".into(), "hello".into())],
            log_path: dir.path().join("logs/test.log"),
        }
    }

    /// True while `pid` exists and is not a zombie waiting for an init that may never reap.
    fn alive(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
            !state.is_some_and(|rest| rest.starts_with('Z'))
        })
    }

    #[tokio::test]
    async fn output_goes_to_the_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("logs/test.log");
        let mut process =
            SimpleProcess::start(spec(&dir, "echo $GREETING; echo oops >&2")).unwrap();
        let status = tokio::time::timeout(hero_test_support::TIMEOUT, process.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success());
        // The pump writes the file after the child has exited.
        let written = hero_test_support::eventually(hero_test_support::TIMEOUT, || async {
            std::fs::read_to_string(&log).is_ok_and(|text| text == "hello\noops\n")
        })
        .await;
        assert!(written, "{:?}", std::fs::read_to_string(&log));
    }

    #[tokio::test]
    async fn stop_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("grandchild.pid");
        // The grandchild ignores SIGTERM, so only the group-wide SIGKILL ends it.
        let script = format!(
            "sh -c 'trap \"\" TERM; echo $$ > {}; exec sleep 300' & wait",
            pid_file.display()
        );
        let mut process = SimpleProcess::start(spec(&dir, &script)).unwrap();
        let found = hero_test_support::eventually(hero_test_support::TIMEOUT, || async {
            std::fs::read_to_string(&pid_file).is_ok_and(|s| s.trim().parse::<i32>().is_ok())
        })
        .await;
        assert!(found, "grandchild never started");
        let grandchild: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        tokio::time::timeout(
            hero_test_support::TIMEOUT,
            process.stop(Duration::from_millis(200)),
        )
        .await
        .unwrap();
        let gone = hero_test_support::eventually(hero_test_support::TIMEOUT, || async {
            !alive(grandchild)
        })
        .await;
        assert!(gone, "grandchild {grandchild} outlived stop");
    }

    #[tokio::test]
    async fn a_missing_program_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = spec(&dir, "");
        spec.program = dir.path().join("nope");
        let err = SimpleProcess::start(spec).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
