//! `.orchestrate.toml`: the repository's configuration, with defaults for every key. Errors name
//! `file:line:col` and the fix. This module parses text; it does not read git or print.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gates::registry::{self, Kind};

pub const FILE: &str = ".orchestrate.toml";

#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct Error {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
    hint: Option<String>,
}

impl Error {
    pub fn hint(&self) -> Option<String> {
        self.hint.clone()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub branches: Branches,
    #[serde(default)]
    pub gates: BTreeMap<String, Gate>,
    #[serde(default)]
    pub approvals: Approvals,
    /// `[lanes.bugfix]`, `[lanes.hotfix]`: the gate set of a lane's feature.
    #[serde(default)]
    pub lanes: BTreeMap<String, Lane>,
    #[serde(default)]
    pub sync: SyncConfig,
    #[serde(default)]
    pub ci: Ci,
}

/// `[sync]`: where the team's state is shared.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// The remote `sync` uses when none is named, and approvals push to.
    #[serde(default = "default_remote")]
    pub remote: String,
    /// Approvals and phase squashes push the state (notes, the integration branch) to the
    /// remote when it exists; an unreachable remote never fails the approval.
    #[serde(default = "yes")]
    pub push: bool,
    /// `sync` also brings the features' branches: creates the missing ones, fast-forwards
    /// the ones behind, pushes the ones ahead; never forced.
    #[serde(default = "yes")]
    pub branches: bool,
}

fn default_remote() -> String {
    "origin".into()
}

fn yes() -> bool {
    true
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self { remote: default_remote(), push: true, branches: true }
    }
}

/// `[ci]`: how `verify` judges a pushed range.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ci {
    /// Take gate evidence that arrived with the notes (recorded in a clone) as a cache. With
    /// `false`, `verify` counts only evidence it recorded itself (`--run-missing`), so a note
    /// written by hand cannot pass CI.
    #[serde(default = "yes")]
    pub trust_pushed_evidence: bool,
}

impl Default for Ci {
    fn default() -> Self {
        Self { trust_pushed_evidence: true }
    }
}

/// A lane's gate set: only these gates judge its feature (all configured ones when empty;
/// the built-in audit, secrets and scope always run).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Lane {
    #[serde(default)]
    pub gates: Vec<String>,
}

impl Config {
    /// Whether gate `name` judges a feature of `lane`.
    pub fn lane_allows(&self, lane: Option<&str>, name: &str) -> bool {
        if Kind::named(name).is_some_and(|k| k.entry().every_lane) {
            return true;
        }
        match lane.and_then(|l| self.lanes.get(l)) {
            Some(l) if !l.gates.is_empty() => l.gates.iter().any(|g| g == name),
            _ => true,
        }
    }
}

/// `[approvals]`: what an approval must come from to count.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Approvals {
    /// `any`, `tty` (the default) or `signed`.
    #[serde(default)]
    pub require: Require,
    /// The allowed-signers file (git's `gpg.ssh.allowedSignersFile` format), committed in the
    /// repository; read from the tree of the configuration that judges.
    pub allowed_signers: Option<String>,
}

impl Approvals {
    /// The allowed-signers file's path in the repository.
    pub fn allowed_signers(&self) -> &str {
        self.allowed_signers.as_deref().unwrap_or(".orchestrate/allowed_signers")
    }
}

/// What an approval must come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Require {
    /// Any approval: `--yes` without a terminal counts (not inside an agent's environment).
    Any,
    /// A person at a terminal, outside every agent's environment.
    #[default]
    Tty,
    /// A terminal, and each approval signed with the user's git signing key, verified against
    /// the committed allowed-signers file.
    Signed,
}

impl Require {
    pub fn as_str(self) -> &'static str {
        match self {
            Require::Any => "any",
            Require::Tty => "tty",
            Require::Signed => "signed",
        }
    }
}

/// Branch layout. `{feature}`, `{phase}` and `{slug}` are filled in. The defaults keep the
/// integration branch and the phase branches side by side, because git cannot have both
/// `refs/heads/a/b` and `refs/heads/a/b/c`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Branches {
    #[serde(default = "default_integration")]
    pub integration: String,
    #[serde(default = "default_phase")]
    pub phase: String,
}

