//! An `[[actors]]` table: a runner this supervisor starts, and how its process is run.

use std::path::PathBuf;

use serde::Deserialize;

use super::RunnerAccess;
use crate::error::ConfigError;

/// A runner the supervisor starts: an `[[actors]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActorConfig {
    /// Identifies the actor in logs and runner methods.
    pub id: String,
    /// The runner (queue) name jobs address with `runner`.
    pub name: String,
    /// The runner executable.
    pub binary_path: PathBuf,
    /// Where the runner keeps its own data. Default: `<data_dir>/db/<id>`.
    #[serde(default)]
    pub db_path: Option<PathBuf>,
    /// The Redis the runner uses. Default: the supervisor's.
    #[serde(default)]
    pub redis_url: Option<String>,
    /// `simple` (a child process) or `tmux:SESSION` (a window of that tmux session).
    /// Default `simple`.
    #[serde(default)]
    pub process_manager: ProcessManagerKind,
    /// Jobs the runner executes at once, passed as `--concurrency`. Default: the runner's
    /// own (4 for the reference runners).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Environment of the runner, e.g. `OSIS_MAX_OPERATIONS`, besides `PATH`, `HOME`, `LANG`
    /// and `TZ` (from the supervisor's environment) and what the supervisor passes it
    /// (`HERO_REDIS_URL`, `HERO_SUPERVISOR_PID`, `RUST_LOG`); nothing else of the
    /// supervisor's environment reaches it. Names are letters, digits and `_`; no value may
    /// hold a control character. Default: none.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// The least secret level that may submit jobs to this runner: `user` (the default) or
    /// `admin`, for runners with system access such as `sal_runner`.
    #[serde(default)]
    pub access: RunnerAccess,
    /// How the runner reaches the store: `redis` (`HERO_REDIS_URL` in its environment) or
    /// `supervisor` (`--supervisor unix://SOCKET`, the runner endpoint's socket, which must be
    /// on). Only runners built on the SDK take `--supervisor`. Default: `redis` when the
    /// supervisor or this actor has a `redis_url`, else `supervisor` (the embedded store is
    /// reached through the supervisor only); see [`ActorConfig::transport`].
    #[serde(default, rename = "transport")]
    pub transport_choice: Option<ActorTransport>,
}

/// How an actor reaches the store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorTransport {
    /// Straight to Redis, with the actor's or the supervisor's `redis_url`.
    #[default]
    Redis,
    /// Through this supervisor's runner endpoint socket.
    Supervisor,
}

impl ActorConfig {
    /// The transport in force: the configured one, else `redis` when a Redis is named (by
    /// the actor or, as `supervisor_redis`, by the supervisor), else `supervisor`.
    pub fn transport(&self, supervisor_redis: bool) -> ActorTransport {
        self.transport_choice
            .unwrap_or(if supervisor_redis || self.redis_url.is_some() {
                ActorTransport::Redis
            } else {
                ActorTransport::Supervisor
            })
    }

    /// Refuses what could change the meaning of a command the actor is started with (a tmux
    /// script, a shell line): control characters anywhere, and `env` names no shell accepts.
    /// `key` is the actor's, e.g. `actors.osis_runner_1`.
    pub(super) fn check_text(&self, key: &str) -> Result<(), ConfigError> {
        let path = |path: &Option<PathBuf>| path.as_ref().map(|path| path.display().to_string());
        let fields = [
            ("binary_path", Some(self.binary_path.display().to_string())),
            ("db_path", path(&self.db_path)),
            ("redis_url", self.redis_url.clone()),
        ];
        for (field, value) in fields {
            refuse_control_characters(&format!("{key}.{field}"), &value.unwrap_or_default())?;
        }
        for (name, value) in &self.env {
            let env_key = format!("{key}.env.{name}");
            let mut chars = name.chars();
            let well_formed = chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !well_formed {
                return Err(ConfigError::Invalid {
                    key: format!("{key}.env"),
                    reason: format!(
                        "{name:?} is not a variable name: letters, digits and `_`, not \
                         starting with a digit"
                    ),
                });
            }
            refuse_control_characters(&env_key, value)?;
        }
        Ok(())
    }
}

/// A value with a newline or another control character is refused, naming `key` but never
/// the value, which may hold a password.
pub(super) fn refuse_control_characters(key: &str, value: &str) -> Result<(), ConfigError> {
    if value.contains(char::is_control) {
        return Err(ConfigError::Invalid {
            key: key.to_owned(),
            reason: "must not contain control characters such as newlines".into(),
        });
    }
    Ok(())
}

