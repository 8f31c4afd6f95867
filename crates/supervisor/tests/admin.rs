//! The admin methods: secrets granted and revoked at run time, across supervisors sharing a
//! store and across restarts; the supervisor's description of itself.

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, USER};
use hero_supervisor_api::codes;
use serde_json::{Value, json};

/// A second supervisor on the first one's Redis and namespace, without runners.
async fn sharing(first: &common::TestSupervisor) -> common::TestSupervisor {
    let url = first.redis.url();
    common::TestSupervisor::start_with(move |c| {
        c.redis_url = Some(url);
        c.actors.clear();
    })
    .await
}

async fn can_list(sup: &common::TestSupervisor, secret: &str) -> bool {
    sup.call("jobs.list", json!([secret])).await["result"].is_array()
}

#[tokio::test]
async fn an_added_secret_works_at_once_everywhere_and_after_a_restart() {
    let first = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    let second = sharing(&first).await;
    let answer = first
        .call("add_secret", json!([ADMIN, "user", "fresh-user-secret"]))
        .await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    assert!(can_list(&first, "fresh-user-secret").await);
    common::until("the other supervisor accepts it", || {
        can_list(&second, "fresh-user-secret")
    })
    .await;
    let stored: Vec<String> = redis::cmd("HKEYS")
        .arg("test:v1:secrets")
        .query(&mut first.redis.connection())
        .unwrap();
    assert!(
        stored.iter().all(|key| !key.contains("fresh")),
        "only hashes are stored"
    );
    second.stop().await;
    let restarted = sharing(&first).await;
    assert!(can_list(&restarted, "fresh-user-secret").await);
    restarted.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn a_removed_secret_stops_working_at_once_everywhere() {
    let first = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    let second = sharing(&first).await;
    assert!(can_list(&second, USER).await);
    let answer = first
        .call("remove_secret", json!([ADMIN, "user", USER]))
        .await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    assert!(!can_list(&first, USER).await);
    common::until("the other supervisor refuses it", || async {
        !can_list(&second, USER).await
    })
    .await;
    assert_eq!(
        first
            .error_code("remove_secret", json!([ADMIN, "user", USER]))
            .await,
        i64::from(codes::NOT_FOUND)
    );
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn the_last_admin_secret_cannot_be_removed() {
    let sup = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    assert_eq!(
        sup.error_code("remove_secret", json!([ADMIN, "admin", ADMIN]))
            .await,
        i64::from(codes::CONFLICT)
    );
    sup.call("add_secret", json!([ADMIN, "admin", "second-admin"]))
        .await;
    let answer = sup
        .call("remove_secret", json!([ADMIN, "admin", ADMIN]))
        .await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    assert_eq!(
        sup.error_code("get_supervisor_info", json!([ADMIN])).await,
        i64::from(codes::UNAUTHORIZED)
    );
    assert_eq!(
        sup.error_code(
            "remove_secret",
            json!(["second-admin", "admin", "second-admin"])
        )
        .await,
        i64::from(codes::CONFLICT)
    );
    sup.stop().await;
}

// Regression: issue 10 — `add_secret(admin, "user", <the only admin secret>)` demoted the
// last admin, and every admin call was refused from then on.
#[tokio::test]
async fn the_last_admin_secret_cannot_be_demoted() {
    let sup = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    for lesser in ["user", "register"] {
        let answer = sup.call("add_secret", json!([ADMIN, lesser, ADMIN])).await;
        assert_eq!(
            answer["error"]["code"],
            i64::from(codes::CONFLICT),
            "{answer}"
        );
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("last admin"), "{message}");
    }
    let info = sup.call("get_supervisor_info", json!([ADMIN])).await;
    assert!(info["result"].is_object(), "still an admin: {info}");
    sup.call("add_secret", json!([ADMIN, "admin", "second-admin"]))
        .await;
    let answer = sup.call("add_secret", json!([ADMIN, "user", ADMIN])).await;
    assert_eq!(answer["result"], Value::Null, "{answer}");
    assert!(can_list(&sup, ADMIN).await, "now a user secret");
    assert_eq!(
        sup.error_code("get_supervisor_info", json!([ADMIN])).await,
        i64::from(codes::UNAUTHORIZED)
    );
    sup.stop().await;
}

/// Writes a grant into the store the way `add_secret`/`remove_secret` do, but without the
/// announcement, as when the pub/sub message is lost.
fn grant_without_announcement(sup: &common::TestSupervisor, secret: &str, grant: &str) {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let () = redis::cmd("HSET")
        .arg("test:v1:secrets")
        .arg(hash)
        .arg(grant)
        .query(&mut sup.redis.connection())
        .unwrap();
}

#[tokio::test]
async fn a_revocation_reaches_every_supervisor_even_when_its_announcement_is_lost() {
    let first = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    let second = sharing(&first).await;
    assert!(can_list(&first, USER).await);
    assert!(can_list(&second, USER).await);
    grant_without_announcement(&first, USER, "revoked");
    // The grants a supervisor holds are at most 3 s old; the rest is room for a busy machine,
    // and still fails a supervisor that only learns of changes by announcement.
    let within = std::time::Duration::from_secs(10);
    for sup in [&first, &second] {
        let refused =
            hero_test_support::eventually(within, || async { !can_list(sup, USER).await }).await;
        assert!(refused, "the revoked secret still works after {within:?}");
    }
    second.stop().await;
    first.stop().await;
}

#[tokio::test]
async fn secret_changes_are_checked() {
    let sup = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    assert_eq!(
        sup.error_code("add_secret", json!([ADMIN, "root", "whatever-secret"]))
            .await,
        i64::from(codes::INVALID_PARAMS)
    );
    assert_eq!(
        sup.error_code("add_secret", json!([ADMIN, "user", "short"]))
            .await,
        i64::from(codes::INVALID_PARAMS)
    );
    assert_eq!(
        sup.error_code("add_secret", json!([USER, "admin", "escalate-me"]))
            .await,
        i64::from(codes::UNAUTHORIZED)
    );
    sup.stop().await;
}

#[tokio::test]
async fn supervisor_info_describes_backend_runners_and_jobs() {
    let sup = common::TestSupervisor::start().await;
    sup.call(
        "jobs.create",
        json!([USER, {"payload": "1", "executor": "osis", "runner": common::RUNNER}]),
    )
    .await;
    let info = sup.call("get_supervisor_info", json!([ADMIN])).await["result"].clone();
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["backend"], json!({"kind": "redis", "status": "ok"}));
    assert_eq!(info["namespace"], "test");
    assert!(info["uptime_secs"].is_u64(), "{info}");
    assert_eq!(info["runners"]["total"], 1);
    assert_eq!(info["runners"]["by_status"]["running"], 1);
    assert_eq!(info["jobs"]["total"], 1);
    assert_eq!(info["jobs"]["by_status"]["created"], 1);
    assert_eq!(
        sup.error_code("get_supervisor_info", json!([USER])).await,
        i64::from(codes::UNAUTHORIZED)
    );
    sup.stop().await;
}

#[tokio::test]
async fn the_rust_client_manages_secrets() {
    let sup = common::TestSupervisor::start_with(|c| c.actors.clear()).await;
    common::bounded(sup.client.add_secret(ADMIN, "user", "client-made-secret"))
        .await
        .unwrap();
    assert!(can_list(&sup, "client-made-secret").await);
    common::bounded(
        sup.client
            .remove_secret(ADMIN, "user", "client-made-secret"),
    )
    .await
    .unwrap();
    assert!(!can_list(&sup, "client-made-secret").await);
    let info = common::bounded(sup.client.supervisor_info(ADMIN))
        .await
        .unwrap();
    assert_eq!(info.namespace, "test");
    assert_eq!(
        info.backend.status,
        hero_supervisor_openrpc_client::BackendStatus::Ok
    );
    sup.stop().await;
}
