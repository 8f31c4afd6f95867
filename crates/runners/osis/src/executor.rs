//! [`OsisExecutor`]: the runner SDK's [`Executor`] over the sandboxed engine and the store.
//!
//! Each job's script runs on a thread of the executor's [`ScriptPool`]; the job's
//! cancellation (stop, timeout, shutdown) triggers the script's
//! [`Interrupt`](crate::Interrupt), which ends even `loop {}`.

use async_trait::async_trait;
use hero_job::Job;
use hero_runner::{Executor, JobContext};

use crate::engine::Script;
use crate::{KvStore, Limits, ScriptPool, kv, register_progress};

/// Runs each job's payload as a sandboxed Rhai script with the key-value store, scoped by
/// the job's `context_id`.
#[derive(Debug, Clone)]
pub struct OsisExecutor {
    store: KvStore,
    limits: Limits,
    /// The threads scripts run on, with the stack `limits` need, shared by every job.
    pool: ScriptPool,
}

impl OsisExecutor {
    /// An executor whose scripts use `store` and are bounded by `limits`, the store's quota
    /// per context included.
    pub fn new(store: KvStore, limits: Limits) -> Self {
        let store = store.with_max_context_bytes(limits.max_kv_bytes);
        let pool = ScriptPool::new(limits.stack_bytes());
        Self {
            store,
            limits,
            pool,
        }
    }
}

#[async_trait]
impl Executor for OsisExecutor {
    fn name(&self) -> &str {
        "osis"
    }

