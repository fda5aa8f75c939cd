//! The approvals, a person's decision at each pause point. A plan approval is pinned to the
//! plan's blob, so editing the plan voids it; a phase approval, bound to the evidence on the
//! phase's tip, squashes the phase into one commit on the integration branch with its report
//! beside it; a finish approval names exactly the tip the final gates judged.
//!
//! Each is given in two steps: `prepare_*` checks everything that can refuse and says what the
//! person is asked; the command asks them (the operation never prompts) and hands their answer
//! to `approve_*` as a [`Consent`], which records the approval and shares it with the remote.

use minijinja::value::Serde;
use serde::Serialize;

use super::sync::AutoPush;
use crate::config::{Config, Require};
use crate::error::{Error, Result};
use crate::gates::{self, Kind, Outcome, Verdict};
use crate::git::{self, ObjectId, Repo};
use crate::render::Renderer;
use crate::state::{PhaseApproved, PlanApproved, What};
use crate::workflow::{Loaded, Purpose, Workflow};

/// A person's answer to an approval's question, and where it was given: what the approval
/// records. The command obtains it (`cmd::confirm_human`, after [`approver`]); an operation
/// never asks.
pub struct Consent {
    /// The agent whose environment it was given in, when the user opted in.
    pub agent: Option<String>,
    /// `terminal`, or `--yes without a terminal`.
    pub via: String,
}

/// Who may give an approval, and whether they must still be asked: the human pause point's
/// rule. Refused inside an AI agent's environment, unless the user's own git configuration opts
/// in (never the repository's; the approval then records the agent); under
/// `approvals.require` `tty` (the default) and `signed`, refused without a `terminal`, `--yes`
/// or not; under `any`, `--yes` stands in for the terminal. Without `--yes`, the person at the
/// terminal is asked (`Ask`); with it, consent is given (`Given`).
pub fn approver(repo: &Repo, require: Require, terminal: bool, yes: bool) -> Result<Approver> {
    let agent = crate::env::agent();
    if let Some(agent) = agent {
        if !repo.user_config_bool("orchestrate.allowAgentApprovals") {
            return Err(Error::blocked(format!("approvals are human pause points, and this runs inside {agent}"))
                .hint("ask a person to approve from their own terminal"));
        }
    }
    if !terminal && require != Require::Any {
        return Err(Error::blocked(format!(
            "approving needs a person at a terminal (approvals.require = \"{}\"), and stdin is not one",
            require.as_str()
        ))
        .hint("ask a person to approve from their own terminal"));
    }
    let via = if terminal { "terminal" } else { "--yes without a terminal" };
    let consent = Consent { agent: agent.map(str::to_string), via: via.into() };
    if yes {
        return Ok(Approver::Given(consent));
    }
    if !terminal {
        return Err(Error::usage("approving needs a terminal to ask on, or --yes")
            .hint("run it in a terminal, or add --yes to confirm without one"));
    }
    Ok(Approver::Ask(consent))
}

/// What [`approver`] decided: consent given with `--yes`, or to be asked at the terminal (the
/// consent it becomes when the person says yes).
pub enum Approver {
    Given(Consent),
    Ask(Consent),
}

/// The note given with an approval, checked: it goes into the notes, the squash message and the
/// reports, so it is never a secret.
#[derive(Debug, Clone, Default)]
pub struct Note(Option<String>);

impl Note {
    /// The note, refused when it holds a secret.
    pub fn checked(note: Option<&str>) -> Result<Note> {
        if let Some(note) = note {
            crate::workflow::refuse_secret(note)?;
        }
        Ok(Note(note.map(str::to_string)))
    }

    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The reason a person's named decision needs (an override, an accepted finding).
    fn is_blank(&self) -> bool {
        self.0.as_deref().is_none_or(|m| m.trim().is_empty())
    }
}

