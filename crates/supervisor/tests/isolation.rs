//! Isolation between secrets: runners open to admins only, jobs that belong to the secret
//! that created them, and runners nobody knows refused at submit.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN, REGISTER, RUNNER, USER, bounded};
use hero_supervisor::config::{ActorConfig, ActorTransport, ProcessManagerKind, RunnerAccess};
use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::RunnerAccess as WireAccess;
use serde_json::{Value, json};

/// A second user secret, to own jobs the first must not reach.
const OTHER_USER: &str = "other-user-secret";
const SAL: &str = "sal_runner_1";

fn code(code: i32) -> i64 {
    i64::from(code)
}

/// The supervisor of the tests plus a `sal_runner` actor open to admins only, as shipped
/// configurations mark it.
async fn with_sal_runner() -> common::TestSupervisor {
    common::TestSupervisor::start_with(|c| {
        c.actors.push(ActorConfig {
            id: SAL.into(),
            name: SAL.into(),
            binary_path: hero_test_support::workspace_binary("sal_runner"),
            db_path: None,
            redis_url: None,
            process_manager: ProcessManagerKind::Simple,
            concurrency: None,
            env: Default::default(),
            access: RunnerAccess::Admin,
            transport_choice: Some(ActorTransport::Redis),
        });
    })
    .await
}

async fn listed_ids(sup: &common::TestSupervisor, secret: &str) -> Vec<String> {
    let answer = sup.call("jobs.list", json!([secret])).await;
    answer["result"]
        .as_array()
        .unwrap_or_else(|| panic!("jobs.list answers a list: {answer}"))
        .iter()
        .map(|job| job["id"].as_str().unwrap().to_owned())
        .collect()
}

