//! Operations: one function per user-visible action that judges or changes the workflow. Each
//! takes typed inputs and returns a report; none prints or prompts (commands render reports).

pub mod approve;
pub mod doctor;
pub mod finish;
pub mod hook;
pub mod init;
pub mod judge;
pub mod phase;
pub mod review;
pub mod secrets;
pub mod start;
pub mod sync;
pub mod verify;

use crate::config::{Config, Stage};
use crate::error::{Error, Result};
use crate::gates::{self, Key, Outcome, Verdict};
use crate::git::{ObjectId, Repo};
use crate::state::{Feature, GateRun, PhaseApproved, PlanApproved, What};
use crate::workflow::{Loaded, Workflow};
use judge::Place;

pub use crate::workflow::{config_at, judging_commit, judging_config};

/// Whether the commands of `config` may run here: trusted by this user, or trusted for this run
/// (`--trust`, or CI's `ORCHESTRATE_TRUST_CONFIG`). `None` when they may.
pub fn untrusted(config: &Config, trust: bool) -> Option<crate::trust::Commands> {
    let commands = crate::trust::commands(config);
    let ok =
        commands.commands.is_empty() || trust || crate::env::trust_config() || crate::trust::is_trusted(&commands.hash);
    (!ok).then_some(commands)
}

/// The commands a feature's judging configuration runs, and whether this user trusts them.
pub struct Trust {
    pub commands: crate::trust::Commands,
    pub trusted: bool,
    /// Where the trust was recorded, when this call recorded it.
    pub recorded: Option<std::path::PathBuf>,
}

/// The commands of the configuration that judges `feature` (off a feature, the one committed at
/// HEAD), and whether this user trusts them; with `record`, trusted from now on, the trust
/// recorded in the user's own configuration directory (nothing is recorded for a configuration
/// that runs no command, or one already trusted).
pub fn trust_commands(repo: &Repo, feature: Option<&Feature>, record: bool) -> Result<Trust> {
    let (config, _) = judging_config(repo, feature)?;
    let commands = crate::trust::commands(&config);
    let mut trusted = crate::trust::is_trusted(&commands.hash);
    let mut recorded = None;
    if record && !trusted && !commands.commands.is_empty() {
        recorded = Some(
            crate::trust::trust(&commands.hash).map_err(|e| Error::blocked(format!("cannot record the trust: {e}")))?,
        );
        trusted = true;
    }
    Ok(Trust { commands, trusted, recorded })
}

/// What to gate.
#[derive(Debug, Clone, Default)]
pub struct GateRequest<'a> {
    /// Only the gates of this stage (all when `None`). `pre-commit` without `rev` judges the index.
    pub stage: Option<Stage>,
    pub only: &'a [String],
    /// The commit to judge (default HEAD).
    pub rev: Option<&'a str>,
    /// The phase whose overrides and fork point apply (default: the one being worked on).
    pub phase: Option<u32>,
    pub force: bool,
    /// Run every gate, not stopping after the first required gate that fails.
    pub all: bool,
    /// Run the configuration's commands without a trust record.
    pub trust: bool,
}

/// What a gate run found.
pub struct GateReport {
    pub tree: ObjectId,
    pub stage: Option<Stage>,
    pub feature: Option<String>,
    pub phase: Option<u32>,
    pub outcomes: Vec<Outcome>,
    /// Optional gates skipped with `ORCHESTRATE_SKIP` (recorded in the feature's log).
    pub skipped: Vec<String>,
    /// Gates the configuration switches off (`enabled = false`), to be said.
    pub disabled: Vec<String>,
    /// Gates not run because an earlier required gate did not pass (without `--all`).
    pub not_run: Vec<String>,
    /// What became of the `seed` directories of the gates that ran a command.
    pub seeds: Vec<gates::seed::Seed>,
}

