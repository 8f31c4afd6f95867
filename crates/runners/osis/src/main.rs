//! The `osis_runner` binary: the runner SDK's `main` with the sandboxed Rhai executor.
//!
//! `--db-path` is accepted; the script key-value store that will live there comes later.

use std::sync::Arc;

use hero_osis_runner::executor::OsisExecutor;

fn main() -> std::process::ExitCode {
    hero_runner::cli::run_main(|_args| Ok(Arc::new(OsisExecutor)))
}
