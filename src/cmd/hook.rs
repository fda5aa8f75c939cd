//! `git orchestrate hook <name>`: what the installed shims run. This is the hot path: on a
//! branch that belongs to no feature it reads HEAD and the branch patterns and exits, printing
//! nothing. A user's own hook, kept beside the shim, runs first.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use super::Ctx;
use crate::config::Stage;
use crate::error::{Error, Result};
use crate::output::Ui;
use crate::render::Renderer;
use crate::workflow::Loaded;

/// What a shim established before starting the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Seen {
    None,
    Chained,
    FeaturePrefix,
}

/// Run a git hook (called by the installed shims, not by people).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What the shim already did: `chained` (ran the user's own hook), `feature-prefix` (that,
    /// and HEAD is a branch under the feature prefixes of the current configuration).
    #[arg(long, value_enum, default_value_t = Seen::None)]
    pub seen: Seen,
    /// pre-commit, pre-merge-commit, prepare-commit-msg, commit-msg or pre-push.
    pub hook: String,
    /// What git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

pub fn run(ui: &Ui, dir: &Path, args: &Args) -> Result<()> {
    // The message lint needs no repository: on a feature branch the shim has seen, go to it.
    if args.hook == "commit-msg" && args.seen == Seen::FeaturePrefix {
        return commit_msg(&args.args);
    }
    let repo = crate::git::Repo::discover(dir)?;
    // pre-push reads the refs being pushed on stdin; our hook and the chained one both need them.
    let stdin = if args.hook == "pre-push" {
        let mut bytes = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut bytes);
        Some(bytes)
    } else {
        None
    };
    let chained = crate::hooks::chained_path(&repo.hooks_dir().path, &args.hook);
    if args.seen == Seen::None && chained.is_file() {
        let code = crate::gates::runner::run_hook(&chained, &args.args, stdin.as_deref())
            .map_err(|e| Error::blocked(format!("running your {} hook ({}): {e}", args.hook, chained.display())))?;
        if code != 0 {
            return Err(Error::blocked(format!(
                "your own {} hook ({}) failed with exit {code}",
                args.hook,
                chained.display()
            )));
        }
    }
    let config = super::committed_config(&repo)?;
    if args.hook == "pre-push" {
        // Which remote it is does not matter: each update is judged by what it sends.
        return pre_push(ui, &Ctx { repo, config }, &String::from_utf8_lossy(stdin.as_deref().unwrap_or_default()));
    }
    let Some(branch) = repo.working_branch()? else { return Ok(()) };
    // A configuration newer than the shims sends every commit here; refresh them (they bake the
    // branch prefixes in) so the next commit takes the fast path again.
    let dir = repo.hooks_dir().path;
    if crate::hooks::is_ours(&dir.join(&args.hook)) {
        let modified = |f: &std::path::Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
        if modified(&repo.workdir().join(crate::config::FILE)) > modified(&dir.join(&args.hook)) {
            let _ = crate::ops::install_hooks(&repo);
        }
    }
    // Cheap decisions first: a message git already has is not rewritten, and linting a message
    // on a feature's branch needs no feature state.
    if args.hook == "prepare-commit-msg" && args.args.len() != 1 {
        return Ok(());
    }
    let on_prefix = config.branches.prefixes().iter().any(|p| branch.starts_with(p.as_str()));
    if on_prefix && args.hook == "commit-msg" {
        return commit_msg(&args.args);
    }
    // Off the prefixes the branch may still be a feature's, made under an earlier pattern (the
    // shims bake such branches in, so only they and unusual cases get here).
    let ctx = Ctx { repo, config };
    let Some(loaded) = ctx.load_feature_of_branch(&branch)? else { return Ok(()) };
    match args.hook.as_str() {
        "commit-msg" => commit_msg(&args.args),
        // `git merge` runs pre-merge-commit instead of pre-commit: the merge is judged alike.
        "pre-commit" | "pre-merge-commit" => pre_commit(ui, &ctx, &loaded, &branch),
        "prepare-commit-msg" => prepare_commit_msg(&ctx, &loaded, &branch, &args.args),
        other => {
            Err(Error::usage(format!("unknown hook `{other}`"))
                .hint(format!("hooks: {}", crate::hooks::HOOKS.join(", "))))
        }
    }
}

