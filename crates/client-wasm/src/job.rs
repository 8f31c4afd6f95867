//! [`WasmJob`]: a job put together in JavaScript, checked by `hero_job::JobBuilder` when it
//! is sent, so JavaScript and Rust callers share one set of rules.

use std::collections::BTreeMap;

use hero_job::{DEFAULT_TIMEOUT_SECS, Job, JobBuilder};
use wasm_bindgen::prelude::*;

use crate::error::{self, Failure};

/// A job to submit: `new WasmJob(id, payload, executor, runner)`, then optional fields as
/// properties (`job.timeout = 30`, `job.caller_id = "me"`).
///
/// Nothing is checked until the job is sent: then an invalid field rejects the call with a
/// `SupervisorError` of kind `invalid_job`. Passing the job to a method does not consume it,
/// so one job object may be sent many times (with an empty id, each send gets a fresh one).
#[wasm_bindgen]
#[derive(Debug, Clone)]
pub struct WasmJob {
    id: String,
    caller_id: String,
    context_id: String,
    payload: String,
    executor: String,
    runner: String,
    timeout: u32,
    retries: u32,
    delay: Option<u32>,
    run_at: Option<String>,
    priority: u8,
    retry_on_error: bool,
    retry_backoff_secs: u32,
    env_vars: BTreeMap<String, String>,
}

#[wasm_bindgen]
impl WasmJob {
    /// A job with `id` (empty: the supervisor assigns a UUID), the `payload` to run, the
    /// `executor` kind (e.g. `osis`) and the `runner` (queue) that runs it.
    #[wasm_bindgen(constructor)]
    pub fn new(id: String, payload: String, executor: String, runner: String) -> WasmJob {
        WasmJob {
            id,
            caller_id: String::new(),
            context_id: String::new(),
            payload,
            executor,
            runner,
            timeout: u32::try_from(DEFAULT_TIMEOUT_SECS).expect("the default timeout is 60 s"),
            retries: 0,
            delay: None,
            run_at: None,
            priority: 0,
            retry_on_error: false,
            retry_backoff_secs: 1,
            env_vars: BTreeMap::new(),
        }
    }

