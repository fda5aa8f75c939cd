//! `git orchestrate status`: where every feature and phase stands and who must act next, derived
//! from the notes and branch tips in one process.

use std::fmt::Write as _;

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Paint, Ui};
use crate::state::{PhaseApproved, PlanApproved, What};
use crate::workflow::{FeatureState, FeatureView, PhaseState};

/// Show every feature and phase: state, what it waits for, who acts next.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate status\n  git orchestrate status --feature jwt-auth\n  git orchestrate status --json | jq '.features[].state'"
)]
pub struct Args {
    /// Only this feature.
    #[arg(long)]
    pub feature: Option<String>,
    /// Print JSON: {\"features\": [{name, title, state, base, branch, phases: [...]}, ...]}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Status<'a> {
    features: &'a [FeatureView],
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let mut features = ctx.workflow().overview()?;
    if let Some(name) = &args.feature {
        features.retain(|f| &f.name == name);
        if features.is_empty() {
            return Err(
                Error::usage(format!("unknown feature `{name}`")).hint("`git orchestrate status` lists the features")
            );
        }
    }
    if args.json {
        return Ok(ui.json(&Status { features: &features })?);
    }
    if features.is_empty() {
        ui.status("no features yet");
        if let Some(remote) = crate::ops::sync::state_to_bring(&ctx.repo, &ctx.config)? {
            ui.hint(&format!("in a clone, `git orchestrate sync` brings the features from {remote}"));
        }
        ui.hint("start one with: git orchestrate start <feature>");
        return Ok(());
    }
    let mut text = String::new();
    for (i, f) in features.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        let state = match f.state {
            FeatureState::AwaitingFinish | FeatureState::Finished => output::paint(Paint::Ok, f.state.as_str()),
            FeatureState::InProgress => output::paint(Paint::Bold, f.state.as_str()),
            FeatureState::AwaitingPlanApproval => output::paint(Paint::Warn, f.state.as_str()),
            FeatureState::Corrupt => output::paint(Paint::Bad, f.state.as_str()),
        };
        // Everything below but our own words and colours comes from data: escaped.
        let e = output::escape;
        let _ = writeln!(text, "{} — {}  [{state}]", output::paint(Paint::Bold, &e(&f.name)), e(&f.title));
        let _ = writeln!(text, "  {} → {}", e(&f.branch), e(&f.base));
        if let Some(merged) = &f.merged_as {
            let _ = writeln!(text, "  merged into {} as {}", e(&f.base), &merged[..10.min(merged.len())]);
        }
        if let Some(problem) = &f.problem {
            let _ = writeln!(text, "  {} {}", output::paint(Paint::Bad, "problem:"), e(problem));
        }
        for (branch, copy) in &f.read_from_remote {
            let _ = writeln!(
                text,
                "  {} {} is not here: read from {}; `git orchestrate sync` creates it",
                output::paint(Paint::Dim, "remote:"),
                e(branch),
                e(copy)
            );
        }
        if let Some(restore) = &f.restore {
            let _ = writeln!(
                text,
                "  {} the integration branch {} is gone here and on every remote; restore it: {}",
                output::paint(Paint::Bad, "missing:"),
                e(&f.branch),
                e(restore)
            );
        }
        for d in &f.divergent {
            let _ = writeln!(text, "  {} {}", output::paint(Paint::Warn, "divergent:"), e(d));
        }
        if f.plan_approval_void {
            let _ = writeln!(text, "  {} the plan changed after it was approved", output::paint(Paint::Warn, "void:"));
        }
        // Each approval: who gave it, from what, and whether it verifies under the policy.
        let log: &[crate::state::Event] = if f.plan_approved_by.is_some() { &f.approvals } else { &[] };
        let checks = match &f.policy {
            Some(policy) => crate::ops::check_approvals_under(policy, log)?,
            None => std::collections::HashMap::new(),
        };
        let approval_of = |phase: Option<u32>| {
            log.iter().rev().find_map(|ev| match (&ev.what, phase) {
                (What::PlanApproved(PlanApproved { agent, via, .. }), None)
                | (What::PhaseApproved(PhaseApproved { agent, via, .. }), Some(_))
                    if phase.is_none()
                        || matches!(ev.what, What::PhaseApproved(PhaseApproved { phase: p, .. }) if Some(p) == phase) =>
                {
                    let check = checks.get(&ev.id);
                    let counts = check.is_none_or(crate::ops::Verification::counts);
                    Some((
                        format!(
                            "by {} ({})",
                            ev.by,
                            crate::ops::approval_source(agent.as_deref(), via.as_deref(), check)
                        ),
                        counts,
                    ))
                }
                _ => None,
            })
        };
        if let Some((line, counts)) = approval_of(None) {
            let label = if counts {
                output::paint(Paint::Dim, "plan approved")
            } else {
                output::paint(Paint::Bad, "plan approval unverified")
            };
            let _ = writeln!(text, "  {label} {}", e(&line));
        }
        let width = f.phases.iter().map(|p| e(&p.title).chars().count()).max().unwrap_or(0);
        let owner_width = f.phases.iter().map(|p| e(&p.owner).chars().count()).max().unwrap_or(0) + 1;
        for p in &f.phases {
            let state = match p.state {
                PhaseState::Approved => output::paint(Paint::Ok, p.state.as_str()),
                PhaseState::AwaitingReview => output::paint(Paint::Warn, p.state.as_str()),
                PhaseState::Active => output::paint(Paint::Bold, p.state.as_str()),
                PhaseState::Planned => output::paint(Paint::Dim, p.state.as_str()),
            };
            let owner = format!("@{}", e(&p.owner));
            let approval = if p.state == PhaseState::Approved { approval_of(Some(p.id)) } else { None };
            let unverified = approval.as_ref().is_some_and(|(_, counts)| !counts);
            let state =
                if unverified { format!("{state} {}", output::paint(Paint::Bad, "(unverified)")) } else { state };
            let _ = writeln!(text, "  {:>2}  {:<width$}  {:<owner_width$}  {state}", p.id, e(&p.title), owner);
            if let Some((line, _)) = &approval {
                let _ = writeln!(text, "      {}", output::paint(Paint::Dim, &format!("approved {}", e(line))));
            }
            // The gates' verdicts and figures, measured: `tests pass (24 passed, 0 failed)`.
            let judged: Vec<String> = p
                .gates
                .iter()
                .filter(|(_, v)| **v != "none")
                .map(|(g, v)| match p.figures.get(g) {
                    Some(fig) => format!("{} {v} ({})", e(g), e(fig)),
                    None => format!("{} {v}", e(g)),
                })
                .collect();
            if !judged.is_empty() {
                let _ = writeln!(text, "      {}", output::paint(Paint::Dim, &judged.join(" · ")));
            }
            if let Some(reason) = &p.changes_requested {
                let _ = writeln!(
                    text,
                    "      {}",
                    output::paint(Paint::Warn, &format!("changes requested: {}", e(reason)))
                );
            }
            for o in &p.overrides {
                let _ = writeln!(text, "      {}", output::paint(Paint::Warn, &format!("gate overridden: {}", e(o))));
            }
            for a in &p.accepted {
                let _ = writeln!(
                    text,
                    "      {}",
                    output::paint(Paint::Warn, &format!("audit finding accepted: {}", e(a)))
                );
            }
        }
        let _ = write!(text, "  waiting for: {}", e(&f.waiting_for));
        if let Some(next) = &f.next {
            let _ = write!(text, "\n  next: {}", output::paint(Paint::Dim, &e(next)));
        }
        text.push('\n');
    }
    Ok(ui.out(text.trim_end())?)
}
