//! A `sal` script: the `osis` engine with the system functions registered on it.

use std::collections::BTreeMap;

use hero_osis_runner::engine::{Script, ScriptError};
use hero_osis_runner::{Interrupt, Limits};
use rhai::Engine;

use crate::{command, env, files};

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
