//! The plan: `plans/<feature>/plan.md`, Markdown with TOML front matter between `+++` fences.
//! Parsing keeps spans, so every problem is reported as `file:line:col` with a fix. This module
//! reads text it is given; it never touches git, the file system or the terminal.

mod lint;

use std::fmt;

use serde::Serialize;

pub use lint::{lint, Lint, MAX_PHASES, MAX_PLAN_BYTES};

/// The commit types a phase may declare (Conventional Commits).
pub const COMMIT_TYPES: &[&str] =
    &["feat", "fix", "docs", "style", "refactor", "perf", "test", "build", "ci", "chore", "revert"];

/// A parsed, valid plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub feature: String,
    pub title: String,
    pub base: Option<String>,
    pub phases: Vec<Phase>,
    #[serde(skip)]
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub id: u32,
    pub title: String,
    pub owner: String,
    /// Conventional Commit type of the phase's commit (`feat` unless the plan says otherwise).
    #[serde(rename = "type")]
    pub kind: String,
    pub tasks: Vec<String>,
    pub tests: Vec<String>,
    pub paths: Vec<String>,
    /// Resolved: the plan's `depends_on`, or the previous phase when the key is absent.
    pub depends_on: Vec<u32>,
    pub risks: Vec<String>,
    /// Per-phase gate overrides, as written (`[phase.gates.coverage] min = 90`).
    pub gates: toml::Table,
}

impl Plan {
    /// Phase `id`, found by position: lint only builds a plan whose phases are numbered 1..N in
    /// order (a lookup per phase must not make a status of N phases quadratic).
    pub fn phase(&self, id: u32) -> Option<&Phase> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        self.phases.get(index).filter(|p| p.id == id)
    }

    pub fn ids(&self) -> String {
        self.phases.iter().map(|p| p.id.to_string()).collect::<Vec<_>>().join(", ")
    }
}

impl Phase {
    /// A branch-friendly slug of the title: `Database schema` → `database-schema`.
    pub fn slug(&self) -> String {
        let mut slug = String::new();
        for c in self.title.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') && !slug.is_empty() {
                slug.push('-');
            }
            if slug.len() >= 40 {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            "phase".into()
        } else {
            slug.into()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A problem in a plan, located in its file.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file, self.line, self.col, self.message)
    }
}

/// A feature slug: `[a-z0-9][a-z0-9-]*`, at most 64 characters, no trailing dash.
pub fn valid_slug(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// Parse and check a plan; the first error wins. For all problems at once, use [`lint`].
pub fn parse(file: &str, bytes: &[u8], feature: Option<&str>, known_gates: &[String]) -> Result<Plan, Diagnostic> {
    let report = lint(file, bytes, feature, known_gates);
    match report.diagnostics.into_iter().find(|d| d.severity == Severity::Error) {
        Some(err) => Err(err),
        None => Ok(report.plan.expect("a plan without errors is always built")),
    }
}
