//! The coverage gate: read the report its command wrote during this run (an older file is a
//! "stale report" error), map report paths to repository paths, and judge the whole project
//! (`min`) and the lines this change added or modified (`min_changed`, against the base tree).
//! Uncovered changed lines are listed as `file:start-end`; changed source files the report does
//! not mention are listed as unmeasured, never dropped silently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::engine::Run;
use super::{report, test_counts, Context, Error, Evidence, Spec, Verdict};
use crate::coverage::{self, Format, Report};
use crate::git::Repo;

/// Covered / instrumented lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub covered: u64,
    pub total: u64,
}

impl Tally {
    pub fn percent(self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)]
        (self.total > 0).then(|| self.covered as f64 * 100.0 / self.total as f64)
    }
}

/// Report paths → repository paths: strip the snapshot's root, configured prefixes, the Go
/// module path; join Cobertura sources; keep what names a file of the snapshot.
/// The report's lines by repository path, the report names that did not map to a file of the
/// snapshot, and the producer's own (covered, total) for each repository path when it gave one
/// (and only one report name maps there).
pub type Normalized = (BTreeMap<String, BTreeMap<u32, u64>>, Vec<String>, BTreeMap<String, Option<(u64, u64)>>);

pub fn normalize(
    report: &Report,
    root: &Path,
    strip: &[String],
    module: Option<&str>,
    files: &BTreeSet<String>,
) -> Normalized {
    let root = root.to_string_lossy();
    let mut out: BTreeMap<String, BTreeMap<u32, u64>> = BTreeMap::new();
    let mut own: BTreeMap<String, Option<(u64, u64)>> = BTreeMap::new();
    let mut outside = Vec::new();
    for (name, lines) in &report.files {
        let mut candidates = vec![name.clone()];
        for s in &report.sources {
            candidates.push(format!("{}/{}", s.trim_end_matches('/'), name));
        }
        let found = candidates.into_iter().find_map(|c| {
            let mut p = c.replace('\\', "/");
            for prefix in strip.iter().map(String::as_str).chain([root.as_ref()]).chain(module) {
                let prefix = prefix.trim_end_matches('/');
                if let Some(rest) = p.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
                    p = rest.to_string();
                }
            }
            let p = p.trim_start_matches("./").to_string();
            files.contains(&p).then_some(p)
        });
        match found {
            Some(p) => {
                let mine = report.totals.get(name).copied();
                own.entry(p.clone()).and_modify(|o| *o = None).or_insert(mine);
                let entry = out.entry(p).or_default();
                for (l, h) in lines {
                    let e = entry.entry(*l).or_insert(0);
                    *e = (*e).max(*h);
                }
            }
            None => outside.push(name.clone()),
        }
    }
    (out, outside, own)
}

/// Where tests live by common convention: never "unmeasured" source.
pub const TEST_PATHS: &[&str] = &[
    "**/tests/**",
    "**/test/**",
    "**/__tests__/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
    "**/*_test.go",
    "**/*.test.*",
    "**/*.spec.*",
    "**/*_spec.rb",
    "**/*Test.java",
    "**/*Tests.java",
    "**/*Test.kt",
    "benches",
    "examples",
];

fn is_test_path(path: &str) -> bool {
    static PATTERNS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    super::in_scope(path, PATTERNS.get_or_init(|| TEST_PATHS.iter().map(ToString::to_string).collect()))
}

/// `file:start-end` ranges of the given lines.
pub fn ranges(file: &str, lines: &[u32]) -> Vec<String> {
    let mut out = Vec::new();
    let mut iter = lines.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        out.push(if start == end { format!("{file}:{start}") } else { format!("{file}:{start}-{end}") });
    }
    out
}

/// The coverage gate on its run: the report judged, and the run's test counts recorded (a tests
/// gate with `from` takes its verdict from this run).
pub(super) fn judge_run(repo: &Repo, spec: &Spec, ctx: &Context, run: &Run<'_>, e: &mut Evidence) -> Result<(), Error> {
    judge(repo, spec, ctx, run, e)?;
    if let Some((runner, counts)) = run.finished.counts.or_else(|| test_counts::parse(&run.finished.tail)) {
        e.figures.insert(
            "tests".into(),
            serde_json::json!({
                "runner": runner, "passed": counts.passed, "failed": counts.failed, "skipped": counts.skipped,
            }),
        );
    }
    Ok(())
}

