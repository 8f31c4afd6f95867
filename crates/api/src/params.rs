//! Params as they arrive — by position or by name — turned into the typed params of a method.
//!
//! [`named`] maps either form onto the declared names, refusing extra or unknown params;
//! [`parse`] then reads that map into one of the structs below.

use hero_job::Job;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::Secret;
use crate::methods::Method;

/// Params that do not fit the method.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid params for `{method}`: {reason}")]
pub struct ParamsError {
    /// The method called.
    pub method: &'static str,
    /// What is wrong, naming the param.
    pub reason: String,
}

/// Maps `raw` (a JSON array, object, null or absent) onto `method`'s param names.
///
/// # Errors
///
/// More positional params than declared, an unknown name, or params that are neither an
/// array nor an object.
pub fn named(
    method: &'static Method,
    raw: Option<&str>,
) -> Result<Map<String, Value>, ParamsError> {
    let fail = |reason: String| ParamsError {
        method: method.name,
        reason,
    };
    let value: Value = match raw {
        None => Value::Null,
        Some(text) => serde_json::from_str(text).map_err(|e| fail(e.to_string()))?,
    };
    match value {
        Value::Null => Ok(Map::new()),
        Value::Array(items) => {
            if items.len() > method.params.len() {
                return Err(fail(format!(
                    "takes at most {} params ({}), got {}",
                    method.params.len(),
                    param_names(method),
                    items.len()
                )));
            }
            Ok(method
                .params
                .iter()
                .zip(items)
                .map(|(param, value)| (param.name.to_owned(), value))
                .collect())
        }
        Value::Object(map) => {
            if let Some(unknown) = map
                .keys()
                .find(|key| !method.params.iter().any(|p| p.name == key.as_str()))
            {
                return Err(fail(format!(
                    "unknown param `{unknown}` (expected {})",
                    param_names(method)
                )));
            }
            Ok(map)
        }
        _ => Err(fail("params must be an array or an object".into())),
    }
}

/// Like [`named`], but leaves the param `lazy` as the JSON text it arrived as, for a caller
/// that reads it straight into its type: a `jobs.create_many` of 1,000 jobs would otherwise
/// build a `Value` map per job only to take it apart again.
///
/// Returns the other params by name and the text of `lazy` when present. Whenever the params
/// are not plainly well formed (bad JSON, an unknown or extra param, neither array nor
/// object), it answers exactly as [`named`] does and keeps nothing apart, so the errors and
/// the params read are the same either way.
///
/// # Errors
///
/// Those of [`named`].
pub fn named_lazy<'a>(
    method: &'static Method,
    raw: Option<&'a str>,
    lazy: &str,
) -> Result<(Map<String, Value>, Option<&'a RawValue>), ParamsError> {
    match raw.and_then(|text| split(method, text)) {
        Some(parts) => {
            let mut named = Map::new();
            let mut kept = None;
            for (name, value) in parts {
                if name == lazy {
                    kept = Some(value);
                    continue;
                }
                match serde_json::from_str(value.get()) {
                    Ok(value) => named.insert(name, value),
                    Err(_) => return named_all(method, raw),
                };
            }
            Ok((named, kept))
        }
        None => named_all(method, raw),
    }
}

fn named_all<'a>(
    method: &'static Method,
    raw: Option<&str>,
) -> Result<(Map<String, Value>, Option<&'a RawValue>), ParamsError> {
    named(method, raw).map(|named| (named, None))
}

/// The params of `text` by declared name, unparsed; `None` for anything [`named`] would refuse
/// or read differently.
fn split<'a>(method: &'static Method, text: &'a str) -> Option<Vec<(String, &'a RawValue)>> {
    match text.trim_start().as_bytes().first()? {
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            if items.len() > method.params.len() {
                return None;
            }
            Some(
                method
                    .params
                    .iter()
                    .zip(items)
                    .map(|(param, value)| (param.name.to_owned(), value))
                    .collect(),
            )
        }
        b'{' => {
            // A map, so that a name given twice keeps its last value, as a `Value` object does.
            let map: std::collections::BTreeMap<String, &RawValue> =
                serde_json::from_str(text).ok()?;
            map.keys()
                .all(|key| method.params.iter().any(|p| p.name == key.as_str()))
                .then(|| map.into_iter().collect())
        }
        _ => None,
    }
}

