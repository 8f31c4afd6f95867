//! Schedules (`schedules.create`, `schedules.list`, `schedules.delete`) against real
//! supervisors sharing one Redis: each tick creates exactly one job, however many
//! supervisors tick, across a restart, and never after a delete; users see only their own.

mod common;

use chrono::{DateTime, Utc};
use common::{ADMIN, USER, bounded, job, until};
use hero_supervisor_openrpc_client::{
    ClientError, JobStatus, ListFilter, Schedule, SupervisorClient, codes,
};
use hero_test_support::RedisServer;
use serde_json::json;

const OTHER_USER: &str = "other-user-secret";

/// A supervisor without actors on `redis`, sharing the namespace of the test harness.
struct Peer {
    client: SupervisorClient,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn peer(redis: &RedisServer) -> Peer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(redis, dir.path());
    config.actors.clear();
    config.accept_unknown_runners = true;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hero_supervisor::run(config, listener, async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        })
        .await
        .expect("the peer runs");
    });
    let client = SupervisorClient::new(&url).expect("client");
    until("the peer answers", || async {
        client.rpc_discover().await.is_ok()
    })
    .await;
    Peer {
        client,
        stop,
        task,
        _dir: dir,
    }
}

impl Peer {
    async fn stop(self) {
        // A peer that already stopped needs no signal.
        let _ = self.stop.send(());
        bounded(self.task).await.expect("the peer stops cleanly");
    }
}

/// A schedule whose jobs carry `tag` as their caller id, so they can be counted.
fn schedule(name: &str, cron: &str, tag: &str) -> Schedule {
    Schedule::new(name, cron, job("1").caller_id(tag).build().expect("a job"))
}

/// The `created_at` of every job tagged `tag` (the tick each was created for), oldest first.
async fn ticks_of(client: &SupervisorClient, tag: &str) -> Vec<DateTime<Utc>> {
    let filter = ListFilter {
        caller_id: Some(tag.to_owned()),
        limit: Some(10_000),
        ..ListFilter::default()
    };
    let jobs = bounded(client.jobs_list_filtered(ADMIN, &filter))
        .await
        .expect("jobs.list");
    let mut ticks: Vec<_> = jobs.iter().map(|record| record.job.created_at).collect();
    ticks.sort_unstable();
    ticks
}

/// Waits until `tag` has at least `count` jobs, and returns their ticks.
async fn until_ticks(client: &SupervisorClient, tag: &str, count: usize) -> Vec<DateTime<Utc>> {
    until(&format!("{count} jobs of {tag}"), || async {
        ticks_of(client, tag).await.len() >= count
    })
    .await;
    ticks_of(client, tag).await
}

fn assert_one_job_per_tick(ticks: &[DateTime<Utc>]) {
    for pair in ticks.windows(2) {
        assert!(
            pair[0] < pair[1],
            "two jobs for the tick {}: {ticks:?}",
            pair[0]
        );
    }
    for tick in ticks {
        assert_eq!(tick.timestamp_subsec_millis(), 0, "not a tick: {tick}");
    }
}

#[tokio::test]
async fn two_supervisors_on_one_redis_create_exactly_one_job_per_tick() {
    let sup = common::TestSupervisor::start().await;
    let second = peer(&sup.redis).await;
    let created = bounded(sup.client.schedules_create(
        USER,
        schedule("every-second", "* * * * * *", "every-second"),
    ))
    .await
    .expect("schedules.create");
    assert!(created.next_tick.is_some(), "{created:?}");
    let ticks = until_ticks(&sup.client, "every-second", 6).await;
    bounded(sup.client.schedules_delete(USER, "every-second"))
        .await
        .expect("schedules.delete");
    let ticks_then = ticks_of(&sup.client, "every-second").await;
    assert!(ticks_then.len() >= ticks.len());
    assert_one_job_per_tick(&ticks_then);
    for pair in ticks_then.windows(2) {
        assert_eq!(
            (pair[1] - pair[0]).num_seconds(),
            1,
            "a tick was skipped: {ticks_then:?}"
        );
    }
    // The jobs are ordinary ones: the runner runs them.
    let filter = ListFilter {
        caller_id: Some("every-second".into()),
        ..ListFilter::default()
    };
    until("the first tick's job completed", || async {
        bounded(sup.client.jobs_list_filtered(USER, &filter))
            .await
            .expect("jobs.list")
            .iter()
            .any(|record| record.status == JobStatus::Completed)
    })
    .await;
    second.stop().await;
}

