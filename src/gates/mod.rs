//! Gates: checks with a verdict, run by the tool itself on an exact snapshot (a tree), recorded
//! as evidence in git notes keyed by that tree. The same tree with the same gate configuration
//! is never gated twice. The gates decide and record; they never print.
//!
//! This file resolves a configuration's gates into [`Spec`]s and selects a stage's;
//! [`registry`] knows the kinds, `evidence` records and caches verdicts, `engine` runs the
//! gates, `report` reads what a command wrote, and each kind judges in its own file.

pub mod audit;
mod command;
pub mod coverage;
mod engine;
mod evidence;
pub mod metric;
pub mod registry;
mod report;
pub mod runner;
pub mod scanner;
mod scope;
mod secrets;
pub mod seed;
pub mod signing;
pub mod test_counts;
mod tests;

use std::fmt::Write as _;
use std::time::Duration;

use crate::config::{self, Stage};
use crate::git::{ObjectId, Repo};
pub use engine::{run, Outcome, Progress, Ran};
pub use evidence::{cached, evidence_for, evidence_in, Evidence, Verdict, EVIDENCE_REF};
pub use registry::{Kind, PLAN_TUNABLE};
pub(crate) use report::inside;
pub use scope::{in_scope, is_plan_document};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("gate `{gate}`: {message}")]
    Config { gate: String, message: String },
    #[error(transparent)]
    Git(#[from] crate::git::Error),
    #[error("the gate run was interrupted")]
    Interrupted,
    #[error("running gate `{gate}`: {message}")]
    Io { gate: String, message: String },
    #[error("the commands of .orchestrate.toml are not trusted by you yet")]
    Untrusted(crate::trust::Commands),
}

/// A gate resolved for one run: configuration with the phase's overrides applied.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub kind: Kind,
    pub config: config::Gate,
    pub stage: Stage,
    pub required: bool,
    pub timeout: Duration,
    /// Hash of everything that decides the verdict: a changed command or threshold misses.
    pub fingerprint: String,
}

