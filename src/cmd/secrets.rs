//! `git orchestrate secrets scan`: the secret scanner on files and directories, outside any
//! gate (the `secrets` gate scans what a commit adds). [`crate::ops::secrets`] scans; this
//! renders the findings and what was not scanned.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ops::secrets::ScanRequest;
use crate::output::{self, Ui};
use crate::secrets::{self, Finding};

/// Find secrets in files and directories.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: SecretsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SecretsCommand {
    /// Scan files and directories (recursively; `.git` is skipped, binary files are scanned for
    /// their text). Inside a git repository, what git ignores is skipped (unless named) and the
    /// repository's `.gitleaks.toml` (or the secrets gate's `gitleaks` file) is read. Exit 1 when a blocking rule finds a secret, 2 when a path you named could not
    /// be scanned (a FIFO, a symbolic link, a file over 64 MiB …). Every path not scanned is
    /// reported with why. Findings are shown redacted.
    #[command(
        after_help = "Examples:\n  git orchestrate secrets scan .\n  git orchestrate secrets scan config/ --gitleaks .gitleaks.toml --json"
    )]
    Scan {
        /// Files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// A gitleaks configuration whose rules and allowlists to add (default: the repository's,
        /// as the secrets gate reads it: the work tree's copy, else the committed one).
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
    skipped: &'a [secrets::Skipped],
    /// Paths not walked into because git ignores them.
    ignored: usize,
}

pub fn run(ui: &Ui, dir: &Path, args: &Args) -> Result<()> {
    let SecretsCommand::Scan { paths, gitleaks, baseline, json } = &args.command;
    let repo = crate::git::Repo::discover(dir).ok();
    let req = ScanRequest { paths, gitleaks: gitleaks.as_deref(), baseline: baseline.as_deref() };
    let secrets::Scanned { findings, bytes, skipped, ignored } = crate::ops::secrets::scan(repo.as_ref(), &req)?;
    let blocking = findings.iter().filter(|f| !f.warning).count();
    for s in &skipped {
        ui.warn(&format!("not scanned: {}: {}", s.path, s.reason));
    }
    if *json {
        let warnings = findings.len() - blocking;
        ui.json(&Report { bytes, secrets: blocking, warnings, findings: &findings, skipped: &skipped, ignored })?;
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
        if ignored > 0 {
            let _ = write!(text, "; {ignored} path{} ignored by git", if ignored == 1 { "" } else { "s" });
        }
        if !skipped.is_empty() {
            let _ = write!(text, "; {} path{} not scanned", skipped.len(), if skipped.len() == 1 { "" } else { "s" });
        }
        ui.out(&output::escape_text(&text))?;
    }
    if blocking > 0 {
        return Err(Error::blocked(format!("{blocking} secret{} found", if blocking == 1 { "" } else { "s" }))
            .hint("remove them (and rotate them: they may be in history); a line that is not a secret takes `orchestrate:allow-secret`"));
    }
    if let Some(first) = skipped.iter().find(|s| s.named) {
        let named = skipped.iter().filter(|s| s.named).count();
        let others = if named > 1 { format!(" (and {} more)", named - 1) } else { String::new() };
        return Err(Error::usage(format!("could not scan {}{others}: {}", first.path, first.reason))
            .hint("name regular files and directories; for a symbolic link, name its target"));
    }
    Ok(())
}
