//! The command line: global options and one subcommand each, their arguments declared in
//! the subcommand's own file under `cmd/`.

use clap::{Parser, Subcommand};

use crate::cmd::{completions, job, jobs, run, runners, secret, submit, watch};

/// Command-line client of Hero Supervisor: run and submit jobs, follow them, manage runners
/// and secrets.
///
/// Exit status: 0 success, 1 the job failed (or the supervisor answered another error),
/// 2 usage, 3 the supervisor is unreachable or refused the call.
#[derive(Debug, Parser)]
#[command(name = "hero", version, propagate_version = true)]
pub(crate) struct Cli {
    /// The supervisor's URL.
    #[arg(
        long,
        global = true,
        env = "HERO_URL",
        default_value = "http://127.0.0.1:3030"
    )]
    pub(crate) url: String,
    /// The secret to call with. Without it (and without HERO_SECRET), a supervisor on this
    /// machine (127.0.0.1, localhost, ::1) is called with the admin secret it generated, read
    /// from $HERO_SUPERVISOR_DATA_DIR/admin_secret or
    /// ~/.local/share/hero-supervisor/admin_secret. Prefer HERO_SECRET: other users can read
    /// a process's arguments.
    #[arg(long, global = true, env = "HERO_SECRET", hide_env_values = true)]
    pub(crate) secret: Option<String>,
    /// Machine-readable output on stdout: one JSON document, or one JSON value per line for
    /// streams (`watch`, `runner logs -f`).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a job and wait for its result (`job.run`).
    Run(run::Args),
    /// Submit the jobs of a JSON Lines file, one job per line (`jobs.create_many`).
    Submit(submit::Args),
    /// List jobs, newest first (`jobs.list`).
    Jobs(jobs::Args),
    /// Show a job's status (`job.status`).
    Status(job::Id),
    /// Show a finished job's result, without waiting (`job.status`, `job.result`).
    Result(job::Id),
    /// Wait until a job is finished and show its result (`job.result`).
    Wait(job::Id),
    /// Stop a job (`job.stop`).
    Stop(job::Id),
    /// Delete a job and its result (`job.delete`).
    Delete(job::Id),
    /// Queue a failed or stopped job again (`job.retry`).
    Retry(job::Id),
    /// List the runners (`list_runners`).
    Runners,
    /// Start, stop, inspect a runner or read its logs.
    #[command(subcommand)]
    Runner(runners::Command),
    /// Grant or revoke a secret.
    #[command(subcommand)]
    Secret(secret::Command),
    /// Show the supervisor's version, backend, uptime and counts (`get_supervisor_info`).
    Info,
    /// Follow jobs as they change, with the runners' queue lengths (`jobs.subscribe`).
    Watch(watch::Args),
    /// Print a shell completion script.
    Completions(completions::Args),
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
