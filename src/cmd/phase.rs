//! `git orchestrate phase start|brief|submit`: their arguments, and what they say.
//! [`crate::ops::phase`] branches off for a phase (only when its pause points allow), renders
//! the hand-off brief for its owner, and submits the phase for review.

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::ops::phase::{PhaseStarted, PrRequest};
use crate::ops::review::ReviewGate;
use crate::ops::sync::AutoPush;
use crate::output::{self, Ui};

/// Work on one phase of a plan.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PhaseCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PhaseCommand {
    /// Create and check out the phase's branch from the integration branch's tip.
    ///
    /// Refused while the plan awaits approval or a phase it depends on is not approved. Starting
    /// a phase that already started checks its branch out again.
    #[command(
        after_help = "Examples:\n  git orchestrate phase start next\n  git orchestrate phase start 2 --feature jwt-auth"
    )]
    Start {
        /// A phase id, or `next` for the first phase that can start.
        #[arg(default_value = "next")]
        which: String,
        /// The feature (default: the one whose branch is checked out).
        #[arg(long)]
        feature: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Say the phase is ready for review: every required gate of every stage must pass on its tip.
    ///
    /// Gates already judged on the tip are not run again. Only a submitted phase awaits review;
    /// a commit after submitting takes it back to work.
    #[command(after_help = "Examples:\n  git orchestrate phase submit\n  git orchestrate phase submit 2 --json")]
    Submit {
        /// The phase (default: the one checked out, else the first active one).
        phase: Option<u32>,
        /// Also push the phase branch and open a pull request against the integration branch
        /// with the review as its body (through `gh` when it is on PATH; else the body file and
        /// the command are given).
        #[arg(long)]
        pr: bool,
        /// The remote for --pr.
        #[arg(long, default_value = "origin", requires = "pr")]
        remote: String,
        /// The feature (default: the one whose branch is checked out).
        #[arg(long)]
        feature: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the hand-off brief for the phase's owner: requirements, test requirements, paths in
    /// scope, gates and the coverage target.
    #[command(after_help = "Examples:\n  git orchestrate phase brief\n  git orchestrate phase brief 2 --json")]
    Brief {
        /// The phase (default: the one checked out, else the first active one).
        phase: Option<u32>,
        /// The feature (default: the one whose branch is checked out).
        #[arg(long)]
        feature: Option<String>,
        /// Print the brief inside a JSON object.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    match &args.command {
        PhaseCommand::Start { which, feature, json } => start(ui, ctx, which, feature.as_deref(), *json),
        PhaseCommand::Brief { phase, feature, json } => brief(ui, ctx, *phase, feature.as_deref(), *json),
        PhaseCommand::Submit { phase, feature, json, pr, remote } => {
            submit(ui, ctx, *phase, feature.as_deref(), *json, pr.then_some(remote.as_str()))
        }
    }
}

fn start(ui: &Ui, ctx: &Ctx, which: &str, feature: Option<&str>, json: bool) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(feature)?)?;
    let started = crate::ops::phase::start_phase(&ctx.repo, &ctx.config, &loaded, which)?;
    if let Some(AutoPush::Failed { remote, why }) = &started.shared {
        ui.warn(&format!(
            "not shared with {remote} ({}): `git orchestrate sync` shares it later",
            output::escape(why.lines().next().unwrap_or_default())
        ));
    }
    report(ui, &started, json)
}

fn report(ui: &Ui, s: &PhaseStarted, json: bool) -> Result<()> {
    if json {
        return Ok(ui.json(s)?);
    }
    let verb = if s.resumed { "back on" } else { "started" };
    ui.success(&format!("{verb} phase {} of {} on {}", s.phase, s.feature, s.branch));
    ui.hint(&format!("the brief for its owner: git orchestrate phase brief {}", s.phase));
    Ok(())
}

fn brief(ui: &Ui, ctx: &Ctx, phase: Option<u32>, feature: Option<&str>, json: bool) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(feature)?)?;
    let brief = crate::ops::phase::brief(&ctx.repo, &ctx.config, &loaded, phase)?;
    if json {
        return Ok(ui.json(&brief)?);
    }
    Ok(ui.out(&output::escape_text(&brief.brief))?)
}

#[derive(Serialize)]
struct SubmitReport {
    feature: String,
    phase: u32,
    tip: String,
    submitted: bool,
    gates: Vec<ReviewGate>,
}

fn submit(ui: &Ui, ctx: &Ctx, phase: Option<u32>, feature: Option<&str>, json: bool, pr: Option<&str>) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(feature)?)?;
    let body =
        |review: &crate::ops::review::Review| anstream::adapter::strip_str(&super::show::review(review)).to_string();
    let pr = pr.map(|remote| PrRequest { remote, body: &body });
    let mut progress = ui.progress();
    let done =
        crate::ops::phase::submit(&ctx.repo, &ctx.config, &loaded, phase, pr, &mut super::gate_progress(&mut progress));
    progress.clear();
    let done = done?;
    let (id, name) = (done.phase, &done.feature);
    if json {
        ui.json(&SubmitReport {
            feature: name.clone(),
            phase: id,
            tip: done.tip.to_string(),
            submitted: done.submitted,
            gates: done.reports.iter().flat_map(|r| &r.outcomes).map(ReviewGate::of).collect(),
        })?;
    } else {
        for report in &done.reports {
            let _ = super::show::gate(ui, report, false, true);
        }
    }
    if let Some(refusal) = done.refusal() {
        return Err(refusal);
    }
    if !json {
        let what = if done.already { "was already submitted" } else { "is submitted for review" };
        ui.success(&format!("phase {id} of {name} {what} at {}", done.tip.to_hex_with_len(10)));
        ui.hint(&format!("a person reviews it: git orchestrate review {id} --feature {name}"));
    }
    if let Some(opened) = done.pull_request {
        let (pr, branch) = opened?;
        super::say_pull_request(ui, &pr, &branch);
    }
    Ok(())
}
