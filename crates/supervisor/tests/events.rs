//! `jobs.subscribe` end to end: real supervisors, real Redis, the real `osis_runner`, events
//! read through the Rust client's WebSocket transport (and a raw WebSocket where the wire
//! itself is checked).

#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test

mod common;

use common::{ADMIN, RUNNER, USER, bounded, job};
use futures::{SinkExt, StreamExt};
use hero_supervisor_api::codes;
use hero_supervisor_openrpc_client::{
    EventFilter, EventStatus, EventStatusFilter, JobEvent, JobEvents, JobResult, Progress,
    SupervisorClient,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const OTHER_USER: &str = "other-user-secret";

/// The next event of `events`, failing the test past the harness's timeout.
async fn next(events: &mut JobEvents) -> JobEvent {
    bounded(events.next())
        .await
        .expect("the subscription stays open")
        .expect("an event, not an error")
}

/// The statuses of the next events of `id`, until one is final, skipping other jobs' events.
async fn life_of(events: &mut JobEvents, id: &str) -> Vec<JobEvent> {
    let mut life = Vec::new();
    loop {
        let event = next(events).await;
        if event.job_id != id {
            continue;
        }
        let last = event.status.is_final();
        life.push(event);
        if last {
            return life;
        }
    }
}

fn statuses(events: &[JobEvent]) -> Vec<EventStatus> {
    events.iter().map(|e| e.status).collect()
}

#[tokio::test]
async fn a_user_sees_its_job_queued_running_and_completed_with_the_result_and_no_other_users_job() {
    let sup = common::TestSupervisor::start_with(|c| c.user_secrets.push(OTHER_USER.into())).await;
    let mut events = bounded(sup.client.jobs_subscribe(USER, None))
        .await
        .unwrap();
    let others = bounded(sup.client.job_run(OTHER_USER, job("1").build().unwrap()))
        .await
        .unwrap();
    assert_eq!(others, JobResult::success("1"));
    bounded(sup.client.job_run(ADMIN, job("2").build().unwrap()))
        .await
        .unwrap();
    let id = bounded(
        sup.client
            .jobs_create(USER, job("print(\"hi\")").build().unwrap()),
    )
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();

    // Events arrive in the store's order: another secret's job, finished first, would have
    // come before this one's.
    let mut life = Vec::new();
    while life.last().is_none_or(|e: &JobEvent| !e.status.is_final()) {
        let event = next(&mut events).await;
        assert_eq!(event.job_id, id, "only the secret's own job: {event:?}");
        life.push(event);
    }
    assert_eq!(
        statuses(&life),
        [
            EventStatus::Created,
            EventStatus::Queued,
            EventStatus::Running,
            EventStatus::Completed
        ]
    );
    assert!(life.iter().all(|e| e.runner == RUNNER));
    assert!(life.windows(2).all(|w| w[0].at <= w[1].at), "{life:?}");
    assert_eq!(life[3].result, Some(JobResult::success("hi")));
    assert!(life[..3].iter().all(|e| e.result.is_none()));
    sup.stop().await;
}

#[tokio::test]
async fn progress_reports_of_an_osis_job_arrive_as_running_events_with_progress() {
    let sup = common::TestSupervisor::start().await;
    let mut events = bounded(sup.client.jobs_subscribe(USER, None))
        .await
        .unwrap();
    let id = bounded(sup.client.jobs_create(
        USER,
        job(r#"progress(50, "half"); "done""#).build().unwrap(),
    ))
    .await
    .unwrap();
    bounded(sup.client.job_start(USER, &id)).await.unwrap();
    let life = life_of(&mut events, &id).await;
    assert_eq!(
        statuses(&life),
        [
            EventStatus::Created,
            EventStatus::Queued,
            EventStatus::Running,
            EventStatus::Running,
            EventStatus::Completed
        ]
    );
    assert_eq!(life[2].progress, None, "the claim reports no progress");
    assert_eq!(life[3].progress, Some(Progress::new(50, "half")));
    assert_eq!(life[4].result, Some(JobResult::success("done")));
    sup.stop().await;
}

/// A second supervisor on the first one's Redis and namespace, without actors.
struct Second {
    client: SupervisorClient,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn second_supervisor(first: &common::TestSupervisor) -> Second {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config(&first.redis, dir.path());
    config.actors.clear();
    config.accept_unknown_runners = true;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        hero_supervisor::run(config, listener, async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let client = SupervisorClient::new(&url).unwrap();
    common::until("the second supervisor answers", || async {
        client.rpc_discover().await.is_ok()
    })
    .await;
    Second {
        client,
        stop,
        task,
        _dir: dir,
    }
}

#[tokio::test]
async fn a_change_made_through_a_second_supervisor_reaches_a_subscriber_of_the_first() {
    let sup = common::TestSupervisor::start().await;
    let second = second_supervisor(&sup).await;
    let mut events = bounded(sup.client.jobs_subscribe(ADMIN, None))
        .await
        .unwrap();
    let id = bounded(
        second
            .client
            .jobs_create(USER, job("6 * 7").build().unwrap()),
    )
    .await
    .unwrap();
    bounded(second.client.job_start(USER, &id)).await.unwrap();
    let life = life_of(&mut events, &id).await;
    assert_eq!(life[0].status, EventStatus::Created, "{life:?}");
    assert_eq!(life.last().unwrap().result, Some(JobResult::success("42")));
    let _ = second.stop.send(());
    bounded(second.task).await.unwrap();
    sup.stop().await;
}

#[tokio::test]
async fn a_filter_by_status_or_runner_selects_the_events() {
    let sup = common::TestSupervisor::start_with(|c| c.accept_unknown_runners = true).await;
    let completed = EventFilter {
        status: Some(EventStatusFilter::One(EventStatus::Completed)),
        ..EventFilter::default()
    };
    let mut finished = bounded(sup.client.jobs_subscribe(USER, Some(completed)))
        .await
        .unwrap();
    let elsewhere = EventFilter {
        runner: Some("elsewhere".into()),
        ..EventFilter::default()
    };
    let mut elsewhere = bounded(sup.client.jobs_subscribe(USER, Some(elsewhere)))
        .await
        .unwrap();
    let ran = job("1").build().unwrap();
    bounded(sup.client.job_run(USER, ran)).await.unwrap();
    let waiting = job("2").runner("elsewhere").build().unwrap();
    let waiting_id = bounded(sup.client.jobs_create(USER, waiting))
        .await
        .unwrap();

    let event = next(&mut finished).await;
    assert_eq!(event.status, EventStatus::Completed, "{event:?}");
    assert_eq!(event.runner, RUNNER);
    let event = next(&mut elsewhere).await;
    assert_eq!(
        (event.job_id.as_str(), event.status),
        (waiting_id.as_str(), EventStatus::Created),
        "the first event of runner `elsewhere`: nothing of the job that ran before"
    );
    sup.stop().await;
}

/// A raw WebSocket to the supervisor, speaking JSON-RPC text frames.
struct Socket {
    inner: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Socket {
    async fn open(sup: &common::TestSupervisor) -> Self {
        let url = sup.url.replace("http://", "ws://");
        let (inner, _) = bounded(tokio_tungstenite::connect_async(url))
            .await
            .unwrap();
        Self { inner }
    }

    async fn send(&mut self, id: u64, method: &str, params: Value) {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        bounded(self.inner.send(Message::text(request.to_string())))
            .await
            .unwrap();
    }

    async fn receive(&mut self) -> Value {
        loop {
            let message = bounded(self.inner.next())
                .await
                .expect("the socket stays open")
                .unwrap();
            if let Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }

    /// The answer to request `id`, keeping the notifications received before it.
    async fn answer(&mut self, id: u64, notifications: &mut Vec<Value>) -> Value {
        loop {
            let message = self.receive().await;
            if message["id"] == id {
                return message;
            }
            notifications.push(message);
        }
    }
}

/// The job id of a `jobs.event` notification of `subscription`, if it is one.
fn event_of<'a>(message: &'a Value, subscription: &Value) -> Option<&'a str> {
    (message["method"] == "jobs.event" && message["params"]["subscription"] == *subscription)
        .then(|| message["params"]["result"]["job_id"].as_str())
        .flatten()
}

#[tokio::test]
async fn unsubscribing_stops_the_events_of_that_subscription_only() {
    let sup = common::TestSupervisor::start().await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    socket.send(1, "jobs.subscribe", json!([USER])).await;
    let first = socket.answer(1, &mut seen).await["result"].clone();
    let one = bounded(sup.client.jobs_create(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    while !seen
        .iter()
        .any(|m| event_of(m, &first) == Some(one.as_str()))
    {
        seen.push(socket.receive().await);
    }
    socket.send(2, "jobs.unsubscribe", json!([first])).await;
    assert_eq!(socket.answer(2, &mut seen).await["result"], true);
    socket
        .send(3, "jobs.subscribe", json!({"secret": USER, "filter": null}))
        .await;
    let second = socket.answer(3, &mut seen).await["result"].clone();
    seen.clear();
    for n in 0..3 {
        let id = bounded(
            sup.client
                .jobs_create(USER, job(&n.to_string()).build().unwrap()),
        )
        .await
        .unwrap();
        while !seen
            .iter()
            .any(|m| event_of(m, &second) == Some(id.as_str()))
        {
            seen.push(socket.receive().await);
        }
    }
    assert!(
        !seen.iter().any(|m| event_of(m, &first).is_some()),
        "an event after unsubscribing: {seen:?}"
    );
    socket.send(4, "jobs.unsubscribe", json!([first])).await;
    assert_eq!(socket.answer(4, &mut seen).await["result"], false);
    sup.stop().await;
}

#[tokio::test]
async fn an_unsubscribe_takes_its_subscription_id_by_name_too() {
    let sup = common::TestSupervisor::start().await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    socket
        .send(1, "jobs.subscribe", json!({"secret": USER}))
        .await;
    let jobs = socket.answer(1, &mut seen).await["result"].clone();
    socket
        .send(
            2,
            "runner_logs.subscribe",
            json!({"secret": ADMIN, "actor_id": RUNNER, "lines": 0}),
        )
        .await;
    let logs = socket.answer(2, &mut seen).await["result"].clone();
    assert!(jobs.is_string() && logs.is_string(), "{jobs} {logs}");
    for (id, method, subscription, ended) in [
        (3, "jobs.unsubscribe", &jobs, true),
        (4, "jobs.unsubscribe", &jobs, false),
        (5, "runner_logs.unsubscribe", &logs, true),
    ] {
        socket
            .send(id, method, json!({"subscription": subscription}))
            .await;
        let answer = socket.answer(id, &mut seen).await;
        assert_eq!(answer["result"], ended, "{method}: {answer}");
    }
    sup.stop().await;
}

#[tokio::test]
async fn a_subscription_needs_a_user_secret_a_valid_filter_and_a_websocket() {
    let sup = common::TestSupervisor::start().await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    for (id, params, code) in [
        (1, json!([]), codes::UNAUTHORIZED),
        (2, json!(["not-a-secret"]), codes::UNAUTHORIZED),
        (3, json!([common::REGISTER]), codes::UNAUTHORIZED),
        (4, json!([USER, {"status": "done"}]), codes::INVALID_PARAMS),
        (5, json!([USER, {"runner": "a b"}]), codes::INVALID_PARAMS),
        (6, json!([USER, {"owner": "x"}]), codes::INVALID_PARAMS),
        (
            7,
            json!([USER, {"job_ids": vec!["a"; 10_001]}]),
            codes::INVALID_PARAMS,
        ),
    ] {
        socket.send(id, "jobs.subscribe", params.clone()).await;
        let answer = socket.answer(id, &mut seen).await;
        assert_eq!(answer["error"]["code"], code, "{params}: {answer}");
    }
    let over_http = sup.call("jobs.subscribe", json!([USER])).await;
    assert_eq!(
        over_http["error"]["code"],
        codes::METHOD_NOT_FOUND,
        "{over_http}"
    );
    let message = over_http["error"]["message"].as_str().unwrap();
    assert!(message.contains("WebSocket only"), "{message}");
    sup.stop().await;
}

#[tokio::test]
async fn a_client_that_lets_events_pile_up_is_dropped_with_an_error_notification() {
    let sup =
        common::TestSupervisor::start_with(|c| c.limits.max_events_per_subscription = 1).await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    socket.send(1, "jobs.subscribe", json!([USER])).await;
    let subscription = socket.answer(1, &mut seen).await["result"].clone();
    // One store announcement of 1,000 changes: far more than one waiting event at once.
    let jobs = (0..1000)
        .map(|n| job(&n.to_string()).build().unwrap())
        .collect();
    bounded(sup.client.jobs_create_many(USER, jobs, false))
        .await
        .unwrap();
    let ended = loop {
        let message = socket.receive().await;
        if message["params"]["subscription"] == subscription
            && message["params"].get("error").is_some()
        {
            break message;
        }
    };
    assert_eq!(ended["method"], "jobs.event");
    let error = &ended["params"]["error"];
    assert_eq!(error["code"], codes::BUSY, "{ended}");
    assert!(
        error["message"].as_str().unwrap().contains("too slowly"),
        "{ended}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn removing_a_secret_ends_its_subscription_and_the_client_stream_says_so() {
    use hero_supervisor_openrpc_client::ClientError;

    let sup = common::TestSupervisor::start().await;
    let granted = "granted-user-secret";
    bounded(sup.client.add_secret(ADMIN, "user", granted))
        .await
        .unwrap();
    let mut events = bounded(sup.client.jobs_subscribe(granted, None))
        .await
        .unwrap();
    let id = bounded(sup.client.jobs_create(granted, job("1").build().unwrap()))
        .await
        .unwrap();
    assert_eq!(next(&mut events).await.job_id, id);
    bounded(sup.client.remove_secret(ADMIN, "user", granted))
        .await
        .unwrap();
    let ended = bounded(events.next()).await.expect("one last item");
    assert!(
        matches!(ended, Err(ClientError::SubscriptionEnded { .. })),
        "{ended:?}"
    );
    assert!(
        bounded(events.next()).await.is_none(),
        "then the stream ends"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_connection_holds_at_most_its_limit_of_subscriptions() {
    let sup =
        common::TestSupervisor::start_with(|c| c.limits.max_subscriptions_per_connection = 1).await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    socket.send(1, "jobs.subscribe", json!([USER])).await;
    let first = socket.answer(1, &mut seen).await;
    assert!(first["result"].is_string(), "{first}");
    socket.send(2, "jobs.subscribe", json!([USER])).await;
    let second = socket.answer(2, &mut seen).await;
    assert_eq!(second["error"]["code"], -32006, "{second}");
    let mut other = Socket::open(&sup).await;
    other.send(1, "jobs.subscribe", json!([ADMIN])).await;
    assert!(other.answer(1, &mut seen).await["result"].is_string());
    sup.stop().await;
}

#[tokio::test]
async fn a_lost_store_connection_ends_subscriptions_saying_events_may_be_missed() {
    let sup = common::TestSupervisor::start().await;
    let mut socket = Socket::open(&sup).await;
    let mut seen = Vec::new();
    socket.send(1, "jobs.subscribe", json!([USER])).await;
    let subscription = socket.answer(1, &mut seen).await["result"].clone();
    // Drops the supervisor's pub/sub connection, as a network cut or a Redis restart would.
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query(&mut sup.redis.connection())
        .unwrap();
    assert!(killed >= 1, "the supervisor had a pub/sub connection");
    let ended = loop {
        let message = socket.receive().await;
        if message["params"]["subscription"] == subscription {
            break message;
        }
    };
    let error = &ended["params"]["error"];
    assert_eq!(error["code"], codes::BACKEND_UNAVAILABLE, "{ended}");
    assert!(
        error["message"].as_str().unwrap().contains("missed"),
        "{ended}"
    );
    // A new subscription, once answered, sees every change again.
    let mut events = bounded(sup.client.jobs_subscribe(USER, None))
        .await
        .unwrap();
    let id = bounded(sup.client.jobs_create(USER, job("1").build().unwrap()))
        .await
        .unwrap();
    let event = next(&mut events).await;
    assert_eq!(
        (event.job_id.as_str(), event.status),
        (id.as_str(), EventStatus::Created)
    );
    sup.stop().await;
}
