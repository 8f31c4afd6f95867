//! The wire contract: params forms, batches, WebSocket, `/health`, `rpc.discover`, every
//! error code, and the secret levels.

mod common;

use common::{ADMIN, REGISTER, RUNNER, USER, bounded};
use hero_supervisor_api::{codes, methods};
use serde_json::{Value, json};

fn job_json(payload: &str) -> Value {
    json!({"payload": payload, "executor": "osis", "runner": common::RUNNER, "timeout": 20})
}

#[tokio::test]
async fn params_by_name_and_by_position_mean_the_same() {
    let sup = common::TestSupervisor::start().await;
    let by_name = sup
        .call(
            "job.run",
            json!({"secret": USER, "job": job_json("40 + 2")}),
        )
        .await;
    assert_eq!(by_name["result"], json!({"success": "42"}));
    let by_position = sup.call("job.run", json!([USER, job_json("40 + 2")])).await;
    assert_eq!(by_position["result"], json!({"success": "42"}));
    let id = sup.call("jobs.create", json!([USER, job_json("1")])).await["result"].clone();
    let status = sup.call("job.status", json!([id])).await;
    assert_eq!(status["result"]["status"], "created");
    let status = sup.call("job.status", json!({"job_id": id})).await;
    assert_eq!(status["result"]["status"], "created");
    sup.stop().await;
}

#[tokio::test]
async fn a_batch_answers_every_call() {
    let sup = common::TestSupervisor::start().await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "job.run", "params": [USER, job_json("1")]},
        {"jsonrpc": "2.0", "id": 2, "method": "jobs.list", "params": ["wrong"]},
        {"jsonrpc": "2.0", "id": 3, "method": "no.such.method"},
    ]);
    let answers = sup.raw(batch.to_string()).await;
    let answers = answers.as_array().expect("a batch answer is an array");
    assert_eq!(answers.len(), 3);
    let by_id = |id: i64| answers.iter().find(|a| a["id"] == id).unwrap();
    assert_eq!(by_id(1)["result"], json!({"success": "1"}));
    assert_eq!(by_id(2)["error"]["code"], codes::UNAUTHORIZED);
    assert_eq!(by_id(3)["error"]["code"], codes::METHOD_NOT_FOUND);
    sup.stop().await;
}

#[tokio::test]
async fn the_same_methods_answer_over_websocket() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;

    let sup = common::TestSupervisor::start().await;
    let ws_url = sup.url.replace("http://", "ws://");
    let (mut socket, _) = bounded(tokio_tungstenite::connect_async(ws_url))
        .await
        .expect("websocket connects");
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "job.run",
                         "params": {"secret": USER, "job": job_json("print(\"Hello\")")}});
    bounded(socket.send(Message::text(request.to_string())))
        .await
        .unwrap();
    let answer = bounded(socket.next()).await.expect("an answer").unwrap();
    let answer: Value = serde_json::from_str(answer.to_text().unwrap()).unwrap();
    assert_eq!(answer["id"], 7);
    assert_eq!(answer["result"], json!({"success": "Hello"}));
    sup.stop().await;
}

#[tokio::test]
async fn every_id_json_rpc_allows_comes_back_unchanged() {
    let sup = common::TestSupervisor::start().await;
    for id in [
        json!(7),
        json!(-1),
        json!(1.5),
        json!(18_446_744_073_709_551_615_u64),
        json!("text"),
        Value::Null,
    ] {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "jobs.list", "params": [USER]});
        let answer = sup.raw(body.to_string()).await;
        assert_eq!(answer["id"], id, "{answer}");
        assert!(answer["result"].is_array(), "the call ran: {answer}");
    }
    let batch = json!([
        {"jsonrpc": "2.0", "id": -2, "method": "jobs.list", "params": [USER]},
        {"jsonrpc": "2.0", "id": {"not": "an id"}, "method": "jobs.create",
         "params": [USER, common::job("1").build().unwrap()]},
        {"jsonrpc": "2.0", "id": 3, "method": "jobs.list", "params": [USER]},
    ]);
    let answers = sup.raw(batch.to_string()).await;
    let answers = answers.as_array().expect("a batch answer");
    let by_id = |id: Value| answers.iter().find(|a| a["id"] == id).cloned();
    assert!(by_id(json!(-2)).unwrap()["result"].is_array());
    assert!(by_id(json!(3)).unwrap()["result"].is_array());
    assert_eq!(by_id(Value::Null).unwrap()["error"]["code"], -32600);
    let jobs = bounded(sup.client.jobs_list(USER)).await.unwrap();
    assert!(jobs.is_empty(), "the call with an invalid id did not run");
}

