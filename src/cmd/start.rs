//! `git orchestrate start <feature>`: its arguments, and what it says. [`crate::ops::start`]
//! scaffolds (or imports) the plan, commits it on a new integration branch forked from the base,
//! records the feature, and checks the branch out.

use std::path::PathBuf;

use super::Ctx;
use crate::error::Result;
use crate::ops::start::{StartRequest, Started};
use crate::output::Ui;

/// Turn a feature into a plan on its own branch: the front door.
///
/// Writes plans/<feature>/plan.md from the template (or imports --plan FILE), commits it on a
/// new integration branch forked from the base, records the feature in git notes and checks the
/// branch out. Your unstaged edits and untracked files come along untouched; staged changes are
/// refused, so nothing of yours lands in the plan commit.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate start jwt-auth\n  git orchestrate start jwt-auth --title \"JWT authentication\" --phases 4\n  git orchestrate start jwt-auth --plan ~/drafts/jwt-plan.md --base develop"
)]
pub struct Args {
    /// The feature's slug: lowercase letters, digits and single dashes (`jwt-auth`).
    pub feature: String,
    /// One line saying what the feature is (default: from the slug).
    #[arg(long)]
    pub title: Option<String>,
    /// The branch to fork from and finish into (default: the repository's default branch).
    #[arg(long)]
    pub base: Option<String>,
    /// Import this plan file instead of scaffolding one.
    #[arg(long, value_name = "FILE", conflicts_with = "phases")]
    pub plan: Option<PathBuf>,
    /// How many phases the scaffold has.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub phases: u32,
    /// A lane for small work: `bugfix` or `hotfix`. One phase; the plan needs no approval of
    /// its own (the phase review is the pause point); the lane's gates are those listed under
    /// `[lanes.<lane>]` in .orchestrate.toml (all gates when it lists none).
    #[arg(long, value_parser = ["bugfix", "hotfix"])]
    pub lane: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let req = StartRequest {
        feature: &args.feature,
        title: args.title.as_deref(),
        base: args.base.as_deref(),
        plan: args.plan.as_deref(),
        phases: args.phases,
        lane: args.lane.as_deref(),
    };
    let started = crate::ops::start::start(&ctx.repo, &ctx.config, &req)?;
    report(ui, &started, args.json)
}

fn report(ui: &Ui, s: &Started, json: bool) -> Result<()> {
    if json {
        return Ok(ui.json(s)?);
    }
    ui.success(&format!("started {}: {}", s.feature, s.title));
    ui.status(&format!("  plan    {} (commit {})", s.plan, &s.commit[..7.min(s.commit.len())]));
    ui.status(&format!("  branch  {} (from {})", s.branch, s.base));
    ui.hint(&format!(
        "edit {}, commit it, check it with `git orchestrate plan lint`, then `git orchestrate approve plan`",
        s.plan
    ));
    Ok(())
}
