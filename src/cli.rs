//! The command line: clap definitions only. Each subcommand's arguments live beside its code in
//! `cmd/`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::cmd;
use crate::output::ColorChoice;

const EXAMPLES: &str = "\
Examples:
  git orchestrate tour                       the whole loop in a throwaway repository
  git orchestrate init                       set up this repository
  git orchestrate start jwt-auth --phases 3  scaffold a plan and its branch
  git orchestrate plan lint                  check the plan, with file:line:col errors
  git orchestrate approve plan               the first pause point (a human, in a terminal)
  git orchestrate phase start next           branch off for the next phase
  git orchestrate phase brief                the hand-off message for the phase's owner
  git orchestrate approve phase              squash the phase into one commit
  git orchestrate status --json              where every feature stands, for tools and agents

Exit codes: 0 success, 1 blocked or a check failed, 2 usage or configuration error, 130 interrupted.";

/// Plan → phases → gated review → atomic commits, enforced by git itself.
///
/// A feature becomes a plan (plans/<feature>/plan.md). Its state (approvals, phases, timings)
/// lives in git notes and branches, so it survives restarts and travels with the repository.
/// Each phase runs on its own branch and lands as one commit once a human approves it.
#[derive(Debug, Parser)]
#[command(name = "git-orchestrate", bin_name = "git orchestrate", version, after_help = EXAMPLES)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// When to colour output (`NO_COLOR` is honoured by `auto`).
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Run as if started in PATH (like `git -C`).
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(cmd::init::Args),
    Start(cmd::start::Args),
    Plan(cmd::plan::Args),
    Approve(cmd::approve::Args),
    Phase(cmd::phase::Args),
    Gate(cmd::gate::Args),
    Hooks(cmd::hooks::Args),
    Doctor(cmd::doctor::Args),
    #[command(hide = true)]
    Hook(cmd::hook::Args),
    Secrets(cmd::secrets::Args),
    Coverage(cmd::coverage::Args),
    Status(cmd::status::Args),
    Log(cmd::log::Args),
    Tour(cmd::tour::Args),
    Completions(cmd::completions::Args),
    Man(cmd::completions::ManArgs),
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
