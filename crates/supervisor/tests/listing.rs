//! `jobs.list` with a filter end to end: real supervisor, real Redis, real `osis_runner`.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, TestSupervisor, USER, bounded, job};
use hero_supervisor_openrpc_client::{ClientError, JobStatus, ListFilter, StatusFilter};
use serde_json::json;

const OTHER_USER: &str = "other-user-secret";

async fn start() -> TestSupervisor {
    TestSupervisor::start_with(|config| config.user_secrets.push(OTHER_USER.into())).await
}

/// The ids listed, in order.
async fn listed(sup: &TestSupervisor, secret: &str, filter: ListFilter) -> Vec<String> {
    bounded(sup.client.jobs_list_filtered(secret, &filter))
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.job.id)
        .collect()
}

/// The ids listed, sorted: jobs of one `jobs.create_many` call may share their millisecond,
/// where the order is by id.
async fn set(sup: &TestSupervisor, filter: ListFilter) -> Vec<String> {
    let mut ids = listed(sup, USER, filter).await;
    ids.sort();
    ids
}

fn sorted<const N: usize>(ids: [&String; N]) -> Vec<String> {
    let mut ids: Vec<String> = ids.into_iter().cloned().collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn each_filter_field_selects_only_the_jobs_it_names() {
    let sup = start().await;
    let mut jobs = Vec::new();
    for (i, (caller, context)) in [("alice", "a"), ("alice", "b"), ("bob", "a"), ("bob", "b")]
        .into_iter()
        .enumerate()
    {
        let built = job(&i.to_string())
            .caller_id(caller)
            .context_id(context)
            .build()
            .unwrap();
        jobs.push(built);
    }
    let ids = bounded(sup.client.jobs_create_many(USER, jobs, false))
        .await
        .unwrap();
    bounded(sup.client.job_start(USER, &ids[0])).await.unwrap();
    bounded(sup.client.job_stop(USER, &ids[0])).await.unwrap();
    let ran = bounded(sup.client.job_run(USER, job("40 + 2").build().unwrap()));
    ran.await.unwrap();

    let by_status = |status: StatusFilter| ListFilter {
        status: Some(status),
        ..ListFilter::default()
    };
    let stopped = listed(&sup, USER, by_status(StatusFilter::One(JobStatus::Stopped))).await;
    assert_eq!(stopped, [ids[0].clone()]);
    let created = set(&sup, by_status(StatusFilter::One(JobStatus::Created))).await;
    assert_eq!(created, sorted([&ids[1], &ids[2], &ids[3]]));
    let final_ = StatusFilter::Many(vec![JobStatus::Stopped, JobStatus::Completed]);
    assert_eq!(listed(&sup, USER, by_status(final_)).await.len(), 2);

    let alice = ListFilter {
        caller_id: Some("alice".into()),
        ..ListFilter::default()
    };
    assert_eq!(set(&sup, alice.clone()).await, sorted([&ids[0], &ids[1]]));
    let context_a = ListFilter {
        context_id: Some("a".into()),
        ..ListFilter::default()
    };
    assert_eq!(set(&sup, context_a).await, sorted([&ids[0], &ids[2]]));
    let alice_b_created = ListFilter {
        context_id: Some("b".into()),
        status: Some(StatusFilter::One(JobStatus::Created)),
        runner: Some(common::RUNNER.into()),
        ..alice
    };
    assert_eq!(listed(&sup, USER, alice_b_created).await, [ids[1].clone()]);
    let elsewhere = ListFilter {
        runner: Some("no_such_runner".into()),
        ..ListFilter::default()
    };
    assert!(listed(&sup, USER, elsewhere).await.is_empty());

    let records = bounded(sup.client.jobs_list(USER)).await.unwrap();
    assert_eq!(records.len(), 5);
    assert_eq!(records[0].status, JobStatus::Completed, "newest first");
    sup.stop().await;
}

#[tokio::test]
async fn before_pages_through_every_job_newest_first_without_repeats() {
    let sup = start().await;
    let mut ids = Vec::new();
    for chunk in 0..5 {
        let jobs = (0..500)
            .map(|i| job(&format!("{chunk}-{i}")).build().unwrap())
            .collect();
        let made = bounded(sup.client.jobs_create_many(ADMIN, jobs, false));
        ids.extend(made.await.unwrap());
    }
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = listed(
            &sup,
            ADMIN,
            ListFilter {
                limit: Some(1000),
                before: before.clone(),
                ..ListFilter::default()
            },
        )
        .await;
        assert!(page.len() <= 1000);
        let Some(last) = page.last() else { break };
        before = Some(last.clone());
        paged.extend(page);
    }
    assert_eq!(paged.len(), 2500, "every job listed once");
    let distinct: std::collections::HashSet<_> = paged.iter().collect();
    assert_eq!(distinct.len(), 2500, "no job listed twice");
    let sorted: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct, sorted);
    // The last chunk was created last: its jobs come before the first chunk's.
    let place = |id: &String| paged.iter().position(|p| p == id).unwrap();
    assert!(place(&ids[2499]) < place(&ids[0]));
    let unfiltered = bounded(sup.client.jobs_list(ADMIN)).await.unwrap();
    assert_eq!(unfiltered.len(), 1000, "the default limit");
    sup.stop().await;
}

#[tokio::test]
async fn a_user_secret_lists_only_its_own_jobs() {
    let sup = start().await;
    let mine = bounded(sup.client.jobs_create(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    let theirs = bounded(
        sup.client
            .jobs_create(OTHER_USER, job("2").build().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(
        listed(&sup, USER, ListFilter::default()).await,
        std::slice::from_ref(&mine)
    );
    assert_eq!(
        listed(&sup, OTHER_USER, ListFilter::default()).await,
        std::slice::from_ref(&theirs)
    );
    let mut all = listed(&sup, ADMIN, ListFilter::default()).await;
    all.sort();
    assert_eq!(all, sorted([&mine, &theirs]), "an admin lists every job");
    sup.stop().await;
}

#[tokio::test]
async fn a_bad_filter_is_refused_naming_its_field() {
    let sup = start().await;
    for (filter, field) in [
        (json!({"colour": "red"}), "colour"),
        (json!({"status": "sleeping"}), "status"),
        (json!({"limit": 0}), "filter.limit"),
        (json!({"limit": 10_001}), "filter.limit"),
        (json!({"runner": "bad name!"}), "filter.runner"),
    ] {
        let answer = sup.call("jobs.list", json!([USER, filter])).await;
        assert_eq!(answer["error"]["code"], -32602, "{filter}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{filter}: {message}");
    }
    let err = bounded(sup.client.jobs_list_filtered(
        USER,
        &ListFilter {
            before: Some("no-such-job".into()),
            ..ListFilter::default()
        },
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
    sup.stop().await;
}
