//! The audit gate: what a phase did to the checks themselves. It compares the phase's snapshot
//! with its fork point and reports, with `file:line`, the ways a change can make the other gates
//! pass without making the code better: tests deleted or skipped, assertions removed, coverage
//! exclusions added, test, CI or gate configuration edited, fewer tests run, lower coverage.
//! Built in, on by default for phases. It reads objects and evidence; it runs nothing and never
//! prints. Its line work reuses the run's diff (added lines); removed lines are worked out only
//! for test files, by comparing their old and new text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{Context, Error, Evidence, Kind, Spec, Verdict};
use crate::config::{self, Stage};
use crate::git::{ChangeStatus, FileChange, ObjectId, Repo};

/// Every kind of finding, as `[gates.audit] warn = [...]` names them.
pub const KINDS: &[&str] = &[
    "test-deleted",
    "test-removed",
    "skip-marker",
    "assertions-removed",
    "coverage-exclusion",
    "test-config",
    "config-weakened",
    "tests-fewer",
    "coverage-lower",
    "tests-in-coverage",
    "report-committed",
];

/// One thing the audit found. `id` is what a person names to accept it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub id: String,
    pub kind: String,
    /// The file, or empty for a finding about evidence (tests run, coverage).
    pub path: String,
    /// 1-based; for something removed, its line at the fork point.
    pub line: u32,
    pub message: String,
    /// Configured to warn rather than block.
    #[serde(default)]
    pub warn: bool,
}

impl Finding {
    fn new(kind: &str, path: &str, line: u32, message: String) -> Self {
        let id = if path.is_empty() { format!("audit:{kind}:{line}") } else { format!("audit:{kind}:{path}:{line}") };
        Self { id, kind: kind.into(), path: path.into(), line, message, warn: false }
    }

    /// The finding as a reason line: `path:line: message [id]`.
    pub fn reason(&self) -> String {
        let level = if self.warn { "warning: " } else { "" };
        if self.path.is_empty() {
            format!("{level}{} [{}]", self.message, self.id)
        } else {
            format!("{level}{}:{}: {} [{}]", self.path, self.line, self.message, self.id)
        }
    }
}

