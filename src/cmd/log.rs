//! `git orchestrate log`: a feature's event history, oldest first.

use std::fmt::Write as _;

use super::Ctx;
use crate::error::{Error, Result};
use crate::ops;
use crate::output::{self, Paint, Ui};
use crate::state::{
    ChangesRequested, Created, FinishApproved, Finished, GateRun, PhaseApproved, PhaseStarted, PhaseSubmitted,
    PlanApproved, What,
};

/// Print a feature's event history (from git notes), oldest first.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  git orchestrate log\n  git orchestrate log --feature jwt-auth --json")]
pub struct Args {
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Print the events as a JSON array.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let name = ctx.feature(args.feature.as_deref())?;
    let log = ctx.workflow().log(&name)?;
    if log.is_empty() {
        return Err(
            Error::usage(format!("unknown feature `{name}`")).hint("`git orchestrate status` lists the features")
        );
    }
    if args.json {
        return Ok(ui.json(&log)?);
    }
    let checks = ops::check_approvals(&ctx.repo, &log)?;
    let mut text = String::new();
    for e in &log {
        let detail = match &e.what {
            What::Created(Created { title, base, branch, .. }) => format!("{title} ({branch} from {base})"),
            What::PlanApproved(PlanApproved { plan_blob, note, agent, via, .. }) => {
                format!(
                    "plan {} ({}){}",
                    plan_blob.to_hex_with_len(12),
                    ops::approval_source(agent.as_deref(), via.as_deref(), checks.get(&e.id)),
                    note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
                )
            }
            What::PhaseStarted(PhaseStarted { phase, branch, .. }) => format!("phase {phase} on {branch}"),
            What::PhaseApproved(PhaseApproved { phase, commit, note, agent, overrides, accepted, via, .. }) => {
                format!(
                    "phase {phase} as {} ({}){}{}{}",
                    commit.to_hex_with_len(12),
                    ops::approval_source(agent.as_deref(), via.as_deref(), checks.get(&e.id)),
                    note.as_ref().map(|n| format!(": {n}")).unwrap_or_default(),
                    overrides.iter().fold(String::new(), |s, o| s + "; override " + o),
                    accepted.iter().fold(String::new(), |s, o| s + "; accepted " + o)
                )
            }
            What::GateRun(GateRun { phase, gate, tree, verdict, .. }) => {
                format!("phase {phase}: {gate} {} on tree {}", verdict.as_str(), tree.to_hex_with_len(12))
            }
            What::PhaseSubmitted(PhaseSubmitted { phase, commit }) => {
                format!("phase {phase} at {} is ready for review", commit.to_hex_with_len(12))
            }
            What::ChangesRequested(ChangesRequested { phase, note, .. }) => {
                format!("phase {phase} needs revision{}", note.as_ref().map(|n| format!(": {n}")).unwrap_or_default())
            }
            What::FinishApproved(FinishApproved { commit, note, agent }) => format!(
                "finish of {}{}{}",
                commit.to_hex_with_len(12),
                agent.as_ref().map(|a| format!(" (from inside {a})")).unwrap_or_default(),
                note.as_ref().map(|n| format!(": {n}")).unwrap_or_default()
            ),
            What::Finished(Finished { commit, strategy }) => {
                format!("merged into the base as {} ({strategy})", commit.to_hex_with_len(12))
            }
            What::Unknown(name) => format!("`{name}` (an event from a newer version)"),
        };
        let _ = writeln!(
            text,
            "{}  {:<15} {}  {}",
            output::paint(Paint::Dim, &format!("{:<27}", output::escape(&e.ts))),
            e.what.name(),
            output::escape(&detail),
            output::paint(Paint::Dim, &output::escape(&e.by))
        );
    }
    Ok(ui.out(text.trim_end())?)
}
