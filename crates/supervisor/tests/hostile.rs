#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test
//! Hostile input against a real supervisor: malformed JSON, wrong JSON-RPC shapes, bodies
//! near and over the size limit, deep nesting, oversized batches, unknown methods, wrong
//! param types, ids with forbidden characters and secrets of the wrong type, sent
//! concurrently. Every answer is a JSON-RPC error (or a 4xx where the body is refused whole),
//! never a 5xx; afterwards the server still serves, and the jobs it held are unchanged.

mod common;

use std::sync::Arc;

use common::{ADMIN, REGISTER, RUNNER, USER, bounded};
use hero_test_support::TIMEOUT;
use serde_json::{Value, json};

/// The request size limit of this test's supervisor.
const LIMIT: usize = 64 * 1024;
/// The default batch limit.
const MAX_BATCH: usize = 100;
const TASKS: usize = 8;
const REQUESTS_PER_TASK: usize = 50;
/// Nesting depth of the deeply nested JSON: far past serde_json's recursion limit of 128.
const DEPTH: usize = 10_000;

/// What a hostile request may get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A JSON-RPC error, or a batch answer of errors only.
    Errors,
    /// As `Errors`, or an HTTP 4xx: the body is refused whole (too large, not JSON).
    ErrorsOrRefusal,
    /// A notification: no answer, or errors only.
    NothingOrErrors,
    /// Any JSON-RPC answer: extreme but well-formed calls that change no job.
    Answer,
}

struct Hostile {
    what: String,
    body: Vec<u8>,
    content_type: &'static str,
    expect: Expect,
}

impl Hostile {
    fn new(what: impl Into<String>, body: impl Into<Vec<u8>>, expect: Expect) -> Self {
        Self {
            what: what.into(),
            body: body.into(),
            content_type: "application/json",
            expect,
        }
    }

    /// A call of `method` with `params` that must be refused.
    fn call(method: &str, params: Value) -> Self {
        let what = format!("{method} {}", abbreviated(&params.to_string()));
        Self::new(what, request(method, params), Expect::Errors)
    }
}

fn request(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
}

fn abbreviated(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_owned(),
    }
}

/// `make(padding)` with the padding chosen so that the body is exactly `size` bytes.
fn sized(size: usize, make: &dyn Fn(&str) -> String) -> String {
    let bare = make("").len();
    let body = make(&"x".repeat(size - bare));
    assert_eq!(body.len(), size, "padding needs no JSON escaping");
    body
}

fn job(payload: &str) -> Value {
    json!({"payload": payload, "executor": "osis", "runner": RUNNER, "timeout": 20})
}

fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn nested_objects(depth: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth))
}

fn malformed() -> Vec<Hostile> {
    let list = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"jobs.list","params":["{USER}"]"#);
    let texts: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{not json".to_vec(),
        b"{".to_vec(),
        b"[".to_vec(),
        b"}".to_vec(),
        b"\"unterminated".to_vec(),
        b"nul\0l".to_vec(),
        format!("{list}}} trailing").into_bytes(),
        format!("{list},}}").into_bytes(),
        list.clone().into_bytes(),
        b"\xff\xfe{\"jsonrpc\":\"2.0\"}".to_vec(),
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"jobs.\xff\",\"params\":[]}".to_vec(),
        br#"{"jsonrpc":"2.0","id":1,"method":"jobs.list","params":["\ud800"]}"#.to_vec(),
    ];
    texts
        .into_iter()
        .map(|text| {
            let what = format!("malformed {:?}", String::from_utf8_lossy(&text));
            Hostile::new(what, text, Expect::Errors)
        })
        .collect()
}

