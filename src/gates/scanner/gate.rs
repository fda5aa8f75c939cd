//! The scanner gate on its run: the scanner's report parsed fail-closed ([`super::parse`]), the
//! findings its baseline accepts set apart, the rest held to `fail_on`.

use std::collections::HashSet;

use super::{default_command, Finding, Severity, SCANNERS};
use crate::gates::engine::Run;
use crate::gates::{report, Context, Error, Evidence, Spec, Verdict};
use crate::git::Repo;

/// Check a scanner gate's keys, and give it its scanner's report path and command unless it
/// names its own.
pub(in crate::gates) fn configure(config: &mut crate::config::Gate) -> Result<(), String> {
    let scanner =
        config.scanner.clone().ok_or_else(|| format!("a scanner gate needs `scanner` ({})", SCANNERS.join(", ")))?;
    if !SCANNERS.contains(&scanner.as_str()) {
        return Err(format!("unknown scanner `{scanner}` (known: {})", SCANNERS.join(", ")));
    }
    let report = config.report.get_or_insert_with(|| format!(".orchestrate-{scanner}.json")).clone();
    if config.run.is_none() {
        config.run = default_command(&scanner, &report);
    }
    if let Some(level) = config.fail_on.as_deref() {
        if Severity::parse(level).is_none() {
            return Err(format!("`fail_on = \"{level}\"`: use info, low, medium, high or critical"));
        }
    }
    if let Some(w) = config.warnings.as_deref().filter(|w| !matches!(*w, "warn" | "fail")) {
        return Err(format!("`warnings = \"{w}\"`: use warn or fail"));
    }
    Ok(())
}

/// The scanner gate on its run: this run's report, its findings held to `fail_on` less those
/// the baseline accepts.
pub(in crate::gates) fn judge_run(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    run: &Run<'_>,
    e: &mut Evidence,
) -> Result<(), Error> {
    if let Some(bytes) = report::fresh(repo, spec, ctx, run, e)? {
        judge(spec, &bytes, &baseline(repo, spec, ctx)?, e);
    }
    Ok(())
}

/// A scanner gate's accepted findings: the ids in its `baseline` file, read from the tree of
/// the committed configuration (a change cannot accept its own findings). One id a line
/// (`RUSTSEC-2020-0071`, or an id and its place: `B102 ./src/a.py:4`); `#` starts a comment.
fn baseline(repo: &Repo, spec: &Spec, ctx: &Context) -> Result<HashSet<String>, Error> {
    let Some(path) = spec.config.baseline.as_deref() else { return Ok(HashSet::new()) };
    let blob = match ctx.config_tree {
        Some(tree) => repo.tree_blob(tree, path)?,
        None => None,
    };
    let Some(blob) = blob else {
        return Err(Error::Config {
            gate: spec.name.clone(),
            message: format!(
                "`baseline = \"{}\"`: no such file where the configuration is committed",
                path.escape_debug()
            ),
        });
    };
    Ok(String::from_utf8_lossy(&blob)
        .lines()
        .map(|l| l.split_once('#').map_or(l, |(before, _)| before).trim())
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect())
}

fn judge(spec: &Spec, bytes: &[u8], accepted: &HashSet<String>, e: &mut Evidence) {
    let name = spec.config.scanner.as_deref().unwrap_or_default();
    let threshold = spec.config.fail_on.as_deref().and_then(Severity::parse).unwrap_or(Severity::Low);
    let scan = match super::parse(name, bytes) {
        Ok(scan) => scan,
        Err(reason) => {
            e.verdict = Verdict::Error;
            e.summary = "unreadable report".into();
            e.reasons.push(format!("fail-closed: {reason}"));
            return;
        }
    };
    let is_accepted = |f: &Finding| accepted.contains(&f.id) || accepted.contains(&format!("{} {}", f.id, f.place));
    let warnings_block = spec.config.warnings.as_deref() == Some("fail");
    let (known, new): (Vec<&Finding>, Vec<&Finding>) = scan.findings.iter().partition(|f| is_accepted(f));
    e.figures.insert("scanned".into(), scan.scanned.into());
    e.figures.insert("findings".into(), scan.findings.len().into());
    if !known.is_empty() {
        e.figures.insert("accepted".into(), known.len().into());
    }
    if !scan.warnings.is_empty() {
        e.figures.insert("warnings".into(), scan.warnings.len().into());
    }
    let mut blocking: Vec<&Finding> = new.into_iter().filter(|f| f.severity >= threshold).collect();
    let warned: Vec<&Finding> = scan.warnings.iter().filter(|w| !is_accepted(w)).collect();
    e.summary = format!(
        "{} finding{} ({} new at {}+{}), {} warning{}, {} scanned",
        scan.findings.len(),
        if scan.findings.len() == 1 { "" } else { "s" },
        blocking.len(),
        threshold.as_str(),
        if known.is_empty() { String::new() } else { format!(", {} in the baseline", known.len()) },
        scan.warnings.len(),
        if scan.warnings.len() == 1 { "" } else { "s" },
        scan.scanned
    );
    e.reasons.extend(scan.notes.iter().map(|n| format!("note: {n}")));
    if warnings_block {
        blocking.extend(warned);
    } else {
        for w in warned {
            e.reasons.push(format!("warning: {} at {}: {}", w.id, w.place, w.message));
        }
    }
    if !scan.problems.is_empty() {
        e.verdict = Verdict::Error;
        e.reasons.extend(scan.problems.iter().map(|p| format!("fail-closed: {p}")));
        return;
    }
    if scan.scanned == 0 && scan.findings.is_empty() {
        if spec.config.allow_empty == Some(true) {
            e.reasons.push(format!("note: {name} scanned nothing (allow_empty = true)"));
        } else {
            e.verdict = Verdict::Error;
            e.reasons.push(format!("fail-closed: {name} scanned nothing"));
            return;
        }
    }
    if !blocking.is_empty() {
        e.verdict = Verdict::Fail;
        for f in &blocking {
            e.reasons.push(format!("{} {} at {}: {}", f.severity.as_str(), f.id, f.place, f.message));
        }
        if !accepted.is_empty() || spec.config.baseline.is_some() {
            e.reasons.push(format!(
                "a finding you accept goes into {} (its id, one a line), committed with the configuration",
                spec.config.baseline.as_deref().unwrap_or_default()
            ));
        }
    }
}