fn param_names(method: &Method) -> String {
    if method.params.is_empty() {
        return "none".into();
    }
    method
        .params
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Reads a named-params map into `T`.
///
/// # Errors
///
/// A missing required param or a value of the wrong type, named in the reason.
pub fn parse<T: DeserializeOwned>(
    method: &'static Method,
    named: Map<String, Value>,
) -> Result<T, ParamsError> {
    // The path names the offending field, e.g. `job.timeout: invalid type: string …`.
    serde_path_to_error::deserialize(Value::Object(named)).map_err(|e| ParamsError {
        method: method.name,
        reason: e.to_string(),
    })
}

/// `secret` alone: `jobs.list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretParams {
    /// The caller's secret; absent is treated as unauthorized, not as bad params.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// `secret, filter?`: `jobs.list`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListParams {
    /// The caller's secret; absent is treated as unauthorized, not as bad params.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Which jobs; absent or null for every job the secret may see, up to the default limit.
    #[serde(default)]
    pub filter: Option<ListFilter>,
}

/// The most jobs one `jobs.list` call returns when its filter does not say.
pub const DEFAULT_LIST_LIMIT: u64 = 1000;

/// The largest `limit` a `jobs.list` filter may ask.
pub const MAX_LIST_LIMIT: u64 = 10_000;

/// The filter of `jobs.list`: a job is listed when it meets every condition given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListFilter {
    /// A status, or a list of statuses any of which a job may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusFilter>,
    /// The runner the jobs were submitted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// The jobs' `caller_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// The jobs' `context_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// The most jobs returned: 1 to 10,000, 1,000 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// A job id: only jobs listed after it (created before it), to read the page after a
    /// page that ended with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
}

/// One status or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StatusFilter {
    /// Jobs with this status.
    One(hero_job::JobStatus),
    /// Jobs with any of these statuses.
    Many(Vec<hero_job::JobStatus>),
}

impl StatusFilter {
    /// The statuses as a list.
    pub fn to_vec(&self) -> Vec<hero_job::JobStatus> {
        match self {
            Self::One(status) => vec![*status],
            Self::Many(statuses) => statuses.clone(),
        }
    }
}

impl ListFilter {
    /// The limit asked, or the default.
    ///
    /// # Errors
    ///
    /// A reason naming `filter.limit` when it is 0 or above [`MAX_LIST_LIMIT`].
    pub fn limit(&self) -> Result<u64, String> {
        match self.limit {
            None => Ok(DEFAULT_LIST_LIMIT),
            Some(limit @ 1..=MAX_LIST_LIMIT) => Ok(limit),
            Some(limit) => Err(format!(
                "filter.limit: {limit} is outside 1..={MAX_LIST_LIMIT}"
            )),
        }
    }
}

/// `secret, job`: `jobs.create`, `job.run`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The job submitted.
    pub job: Job,
}

/// `secret, jobs, start?`: `jobs.create_many`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobsParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The jobs submitted, in order.
    pub jobs: Vec<Job>,
    /// Queue the jobs; false leaves them `created`.
    #[serde(default = "default_start")]
    pub start: bool,
}

fn default_start() -> bool {
    true
}

/// `secret, job_id`: `job.start`, `job.stop`, `job.delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobIdParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The job addressed.
    pub job_id: String,
}

/// `job_id, secret?`: `job.status`, `job.result`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobReadParams {
    /// The job addressed.
    pub job_id: String,
    /// The caller's secret, needed only when the server requires it for reads.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// `secret, schedule`: `schedules.create`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The schedule: its name, cron expression and job.
    pub schedule: crate::schedule::Schedule,
}

/// `secret, name`: `schedules.delete`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScheduleNameParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The schedule's name.
    pub name: String,
}

/// `secret, name, queue?, access?`: `register_runner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegisterRunnerParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The runner's name.
    pub name: String,
    /// Its queue; default: the name.
    #[serde(default)]
    pub queue: Option<String>,
    /// The least secret level that may submit jobs to it: `user` (default) or `admin`.
    #[serde(default)]
    pub access: Option<String>,
}