fn wrong_shapes() -> Vec<Hostile> {
    let shapes = [
        json!({"jsonrpc": "1.0", "id": 1, "method": "jobs.list", "params": [USER]}),
        json!({"id": 1, "method": "jobs.list", "params": [USER]}),
        json!({"jsonrpc": "2.0", "id": 1}),
        json!({"jsonrpc": "2.0", "id": 1, "method": 5, "params": [USER]}),
        json!({"jsonrpc": "2.0", "id": 1, "method": ["jobs.list"], "params": [USER]}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "jobs.list", "params": USER}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "jobs.list", "params": 5}),
        json!({"jsonrpc": "2.0", "id": 1, "method": "jobs.list", "params": true}),
        json!([]),
        json!([1, 2, 3]),
        json!([[]]),
        json!(null),
        json!(42),
        json!("jobs.list"),
        json!(true),
        json!([{"jsonrpc": "2.0", "id": 1}, {"jsonrpc": "2.0", "id": 2, "method": 7}, 3]),
    ];
    let mut all: Vec<Hostile> = shapes
        .into_iter()
        .map(|shape| {
            let what = format!("shape {}", abbreviated(&shape.to_string()));
            Hostile::new(what, shape.to_string(), Expect::Errors)
        })
        .collect();
    for notification in [
        json!({"jsonrpc": "2.0", "method": "jobs.create", "params": ["wrong", job("1")]}),
        json!({"jsonrpc": "2.0", "method": "no.such.method"}),
        json!({"jsonrpc": "2.0", "method": "job.delete", "params": [USER, "*"]}),
    ] {
        let what = format!("notification {notification}");
        all.push(Hostile::new(
            what,
            notification.to_string(),
            Expect::NothingOrErrors,
        ));
    }
    // An id JSON-RPC does not allow (an object, an array, a boolean) makes the call invalid:
    // answered -32600 and not run; the jobs check at the end finds no job from them.
    for id in [json!({"a": 1}), json!([1]), json!(true)] {
        let call = json!({"jsonrpc": "2.0", "id": id, "method": "jobs.create",
                          "params": [USER, job("1")]});
        all.push(Hostile::new(
            format!("id {id}"),
            call.to_string(),
            Expect::Errors,
        ));
    }
    // A browser may send `text/plain` across origins without asking first: refused.
    let mut plain = Hostile::new(
        "jobs.create as text/plain",
        request("jobs.create", json!([USER, job("1")])),
        Expect::ErrorsOrRefusal,
    );
    plain.content_type = "text/plain";
    all.push(plain);
    all
}

fn huge() -> Vec<Hostile> {
    let near = |what: &str, make: &dyn Fn(&str) -> String| {
        Hostile::new(what, sized(LIMIT - 64, make), Expect::Errors)
    };
    let mut all = vec![
        near("job.status with a huge id", &|pad| {
            request("job.status", json!([pad]))
        }),
        near("jobs.list with a huge secret", &|pad| {
            request("jobs.list", json!([pad]))
        }),
        near("a huge method name", &|pad| request(pad, json!([USER]))),
        near("jobs.create with a huge payload and a bad runner", &|pad| {
            let job = json!({"payload": pad, "executor": "osis", "runner": "bad runner!"});
            request("jobs.create", json!([USER, job]))
        }),
        near("job.run with a huge payload and a zero timeout", &|pad| {
            let job = json!({"payload": pad, "executor": "osis", "runner": RUNNER, "timeout": 0});
            request("job.run", json!([USER, job]))
        }),
        near(
            "jobs.create with a huge payload and a wrong secret",
            &|pad| request("jobs.create", json!(["wrong", job(pad)])),
        ),
    ];
    // At the limit exactly, accepted or refused: both fine, as long as no job comes of it.
    let at_limit = sized(LIMIT, &|pad| {
        let job = json!({"payload": pad, "executor": "osis", "runner": "bad runner!"});
        request("jobs.create", json!([USER, job]))
    });
    all.push(Hostile::new(
        "jobs.create of exactly the limit",
        at_limit,
        Expect::ErrorsOrRefusal,
    ));
    // Valid calls but for their size: a limit that did not hold would create jobs.
    for size in [LIMIT + 1, 2 * LIMIT, 1 << 20] {
        let body = sized(size, &|pad| request("jobs.create", json!([USER, job(pad)])));
        all.push(Hostile::new(
            format!("jobs.create of {size} bytes"),
            body,
            Expect::ErrorsOrRefusal,
        ));
    }
    all
}

