//! `git orchestrate sync [remote]`: share the state with a remote.

use std::fmt::Write as _;

use super::Ctx;
use crate::error::{Error, Result};
use crate::git::remote::{NotesMerge, Pushed};
use crate::ops::sync::{self, BranchAction};
use crate::output::{self, Ui};

/// Share the orchestration state with a remote: fetch its notes, merge them with yours by union,
/// push back without force (retrying when the remote moved meanwhile), and bring or send the
/// features' branches.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  git orchestrate sync                 with the remote of [sync] remote (origin by default)
  git orchestrate sync upstream
  git orchestrate sync --no-branches   the notes only
  git orchestrate sync --json

In a fresh clone, `git orchestrate sync` brings the whole state: every feature's events,
evidence and branches. Nothing is ever force-pushed: a branch that diverged is reported.")]
pub struct Args {
    /// The remote (default: [sync] remote in .orchestrate.toml, else origin).
    pub remote: Option<String>,
    /// Only the notes; leave the features' branches alone.
    #[arg(long)]
    pub no_branches: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let req = sync::SyncRequest { remote: args.remote.as_deref(), no_branches: args.no_branches };
    let report = sync::sync_requested(&ctx.repo, &ctx.config, &req)?;
    let remote = &report.remote;
    let incomplete = report.incomplete();
    if args.json {
        ui.json(&report)?;
    } else {
        let e = output::escape;
        let mut text = String::new();
        for n in &report.notes {
            let merged = match n.merged {
                NotesMerge::UpToDate => "had everything",
                NotesMerge::FastForward => "fast-forwarded",
                NotesMerge::Merged => "merged by union",
                NotesMerge::NotACommit => "the remote's ref is not a commit: left out",
            };
            let pushed = match &n.pushed {
                Some(Pushed::Updated) => "pushed".to_string(),
                Some(Pushed::UpToDate) | None => "remote up to date".to_string(),
                Some(Pushed::Rejected(why)) => format!("push rejected: {}", e(why)),
            };
            let _ = writeln!(text, "{}: {merged}; {pushed}", e(&n.notes_ref));
        }
        for b in &report.branches {
            let what = match &b.action {
                BranchAction::UpToDate => "up to date".to_string(),
                BranchAction::Created => format!("created from {}", e(&report.remote)),
                BranchAction::FastForwarded => format!("fast-forwarded to {}'s", e(&report.remote)),
                BranchAction::Pushed => "pushed".to_string(),
                BranchAction::BehindCheckedOut => "behind, and checked out: git pull --ff-only".to_string(),
                BranchAction::Diverged => "diverged: merge or rebase it by hand (never forced)".to_string(),
                BranchAction::Rejected(why) => format!("push rejected: {}", e(why)),
                BranchAction::NotACommit => format!("{}'s copy is not a commit: left alone", e(&report.remote)),
            };
            let _ = writeln!(text, "{}: {what}", e(&b.branch));
        }
        if report.rounds > 1 {
            let _ = writeln!(text, "the remote moved meanwhile: {} rounds of fetch, merge and push", report.rounds);
        }
        if let Some(why) = &report.branches_refused {
            let _ = writeln!(text, "branches not pushed: {}", output::escape_text(why));
        }
        if text.is_empty() {
            text = format!("nothing to share with {}", e(remote));
        }
        ui.out(text.trim_end())?;
    }
    if incomplete {
        return Err(Error::blocked(format!(
            "sync with {remote} left something undone: {}",
            sync::incomplete_reason(&report)
        ))
        .hint("resolve what is named above, then run `git orchestrate sync` again"));
    }
    Ok(())
}
