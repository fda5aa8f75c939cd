//! `git orchestrate approve plan|phase`: the human pause points. A plan approval is pinned to the
//! plan's blob, so editing the plan voids it. A phase approval squashes the phase branch into one
//! commit on the integration branch, with a message rendered from the template.

use serde::Serialize;

use super::{confirm_human, Ctx};
use crate::error::{Error, Result};
use crate::git::{self, ObjectId};
use crate::ops;
use crate::ops::sync::AutoPush;
use crate::output::{self, Ui};
use crate::render::Renderer;
use crate::state::What;
use crate::workflow::{FeatureView, PhaseState};
use minijinja::value::Serde;

/// Record a pause-point approval (a person, in a terminal).
///
/// Approvals are refused inside an AI agent's environment; without a terminal they need --yes.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: ApproveWhat,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Confirm without being asked (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// A note recorded with the approval.
    #[arg(long, short = 'm', value_name = "NOTE")]
    pub message: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ApproveWhat {
    /// Approve the plan as committed on the integration branch. Editing it later voids this.
    #[command(
        after_help = "Examples:\n  git orchestrate approve plan\n  git orchestrate approve plan --feature jwt-auth --yes -m \"reviewed with the team\""
    )]
    Plan(Common),
    /// Approve the finish: the final gates passed and complete.md is on the integration branch
    /// (`git orchestrate finish` put it there); the next `finish` merges exactly that tip.
    #[command(
        after_help = "Examples:\n  git orchestrate approve finish\n  git orchestrate approve finish --feature jwt-auth --yes"
    )]
    Finish(Common),
    /// Approve a phase: squash its branch into one commit on the integration branch.
    #[command(after_help = "Examples:\n  git orchestrate approve phase\n  git orchestrate approve phase 2 --yes")]
    Phase {
        /// The phase (default: the one checked out, or the one awaiting review).
        phase: Option<u32>,
        /// Approve although this required gate does not pass: a person's named decision, with
        /// the reason given in -m. Recorded, and shown in status, the log and the commit.
        #[arg(long = "override", value_name = "GATE")]
        overrides: Vec<String>,
        /// Accept one audit finding by its id (`audit:skip-marker:tests/test_x.py:12`): a
        /// person's named decision, with the reason given in -m. Recorded, and shown in status,
        /// the log and the commit.
        #[arg(long = "accept", value_name = "FINDING")]
        accepts: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Serialize)]
struct Approved {
    feature: String,
    approved: String,
    by: String,
    object: String,
    already: bool,
    /// What became of sharing the approval with the remote (`[sync] push`).
    #[serde(skip_serializing_if = "Option::is_none")]
    shared: Option<AutoPush>,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    // A note goes into the notes, the squash message and the reports: never a secret.
    let common = match &args.what {
        ApproveWhat::Plan(c) | ApproveWhat::Finish(c) | ApproveWhat::Phase { common: c, .. } => c,
    };
    if let Some(note) = &common.message {
        crate::workflow::refuse_secret(note)?;
    }
    match &args.what {
        ApproveWhat::Plan(common) => plan(ui, ctx, common),
        ApproveWhat::Finish(common) => finish(ui, ctx, common),
        ApproveWhat::Phase { phase: n, overrides, accepts, common } => phase(ui, ctx, *n, overrides, accepts, common),
    }
}

fn emit(ui: &Ui, ctx: &Ctx, json: bool, a: &mut Approved, next: Option<&str>) -> Result<()> {
    // A new decision is shared with the team's remote at once; one that cannot be shared now
    // stands all the same, and `sync` catches up.
    if !a.already {
        a.shared = Some(crate::ops::sync::after_approval(&ctx.repo, &ctx.config));
    }
    if json {
        return Ok(ui.json(a)?);
    }
    if a.already {
        ui.status(&format!("{} of {} was already approved by {}", a.approved, a.feature, a.by));
    } else {
        ui.success(&format!("approved {} of {} ({})", a.approved, a.feature, a.by));
    }
    match &a.shared {
        Some(AutoPush::Done { remote }) => ui.status(&format!("shared with {remote}")),
        Some(AutoPush::Failed { remote, why }) => ui.warn(&format!(
            "not shared with {remote} ({}): the approval stands; `git orchestrate sync` shares it later",
            output::escape(why.lines().next().unwrap_or_default())
        )),
        Some(AutoPush::Off) | None => {}
    }
    if let Some(next) = next {
        ui.hint(&format!("next: {next}"));
    }
    Ok(())
}