fn deeply_nested() -> Vec<Hostile> {
    let arrays = nested_arrays(DEPTH);
    let objects = nested_objects(DEPTH);
    let call = |method: &str, params: &str| {
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#)
    };
    let bodies = [
        ("a body of nested arrays", arrays.clone()),
        ("a body of nested objects", objects.clone()),
        ("params of nested arrays", call("jobs.list", &arrays)),
        ("params of nested objects", call("jobs.list", &objects)),
        (
            "a secret of nested arrays",
            call("jobs.list", &format!("[{arrays}]")),
        ),
        (
            "a job of nested objects",
            call("jobs.create", &format!(r#"["{USER}", {objects}]"#)),
        ),
        (
            "env_vars of nested objects",
            call(
                "jobs.create",
                &format!(
                    r#"["{USER}", {{"payload":"1","executor":"osis","runner":"{RUNNER}","env_vars":{objects}}}]"#
                ),
            ),
        ),
        (
            "a batch of nested batches",
            format!("[{}]", nested_arrays(DEPTH / 2)),
        ),
    ];
    let mut all: Vec<Hostile> = bodies
        .into_iter()
        .map(|(what, body)| Hostile::new(what, body, Expect::Errors))
        .collect();
    // Taken for a notification, as other ids that are not ids (see `wrong_shapes`): not run.
    let job = job("1");
    all.push(Hostile::new(
        "an id of nested arrays",
        format!(
            r#"{{"jsonrpc":"2.0","id":{arrays},"method":"jobs.create","params":["{USER}",{job}]}}"#
        ),
        Expect::NothingOrErrors,
    ));
    all
}

fn batches() -> Vec<Hostile> {
    let batch = |len: usize, call: &dyn Fn(usize) -> Value| {
        Value::Array((0..len).map(call).collect()).to_string()
    };
    let create = |i: usize| json!({"jsonrpc": "2.0", "id": i, "method": "jobs.create", "params": [USER, job("1")]});
    let list =
        |i: usize| json!({"jsonrpc": "2.0", "id": i, "method": "jobs.list", "params": [USER]});
    let refused = |i: usize| json!({"jsonrpc": "2.0", "id": i, "method": "jobs.create", "params": ["wrong", job("1")]});
    vec![
        // Over the limit with valid calls: a limit that did not hold would create jobs.
        Hostile::new(
            "a batch of 101 jobs.create",
            batch(MAX_BATCH + 1, &create),
            Expect::Errors,
        ),
        Hostile::new(
            "a batch of 400 jobs.create",
            batch(400, &create),
            Expect::Errors,
        ),
        Hostile::new(
            "a batch of 101 jobs.list",
            batch(MAX_BATCH + 1, &list),
            Expect::Errors,
        ),
        Hostile::new(
            "a batch of 100 refused calls",
            batch(MAX_BATCH, &refused),
            Expect::Errors,
        ),
    ]
}

fn unknown_methods() -> Vec<Hostile> {
    [
        "jobs.explode",
        "",
        " ",
        "JOBS.LIST",
        "jobs.list ",
        "jobs.list\u{0}",
        "rpc.discover.x",
        "__proto__",
        "constructor",
        "../../etc/passwd",
        "😀",
        "job.run;FLUSHALL",
        "runner_logs.subscribe",
    ]
    .into_iter()
    .map(|name| Hostile::call(name, json!([USER])))
    .collect()
}

fn wrong_param_types() -> Vec<Hostile> {
    let with = |field: &str, value: Value| {
        let mut job = job("1");
        job[field] = value;
        job
    };
    let calls = [
        ("jobs.create", json!([USER, "job"])),
        ("jobs.create", json!([USER, 5])),
        ("jobs.create", json!([USER, []])),
        ("jobs.create", json!([USER, null])),
        ("jobs.create", json!([USER])),
        (
            "jobs.create",
            json!({"secret": USER, "job": job("1"), "extra": 1}),
        ),
        ("jobs.create", json!([USER, job("1"), "third"])),
        ("jobs.create", json!([USER, with("payload", json!(5))])),
        ("jobs.create", json!([USER, with("payload", json!(null))])),
        ("jobs.create", json!([USER, with("payload", json!(""))])),
        ("jobs.create", json!([USER, with("executor", json!([]))])),
        ("jobs.create", json!([USER, with("timeout", json!(-1))])),
        ("jobs.create", json!([USER, with("timeout", json!(0))])),
        ("jobs.create", json!([USER, with("timeout", json!(86_401))])),
        ("jobs.create", json!([USER, with("timeout", json!(1e300))])),
        ("jobs.create", json!([USER, with("timeout", json!("60"))])),
        ("jobs.create", json!([USER, with("env_vars", json!([1]))])),
        (
            "jobs.create",
            json!([USER, with("env_vars", json!({"A": 5}))]),
        ),
        (
            "jobs.create",
            json!([USER, with("created_at", json!("yesterday"))]),
        ),
        ("job.run", json!([USER, with("timeout", json!(0))])),
        ("job.run", json!([USER, "40 + 2"])),
        ("job.status", json!([5])),
        ("job.status", json!([null])),
        ("job.status", json!([[]])),
        ("job.status", json!([{}])),
        ("job.status", json!(["a", USER, 3])),
        ("job.result", json!([true])),
        ("job.start", json!([USER, 5])),
        ("job.stop", json!([USER, {"id": "x"}])),
        ("job.delete", json!([USER, ["x"]])),
        ("jobs.list", json!([USER, 1])),
        ("jobs.list", json!({"secret": USER, "evil": 1})),
        ("get_runner_logs", json!([ADMIN, RUNNER, -5])),
        ("get_runner_logs", json!([ADMIN, RUNNER, "10"])),
        ("get_runner_logs", json!([ADMIN, RUNNER, 1.5])),
        ("get_runner_logs", json!([ADMIN, RUNNER, 10, "yes"])),
        ("stop_runner", json!([ADMIN, RUNNER, "yes"])),
        ("stop_runner", json!([ADMIN, 5])),
        ("start_runner", json!([ADMIN, []])),
        ("get_runner_status", json!([ADMIN, null])),
        ("register_runner", json!([REGISTER, 5])),
        ("register_runner", json!([REGISTER, "hostile_runner", 5])),
        ("add_secret", json!([ADMIN, "superuser", "new-secret"])),
        ("add_secret", json!([ADMIN, 5, "new-secret"])),
        ("add_secret", json!([ADMIN, "user", 5])),
        ("add_secret", json!([ADMIN, "user"])),
        ("remove_secret", json!([ADMIN, "user", ["x"]])),
        ("get_supervisor_info", json!([ADMIN, 1])),
    ];
    calls
        .into_iter()
        .map(|(method, params)| Hostile::call(method, params))
        .collect()
}

const FORBIDDEN_IDS: &[&str] = &[
    "*",
    "?",
    "[a-z]",
    "a b",
    "../x",
    "a/b",
    "a\\b",
    "\n",
    "\u{0}",
    "é",
    "😀",
    "{x}",
    "%",
    "\"",
    "test:v1:*",
];

fn forbidden_ids() -> Vec<Hostile> {
    let long = "x".repeat(129);
    let mut all = Vec::new();
    for id in FORBIDDEN_IDS.iter().copied().chain([long.as_str()]) {
        all.push(Hostile::call("job.status", json!([id])));
        all.push(Hostile::call("job.result", json!([id])));
        for method in ["job.start", "job.stop", "job.delete"] {
            all.push(Hostile::call(method, json!([USER, id])));
        }
    }
    let with = |field: &str, value: Value| {
        let mut job = job("1");
        job[field] = value;
        job
    };
    for job in [
        with("id", json!("*")),
        with("id", json!("a b")),
        with("id", json!("x".repeat(129))),
        with("runner", json!("osis_runner_1 ")),
        with("runner", json!("*")),
        with("executor", json!("../osis")),
        with("caller_id", json!("x y")),
        with("context_id", json!("ctx\n")),
        with("env_vars", json!({"A B": "v"})),
        with("env_vars", json!({"": "v"})),
    ] {
        all.push(Hostile::call("jobs.create", json!([USER, job])));
    }
    all.push(Hostile::call("get_runner_status", json!([ADMIN, "*"])));
    all.push(Hostile::call("start_runner", json!([ADMIN, "../x"])));
    all.push(Hostile::call(
        "stop_runner",
        json!([ADMIN, "osis_runner_1 "]),
    ));
    all.push(Hostile::call("register_runner", json!([REGISTER, "a b"])));
    all.push(Hostile::call(
        "register_runner",
        json!([REGISTER, "r", "q*"]),
    ));
    all
}

/// Secrets of the wrong type, and wrong secrets, aimed also at the jobs kept.
fn wrong_secrets(kept: &[String]) -> Vec<Hostile> {
    let mut all: Vec<Hostile> = [
        json!(42),
        json!(true),
        json!(1.5),
        json!([USER]),
        json!({"secret": USER}),
        json!(""),
        json!(REGISTER),
        json!(format!("{USER} ")),
    ]
    .into_iter()
    .flat_map(|secret| {
        [
            Hostile::call("jobs.list", json!([secret])),
            Hostile::call("jobs.create", json!([secret, job("1")])),
            Hostile::call("add_secret", json!([secret, "admin", "new-admin"])),
            Hostile::call("get_supervisor_info", json!([secret])),
            Hostile::call("list_runners", json!([secret])),
            Hostile::call("stop_runner", json!([secret, RUNNER, true])),
        ]
    })
    .collect();
    all.push(Hostile::call("jobs.list", json!({"secret": [USER]})));
    all.push(Hostile::call("remove_secret", json!([USER, "user", USER])));
    for id in kept {
        for secret in [json!("wrong"), json!(REGISTER), json!([USER]), json!(null)] {
            for method in ["job.start", "job.stop", "job.delete"] {
                all.push(Hostile::call(method, json!([secret, id])));
            }
        }
        // The kept id with something appended: not the same job, and not a pattern.
        all.push(Hostile::call("job.delete", json!([USER, format!("{id}*")])));
        all.push(Hostile::call("job.delete", json!([USER, format!("{id} ")])));
    }
    all
}

/// Well-formed calls at the edges: any answer will do, as long as no job changes.
fn extreme_but_valid() -> Vec<Hostile> {
    [
        ("get_runner_logs", json!([ADMIN, RUNNER, u64::MAX])),
        ("get_runner_logs", json!([ADMIN, RUNNER, 0])),
        ("job.status", json!(["x".repeat(128)])),
        ("job.delete", json!([USER, "test:v1:jobs"])),
        ("job.delete", json!([USER, "..."])),
        ("job.stop", json!([USER, ":"])),
        ("job.result", json!(["test:v1:queue:osis_runner_1"])),
    ]
    .into_iter()
    .map(|(method, params)| {
        let mut hostile = Hostile::call(method, params);
        hostile.expect = Expect::Answer;
        hostile
    })
    .collect()
}

/// Checks one JSON-RPC answer object; `None` when it is as expected.
fn answer_problem(answer: &Value, expect: Expect) -> Option<String> {
    if answer.get("jsonrpc") != Some(&json!("2.0")) {
        return Some(format!("not a JSON-RPC 2.0 answer: {answer}"));
    }
    let error = answer.get("error");
    let result = answer.get("result");
    if expect == Expect::Answer && result.is_some() && error.is_none() {
        return None;
    }
    let Some(error) = error else {
        return Some(format!(
            "not an error: {}",
            abbreviated(&answer.to_string())
        ));
    };
    if result.is_some() {
        return Some(format!("both a result and an error: {answer}"));
    }
    let message = error["message"].as_str().unwrap_or_default();
    if !error["code"].is_i64() || message.is_empty() {
        return Some(format!("an error without a code or message: {answer}"));
    }
    if [USER, ADMIN, REGISTER].iter().any(|s| message.contains(s)) {
        return Some(format!("an error repeats a secret: {message}"));
    }
    if message.contains("panicked") {
        return Some(format!("an error reports a panic: {message}"));
    }
    None
}

/// The clients hostile requests go through.
#[derive(Clone)]
struct Clients {
    /// Keeps connections alive between requests, as clients do.
    pooled: reqwest::Client,
    /// A connection per request, for bodies over the limit: a client may still be writing
    /// the body when the server answers 413 and closes, which then shows as a failed write
    /// rather than an answer (`an_oversized_request_is_answered_with_connection_close` checks
    /// the answer itself).
    fresh: reqwest::Client,
}

impl Clients {
    fn new() -> Self {
        Self {
            pooled: reqwest::Client::new(),
            fresh: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }
}

/// Sends one hostile request; `Err` says what went wrong.
async fn send(clients: &Clients, url: &str, hostile: &Hostile) -> Result<(), String> {
    let over_limit = hostile.body.len() > LIMIT;
    let http = if over_limit {
        &clients.fresh
    } else {
        &clients.pooled
    };
    let exchange = async {
        let response = http
            .post(url)
            .header("content-type", hostile.content_type)
            .body(hostile.body.clone())
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, body))
    };
    let (status, body) = match tokio::time::timeout(TIMEOUT, exchange).await {
        Err(_) => return Err(format!("no answer within {TIMEOUT:?}")),
        Ok(Err(e)) => return Err(format!("the exchange failed: {}", error_chain(&e))),
        Ok(Ok(answer)) => answer,
    };
    let text = String::from_utf8_lossy(&body);
    if status.is_server_error() || !(status.is_success() || status.is_client_error()) {
        return Err(format!("HTTP {status}: {}", abbreviated(&text)));
    }
    // jsonrpsee answers a call it does not run (a notification) with `null`.
    let nothing = body.is_empty() || &body[..] == b"null";
    if status.is_success() && nothing && hostile.expect == Expect::NothingOrErrors {
        return Ok(());
    }
    let problem = match serde_json::from_slice::<Value>(&body) {
        Err(_) => Some(format!(
            "HTTP {status} without JSON: {}",
            abbreviated(&text)
        )),
        Ok(Value::Array(answers)) if answers.is_empty() => Some("an empty batch answer".into()),
        Ok(Value::Array(answers)) => answers
            .iter()
            .find_map(|a| answer_problem(a, hostile.expect)),
        Ok(single) => answer_problem(&single, hostile.expect),
    };
    match problem {
        None => Ok(()),
        // A 4xx with a JSON-RPC error body passed above; a bare one only where the body is
        // refused whole.
        Some(_) if status.is_client_error() && hostile.expect == Expect::ErrorsOrRefusal => Ok(()),
        Some(problem) if status.is_client_error() => Err(format!("HTTP {status}: {problem}")),
        Some(problem) => Err(problem),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

/// Every job the supervisor holds, oldest first, as `jobs.list` returns them.
async fn jobs(sup: &common::TestSupervisor) -> Vec<Value> {
    let answer = sup.call("jobs.list", json!([USER])).await;
    answer["result"]
        .as_array()
        .unwrap_or_else(|| panic!("jobs.list answers: {answer}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_leave_the_server_serving_and_the_jobs_unchanged() {
    let sup =
        common::TestSupervisor::start_with(|c| c.limits.max_request_bytes = LIMIT as u32).await;

    let mut kept = Vec::new();
    for payload in ["1", "\"kept\"", "let x = 40;\nx + 2"] {
        let answer = sup.call("jobs.create", json!([USER, job(payload)])).await;
        kept.push(answer["result"].as_str().unwrap().to_owned());
    }
    let ran = sup.call("job.run", json!([USER, job("2 + 3")])).await;
    assert_eq!(ran["result"], json!({"success": "5"}), "{ran}");
    let before = jobs(&sup).await;
    assert_eq!(before.len(), 4, "{before:?}");

    let corpus: Vec<Hostile> = [
        malformed(),
        wrong_shapes(),
        huge(),
        deeply_nested(),
        batches(),
        unknown_methods(),
        wrong_param_types(),
        forbidden_ids(),
        wrong_secrets(&kept),
        extreme_but_valid(),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        corpus.len() <= TASKS * REQUESTS_PER_TASK,
        "{} hostile requests: raise the request count so that each is sent",
        corpus.len()
    );
    let corpus = Arc::new(corpus);
    let clients = Clients::new();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let corpus = corpus.clone();
            let clients = clients.clone();
            let url = sup.url.clone();
            tokio::spawn(async move {
                let mut failures = Vec::new();
                for n in 0..REQUESTS_PER_TASK {
                    let hostile = &corpus[(task * REQUESTS_PER_TASK + n) % corpus.len()];
                    if let Err(problem) = send(&clients, &url, hostile).await {
                        failures.push(format!("{}: {problem}", hostile.what));
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for task in tasks {
        failures.extend(bounded(task).await.unwrap());
    }
    failures.sort();
    failures.dedup();
    assert!(
        failures.is_empty(),
        "{} hostile requests were mishandled:\n{}",
        failures.len(),
        failures.join("\n")
    );

    let health = sup.health().await.expect("/health answers 200");
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(jobs(&sup).await, before, "the jobs held before changed");
    let answer = sup.call("job.run", json!([USER, job("40 + 2")])).await;
    assert_eq!(answer["result"], json!({"success": "42"}), "{answer}");
    sup.stop().await;
}

#[tokio::test]
async fn an_oversized_request_is_answered_with_connection_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sup =
        common::TestSupervisor::start_with(|c| c.limits.max_request_bytes = LIMIT as u32).await;
    let address = sup.url.trim_start_matches("http://").to_owned();
    let mut stream = bounded(tokio::net::TcpStream::connect(address))
        .await
        .unwrap();
    let body = "x".repeat(LIMIT + 1);
    let head = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    );
    // Small enough to fit the socket buffers: the whole request is written.
    bounded(stream.write_all(format!("{head}{body}").as_bytes()))
        .await
        .unwrap();
    let mut answer = vec![0; 4096];
    let read = bounded(stream.read(&mut answer)).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_lowercase();
    assert!(answer.starts_with("http/1.1 413"), "{answer}");
    // The server closes this connection next, so it must say so.
    assert!(answer.contains("connection: close"), "{answer}");
    sup.stop().await;
}

/// Issue 10: a client that writes its whole request before reading (as curl, Python's
/// `http.client` and most simple clients do) saw a broken pipe instead of the 413, because the
/// server closed the connection while the body was still arriving.
#[tokio::test]
async fn a_five_megabyte_job_is_refused_with_an_answer_the_client_reads() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sup = common::TestSupervisor::start().await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "jobs.create",
                      "params": [USER, job(&"x".repeat(5 << 20))]})
    .to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let address = sup.url.trim_start_matches("http://").to_owned();
    for attempt in 0..5 {
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(&address).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await?;
            Ok::<_, std::io::Error>(String::from_utf8_lossy(&answer).into_owned())
        };
        let answer = bounded(exchange)
            .await
            .unwrap_or_else(|e| panic!("attempt {attempt}: the client saw no answer: {e}"));
        assert!(
            answer.starts_with("HTTP/1.1 413"),
            "attempt {attempt}: {answer}"
        );
        assert!(answer.contains("-32007"), "attempt {attempt}: {answer}");
    }
    assert_eq!(jobs(&sup).await, Vec::<Value>::new(), "nothing was stored");
    sup.stop().await;
}

/// Registers `idle_runner`, a runner nobody serves: its jobs stay queued, and waits on them
/// stay pending.
async fn register_idle_runner(sup: &common::TestSupervisor) {
    let registered = sup
        .call("register_runner", json!([REGISTER, "idle_runner"]))
        .await;
    assert_eq!(registered["result"], "idle_runner", "{registered}");
}

/// A job for `idle_runner`, with id `id`.
fn idle_job(id: &str) -> Value {
    json!({"id": id, "payload": "1", "executor": "osis", "runner": "idle_runner", "timeout": 60})
}

/// Issue 10: each waiting call held one of `max_connections` for as long as its job may run,
/// so that many pending `job.result`s made every other call fail with HTTP 429.
#[tokio::test]
async fn waiting_calls_never_take_the_connections_other_calls_need() {
    const MAX: u32 = 4;
    let sup = common::TestSupervisor::start_with(|c| c.limits.max_connections = MAX).await;
    register_idle_runner(&sup).await;
    let url = sup.url.clone();
    let waiters: Vec<_> = (0..MAX)
        .map(|n| {
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": "job.run",
                              "params": [USER, idle_job(&format!("wait_{n}"))]});
            let url = url.clone();
            // A client each, so each wait holds a connection of its own.
            tokio::spawn(async move { reqwest::Client::new().post(url).json(&body).send().await })
        })
        .collect();
    // job.run stores its job before it waits: once all are stored, all are waiting.
    for n in 0..MAX {
        let id = format!("wait_{n}");
        common::until(&format!("{id} is queued"), || async {
            let status = sup.call("job.status", json!([id])).await;
            status["result"]["status"] == "queued"
        })
        .await;
    }

    let refused = sup
        .call("job.run", json!([USER, idle_job("one_too_many")]))
        .await;
    assert_eq!(refused["error"]["code"], -32009, "{refused}");
    let status = sup.call("job.status", json!(["one_too_many"])).await;
    assert_eq!(
        status["error"]["code"], -32002,
        "a refused job.run stores nothing"
    );

    let runners = sup.call("list_runners", json!([ADMIN])).await;
    assert!(runners["result"].is_array(), "{runners}");
    let stopped = sup.call("job.stop", json!([USER, "wait_0"])).await;
    assert_eq!(stopped["result"], Value::Null, "{stopped}");
    let answer = bounded(waiters.into_iter().next().unwrap())
        .await
        .unwrap()
        .unwrap();
    let answer: Value = answer.json().await.unwrap();
    assert!(answer["result"]["error"].is_string(), "{answer}");
    // The other waits are still pending: stopping the supervisor answers them at once.
    sup.stop().await;
}

/// A supervisor asked to stop answers its pending waits instead of holding its stop until
/// their jobs end; the jobs stay as they are, for another supervisor to serve.
#[tokio::test]
async fn shutting_down_answers_pending_waits_at_once() {
    let sup = common::TestSupervisor::start().await;
    register_idle_runner(&sup).await;
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "job.run",
                      "params": [USER, {"payload": "1", "executor": "osis",
                                        "runner": "idle_runner", "timeout": 3600}]});
    let url = sup.url.clone();
    let waiter = tokio::spawn(async move {
        let response = reqwest::Client::new().post(url).json(&body).send().await?;
        response.json::<Value>().await
    });
    common::until("the job is queued", || async {
        let list = sup.call("jobs.list", json!([ADMIN])).await;
        list["result"]
            .as_array()
            .is_some_and(|jobs| jobs.len() == 1)
    })
    .await;
    sup.stop().await;
    let answer = bounded(waiter).await.unwrap().unwrap();
    assert_eq!(answer["error"]["code"], -32000, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(message.contains("shutting down"), "{message}");
}

