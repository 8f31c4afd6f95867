//! [`OsisExecutor`]: the runner SDK's [`Executor`] over the sandboxed engine.
//!
//! Each job's script runs on a blocking thread; the job's cancellation (stop, timeout,
//! shutdown) triggers the engine's [`Interrupt`], which ends even `loop {}`.

use async_trait::async_trait;
use hero_job::Job;
use hero_runner::{Executor, JobContext};

use crate::engine::{self, Interrupt, ScriptError};

/// Runs each job's payload as a sandboxed Rhai script (see [`engine::run`]).
#[derive(Debug, Clone, Default)]
pub struct OsisExecutor;

#[async_trait]
impl Executor for OsisExecutor {
    async fn execute(&self, job: &Job, ctx: &JobContext) -> Result<String, String> {
        let interrupt = Interrupt::new();
        // If this future is dropped before the script ends, the script must not run on.
        let _interrupt_on_drop = InterruptOnDrop(interrupt.clone());
        let payload = job.payload.clone();
        let env_vars = job.env_vars.clone();
        let script_interrupt = interrupt.clone();
        let mut script = tokio::task::spawn_blocking(move || {
            engine::run(&payload, &env_vars, &script_interrupt)
        });
        let joined = tokio::select! {
            joined = &mut script => joined,
            () = ctx.cancelled() => {
                interrupt.trigger();
                script.await
            }
        };
        match joined {
            Ok(Ok(output)) => Ok(output),
            Ok(Err(ScriptError::Failed(message))) => Err(message),
            Ok(Err(ScriptError::Interrupted)) => Err("script interrupted".to_owned()),
            Err(error) => Err(format!("script thread failed: {error}")),
        }
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

    fn job(payload: &str) -> Job {
        JobBuilder::new()
            .id("j1")
            .payload(payload)
            .executor("osis")
            .runner("osis")
            .build()
            .expect("a valid job")
    }

    #[tokio::test]
    async fn a_script_returns_its_output() {
        let ctx = JobContext::new("j1", CancellationToken::new());
        let output = OsisExecutor
            .execute(&job(r#"print("Hello"); 40 + 2"#), &ctx)
            .await;
        assert_eq!(output, Ok("Hello\n42".to_owned()));
    }

    #[tokio::test]
    async fn a_thrown_error_becomes_the_error_message() {
        let ctx = JobContext::new("j1", CancellationToken::new());
        let error = OsisExecutor
            .execute(&job(r#"throw "boom""#), &ctx)
            .await
            .expect_err("the script throws");
        assert!(error.contains("boom"), "{error}");
    }

    #[tokio::test]
    async fn cancelling_the_job_interrupts_an_endless_loop() {
        let token = CancellationToken::new();
        let ctx = JobContext::new("j1", token.clone());
        let job = job("loop {}");
        let execution = OsisExecutor.execute(&job, &ctx);
        token.cancel();
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), execution)
            .await
            .expect("the loop ends soon after cancellation");
        assert_eq!(result, Err("script interrupted".to_owned()));
    }
}