    async fn execute(&self, job: &Job, ctx: &JobContext) -> Result<String, String> {
        let store = self.store.clone();
        let limits = self.limits;
        let job = job.clone();
        let progress = ctx.clone();
        self.pool
            .run(ctx, move |interrupt| {
                let mut script = Script::new(&job.id, &limits, interrupt);
                register_progress(script.engine_mut(), &progress);
                kv::register(
                    script.engine_mut(),
                    &store,
                    &job.context_id,
                    limits.max_array_len,
                );
                script.run(&job.payload, &job.env_vars)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use hero_job::JobBuilder;
    use tokio_util::sync::CancellationToken;

    use super::*;

    fn job(payload: &str, context_id: &str) -> Job {
        JobBuilder::new()
            .id("j1")
            .context_id(context_id)
            .payload(payload)
            .executor("osis")
            .runner("osis")
            .build()
            .expect("a valid job")
    }

    fn executor() -> (tempfile::TempDir, OsisExecutor) {
        executor_with(Limits::default())
    }

    fn executor_with(limits: Limits) -> (tempfile::TempDir, OsisExecutor) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = KvStore::open(dir.path()).expect("the store opens");
        (dir, OsisExecutor::new(store, limits))
    }

    async fn execute(executor: &OsisExecutor, job: &Job) -> Result<String, String> {
        let ctx = JobContext::new(job.id.clone(), CancellationToken::new());
        tokio::time::timeout(hero_test_support::TIMEOUT, executor.execute(job, &ctx))
            .await
            .expect("the script ends")
    }

    #[tokio::test]
    async fn a_script_returns_its_output() {
        let (_dir, executor) = executor();
        let output = execute(&executor, &job(r#"print("Hello"); 40 + 2"#, "")).await;
        assert_eq!(output, Ok("Hello\n42".to_owned()));
    }

    #[tokio::test]
    async fn a_thrown_error_becomes_the_error_message() {
        let (_dir, executor) = executor();
        let error = execute(&executor, &job(r#"throw "boom""#, ""))
            .await
            .expect_err("the script throws");
        assert!(error.contains("boom"), "{error}");
    }

    #[tokio::test]
    async fn the_store_is_scoped_by_the_jobs_context() {
        let (_dir, executor) = executor();
        let set = r#"kv_set("greeting", "hello " + env("WHO"))"#;
        let mut writer = job(set, "ctx-a");
        writer.env_vars.insert("WHO".into(), "a".into());
        assert_eq!(execute(&executor, &writer).await, Ok(String::new()));
        let read = r#"kv_get("greeting")"#;
        assert_eq!(
            execute(&executor, &job(read, "ctx-a")).await,
            Ok("hello a".to_owned())
        );
        assert_eq!(
            execute(&executor, &job(r#"kv_exists("greeting")"#, "ctx-b")).await,
            Ok("false".to_owned())
        );
    }

    #[tokio::test]
    async fn deep_recursion_ends_at_the_call_depth_limit() {
        let (_dir, executor) = executor();
        let payload = "fn down(n) { if n == 0 { 0 } else { 1 + down(n - 1) } } down(100000)";
        let error = execute(&executor, &job(payload, ""))
            .await
            .expect_err("too deep");
        assert!(
            error.starts_with("script exceeded the limit of 64 nested function calls"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn cancelling_the_job_interrupts_an_endless_loop() {
        let (_dir, executor) = executor();
        let token = CancellationToken::new();
        let ctx = JobContext::new("j1", token.clone());
        let job = job("loop {}", "");
        let execution = executor.execute(&job, &ctx);
        token.cancel();
        let result = tokio::time::timeout(hero_test_support::TIMEOUT, execution)
            .await
            .expect("the loop ends soon after cancellation");
        assert_eq!(result, Err("script interrupted".to_owned()));
    }

    #[tokio::test]
    async fn jobs_of_different_contexts_on_one_thread_never_see_each_others_store() {
        let (_dir, executor) = executor();
        // One job at a time: each runs on the thread the one before it used.
        for round in 0..3 {
            for context in ["ctx-a", "ctx-b"] {
                let payload =
                    format!(r#"let seen = kv_keys(); kv_set("{context}-{round}", 1); seen"#);
                let seen = execute(&executor, &job(&payload, context)).await;
                let own: Vec<String> = (0..round).map(|r| format!("\"{context}-{r}\"")).collect();
                assert_eq!(
                    seen,
                    Ok(format!("[{}]", own.join(", "))),
                    "{context} round {round}"
                );
            }
        }
    }

    #[tokio::test]
    async fn a_job_after_an_interrupted_one_runs_with_fresh_state_and_limits() {
        let limits = Limits {
            max_operations: 10_000,
            max_output_bytes: 100,
            ..Limits::default()
        };
        let (_dir, executor) = executor_with(limits);
        let token = CancellationToken::new();
        let ctx = JobContext::new("j1", token.clone());
        let sleeper = job(r#"print("from the sleeper"); sleep(30)"#, "");
        let execution = executor.execute(&sleeper, &ctx);
        token.cancel();
        let result = tokio::time::timeout(hero_test_support::TIMEOUT, execution)
            .await
            .expect("the sleep ends soon after cancellation");
        assert_eq!(result, Err("script interrupted".to_owned()));

        // Not interrupted: its own interrupt is clear, and the operation limit still holds.
        let endless = execute(&executor, &job("loop {}", ""))
            .await
            .expect_err("over the limit");
        assert!(
            endless.starts_with("script exceeded the limit of 10000 operations"),
            "{endless}"
        );
        // Its own output only, with the whole output limit.
        let printer = job(r#"let s = ""; s.pad(90, "x"); print(s); "done""#, "");
        assert_eq!(
            execute(&executor, &printer).await,
            Ok(format!("{}\ndone", "x".repeat(90)))
        );
        let over = execute(
            &executor,
            &job(r#"let s = ""; s.pad(100, "x"); print(s)"#, ""),
        )
        .await;
        assert_eq!(
            over,
            Err("script printed more than the limit of 100 bytes".to_owned())
        );
    }

    #[tokio::test]
    async fn a_script_over_a_limit_does_not_stop_later_jobs() {
        let (_dir, executor) = executor();
        let deep = "fn down(n) { if n == 0 { 0 } else { 1 + down(n - 1) } } down(100000)";
        for _ in 0..3 {
            let error = execute(&executor, &job(deep, ""))
                .await
                .expect_err("too deep");
            assert!(error.contains("nested function calls"), "{error}");
            assert_eq!(
                execute(&executor, &job("40 + 2", "")).await,
                Ok("42".to_owned())
            );
        }
    }
}
