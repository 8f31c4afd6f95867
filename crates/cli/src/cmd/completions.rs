//! `hero completions SHELL`: a completion script generated from the command line itself.

use clap::CommandFactory as _;
use clap_complete::Shell;

use crate::cli::Cli;

/// Arguments of `hero completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

/// Prints the script for `args.shell` on stdout.
pub(crate) fn run(args: &Args) -> anyhow::Result<u8> {
    clap_complete::generate(
        args.shell,
        &mut Cli::command(),
        "hero",
        &mut std::io::stdout(),
    );
    Ok(crate::exit::SUCCESS)
}
