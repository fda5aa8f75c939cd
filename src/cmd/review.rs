//! `git orchestrate review [N]`: the phase-review pause point, its arguments and the review as
//! text. [`crate::ops::review`] measures the phase against its fork point, or, with
//! `--request-changes -m REASON`, sends it back to its owner.

use std::fmt::Write as _;

use super::Ctx;
use crate::error::Result;
use crate::gates::Verdict;
use crate::git::Status;
use crate::ops::review::Review;
use crate::output::{self, Paint, Ui};

/// Review a phase: its diff against the fork point, its gates, coverage of the changed lines,
/// scope, time spent, and where to look first.
///
/// Gates that never ran on the phase's tip run now. Approve it with `git orchestrate approve
/// phase N`, or send it back with `--request-changes -m REASON` (recorded; shown in `status`
/// and in the next brief).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate review\n  git orchestrate review 2 --json\n  git orchestrate review 2 --request-changes -m \"cover the refresh path\""
)]
pub struct Args {
    /// The phase (default: the one awaiting review, else the one checked out).
    pub phase: Option<u32>,
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Send the phase back to its owner (`NEEDS_REVISION`), with the reason in -m.
    #[arg(long, requires = "message")]
    pub request_changes: bool,
    /// The reason for --request-changes.
    #[arg(long, short = 'm', value_name = "REASON")]
    pub message: Option<String>,
    /// Print the review as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(args.feature.as_deref())?)?;
    let (repo, config) = (&ctx.repo, &ctx.config);
    if args.request_changes {
        let reason = args.message.as_deref().unwrap_or_default();
        let sent = crate::ops::review::send_back(repo, config, &loaded, args.phase, reason)?;
        let (id, name) = (sent.phase, &loaded.feature.name);
        ui.success(&format!("phase {id} of {name} goes back to its owner: {}", output::escape(&sent.reason)));
        ui.hint(&format!("the owner sees it in: git orchestrate phase brief {id} --feature {name}"));
        return Ok(());
    }
    let mut progress = ui.progress();
    let review = crate::ops::review::review_phase(
        repo,
        config,
        &loaded,
        args.phase,
        false,
        &mut super::gate_progress(&mut progress),
    );
    progress.clear();
    let review = review?;
    if args.json {
        return Ok(ui.json(&review)?);
    }
    ui.out(&render(&review))?;
    Ok(())
}

/// The review as text for a person (also the body of a pull request).
pub fn render(r: &Review) -> String {
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
