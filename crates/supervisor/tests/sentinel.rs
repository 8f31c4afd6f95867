//! Redis Sentinel: a supervisor and its runner on a `redis+sentinel://` URL carry on across a
//! failover of the master in the middle of a drain, without a restart. With
//! `durability = "replicated"` every job a submit acknowledged was on a replica, so none is
//! lost whichever node the sentinels promote.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{ADMIN, RUNNER, USER, bounded, job, until};
use hero_job::{JobResult, JobStatus};
use hero_supervisor::Config;
use hero_supervisor::config::{
    ActorConfig, ActorTransport, Durability, ProcessManagerKind, RunnerAccess,
};
use hero_supervisor_openrpc_client::{ClientError, SupervisorClient};
use hero_test_support::{RedisServer, SentinelSet, TIMEOUT, workspace_binary};
use tokio::sync::oneshot;

/// Jobs in the drain; each sleeps a little, so the drain is still going when the master goes.
const JOBS: usize = 120;
const PAYLOAD: &str = "sleep(0.03); 40 + 2";

/// A supervisor served in-process, as the tests' harness does, on whatever Redis `url` names.
struct Supervisor {
    client: SupervisorClient,
    task: tokio::task::JoinHandle<()>,
    _stop: oneshot::Sender<()>,
    _data_dir: tempfile::TempDir,
}