impl GateReport {
    /// The required gates that did not pass.
    pub fn blocking(&self) -> Vec<&Outcome> {
        self.outcomes.iter().filter(|o| o.required && o.evidence.verdict != Verdict::Pass).collect()
    }
}

/// The phase of `loaded` whose branch is being worked on (during a rebase: the one rebased).
pub fn working_phase(repo: &Repo, loaded: &Loaded) -> Result<Option<u32>> {
    Ok(repo.working_branch()?.and_then(|b| loaded.feature.phase_on(&b)))
}

/// The tree a phase's change is measured against: its fork point's.
pub fn fork_tree(repo: &Repo, feature: &Feature, phase: u32) -> Result<Option<ObjectId>> {
    let fork = feature.phases.get(&phase).and_then(|r| r.fork);
    Ok(fork.map(|f| repo.commit_tree(f)).transpose()?)
}

/// Run the gates on a snapshot (the index, or a commit) and record the evidence.
pub fn gate(
    repo: &Repo,
    loaded: Option<&Loaded>,
    req: &GateRequest<'_>,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<GateReport> {
    let phase = match (req.phase, loaded) {
        (Some(p), _) => Some(p),
        (None, Some(l)) => working_phase(repo, l)?,
        (None, None) => None,
    };
    // A feature whose committed plan does not parse is judged by nothing less: fail closed.
    let plan = match loaded.map(|l| &l.plan) {
        None => None,
        Some(Ok((p, _))) => Some(p),
        Some(Err(e)) => {
            let name = loaded.map_or("", |l| l.feature.name.as_str());
            return Err(Error::usage(format!("the committed plan of {name} is not valid: {}", e.message)).hint(
                "fix the plan on the integration branch (git orchestrate plan lint), commit it, and approve it again",
            ));
        }
    };
    if let (Some(p), Some(plan)) = (phase, plan) {
        if plan.phase(p).is_none() {
            return Err(
                Error::usage(format!("{} has no phase {p}", plan.feature)).hint(format!("phases are {}", plan.ids()))
            );
        }
    }
    let def = plan.and_then(|p| phase.and_then(|id| p.phase(id)));

    let staged = req.stage == Some(Stage::PreCommit) && req.rev.is_none();
    let mut judged_commit = None;
    let (tree, base) = if staged {
        let head = repo.resolve_commit("HEAD")?;
        (repo.index_tree()?, head.map(|h| repo.commit_tree(h)).transpose()?)
    } else {
        let rev = req.rev.unwrap_or("HEAD");
        let commit = repo.resolve_commit(rev)?.ok_or_else(|| {
            Error::usage(format!("`{rev}` names no commit")).hint("pass a branch, tag or commit id with --rev")
        })?;
        judged_commit = Some(commit);
        let parent = repo.commit_parents(commit)?.first().copied();
        (repo.commit_tree(commit)?, parent.map(|p| repo.commit_tree(p)).transpose()?)
    };
    // A phase is measured against its fork point, not just its last commit.
    let base = match (loaded, phase) {
        (Some(l), Some(p)) => fork_tree(repo, &l.feature, p)?.or(base),
        _ => base,
    };

    let judging = judging_commit(repo, loaded.map(|l| &l.feature))?;
    let (config, config_blob) = config_at(repo, judging)?;
    let key = Key { config_blob, phase, base, scope: def.map(|d| d.paths.as_slice()) };
    let mut specs = gates::select(&config, req.stage, req.only, &key, def.map(|d| &d.gates))?;
    let lane = loaded.and_then(|l| l.feature.lane.as_deref());
    specs.retain(|s| config.lane_allows(lane, &s.name));
    // ORCHESTRATE_SKIP: optional gates may be skipped; the skip is recorded like a verdict.
    let mut skipped = Vec::new();
    for name in crate::env::skip() {
        if let Some(spec) = specs.iter().find(|s| s.name == name) {
            if spec.required {
                return Err(Error::blocked(format!("gate `{name}` is required: ORCHESTRATE_SKIP cannot skip it")));
            }
            skipped.push(name.clone());
        }
    }
    specs.retain(|s| !skipped.contains(&s.name));
    if let (Some(l), Some(p)) = (loaded, phase) {
        let flow = Workflow::new(repo, &config);
        let mut log = l.log.clone();
        for name in &skipped {
            let what = What::GateRun(GateRun {
                phase: p,
                gate: name.clone(),
                tree,
                fingerprint: String::new(),
                verdict: crate::state::RunVerdict::Skipped,
            });
            log.push(flow.record(&l.feature.name, &log, what)?);
        }
    }
    let feature = loaded.map(|l| l.feature.name.clone());
    let disabled = config.disabled_gates();
    let mut report = GateReport {
        tree,
        stage: req.stage,
        feature,
        phase,
        outcomes: Vec::new(),
        skipped,
        disabled,
        not_run: Vec::new(),
        seeds: Vec::new(),
    };
    if specs.is_empty() {
        return Ok(report);
    }
    let gctx = gates::Context {
        stage: req.stage.unwrap_or(Stage::Review),
        tree,
        base,
        feature: report.feature.clone(),
        phase,
        commit: judged_commit,
        scope: def.map(|d| d.paths.clone()),
        diff: std::cell::OnceCell::new(),
        force: req.force,
        all: req.all,
        untrusted: untrusted(&config, req.trust),
        config_tree: judging.map(|c| repo.commit_tree(c)).transpose()?,
        // Outside a feature, the configuration read above decides (nothing is read again).
        signing: match loaded {
            Some(l) => crate::workflow::evidence_signing(repo, Some(&l.feature))?,
            None => crate::workflow::signing_under(repo, &config, judging)?,
        },
    };
    let ran = gates::run(repo, &specs, &gctx, progress)?;
    report.outcomes = ran.outcomes;
    report.seeds = ran.seeds;
    report.not_run = specs
        .iter()
        .filter(|s| !report.outcomes.iter().any(|o| o.evidence.gate == s.name))
        .map(|s| s.name.clone())
        .collect();
    Ok(report)
}

