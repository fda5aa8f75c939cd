//! `git orchestrate hook <name>`: what the installed shims run. This is the hot path: on a
//! branch that belongs to no feature it reads HEAD and the branch patterns and exits, printing
//! nothing. A user's own hook, kept beside the shim, runs first.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use super::Ctx;
use crate::config::Stage;
use crate::error::{Error, Result};
use crate::render::Renderer;

/// Run a git hook (called by the installed shims, not by people).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// pre-commit, prepare-commit-msg, commit-msg or pre-push.
    pub hook: String,
    /// What git passed to the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<OsString>,
}

pub fn run(dir: &Path, args: &Args) -> Result<()> {
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
    if chained.is_file() {
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
    // Fast exit: only branches that can belong to a feature go further.
    let Some(branch) = repo.working_branch()? else { return Ok(()) };
    let config = super::load_config(repo.workdir())?;
    let prefixes = [&config.branches.integration, &config.branches.phase]
        .map(|p| p.split('{').next().unwrap_or_default().to_string());
    if !prefixes.iter().any(|p| branch.starts_with(p.as_str())) {
        return Ok(());
    }
    let ctx = Ctx { repo, config };
    let Some(feature) = ctx.feature_of_branch(&branch)? else { return Ok(()) };
    match args.hook.as_str() {
        "pre-commit" => pre_commit(&ctx, &feature, &branch),
        "commit-msg" => commit_msg(&args.args),
        "prepare-commit-msg" => prepare_commit_msg(&ctx, &feature, &branch, &args.args),
        "pre-push" => Ok(()),
        other => {
            Err(Error::usage(format!("unknown hook `{other}`"))
                .hint(format!("hooks: {}", crate::hooks::HOOKS.join(", "))))
        }
    }
}

fn pre_commit(ctx: &Ctx, feature: &str, branch: &str) -> Result<()> {
    let flow = ctx.workflow();
    let loaded = flow.load(feature)?;
    let view = flow.view_of(&loaded)?;
    if let Some(phase) = view.phases.iter().find(|p| p.branch == branch && p.fork.is_some()) {
        if view.plan_approved_by.is_none() {
            return Err(Error::blocked(format!("the plan of {feature} changed since it was approved: no commits on phase {} until it is approved again", phase.id))
                .hint(format!("git orchestrate approve plan --feature {feature}")));
        }
        if phase.state == crate::workflow::PhaseState::Approved {
            return Err(Error::blocked(format!(
                "phase {} of {feature} is approved and squashed; new work belongs to the next phase",
                phase.id
            ))
            .hint("git orchestrate phase start next"));
        }
    }
    let gate_args = super::gate::Args {
        stage: Some(Stage::PreCommit),
        only: Vec::new(),
        rev: None,
        phase: None,
        feature: Some(feature.to_string()),
        force: false,
        json: false,
        quiet: true,
    };
    super::gate::run(ctx, &gate_args)
}

fn commit_msg(args: &[OsString]) -> Result<()> {
    let Some(file) = args.first() else { return Err(Error::usage("commit-msg is called with the message file")) };
    let message =
        std::fs::read_to_string(file).map_err(|e| Error::blocked(format!("cannot read the commit message: {e}")))?;
    let mut problems = crate::commitmsg::lint(&message);
    if let Some(scanner) = crate::secrets::builtin() {
        let mut found = Vec::new();
        scanner.scan("(commit message)", 1, &message, &mut found);
        problems.extend(
            found.iter().filter(|f| !f.warning).map(|f| format!("line {}: {} ({})", f.line, f.description, f.redacted)),
        );
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut err = Error::blocked("the commit message needs work");
    for p in problems {
        err = err.cause(p);
    }
    Err(err
        .hint("example: feat(jwt-auth): add the token refresh endpoint — your message is kept in .git/COMMIT_EDITMSG"))
}

fn prepare_commit_msg(ctx: &Ctx, feature: &str, branch: &str, args: &[OsString]) -> Result<()> {
    // Only when git has no message yet: not for -m/-F, templates, merges, squashes or amends.
    let (Some(file), None) = (args.first(), args.get(1)) else { return Ok(()) };
    let flow = ctx.workflow();
    let loaded = flow.load(feature)?;
    let Ok((plan, _)) = &loaded.plan else { return Ok(()) };
    let Some((id, _)) = loaded.feature.phases.iter().find(|(_, r)| r.branch == branch) else { return Ok(()) };
    let Some(def) = plan.phase(*id) else { return Ok(()) };
    let current = std::fs::read_to_string(file).unwrap_or_default();
    if current.lines().any(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        return Ok(());
    }
    let subject = Renderer::new(Some(ctx.repo.workdir())).render(
        "phase-commit.txt",
        minijinja::context! {
            feature, phase => minijinja::value::Serde(def), phase_count => plan.phases.len(),
            plan_path => &loaded.feature.plan, approved_by => "", changes => "",
        },
    )?;
    let header = subject.lines().next().unwrap_or_default();
    std::fs::write(file, format!("{header}\n\n{current}"))
        .map_err(|e| Error::blocked(format!("cannot write the commit message: {e}")))
}
