//! `git orchestrate secrets scan`: the secret scanner on files and directories, outside any
//! gate (the `secrets` gate scans what a commit adds).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::output;
use crate::secrets::{self, Finding, Scanner};

/// Find secrets in files and directories.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Scan files and directories (recursively; `.git` and binary files are skipped). Exit 1 when
    /// a blocking rule finds a secret. Findings are shown redacted.
    #[command(
        after_help = "Examples:\n  git orchestrate secrets scan .\n  git orchestrate secrets scan config/ --gitleaks .gitleaks.toml --json"
    )]
    Scan {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A gitleaks configuration whose rules and allowlists to add.
        #[arg(long, value_name = "FILE")]
        gitleaks: Option<PathBuf>,
        /// A baseline of accepted findings (`{"fingerprints": [...]}`).
        #[arg(long, value_name = "FILE")]
        baseline: Option<PathBuf>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Serialize)]
struct Report<'a> {
    bytes: u64,
    secrets: usize,
    warnings: usize,
    findings: &'a [Finding],
}

fn read(path: &PathBuf, what: &str) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::usage(format!("cannot read {what} {}: {e}", path.display())))
}

pub fn run(args: &Args) -> Result<()> {
    let SecretsCommand::Scan { paths, gitleaks, baseline, json } = &args.command;
    let gitleaks_text = gitleaks.as_ref().map(|p| read(p, "gitleaks configuration")).transpose()?;
    let gitleaks_name = gitleaks.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    let baseline: HashSet<String> = match baseline {
        None => HashSet::new(),
        Some(p) => {
            let text = read(p, "baseline")?;
            let v: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::usage(format!("{}:{}: {e}", p.display(), e.line())))?;
            v["fingerprints"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_string)).collect()
        }
    };
    let scanner = Scanner::new(gitleaks_text.as_deref().map(|t| (gitleaks_name.as_str(), t)), baseline)
        .map_err(|e| Error::usage(e.to_string()))?;
    let (findings, bytes) =
        secrets::scan_paths(&scanner, paths).map_err(|e| Error::usage(format!("cannot read: {e}")))?;
    let blocking = findings.iter().filter(|f| !f.warning).count();
    if *json {
        output::json(&Report { bytes, secrets: blocking, warnings: findings.len() - blocking, findings: &findings })?;
    } else {
        let mut text = String::new();
        for f in &findings {
            let level = if f.warning { "warning" } else { "secret" };
            let _ = writeln!(
                text,
                "{}:{}: {level}: {} ({}) {}  [{}]",
                f.path, f.line, f.description, f.rule, f.redacted, f.fingerprint
            );
        }
        let _ = write!(text, "{blocking} secrets, {} warnings in {bytes} bytes", findings.len() - blocking);
        output::out(&output::escape_text(&text))?;
    }
    if blocking > 0 {
        return Err(Error::blocked(format!("{blocking} secret{} found", if blocking == 1 { "" } else { "s" }))
            .hint("remove them (and rotate them: they may be in history); a line that is not a secret takes `orchestrate:allow-secret`"));
    }
    Ok(())
}