// Regression: issue 10 — a user secret ran jobs on `sal_runner_1`, even as `osis`, and read
// the config with the admin secret in it.
#[tokio::test]
async fn a_user_secret_cannot_submit_to_an_admin_only_runner_and_nothing_is_stored() {
    let sup = with_sal_runner().await;
    let read_config = "read_file(\"/etc/hostname\")";
    for executor in ["sal", "osis"] {
        let job = json!({"payload": read_config, "executor": executor, "runner": SAL,
                         "timeout": 10});
        for method in ["job.run", "jobs.create"] {
            let answer = sup.call(method, json!([USER, job.clone()])).await;
            assert_eq!(
                answer["error"]["code"],
                code(codes::UNAUTHORIZED),
                "{answer}"
            );
            let message = answer["error"]["message"].as_str().unwrap();
            assert!(message.contains(SAL), "{message}");
        }
    }
    assert!(
        listed_ids(&sup, ADMIN).await.is_empty(),
        "nothing is stored"
    );
    let job = json!({"payload": "40 + 2", "executor": "sal", "runner": SAL, "timeout": 10});
    let answer = sup.call("job.run", json!([ADMIN, job])).await;
    assert_eq!(answer["result"], json!({"success": "42"}), "{answer}");
    let runners = bounded(sup.client.list_runners(ADMIN)).await.unwrap();
    let access: Vec<(&str, WireAccess)> = runners
        .iter()
        .map(|r| (r.name.as_str(), r.access))
        .collect();
    assert_eq!(
        access,
        [(RUNNER, WireAccess::User), (SAL, WireAccess::Admin)]
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_runner_registered_for_admins_refuses_user_jobs_even_at_start() {
    let sup = common::TestSupervisor::start().await;
    let registered = sup
        .call(
            "register_runner",
            json!([REGISTER, "remote_open", "shared_q"]),
        )
        .await;
    assert_eq!(registered["result"], "remote_open", "{registered}");
    let job = json!({"payload": "1", "executor": "osis", "runner": "shared_q"});
    let id = sup.call("jobs.create", json!([USER, job.clone()])).await["result"].clone();
    assert!(id.is_string(), "a user may create jobs for an open runner");
    // The queue gains a runner open to admins only: the strictest level guards it.
    let strict = sup
        .call(
            "register_runner",
            json!({"secret": ADMIN, "name": "remote_strict", "queue": "shared_q",
                   "access": "admin"}),
        )
        .await;
    assert_eq!(strict["result"], "remote_strict", "{strict}");
    let listed = bounded(sup.client.get_runner_status(ADMIN, "remote_strict"))
        .await
        .unwrap();
    assert_eq!(listed.access, WireAccess::Admin);
    assert_eq!(
        sup.error_code("job.start", json!([USER, id])).await,
        code(codes::UNAUTHORIZED)
    );
    assert_eq!(
        sup.error_code("jobs.create", json!([USER, job])).await,
        code(codes::UNAUTHORIZED)
    );
    let bad = sup
        .call(
            "register_runner",
            json!([REGISTER, "remote_bad", "q", "root"]),
        )
        .await;
    assert_eq!(bad["error"]["code"], code(codes::INVALID_PARAMS), "{bad}");
    sup.stop().await;
}

#[tokio::test]
async fn a_user_secret_sees_and_manages_only_the_jobs_it_created() {
    let sup = common::TestSupervisor::start_with(|c| c.user_secrets.push(OTHER_USER.into())).await;
    let job = json!({"payload": "1", "executor": "osis", "runner": RUNNER});
    let mine = sup.call("jobs.create", json!([USER, job.clone()])).await["result"].clone();
    let theirs = sup
        .call("jobs.create", json!([OTHER_USER, job.clone()]))
        .await["result"]
        .clone();
    let admins = sup.call("jobs.create", json!([ADMIN, job])).await["result"].clone();
    assert_eq!(listed_ids(&sup, USER).await, [mine.as_str().unwrap()]);
    assert_eq!(
        listed_ids(&sup, OTHER_USER).await,
        [theirs.as_str().unwrap()]
    );
    let all = listed_ids(&sup, ADMIN).await;
    for id in [&mine, &theirs, &admins] {
        assert!(all.iter().any(|listed| listed == id.as_str().unwrap()));
    }

    let absent = sup.call("job.delete", json!([USER, "no-such-job"])).await;
    for method in ["job.start", "job.stop", "job.delete"] {
        for id in [&theirs, &admins] {
            let answer = sup.call(method, json!([USER, id])).await;
            assert_eq!(
                answer["error"], absent["error"],
                "{method} of another's job: {answer}"
            );
        }
    }
    // Ids are capabilities: reading another's job by id still works.
    let status = sup.call("job.status", json!([theirs])).await;
    assert_eq!(status["result"]["status"], "created", "{status}");
    // Untouched by the refused calls, and still the admin's to manage.
    for id in [&theirs, &admins] {
        let deleted = sup.call("job.delete", json!([ADMIN, id])).await;
        assert_eq!(deleted["result"], Value::Null, "{deleted}");
    }
    let started = sup.call("job.start", json!([USER, mine])).await;
    assert_eq!(started["result"], Value::Null, "{started}");
    sup.stop().await;
}

#[tokio::test]
async fn answers_never_carry_the_owning_secret_or_its_hash() {
    use sha2::Digest;
    let sup = common::TestSupervisor::start().await;
    let job = json!({"payload": "1", "executor": "osis", "runner": RUNNER});
    let id = sup.call("jobs.create", json!([USER, job])).await["result"].clone();
    let hash: String = sha2::Sha256::digest(USER.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    for answer in [
        sup.call("jobs.list", json!([USER])).await,
        sup.call("jobs.list", json!([ADMIN])).await,
        sup.call("job.status", json!([id])).await,
    ] {
        let text = answer.to_string();
        assert!(!text.contains(&hash) && !text.contains(USER), "{text}");
    }
    sup.stop().await;
}

// Regression: issue 10 — `job.run` for a runner nobody knows hung until its timeout.
#[tokio::test]
async fn a_job_for_an_unknown_runner_is_refused_at_once_naming_the_known_ones() {
    let sup = common::TestSupervisor::start().await;
    let job = json!({"payload": "1", "executor": "osis", "runner": "nobody_home", "timeout": 60});
    let began = Instant::now();
    for method in ["job.run", "jobs.create"] {
        let answer = sup.call(method, json!([USER, job.clone()])).await;
        assert_eq!(answer["error"]["code"], code(codes::NOT_FOUND), "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("nobody_home"), "{message}");
        assert!(message.contains(RUNNER), "{message}");
    }
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "refused after {:?}",
        began.elapsed()
    );
    assert!(
        listed_ids(&sup, ADMIN).await.is_empty(),
        "nothing is stored"
    );
    // Registering the runner makes it known.
    bounded(sup.client.register_runner(REGISTER, "nobody_home", None))
        .await
        .unwrap();
    let answer = sup.call("jobs.create", json!([USER, job])).await;
    assert!(answer["result"].is_string(), "{answer}");
    sup.stop().await;
}

// The registered runners are kept for a moment between submits: a registration made through
// another supervisor must still count at once, and a removal here too.
#[tokio::test]
async fn a_runner_registered_through_another_supervisor_is_known_at_once() {
    let first = common::TestSupervisor::start().await;
    let url = first.redis.url();
    let second = common::TestSupervisor::start_with(move |c| {
        c.redis_url = Some(url);
        c.actors.clear();
    })
    .await;
    let job = json!({"payload": "1", "executor": "osis", "runner": "elsewhere"});
    // Known runners read once, and kept.
    let known = json!({"payload": "1", "executor": "osis", "runner": RUNNER});
    assert!(first.call("jobs.create", json!([USER, known])).await["result"].is_string());
    assert_eq!(
        first
            .error_code("jobs.create", json!([USER, job.clone()]))
            .await,
        code(codes::NOT_FOUND)
    );
    bounded(second.client.register_runner(REGISTER, "elsewhere", None))
        .await
        .unwrap();
    let answer = first.call("jobs.create", json!([USER, job.clone()])).await;
    assert!(answer["result"].is_string(), "{answer}");
    // Removed through this supervisor: refused here at once.
    let removed = first
        .call("unregister_runner", json!([ADMIN, "elsewhere"]))
        .await;
    assert!(removed.get("error").is_none(), "{removed}");
    assert_eq!(
        first.error_code("jobs.create", json!([USER, job])).await,
        code(codes::NOT_FOUND)
    );
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn with_accept_unknown_runners_a_job_waits_for_a_runner_that_comes_later() {
    let sup = common::TestSupervisor::start_with(|c| c.accept_unknown_runners = true).await;
    let job = json!({"payload": "1", "executor": "osis", "runner": "later"});
    let id = sup.call("jobs.create", json!([USER, job])).await["result"].clone();
    assert!(id.is_string(), "{id}");
    sup.call("job.start", json!([USER, id])).await;
    let status = sup.call("job.status", json!([id])).await;
    assert_eq!(status["result"]["status"], "queued", "{status}");
    sup.stop().await;
}

#[tokio::test]
async fn a_runner_seen_claiming_is_known_without_registration() {
    let sup = common::TestSupervisor::start().await;
    let job = json!({"payload": "40 + 2", "executor": "osis", "runner": "by_hand"});
    assert_eq!(
        sup.error_code("jobs.create", json!([USER, job.clone()]))
            .await,
        code(codes::NOT_FOUND)
    );
    // Started by hand, as on another host, and never registered.
    let mut runner =
        tokio::process::Command::new(hero_test_support::workspace_binary("osis_runner"))
            .args(["--name", "by_hand", "--namespace", "test", "--db-path"])
            .arg(sup.data_dir.path().join("by_hand_db"))
            .env("HERO_REDIS_URL", sup.redis.url())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
    common::until("its first claim makes it known", || async {
        sup.call("job.run", json!([USER, job.clone()])).await["result"] == json!({"success": "42"})
    })
    .await;
    runner.kill().await.unwrap();
    sup.stop().await;
}
