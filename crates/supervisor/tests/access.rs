//! The whole access matrix: every method of the API table, called with no secret, a wrong
//! one, and each level's, is refused with -32001 exactly when its access level says so.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, REGISTER, USER};
use hero_supervisor_api::codes;
use hero_supervisor_api::methods::{ALL, Access, Method};
use serde_json::{Map, Value, json};

/// Params for `method` with `secret` in its secret param and harmless values elsewhere.
fn params(method: &Method, secret: Option<&str>, call: usize) -> Value {
    let mut named = Map::new();
    for param in method.params {
        let value = match param.name {
            "secret" | "admin_secret" => match secret {
                Some(secret) => json!(secret),
                None => continue,
            },
            "job" => json!({"payload": "1", "executor": "osis", "runner": common::RUNNER,
                            "timeout": 5}),
            "jobs" => json!([{"payload": "1", "executor": "osis", "runner": common::RUNNER,
                              "timeout": 5}]),
            "schedule" => json!({"name": format!("matrix-schedule-{call}"), "cron": "0 0 1 1 *",
                                 "job": {"payload": "1", "executor": "osis",
                                         "runner": common::RUNNER, "timeout": 5}}),
            "job_id" => json!("no-such-job"),
            "actor_id" => json!("no-such-actor"),
            "name" => json!(format!("matrix-runner-{call}")),
            "secret_type" => json!("user"),
            "secret_value" => json!("matrix-secret-value"),
            // The runner endpoint's methods (`runner.claim`, …): a queue nobody uses.
            "queue" if param.required => json!("matrix-queue"),
            "worker" => json!("matrix-worker"),
            "lease_ms" | "ttl_ms" => json!(1000),
            "wait_ms" => json!(0),
            "most" => json!(1),
            "running" => json!([]),
            "attempt" => json!({"id": "no-such-job", "token": 1}),
            "status" => json!("failed"),
            "result" => json!({"error": "matrix"}),
            "progress" => json!({"percent": 1, "message": "matrix"}),
            "stats" => json!({"worker": "matrix-worker", "runner": "matrix-queue", "jobs": 0,
                              "failures": 0, "busy": 0, "slots": 1}),
            _ if !param.required => continue,
            other => panic!("{}: no value for param {other}", method.name),
        };
        named.insert(param.name.to_owned(), value);
    }
    Value::Object(named)
}

fn allowed(access: Access, secret: Option<&str>) -> bool {
    let level = match secret {
        Some(s) if s == ADMIN => "admin",
        Some(s) if s == USER => "user",
        Some(s) if s == REGISTER => "register",
        _ => "none",
    };
    match access {
        Access::Anyone | Access::JobHolder => true,
        Access::User => matches!(level, "user" | "admin"),
        Access::Register => matches!(level, "register" | "admin"),
        Access::Admin => level == "admin",
    }
}

#[tokio::test]
async fn every_method_checks_its_secret_level() {
    let sup = common::TestSupervisor::start().await;
    let secrets = [
        None,
        Some("wrong-secret"),
        Some(REGISTER),
        Some(USER),
        Some(ADMIN),
    ];
    let mut call = 0;
    for method in ALL {
        for secret in secrets {
            call += 1;
            let answer = sup.call(method.name, params(method, secret, call)).await;
            let refused = answer["error"]["code"] == codes::UNAUTHORIZED;
            assert_eq!(
                refused,
                !allowed(method.access, secret),
                "{} with {secret:?}: {answer}",
                method.name
            );
        }
    }
    sup.stop().await;
}