fn plan(ui: &Ui, ctx: &Ctx, c: &Common) -> Result<()> {
    let flow = ctx.workflow();
    let name = ctx.feature(c.feature.as_deref())?;
    let loaded = flow.load(&name)?;
    let (plan, blob) = match &loaded.plan {
        Ok(p) => p.clone(),
        Err(e) => {
            return Err(Error::blocked(format!("the plan cannot be approved: {}", e.message))
                .hint(format!("fix it and commit: git orchestrate plan lint --feature {name}")))
        }
    };
    let f = &loaded.feature;
    let approved_blob = f.plan_approval.as_ref().map(crate::state::Approval::id).transpose()?;
    if let Some(a) = f.plan_approval.as_ref().filter(|_| approved_blob == Some(blob)) {
        let mut done = Approved {
            feature: name.clone(),
            approved: "plan".into(),
            by: a.by.clone(),
            object: blob.to_string(),
            already: true,
            shared: None,
        };
        return emit(ui, ctx, c.json, &mut done, Some("git orchestrate phase start next"));
    }
    if ctx.repo.head()?.branch() == Some(f.branch.as_str()) {
        let on_disk = std::fs::read(ctx.repo.workdir().join(&f.plan)).ok();
        if on_disk.is_some_and(|b| git::blob_id(&b) != blob) {
            return Err(Error::blocked(format!("{} has edits that are not committed", f.plan)).hint(format!(
                "commit them first (git commit {}): the approval is pinned to the committed plan",
                f.plan
            )));
        }
    }
    // Every gate the plan tunes is shown before the question: what is approved is seen.
    for def in &plan.phases {
        for (gate, table) in &def.gates {
            let configured = ctx.config.gates.get(gate);
            let Some(table) = table.as_table() else { continue };
            for (key, value) in table {
                let was = configured
                    .and_then(|g| toml::Table::try_from(g).ok())
                    .and_then(|t| t.get(key).map(ToString::to_string))
                    .unwrap_or_else(|| "unset".into());
                ui.warn(&format!(
                    "phase {} overrides gate {}: {key} = {value} (.orchestrate.toml: {was})",
                    def.id,
                    gate.escape_debug(),
                ));
            }
        }
    }
    let question = format!("Approve the plan of {name} ({}, {} phases)?", plan.title, plan.phases.len());
    let policy = ops::approval_policy(&ctx.repo, f)?;
    let consent = confirm_human(ui, &ctx.repo, policy.require, c.yes, &question)?;
    let event = flow.record_approval(
        &name,
        &loaded.log,
        What::PlanApproved {
            plan_blob: blob.to_string(),
            note: c.message.clone(),
            agent: consent.agent,
            given: crate::state::Given { via: Some(consent.via), sig: None },
        },
        policy.require == crate::config::Require::Signed,
    )?;
    let mut done = Approved {
        feature: name,
        approved: "plan".into(),
        by: event.by,
        object: blob.to_string(),
        already: false,
        shared: None,
    };
    emit(ui, ctx, c.json, &mut done, Some("git orchestrate phase start next"))
}

