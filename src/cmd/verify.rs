//! `git orchestrate verify`: judge a pushed range after the fact (CI).

use std::fmt::Write as _;

use super::Ctx;
use crate::error::{Error, Result};
use crate::ops::verify::{self, VerifyRequest};
use crate::output::{self, Ui};

/// Judge every feature commit of a range, as pre-push would have: the evidence and approvals its
/// feature's policy requires. Lists what is missing or failing with the command that fixes it,
/// and exits 1 if anything is. For CI, where `git push --no-verify` is seen.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  git orchestrate verify                             every feature commit reachable from HEAD
  git orchestrate verify --range origin/main..HEAD
  git orchestrate verify --range \"$BEFORE..$AFTER\" --run-missing --json   (in CI)

With `[ci] trust_pushed_evidence = false` in .orchestrate.toml, evidence recorded in clones does
not count: --run-missing runs every gate here. Push the evidence back with `git orchestrate sync`.")]
pub struct Args {
    /// The commits to judge: `A..B`, or one revision (all the features' commits it reaches).
    #[arg(long, value_name = "RANGE")]
    pub range: Option<String>,
    /// Run the gates whose evidence is missing, and record what they find.
    #[arg(long)]
    pub run_missing: bool,
    /// Run the configuration's commands without a trust record (CI).
    #[arg(long)]
    pub trust: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let req = VerifyRequest { range: args.range.as_deref(), run_missing: args.run_missing, trust: args.trust };
    let mut progress = ui.progress();
    let report = verify::verify(&ctx.repo, &ctx.config, &req, &mut super::gate_progress(&mut progress))?;
    progress.clear();
    if args.json {
        ui.json(&report)?;
    } else {
        let e = output::escape;
        let mut text = String::new();
        for r in &report.ran {
            let _ = writeln!(
                text,
                "ran {} on {} (phase {} of {}): {} ({})",
                e(&r.gate),
                r.commit,
                r.phase,
                e(&r.feature),
                r.verdict.as_str(),
                e(&r.summary)
            );
        }
        for p in &report.problems {
            let _ = writeln!(text, "{} {}", output::paint(output::Paint::Bad, "missing:"), e(&p.message));
            if let Some(cause) = &p.cause {
                let _ = writeln!(text, "  {}", e(cause));
            }
            let _ = writeln!(text, "  fix: {}", e(&p.fix));
        }
        let _ = write!(
            text,
            "{}: {} commit{}, {} of the features' judged, {} problem{}",
            e(&report.range),
            report.commits,
            if report.commits == 1 { "" } else { "s" },
            report.judged,
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" }
        );
        ui.out(&text)?;
    }
    if !report.problems.is_empty() {
        return Err(Error::blocked(format!(
            "{} problem{} in {}",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" },
            report.range
        ))
        .hint("each is listed above with the command that fixes it"));
    }
    Ok(())
}