    /// The job id; empty asks the supervisor for a fresh UUID v4.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.id.clone()
    }

    /// Sets the job id.
    #[wasm_bindgen(setter)]
    pub fn set_id(&mut self, id: String) {
        self.id = id;
    }

    /// Who submits the job. Default: empty.
    #[wasm_bindgen(getter)]
    pub fn caller_id(&self) -> String {
        self.caller_id.clone()
    }

    /// Sets who submits the job.
    #[wasm_bindgen(setter)]
    pub fn set_caller_id(&mut self, caller_id: String) {
        self.caller_id = caller_id;
    }

    /// The context the job runs in. Default: empty.
    #[wasm_bindgen(getter)]
    pub fn context_id(&self) -> String {
        self.context_id.clone()
    }

    /// Sets the context the job runs in.
    #[wasm_bindgen(setter)]
    pub fn set_context_id(&mut self, context_id: String) {
        self.context_id = context_id;
    }

    /// What the runner executes, e.g. a Rhai script.
    #[wasm_bindgen(getter)]
    pub fn payload(&self) -> String {
        self.payload.clone()
    }

    /// Sets what the runner executes.
    #[wasm_bindgen(setter)]
    pub fn set_payload(&mut self, payload: String) {
        self.payload = payload;
    }

    /// The kind of runner the payload is meant for, e.g. `osis`.
    #[wasm_bindgen(getter)]
    pub fn executor(&self) -> String {
        self.executor.clone()
    }

    /// Sets the kind of runner.
    #[wasm_bindgen(setter)]
    pub fn set_executor(&mut self, executor: String) {
        self.executor = executor;
    }

    /// The runner (queue) that executes the job.
    #[wasm_bindgen(getter)]
    pub fn runner(&self) -> String {
        self.runner.clone()
    }

    /// Sets the runner.
    #[wasm_bindgen(setter)]
    pub fn set_runner(&mut self, runner: String) {
        self.runner = runner;
    }

    /// Seconds the job may run. Default: 60; at most one day (86400), checked when sent.
    #[wasm_bindgen(getter)]
    pub fn timeout(&self) -> u32 {
        self.timeout
    }

    /// Sets the seconds the job may run.
    #[wasm_bindgen(setter)]
    pub fn set_timeout(&mut self, secs: u32) {
        self.timeout = secs;
    }

    /// Times the job is requeued when its runner is lost mid-job. Default: 0 (it fails as
    /// "runner lost"); at most 10, checked when sent. Only for jobs safe to run twice.
    #[wasm_bindgen(getter)]
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Sets the times the job may be requeued after losing its runner.
    #[wasm_bindgen(setter)]
    pub fn set_retries(&mut self, retries: u32) {
        self.retries = retries;
    }

    /// Seconds from its creation before the job may run (it waits as `scheduled`). Default:
    /// none; at most a year, and not with `run_at`, checked when sent.
    #[wasm_bindgen(getter)]
    pub fn delay(&self) -> Option<u32> {
        self.delay
    }

    /// Sets the delay in seconds; `undefined` for none.
    #[wasm_bindgen(setter)]
    pub fn set_delay(&mut self, secs: Option<u32>) {
        self.delay = secs;
    }

    /// When the job may run, RFC 3339 (a time past runs it at once). Default: none; not with
    /// `delay`, checked when sent.
    #[wasm_bindgen(getter)]
    pub fn run_at(&self) -> Option<String> {
        self.run_at.clone()
    }

    /// Sets when the job may run; `undefined` for at once.
    #[wasm_bindgen(setter)]
    pub fn set_run_at(&mut self, at: Option<String>) {
        self.run_at = at;
    }

    /// 0–9, higher first within the runner's queue. Default: 0; checked when sent.
    #[wasm_bindgen(getter)]
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Sets the priority.
    #[wasm_bindgen(setter)]
    pub fn set_priority(&mut self, priority: u8) {
        self.priority = priority;
    }

    /// Whether a failed or timed-out run is retried, up to `retries` times, after a backoff.
    /// Default: false.
    #[wasm_bindgen(getter)]
    pub fn retry_on_error(&self) -> bool {
        self.retry_on_error
    }

    /// Sets whether a failed run is retried.
    #[wasm_bindgen(setter)]
    pub fn set_retry_on_error(&mut self, retry: bool) {
        self.retry_on_error = retry;
    }

    /// Base of the exponential, jittered backoff between retries after an error, in seconds.
    /// Default: 1; at most 3600, checked when sent.
    #[wasm_bindgen(getter)]
    pub fn retry_backoff_secs(&self) -> u32 {
        self.retry_backoff_secs
    }

    /// Sets the base of the backoff in seconds.
    #[wasm_bindgen(setter)]
    pub fn set_retry_backoff_secs(&mut self, secs: u32) {
        self.retry_backoff_secs = secs;
    }

    /// The job's environment as a plain object of strings. Default: `{}`.
    #[wasm_bindgen(getter, unchecked_return_type = "Record<string, string>")]
    pub fn env_vars(&self) -> JsValue {
        // An object built from string pairs: no JSON text is parsed.
        let object = js_sys::Object::new();
        for (name, value) in &self.env_vars {
            // Setting a property on a fresh plain object cannot fail.
            let _ = js_sys::Reflect::set(&object, &name.into(), &value.into());
        }
        object.into()
    }

    /// Replaces the environment with `vars`, a plain object whose values are strings.
    ///
    /// # Errors
    ///
    /// Throws a `SupervisorError` of kind `invalid_job` when `vars` is not such an object.
    #[wasm_bindgen(setter)]
    pub fn set_env_vars(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Record<string, string>")] vars: JsValue,
    ) -> Result<(), JsValue> {
        self.env_vars = env_from_js(&vars).map_err(|reason| {
            error::to_js(Failure {
                code: None,
                kind: "invalid_job",
                message: format!("env_vars: {reason}"),
                retryable: false,
            })
        })?;
        Ok(())
    }

    /// Adds one environment variable; returns nothing, so calls do not chain.
    pub fn env_var(&mut self, name: String, value: String) {
        self.env_vars.insert(name, value);
    }
}

impl WasmJob {
    /// The job as the native client sends it, checked by [`JobBuilder::build`].
    ///
    /// # Errors
    ///
    /// The first missing or invalid field.
    pub fn to_job(&self) -> Result<Job, hero_job::Error> {
        let mut builder = JobBuilder::new()
            .id(&self.id)
            .caller_id(&self.caller_id)
            .context_id(&self.context_id)
            .payload(&self.payload)
            .executor(&self.executor)
            .runner(&self.runner)
            .timeout(u64::from(self.timeout))
            .retries(self.retries)
            .priority(self.priority)
            .retry_on_error(self.retry_on_error)
            .retry_backoff_secs(u64::from(self.retry_backoff_secs))
            .env_vars(self.env_vars.clone());
        if let Some(delay) = self.delay {
            builder = builder.delay(u64::from(delay));
        }
        if let Some(at) = &self.run_at {
            let at = chrono::DateTime::parse_from_rfc3339(at).map_err(|e| {
                hero_job::Error::BadSchedule {
                    reason: format!("`run_at` is not an RFC 3339 time: {e}"),
                }
            })?;
            builder = builder.run_at(at.with_timezone(&chrono::Utc));
        }
        builder.build()
    }
}

