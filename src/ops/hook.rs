//! What the installed hooks decide on a feature's branches: pre-commit's refusals and gate run,
//! the message prepared for a phase commit, the user's own hook run first, and the refresh of
//! shims older than the configuration. `cmd/hook.rs` routes git's call here and renders; the
//! cheap decisions it makes before (no feature, no work) stay there, on the hot path.

use std::ffi::OsString;

use crate::config::Stage;
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::render::Renderer;
use crate::workflow::Loaded;

use super::{GateReport, GateRequest, HooksInstalled};

/// Run the user's own `hook`, kept beside our shim, with git's arguments and `stdin`, when there
/// is one. Its failure blocks, as it would have without us.
pub fn run_chained(repo: &Repo, hook: &str, args: &[OsString], stdin: Option<&[u8]>) -> Result<()> {
    let chained = crate::hooks::chained_path(&repo.hooks_dir().path, hook);
    if !chained.is_file() {
        return Ok(());
    }
    let code = crate::gates::runner::run_hook(&chained, args, stdin)
        .map_err(|e| Error::blocked(format!("running your {hook} hook ({}): {e}", chained.display())))?;
    if code != 0 {
        return Err(Error::blocked(format!("your own {hook} hook ({}) failed with exit {code}", chained.display())));
    }
    Ok(())
}

/// A configuration newer than the shims sends every commit to the binary; reinstall them (they
/// bake the branch prefixes in) so the next commit takes the fast path again. `Ok(None)` when
/// the shim of `hook` is not ours or is not older than the configuration.
pub fn refresh_stale_shims(repo: &Repo, hook: &str) -> Result<Option<HooksInstalled>> {
    let dir = repo.hooks_dir().path;
    let shim = dir.join(hook);
    if !crate::hooks::is_ours(&shim) {
        return Ok(None);
    }
    let modified = |f: &std::path::Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
    if modified(&repo.workdir().join(crate::config::FILE)) <= modified(&shim) {
        return Ok(None);
    }
    super::install_hooks(repo).map(Some)
}

/// pre-commit (and pre-merge-commit) on `branch`, a branch of `loaded`: refuse a commit on a
/// phase while the plan's approval is void or once the phase is approved and squashed, and a
/// hand-made change on the integration branch; then run the pre-commit gates on the index.
pub fn pre_commit(
    repo: &Repo,
    loaded: &Loaded,
    branch: &str,
    progress: &mut dyn FnMut(crate::gates::Progress<'_>),
) -> Result<GateReport> {
    let f = &loaded.feature;
    let feature = &f.name;
    let on_phase = f.phase_on(branch);
    if let Some((id, phase)) = on_phase.and_then(|id| f.phases.get(&id).map(|p| (id, p))) {
        let plan_blob = loaded.plan.as_ref().ok().map(|(_, blob)| *blob);
        if !f.plan_approved_as(plan_blob) {
            return Err(Error::blocked(format!(
                "the plan of {feature} changed since it was approved: no commits on phase {id} until it is approved again"
            ))
            .hint(format!("git orchestrate approve plan --feature {feature}")));
        }
        if phase.approval.is_some() {
            return Err(Error::blocked(format!(
                "phase {id} of {feature} is approved and squashed; new work belongs to the next phase"
            ))
            .hint("git orchestrate phase start next"));
        }
    }
    if branch == f.branch {
        super::check_integration_commit(repo, f)?;
    }
    let req = GateRequest {
        stage: Some(Stage::PreCommit),
        // The phase is known: the gate run need not look for it again.
        phase: on_phase,
        ..GateRequest::default()
    };
    super::gate(repo, Some(loaded), &req, progress)
}

/// The text prepare-commit-msg writes into the message file for a commit on `branch`, whose
/// file holds `current`: the phase's commit message (`phase-commit.txt`, its body measured from
/// what is staged) above git's own lines. `None` when there is nothing to write: `branch` is no
/// phase of `loaded`, the committed plan does not parse or lacks the phase, or the file already
/// holds a message (a line that is neither a comment nor blank).
pub fn prepared_message(repo: &Repo, loaded: &Loaded, branch: &str, current: &str) -> Result<Option<String>> {
    let feature = &loaded.feature.name;
    let Ok((plan, _)) = &loaded.plan else { return Ok(None) };
    let Some(id) = loaded.feature.phase_on(branch) else { return Ok(None) };
    let Some(def) = plan.phase(id) else { return Ok(None) };
    if current.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        return Ok(None);
    }
    // The body says what is staged: measured, not guessed.
    let head = repo.resolve_commit("HEAD")?.map(|h| repo.commit_tree(h)).transpose()?;
    let changes = repo.diff_summary(head, repo.index_tree()?, 20)?;
    let message = Renderer::new(Some(repo.workdir())).render(
        "phase-commit.txt",
        minijinja::context! {
            feature, phase => minijinja::value::Serde(def), phase_count => plan.phases.len(),
            plan_path => &loaded.feature.plan, approved_by => "", changes,
        },
    )?;
    Ok(Some(format!("{}\n\n{current}", message.trim_end())))
}
