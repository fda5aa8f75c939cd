//! `git orchestrate gate`: run the configured gates on the exact snapshot being judged, print a
//! table, record evidence. Exit 1 when a required gate does not pass.

use std::fmt::Write as _;

use serde::Serialize;

use super::Ctx;
use crate::config::Stage;
use crate::error::{Error, Result};
use crate::gates::{self, Verdict};
use crate::ops;
use crate::output::{self, Paint, Ui};

/// Run the gates on a snapshot and record the evidence in git notes, keyed by its tree.
///
/// The snapshot is the index for `--stage pre-commit`, else a commit (HEAD, or --rev). Commands
/// run in a separate gate worktree in your cache directory, and cargo in the gate's own target
/// directory, so your work tree and your build are never changed.
/// A tree already gated with the same configuration is not run again (--force runs it). On a
/// terminal the result is a table; elsewhere one `<gate> <verdict> <figure> (<time>)` line per
/// gate.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line flags
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
    /// Run every gate, even after a required gate failed (by default the gates that run a
    /// command stop at the first required failure; the hooks always do).
    #[arg(long)]
    pub all: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run the configuration's commands even if you have not trusted them (for CI; see
    /// `git orchestrate trust`).
    #[arg(long)]
    pub trust: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    tree: String,
    stage: Option<&'static str>,
    feature: Option<&'a str>,
    phase: Option<u32>,
    passed: bool,
    disabled: &'a [String],
    not_run: &'a [String],
    gates: Vec<Row<'a>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    seeds: &'a [gates::seed::Seed],
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    evidence: &'a gates::Evidence,
    cached: bool,
    required: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let flow = ctx.workflow();
    // Feature and phase are context when the branch being worked on belongs to one; gates also
    // run outside any feature.
    let loaded = match &args.feature {
        Some(f) => Some(flow.load(f)?),
        // A feature whose log cannot be read is an error, never a run without its context.
        None => ctx.current_feature()?.map(|f| flow.load(&f)).transpose()?,
    };
    let req = ops::GateRequest {
        stage: args.stage,
        only: &args.only,
        rev: args.rev.as_deref(),
        phase: args.phase,
        force: args.force,
        all: args.all,
        trust: args.trust,
    };
    let mut progress = ui.progress();
    let report = ops::gate(&ctx.repo, loaded.as_ref(), &req, &mut super::gate_progress(&mut progress));
    progress.clear();
    render(ui, &report?, args.json, false)
}

/// Show a gate run: JSON, a table on a terminal, one line per gate elsewhere; the reasons and
/// output of what did not pass on stderr. `quiet` (the hooks) says nothing when no gate ran.
/// Exit 1 (an error) when a required gate did not pass.
pub fn render(ui: &Ui, report: &ops::GateReport, json: bool, quiet: bool) -> Result<()> {
    for name in &report.skipped {
        ui.warn(&format!("skipping gate {name} (ORCHESTRATE_SKIP); the skip is recorded"));
    }
    for name in &report.disabled {
        ui.status(&format!("gate {} is off (`enabled = false` in .orchestrate.toml)", output::escape(name)));
    }
    say_seeds(ui, &report.seeds);
    let blocking = report.blocking();
    if json {
        let rows = report
            .outcomes
            .iter()
            .map(|o| Row { evidence: &o.evidence, cached: o.cached, required: o.required })
            .collect();
        ui.json(&Report {
            tree: report.tree.to_string(),
            stage: report.stage.map(Stage::as_str),
            feature: report.feature.as_deref(),
            phase: report.phase,
            passed: blocking.is_empty(),
            disabled: &report.disabled,
            not_run: &report.not_run,
            gates: rows,
            seeds: &report.seeds,
        })?;
    } else if report.outcomes.is_empty() {
        if !quiet {
            let what = report
                .stage
                .map_or_else(|| "no gates are configured".to_string(), |s| format!("no gates run at {}", s.as_str()));
            ui.status(&what);
            ui.hint("configure gates under [gates.<name>] in .orchestrate.toml and commit it");
        }
    } else {
        let outcomes = &report.outcomes;
        ui.out(&if ui.stdout_is_terminal() { table(outcomes) } else { lines(outcomes) })?;
        for o in outcomes {
            let e = &o.evidence;
            let mut text = String::new();
            if e.verdict == Verdict::Pass {
                // A passing gate still says what it warns about (an unmaintained crate, a
                // changed file its report does not measure).
                for r in e.reasons.iter().filter(|r| r.starts_with("warning: ")) {
                    let _ = writeln!(text, "{}: {r}", e.gate);
                }
                if !text.is_empty() {
                    ui.status(text.trim_end());
                }
                continue;
            }
            for r in &e.reasons {
                let _ = writeln!(text, "{}: {r}", e.gate);
            }
            if !e.output_tail.is_empty() {
                let tail: Vec<&str> = e.output_tail.lines().rev().take(15).collect();
                for line in tail.iter().rev() {
                    let _ = writeln!(text, "  | {line}");
                }
            }
            ui.status(text.trim_end());
        }
    }
    if !report.not_run.is_empty() {
        let names: Vec<String> = report.not_run.iter().map(|n| output::escape(n).into_owned()).collect();
        ui.status(&format!(
            "not run, after a required gate failed: {} (`git orchestrate gate --all` runs every gate)",
            names.join(", ")
        ));
    }
    if blocking.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = blocking.iter().map(|o| o.evidence.gate.as_str()).collect();
    let err =
        Error::blocked(format!("gate{} {} did not pass", if names.len() == 1 { "" } else { "s" }, names.join(", ")));
    Err(err.hint("fix what the table says and run `git orchestrate gate` again; evidence is kept per tree"))
}

/// Say on stderr what a seed copied or why it did not (a seed the gate already has, or that
/// the work tree does not have, goes unsaid).
fn say_seeds(ui: &Ui, seeds: &[gates::seed::Seed]) {
    use gates::seed::Status;
    for s in seeds {
        let path = output::escape(&s.path);
        let into = s.into.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        match s.status {
            Status::Seeded => {
                #[allow(clippy::cast_precision_loss)]
                let (mb, secs) = (s.bytes as f64 / 1e6, s.duration_ms as f64 / 1000.0);
                let own = if s.cargo && s.left_out > 0 {
                    format!(
                        "; {} build units of this repository's own packages left out: they are built from the snapshot",
                        s.left_out
                    )
                } else if s.left_out > 0 {
                    format!("; {} entries left out (links leaving the repository, special files)", s.left_out)
                } else {
                    String::new()
                };
                ui.status(&format!(
                    "seeded {path} from your work tree into {}: {} files, {mb:.1} MB in {secs:.1}s{own}",
                    output::escape(&into),
                    s.files
                ));
            }
            Status::Refused => ui.warn(&format!(
                "not seeding {path} (gate {}): {}",
                output::escape(&s.gate),
                output::escape(s.reason.as_deref().unwrap_or_default())
            )),
            Status::Present | Status::Missing => {}
        }
    }
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