fn default_integration() -> String {
    "orchestrate/{feature}/main".into()
}

fn default_phase() -> String {
    "orchestrate/{feature}/{phase}-{slug}".into()
}

impl Default for Branches {
    fn default() -> Self {
        Self { integration: default_integration(), phase: default_phase() }
    }
}

impl Branches {
    pub fn integration(&self, feature: &str) -> String {
        self.integration.replace("{feature}", feature)
    }

    /// The literal beginnings of every feature branch name (up to the first placeholder).
    pub fn prefixes(&self) -> Vec<String> {
        let mut out: Vec<String> = [&self.integration, &self.phase]
            .iter()
            .map(|p| p.split('{').next().unwrap_or_default().to_string())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The feature names `branch` could belong to under the patterns (each read off where
    /// `{feature}` sits, up to the literal text that follows it).
    pub fn features_in(&self, branch: &str) -> Vec<String> {
        let mut out = Vec::new();
        for pattern in [&self.integration, &self.phase] {
            let Some((before, after)) = pattern.split_once("{feature}") else { continue };
            let Some(rest) = branch.strip_prefix(before) else { continue };
            let until = after.split('{').next().unwrap_or_default();
            let name = match until {
                "" if after.is_empty() => rest,
                "" => continue, // two placeholders side by side: no telling where one ends
                _ => rest.find(until).map_or("", |end| &rest[..end]),
            };
            if !name.is_empty() && !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        }
        out
    }

    pub fn phase(&self, feature: &str, phase: u32, slug: &str) -> String {
        self.phase.replace("{feature}", feature).replace("{phase}", &phase.to_string()).replace("{slug}", slug)
    }
}

/// One gate's configuration (SPEC §8). The gate engine gives these keys their meaning; a plan's
/// `[phase.gates.<name>]` table overrides them for one phase.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// `command` (exit code decides), `tests`, `coverage`. Default: the gate's name when that
    /// is a kind, else `command`.
    pub kind: Option<String>,
    pub run: Option<String>,
    pub stage: Option<Stage>,
    pub report: Option<String>,
    pub format: Option<String>,
    pub min: Option<f64>,
    pub min_changed: Option<f64>,
    /// Seconds.
    pub timeout: Option<u64>,
    /// A failing required gate blocks (exit 1); others warn. Default: true.
    pub required: Option<bool>,
    /// `false` switches the gate off (the built-in `secrets` and `scope` gates are on without
    /// being listed; this is how a configuration turns one off, visibly). Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Globs of the paths the verdict depends on (`["src/**", "pyproject.toml"]`): evidence is
    /// keyed by their content, so a change elsewhere re-runs nothing. Default: the whole tree.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<String>,
    /// Tests: take the verdict from the test counts of this coverage gate's run instead of
    /// running the suite again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Directories of the user's work tree copied into the gate's build caches once, before
    /// the gate's first command, when the gate has none yet (`["target"]`, `["node_modules"]`):
    /// the first gate run is then not a build from scratch. A cargo target directory goes to
    /// the gate's own one, without the build units of the snapshot's own packages (those are
    /// always built from the snapshot). What is seeded is trusted as it is: see README, Gates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<String>,
    /// Extra environment for the command.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Only these phases (default: all).
    pub phases: Option<Vec<u32>>,
    /// Tests: let a run that executed no test pass.
    pub allow_no_tests: Option<bool>,
    /// Tests: `false` when the runner prints no summary the tool reads (then the exit code
    /// alone decides). Default: true, and output without a recognised summary is an error.
    pub counts: Option<bool>,
    /// Coverage: prefixes stripped from report paths before they are matched to repo paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strip_prefix: Vec<String>,
    /// Coverage: `warn` (default) or `fail` when changed source files are absent from the report.
    pub unmeasured: Option<String>,
    /// Coverage: paths (globs as in a plan's `paths`) left out of the figures and never listed
    /// as unmeasured. Test files (`tests/`, `test_*.py`, `*_test.go`, `*.test.ts`, …) are
    /// never listed as unmeasured, with or without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Metric: the dotted path of the number in the JSON report (`categories.accessibility.score`).
    pub path: Option<String>,
    /// Metric: the highest value that passes (inclusive).
    pub max: Option<f64>,
    /// Metric: multiply the value first (a 0..1 score × 100).
    pub scale: Option<f64>,
    /// Scanner: bandit, pip-audit, npm-audit, cargo-audit, semgrep.
    pub scanner: Option<String>,
    /// Scanner: the lowest severity that fails the gate: info, low (default), medium, high, critical.
    pub fail_on: Option<String>,
    /// Secrets: the baseline of accepted findings (default `.orchestrate/secrets-baseline.json`).
    /// Scanner: a file of accepted finding ids, one a line (`#` comments): only new findings
    /// fail. Both are read from the committed configuration's tree, never the snapshot's.
    pub baseline: Option<String>,
    /// Scanner: a scan that examined nothing passes (a library without dependencies).
    pub allow_empty: Option<bool>,
    /// Scanner: `warn` (default) or `fail` for what the scanner calls warnings (cargo-audit's
    /// unmaintained, unsound and yanked crates).
    pub warnings: Option<String>,
    /// Secrets: a gitleaks configuration to add (default `.gitleaks.toml`, when present).
    pub gitleaks: Option<String>,
    /// Audit: the kinds of finding that warn instead of blocking.
    pub warn: Option<Vec<String>>,
}

impl Gate {
    /// Secrets: the file its gitleaks configuration is read from (`gitleaks`, else
    /// `.gitleaks.toml`).
    pub fn gitleaks_file(&self) -> String {
        self.gitleaks.clone().unwrap_or_else(|| ".gitleaks.toml".into())
    }

