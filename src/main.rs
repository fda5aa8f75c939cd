use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = git_orchestrate::cli::Cli::parse();
    ExitCode::from(git_orchestrate::run(cli))
}
