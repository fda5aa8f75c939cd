//! `git orchestrate hooks install|uninstall|status`: the shims that make `git commit` and
//! `git push` gated without anyone remembering to run anything.

use std::fmt::Write as _;
use std::path::Path;

use super::Ctx;
use crate::error::Result;
use crate::hooks::{self, Action};
use crate::output::Ui;
use crate::{ops, output};

/// Manage the git hooks (pre-commit, pre-merge-commit, prepare-commit-msg, commit-msg, pre-push).
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: HooksCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum HooksCommand {
    /// Install the hooks where git runs them (`core.hooksPath` honoured). A hook already there is
    /// kept, renamed to <hook>.orchestrate-chained, and run first. Without a hook of yours,
    /// prepare-commit-msg and commit-msg are kept as <hook>.orchestrate-shim and linked in by
    /// pre-commit on feature branches only. Idempotent.
    #[command(after_help = "Examples:\n  git orchestrate hooks install\n  git orchestrate hooks install --json")]
    Install {
        #[arg(long)]
        json: bool,
    },
    /// Remove the hooks and put back exactly what was there before.
    #[command(after_help = "Examples:\n  git orchestrate hooks uninstall")]
    Uninstall {
        #[arg(long)]
        json: bool,
    },
    /// Tell, for each hook, whether git will really run it.
    #[command(after_help = "Examples:\n  git orchestrate hooks status\n  git orchestrate hooks status --json")]
    Status {
        #[arg(long)]
        json: bool,
    },
}

fn report(ui: &Ui, changes: &[hooks::Change], dir: &Path, json: bool) -> Result<()> {
    if json {
        return Ok(ui.json(&serde_json::json!({ "dir": dir, "hooks": changes }))?);
    }
    for c in changes {
        let what = match c.action {
            Action::Installed => "installed",
            Action::Updated => "up to date",
            Action::Chained => "installed; your hook was kept and runs first",
            Action::Removed => "removed",
            Action::Restored => "removed; your hook is back",
            Action::Kept => "not ours: left alone",
            Action::Absent => "not installed",
        };
        ui.status(&format!("{:<19} {what}", c.hook));
    }
    ui.status(&format!("hooks directory: {}", dir.display()));
    Ok(())
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let repo = &ctx.repo;
    match &args.command {
        HooksCommand::Install { json } => {
            let installed = ops::install_hooks(repo)?;
            super::show::warn_damage(ui, &installed.damage);
            report(ui, &installed.changes, &installed.dir, *json)
        }
        HooksCommand::Uninstall { json } => {
            let removed = ops::uninstall_hooks(repo)?;
            report(ui, &removed.changes, &removed.dir, *json)
        }
        HooksCommand::Status { json } => {
            let ops::HooksStatus { dir, hooks: status } = ops::hooks_status(repo);
            if *json {
                return Ok(ui.json(
                    &serde_json::json!({ "dir": dir.path, "core_hooks_path": dir.configured, "hooks": status }),
                )?);
            }
            let mut text = String::new();
            for s in &status {
                let state = match (s.fires, s.feature_branches_only) {
                    (true, true) => "fires on feature branches (pre-commit links it in)",
                    (true, false) => "fires",
                    (false, _) => "does not fire",
                };
                let chained = if s.chained { " (runs your previous hook first)" } else { "" };
                let _ = writeln!(text, "{:<19} {state}{chained}", s.hook);
                if let Some(p) = &s.problem {
                    let _ = writeln!(text, "{:<19} {p}", "");
                }
            }
            let _ = write!(
                text,
                "hooks directory: {}{}",
                dir.path.display(),
                dir.configured.map(|c| format!(" (core.hooksPath = {c})")).unwrap_or_default()
            );
            Ok(ui.out(&output::escape_text(&text))?)
        }
    }
}