    /// The gate's kind: `kind` when set; else the gate's name when that is a kind; else what its
    /// keys say (`scanner` → scanner, `report` with `min`/`min_changed` → coverage, `report`
    /// with `path` → metric); else `command`. A key only a measuring gate reads, on a gate that
    /// ends up a command gate, is refused (`Err((key, why))`): its threshold would never be
    /// enforced.
    pub fn kind_name<'a>(&'a self, name: &'a str) -> Result<&'a str, (&'static str, String)> {
        let kind = match self.kind.as_deref() {
            Some(kind) => kind,
            None if Kind::named(name).is_some() => name,
            None if self.scanner.is_some() => "scanner",
            None if self.report.is_some() && (self.min.is_some() || self.min_changed.is_some()) => "coverage",
            None if self.report.is_some() && self.path.is_some() => "metric",
            None => "command",
        };
        if kind == "command" {
            let measuring = [
                ("report", self.report.is_some()),
                ("min", self.min.is_some()),
                ("min_changed", self.min_changed.is_some()),
                ("max", self.max.is_some()),
                ("path", self.path.is_some()),
                ("fail_on", self.fail_on.is_some()),
                ("format", self.format.is_some()),
            ];
            if let Some((key, _)) = measuring.iter().find(|(_, set)| *set) {
                let how = if self.kind.is_some() {
                    "it is `kind = \"command\"`"
                } else {
                    "its kind cannot be told from its keys"
                };
                return Err((
                    key,
                    format!(
                        "gates.{name} sets `{key}`, but {how}: a command gate is judged by its exit code alone, so `{key}` would never be checked"
                    ),
                ));
            }
        }
        Ok(kind)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    PreCommit,
    PrePush,
    Review,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PreCommit => "pre-commit",
            Stage::PrePush => "pre-push",
            Stage::Review => "review",
        }
    }
}

