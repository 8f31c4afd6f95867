#![allow(clippy::unwrap_used)] // test helpers: a failed step is a failed test
//! Fuzzing of the job model: any JSON object — near-valid jobs with fields of random types,
//! long strings, unicode and nulls — is read into a `Job` and validated without a panic, and
//! a job that validates holds only what the limits and the id alphabet allow.
//!
//! Cases per property: 256, or `PROPTEST_CASES` (see `docs/security.md`, "Fuzzing").

use hero_job::{Job, Limits, MAX_TIMEOUT_SECS, validate_id};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// 256 cases, or `PROPTEST_CASES`; a failure prints its shrunk input, to be kept as a plain
/// test, instead of writing a regressions file into the source tree.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const FIELDS: &[&str] = &[
    "id",
    "caller_id",
    "context_id",
    "payload",
    "executor",
    "runner",
    "timeout",
    "env_vars",
    "created_at",
    "updated_at",
];

fn is_name(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Strings a name field may meet: valid, one byte over, unicode, control characters, key
/// separators and glob characters, empty.
fn name_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_.:-]{1,16}",
        "[A-Za-z0-9_.:-]{120,135}",
        "[A-Za-z0-9_.:*?/ \\\\-]{1,16}",
        any::<String>(),
        "\\PC{1,8}",
        Just(String::new()),
    ]
}

/// Long text: around the limits the tests use, in bytes of one to four per char.
fn long_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["x", "é", "€", "😀"][..]),
        // The default payload limit, 1 MiB, is met rarely: each such case costs milliseconds.
        prop_oneof![
            16 => 0usize..300,
            8 => 1_000usize..1_100,
            1 => Just(1 << 20),
            1 => Just((1 << 20) + 1),
        ],
    )
        .prop_map(|(unit, bytes)| unit.repeat(bytes / unit.len()))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..5)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

fn env_vars() -> impl Strategy<Value = Value> {
    let name = prop_oneof!["[A-Za-z0-9_]{1,12}", name_text()];
    let value = prop_oneof![
        3 => prop_oneof![long_text(), any::<String>()].prop_map(Value::String),
        1 => json_value(),
    ];
    prop::collection::vec((name, value), 0..12)
        .prop_map(|vars| Value::Object(vars.into_iter().collect()))
}

fn timestamp() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::from("2026-01-02T03:04:05Z")),
        Just(Value::from("2026-01-02T03:04:05.123456789+02:00")),
        Just(Value::from("+262142-12-31T23:59:59Z")),
        any::<String>().prop_map(Value::String),
    ]
}

fn timeout() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..=MAX_TIMEOUT_SECS + 1).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9]{1,4}".prop_map(Value::String),
    ]
}

/// The value of `field`, mostly of its own type, sometimes of any type or null.
fn field_value(field: &'static str) -> BoxedStrategy<Value> {
    let own = match field {
        "payload" => prop_oneof![long_text(), any::<String>(), "[a-z0-9 +]{1,12}"]
            .prop_map(Value::String)
            .boxed(),
        "timeout" => timeout().boxed(),
        "env_vars" => env_vars().boxed(),
        "created_at" | "updated_at" => timestamp().boxed(),
        _ => name_text().prop_map(Value::String).boxed(),
    };
    prop_oneof![
        6 => own,
        1 => Just(Value::Null),
        1 => json_value(),
    ]
    .boxed()
}

/// A JSON object shaped like a job: a valid job with a few fields changed or removed, or an
/// object whose every field is drawn at random.
fn job_like() -> impl Strategy<Value = Value> {
    prop_oneof![near_valid_job(), random_job()]
}

fn valid_job() -> impl Strategy<Value = Map<String, Value>> {
    let name = || "[A-Za-z0-9_.:-]{1,32}";
    let env = prop::collection::btree_map("[A-Za-z0-9_]{1,16}", "\\PC{0,16}", 0..4);
    (
        (name(), name(), name(), name(), name()),
        "\\PC{1,64}",
        1..=MAX_TIMEOUT_SECS,
        env,
    )
        .prop_map(
            |((id, caller, context, executor, runner), payload, timeout, env)| {
                let job = serde_json::json!({
                    "id": id, "caller_id": caller, "context_id": context, "payload": payload,
                    "executor": executor, "runner": runner, "timeout": timeout, "env_vars": env,
                });
                match job {
                    Value::Object(map) => map,
                    _ => unreachable!("a JSON object literal"),
                }
            },
        )
}

