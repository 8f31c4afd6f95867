//! What the runner binaries' tests share (the `sal` crate includes this file by path): a
//! real runner process on a private Redis, and jobs submitted and awaited through the store.

// Each test crate uses part of these helpers.
#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use hero_job::{Job, JobBuilder, JobRecord, JobResult};
use hero_store::Store;
use hero_store_redis::RedisStore;
use hero_test_support::{RedisServer, TIMEOUT, eventually};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The Redis key prefix of every test runner.
pub(crate) const NAMESPACE: &str = "runner-test";

/// A runner process, killed when dropped however the test ends; its log is kept.
pub(crate) struct RunnerProcess {
    child: Child,
    log: Arc<Mutex<String>>,
    /// Ends once the process and anything sharing its stderr have exited.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl RunnerProcess {
    /// Starts `binary` as the supervisor would, serving `queue` on `redis` with `db_path`;
    /// `configure` adds flags or environment.
    pub(crate) fn start(
        binary: &str,
        queue: &str,
        redis: &RedisServer,
        db_path: &Path,
        configure: impl FnOnce(&mut Command),
    ) -> Self {
        let mut command = Self::command(binary, queue, redis);
        command.arg("--db-path").arg(db_path);
        configure(&mut command);
        Self::spawn(command)
    }

    /// The supervisor's command line for `binary` serving `queue` on `redis`, without
    /// `--db-path`; logs at info level.
    pub(crate) fn command(binary: &str, queue: &str, redis: &RedisServer) -> Command {
        let mut command = Command::new(binary);
        command
            .args(["--id", queue, "--name", queue])
            .args(["--redis-url", &redis.url(), "--namespace", NAMESPACE])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }

    /// Starts `command`, keeping what it writes to stderr as its log.
    pub(crate) fn spawn(mut command: Command) -> Self {
        let mut child = command.spawn().expect("the runner binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let kept = log.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Shown with the test's output when it fails.
                eprintln!("{line}");
                let mut kept = kept.lock().unwrap_or_else(PoisonError::into_inner);
                kept.push_str(&line);
                kept.push('\n');
            }
        });
        Self {
            child,
            log,
            reader: Some(reader),
        }
    }

    /// Everything the runner has logged so far.
    pub(crate) fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Whether the process is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("the child's status").is_none()
    }

    /// Waits up to [`TIMEOUT`] for the process to exit on its own; returns its status and
    /// its whole log.
    pub(crate) async fn exited(mut self) -> (ExitStatus, String) {
        let exited = eventually(TIMEOUT, || {
            let running = self.is_running();
            async move { !running }
        })
        .await;
        assert!(exited, "the runner exits");
        let status = self.child.wait().expect("the exit status");
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the log reader does not panic");
        }
        (status, self.log())
    }

    /// Sends SIGTERM and asserts the runner shuts down cleanly.
    pub(crate) async fn terminate(self) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pids fit in i32"));
        kill(pid, Signal::SIGTERM).expect("the runner can be signalled");
        let (status, log) = self.exited().await;
        assert!(
            status.success(),
            "SIGTERM is a clean shutdown: {status}\n{log}"
        );
    }
}

impl Drop for RunnerProcess {
    fn drop(&mut self) {
        // The child may already have exited; either way it must not outlive the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Awaits `future`, failing the test when it takes longer than [`TIMEOUT`].
pub(crate) async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {TIMEOUT:?}"))
}

/// A store on `redis` in the runners' namespace.
pub(crate) async fn connect(redis: &RedisServer) -> RedisStore {
    bounded("connecting", RedisStore::connect(&redis.url(), NAMESPACE))
        .await
        .expect("the test redis accepts connections")
}

/// A job for `queue` running `payload` with `executor`, timing out after `timeout` seconds.
pub(crate) fn job(
    queue: &str,
    executor: &str,
    id: &str,
    payload: &str,
    timeout: u64,
) -> JobBuilder {
    JobBuilder::new()
        .id(id)
        .payload(payload)
        .executor(executor)
        .runner(queue)
        .timeout(timeout)
}

/// Submits `job` for its runner to claim.
pub(crate) async fn submit(store: &RedisStore, job: JobBuilder) -> Job {
    let job = job.build().expect("a valid job");
    bounded("submit", store.submit_job(&job, None))
        .await
        .expect("submit");
    job
}

/// Waits for job `id` to reach a final state.
pub(crate) async fn wait_final(store: &RedisStore, id: &str) -> JobRecord {
    let record = bounded("wait_final", store.wait_final(id, TIMEOUT))
        .await
        .expect("the job exists");
    assert!(record.status.is_final(), "{id} is still {}", record.status);
    record
}

/// Submits `job` and waits for it to end.
pub(crate) async fn run_job(store: &RedisStore, job: JobBuilder) -> JobRecord {
    let id = submit(store, job).await.id;
    wait_final(store, &id).await
}

/// Asks job `id` to stop.
pub(crate) async fn stop(store: &RedisStore, id: &str) {
    bounded("stop", store.stop_job(id, None))
        .await
        .expect("stop");
}

/// Waits until job `id` is running.
pub(crate) async fn wait_running(store: &RedisStore, id: &str) {
    let running = eventually(TIMEOUT, || async {
        let record = bounded("job", store.job(id)).await.expect("the job exists");
        record.status == hero_job::JobStatus::Running
    })
    .await;
    assert!(running, "{id} starts running");
}

/// The output of a completed job.
pub(crate) fn output_of(record: &JobRecord) -> &str {
    match &record.result {
        Some(JobResult::Success { success }) => success,
        other => panic!("expected a success result, got {other:?}"),
    }
}

/// The error of a failed job.
pub(crate) fn error_of(record: &JobRecord) -> &str {
    match &record.result {
        Some(JobResult::Error { error }) => error,
        other => panic!("expected an error result, got {other:?}"),
    }
}

/// Asserts the two jobs ran at the same time: each started before the other completed.
pub(crate) fn assert_overlapped(a: &JobRecord, b: &JobRecord) {
    let times = |record: &JobRecord| {
        let started = record.started_at.expect("a finished job has started");
        let completed = record.completed_at.expect("a finished job has completed");
        (started, completed)
    };
    let ((a_start, a_end), (b_start, b_end)) = (times(a), times(b));
    assert!(
        a_start < b_end && b_start < a_end,
        "{} ran {a_start}..{a_end}, {} ran {b_start}..{b_end}",
        a.job.id,
        b.job.id
    );
}

/// The pid a command wrote as one line to `file`, once the line is complete.
pub(crate) fn read_pid(file: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(file).ok()?;
    text.strip_suffix('\n')?.trim().parse().ok()
}

/// Dead: no such process, or a zombie nobody has reaped yet.
pub(crate) fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}
