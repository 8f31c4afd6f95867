//! The `osis_runner` binary: the runner SDK's `main` with the sandboxed Rhai executor.
//!
//! The key-value store lives in `--db-path`; the script limits come from the `OSIS_MAX_…`
//! environment variables (see `Limits::from_env`), as the SDK's command line is fixed.

use std::sync::Arc;

use anyhow::Context;
use hero_osis_runner::{KvStore, Limits, OsisExecutor};

/// How long the runner waits for another process to release its store: the SDK's shutdown
/// grace (10 s), its last claim and reports, with room to spare.
const STORE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);

fn main() -> std::process::ExitCode {
    hero_runner::cli::run_main(|args| {
        let limits = Limits::from_env("OSIS")?;
        let db_path = args
            .db_path
            .as_deref()
            .context("--db-path is required: the scripts' key-value store lives there")?;
        // A runner of a killed supervisor may still hold the file while it drains.
        let store = KvStore::open_waiting(db_path, STORE_PATIENCE)?;
        tracing::info!(db_path = %db_path.display(), ?limits, "osis runner ready");
        Ok(Arc::new(OsisExecutor::new(store, limits)))
    })
}
