//! `git orchestrate completions <shell>` and `git orchestrate man`: generated from the clap
//! definitions, so they never drift from the real command line.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::Result;

/// Print a shell completion script.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate completions bash > ~/.local/share/bash-completion/completions/git-orchestrate\n  git orchestrate completions zsh > ~/.zfunc/_git-orchestrate"
)]
pub struct Args {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// Print the man page (roff) on stdout; `install.sh` installs it so `git orchestrate --help` works.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  git orchestrate man | man -l -")]
pub struct ManArgs {}

pub fn run(args: &Args) -> Result<()> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "git-orchestrate", &mut out);
    Ok(crate::output::out(&String::from_utf8_lossy(&out))?)
}

pub fn man(_: &ManArgs) -> Result<()> {
    let cmd = Cli::command().name("git-orchestrate");
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(crate::output::out(&String::from_utf8_lossy(&out))?)
}
