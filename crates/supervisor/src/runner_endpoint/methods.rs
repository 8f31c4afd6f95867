//! The endpoint's methods: check the params, make the one store call, shape the answer.
//!
//! Fencing is the store's: a report carrying an attempt the worker no longer holds answers
//! `false`, exactly as it would for a runner talking to the store itself.

use std::time::Duration;

use hero_job::{JobResult, JobStatus, Progress};
use hero_store::{Attempt, Finish, Store, WorkerStats};
use hero_supervisor_api::codes;
use hero_supervisor_api::endpoint::{
    self as wire, ClaimParams, FinishParams, HeartbeatParams, ProgressParams, WorkerStatsParams,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A JSON-RPC error to answer on the socket.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) code: i32,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(code: i32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// Why a runner's call was not carried out: the same on either transport, worded for each
/// by its caller.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not one of the endpoint's methods.
    UnknownMethod,
    /// The params are missing, of the wrong type, or out of bounds; says which.
    Invalid(String),
    /// The store failed.
    Store(hero_store::Error),
}

impl From<hero_store::Error> for Refusal {
    fn from(error: hero_store::Error) -> Self {
        Self::Store(error)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::UnknownMethod => Self::new(
                codes::METHOD_NOT_FOUND,
                format!(
                    "method not found: the runner endpoint serves {}",
                    wire::METHODS.join(", ")
                ),
            ),
            Refusal::Invalid(reason) => {
                Self::new(codes::INVALID_PARAMS, format!("invalid params: {reason}"))
            }
            // Store messages name ids and keys, never credentials (the Redis store redacts
            // them), and the socket's peer is the supervisor's own user.
            Refusal::Store(error) => {
                let code = match &error {
                    hero_store::Error::Unavailable { .. } => codes::BACKEND_UNAVAILABLE,
                    _ => codes::INTERNAL_ERROR,
                };
                Self::new(code, error.to_string())
            }
        }
    }
}

/// Runs `method` with `params`, as sent on the socket.
pub(super) async fn call(
    store: &dyn Store,
    method: &str,
    params: Option<Value>,
) -> Result<Value, Failure> {
    let params = params.unwrap_or(Value::Object(serde_json::Map::new()));
    if !params.is_object() {
        return Err(Failure::new(
            codes::INVALID_PARAMS,
            "invalid params: the runner endpoint takes params by name (an object)",
        ));
    }
    run(store, method, params).await.map_err(Failure::from)
}

/// Runs `method` with `params` (by name, without a secret) against `store`.
pub(crate) async fn run(store: &dyn Store, method: &str, params: Value) -> Result<Value, Refusal> {
    match method {
        wire::CLAIM => claim(store, parse(params)?).await,
        wire::HEARTBEAT => heartbeat(store, parse(params)?).await,
        wire::FINISH => finish(store, parse(params)?).await,
        wire::PROGRESS => progress(store, parse(params)?).await,
        wire::PUT_WORKER_STATS => put_worker_stats(store, parse(params)?).await,
        wire::HEALTH => {
            store.health().await?;
            Ok(Value::Null)
        }
        _ => Err(Refusal::UnknownMethod),
    }
}

fn parse<T: DeserializeOwned>(params: Value) -> Result<T, Refusal> {
    serde_json::from_value(params).map_err(|e| Refusal::Invalid(e.to_string()))
}

fn lease(field: &str, ms: u64) -> Result<Duration, Refusal> {
    if ms == 0 || ms > wire::MAX_LEASE_MS {
        return Err(Refusal::Invalid(format!(
            "`{field}` must be 1 to {} ms",
            wire::MAX_LEASE_MS
        )));
    }
    Ok(Duration::from_millis(ms))
}

fn named(field: &str, value: &str) -> Result<(), Refusal> {
    if value.is_empty() {
        return Err(Refusal::Invalid(format!("`{field}` is empty")));
    }
    Ok(())
}

async fn claim(store: &dyn Store, params: ClaimParams) -> Result<Value, Refusal> {
    named("queue", &params.queue)?;
    named("worker", &params.worker)?;
    let lease = lease("lease_ms", params.lease_ms)?;
    if params.most == 0 {
        return Err(Refusal::Invalid("`most` must be at least 1".into()));
    }
    let wait = Duration::from_millis(params.wait_ms.min(wire::MAX_CLAIM_WAIT_MS));
    let most = params.most.min(wire::MAX_CLAIM_BATCH);
    let claimed = store
        .claim(&params.queue, &params.worker, lease, wait, most)
        .await?;
    let claimed: Vec<wire::Claimed> = claimed
        .into_iter()
        .map(|c| wire::Claimed {
            job: c.job,
            token: c.token,
        })
        .collect();
    Ok(to_value(&claimed))
}

async fn heartbeat(store: &dyn Store, params: HeartbeatParams) -> Result<Value, Refusal> {
    named("worker", &params.worker)?;
    let lease = lease("lease_ms", params.lease_ms)?;
    if params.running.len() > wire::MAX_RUNNING {
        return Err(Refusal::Invalid(format!(
            "`running` lists more than {} runs",
            wire::MAX_RUNNING
        )));
    }
    let running: Vec<Attempt> = params.running.into_iter().map(attempt).collect();
    let stops = store.heartbeat(&params.worker, lease, &running).await?;
    let stops: Vec<wire::Attempt> = stops
        .into_iter()
        .map(|a| wire::Attempt {
            id: a.id,
            token: a.token,
        })
        .collect();
    Ok(to_value(&stops))
}

async fn finish(store: &dyn Store, params: FinishParams) -> Result<Value, Refusal> {
    named("worker", &params.worker)?;
    if !matches!(
        params.status,
        JobStatus::Completed | JobStatus::Failed | JobStatus::Stopped
    ) {
        return Err(Refusal::Invalid(
            "`status` must be completed, failed or stopped".into(),
        ));
    }
    let len = match &params.result {
        JobResult::Success { success } => success.len(),
        JobResult::Error { error } => error.len(),
    };
    if len > wire::MAX_RESULT_BYTES {
        return Err(Refusal::Invalid(format!(
            "the result is {len} bytes, more than the limit of {}",
            wire::MAX_RESULT_BYTES
        )));
    }
    let finish = Finish {
        status: params.status,
        result: params.result,
    };
    let taken = store
        .finish(&params.worker, &attempt(params.attempt), finish)
        .await?;
    Ok(Value::Bool(taken))
}

async fn progress(store: &dyn Store, params: ProgressParams) -> Result<Value, Refusal> {
    named("worker", &params.worker)?;
    // Through the constructor, so an over-long message or percent is cut as the SDK would.
    let progress = Progress::new(params.progress.percent, params.progress.message);
    let taken = store
        .progress(&params.worker, &attempt(params.attempt), &progress)
        .await?;
    Ok(Value::Bool(taken))
}

async fn put_worker_stats(store: &dyn Store, params: WorkerStatsParams) -> Result<Value, Refusal> {
    let s = params.stats;
    named("stats.worker", &s.worker)?;
    let ttl = lease("ttl_ms", params.ttl_ms)?;
    let stats = WorkerStats {
        worker: s.worker,
        runner: s.runner,
        jobs: s.jobs,
        failures: s.failures,
        busy: s.busy,
        slots: s.slots,
    };
    store.put_worker_stats(&stats, ttl).await?;
    Ok(Value::Null)
}

fn attempt(a: wire::Attempt) -> Attempt {
    Attempt {
        id: a.id,
        token: a.token,
    }
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("wire types serialize: plain structs with string keys")
}
