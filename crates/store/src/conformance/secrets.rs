//! Checks on who may do what: secret grants persisted and announced, job owners kept
//! with the job and out of its JSON, and checked in the same step as a change.

use hero_job::JobStatus;

use super::{LONG_WAIT, fresh_job, fresh_queue, status_of};
use crate::{Error, StopOutcome, Store};

/// A grant is stored under its hash and announced to watchers.
pub async fn secret_grants_persist_and_announce_themselves(store: &dyn Store) {
    let mut watch = store.watch_secrets().await.expect("watch");
    let hash = format!("{:064}", uuid::Uuid::new_v4().as_u128());
    let granted = store.put_secret_grant(&hash, "user", &[]).await;
    assert!(granted.expect("grant"), "a user grant needs no admin check");
    assert_eq!(
        store
            .secret_grants()
            .await
            .expect("grants")
            .get(&hash)
            .map(String::as_str),
        Some("user")
    );
    tokio::time::timeout(LONG_WAIT / 3, watch.changed())
        .await
        .expect("a grant is announced")
        .expect("the watch stays open");
    store
        .put_secret_grant(&hash, "revoked", &[])
        .await
        .expect("revoke");
    assert_eq!(
        store
            .secret_grants()
            .await
            .expect("grants")
            .get(&hash)
            .map(String::as_str),
        Some("revoked")
    );
}

/// A job's owner comes back with it, from a read and from the list, and never in its JSON.
pub async fn a_job_keeps_its_owner_out_of_sight(store: &dyn Store) {
    let queue = fresh_queue();
    let owned = fresh_job(&queue);
    let unowned = fresh_job(&queue);
    let owner = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    store.create_job(&owned, Some(owner)).await.expect("create");
    store.submit_job(&unowned, None).await.expect("submit");
    let record = store.job(&owned.id).await.expect("read");
    assert_eq!(record.owner.as_deref(), Some(owner));
    assert_eq!(store.job(&unowned.id).await.expect("read").owner, None);
    let listed = store
        .list_jobs(&crate::JobFilter::default())
        .await
        .expect("list");
    let from_list = listed
        .iter()
        .find(|r| r.job.id == owned.id)
        .expect("the owned job is listed");
    assert_eq!(from_list.owner.as_deref(), Some(owner));
    let json = serde_json::to_string(&record).expect("a record serializes");
    assert!(!json.contains(owner), "the owner leaked into {json}");
}

/// The last admin secret cannot lose its level, and the count and the change are one step:
/// two admins revoking each other at once leave one of them.
pub async fn the_last_admin_secret_keeps_its_level(store: &dyn Store) {
    let fresh = || format!("{:064x}", uuid::Uuid::new_v4().as_u128());
    let (configured, granted) = (fresh(), fresh());
    let config_admins = [configured.clone()];
    let put = |hash: String, grant: &'static str, admins: Vec<String>| async move {
        store
            .put_secret_grant(&hash, grant, &admins)
            .await
            .expect("grant")
    };
    assert!(put(granted.clone(), "admin", vec![]).await);
    assert!(
        put(granted.clone(), "revoked", config_admins.to_vec()).await,
        "the configured admin remains"
    );
    assert!(
        !put(configured.clone(), "user", config_admins.to_vec()).await,
        "the configured admin is the last one"
    );
    let grants = store.secret_grants().await.expect("grants");
    assert_eq!(
        grants.get(&configured),
        None,
        "a refused change changes nothing"
    );

    let (first, second) = (fresh(), fresh());
    assert!(put(first.clone(), "admin", vec![]).await);
    assert!(put(second.clone(), "admin", vec![]).await);
    let (a, b) = tokio::join!(
        put(first.clone(), "revoked", vec![]),
        put(second.clone(), "revoked", vec![])
    );
    assert!(a ^ b, "exactly one revocation goes through: {a} {b}");
}

/// Starting, stopping or deleting a job on behalf of another owner is refused as not found
/// and changes nothing, in the same step as the check: a job deleted and created again under
/// its id by someone else is never touched by the first owner. No owner given means any job.
pub async fn another_owners_start_stop_or_delete_is_not_found_and_changes_nothing(
    store: &dyn Store,
) {
    let queue = fresh_queue();
    let mine = "1111111111111111111111111111111111111111111111111111111111111111";
    let theirs = "2222222222222222222222222222222222222222222222222222222222222222";
    let created = fresh_job(&queue);
    let queued = fresh_job(&queue);
    store
        .create_job(&created, Some(theirs))
        .await
        .expect("create");
    store
        .submit_job(&queued, Some(theirs))
        .await
        .expect("submit");
    let unowned = fresh_job(&queue);
    store.create_job(&unowned, None).await.expect("create");

    let not_found = |result: crate::Result<()>, what: &str| {
        assert!(
            matches!(result, Err(Error::JobNotFound { .. })),
            "{what}: {result:?}"
        );
    };
    not_found(store.start_job(&created.id, Some(mine)).await, "start");
    not_found(
        store.start_job(&unowned.id, Some(mine)).await,
        "start unowned",
    );
    not_found(
        store.stop_job(&queued.id, Some(mine)).await.map(drop),
        "stop",
    );
    not_found(store.delete_job(&queued.id, Some(mine)).await, "delete");
    not_found(store.delete_job(&created.id, Some(mine)).await, "delete");
    assert_eq!(status_of(store, &created.id).await, JobStatus::Created);
    assert_eq!(status_of(store, &queued.id).await, JobStatus::Queued);
    assert_eq!(status_of(store, &unowned.id).await, JobStatus::Created);
    assert_eq!(store.queue_len(&queue).await.expect("len"), 1);

    store
        .start_job(&created.id, Some(theirs))
        .await
        .expect("the owner starts it");
    assert_eq!(
        store
            .stop_job(&created.id, Some(theirs))
            .await
            .expect("the owner stops it"),
        StopOutcome::Stopped
    );
    store
        .delete_job(&queued.id, None)
        .await
        .expect("no owner given: any job");
    store
        .start_job(&unowned.id, None)
        .await
        .expect("no owner given: any job");
}