/// The findings recorded in an audit gate's evidence.
pub fn findings_of(e: &Evidence) -> Vec<Finding> {
    e.figures.get("findings").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

/// The audit gate on the context's snapshot.
pub(super) fn gate(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
    let start = std::time::Instant::now();
    let mut e = Evidence::begin(spec, ctx, by);
    let Some(base) = ctx.base.filter(|_| ctx.phase.is_some()) else {
        e.summary = "not on a phase".into();
        return Ok(e);
    };
    let changes = super::diff_of(repo, ctx)?;
    let mut found = audit_changes(repo, base, ctx.tree, changes)?;
    if spec.stage == Stage::Review {
        found.extend(audit_evidence(repo, base, ctx.tree, ctx.signing.as_ref())?);
    }
    let warn: &[String] = spec.config.warn.as_deref().unwrap_or_default();
    for f in &mut found {
        f.warn = warn.contains(&f.kind);
    }
    let blocking = found.iter().filter(|f| !f.warn).count();
    e.summary = format!("{} finding{} ({blocking} blocking)", found.len(), if found.len() == 1 { "" } else { "s" });
    e.reasons = found.iter().map(Finding::reason).collect();
    if blocking > 0 {
        e.verdict = Verdict::Fail;
        e.reasons.push(
            "each finding is fixed on the phase branch, or accepted by name, with a reason, by the person who approves the phase"
                .into(),
        );
    }
    e.figures.insert("files".into(), changes.len().into());
    e.figures.insert("findings".into(), serde_json::to_value(&found).unwrap_or_default());
    e.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(e)
}

/// What the change from `base` to `tree` does to tests and to the configuration of checks.
pub fn audit_changes(
    repo: &Repo,
    base: ObjectId,
    tree: ObjectId,
    changes: &[FileChange],
) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    for change in changes {
        let path = change.path.as_str();
        let name = path.rsplit('/').next().unwrap_or(path);
        let text_file = !is_prose(name);
        let test = is_test_file(path);
        // Added lines: skip markers in code, coverage exclusions anywhere but prose. A block
        // without any of the patterns' words is passed over before a pattern is even built
        // (the hook runs in a fresh process each commit: building them costs milliseconds).
        for block in &change.added {
            let may_skip = is_code(name) && SKIP_WORDS.iter().any(|w| block.text.contains(w));
            let may_exclude = text_file && EXCLUSION_WORDS.iter().any(|w| block.text.contains(w));
            if !may_skip && !may_exclude {
                continue;
            }
            for (i, line) in block.text.lines().enumerate() {
                let n = block.first_line + u32::try_from(i).unwrap_or(u32::MAX);
                if may_skip {
                    if let Some(m) = skip_marker().find(line) {
                        out.push(Finding::new(
                            "skip-marker",
                            path,
                            n,
                            format!("skip marker `{}` added: the test no longer runs", m.as_str().trim()),
                        ));
                    }
                }
                if may_exclude {
                    if let Some(m) = coverage_exclusion().find(line) {
                        out.push(Finding::new(
                            "coverage-exclusion",
                            path,
                            n,
                            format!("coverage exclusion `{}` added: this code leaves the measured set", m.as_str()),
                        ));
                    }
                }
            }
        }
        if let Some(kind) = coverage_config(name) {
            out.extend(coverage_config_lines(repo, tree, change, kind)?);
        }
        if is_coverage_report(name) && change.status != ChangeStatus::Deleted {
            out.push(Finding::new(
                "report-committed",
                path,
                1,
                "a coverage report is committed: a gate reads only the report its own run writes".into(),
            ));
        }
        if is_test_config(path) {
            let line = change.added.first().map_or(1, |b| b.first_line);
            let what = match change.status {
                ChangeStatus::Deleted => "deleted",
                ChangeStatus::Added => "added",
                ChangeStatus::Modified => "edited",
            };
            out.push(Finding::new(
                "test-config",
                path,
                line,
                format!("test or CI configuration {what}: it decides what runs and what counts"),
            ));
        }
        if path == config::FILE {
            out.extend(config_weakened(repo, base, tree)?);
        }
        // Removed lines, for test files only (and Rust files that held tests).
        let rust = extension(name) == "rs";
        if change.status == ChangeStatus::Added || !(test || rust) || change.binary {
            continue;
        }
        let old = text_of(repo, base, path)?;
        if rust && !test && !old.contains("#[test]") && !old.contains("::test]") {
            continue;
        }
        if change.status == ChangeStatus::Deleted {
            let tests = test_names(name, &old).len();
            out.push(Finding::new(
                "test-deleted",
                path,
                1,
                format!(
                    "test file deleted ({tests} test{} in it at the fork point)",
                    if tests == 1 { "" } else { "s" }
                ),
            ));
            continue;
        }
        let new = text_of(repo, tree, path)?;
        // Only a line that left the file can take a test or an assertion with it: a change that
        // only adds lines (the common case) needs no pattern at all.
        if !loses_a_line(&old, &new) {
            continue;
        }
        let mut now: BTreeMap<String, usize> = BTreeMap::new();
        for (name, _) in test_names(name, &new) {
            *now.entry(name).or_default() += 1;
        }
        for (test, line) in test_names(name, &old) {
            match now.get_mut(&test) {
                Some(n) if *n > 0 => *n -= 1,
                _ => out.push(Finding::new(
                    "test-removed",
                    path,
                    line,
                    format!("test `{test}` removed (line {line} at the fork point)"),
                )),
            }
        }
        let (old_asserts, new_asserts) = (assertions(&old), assertions(&new));
        if new_asserts.len() < old_asserts.len() {
            let mut left: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, text) in &new_asserts {
                *left.entry(text).or_default() += 1;
            }
            let gone = old_asserts.iter().find(|(_, text)| match left.get_mut(text) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    false
                }
                _ => true,
            });
            let (line, said) = gone.map_or((1, ""), |(l, t)| (*l, *t));
            out.push(Finding::new(
                "assertions-removed",
                path,
                line,
                format!(
                    "{} assertion{} fewer than at the fork point ({} → {}), e.g. line {line} there: `{}`",
                    old_asserts.len() - new_asserts.len(),
                    if old_asserts.len() - new_asserts.len() == 1 { "" } else { "s" },
                    old_asserts.len(),
                    new_asserts.len(),
                    shorten(said)
                ),
            ));
        }
    }
    Ok(out)
}

