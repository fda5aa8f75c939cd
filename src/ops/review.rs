//! The phase review pause point: the owner submits a phase (every required gate passes on its
//! tip), a reviewer reads what it did, measured, and approves it or sends it back.

use serde::Serialize;

use super::{phase_evidence, GateReport};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::gates::{self, Kind, Verdict};
use crate::git::{FileStat, ObjectId, Repo, Status};
use crate::state::{ChangesRequested, PhaseSubmitted, What};
use crate::workflow::{Loaded, Purpose, Workflow};

/// The phase record, its branch tip and its fork point, or why there is nothing to review.
fn phase_tip(repo: &Repo, loaded: &Loaded, id: u32) -> Result<(ObjectId, ObjectId)> {
    let name = &loaded.feature.name;
    let rec = loaded.feature.phases.get(&id).ok_or_else(|| {
        Error::blocked(format!("phase {id} of {name} has not started"))
            .hint(format!("git orchestrate phase start {id} --feature {name}"))
    })?;
    if rec.approval.is_some() {
        return Err(Error::blocked(format!("phase {id} of {name} is already approved")));
    }
    let fork = rec.fork.ok_or_else(|| Error::blocked(format!("phase {id} of {name} has no fork point")))?;
    let tip = repo.branch_tip(&rec.branch)?.ok_or_else(|| {
        Error::blocked(format!("branch {} of phase {id} is gone", rec.branch))
            .hint(format!("recreate it from its fork point: git branch {} {fork}", rec.branch))
    })?;
    if tip == fork {
        return Err(Error::blocked(format!("phase {id} has no commits on {} yet: nothing to review", rec.branch))
            .hint(format!("commit the phase's work first; `git orchestrate phase brief {id}` says what it is")));
    }
    Ok((tip, fork))
}

/// What `phase submit` did.
pub struct Submitted {
    pub tip: ObjectId,
    /// Every required gate of every stage on the tip.
    pub reports: Vec<GateReport>,
    /// Whether the phase now awaits review (false: a required gate did not pass).
    pub submitted: bool,
    /// It was already submitted at this tip.
    pub already: bool,
}

/// The owner says the phase is ready: every required gate of every stage runs on its tip (what
/// was judged already is not run again), and only when all pass is it recorded as submitted.
pub fn submit(
    repo: &Repo,
    loaded: &Loaded,
    id: u32,
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Submitted> {
    let (tip, _) = phase_tip(repo, loaded, id)?;
    let reports = phase_evidence(repo, loaded, id, tip, trust, progress)?;
    let blocked = reports.iter().any(|r| !r.blocking().is_empty());
    let rec = &loaded.feature.phases[&id];
    let already = rec.submitted == Some(tip);
    if !blocked && !already {
        let (config, _) = super::judging_config(repo, Some(&loaded.feature))?;
        Workflow::new(repo, &config).record(
            &loaded.feature.name,
            &loaded.log,
            What::PhaseSubmitted(PhaseSubmitted { phase: id, commit: tip }),
        )?;
    }
    Ok(Submitted { tip, reports, submitted: !blocked, already })
}

/// One gate as the review shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewGate {
    pub gate: String,
    pub kind: Kind,
    pub verdict: Verdict,
    pub summary: String,
    pub required: bool,
    pub cached: bool,
    pub reasons: Vec<String>,
}

impl ReviewGate {
    /// A gate's outcome as the review shows it.
    pub fn of(o: &gates::Outcome) -> ReviewGate {
        let e = &o.evidence;
        ReviewGate {
            gate: e.gate.clone(),
            kind: e.kind,
            verdict: e.verdict,
            summary: e.summary.clone(),
            required: o.required,
            cached: o.cached,
            reasons: e.reasons.clone(),
        }
    }
}

/// Coverage as the review shows it, from the coverage gate's evidence on the tip.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewCoverage {
    pub gate: String,
    pub percent: Option<f64>,
    pub changed_percent: Option<f64>,
    pub uncovered_changed_lines: Vec<String>,
}

/// A phase against its fork point, measured.
#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub feature: String,
    pub phase: u32,
    pub title: String,
    pub owner: String,
    pub branch: String,
    pub fork: String,
    pub tip: String,
    pub tree: String,
    pub submitted: bool,
    pub commits: usize,
    pub files: Vec<FileStat>,
    pub added: u32,
    pub removed: u32,
    pub gates: Vec<ReviewGate>,
    pub coverage: Option<ReviewCoverage>,
    /// Files the change touches outside the phase's paths (from the scope gate).
    pub outside: Vec<String>,
    /// Gates skipped on this tip (`ORCHESTRATE_SKIP`).
    pub skipped: Vec<String>,
    pub started_at: String,
    pub time_spent: String,
    /// Where a reviewer should look first, and why.
    pub look_here_first: Vec<String>,
    /// The last request for changes, when the phase was sent back before.
    pub changes_requested: Option<String>,
}

