//! The command line: clap definitions, and a hand-read fast path for the hook shims. Each
//! subcommand's arguments live beside its code in `cmd/`.

use std::ffi::OsString;
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

impl Cli {
    /// The command line of this process. The shims' own form, `hook [--seen <what>] <hook>
    /// [<arg>…]`, is read by hand: building clap's whole command tree costs 0.25 to 0.4 ms,
    /// a quarter of a bare `sh` hook, on every gated commit. Anything else goes to clap.
    pub fn from_env() -> Self {
        let args: Vec<OsString> = std::env::args_os().collect();
        Self::from_shim(&args).unwrap_or_else(|| Self::parse_from(args))
    }

    /// `args` (program name first) when they are exactly what a shim passes.
    pub fn from_shim(args: &[OsString]) -> Option<Self> {
        let mut rest = args.get(1..)?;
        if rest.first()? != "hook" {
            return None;
        }
        rest = &rest[1..];
        let mut seen = cmd::hook::Seen::None;
        if rest.first()? == "--seen" {
            seen = match rest.get(1)?.to_str()? {
                "none" => cmd::hook::Seen::None,
                "chained" => cmd::hook::Seen::Chained,
                "feature-prefix" => cmd::hook::Seen::FeaturePrefix,
                _ => return None,
            };
            rest = &rest[2..];
        }
        let hook = rest.first()?.to_str()?;
        if !crate::hooks::HOOKS.contains(&hook) {
            return None;
        }
        let args = rest[1..].to_vec();
        Some(Cli {
            color: ColorChoice::default(),
            dir: None,
            command: Command::Hook(cmd::hook::Args { seen, hook: hook.into(), args }),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(cmd::init::Args),
    Start(cmd::start::Args),
    Plan(cmd::plan::Args),
    Approve(cmd::approve::Args),
    Phase(cmd::phase::Args),
    Gate(cmd::gate::Args),
    Trust(cmd::trust::Args),
    Review(cmd::review::Args),
    Finish(cmd::finish::Args),
    Hooks(cmd::hooks::Args),
    Doctor(cmd::doctor::Args),
    #[command(hide = true)]
    Hook(cmd::hook::Args),
    Secrets(cmd::secrets::Args),
    Coverage(cmd::coverage::Args),
    Status(cmd::status::Args),
    Sync(cmd::sync::Args),
    Verify(cmd::verify::Args),
    Log(cmd::log::Args),
    Tour(cmd::tour::Args),
    Completions(cmd::completions::Args),
    Man(cmd::completions::ManArgs),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    fn argv(words: &[&str]) -> Vec<OsString> {
        std::iter::once("git-orchestrate").chain(words.iter().copied()).map(OsString::from).collect()
    }

    #[test]
    fn the_shims_form_reads_as_clap_reads_it() {
        for words in [
            &["hook", "--seen", "feature-prefix", "pre-commit"][..],
            &["hook", "--seen", "chained", "commit-msg", ".git/COMMIT_EDITMSG"],
            &["hook", "--seen", "none", "prepare-commit-msg", "msg", "message"],
            &["hook", "pre-push", "origin", "https://example.com/r.git"],
            &["hook", "--seen", "none", "commit-msg", "--weird", "-x"],
        ] {
            let fast = Cli::from_shim(&argv(words)).expect("read by hand");
            let clap = Cli::try_parse_from(argv(words)).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{clap:?}"), "{words:?}");
        }
    }

    #[test]
    fn anything_else_goes_to_clap() {
        for words in [
            &[][..],
            &["status"],
            &["hook"],
            &["hook", "--help"],
            &["hook", "--seen", "maybe", "pre-commit"],
            &["hook", "post-checkout"],
            &["--color", "never", "hook", "pre-commit"],
            &["-C", "elsewhere", "hook", "pre-commit"],
        ] {
            assert!(Cli::from_shim(&argv(words)).is_none(), "{words:?}");
        }
    }
}
