//! [`OsisExecutor`]: the runner SDK's [`Executor`] over the sandboxed engine and the store,
//! and [`run_script`], which runs any script of a job on a thread of its own.
//!
//! The job's cancellation (stop, timeout, shutdown) triggers the script's [`Interrupt`],
//! which ends even `loop {}`.

use std::thread;

use async_trait::async_trait;
use hero_job::Job;
use hero_runner::{Executor, JobContext};
use tokio::sync::oneshot;

use crate::engine::{Script, ScriptError};
use crate::{Interrupt, KvStore, Limits, kv, register_progress};

/// Runs each job's payload as a sandboxed Rhai script with the key-value store, scoped by
/// the job's `context_id`.
#[derive(Debug, Clone)]
pub struct OsisExecutor {
    store: KvStore,
    limits: Limits,
}

impl OsisExecutor {
    /// An executor whose scripts use `store` and are bounded by `limits`, the store's quota
    /// per context included.
    pub fn new(store: KvStore, limits: Limits) -> Self {
        let store = store.with_max_context_bytes(limits.max_kv_bytes);
        Self { store, limits }
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
        run_script(ctx, &limits, move |interrupt| {
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

/// Runs `script` on a thread of its own, with the stack `limits` need (see
/// [`Limits::stack_bytes`]), and returns its result as the SDK expects it.
///
/// When `ctx` is cancelled, or this future is dropped, the [`Interrupt`] handed to `script`
/// is triggered; the result is then `Err("script interrupted")` unless the script finished
/// first. A failure's message is the [`ScriptError`]'s.
///
/// # Cancel safety
///
/// Dropping the future interrupts the script, which ends at its next operation.
pub async fn run_script<F>(ctx: &JobContext, limits: &Limits, script: F) -> Result<String, String>
where
    F: FnOnce(&Interrupt) -> Result<String, ScriptError> + Send + 'static,
{
    let interrupt = Interrupt::new();
    // If this future is dropped before the script ends, the script must not run on.
    let _interrupt_on_drop = InterruptOnDrop(interrupt.clone());
    let (done_tx, mut done) = oneshot::channel();
    let script_interrupt = interrupt.clone();
    thread::Builder::new()
        .name(format!("script-{}", ctx.job_id()))
        .stack_size(limits.stack_bytes())
        .spawn(move || {
            // The receiver is gone only when the job no longer waits for this result.
            let _ = done_tx.send(script(&script_interrupt));
        })
        .map_err(|error| format!("cannot start the script thread: {error}"))?;
    let finished = tokio::select! {
        finished = &mut done => finished,
        () = ctx.cancelled() => {
            interrupt.trigger();
            done.await
        }
    };
    match finished {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("the script thread panicked".to_owned()),
    }
}

/// Triggers the interrupt when dropped; harmless once the script has ended.
struct InterruptOnDrop(Interrupt);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        self.0.trigger();
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
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = KvStore::open(dir.path()).expect("the store opens");
        (dir, OsisExecutor::new(store, Limits::default()))
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
}
