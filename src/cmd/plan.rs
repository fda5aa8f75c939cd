//! `git orchestrate plan lint|show`: check a plan with precise errors; show it.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Paint, Ui};
use crate::plan::{self, Diagnostic, Severity};

/// Check or show a feature's plan.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: PlanCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PlanCommand {
    /// Validate the plan: schema, phase ids 1..N, dependencies and cycles, overlapping paths,
    /// unknown gates. Every problem names `file:line:col` and the fix. Exit 1 on any error.
    #[command(
        after_help = "Examples:\n  git orchestrate plan lint\n  git orchestrate plan lint --file drafts/plan.md --json"
    )]
    Lint {
        /// The feature (default: the one whose branch is checked out).
        #[arg(long)]
        feature: Option<String>,
        /// Lint this file instead of the feature's plan in the work tree.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the plan as committed on the feature's integration branch.
    #[command(
        after_help = "Examples:\n  git orchestrate plan show\n  git orchestrate plan show --feature jwt-auth --json"
    )]
    Show {
        /// The feature (default: the one whose branch is checked out).
        #[arg(long)]
        feature: Option<String>,
        /// Print the plan as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct LintReport<'a> {
    file: String,
    errors: usize,
    warnings: usize,
    diagnostics: &'a [Diagnostic],
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    match &args.command {
        PlanCommand::Lint { feature, file, json } => lint(ui, ctx, feature.as_deref(), file.as_ref(), *json),
        PlanCommand::Show { feature, json } => show(ui, ctx, feature.as_deref(), *json),
    }
}

fn lint(ui: &Ui, ctx: &Ctx, feature: Option<&str>, file: Option<&PathBuf>, json: bool) -> Result<()> {
    let (shown, path, expected) = if let Some(f) = file {
        (f.display().to_string(), f.clone(), feature.map(str::to_string))
    } else {
        let feature = ctx.feature(feature)?;
        let rel = crate::workflow::plan_path(&feature);
        (rel.clone(), ctx.repo.workdir().join(&rel), Some(feature))
    };
    let bytes = std::fs::read(&path).map_err(|e| Error::usage(format!("cannot read {shown}: {e}")))?;
    let report = plan::lint(&shown, &bytes, expected.as_deref(), &ctx.config.gate_names());
    let errors = report.errors();
    let warnings = report.diagnostics.len() - errors;
    if json {
        ui.json(&LintReport { file: shown.clone(), errors, warnings, diagnostics: &report.diagnostics })?;
    } else {
        let mut text = String::new();
        for d in &report.diagnostics {
            let label = match d.severity {
                Severity::Error => output::paint(Paint::Bad, "error"),
                Severity::Warning => output::paint(Paint::Warn, "warning"),
            };
            let _ = writeln!(
                text,
                "{}:{}:{}: {label}: {}",
                output::escape(&d.file),
                d.line,
                d.col,
                output::escape(&d.message)
            );
            if let Some(h) = &d.hint {
                let _ = writeln!(text, "  hint: {}", output::escape(h));
            }
        }
        let verdict = if errors == 0 { output::paint(Paint::Ok, "ok") } else { output::paint(Paint::Bad, "failed") };
        let _ = write!(
            text,
            "{}: {verdict}: {errors} error{}, {warnings} warning{}",
            output::escape(&shown),
            plural(errors),
            plural(warnings)
        );
        ui.out(&text)?;
    }
    if errors > 0 {
        return Err(Error::blocked(format!("{shown} has {errors} error{}", plural(errors))));
    }
    Ok(())
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn show(ui: &Ui, ctx: &Ctx, feature: Option<&str>, json: bool) -> Result<()> {
    let name = ctx.feature(feature)?;
    let loaded = ctx.workflow().load(&name)?;
    let (plan, blob) = loaded.plan?;
    let on_disk = std::fs::read(ctx.repo.workdir().join(&loaded.feature.plan)).ok();
    if on_disk.is_some_and(|b| crate::git::blob_id(&b) != blob) {
        ui.warn(&format!("{} in the work tree differs from the committed plan shown here", loaded.feature.plan));
    }
    if json {
        return Ok(ui.json(&plan)?);
    }
    let mut text = String::new();
    let e = output::escape;
    let _ = writeln!(text, "{} — {}", output::paint(Paint::Bold, &e(&plan.feature)), e(&plan.title));
    let _ = writeln!(
        text,
        "base: {}   branch: {}   plan: {}",
        e(&loaded.feature.base),
        e(&loaded.feature.branch),
        e(&loaded.feature.plan)
    );
    for p in &plan.phases {
        let deps = if p.depends_on.is_empty() {
            String::new()
        } else {
            format!("  (after {})", p.depends_on.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        };
        let _ = writeln!(text, "\n{}. {} [{}] @{}{deps}", p.id, e(&p.title), e(&p.kind), e(&p.owner));
        for (label, items) in [("task", &p.tasks), ("test", &p.tests), ("path", &p.paths), ("risk", &p.risks)] {
            for item in items {
                let _ = writeln!(text, "   {label}: {}", e(item));
            }
        }
    }
    ui.out(&text)?;
    Ok(())
}
