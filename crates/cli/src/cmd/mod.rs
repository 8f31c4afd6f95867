//! One file per subcommand or group; this enum match only dispatches.

pub(crate) mod completions;
pub(crate) mod info;
pub(crate) mod job;
pub(crate) mod jobs;
pub(crate) mod run;
pub(crate) mod runners;
pub(crate) mod secret;
pub(crate) mod submit;
pub(crate) mod watch;

use anyhow::Context as _;

use crate::cli::{Cli, Command};
use crate::context::Context;

/// Runs the subcommand of `cli`; returns the exit status it calls for.
///
/// # Errors
///
/// Whatever failed, for `main` to print and map to an exit status.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<u8> {
    // Completion scripts need no supervisor: a bad URL or secret file must not stop them.
    if let Command::Completions(args) = &cli.command {
        return completions::run(args);
    }
    let ctx = Context::new(&cli)?;
    dispatch(&ctx, cli.command).await
}

async fn dispatch(ctx: &Context, command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Run(args) => run::run(ctx, args).await,
        Command::Submit(args) => submit::run(ctx, args).await,
        Command::Jobs(args) => jobs::run(ctx, args).await,
        Command::Status(id) => job::status(ctx, &id).await.context(id),
        Command::Result(id) => job::result(ctx, &id).await.context(id),
        Command::Wait(id) => job::wait(ctx, &id).await.context(id),
        Command::Stop(id) => job::stop(ctx, &id).await.context(id),
        Command::Delete(id) => job::delete(ctx, &id).await.context(id),
        Command::Retry(id) => job::retry(ctx, &id).await.context(id),
        Command::Runners => runners::list(ctx).await,
        Command::Runner(command) => runners::run(ctx, command).await,
        Command::Secret(command) => secret::run(ctx, command).await,
        Command::Info => info::run(ctx).await,
        Command::Watch(args) => watch::run(ctx, args).await,
        Command::Completions(args) => completions::run(&args),
    }
}
