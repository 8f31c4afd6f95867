//! Helpers shared by the integration tests: specs, waits, pid checks and a private tmux server.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hero_process::{Policy, ProcessManager, ProcessSpec, ProcessStatus};
use hero_test_support::{TIMEOUT, eventually};

/// A process running `sh -c SCRIPT` in `dir`, logging to `dir/<id>.log`.
pub(crate) fn spec(dir: &Path, id: &str, script: &str) -> ProcessSpec {
    ProcessSpec {
        id: id.into(),
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![("GREETING".into(), "hello".into())],
        log_path: log_path(dir, id),
    }
}

pub(crate) fn log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("logs/{id}.log"))
}

/// Quick restarts and a short grace, so tests run in milliseconds.
pub(crate) fn fast_policy() -> Policy {
    Policy {
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        jitter: 0.0,
        stop_grace: Duration::from_millis(300),
        ..Policy::default()
    }
}

/// Waits until the status satisfies `check`; panics after [`TIMEOUT`].
pub(crate) async fn wait_for(
    manager: &ProcessManager,
    mut check: impl FnMut(&ProcessStatus) -> bool,
) -> ProcessStatus {
    let mut status = manager.subscribe_status();
    let found = tokio::time::timeout(TIMEOUT, status.wait_for(|s| check(s))).await;
    let found = found.unwrap_or_else(|_| panic!("status never matched: {:?}", manager.status()));
    found.expect("the manager is alive").clone()
}

/// The pids written to `path`, one a line, once there are at least `count`.
pub(crate) async fn read_pids(path: &Path, count: usize) -> Vec<i32> {
    let pids = || {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.trim().parse().ok())
            .collect::<Vec<i32>>()
    };
    let written = eventually(TIMEOUT, || async { pids().len() >= count }).await;
    assert!(written, "{count} pids never written to {}", path.display());
    pids()
}

/// True while `pid` exists and is not a zombie waiting for an init that may never reap.
pub(crate) fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        !state.is_some_and(|rest| rest.starts_with('Z'))
    })
}

/// Asserts that every one of `pids` ends, SIGKILL being asynchronous.
pub(crate) async fn assert_gone(pids: &[i32]) {
    let gone = eventually(TIMEOUT, || async { pids.iter().all(|&pid| !alive(pid)) }).await;
    let survivors: Vec<i32> = pids.iter().copied().filter(|&pid| alive(pid)).collect();
    assert!(gone, "processes outlived the test: {survivors:?}");
}

/// Sends `signal` to `pid`, as a crash or an outside kill would.
pub(crate) fn kill(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("the process exists");
}

/// A private tmux server (`tmux -L hero-test-…`), killed by [`TmuxServer::shutdown`] or drop.
pub(crate) struct TmuxServer {
    pub(crate) socket: String,
}

impl TmuxServer {
    /// A socket name no other test uses; the server starts with its first session.
    pub(crate) fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Self {
            socket: format!("hero-test-{}-{n}", std::process::id()),
        }
    }

    /// Runs a tmux command on this server; `None` when tmux fails.
    pub(crate) fn run(&self, args: &[&str]) -> Option<String> {
        let output = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (apt-get install tmux)");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// `(name, pane pid)` of each window of `session`.
    pub(crate) fn windows(&self, session: &str) -> Vec<(String, i32)> {
        let target = format!("={session}");
        let listed = self.run(&[
            "list-windows",
            "-t",
            &target,
            "-F",
            "#{window_name} #{pane_pid}",
        ]);
        listed
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (name, pid) = line.rsplit_once(' ')?;
                Some((name.to_owned(), pid.parse().ok()?))
            })
            .collect()
    }

    /// Kills the server and asserts that it and its panes are gone.
    pub(crate) async fn shutdown(self) {
        let pid = self.run(&["display-message", "-p", "#{pid}"]);
        let mut pids: Vec<i32> = self
            .run(&["list-panes", "-a", "-F", "#{pane_pid}"])
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.parse().ok())
            .collect();
        pids.extend(pid.and_then(|pid| pid.trim().parse::<i32>().ok()));
        drop(self);
        assert_gone(&pids).await;
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        let socket = self.run(&["display-message", "-p", "#{socket_path}"]);
        // The server may never have started, or be gone already.
        let _ = self.run(&["kill-server"]);
        if let Some(socket) = socket {
            // Tmux leaves its socket file behind; a missing one is what we want.
            let _ = std::fs::remove_file(socket.trim());
        }
    }
}

/// A process running `sleep 300` directly, so that its `/proc/PID/environ` is exactly the
/// environment it was started with; its spec sets `GREETING`.
pub(crate) fn sleeper(dir: &Path, id: &str) -> ProcessSpec {
    ProcessSpec {
        program: "/bin/sleep".into(),
        args: vec!["300".into()],
        ..spec(dir, id, "")
    }
}

/// The environment `pid` was started with, once it holds the spec's `GREETING` (a pid may
/// exec on its way to the program, as in a tmux window).
pub(crate) async fn started_environment(pid: i32) -> Vec<(String, String)> {
    let read = || {
        let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        raw.split(|&byte| byte == 0)
            .filter(|entry| !entry.is_empty())
            .filter_map(|entry| {
                let entry = String::from_utf8_lossy(entry);
                let (name, value) = entry.split_once('=')?;
                Some((name.to_owned(), value.to_owned()))
            })
            .collect::<Vec<_>>()
    };
    let has_greeting = |env: &[(String, String)]| env.iter().any(|(name, _)| name == "GREETING");
    let ready = eventually(TIMEOUT, || async { has_greeting(&read()) }).await;
    assert!(ready, "the program never started: {:?}", read());
    read()
}

/// Asserts that `env` holds the neutral variables and the spec's `GREETING` only, and that
/// this test's process has more, so that the check means something.
pub(crate) fn assert_clean(env: &[(String, String)]) {
    // Spelled out, not taken from `INHERITED_ENV`, so that a name added there must be added
    // here on purpose.
    let allowed = [
        "PATH",
        "HOME",
        "LANG",
        "TZ",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "GREETING",
    ];
    let extra: Vec<&str> = env
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| !allowed.contains(name))
        .collect();
    assert!(extra.is_empty(), "unexpected variables: {extra:?}");
    assert!(
        std::env::var_os("CARGO_MANIFEST_DIR").is_some(),
        "cargo sets it for tests"
    );
    let greeting = env.iter().find(|(name, _)| name == "GREETING");
    assert_eq!(greeting.map(|(_, value)| value.as_str()), Some("hello"));
}
