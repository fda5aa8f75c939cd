//! `git orchestrate start <feature>`: scaffold (or import) the plan, commit it on a new
//! integration branch forked from the base, record the feature, and check the branch out.

use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::git::{Head, ObjectId, Repo};
use crate::output::Ui;
use crate::plan;
use crate::render::Renderer;
use crate::state::What;
use crate::workflow::plan_path;

/// Turn a feature into a plan on its own branch: the front door.
///
/// Writes plans/<feature>/plan.md from the template (or imports --plan FILE), commits it on a
/// new integration branch forked from the base, records the feature in git notes and checks the
/// branch out. Your unstaged edits and untracked files come along untouched; staged changes are
/// refused, so nothing of yours lands in the plan commit.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate start jwt-auth\n  git orchestrate start jwt-auth --title \"JWT authentication\" --phases 4\n  git orchestrate start jwt-auth --plan ~/drafts/jwt-plan.md --base develop"
)]
pub struct Args {
    /// The feature's slug: lowercase letters, digits and single dashes (`jwt-auth`).
    pub feature: String,
    /// One line saying what the feature is (default: from the slug).
    #[arg(long)]
    pub title: Option<String>,
    /// The branch to fork from and finish into (default: the repository's default branch).
    #[arg(long)]
    pub base: Option<String>,
    /// Import this plan file instead of scaffolding one.
    #[arg(long, value_name = "FILE", conflicts_with = "phases")]
    pub plan: Option<PathBuf>,
    /// How many phases the scaffold has.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=50))]
    pub phases: u32,
    /// A lane for small work: `bugfix` or `hotfix`. One phase; the plan needs no approval of
    /// its own (the phase review is the pause point); the lane's gates are those listed under
    /// `[lanes.<lane>]` in .orchestrate.toml (all gates when it lists none).
    #[arg(long, value_parser = ["bugfix", "hotfix"])]
    pub lane: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Started {
    feature: String,
    title: String,
    base: String,
    branch: String,
    plan: String,
    commit: String,
}

const OWNERS: &[&str] = &["maat", "hermes", "aphrodite"];

/// The repository's default branch: the remote's HEAD, `init.defaultBranch`, `main`, `master`.
fn default_base(repo: &Repo) -> Result<Option<String>> {
    if let Some(target) = repo.symbolic_target("refs/remotes/origin/HEAD")? {
        if let Some(short) = target.strip_prefix("refs/remotes/origin/") {
            if repo.branch_tip(short)?.is_some() {
                return Ok(Some(short.to_string()));
            }
        }
    }
    let mut candidates = Vec::new();
    if let Some(configured) = repo.config_string("init.defaultBranch") {
        candidates.push(configured);
    }
    candidates.extend(["main".to_string(), "master".to_string()]);
    for c in candidates {
        if repo.branch_tip(&c)?.is_some() {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn default_title(feature: &str) -> String {
    let words = feature.replace('-', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let repo = &ctx.repo;
    let feature = args.feature.as_str();
    if !plan::valid_slug(feature) {
        return Err(Error::usage(format!("`{feature}` is not a valid feature name"))
            .hint("use lowercase letters, digits and single dashes, starting with a letter or digit: `jwt-auth`"));
    }
    if let Head::Unborn { name } = repo.head()? {
        return Err(Error::blocked(format!("branch {name} has no commits yet, so there is nothing to fork from"))
            .hint("make a first commit, e.g.: git commit --allow-empty -m \"chore: initial commit\""));
    }
    let flow = ctx.workflow();
    let log = flow.log(feature)?;
    if !log.is_empty() {
        return Err(Error::blocked(format!("feature `{feature}` already exists"))
            .hint(format!("see it with: git orchestrate status --feature {feature}; or choose another name")));
    }
    let branch = ctx.config.branches.integration(feature);
    Repo::validate_branch_name(&branch)?;
    if repo.branch_tip(&branch)?.is_some() {
        return Err(Error::blocked(format!("branch {branch} already exists"))
            .hint(format!("delete it (git branch -D {branch}) or choose another feature name")));
    }

    // The plan text: imported or scaffolded, and valid either way.
    let path = plan_path(feature);
    let gates = ctx.config.gate_names();
    let (text, imported) = match &args.plan {
        Some(file) => {
            let bytes =
                std::fs::read(file).map_err(|e| Error::usage(format!("cannot read plan {}: {e}", file.display())))?;
            let shown = file.display().to_string();
            let report = plan::lint(&shown, &bytes, Some(feature), &gates);
            if let Some(first) = report.diagnostics.iter().find(|d| d.severity == plan::Severity::Error) {
                let mut err = Error::from(first.clone());
                if report.errors() > 1 {
                    err = err
                        .hint(format!("{} errors in all: git orchestrate plan lint --file {shown}", report.errors()));
                }
                return Err(err);
            }
            (String::from_utf8(bytes).unwrap_or_default(), report.plan)
        }
        None => (String::new(), None),
    };
    let base = match (args.base.clone(), imported.as_ref().and_then(|p| p.base.clone())) {
        (Some(b), _) | (None, Some(b)) => b,
        (None, None) => default_base(repo)?.ok_or_else(|| {
            Error::usage("cannot tell the repository's default branch").hint("name the base: --base <branch>")
        })?,
    };
    let base_tip = repo.branch_tip(&base)?.ok_or_else(|| {
        Error::usage(format!("unknown base branch `{base}`")).hint("name an existing local branch with --base")
    })?;
    repo.require_git()?;
    if repo.has_staged_changes()? {
        return Err(Error::blocked("the index has staged changes")
            .hint("commit or unstage them first (git restore --staged <paths>): start must not carry your staged work into the plan commit"));
    }

    let title = args.title.clone().unwrap_or_else(|| default_title(feature));
    let renderer = Renderer::new(Some(repo.workdir()));
    let (text, parsed) = if let Some(plan) = imported {
        (text, plan)
    } else {
        let count = if args.lane.is_some() { 1 } else { args.phases };
        let phases: Vec<_> = (1..=count)
            .map(|id| minijinja::context! { id => id, title => format!("Phase {id}"), owner => OWNERS[(id as usize - 1) % OWNERS.len()] })
            .collect();
        let text = renderer.render("plan.md", minijinja::context! { feature, title, base => &base, phases })?;
        // The scaffold must itself be a valid plan (a repository's template override may not be).
        let parsed = plan::parse(&path, text.as_bytes(), Some(feature), &gates)?;
        (text, parsed)
    };

    if args.lane.is_some() && parsed.phases.len() != 1 {
        return Err(Error::usage(format!(
            "a {} lane has exactly one phase; {path} has {}",
            args.lane.as_deref().unwrap_or_default(),
            parsed.phases.len()
        ))
        .hint("give the lane a one-phase plan, or start the feature without --lane (a full plan, approved)"));
    }
    let base_tree = repo.commit_tree(base_tip)?;
    if let Some(existing) = repo.blob_at(base_tip, &path)? {
        if existing != crate::git::blob_id(text.as_bytes()) {
            return Err(Error::blocked(format!("{path} already exists on {base}"))
                .hint(format!("import it instead: git orchestrate start {feature} --plan {path}")));
        }
    }
    let blob = repo.write_blob(text.as_bytes())?;
    let tree = repo.tree_with_file(base_tree, &path, blob)?;
    let message = renderer.render(
        "start-commit.txt",
        minijinja::context! { feature, title => &parsed.title, phase_count => parsed.phases.len() },
    )?;
    let commit = repo.write_commit(tree, &[base_tip], &message)?;
    crate::ops::branch_off(repo, &branch, commit, &format!("orchestrate: start {feature}"))?;
    flow.record(
        feature,
        &log,
        What::Created {
            feature: feature.into(),
            title: parsed.title.clone(),
            base: base.clone(),
            branch: branch.clone(),
            plan: path.clone(),
            commit: commit.to_string(),
            lane: args.lane.clone(),
        },
    )?;
    let started =
        Started { feature: feature.into(), title: parsed.title, base, branch, plan: path, commit: commit.to_string() };
    report(ui, &started, args.json, commit)
}

fn report(ui: &Ui, s: &Started, json: bool, commit: ObjectId) -> Result<()> {
    if json {
        return Ok(ui.json(s)?);
    }
    ui.success(&format!("started {}: {}", s.feature, s.title));
    ui.status(&format!("  plan    {} (commit {})", s.plan, commit.to_hex_with_len(7)));
    ui.status(&format!("  branch  {} (from {})", s.branch, s.base));
    ui.hint(&format!(
        "edit {}, commit it, check it with `git orchestrate plan lint`, then `git orchestrate approve plan`",
        s.plan
    ));
    Ok(())
}
