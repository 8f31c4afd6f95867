//! [`SalExecutor`]: the runner SDK's [`Executor`] over the `osis` engine with the system
//! functions registered.

use async_trait::async_trait;
use hero_job::Job;
use hero_osis_runner::engine::Script;
use hero_osis_runner::{Limits, ScriptPool};
use hero_runner::{Executor, JobContext};

/// Runs each job's payload as a `sal` script; its stop or timeout also kills the command
/// the script is running.
#[derive(Debug, Clone)]
pub struct SalExecutor {
    limits: Limits,
    /// The threads scripts run on, with the stack `limits` need, shared by every job.
    pool: ScriptPool,
}

impl SalExecutor {
    /// An executor whose scripts are bounded by `limits`.
    pub fn new(limits: Limits) -> Self {
        let pool = ScriptPool::new(limits.stack_bytes());
        Self { limits, pool }
    }
}

#[async_trait]
impl Executor for SalExecutor {
    fn name(&self) -> &str {
        "sal"
    }

    /// System access: a sal runner started without `--access` takes admins' jobs only.
    fn default_access(&self) -> hero_job::Level {
        hero_job::Level::Admin
    }

    async fn execute(&self, job: &Job, ctx: &JobContext) -> Result<String, String> {
        let limits = self.limits;
        let job = job.clone();
        let progress = ctx.clone();
        self.pool
            .run(ctx, move |interrupt| {
                let mut script = Script::new(&job.id, &limits, interrupt);
                hero_osis_runner::register_progress(script.engine_mut(), &progress);
                crate::register(script.engine_mut(), &job.env_vars, interrupt, &limits);
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

    fn job(payload: &str) -> Job {
        JobBuilder::new()
            .id("j1")
            .payload(payload)
            .executor("sal")
            .runner("sal")
            .env_var("GREETING", "hello")
            .build()
            .expect("a valid job")
    }

    #[tokio::test]
    async fn commands_see_the_jobs_variables() {
        let ctx = JobContext::new("j1", CancellationToken::new());
        let payload = r#"run("sh", ["-c", "echo $GREETING"]).stdout"#;
        let job = job(payload);
        let executor = SalExecutor::new(Limits::default());
        let output = tokio::time::timeout(hero_test_support::TIMEOUT, executor.execute(&job, &ctx))
            .await
            .expect("the script ends");
        assert_eq!(output, Ok("hello\n".to_owned()));
    }

    #[tokio::test]
    async fn cancelling_the_job_kills_its_command() {
        let token = CancellationToken::new();
        let ctx = JobContext::new("j1", token.clone());
        let job = job(r#"run("sleep", ["30"])"#);
        let executor = SalExecutor::new(Limits::default());
        let execution = executor.execute(&job, &ctx);
        token.cancel();
        let result = tokio::time::timeout(hero_test_support::TIMEOUT, execution)
            .await
            .expect("the command is killed soon after cancellation");
        assert_eq!(result, Err("script interrupted".to_owned()));
    }
}