impl Spec {
    /// Resolve `[gates.<name>]`, overlaid with a plan's `[phase.gates.<name>]` table.
    pub fn resolve(name: &str, base: &config::Gate, overrides: Option<&toml::Table>) -> Result<Self, Error> {
        let err = |message: String| Error::Config { gate: name.into(), message };
        let mut config = match overrides {
            None => base.clone(),
            Some(table) => {
                if let Some(key) = table.keys().find(|k| !PLAN_TUNABLE.contains(&k.as_str())) {
                    return Err(err(format!(
                        "the plan's override sets `{key}`: a plan may tune only {} (commands, environment and reports come from .orchestrate.toml)",
                        PLAN_TUNABLE.join(", ")
                    )));
                }
                let mut value = toml::Table::try_from(base).map_err(|e| err(e.to_string()))?;
                for (k, v) in table {
                    value.insert(k.clone(), v.clone());
                }
                value.try_into::<config::Gate>().map_err(|e| err(format!("the plan's override is invalid: {e}")))?
            }
        };
        if name == "audit"
            && (config.run.is_some()
                || config.scanner.is_some()
                || config.kind.as_deref().is_some_and(|k| k != "audit"))
        {
            return Err(err(
                "`audit` is the built-in audit gate (it takes `warn`, `required`, `stage`): give a command or scanner gate another name, e.g. [gates.deps]".into(),
            ));
        }
        let kind = match config.kind_name(name).map_err(|(_, why)| err(why))? {
            kind if Kind::from_name(kind).is_some_and(|k| k.entry().only_named && k.name() != name) => {
                return Err(err(format!("the {kind} gate is built in: configure it as [gates.{kind}]")));
            }
            kind => Kind::from_name(kind).ok_or_else(|| {
                err(format!(
                    "unknown kind `{kind}` (known: {})",
                    registry::names(|_| true).collect::<Vec<_>>().join(", ")
                ))
            })?,
        };
        // The kind's own keys: checked, and completed where the kind has defaults.
        match kind {
            Kind::Scanner => scanner::gate::configure(&mut config),
            Kind::Metric => metric::configure(&config),
            _ => Ok(()),
        }
        .map_err(err)?;
        if config.from.is_some() && kind != Kind::Tests {
            return Err(err("`from` is for a tests gate: it names the coverage gate whose run it reads".into()));
        }
        if !config.inputs.is_empty() && !kind.runs_command() {
            return Err(err("`inputs` is for gates that run a command: this one reads only what changed".into()));
        }
        if !config.seed.is_empty() && (!kind.runs_command() || config.from.is_some()) {
            return Err(err("`seed` is for gates that run a command: this one builds nothing".into()));
        }
        if let Some(bad) = config.seed.iter().find(|p| config::confined(p).is_err()) {
            return Err(err(format!("`seed` has \"{}\": name directories inside your work tree", bad.escape_debug())));
        }
        if let Some(bad) = config.inputs.iter().find(|g| config::confined(g).is_err()) {
            return Err(err(format!("`inputs` has \"{}\": name paths inside the repository", bad.escape_debug())));
        }
        if kind.runs_command() && config.from.is_none() && config.run.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(err("has no `run` command".into()));
        }
        if kind == Kind::Coverage && config.report.is_none() {
            return Err(err("a coverage gate needs `report`: the file its command writes".into()));
        }
        for (key, v) in [("min", config.min.filter(|_| kind == Kind::Coverage)), ("min_changed", config.min_changed)] {
            if v.is_some_and(|v| !(0.0..=100.0).contains(&v)) {
                return Err(err(format!("`{key}` must be a percentage from 0 to 100")));
            }
        }
        let stage = config.stage.unwrap_or(if kind.runs_command() { Stage::PrePush } else { Stage::PreCommit });
        let required = config.required.unwrap_or(true);
        let timeout = Duration::from_secs(config.timeout.unwrap_or(1800));
        let canonical = serde_json::to_string(&(kind, &config)).expect("gate config serializes");
        let fingerprint = crate::git::blob_id(canonical.as_bytes()).to_hex_with_len(16).to_string();
        Ok(Self { name: name.into(), kind, config, stage, required, timeout, fingerprint })
    }

    /// Bind the fingerprint to everything else the verdict depends on: the committed
    /// configuration (its blob id) for every gate, and for the verdicts that measure a change
    /// (secrets and scope, coverage of changed lines) the phase, its paths and the tree the
    /// change is measured against. Evidence for another context is another key.
    #[must_use]
    pub fn bound(mut self, key: &Key<'_>) -> Self {
        let measures_change =
            !self.kind.runs_command() || (self.kind == Kind::Coverage && self.config.min_changed.is_some());
        let mut text =
            format!("{}\nconfig {}", self.fingerprint, key.config_blob.map(|b| b.to_string()).unwrap_or_default());
        if measures_change {
            let _ = write!(
                text,
                "\nphase {:?}\nbase {}\nscope {:?}",
                key.phase,
                key.base.map(|b| b.to_string()).unwrap_or_default(),
                key.scope
            );
        }
        self.fingerprint = crate::git::blob_id(text.as_bytes()).to_hex_with_len(16).to_string();
        self
    }

    /// Bind a tests gate with `from` to its source gate's fingerprint: a changed coverage
    /// command is a changed verdict.
    pub fn bind_source(&mut self, source_fingerprint: &str) {
        let text = format!("{}\nfrom {source_fingerprint}", self.fingerprint);
        self.fingerprint = crate::git::blob_id(text.as_bytes()).to_hex_with_len(16).to_string();
    }

    pub fn applies_to(&self, phase: Option<u32>) -> bool {
        match (&self.config.phases, phase) {
            (Some(list), Some(p)) => list.contains(&p),
            (Some(_), None) | (None, _) => true,
        }
    }
}

/// What a verdict depends on besides the snapshot and the gate's own configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Key<'a> {
    /// The blob of the committed `.orchestrate.toml` that judges the snapshot.
    pub config_blob: Option<ObjectId>,
    pub phase: Option<u32>,
    /// The tree the change is measured against.
    pub base: Option<ObjectId>,
    /// The phase's paths.
    pub scope: Option<&'a [String]>,
}

/// Where and on what the gates run.
pub struct Context {
    pub stage: Stage,
    /// The snapshot being judged.
    pub tree: ObjectId,
    /// The tree the change is measured against (the phase's fork point, or HEAD for a commit).
    pub base: Option<ObjectId>,
    pub feature: Option<String>,
    pub phase: Option<u32>,
    /// The commit being judged, when it is one (its message is scanned for secrets).
    pub commit: Option<ObjectId>,
    /// The paths the phase may touch (from the plan), for the scope gate.
    pub scope: Option<Vec<String>>,
    /// The change from `base` to `tree`, worked out once for the built-in gates.
    pub diff: std::cell::OnceCell<Vec<crate::git::FileChange>>,
    /// Run even when evidence for this tree and configuration exists.
    pub force: bool,
    /// Run every gate; by default the gates that run a command stop after the first required
    /// gate that does not pass (the built-in gates, which take milliseconds, still run).
    pub all: bool,
    /// The configuration's commands, when this user has not trusted them: then no command runs.
    pub untrusted: Option<crate::trust::Commands>,
    /// The tree of the commit the judging configuration was read from (its gitleaks
    /// configuration and secrets baseline are read there too).
    pub config_tree: Option<ObjectId>,
    /// Under `approvals.require = "signed"`: evidence is signed when written, and counts only
    /// when it verifies.
    pub signing: Option<signing::Signing>,
}

