//! `git orchestrate doctor`: its arguments, and the checks as text or JSON. [`crate::ops::doctor`]
//! runs the checks (is this repository set up so that the loop is really enforced?) and the
//! repair of damaged event logs.

use std::fmt::Write as _;

use super::Ctx;
use crate::error::{Error, Result};
use crate::ops::doctor;
use crate::output::{self, Paint, Ui};

/// Check the setup: git, the binary on PATH, the hooks git will really run, notes settings,
/// the configuration and every feature's plan.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate doctor\n  git orchestrate doctor --json\n  git orchestrate doctor --repair   # drop the bad lines of damaged event logs"
)]
pub struct Args {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rewrite each damaged event log without its bad lines, keeping every valid record (a new
    /// notes commit; the old log stays in the notes history), and say what was dropped.
    #[arg(long)]
    pub repair: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    if args.repair {
        let dropped = doctor::repair(&ctx.repo, &ctx.config)?;
        if dropped.is_empty() {
            ui.status("no event log is damaged: nothing to repair");
        }
        for d in &dropped {
            ui.status(&format!("dropped {d}"));
        }
        if !dropped.is_empty() {
            ui.success(&format!(
                "repaired: {} bad line{} dropped, every valid record kept",
                dropped.len(),
                if dropped.len() == 1 { "" } else { "s" }
            ));
        }
    }
    let report = doctor::check(&ctx.repo, &ctx.config)?;
    if args.json {
        ui.json(&report)?;
    } else {
        let mut text = String::new();
        for c in &report.checks {
            let mark = if c.ok { output::paint(Paint::Ok, "ok ") } else { output::paint(Paint::Bad, "bad") };
            let _ = writeln!(text, "{mark}  {:<24} {}", output::escape(&c.check), output::escape(&c.detail));
            if let Some(fix) = &c.fix {
                let _ = writeln!(text, "     {:<24} fix: {}", "", output::escape(fix));
            }
        }
        ui.out(text.trim_end())?;
    }
    let failed = report.failed();
    if failed > 0 {
        return Err(Error::blocked(format!("{failed} check{} failed", if failed == 1 { "" } else { "s" })));
    }
    Ok(())
}
