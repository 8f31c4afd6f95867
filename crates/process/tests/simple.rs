//! The `simple` backend under a `ProcessManager`, with real processes.

mod common;

use std::time::Duration;

use common::{
    assert_clean, assert_gone, fast_policy, kill, log_path, read_pids, sleeper, spec,
    started_environment, wait_for,
};
use hero_process::{Backend, Policy, ProcessManager, ProcessState};
use hero_test_support::TIMEOUT;
use nix::sys::signal::Signal;
use tokio::sync::broadcast;

fn manager(spec: hero_process::ProcessSpec, policy: Policy) -> ProcessManager {
    ProcessManager::new(spec, Backend::Simple, policy).expect("the log file opens")
}

async fn stop(manager: &ProcessManager, force: bool) {
    tokio::time::timeout(TIMEOUT, manager.stop(force))
        .await
        .expect("stop returns in time")
        .expect("the manager is alive");
}

async fn start(manager: &ProcessManager) {
    tokio::time::timeout(TIMEOUT, manager.start())
        .await
        .expect("start returns in time")
        .expect("the process starts");
}

async fn next_line(lines: &mut broadcast::Receiver<String>) -> String {
    tokio::time::timeout(TIMEOUT, lines.recv())
        .await
        .expect("a line arrives in time")
        .expect("no line is skipped")
}

#[tokio::test]
async fn stop_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Both the runner and its grandchild ignore SIGTERM: only the group's SIGKILL ends them.
    let script = format!(
        "trap '' TERM; echo $$ >> {0}; sh -c 'echo $$ >> {0}; exec sleep 300' & wait",
        pids.display()
    );
    let runner = manager(spec(dir.path(), "r", &script), fast_policy());
    start(&runner).await;
    let pids = read_pids(&pids, 2).await;
    stop(&runner, false).await;
    let status = runner.status();
    assert_eq!(status.state, ProcessState::Stopped);
    assert_eq!(
        status.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    assert_gone(&pids).await;
}

#[tokio::test]
async fn a_crash_is_restarted_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!("echo $$ >> {}; exec sleep 300", pids.display());
    let runner = manager(spec(dir.path(), "r", &script), fast_policy());
    start(&runner).await;
    let first = read_pids(&pids, 1).await[0];
    assert_eq!(runner.status().pid, Some(first.unsigned_abs()));
    kill(first, Signal::SIGKILL);
    let status = wait_for(&runner, |s| {
        s.restarts == 1 && s.state == ProcessState::Running
    })
    .await;
    let pids = read_pids(&pids, 2).await;
    assert_eq!(status.pid, Some(pids[1].unsigned_abs()));
    assert_eq!(
        status.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    stop(&runner, false).await;
    assert_gone(&pids).await;
}

#[tokio::test]
async fn repeated_fast_crashes_end_in_failed_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // Each run leaves a grandchild that ignores SIGTERM, then crashes.
    let script = format!(
        "sh -c 'trap \"\" TERM; exec sleep 300' & echo $! >> {}; exit 3",
        pids.display()
    );
    let policy = Policy {
        max_fast_crashes: 3,
        ..fast_policy()
    };
    let runner = manager(spec(dir.path(), "r", &script), policy);
    start(&runner).await;
    let status = wait_for(&runner, |s| s.state == ProcessState::Failed).await;
    assert_eq!(status.restarts, 2);
    assert_eq!(status.pid, None);
    assert_eq!(status.last_exit.as_deref(), Some("exited with status 3"));
    assert_gone(&read_pids(&pids, 3).await).await;
}

/// Issue 10: a process killed by a signal right after each start (as a runner is by a job
/// that exhausts its memory) is restarted again and again, never left `failed`.
#[tokio::test]
async fn fast_deaths_by_signal_are_restarted_without_giving_up() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy {
        max_fast_crashes: 2,
        ..fast_policy()
    };
    let runner = manager(spec(dir.path(), "r", "kill -KILL $$"), policy);
    start(&runner).await;
    let status = wait_for(&runner, |s| {
        s.restarts >= 5 || s.state == ProcessState::Failed
    })
    .await;
    assert_ne!(status.state, ProcessState::Failed, "{status:?}");
    assert_eq!(
        status.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    stop(&runner, false).await;
}

#[tokio::test]
async fn start_and_stop_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let runner = manager(spec(dir.path(), "r", "exec sleep 300"), fast_policy());
    stop(&runner, false).await;
    assert_eq!(runner.status().state, ProcessState::Stopped);
    start(&runner).await;
    let pid = runner.status().pid.unwrap();
    start(&runner).await;
    assert_eq!(runner.status().pid, Some(pid));
    assert_eq!(runner.status().state, ProcessState::Running);
    stop(&runner, true).await;
    stop(&runner, false).await;
    let status = runner.status();
    assert_eq!(status.state, ProcessState::Stopped);
    assert_eq!(status.restarts, 0);
    assert_gone(&[pid.try_into().unwrap()]).await;
}

