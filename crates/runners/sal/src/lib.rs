//! The `sal` runner of Hero Supervisor: job payloads run as Rhai scripts with system
//! functions (files, commands, environment), for trusted operators only. A `sal` script
//! can do anything the runner's OS user can.
//!
//! It is the `osis` engine ([`hero_osis_runner::engine::Script`]: output rules, `sleep`,
//! `ENV`/`env`, JSON helpers, limits, interruption) without the key-value store, plus:
//!
//! - `files`: `read_file`, `write_file`, `append_file`, `list_dir`, `exists`, `remove`,
//!   `mkdir`.
//! - `command`: `run` and `run_with`, without a shell, killed at their timeout or when the
//!   job is interrupted.
//! - `env`: `env_get` and `env_set`, for this job's commands only.
//! - [`executor`]: [`SalExecutor`]; `src/main.rs` is the `sal_runner` binary.
//! - `error`: [`Error`].
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use hero_osis_runner::Interrupt;
//!
//! let output = hero_sal_runner::run(
//!     r#"run("echo", ["hello"]).stdout"#,
//!     &BTreeMap::new(),
//!     &Interrupt::new(),
//! );
//! assert_eq!(output, Ok("hello\n".to_string()));
//! ```

#![warn(missing_docs)]

mod command;
mod env;
mod error;
pub mod executor;
mod files;

use std::collections::BTreeMap;

use hero_osis_runner::engine::{Script, ScriptError};
use hero_osis_runner::{Interrupt, Limits};
use rhai::Engine;

pub use error::Error;
pub use executor::SalExecutor;

/// Registers the system functions on `engine` for one job: its commands see `env_vars` on
/// top of the runner's environment and end with `interrupt`; files and command output are
/// bounded by `limits.max_string_bytes`.
pub fn register(
    engine: &mut Engine,
    env_vars: &BTreeMap<String, String>,
    interrupt: &Interrupt,
    limits: &Limits,
) {
    let job_env = env::JobEnv::new(env_vars);
    files::register(engine, limits.max_string_bytes);
    env::register(engine, &job_env);
    command::register(engine, &job_env, interrupt, limits.max_string_bytes);
}

/// Runs `payload` as a `sal` script with the default [`Limits`], for a job without an id.
///
/// # Errors
///
/// As [`Script::run`].
pub fn run(
    payload: &str,
    env_vars: &BTreeMap<String, String>,
    interrupt: &Interrupt,
) -> Result<String, ScriptError> {
    let limits = Limits::default();
    let mut script = Script::new("-", &limits, interrupt);
    register(script.engine_mut(), env_vars, interrupt, &limits);
    script.run(payload, env_vars)
}