impl Supervisor {
    async fn start(url: String, durability: Durability) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_local();
        config.redis_url = Some(url);
        config.durability = durability;
        config.durability_timeout_ms = 2000;
        config.namespace = "sentinel".into();
        config.data_dir = Some(data_dir.path().to_owned());
        config.admin_secrets = vec![ADMIN.into()];
        config.user_secrets = vec![USER.into()];
        config.actors = vec![ActorConfig {
            id: RUNNER.into(),
            name: RUNNER.into(),
            binary_path: workspace_binary("osis_runner"),
            db_path: None,
            redis_url: None,
            process_manager: ProcessManagerKind::Simple,
            concurrency: Some(4),
            // Longer than a failover takes, so the runner is never taken for lost meanwhile.
            env: [("HERO_RUNNER_LEASE_MS".to_owned(), "6000".to_owned())].into(),
            access: RunnerAccess::User,
            transport_choice: Some(ActorTransport::Redis),
        }];
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            hero_supervisor::run(config, listener, async {
                // A dropped sender also means stop.
                let _ = stopped.await;
            })
            .await
            .expect("supervisor runs");
        });
        let supervisor = Self {
            client: SupervisorClient::new(&url).unwrap(),
            task,
            _stop: stop,
            _data_dir: data_dir,
        };
        until("its runner runs", || async {
            supervisor
                .client
                .get_runner_status(ADMIN, RUNNER)
                .await
                .is_ok_and(|info| info.pid.is_some())
        })
        .await;
        supervisor
    }

    async fn runner_pid(&self) -> u32 {
        let info = bounded(self.client.get_runner_status(ADMIN, RUNNER))
            .await
            .unwrap();
        assert_eq!(info.restarts, 0, "the runner was never restarted");
        info.pid.unwrap()
    }

    /// The statuses of `ids`, `None` for a job the store does not have; `None` for all when
    /// the store cannot answer (a failover under way).
    async fn statuses(&self, ids: &[String]) -> Option<Vec<Option<JobStatus>>> {
        let mut statuses = Vec::with_capacity(ids.len());
        for id in ids {
            match bounded(self.client.job_status(id)).await {
                Ok(info) => statuses.push(Some(info.status)),
                Err(ClientError::NotFound { .. }) => statuses.push(None),
                Err(_) => return None,
            }
        }
        Some(statuses)
    }

    /// Polls until every job of `ids` has a final status or is missing, within [`TIMEOUT`];
    /// returns the last statuses read.
    async fn until_settled(&self, ids: &[String]) -> Vec<Option<JobStatus>> {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            if let Some(statuses) = self.statuses(ids).await {
                let settled = statuses.iter().all(|s| s.is_none_or(JobStatus::is_final));
                if settled || tokio::time::Instant::now() >= deadline {
                    return statuses;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the supervisor answers job.status again"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Submits one job with `job.run`, asking again while the store is unavailable, as a
    /// client would; returns its result.
    async fn run_after_failover(&self) -> JobResult {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let job = job("6 * 7").build().unwrap();
            match bounded(self.client.job_run(USER, job)).await {
                Ok(result) => return result,
                Err(error) => assert!(
                    tokio::time::Instant::now() < deadline,
                    "a job submitted after the failover runs: {error}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// How the master goes away.
#[derive(Debug, Clone, Copy)]
enum Failover {
    /// SIGKILL, as a crash: the sentinels notice within a second and promote the replica;
    /// the old master comes back later and rejoins as a replica.
    Kill,
    /// `SENTINEL FAILOVER`, as an operator before maintenance: the old master is demoted to a
    /// replica while its clients are still connected.
    Command,
}

/// Drains `JOBS` jobs with the master failed over once a few have completed, and checks
/// that every acknowledged job ends, none is lost, and new work runs, on the same supervisor
/// and runner processes.
async fn drain_across(failover: Failover) {
    let mut set = tokio::task::block_in_place(SentinelSet::start);
    let supervisor = Supervisor::start(set.url(), Durability::Replicated).await;
    let pid = supervisor.runner_pid().await;

    let jobs = (0..JOBS).map(|_| job(PAYLOAD).build().unwrap()).collect();
    let ids = bounded(supervisor.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    until("the drain is under way", || async {
        supervisor.statuses(&ids[..20]).await.is_some_and(|done| {
            done.iter()
                .filter(|s| **s == Some(JobStatus::Completed))
                .count()
                >= 5
        })
    })
    .await;

    let old = set.master_port().unwrap();
    match failover {
        Failover::Kill => {
            tokio::task::block_in_place(|| set.kill_master());
        }
        Failover::Command => tokio::task::block_in_place(|| set.fail_over()),
    }
    tokio::task::block_in_place(|| {
        let new = set.wait_for_new_master(old);
        match failover {
            // Back, so that replicated submits can be confirmed again.
            Failover::Kill => set.rejoin(old, new),
            Failover::Command => set.wait_until_replicated(),
        }
    });

    let statuses = supervisor.until_settled(&ids).await;
    let mut counts: HashMap<String, usize> = HashMap::new();
    for status in &statuses {
        *counts.entry(format!("{status:?}")).or_default() += 1;
    }
    if !statuses.iter().all(Option::is_some) {
        let state = tokio::task::block_in_place(|| set.describe());
        panic!("an acknowledged job was lost: {counts:?}\n{state}");
    }
    assert!(
        statuses.iter().flatten().all(|s| s.is_final()),
        "every acknowledged job ends: {counts:?}"
    );

    assert_eq!(
        supervisor.run_after_failover().await,
        JobResult::Success {
            success: "42".into()
        }
    );
    assert!(
        !supervisor.task.is_finished(),
        "the supervisor never stopped"
    );
    assert_eq!(
        supervisor.runner_pid().await,
        pid,
        "the same runner process"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_carries_on_after_the_master_is_killed_and_loses_no_acknowledged_job() {
    drain_across(Failover::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_carries_on_after_a_sentinel_failover_and_loses_no_acknowledged_job() {
    drain_across(Failover::Command).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_submit_that_no_replica_confirms_fails_as_unavailable_and_may_still_exist() {
    let redis = RedisServer::start();
    let supervisor = Supervisor::start(redis.url(), Durability::Replicated).await;
    let error = bounded(
        supervisor
            .client
            .jobs_create(USER, job(PAYLOAD).build().unwrap()),
    )
    .await
    .unwrap_err();
    let ClientError::BackendUnavailable { message } = error else {
        panic!("-32004 expected, got {error:?}");
    };
    assert!(message.contains("replica"), "{message}");
    assert!(message.contains("may exist"), "{message}");
    let kept = bounded(supervisor.client.jobs_list(USER)).await.unwrap();
    assert_eq!(
        kept.len(),
        1,
        "the master kept the job no replica confirmed"
    );
}
