//! The job methods: run, create, start, watch, stop, delete and list jobs.
//!
//! Each is one call through [`SupervisorClient::call`]: the wire name, the args in the
//! contract's positional order, the result type.

use hero_job::{Job, JobRecord, JobResult, JobStatusInfo};
use hero_supervisor_api::methods::names;
use hero_supervisor_api::params::ListFilter;

use crate::client::{arg, text};
use crate::{ClientError, SupervisorClient};

impl SupervisorClient {
    /// Runs `job` and returns its result once it is final (`job.run`).
    ///
    /// Waits until the job completes, fails, or is ended by its timeout; no client timeout
    /// applies unless [`with_wait_timeout`](Self::with_wait_timeout) set one. A job submitted
    /// with an empty id gets a fresh one, so one built job may be run many times.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a secret that is not a user or admin secret,
    /// [`ClientError::InvalidParams`] for an invalid job, [`ClientError::Conflict`] when the
    /// job's id already exists, [`ClientError::Transport`] when the supervisor is unreachable.
    pub async fn job_run(&self, secret: &str, job: Job) -> Result<JobResult, ClientError> {
        self.call(names::JOB_RUN, [text(secret), arg(&job)?]).await
    }

    /// Stores `job` without queuing it (`jobs.create`) and returns its id.
    ///
    /// The job stays `created` until [`job_start`](Self::job_start).
    ///
    /// # Errors
    ///
    /// As [`job_run`](Self::job_run).
    pub async fn jobs_create(&self, secret: &str, job: Job) -> Result<String, ClientError> {
        self.call(names::JOBS_CREATE, [text(secret), arg(&job)?])
            .await
    }

    /// Stores `jobs` in one call (`jobs.create_many`) and returns their ids in order: queued
    /// on their runners when `start`, else `created` until [`job_start`](Self::job_start).
    ///
    /// Either every job is stored or none is. At most the server's `[limits]
    /// max_jobs_per_call` jobs (default 10,000), within its request size limit (default
    /// 2 MiB); send more in several calls.
    ///
    /// # Errors
    ///
    /// As [`job_run`](Self::job_run), the message naming the refused job's index
    /// (`jobs[3]: ...`); [`ClientError::InvalidParams`] for too many jobs.
    pub async fn jobs_create_many(
        &self,
        secret: &str,
        jobs: Vec<Job>,
        start: bool,
    ) -> Result<Vec<String>, ClientError> {
        self.call(
            names::JOBS_CREATE_MANY,
            [text(secret), arg(&jobs)?, arg(&start)?],
        )
        .await
    }

    /// Queues the created job `job_id` on its runner (`job.start`).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job, [`ClientError::Conflict`] for a job
    /// already started, [`ClientError::Unauthorized`] for a bad secret.
    pub async fn job_start(&self, secret: &str, job_id: &str) -> Result<(), ClientError> {
        self.call(names::JOB_START, [text(secret), text(job_id)])
            .await
    }

    /// The status of `job_id` and its timestamps, without waiting (`job.status`).
    ///
    /// Sends no secret: the job id is the capability. Use
    /// [`job_status_with_secret`](Self::job_status_with_secret) for a server that requires
    /// secrets on reads.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job.
    pub async fn job_status(&self, job_id: &str) -> Result<JobStatusInfo, ClientError> {
        self.call(names::JOB_STATUS, [text(job_id), None]).await
    }

    /// As [`job_status`](Self::job_status), sending `secret` along.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job, [`ClientError::Unauthorized`] for a bad
    /// secret.
    pub async fn job_status_with_secret(
        &self,
        job_id: &str,
        secret: &str,
    ) -> Result<JobStatusInfo, ClientError> {
        self.call(names::JOB_STATUS, [text(job_id), text(secret)])
            .await
    }

    /// The result of `job_id`, waiting until the job is final (`job.result`).
    ///
    /// Sends no secret; see [`job_result_with_secret`](Self::job_result_with_secret). No
    /// client timeout applies unless [`with_wait_timeout`](Self::with_wait_timeout) set one.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job; [`ClientError::WaitTimedOut`] when the
    /// job is still not final after its own timeout (the job is left as it is).
    pub async fn job_result(&self, job_id: &str) -> Result<JobResult, ClientError> {
        self.call(names::JOB_RESULT, [text(job_id), None]).await
    }