#[tokio::test]
async fn a_notification_runs_and_gets_no_response_body() {
    let sup = common::TestSupervisor::start().await;
    let body = json!({"jsonrpc": "2.0", "method": "jobs.create",
                      "params": [USER, common::job("1").build().unwrap()]});
    let response = bounded(
        sup.http
            .post(&sup.url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::NO_CONTENT);
    assert!(bounded(response.bytes()).await.unwrap().is_empty());
    let jobs = bounded(sup.client.jobs_list(USER)).await.unwrap();
    assert_eq!(jobs.len(), 1, "the notification ran");
}

#[tokio::test]
async fn valid_json_that_is_no_request_is_an_invalid_request() {
    let sup = common::TestSupervisor::start().await;
    for body in [
        r#"{"foo":"bar"}"#,
        r#""hello""#,
        "5",
        r#"{"jsonrpc":"2.0","id":9}"#,
    ] {
        let answer = sup.raw(body.to_owned()).await;
        assert_eq!(answer["error"]["code"], -32600, "{body}: {answer}");
    }
}

#[tokio::test]
async fn browsers_of_the_configured_origins_may_call_and_others_may_not() {
    let sup = common::TestSupervisor::start_with(|config| {
        config.cors_allowed_origins = vec!["http://app.test:8080".into()];
    })
    .await;
    let allowed = |origin: &'static str| {
        let sup = &sup;
        async move {
            let preflight = bounded(
                sup.http
                    .request(reqwest::Method::OPTIONS, &sup.url)
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .header("access-control-request-headers", "content-type")
                    .send(),
            )
            .await
            .unwrap();
            let call = bounded(
                sup.http
                    .post(&sup.url)
                    .header("origin", origin)
                    .header("content-type", "application/json")
                    .body(json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}).to_string())
                    .send(),
            )
            .await
            .unwrap();
            assert!(call.status().is_success());
            let header = |r: &reqwest::Response| {
                r.headers()
                    .get("access-control-allow-origin")
                    .map(|v| v.to_str().unwrap().to_owned())
            };
            (header(&preflight), header(&call))
        }
    };
    let origin = Some("http://app.test:8080".to_owned());
    assert_eq!(
        allowed("http://app.test:8080").await,
        (origin.clone(), origin)
    );
    assert_eq!(allowed("http://evil.test").await, (None, None));

    let same_origin_only = common::TestSupervisor::start().await;
    let call = bounded(
        same_origin_only
            .http
            .post(&same_origin_only.url)
            .header("origin", "http://app.test:8080")
            .header("content-type", "application/json")
            .body(json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"}).to_string())
            .send(),
    )
    .await
    .unwrap();
    assert!(
        call.headers().get("access-control-allow-origin").is_none(),
        "no origin is allowed unless configured"
    );
}

#[tokio::test]
async fn health_reports_the_backend() {
    let sup = common::TestSupervisor::start().await;
    let health = sup.health().await.expect("200 with JSON");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["backend"]["kind"], "redis");
    assert_eq!(health["backend"]["status"], "ok");
    sup.stop().await;
}