fn judge(repo: &Repo, spec: &Spec, ctx: &Context, run: &Run<'_>, e: &mut Evidence) -> Result<(), Error> {
    let &Run { dir, code, .. } = run;
    let cfg = &spec.config;
    let report_name = cfg.report.clone().unwrap_or_default();
    if code != 0 {
        e.verdict = Verdict::Fail;
        e.summary = format!("exit {code}");
        e.reasons.push(format!("the coverage command exited with {code}; no report is read from a failed run"));
        return Ok(());
    }
    let fail = |e: &mut Evidence, summary: &str, reason: String| {
        e.verdict = Verdict::Error;
        e.summary = summary.into();
        e.reasons.push(reason);
    };
    let Some(bytes) = report::fresh(repo, spec, ctx, run, e)? else { return Ok(()) };
    let format = if let Some(name) = cfg.format.as_deref() {
        Format::from_name(name).ok_or_else(|| Error::Config {
            gate: spec.name.clone(),
            message: format!("unknown coverage format `{name}` (known: {})", Format::NAMES.join(", ")),
        })?
    } else if let Some(f) = Format::detect(&bytes) {
        f
    } else {
        let known = Format::NAMES.join(", ");
        fail(e, "unknown format", format!("cannot tell the format of `{report_name}`: set `format` ({known})"));
        return Ok(());
    };
    e.figures.insert("format".into(), format.name().into());
    let report = match coverage::parse(format, &bytes) {
        Ok(r) => r,
        Err(err) => {
            fail(e, "broken report", format!("{report_name}: {err}"));
            return Ok(());
        }
    };
    let module = (format == Format::GoCover).then(|| go_module(dir)).flatten();
    let files = repo.tree_files(ctx.tree)?;
    let (mut measured, outside, mut own) = normalize(&report, dir, &cfg.strip_prefix, module.as_deref(), &files);
    if !outside.is_empty() {
        e.figures.insert("outside_repository".into(), outside.len().into());
    }
    if !cfg.exclude.is_empty() {
        measured.retain(|path, _| !super::in_scope(path, &cfg.exclude));
        own.retain(|path, _| !super::in_scope(path, &cfg.exclude));
    }
    // The producer's own figures when it gave them for every measured file (they are what the
    // tool itself prints); else the lines counted here. Test files measured as code are tallied
    // apart too, for the audit: they can only raise the figure.
    let own_totals = own.values().copied().collect::<Option<Vec<_>>>().filter(|t| !t.is_empty());
    let tally = |keep: &dyn Fn(&str) -> bool| {
        let mut t = Tally::default();
        match &own_totals {
            Some(_) => {
                for (covered, total) in own.iter().filter(|(p, _)| keep(p)).filter_map(|(_, v)| *v) {
                    t.covered += covered;
                    t.total += total;
                }
            }
            None => {
                for lines in measured.iter().filter(|(p, _)| keep(p)).map(|(_, l)| l) {
                    t.total += lines.len() as u64;
                    t.covered += lines.values().filter(|h| **h > 0).count() as u64;
                }
            }
        }
        t
    };
    let project = tally(&|_| true);
    if let Some(min) = cfg.min {
        e.figures.insert("min".into(), serde_json::json!(min));
    }
    // Test files, those with the most measured lines first.
    let mut tests: Vec<&String> = measured.keys().filter(|p| is_test_path(p)).collect();
    tests.sort_by_key(|p| std::cmp::Reverse(measured[*p].len()));
    if !tests.is_empty() {
        if let Some(without) = tally(&|p| !is_test_path(p)).percent() {
            e.figures.insert("percent_without_tests".into(), serde_json::json!((without * 100.0).round() / 100.0));
        }
        let shown: Vec<&String> = tests.iter().take(10).copied().collect();
        e.figures.insert("tests_measured".into(), serde_json::to_value(&shown).unwrap_or_default());
    }
    let pct = project.percent().unwrap_or(0.0);
    e.figures.insert("lines_total".into(), project.total.into());
    e.figures.insert("lines_covered".into(), project.covered.into());
    e.figures.insert("percent".into(), serde_json::json!((pct * 100.0).round() / 100.0));
    e.summary = match cfg.min {
        Some(min) => format!("{pct:.1} % (min {min})"),
        None => format!("{pct:.1} %"),
    };
    if project.total == 0 {
        fail(
            e,
            "nothing measured",
            format!(
                "no file of `{report_name}` is in the repository (report paths: {}); set strip_prefix",
                outside.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
            ),
        );
        return Ok(());
    }
    if let Some(min) = cfg.min {
        if pct < min {
            e.verdict = Verdict::Fail;
            e.reasons.push(format!("coverage {pct:.1} % is below the minimum {min} %"));
        }
    }

    // The change: added or modified lines since the base.
    if ctx.base.is_none() {
        return Ok(());
    }
    let changed = crate::git::changed_lines(super::diff_of(repo, ctx)?);
    let extensions: BTreeSet<&str> = measured.keys().filter_map(|p| p.rsplit_once('.').map(|(_, ext)| ext)).collect();
    let mut change = Tally::default();
    let mut uncovered = Vec::new();
    let mut unmeasured = Vec::new();
    for (file, hunks) in &changed {
        match measured.get(file) {
            Some(lines) => {
                let mut missed = Vec::new();
                for &(start, end) in hunks {
                    for l in start..=end {
                        if let Some(h) = lines.get(&l) {
                            change.total += 1;
                            if *h > 0 {
                                change.covered += 1;
                            } else {
                                missed.push(l);
                            }
                        }
                    }
                }
                uncovered.extend(ranges(file, &missed));
            }
            None if is_test_path(file) || super::in_scope(file, &cfg.exclude) => {}
            None => {
                if file.rsplit_once('.').is_some_and(|(_, ext)| extensions.contains(ext)) {
                    unmeasured.push(file.clone());
                }
            }
        }
    }
    e.figures.insert("changed_lines_total".into(), change.total.into());
    e.figures.insert("changed_lines_covered".into(), change.covered.into());
    if !uncovered.is_empty() {
        e.figures.insert("uncovered_changed_lines".into(), uncovered.clone().into());
    }
    if !unmeasured.is_empty() {
        e.figures.insert("unmeasured".into(), unmeasured.clone().into());
        let reason = format!("changed files absent from the report (unmeasured): {}", unmeasured.join(", "));
        if cfg.unmeasured.as_deref() == Some("fail") {
            e.verdict = Verdict::Fail;
            e.reasons.push(reason);
        } else {
            e.reasons.push(format!("warning: {reason}"));
        }
    }
    let mut listed = false;
    if let (Some(min), Some(changed_pct)) = (cfg.min_changed, change.percent()) {
        e.figures.insert("changed_percent".into(), serde_json::json!((changed_pct * 100.0).round() / 100.0));
        e.summary = format!("{}, changed {changed_pct:.1} % (min {min})", e.summary);
        if changed_pct < min {
            e.verdict = Verdict::Fail;
            e.reasons.push(format!(
                "changed lines are {changed_pct:.1} % covered, below the minimum {min} %; uncovered: {}",
                uncovered.join(", ")
            ));
            listed = true;
        }
    }
    // A failing gate names the changed lines no test runs, wherever it is read (a log, a hook).
    if e.verdict == Verdict::Fail && !listed && !uncovered.is_empty() {
        e.reasons.push(format!("uncovered changed lines: {}", uncovered.join(", ")));
    }
    Ok(())
}

