//! A runner's store calls through the supervisor, one per method of the native client
//! (`runner_claim`, …), for runners written in JavaScript. Each takes a register or admin
//! secret and the method's params as one plain object, with the wire's field names.

use js_sys::Promise;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

use crate::WasmSupervisorClient;
use crate::client::promise;
use crate::error::{self, Failure};

/// Reads a plain object of params into `T`, through JSON, as the wire would.
fn read<T: DeserializeOwned>(value: &JsValue) -> Result<T, Promise> {
    let refuse = |message: String| {
        Promise::reject(&error::to_js(Failure {
            code: None,
            kind: "invalid_params",
            message,
            retryable: false,
        }))
    };
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .ok_or_else(|| refuse("params: expected a plain object".into()))?;
    serde_json::from_str(&text).map_err(|e| refuse(format!("params: {e}")))
}

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Takes up to `most` jobs of `queue` for `worker`, waiting up to `wait_ms` (at most
    /// 30 s) for the first (`runner.claim`): `{queue, worker, lease_ms, wait_ms, most}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Array<{job: Job, token: number}>>")]
    pub fn runner_claim(&self, secret: String, params: JsValue) -> Promise {
        let params = match read(&params) {
            Ok(params) => params,
            Err(rejected) => return rejected,
        };
        let client = self.native();
        promise(async move { client.runner_claim(&secret, &params).await })
    }

    /// Renews a worker's lease; resolves to the runs it must give up (`runner.heartbeat`):
    /// `{worker, lease_ms, running: [{id, token}]}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Array<{id: string, token: number}>>")]
    pub fn runner_heartbeat(&self, secret: String, params: JsValue) -> Promise {
        let params = match read(&params) {
            Ok(params) => params,
            Err(rejected) => return rejected,
        };
        let client = self.native();
        promise(async move { client.runner_heartbeat(&secret, &params).await })
    }

    /// Reports how a run ended (`runner.finish`): `{worker, attempt: {id, token}, status,
    /// result}`; resolves to `false` when the run is no longer the worker's.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn runner_finish(&self, secret: String, params: JsValue) -> Promise {
        let params = match read(&params) {
            Ok(params) => params,
            Err(rejected) => return rejected,
        };
        let client = self.native();
        promise(async move { client.runner_finish(&secret, &params).await })
    }

    /// Records a run's progress (`runner.progress`): `{worker, attempt, progress: {percent,
    /// message}}`; resolves to `false` unless the run is still the worker's.
    #[wasm_bindgen(unchecked_return_type = "Promise<boolean>")]
    pub fn runner_progress(&self, secret: String, params: JsValue) -> Promise {
        let params = match read(&params) {
            Ok(params) => params,
            Err(rejected) => return rejected,
        };
        let client = self.native();
        promise(async move { client.runner_progress(&secret, &params).await })
    }

    /// Records what a worker reports of itself (`runner.put_worker_stats`): `{stats: {worker,
    /// runner, jobs, failures, busy, slots}, ttl_ms}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn runner_put_worker_stats(&self, secret: String, params: JsValue) -> Promise {
        let params = match read(&params) {
            Ok(params) => params,
            Err(rejected) => return rejected,
        };
        let client = self.native();
        promise(async move { client.runner_put_worker_stats(&secret, &params).await })
    }

    /// Checks that the supervisor and its store answer and that `secret` may make a
    /// runner's calls (`runner.health`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn runner_health(&self, secret: String) -> Promise {
        let client = self.native();
        promise(async move { client.runner_health(&secret).await })
    }
}
