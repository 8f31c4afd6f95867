//! [`JobEnv`]: the environment a job's commands run with, and `env_get`/`env_set`.
//!
//! It starts as the runner's environment plus the job's `env_vars`; `env_set` changes it
//! for this job's later commands only, never the runner process, so jobs stay isolated.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rhai::{Dynamic, Engine};

use crate::Error;

/// The variables one job has set on top of the runner's environment; clones share them.
#[derive(Clone, Debug, Default)]
pub(crate) struct JobEnv(Arc<Mutex<BTreeMap<String, String>>>);

impl JobEnv {
    /// The job's environment: the runner's, overridden by `env_vars`.
    pub(crate) fn new(env_vars: &BTreeMap<String, String>) -> Self {
        Self(Arc::new(Mutex::new(env_vars.clone())))
    }

    /// The variable's value as this job's commands see it.
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let set = self.vars().get(name).cloned();
        set.or_else(|| std::env::var(name).ok())
    }

    /// Sets a variable for this job's later commands.
    ///
    /// # Errors
    ///
    /// [`Error::BadVariable`] for a name that is empty or holds `=` or NUL, or a value
    /// holding NUL: the OS cannot pass those on.
    pub(crate) fn set(&self, name: &str, value: &str) -> Result<(), Error> {
        let bad = |reason| Error::BadVariable {
            name: name.to_owned(),
            reason,
        };
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(bad("names must be non-empty, without `=` or NUL"));
        }
        if value.contains('\0') {
            return Err(bad("values cannot hold NUL"));
        }
        self.vars().insert(name.to_owned(), value.to_owned());
        Ok(())
    }

    /// The variables this job adds to the runner's environment.
    pub(crate) fn overrides(&self) -> BTreeMap<String, String> {
        self.vars().clone()
    }

    fn vars(&self) -> MutexGuard<'_, BTreeMap<String, String>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Registers `env_get(name)`, which gives `()` for an unset variable, and
/// `env_set(name, value)`.
pub(crate) fn register(engine: &mut Engine, env: &JobEnv) {
    let get_env = env.clone();
    engine.register_fn("env_get", move |name: &str| {
        get_env.get(name).map_or(Dynamic::UNIT, Dynamic::from)
    });
    let set_env = env.clone();
    engine.register_fn("env_set", move |name: &str, value: &str| {
        set_env
            .set(name, value)
            .map_err(|error| error.in_function("env_set"))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_variables_override_the_runners_and_set_overrides_both() {
        let env = JobEnv::new(&BTreeMap::from([("PATH".to_owned(), "/job".to_owned())]));
        assert_eq!(env.get("PATH").as_deref(), Some("/job"));
        env.set("PATH", "/set").expect("a valid variable");
        assert_eq!(env.get("PATH").as_deref(), Some("/set"));
        assert_ne!(std::env::var("PATH").as_deref(), Ok("/set"));
        assert_eq!(env.get("SAL_TEST_SURELY_UNSET"), None);
    }

    #[test]
    fn names_and_values_the_os_cannot_hold_are_refused() {
        let env = JobEnv::default();
        assert!(env.set("", "v").is_err());
        assert!(env.set("A=B", "v").is_err());
        assert!(env.set("A", "v\0").is_err());
        assert!(env.overrides().is_empty());
    }
}