/// `secret, name`: `unregister_runner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerNameParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The registered runner's name.
    pub name: String,
}

/// `secret, actor_id`: `start_runner`, `get_runner_status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActorParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The runner addressed.
    pub actor_id: String,
}

/// `secret, actor_id, force?`: `stop_runner`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StopRunnerParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The runner addressed.
    pub actor_id: String,
    /// Kill at once. Default false.
    #[serde(default)]
    pub force: Option<bool>,
}

/// `secret, actor_id, lines?, follow?`: `get_runner_logs`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunnerLogsParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The runner addressed.
    pub actor_id: String,
    /// How many lines. Default 100.
    #[serde(default)]
    pub lines: Option<usize>,
    /// Keep streaming; only over a WebSocket subscription.
    #[serde(default)]
    pub follow: Option<bool>,
}

/// `admin_secret, secret_type, secret_value`: `add_secret`, `remove_secret`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecretChangeParams {
    /// The caller's admin secret.
    #[serde(default)]
    pub admin_secret: Option<Secret>,
    /// `admin`, `user` or `register`.
    pub secret_type: String,
    /// The secret granted or revoked.
    pub secret_value: Secret,
}

/// `admin_secret`: `get_supervisor_info`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminSecretParams {
    /// The caller's admin secret.
    #[serde(default)]
    pub admin_secret: Option<Secret>,
}

/// `secret, actor_id, lines?`: `runner_logs.subscribe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FollowLogsParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// The runner addressed.
    pub actor_id: String,
    /// How many past lines to send first. Default 100.
    #[serde(default)]
    pub lines: Option<usize>,
}

/// `secret, filter?`: `jobs.subscribe`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SubscribeParams {
    /// The caller's secret.
    #[serde(default)]
    pub secret: Option<Secret>,
    /// Which changes; absent or null for every change of every job the secret may see.
    #[serde(default)]
    pub filter: Option<EventFilter>,
}

/// The filter of `jobs.subscribe`: a change is sent when it meets every condition given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventFilter {
    /// Only these jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_ids: Option<Vec<String>>,
    /// Only the jobs of this runner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// Only changes to this status, or to any of these (`deleted` included); progress
    /// reports have status `running`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EventStatusFilter>,
}

/// One event status or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum EventStatusFilter {
    /// Changes to this status.
    One(hero_job::EventStatus),
    /// Changes to any of these statuses.
    Many(Vec<hero_job::EventStatus>),
}

