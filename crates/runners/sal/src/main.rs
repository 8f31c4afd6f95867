//! The `sal_runner` binary: the runner SDK's `main` with the `sal` executor.
//!
//! The script limits come from the `SAL_MAX_…` environment variables (see
//! `hero_osis_runner::Limits::from_env`); `--db-path` is accepted and unused.

use std::sync::Arc;

use hero_osis_runner::Limits;
use hero_sal_runner::SalExecutor;

fn main() -> std::process::ExitCode {
    hero_runner::cli::run_main(|_args| {
        let limits = Limits::from_env("SAL")?;
        tracing::info!(?limits, "sal runner ready");
        Ok(Arc::new(SalExecutor::new(limits)))
    })
}
