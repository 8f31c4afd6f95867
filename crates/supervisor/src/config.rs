//! The supervisor's configuration: the TOML file of the contract, or the defaults that let
//! `supervisor` with no file start on a fresh machine.

use std::path::{Path, PathBuf};

pub use hero_store::RunnerAccess;
use hero_supervisor_api::Secret;
use serde::Deserialize;

use crate::error::ConfigError;

/// Redis the default configuration uses, until the embedded store replaces it.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// Everything the supervisor reads at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Redis holding jobs and queues. Default: [`DEFAULT_REDIS_URL`].
    #[serde(default)]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key. Default `hero`.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Address the API listens on. Default `127.0.0.1`.
    #[serde(default = "default_bind_address")]
    pub bind_address: String,
    /// Port the API listens on. Default 3030.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Secrets with full access.
    #[serde(default)]
    pub admin_secrets: Vec<Secret>,
    /// Secrets for job operations.
    #[serde(default)]
    pub user_secrets: Vec<Secret>,
    /// Secrets that may only register runners.
    #[serde(default)]
    pub register_secrets: Vec<Secret>,
    /// A file of more admin secrets, one per line (blank lines and `#` comments skipped), so
    /// the config file itself can be committed without secrets.
    #[serde(default)]
    pub admin_secrets_file: Option<PathBuf>,
    /// A file of more user secrets, as `admin_secrets_file`.
    #[serde(default)]
    pub user_secrets_file: Option<PathBuf>,
    /// A file of more register secrets, as `admin_secrets_file`.
    #[serde(default)]
    pub register_secrets_file: Option<PathBuf>,
    /// Where the supervisor keeps its files (runner logs, generated secrets). Default:
    /// `$HERO_SUPERVISOR_DATA_DIR`, else `$HOME/.local/share/hero-supervisor`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// When true, `job.status` and `job.result` need a user or admin secret too.
    /// Default false: a job id (a UUID v4) is itself the capability to read the job.
    #[serde(default)]
    pub require_secret_for_reads: bool,
    /// The tmux server actors with `process_manager = "tmux:SESSION"` run in: a socket name as
    /// given to `tmux -L`. Default: the user's default tmux server.
    #[serde(default)]
    pub tmux_socket: Option<String>,
    /// When true, jobs may be submitted to runners nobody knows yet (not a configured actor,
    /// not registered, never seen claiming); they wait on their queue for a runner that
    /// appears later. Default false: such a submission is refused at once, naming the
    /// runners that are known.
    #[serde(default)]
    pub accept_unknown_runners: bool,
    /// Size and connection limits of the API.
    #[serde(default)]
    pub limits: Limits,
    /// Web origins (`https://app.example:8443`, or `*` for any) whose pages may call the API
    /// from a browser. Default: none, so only pages the supervisor itself serves can.
    #[serde(default)]
    pub cors_allowed_origins: Vec<String>,
    /// Serve the API over TLS (https and wss) with this certificate. Default: none, plain
    /// HTTP, as behind a TLS-terminating proxy.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Runners the supervisor starts and supervises.
    #[serde(default)]
    pub actors: Vec<ActorConfig>,
}

/// Limits on what clients may send; every one has a default fit for a single host.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body in bytes. Default 2 MiB: a maximal payload plus its envelope.
    pub max_request_bytes: u32,
    /// Largest response body in bytes. Default 256 MiB, enough for `jobs.list` of ~500k jobs.
    pub max_response_bytes: u32,
    /// Most calls that wait for a job (`job.run`, `job.result`) at once, and the open
    /// connections they may hold. Default 1024. A wait past it is refused at once (`-32009`).
    pub max_connections: u32,
    /// Connections accepted beyond `max_connections`, which waiting calls cannot take, so other
    /// calls (an admin's `list_runners`, a `job.stop`) are answered even while every wait is
    /// pending. Default 64.
    pub reserved_connections: u32,
    /// Most calls in one batch. Default 100.
    pub max_batch_len: u32,
    /// Largest job payload in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Most log lines `get_runner_logs` returns, and `runner_logs.subscribe` sends first.
    /// Default 10,000; asking for more gives this many.
    pub max_log_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 2 << 20,
            max_response_bytes: 256 << 20,
            max_connections: 1024,
            reserved_connections: 64,
            max_batch_len: 100,
            max_payload_bytes: hero_job::Limits::default().max_payload_bytes,
            max_log_lines: 10_000,
        }
    }
}

