//! Commands of `sal` scripts end with their script: a timeout or an interrupt kills the
//! command and everything in its process group, and so does the command's own exit.

#[path = "../../osis/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{is_dead, read_pid};
use hero_osis_runner::Interrupt;
use hero_osis_runner::engine::ScriptError;
use hero_test_support::TIMEOUT;

/// Runs `payload` as a `sal` script on a thread, returning how to wait for its result.
fn start(payload: String, interrupt: &Interrupt) -> mpsc::Receiver<Result<String, ScriptError>> {
    let (done_tx, done) = mpsc::channel();
    let interrupt = interrupt.clone();
    thread::spawn(move || {
        // The receiver is gone only when the test has already failed.
        let _ = done_tx.send(hero_sal_runner::run(&payload, &BTreeMap::new(), &interrupt));
    });
    done
}

fn run(payload: &str) -> Result<String, ScriptError> {
    start(payload.to_owned(), &Interrupt::new())
        .recv_timeout(TIMEOUT)
        .expect("the script ends")
}

/// Polls `check` every 10 ms until it holds; false when `TIMEOUT` passes first.
fn eventually(check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// The pid a command wrote to `file`, once it is there.
fn pid_in(file: &Path) -> u32 {
    assert!(
        eventually(|| read_pid(file).is_some()),
        "the command writes its pid"
    );
    read_pid(file).expect("the pid is written")
}

#[test]
fn an_interrupt_kills_the_command_and_its_children() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let pid_file = dir.path().join("pid");
    let interrupt = Interrupt::new();
    let script = format!(
        r#"run("sh", ["-c", "sleep 600 & echo $! > {}; wait"])"#,
        pid_file.display()
    );
    let done = start(script, &interrupt);
    let grandchild = pid_in(&pid_file);
    interrupt.trigger();
    let result = done.recv_timeout(TIMEOUT).expect("the script ends");
    assert_eq!(result, Err(ScriptError::Interrupted));
    assert!(
        eventually(|| is_dead(grandchild)),
        "the background sleep is killed"
    );
}

#[test]
fn a_timeout_kills_the_command_with_a_clear_error() {
    let result = run(r#"run_with("sleep", ["600"], #{ timeout: 0.2 })"#);
    match result {
        Err(ScriptError::Failed(message)) => assert!(
            message.contains("run_with: `sleep` did not finish within 0.2s and was killed"),
            "{message}"
        ),
        other => panic!("expected a timeout, got {other:?}"),
    }
}

#[test]
fn what_a_command_leaves_running_is_killed_when_it_exits() {
    let result = run(r#"run("sh", ["-c", "sleep 600 & echo $!"]).stdout"#);
    let pid: u32 = result
        .expect("sh exits at once")
        .trim()
        .parse()
        .expect("a pid");
    assert!(
        eventually(|| is_dead(pid)),
        "the background sleep is killed"
    );
}

#[test]
fn output_past_the_string_limit_fails_the_command() {
    let result = run(r#"run("head", ["-c", "20000000", "/dev/zero"])"#);
    match result {
        Err(ScriptError::Failed(message)) => assert!(
            message
                .contains("run: the stdout of `head` is larger than the limit of 10485760 bytes"),
            "{message}"
        ),
        other => panic!("expected an output error, got {other:?}"),
    }
}