#[tokio::test]
async fn rpc_discover_describes_exactly_the_served_methods() {
    let sup = common::TestSupervisor::start().await;
    let doc = sup.call("rpc.discover", Value::Null).await["result"].clone();
    assert_eq!(
        doc,
        hero_supervisor_api::openrpc::document(env!("CARGO_PKG_VERSION"))
    );
    let documented: Vec<&str> = doc["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let declared: Vec<&str> = methods::ALL
        .iter()
        .chain(methods::SUBSCRIPTIONS)
        .map(|m| m.name)
        .collect();
    assert_eq!(documented, declared);
    // Subscriptions are served over WebSocket only; runners.rs follows logs through one.
    let subscriptions: Vec<&str> = methods::SUBSCRIPTIONS.iter().map(|m| m.name).collect();
    for name in documented
        .into_iter()
        .filter(|n| !subscriptions.contains(n))
    {
        let answer = sup.call(name, json!({})).await;
        assert_ne!(
            answer["error"]["code"],
            codes::METHOD_NOT_FOUND,
            "{name} is documented but not served"
        );
    }
    for name in ["job.list", "jobs.run", "list_secrets"] {
        assert_eq!(
            sup.error_code(name, json!({})).await,
            i64::from(codes::METHOD_NOT_FOUND),
            "{name} is served but not documented"
        );
    }
    sup.stop().await;
}

#[tokio::test]
async fn every_error_code_of_the_contract_is_answered() {
    // Jobs for runners that never come, to see a wait time out.
    let sup = common::TestSupervisor::start_with(|c| c.accept_unknown_runners = true).await;
    let code = |c: i32| i64::from(c);
    let parse = sup.raw("{not json".into()).await;
    assert_eq!(parse["error"]["code"], code(codes::PARSE_ERROR));
    let invalid = sup
        .raw(json!({"jsonrpc": "2.0", "id": 1}).to_string())
        .await;
    assert_eq!(invalid["error"]["code"], code(codes::INVALID_REQUEST));
    assert_eq!(
        sup.error_code("jobs.explode", json!([])).await,
        code(codes::METHOD_NOT_FOUND)
    );
    let bad_job = json!({"payload": "", "executor": "osis", "runner": "r"});
    assert_eq!(
        sup.error_code("jobs.create", json!([USER, bad_job])).await,
        code(codes::INVALID_PARAMS)
    );
    assert_eq!(
        sup.error_code("job.start", json!({"secret": USER})).await,
        code(codes::INVALID_PARAMS)
    );
    assert_eq!(
        sup.error_code("jobs.list", json!({"secret": USER, "extra": 1}))
            .await,
        code(codes::INVALID_PARAMS)
    );
    assert_eq!(
        sup.error_code("jobs.list", json!([])).await,
        code(codes::UNAUTHORIZED)
    );
    assert_eq!(
        sup.error_code("job.status", json!(["no-such-job"])).await,
        code(codes::NOT_FOUND)
    );
    let fixed = json!({"id": "fixed", "payload": "1", "executor": "osis", "runner": "r"});
    sup.call("jobs.create", json!([USER, fixed.clone()])).await;
    assert_eq!(
        sup.error_code("jobs.create", json!([USER, fixed])).await,
        code(codes::CONFLICT)
    );
    let slow = json!({"payload": "1", "executor": "osis", "runner": "nobody", "timeout": 1});
    let slow_id = sup.call("jobs.create", json!([USER, slow])).await["result"].clone();
    sup.call("job.start", json!([USER, slow_id])).await;
    let waited = sup.call("job.result", json!([slow_id])).await;
    assert_eq!(
        waited["error"]["code"],
        code(codes::WAIT_TIMED_OUT),
        "{waited}"
    );
    sup.stop().await;
}

#[tokio::test]
async fn a_lost_redis_is_backend_unavailable_within_bounded_time() {
    let mut sup = common::TestSupervisor::start().await;
    // Swap in a fresh server on another port, so the supervisor's Redis is gone for good.
    let gone = std::mem::replace(&mut sup.redis, hero_test_support::RedisServer::start());
    drop(gone);
    let answer = sup.call("jobs.list", json!([USER])).await;
    assert_eq!(
        answer["error"]["code"],
        i64::from(codes::BACKEND_UNAVAILABLE),
        "{answer}"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        !message.contains("127.0.0.1"),
        "no server address leaks: {message}"
    );
    let health = sup.health().await.expect("health still answers 200");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["backend"]["status"], "unavailable");
    // Secrets are still checked against the grants last loaded, so an admin can still
    // manage the local runners, which need no store, however long the outage lasts.
    for _ in 0..2 {
        let stopped = sup.call("stop_runner", json!([ADMIN, RUNNER])).await;
        assert_eq!(stopped["result"], Value::Null, "{stopped}");
        let wrong = sup
            .call("stop_runner", json!(["not-a-secret", RUNNER]))
            .await;
        assert_eq!(
            wrong["error"]["code"],
            i64::from(codes::UNAUTHORIZED),
            "{wrong}"
        );
    }
    sup.stop().await;
}