/// What the evidence says: fewer tests run than at the fork point, lower coverage of the whole
/// project. Compared only where both trees have evidence for the same gate.
pub fn audit_evidence(
    repo: &Repo,
    base: ObjectId,
    tree: ObjectId,
    signing: Option<&super::signing::Signing>,
) -> Result<Vec<Finding>, Error> {
    let (mut then, mut now) = (super::evidence_for(repo, base)?, super::evidence_for(repo, tree)?);
    // Under `signed`, only records that verify are compared (a forged fork-point count hides nothing).
    if let Some(s) = signing {
        (then, now) = (s.admitted(then)?, s.admitted(now)?);
    }
    let newest = |records: &[Evidence], gate: &str, kind: Kind| -> Option<Evidence> {
        records.iter().rev().find(|e| e.gate == gate && e.kind == kind && e.verdict != Verdict::Error).cloned()
    };
    let number = |e: &Evidence, key: &str| e.figures.get(key).and_then(serde_json::Value::as_f64);
    let mut gates: Vec<(&str, Kind)> = now
        .iter()
        .filter(|e| matches!(e.kind, Kind::Tests | Kind::Coverage))
        .map(|e| (e.gate.as_str(), e.kind))
        .collect();
    gates.sort_unstable_by_key(|(g, _)| *g);
    gates.dedup();
    let mut out = Vec::new();
    for (gate, kind) in gates {
        let after = newest(&now, gate, kind);
        // Test files measured as covered code carrying the figure over the gate's minimum.
        let code_only = |e: &Evidence| number(e, "percent_without_tests").or_else(|| number(e, "percent"));
        if let Some(a) = after.as_ref().filter(|_| kind == Kind::Coverage) {
            if let (Some(all), Some(code), Some(min)) = (number(a, "percent"), code_only(a), number(a, "min")) {
                if all >= min && code < min {
                    let files: Vec<&str> = a
                        .figures
                        .get("tests_measured")
                        .and_then(serde_json::Value::as_array)
                        .map(|v| v.iter().filter_map(serde_json::Value::as_str).collect())
                        .unwrap_or_default();
                    let mut f = Finding::new(
                        "tests-in-coverage",
                        files.first().copied().unwrap_or_default(),
                        1,
                        format!(
                            "gate `{gate}` counts test files as covered code ({}): {all} % passes min {min}, the code alone is {code} %; measure the code only",
                            files.join(", ")
                        ),
                    );
                    f.id = format!("audit:tests-in-coverage:{gate}");
                    out.push(f);
                }
            }
        }
        let (Some(before), Some(after)) = (newest(&then, gate, kind), after) else { continue };
        if kind == Kind::Tests {
            let ran = |e: &Evidence| number(e, "passed").zip(number(e, "failed")).map(|(p, f)| p + f);
            if let (Some(b), Some(a)) = (ran(&before), ran(&after)) {
                if a < b {
                    let mut f = Finding::new(
                        "tests-fewer",
                        "",
                        0,
                        format!("gate `{gate}` ran {a} tests, fewer than the {b} it ran at the fork point"),
                    );
                    f.id = format!("audit:tests-fewer:{gate}");
                    out.push(f);
                }
            }
        } else if let (Some(b), Some(a)) = (code_only(&before), code_only(&after)) {
            // Compared on the code alone: test files measured as code cannot hide a fall.
            if a + 0.005 < b {
                let whole = number(&after, "percent").filter(|w| (w - a).abs() > 0.005);
                let mut f = Finding::new(
                    "coverage-lower",
                    "",
                    0,
                    format!(
                        "gate `{gate}`: coverage of the project's code fell from {b} % at the fork point to {a} %{}",
                        whole.map(|w| format!(" (with the test files measured as code: {w} %)")).unwrap_or_default()
                    ),
                );
                f.id = format!("audit:coverage-lower:{gate}");
                out.push(f);
            }
        }
    }
    Ok(out)
}

fn text_of(repo: &Repo, tree: ObjectId, path: &str) -> Result<String, Error> {
    Ok(repo.tree_blob(tree, path)?.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default())
}

fn shorten(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() > 60 {
        format!("{}…", t.chars().take(60).collect::<String>())
    } else {
        t.to_string()
    }
}

