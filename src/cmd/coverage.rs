//! `git orchestrate coverage show`: what a coverage report says, through the same parsers the
//! coverage gate uses (per-line records, never the report's own summary).

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::coverage::{self, Format};
use crate::error::{Error, Result};
use crate::output::{self, Ui};

/// Read coverage reports.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: CoverageCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CoverageCommand {
    /// Parse a report and print each file's covered lines and the total.
    #[command(
        after_help = "Examples:\n  git orchestrate coverage show coverage.json\n  git orchestrate coverage show target/cobertura.xml --format cobertura --json"
    )]
    Show {
        /// The report file.
        report: PathBuf,
        /// lcov, cobertura, jacoco, coverage-py-json, llvm-cov-json, go-coverprofile, istanbul-json (default: detected).
        #[arg(long)]
        format: Option<String>,
        /// Print the totals as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct FileLine {
    file: String,
    covered: u64,
    total: u64,
}

#[derive(Serialize)]
struct Report {
    format: &'static str,
    files: Vec<FileLine>,
    covered: u64,
    total: u64,
    percent: f64,
}

pub fn run(ui: &Ui, args: &Args) -> Result<()> {
    let CoverageCommand::Show { report, format, json } = &args.command;
    let shown = report.display().to_string();
    let bytes = std::fs::read(report).map_err(|e| Error::usage(format!("cannot read {shown}: {e}")))?;
    let format = match format {
        Some(name) => Format::from_name(name).ok_or_else(|| {
            Error::usage(format!("unknown format `{name}`")).hint(format!("formats: {}", Format::NAMES.join(", ")))
        })?,
        None => Format::detect(&bytes).ok_or_else(|| {
            Error::usage(format!("cannot tell the format of {shown}"))
                .hint(format!("name it with --format ({})", Format::NAMES.join(", ")))
        })?,
    };
    let parsed = coverage::parse(format, &bytes).map_err(|e| Error::usage(format!("{shown}: {e}")))?;
    let mut files = Vec::new();
    for file in parsed.files.keys() {
        let (c, t) = parsed.tally(std::iter::once(file));
        files.push(FileLine { file: file.clone(), covered: c, total: t });
    }
    // The producer's own totals where the report carries them for every file.
    let (covered, total) = parsed.tally(parsed.files.keys());
    #[allow(clippy::cast_precision_loss)]
    let percent = if total == 0 { 0.0 } else { covered as f64 * 100.0 / total as f64 };
    if *json {
        return Ok(ui.json(&Report { format: format.name(), files, covered, total, percent })?);
    }
    let mut text = String::new();
    for f in &files {
        let _ = writeln!(text, "{:>6}/{:<6} {}", f.covered, f.total, f.file);
    }
    let _ = write!(text, "{covered}/{total} lines covered: {percent:.1} % ({})", format.name());
    // Every line is data (file names from the report): no colour here, all of it escaped.
    Ok(ui.out(&output::escape_text(&text))?)
}