/// Create `branch` at `at` and switch to it. The ref is made first and the switch is `git
/// switch`, which carries or refuses local changes and never drops them; when it fails, the ref
/// goes again, so the user's files and branches are as they were. The one place a branch is
/// created and checked out (`start`, `phase start`).
pub fn branch_off(repo: &Repo, branch: &str, at: ObjectId, reason: &str) -> Result<()> {
    let full = format!("refs/heads/{branch}");
    repo.cas_ref(&full, None, at, reason)?;
    if let Err(err) = repo.switch(branch) {
        // Leave nothing behind: the branch goes, the user's tree was never touched.
        repo.delete_ref(&full, at)?;
        return Err(Error::from(err).hint("git refused to switch branches; your files are as they were"));
    }
    Ok(())
}

/// The paths a change on `feature`'s integration branch touches that are not its plan's folder:
/// the integration branch takes the tool's own commits (the plan, each phase's squash) and plan
/// edits, nothing made by hand.
pub fn outside_plan(repo: &Repo, feature: &Feature, base: Option<ObjectId>, tree: ObjectId) -> Result<Vec<String>> {
    Ok(repo.changed_paths(base, tree)?.into_iter().filter(|p| !gates::is_plan_document(&feature.name, p)).collect())
}

/// The refusal for a hand-made change on an integration branch.
pub(crate) fn hand_made(feature: &Feature, what: &str, paths: &[String]) -> Error {
    let shown: Vec<&str> = paths.iter().take(5).map(String::as_str).collect();
    Error::blocked(format!(
        "{what} on {}, the integration branch of {}, changes {}{}",
        feature.branch,
        feature.name,
        shown.join(", "),
        if paths.len() > shown.len() { ", …" } else { "" }
    ))
    .cause("the integration branch takes only the tool's commits (the plan, each approved phase) and plan edits")
    .hint("make the change in a phase: git orchestrate phase start next (or the phase it belongs to)")
}