/// The `[tls]` table: the certificate and key the API is served with.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM file of the certificate chain, the server's own certificate first.
    pub cert_path: PathBuf,
    /// PEM file of the certificate's private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key_path: PathBuf,
}

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
}

impl ActorConfig {
    /// Refuses what could change the meaning of a command the actor is started with (a tmux
    /// script, a shell line): control characters anywhere, and `env` names no shell accepts.
    /// `key` is the actor's, e.g. `actors.osis_runner_1`.
    fn check_text(&self, key: &str) -> Result<(), ConfigError> {
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
fn refuse_control_characters(key: &str, value: &str) -> Result<(), ConfigError> {
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

/// Writes `contents` to a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    // `mode` applies only to a file this call creates; one that existed (empty) keeps its
    // own, so it is narrowed before the secret is written into it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(contents.as_bytes())
}

/// True when users other than the owner (its group, or everyone) may read `path`.
fn others_can_read(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o044 != 0)
}

/// serde's `invalid type: string "VALUE", expected …` with the value left out.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((found, expected)) = rest.split_once(", expected ")
        {
            let kind = found.split_whitespace().next().unwrap_or("value");
            return format!("{prefix}{kind}, expected {expected}");
        }
    }
    message.to_owned()
}

/// `message` prefixed with the line of byte `offset` and the key assigned on that line.
/// Only the key is quoted, never the value: it may be a secret.
fn describe_at(text: &str, offset: usize, message: &str) -> String {
    let message = without_value(message);
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text[start..].lines().next().unwrap_or_default();
    // Only a bare key is quoted: on a continuation line of an array, the text before `=`
    // may be a secret.
    let is_bare_key = |key: &str| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    };
    match line.split_once('=') {
        Some((key, _)) if is_bare_key(key.trim()) => {
            format!("line {line_no}, key `{}`: {message}", key.trim())
        }
        _ => format!("line {line_no}: {message}"),
    }
}

fn default_namespace() -> String {
    "hero".into()
}

fn default_bind_address() -> String {
    "127.0.0.1".into()
}

fn default_port() -> u16 {
    3030
}