impl EventStatusFilter {
    /// The statuses as a list.
    pub fn to_vec(&self) -> Vec<hero_job::EventStatus> {
        match self {
            Self::One(status) => vec![*status],
            Self::Many(statuses) => statuses.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint;
    use crate::methods::{ALL, find};

    fn method(name: &str) -> &'static Method {
        find(name).expect("declared")
    }

    #[test]
    fn params_with_one_left_unread_read_as_named_reads_them() {
        let create_many = method("jobs.create_many");
        for raw in [
            r#"{"secret": "s", "jobs": [{"payload": "1"}], "start": false}"#,
            r#"["s", [{"payload": "1"}], false]"#,
            r#"["s", null]"#,
            r#"{"secret": "s", "jobs": [1], "jobs": [2], "start": 3}"#,
            r#"{"secret": "s", "jobs": [], "queue": 1}"#,
            r#"["s", [], true, 4]"#,
            r#"{"secret": "s", "jobs": [}"#,
            r#""text""#,
            "null",
            "[]",
        ] {
            let whole = named(create_many, Some(raw));
            let lazy = named_lazy(create_many, Some(raw), "jobs").map(|(mut named, kept)| {
                if let Some(text) = kept {
                    named.insert("jobs".into(), serde_json::from_str(text.get()).unwrap());
                }
                named
            });
            assert_eq!(lazy, whole, "{raw}");
        }
        let absent = named_lazy(create_many, None, "jobs");
        assert!(matches!(absent, Ok((named, None)) if named.is_empty()));
    }

    #[test]
    fn positional_params_take_the_declared_names() {
        let map = named(method("job.status"), Some(r#"["id-1"]"#)).unwrap();
        let params: JobReadParams = parse(method("job.status"), map).unwrap();
        assert_eq!(params.job_id, "id-1");
        assert!(params.secret.is_none());
    }

    #[test]
    fn named_and_positional_params_read_the_same() {
        let m = method("job.start");
        let by_position: JobIdParams = parse(m, named(m, Some(r#"["s", "j"]"#)).unwrap()).unwrap();
        let by_name: JobIdParams = parse(
            m,
            named(m, Some(r#"{"job_id": "j", "secret": "s"}"#)).unwrap(),
        )
        .unwrap();
        assert_eq!(by_position.job_id, by_name.job_id);
        assert_eq!(by_position.secret, by_name.secret);
    }

    #[test]
    fn extra_positional_params_are_refused() {
        let err = named(method("jobs.list"), Some(r#"["s", {}, 1]"#)).unwrap_err();
        assert!(err.reason.contains("at most 2"), "{err}");
    }

    #[test]
    fn unknown_names_are_refused_with_the_expected_ones() {
        let err = named(method("job.stop"), Some(r#"{"jobid": "x"}"#)).unwrap_err();
        assert!(err.reason.contains("secret, job_id"), "{err}");
    }

    #[test]
    fn a_missing_required_param_is_named() {
        let m = method("job.start");
        let err = parse::<JobIdParams>(m, named(m, Some(r#"["s"]"#)).unwrap()).unwrap_err();
        assert!(err.reason.contains("job_id"), "{err}");
    }

    #[test]
    fn a_bad_field_is_named_with_its_path() {
        let m = method("job.run");
        let raw = r#"["s", {"payload": "1", "executor": "e", "runner": "r", "timeout": "soon"}]"#;
        let err = parse::<JobParams>(m, named(m, Some(raw)).unwrap()).unwrap_err();
        assert!(err.reason.starts_with("job.timeout"), "{err}");
    }

    #[test]
    fn a_bad_field_of_one_of_many_jobs_is_named_with_its_index() {
        let m = method("jobs.create_many");
        let raw = r#"["s", [{"payload": "1", "executor": "e", "runner": "r"},
                            {"payload": "1", "executor": "e", "runner": "r", "timeout": "soon"}]]"#;
        let err = parse::<JobsParams>(m, named(m, Some(raw)).unwrap()).unwrap_err();
        assert!(err.reason.starts_with("jobs[1].timeout"), "{err}");
        let ok = parse::<JobsParams>(m, named(m, Some(r#"["s", []]"#)).unwrap()).unwrap();
        assert!(ok.start, "start defaults to true");
    }

    #[test]
    fn an_event_filter_takes_one_status_or_several_and_refuses_unknown_fields() {
        let m = find(crate::methods::names::JOBS_SUBSCRIBE).expect("declared");
        let raw = r#"["s", {"job_ids": ["a"], "runner": "r", "status": "deleted"}]"#;
        let p: SubscribeParams = parse(m, named(m, Some(raw)).unwrap()).unwrap();
        let filter = p.filter.unwrap();
        assert_eq!(filter.job_ids, Some(vec!["a".to_owned()]));
        assert_eq!(
            filter.status.unwrap().to_vec(),
            [hero_job::EventStatus::Deleted]
        );
        let raw = r#"{"secret": "s", "filter": {"status": ["queued", "running"]}}"#;
        let p: SubscribeParams = parse(m, named(m, Some(raw)).unwrap()).unwrap();
        assert_eq!(p.filter.unwrap().status.unwrap().to_vec().len(), 2);
        for bad in [
            r#"["s", {"state": "queued"}]"#,
            r#"["s", {"status": "done"}]"#,
            r#"["s", {"job_ids": "a"}]"#,
        ] {
            let err = parse::<SubscribeParams>(m, named(m, Some(bad)).unwrap()).unwrap_err();
            assert!(err.reason.starts_with("filter"), "{bad}: {err}");
        }
    }

    #[test]
    fn scalars_are_not_params() {
        assert!(named(method("jobs.list"), Some("42")).is_err());
        assert!(named(method("rpc.discover"), None).unwrap().is_empty());
    }

    #[test]
    fn every_declared_name_is_read_by_its_struct() {
        // A struct whose field names drift from the table would lose a required param.
        for m in ALL {
            let map: Map<String, Value> = m
                .params
                .iter()
                .map(|p| {
                    let value = match p.name {
                        "job" => {
                            serde_json::json!({"payload": "1", "executor": "e", "runner": "r"})
                        }
                        "jobs" => serde_json::json!([
                            {"payload": "1", "executor": "e", "runner": "r"}
                        ]),
                        "schedule" => serde_json::json!({
                            "name": "n", "cron": "* * * * *",
                            "job": {"payload": "1", "executor": "e", "runner": "r"}
                        }),
                        "force" | "follow" | "start" => Value::Bool(true),
                        "filter" => serde_json::json!({"status": "queued", "limit": 5}),
                        "lines" => Value::from(5),
                        "lease_ms" | "wait_ms" | "most" | "ttl_ms" => Value::from(1),
                        "running" => serde_json::json!([]),
                        "attempt" => serde_json::json!({"id": "x", "token": 1}),
                        "status" => Value::String("failed".into()),
                        "result" => serde_json::json!({"error": "x"}),
                        "progress" => serde_json::json!({"percent": 1, "message": "x"}),
                        "stats" => serde_json::json!({"worker": "w", "runner": "r", "jobs": 0,
                                                      "failures": 0, "busy": 0, "slots": 1}),
                        _ => Value::String("x".into()),
                    };
                    (p.name.to_owned(), value)
                })
                .collect();
            let ok = match m.params.iter().map(|p| p.name).collect::<Vec<_>>()[..] {
                ["secret"] => parse::<SecretParams>(m, map).is_ok(),
                ["secret", "filter"] => parse::<ListParams>(m, map).is_ok(),
                ["secret", "job"] => parse::<JobParams>(m, map).is_ok(),
                ["secret", "job_id"] => parse::<JobIdParams>(m, map).is_ok(),
                ["secret", "jobs", "start"] => parse::<JobsParams>(m, map).is_ok(),
                ["job_id", "secret"] => parse::<JobReadParams>(m, map).is_ok(),
                ["admin_secret"] => parse::<AdminSecretParams>(m, map).is_ok(),
                ["admin_secret", "secret_type", "secret_value"] => {
                    parse::<SecretChangeParams>(m, map).is_ok()
                }
                ["secret", "name", "queue", "access"] => {
                    parse::<RegisterRunnerParams>(m, map).is_ok()
                }
                ["secret", "schedule"] => parse::<ScheduleParams>(m, map).is_ok(),
                ["secret", "name"] => {
                    parse::<RunnerNameParams>(m, map.clone()).is_ok()
                        && parse::<ScheduleNameParams>(m, map).is_ok()
                }
                ["secret", "actor_id"] => parse::<ActorParams>(m, map).is_ok(),
                ["secret", "actor_id", "force"] => parse::<StopRunnerParams>(m, map).is_ok(),
                ["secret", "actor_id", "lines", "follow"] => {
                    parse::<RunnerLogsParams>(m, map).is_ok()
                }
                // The runner endpoint's: the gate checks the secret, the socket's struct
                // reads the rest.
                ["secret", "queue", "worker", "lease_ms", "wait_ms", "most"] => {
                    parse::<endpoint::ClaimParams>(m, map).is_ok()
                }
                ["secret", "worker", "lease_ms", "running"] => {
                    parse::<endpoint::HeartbeatParams>(m, map).is_ok()
                }
                ["secret", "worker", "attempt", "status", "result"] => {
                    parse::<endpoint::FinishParams>(m, map).is_ok()
                }
                ["secret", "worker", "attempt", "progress"] => {
                    parse::<endpoint::ProgressParams>(m, map).is_ok()
                }
                ["secret", "stats", "ttl_ms"] => {
                    parse::<endpoint::WorkerStatsParams>(m, map).is_ok()
                }
                [] => true,
                _ => panic!("{}: no params struct for this shape", m.name),
            };
            assert!(ok, "{}", m.name);
        }
    }
}
