#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test
//! Fuzzing of params parsing: any text or JSON value, given as the params of any method, goes
//! through `params::named` and `params::parse` into that method's params struct without a
//! panic, and every refusal names the method.
//!
//! Cases per property: 256, or `PROPTEST_CASES` (see `docs/security.md`, "Fuzzing").

use hero_supervisor_api::endpoint;
use hero_supervisor_api::methods::{self, Method};
use hero_supervisor_api::params::{
    self, ActorParams, AdminSecretParams, FollowLogsParams, JobIdParams, JobParams, JobReadParams,
    JobsParams, ParamsError, RegisterRunnerParams, RunnerLogsParams, RunnerNameParams,
    SecretChangeParams, SecretParams, StopRunnerParams,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Every method params can be sent to: the table and the subscriptions.
fn every_method() -> impl Iterator<Item = &'static Method> {
    methods::ALL.iter().chain(methods::SUBSCRIPTIONS)
}

/// Reads `named` into the struct the server reads for `method`, as the params tests pair them.
fn parse_declared(method: &'static Method, named: Map<String, Value>) -> Result<(), ParamsError> {
    if method.name == methods::names::JOBS_SUBSCRIBE {
        return params::parse::<params::SubscribeParams>(method, named).map(drop);
    }
    let shape: Vec<&str> = method.params.iter().map(|p| p.name).collect();
    match shape[..] {
        ["secret"] => params::parse::<SecretParams>(method, named).map(drop),
        ["secret", "filter"] => params::parse::<params::ListParams>(method, named).map(drop),
        ["secret", "job"] => params::parse::<JobParams>(method, named).map(drop),
        ["secret", "job_id"] => params::parse::<JobIdParams>(method, named).map(drop),
        ["secret", "jobs", "start"] => params::parse::<JobsParams>(method, named).map(drop),
        ["job_id", "secret"] => params::parse::<JobReadParams>(method, named).map(drop),
        ["admin_secret"] => params::parse::<AdminSecretParams>(method, named).map(drop),
        ["admin_secret", "secret_type", "secret_value"] => {
            params::parse::<SecretChangeParams>(method, named).map(drop)
        }
        ["secret", "name", "queue", "access"] => {
            params::parse::<RegisterRunnerParams>(method, named).map(drop)
        }
        ["secret", "name"] => params::parse::<RunnerNameParams>(method, named).map(drop),
        ["secret", "schedule"] => params::parse::<params::ScheduleParams>(method, named).map(drop),
        ["secret", "actor_id"] => params::parse::<ActorParams>(method, named).map(drop),
        ["secret", "actor_id", "force"] => {
            params::parse::<StopRunnerParams>(method, named).map(drop)
        }
        ["secret", "actor_id", "lines"] => {
            params::parse::<FollowLogsParams>(method, named).map(drop)
        }
        ["secret", "actor_id", "lines", "follow"] => {
            params::parse::<RunnerLogsParams>(method, named).map(drop)
        }
        // The runner endpoint's methods: the secret, then the socket method's params.
        ["secret", "queue", "worker", "lease_ms", "wait_ms", "most"] => {
            params::parse::<endpoint::ClaimParams>(method, without_secret(named)).map(drop)
        }
        ["secret", "worker", "lease_ms", "running"] => {
            params::parse::<endpoint::HeartbeatParams>(method, without_secret(named)).map(drop)
        }
        ["secret", "worker", "attempt", "status", "result"] => {
            params::parse::<endpoint::FinishParams>(method, without_secret(named)).map(drop)
        }
        ["secret", "worker", "attempt", "progress"] => {
            params::parse::<endpoint::ProgressParams>(method, without_secret(named)).map(drop)
        }
        ["secret", "stats", "ttl_ms"] => {
            params::parse::<endpoint::WorkerStatsParams>(method, without_secret(named)).map(drop)
        }
        // `runner_logs.unsubscribe`, `jobs.unsubscribe`: jsonrpsee reads the subscription id
        // itself.
        ["subscription"] | [] => Ok(()),
        _ => panic!("{}: no params struct for this shape", method.name),
    }
}

fn without_secret(mut named: Map<String, Value>) -> Map<String, Value> {
    named.remove("secret");
    named
}

/// Runs `raw` through both steps for `method`, checking every refusal.
fn check(method: &'static Method, raw: Option<&str>) -> Result<(), TestCaseError> {
    match params::named(method, raw) {
        Err(e) => check_error(method, &e),
        Ok(map) => {
            for key in map.keys() {
                prop_assert!(
                    method.params.iter().any(|p| p.name == key.as_str()),
                    "{}: `named` let through the undeclared param `{key}`",
                    method.name
                );
            }
            match parse_declared(method, map) {
                Err(e) => check_error(method, &e),
                Ok(()) => Ok(()),
            }
        }
    }
}

fn check_error(method: &'static Method, error: &ParamsError) -> Result<(), TestCaseError> {
    prop_assert_eq!(error.method, method.name);
    prop_assert!(!error.reason.is_empty(), "{}: an empty reason", method.name);
    let message = error.to_string();
    prop_assert!(
        message.contains(&format!("`{}`", method.name)),
        "the message does not name the method: {message}"
    );
    Ok(())
}