#[tokio::test]
async fn a_deleted_schedule_creates_no_more_jobs() {
    let sup = common::TestSupervisor::start().await;
    let second = peer(&sup.redis).await;
    for (name, client) in [("doomed", &sup.client), ("clock", &second.client)] {
        bounded(client.schedules_create(USER, schedule(name, "* * * * * *", name)))
            .await
            .expect("schedules.create");
    }
    until_ticks(&sup.client, "doomed", 1).await;
    bounded(second.client.schedules_delete(USER, "doomed"))
        .await
        .expect("schedules.delete");
    let deleted_at = Utc::now();
    // The other schedule is the clock: two more of its ticks have passed. (A tick that fell
    // before the delete may still be finishing meanwhile; none after it may start.)
    let clock = ticks_of(&sup.client, "clock").await.len();
    until_ticks(&sup.client, "clock", clock + 2).await;
    let doomed = ticks_of(&sup.client, "doomed").await;
    assert!(!doomed.is_empty());
    assert!(
        doomed.iter().all(|tick| *tick <= deleted_at),
        "ticks after the delete at {deleted_at}: {doomed:?}"
    );
    assert_one_job_per_tick(&doomed);
    let listed = bounded(sup.client.schedules_list(ADMIN))
        .await
        .expect("list");
    assert!(listed.iter().all(|s| s.name != "doomed"), "{listed:?}");
    second.stop().await;
}

#[tokio::test]
async fn a_restarted_supervisor_does_not_create_the_last_tick_again() {
    let redis = RedisServer::start();
    let first = peer(&redis).await;
    bounded(
        first
            .client
            .schedules_create(USER, schedule("restart", "* * * * * *", "restart")),
    )
    .await
    .expect("schedules.create");
    until_ticks(&first.client, "restart", 2).await;
    first.stop().await;
    let before = {
        let again = peer(&redis).await;
        let before = ticks_of(&again.client, "restart").await;
        until_ticks(&again.client, "restart", before.len() + 2).await;
        bounded(again.client.schedules_delete(USER, "restart"))
            .await
            .expect("delete");
        let all = ticks_of(&again.client, "restart").await;
        assert_one_job_per_tick(&all);
        again.stop().await;
        before
    };
    assert!(before.len() >= 2);
}

/// Leaves `store` as a supervisor would that died during the tick `tick` of a schedule
/// tagged `tag`: its job stored (`created`), and its tick claimed when `claimed`.
async fn die_mid_tick(
    store: &hero_store_redis::RedisStore,
    tag: &str,
    tick: DateTime<Utc>,
    claimed: bool,
) -> String {
    use hero_store::Store;
    let mut template = job("1").caller_id(tag).build().expect("a job");
    template.id = String::new();
    let schedule = hero_store::ScheduleRecord {
        name: tag.to_owned(),
        // Yearly: the tick of this year has fallen, the next one will not come during the test.
        cron: "0 0 1 1 *".into(),
        job: template.clone(),
        owner: None,
        created_at: tick - chrono::Duration::days(1),
        last_tick: tick - chrono::Duration::days(1),
        seed: format!("seed-of-{tag}"),
    };
    store.put_schedule(&schedule, 1000).await.expect("put");
    let mut tick_job = template;
    tick_job.id = schedule.job_id(tick);
    tick_job.created_at = tick;
    store.create_job(&tick_job, None).await.expect("stored");
    if claimed {
        let claim = store
            .claim_tick(&schedule.name, &schedule.seed, tick)
            .await
            .expect("claim");
        assert_eq!(claim, hero_store::TickClaim::Claimed);
    }
    tick_job.id
}

#[tokio::test]
async fn a_tick_left_half_done_by_a_dead_supervisor_is_finished_once_by_another() {
    let redis = RedisServer::start();
    let store = hero_store_redis::RedisStore::connect(&redis.url(), "test")
        .await
        .expect("connect");
    let now = Utc::now();
    let tick: DateTime<Utc> = format!("{}-01-01T00:00:00Z", now.format("%Y"))
        .parse()
        .expect("this year's first tick");
    let claimed = die_mid_tick(&store, "claimed-not-queued", tick, true).await;
    let stored = die_mid_tick(&store, "stored-not-claimed", tick, false).await;

    let survivor = peer(&redis).await;
    for (tag, id) in [
        ("claimed-not-queued", &claimed),
        ("stored-not-claimed", &stored),
    ] {
        until(&format!("the job of {tag} is queued"), || async {
            let status = bounded(survivor.client.job_status(id))
                .await
                .expect("status");
            status.status == JobStatus::Queued
        })
        .await;
        assert_eq!(ticks_of(&survivor.client, tag).await, [tick], "{tag}");
    }
    let listed = bounded(survivor.client.schedules_list(ADMIN))
        .await
        .expect("list");
    assert!(
        listed.iter().all(|s| s.last_tick == Some(tick)),
        "{listed:?}"
    );
    survivor.stop().await;
}

