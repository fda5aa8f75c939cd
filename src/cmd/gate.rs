//! `git orchestrate gate`: run the configured gates on the exact snapshot being judged, print a
//! table, record evidence. Exit 1 when a required gate does not pass.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::Ctx;
use crate::config::Stage;
use crate::error::{Error, Result};
use crate::gates::{self, Verdict};
use crate::output::{self, Paint};
use crate::state::What;
use crate::workflow::Loaded;

/// Run the gates on a snapshot and record the evidence in git notes, keyed by its tree.
///
/// The snapshot is the index for `--stage pre-commit`, else a commit (HEAD, or --rev). Commands
/// run in a separate gate worktree under the git directory, so your work tree is never changed.
/// A tree already gated with the same configuration is not run again (--force runs it). On a
/// terminal the result is a table; elsewhere one `<gate> <verdict> <figure> (<time>)` line per
/// gate.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate gate\n  git orchestrate gate --stage pre-push --json\n  git orchestrate gate --only tests,coverage --force\n  git orchestrate gate --stage pre-commit   # judge what is staged"
)]
pub struct Args {
    /// Only the gates of this stage (default: every configured gate).
    #[arg(long, value_enum)]
    pub stage: Option<Stage>,
    /// Only these gates (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "GATES")]
    pub only: Vec<String>,
    /// The commit to judge (default: HEAD; with --stage pre-commit, the index).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// The phase whose overrides and fork point apply (default: the checked-out phase).
    #[arg(long)]
    pub phase: Option<u32>,
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Run even when evidence for this tree and configuration exists.
    #[arg(long)]
    pub force: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Print nothing when no gate applies (the hooks).
    #[arg(skip)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    tree: String,
    stage: Option<&'static str>,
    feature: Option<&'a str>,
    phase: Option<u32>,
    passed: bool,
    gates: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    evidence: &'a gates::Evidence,
    cached: bool,
    required: bool,
}

pub fn run(ctx: &Ctx, args: &Args) -> Result<()> {
    run_loaded(ctx, args, None)
}