/// How an actor's process is run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProcessManagerKind {
    /// A child process in its own process group.
    #[default]
    Simple,
    /// A window of the named tmux session.
    Tmux {
        /// The session, created if missing.
        session: String,
    },
}

impl<'de> Deserialize<'de> for ProcessManagerKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match text.split_once(':') {
            None if text == "simple" => Ok(Self::Simple),
            Some(("tmux", session))
                if !session.is_empty()
                    && session
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')) =>
            {
                Ok(Self::Tmux {
                    session: session.to_owned(),
                })
            }
            _ => Err(serde::de::Error::custom(format!(
                "process_manager must be \"simple\" or \"tmux:SESSION\" (letters, digits, _ and -), got {text:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::parse;

    #[test]
    fn transport_follows_the_backend_unless_one_is_asked_for() {
        let actor = "[[actors]]\nid='a'\nname='a'\nbinary_path='/bin/sh'\n";
        let default = parse(actor).unwrap();
        assert_eq!(default.actors[0].transport(true), ActorTransport::Redis);
        assert_eq!(
            default.actors[0].transport(false),
            ActorTransport::Supervisor
        );
        let own = parse(&format!("{actor}redis_url='redis://h'")).unwrap();
        assert_eq!(own.actors[0].transport(false), ActorTransport::Redis);
        let through = parse(&format!("{actor}transport='supervisor'")).unwrap();
        assert_eq!(
            through.actors[0].transport(true),
            ActorTransport::Supervisor
        );
        let redis = parse(&format!("{actor}transport='redis'")).unwrap();
        assert_eq!(redis.actors[0].transport(false), ActorTransport::Redis);
        assert!(parse(&format!("{actor}transport='http'")).is_err());
    }

    #[test]
    fn a_bad_process_manager_is_explained() {
        let err =
            parse("[[actors]]\nid='a'\nname='a'\nbinary_path='/bin/sh'\nprocess_manager='docker'")
                .unwrap_err();
        assert!(err.contains("tmux:SESSION"), "{err}");
    }

    #[test]
    fn control_characters_in_values_bound_for_a_runners_command_are_refused() {
        let binary = std::env::current_exe().unwrap();
        let actor = format!(
            "[[actors]]\nid='a'\nname='a'\nbinary_path='{}'\n",
            binary.display()
        );
        for (toml, key) in [
            ("env = { K = \"v\\nrun-shell x\" }", "actors.a.env.K"),
            ("env = { K = \"tab\\there\" }", "actors.a.env.K"),
            ("db_path = \"/tmp/d\\r\"", "actors.a.db_path"),
            ("redis_url = \"redis://h\\n\"", "actors.a.redis_url"),
        ] {
            let config = parse(&format!("{actor}{toml}")).unwrap();
            let err = config.check().unwrap_err().to_string();
            assert!(err.contains(key), "{toml}: {err}");
            assert!(err.contains("control characters"), "{toml}: {err}");
        }
        let socket = parse("tmux_socket = \"s\\n\"").unwrap();
        let err = socket.check().unwrap_err().to_string();
        assert!(err.contains("tmux_socket"), "{err}");
        let bad_name = parse(&format!("{actor}env = {{ \"A-B\" = \"v\" }}")).unwrap();
        let err = bad_name.check().unwrap_err().to_string();
        assert!(
            err.contains("actors.a.env") && err.contains("\"A-B\""),
            "{err}"
        );
        let fine = parse(&format!("{actor}env = {{ OSIS_MAX_DATA_DEPTH = \"32\" }}")).unwrap();
        fine.check().unwrap();
    }

    #[test]
    fn actors_are_open_to_users_unless_marked_admin() {
        let config = parse(
            "[[actors]]\nid='o'\nname='o'\nbinary_path='/bin/sh'\n\
             [[actors]]\nid='s'\nname='s'\nbinary_path='/bin/sh'\naccess='admin'",
        )
        .unwrap();
        assert_eq!(config.actors[0].access, RunnerAccess::User);
        assert_eq!(config.actors[1].access, RunnerAccess::Admin);
        assert!(!config.accept_unknown_runners);
        let err = parse("[[actors]]\nid='s'\nname='s'\nbinary_path='/bin/sh'\naccess='root'")
            .unwrap_err();
        assert!(err.contains("access"), "{err}");
    }
}