impl Config {
    /// Parse the file's text. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Self, Error> {
        let config: Config = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let (line, col) = line_col(text, span.start);
            Error {
                file: file.into(),
                line,
                col,
                message: e.message().trim().replace('\n', " "),
                hint: Some("see the commented example that `git orchestrate init` writes".into()),
            }
        })?;
        config.check(file, text)?;
        Ok(config)
    }

    fn check(&self, file: &str, text: &str) -> Result<(), Error> {
        let place = |key: &str| {
            let at = text.find(&format!("{key} ")).or_else(|| text.find(key)).unwrap_or(0);
            line_col(text, at)
        };
        let fail = |key: &str, message: String, hint: &str| {
            let (line, col) = place(key);
            Err(Error { file: file.into(), line, col, message, hint: Some(hint.into()) })
        };
        let b = &self.branches;
        if !b.integration.contains("{feature}") {
            return fail(
                "integration",
                "branches.integration must contain {feature}".into(),
                "for example: integration = \"orchestrate/{feature}/main\"",
            );
        }
        if !b.phase.contains("{feature}") || !b.phase.contains("{phase}") {
            return fail(
                "phase",
                "branches.phase must contain {feature} and {phase}".into(),
                "for example: phase = \"orchestrate/{feature}/{phase}-{slug}\"",
            );
        }
        let integration = b.integration("sample-feature");
        let phase = b.phase("sample-feature", 1, "sample-phase");
        for (key, name) in [("integration", &integration), ("phase", &phase)] {
            if let Err(e) = crate::git::Repo::validate_branch_name(name) {
                return fail(
                    key,
                    format!("branches.{key} does not make a valid branch name: {e}"),
                    "use letters, digits, `-`, `_` and `/` only",
                );
            }
        }
        for (name, gate) in &self.gates {
            if let Err((key, message)) = gate.kind_name(name) {
                let (line, col) = place_in(text, name, key);
                return Err(Error {
                    file: file.into(),
                    line,
                    col,
                    message,
                    hint: Some(format!(
                        "set `kind` in [gates.{name}]: coverage (report + min), metric (report + path), scanner, tests or command ({})",
                        registry::names(|k| !k.only_named).collect::<Vec<_>>().join(", ")
                    )),
                });
            }
            let paths = [("report", &gate.report), ("baseline", &gate.baseline), ("gitleaks", &gate.gitleaks)];
            for kind in gate.warn.iter().flatten() {
                if !crate::gates::audit::KINDS.contains(&kind.as_str()) {
                    let (line, col) = place_in(text, name, "warn");
                    return Err(Error {
                        file: file.into(),
                        line,
                        col,
                        message: format!("gates.{name}.warn: unknown finding kind `{}`", kind.escape_debug()),
                        hint: Some(format!("the audit's finding kinds are {}", crate::gates::audit::KINDS.join(", "))),
                    });
                }
            }
            for value in &gate.seed {
                if let Err(why) = confined(value) {
                    let (line, col) = place_in(text, name, "seed");
                    return Err(Error {
                        file: file.into(),
                        line,
                        col,
                        message: format!("gates.{name}.seed has \"{}\", which {why}", value.escape_debug()),
                        hint: Some(
                            "name a directory of your work tree, relative to its root, e.g. seed = [\"target\"]".into(),
                        ),
                    });
                }
            }
            for (key, value) in paths {
                let Some(value) = value else { continue };
                if let Err(why) = confined(value) {
                    let (line, col) = place_in(text, name, key);
                    return Err(Error {
                        file: file.into(),
                        line,
                        col,
                        message: format!("gates.{name}.{key} = \"{}\" {why}", value.escape_debug()),
                        hint: Some(format!(
                            "name a file inside the repository, relative to its root, e.g. {key} = \"{}\"",
                            match key {
                                "report" => "coverage.json",
                                "baseline" => ".orchestrate/secrets-baseline.json",
                                _ => ".gitleaks.toml",
                            }
                        )),
                    });
                }
            }
        }
        if let Err(why) = confined(self.approvals.allowed_signers()) {
            let (line, col) = place("allowed_signers");
            return Err(Error {
                file: file.into(),
                line,
                col,
                message: format!("approvals.allowed_signers {why}"),
                hint: Some("name a file committed in the repository, e.g. \".orchestrate/allowed_signers\"".into()),
            });
        }
        if phase.starts_with(&format!("{integration}/"))
            || integration.starts_with(&format!("{phase}/"))
            || integration == phase
        {
            return fail("phase", format!("branch `{phase}` cannot live beside `{integration}`: git cannot store a ref inside another ref"), "make them siblings, e.g. integration = \"orchestrate/{feature}/main\", phase = \"orchestrate/{feature}/{phase}-{slug}\"");
        }
        Ok(())
    }

    /// The gates in effect: those configured (by name), then the built-in gates (`secrets`,
    /// `scope`, which need no tool) the configuration does not list; a gate with
    /// `enabled = false` is left out (see [`Config::disabled_gates`]).
    pub fn gates_in_effect(&self) -> Vec<(String, Gate)> {
        let mut out: Vec<(String, Gate)> =
            self.gates.iter().filter(|(_, g)| g.enabled != Some(false)).map(|(n, g)| (n.clone(), g.clone())).collect();
        for name in registry::names(|k| k.on_by_default) {
            if !self.gates.contains_key(name) {
                out.push((name.to_string(), Gate::default()));
            }
        }
        out
    }

    /// The gates switched off with `enabled = false`.
    pub fn disabled_gates(&self) -> Vec<String> {
        self.gates.iter().filter(|(_, g)| g.enabled == Some(false)).map(|(n, _)| n.clone()).collect()
    }

    /// Names of the gates in effect (configured or built in).
    pub fn gate_names(&self) -> Vec<String> {
        self.gates_in_effect().into_iter().map(|(name, _)| name).collect()
    }

    /// The coverage floor for a phase: the plan's override, else the configured gate.
    pub fn coverage_min(&self, phase_gates: &toml::Table) -> Option<f64> {
        phase_gates
            .get("coverage")
            .and_then(|g| g.get("min"))
            .and_then(|v| v.as_float().or_else(|| v.as_integer().and_then(|i| i32::try_from(i).ok()).map(f64::from)))
            .or_else(|| self.gates.get("coverage").and_then(|g| g.min))
    }
}