impl WasmJob {
    /// The job `item` of an array: a `WasmJob` or a plain object with the same fields, read
    /// through its properties so that the caller's object stays usable. An absent field
    /// takes the default of [`WasmJob::new`].
    ///
    /// # Errors
    ///
    /// The first field of the wrong type, or the first missing or invalid field of the job.
    pub(crate) fn from_js(item: &JsValue) -> Result<Job, String> {
        if !item.is_object() {
            return Err("expected a WasmJob or an object of job fields".into());
        }
        let field = |name: &str| js_sys::Reflect::get(item, &name.into()).unwrap_or_default();
        let text = |name: &str| -> Result<String, String> {
            let value = field(name);
            if value.is_undefined() || value.is_null() {
                return Ok(String::new());
            }
            value
                .as_string()
                .ok_or_else(|| format!("{name} is not a string"))
        };
        let count = |name: &str| -> Result<Option<u32>, String> {
            let value = field(name);
            if value.is_undefined() || value.is_null() {
                return Ok(None);
            }
            match value.as_f64() {
                Some(n) if n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0 => {
                    // Checked above to be a whole number within u32.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                    Ok(Some(n as u32))
                }
                _ => Err(format!(
                    "{name} is not a whole number of at most {}",
                    u32::MAX
                )),
            }
        };
        let mut job = WasmJob::new(
            text("id")?,
            text("payload")?,
            text("executor")?,
            text("runner")?,
        );
        job.caller_id = text("caller_id")?;
        job.context_id = text("context_id")?;
        if let Some(timeout) = count("timeout")? {
            job.timeout = timeout;
        }
        if let Some(retries) = count("retries")? {
            job.retries = retries;
        }
        job.delay = count("delay")?;
        let run_at = text("run_at")?;
        job.run_at = (!run_at.is_empty()).then_some(run_at);
        if let Some(priority) = count("priority")? {
            job.priority = u8::try_from(priority).unwrap_or(u8::MAX);
        }
        let retry = field("retry_on_error");
        if !retry.is_undefined() && !retry.is_null() {
            job.retry_on_error = retry
                .as_bool()
                .ok_or_else(|| "retry_on_error is not a boolean".to_owned())?;
        }
        if let Some(secs) = count("retry_backoff_secs")? {
            job.retry_backoff_secs = secs;
        }
        let env = field("env_vars");
        if !env.is_undefined() && !env.is_null() {
            job.env_vars = env_from_js(&env).map_err(|reason| format!("env_vars: {reason}"))?;
        }
        job.to_job().map_err(|e| e.to_string())
    }
}

/// The string pairs of a plain JavaScript object.
fn env_from_js(vars: &JsValue) -> Result<BTreeMap<String, String>, String> {
    if !vars.is_object() || js_sys::Array::is_array(vars) {
        return Err("expected an object of strings".into());
    }
    let mut env = BTreeMap::new();
    for entry in js_sys::Object::entries(vars.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let name = pair.get(0).as_string().unwrap_or_default();
        let value = pair
            .get(1)
            .as_string()
            .ok_or_else(|| format!("the value of `{name}` is not a string"))?;
        env.insert(name, value);
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_job() -> WasmJob {
        WasmJob::new(
            "job-id".into(),
            "print(\"Hello\")".into(),
            "osis".into(),
            "osis_runner_1".into(),
        )
    }

    #[test]
    fn scheduling_fields_reach_the_job_and_are_checked() {
        let mut wasm = seed_job();
        wasm.set_delay(Some(30));
        wasm.set_priority(7);
        wasm.set_retry_on_error(true);
        wasm.set_retry_backoff_secs(2);
        let job = wasm.to_job().expect("valid");
        assert_eq!(
            (
                job.delay,
                job.priority,
                job.retry_on_error,
                job.retry_backoff_secs
            ),
            (Some(30), 7, true, 2)
        );
        wasm.set_run_at(Some("tomorrow".into()));
        assert!(matches!(
            wasm.to_job(),
            Err(hero_job::Error::BadSchedule { .. })
        ));
        wasm.set_delay(None);
        wasm.set_run_at(Some("2020-01-01T00:00:00Z".into()));
        assert!(wasm.to_job().expect("valid").run_at.is_some());
        wasm.set_priority(10);
        assert!(wasm.to_job().is_err(), "priority is 0-9");
    }

    #[test]
    fn the_seed_job_is_a_valid_job_with_the_default_timeout() {
        let job = seed_job().to_job().unwrap();
        assert_eq!(job.id, "job-id");
        assert_eq!(job.payload, "print(\"Hello\")");
        assert_eq!(
            (job.executor.as_str(), job.runner.as_str()),
            ("osis", "osis_runner_1")
        );
        assert_eq!(job.timeout, DEFAULT_TIMEOUT_SECS);
    }

    #[test]
    fn optional_fields_reach_the_job() {
        let mut wasm = seed_job();
        wasm.set_caller_id("me".into());
        wasm.set_context_id("ctx".into());
        wasm.set_timeout(5);
        wasm.set_retries(2);
        wasm.env_var("A".into(), "1".into());
        let job = wasm.to_job().unwrap();
        assert_eq!(job.retries, 2);
        assert_eq!(
            (job.caller_id.as_str(), job.context_id.as_str()),
            ("me", "ctx")
        );
        assert_eq!(job.timeout, 5);
        assert_eq!(job.env_vars["A"], "1");
    }

    #[test]
    fn an_invalid_field_is_named_when_the_job_is_built() {
        let mut wasm = seed_job();
        wasm.set_runner(String::new());
        let err = wasm.to_job().unwrap_err();
        assert_eq!(err, hero_job::Error::Missing { field: "runner" });
        wasm.set_runner("osis_runner_1".into());
        wasm.set_timeout(0);
        assert!(wasm.to_job().is_err());
    }
}