fn pre_commit(ui: &Ui, ctx: &Ctx, loaded: &Loaded, branch: &str) -> Result<()> {
    let f = &loaded.feature;
    let feature = &f.name;
    let on_phase = f.phases.iter().find(|(_, p)| p.branch == branch);
    if let Some((id, phase)) = on_phase {
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
        crate::ops::check_integration_commit(&ctx.repo, f)?;
    }
    let req = crate::ops::GateRequest {
        stage: Some(Stage::PreCommit),
        // The phase is known: the gate run need not look for it again.
        phase: on_phase.map(|(id, _)| *id),
        ..crate::ops::GateRequest::default()
    };
    let report = crate::ops::gate(&ctx.repo, Some(loaded), &req, &mut |p| {
        if let crate::gates::Progress::Waiting { holder } = p {
            super::say_waiting(ui, holder);
        }
    })?;
    super::show::gate(ui, &report, false, true)
}

fn commit_msg(args: &[OsString]) -> Result<()> {
    let Some(file) = args.first() else { return Err(Error::usage("commit-msg is called with the message file")) };
    let message =
        std::fs::read_to_string(file).map_err(|e| Error::blocked(format!("cannot read the commit message: {e}")))?;
    match crate::commitmsg::judge(&message, "the commit message needs work") {
        None => Ok(()),
        Some(err) => Err(err.hint(
            "example: feat(jwt-auth): add the token refresh endpoint — your message is kept in .git/COMMIT_EDITMSG",
        )),
    }
}

fn prepare_commit_msg(ctx: &Ctx, loaded: &Loaded, branch: &str, args: &[OsString]) -> Result<()> {
    // Only when git has no message yet: not for -m/-F, templates, merges, squashes or amends.
    let (Some(file), None) = (args.first(), args.get(1)) else { return Ok(()) };
    let feature = &loaded.feature.name;
    let Ok((plan, _)) = &loaded.plan else { return Ok(()) };
    let Some((id, _)) = loaded.feature.phases.iter().find(|(_, r)| r.branch == branch) else { return Ok(()) };
    let Some(def) = plan.phase(*id) else { return Ok(()) };
    let current = std::fs::read_to_string(file).unwrap_or_default();
    if current.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        return Ok(());
    }
    // The body says what is staged: measured, not guessed.
    let repo = &ctx.repo;
    let head = repo.resolve_commit("HEAD")?.map(|h| repo.commit_tree(h)).transpose()?;
    let changes = repo.diff_summary(head, repo.index_tree()?, 20)?;
    let message = Renderer::new(Some(repo.workdir())).render(
        "phase-commit.txt",
        minijinja::context! {
            feature, phase => minijinja::value::Serde(def), phase_count => plan.phases.len(),
            plan_path => &loaded.feature.plan, approved_by => "", changes,
        },
    )?;
    std::fs::write(file, format!("{}\n\n{current}", message.trim_end()))
        .map_err(|e| Error::blocked(format!("cannot write the commit message: {e}")))
}

/// pre-push: each update is judged by the ref it lands on and the commits it brings (see
/// [`crate::ops::judge_push`]).
fn pre_push(ui: &Ui, ctx: &Ctx, stdin: &str) -> Result<()> {
    let updates = crate::ops::PushUpdate::parse(stdin);
    let mut progress = ui.progress();
    let reports =
        crate::ops::judge_push(&ctx.repo, &ctx.config, &updates, false, &mut super::gate_progress(&mut progress));
    progress.clear();
    for report in reports? {
        super::show::gate(ui, &report, false, true)?;
    }
    Ok(())
}