#[tokio::test]
async fn followers_receive_stdout_and_stderr_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let script = "echo $GREETING; echo oops >&2; echo done; exec sleep 300";
    let runner = manager(spec(dir.path(), "r", script), fast_policy());
    let mut lines = runner.subscribe_logs();
    start(&runner).await;
    for expected in ["hello", "oops", "done"] {
        assert_eq!(next_line(&mut lines).await, expected);
    }
    assert_eq!(runner.logs(2), ["oops", "done"]);
    let file = std::fs::read_to_string(log_path(dir.path(), "r")).unwrap();
    assert_eq!(file, "hello\noops\ndone\n");
    let pid = runner.status().pid.unwrap();
    stop(&runner, false).await;
    assert_gone(&[pid.try_into().unwrap()]).await;
}

#[tokio::test]
async fn logs_rotate_at_the_cap_and_the_tail_keeps_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let script = "i=1; while [ $i -le 500 ]; do echo line $i; i=$((i+1)); done; exec sleep 300";
    let policy = Policy {
        max_log_bytes: 1000,
        log_files: 2,
        tail_lines: 50,
        ..fast_policy()
    };
    let runner = manager(spec(dir.path(), "r", script), policy);
    let mut lines = runner.subscribe_logs();
    start(&runner).await;
    while next_line(&mut lines).await != "line 500" {}

    let expected: Vec<String> = (491..=500).map(|i| format!("line {i}")).collect();
    assert_eq!(runner.logs(10), expected);
    assert_eq!(runner.logs(1000).len(), 50);
    let log = log_path(dir.path(), "r");
    let files = [
        log.with_extension("log.2"),
        log.with_extension("log.1"),
        log.clone(),
    ];
    let mut kept = String::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.len() <= 1000,
            "{} has {} bytes",
            file.display(),
            text.len()
        );
        kept += &text;
    }
    assert!(!log.with_extension("log.3").exists());
    // The kept files hold the newest lines, in order, without a gap; the oldest are gone.
    let numbers: Vec<u32> = kept
        .lines()
        .map(|line| line.trim_start_matches("line ").parse().unwrap())
        .collect();
    assert!(numbers[0] > 1, "nothing was dropped");
    assert_eq!(numbers, (numbers[0]..=500).collect::<Vec<_>>());

    let pid = runner.status().pid.unwrap();
    stop(&runner, false).await;
    assert_gone(&[pid.try_into().unwrap()]).await;
}

#[tokio::test]
async fn dropping_the_manager_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!(
        "trap '' TERM; sh -c 'echo $$ >> {0}; exec sleep 300' & echo $$ >> {0}; wait",
        pids.display()
    );
    let runner = manager(spec(dir.path(), "r", &script), fast_policy());
    start(&runner).await;
    let pids = read_pids(&pids, 2).await;
    drop(runner);
    assert_gone(&pids).await;
}

#[tokio::test]
async fn a_missing_program_fails_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), "r", "");
    spec.program = dir.path().join("nope");
    let runner = manager(spec, fast_policy());
    let error = tokio::time::timeout(TIMEOUT, runner.start())
        .await
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("nope"), "{error}");
    let status = runner.status();
    assert_eq!(status.state, ProcessState::Failed);
    assert!(status.last_exit.unwrap().contains("No such file"));
}

#[tokio::test]
async fn a_graceful_stop_lets_the_runner_exit_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let policy = Policy {
        stop_grace: Duration::from_secs(20),
        ..fast_policy()
    };
    let script = "trap 'echo bye; exit 0' TERM; echo ready; sleep 300 & wait";
    let runner = manager(spec(dir.path(), "r", script), policy);
    let mut lines = runner.subscribe_logs();
    start(&runner).await;
    assert_eq!(next_line(&mut lines).await, "ready");
    let begin = std::time::Instant::now();
    stop(&runner, false).await;
    assert!(
        begin.elapsed() < Duration::from_secs(20),
        "waited for the grace"
    );
    assert_eq!(
        runner.status().last_exit.as_deref(),
        Some("exited with status 0")
    );
    assert_eq!(next_line(&mut lines).await, "bye");
}

#[tokio::test]
async fn the_process_gets_a_clean_environment_not_this_processs() {
    let dir = tempfile::tempdir().unwrap();
    let runner = manager(sleeper(dir.path(), "clean"), fast_policy());
    start(&runner).await;
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    assert_clean(&started_environment(pid).await);
    stop(&runner, false).await;
    assert_gone(&[pid]).await;
}

#[tokio::test]
async fn log_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let runner = manager(
        spec(dir.path(), "private", "echo hi; exec sleep 300"),
        fast_policy(),
    );
    let mut lines = runner.subscribe_logs();
    start(&runner).await;
    assert_eq!(next_line(&mut lines).await, "hi");
    let mode = std::fs::metadata(log_path(dir.path(), "private"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    stop(&runner, false).await;
    assert_gone(&[pid]).await;
}