impl Config {
    /// Reads and checks the TOML file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not valid TOML, has an unknown key or a wrong type
    /// (named with its line), names an actor binary that does not exist, or a TLS
    /// certificate or key that cannot be used.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            reason: match e.span() {
                Some(span) => describe_at(&text, span.start, e.message()),
                None => e.message().to_owned(),
            },
        })?;
        config.check().map_err(|e| match e {
            ConfigError::Invalid { key, reason } => ConfigError::Parse {
                path: path.to_owned(),
                reason: format!("key `{key}`: {reason}"),
            },
            other => other,
        })?;
        Ok(config)
    }

    /// The configuration used when no file is given: the local Redis, one `osis_runner`
    /// actor named `osis_runner_1` found next to the supervisor's own executable.
    pub fn default_local() -> Self {
        // Without its own path (a deleted executable), the binary is looked up relative to
        // the working directory; `check` then names the path that does not exist.
        let binary_dir = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
            .unwrap_or_default();
        Self {
            redis_url: None,
            namespace: default_namespace(),
            bind_address: default_bind_address(),
            port: default_port(),
            admin_secrets: Vec::new(),
            user_secrets: Vec::new(),
            register_secrets: Vec::new(),
            admin_secrets_file: None,
            user_secrets_file: None,
            register_secrets_file: None,
            data_dir: None,
            require_secret_for_reads: false,
            accept_unknown_runners: false,
            tmux_socket: None,
            limits: Limits::default(),
            cors_allowed_origins: Vec::new(),
            tls: None,
            actors: vec![ActorConfig {
                id: "osis_runner_1".into(),
                name: "osis_runner_1".into(),
                binary_path: binary_dir.join("osis_runner"),
                db_path: None,
                redis_url: None,
                process_manager: ProcessManagerKind::Simple,
                concurrency: None,
                env: Default::default(),
                access: RunnerAccess::User,
            }],
        }
    }

    /// Checks what TOML types cannot: names, duplicates, binaries that exist, a TLS
    /// certificate and key that can be read and belong together.
    ///
    /// # Errors
    ///
    /// The first problem found, naming the key.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, reason: String| ConfigError::Invalid {
            key: key.to_owned(),
            reason,
        };
        // `:` separates the namespace from the rest of every key, so `a:b` would share keys
        // with namespace `a`.
        if self.namespace.is_empty()
            || self.namespace.contains(char::is_whitespace)
            || self.namespace.contains(':')
        {
            return Err(invalid(
                "namespace",
                "must be non-empty, without spaces or `:`".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for actor in &self.actors {
            let key = format!("actors.{}", actor.id);
            for (field, value) in [("id", &actor.id), ("name", &actor.name)] {
                let well_formed = !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !well_formed {
                    return Err(invalid(
                        &format!("{key}.{field}"),
                        format!("{value:?} must be letters, digits, `_`, `-` or `.`"),
                    ));
                }
            }
            if !seen.insert(actor.id.clone()) {
                return Err(invalid(&key, "two actors share this id".into()));
            }
            actor.check_text(&key)?;
            if !actor.binary_path.is_file() {
                return Err(invalid(
                    &format!("{key}.binary_path"),
                    format!("`{}` is not an existing file", actor.binary_path.display()),
                ));
            }
        }
        let top_level = [
            ("namespace", Some(self.namespace.as_str())),
            ("redis_url", self.redis_url.as_deref()),
            ("tmux_socket", self.tmux_socket.as_deref()),
        ];
        for (key, value) in top_level {
            refuse_control_characters(key, value.unwrap_or_default())?;
        }
        if let Some(tls) = &self.tls {
            crate::tls::server_config(tls)?;
        }
        for origin in &self.cors_allowed_origins {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let well_formed = origin == "*"
                || host.is_some_and(|host| {
                    // Browsers send origins in lower case; another spelling would never match.
                    !host.is_empty()
                        && !host.contains(['/', ' ', '\t'])
                        && *origin == origin.to_ascii_lowercase()
                        && http::HeaderValue::from_str(origin).is_ok()
                });
            if !well_formed {
                return Err(invalid(
                    "cors_allowed_origins",
                    format!(
                        "{origin:?} is not `*` or an origin such as `https://app.example:8443`"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Adds the secrets of the `*_secrets_file` files and of the environment variables
    /// `HERO_ADMIN_SECRETS`, `HERO_USER_SECRETS` and `HERO_REGISTER_SECRETS` (comma-separated)
    /// to the configured lists.
    ///
    /// # Errors
    ///
    /// A secrets file cannot be read; the error names the file, never its contents.
    pub fn load_secrets(&mut self) -> Result<(), ConfigError> {
        for (file, env, list) in [
            (
                &self.admin_secrets_file,
                "HERO_ADMIN_SECRETS",
                &mut self.admin_secrets,
            ),
            (
                &self.user_secrets_file,
                "HERO_USER_SECRETS",
                &mut self.user_secrets,
            ),
            (
                &self.register_secrets_file,
                "HERO_REGISTER_SECRETS",
                &mut self.register_secrets,
            ),
        ] {
            if let Some(path) = file {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
                        path: path.clone(),
                        source,
                    })?;
                if others_can_read(path) {
                    tracing::warn!(
                        file = %path.display(),
                        "secrets file is readable by other users; `chmod 600` it"
                    );
                }
                list.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with('#'))
                        .map(Secret::new),
                );
            }
            if let Ok(values) = std::env::var(env) {
                list.extend(
                    values
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(Secret::new),
                );
            }
        }
        Ok(())
    }

    /// Makes sure the supervisor never serves unauthenticated: with no admin or user secret
    /// configured, uses the admin secret kept in `<data_dir>/admin_secret`, generating it
    /// (mode 0600) on first start. Returns that file's path when it was used.
    ///
    /// # Errors
    ///
    /// The data directory or the secret file cannot be created or read.
    pub fn ensure_admin_secret(&mut self) -> Result<Option<PathBuf>, ConfigError> {
        if !self.admin_secrets.is_empty() || !self.user_secrets.is_empty() {
            return Ok(None);
        }
        let path = self.data_dir().join("admin_secret");
        let io_error = |source| ConfigError::SecretFile {
            path: path.clone(),
            source,
        };
        let kept = match std::fs::read_to_string(&path) {
            Ok(text) => {
                // The file is ours: one loosened by hand (or by an older version) is
                // tightened rather than left for other users to read.
                if others_can_read(&path) {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                        .map_err(io_error)?;
                    tracing::warn!(
                        file = %path.display(),
                        "admin secret file was readable by other users; made it 0600"
                    );
                }
                text.trim().to_owned()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io_error(e)),
        };
        let secret = if kept.is_empty() {
            let fresh = uuid::Uuid::new_v4().simple().to_string();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io_error)?;
            }
            write_private(&path, &fresh).map_err(io_error)?;
            fresh
        } else {
            kept
        };
        self.admin_secrets.push(Secret::new(secret));
        Ok(Some(path))
    }

    /// The Redis URL in force.
    pub fn redis_url(&self) -> &str {
        self.redis_url.as_deref().unwrap_or(DEFAULT_REDIS_URL)
    }

    /// The data directory in force.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir {
            return dir.clone();
        }
        if let Some(dir) = std::env::var_os("HERO_SUPERVISOR_DATA_DIR") {
            return PathBuf::from(dir);
        }
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        home.join(".local/share/hero-supervisor")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        toml::from_str::<Config>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn the_seed_example_parses() {
        let config = parse(
            r#"
redis_url = "redis://localhost:6379"
namespace = "hero"
bind_address = "127.0.0.1"
port = 3030
admin_secrets = ["admin-secret-123"]
user_secrets = ["user-secret-456"]
register_secrets = ["register-secret-789"]
[[actors]]
id = "sal_runner_1"
name = "sal_runner_1"
binary_path = "/path/to/sal_runner"
db_path = "/tmp/sal_db"
redis_url = "redis://localhost:6379"
process_manager = "simple"
[[actors]]
id = "osis_runner_1"
name = "osis_runner_1"
binary_path = "/path/to/osis_runner"
db_path = "/tmp/osis_db"
redis_url = "redis://localhost:6379"
process_manager = "tmux:osis_session"
"#,
        )
        .unwrap();
        assert_eq!(config.actors.len(), 2);
        assert_eq!(
            config.actors[1].process_manager,
            ProcessManagerKind::Tmux {
                session: "osis_session".into()
            }
        );
        assert!(config.admin_secrets[0].matches(&Secret::new("admin-secret-123")));
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = parse("prot = 3030").unwrap_err();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn wrong_types_are_named() {
        let err = parse("port = \"high\"").unwrap_err();
        assert!(err.contains("port"), "{err}");
    }

    #[test]
    fn load_names_the_line_and_key_but_never_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "port = 1\nadmin_secrets = \"hunter2\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("line 2, key `admin_secrets`"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
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
    fn a_missing_binary_names_the_actor_and_path() {
        let config = parse("[[actors]]\nid='a'\nname='a'\nbinary_path='/no/such/runner'").unwrap();
        let err = config.check().unwrap_err().to_string();
        assert!(err.contains("actors.a.binary_path"), "{err}");
        assert!(err.contains("/no/such/runner"), "{err}");
    }

    #[test]
    fn a_generated_admin_secret_is_kept_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().join("data"));
        let path = config.ensure_admin_secret().unwrap().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut again = Config::default_local();
        again.data_dir = config.data_dir.clone();
        again.ensure_admin_secret().unwrap();
        assert!(again.admin_secrets[0].matches(&config.admin_secrets[0]));
        let mut configured = Config::default_local();
        configured.user_secrets = vec!["u".into()];
        assert_eq!(configured.ensure_admin_secret().unwrap(), None);
    }

    #[test]
    fn a_loosened_admin_secret_file_is_made_private_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().to_owned());
        let path = config.ensure_admin_secret().unwrap().unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(others_can_read(&path));
        let mut again = Config::default_local();
        again.data_dir = config.data_dir.clone();
        again.ensure_admin_secret().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_secret_is_never_written_into_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("admin_secret");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut config = Config::default_local();
        config.data_dir = Some(dir.path().to_owned());
        config.ensure_admin_secret().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!std::fs::read_to_string(&path).unwrap().is_empty());
    }

    #[test]
    fn a_secrets_file_readable_by_others_is_noticed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("admins");
        std::fs::write(&file, "s3cret-admin\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(others_can_read(&file));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(!others_can_read(&file));
    }

    #[test]
    fn a_namespace_with_a_colon_is_refused_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "namespace = \"a:b\"\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("key `namespace`"), "{err}");
        assert!(err.contains(':'), "{err}");
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

    #[test]
    fn secrets_come_from_files_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users");
        std::fs::write(&file, "# rotated 2026-11\nfirst\n\n  second  \n").unwrap();
        let mut config = Config::default_local();
        config.user_secrets_file = Some(file);
        config.load_secrets().unwrap();
        let users: Vec<&str> = config.user_secrets.iter().map(Secret::expose).collect();
        assert_eq!(users, ["first", "second"]);
        config.admin_secrets_file = Some(dir.path().join("missing"));
        let err = config.load_secrets().unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
    }

    #[test]
    fn the_tls_table_takes_a_certificate_and_a_key_and_nothing_else() {
        let config = parse("[tls]\ncert_path = '/c.pem'\nkey_path = '/k.pem'").unwrap();
        let tls = config.tls.unwrap();
        assert_eq!(tls.cert_path, Path::new("/c.pem"));
        assert_eq!(tls.key_path, Path::new("/k.pem"));
        let err =
            parse("[tls]\ncert_path = '/c.pem'\nkey_path = '/k.pem'\nca = '/ca.pem'").unwrap_err();
        assert!(err.contains("ca"), "{err}");
        let err = parse("[tls]\ncert_path = '/c.pem'").unwrap_err();
        assert!(err.contains("key_path"), "{err}");
        assert!(parse("").unwrap().tls.is_none());
    }

    #[test]
    fn a_missing_certificate_names_the_key_and_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[tls]\ncert_path = '/no/such/cert.pem'\nkey_path = '/no/such/key.pem'\n",
        )
        .unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert!(err.contains("key `tls.cert_path`"), "{err}");
        assert!(err.contains("/no/such/cert.pem"), "{err}");
    }

    #[test]
    fn cors_origins_must_be_origins() {
        let mut config = parse("cors_allowed_origins = ['https://app.example:8443', '*']").unwrap();
        config.actors.clear();
        config.check().unwrap();
        for bad in [
            "app.example",
            "https://app.example/",
            "https://a b",
            "",
            "https://",
            "https://App.example",
        ] {
            config.cors_allowed_origins = vec![bad.to_owned()];
            let err = config.check().unwrap_err().to_string();
            assert!(err.contains("cors_allowed_origins"), "{bad}: {err}");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = parse("admin_secrets = [\"hunter2\"]").unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
