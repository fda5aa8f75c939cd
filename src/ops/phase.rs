//! A phase before its review: started on its own branch (only when its pause points allow),
//! briefed to its owner, submitted for review.

use serde::Serialize;

use super::review::{PullRequest, Review};
use super::sync::AutoPush;
use super::GateReport;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gates;
use crate::git::{ObjectId, Repo};
use crate::render::Renderer;
use crate::state::What;
use crate::workflow::{FeatureView, Loaded, PhaseState, Purpose, Workflow};
use minijinja::value::Serde;

/// A phase started, or checked out again.
#[derive(Debug, Serialize)]
pub struct PhaseStarted {
    pub feature: String,
    pub phase: u32,
    pub branch: String,
    pub fork: String,
    /// It had started before: its branch is checked out again.
    pub resumed: bool,
    /// What became of telling the remote (a new start only).
    #[serde(skip)]
    pub shared: Option<AutoPush>,
}

fn state_of(view: &FeatureView, id: u32) -> PhaseState {
    view.phases.iter().find(|p| p.id == id).map_or(PhaseState::Planned, |p| p.state)
}

/// Start phase `which` (an id, or `next`: the phase that may start next) of a feature whose
/// plan is approved, once every phase it depends on is approved: its branch is created at the
/// integration branch's tip and checked out, the start recorded and shared with the remote
/// (which never fails it). A phase that started before is checked out again.
pub fn start_phase(repo: &Repo, config: &Config, loaded: &Loaded, which: &str) -> Result<PhaseStarted> {
    let flow = Workflow::new(repo, config);
    let name = loaded.feature.name.clone();
    let view = flow.view_of(loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    if view.plan_approved_by.is_none() {
        let why =
            if view.plan_approval_void { "the plan changed since it was approved" } else { "the plan awaits approval" };
        return Err(Error::blocked(format!("cannot start a phase of {name}: {why}"))
            .hint(format!("a person approves it first: git orchestrate approve plan --feature {name}")));
    }
    let id = if which == "next" {
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
        return Ok(PhaseStarted {
            feature: name,
            phase: id,
            branch: rec.branch.clone(),
            fork: rec.fork.map(|f| f.to_string()).unwrap_or_default(),
            resumed: true,
            shared: None,
        });
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
    let fork = Workflow::new(repo, config).integration_tip(&loaded.feature)?;
    let branch = config.branches.phase(&name, id, &def.slug());
    Repo::validate_branch_name(&branch)?;
    if repo.branch_tip(&branch)?.is_some() {
        return Err(Error::blocked(format!("branch {branch} already exists, but phase {id} never started"))
            .hint(format!("rename or delete it first (git branch -m {branch} {branch}-old)")));
    }
    super::branch_off(repo, &branch, fork, &format!("orchestrate: start phase {id}"))?;
    flow.record(
        &name,
        &loaded.log,
        What::PhaseStarted(crate::state::PhaseStarted { phase: id, branch: branch.clone(), fork }),
    )?;
    // The team (and CI) learn of the phase at once; an unreachable remote fails nothing.
    let shared = Some(super::sync::after_approval(repo, config));
    Ok(PhaseStarted { feature: name, phase: id, branch, fork: fork.to_string(), resumed: false, shared })
}

/// A phase's hand-off brief.
#[derive(Debug, Serialize)]
pub struct Brief {
    pub feature: String,
    pub phase: u32,
    pub owner: String,
    pub branch: String,
    /// The brief, rendered from `brief.md`.
    pub brief: String,
}

/// The brief for phase `phase` (default: the one meant) for its owner: requirements, test
/// requirements, paths in scope, its dependencies, the gates as they apply to it (the plan's
/// overrides resolved, as the hooks will) and the coverage target.
pub fn brief(repo: &Repo, config: &Config, loaded: &Loaded, phase: Option<u32>) -> Result<Brief> {
    let name = &loaded.feature.name;
    let view = Workflow::new(repo, config).view_of(loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    let id = match phase {
        Some(id) => id,
        None => view.phase_meant(repo.working_branch()?.as_deref(), Purpose::Work)?,
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
    let (judging, _) = super::judging_config(repo, Some(&loaded.feature))?;
    let key = gates::Key { phase: Some(id), ..gates::Key::default() };
    let gates: Vec<_> = gates::select(&judging, None, &[], &key, Some(&def.gates))?
        .into_iter()
        .map(|s| {
            minijinja::context! {
                name => s.name, run => s.config.run, stage => s.stage.as_str(),
                min => s.config.min, min_changed => s.config.min_changed, required => s.required,
            }
        })
        .collect();
    let text = Renderer::new(Some(repo.workdir())).render(
        "brief.md",
        minijinja::context! {
            feature => name, title => &plan.title, plan_path => &loaded.feature.plan,
            phase => Serde(def), phase_count => plan.phases.len(), branch => &pv.branch,
            depends_on, gates, coverage_min => judging.coverage_min(&def.gates),
            changes_requested => pv.changes_requested.as_deref(),
        },
    )?;
    Ok(Brief { feature: name.clone(), phase: id, owner: def.owner.clone(), branch: pv.branch.clone(), brief: text })
}

/// A pull request to open for a submitted phase, with the review as its body.
pub struct PrRequest<'a> {
    pub remote: &'a str,
    /// The review as the pull request's body (plain text).
    pub body: &'a dyn Fn(&Review) -> String,
}

/// What `phase submit` did.
pub struct PhaseSubmitted {
    pub feature: String,
    pub phase: u32,
    pub tip: ObjectId,
    /// Every required gate of every stage on the tip.
    pub reports: Vec<GateReport>,
    /// Whether the phase now awaits review (false: a required gate did not pass).
    pub submitted: bool,
    /// It was already submitted at this tip.
    pub already: bool,
    /// The pull request asked for, once submitted: opened (or prepared) on which branch, or why not.
    pub pull_request: Option<Result<(PullRequest, String)>>,
}

impl PhaseSubmitted {
    /// The refusal when a required gate did not pass.
    pub fn refusal(&self) -> Option<Error> {
        if self.submitted {
            return None;
        }
        let names: Vec<String> =
            self.reports.iter().flat_map(GateReport::blocking).map(|o| o.evidence.gate.clone()).collect();
        Some(
            Error::blocked(format!(
                "phase {} of {} is not ready for review: {} did not pass",
                self.phase,
                self.feature,
                names.join(", ")
            ))
            .hint("fix what the gates say, commit, and submit again (only what changed is gated again)"),
        )
    }
}

/// Submit phase `phase` (default: the one meant) for review (see [`super::review::submit`]);
/// with `pr`, once it is submitted, push its branch and open a pull request with the review as
/// its body.
pub fn submit(
    repo: &Repo,
    config: &Config,
    loaded: &Loaded,
    phase: Option<u32>,
    pr: Option<PrRequest<'_>>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<PhaseSubmitted> {
    let flow = Workflow::new(repo, config);
    let name = &loaded.feature.name;
    let view = flow.view_of(loaded)?;
    let id = match phase {
        Some(id) => id,
        None => view.phase_meant(repo.working_branch()?.as_deref(), Purpose::Work)?,
    };
    let done = super::review::submit(repo, loaded, id, false, progress)?;
    let pull_request = pr.filter(|_| done.submitted).map(|pr| -> Result<(PullRequest, String)> {
        // The review is the pull request's body: the phase measured, not described.
        let loaded = flow.load(name)?;
        let review = super::review::review(repo, &loaded, id, false, &mut |_| {})?;
        let title = format!("{}: phase {id}: {}", name, review.title);
        let branch = review.branch.clone();
        let opened =
            super::review::pull_request(repo, pr.remote, &loaded.feature.branch, &branch, &title, &(pr.body)(&review))?;
        Ok((opened, branch))
    });
    Ok(PhaseSubmitted {
        feature: name.clone(),
        phase: id,
        tip: done.tip,
        reports: done.reports,
        submitted: done.submitted,
        already: done.already,
        pull_request,
    })
}
