//! Redis Cluster: a supervisor and its runner on a `redis+cluster://` URL serve every kind of
//! call — `job.run`, a bulk submit drained by the runner, listings and counts — with the
//! runner's queue and jobs in its shard, on the master that serves the shard's hash tag.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, TestSupervisor, USER, bounded, job, until};
use hero_job::{JobResult, JobStatus};
use hero_supervisor_openrpc_client::{ListFilter, StatusFilter};
use hero_test_support::RedisCluster;

const JOBS: usize = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_and_its_runner_on_a_cluster_run_list_and_count_jobs() {
    // Declared first, dropped last: the runner must not lose the cluster before it stops.
    let cluster = tokio::task::block_in_place(RedisCluster::start);
    let url = cluster.url();
    let supervisor = TestSupervisor::start_with(|config| {
        config.redis_url = Some(url);
        config.namespace = "cluster".into();
    })
    .await;
    until("its runner runs", || async {
        supervisor
            .client
            .get_runner_status(ADMIN, RUNNER)
            .await
            .is_ok_and(|info| info.pid.is_some())
    })
    .await;

    let result = bounded(
        supervisor
            .client
            .job_run(USER, job("40 + 2").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        result,
        JobResult::Success {
            success: "42".into()
        }
    );

    let jobs = (0..JOBS)
        .map(|n| job(&format!("{n} * 2")).build().unwrap())
        .collect();
    let ids = bounded(supervisor.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    assert_eq!(ids.len(), JOBS);
    until("the runner drains the bulk submit", || async {
        let mut done = 0;
        for id in &ids {
            if let Ok(info) = supervisor.client.job_status(id).await {
                done += usize::from(info.status == JobStatus::Completed);
            }
        }
        done == JOBS
    })
    .await;
    for (n, id) in ids.iter().enumerate() {
        let result = bounded(supervisor.client.job_result_with_secret(id, USER))
            .await
            .unwrap();
        assert_eq!(
            result,
            JobResult::Success {
                success: (n * 2).to_string()
            },
            "job {n}"
        );
    }

    let completed = ListFilter {
        status: Some(StatusFilter::One(JobStatus::Completed)),
        runner: Some(RUNNER.into()),
        ..ListFilter::default()
    };
    let listed = bounded(supervisor.client.jobs_list_filtered(USER, &completed))
        .await
        .unwrap();
    assert_eq!(listed.len(), JOBS + 1, "every job is listed as completed");

    let info = bounded(supervisor.client.supervisor_info(ADMIN))
        .await
        .unwrap();
    assert_eq!(info.jobs.total, u64::try_from(JOBS + 1).unwrap());
    assert_eq!(
        info.jobs.by_status.get("completed").copied(),
        Some(u64::try_from(JOBS + 1).unwrap())
    );
    assert_eq!(info.runners.by_status.get("running").copied(), Some(1));

    // Every job is in the runner's shard, on the master of its hash tag.
    let jobs_index = format!("{{cluster/{RUNNER}}}:v1:jobs");
    let port = cluster.master_of(&jobs_index);
    let mut conn = redis::Client::open(format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let stored: u64 = redis::cmd("ZCARD")
        .arg(&jobs_index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, u64::try_from(JOBS + 1).unwrap());
    supervisor.stop().await;
}
