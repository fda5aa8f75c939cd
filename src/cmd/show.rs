//! Renderings several commands share: a gate run's table, a phase's review, the records an
//! installation skipped. Commands render through these; no command calls another.

use std::fmt::Write as _;

use serde::Serialize;

use crate::config::Stage;
use crate::error::{Error, Result};
use crate::gates::{self, Verdict};
use crate::git::Status;
use crate::ops::{self, review::Review};
use crate::output::{self, Paint, Ui};

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

/// Say which records the installation skipped.
pub fn warn_damage(ui: &Ui, damage: &[String]) {
    for bad in damage {
        ui.warn(&format!("{bad}; the record is skipped"));
        ui.hint("git orchestrate doctor --repair drops the bad lines");
    }
}

/// Show a gate run: JSON, a table on a terminal, one line per gate elsewhere; the reasons and
/// output of what did not pass on stderr. `quiet` (the hooks) says nothing when no gate ran.
/// Exit 1 (an error) when a required gate did not pass.
pub fn gate(ui: &Ui, report: &ops::GateReport, json: bool, quiet: bool) -> Result<()> {
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

/// The review as text for a person (also the body of a pull request).
pub fn review(r: &Review) -> String {
    let e = output::escape;
    let mut t = String::new();
    let state = if r.submitted { "submitted for review" } else { "not submitted" };
    let _ = writeln!(t, "Phase {} of {}: {} (@{})  [{state}]", r.phase, e(&r.feature), e(&r.title), e(&r.owner));
    let _ = writeln!(
        t,
        "{}: {} commit{} since {}, {} spent",
        e(&r.branch),
        r.commits,
        if r.commits == 1 { "" } else { "s" },
        &r.fork[..10.min(r.fork.len())],
        r.time_spent
    );
    if let Some(reason) = &r.changes_requested {
        let _ = writeln!(t, "{}", output::paint(Paint::Warn, &format!("changes requested before: {}", e(reason))));
    }
    let _ = writeln!(t, "\nFiles ({} changed, +{} −{})", r.files.len(), r.added, r.removed);
    let width = r.files.iter().map(|f| e(&f.path).chars().count()).max().unwrap_or(0);
    for f in &r.files {
        let what = match f.status {
            Status::Added => "created ",
            Status::Modified => "modified",
            Status::Deleted => "deleted ",
        };
        let lines = if f.binary { "binary".to_string() } else { format!("+{} −{}", f.added, f.removed) };
        let _ = writeln!(t, "  {what}  {:<width$}  {lines}", e(&f.path));
    }
    let _ = writeln!(t, "\nGates");
    let gw = r.gates.iter().map(|g| e(&g.gate).chars().count()).max().unwrap_or(4);
    for g in &r.gates {
        let verdict = match g.verdict {
            Verdict::Pass => output::paint(Paint::Ok, "pass "),
            Verdict::Fail => output::paint(Paint::Bad, "fail "),
            Verdict::Error => output::paint(Paint::Bad, "error"),
        };
        let optional = if g.required { "" } else { " (optional)" };
        let _ = writeln!(t, "  {:<gw$}  {verdict}  {}{optional}", e(&g.gate), e(&g.summary));
        if g.verdict != Verdict::Pass {
            for reason in g.reasons.iter().take(5) {
                let _ = writeln!(t, "      {}", e(reason));
            }
        }
    }
    if let Some(c) = &r.coverage {
        let pct = |v: Option<f64>| v.map_or_else(|| "not measured".to_string(), |v| format!("{v:.1} %"));
        let _ = writeln!(
            t,
            "\nCoverage: {} of the project, {} of the changed lines",
            pct(c.percent),
            pct(c.changed_percent)
        );
        if !c.uncovered_changed_lines.is_empty() {
            let list: Vec<String> = c.uncovered_changed_lines.iter().map(|l| e(l).into_owned()).collect();
            let _ = writeln!(t, "  uncovered changed lines: {}", list.join(", "));
        }
    }
    if !r.outside.is_empty() {
        let list: Vec<String> = r.outside.iter().map(|l| e(l).into_owned()).collect();
        let _ = writeln!(t, "\nOutside the phase's paths: {}", list.join(", "));
    }
    if !r.skipped.is_empty() {
        let _ = writeln!(t, "\nSkipped (ORCHESTRATE_SKIP): {}", r.skipped.join(", "));
    }
    if !r.look_here_first.is_empty() {
        let _ = writeln!(t, "\nLook here first");
        for l in &r.look_here_first {
            let _ = writeln!(t, "  - {}", e(l));
        }
    }
    let flag = format!(" --feature {}", r.feature);
    let next = if !r.submitted {
        format!("the owner submits it first: git orchestrate phase submit {}{flag}", r.phase)
    } else if r.passed() {
        format!(
            "git orchestrate approve phase {0}{flag}   or   git orchestrate review {0}{flag} --request-changes -m \"…\"",
            r.phase
        )
    } else {
        format!("git orchestrate review {}{flag} --request-changes -m \"…\"", r.phase)
    };
    let _ = write!(t, "\nNext: {next}");
    t
}