    /// As [`job_result`](Self::job_result), sending `secret` along.
    ///
    /// # Errors
    ///
    /// As [`job_result`](Self::job_result), plus [`ClientError::Unauthorized`] for a bad
    /// secret.
    pub async fn job_result_with_secret(
        &self,
        job_id: &str,
        secret: &str,
    ) -> Result<JobResult, ClientError> {
        self.call(names::JOB_RESULT, [text(job_id), text(secret)])
            .await
    }

    /// Stops `job_id` (`job.stop`): a created or queued job ends `stopped` at once, a running
    /// one is interrupted, a final one is left as it is.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job, [`ClientError::Unauthorized`] for a bad
    /// secret.
    pub async fn job_stop(&self, secret: &str, job_id: &str) -> Result<(), ClientError> {
        self.call(names::JOB_STOP, [text(secret), text(job_id)])
            .await
    }

    /// Queues the `failed` or `stopped` job `job_id` again (`job.retry`), as a fresh job: its
    /// result, `attempt` and `last_error` are cleared and it gets all its `retries` again.
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job or another user's,
    /// [`ClientError::Conflict`] for a job neither failed nor stopped,
    /// [`ClientError::Unauthorized`] for a bad secret.
    pub async fn job_retry(&self, secret: &str, job_id: &str) -> Result<(), ClientError> {
        self.call(names::JOB_RETRY, [text(secret), text(job_id)])
            .await
    }

    /// Deletes `job_id` and its result (`job.delete`).
    ///
    /// # Errors
    ///
    /// [`ClientError::NotFound`] for an unknown job, [`ClientError::Unauthorized`] for a bad
    /// secret.
    pub async fn job_delete(&self, secret: &str, job_id: &str) -> Result<(), ClientError> {
        self.call(names::JOB_DELETE, [text(secret), text(job_id)])
            .await
    }

    /// The newest jobs the secret may see, up to 1,000, newest first, each with its status
    /// (`jobs.list` without a filter). Each job's `level` is the level of the secret that
    /// submitted it, as the supervisor recorded it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a bad secret.
    pub async fn jobs_list(&self, secret: &str) -> Result<Vec<JobRecord>, ClientError> {
        self.call(names::JOBS_LIST, [text(secret), None]).await
    }

    /// The jobs the secret may see that `filter` selects, newest first, each with its status
    /// (`jobs.list`). To page, pass the last id of a page as the next filter's `before`.
    ///
    /// # Errors
    ///
    /// [`ClientError::Unauthorized`] for a bad secret, [`ClientError::InvalidParams`] for a
    /// bad filter, [`ClientError::NotFound`] when `before` names no stored job.
    pub async fn jobs_list_filtered(
        &self,
        secret: &str,
        filter: &ListFilter,
    ) -> Result<Vec<JobRecord>, ClientError> {
        self.call(names::JOBS_LIST, [text(secret), arg(filter)?])
            .await
    }
}

#[cfg(test)]
mod tests {
    use hero_job::{JobBuilder, JobStatus};
    use hero_supervisor_api::codes;
    use serde_json::{Value, json};

    use super::*;
    use crate::test_server::{self, TIMEOUT, error, result};

    fn job() -> Job {
        JobBuilder::new()
            .payload("40 + 2")
            .executor("osis")
            .runner("osis_runner_1")
            .build()
            .unwrap()
    }

    /// What a supervisor would answer to each method.
    fn answer(request: &Value) -> Value {
        let status = json!({"job_id": "j1", "status": "completed",
                            "created_at": "2025-01-01T00:00:00Z",
                            "started_at": null, "completed_at": null});
        let listed = json!([{"id": "j1", "payload": "40 + 2", "executor": "osis",
                             "runner": "osis_runner_1", "status": "queued"}]);
        let method = request["method"].as_str().unwrap_or_default();
        match method {
            names::JOB_RUN | names::JOB_RESULT => result(request, json!({"success": "42"})),
            names::JOBS_CREATE => result(request, json!("j1")),
            names::JOBS_CREATE_MANY => result(request, json!(["j1", "j2"])),
            names::JOB_STATUS => result(request, status),
            names::JOBS_LIST => result(request, listed),
            names::RPC_DISCOVER => result(request, json!({"openrpc": "1.3.2"})),
            names::JOB_START | names::JOB_STOP | names::JOB_DELETE | names::JOB_RETRY => {
                result(request, Value::Null)
            }
            _ => error(request, codes::METHOD_NOT_FOUND, "no such method"),
        }
    }

