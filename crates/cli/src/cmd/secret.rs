//! `hero secret add|remove TYPE VALUE`: grant or revoke a secret (admin secret).
//!
//! The value is never printed; `-` reads it from stdin, which keeps it out of the process list.

use std::io::Read as _;

use anyhow::Context as _;
use serde_json::json;

use crate::context::Context;
use crate::exit;
use crate::output;

/// `hero secret …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Grant a secret a level, on every supervisor sharing the store (`add_secret`).
    Add(Change),
    /// Revoke a secret's level everywhere (`remove_secret`).
    Remove(Change),
}

/// The level and the secret.
#[derive(Debug, clap::Args)]
pub(crate) struct Change {
    /// The level: admin, user or register.
    #[arg(value_parser = ["admin", "user", "register"])]
    secret_type: String,
    /// The secret (8 to 256 bytes); `-` reads it from stdin.
    #[arg(hide_default_value = true)]
    value: String,
}

/// Adds or removes the secret; says which level changed, never the value.
pub(crate) async fn run(ctx: &Context, command: Command) -> anyhow::Result<u8> {
    let admin = ctx.secret()?;
    let (change, what) = match command {
        Command::Add(change) => {
            let value = value(&change)?;
            ctx.client
                .add_secret(admin, &change.secret_type, &value)
                .await?;
            (change, "added")
        }
        Command::Remove(change) => {
            let value = value(&change)?;
            ctx.client
                .remove_secret(admin, &change.secret_type, &value)
                .await?;
            (change, "removed")
        }
    };
    if ctx.json {
        output::json(&json!({"secret_type": change.secret_type, "ok": true}))?;
    } else {
        output::line(&format!("{what} a {} secret", change.secret_type))?;
    }
    Ok(exit::SUCCESS)
}

fn value(change: &Change) -> anyhow::Result<String> {
    if change.value != "-" {
        return Ok(change.value.clone());
    }
    let mut value = String::new();
    std::io::stdin()
        .read_to_string(&mut value)
        .context("cannot read the secret from stdin")?;
    Ok(value.trim().to_owned())
}