/// `job.result` needs no secret, only the job's id: callers without a secret share half of
/// the wait permits, so holding ids alone never blocks the `job.run`s of secret holders.
#[tokio::test]
async fn waits_without_a_secret_take_at_most_half_of_the_permits() {
    const MAX: u32 = 4;
    let sup = common::TestSupervisor::start_with(|c| c.limits.max_connections = MAX).await;
    register_idle_runner(&sup).await;
    let created = sup
        .call("jobs.create", json!([USER, idle_job("held")]))
        .await;
    assert_eq!(created["result"], "held", "{created}");
    let url = sup.url.clone();
    let post = move |body: Value| {
        let url = url.clone();
        tokio::spawn(async move {
            let response = reqwest::Client::new().post(url).json(&body).send().await?;
            response.json::<Value>().await
        })
    };
    let anonymous = json!({"jsonrpc": "2.0", "id": 1, "method": "job.result",
                           "params": ["held"]});
    let mut waits: Vec<_> = (0..MAX / 2 + 1).map(|_| post(anonymous.clone())).collect();
    // One more than half: whichever comes last is refused at once; the others stay pending.
    let (refused, _, pending) = bounded(futures::future::select_all(&mut waits)).await;
    let refused = refused.unwrap().unwrap();
    assert_eq!(refused["error"]["code"], -32009, "{refused}");
    assert_eq!(pending.len(), waits.len() - 1);

    let run = post(json!({"jsonrpc": "2.0", "id": 1, "method": "job.run",
                          "params": [USER, idle_job("with_a_secret")]}));
    common::until("the job.run of a secret holder is waiting", || async {
        let status = sup.call("job.status", json!(["with_a_secret"])).await;
        status["result"]["status"] == "queued"
    })
    .await;
    assert!(!run.is_finished(), "it waits for its job");
    sup.stop().await;
}
