//! What to run, and the environment it runs in.

use std::fmt;
use std::path::PathBuf;

use crate::Error;

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
    /// The process's environment. Besides these, it gets only the [`INHERITED_ENV`]
    /// variables of this process that `env` does not set: nothing else of this process's
    /// environment, which may hold credentials, reaches it, whatever the backend.
    pub env: Vec<(String, String)>,
    /// File that receives stdout and stderr, appended to.
    pub log_path: PathBuf,
}

/// The variables a process takes from this process's environment when they are set: neutral
/// settings it may need to run at all, and where the certificate authorities it should trust
/// are (read by rustls and OpenSSL, so a runner trusts the Redis the supervisor trusts);
/// never credentials.
pub const INHERITED_ENV: [&str; 6] = [
    "PATH",
    "HOME",
    "LANG",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

impl ProcessSpec {
    /// The whole environment the process starts with: the [`INHERITED_ENV`] variables this
    /// process has and `env` does not set, then `env`.
    ///
    /// # Errors
    ///
    /// [`Error::EnvName`] for a name in `env` that is not letters, digits and `_`, not
    /// starting with a digit: the `tmux` backend sets variables through a shell.
    pub(crate) fn environment(&self) -> Result<Vec<(String, String)>, Error> {
        if let Some((name, _)) = self.env.iter().find(|(name, _)| !is_env_name(name)) {
            return Err(Error::EnvName {
                id: self.id.clone(),
                name: name.clone(),
            });
        }
        let sets = |name: &str| self.env.iter().any(|(set, _)| set == name);
        let inherited = INHERITED_ENV
            .iter()
            .filter(|name| !sets(name))
            .filter_map(|name| Some(((*name).to_owned(), std::env::var(name).ok()?)));
        Ok(inherited.chain(self.env.iter().cloned()).collect())
    }
}

/// Whether `name` is a variable name a POSIX shell accepts.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
    fn the_environment_holds_the_neutral_variables_and_the_specs_only() {
        let spec = ProcessSpec {
            id: "r".into(),
            program: "/bin/true".into(),
            args: vec![],
            env: vec![
                ("HOME".into(), "/home/runner".into()),
                ("K".into(), "v".into()),
            ],
            log_path: "/tmp/r.log".into(),
        };
        let env = spec.environment().expect("valid names");
        let names: Vec<&str> = env.iter().map(|(name, _)| name.as_str()).collect();
        assert!(names.iter().all(|name| {
            [
                "PATH",
                "HOME",
                "LANG",
                "TZ",
                "SSL_CERT_FILE",
                "SSL_CERT_DIR",
                "K",
            ]
            .contains(name)
        }));
        assert!(names.contains(&"PATH"), "the test process has a PATH");
        let home: Vec<&str> = env
            .iter()
            .filter(|(name, _)| name == "HOME")
            .map(|(_, value)| value.as_str())
            .collect();
        assert_eq!(home, ["/home/runner"], "the spec's value wins");
    }

    #[test]
    fn a_name_no_shell_accepts_is_refused() {
        for bad in ["", "1A", "A-B", "A=B", "A B", "A\nB"] {
            let spec = ProcessSpec {
                id: "r".into(),
                program: "/bin/true".into(),
                args: vec![],
                env: vec![(bad.into(), "v".into())],
                log_path: "/tmp/r.log".into(),
            };
            assert!(
                matches!(spec.environment(), Err(Error::EnvName { .. })),
                "{bad:?}"
            );
        }
    }

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
