//! The secrets gate: the change's added lines (and a commit's message) scanned with the
//! built-in rules (`crate::secrets`), the gitleaks configuration and the baseline read where the
//! judging configuration is committed.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{diff_of, Context, Error, Evidence, Spec, Verdict};
use crate::git::Repo;

/// The secrets gate: scan what the snapshot adds over its base (added lines only), with the
/// gitleaks configuration and baseline as they are where the judging configuration is committed.
pub(super) fn gate(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
    let start = std::time::Instant::now();
    let cfg = &spec.config;
    // The gitleaks configuration and the baseline are configuration: read where the
    // configuration that judges was read, never from the snapshot being judged (a change could
    // otherwise allow its own secrets).
    let read = |path: &str| -> Result<Option<String>, Error> {
        let Some(tree) = ctx.config_tree else { return Ok(None) };
        Ok(repo.tree_blob(tree, path)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    let config_error = |message: String| Error::Config { gate: spec.name.clone(), message };
    let gitleaks_path = cfg.gitleaks_file();
    let gitleaks = read(&gitleaks_path)?;
    if cfg.gitleaks.is_some() && gitleaks.is_none() {
        return Err(config_error(format!("`gitleaks = \"{gitleaks_path}\"`: no such file in the snapshot")));
    }
    let baseline_path = cfg.baseline.clone().unwrap_or_else(|| ".orchestrate/secrets-baseline.json".into());
    let baseline = match read(&baseline_path)? {
        None => std::collections::HashSet::new(),
        Some(text) => serde_json::from_str::<Baseline>(&text)
            .map_err(|e| config_error(format!("{baseline_path}:{}: {e}", e.line())))?
            .fingerprints
            .into_iter()
            .collect(),
    };
    let scanner = crate::secrets::Scanner::new(gitleaks.as_deref().map(|t| (gitleaks_path.as_str(), t)), baseline)
        .map_err(|e| config_error(e.to_string()))?;
    let mut findings = Vec::new();
    let mut bytes = 0usize;
    for change in diff_of(repo, ctx)? {
        for block in &change.added {
            bytes += block.text.len();
            scanner.scan(&block.path, block.first_line, &block.text, &mut findings);
        }
        // A binary file has no added lines: all of its new content is scanned, or a token
        // after a NUL byte would pass unseen.
        if change.binary {
            let data = repo.tree_blob(ctx.tree, &change.path)?.unwrap_or_default();
            bytes += data.len();
            scanner.scan(&change.path, 1, &crate::git::binary_text(&data), &mut findings);
        }
    }
    // A commit's message travels with it: scan it too.
    if let Some(commit) = ctx.commit {
        let message = repo.commit_message(commit)?;
        bytes += message.len();
        scanner.scan("(commit message)", 1, &message, &mut findings);
    }
    let blocking = findings.iter().filter(|f| !f.warning).count();
    let warnings = findings.len() - blocking;
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut reasons: Vec<String> = findings
        .iter()
        .map(|f| {
            let level = if f.warning { "warning: " } else { "" };
            format!("{level}{}:{}: {} ({}) {}", f.path, f.line, f.description, f.rule, f.redacted)
        })
        .collect();
    if blocking > 0 {
        reasons.push(format!(
            "if a finding is not a secret: add `orchestrate:allow-secret` on its line, or its fingerprint to {baseline_path}"
        ));
    }
    let mut e = Evidence::begin(spec, ctx, by);
    e.verdict = if blocking > 0 { Verdict::Fail } else { Verdict::Pass };
    e.summary = format!("{blocking} secret{}, {warnings} warning{}", plural(blocking), plural(warnings));
    e.reasons = reasons;
    e.figures = BTreeMap::from([
        ("added_bytes".to_string(), bytes.into()),
        ("findings".to_string(), serde_json::to_value(&findings).unwrap_or_default()),
    ]);
    e.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(e)
}

#[derive(Deserialize)]
struct Baseline {
    fingerprints: Vec<String>,
}
