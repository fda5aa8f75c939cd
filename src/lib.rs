//! git-orchestrate: plan → phases → gated review → atomic commits, with the state in git.
//!
//! `main.rs` parses arguments and calls [`run`]; everything else lives here. See ARCHITECTURE.md
//! for the map.

pub mod cli;
pub mod cmd;
pub mod commitmsg;
pub mod config;
pub mod coverage;
pub mod env;
pub mod error;
pub mod gates;
pub mod git;
pub mod hooks;
pub mod ops;
pub mod output;
pub mod plan;
pub mod render;
pub mod secrets;
pub mod state;
pub mod trust;
pub mod workflow;

/// Run a parsed command line on the terminal and return the process exit code.
pub fn run(cli: cli::Cli) -> u8 {
    let ui = output::Ui::terminal(cli.color);
    run_with(&ui, cli)
}

/// Run a parsed command line through `ui` (the terminal, or a captured one) and return the exit
/// code it would give; its error is printed through `ui`.
pub fn run_with(ui: &output::Ui, cli: cli::Cli) -> u8 {
    ui.exit_code(cmd::dispatch(ui, cli))
}