/// Refuse a commit of the index on a feature's integration branch that is not a plan edit.
pub fn check_integration_commit(repo: &Repo, feature: &Feature) -> Result<()> {
    let head = repo.resolve_commit("HEAD")?.map(|h| repo.commit_tree(h)).transpose()?;
    let outside = outside_plan(repo, feature, head, repo.index_tree()?)?;
    if outside.is_empty() {
        return Ok(());
    }
    Err(hand_made(feature, "this commit", &outside))
}

/// One ref update git is about to push (a line of pre-push's stdin).
#[derive(Debug, Clone)]
pub struct PushUpdate {
    pub local_ref: String,
    pub local: ObjectId,
    pub remote_ref: String,
    /// What the remote has now (`None`: the ref is new there).
    pub remote: Option<ObjectId>,
}

impl PushUpdate {
    /// Parse pre-push's stdin: `<local ref> <local sha> <remote ref> <remote sha>` per line.
    /// Deletions push no commit and are left out.
    pub fn parse(stdin: &str) -> Vec<PushUpdate> {
        stdin
            .lines()
            .filter_map(|line| {
                let parts: Vec<&str> = line.split_whitespace().collect();
                let [local_ref, local, remote_ref, remote] = parts[..] else { return None };
                let local = ObjectId::from_hex(local.as_bytes()).ok().filter(|id| !id.is_null())?;
                let remote = ObjectId::from_hex(remote.as_bytes()).ok().filter(|id| !id.is_null());
                Some(PushUpdate { local_ref: local_ref.into(), local, remote_ref: remote_ref.into(), remote })
            })
            .collect()
    }
}

