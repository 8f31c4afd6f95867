//! `hero`: the command-line client of Hero Supervisor.
//!
//! - `cli.rs`: the command line (clap derive): global options and the subcommands.
//! - `context.rs`: the supervisor to talk to and the secret to use (flag, environment, or the
//!   local supervisor's generated secret file).
//! - `cmd/`: one file per subcommand or group of subcommands, each thin over the Rust client.
//! - `output.rs`: human output (tables, lines) and `--json`.
//! - `exit.rs`: the exit statuses and the error that carries one.
//!
//! `main` parses the arguments, runs the command and turns its outcome into one line on
//! stderr and an exit status; nothing else.

mod cli;
mod cmd;
mod context;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    // clap exits with status 2 on a usage error, as `hero` documents.
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hero: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    match runtime.block_on(cmd::run(cli)) {
        Ok(code) => ExitCode::from(code),
        // A reader that went away (`hero jobs | head`) wanted no more: nothing to report.
        Err(error) if exit::is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hero: {}", output::inert(&exit::describe(&error)));
            ExitCode::from(exit::code_of(&error))
        }
    }
}