fn extension(name: &str) -> &str {
    name.rsplit_once('.').map_or("", |(_, e)| e)
}

/// Documentation, where a marker's name is only mentioned.
fn is_prose(name: &str) -> bool {
    matches!(extension(name), "md" | "markdown" | "rst" | "txt" | "adoc" | "html")
}

/// Source code in a language whose tests the audit knows.
fn is_code(name: &str) -> bool {
    matches!(
        extension(name),
        "rs" | "py" | "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" | "mts" | "cts" | "go" | "java" | "kt" | "rb"
    )
}

/// Whether `path` holds tests: a code file under a `tests/`-like directory, or named as test
/// runners find tests (`test_*.py`, `*_test.go`, `*.test.ts`, `*.spec.js`, `FooTest.java`).
pub fn is_test_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if !is_code(name) || name == "conftest.py" {
        return false;
    }
    let in_tests_dir =
        path.split('/').rev().skip(1).any(|d| matches!(d, "tests" | "test" | "__tests__" | "spec" | "testing"));
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    in_tests_dir
        || stem.starts_with("test_")
        || stem.ends_with("_test")
        || matches!(extension(stem), "test" | "spec")
        || stem.ends_with("Test")
        || stem.ends_with("Tests")
}

/// Test runner and CI configuration: what decides which tests run and what counts.
/// Whether some line of `old` (counted with its repeats) is not in `new`.
fn loses_a_line(old: &str, new: &str) -> bool {
    let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for line in new.lines() {
        *left.entry(line.trim()).or_default() += 1;
    }
    old.lines().any(|line| match left.get_mut(line.trim()) {
        Some(n) if *n > 0 => {
            *n -= 1;
            false
        }
        _ => true,
    })
}

/// File names the coverage tools write their reports under.
fn is_coverage_report(name: &str) -> bool {
    matches!(
        name,
        "coverage.json"
            | "coverage.xml"
            | "lcov.info"
            | "coverage-final.json"
            | "coverage-summary.json"
            | "cobertura.xml"
            | "cobertura-coverage.xml"
            | "clover.xml"
            | "jacoco.xml"
            | ".coverage"
            | "coverage.out"
            | "cover.out"
            | "coverprofile"
            | "tarpaulin-report.json"
    ) || extension(name) == "lcov"
        || extension(name) == "profdata"
}

fn is_test_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    matches!(name, "pytest.ini" | "conftest.py" | "Jenkinsfile" | ".gitlab-ci.yml" | "noxfile.py")
        || matches!(stem, "jest" | "vitest" | "karma" | "playwright" | "cypress") && name.contains(".config.")
        || name.starts_with("vitest.workspace")
        || name.starts_with("karma.conf")
        || name.starts_with(".mocharc")
        || path.starts_with(".github/workflows/")
        || path.starts_with(".circleci/")
}

/// Which coverage-configuring file `name` is: `Whole` when all of it configures coverage, else
/// `Sections` when only some sections do (and the pytest ones configure the test run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CoverageConfig {
    Whole,
    Sections,
}

fn coverage_config(name: &str) -> Option<CoverageConfig> {
    match name {
        ".coveragerc" => Some(CoverageConfig::Whole),
        _ if name.starts_with(".nycrc") || name.starts_with(".c8rc") => Some(CoverageConfig::Whole),
        "setup.cfg" | "tox.ini" | "pyproject.toml" => Some(CoverageConfig::Sections),
        _ => None,
    }
}

