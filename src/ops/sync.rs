//! Sharing the state through a remote: the notes (events, evidence) merged by union, the
//! features' branches brought and sent, nothing ever forced.

use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::remote::{self, NotesMerge, Pushed, RefPush, NOTES_PREFIX, TRACKING_PREFIX};
use crate::git::Repo;
use crate::workflow::Workflow;

/// How long the share after an approval may talk to the remote: one that never answers is
/// left to `sync`, and the approval returns.
pub const SHARE_LIMIT: Duration = Duration::from_secs(20);

/// How long `sync` may wait on one fetch or push.
pub const SYNC_LIMIT: Duration = Duration::from_secs(300);

/// How often a push the remote rejected (it moved meanwhile) is fetched, merged and retried.
pub const TRIES: u32 = 5;

/// What `sync` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyncReport {
    pub remote: String,
    /// Each notes ref: how the remote's copy was taken, and what its push did.
    pub notes: Vec<NotesSynced>,
    pub branches: Vec<BranchSynced>,
    /// Rounds of fetch, merge and push (more than one: the remote moved meanwhile).
    pub rounds: u32,
    /// Why the branches were not pushed, when a hook or the remote declined the whole push.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branches_refused: Option<String>,
}

impl SyncReport {
    /// Whether something is left undone: a rejected push, a diverged branch.
    pub fn incomplete(&self) -> bool {
        self.branches_refused.is_some()
            || self
                .notes
                .iter()
                .any(|n| matches!(n.pushed, Some(Pushed::Rejected(_))) || n.merged == NotesMerge::NotACommit)
            || self.branches.iter().any(|b| {
                matches!(b.action, BranchAction::Diverged | BranchAction::Rejected(_) | BranchAction::NotACommit)
            })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct NotesSynced {
    pub notes_ref: String,
    pub merged: NotesMerge,
    pub pushed: Option<Pushed>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct BranchSynced {
    pub branch: String,
    pub action: BranchAction,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", content = "detail", rename_all = "kebab-case")]
pub enum BranchAction {
    UpToDate,
    /// Made locally from the remote's copy.
    Created,
    /// Moved forward locally to the remote's copy.
    FastForwarded,
    /// Sent to the remote.
    Pushed,
    /// Behind the remote but checked out here: the work tree is not ours to move.
    BehindCheckedOut,
    /// Both sides have commits the other lacks: a person merges or rebases.
    Diverged,
    /// The remote refused it: why.
    Rejected(String),
    /// The remote's copy is not a commit: left alone.
    NotACommit,
}

/// What `git orchestrate sync` asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncRequest<'a> {
    /// The remote (default: `[sync] remote`).
    pub remote: Option<&'a str>,
    /// Only the notes, whatever `[sync] branches` says.
    pub no_branches: bool,
}

/// `git orchestrate sync`: [`sync`] with the remote asked for, else the configured one; the
/// features' branches too unless the request or the configuration (`[sync] branches`) leaves
/// them out.
pub fn sync_requested(repo: &Repo, config: &Config, req: &SyncRequest<'_>) -> Result<SyncReport> {
    let remote = req.remote.unwrap_or(&config.sync.remote);
    sync(repo, config, remote, config.sync.branches && !req.no_branches, SYNC_LIMIT)
}

/// A clone whose orchestration state was never brought: no events here, and the configured
/// remote to bring them from. Its name, when so.
pub fn state_to_bring(repo: &Repo, config: &Config) -> Result<Option<String>> {
    let remote = &config.sync.remote;
    Ok((repo.remotes()?.contains(remote) && repo.ref_id(crate::git::notes::EVENTS_REF)?.is_none())
        .then(|| remote.clone()))
}

/// Fetch, merge by union and push the orchestration notes with `remote`, retrying a push the
/// remote rejected because it moved meanwhile; then, when `branches`, the features' branches.
pub fn sync(repo: &Repo, config: &Config, remote: &str, branches: bool, limit: Duration) -> Result<SyncReport> {
    if !repo.remotes()?.iter().any(|r| r == remote) {
        return Err(Error::usage(format!("no remote named `{remote}`"))
            .hint(format!("add it: git remote add {remote} <url>; or name another: git orchestrate sync <remote>")));
    }
    let mut report = SyncReport {
        remote: remote.to_string(),
        notes: Vec::new(),
        branches: Vec::new(),
        rounds: 0,
        branches_refused: None,
    };
    for round in 1..=TRIES {
        report.rounds = round;
        report.notes = exchange_notes(repo, remote, limit)?;
        let rejected = report.notes.iter().any(|n| matches!(n.pushed, Some(Pushed::Rejected(_))));
        if !rejected {
            break;
        }
    }
    if branches {
        sync_branches(repo, config, remote, &mut report, limit)?;
    }
    Ok(report)
}

/// One round: fetch the remote's notes, merge each into ours, push ours back.
fn exchange_notes(repo: &Repo, remote: &str, limit: Duration) -> Result<Vec<NotesSynced>> {
    repo.fetch(remote, &[remote::notes_fetch_refspec(remote)], limit)?;
    let tracking = format!("{TRACKING_PREFIX}{remote}/notes/");
    let mut out = Vec::new();
    for (full, theirs) in repo.refs_under(&tracking)? {
        let local = format!("refs/notes/{}", full.trim_start_matches(&tracking));
        let merged = repo.merge_notes_union(&local, theirs, &format!("notes: sync with {remote}"))?;
        out.push(NotesSynced { notes_ref: local, merged, pushed: None });
    }
    for (full, _) in repo.refs_under(NOTES_PREFIX)? {
        if !out.iter().any(|n| n.notes_ref == full) {
            out.push(NotesSynced { notes_ref: full, merged: NotesMerge::UpToDate, pushed: None });
        }
    }
    let specs: Vec<String> =
        out.iter().filter(|n| n.merged != NotesMerge::NotACommit).map(|n| format!("{0}:{0}", n.notes_ref)).collect();
    let pushed = repo.push_refs(remote, &specs, limit)?;
    for n in &mut out {
        n.pushed = pushed.iter().find(|p| p.remote_ref == n.notes_ref).map(|p| p.result.clone());
    }
    Ok(out)
}

/// The branches of every unfinished feature (its integration branch, and each phase branch
/// not yet approved): made or moved forward here from the remote's copies, pushed where ours
/// are ahead or new. A diverged branch is reported, never forced either way.
fn sync_branches(repo: &Repo, config: &Config, remote: &str, report: &mut SyncReport, limit: Duration) -> Result<()> {
    let flow = Workflow::new(repo, config);
    // Only branches the layout gives features: a record naming any other branch (`main`, a
    // private one) came from a hand or a hostile clone, and sync never moves or sends it.
    let prefixes: Vec<String> = config.branches.prefixes().into_iter().filter(|p| !p.is_empty()).collect();
    let features = flow.features()?;
    let bases: Vec<&str> = features.iter().map(|(_, f)| f.base.as_str()).collect();
    let ours = |b: &str| prefixes.iter().any(|p| b.starts_with(p.as_str())) && !bases.contains(&b);
    let mut wanted = Vec::new();
    for (_, f) in &features {
        if f.finished.is_some() {
            continue;
        }
        wanted.push(f.branch.clone());
        wanted.extend(
            f.phases.values().filter(|p| p.approval.is_none() && !p.branch.is_empty()).map(|p| p.branch.clone()),
        );
    }
    wanted.retain(|b| ours(b));
    wanted.sort();
    wanted.dedup();
    let checked_out: Vec<String> = repo.checked_out_branches()?.into_iter().map(|(b, _)| b).collect();
    let mut push = Vec::new();
    for branch in wanted {
        if Repo::validate_branch_name(&branch).is_err() {
            continue;
        }
        let ours = repo.branch_tip(&branch)?;
        let theirs = repo.ref_id(&format!("refs/remotes/{remote}/{branch}"))?;
        let action = match (ours, theirs) {
            (None, None) => continue,
            (_, Some(t)) if !repo.is_commit(t) => BranchAction::NotACommit,
            (None, Some(t)) => {
                repo.cas_ref(&format!("refs/heads/{branch}"), None, t, &format!("sync: from {remote}"))?;
                BranchAction::Created
            }
            (Some(_), None) => {
                push.push(branch.clone());
                BranchAction::Pushed
            }
            (Some(o), Some(t)) if o == t => BranchAction::UpToDate,
            (Some(o), Some(t)) => match repo.merge_base(o, t)? {
                Some(b) if b == t => {
                    push.push(branch.clone());
                    BranchAction::Pushed
                }
                Some(b) if b == o && checked_out.contains(&branch) => BranchAction::BehindCheckedOut,
                Some(b) if b == o => {
                    repo.cas_ref(
                        &format!("refs/heads/{branch}"),
                        Some(o),
                        t,
                        &format!("sync: fast-forward from {remote}"),
                    )?;
                    BranchAction::FastForwarded
                }
                _ => BranchAction::Diverged,
            },
        };
        report.branches.push(BranchSynced { branch, action });
    }
    let specs: Vec<String> = push.iter().map(|b| format!("refs/heads/{b}:refs/heads/{b}")).collect();
    match repo.push_refs(remote, &specs, limit) {
        Ok(results) => apply_push_results(report, &results),
        Err(e) => {
            report.branches_refused = Some(e.to_string());
            for b in &mut report.branches {
                if b.action == BranchAction::Pushed {
                    b.action = BranchAction::Rejected("the push was refused".into());
                }
            }
        }
    }
    Ok(())
}

fn apply_push_results(report: &mut SyncReport, results: &[RefPush]) {
    for b in &mut report.branches {
        let full = format!("refs/heads/{}", b.branch);
        if let Some(r) = results.iter().find(|r| r.remote_ref == full) {
            match &r.result {
                Pushed::Rejected(why) => b.action = BranchAction::Rejected(why.clone()),
                Pushed::UpToDate if b.action == BranchAction::Pushed => b.action = BranchAction::UpToDate,
                _ => {}
            }
        }
    }
}

/// What an approval's push of the state came to.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum AutoPush {
    /// No remote is configured for it (`[sync] push = false`, or no such remote).
    Off,
    Done {
        remote: String,
    },
    /// It could not be done now; `sync` catches up later.
    Failed {
        remote: String,
        why: String,
    },
}

/// After an approval or a phase squash: share the state with the configured remote when it
/// exists. Never an error: an unreachable remote is reported, and the approval stands.
pub fn after_approval(repo: &Repo, config: &Config) -> AutoPush {
    let remote = config.sync.remote.clone();
    if !config.sync.push {
        return AutoPush::Off;
    }
    match repo.remotes() {
        Ok(remotes) if remotes.contains(&remote) => {}
        _ => return AutoPush::Off,
    }
    match sync(repo, config, &remote, config.sync.branches, SHARE_LIMIT) {
        Ok(report) if !report.incomplete() => AutoPush::Done { remote },
        Ok(report) => AutoPush::Failed { remote, why: incomplete_reason(&report) },
        Err(e) => AutoPush::Failed { remote, why: e.message },
    }
}

/// One line on what a sync left undone.
pub fn incomplete_reason(report: &SyncReport) -> String {
    if let Some(why) = &report.branches_refused {
        return why.lines().next().unwrap_or_default().to_string();
    }
    let mut parts = Vec::new();
    for n in &report.notes {
        if let Some(Pushed::Rejected(why)) = &n.pushed {
            parts.push(format!("{}: {why}", n.notes_ref));
        }
        if n.merged == NotesMerge::NotACommit {
            parts.push(format!("{}: the remote's ref is not a commit", n.notes_ref));
        }
    }
    for b in &report.branches {
        match &b.action {
            BranchAction::Diverged => parts.push(format!("{} has diverged from {}", b.branch, report.remote)),
            BranchAction::Rejected(why) => parts.push(format!("{}: {why}", b.branch)),
            BranchAction::NotACommit => parts.push(format!("{}: the remote's copy is not a commit", b.branch)),
            _ => {}
        }
    }
    parts.join("; ")
}