#[tokio::test]
async fn users_see_and_delete_only_their_own_schedules_and_own_their_jobs() {
    let sup = common::TestSupervisor::start_with(|config| {
        config.user_secrets.push(OTHER_USER.into());
    })
    .await;
    let client = &sup.client;
    bounded(client.schedules_create(USER, schedule("mine", "* * * * * *", "mine")))
        .await
        .expect("create");
    let theirs = bounded(client.schedules_list(OTHER_USER))
        .await
        .expect("list");
    assert!(theirs.is_empty(), "{theirs:?}");
    let deleted = bounded(client.schedules_delete(OTHER_USER, "mine")).await;
    assert!(
        matches!(deleted, Err(ClientError::NotFound { .. })),
        "{deleted:?}"
    );
    let taken =
        bounded(client.schedules_create(OTHER_USER, schedule("mine", "*/5 * * * *", "theirs")))
            .await;
    assert!(
        matches!(taken, Err(ClientError::Conflict { .. })),
        "{taken:?}"
    );

    until_ticks(client, "mine", 1).await;
    let filter = ListFilter {
        caller_id: Some("mine".into()),
        ..ListFilter::default()
    };
    let own = bounded(client.jobs_list_filtered(USER, &filter))
        .await
        .expect("list");
    assert!(!own.is_empty(), "the owner does not see the ticks' jobs");
    assert!(own.iter().all(|r| r.job.level == hero_job::Level::User));
    let other = bounded(client.jobs_list_filtered(OTHER_USER, &filter))
        .await
        .expect("list");
    assert!(other.is_empty(), "another user sees the ticks' jobs");

    let mine = bounded(client.schedules_list(USER)).await.expect("list");
    assert_eq!(mine.len(), 1);
    assert!(mine[0].last_tick.is_some(), "{mine:?}");
    let all = bounded(client.schedules_list(ADMIN)).await.expect("list");
    assert!(all.iter().any(|s| s.name == "mine"));
    bounded(client.schedules_delete(ADMIN, "mine"))
        .await
        .expect("an admin deletes any schedule");
}

#[tokio::test]
async fn a_schedule_of_a_removed_secret_creates_no_more_jobs() {
    let sup = common::TestSupervisor::start().await;
    let client = &sup.client;
    let temporary = "temporary-user-secret";
    bounded(client.add_secret(ADMIN, "user", temporary))
        .await
        .expect("add_secret");
    for (name, secret) in [("revoked", temporary), ("clock", USER)] {
        bounded(client.schedules_create(secret, schedule(name, "* * * * * *", name)))
            .await
            .expect("schedules.create");
    }
    until_ticks(client, "revoked", 1).await;
    bounded(client.remove_secret(ADMIN, "user", temporary))
        .await
        .expect("remove_secret");
    // A tick in flight when the secret went may still land; none after the next.
    let clock = ticks_of(client, "clock").await.len();
    until_ticks(client, "clock", clock + 1).await;
    let after_removal = ticks_of(client, "revoked").await;
    until_ticks(client, "clock", clock + 3).await;
    assert_eq!(ticks_of(client, "revoked").await, after_removal);
}

#[tokio::test]
async fn a_bad_schedule_is_refused_naming_the_problem() {
    let sup = common::TestSupervisor::start_with(|config| config.limits.max_schedules = 1).await;
    let job = json!({"payload": "1", "executor": "osis", "runner": common::RUNNER});
    let cases = [
        (
            json!({"name": "a", "cron": "* * * *", "job": job}),
            "4 fields",
        ),
        (
            json!({"name": "a", "cron": "61 * * * *", "job": job}),
            "cron",
        ),
        (
            json!({"name": "a", "cron": "0 0 30 2 *", "job": job}),
            "never ticks",
        ),
        (
            json!({"name": "a b", "cron": "* * * * *", "job": job}),
            "name",
        ),
        (
            json!({"name": "a", "cron": "* * * * *",
                   "job": {"id": "x", "payload": "1", "executor": "osis", "runner": common::RUNNER}}),
            "takes no id",
        ),
        (
            json!({"name": "a", "cron": "* * * * *",
                   "job": {"payload": "1", "executor": "osis", "runner": common::RUNNER, "timeout": 0}}),
            "timeout",
        ),
    ];
    for (schedule, words) in cases {
        let answer = sup
            .call(
                "schedules.create",
                json!({"secret": USER, "schedule": schedule}),
            )
            .await;
        assert_eq!(answer["error"]["code"], codes::INVALID_PARAMS, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{words}: {answer}");
    }
    let unknown = json!({"name": "a", "cron": "* * * * *",
                         "job": {"payload": "1", "executor": "osis", "runner": "nobody"}});
    let code = sup
        .error_code("schedules.create", json!([USER, unknown]))
        .await;
    assert_eq!(code, i64::from(codes::NOT_FOUND));
    let code = sup
        .error_code("schedules.create", json!(["not-a-secret", unknown]))
        .await;
    assert_eq!(code, i64::from(codes::UNAUTHORIZED));

    let ok = json!({"name": "one", "cron": "0 0 1 1 *", "job": job});
    let answer = sup.call("schedules.create", json!([USER, ok])).await;
    assert_eq!(answer["result"]["name"], "one", "{answer}");
    let two = json!({"name": "two", "cron": "0 0 1 1 *", "job": job});
    let answer = sup.call("schedules.create", json!([USER, two])).await;
    assert_eq!(answer["error"]["code"], codes::INVALID_PARAMS, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("max_schedules")),
        "{answer}"
    );
}
