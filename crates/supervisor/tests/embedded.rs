//! The supervisor with no `redis_url`: the embedded store under its data directory, its
//! actors reaching it through the runner socket, and no Redis anywhere.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, USER, bounded};
use hero_supervisor::config::Config;
use hero_supervisor_openrpc_client::{JobBuilder, JobResult, SupervisorClient};

/// The configuration `supervisor` runs with when given none, on `data_dir`, with the
/// workspace's runner binaries and the tests' secrets.
fn default_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::default_local();
    assert_eq!(config.redis_url, None, "the default names no Redis");
    config.port = 0;
    config.data_dir = Some(data_dir.to_owned());
    config.admin_secrets = vec![ADMIN.into()];
    config.user_secrets = vec![USER.into()];
    for actor in &mut config.actors {
        let binary = actor.binary_path.file_name().unwrap().to_owned();
        actor.binary_path = hero_test_support::workspace_binary(binary.to_str().unwrap());
    }
    config
}

async fn start(data_dir: &std::path::Path) -> (hero_supervisor::Running, SupervisorClient) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let running = bounded(hero_supervisor::start(default_config(data_dir), listener))
        .await
        .unwrap();
    let client = SupervisorClient::new(running.url()).unwrap();
    (running, client)
}

fn job(runner: &str, executor: &str, payload: &str) -> JobBuilder {
    JobBuilder::new()
        .caller_id("tests")
        .context_id("embedded")
        .payload(payload)
        .executor(executor)
        .runner(runner)
        .timeout(20)
}

#[tokio::test]
async fn the_default_configuration_runs_osis_and_sal_jobs_with_no_redis() {
    let dir = tempfile::tempdir().unwrap();
    let (running, client) = start(dir.path()).await;
    let info = bounded(client.supervisor_info(ADMIN)).await.unwrap();
    assert_eq!(info.backend.kind, "embedded");
    assert!(dir.path().join("store.redb").is_file());
    let answer = bounded(client.job_run(
        USER,
        job("osis_runner_1", "osis", "40 + 2").build().unwrap(),
    ))
    .await
    .unwrap();
    assert_eq!(
        answer,
        JobResult::Success {
            success: "42".into()
        }
    );
    // sal_runner_1 has system access: admin secrets only.
    let refused = bounded(client.job_run(USER, job("sal_runner_1", "sal", "1").build().unwrap()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(-32001), "{refused}");
    let answer = bounded(
        client.job_run(
            ADMIN,
            job("sal_runner_1", "sal", "print(\"sal\")")
                .build()
                .unwrap(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        JobResult::Success {
            success: "sal".into()
        }
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(dir.path().join("store.redb"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the store file is the supervisor's user's only"
    );
    bounded(running.serve_until(async {})).await;
}

/// The `supervisor` binary with no `redis_url`, on `dir`, serving on a free port; stopped
/// (SIGTERM, then waited for) when dropped.
struct Process {
    child: std::process::Child,
    url: String,
}

impl Process {
    fn start(dir: &std::path::Path) -> Self {
        use std::io::BufRead as _;
        let config = format!(
            "port = 0\nadmin_secrets = [{ADMIN:?}]\nuser_secrets = [{USER:?}]\n\n\
             [[actors]]\nid = \"osis_runner_1\"\nname = \"osis_runner_1\"\nbinary_path = {:?}\n",
            hero_test_support::workspace_binary("osis_runner")
        );
        let path = dir.join("config.toml");
        std::fs::write(&path, config).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_supervisor"))
            .arg("--config")
            .arg(&path)
            .env("HERO_SUPERVISOR_DATA_DIR", dir)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .strip_prefix("supervisor listening on ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        Self { child, url }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn jobs_and_secrets_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = Process::start(dir.path());
    let client = SupervisorClient::new(&first.url).unwrap();
    bounded(client.add_secret(ADMIN, "user", "granted-at-run-time"))
        .await
        .unwrap();
    let id = bounded(client.jobs_create(
        "granted-at-run-time",
        job("osis_runner_1", "osis", "6 * 7").build().unwrap(),
    ))
    .await
    .unwrap();
    bounded(client.job_start("granted-at-run-time", &id))
        .await
        .unwrap();
    let before = bounded(client.job_result(&id)).await.unwrap();
    assert_eq!(
        before,
        JobResult::Success {
            success: "42".into()
        }
    );
    drop(first);

    let second = Process::start(dir.path());
    let client = SupervisorClient::new(&second.url).unwrap();
    let info = bounded(client.supervisor_info(ADMIN)).await.unwrap();
    assert_eq!(info.backend.kind, "embedded");
    let after = bounded(client.job_result(&id)).await.unwrap();
    assert_eq!(after, before, "the job and its result are kept");
    let listed = bounded(client.jobs_list("granted-at-run-time"))
        .await
        .unwrap();
    assert!(
        listed.iter().any(|j| j.job.id == id),
        "the secret granted before the restart works"
    );
    let again = bounded(client.job_run(
        "granted-at-run-time",
        job("osis_runner_1", "osis", "1 + 1").build().unwrap(),
    ))
    .await
    .unwrap();
    assert_eq!(
        again,
        JobResult::Success {
            success: "2".into()
        }
    );
}