impl Review {
    /// Whether every required gate passed.
    pub fn passed(&self) -> bool {
        self.gates.iter().all(|g| !g.required || g.verdict == Verdict::Pass)
    }
}

/// Paths a reviewer reads twice: authentication, secrets, crypto, permissions, SQL, CI.
fn sensitive(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [
        "auth",
        "login",
        "passw",
        "secret",
        "token",
        "crypt",
        "jwt",
        "session",
        "permission",
        "acl",
        "oauth",
        "sql",
        "migration",
        ".github/workflows",
        "dockerfile",
        ".env",
        "security",
        "key",
    ]
    .iter()
    .any(|w| p.contains(w))
}

/// A test file, by the common conventions.
pub fn is_test_path(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    p.starts_with("tests/")
        || p.starts_with("test/")
        || p.contains("/tests/")
        || p.contains("/test/")
        || p.contains("__tests__/")
        || name.starts_with("test_")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains(".spec.")
        || name.ends_with("_tests.rs")
}

fn spent(from: &str) -> String {
    let Ok(start) = from.parse::<jiff::Timestamp>() else { return "unknown".into() };
    let secs = crate::env::now().as_second().saturating_sub(start.as_second()).max(0);
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else {
        format!("{m}m")
    }
}

/// Review phase `id`: its change against the fork point, its gates (what never ran, runs now),
/// coverage of the changed lines, scope, time spent and where to look first.
pub fn review(
    repo: &Repo,
    loaded: &Loaded,
    id: u32,
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Review> {
    let f = &loaded.feature;
    let (tip, fork) = phase_tip(repo, loaded, id)?;
    let rec = &f.phases[&id];
    let def = loaded.plan.as_ref().ok().and_then(|(p, _)| p.phase(id));
    let tree = repo.commit_tree(tip)?;
    let files = repo.file_stats(Some(repo.commit_tree(fork)?), tree)?;
    let reports = phase_evidence(repo, loaded, id, tip, trust, progress)?;
    let mut gates_out = Vec::new();
    let mut coverage = None;
    let mut outside = Vec::new();
    for o in reports.iter().flat_map(|r| &r.outcomes) {
        let e = &o.evidence;
        if e.kind == Kind::Coverage && coverage.is_none() {
            let num = |k: &str| e.figures.get(k).and_then(serde_json::Value::as_f64);
            let uncovered = e
                .figures
                .get("uncovered_changed_lines")
                .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                .unwrap_or_default();
            coverage = Some(ReviewCoverage {
                gate: e.gate.clone(),
                percent: num("percent"),
                changed_percent: num("changed_percent"),
                uncovered_changed_lines: uncovered,
            });
        }
        if e.kind == Kind::Scope {
            outside = e
                .figures
                .get("outside")
                .and_then(|v| serde_json::from_value::<Vec<String>>(v.clone()).ok())
                .unwrap_or_default();
        }
        gates_out.push(ReviewGate::of(o));
    }
    let skipped = f
        .gate_runs
        .iter()
        .filter(|((p, _), run)| *p == id && run.verdict == crate::state::RunVerdict::Skipped && tree == run.tree)
        .map(|((_, g), _)| g.clone())
        .collect();
    let mut look = Vec::new();
    let mut by_size: Vec<&FileStat> = files.iter().filter(|s| s.added + s.removed > 0).collect();
    by_size.sort_by_key(|s| std::cmp::Reverse(s.added + s.removed));
    for s in by_size.iter().take(3) {
        look.push(format!("{}: +{} −{} (one of the largest changes)", s.path, s.added, s.removed));
    }
    for s in &files {
        if s.status == Status::Deleted && is_test_path(&s.path) {
            look.push(format!("{}: a test file is deleted", s.path));
        } else if is_test_path(&s.path) && s.removed > 0 {
            look.push(format!("{}: a test file loses {} line(s)", s.path, s.removed));
        }
        if sensitive(&s.path) {
            look.push(format!("{}: a security-sensitive path", s.path));
        }
    }
    for p in &outside {
        look.push(format!("{p}: outside the phase's paths"));
    }
    let commits = repo.rev_list(&[tip], &[fork], None)?.len();
    Ok(Review {
        feature: f.name.clone(),
        phase: id,
        title: def.map(|d| d.title.clone()).unwrap_or_default(),
        owner: def.map(|d| d.owner.clone()).unwrap_or_default(),
        branch: rec.branch.clone(),
        fork: fork.to_string(),
        tip: tip.to_string(),
        tree: tree.to_string(),
        submitted: rec.submitted == Some(tip),
        commits,
        added: files.iter().map(|s| s.added).sum(),
        removed: files.iter().map(|s| s.removed).sum(),
        files,
        gates: gates_out,
        coverage,
        outside,
        skipped,
        started_at: rec.started_at.clone(),
        time_spent: spent(&rec.started_at),
        look_here_first: look,
        changes_requested: rec.changes_requested.as_ref().and_then(|c| c.note.clone()),
    })
}

/// The phase a review means: the one named, else [`FeatureView::phase_meant`]'s.
fn meant(repo: &Repo, config: &Config, loaded: &Loaded, phase: Option<u32>) -> Result<u32> {
    match phase {
        Some(id) => Ok(id),
        None => Workflow::new(repo, config)
            .view_of(loaded)?
            .phase_meant(repo.working_branch()?.as_deref(), Purpose::Review("review")),
    }
}

/// [`review`] of the phase meant (named, else the checked-out one, else the one awaiting
/// review): what `git orchestrate review` shows.
pub fn review_phase(
    repo: &Repo,
    config: &Config,
    loaded: &Loaded,
    phase: Option<u32>,
    trust: bool,
    progress: &mut dyn FnMut(gates::Progress<'_>),
) -> Result<Review> {
    let id = meant(repo, config, loaded, phase)?;
    review(repo, loaded, id, trust, progress)
}

/// A phase sent back to its owner.
pub struct SentBack {
    pub phase: u32,
    /// The reviewer's reason, as recorded.
    pub reason: String,
}

/// [`request_changes`] of the phase meant (as [`review_phase`] finds it), which needs a reason.
pub fn send_back(repo: &Repo, config: &Config, loaded: &Loaded, phase: Option<u32>, reason: &str) -> Result<SentBack> {
    let id = meant(repo, config, loaded, phase)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Error::usage("--request-changes needs the reason in -m"));
    }
    request_changes(repo, loaded, id, reason)?;
    Ok(SentBack { phase: id, reason: reason.to_string() })
}