/// Why `path` (a file a configuration names) could leave the repository, if it could: every
/// such path is relative to the snapshot's root and stays below it.
pub fn confined(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("is empty");
    }
    if path.chars().any(char::is_control) {
        return Err("holds a control character");
    }
    if path.starts_with(['/', '~', '\\']) {
        return Err("is absolute: it would name a file outside the repository");
    }
    if path.split(['/', '\\']).any(|c| c == "..") {
        return Err("climbs out with `..`: it would name a file outside the repository");
    }
    if path.split('/').all(|c| c.is_empty() || c == ".") {
        return Err("names the repository itself, not a file in it");
    }
    if path.split('/').any(|c| c == ".git") {
        return Err("is inside `.git`");
    }
    Ok(())
}

/// Where `key` is set in the `[gates.<gate>]` table (its line and column), for errors.
fn place_in(text: &str, gate: &str, key: &str) -> (usize, usize) {
    let header = [format!("[gates.{gate}]"), format!("[gates.\"{gate}\"]")];
    let start = header.iter().find_map(|h| text.find(h.as_str())).unwrap_or(0);
    let rest = &text[start..];
    let at = rest
        .match_indices(key)
        .find(|(i, _)| {
            let line_start = rest[..*i].rfind('\n').map_or(0, |n| n + 1);
            rest[line_start..*i].trim().is_empty() && rest[*i + key.len()..].trim_start().starts_with('=')
        })
        .map_or(start, |(i, _)| start + i);
    line_col(text, at)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::Branches;

    #[test]
    fn the_patterns_name_the_feature_of_a_branch() {
        let default = Branches::default();
        assert_eq!(default.features_in("orchestrate/jwt-auth/main"), ["jwt-auth"]);
        assert_eq!(default.features_in("orchestrate/jwt-auth/2-backend"), ["jwt-auth"]);
        assert!(default.features_in("feature/other").is_empty());
        let custom = Branches { integration: "feat/{feature}".into(), phase: "feat/{feature}--p{phase}".into() };
        assert_eq!(custom.features_in("feat/login"), ["login"]);
        assert_eq!(custom.features_in("feat/login--p2"), ["login--p2", "login"]);
        let glued = Branches { integration: "{feature}{phase}".into(), phase: "x/{feature}".into() };
        assert!(glued.features_in("abc").is_empty(), "no telling where the name ends");
    }
}
