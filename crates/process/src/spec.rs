//! What to run.

use std::fmt;
use std::path::PathBuf;

/// A process to start: its program, arguments, environment and log file.
///
/// `Debug` shows the environment's names only: its values may hold credentials, such as a
/// Redis URL with a password.
#[derive(Clone, PartialEq, Eq)]
pub struct ProcessSpec {
    /// Identifies the process in logs and errors.
    pub id: String,
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables, on top of the supervisor's own.
    pub env: Vec<(String, String)>,
    /// File that receives stdout and stderr, appended to.
    pub log_path: PathBuf,
}

impl fmt::Debug for ProcessSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env_names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("ProcessSpec")
            .field("id", &self.id)
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &env_names)
            .field("log_path", &self.log_path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_environment_values() {
        let spec = ProcessSpec {
            id: "r".into(),
            program: "/bin/true".into(),
            args: vec![],
            env: vec![("HERO_REDIS_URL".into(), "redis://:hunter2@h".into())],
            log_path: "/tmp/r.log".into(),
        };
        let shown = format!("{spec:?}");
        assert!(shown.contains("HERO_REDIS_URL"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