/// The added lines of a coverage or test configuration file that exclude code from measurement
/// (`omit`, `exclude_lines`, `exclude_also`, `exclude`) or otherwise change the test run.
fn coverage_config_lines(
    repo: &Repo,
    tree: ObjectId,
    change: &FileChange,
    kind: CoverageConfig,
) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    if change.added.is_empty() {
        return Ok(out);
    }
    let text = text_of(repo, tree, &change.path)?;
    let added: std::collections::BTreeSet<u32> = change.added.iter().flat_map(|b| b.first_line..=b.last_line).collect();
    let mut section = String::new();
    let mut key = String::new();
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let t = line.trim();
        if t.starts_with('[') {
            section = t.trim_matches(['[', ']']).trim().to_string();
            key.clear();
        } else if let Some((k, _)) = t.split_once(['=', ':']).filter(|_| !line.starts_with([' ', '\t'])) {
            key = k.trim().trim_matches('"').to_string();
        }
        if !added.contains(&n) || t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        let coverage = kind == CoverageConfig::Whole
            || section.starts_with("coverage:")
            || section.starts_with("tool.coverage")
            || section == "coverage";
        let pytest = section == "pytest" || section == "tool:pytest" || section.starts_with("tool.pytest");
        let excludes = ["omit", "exclude_lines", "exclude_also", "exclude", "partial_branches"];
        if coverage && excludes.contains(&key.as_str()) {
            out.push(Finding::new(
                "coverage-exclusion",
                &change.path,
                n,
                format!("coverage exclusion added to `{key}`: `{}`", shorten(t)),
            ));
        } else if coverage || pytest {
            out.push(Finding::new(
                "test-config",
                &change.path,
                n,
                format!("{} configuration edited: `{}`", if pytest { "pytest" } else { "coverage" }, shorten(t)),
            ));
        }
    }
    Ok(out)
}

/// What a phase's edit of `.orchestrate.toml` weakens: a gate removed, made optional, a
/// threshold lowered, a command, report or stage changed. (The edit does not judge the phase
/// itself, which is judged by the configuration committed at its integration branch.)
fn config_weakened(repo: &Repo, base: ObjectId, tree: ObjectId) -> Result<Vec<Finding>, Error> {
    let file = config::FILE;
    let (old, new) = (text_of(repo, base, file)?, text_of(repo, tree, file)?);
    let old = config::Config::parse(file, &old).unwrap_or_default();
    let parsed = match repo.tree_blob(tree, file)? {
        None => Ok(config::Config::default()),
        Some(_) => config::Config::parse(file, &new),
    };
    let new_config = match parsed {
        Ok(c) => c,
        Err(e) => {
            return Ok(vec![Finding::new(
                "config-weakened",
                file,
                u32::try_from(e.line).unwrap_or(1),
                format!("the gate configuration no longer parses: {}", e.message),
            )]);
        }
    };
    let mut out = Vec::new();
    let weak = |gate: &str, key: &str, message: String| {
        Finding::new("config-weakened", file, line_of(&new, gate, key), format!("gate `{gate}`: {message}"))
    };
    let mut names: Vec<&String> = old.gates.keys().collect();
    if !names.iter().any(|n| *n == "audit") && new_config.gates.contains_key("audit") {
        names.push(new_config.gates.get_key_value("audit").map(|(k, _)| k).expect("checked"));
    }
    for name in names {
        let before = old.gates.get(name).cloned().unwrap_or_default();
        let Some(after) = new_config.gates.get(name) else {
            out.push(Finding::new("config-weakened", file, 1, format!("gate `{name}` removed")));
            continue;
        };
        let (Ok(b), Ok(a)) = (toml::Table::try_from(&before), toml::Table::try_from(after)) else { continue };
        for (key, was) in &b {
            let now = a.get(key);
            if now == Some(was) {
                continue;
            }
            let num = |v: Option<&toml::Value>| {
                v.and_then(|v| {
                    v.as_float().or_else(|| v.as_integer().and_then(|i| i32::try_from(i).ok()).map(f64::from))
                })
            };
            let message = match key.as_str() {
                "min" | "min_changed" => match (num(Some(was)), num(now)) {
                    (Some(w), Some(n)) if n >= w => continue,
                    (Some(w), Some(n)) => format!("`{key}` lowered from {w} to {n}"),
                    _ => format!("`{key}` removed (was {was})"),
                },
                "max" => match (num(Some(was)), num(now)) {
                    (Some(w), Some(n)) if n <= w => continue,
                    (Some(w), Some(n)) => format!("`max` raised from {w} to {n}"),
                    _ => format!("`max` removed (was {was})"),
                },
                "timeout" => continue,
                "required" if now.and_then(toml::Value::as_bool) != Some(false) => continue,
                _ => match now {
                    Some(n) => format!("`{key}` changed from {was} to {n}"),
                    None => format!("`{key}` removed (was {was})"),
                },
            };
            out.push(weak(name, key, message));
        }
        for (key, now) in &a {
            if b.contains_key(key) || matches!(key.as_str(), "min" | "min_changed" | "max" | "timeout") {
                continue;
            }
            if key == "required" && now.as_bool() != Some(false) {
                continue;
            }
            out.push(weak(name, key, format!("`{key} = {now}` set")));
        }
    }
    let rank = |r: &str| match r {
        "signed" => 2,
        "tty" => 1,
        _ => 0,
    };
    if rank(new_config.approvals.require.as_str()) < rank(old.approvals.require.as_str()) {
        out.push(Finding::new(
            "config-weakened",
            file,
            line_of(&new, "", "require"),
            format!(
                "approvals.require lowered from `{}` to `{}`",
                old.approvals.require.as_str(),
                new_config.approvals.require.as_str()
            ),
        ));
    }
    Ok(out)
}

