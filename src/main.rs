use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = git_orchestrate::cli::Cli::from_env();
    ExitCode::from(git_orchestrate::run(cli))
}
