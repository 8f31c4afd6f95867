//! The `tmux:SESSION` backend with real tmux, each test on its own private server.

mod common;

use common::{
    TmuxServer, assert_clean, assert_gone, fast_policy, kill, log_path, read_pids, sleeper, spec,
    started_environment, wait_for,
};
use hero_process::{Backend, Policy, ProcessManager, ProcessSpec, ProcessState};
use hero_test_support::{TIMEOUT, eventually};
use nix::sys::signal::Signal;

const SESSION: &str = "hero_test";

fn manager(server: &TmuxServer, spec: ProcessSpec, policy: Policy) -> ProcessManager {
    let backend = Backend::Tmux {
        session: SESSION.into(),
        socket: Some(server.socket.clone()),
    };
    ProcessManager::new(spec, backend, policy).expect("the log file opens")
}

async fn start(manager: &ProcessManager) {
    tokio::time::timeout(TIMEOUT, manager.start())
        .await
        .expect("start returns in time")
        .expect("the window starts");
}

async fn stop(manager: &ProcessManager) {
    tokio::time::timeout(TIMEOUT, manager.stop(false))
        .await
        .expect("stop returns in time")
        .expect("the manager is alive");
}

/// The names of the session's windows.
fn window_names(server: &TmuxServer) -> Vec<String> {
    server
        .windows(SESSION)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

#[tokio::test]
async fn the_session_is_created_and_the_window_logs_and_reports_its_process() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let script = "echo $GREETING from tmux; echo oops >&2; exec sleep 300";
    let runner = manager(&server, spec(dir.path(), "r.1", script), fast_policy());
    let mut lines = runner.subscribe_logs();
    start(&runner).await;

    assert_eq!(window_names(&server), ["hero", "r.1"]);
    let pane_pid = server.windows(SESSION)[1].1;
    let status = runner.status();
    assert_eq!(status.state, ProcessState::Running);
    assert_eq!(status.pid, Some(pane_pid.unsigned_abs()));
    for expected in ["hello from tmux", "oops"] {
        let line = tokio::time::timeout(TIMEOUT, lines.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(line, expected);
    }
    let log = log_path(dir.path(), "r.1");
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text, "hello from tmux\noops\n");
    assert_eq!(runner.logs(10), ["hello from tmux", "oops"]);

    stop(&runner).await;
    assert_eq!(window_names(&server), ["hero"]);
    assert_gone(&[pane_pid]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn stop_ends_the_windows_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let pids = dir.path().join("pids");
    // Both the pane's process and its grandchild ignore SIGTERM (and SIGHUP, which closing
    // the window sends): only the group's SIGKILL ends them.
    let script = format!(
        "trap '' TERM HUP; echo $$ >> {0}; sh -c 'echo $$ >> {0}; exec sleep 300' & wait",
        pids.display()
    );
    let runner = manager(&server, spec(dir.path(), "r", &script), fast_policy());
    start(&runner).await;
    let pids = read_pids(&pids, 2).await;
    stop(&runner).await;
    let status = runner.status();
    assert_eq!(status.state, ProcessState::Stopped);
    assert_eq!(
        status.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    assert_eq!(window_names(&server), ["hero"]);
    assert_gone(&pids).await;
    server.shutdown().await;
}

#[tokio::test]
async fn each_actor_has_one_window_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let pids = dir.path().join("pids");
    let script = format!("echo $$ >> {}; exec sleep 300", pids.display());
    let a = manager(&server, spec(dir.path(), "a", &script), fast_policy());
    let b = manager(
        &server,
        spec(dir.path(), "b", "exec sleep 300"),
        fast_policy(),
    );
    start(&a).await;
    start(&b).await;
    let first = read_pids(&pids, 1).await[0];
    kill(first, Signal::SIGKILL);
    let status = wait_for(&a, |s| s.restarts == 1 && s.state == ProcessState::Running).await;
    assert_eq!(
        status.last_exit.as_deref(),
        Some("killed by signal 9 (SIGKILL)")
    );
    let pids = read_pids(&pids, 2).await;
    assert_eq!(status.pid, Some(pids[1].unsigned_abs()));

    let mut names = window_names(&server);
    names.sort();
    assert_eq!(names, ["a", "b", "hero"]);
    let b_pid = b.status().pid.unwrap().try_into().unwrap();
    stop(&a).await;
    stop(&b).await;
    assert_gone(&pids).await;
    assert_gone(&[b_pid]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn the_exit_status_comes_from_the_pane() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let policy = Policy {
        autorestart: false,
        ..fast_policy()
    };
    let runner = manager(&server, spec(dir.path(), "r", "exit 3"), policy);
    start(&runner).await;
    let status = wait_for(&runner, |s| s.state == ProcessState::Failed).await;
    assert_eq!(status.last_exit.as_deref(), Some("exited with status 3"));
    assert_eq!(window_names(&server), ["hero"]);
    server.shutdown().await;
}

#[tokio::test]
async fn a_window_left_by_an_earlier_run_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    server
        .run(&["new-session", "-d", "-s", SESSION, "-n", "hero"])
        .unwrap();
    let target = format!("={SESSION}:");
    let stale = server.run(&[
        "new-window",
        "-d",
        "-t",
        &target,
        "-n",
        "r",
        "-P",
        "-F",
        "#{pane_pid}",
        "--",
        "sh",
        "-c",
        "trap '' HUP TERM; exec sleep 300",
    ]);
    let stale: i32 = stale.unwrap().trim().parse().unwrap();

    let runner = manager(
        &server,
        spec(dir.path(), "r", "exec sleep 300"),
        fast_policy(),
    );
    start(&runner).await;
    assert_eq!(window_names(&server), ["hero", "r"]);
    assert_gone(&[stale]).await;
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    stop(&runner).await;
    assert_gone(&[pid]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn secrets_in_the_environment_reach_the_runner_but_not_argv() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let mut spec = spec(dir.path(), "r", "echo \"$SECRET\"; exec sleep 300");
    spec.env.push(("SECRET".into(), "it's #{a} $b".into()));
    let runner = manager(&server, spec, fast_policy());
    let mut lines = runner.subscribe_logs();
    start(&runner).await;
    let line = tokio::time::timeout(TIMEOUT, lines.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(line, "it's #{a} $b");
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    stop(&runner).await;
    assert_gone(&[pid]).await;
    let gone = eventually(TIMEOUT, || async { window_names(&server) == ["hero"] }).await;
    assert!(gone);
    server.shutdown().await;
}

#[tokio::test]
async fn the_window_gets_a_clean_environment_not_the_tmux_servers() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    // The server starts from this test's environment, and tmux adds TMUX, TERM and more.
    let runner = manager(&server, sleeper(dir.path(), "clean"), fast_policy());
    start(&runner).await;
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    assert_clean(&started_environment(pid).await);
    stop(&runner).await;
    assert_gone(&[pid]).await;
    server.shutdown().await;
}

#[tokio::test]
async fn newlines_and_semicolons_in_values_never_run_another_tmux_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = TmuxServer::new();
    let marker = |n: u32| dir.path().join(format!("injected-{n}"));
    let arg = format!("a'\nrun-shell 'touch {}'\n;", marker(1).display());
    let value = format!("b\nrun-shell \"touch {}\" ;\n'", marker(2).display());
    let out = dir.path().join("out");
    let script = r#"printf '%s' "$1" > "$0.arg"; printf '%s' "$V" > "$0.env"; exec sleep 300"#;
    let mut spec = spec(dir.path(), "inj;", script);
    spec.args.extend([out.display().to_string(), arg.clone()]);
    spec.env.push(("V".into(), value.clone()));
    let runner = manager(&server, spec, fast_policy());
    start(&runner).await;

    let read = |suffix: &str| std::fs::read_to_string(dir.path().join(format!("out.{suffix}")));
    let written = eventually(TIMEOUT, || async {
        read("arg").is_ok_and(|text| text == arg) && read("env").is_ok_and(|text| text == value)
    })
    .await;
    assert!(
        written,
        "the values arrive whole: {:?} {:?}",
        read("arg"),
        read("env")
    );
    assert!(
        !marker(1).exists() && !marker(2).exists(),
        "no tmux command was injected"
    );
    assert_eq!(window_names(&server), ["hero", "inj;"]);
    let pid = runner.status().pid.unwrap().try_into().unwrap();
    stop(&runner).await;
    assert_gone(&[pid]).await;
    server.shutdown().await;
}
