//! `[retention]` end to end: real supervisor, real Redis, real `osis_runner`. Finished jobs
//! are gone once their retention has passed, and the store holds no more keys than before
//! they were submitted.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, TestSupervisor, USER, bounded, job, until};
use hero_supervisor_api::codes;
use serde_json::{Value, json};

/// The keys of the test namespace, counted with `SCAN` as an operator would.
fn namespace_keys(sup: &TestSupervisor) -> usize {
    let mut conn = sup.redis.connection();
    let keys: redis::Iter<'_, String> = redis::cmd("SCAN")
        .cursor_arg(0)
        .arg("MATCH")
        .arg("test:v1:*")
        .arg("COUNT")
        .arg(1000)
        .clone()
        .iter(&mut conn)
        .unwrap();
    keys.count()
}

async fn job_counts(sup: &TestSupervisor) -> Value {
    let answer = sup.call("get_supervisor_info", json!([ADMIN])).await;
    answer["result"]["jobs"].clone()
}

#[tokio::test]
async fn finished_jobs_expire_and_the_store_returns_to_its_key_count() {
    let sup = TestSupervisor::start_with(|config| {
        config.retention.completed_secs = 1;
        config.retention.failed_secs = 1;
        config.retention.stopped_secs = 1;
    })
    .await;
    // The first run leaves what stays whatever the jobs: the runner's lease, its queue's
    // last-seen time and the attempt counter.
    let warm_up = bounded(sup.client.job_run(USER, job("1").build().unwrap()));
    warm_up.await.unwrap();
    let ids = sup.call("jobs.list", json!([USER])).await["result"].clone();
    let warm_up_id = ids[0]["id"].as_str().unwrap().to_owned();
    bounded(sup.client.job_delete(USER, &warm_up_id))
        .await
        .unwrap();
    let baseline = namespace_keys(&sup);

    let jobs = ["40 + 2", "print(\"hi\")", "throw \"broken\""]
        .into_iter()
        .enumerate()
        .map(|(i, payload)| {
            job(payload)
                .caller_id(format!("caller-{i}"))
                .context_id(format!("context-{i}"))
                .build()
                .unwrap()
        })
        .collect();
    let mut ids = bounded(sup.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    for id in &ids {
        bounded(sup.client.job_result(id)).await.unwrap();
    }
    let stopped = bounded(sup.client.jobs_create(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    bounded(sup.client.job_stop(USER, &stopped)).await.unwrap();
    ids.push(stopped);

    until(
        "the namespace is back to its keys before the jobs",
        || async { namespace_keys(&sup) == baseline },
    )
    .await;
    for id in &ids {
        for method in ["job.status", "job.result"] {
            let code = sup.error_code(method, json!([id])).await;
            assert_eq!(
                code,
                i64::from(codes::NOT_FOUND),
                "{method} of an expired job"
            );
        }
    }
    let listed = sup.call("jobs.list", json!([ADMIN])).await;
    assert_eq!(listed["result"], json!([]), "{listed}");
    assert_eq!(job_counts(&sup).await, json!({"total": 0, "by_status": {}}));
    sup.stop().await;
}
