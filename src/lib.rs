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

/// Run a parsed command line and return the process exit code.
pub fn run(cli: cli::Cli) -> u8 {
    output::set_color(cli.color);
    match cmd::dispatch(cli) {
        Ok(()) => 0,
        Err(err) if err.kind == error::Kind::BrokenPipe => 0,
        Err(err) => {
            output::error(&err);
            err.exit_code()
        }
    }
}