/// Every param name any method declares, and the fields of a job.
const NAMES: &[&str] = &[
    "secret",
    "admin_secret",
    "job",
    "job_id",
    "name",
    "queue",
    "actor_id",
    "force",
    "lines",
    "follow",
    "secret_type",
    "secret_value",
    "id",
    "payload",
    "executor",
    "runner",
    "timeout",
    "env_vars",
    "worker",
    "lease_ms",
    "wait_ms",
    "most",
    "running",
    "attempt",
    "token",
    "status",
    "result",
    "progress",
    "stats",
    "ttl_ms",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Any JSON value, biased towards the names and shapes params have.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[A-Za-z0-9_.:-]{0,140}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A job that is valid, or nearly: each field present or not, of its type or not.
fn job_like() -> impl Strategy<Value = Value> {
    let field =
        |good: BoxedStrategy<Value>| prop::option::of(prop_oneof![3 => good, 1 => json_value()]);
    let name = || "[A-Za-z0-9_.:-]{1,10}".prop_map(Value::String).boxed();
    (
        field(any::<String>().prop_map(Value::String).boxed()),
        field(name()),
        field(name()),
        field((0u64..100_000).prop_map(Value::from).boxed()),
        field(name()),
    )
        .prop_map(|(payload, executor, runner, timeout, id)| {
            let fields = [
                ("payload", payload),
                ("executor", executor),
                ("runner", runner),
                ("timeout", timeout),
                ("id", id),
            ];
            Value::Object(
                fields
                    .into_iter()
                    .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                    .collect(),
            )
        })
}

/// Params as a client could send them: any value, a positional array, or named params.
fn params_value() -> impl Strategy<Value = Value> {
    let item = prop_oneof![2 => json_value(), 1 => job_like()];
    prop_oneof![
        json_value(),
        prop::collection::vec(item.clone(), 0..6).prop_map(Value::Array),
        prop::collection::vec((key(), item), 0..6)
            .prop_map(|fields| Value::Object(fields.into_iter().collect())),
    ]
}

/// Text that is JSON, or JSON cut short or with a byte changed, or no JSON at all.
fn params_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        params_value().prop_map(|v| v.to_string()),
        (params_value(), any::<prop::sample::Index>()).prop_map(|(v, at)| {
            let text = v.to_string();
            let cut = at.index(text.len() + 1);
            text.chars().take(cut).collect()
        }),
        (
            params_value(),
            any::<prop::sample::Index>(),
            prop::sample::select(&['[', ']', '{', '}', '"', ',', ':', '\\', '\u{0}', 'é'][..])
        )
            .prop_map(|(v, at, c)| {
                let mut chars: Vec<char> = v.to_string().chars().collect();
                let at = at.index(chars.len() + 1);
                chars.insert(at, c);
                chars.into_iter().collect()
            }),
    ]
}

/// 256 cases, or `PROPTEST_CASES`; a failure prints its shrunk input, to be kept as a plain
/// test, instead of writing a regressions file into the source tree.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_as_params_is_parsed_or_refused_naming_the_method(text in params_text()) {
        for method in every_method() {
            check(method, Some(&text))?;
        }
    }

    #[test]
    fn any_json_value_as_params_is_parsed_or_refused_naming_the_method(value in params_value()) {
        let text = value.to_string();
        for method in every_method() {
            check(method, Some(&text))?;
        }
    }

    #[test]
    fn positional_params_up_to_the_declared_count_take_the_declared_names(
        items in prop::collection::vec(json_value(), 0..6),
    ) {
        let text = Value::Array(items).to_string();
        // Read back rather than compared with `items`: serde_json's float parsing is not
        // exact (its `float_roundtrip` feature is off), and that is not what is tested here.
        let items: Vec<Value> = serde_json::from_str(&text).unwrap();
        for method in every_method() {
            let named = params::named(method, Some(&text));
            if items.len() > method.params.len() {
                prop_assert!(named.is_err(), "{}: {} params let through", method.name, items.len());
                continue;
            }
            let named = named.unwrap();
            prop_assert_eq!(named.len(), items.len());
            for (param, item) in method.params.iter().zip(&items) {
                prop_assert_eq!(&named[param.name], item);
            }
        }
    }

    #[test]
    fn a_secret_param_is_never_repeated_in_a_refusal(
        secret in "[A-Za-z0-9]{6}[ -~é€😀]{4,24}",
        value in params_value(),
        positional in any::<bool>(),
    ) {
        const SECRET_NAMES: [&str; 3] = ["secret", "admin_secret", "secret_value"];
        for method in every_method() {
            let mut named: Map<String, Value> = match &value {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            named.retain(|k, _| method.params.iter().any(|p| p.name == k.as_str()));
            for param in method.params.iter().filter(|p| SECRET_NAMES.contains(&p.name)) {
                named.insert(param.name.to_owned(), Value::String(secret.clone()));
            }
            let text = if positional {
                let items: Vec<Value> = method
                    .params
                    .iter()
                    .map(|p| named.get(p.name).cloned().unwrap_or(Value::Null))
                    .collect();
                Value::Array(items).to_string()
            } else {
                Value::Object(named).to_string()
            };
            let refusal = params::named(method, Some(&text))
                .and_then(|map| parse_declared(method, map))
                .err();
            if let Some(e) = refusal {
                prop_assert!(!e.to_string().contains(&secret), "{} repeats the secret: {e}", method.name);
            }
        }
    }
}

#[test]
fn absent_and_null_params_are_read_like_empty_ones() {
    for method in every_method() {
        for raw in [None, Some("null"), Some("[]"), Some("{}")] {
            check(method, raw).unwrap();
        }
    }
}