/// The phase meant when none is named: the checked-out one, else the only one awaiting review.
fn pick_phase(ctx: &Ctx, view: &FeatureView) -> Result<u32> {
    // During a rebase HEAD is detached: the branch being rebased is the one worked on.
    let branch = ctx.repo.working_branch()?;
    if let Some(p) = view.phases.iter().find(|p| Some(&p.branch) == branch.as_ref() && p.fork.is_some()) {
        return Ok(p.id);
    }
    let waiting: Vec<u32> =
        view.phases.iter().filter(|p| p.state == PhaseState::AwaitingReview).map(|p| p.id).collect();
    match waiting.as_slice() {
        [one] => Ok(*one),
        [] => Err(Error::blocked(format!("no phase of {} awaits review", view.name))
            .hint("commit the phase's work on its branch first; `git orchestrate status` shows where things stand")),
        many => Err(Error::usage(format!("phases {} await review: say which", join(many)))
            .hint(format!("git orchestrate approve phase {}", many[0]))),
    }
}

fn join(ids: &[u32]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn phase(ui: &Ui, ctx: &Ctx, n: Option<u32>, overrides: &[String], accepts: &[String], c: &Common) -> Result<()> {
    let flow = ctx.workflow();
    let repo = &ctx.repo;
    let name = ctx.feature(c.feature.as_deref())?;
    let loaded = flow.load(&name)?;
    let view = flow.view_of(&loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    let f = &loaded.feature;
    let id = match n {
        Some(id) => id,
        None => pick_phase(ctx, &view)?,
    };
    let def = plan
        .phase(id)
        .ok_or_else(|| Error::usage(format!("{name} has no phase {id}")).hint(format!("phases are {}", plan.ids())))?;
    if view.plan_approval_void || view.plan_approved_by.is_none() {
        return Err(Error::blocked(format!("the plan of {name} awaits approval"))
            .hint(format!("git orchestrate approve plan --feature {name}")));
    }
    // Under `signed`, an approval written by hand (or altered) does not count: nothing is
    // approved on top of it.
    let policy = ops::approval_policy(repo, f)?;
    ops::require_verified(repo, &loaded.log)?;
    let Some(rec) = f.phases.get(&id) else {
        return Err(Error::blocked(format!("phase {id} of {name} has not started"))
            .hint(format!("git orchestrate phase start {id} --feature {name}")));
    };
    if let Some(a) = &rec.approval {
        let mut done = Approved {
            feature: name,
            approved: format!("phase {id}"),
            by: a.by.clone(),
            object: a.what.clone(),
            already: true,
            shared: None,
        };
        return emit(ui, ctx, c.json, &mut done, None);
    }
    // A rebase of the phase in progress: its branch does not yet hold what is being reviewed.
    if matches!(repo.head()?, crate::git::Head::Detached { .. })
        && repo.working_branch()?.as_deref() == Some(rec.branch.as_str())
    {
        return Err(Error::blocked(format!("a rebase of {} (phase {id}) is in progress", rec.branch))
            .hint("finish it (git rebase --continue) or abort it (git rebase --abort), then approve"));
    }
    let tip = repo.branch_tip(&rec.branch)?.ok_or_else(|| {
        Error::blocked(format!("branch {} of phase {id} is gone", rec.branch))
            .hint(format!("recreate it from its fork point: git branch {} {}", rec.branch, rec.fork))
    })?;
    if rec.fork_id()? == Some(tip) {
        return Err(Error::blocked(format!("phase {id} has no commits on {} yet: nothing to approve", rec.branch))
            .hint(format!("commit the phase's work first; `git orchestrate phase brief {id}` says what it is")));
    }
    let integration = repo
        .branch_tip(&f.branch)?
        .ok_or_else(|| Error::blocked(format!("integration branch {} is gone", f.branch)))?;
    let here = repo.head()?.branch() == Some(f.branch.as_str());
    if !here {
        if let Some((_, path)) = repo.checked_out_branches()?.into_iter().find(|(b, _)| *b == f.branch) {
            return Err(Error::blocked(format!(
                "{} is checked out in another worktree ({})",
                f.branch,
                path.display()
            ))
            .hint("switch that worktree to another branch, or approve from there"));
        }
    }

    // Only a submitted phase awaits review (a commit after submitting takes it back to work);
    // a person overriding a gate by name decides for a phase that could not be submitted.
    if overrides.is_empty() && accepts.is_empty() && rec.submitted.as_deref() != Some(tip.to_string().as_str()) {
        let why =
            if rec.submitted.is_some() { "has commits after it was submitted" } else { "is not submitted for review" };
        return Err(Error::blocked(format!("phase {id} of {name} {why}")).hint(format!(
            "its owner submits it when it is ready: git orchestrate phase submit {id} --feature {name}"
        )));
    }
    // Approval is bound to evidence: every required gate of every stage passes on the tip's
    // tree, or a person overrides it by name with a reason.
    if !overrides.is_empty() && c.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
        return Err(Error::usage("--override needs the reason in -m").hint(format!(
            "git orchestrate approve phase {id} --override {} -m \"why it may land anyway\"",
            overrides[0]
        )));
    }
    if !accepts.is_empty() && c.message.as_deref().is_none_or(|m| m.trim().is_empty()) {
        return Err(Error::usage("--accept needs the reason in -m").hint(format!(
            "git orchestrate approve phase {id} --accept {} -m \"why the finding is right\"",
            accepts[0]
        )));
    }
    if overrides.iter().any(|o| o == "audit") {
        return Err(Error::usage("the audit gate is not overridden as a whole").hint(
            "each of its findings is accepted by name: --accept audit:<kind>:<file>:<line>, as the refusal lists them",
        ));
    }
    let mut progress = ui.progress();
    let reports = ops::phase_evidence(repo, &loaded, id, tip, false, &mut super::gate_progress(&mut progress));
    progress.clear();
    let reports = reports?;
    let failing: Vec<&crate::gates::Outcome> = reports.iter().flat_map(ops::GateReport::blocking).collect();
    if let Some(name) = overrides.iter().find(|o| !failing.iter().any(|f| &f.evidence.gate == *o)) {
        return Err(Error::usage(format!("--override {name}: gate `{name}` does not block phase {id}"))
            .hint("override only a required gate that fails on the phase's tip"));
    }
    // Audit findings are accepted one by one, by id: the audit passes once every blocking
    // finding is accepted.
    let audit_blocking: Vec<String> = failing
        .iter()
        .filter(|f| f.evidence.kind == crate::gates::Kind::Audit)
        .flat_map(|f| crate::gates::audit::findings_of(&f.evidence))
        .filter(|f| !f.warn)
        .map(|f| f.id)
        .collect();
    if let Some(named) = accepts.iter().find(|a| !audit_blocking.contains(a)) {
        let err = Error::usage(format!(
            "--accept {}: no blocking audit finding of phase {id} has this id",
            output::escape(named)
        ));
        return Err(if audit_blocking.is_empty() {
            err.hint("the audit of the phase's tip blocks nothing")
        } else {
            err.hint(format!("its blocking findings are: {}", output::escape(&audit_blocking.join(", "))))
        });
    }
    let unresolved: Vec<&&crate::gates::Outcome> = failing
        .iter()
        .filter(|f| !overrides.contains(&f.evidence.gate))
        .filter(|f| {
            f.evidence.kind != crate::gates::Kind::Audit
                || crate::gates::audit::findings_of(&f.evidence).iter().any(|x| !x.warn && !accepts.contains(&x.id))
                || f.evidence.verdict != crate::gates::Verdict::Fail
        })
        .collect();
    if !unresolved.is_empty() {
        let mut err = Error::blocked(format!(
            "phase {id} of {name} cannot be approved: {} did not pass on its tip ({})",
            unresolved.iter().map(|o| o.evidence.gate.as_str()).collect::<Vec<_>>().join(", "),
            tip.to_hex_with_len(10)
        ));
        for o in &unresolved {
            let e = &o.evidence;
            err = err.cause(format!("{} {}: {}", e.gate, e.verdict.as_str(), e.summary));
            let shown = if e.kind == crate::gates::Kind::Audit { 20 } else { 5 };
            for r in e.reasons.iter().take(shown) {
                err = err.cause(format!("{}: {r}", e.gate));
            }
        }
        return Err(
            err.hint(format!("fix it on {}, commit, and approve again (only what changed is gated again)", rec.branch))
        );
    }
    let recorded_overrides: Vec<String> =
        overrides.iter().map(|o| format!("{o}: {}", c.message.as_deref().unwrap_or_default().trim())).collect();
    let recorded_accepts: Vec<String> =
        accepts.iter().map(|a| format!("{a}: {}", c.message.as_deref().unwrap_or_default().trim())).collect();

    // Recovery: a squash made by an approval that was interrupted before it was recorded. Only
    // the commit this approval would have made qualifies: its trailers, on top of the last
    // commit the tool made, with exactly the tree the squash gives.
    let trailer = format!("Phase: {id}/{}\n", plan.phases.len());
    let message_at_tip = repo.commit_message(integration)?;
    let last_tool = ops::judging_commit(repo, Some(f))?;
    let parents = repo.commit_parents(integration)?;
    let report_path = format!("plans/{name}/phase-{id}-complete.md");
    let interrupted = message_at_tip.contains(&format!("Feature: {name}\n"))
        && message_at_tip.contains(&trailer)
        && parents.len() == 1
        && Some(parents[0]) == last_tool
        && squash_tree(repo, parents[0], tip)
            .and_then(|t| match repo.blob_at(integration, &report_path)? {
                Some(report) => Ok(repo.tree_with_file(t, &report_path, report)?),
                None => Ok(t),
            })
            .ok()
            == Some(repo.commit_tree(integration)?);
    // Anything else on the integration branch since the tool's last commit must be a plan edit:
    // the squash would carry it into the base unreviewed.
    let since = repo.rev_list(
        &[if interrupted { parents[0] } else { integration }],
        &last_tool.into_iter().collect::<Vec<_>>(),
        None,
    )?;
    for c in since {
        let parent = repo.commit_parents(c)?.first().map(|p| repo.commit_tree(*p)).transpose()?;
        let outside = ops::outside_plan(repo, f, parent, repo.commit_tree(c)?)?;
        if !outside.is_empty() {
            return Err(Error::blocked(format!(
                "{} holds commit {} made by hand, which changes {}",
                f.branch,
                c.to_hex_with_len(10),
                outside.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ))
            .cause("an approval squashes the phase on top of the integration branch, which takes only the tool's commits and plan edits")
            .hint(format!("move that change into a phase, and take it off {}", f.branch)));
        }
    }
    // Every approval path asks the same human question, the recovery below included.
    let question = format!("Approve phase {id} of {name} ({}) and squash it into {}?", def.title, f.branch);
    for o in &recorded_overrides {
        ui.warn(&format!("overriding gate {o}"));
    }
    for a in &recorded_accepts {
        ui.warn(&format!("accepting audit finding {}", output::escape(a)));
    }
    let consent = confirm_human(ui, repo, policy.require, c.yes, &question)?;

    let reviewed = repo.commit_tree(tip)?;
    let commit = if interrupted {
        integration
    } else {
        let squashed = squash_tree(repo, integration, tip)?;
        let by = repo.identity()?.to_string();
        let changes = changed_files(&repo.file_stats(Some(repo.commit_tree(integration)?), squashed)?, 20);
        // The phase report, from the evidence, goes into the squash beside the phase's work:
        // the reviewed tree's evidence stays what it is.
        let review = ops::review::review(repo, &loaded, id, false, &mut |_| {})?;
        let renderer = Renderer::new(Some(repo.workdir()));
        let report = phase_report(
            &renderer,
            &review,
            def,
            &f.plan,
            &by,
            c.message.as_deref(),
            consent.agent.as_deref(),
            &recorded_overrides,
        )?;
        let tree = repo.tree_with_file(squashed, &report_path, repo.write_blob(report.as_bytes())?)?;
        let (tests, coverage) = measured(&review);
        let message = renderer.render(
            "phase-commit.txt",
            minijinja::context! {
                feature => &name, phase => Serde(def), phase_count => plan.phases.len(),
                plan_path => &f.plan, approved_by => by, changes, note => c.message.as_deref(),
                overrides => &recorded_overrides, accepted => &recorded_accepts, reviewed_tree => reviewed.to_string(),
                tests_trailer => tests, coverage_trailer => coverage, report_path => &report_path,
            },
        )?;
        let commit = repo.write_commit(tree, &[integration], &message)?;
        if here {
            // Moving the checked-out branch must move the index and files with it.
            repo.fast_forward_checked_out(commit)?;
        } else {
            repo.cas_ref(
                &format!("refs/heads/{}", f.branch),
                Some(integration),
                commit,
                &format!("orchestrate: approve phase {id}"),
            )?;
        }
        commit
    };
    let event = flow.record_approval(
        &name,
        &loaded.log,
        What::PhaseApproved {
            phase: id,
            commit: commit.to_string(),
            tree: reviewed.to_string(),
            note: c.message.clone(),
            agent: consent.agent,
            overrides: recorded_overrides,
            accepted: recorded_accepts,
            given: crate::state::Given { via: Some(consent.via), sig: None },
        },
        policy.require == crate::config::Require::Signed,
    )?;
    let next = if plan.phases.iter().any(|p| p.id != id && f.phases.get(&p.id).is_none_or(|r| r.approval.is_none())) {
        "git orchestrate phase start next".to_string()
    } else {
        format!("all phases are approved: git orchestrate finish --feature {name}")
    };
    let mut done = Approved {
        feature: name,
        approved: format!("phase {id}"),
        by: event.by,
        object: commit.to_string(),
        already: false,
        shared: None,
    };
    emit(ui, ctx, c.json, &mut done, Some(&next))?;
    // A phase submitted with --pr: its pull request is closed with the squash named.
    match ops::review::close_pull_request(repo, "origin", &f.branch, &rec.branch, commit) {
        Ok(None | Some(None)) => {}
        Ok(Some(Some(command))) => ui.hint(&format!("close its pull request: {}", output::escape(&command))),
        Err(err) => ui.warn(&format!("the pull request of {} is still open: {}", rec.branch, err.message)),
    }
    Ok(())
}

/// The tree of the phase's work on top of the integration branch: the phase tip's own tree when
/// it already contains the integration tip, else a three-way merge (no work tree involved).
fn squash_tree(repo: &git::Repo, integration: ObjectId, tip: ObjectId) -> Result<ObjectId> {
    let base = repo.merge_base(integration, tip)?;
    if base == Some(integration) {
        return Ok(repo.commit_tree(tip)?);
    }
    let base = base.ok_or_else(|| Error::blocked("the phase branch shares no history with the integration branch"))?;
    repo.merge_trees(base, integration, tip).map_err(|e| {
        Error::from(e).hint("rebase the phase branch onto the integration branch, resolve, and approve again")
    })
}

/// The `Tests:` and `Coverage:` trailers, measured by the phase's gates.
fn measured(review: &ops::review::Review) -> (Option<String>, Option<String>) {
    let tests =
        review.gates.iter().find(|g| g.kind == crate::gates::Kind::Tests && g.verdict == crate::gates::Verdict::Pass);
    let tests = tests.and_then(|g| {
        // "24 passed, 0 failed, 0 skipped"
        let mut words = g.summary.split_whitespace();
        let passed: u64 = words.next()?.parse().ok()?;
        let failed: u64 = g.summary.split(", ").nth(1)?.split_whitespace().next()?.parse().ok()?;
        Some(format!("{passed}/{}", passed + failed))
    });
    let coverage = review.coverage.as_ref().and_then(|c| c.percent).map(|p| format!("{p:.1}%"));
    (tests, coverage)
}

/// `phase-<n>-complete.md`, rendered from the review's measurements. A secret never enters it:
/// the text is scanned and any finding redacted.
#[allow(clippy::too_many_arguments)]
fn phase_report(
    renderer: &Renderer,
    review: &ops::review::Review,
    def: &crate::plan::Phase,
    plan_path: &str,
    by: &str,
    note: Option<&str>,
    agent: Option<&str>,
    overrides: &[String],
) -> Result<String> {
    use crate::gates::{Kind, Verdict};
    let gates: Vec<_> = review
        .gates
        .iter()
        .map(|g| {
            let status = match (g.verdict, g.required) {
                (Verdict::Pass, _) => "✅ pass",
                (_, false) => "⚠ optional",
                _ if overrides.iter().any(|o| o.starts_with(&format!("{}:", g.gate))) => "⚠ overridden",
                _ => "❌",
            };
            let target = if g.required { "pass" } else { "advisory" };
            minijinja::context! { gate => &g.gate, target, summary => &g.summary, status }
        })
        .collect();
    let tests = review
        .gates
        .iter()
        .filter(|g| g.kind == Kind::Tests)
        .map(|g| format!("{}: {}", g.gate, g.summary))
        .collect::<Vec<_>>()
        .join("\n");
    let security: Vec<String> = review
        .gates
        .iter()
        .filter(|g| g.kind.entry().security)
        .map(|g| format!("{}: {} ({})", g.gate, g.verdict.as_str(), g.summary))
        .collect();
    let text = renderer.render(
        "phase-complete.md",
        minijinja::context! {
            review => Serde(review), tasks => &def.tasks, plan_path, gates, tests, security,
            note, overrides => overrides.to_vec(), approved_by => by, agent,
            approved_at => crate::env::now().round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_default(),
        },
    )?;
    Ok(crate::secrets::builtin().map_or_else(|| text.clone(), |s| s.redact_text(&text)))
}

fn finish(ui: &Ui, ctx: &Ctx, c: &Common) -> Result<()> {
    let flow = ctx.workflow();
    let name = ctx.finishing_feature(c.feature.as_deref())?;
    let loaded = flow.load(&name)?;
    if let Some(a) = &loaded.feature.finish_approval {
        let tip = ctx.repo.branch_tip(&loaded.feature.branch)?;
        if tip.map(|t| t.to_string()).as_deref() == Some(a.what.as_str()) {
            let mut done = Approved {
                feature: name,
                approved: "finish".into(),
                by: a.by.clone(),
                object: a.what.clone(),
                already: true,
                shared: None,
            };
            return emit(ui, ctx, c.json, &mut done, Some("git orchestrate finish"));
        }
    }
    let question =
        format!("Approve the finish of {name}: merge {} into {}?", loaded.feature.branch, loaded.feature.base);
    let policy = ops::approval_policy(&ctx.repo, &loaded.feature)?;
    let consent = confirm_human(ui, &ctx.repo, policy.require, c.yes, &question)?;
    let mut progress = ui.progress();
    let tip = ops::finish::approve(
        &ctx.repo,
        &loaded,
        c.message.as_deref(),
        consent.agent,
        &mut super::gate_progress(&mut progress),
    );
    progress.clear();
    let tip = tip?;
    let by = ctx.repo.identity()?.to_string();
    let mut done = Approved {
        feature: name.clone(),
        approved: "finish".into(),
        by,
        object: tip.to_string(),
        already: false,
        shared: None,
    };
    emit(ui, ctx, c.json, &mut done, Some(&format!("git orchestrate finish --feature {name}")))
}

/// What a phase changed, for its squash message: a line per file (at most `max`) with the
/// lines it gained and lost.
fn changed_files(stats: &[crate::git::FileStat], max: usize) -> String {
    use crate::git::Status;
    let mut out: Vec<String> = stats
        .iter()
        .take(max)
        .map(|s| {
            let what = match (s.status, s.binary) {
                (_, true) => "binary".to_string(),
                (Status::Added, _) => format!("new, +{}", s.added),
                (Status::Deleted, _) => format!("deleted, −{}", s.removed),
                (Status::Modified, _) if s.added + s.removed == 0 => "changed".to_string(),
                (Status::Modified, _) => format!("+{} −{}", s.added, s.removed),
            };
            format!("- {} ({what})", s.path)
        })
        .collect();
    if stats.len() > max {
        let more = stats.len() - max;
        out.push(format!("- and {more} more file{}", if more == 1 { "" } else { "s" }));
    }
    out.join("\n")
}
