//! The `supervisor` binary as a user runs it: bad configs fail with one clear line, the
//! seed's example config starts, SIGTERM stops it cleanly.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hero_supervisor_openrpc_client::{ClientError, JobResult, SupervisorClient};
use hero_test_support::{RedisCluster, RedisServer, SentinelSet, TIMEOUT};

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
    serve_with_env(config, dir, level, &[])
}

/// As [`serve`], with `env` added to the supervisor's environment.
fn serve_with_env(
    config: &str,
    dir: &std::path::Path,
    level: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = Command::new(SUPERVISOR)
        .arg("--config")
        .arg(&path)
        .env("HERO_SUPERVISOR_DATA_DIR", dir)
        .env("RUST_LOG", level)
        .envs(env.iter().copied())
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

/// The environment `pid` was started with: `NAME=VALUE` entries.
fn environ(pid: u64) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
    raw.split(|&byte| byte == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .collect()
}

/// Issue 10: runners saw the supervisor's own environment variables, secrets included, and
/// their log files were readable by everyone.
#[tokio::test]
async fn runners_of_both_process_managers_get_a_clean_environment_and_private_logs() {
    use std::os::unix::fs::PermissionsExt;
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let port = hero_test_support::free_port();
    let socket = format!("hero-test-env-{}", std::process::id());
    let runner = hero_test_support::workspace_binary("osis_runner");
    let config = format!(
        r#"redis_url = "{redis}"
port = {port}
admin_secrets = ["admin-secret-123"]
tmux_socket = "{socket}"
[[actors]]
id = "plain"
name = "plain"
binary_path = "{runner}"
env = {{ OSIS_MAX_OPERATIONS = "1000000" }}
[[actors]]
id = "windowed"
name = "windowed"
binary_path = "{runner}"
process_manager = "tmux:hero_env_test"
env = {{ OSIS_MAX_OPERATIONS = "1000000" }}
"#,
        redis = redis.url(),
        runner = runner.display(),
    );
    let env = [
        ("HERO_TEST_UNUSUAL", "leaked-if-seen"),
        ("HERO_USER_SECRETS", "user-secret-from-env"),
    ];
    let (mut child, first) = serve_with_env(&config, dir.path(), "info", &env);
    assert!(first.contains(&port.to_string()), "{first}");

    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}");
    let pid_of = async |actor: &str| {
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1,
            "method": "get_runner_status", "params": ["admin-secret-123", actor]});
        let answer: serde_json::Value = common::bounded(http.post(&url).json(&body).send())
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["result"]["pid"].as_u64()
    };
    for actor in ["plain", "windowed"] {
        // A tmux window execs twice before it is the runner: wait for the runner's own.
        common::until("the runner runs with its environment", || async {
            let pid = pid_of(actor).await;
            pid.is_some_and(|pid| {
                environ(pid)
                    .iter()
                    .any(|entry| entry.starts_with("HERO_REDIS_URL="))
            })
        })
        .await;
        let pid = pid_of(actor).await.expect("a running runner has a pid");
        let seen = environ(pid);
        let names: Vec<&str> = seen
            .iter()
            .filter_map(|entry| entry.split_once('=').map(|(name, _)| name))
            .collect();
        let allowed = [
            "PATH",
            "HOME",
            "LANG",
            "TZ",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "RUST_LOG",
            "HERO_REDIS_URL",
            "HERO_SUPERVISOR_PID",
            "OSIS_MAX_OPERATIONS",
        ];
        let extra: Vec<&&str> = names
            .iter()
            .filter(|name| !allowed.contains(name))
            .collect();
        assert!(extra.is_empty(), "{actor} has {extra:?}");
        assert!(names.contains(&"OSIS_MAX_OPERATIONS"), "{actor}: {names:?}");
        let log = dir.path().join("logs").join(format!("{actor}.log"));
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", log.display());
    }

    let status = terminate(&mut child).await;
    // The test's private tmux server goes with it; failing to end it leaves no job behind.
    let _ = Command::new("tmux")
        .args(["-L", &socket, "kill-server"])
        .output();
    assert!(status.success(), "{status}");
}

#[test]
fn a_newline_in_a_tmux_bound_value_is_refused_naming_the_key() {
    let runner = hero_test_support::workspace_binary("osis_runner");
    let config = format!(
        "[[actors]]\nid = \"osis_runner_1\"\nname = \"osis_runner_1\"\n\
         binary_path = \"{}\"\nprocess_manager = \"tmux:s\"\n\
         env = {{ GREETING = \"hi\\nrun-shell 'touch /tmp/x'\" }}\n",
        runner.display()
    );
    let (ok, stderr) = run_with(&config);
    assert!(!ok);
    assert_one_clear_line(
        &stderr,
        &["actors.osis_runner_1.env.GREETING", "control characters"],
    );
    assert!(
        !stderr.contains("run-shell"),
        "the value is not repeated: {stderr}"
    );
}