    #[tokio::test]
    async fn every_method_sends_its_wire_name_and_named_params_and_reads_its_result() {
        let server = test_server::start(answer).await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let calls = async {
            let ran = client.job_run("s", job()).await.unwrap();
            assert_eq!(ran, JobResult::success("42"));
            assert_eq!(client.jobs_create("s", job()).await.unwrap(), "j1");
            let many = client.jobs_create_many("s", vec![job(), job()], false);
            assert_eq!(many.await.unwrap(), ["j1", "j2"]);
            client.job_start("s", "j1").await.unwrap();
            let status = client.job_status("j1").await.unwrap();
            assert!(status.status == "completed" && status.status == JobStatus::Completed);
            client.job_status_with_secret("j1", "s").await.unwrap();
            assert!(client.job_result("j1").await.unwrap().is_success());
            client.job_result_with_secret("j1", "s").await.unwrap();
            client.job_stop("s", "j1").await.unwrap();
            client.job_delete("s", "j1").await.unwrap();
            client.job_retry("s", "j1").await.unwrap();
            let jobs = client.jobs_list("s").await.unwrap();
            assert_eq!(jobs[0].job.id, "j1");
            assert_eq!(
                jobs[0].status,
                JobStatus::Queued,
                "each job comes with its status"
            );
            assert_eq!(client.rpc_discover().await.unwrap()["openrpc"], "1.3.2");
        };
        tokio::time::timeout(TIMEOUT, calls).await.unwrap();

        let sent: Vec<(String, Value)> = server
            .requests(13)
            .await
            .into_iter()
            .map(|r| {
                (
                    r.body["method"].as_str().unwrap().to_owned(),
                    r.body["params"].clone(),
                )
            })
            .collect();
        let job = serde_json::to_value(job()).unwrap();
        let by_id = json!({"secret": "s", "job_id": "j1"});
        let read = json!({"job_id": "j1"});
        let read_with_secret = json!({"job_id": "j1", "secret": "s"});
        let expected = [
            ("job.run", json!({"secret": "s", "job": job})),
            ("jobs.create", json!({"secret": "s", "job": job})),
            (
                "jobs.create_many",
                json!({"secret": "s", "jobs": [job, job], "start": false}),
            ),
            ("job.start", by_id.clone()),
            ("job.status", read.clone()),
            ("job.status", read_with_secret.clone()),
            ("job.result", read),
            ("job.result", read_with_secret),
            ("job.stop", by_id.clone()),
            ("job.delete", by_id.clone()),
            ("job.retry", by_id),
            ("jobs.list", json!({"secret": "s"})),
            ("rpc.discover", Value::Null),
        ];
        for ((method, params), (want_method, want_params)) in sent.iter().zip(&expected) {
            assert_eq!(method, want_method);
            // Ignore the timestamps of the job, which differ between the two builds.
            let strip = |mut v: Value| {
                let strip_one = |job: &mut Value| {
                    if let Some(job) = job.as_object_mut() {
                        job.remove("created_at");
                        job.remove("updated_at");
                    }
                };
                if let Some(job) = v.get_mut("job") {
                    strip_one(job);
                }
                if let Some(jobs) = v.get_mut("jobs").and_then(Value::as_array_mut) {
                    jobs.iter_mut().for_each(strip_one);
                }
                v
            };
            assert_eq!(
                strip(params.clone()),
                strip(want_params.clone()),
                "{method}"
            );
        }
    }

    #[tokio::test]
    async fn a_server_error_reaches_the_caller_typed() {
        let server =
            test_server::start(|req| error(req, codes::NOT_FOUND, "job nope not found")).await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let err = tokio::time::timeout(TIMEOUT, client.job_status("nope"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(&err, ClientError::NotFound { message } if message == "job nope not found"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "not found: job nope not found");
    }

    #[tokio::test]
    async fn unauthorized_errors_do_not_echo_the_secret() {
        let server =
            test_server::start(|req| error(req, codes::UNAUTHORIZED, "unknown secret")).await;
        let client = SupervisorClient::new(&server.url).unwrap();
        let err = tokio::time::timeout(TIMEOUT, client.jobs_list("hunter2"))
            .await
            .unwrap()
            .unwrap_err();
        assert!(matches!(err, ClientError::Unauthorized { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
