//! `git orchestrate hook <name>`: what the installed shims run. This is the hot path: on a
//! branch that belongs to no feature it reads HEAD and the branch patterns and exits, printing
//! nothing. A user's own hook, kept beside the shim, runs first.

use std::ffi::OsString;
use std::io::Read;
use std::path::Path;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::Ui;
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
    if args.seen == Seen::None {
        crate::ops::hook::run_chained(&repo, &args.hook, &args.args, stdin.as_deref())?;
    }
    let config = super::committed_config(&repo)?;
    if args.hook == "pre-push" {
        // Which remote it is does not matter: each update is judged by what it sends.
        return pre_push(ui, &Ctx { repo, config }, &String::from_utf8_lossy(stdin.as_deref().unwrap_or_default()));
    }
    let Some(branch) = repo.working_branch()? else { return Ok(()) };
    // A configuration newer than the shims sends every commit here: refresh them (never failing
    // the commit for it).
    let _ = crate::ops::hook::refresh_stale_shims(&repo, &args.hook);
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
    let Some(loaded) = ctx.workflow().owner_of(&branch)? else { return Ok(()) };
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
    let report = crate::ops::hook::pre_commit(&ctx.repo, loaded, branch, &mut |p| {
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
    let current = std::fs::read_to_string(file).unwrap_or_default();
    let Some(message) = crate::ops::hook::prepared_message(&ctx.repo, loaded, branch, &current)? else {
        return Ok(());
    };
    std::fs::write(file, message).map_err(|e| Error::blocked(format!("cannot write the commit message: {e}")))
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