/// A self-signed certificate for `127.0.0.1` written into `dir` as PEM; returns the paths of
/// the certificate and of its key.
fn self_signed(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert, key) = (dir.join("redis.crt"), dir.join("redis.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

/// The connections of the supervisor and the runner to one Redis node: its TLS port and
/// their `CLIENT LIST` lines.
type Connections = (u16, Vec<String>);

/// Starts a supervisor and its runner on the TLS `url`, trusting `cert` through
/// `SSL_CERT_FILE`, runs one job, and returns its result and the connections to each of
/// `nodes`, read once the runner waits for its next job on one of them.
async fn a_job_over_tls(
    url: &str,
    cert: &std::path::Path,
    nodes: &[&RedisServer],
) -> (Result<JobResult, ClientError>, Vec<Connections>) {
    let dir = tempfile::tempdir().unwrap();
    let port = hero_test_support::free_port();
    let config = format!(
        "redis_url = \"{url}\"\nport = {port}\nadmin_secrets = [\"{}\"]\n\
         user_secrets = [\"{}\"]\n\
         [[actors]]\nid = \"{RUNNER}\"\nname = \"{RUNNER}\"\nbinary_path = \"{runner}\"\n\
         transport = \"redis\"\n",
        common::ADMIN,
        common::USER,
        RUNNER = common::RUNNER,
        runner = hero_test_support::workspace_binary("osis_runner").display(),
    );
    let (mut child, listening) = serve_with_env(
        &config,
        dir.path(),
        "info",
        &[("SSL_CERT_FILE", cert.to_str().unwrap())],
    );
    assert!(listening.contains(&port.to_string()), "{listening}");
    let client = SupervisorClient::new(format!("http://127.0.0.1:{port}")).unwrap();
    let result =
        common::bounded(client.job_run(common::USER, common::job("40 + 2").build().unwrap())).await;
    // Sentinels, replicas and cluster peers are connected too; the rest are the
    // supervisor's and the runner's. The runner waits for work blocked in `BLMOVE`
    // (`flags=b`).
    let connections = || -> Vec<Connections> {
        nodes
            .iter()
            .map(|node| {
                let all: String = redis::cmd("CLIENT")
                    .arg("LIST")
                    .query(&mut node.connection())
                    .unwrap();
                let ours = all
                    .lines()
                    .filter(|line| !line.contains(" name=sentinel-") && !line.contains(" flags=S "))
                    .filter(|line| !line.contains("cmd=client|list"))
                    .map(str::to_owned)
                    .collect();
                (node.tls_port().unwrap(), ours)
            })
            .collect()
    };
    let waiting = |all: &[Connections]| {
        all.iter()
            .flat_map(|(_, lines)| lines)
            .any(|line| line.contains(" flags=b "))
    };
    // Polled without panicking, so that the supervisor and its runner are always stopped;
    // the caller asserts.
    let mut ours = connections();
    let deadline = Instant::now() + TIMEOUT;
    while !waiting(&ours) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        ours = connections();
    }
    terminate(&mut child).await;
    (result, ours)
}

/// Asserts that the runner was connected, waiting for work, and that every connection of
/// the supervisor and the runner came in on its node's TLS port.
fn assert_all_on_the_tls_port(connections: &[Connections]) {
    let lines = || connections.iter().flat_map(|(_, lines)| lines);
    assert!(
        lines().any(|line| line.contains(" flags=b ")),
        "the runner waits for work: {connections:#?}"
    );
    for (tls_port, lines) in connections {
        // `laddr` is the server's end of the connection.
        let on = format!(" laddr=127.0.0.1:{tls_port} ");
        assert!(lines.iter().all(|line| line.contains(&on)), "{lines:#?}");
    }
}

/// `rediss://`: with Redis' certificate trusted through `SSL_CERT_FILE`, the supervisor and
/// the runner it starts store and run a job over TLS, and none of their connections uses
/// Redis' plain port.
#[tokio::test]
async fn a_supervisor_and_its_runner_reach_redis_over_tls_trusted_through_ssl_cert_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let redis = RedisServer::start_tls(&cert, &key);
    let tls_url = redis.tls_url().unwrap();
    let (result, connections) = a_job_over_tls(&tls_url, &cert, &[&redis]).await;
    assert_eq!(result.unwrap(), JobResult::success("42"));
    assert_all_on_the_tls_port(&connections);
}

/// `rediss+cluster://`: the same over a three-master Redis Cluster, whose nodes meet over
/// TLS and tell a TLS client their TLS ports.
#[tokio::test]
async fn a_supervisor_and_its_runner_reach_a_redis_cluster_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let cluster = RedisCluster::start_tls(&cert, &key);
    let tls_url = cluster.tls_url().unwrap();
    assert!(tls_url.starts_with("rediss+cluster://"), "{tls_url}");
    let nodes: Vec<&RedisServer> = (0..3).map(|i| cluster.node(i)).collect();
    let (result, connections) = a_job_over_tls(&tls_url, &cert, &nodes).await;
    assert_eq!(result.unwrap(), JobResult::success("42"));
    assert_all_on_the_tls_port(&connections);
}

/// `rediss+sentinel://`: the same through a Sentinel set whose sentinels and data nodes all
/// speak TLS; the sentinels name the master's TLS port.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_and_its_runner_reach_a_sentinel_set_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let mut set = tokio::task::block_in_place(|| SentinelSet::start_tls(&cert, &key));
    let url = set.url();
    assert!(url.starts_with("rediss+sentinel://"), "{url}");
    let master = set.master_port().unwrap();
    let master: &RedisServer = set.node(master);
    let (result, connections) = a_job_over_tls(&url, &cert, &[master]).await;
    assert_eq!(result.unwrap(), JobResult::success("42"));
    assert_all_on_the_tls_port(&connections);
}

/// A Redis whose certificate is not trusted stops start-up with one line naming the
/// store's address, as an unreachable one does.
#[test]
fn a_redis_whose_certificate_is_not_trusted_stops_start_up_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(dir.path());
    let redis = RedisServer::start_tls(&cert, &key);
    let tls_url = redis.tls_url().unwrap();
    let with_password = tls_url.replace("rediss://", "rediss://:hunter2@");
    let (ok, stderr) = run_with(&format!(
        "redis_url = \"{with_password}\"\nport = 0\nadmin_secrets = [\"a\"]\n"
    ));
    assert!(!ok);
    assert_one_clear_line(
        &stderr,
        &[tls_url.trim_start_matches("rediss://"), "UnknownIssuer"],
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
