//! The finish pause point: the final gates on the integration tip (against the base as it is
//! now), `complete.md`, a person's approval of exactly that tip, then the merge into the base.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{gate, GateReport, GateRequest};
use crate::error::{Error, Result};
use crate::gates::{self, Kind, Verdict};
use crate::git::{ObjectId, Repo, Status};
use crate::render::Renderer;
use crate::state::What;
use crate::workflow::{Loaded, Workflow};

/// How the feature lands on its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// A merge commit whose second parent is the integration tip (the phases stay visible).
    Merge,
    /// One commit on the base with the feature's whole change.
    Squash,
    /// The phase commits on the base, one after the other (a fast-forward).
    Rebase,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Merge => "merge",
            Strategy::Squash => "squash",
            Strategy::Rebase => "rebase",
        }
    }
}

/// Where `finish` got to.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case", tag = "step")]
pub enum Finish {
    /// The final gates ran and `complete.md` is on the integration branch: a person approves.
    AwaitingApproval { tip: String, complete: String, base_merged: bool },
    /// Merged into the base.
    Merged { commit: String, strategy: Strategy, deleted: Vec<String>, remote_branches: Vec<String> },
    /// The base already held the feature (merged by hand): recorded.
    Recognised { commit: String },
}

/// The final gates' reports and what `finish` did.
pub struct Finished {
    pub gates: Vec<GateReport>,
    pub finish: Finish,
    /// The forge protects the base: the feature goes through a pull request.
    pub protected: bool,
    /// The pull request against the base with `complete.md` as its body, once it is written and
    /// one was asked for (or the base is protected): opened or prepared, or why not.
    pub pull_request: Option<Result<super::review::PullRequest>>,
}

impl Finished {
    fn new(gates: Vec<GateReport>, finish: Finish) -> Finished {
        Finished { gates, finish, protected: false, pull_request: None }
    }
}

/// What `finish` is asked.
pub struct FinishRequest<'a> {
    /// How the feature lands on its base.
    pub strategy: Strategy,
    /// Open a pull request against the base once `complete.md` is written.
    pub pr: bool,
    /// The remote of the pull request.
    pub remote: &'a str,
    /// Run the configuration's commands without a trust record.
    pub trust: bool,
    /// Ask the forge whether the base is protected and open the pull request; false leaves the
    /// forge alone (`finish --json` never did either).
    pub forge: bool,
}

/// Finish a feature (see [`Finish`]); once `complete.md` is written, a base the forge protects
/// takes the feature through a pull request, as does one asked for.
pub fn finish(
    repo: &Repo,
    loaded: &Loaded,
    req: &FinishRequest<'_>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Finished> {
    let mut done = gate_and_merge(repo, loaded, req.strategy, req.trust, progress)?;
    let Finish::AwaitingApproval { tip, complete, .. } = &done.finish else { return Ok(done) };
    if !req.forge {
        return Ok(done);
    }
    let f = &loaded.feature;
    done.protected = !req.pr && repo.gh_branch_protected(&f.base);
    if (req.pr || done.protected) && !complete.is_empty() {
        let open = || -> Result<super::review::PullRequest> {
            let tip = ObjectId::from_hex(tip.as_bytes())
                .map_err(|_| Error::blocked(format!("the finish report names no commit: {tip:?}")))?;
            let body = repo.tree_blob(repo.commit_tree(tip)?, complete)?.unwrap_or_default();
            let title = loaded.plan.as_ref().map_or_else(|_| f.title.clone(), |(p, _)| p.title.clone());
            super::review::pull_request(
                repo,
                req.remote,
                &f.base,
                &f.branch,
                &format!("feat: {title}"),
                &String::from_utf8_lossy(&body),
            )
        };
        done.pull_request = Some(open());
    }
    Ok(done)
}

fn complete_path(feature: &str) -> String {
    format!("plans/{feature}/complete.md")
}

