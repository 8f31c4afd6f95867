//! The `supervisor` binary as a user runs it: bad configs fail with one clear line, the
//! seed's example config starts, SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hero_test_support::{RedisServer, TIMEOUT};

const SUPERVISOR: &str = env!("CARGO_BIN_EXE_supervisor");

/// Runs the binary on `config` in a fresh directory; returns (exit success, stderr).
fn run_with(config: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    common::run_binary_until_exit(config, dir.path())
}

/// Starts the binary on `config` written into `dir`, logging at `level`; returns the child
/// once it printed its first line (where it listens), and that line. Its stdout is closed
/// then, as when an operator pipes it into `head -1`: the supervisor must serve on.
fn serve(config: &str, dir: &std::path::Path, level: &str) -> (std::process::Child, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(SUPERVISOR)
        .arg("--config")
        .arg(&path)
        .env("HERO_SUPERVISOR_DATA_DIR", dir)
        .env("RUST_LOG", level)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    (child, first)
}

/// Sends SIGTERM and waits, within [`TIMEOUT`], for the supervisor to exit.
async fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "supervisor ignored SIGTERM");
        // The exit of another process announces nothing this test could await.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn assert_one_clear_line(stderr: &str, needles: &[&str]) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "`{needle}` missing from: {stderr}");
    }
}

#[test]
fn a_missing_config_file_is_named() {
    let output = Command::new(SUPERVISOR)
        .args(["--config", "/no/such/config.toml"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert_one_clear_line(
        &String::from_utf8_lossy(&output.stderr),
        &["/no/such/config.toml"],
    );
}

#[test]
fn an_unknown_key_is_named() {
    let (ok, stderr) = run_with("prot = 3030\n");
    assert!(!ok);
    assert_one_clear_line(&stderr, &["prot", "line 1"]);
}

#[test]
fn a_wrong_type_names_the_key_but_not_the_value() {
    let (ok, stderr) = run_with("port = 3030\nuser_secrets = \"hunter2\"\n");
    assert!(!ok);
    assert_one_clear_line(&stderr, &["user_secrets", "line 2"]);
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[test]
fn a_missing_runner_binary_is_named() {
    let (ok, stderr) = run_with(
        "admin_secrets = [\"a\"]\n[[actors]]\nid = \"r1\"\nname = \"r1\"\nbinary_path = \"/no/runner\"\n",
    );
    assert!(!ok);
    assert_one_clear_line(&stderr, &["actors.r1.binary_path", "/no/runner"]);
}

#[test]
fn an_unreachable_redis_is_named_without_its_password() {
    let port = hero_test_support::free_port();
    let (ok, stderr) = run_with(&format!(
        "redis_url = \"redis://:hunter2@127.0.0.1:{port}\"\nport = 0\nadmin_secrets = [\"a\"]\n"
    ));
    assert!(!ok);
    assert_one_clear_line(&stderr, &[&format!("127.0.0.1:{port}")]);
    assert!(!stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn the_seed_example_config_runs_a_job_and_stops_on_sigterm() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let runner = hero_test_support::workspace_binary("osis_runner");
    let port = hero_test_support::free_port();
    // The seed's example, with real paths and this test's Redis and port.
    let config = format!(
        r#"# config.toml
redis_url = "{redis}"
namespace = "hero"
bind_address = "127.0.0.1"
port = {port}
# Admin secrets for full access
admin_secrets = ["admin-secret-123"]
# User secrets for job operations
user_secrets = ["user-secret-456"]
# Register secrets for runner registration
register_secrets = ["register-secret-789"]
[[actors]]
id = "osis_runner_1"
name = "osis_runner_1"
binary_path = "{runner}"
db_path = "{db}"
redis_url = "{redis}"
process_manager = "simple"
"#,
        redis = redis.url(),
        runner = runner.display(),
        db = dir.path().join("osis_db").display(),
    );
    let (mut child, first) = serve(&config, dir.path(), "trace");
    assert!(first.contains(&format!("127.0.0.1:{port}")), "{first}");

    let client =
        hero_supervisor_openrpc_client::SupervisorClient::new(format!("http://127.0.0.1:{port}"))
            .unwrap();
    let job = hero_supervisor_openrpc_client::JobBuilder::new()
        .payload("print(\"Hello\")")
        .executor("osis")
        .runner("osis_runner_1")
        .build()
        .unwrap();
    let result = common::bounded(client.job_run("user-secret-456", job))
        .await
        .unwrap();
    assert_eq!(
        result,
        hero_supervisor_openrpc_client::JobResult::success("Hello")
    );

    let status = terminate(&mut child).await;
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("DEBUG"), "RUST_LOG=trace gives debug logs");
    for secret in ["admin-secret-123", "user-secret-456", "register-secret-789"] {
        assert!(!stderr.contains(secret), "a secret reached the log");
    }
}

/// A full scenario at debug level: no secret in any log line, runner log, error or response.
#[tokio::test]
async fn no_secret_reaches_a_log_an_error_or_a_response() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = hero_test_support::free_port();
    let secrets = [
        "admin-Zq81-secret",
        "user-Xp42-secret",
        "register-Wk07-secret",
        "added-Vm55-secret",
        "wrong-Ty66-secret",
    ];
    let config = format!(
        "redis_url = \"{redis}\"\nport = {port}\nadmin_secrets = [\"{}\"]\n\
         user_secrets = [\"{}\"]\nregister_secrets = [\"{}\"]\n\
         [[actors]]\nid = \"osis_runner_1\"\nname = \"osis_runner_1\"\nbinary_path = \"{runner}\"\n",
        secrets[0],
        secrets[1],
        secrets[2],
        redis = redis.url(),
        runner = hero_test_support::workspace_binary("osis_runner").display(),
    );
    let (mut child, listening) = serve(&config, dir.path(), "debug");
    assert!(listening.contains(&port.to_string()), "{listening}");

    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let mut answers = String::new();
    let [admin, user, register, added, wrong] = secrets;
    let calls = [
        (
            "job.run",
            serde_json::json!([user, {"payload": "print(\"hi\")", "executor": "osis",
            "runner": "osis_runner_1", "env_vars": {"TOKEN": "not-a-secret"}}]),
        ),
        ("jobs.list", serde_json::json!([wrong])),
        ("add_secret", serde_json::json!([admin, "user", added])),
        ("jobs.list", serde_json::json!([added])),
        ("remove_secret", serde_json::json!([admin, "user", added])),
        ("jobs.list", serde_json::json!([added])),
        ("job.status", serde_json::json!([user])),
        (
            "register_runner",
            serde_json::json!([register, "far_runner"]),
        ),
        ("list_runners", serde_json::json!([user])),
        (
            "get_runner_logs",
            serde_json::json!([admin, "osis_runner_1"]),
        ),
        ("get_supervisor_info", serde_json::json!([admin])),
    ];
    for (method, params) in calls {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let answer = common::bounded(http.post(&url).json(&body).send())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        answers.push_str(&answer);
    }

    terminate(&mut child).await;
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    for entry in std::fs::read_dir(dir.path().join("logs")).unwrap() {
        logs.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap());
    }
    assert!(logs.contains("DEBUG"), "the scenario ran at debug level");
    assert!(answers.contains("\"success\":\"hi\""), "{answers}");
    for secret in secrets {
        assert!(!logs.contains(secret), "{secret} reached a log");
        assert!(
            !answers.contains(secret),
            "{secret} reached a response: {answers}"
        );
    }
}
