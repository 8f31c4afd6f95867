//! Where the supervisor is and which secret to call it with.
//!
//! The secret comes from `--secret`, else `HERO_SECRET`, else — only for a supervisor on this
//! machine — the admin secret the local supervisor generated under its data directory. The
//! local file is never sent to another host.

use std::path::PathBuf;

use anyhow::Context as _;
use hero_supervisor_openrpc_client::SupervisorClient;

use crate::cli::Cli;
use crate::exit::Usage;

/// What every subcommand needs: the client, the secret, the output form.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) client: SupervisorClient,
    /// `None` when no secret was given and no local secret file applies; methods that need
    /// one fail with a usage error naming where a secret may come from.
    secret: Option<String>,
    pub(crate) json: bool,
}

impl Context {
    /// The context of `cli`'s global options.
    ///
    /// # Errors
    ///
    /// An invalid URL; a local secret file that exists but cannot be read.
    pub(crate) fn new(cli: &Cli) -> anyhow::Result<Self> {
        let client = SupervisorClient::new(&cli.url)?;
        let secret = match cli.secret.as_deref().map(str::trim) {
            Some(given) if !given.is_empty() => Some(given.to_owned()),
            _ if is_local(&client) => local_secret()?,
            _ => None,
        };
        Ok(Self {
            client,
            secret,
            json: cli.json,
        })
    }

    /// The secret to call with.
    ///
    /// # Errors
    ///
    /// A [`Usage`] error when there is none.
    pub(crate) fn secret(&self) -> anyhow::Result<&str> {
        self.secret.as_deref().ok_or_else(|| {
            Usage(format!(
                "no secret: pass --secret or set HERO_SECRET (a supervisor on this machine \
                 is called with {} when it exists)",
                secret_file().display()
            ))
            .into()
        })
    }

    /// The secret, when there is one: for reads that work without it.
    pub(crate) fn secret_if_any(&self) -> Option<&str> {
        self.secret.as_deref()
    }
}

/// True when the supervisor is on this machine, so its generated secret file is its own.
fn is_local(client: &SupervisorClient) -> bool {
    let url = client.url();
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host_port = rest.split('/').next().unwrap_or_default();
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    matches!(host, "127.0.0.1" | "localhost" | "::1")
}

/// Where the local supervisor keeps its generated admin secret, as it decides it.
fn secret_file() -> PathBuf {
    let data_dir = std::env::var_os("HERO_SUPERVISOR_DATA_DIR").map_or_else(
        || {
            std::env::var_os("HOME")
                .map_or_else(|| PathBuf::from("."), PathBuf::from)
                .join(".local/share/hero-supervisor")
        },
        PathBuf::from,
    );
    data_dir.join("admin_secret")
}

fn local_secret() -> anyhow::Result<Option<String>> {
    let path = secret_file();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(url: &str) -> bool {
        is_local(&SupervisorClient::new(url).expect("a valid url"))
    }

    #[test]
    fn only_loopback_supervisors_are_local() {
        assert!(local("http://127.0.0.1:3030"));
        assert!(local("http://localhost:3030/"));
        assert!(local("https://[::1]:3030/x"));
        assert!(!local("http://10.0.0.2:3030"));
        assert!(!local("https://supervisor.example.org"));
        assert!(!local("http://127.0.0.1.example.org:3030"));
    }
}
