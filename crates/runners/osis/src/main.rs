//! The `osis_runner` binary: the runner SDK's `main` with the sandboxed Rhai executor.
//!
//! The key-value store lives in `--db-path`; the script limits come from the `OSIS_MAX_…`
//! environment variables (see `Limits::from_env`), as the SDK's command line is fixed.

use std::sync::Arc;

use anyhow::Context;
use hero_osis_runner::{KvStore, Limits, OsisExecutor};

fn main() -> std::process::ExitCode {
    hero_runner::cli::run_main(|args| {
        let limits = Limits::from_env("OSIS")?;
        let db_path = args
            .db_path
            .as_deref()
            .context("--db-path is required: the scripts' key-value store lives there")?;
        let store = KvStore::open(db_path)?;
        tracing::info!(db_path = %db_path.display(), ?limits, "osis runner ready");
        Ok(Arc::new(OsisExecutor::new(store, limits)))
    })
}
