//! Creating a feature: its plan scaffolded (or imported) and committed on a new integration
//! branch forked from the base, the branch checked out, and the feature recorded.

use std::path::Path;

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::{Head, Repo};
use crate::plan;
use crate::render::Renderer;
use crate::state::{Created, What};
use crate::workflow::{plan_path, Workflow};

/// What to start.
#[derive(Debug, Clone, Default)]
pub struct StartRequest<'a> {
    /// The feature's slug.
    pub feature: &'a str,
    /// One line saying what the feature is (default: from the slug).
    pub title: Option<&'a str>,
    /// The branch to fork from and finish into (default: the plan's, else the repository's
    /// default branch).
    pub base: Option<&'a str>,
    /// A plan file to import instead of the scaffold.
    pub plan: Option<&'a Path>,
    /// How many phases the scaffold has (a lane's has one).
    pub phases: u32,
    /// `bugfix` or `hotfix`: one phase, no plan approval of its own.
    pub lane: Option<&'a str>,
}

/// A feature started.
#[derive(Debug, Serialize)]
pub struct Started {
    pub feature: String,
    pub title: String,
    pub base: String,
    pub branch: String,
    pub plan: String,
    pub commit: String,
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

/// Start a feature: the plan (imported, or scaffolded from the template), valid either way, is
/// committed on a new integration branch forked from the base; the branch is checked out (your
/// unstaged edits come along; staged changes are refused, so nothing of yours lands in the plan
/// commit), and the feature is recorded.
pub fn start(repo: &Repo, config: &Config, req: &StartRequest<'_>) -> Result<Started> {
    let feature = req.feature;
    if !plan::valid_slug(feature) {
        return Err(Error::usage(format!("`{feature}` is not a valid feature name"))
            .hint("use lowercase letters, digits and single dashes, starting with a letter or digit: `jwt-auth`"));
    }
    if let Head::Unborn { name } = repo.head()? {
        return Err(Error::blocked(format!("branch {name} has no commits yet, so there is nothing to fork from"))
            .hint("make a first commit, e.g.: git commit --allow-empty -m \"chore: initial commit\""));
    }
    let flow = Workflow::new(repo, config);
    let log = flow.log(feature)?;
    if !log.is_empty() {
        return Err(Error::blocked(format!("feature `{feature}` already exists"))
            .hint(format!("see it with: git orchestrate status --feature {feature}; or choose another name")));
    }
    let branch = config.branches.integration(feature);
    Repo::validate_branch_name(&branch)?;
    if repo.branch_tip(&branch)?.is_some() {
        return Err(Error::blocked(format!("branch {branch} already exists"))
            .hint(format!("delete it (git branch -D {branch}) or choose another feature name")));
    }

    // The plan text: imported or scaffolded, and valid either way.
    let path = plan_path(feature);
    let gates = config.gate_names();
    let (text, imported) = match req.plan {
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
    let base = match (req.base.map(str::to_string), imported.as_ref().and_then(|p| p.base.clone())) {
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

    let title = req.title.map_or_else(|| default_title(feature), str::to_string);
    let renderer = Renderer::new(Some(repo.workdir()));
    let (text, parsed) = if let Some(plan) = imported {
        (text, plan)
    } else {
        let count = if req.lane.is_some() { 1 } else { req.phases };
        let phases: Vec<_> = (1..=count)
            .map(|id| minijinja::context! { id => id, title => format!("Phase {id}"), owner => OWNERS[(id as usize - 1) % OWNERS.len()] })
            .collect();
        let text = renderer.render("plan.md", minijinja::context! { feature, title, base => &base, phases })?;
        // The scaffold must itself be a valid plan (a repository's template override may not be).
        let parsed = plan::parse(&path, text.as_bytes(), Some(feature), &gates)?;
        (text, parsed)
    };

    if let Some(lane) = req.lane.filter(|_| parsed.phases.len() != 1) {
        return Err(Error::usage(format!("a {lane} lane has exactly one phase; {path} has {}", parsed.phases.len()))
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
    super::branch_off(repo, &branch, commit, &format!("orchestrate: start {feature}"))?;
    flow.record(
        feature,
        &log,
        What::Created(Created {
            feature: feature.into(),
            title: parsed.title.clone(),
            base: base.clone(),
            branch: branch.clone(),
            plan: path.clone(),
            commit,
            lane: req.lane.map(str::to_string),
        }),
    )?;
    Ok(Started { feature: feature.into(), title: parsed.title, base, branch, plan: path, commit: commit.to_string() })
}
