//! The `simple` process manager: a child in its own process group.

use std::fs::OpenOptions;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};

use crate::{Error, ProcessSpec};

/// A running child process, leader of its own process group.
///
/// Dropping it kills the whole group, so an early return never leaves a runner behind.
#[derive(Debug)]
pub struct SimpleProcess {
    spec: ProcessSpec,
    child: Child,
    /// The group id, equal to the child's pid; kept because `Child::id` is gone once reaped.
    pgid: Pid,
    /// Set once `stop` has killed the group and reaped the child: the pid may then be reused
    /// by an unrelated process group, which must never be signalled.
    stopped: bool,
}

impl SimpleProcess {
    /// Starts `spec.program` in a new process group, output appended to `spec.log_path`.
    ///
    /// # Errors
    ///
    /// The log file cannot be opened or the program cannot be executed.
    pub fn start(spec: ProcessSpec) -> Result<Self, Error> {
        let log_error = |source| Error::Log {
            id: spec.id.clone(),
            path: spec.log_path.clone(),
            source,
        };
        if let Some(dir) = spec.log_path.parent() {
            std::fs::create_dir_all(dir).map_err(log_error)?;
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log_path)
            .map_err(log_error)?;
        let log_err = log.try_clone().map_err(log_error)?;
        let spawn_error = |source| Error::Spawn {
            id: spec.id.clone(),
            program: spec.program.clone(),
            source,
        };
        let child = Command::new(&spec.program)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
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
        tracing::info!(id = %spec.id, pid, "started runner process");
        Ok(Self {
            spec,
            child,
            pgid,
            stopped: false,
        })
    }

    /// The process's id as given in its spec.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The child's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the child to exit and returns its status.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future leaves the child running and watchable again.
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.child.wait().await
    }

    /// Stops the whole process group: SIGTERM, up to `grace` to exit, then SIGKILL.
    ///
    /// Returns when the child has exited. Processes of the group that outlive the child
    /// still receive the SIGKILL.
    pub async fn stop(&mut self, grace: Duration) {
        if self.stopped {
            return;
        }
        self.signal(Signal::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(id = %self.spec.id, ?grace, "runner ignored SIGTERM; killing it");
        }
        // Grandchildren may have ignored SIGTERM even when the child obeyed.
        self.signal(Signal::SIGKILL);
        if let Err(e) = self.child.wait().await {
            tracing::warn!(id = %self.spec.id, error = %e, "cannot reap runner process");
        }
        self.stopped = true;
        tracing::info!(id = %self.spec.id, "stopped runner process");
    }

    fn signal(&self, signal: Signal) {
        // ESRCH: the group is already gone, which is what stopping wants.
        if let Err(e) = killpg(self.pgid, signal)
            && e != nix::errno::Errno::ESRCH
        {
            tracing::warn!(id = %self.spec.id, %signal, error = %e, "cannot signal process group");
        }
    }
}

impl Drop for SimpleProcess {
    fn drop(&mut self) {
        if !self.stopped {
            self.signal(Signal::SIGKILL);
        }
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
        let mut process =
            SimpleProcess::start(spec(&dir, "echo $GREETING; echo oops >&2")).unwrap();
        let status = tokio::time::timeout(hero_test_support::TIMEOUT, process.wait())
            .await
            .unwrap()
            .unwrap();
        assert!(status.success());
        let log = std::fs::read_to_string(dir.path().join("logs/test.log")).unwrap();
        assert_eq!(log, "hello\noops\n");
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

    #[test]
    fn a_missing_program_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = spec(&dir, "");
        spec.program = dir.path().join("nope");
        let err = SimpleProcess::start(spec).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