#[tokio::test]
async fn secrets_grant_exactly_their_levels() {
    let sup = common::TestSupervisor::start().await;
    let unauthorized = i64::from(codes::UNAUTHORIZED);
    for secret in [
        Value::Null,
        json!(""),
        json!("wrong"),
        json!(REGISTER),
        json!(42),
    ] {
        assert_eq!(
            sup.error_code("jobs.create", json!([secret, job_json("1")]))
                .await,
            unauthorized,
            "jobs.create with {secret}"
        );
        assert_eq!(
            sup.error_code("jobs.list", json!([secret])).await,
            unauthorized,
            "jobs.list with {secret}"
        );
    }
    for secret in [USER, ADMIN] {
        let answer = sup
            .call("jobs.create", json!([secret, job_json("1")]))
            .await;
        assert!(answer["result"].is_string(), "{secret}: {answer}");
    }
    let message = sup.call("jobs.list", json!(["hunter2-guess"])).await["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!message.contains("hunter2"), "{message}");
    sup.stop().await;
}

#[tokio::test]
async fn reads_can_be_made_to_need_a_secret() {
    let sup = common::TestSupervisor::start_with(|c| c.require_secret_for_reads = true).await;
    let id = sup.call("jobs.create", json!([USER, job_json("1")])).await["result"].clone();
    assert_eq!(
        sup.error_code("job.status", json!([id])).await,
        i64::from(codes::UNAUTHORIZED)
    );
    let status = sup.call("job.status", json!([id, USER])).await;
    assert_eq!(status["result"]["status"], "created");
    sup.stop().await;
}

#[tokio::test]
async fn an_oversized_request_is_refused_and_the_server_stays_up() {
    let sup = common::TestSupervisor::start_with(|c| c.limits.max_request_bytes = 4096).await;
    let huge = "x".repeat(8192);
    let response = bounded(
        sup.http
            .post(&sup.url)
            .header("content-type", "application/json")
            .body(
                json!({"jsonrpc": "2.0", "id": 1, "method": "job.run",
                         "params": [USER, job_json(&huge)]})
                .to_string(),
            )
            .send(),
    )
    .await
    .unwrap();
    assert!(
        !response.status().is_success() || {
            let body: Value = response.json().await.unwrap();
            body["error"].is_object()
        }
    );
    let answer = sup.call("job.run", json!([USER, job_json("2")])).await;
    assert_eq!(answer["result"], json!({"success": "2"}));
    sup.stop().await;
}

#[tokio::test]
async fn null_fields_count_as_absent_and_bad_fields_are_named() {
    let sup = common::TestSupervisor::start().await;
    let job = json!({"id": null, "caller_id": null, "timeout": null, "env_vars": null,
                     "payload": "40 + 2", "executor": "osis", "runner": common::RUNNER});
    let answer = sup.call("job.run", json!([USER, job])).await;
    assert_eq!(answer["result"], json!({"success": "42"}), "{answer}");
    let bad = json!({"payload": "1", "executor": "osis", "runner": "r", "timeout": "soon"});
    let answer = sup.call("jobs.create", json!([USER, bad])).await;
    assert_eq!(answer["error"]["code"], codes::INVALID_PARAMS);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("job.timeout"), "{message}");
    sup.stop().await;
}

#[tokio::test]
async fn job_ids_are_checked_and_never_echoed() {
    let sup = common::TestSupervisor::start().await;
    for bad in [json!(""), json!("a b"), json!("x".repeat(200))] {
        assert_eq!(
            sup.error_code("job.status", json!([bad])).await,
            i64::from(codes::INVALID_PARAMS),
            "{bad}"
        );
    }
    // The other methods' order put first by mistake: the secret is not sent back.
    let answer = sup.call("job.status", json!([USER])).await;
    assert_eq!(answer["error"]["code"], codes::NOT_FOUND);
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(!message.contains(USER), "{message}");
    sup.stop().await;
}
