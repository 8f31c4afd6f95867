//! The schedule methods, one per method of the native client: a job created on every tick of
//! a cron expression.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use hero_supervisor_openrpc_client::Schedule;

use crate::client::promise;
use crate::error::{self, Failure};
use crate::{WasmJob, WasmSupervisorClient};

#[wasm_bindgen]
impl WasmSupervisorClient {
    /// Creates a schedule (`schedules.create`) and resolves to it as stored, with its
    /// `next_tick`: `{name, cron, job}`, where `cron` has 5 fields or 6 (seconds first), in
    /// UTC, and `job` is a `WasmJob` (its id left empty) or a plain object of job fields. From
    /// the next tick on, each tick creates and queues one job, owned by `secret`.
    #[wasm_bindgen(unchecked_return_type = "Promise<Schedule>")]
    pub fn schedules_create(
        &self,
        secret: String,
        #[wasm_bindgen(unchecked_param_type = "NewSchedule")] schedule: JsValue,
    ) -> Promise {
        let schedule = match read_schedule(&schedule) {
            Ok(schedule) => schedule,
            Err(message) => {
                return Promise::reject(&error::to_js(Failure {
                    code: None,
                    kind: "invalid_params",
                    message,
                    retryable: false,
                }));
            }
        };
        let client = self.native();
        promise(async move { client.schedules_create(&secret, schedule).await })
    }

    /// The schedules `secret` may see, by name (`schedules.list`): a user secret's own, or
    /// every one for an admin secret.
    #[wasm_bindgen(unchecked_return_type = "Promise<Schedule[]>")]
    pub fn schedules_list(&self, secret: String) -> Promise {
        let client = self.native();
        promise(async move { client.schedules_list(&secret).await })
    }

    /// Deletes the schedule `name` (`schedules.delete`): no tick creates a job after it
    /// resolves; the jobs already created stay.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn schedules_delete(&self, secret: String, name: String) -> Promise {
        let client = self.native();
        promise(async move { client.schedules_delete(&secret, &name).await })
    }
}

/// Reads `{name, cron, job}`, naming the field that does not fit.
fn read_schedule(value: &JsValue) -> Result<Schedule, String> {
    if !value.is_object() {
        return Err("schedule: expected an object {name, cron, job}".into());
    }
    let field = |name: &str| js_sys::Reflect::get(value, &name.into()).unwrap_or_default();
    let text = |name: &str| {
        field(name)
            .as_string()
            .ok_or_else(|| format!("schedule.{name}: expected a string"))
    };
    let job =
        WasmJob::from_js(&field("job")).map_err(|reason| format!("schedule.job: {reason}"))?;
    Ok(Schedule::new(text("name")?, text("cron")?, job))
}