/// The line of `key` in the `[gates.<gate>]` table of `text` (the table's line, else 1).
fn line_of(text: &str, gate: &str, key: &str) -> u32 {
    let header = if gate.is_empty() { "[approvals]".to_string() } else { format!("[gates.{gate}]") };
    let mut inside = false;
    let mut at = 1;
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == header;
            if inside {
                at = n;
            }
        } else if inside && t.split_once('=').is_some_and(|(k, _)| k.trim() == key) {
            return n;
        }
    }
    at
}

/// Words every match of [`skip_marker`] contains (a cheap test before the pattern).
const SKIP_WORDS: &[&str] = &[
    "ignore",
    "Ignore",
    "skip",
    "Skip",
    "xfail",
    "expectedFailure",
    "todo",
    "only",
    "xit",
    "xtest",
    "xdescribe",
    "fit",
    "fdescribe",
    "Disabled",
];

/// Words every match of [`coverage_exclusion`] contains.
const EXCLUSION_WORDS: &[&str] = &["pragma", "ignore", "coverage", "LCOV_EXCL", "nocov", "IgnorePatterns"];

fn skip_marker() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?-u)#\[ignore\b|pytest\.mark\.(?:skip|skipif|xfail)\b|pytest\.(?:skip|xfail|importorskip)\s*\(",
            r"|unittest\.(?:skip\w*|expectedFailure)\b|@skip(?:If|Unless)?\s*\(|\bself\.skipTest\s*\(",
            r"|\b(?:it|test|describe|context|suite)\.(?:skip|todo|only)\b|\b(?:xit|xtest|xdescribe|fit|fdescribe)\s*\(",
            r"|\bt\.Skip(?:Now|f)?\s*\(|@Disabled\b|@Ignore\b",
        ))
        .expect("the skip marker pattern is valid")
    })
}

fn coverage_exclusion() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?-u)pragma:\s*no\s*(?:cover|branch)|(?:istanbul|c8|v8)\s+ignore|#!?\[coverage\(off\)\]",
            r"|LCOV_EXCL\w*|coveragePathIgnorePatterns|:nocov:|coverage_nightly",
        ))
        .expect("the coverage exclusion pattern is valid")
    })
}

fn assertion() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"(?-u)^\s*assert\b|\bassert\w*!\s*\(|\bself\.assert\w*\s*\(|\bexpect\s*\(|\bassert\.\w+\s*\(",
            r"|\bt\.(?:Error|Errorf|Fatal|Fatalf|Fail|FailNow)\s*\(|\b(?:require|assert)\.\w+\s*\(|\bassert\w*\s*\(",
        ))
        .expect("the assertion pattern is valid")
    })
}

/// Words every assertion the pattern knows holds: a line without any needs no pattern.
const ASSERTION_WORDS: &[&str] = &["assert", "expect", "require.", "t.Error", "t.Fatal", "t.Fail"];

/// Whether `line` is an assertion. The commonest form (a Python `assert` statement) is told
/// without the pattern, and a line with none of its words is passed over.
fn is_assertion(line: &str) -> bool {
    let t = line.trim_start();
    if t.strip_prefix("assert").is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')) {
        return true;
    }
    ASSERTION_WORDS.iter().any(|w| line.contains(w)) && assertion().is_match(line)
}

/// The assertion lines of a test file: (line, trimmed text).
fn assertions(text: &str) -> Vec<(u32, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| is_assertion(l))
        .map(|(i, l)| (u32::try_from(i + 1).unwrap_or(u32::MAX), l.trim()))
        .collect()
}