/// What became of the pull request a phase was submitted with (`phase submit --pr`).
pub enum PullRequestClosed {
    /// Closed, with the squash named.
    Closed,
    /// `gh` is not on PATH: the command that closes it.
    Command(String),
    /// The pull request of the phase's branch could not be closed: why.
    StillOpen { branch: String, why: String },
}

/// An approval given, or found given already.
#[derive(Serialize)]
pub struct Approved {
    pub feature: String,
    /// `plan`, `phase <n>` or `finish`.
    pub approved: String,
    pub by: String,
    /// The plan's blob, the phase's squash commit, or the finished tip.
    pub object: String,
    pub already: bool,
    /// What became of sharing the approval with the remote (`[sync] push`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared: Option<AutoPush>,
    /// The command that moves the feature on.
    #[serde(skip)]
    pub next: Option<String>,
    /// The phase's pull request, when it was submitted with one.
    #[serde(skip)]
    pub pull_request: Option<PullRequestClosed>,
}

impl Approved {
    fn already(feature: &str, approved: String, by: &str, object: String, next: Option<String>) -> Approved {
        Approved {
            feature: feature.to_string(),
            approved,
            by: by.to_string(),
            object,
            already: true,
            shared: None,
            next,
            pull_request: None,
        }
    }
}

/// A prepared approval: given already, or the question to put to a person (built once per run,
/// so the size of its variants does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Prepared<P> {
    Already(Approved),
    Ask(P),
}

/// One setting a plan's phase tunes on a gate, shown before the plan is approved.
pub struct Tuned {
    pub phase: u32,
    pub gate: String,
    pub key: String,
    pub value: String,
    /// What `.orchestrate.toml` says (`unset`).
    pub was: String,
}

/// A plan approval, checked: what the person is shown and asked.
pub struct PlanApproval<'a> {
    pub question: String,
    /// What the approval needs (a terminal, a signature).
    pub require: Require,
    /// Every gate setting the plan tunes: what is approved is seen.
    pub tuned: Vec<Tuned>,
    loaded: &'a Loaded,
    blob: ObjectId,
    note: Note,
}

/// Check a plan approval: the committed plan is valid, not approved already as it is, and
/// (checked out) has no uncommitted edits, since the approval is pinned to the committed blob.
pub fn prepare_plan<'a>(
    repo: &Repo,
    config: &Config,
    loaded: &'a Loaded,
    note: Note,
) -> Result<Prepared<PlanApproval<'a>>> {
    let name = &loaded.feature.name;
    let (plan, blob) = match &loaded.plan {
        Ok(p) => p.clone(),
        Err(e) => {
            return Err(Error::blocked(format!("the plan cannot be approved: {}", e.message))
                .hint(format!("fix it and commit: git orchestrate plan lint --feature {name}")))
        }
    };
    let f = &loaded.feature;
    let next = Some("git orchestrate phase start next".to_string());
    let approved_blob = f.plan_approval.as_ref().map(|a| a.what);
    if let Some(a) = f.plan_approval.as_ref().filter(|_| approved_blob == Some(blob)) {
        return Ok(Prepared::Already(Approved::already(name, "plan".into(), &a.by, blob.to_string(), next)));
    }
    if repo.head()?.branch() == Some(f.branch.as_str()) {
        let on_disk = std::fs::read(repo.workdir().join(&f.plan)).ok();
        if on_disk.is_some_and(|b| git::blob_id(&b) != blob) {
            return Err(Error::blocked(format!("{} has edits that are not committed", f.plan)).hint(format!(
                "commit them first (git commit {}): the approval is pinned to the committed plan",
                f.plan
            )));
        }
    }
    let mut tuned = Vec::new();
    for def in &plan.phases {
        for (gate, table) in &def.gates {
            let configured = config.gates.get(gate);
            let Some(table) = table.as_table() else { continue };
            for (key, value) in table {
                let was = configured
                    .and_then(|g| toml::Table::try_from(g).ok())
                    .and_then(|t| t.get(key).map(ToString::to_string))
                    .unwrap_or_else(|| "unset".into());
                tuned.push(Tuned {
                    phase: def.id,
                    gate: gate.clone(),
                    key: key.clone(),
                    value: value.to_string(),
                    was,
                });
            }
        }
    }
    let question = format!("Approve the plan of {name} ({}, {} phases)?", plan.title, plan.phases.len());
    let require = super::approval_policy(repo, f)?.require;
    Ok(Prepared::Ask(PlanApproval { question, require, tuned, loaded, blob, note }))
}