/// Run the finish: see [`Finish`]. Refuses (with what failed and what to run next) when a phase
/// is not approved, a final gate fails, the base cannot be merged in without conflicts, or the
/// base moved after the approval.
fn gate_and_merge(
    repo: &Repo,
    loaded: &Loaded,
    strategy: Strategy,
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Finished> {
    let f = &loaded.feature;
    let name = &f.name;
    if let Some(done) = &f.finished {
        return Err(Error::blocked(format!("{name} is finished (merged as {})", done.what.to_hex_with_len(10))));
    }
    let (plan, plan_blob) = loaded.plan.as_ref().map_err(|e| Error::blocked(e.message.clone()))?;
    if !f.plan_approved_as(Some(*plan_blob)) {
        return Err(Error::blocked(format!("the plan of {name} awaits approval"))
            .hint(format!("git orchestrate approve plan --feature {name}")));
    }
    if let Some(p) = plan.phases.iter().find(|p| f.phases.get(&p.id).is_none_or(|r| r.approval.is_none())) {
        return Err(Error::blocked(format!("phase {} of {name} is not approved yet", p.id))
            .hint(format!("git orchestrate status --feature {name} says what it waits for")));
    }
    let (config, _) = super::judging_config(repo, Some(f))?;
    let flow = Workflow::new(repo, &config);
    let integration = flow.integration_tip(f)?;
    let base_tip =
        repo.branch_tip(&f.base)?.ok_or_else(|| Error::blocked(format!("base branch {} is gone", f.base)))?;

    // Approved: merge exactly what was approved.
    if let Some(approval) = &f.finish_approval {
        let approved = approval.what;
        if approved != integration {
            return Err(Error::blocked(format!(
                "{} moved after the finish was approved ({} approved, {} now)",
                f.branch,
                approved.to_hex_with_len(10),
                integration.to_hex_with_len(10)
            ))
            .hint(format!("run `git orchestrate finish --feature {name}` again, and approve it again")));
        }
        return merge(repo, &flow, loaded, strategy, integration, base_tip)
            .map(|finish| Finished::new(Vec::new(), finish));
    }

    // A merge made by hand before finish: the base holds the integration tip already.
    let by_hand = repo.merge_base(integration, base_tip)? == Some(integration);

    // The base as it is now: merge it in first when it moved (conflicts are reported, never forced).
    let mut tip = integration;
    let mut base_merged = false;
    if !by_hand && repo.merge_base(base_tip, integration)? != Some(base_tip) {
        let common = repo
            .merge_base(base_tip, integration)?
            .ok_or_else(|| Error::blocked(format!("{} shares no history with {}", f.branch, f.base)))?;
        let tree = repo.merge_trees(common, integration, base_tip).map_err(|e| {
            Error::from(e).hint(format!(
                "{0} moved and conflicts with the feature: merge it into {1} by hand (git switch {1} && git merge {0}), resolve, commit, then finish again",
                f.base, f.branch
            ))
        })?;
        let message =
            format!("chore({name}): merge {} into the integration branch before finish\n\nFeature: {name}\n", f.base);
        tip = repo.write_commit(tree, &[integration, base_tip], &message)?;
        base_merged = true;
    }

    // The final gates: every required gate of every stage, on the tip as it will land.
    let rev = tip.to_string();
    let req = GateRequest { stage: None, rev: Some(&rev), trust, ..GateRequest::default() };
    let report = gate(repo, Some(loaded), &req, progress)?;
    if !report.blocking().is_empty() {
        let names: Vec<&str> = report.blocking().iter().map(|o| o.evidence.gate.as_str()).collect();
        let mut err = Error::blocked(format!(
            "{name} cannot finish: {} did not pass on {}",
            names.join(", "),
            tip.to_hex_with_len(10)
        ));
        for o in report.blocking() {
            for r in o.evidence.reasons.iter().take(5) {
                err = err.cause(format!("{}: {r}", o.evidence.gate));
            }
        }
        return Err(err.hint("fix it in a new phase (add one to the plan, approve it, run it), then finish again"));
    }
    if by_hand {
        // Merged by hand before finish: approved and recorded like any finish, without a
        // complete.md commit (the base holds the feature already).
        return Ok(Finished::new(
            vec![report],
            Finish::AwaitingApproval { tip: integration.to_string(), complete: String::new(), base_merged: false },
        ));
    }

    // complete.md, committed on the integration branch by the tool: what the approval covers.
    let text = complete(repo, loaded, tip, base_tip, &report)?;
    let path = complete_path(name);
    let tree = repo.tree_with_file(repo.commit_tree(tip)?, &path, repo.write_blob(text.as_bytes())?)?;
    let message = format!("docs({name}): complete.md\n\nSee: {path}\n\nFeature: {name}\n");
    let commit = repo.write_commit(tree, &[tip], &message)?;
    move_branch(repo, &f.branch, integration, commit, "orchestrate: finish")?;
    Ok(Finished::new(vec![report], Finish::AwaitingApproval { tip: commit.to_string(), complete: path, base_merged }))
}

/// Move a branch that may be checked out here (then the work tree moves with it, by git).
fn move_branch(repo: &Repo, branch: &str, from: ObjectId, to: ObjectId, reason: &str) -> Result<()> {
    if repo.head()?.branch() == Some(branch) {
        repo.fast_forward_checked_out(to)?;
        return Ok(());
    }
    if let Some((_, path)) = repo.checked_out_branches()?.into_iter().find(|(b, _)| b == branch) {
        return Err(Error::blocked(format!("{branch} is checked out in another worktree ({})", path.display()))
            .hint("switch that worktree to another branch, or run this there"));
    }
    repo.cas_ref(&format!("refs/heads/{branch}"), Some(from), to, reason)?;
    Ok(())
}

fn merge(
    repo: &Repo,
    flow: &Workflow<'_>,
    loaded: &Loaded,
    strategy: Strategy,
    integration: ObjectId,
    base_tip: ObjectId,
) -> Result<Finish> {
    let f = &loaded.feature;
    let name = &f.name;
    let by = repo.identity()?.to_string();
    let contains = |a: ObjectId, b: ObjectId| -> Result<bool> { Ok(repo.merge_base(a, b)? == Some(a)) };
    // Merged by hand (the base holds the approved tip): record it.
    if contains(integration, base_tip)? {
        flow.record(
            name,
            &loaded.log,
            What::Finished(crate::state::Finished { commit: base_tip, strategy: "by-hand".into() }),
        )?;
        return Ok(Finish::Recognised { commit: base_tip.to_string() });
    }
    if !contains(base_tip, integration)? {
        return Err(Error::blocked(format!("{} moved after the finish was approved", f.base)).hint(format!(
            "run `git orchestrate finish --feature {name}` again: it merges {} in and re-gates",
            f.base
        )));
    }
    let tree = repo.commit_tree(integration)?;
    let commit = match strategy {
        Strategy::Rebase => integration,
        Strategy::Merge | Strategy::Squash => {
            let message = finish_message(repo, loaded, base_tip, integration, &by)?;
            let parents: Vec<ObjectId> =
                if strategy == Strategy::Merge { vec![base_tip, integration] } else { vec![base_tip] };
            repo.write_commit(tree, &parents, &message)?
        }
    };
    move_branch(repo, &f.base, base_tip, commit, &format!("orchestrate: finish {name}"))?;
    flow.record(
        name,
        &loaded.log,
        What::Finished(crate::state::Finished { commit, strategy: strategy.as_str().into() }),
    )?;
    // The phase branches are done: delete the local ones still at the tree their reviewer
    // approved (their work is in the squash); anything else on them is left alone.
    let mut deleted = Vec::new();
    let checked_out: Vec<String> = repo.checked_out_branches()?.into_iter().map(|(b, _)| b).collect();
    for rec in f.phases.values() {
        let Some(tip) = repo.branch_tip(&rec.branch)? else { continue };
        let reviewed = rec.approval.as_ref().and_then(|a| a.tree);
        if checked_out.contains(&rec.branch) || reviewed != Some(repo.commit_tree(tip)?) {
            continue;
        }
        repo.delete_ref(&format!("refs/heads/{}", rec.branch), tip)?;
        deleted.push(rec.branch.clone());
    }
    let remote_branches: Vec<String> = repo
        .remote_branches()?
        .into_iter()
        .filter(|(_, b)| f.phase_on(b).is_some())
        .map(|(remote, b)| format!("git push {remote} --delete {b}"))
        .collect();
    Ok(Finish::Merged { commit: commit.to_string(), strategy, deleted, remote_branches })
}

/// The finish commit's message: the workflow's `feat: …` shape, the phases' subjects, the tests.
fn finish_message(repo: &Repo, loaded: &Loaded, base_tip: ObjectId, integration: ObjectId, by: &str) -> Result<String> {
    let f = &loaded.feature;
    let subjects: Vec<String> = phase_commits(repo, loaded)?.into_iter().map(|(_, subject)| subject).collect();
    let tests = final_tests(repo, loaded, integration)?;
    let _ = base_tip;
    let title = loaded.plan.as_ref().map_or_else(|_| f.title.clone(), |(p, _)| p.title.clone());
    Ok(Renderer::new(Some(repo.workdir())).render(
        "finish-commit.txt",
        minijinja::context! {
            title, subjects, tests, complete_path => complete_path(&f.name), feature => &f.name, approved_by => by,
        },
    )?)
}

/// Each approved phase's squash commit and its subject, in phase order.
fn phase_commits(repo: &Repo, loaded: &Loaded) -> Result<Vec<(u32, String)>> {
    let mut out = Vec::new();
    for (id, rec) in &loaded.feature.phases {
        if let Some(a) = &rec.approval {
            let subject = repo.commit_message(a.what)?.lines().next().unwrap_or_default().to_string();
            out.push((*id, subject));
        }
    }
    Ok(out)
}

/// The records that count under the feature's evidence policy (all of them unless `signed`).
fn admitted(repo: &Repo, loaded: &Loaded, records: Vec<gates::Evidence>) -> Result<Vec<gates::Evidence>> {
    Ok(match crate::workflow::evidence_signing(repo, Some(&loaded.feature))? {
        Some(s) => s.admitted(records)?,
        None => records,
    })
}

/// "41 tests, all passing", from the tests gate's evidence on the final tree, when there is one.
fn final_tests(repo: &Repo, loaded: &Loaded, tip: ObjectId) -> Result<Option<String>> {
    let records = admitted(repo, loaded, gates::evidence_for(repo, repo.commit_tree(tip)?)?)?;
    Ok(records
        .iter()
        .rev()
        .find(|e| e.kind == Kind::Tests && e.verdict == Verdict::Pass)
        .map(|e| format!("tests: {}", e.summary)))
}

/// `complete.md`, from the log, the phases' evidence and the final gates.
fn complete(repo: &Repo, loaded: &Loaded, tip: ObjectId, base_tip: ObjectId, report: &GateReport) -> Result<String> {
    let f = &loaded.feature;
    let plan = loaded.plan.as_ref().ok().map(|(p, _)| p);
    let evidence = repo.notes_tree(gates::EVIDENCE_REF)?;
    let mut phases = Vec::new();
    let mut overridden = Vec::new();
    for (id, rec) in &f.phases {
        let Some(a) = &rec.approval else { continue };
        let def = plan.and_then(|p| p.phase(*id));
        let tree = a.tree;
        let records = match (&evidence, tree) {
            (Some(notes), Some(tree)) => admitted(repo, loaded, gates::evidence_in(notes, tree)?)?,
            _ => Vec::new(),
        };
        let latest = |kind: Kind| records.iter().rev().find(|e| e.kind == kind).map(|e| e.summary.clone());
        let mut verdicts: BTreeMap<String, &str> = BTreeMap::new();
        for e in &records {
            verdicts.insert(e.gate.clone(), e.verdict.as_str());
        }
        let gates_line = verdicts.iter().map(|(g, v)| format!("{g} {v}")).collect::<Vec<_>>().join(", ");
        overridden.extend(a.overrides.iter().map(|o| format!("phase {id}: {o}")));
        phases.push(minijinja::context! {
            id, title => def.map(|d| d.title.clone()).unwrap_or_default(),
            owner => def.map(|d| d.owner.clone()).unwrap_or_default(),
            gates => if gates_line.is_empty() { "none".to_string() } else { gates_line },
            tests => latest(Kind::Tests).unwrap_or_else(|| "—".into()),
            coverage => latest(Kind::Coverage).unwrap_or_else(|| "—".into()),
            duration => between(&rec.started_at, &a.at),
            commit => a.what.to_hex_with_len(10).to_string(),
        });
    }
    for ((phase, gate), run) in &f.gate_runs {
        if run.verdict == crate::state::RunVerdict::Skipped {
            overridden.push(format!("phase {phase}: {gate} skipped (ORCHESTRATE_SKIP)"));
        }
    }
    let find =
        |kind: Kind| report.outcomes.iter().find(|o| o.evidence.kind == kind).map(|o| o.evidence.summary.clone());
    let gates_rows: Vec<_> = report
        .outcomes
        .iter()
        .map(|o| minijinja::context! { gate => &o.evidence.gate, verdict => o.evidence.verdict.as_str(), summary => &o.evidence.summary })
        .collect();
    let security: Vec<String> = report
        .outcomes
        .iter()
        .filter(|o| o.evidence.kind.entry().security)
        .map(|o| format!("{}: {} ({})", o.evidence.gate, o.evidence.verdict.as_str(), o.evidence.summary))
        .collect();
    let stats = repo.file_stats(Some(repo.commit_tree(base_tip)?), repo.commit_tree(tip)?)?;
    let count = |s: Status| stats.iter().filter(|f| f.status == s).count();
    let files = minijinja::context! {
        count => stats.len(), created => count(Status::Added), modified => count(Status::Modified),
        deleted => count(Status::Deleted), added => stats.iter().map(|s| s.added).sum::<u32>(),
        removed => stats.iter().map(|s| s.removed).sum::<u32>(),
    };
    let commits: Vec<String> =
        phase_commits(repo, loaded)?.into_iter().map(|(id, s)| format!("phase {id}: {s}")).collect();
    let totals = minijinja::context! {
        coverage => find(Kind::Coverage).unwrap_or_else(|| "not gated".into()),
        tests => find(Kind::Tests).unwrap_or_else(|| "not gated".into()),
        time => between(&f.created_at, &crate::env::now().to_string()),
        commits => commits.len(),
        artifacts => phases.len() + 2,
    };
    let title = plan.map_or_else(|| f.title.clone(), |p| p.title.clone());
    let text = Renderer::new(Some(repo.workdir())).render(
        "complete.md",
        minijinja::context! {
            title, feature => &f.name, branch => &f.branch, base => &f.base, plan_path => &f.plan,
            phases, totals, gates => gates_rows, security, files, commits, overridden,
            tip => tip.to_hex_with_len(10).to_string(),
        },
    )?;
    Ok(crate::secrets::builtin().map_or_else(|| text.clone(), |s| s.redact_text(&text)))
}

fn between(from: &str, to: &str) -> String {
    match (from.parse::<jiff::Timestamp>(), to.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => {
            let secs = b.as_second().saturating_sub(a.as_second()).max(0);
            let (h, m) = (secs / 3600, (secs % 3600) / 60);
            if h > 0 {
                format!("{h}h {m:02}m")
            } else {
                format!("{m}m")
            }
        }
        _ => "—".into(),
    }
}

/// Approve the finish of exactly the integration tip `finish` prepared: its final gates must
/// pass (they were judged on the tree before `complete.md`; nothing runs again that ran).
pub fn approve(
    repo: &Repo,
    loaded: &Loaded,
    note: Option<&str>,
    agent: Option<String>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<ObjectId> {
    let f = &loaded.feature;
    let name = &f.name;
    if f.finished.is_some() {
        return Err(Error::blocked(format!("{name} is finished already")));
    }
    let (config, _) = super::judging_config(repo, Some(f))?;
    let tip = Workflow::new(repo, &config).integration_tip(f)?;
    let base_tip = repo.branch_tip(&f.base)?;
    let by_hand = base_tip.is_some_and(|b| repo.merge_base(tip, b).ok().flatten() == Some(tip));
    let prepared = repo.blob_at(tip, &complete_path(name))?.is_some()
        && repo.commit_message(tip)?.starts_with(&format!("docs({name}): complete.md"));
    if !by_hand && !prepared {
        return Err(Error::blocked(format!(
            "{name} is not ready to finish: the final gates and complete.md are not on {}",
            f.branch
        ))
        .hint(format!("git orchestrate finish --feature {name}")));
    }
    let gated = if by_hand { tip } else { repo.commit_parents(tip)?.first().copied().unwrap_or(tip) };
    let rev = gated.to_string();
    let report =
        gate(repo, Some(loaded), &GateRequest { stage: None, rev: Some(&rev), ..GateRequest::default() }, progress)?;
    if !report.blocking().is_empty() {
        return Err(Error::blocked(format!("the final gates of {name} do not pass"))
            .hint(format!("git orchestrate finish --feature {name} says what failed")));
    }
    let (config, _) = super::judging_config(repo, Some(f))?;
    Workflow::new(repo, &config).record(
        name,
        &loaded.log,
        What::FinishApproved(crate::state::FinishApproved { commit: tip, note: note.map(str::to_string), agent }),
    )?;
    Ok(tip)
}
