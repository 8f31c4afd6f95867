//! Checks on schedules: names taken once, owners, the store-wide limit, and each tick
//! claimed exactly once however many claim it at once.

use chrono::{DateTime, Duration as TimeDelta, DurationRound, Utc};

use super::{fresh_job, fresh_queue};
use crate::{Error, ScheduleRecord, Store, TickClaim};

fn fresh_schedule(owner: &str) -> ScheduleRecord {
    let mut job = fresh_job(&fresh_queue());
    job.id = String::new();
    // A template as the supervisor keeps it: env vars with characters JSON escapes, and none.
    job.env_vars = [("QUOTE".to_owned(), "a \"b\" / c \u{e9}".to_owned())].into();
    let created_at = millis(Utc::now());
    ScheduleRecord {
        name: format!("schedule-{}", uuid::Uuid::new_v4().simple()),
        cron: "* * * * * *".into(),
        job,
        owner: Some(owner.to_owned()),
        created_at,
        last_tick: created_at,
        seed: uuid::Uuid::new_v4().simple().to_string(),
    }
}

fn millis(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(TimeDelta::milliseconds(1))
        .expect("a time within chrono's range")
}

async fn stored(store: &dyn Store, name: &str) -> Option<ScheduleRecord> {
    store
        .schedules()
        .await
        .expect("schedules")
        .into_iter()
        .find(|s| s.name == name)
}

/// A schedule reads back as stored, its name is taken once, and only its owner (or a caller
/// passing no owner) deletes it.
pub async fn a_schedule_is_stored_once_and_deleted_only_by_its_owner(store: &dyn Store) {
    let mut schedule = fresh_schedule("owner-a");
    schedule.job.env_vars.clear();
    store.put_schedule(&schedule, 10_000).await.expect("put");
    assert_eq!(
        stored(store, &schedule.name).await.as_ref(),
        Some(&schedule)
    );
    assert!(matches!(
        store.put_schedule(&schedule, 10_000).await,
        Err(Error::ScheduleExists { .. })
    ));
    assert!(matches!(
        store.delete_schedule(&schedule.name, Some("owner-b")).await,
        Err(Error::ScheduleNotFound { .. })
    ));
    assert!(
        stored(store, &schedule.name).await.is_some(),
        "another owner deleted it"
    );
    store
        .delete_schedule(&schedule.name, Some("owner-a"))
        .await
        .expect("its owner deletes it");
    assert!(stored(store, &schedule.name).await.is_none());
    assert!(matches!(
        store.delete_schedule(&schedule.name, None).await,
        Err(Error::ScheduleNotFound { .. })
    ));
    let again = fresh_schedule("owner-b");
    store.put_schedule(&again, 10_000).await.expect("put");
    store
        .delete_schedule(&again.name, None)
        .await
        .expect("no owner given: any schedule");
}

/// The limit counts every schedule in the store, and a refused one is not stored.
pub async fn a_store_holds_at_most_the_schedules_it_is_given(store: &dyn Store) {
    let held = store.schedules().await.expect("schedules").len();
    let first = fresh_schedule("owner");
    store
        .put_schedule(&first, held + 1)
        .await
        .expect("room for one");
    let second = fresh_schedule("owner");
    assert!(matches!(
        store.put_schedule(&second, held + 1).await,
        Err(Error::TooManySchedules { max }) if max == held + 1
    ));
    assert!(stored(store, &second.name).await.is_none());
    store
        .delete_schedule(&first.name, None)
        .await
        .expect("delete");
}

/// Of many claims of one tick at once, exactly one wins; an earlier tick is taken, a later one
/// is claimed; the claim keeps the job template as it was; a deleted schedule, or the same
/// name created again with another seed, has no tick to claim.
pub async fn each_tick_is_claimed_once(store: &dyn Store) {
    let schedule = fresh_schedule("owner");
    store.put_schedule(&schedule, 10_000).await.expect("put");
    let tick = schedule.created_at + TimeDelta::seconds(1);
    // Polled together, so the claims are in flight at once.
    let claims = (0..8).map(|_| claim(store, &schedule, tick));
    let outcomes = futures::future::join_all(claims).await;
    let won = outcomes
        .iter()
        .filter(|o| **o == TickClaim::Claimed)
        .count();
    assert_eq!(won, 1, "claims of one tick: {outcomes:?}");
    assert!(
        outcomes.iter().all(|o| match o {
            TickClaim::Claimed => true,
            TickClaim::Taken { last } => *last == tick,
            TickClaim::Gone => false,
        }),
        "the losers see the tick taken: {outcomes:?}"
    );
    let earlier = tick - TimeDelta::milliseconds(500);
    assert_eq!(
        claim(store, &schedule, earlier).await,
        TickClaim::Taken { last: tick }
    );
    let read = stored(store, &schedule.name).await.expect("stored");
    assert_eq!(read.last_tick, tick);
    assert_eq!(
        read.job, schedule.job,
        "claiming a tick changed the template"
    );
    let later = tick + TimeDelta::seconds(1);
    assert_eq!(claim(store, &schedule, later).await, TickClaim::Claimed);

    let other_seed = ScheduleRecord {
        seed: "another".into(),
        ..schedule.clone()
    };
    let next = later + TimeDelta::seconds(1);
    assert_eq!(claim(store, &other_seed, next).await, TickClaim::Gone);
    store
        .delete_schedule(&schedule.name, None)
        .await
        .expect("delete");
    assert_eq!(claim(store, &schedule, next).await, TickClaim::Gone);
}

/// Two store instances sharing one backend (two supervisors) claim each tick once between
/// them.
pub async fn a_tick_is_claimed_once_when_two_stores_race(a: &dyn Store, b: &dyn Store) {
    let schedule = fresh_schedule("owner");
    a.put_schedule(&schedule, 10_000).await.expect("put");
    for n in 1..=20 {
        let tick = schedule.created_at + TimeDelta::seconds(n);
        let (x, y) = tokio::join!(
            a.claim_tick(&schedule.name, &schedule.seed, tick),
            b.claim_tick(&schedule.name, &schedule.seed, tick)
        );
        let (x, y) = (x.expect("claim"), y.expect("claim"));
        let won = [x, y].iter().filter(|o| **o == TickClaim::Claimed).count();
        assert_eq!(won, 1, "tick {n}: {x:?} and {y:?}");
    }
    b.delete_schedule(&schedule.name, None)
        .await
        .expect("delete");
}

async fn claim(store: &dyn Store, schedule: &ScheduleRecord, tick: DateTime<Utc>) -> TickClaim {
    store
        .claim_tick(&schedule.name, &schedule.seed, tick)
        .await
        .expect("claim answers")
}