/// Send a phase back to its owner (`NEEDS_REVISION`) with the reason: it is active again, and
/// `status` and the next brief show the reason.
pub fn request_changes(repo: &Repo, loaded: &Loaded, id: u32, note: &str) -> Result<()> {
    let (tip, _) = phase_tip(repo, loaded, id)?;
    let (config, _) = super::judging_config(repo, Some(&loaded.feature))?;
    Workflow::new(repo, &config).record(
        &loaded.feature.name,
        &loaded.log,
        What::ChangesRequested(ChangesRequested { phase: id, commit: tip, note: Some(note.to_string()) }),
    )?;
    Ok(())
}

/// A pull request opened (or prepared) for a review on a forge.
#[derive(Debug, Clone, Serialize)]
pub struct PullRequest {
    /// The file that holds its body.
    pub body_file: std::path::PathBuf,
    /// What `gh pr create` said (the PR's address), when `gh` is on PATH.
    pub opened: Option<String>,
    /// The command that opens it, when `gh` is not on PATH.
    pub command: String,
}

/// Push `head` (and `base`, which the pull request targets) to `remote` through the usual
/// pre-push judgement, write the body beside the tool's state, and open the pull request with
/// `gh` when it is on PATH.
pub fn pull_request(repo: &Repo, remote: &str, base: &str, head: &str, title: &str, body: &str) -> Result<PullRequest> {
    repo.push_branch(remote, base)?;
    repo.push_branch(remote, head)?;
    let dir = repo.common_dir().join("orchestrate").join("pr");
    std::fs::create_dir_all(&dir).map_err(|e| Error::blocked(format!("cannot create {}: {e}", dir.display())))?;
    let body_file = dir.join(format!("{}.md", head.replace('/', "_")));
    std::fs::write(&body_file, body)
        .map_err(|e| Error::blocked(format!("cannot write {}: {e}", body_file.display())))?;
    let opened = repo.gh_pr_create(base, head, title, &body_file)?;
    let command = format!(
        "gh pr create --base {base} --head {head} --title '{}' --body-file '{}'",
        title.replace('\'', "'\\''"),
        body_file.display()
    );
    Ok(PullRequest { body_file, opened, command })
}

/// The body file of the pull request `phase submit --pr` opened for `head`, if it did.
pub fn pull_request_of(repo: &Repo, head: &str) -> Option<std::path::PathBuf> {
    let file = repo.common_dir().join("orchestrate").join("pr").join(format!("{}.md", head.replace('/', "_")));
    file.is_file().then_some(file)
}

/// Close the loop on a phase's pull request once the phase is approved: the integration branch
/// (which now holds the squash) is pushed, and the pull request closed with a comment that
/// names the squash. `Ok(None)`: no pull request was opened for it; `Ok(Some(None))`: `gh` is
/// not on PATH, here is the command.
pub fn close_pull_request(
    repo: &Repo,
    remote: &str,
    integration: &str,
    head: &str,
    squash: ObjectId,
) -> Result<Option<Option<String>>> {
    let Some(body) = pull_request_of(repo, head) else { return Ok(None) };
    repo.push_branch(remote, integration)?;
    let comment = format!("Approved and squashed into {integration} as {squash}.");
    let closed = repo.gh_pr_close(head, &comment)?;
    let _ = std::fs::remove_file(body);
    Ok(Some(if closed { None } else { Some(format!("gh pr close {head} --comment '{comment}'")) }))
}