/// Record the plan approval a person gave, pinned to the plan's blob, and share it.
pub fn approve_plan(repo: &Repo, config: &Config, pending: PlanApproval<'_>, consent: Consent) -> Result<Approved> {
    let PlanApproval { require, loaded, blob, note, .. } = pending;
    let name = &loaded.feature.name;
    let event = Workflow::new(repo, config).record_approval(
        name,
        &loaded.log,
        What::PlanApproved(PlanApproved {
            plan_blob: blob,
            note: note.0,
            agent: consent.agent,
            via: Some(consent.via),
            sig: None,
        }),
        require == Require::Signed,
    )?;
    Ok(Approved {
        feature: name.clone(),
        approved: "plan".into(),
        by: event.by,
        object: blob.to_string(),
        already: false,
        shared: Some(super::sync::after_approval(repo, config)),
        next: Some("git orchestrate phase start next".into()),
        pull_request: None,
    })
}

/// What a phase approval names.
pub struct PhaseRequest<'a> {
    /// The phase (default: the one checked out, else the only one awaiting review).
    pub phase: Option<u32>,
    /// Required gates a person lets through, with the reason in the note.
    pub overrides: &'a [String],
    /// Audit findings a person accepts by id, with the reason in the note.
    pub accepts: &'a [String],
    pub note: Note,
}

/// A phase approval, checked: what the person is shown and asked.
pub struct PhaseApproval<'a> {
    pub question: String,
    /// What the approval needs (a terminal, a signature).
    pub require: Require,
    /// The overrides as recorded, `<gate>: <reason>`.
    pub overrides: Vec<String>,
    /// The accepted audit findings as recorded, `<id>: <reason>`.
    pub accepts: Vec<String>,
    loaded: &'a Loaded,
    id: u32,
    tip: ObjectId,
    integration: ObjectId,
    /// The integration branch is checked out here.
    here: bool,
    /// The squash was made by an approval interrupted before it was recorded.
    interrupted: bool,
    report_path: String,
    note: Note,
}