fn near_valid_job() -> impl Strategy<Value = Value> {
    let change = prop::sample::select(FIELDS).prop_flat_map(|field| {
        prop::option::weighted(0.8, field_value(field)).prop_map(move |value| (field, value))
    });
    (valid_job(), prop::collection::vec(change, 0..3)).prop_map(|(mut job, changes)| {
        for (field, value) in changes {
            match value {
                Some(value) => job.insert(field.to_owned(), value),
                None => job.remove(field),
            };
        }
        Value::Object(job)
    })
}

/// Each field present or not, of any value, plus unknown keys.
fn random_job() -> impl Strategy<Value = Value> {
    let fields: Vec<_> = FIELDS
        .iter()
        .map(|&field| {
            prop::option::weighted(0.85, field_value(field)).prop_map(move |v| (field, v))
        })
        .collect();
    let extra = prop::collection::vec((any::<String>(), json_value()), 0..3);
    (fields, extra).prop_map(|(fields, extra)| {
        let mut object: Map<String, Value> = extra.into_iter().collect();
        for (field, value) in fields {
            if let Some(value) = value {
                object.insert(field.to_owned(), value);
            }
        }
        Value::Object(object)
    })
}

/// The default limits, or small ones so that the boundaries are met often.
fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![
        Just(Limits::default()),
        (1usize..2_000, 1usize..200, 0usize..12, 0usize..1_200).prop_map(
            |(payload, name, vars, value)| Limits {
                max_payload_bytes: payload,
                max_name_bytes: name,
                max_env_vars: vars,
                max_env_value_bytes: value,
            }
        ),
    ]
}

/// What a job that passed `validate` must hold.
fn check_valid(job: &Job, limits: &Limits) -> Result<(), TestCaseError> {
    prop_assert!(!job.payload.is_empty());
    prop_assert!(job.payload.len() <= limits.max_payload_bytes);
    for (field, value) in [("executor", &job.executor), ("runner", &job.runner)] {
        prop_assert!(!value.is_empty(), "{field} is empty");
    }
    for (field, value) in [
        ("id", &job.id),
        ("caller_id", &job.caller_id),
        ("context_id", &job.context_id),
        ("executor", &job.executor),
        ("runner", &job.runner),
    ] {
        prop_assert!(value.len() <= limits.max_name_bytes, "{field} is too long");
        prop_assert!(is_name(value), "{field} {value:?} is outside the alphabet");
    }
    prop_assert!((1..=MAX_TIMEOUT_SECS).contains(&job.timeout));
    prop_assert!(job.env_vars.len() <= limits.max_env_vars);
    for (name, value) in &job.env_vars {
        prop_assert!(!name.is_empty() && name.len() <= limits.max_name_bytes);
        prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        prop_assert!(value.len() <= limits.max_env_value_bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_job_like_object_is_read_and_validated_without_panic(
        object in job_like(),
        limits in limits(),
    ) {
        let from_value = serde_json::from_value::<Job>(object.clone());
        let from_text = serde_json::from_str::<Job>(&object.to_string());
        prop_assert_eq!(from_value.is_ok(), from_text.is_ok());
        let Ok(job) = from_value else { return Ok(()) };
        match job.validate(&limits) {
            Ok(()) => check_valid(&job, &limits)?,
            // Every refusal names the field (`payload`) or the part of the job (job timeout…).
            Err(e) => prop_assert!(
                e.to_string().starts_with('`') || e.to_string().starts_with("job "),
                "{e}"
            ),
        }
    }

    #[test]
    fn a_valid_job_reads_back_as_itself(object in job_like()) {
        let Ok(job) = serde_json::from_value::<Job>(object) else { return Ok(()) };
        if job.validate(&Limits::default()).is_err() {
            return Ok(());
        }
        let again: Job = serde_json::from_str(&serde_json::to_string(&job).unwrap()).unwrap();
        prop_assert_eq!(again, job);
    }

    #[test]
    fn any_text_read_as_a_job_is_refused_without_panic(text in any::<String>()) {
        // Only the absence of a panic is checked; arbitrary text is almost never a job.
        if let Ok(job) = serde_json::from_str::<Job>(&text) {
            let _ = job.validate(&Limits::default()); // either answer is fine here
        }
    }

    #[test]
    fn an_id_is_accepted_exactly_when_it_is_1_to_128_bytes_of_the_alphabet(id in name_text()) {
        let allowed = !id.is_empty() && id.len() <= 128 && is_name(&id);
        prop_assert_eq!(validate_id("job_id", &id).is_ok(), allowed, "{:?}", id);
    }
}