/// [`run`], with the feature already loaded by the caller (a hook), so it is not read twice.
pub fn run_loaded(ctx: &Ctx, args: &Args, loaded: Option<Loaded>) -> Result<()> {
    let repo = &ctx.repo;
    let flow = ctx.workflow();
    // Feature and phase are context when the branch being worked on belongs to one; gates also
    // run outside any feature. A feature whose log cannot be read is an error, never a run
    // without its context.
    let feature = match (&args.feature, &loaded) {
        (Some(f), _) => Some(f.clone()),
        (None, Some(l)) => Some(l.feature.name.clone()),
        (None, None) => ctx.current_feature()?,
    };
    let loaded = match loaded {
        Some(l) => Some(l),
        None => feature.as_deref().map(|f| flow.load(f)).transpose()?,
    };
    // During a rebase HEAD is detached: the branch being rebased is the one worked on.
    let phase = match (args.phase, loaded.as_ref()) {
        (Some(p), _) => Some(p),
        (None, Some(l)) => {
            let head_branch = repo.working_branch()?;
            l.feature.phases.iter().find(|(_, r)| Some(&r.branch) == head_branch.as_ref()).map(|(id, _)| *id)
        }
        (None, None) => None,
    };
    let plan = loaded.as_ref().and_then(|l| l.plan.as_ref().ok()).map(|(p, _)| p);
    if let (Some(p), Some(plan)) = (phase, plan) {
        if plan.phase(p).is_none() {
            return Err(
                Error::usage(format!("{} has no phase {p}", plan.feature)).hint(format!("phases are {}", plan.ids()))
            );
        }
    }
    let overrides = plan.and_then(|p| phase.and_then(|id| p.phase(id))).map(|d| &d.gates);

    let staged = args.stage == Some(Stage::PreCommit) && args.rev.is_none();
    let mut judged_commit = None;
    let (tree, base) = if staged {
        let head = repo.resolve_commit("HEAD")?;
        (repo.index_tree()?, head.map(|h| repo.commit_tree(h)).transpose()?)
    } else {
        let rev = args.rev.as_deref().unwrap_or("HEAD");
        let commit = repo.resolve_commit(rev)?.ok_or_else(|| {
            Error::usage(format!("`{rev}` names no commit")).hint("pass a branch, tag or commit id with --rev")
        })?;
        judged_commit = Some(commit);
        let parent = repo.commit_parents(commit)?.first().copied();
        (repo.commit_tree(commit)?, parent.map(|p| repo.commit_tree(p)).transpose()?)
    };
    // A phase is measured against its fork point, not just its last commit.
    let base = match (loaded.as_ref(), phase) {
        (Some(l), Some(p)) => match l.feature.phases.get(&p).map(crate::state::PhaseRecord::fork_id).transpose()? {
            Some(Some(fork)) => Some(repo.commit_tree(fork)?),
            _ => base,
        },
        _ => base,
    };

    let mut specs = gates::select(&ctx.config, args.stage, &args.only, phase, overrides)?;
    // ORCHESTRATE_SKIP: optional gates may be skipped; the skip is recorded like a verdict.
    let mut skipped = Vec::new();
    for name in crate::env::skip() {
        if let Some(spec) = specs.iter().find(|s| s.name == name) {
            if spec.required {
                return Err(Error::blocked(format!("gate `{name}` is required: ORCHESTRATE_SKIP cannot skip it"))
                    .hint("only gates with `required = false` can be skipped"));
            }
            output::warn(&format!("skipping gate {name} (ORCHESTRATE_SKIP); the skip is recorded"));
            skipped.push(name.clone());
        }
    }
    specs.retain(|s| !skipped.contains(&s.name));
    if let (Some(l), Some(p)) = (loaded.as_ref(), phase) {
        let mut log = l.log.clone();
        for name in &skipped {
            let fingerprint = String::new();
            let what = What::GateRun {
                phase: p,
                gate: name.clone(),
                tree: tree.to_string(),
                fingerprint,
                verdict: "skipped".into(),
            };
            log.push(flow.record(&l.feature.name, &log, what)?);
        }
    }
    if specs.is_empty() {
        let what = args
            .stage
            .map_or_else(|| "no gates are configured".to_string(), |s| format!("no gates run at {}", s.as_str()));
        if args.json {
            return Ok(output::json(&Report {
                tree: tree.to_string(),
                stage: args.stage.map(Stage::as_str),
                feature: feature.as_deref(),
                phase,
                passed: true,
                gates: Vec::new(),
            })?);
        }
        if !args.quiet {
            output::status(&what);
            output::hint("configure gates under [gates.<name>] in .orchestrate.toml");
        }
        return Ok(());
    }
    let gctx = gates::Context {
        stage: args.stage.unwrap_or(Stage::Review),
        tree,
        base,
        feature: feature.clone(),
        phase,
        commit: judged_commit,
        scope: plan.and_then(|p| phase.and_then(|id| p.phase(id))).map(|d| d.paths.clone()),
        diff: std::cell::OnceCell::new(),
        force: args.force,
    };
    let mut progress = output::Progress::new();
    let outcomes = gates::run(repo, &specs, &gctx, &mut |gate, elapsed: Duration| {
        progress.show(&format!("running {gate} … {:.0}s", elapsed.as_secs_f64()));
    });
    progress.clear();
    let outcomes = outcomes?;

    let blocking: Vec<&gates::Outcome> =
        outcomes.iter().filter(|o| o.required && o.evidence.verdict != Verdict::Pass).collect();
    if args.json {
        let rows =
            outcomes.iter().map(|o| Row { evidence: &o.evidence, cached: o.cached, required: o.required }).collect();
        output::json(&Report {
            tree: tree.to_string(),
            stage: args.stage.map(Stage::as_str),
            feature: feature.as_deref(),
            phase,
            passed: blocking.is_empty(),
            gates: rows,
        })?;
    } else {
        output::out(&if output::stdout_is_terminal() { table(&outcomes) } else { lines(&outcomes) })?;
        for o in outcomes.iter().filter(|o| o.evidence.verdict != Verdict::Pass) {
            let e = &o.evidence;
            let mut text = String::new();
            for r in &e.reasons {
                let _ = writeln!(text, "{}: {r}", e.gate);
            }
            if e.kind == gates::Kind::Command || e.kind == gates::Kind::Tests {
                let tail: Vec<&str> = e.output_tail.lines().rev().take(15).collect();
                for line in tail.iter().rev() {
                    let _ = writeln!(text, "  | {line}");
                }
            }
            output::status(text.trim_end());
        }
    }
    if blocking.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = blocking.iter().map(|o| o.evidence.gate.as_str()).collect();
    let err =
        Error::blocked(format!("gate{} {} did not pass", if names.len() == 1 { "" } else { "s" }, names.join(", ")));
    Err(err.hint("fix what the table says and run `git orchestrate gate` again; evidence is kept per tree"))
}

/// One line per gate, for logs and tools: `<gate> <verdict> <figure> (<time>)`.
fn lines(outcomes: &[gates::Outcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        let e = &o.evidence;
        #[allow(clippy::cast_precision_loss)]
        let time = if o.cached { "cached".to_string() } else { format!("{:.1}s", e.duration_ms as f64 / 1000.0) };
        let optional = if o.required { "" } else { ", optional" };
        let (gate, summary) = (output::escape(&e.gate), output::escape(&e.summary));
        let _ = writeln!(text, "{gate} {} {summary} ({time}{optional})", e.verdict.as_str());
    }
    text.trim_end().to_string()
}

/// A table on a terminal: aligned columns, coloured verdicts.
fn table(outcomes: &[gates::Outcome]) -> String {
    let width = outcomes.iter().map(|o| output::escape(&o.evidence.gate).chars().count()).max().unwrap_or(4).max(4);
    let fig = outcomes.iter().map(|o| output::escape(&o.evidence.summary).chars().count()).max().unwrap_or(6).max(6);
    let mut text = format!("{:<width$}  {:<7}  {:<fig$}  time\n", "gate", "verdict", "figure");
    for o in outcomes {
        let e = &o.evidence;
        let verdict = match e.verdict {
            Verdict::Pass => output::paint(Paint::Ok, "pass   "),
            Verdict::Fail => output::paint(Paint::Bad, "fail   "),
            Verdict::Error => output::paint(Paint::Bad, "error  "),
        };
        #[allow(clippy::cast_precision_loss)]
        let time = if o.cached { "cached".to_string() } else { format!("{:.1}s", e.duration_ms as f64 / 1000.0) };
        let optional = if o.required { "" } else { " (optional)" };
        let (gate, summary) = (output::escape(&e.gate), output::escape(&e.summary));
        let _ = writeln!(text, "{gate:<width$}  {verdict}  {summary:<fig$}  {time}{optional}");
    }
    text.trim_end().to_string()
}
