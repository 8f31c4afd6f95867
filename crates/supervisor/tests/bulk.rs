//! `jobs.create_many` end to end: real supervisor, real Redis, real `osis_runner`.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, TestSupervisor, USER, bounded, job};
use hero_supervisor_openrpc_client::{JobResult, JobStatus};
use serde_json::{Value, json};

fn raw_job(payload: &str) -> Value {
    json!({"payload": payload, "executor": "osis", "runner": RUNNER, "timeout": 20})
}

/// Calls `jobs.create_many` expecting a refusal; returns its code and message.
async fn refused(sup: &TestSupervisor, params: Value) -> (i64, String) {
    let answer = sup.call("jobs.create_many", params).await;
    let error = &answer["error"];
    let code = error["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("jobs.create_many should fail, got {answer}"));
    (code, error["message"].as_str().unwrap().to_owned())
}

async fn stored_ids(sup: &TestSupervisor) -> Vec<String> {
    let jobs = bounded(sup.client.jobs_list(ADMIN)).await.unwrap();
    jobs.into_iter().map(|j| j.job.id).collect()
}

#[tokio::test]
async fn create_many_answers_the_ids_in_order_and_every_job_runs_to_its_result() {
    let sup = TestSupervisor::start().await;
    let jobs = vec![
        job("1 + 1").build().unwrap(),
        job("2 + 2").id("chosen-id").build().unwrap(),
        job("3 + 3").build().unwrap(),
    ];
    let ids = bounded(sup.client.jobs_create_many(USER, jobs, true))
        .await
        .unwrap();
    assert_eq!(ids.len(), 3);
    assert_eq!(ids[1], "chosen-id");
    assert_ne!(ids[0], ids[2]);
    for (id, expected) in ids.iter().zip(["2", "4", "6"]) {
        let result = bounded(sup.client.job_result(id)).await.unwrap();
        assert_eq!(result, JobResult::success(expected), "job {id}");
    }
    sup.stop().await;
}

#[tokio::test]
async fn create_many_with_start_false_leaves_the_jobs_created_until_started() {
    let sup = TestSupervisor::start().await;
    let jobs = vec![job("5").build().unwrap(), job("6").build().unwrap()];
    let ids = bounded(sup.client.jobs_create_many(USER, jobs, false))
        .await
        .unwrap();
    for id in &ids {
        let status = bounded(sup.client.job_status(id)).await.unwrap();
        assert_eq!(status.status, JobStatus::Created);
    }
    bounded(sup.client.job_start(USER, &ids[0])).await.unwrap();
    let result = bounded(sup.client.job_result(&ids[0])).await.unwrap();
    assert_eq!(result, JobResult::success("5"));
    sup.stop().await;
}

#[tokio::test]
async fn one_invalid_job_in_the_middle_is_refused_by_its_index_and_nothing_is_stored() {
    let sup = TestSupervisor::start().await;
    let jobs = json!([raw_job("1"), raw_job("2"), raw_job(""), raw_job("4")]);
    let (code, message) = refused(&sup, json!([USER, jobs])).await;
    assert_eq!(code, -32602, "{message}");
    assert!(message.starts_with("jobs[2]: "), "{message}");
    assert!(message.contains("payload"), "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    sup.stop().await;
}

#[tokio::test]
async fn an_id_given_twice_in_one_call_is_a_conflict_naming_the_second_and_nothing_is_stored() {
    let sup = TestSupervisor::start().await;
    let mut twin = raw_job("2");
    twin["id"] = json!("twin");
    let mut again = raw_job("3");
    again["id"] = json!("twin");
    let (code, message) = refused(&sup, json!([USER, [raw_job("1"), twin, again]])).await;
    assert_eq!(code, -32003, "{message}");
    assert!(message.starts_with("jobs[2]: "), "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    sup.stop().await;
}

#[tokio::test]
async fn a_taken_id_is_a_conflict_naming_its_index_and_nothing_else_is_stored() {
    let sup = TestSupervisor::start().await;
    let first = job("1").id("taken").build().unwrap();
    bounded(sup.client.jobs_create(USER, first)).await.unwrap();
    let mut taken = raw_job("2");
    taken["id"] = json!("taken");
    let params = json!({"secret": USER, "jobs": [raw_job("0"), taken], "start": true});
    let (code, message) = refused(&sup, params).await;
    assert_eq!(code, -32003, "{message}");
    assert!(message.starts_with("jobs[1]: "), "{message}");
    assert_eq!(stored_ids(&sup).await, ["taken"]);
    let kept = bounded(sup.client.job_status("taken")).await.unwrap();
    assert_eq!(
        kept.status,
        JobStatus::Created,
        "the taken job is left alone"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_users_job_for_an_admin_only_runner_is_refused_by_its_index_and_nothing_is_stored() {
    let sup = TestSupervisor::start().await;
    let registered = sup
        .call(
            "register_runner",
            json!({"secret": ADMIN, "name": "vault", "queue": "vault", "access": "admin"}),
        )
        .await;
    assert_eq!(registered["result"], "vault", "{registered}");
    let mut guarded = raw_job("2");
    guarded["runner"] = json!("vault");
    let (code, message) = refused(&sup, json!([USER, [raw_job("1"), guarded]])).await;
    assert_eq!(code, -32001, "{message}");
    assert!(message.starts_with("jobs[1]: "), "{message}");
    assert!(message.contains("vault"), "{message}");

    let mut unknown = raw_job("3");
    unknown["runner"] = json!("nobody");
    let (code, message) = refused(&sup, json!([USER, [unknown, raw_job("1")]])).await;
    assert_eq!(code, -32002, "{message}");
    assert!(message.starts_with("jobs[0]: "), "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    sup.stop().await;
}

#[tokio::test]
async fn more_jobs_than_max_jobs_per_call_are_refused_and_nothing_is_stored() {
    let sup = TestSupervisor::start_with(|config| config.limits.max_jobs_per_call = 3).await;
    let four = json!([raw_job("1"), raw_job("2"), raw_job("3"), raw_job("4")]);
    let (code, message) = refused(&sup, json!([USER, four])).await;
    assert_eq!(code, -32602, "{message}");
    assert!(message.contains("at most 3"), "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    let three = json!([raw_job("1"), raw_job("2"), raw_job("3")]);
    let answer = sup.call("jobs.create_many", json!([USER, three])).await;
    assert_eq!(
        answer["result"].as_array().map(Vec::len),
        Some(3),
        "{answer}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_job_field_of_the_wrong_type_is_refused_naming_its_index_and_nothing_is_stored() {
    let sup = TestSupervisor::start().await;
    let mut wrong = raw_job("2");
    wrong["timeout"] = json!("ten");
    let params = json!({"secret": USER, "jobs": [raw_job("1"), wrong], "start": true});
    let (code, message) = refused(&sup, params).await;
    assert_eq!(code, -32602, "{message}");
    assert!(message.contains("jobs[1].timeout"), "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    sup.stop().await;
}

#[tokio::test]
async fn a_param_named_twice_counts_with_its_last_value_as_in_any_other_method() {
    let sup = TestSupervisor::start().await;
    let one = json!([raw_job("1")]);
    let two = json!([raw_job("2"), raw_job("3")]);
    let body = format!(
        r#"{{"jsonrpc": "2.0", "id": 1, "method": "jobs.create_many", "params":
            {{"secret": "{USER}", "jobs": {one}, "start": true, "jobs": {two}, "start": false}}}}"#
    );
    let answer = sup.raw(body).await;
    let ids = answer["result"].as_array().expect("ids");
    assert_eq!(ids.len(), 2, "{answer}");
    for id in ids {
        let status = bounded(sup.client.job_status(id.as_str().unwrap()))
            .await
            .unwrap();
        assert_eq!(status.status, JobStatus::Created);
    }
    sup.stop().await;
}

#[tokio::test]
async fn an_unknown_param_or_a_wrong_secret_is_refused_before_the_jobs_are_read() {
    let sup = TestSupervisor::start().await;
    let params = json!({"secret": USER, "jobs": [raw_job("1")], "queue": "x"});
    let (code, message) = refused(&sup, params).await;
    assert_eq!(code, -32602, "{message}");
    assert!(message.contains("unknown param `queue`"), "{message}");

    // Jobs that would be refused as params are never looked at for a caller without rights.
    let params = json!({"secret": "not-a-secret", "jobs": [{"timeout": "ten"}]});
    let (code, message) = refused(&sup, params).await;
    assert_eq!(code, -32001, "{message}");
    assert!(stored_ids(&sup).await.is_empty());
    sup.stop().await;
}