/// Judge a push: every update by the ref it lands on and by the commits it brings, never by
/// the local ref's name. A feature's commits may not reach its base before it is finished;
/// hand-made commits on an integration branch are refused; every new phase commit needs
/// passing pre-commit evidence for its tree and a good message; and the pre-push gates run on
/// a pushed phase's tip. Returns the gate runs.
pub fn judge_push(
    repo: &Repo,
    config: &Config,
    updates: &[PushUpdate],
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Vec<GateReport>> {
    let flow = Workflow::new(repo, config);
    let mut features: Option<Vec<Loaded>> = None;
    let mut reports = Vec::new();
    for update in updates {
        let features = match &mut features {
            Some(f) => f,
            None => features
                .insert(flow.features()?.into_iter().filter_map(|(log, _)| flow.load_log(log)).collect::<Vec<_>>()),
        };
        if features.is_empty() {
            return Ok(reports);
        }
        let target = update.remote_ref.strip_prefix("refs/heads/").unwrap_or(&update.remote_ref);
        let local = update.local_ref.strip_prefix("refs/heads/").unwrap_or(&update.local_ref);
        // The commits the remote does not have yet. For a ref new there, local remote-tracking
        // refs prove nothing (anyone can write them): every commit since the features started
        // is a candidate, and only a feature's own are judged below.
        let new = if let Some(theirs) = update.remote {
            repo.rev_list(&[update.local], &[theirs], None)?
        } else {
            repo.rev_list(&[update.local], &judge::features_start(repo, features)?, None)?
        };
        if new.is_empty() {
            continue;
        }
        for loaded in features.iter() {
            judge_feature_push(repo, loaded, update, target, local, &new, trust, progress, &mut reports)?;
        }
    }
    Ok(reports)
}

#[allow(clippy::too_many_arguments)]
fn judge_feature_push(
    repo: &Repo,
    loaded: &Loaded,
    update: &PushUpdate,
    target: &str,
    local: &str,
    new: &[ObjectId],
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
    reports: &mut Vec<GateReport>,
) -> Result<()> {
    let f = &loaded.feature;
    let named = |branch: &str| target == branch || local == branch;
    // Which of the new commits are this feature's, and where each was made: local branches
    // only (remote-tracking refs prove nothing here).
    let place = judge::places(repo, loaded, None, &|b| Ok(repo.branch_tip(b)?))?;
    // Commits that are nowhere local but land on (or come from) a feature's branch by name.
    let by_name = if named(&f.branch) {
        Some(Place::Integration)
    } else {
        f.phases.iter().find(|(_, r)| named(&r.branch)).map(|(id, _)| Place::Phase(*id))
    };
    let base_tip = repo.branch_tip(&f.base)?;
    let mine: Vec<(ObjectId, Place)> = new
        .iter()
        .filter_map(|c| {
            let known = place.get(c).copied();
            let on_base = || base_tip.is_some_and(|b| repo.merge_base(*c, b).ok().flatten() == Some(*c));
            known.or_else(|| by_name.filter(|_| !on_base())).map(|p| (*c, p))
        })
        .collect();
    if mine.is_empty() {
        return Ok(());
    }
    // Under `signed`, a push on the strength of an approval written or altered by hand is refused.
    require_verified(repo, &loaded.log)?;
    let judge = judge::Judge::new(repo, loaded)?;
    if target == f.base {
        let commits: Vec<ObjectId> = mine.iter().map(|(c, _)| *c).collect();
        if judge.may_reach_base(&commits)?.is_some() {
            return Err(Error::blocked(format!(
                "this push brings feature {} into {target}, and the feature is not finished",
                f.name
            ))
            .hint(format!("a person finishes a feature first: git orchestrate finish --feature {}", f.name)));
        }
        return Ok(());
    }
    for (commit, at) in &mine {
        if let Some(problem) = judge.commit(*commit, *at, true, false)?.into_iter().next() {
            return Err(problem.into_error());
        }
    }
    // The pre-push gates run on the pushed tip when it is a phase's.
    if let Some(Place::Phase(p)) = mine.iter().find(|(c, _)| *c == update.local).map(|(_, at)| *at) {
        let rev = update.local.to_string();
        let req = GateRequest {
            stage: Some(Stage::PrePush),
            rev: Some(&rev),
            phase: Some(p),
            trust,
            ..GateRequest::default()
        };
        reports.push(gate(repo, Some(loaded), &req, progress)?);
    }
    Ok(())
}

/// Every required gate of every stage (pre-commit, pre-push, review) on a phase's tip, as an
/// approval needs them: evidence already recorded for the tip's tree is reused, the rest runs
/// now. Returns one report per stage that has gates.
pub fn phase_evidence(
    repo: &Repo,
    loaded: &Loaded,
    phase: u32,
    tip: ObjectId,
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Vec<GateReport>> {
    let rev = tip.to_string();
    let mut reports = Vec::new();
    for stage in [Stage::PreCommit, Stage::PrePush, Stage::Review] {
        let req =
            GateRequest { stage: Some(stage), rev: Some(&rev), phase: Some(phase), trust, ..GateRequest::default() };
        let report = gate(repo, Some(loaded), &req, progress)?;
        if !report.outcomes.is_empty() {
            reports.push(report);
        }
    }
    Ok(reports)
}

pub use crate::workflow::{approval_policy, ApprovalPolicy};

/// Whether one approval verifies under the feature's policy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "kebab-case")]
pub enum Verification {
    /// Not signed, and the policy does not ask for a signature.
    Unsigned,
    /// Signed by this principal with a key the allowed signers list.
    Verified(String),
    /// It does not count: why.
    Unverified(String),
}

impl Verification {
    pub fn counts(&self) -> bool {
        !matches!(self, Verification::Unverified(_))
    }
}

/// The email in `Name <email>`: the principal an approval's signature is checked for.
use crate::gates::signing::principal;

/// Check one approval event's signature under `policy`.
pub fn verify_approval(policy: &ApprovalPolicy, event: &crate::state::Event) -> Result<Verification> {
    let (What::PlanApproved(PlanApproved { sig, .. }) | What::PhaseApproved(PhaseApproved { sig, .. })) = &event.what
    else {
        return Ok(Verification::Unsigned);
    };
    let signed = policy.require == crate::config::Require::Signed;
    let Some(sig) = sig else {
        return Ok(if signed {
            Verification::Unverified("unsigned, and approvals.require = \"signed\"".into())
        } else {
            Verification::Unsigned
        });
    };
    let (path, allowed) = &policy.allowed_signers;
    let Some(allowed) = allowed else {
        return Ok(Verification::Unverified(format!("no allowed-signers file {path} is committed")));
    };
    let who = principal(&event.by);
    Ok(
        match crate::git::sign::ssh_verify(
            crate::git::sign::NAMESPACE,
            allowed,
            who,
            event.signed_payload().as_bytes(),
            sig,
        )? {
            Ok(()) => Verification::Verified(who.to_string()),
            Err(why) => Verification::Unverified(format!(
                "the signature does not verify for {who} against {path}{}",
                if why.is_empty() { String::new() } else { format!(" ({})", why.lines().next().unwrap_or_default()) }
            )),
        },
    )
}

/// Every approval of a feature's log, checked: event id → verification.
pub fn check_approvals(
    repo: &Repo,
    log: &[crate::state::Event],
) -> Result<std::collections::HashMap<String, Verification>> {
    let Some(feature) = crate::state::fold(log) else { return Ok(std::collections::HashMap::new()) };
    let approvals: Vec<&crate::state::Event> =
        log.iter().filter(|e| matches!(e.what, What::PlanApproved(_) | What::PhaseApproved(_))).collect();
    if approvals.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    check_approvals_under(&approval_policy(repo, &feature)?, approvals)
}

/// Approval records checked under a policy already read: event id → verification.
pub fn check_approvals_under<'e>(
    policy: &ApprovalPolicy,
    approvals: impl IntoIterator<Item = &'e crate::state::Event>,
) -> Result<std::collections::HashMap<String, Verification>> {
    let mut out = std::collections::HashMap::new();
    for e in approvals {
        out.insert(e.id.clone(), verify_approval(policy, e)?);
    }
    Ok(out)
}

/// From what an approval was given, for `status`, `log` and the reports: who's terminal or
/// `--yes`, an agent's environment with the user's opt-in, and whether its signature verifies.
pub fn approval_source(agent: Option<&str>, via: Option<&str>, check: Option<&Verification>) -> String {
    let mut parts = vec![via.unwrap_or("source not recorded").to_string()];
    if let Some(agent) = agent {
        parts.push(format!("from inside {agent}, with the user's opt-in"));
    }
    parts.push(match check {
        Some(Verification::Verified(who)) => format!("signed by {who}, verified"),
        Some(Verification::Unverified(why)) => format!("unverified: {why}"),
        Some(Verification::Unsigned) | None => "unsigned".into(),
    });
    parts.join("; ")
}

/// Refuse to act on a feature whose recorded approvals do not verify under its policy (a line
/// appended by hand with `git notes`, or an altered one).
pub fn require_verified(repo: &Repo, log: &[crate::state::Event]) -> Result<()> {
    let checks = check_approvals(repo, log)?;
    for e in log {
        if let Some(Verification::Unverified(why)) = checks.get(&e.id) {
            let what = match &e.what {
                What::PhaseApproved(PhaseApproved { phase, .. }) => format!("the approval of phase {phase}"),
                _ => "the plan approval".into(),
            };
            return Err(Error::blocked(format!("{what} recorded at {} by {} does not verify: {why}", e.ts, e.by))
                .cause("under approvals.require = \"signed\" an approval counts only with a good signature")
                .hint("have the approver approve again from their own terminal, with their signing key"));
        }
    }
    Ok(())
}

/// What installing the hooks did, and the feature records it skipped as damaged.
pub struct HooksInstalled {
    /// Where they were installed.
    pub dir: std::path::PathBuf,
    pub changes: Vec<crate::hooks::Change>,
    pub damage: Vec<String>,
}

/// The directory to install into, or why not.
pub fn hooks_target(repo: &Repo) -> Result<std::path::PathBuf> {
    let dir = repo.hooks_dir();
    if let Some(configured) = &dir.configured {
        if configured.contains(".husky") {
            let mut lines = String::new();
            for h in crate::hooks::HOOKS {
                let _ = std::fmt::Write::write_fmt(
                    &mut lines,
                    format_args!("\n  .husky/{h}:  git orchestrate hook {h} \"$@\""),
                );
            }
            return Err(Error::blocked(format!(
                "core.hooksPath is {configured}, which husky manages and rewrites: hooks installed there would be lost"
            ))
            .hint(format!("add one line to each husky hook instead:{lines}")));
        }
    }
    Ok(dir.path)
}

pub fn install_hooks(repo: &Repo) -> Result<HooksInstalled> {
    let dir = hooks_target(repo)?;
    let bin = std::env::current_exe().map_err(|e| Error::blocked(format!("cannot tell where this binary is: {e}")))?;
    let config = crate::workflow::load_config(repo.workdir())?;
    let mut prefixes = config.branches.prefixes();
    // Branches of features started under an earlier pattern are gated all the same.
    // Only valid branch names are baked in (the log's records are checked when read; this
    // is the second lock): a name from the notes never becomes shell text.
    let flow = Workflow::new(repo, &config);
    for (_, f) in flow.features()? {
        for branch in std::iter::once(f.branch).chain(f.phases.into_values().map(|p| p.branch)) {
            if Repo::validate_branch_name(&branch).is_ok() && !prefixes.iter().any(|p| branch.starts_with(p.as_str())) {
                prefixes.push(branch);
            }
        }
    }
    let damage = flow.damage()?.iter().map(ToString::to_string).collect();
    // A hooks directory in the work tree (a tracked `.githooks`, say) keeps every shim in place:
    // linking the message hooks in and out there would show in `git status`.
    let in_work_tree = dir.starts_with(repo.workdir()) && !dir.starts_with(repo.common_dir());
    let changes = crate::hooks::install(&dir, &bin, &prefixes, !in_work_tree)
        .map_err(|e| Error::blocked(format!("installing hooks in {}: {e}", dir.display())))?;
    Ok(HooksInstalled { dir, changes, damage })
}

/// What removing the hooks did, and where.
pub struct HooksUninstalled {
    pub dir: std::path::PathBuf,
    pub changes: Vec<crate::hooks::Change>,
}

/// Remove the shims from where git runs hooks, and put back exactly what was there before.
pub fn uninstall_hooks(repo: &Repo) -> Result<HooksUninstalled> {
    let dir = repo.hooks_dir().path;
    let changes = crate::hooks::uninstall(&dir)
        .map_err(|e| Error::blocked(format!("removing hooks from {}: {e}", dir.display())))?;
    Ok(HooksUninstalled { dir, changes })
}

/// Whether each hook will fire, where git looks for them.
pub struct HooksStatus {
    pub dir: crate::git::HooksDir,
    pub hooks: Vec<crate::hooks::HookStatus>,
}

/// Whether git will really run each hook; a hooks directory the tool refuses to install into
/// (see [`hooks_target`]) is each hook's problem.
pub fn hooks_status(repo: &Repo) -> HooksStatus {
    let dir = repo.hooks_dir();
    let mut hooks = crate::hooks::status(&dir.path);
    if let Err(e) = hooks_target(repo) {
        for s in &mut hooks {
            s.problem.get_or_insert_with(|| e.message.clone());
        }
    }
    HooksStatus { dir, hooks }
}