/// Check a phase approval: the plan is approved (and every recorded approval verifies), the
/// phase started, has work, was submitted at its tip (or a person overrides gates or accepts
/// findings by name, with a reason); every required gate of every stage passes on the tip's
/// tree (what never ran, runs now), or is overridden, or is the audit with each blocking
/// finding accepted; and the integration branch holds nothing made by hand since the tool's
/// last commit. An interrupted approval's squash is recognised, to be recorded.
pub fn prepare_phase<'a>(
    repo: &Repo,
    config: &Config,
    loaded: &'a Loaded,
    req: PhaseRequest<'_>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Prepared<PhaseApproval<'a>>> {
    let PhaseRequest { phase: n, overrides, accepts, note } = req;
    let view = Workflow::new(repo, config).view_of(loaded)?;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    let f = &loaded.feature;
    let name = &f.name;
    let id = match n {
        Some(id) => id,
        None => view.phase_meant(repo.working_branch()?.as_deref(), Purpose::Review("approve phase"))?,
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
    let policy = super::approval_policy(repo, f)?;
    super::require_verified(repo, &loaded.log)?;
    let Some(rec) = f.phases.get(&id) else {
        return Err(Error::blocked(format!("phase {id} of {name} has not started"))
            .hint(format!("git orchestrate phase start {id} --feature {name}")));
    };
    if let Some(a) = &rec.approval {
        return Ok(Prepared::Already(Approved::already(name, format!("phase {id}"), &a.by, a.what.to_string(), None)));
    }
    // A rebase of the phase in progress: its branch does not yet hold what is being reviewed.
    if matches!(repo.head()?, git::Head::Detached { .. })
        && repo.working_branch()?.as_deref() == Some(rec.branch.as_str())
    {
        return Err(Error::blocked(format!("a rebase of {} (phase {id}) is in progress", rec.branch))
            .hint("finish it (git rebase --continue) or abort it (git rebase --abort), then approve"));
    }
    let tip = repo.branch_tip(&rec.branch)?.ok_or_else(|| {
        Error::blocked(format!("branch {} of phase {id} is gone", rec.branch)).hint(format!(
            "recreate it from its fork point: git branch {} {}",
            rec.branch,
            rec.fork.map(|f| f.to_string()).unwrap_or_default()
        ))
    })?;
    if rec.fork == Some(tip) {
        return Err(Error::blocked(format!("phase {id} has no commits on {} yet: nothing to approve", rec.branch))
            .hint(format!("commit the phase's work first; `git orchestrate phase brief {id}` says what it is")));
    }
    let integration = crate::workflow::Workflow::new(repo, config).integration_tip(f)?;
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
    if overrides.is_empty() && accepts.is_empty() && rec.submitted != Some(tip) {
        let why =
            if rec.submitted.is_some() { "has commits after it was submitted" } else { "is not submitted for review" };
        return Err(Error::blocked(format!("phase {id} of {name} {why}")).hint(format!(
            "its owner submits it when it is ready: git orchestrate phase submit {id} --feature {name}"
        )));
    }
    // Approval is bound to evidence: every required gate of every stage passes on the tip's
    // tree, or a person overrides it by name with a reason.
    if !overrides.is_empty() && note.is_blank() {
        return Err(Error::usage("--override needs the reason in -m").hint(format!(
            "git orchestrate approve phase {id} --override {} -m \"why it may land anyway\"",
            overrides[0]
        )));
    }
    if !accepts.is_empty() && note.is_blank() {
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
    let reports = super::phase_evidence(repo, loaded, id, tip, false, progress)?;
    let failing: Vec<&Outcome> = reports.iter().flat_map(super::GateReport::blocking).collect();
    if let Some(name) = overrides.iter().find(|o| !failing.iter().any(|f| &f.evidence.gate == *o)) {
        return Err(Error::usage(format!("--override {name}: gate `{name}` does not block phase {id}"))
            .hint("override only a required gate that fails on the phase's tip"));
    }
    // Audit findings are accepted one by one, by id: the audit passes once every blocking
    // finding is accepted.
    let audit_blocking: Vec<String> = failing
        .iter()
        .filter(|f| f.evidence.kind == Kind::Audit)
        .flat_map(|f| gates::audit::findings_of(&f.evidence))
        .filter(|f| !f.warn)
        .map(|f| f.id)
        .collect();
    if let Some(named) = accepts.iter().find(|a| !audit_blocking.contains(a)) {
        let err = Error::usage(format!(
            "--accept {}: no blocking audit finding of phase {id} has this id",
            crate::output::escape(named)
        ));
        return Err(if audit_blocking.is_empty() {
            err.hint("the audit of the phase's tip blocks nothing")
        } else {
            err.hint(format!("its blocking findings are: {}", crate::output::escape(&audit_blocking.join(", "))))
        });
    }
    let unresolved: Vec<&&Outcome> = failing
        .iter()
        .filter(|f| !overrides.contains(&f.evidence.gate))
        .filter(|f| {
            f.evidence.kind != Kind::Audit
                || gates::audit::findings_of(&f.evidence).iter().any(|x| !x.warn && !accepts.contains(&x.id))
                || f.evidence.verdict != Verdict::Fail
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
            let shown = if e.kind == Kind::Audit { 20 } else { 5 };
            for r in e.reasons.iter().take(shown) {
                err = err.cause(format!("{}: {r}", e.gate));
            }
        }
        return Err(
            err.hint(format!("fix it on {}, commit, and approve again (only what changed is gated again)", rec.branch))
        );
    }
    let reason = note.as_deref().unwrap_or_default().trim();
    let recorded_overrides: Vec<String> = overrides.iter().map(|o| format!("{o}: {reason}")).collect();
    let recorded_accepts: Vec<String> = accepts.iter().map(|a| format!("{a}: {reason}")).collect();

    // Recovery: a squash made by an approval that was interrupted before it was recorded. Only
    // the commit this approval would have made qualifies: its trailers, on top of the last
    // commit the tool made, with exactly the tree the squash gives.
    let trailer = format!("Phase: {id}/{}\n", plan.phases.len());
    let message_at_tip = repo.commit_message(integration)?;
    let last_tool = super::judging_commit(repo, Some(f))?;
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
        let outside = super::outside_plan(repo, f, parent, repo.commit_tree(c)?)?;
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
    // Every approval path asks the same human question, the recovery included.
    let question = format!("Approve phase {id} of {name} ({}) and squash it into {}?", def.title, f.branch);
    Ok(Prepared::Ask(PhaseApproval {
        question,
        require: policy.require,
        overrides: recorded_overrides,
        accepts: recorded_accepts,
        loaded,
        id,
        tip,
        integration,
        here,
        interrupted,
        report_path,
        note,
    }))
}

/// Give the phase approval a person consented to: the phase squashed into one commit on the
/// integration branch (its report beside the reviewed work, the message from the template), or
/// an interrupted approval's squash taken as it is; the approval recorded, shared, and the
/// phase's pull request closed.
pub fn approve_phase(repo: &Repo, config: &Config, pending: PhaseApproval<'_>, consent: Consent) -> Result<Approved> {
    let PhaseApproval {
        require,
        overrides,
        accepts,
        loaded,
        id,
        tip,
        integration,
        here,
        interrupted,
        report_path,
        note,
        ..
    } = pending;
    let f = &loaded.feature;
    let name = &f.name;
    let (plan, _) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    let def = plan.phase(id).ok_or_else(|| Error::usage(format!("{name} has no phase {id}")))?;
    let rec = &f.phases[&id];
    let reviewed = repo.commit_tree(tip)?;
    let commit = if interrupted {
        integration
    } else {
        let squashed = squash_tree(repo, integration, tip)?;
        let by = repo.identity()?.to_string();
        let changes = changed_files(&repo.file_stats(Some(repo.commit_tree(integration)?), squashed)?, 20);
        // The phase report, from the evidence, goes into the squash beside the phase's work:
        // the reviewed tree's evidence stays what it is.
        let review = super::review::review(repo, loaded, id, false, &mut |_| {})?;
        let renderer = Renderer::new(Some(repo.workdir()));
        let report =
            phase_report(&renderer, &review, def, &f.plan, &by, note.as_deref(), consent.agent.as_deref(), &overrides)?;
        let tree = repo.tree_with_file(squashed, &report_path, repo.write_blob(report.as_bytes())?)?;
        let (tests, coverage) = measured(&review);
        let message = renderer.render(
            "phase-commit.txt",
            minijinja::context! {
                feature => name, phase => Serde(def), phase_count => plan.phases.len(),
                plan_path => &f.plan, approved_by => by, changes, note => note.as_deref(),
                overrides => &overrides, accepted => &accepts, reviewed_tree => reviewed.to_string(),
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
    let event = Workflow::new(repo, config).record_approval(
        name,
        &loaded.log,
        What::PhaseApproved(PhaseApproved {
            phase: id,
            commit,
            tree: reviewed,
            note: note.0,
            agent: consent.agent,
            overrides,
            accepted: accepts,
            via: Some(consent.via),
            sig: None,
        }),
        require == Require::Signed,
    )?;
    let next = if plan.phases.iter().any(|p| p.id != id && f.phases.get(&p.id).is_none_or(|r| r.approval.is_none())) {
        "git orchestrate phase start next".to_string()
    } else {
        format!("all phases are approved: git orchestrate finish --feature {name}")
    };
    // A new decision is shared with the team's remote at once; one that cannot be shared now
    // stands all the same, and `sync` catches up.
    let shared = Some(super::sync::after_approval(repo, config));
    // A phase submitted with --pr: its pull request is closed with the squash named.
    let pull_request = match super::review::close_pull_request(repo, "origin", &f.branch, &rec.branch, commit) {
        Ok(None) => None,
        Ok(Some(None)) => Some(PullRequestClosed::Closed),
        Ok(Some(Some(command))) => Some(PullRequestClosed::Command(command)),
        Err(err) => Some(PullRequestClosed::StillOpen { branch: rec.branch.clone(), why: err.message }),
    };
    Ok(Approved {
        feature: name.clone(),
        approved: format!("phase {id}"),
        by: event.by,
        object: commit.to_string(),
        already: false,
        shared,
        next: Some(next),
        pull_request,
    })
}

/// The tree of the phase's work on top of the integration branch: the phase tip's own tree when
/// it already contains the integration tip, else a three-way merge (no work tree involved).
fn squash_tree(repo: &Repo, integration: ObjectId, tip: ObjectId) -> Result<ObjectId> {
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
fn measured(review: &super::review::Review) -> (Option<String>, Option<String>) {
    let tests = review.gates.iter().find(|g| g.kind == Kind::Tests && g.verdict == Verdict::Pass);
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
    review: &super::review::Review,
    def: &crate::plan::Phase,
    plan_path: &str,
    by: &str,
    note: Option<&str>,
    agent: Option<&str>,
    overrides: &[String],
) -> Result<String> {
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

/// What a phase changed, for its squash message: a line per file (at most `max`) with the
/// lines it gained and lost.
fn changed_files(stats: &[git::FileStat], max: usize) -> String {
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

/// A finish approval, checked: what the person is asked.
pub struct FinishApproval<'a> {
    pub question: String,
    /// What the approval needs (a terminal, a signature).
    pub require: Require,
    loaded: &'a Loaded,
    note: Note,
}

/// Check a finish approval: given already for the integration tip as it is, or the question.
pub fn prepare_finish<'a>(repo: &Repo, loaded: &'a Loaded, note: Note) -> Result<Prepared<FinishApproval<'a>>> {
    let f = &loaded.feature;
    if let Some(a) = &f.finish_approval {
        let tip = repo.branch_tip(&f.branch)?;
        if tip == Some(a.what) {
            let next = Some("git orchestrate finish".to_string());
            return Ok(Prepared::Already(Approved::already(&f.name, "finish".into(), &a.by, a.what.to_string(), next)));
        }
    }
    let question = format!("Approve the finish of {}: merge {} into {}?", f.name, f.branch, f.base);
    let require = super::approval_policy(repo, f)?.require;
    Ok(Prepared::Ask(FinishApproval { question, require, loaded, note }))
}

/// Give the finish approval a person consented to (see [`super::finish::approve`]), and share it.
pub fn approve_finish(
    repo: &Repo,
    config: &Config,
    pending: FinishApproval<'_>,
    consent: Consent,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Approved> {
    let FinishApproval { loaded, note, .. } = pending;
    let name = &loaded.feature.name;
    let tip = super::finish::approve(repo, loaded, note.as_deref(), consent.agent, progress)?;
    let by = repo.identity()?.to_string();
    Ok(Approved {
        feature: name.clone(),
        approved: "finish".into(),
        by,
        object: tip.to_string(),
        already: false,
        shared: Some(super::sync::after_approval(repo, config)),
        next: Some(format!("git orchestrate finish --feature {name}")),
        pull_request: None,
    })
}
