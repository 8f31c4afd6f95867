//! Checks on runner registrations: names taken once, access kept, queues seen on claim.

use chrono::Utc;

use super::{claim_now, fresh_queue};
use crate::{Error, Store};

/// A registered name is taken for good; a queue is seen once a runner claims from it.
pub async fn runners_register_once_and_are_seen_when_they_claim(store: &dyn Store) {
    let queue = fresh_queue();
    let runner = crate::RunnerRecord {
        name: format!("{queue}-runner"),
        queue: queue.clone(),
        access: crate::RunnerAccess::User,
        registered_at: Utc::now(),
    };
    store.register_runner(&runner).await.expect("register");
    assert!(matches!(
        store.register_runner(&runner).await,
        Err(Error::RunnerExists { .. })
    ));
    let listed = store.runners().await.expect("runners");
    assert!(
        listed
            .iter()
            .any(|r| r.name == runner.name && r.queue == queue)
    );
    assert_eq!(store.last_seen(&queue).await.expect("seen"), None);
    claim_now(store, &queue, "w1").await;
    let seen = store.last_seen(&queue).await.expect("seen");
    let age = Utc::now() - seen.expect("seen after a claim");
    assert!(age.num_seconds().abs() < 60, "seen {age} ago");
}

/// A registration keeps the access it was given, and is gone once unregistered.
pub async fn a_registration_keeps_its_access_until_unregistered(store: &dyn Store) {
    let queue = fresh_queue();
    let runner = crate::RunnerRecord {
        name: format!("{queue}-system"),
        queue: queue.clone(),
        access: crate::RunnerAccess::Admin,
        registered_at: Utc::now(),
    };
    store.register_runner(&runner).await.expect("register");
    let listed = store.runners().await.expect("runners");
    let found = listed
        .iter()
        .find(|r| r.name == runner.name)
        .expect("the runner is listed");
    assert_eq!(found.access, crate::RunnerAccess::Admin);
    store
        .unregister_runner(&runner.name)
        .await
        .expect("unregister");
    let listed = store.runners().await.expect("runners");
    assert!(listed.iter().all(|r| r.name != runner.name));
    assert!(matches!(
        store.unregister_runner(&runner.name).await,
        Err(Error::RunnerNotFound { .. })
    ));
    store
        .register_runner(&runner)
        .await
        .expect("the name is free again");
}