/// The name after `keyword` and whitespace at the start of `line`, when it starts with
/// `prefix` and is followed by `(`: `def test_x(`, `func TestX(`.
fn declared<'l>(line: &'l str, keyword: &str, prefix: &str) -> Option<&'l str> {
    let rest = line.strip_prefix(keyword)?;
    if !rest.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let (name, after) = rest.split_at(end);
    (name.starts_with(prefix) && after.trim_start_matches(|c: char| c.is_ascii_whitespace()).starts_with('('))
        .then_some(name)
}

/// A Python test function's name: `def test…(` or `async def test…(`, indented or not.
fn python_test(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let t = t
        .strip_prefix("async")
        .filter(|r| r.starts_with(|c: char| c.is_ascii_whitespace()))
        .map_or(t, |r| r.trim_start_matches(|c: char| c.is_ascii_whitespace()));
    declared(t, "def", "test")
}

/// The tests a file declares: (name, line).
fn test_names(name: &str, text: &str) -> Vec<(String, u32)> {
    static JS: OnceLock<Regex> = OnceLock::new();
    static FN: OnceLock<Regex> = OnceLock::new();
    let line_no = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
    let lines: Vec<&str> = text.lines().collect();
    let capture = |re: &Regex| -> Vec<(String, u32)> {
        lines
            .iter()
            .enumerate()
            .filter_map(|(i, l)| {
                let c = re.captures(l)?;
                let m = c.iter().skip(1).flatten().next()?;
                Some((m.as_str().to_string(), line_no(i)))
            })
            .collect()
    };
    let by_hand = |find: &dyn Fn(&str) -> Option<&str>| -> Vec<(String, u32)> {
        lines.iter().enumerate().filter_map(|(i, l)| find(l).map(|n| (n.to_string(), line_no(i)))).collect()
    };
    match extension(name) {
        "py" => by_hand(&python_test),
        "go" => by_hand(&|l| declared(l, "func", "Test").filter(|n| n.len() > 4)),
        "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" | "mts" | "cts" => capture(JS.get_or_init(|| {
            Regex::new(r#"(?-u)\b(?:it|test)(?:\.\w+)?\s*\(\s*(?:'((?u:[^'])*)'|"((?u:[^"])*)"|`((?u:[^`])*)`)"#)
                .expect("valid")
        }))
        .into_iter()
        .collect(),
        "rs" | "java" | "kt" => {
            let re = FN.get_or_init(|| {
                Regex::new(
                    r"(?-u)^\s*(?:pub(?:\((?u:[^)])*\))?\s+)?(?:async\s+)?(?:fn|fun|(?:public\s+|private\s+)?void)\s+(\w+)\s*\(",
                )
                .expect("valid")
            });
            let mut out = Vec::new();
            for (i, l) in lines.iter().enumerate() {
                let Some(m) = re.captures(l).and_then(|c| c.get(1)) else { continue };
                // The attributes (and doc comments) right above the function, nothing further up.
                let marked = lines[..i]
                    .iter()
                    .rev()
                    .map(|p| p.trim())
                    .take_while(|p| p.starts_with("#[") || p.starts_with('@') || p.starts_with("//"))
                    .any(|p| {
                        p.starts_with("#[") && (p.contains("test]") || p.contains("test(") || p.contains("rstest"))
                            || p.starts_with("@Test")
                    });
                if marked {
                    out.push((m.as_str().to_string(), line_no(i)));
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_files_are_named_as_runners_find_them() {
        for yes in ["tests/test_x.py", "a/test_b.py", "x_test.go", "src/a.test.ts", "web/b.spec.js", "tests/it.rs"] {
            assert!(is_test_file(yes), "{yes}");
        }
        for no in ["src/lib.rs", "conftest.py", "tests/README.md", "latest.py", "contest.go"] {
            assert!(!is_test_file(no), "{no}");
        }
    }

    #[test]
    fn declared_tests_are_found_per_language() {
        let py = "def test_a():\n    pass\nasync def test_b():\n    pass\ndef helper():\n    pass\n  def  test_c (self):\ndef test_d\ndef testing_e():\ndefine test_f():\n";
        assert_eq!(
            test_names("t.py", py),
            [
                ("test_a".to_string(), 1),
                ("test_b".to_string(), 3),
                ("test_c".to_string(), 7),
                ("testing_e".to_string(), 9)
            ]
        );
        assert_eq!(
            test_names("a_test.go", "func Test(t *testing.T) {\nfunc TestY (t *testing.T) {\n"),
            [("TestY".to_string(), 2)]
        );
        let rs = "#[test]\nfn one() {}\nfn helper() {}\n#[tokio::test]\nasync fn two() {}\n";
        assert_eq!(test_names("t.rs", rs), [("one".to_string(), 2), ("two".to_string(), 5)]);
        let js = "it('adds', () => {});\ntest(\"subs\", () => {});\ndescribe('x', () => {});\n";
        assert_eq!(test_names("a.test.js", js), [("adds".to_string(), 1), ("subs".to_string(), 2)]);
        assert_eq!(test_names("a_test.go", "func TestX(t *testing.T) {\n"), [("TestX".to_string(), 1)]);
    }

    const SKIPS: &[&str] = &[
        "#[ignore]",
        "@pytest.mark.skip(reason='x')",
        "@pytest.mark.skipif(True, reason='x')",
        "@pytest.mark.xfail",
        "    pytest.skip('later')",
        "pytest.importorskip('numpy')",
        "@unittest.skip('x')",
        "@unittest.expectedFailure",
        "self.skipTest('x')",
        "it.skip('a', () => {})",
        "xit('a', () => {})",
        "xtest('a', () => {})",
        "fit('a', () => {})",
        "fdescribe('a', () => {})",
        "describe.skip('a', () => {})",
        "test.todo('a')",
        "\tt.Skip(\"flaky\")",
        "t.SkipNow()",
        "@Disabled",
        "@Ignore",
        "it.only('a', () => {})",
    ];

    const EXCLUSIONS: &[&str] = &[
        "x = 1  # pragma: no cover",
        "if x:  # pragma: no branch",
        "/* istanbul ignore next */",
        "/* c8 ignore start */",
        "/* v8 ignore next */",
        "#[coverage(off)]",
        "#![coverage(off)]",
        "// LCOV_EXCL_LINE",
        "coveragePathIgnorePatterns: ['/gen/']",
        "# :nocov:",
        "#[cfg_attr(coverage_nightly, coverage(off))]",
    ];

    #[test]
    fn every_match_contains_a_prefilter_word() {
        for yes in SKIPS {
            assert!(super::SKIP_WORDS.iter().any(|w| yes.contains(w)), "{yes}");
        }
        for yes in EXCLUSIONS {
            assert!(super::EXCLUSION_WORDS.iter().any(|w| yes.contains(w)), "{yes}");
        }
    }

    #[test]
    fn assertions_are_told_with_and_without_the_pattern() {
        for yes in [
            "assert x",
            "    assert(x)",
            "self.assertEqual(a, b)",
            "expect(a).toBe(1)",
            "assert_eq!(a, b)",
            "t.Fatalf(\"x\")",
            "require.NoError(t, err)",
        ] {
            assert!(is_assertion(yes), "{yes}");
        }
        for no in ["assertion = 1", "x = 1", "# nothing", "asserts = []"] {
            assert!(!is_assertion(no), "{no}");
        }
    }

    #[test]
    fn only_a_lost_line_can_lose_a_test() {
        assert!(!super::loses_a_line("a\nb\n", "a\nx\nb\n"));
        assert!(!super::loses_a_line("a\nb\n", "b\n  a\n"), "moved and re-indented lines are kept");
        assert!(super::loses_a_line("a\na\n", "a\n"), "a repeat counts");
        assert!(super::loses_a_line("def test_a():\n", "def _a():\n"));
    }

    #[test]
    fn skip_markers_and_exclusions_are_recognised() {
        for yes in SKIPS {
            assert!(skip_marker().is_match(yes), "{yes}");
        }
        for no in ["skip = 1", "exit(0)", "fn ignore_case()", "test('a', () => {})"] {
            assert!(!skip_marker().is_match(no), "{no}");
        }
        for yes in EXCLUSIONS {
            assert!(coverage_exclusion().is_match(yes), "{yes}");
        }
    }
}
