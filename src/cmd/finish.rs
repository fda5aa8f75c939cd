//! `git orchestrate finish`: the final pause point. First run: the final gates on the
//! integration tip (the base merged in when it moved) and `complete.md`; then a person approves
//! (`approve finish`); then `finish` merges exactly what was approved into the base.

use super::Ctx;
use crate::error::Result;
use crate::ops::finish::{Finish, FinishRequest, Strategy};
use crate::output::{self, Ui};

/// Finish a feature: final gates, complete.md, the finish approval, the merge into the base.
///
/// Run it once to gate the integration tip and write plans/<feature>/complete.md; a person then
/// approves with `git orchestrate approve finish`; run it again to merge. A base that moved is
/// merged in first (conflicts are reported, never forced). A merge you made by hand is recognised
/// and recorded after the gates and the approval.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate finish\n  git orchestrate approve finish\n  git orchestrate finish --strategy squash --feature jwt-auth"
)]
pub struct Args {
    /// How the feature lands on its base.
    #[arg(long, value_enum, default_value_t = Strategy::Merge)]
    pub strategy: Strategy,
    /// The feature (default: the one whose branch is checked out, else the one waiting to
    /// finish).
    #[arg(long)]
    pub feature: Option<String>,
    /// Once complete.md is written: push the integration branch and open a pull request
    /// against the base with complete.md as its body (through `gh` when it is on PATH; else the
    /// body file and the command are given).
    #[arg(long)]
    pub pr: bool,
    /// The remote for --pr.
    #[arg(long, default_value = "origin", requires = "pr")]
    pub remote: String,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let flow = ctx.workflow();
    let name = ctx.workflow().finishing_feature(args.feature.as_deref())?;
    let loaded = flow.load(&name)?;
    let mut progress = ui.progress();
    let req =
        FinishRequest { strategy: args.strategy, pr: args.pr, remote: &args.remote, trust: false, forge: !args.json };
    let done = crate::ops::finish::finish(&ctx.repo, &loaded, &req, &mut super::gate_progress(&mut progress));
    progress.clear();
    let done = done?;
    if args.json {
        return Ok(ui.json(&done.finish)?);
    }
    for report in &done.gates {
        super::show::gate(ui, report, false, true)?;
    }
    let e = output::escape;
    match &done.finish {
        Finish::AwaitingApproval { tip, complete, base_merged } => {
            if *base_merged {
                ui.status(&format!(
                    "merged {} into {} first: it had moved",
                    e(&loaded.feature.base),
                    e(&loaded.feature.branch)
                ));
            }
            if complete.is_empty() {
                ui.status(&format!(
                    "{} is already in {} (merged by hand): it is recorded once approved",
                    e(&name),
                    e(&loaded.feature.base)
                ));
            } else {
                ui.success(&format!("the final gates pass; wrote {} at {}", e(complete), &tip[..10]));
            }
            ui.hint(&format!(
                "a person approves the finish: git orchestrate approve finish --feature {name}; then run finish again"
            ));
            if done.protected {
                ui.status(&format!(
                    "{} is protected: the feature goes through a pull request",
                    e(&loaded.feature.base)
                ));
            }
        }
        Finish::Merged { commit, strategy, deleted, remote_branches } => {
            ui.success(&format!(
                "{} is merged into {} as {} ({})",
                e(&name),
                e(&loaded.feature.base),
                &commit[..10],
                strategy.as_str()
            ));
            if !deleted.is_empty() {
                ui.status(&format!("deleted the phase branches: {}", e(&deleted.join(", "))));
            }
            for cmd in remote_branches {
                ui.hint(&format!("delete the remote phase branch: {}", e(cmd)));
            }
            ui.hint(&format!("publish it: git push origin {}", e(&loaded.feature.base)));
        }
        Finish::Recognised { commit } => {
            ui.success(&format!("{} was merged by hand: recorded as {}", e(&name), &commit[..10]));
        }
    }
    if let Some(pr) = done.pull_request {
        super::say_pull_request(ui, &pr?, &loaded.feature.branch);
    }
    Ok(())
}
