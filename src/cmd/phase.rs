//! `git orchestrate phase start|brief`: branch off for a phase (only when its pause points
//! allow), and render the hand-off brief for its owner.

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Ui};
use crate::render::Renderer;
use crate::state::What;
use crate::workflow::{FeatureView, Loaded, PhaseState};
use minijinja::value::Serde;

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
        /// The phase (default: the one checked out).
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

#[derive(Serialize)]
struct Started {
    feature: String,
    phase: u32,
    branch: String,
    fork: String,
    resumed: bool,
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

fn state_of(view: &FeatureView, id: u32) -> PhaseState {
    view.phases.iter().find(|p| p.id == id).map_or(PhaseState::Planned, |p| p.state)
}

fn start(ui: &Ui, ctx: &Ctx, which: &str, feature: Option<&str>, json: bool) -> Result<()> {
    let flow = ctx.workflow();
    let repo = &ctx.repo;
    let name = ctx.feature(feature)?;
    let loaded = flow.load(&name)?;
    let view = flow.view_of(&loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    if view.plan_approved_by.is_none() {
        let why =
            if view.plan_approval_void { "the plan changed since it was approved" } else { "the plan awaits approval" };
        return Err(Error::blocked(format!("cannot start a phase of {name}: {why}"))
            .hint(format!("a person approves it first: git orchestrate approve plan --feature {name}")));
    }
    let id = if which == "next" {
        // The first planned phase whose dependencies are all approved.
        let Some(p) = view.startable() else {
            let busy = view.phases.iter().find(|p| matches!(p.state, PhaseState::Active | PhaseState::AwaitingReview));
            return Err(match busy {
                Some(p) if p.state == PhaseState::Active => {
                    Error::blocked(format!("no phase can start now: phase {} is active", p.id))
                        .hint(format!("finish it first: git orchestrate phase brief {}", p.id))
                }
                Some(p) => Error::blocked(format!("no phase can start now: phase {} is awaiting-review", p.id))
                    .hint(format!("a person reviews it: git orchestrate approve phase {}", p.id)),
                None => Error::blocked(format!("every phase of {name} is approved"))
                    .hint(format!("merge {} into {}", view.branch, view.base)),
            });
        };
        p.id
    } else {
        which.parse::<u32>().map_err(|_| {
            Error::usage(format!("`{which}` is not a phase id"))
                .hint(format!("use a number ({}) or `next`", plan.ids()))
        })?
    };
    let def = plan
        .phase(id)
        .ok_or_else(|| Error::usage(format!("{name} has no phase {id}")).hint(format!("phases are {}", plan.ids())))?;
    if let Some(rec) = loaded.feature.phases.get(&id) {
        if rec.approval.is_some() {
            return Err(Error::blocked(format!("phase {id} of {name} is already approved"))
                .hint("git orchestrate phase start next"));
        }
        // Started before: check its branch out again.
        repo.switch(&rec.branch)?;
        let s = Started { feature: name, phase: id, branch: rec.branch.clone(), fork: rec.fork.clone(), resumed: true };
        return report(ui, &s, json);
    }
    let waiting = view.unapproved_dependencies(id);
    if !waiting.is_empty() {
        let list = waiting.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let first = waiting[0];
        let hint = match state_of(&view, first) {
            PhaseState::Planned => format!("start it: git orchestrate phase start {first}"),
            PhaseState::Active => format!("finish it: git orchestrate phase brief {first}"),
            _ => format!("approve it: git orchestrate approve phase {first}"),
        };
        return Err(Error::blocked(format!("phase {id} depends on phase {list}, which is not approved yet")).hint(hint));
    }
    let fork = repo
        .branch_tip(&loaded.feature.branch)?
        .ok_or_else(|| Error::blocked(format!("integration branch {} is gone", loaded.feature.branch)))?;
    let branch = ctx.config.branches.phase(&name, id, &def.slug());
    crate::git::Repo::validate_branch_name(&branch)?;
    if repo.branch_tip(&branch)?.is_some() {
        return Err(Error::blocked(format!("branch {branch} already exists, but phase {id} never started"))
            .hint(format!("rename or delete it first (git branch -m {branch} {branch}-old)")));
    }
    crate::ops::branch_off(repo, &branch, fork, &format!("orchestrate: start phase {id}"))?;
    flow.record(&name, &loaded.log, What::PhaseStarted { phase: id, branch: branch.clone(), fork: fork.to_string() })?;
    // The team (and CI) learn of the phase at once; an unreachable remote fails nothing.
    if let crate::ops::sync::AutoPush::Failed { remote, why } = crate::ops::sync::after_approval(repo, &ctx.config) {
        ui.warn(&format!(
            "not shared with {remote} ({}): `git orchestrate sync` shares it later",
            output::escape(why.lines().next().unwrap_or_default())
        ));
    }
    report(ui, &Started { feature: name, phase: id, branch, fork: fork.to_string(), resumed: false }, json)
}

fn report(ui: &Ui, s: &Started, json: bool) -> Result<()> {
    if json {
        return Ok(ui.json(s)?);
    }
    let verb = if s.resumed { "back on" } else { "started" };
    ui.success(&format!("{verb} phase {} of {} on {}", s.phase, s.feature, s.branch));
    ui.hint(&format!("the brief for its owner: git orchestrate phase brief {}", s.phase));
    Ok(())
}

#[derive(Serialize)]
struct Brief {
    feature: String,
    phase: u32,
    owner: String,
    branch: String,
    brief: String,
}

fn pick(ctx: &Ctx, view: &FeatureView) -> Result<u32> {
    // During a rebase HEAD is detached: the branch being rebased is the one worked on.
    let branch = ctx.repo.working_branch()?;
    if let Some(p) = view.phases.iter().find(|p| Some(&p.branch) == branch.as_ref()) {
        return Ok(p.id);
    }
    view.phases
        .iter()
        .find(|p| matches!(p.state, PhaseState::Active | PhaseState::AwaitingReview))
        .or_else(|| view.phases.iter().find(|p| p.state == PhaseState::Planned))
        .map(|p| p.id)
        .ok_or_else(|| {
            Error::usage("every phase is approved: there is nothing to brief")
                .hint("name a phase: git orchestrate phase brief <N>")
        })
}

fn brief(ui: &Ui, ctx: &Ctx, phase: Option<u32>, feature: Option<&str>, json: bool) -> Result<()> {
    let flow = ctx.workflow();
    let name = ctx.feature(feature)?;
    let loaded: Loaded = flow.load(&name)?;
    let view = flow.view_of(&loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    let id = match phase {
        Some(id) => id,
        None => pick(ctx, &view)?,
    };
    let def = plan
        .phase(id)
        .ok_or_else(|| Error::usage(format!("{name} has no phase {id}")).hint(format!("phases are {}", plan.ids())))?;
    let pv = view.phases.iter().find(|p| p.id == id).expect("the view lists every phase of the plan");
    let depends_on: Vec<_> = def
        .depends_on
        .iter()
        .filter_map(|d| view.phases.iter().find(|p| p.id == *d))
        .map(|p| minijinja::context! { id => p.id, title => &p.title, state => p.state.as_str() })
        .collect();
    // The gates as they apply to this phase: the plan's overrides resolved, as the hooks will.
    let (config, _) = crate::ops::judging_config(&ctx.repo, Some(&loaded.feature))?;
    let key = crate::gates::Key { phase: Some(id), ..crate::gates::Key::default() };
    let gates: Vec<_> = crate::gates::select(&config, None, &[], &key, Some(&def.gates))?
        .into_iter()
        .map(|s| {
            minijinja::context! {
                name => s.name, run => s.config.run, stage => s.stage.as_str(),
                min => s.config.min, min_changed => s.config.min_changed, required => s.required,
            }
        })
        .collect();
    let text = Renderer::new(Some(ctx.repo.workdir())).render(
        "brief.md",
        minijinja::context! {
            feature => &name, title => &plan.title, plan_path => &loaded.feature.plan,
            phase => Serde(def), phase_count => plan.phases.len(), branch => &pv.branch,
            depends_on, gates, coverage_min => config.coverage_min(&def.gates),
            changes_requested => pv.changes_requested.as_deref(),
        },
    )?;
    if json {
        return Ok(ui.json(&Brief {
            feature: name,
            phase: id,
            owner: def.owner.clone(),
            branch: pv.branch.clone(),
            brief: text,
        })?);
    }
    Ok(ui.out(&output::escape_text(&text))?)
}

#[derive(Serialize)]
struct SubmitReport {
    feature: String,
    phase: u32,
    tip: String,
    submitted: bool,
    gates: Vec<crate::ops::review::ReviewGate>,
}

fn submit(ui: &Ui, ctx: &Ctx, phase: Option<u32>, feature: Option<&str>, json: bool, pr: Option<&str>) -> Result<()> {
    let flow = ctx.workflow();
    let name = ctx.feature(feature)?;
    let loaded = flow.load(&name)?;
    let view = flow.view_of(&loaded)?;
    let id = match phase {
        Some(id) => id,
        None => pick(ctx, &view)?,
    };
    let mut progress = ui.progress();
    let done = crate::ops::review::submit(&ctx.repo, &loaded, id, false, &mut super::gate_progress(&mut progress));
    progress.clear();
    let done = done?;
    let gates: Vec<_> = done
        .reports
        .iter()
        .flat_map(|r| &r.outcomes)
        .map(|o| crate::ops::review::ReviewGate {
            gate: o.evidence.gate.clone(),
            kind: o.evidence.kind,
            verdict: o.evidence.verdict,
            summary: o.evidence.summary.clone(),
            required: o.required,
            cached: o.cached,
            reasons: o.evidence.reasons.clone(),
        })
        .collect();
    if json {
        ui.json(&SubmitReport {
            feature: name.clone(),
            phase: id,
            tip: done.tip.to_string(),
            submitted: done.submitted,
            gates,
        })?;
    } else {
        for report in &done.reports {
            let _ = super::gate::render(ui, report, false, true);
        }
    }
    if !done.submitted {
        let names: Vec<String> =
            done.reports.iter().flat_map(|r| r.blocking()).map(|o| o.evidence.gate.clone()).collect();
        return Err(Error::blocked(format!(
            "phase {id} of {name} is not ready for review: {} did not pass",
            names.join(", ")
        ))
        .hint("fix what the gates say, commit, and submit again (only what changed is gated again)"));
    }
    if !json {
        let what = if done.already { "was already submitted" } else { "is submitted for review" };
        ui.success(&format!("phase {id} of {name} {what} at {}", done.tip.to_hex_with_len(10)));
        ui.hint(&format!("a person reviews it: git orchestrate review {id} --feature {name}"));
    }
    if let Some(remote) = pr {
        // The review is the pull request's body: the phase measured, not described.
        let loaded = flow.load(&name)?;
        let review = crate::ops::review::review(&ctx.repo, &loaded, id, false, &mut |_| {})?;
        let title = format!("{}: phase {id}: {}", name, review.title);
        let branch = review.branch.clone();
        let pr = crate::ops::review::pull_request(
            &ctx.repo,
            remote,
            &loaded.feature.branch,
            &branch,
            &title,
            &anstream::adapter::strip_str(&super::review::render(&review)).to_string(),
        )?;
        super::say_pull_request(ui, &pr, &branch);
    }
    Ok(())
}
