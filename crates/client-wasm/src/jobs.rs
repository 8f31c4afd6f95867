//! The job methods, one per method of the native client, plus the seed document's
//! `create_job`. Job ids and secrets go to the native client unchanged.

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use hero_supervisor_api::methods::names;
use hero_supervisor_openrpc_client::ListFilter;

use crate::client::promise;
use crate::error::{self, Failure};
use crate::websocket::{self, Names};
use crate::{WasmJob, WasmSupervisorClient};

/// The wire names of `jobs_subscribe`.
const JOB_EVENTS: Names = Names {
    subscribe: names::JOBS_SUBSCRIBE,
    notification: names::JOBS_EVENT,
    unsubscribe: names::JOBS_UNSUBSCRIBE,
};

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Runs `job` and resolves to its result once it is final (`job.run`): `{success}` or
    /// `{error}`.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobResult>")]
    pub fn job_run(&self, secret: String, job: &WasmJob) -> Promise {
        let (client, job) = (self.native(), job.to_job());
        promise(async move { client.job_run(&secret, job?).await })
    }

    /// Stores `job` without queuing it (`jobs.create`) and resolves to its id.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn jobs_create(&self, secret: String, job: &WasmJob) -> Promise {
        let (client, job) = (self.native(), job.to_job());
        promise(async move { client.jobs_create(&secret, job?).await })
    }

    /// The seed document's name for `jobs_create`: stores `job` and resolves to its id;
    /// `job_start` queues it.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn create_job(&self, secret: String, job: &WasmJob) -> Promise {
        self.jobs_create(secret, job)
    }

    /// Stores `jobs` in one call (`jobs.create_many`) and resolves to their ids in order:
    /// queued unless `start` is `false`, else `created` until `job_start`.
    ///
    /// Each item is a `WasmJob` or a plain object with its fields; the objects stay usable.
    /// Either every job is stored or none is; a refusal names the job's index (`jobs[3]: ...`).
    /// At most the server's `max_jobs_per_call` (default 10,000) within its request size
    /// limit (default 2 MiB).
    #[wasm_bindgen(unchecked_return_type = "Promise<string[]>")]
    pub fn jobs_create_many(
        &self,
        secret: String,
        #[wasm_bindgen(unchecked_param_type = "Array<WasmJob | Partial<Job>>")] jobs: js_sys::Array,
        start: Option<bool>,
    ) -> Promise {
        let mut checked = Vec::with_capacity(jobs.length() as usize);
        for (index, item) in jobs.iter().enumerate() {
            match WasmJob::from_js(&item) {
                Ok(job) => checked.push(job),
                Err(reason) => {
                    return Promise::reject(&error::to_js(Failure {
                        code: None,
                        kind: "invalid_job",
                        message: format!("jobs[{index}]: {reason}"),
                        retryable: false,
                    }));
                }
            }
        }
        let client = self.native();
        let start = start.unwrap_or(true);
        promise(async move { client.jobs_create_many(&secret, checked, start).await })
    }

    /// Queues the created job `job_id` on its runner (`job.start`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn job_start(&self, secret: String, job_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.job_start(&secret, &job_id).await })
    }

    /// The status of `job_id` and its timestamps, without waiting (`job.status`); `secret`
    /// only for a supervisor that requires one on reads.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobStatusInfo>")]
    pub fn job_status(&self, job_id: String, secret: Option<String>) -> Promise {
        let client = self.native();
        promise(async move {
            match secret {
                Some(secret) => client.job_status_with_secret(&job_id, &secret).await,
                None => client.job_status(&job_id).await,
            }
        })
    }

    /// As `job_status`, with the secret required.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobStatusInfo>")]
    pub fn job_status_with_secret(&self, job_id: String, secret: String) -> Promise {
        self.job_status(job_id, Some(secret))
    }

    /// The result of `job_id`, once the job is final (`job.result`); `secret` only for a
    /// supervisor that requires one on reads.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobResult>")]
    pub fn job_result(&self, job_id: String, secret: Option<String>) -> Promise {
        let client = self.native();
        promise(async move {
            match secret {
                Some(secret) => client.job_result_with_secret(&job_id, &secret).await,
                None => client.job_result(&job_id).await,
            }
        })
    }

    /// As `job_result`, with the secret required.
    #[wasm_bindgen(unchecked_return_type = "Promise<JobResult>")]
    pub fn job_result_with_secret(&self, job_id: String, secret: String) -> Promise {
        self.job_result(job_id, Some(secret))
    }

    /// Stops `job_id` (`job.stop`); a job already final is left as it is.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn job_stop(&self, secret: String, job_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.job_stop(&secret, &job_id).await })
    }

    /// Queues the `failed` or `stopped` job `job_id` again (`job.retry`), as a fresh job;
    /// rejects with kind `conflict` for a job in any other status.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn job_retry(&self, secret: String, job_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.job_retry(&secret, &job_id).await })
    }

    /// Deletes `job_id` and its result (`job.delete`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn job_delete(&self, secret: String, job_id: String) -> Promise {
        let client = self.native();
        promise(async move { client.job_delete(&secret, &job_id).await })
    }

    /// The jobs the secret may see, newest first, each with its `status` (`jobs.list`): up
    /// to 1,000 without `filter`, else those it selects (`status`, `runner`, `caller_id`,
    /// `context_id`, `limit` up to 10,000, `before` a job id to read the next page).
    #[wasm_bindgen(unchecked_return_type = "Promise<JobRecord[]>")]
    pub fn jobs_list(
        &self,
        secret: String,
        #[wasm_bindgen(unchecked_optional_param_type = "ListFilter | null")] filter: Option<
            JsValue,
        >,
    ) -> Promise {
        let client = self.native();
        let filter = match filter.filter(|f| !f.is_undefined() && !f.is_null()) {
            None => None,
            Some(value) => match list_filter(&value) {
                Ok(filter) => Some(filter),
                Err(message) => {
                    return Promise::reject(&error::to_js(Failure {
                        code: None,
                        kind: "invalid_params",
                        message,
                        retryable: false,
                    }));
                }
            },
        };
        promise(async move {
            match filter {
                Some(filter) => client.jobs_list_filtered(&secret, &filter).await,
                None => client.jobs_list(&secret).await,
            }
        })
    }
}

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Follows jobs over WebSocket (`jobs.subscribe`): an event for every change of status of
    /// the jobs the secret may see (as `jobs_list`) that `filter` selects (`job_ids`,
    /// `runner`, `status`), made after the subscription was accepted: `progress` on progress
    /// reports, `result` once final, status `deleted` after `job_delete`. Resolves to a
    /// `WasmSubscription` once the supervisor accepted; each event goes to `on_event` when
    /// given, else to the subscription's async iterator. When events may have been missed
    /// (a reader too slow, the server's store lost) the supervisor ends the subscription,
    /// which rejects `closed` and the iterator with its error: subscribe again and re-read
    /// with `jobs_list`.
    #[wasm_bindgen(unchecked_return_type = "Promise<WasmSubscription<JobEvent>>")]
    pub fn jobs_subscribe(
        &self,
        secret: String,
        #[wasm_bindgen(unchecked_optional_param_type = "EventFilter | null")] filter: Option<
            JsValue,
        >,
        #[wasm_bindgen(unchecked_optional_param_type = "((event: JobEvent) => void) | null")]
        on_event: Option<Function>,
    ) -> Promise {
        let mut params = serde_json::json!({ "secret": secret });
        if let Some(filter) = filter.filter(|f| !f.is_undefined() && !f.is_null()) {
            // Checked by the server, which names the field that does not fit; here it only
            // has to be JSON.
            match json(&filter) {
                Some(filter) => params["filter"] = filter,
                None => {
                    return Promise::reject(&error::to_js(Failure {
                        code: None,
                        kind: "invalid_params",
                        message: "filter: expected an object".to_owned(),
                        retryable: false,
                    }));
                }
            }
        }
        websocket::open(self.connect(), JOB_EVENTS, params, on_event)
    }
}

/// `value` as JSON, when it is a plain object.
fn json(value: &JsValue) -> Option<serde_json::Value> {
    let text = js_sys::JSON::stringify(value).ok()?.as_string()?;
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .filter(serde_json::Value::is_object)
}

/// Reads a plain object as a `jobs.list` filter, naming the field that does not fit.
fn list_filter(value: &JsValue) -> Result<ListFilter, String> {
    let text = js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| "filter: expected an object".to_owned())?;
    serde_json::from_str(&text).map_err(|e| format!("filter: {e}"))
}