/// The diff from the base to the snapshot, computed once per run.
fn diff_of<'c>(repo: &Repo, ctx: &'c Context) -> Result<&'c [crate::git::FileChange], Error> {
    if let Some(d) = ctx.diff.get() {
        return Ok(d);
    }
    let d = repo.diff_trees(ctx.base, ctx.tree)?;
    Ok(ctx.diff.get_or_init(|| d))
}

/// The gates of `stage` that apply to the key's phase, resolved with the plan's overrides and
/// bound to the key.
pub fn select(
    config: &config::Config,
    stage: Option<Stage>,
    only: &[String],
    key: &Key<'_>,
    overrides: Option<&toml::Table>,
) -> Result<Vec<Spec>, Error> {
    let phase = key.phase;
    let gates = config.gates_in_effect();
    for name in only {
        if config.disabled_gates().contains(name) {
            return Err(Error::Config {
                gate: name.clone(),
                message: "is switched off (`enabled = false` in .orchestrate.toml)".into(),
            });
        }
        if !gates.iter().any(|(n, _)| n == name) && name != "audit" {
            let known = gates.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
            return Err(Error::Config { gate: name.clone(), message: format!("is not configured (gates: {known})") });
        }
    }
    let mut out = Vec::new();
    for (name, gate) in &gates {
        if (!only.is_empty() && !only.contains(name)) || name == "audit" {
            continue;
        }
        let over = overrides.and_then(|o| o.get(name)).and_then(toml::Value::as_table);
        let spec = Spec::resolve(name, gate, over)?.bound(key);
        if (only.is_empty() && stage.is_some_and(|s| s != spec.stage)) || !spec.applies_to(phase) {
            continue;
        }
        out.push(spec);
    }
    // A tests gate that reads a coverage gate's run (`from`) needs that run first: the source
    // joins the selection before it, and its configuration is part of the reader's.
    let mut i = 0;
    while i < out.len() {
        if let Some(source) = out[i].config.from.clone() {
            let gate = out[i].name.clone();
            let err = |message: String| Error::Config { gate: gate.clone(), message };
            let mut at = if let Some(at) = out.iter().position(|s| s.name == source) {
                at
            } else {
                let (_, base) = gates
                    .iter()
                    .find(|(n, _)| *n == source)
                    .ok_or_else(|| err(format!("`from = \"{source}\"` names no gate in effect")))?;
                let over = overrides.and_then(|o| o.get(&source)).and_then(toml::Value::as_table);
                out.insert(i, Spec::resolve(&source, base, over)?.bound(key));
                i += 1;
                i - 1
            };
            if at > i {
                let moved = out.remove(at);
                out.insert(i, moved);
                at = i;
                i += 1;
            }
            if out[at].kind != Kind::Coverage {
                return Err(err(format!("`from = \"{source}\"` must name a coverage gate")));
            }
            let source_fingerprint = out[at].fingerprint.clone();
            out[i].bind_source(&source_fingerprint);
        }
        i += 1;
    }
    // The audit gate is built in: on a phase it runs even when not configured, at pre-commit
    // (it warns, so the commit can be made and reviewed) and at review (it blocks the approval).
    if phase.is_some() && (only.is_empty() || only.iter().any(|n| n == "audit")) {
        let configured = config.gates.get("audit").cloned().unwrap_or_default();
        for at in [Stage::PreCommit, Stage::Review] {
            if only.is_empty() && stage.is_some_and(|s| s != at) {
                continue;
            }
            let over = overrides.and_then(|o| o.get("audit")).and_then(toml::Value::as_table);
            let mut spec = Spec::resolve("audit", &configured, over)?;
            spec.config.stage = Some(at);
            let mut spec = Spec::resolve("audit", &spec.config, None)?.bound(key);
            spec.required = spec.required && at == Stage::Review;
            if spec.applies_to(phase) {
                out.push(spec);
            }
        }
    }
    Ok(out)
}
