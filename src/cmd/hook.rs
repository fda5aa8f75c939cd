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

pub fn run(dir: &Path, args: &Args) -> Result<()> {
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
    let config = super::load_config(repo.workdir())?;
    if args.hook == "pre-push" {
        let remote = args.args.first().map(|r| r.to_string_lossy().into_owned()).unwrap_or_default();
        return pre_push(
            &Ctx { repo, config },
            &remote,
            &String::from_utf8_lossy(stdin.as_deref().unwrap_or_default()),
        );
    }
    let Some(branch) = repo.working_branch()? else { return Ok(()) };
    // A configuration newer than the shims sends every commit here; refresh them (they bake the
    // branch prefixes in) so the next commit takes the fast path again.
    let dir = repo.hooks_dir().path;
    if crate::hooks::is_ours(&dir.join(&args.hook)) {
        let modified = |f: &std::path::Path| std::fs::metadata(f).and_then(|m| m.modified()).ok();
        if modified(&repo.workdir().join(crate::config::FILE)) > modified(&dir.join(&args.hook)) {
            let _ = super::hooks::install(&repo);
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
        "pre-commit" | "pre-merge-commit" => pre_commit(&ctx, loaded, &branch),
        "prepare-commit-msg" => prepare_commit_msg(&ctx, &loaded, &branch, &args.args),
        other => {
            Err(Error::usage(format!("unknown hook `{other}`"))
                .hint(format!("hooks: {}", crate::hooks::HOOKS.join(", "))))
        }
    }
}

fn pre_commit(ctx: &Ctx, loaded: Loaded, branch: &str) -> Result<()> {
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
    let gate_args = super::gate::Args {
        stage: Some(Stage::PreCommit),
        only: Vec::new(),
        rev: None,
        // The phase is known: the gate run need not look for it again.
        phase: on_phase.map(|(id, _)| *id),
        feature: Some(feature.clone()),
        force: false,
        json: false,
        quiet: true,
    };
    super::gate::run_loaded(ctx, &gate_args, Some(loaded))
}

fn commit_msg(args: &[OsString]) -> Result<()> {
    let Some(file) = args.first() else { return Err(Error::usage("commit-msg is called with the message file")) };
    let message =
        std::fs::read_to_string(file).map_err(|e| Error::blocked(format!("cannot read the commit message: {e}")))?;
    match judge_message(&message, "the commit message needs work") {
        None => Ok(()),
        Some(err) => Err(err.hint(
            "example: feat(jwt-auth): add the token refresh endpoint — your message is kept in .git/COMMIT_EDITMSG",
        )),
    }
}

/// What is wrong with a commit message (Conventional Commits, secrets in it), as an error headed
/// `what` with one cause per problem; `None` when nothing is.
fn judge_message(message: &str, what: impl Into<String>) -> Option<Error> {
    let mut problems = crate::commitmsg::lint(message);
    if let Some(scanner) = crate::secrets::builtin() {
        let mut found = Vec::new();
        scanner.scan("(commit message)", 1, message, &mut found);
        problems.extend(
            found.iter().filter(|f| !f.warning).map(|f| format!("line {}: {} ({})", f.line, f.description, f.redacted)),
        );
    }
    (!problems.is_empty()).then(|| problems.into_iter().fold(Error::blocked(what), Error::cause))
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

/// pre-push: for each ref git is about to push (stdin: `<local ref> <local sha> <remote ref>
/// <remote sha>`), every new commit of a feature must carry passing pre-commit evidence for its
/// tree (which catches `git commit --no-verify`), the pre-push gates run on the pushed tip, and
/// a feature's commits may not reach its base before the feature is finished.
fn pre_push(ctx: &Ctx, remote: &str, stdin: &str) -> Result<()> {
    const ZERO: &str = "0000000000000000000000000000000000000000";
    let repo = &ctx.repo;
    let flow = ctx.workflow();
    let mut features = None;
    for line in stdin.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [local_ref, local_sha, remote_ref, remote_sha] = parts[..] else { continue };
        if local_sha == ZERO {
            continue; // a deletion pushes no commit
        }
        let features = match &features {
            Some(f) => f,
            None => features.insert(flow.overview()?),
        };
        let branch = local_ref.strip_prefix("refs/heads/").unwrap_or(local_ref);
        let target = remote_ref.strip_prefix("refs/heads/").unwrap_or(remote_ref);
        let owner = features
            .iter()
            .find(|f| f.branch == branch || f.phases.iter().any(|p| p.branch == branch && p.fork.is_some()));
        let into_base: Vec<_> = features.iter().filter(|f| f.base == target).collect();
        if owner.is_none() && into_base.is_empty() {
            continue;
        }
        // The commits the remote does not have yet.
        let mut rev_list = repo.cli().args(["rev-list", local_sha, "--not"]);
        rev_list = if remote_sha == ZERO {
            rev_list.args([format!("--remotes={remote}")])
        } else {
            rev_list.args([remote_sha])
        };
        let new: Vec<String> = rev_list.read()?.lines().map(str::to_string).collect();
        for f in into_base {
            let loaded = flow.load(&f.name)?;
            let theirs = loaded.feature.tool_commits();
            if new.iter().any(|c| theirs.contains(&c.as_str())) {
                return Err(Error::blocked(format!(
                    "this push brings feature {} into {target}, and the feature is not finished",
                    f.name
                ))
                .hint("a person finishes a feature (its final gates and approval) before it reaches its base"));
            }
        }
        let Some(feature) = owner else { continue };
        let loaded = flow.load(&feature.name)?;
        let made_by_us = loaded.feature.tool_commits();
        let phase = feature.phases.iter().find(|p| p.branch == branch).map(|p| p.id);
        let overrides =
            loaded.plan.as_ref().ok().and_then(|(plan, _)| phase.and_then(|id| plan.phase(id))).map(|d| &d.gates);
        let required: Vec<_> = crate::gates::select(&ctx.config, Some(Stage::PreCommit), &[], phase, overrides)?
            .into_iter()
            .filter(|s| s.required)
            .collect();
        for commit in new.iter().filter(|c| !made_by_us.contains(&c.as_str())) {
            let id = crate::git::ObjectId::from_hex(commit.as_bytes())
                .map_err(|_| Error::blocked(format!("bad commit id {commit}")))?;
            if repo.commit_parents(id)?.len() > 1 {
                continue; // merges are judged through their parents
            }
            // commit-msg is skipped by --no-verify (and may not have been linked in, see
            // hooks.rs): the message is judged here again.
            let short = &commit[..commit.len().min(10)];
            let what = format!("the message of commit {short} on {branch} needs work");
            if let Some(err) = judge_message(&repo.commit_message(id)?, what) {
                return Err(err.hint(format!("reword it (git rebase -i {short}~1, `reword`), then push again")));
            }
            let records = crate::gates::evidence_for(repo, repo.commit_tree(id)?)?;
            for spec in &required {
                let passed =
                    crate::gates::cached(&records, spec).is_some_and(|e| e.verdict == crate::gates::Verdict::Pass);
                if !passed {
                    return Err(Error::blocked(format!(
                        "commit {short} on {branch} has no passing `{}` evidence: was it made with --no-verify?",
                        spec.name
                    ))
                    .hint(format!(
                        "gate it now: git orchestrate gate --rev {short} --stage pre-commit; then push again"
                    )));
                }
            }
        }
        let gate_args = super::gate::Args {
            stage: Some(Stage::PrePush),
            only: Vec::new(),
            rev: Some(local_sha.to_string()),
            phase,
            feature: Some(feature.name.clone()),
            force: false,
            json: false,
            quiet: true,
        };
        super::gate::run_loaded(ctx, &gate_args, Some(loaded))?;
    }
    Ok(())
}