/// The module path declared in go.mod, for turning import paths into repository paths.
fn go_module(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("go.mod")).ok()?;
    text.lines().find_map(|l| l.trim().strip_prefix("module ").map(|m| m.trim().trim_matches('"').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_are_known_by_their_paths() {
        for test in [
            "tests/a.rs",
            "pkg/tests/test_a.py",
            "test_a.py",
            "src/a_test.go",
            "src/a.test.ts",
            "web/b.spec.js",
            "src/__tests__/x.js",
            "conftest.py",
        ] {
            assert!(is_test_path(test), "{test}");
        }
        for source in ["src/a.py", "src/testing.py", "src/latest.ts", "contest.py", "src/attest/a.go"] {
            assert!(!is_test_path(source), "{source}");
        }
    }

    #[test]
    fn ranges_collapse_runs() {
        assert_eq!(ranges("a.py", &[3, 4, 5, 9, 11, 12]), vec!["a.py:3-5", "a.py:9", "a.py:11-12"]);
    }

    #[test]
    fn normalize_strips_roots_and_joins_sources() {
        let mut r = Report::default();
        r.files.insert("/work/wt/src/a.py".into(), BTreeMap::from([(1, 1)]));
        r.files.insert("b.py".into(), BTreeMap::from([(2, 0)]));
        r.files.insert("/usr/lib/python3/x.py".into(), BTreeMap::from([(1, 1)]));
        r.files.insert("example.com/m/pkg/c.go".into(), BTreeMap::from([(3, 1)]));
        r.sources.push("/work/wt/lib".into());
        let files: BTreeSet<String> = ["src/a.py", "lib/b.py", "pkg/c.go"].iter().map(ToString::to_string).collect();
        let (m, outside, _) = normalize(&r, Path::new("/work/wt"), &[], Some("example.com/m"), &files);
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), vec!["lib/b.py", "pkg/c.go", "src/a.py"]);
        assert_eq!(outside, vec!["/usr/lib/python3/x.py"]);
    }
}
