//! Gates: checks with a verdict, run by the tool itself on an exact snapshot (a tree), recorded
//! as evidence in git notes keyed by that tree. The same tree with the same gate configuration
//! is never gated twice. This module decides and records; it never prints.

pub mod audit;
pub mod coverage;
pub mod metric;
pub mod registry;
pub mod runner;
pub mod scanner;
pub mod seed;
pub mod signing;
pub mod test_counts;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{self, Stage};
use crate::git::{ObjectId, Repo};
pub use registry::{Kind, PLAN_TUNABLE};

/// The notes ref that holds gate evidence, one note per tree.
pub const EVIDENCE_REF: &str = "refs/notes/orchestrate-evidence";

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// The gate could not judge (timeout, broken report, bad configuration). Never cached.
    Error,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
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
        if kind == Kind::Scanner {
            let scanner = config
                .scanner
                .clone()
                .ok_or_else(|| err(format!("a scanner gate needs `scanner` ({})", scanner::SCANNERS.join(", "))))?;
            if !scanner::SCANNERS.contains(&scanner.as_str()) {
                return Err(err(format!("unknown scanner `{scanner}` (known: {})", scanner::SCANNERS.join(", "))));
            }
            let report = config.report.get_or_insert_with(|| format!(".orchestrate-{scanner}.json")).clone();
            if config.run.is_none() {
                config.run = scanner::default_command(&scanner, &report);
            }
            if let Some(level) = config.fail_on.as_deref() {
                if scanner::Severity::parse(level).is_none() {
                    return Err(err(format!("`fail_on = \"{level}\"`: use info, low, medium, high or critical")));
                }
            }
            if let Some(w) = config.warnings.as_deref().filter(|w| !matches!(*w, "warn" | "fail")) {
                return Err(err(format!("`warnings = \"{w}\"`: use warn or fail")));
            }
        }
        if kind == Kind::Metric {
            if config.report.is_none() || config.path.is_none() {
                return Err(err(
                    "a metric gate needs `report` (a JSON file its command writes) and `path` (where the number is)"
                        .into(),
                ));
            }
            if config.min.is_none() && config.max.is_none() {
                return Err(err("a metric gate needs `min`, `max`, or both".into()));
            }
        }
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

/// What a gate run found: the evidence recorded in notes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evidence {
    pub gate: String,
    pub kind: Kind,
    pub tree: String,
    pub fingerprint: String,
    pub verdict: Verdict,
    /// The key figure, for tables: "42 passed", "87.5 % (min 80)".
    pub summary: String,
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default)]
    pub figures: BTreeMap<String, serde_json::Value>,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub stage: Stage,
    pub ts: String,
    pub by: String,
    pub feature: Option<String>,
    pub phase: Option<u32>,
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
    #[serde(default)]
    pub output_tail: String,
    /// The inputs key (see [`inputs_key`]) when the gate declares `inputs`: the evidence holds
    /// for every snapshot whose inputs are the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<String>,
    /// The ssh signature of [`Evidence::signed_payload`], under `approvals.require = "signed"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Evidence {
    /// A passing record for `spec` on the context's snapshot, with nothing measured yet.
    fn begin(spec: &Spec, ctx: &Context, by: &str) -> Self {
        Evidence {
            gate: spec.name.clone(),
            kind: spec.kind,
            tree: ctx.tree.to_string(),
            fingerprint: spec.fingerprint.clone(),
            verdict: Verdict::Pass,
            summary: String::new(),
            reasons: Vec::new(),
            figures: BTreeMap::new(),
            command: None,
            exit_code: None,
            duration_ms: 0,
            stage: ctx.stage,
            ts: {
                let now = crate::env::now();
                now.round(jiff::Unit::Millisecond).unwrap_or(now).to_string()
            },
            by: by.to_string(),
            feature: ctx.feature.clone(),
            phase: ctx.phase,
            tools: BTreeMap::from([("git-orchestrate".to_string(), env!("CARGO_PKG_VERSION").to_string())]),
            output_tail: String::new(),
            inputs: None,
            sig: None,
        }
    }

    /// What a signature covers: the record's line without its signature.
    pub fn signed_payload(&self) -> String {
        let unsigned = Evidence { sig: None, ..self.clone() };
        serde_json::to_string(&unsigned).expect("evidence serializes")
    }

    /// The record as a line of its tree's note.
    fn line(&self) -> String {
        serde_json::to_string(self).expect("evidence serializes") + "\n"
    }
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

pub struct Outcome {
    pub evidence: Evidence,
    pub cached: bool,
    pub required: bool,
}

/// Earlier evidence for this gate, tree and configuration, if it reached a verdict: among a
/// tree's `records` (from [`evidence_for`]), the newest that reached a verdict for this gate and
/// configuration and counts under `signing`.
pub fn cached<'e>(
    records: &'e [Evidence],
    spec: &Spec,
    signing: Option<&signing::Signing>,
) -> Result<Option<&'e Evidence>, Error> {
    let candidates = records
        .iter()
        .rev()
        .filter(|e| e.gate == spec.name && e.fingerprint == spec.fingerprint && e.verdict != Verdict::Error);
    for e in candidates {
        if signing::admits(signing, e)? {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// Every evidence record for a tree.
pub fn evidence_for(repo: &Repo, tree: ObjectId) -> Result<Vec<Evidence>, Error> {
    match repo.notes_tree(EVIDENCE_REF)? {
        Some(notes) => evidence_in(&notes, tree),
        None => Ok(Vec::new()),
    }
}

/// Every evidence record for a tree, from the evidence notes read once (for `status`).
pub fn evidence_in(notes: &crate::git::notes::NotesTree, tree: ObjectId) -> Result<Vec<Evidence>, Error> {
    let Some(note) = notes.get(tree)? else { return Ok(Vec::new()) };
    let key = tree.to_string();
    // A record copied from another tree's note is not evidence for this one. Under an inputs
    // key (a blob listing the inputs, see [`inputs_key`]) the record names that key.
    Ok(String::from_utf8_lossy(&note)
        .lines()
        .filter_map(|l| serde_json::from_str::<Evidence>(l).ok())
        .filter(|e| e.tree == key || e.inputs.as_deref() == Some(key.as_str()))
        .collect())
}

/// The key evidence of a gate with `inputs` is kept under: a blob (written, so the key names a
/// real object) listing the gate's fingerprint and each file of the snapshot the globs match,
/// with its blob id. A change outside the inputs keeps the key: the gate does not run again.
fn inputs_key(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    files: &std::cell::OnceCell<Vec<(String, ObjectId)>>,
) -> Result<Option<ObjectId>, Error> {
    if spec.config.inputs.is_empty() || !spec.kind.runs_command() {
        return Ok(None);
    }
    let files = if let Some(f) = files.get() {
        f
    } else {
        let listed = repo.tree_blobs(ctx.tree)?;
        files.get_or_init(|| listed)
    };
    let mut text = format!("git-orchestrate gate inputs\nfingerprint {}\n", spec.fingerprint);
    for (path, id) in files.iter().filter(|(p, _)| in_scope(p, &spec.config.inputs)) {
        let _ = writeln!(text, "{id} {path}");
    }
    Ok(Some(repo.write_blob(text.as_bytes())?))
}

/// The verdict of a tests gate with `from = "<coverage gate>"`: that gate's run (in `source`)
/// read for its test counts, as if the tests gate had run the suite itself.
fn tests_from(spec: &Spec, source: &Evidence, ctx: &Context, by: &str) -> Evidence {
    let mut e = Evidence::begin(spec, ctx, by);
    e.command.clone_from(&source.command);
    e.exit_code = source.exit_code;
    e.output_tail.clone_from(&source.output_tail);
    e.figures.insert("from".into(), source.gate.clone().into());
    let Some(code) = source.exit_code else {
        e.verdict = Verdict::Error;
        e.summary = format!("{} did not finish", source.gate);
        e.reasons.push(format!("the run of `{}` reached no exit code: {}", source.gate, source.summary));
        return e;
    };
    let finished = runner::Finished {
        ending: runner::Ending::Exited(code),
        started: std::time::SystemTime::now(),
        duration: Duration::ZERO,
        tail: source.output_tail.clone(),
        counts: test_counts::parse(&source.output_tail),
    };
    judge_tests(spec, &finished, code, &mut e);
    e
}

/// Holds the gate worktree for one run: an exclusive `flock` on
/// `<common dir>/orchestrate/worktree.lock`, which the kernel drops when its holder dies (a
/// killed run leaves nothing to take over). The file says who holds it (`pid`) and which process
/// group runs a gate command now (`pgid`), so that the next holder can end a group a killed run
/// left running.
struct WorktreeLock {
    file: std::fs::File,
}

impl WorktreeLock {
    /// Take the lock, waiting for another run that holds it (`waiting` is told once, with the
    /// holder's pid). Ctrl-C while waiting stops the wait.
    fn take(repo: &Repo, waiting: &mut dyn FnMut(u32)) -> Result<Self, Error> {
        let io = |e: std::io::Error| Error::Io { gate: "-".into(), message: e.to_string() };
        let path = repo.common_dir().join("orchestrate").join("worktree.lock");
        std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(io)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io(std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))))?;
        let interrupted = runner::interrupted();
        let mut told = false;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => break,
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                    if !told {
                        waiting(Self::read(&file).0.unwrap_or(0));
                        told = true;
                    }
                    if interrupted.load(std::sync::atomic::Ordering::Relaxed) {
                        return Err(Error::Interrupted);
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(io(e.into())),
            }
        }
        Ok(Self { file })
    }

    /// The holder's pid and the process group it runs, as the file says.
    fn read(mut file: &std::fs::File) -> (Option<u32>, Option<u32>) {
        use std::io::{Read as _, Seek as _};
        let mut text = String::new();
        let _ = file.rewind().and_then(|()| file.read_to_string(&mut text));
        let field = |name: &str| {
            text.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).filter(|&v| v != 0)
        };
        (field("pid "), field("pgid "))
    }

    /// Say that this process holds the lock, running the process group `pgid` if any.
    fn record(&self, pgid: Option<u32>) {
        use std::io::{Seek as _, Write as _};
        let mut text = format!("pid {}\n", std::process::id());
        if let Some(pgid) = pgid {
            let _ = writeln!(text, "pgid {pgid}");
        }
        let mut file = &self.file;
        let _ = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| file.write_all(text.as_bytes()));
    }

    /// The process group a previous holder recorded as running.
    fn recorded_group(&self) -> Option<u32> {
        Self::read(&self.file).1
    }
}

impl Drop for WorktreeLock {
    fn drop(&mut self) {
        // No group runs any more; the lock itself goes with the file descriptor.
        self.record(None);
    }
}

/// What a gate run tells its caller while it works.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// `gate` has run for `elapsed` (about every 100 ms).
    Running { gate: &'a str, elapsed: Duration },
    /// Another gate run (pid `holder`, 0 if unknown) holds the gate worktree: this one waits.
    Waiting { holder: u32 },
    /// A gate's `seed` directory is being copied from the work tree.
    Seeding { path: &'a str },
}

/// What a gate run did: each gate's outcome, and what became of the `seed` directories of the
/// gates that ran a command.
pub struct Ran {
    pub outcomes: Vec<Outcome>,
    pub seeds: Vec<seed::Seed>,
}

/// The names the snapshot's own cargo packages build under (from its `Cargo.toml` files of up
/// to 1 MiB): never taken from a seed.
fn own_cargo_names(
    repo: &Repo,
    ctx: &Context,
    files: &std::cell::OnceCell<Vec<(String, ObjectId)>>,
) -> Result<std::collections::HashSet<String>, Error> {
    let files = if let Some(f) = files.get() {
        f
    } else {
        let listed = repo.tree_blobs(ctx.tree)?;
        files.get_or_init(|| listed)
    };
    let mut manifests = Vec::new();
    for (path, id) in files {
        if path.rsplit('/').next() == Some("Cargo.toml") {
            let text = repo.read_blob(*id)?;
            if text.len() <= 1 << 20 {
                manifests.push(text);
            }
        }
    }
    Ok(seed::cargo_names(manifests.iter().map(Vec::as_slice)))
}

/// Run `specs` on the snapshot. `progress` is told which gate runs and for how long.
pub fn run(repo: &Repo, specs: &[Spec], ctx: &Context, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Ran, Error> {
    let by = repo.identity().map(|i| i.to_string()).unwrap_or_default();
    let mut outcomes = Vec::new();
    let mut seeds: Vec<seed::Seed> = Vec::new();
    let mut own_names = None;
    let mut worktree: Option<(WorktreeLock, PathBuf, PathBuf)> = None;
    let mut pending: Vec<Evidence> = Vec::new();
    let signing = ctx.signing.as_ref();
    let records = if ctx.force { Vec::new() } else { evidence_for(repo, ctx.tree)? };
    let files = std::cell::OnceCell::new();
    let mut stopped = false;
    for spec in specs {
        let builtin = !spec.kind.runs_command();
        if stopped && !builtin {
            continue;
        }
        let key = inputs_key(repo, spec, ctx, &files)?;
        // The review audit reads other gates' evidence, which may have changed since: never cached.
        if !(ctx.force || spec.kind == Kind::Audit && spec.stage == Stage::Review) {
            if let Some(evidence) = cached(&records, spec, signing)? {
                stopped |= spec.required && evidence.verdict != Verdict::Pass && !ctx.all;
                outcomes.push(Outcome { evidence: evidence.clone(), cached: true, required: spec.required });
                continue;
            }
            // The same inputs judged in another snapshot: the verdict holds here too, and is
            // recorded for this tree (where `status` and pre-push look for it).
            if let Some(key) = key {
                if let Some(found) = cached(&evidence_for(repo, key)?, spec, signing)? {
                    let mut evidence = found.clone();
                    evidence.tree = ctx.tree.to_string();
                    evidence.sig = None;
                    pending.push(evidence.clone());
                    stopped |= spec.required && evidence.verdict != Verdict::Pass && !ctx.all;
                    outcomes.push(Outcome { evidence, cached: true, required: spec.required });
                    continue;
                }
            }
        }
        if builtin {
            let evidence = match spec.kind {
                Kind::Secrets => secrets_gate(repo, spec, ctx, &by)?,
                Kind::Scope => scope_gate(repo, spec, ctx, &by)?,
                _ => audit::gate(repo, spec, ctx, &by)?,
            };
            // Built-in gates take milliseconds: their evidence is written together below.
            pending.push(evidence.clone());
            outcomes.push(Outcome { evidence, cached: false, required: spec.required });
            continue;
        }
        if let Some(source) = spec.config.from.as_deref() {
            // `select` put the source gate before this one.
            let Some(from) = outcomes.iter().find(|o| o.evidence.gate == source) else {
                return Err(Error::Config {
                    gate: spec.name.clone(),
                    message: format!("`from = \"{source}\"` did not run"),
                });
            };
            let mut evidence = tests_from(spec, &from.evidence, ctx, &by);
            evidence.inputs = key.map(|k| k.to_string());
            if evidence.verdict != Verdict::Error {
                if let Some(s) = signing {
                    s.sign(repo, std::slice::from_mut(&mut evidence))?;
                }
                pending.push(evidence.clone());
                if let Some(key) = key {
                    let message = format!("orchestrate: gate {} inputs", spec.name);
                    repo.append_note(EVIDENCE_REF, key, &evidence.line(), &message)?;
                }
            }
            stopped |= spec.required && evidence.verdict != Verdict::Pass && !ctx.all;
            outcomes.push(Outcome { evidence, cached: false, required: spec.required });
            continue;
        }
        if worktree.is_none() {
            if let Some(commands) = &ctx.untrusted {
                return Err(Error::Untrusted(commands.clone()));
            }
            let lock = WorktreeLock::take(repo, &mut |holder| progress(Progress::Waiting { holder }))?;
            let path = repo.gate_worktree_path()?;
            // A run killed while its command ran may have left the command's group running
            // in the gate worktree: end it before the worktree is reset under it.
            if let Some(pgid) = lock.recorded_group() {
                runner::end_leftover_group(pgid, &path);
            }
            lock.record(None);
            let path = repo.gate_worktree(ctx.tree, ctx.commit)?;
            worktree = Some((lock, path, repo.gate_target_path()?));
        }
        let (lock, dir, target) = worktree.as_ref().expect("prepared above");
        for path in &spec.config.seed {
            if seeds.iter().any(|s| s.path == *path) {
                continue;
            }
            if own_names.is_none() {
                own_names = Some(own_cargo_names(repo, ctx, &files)?);
            }
            let own = own_names.as_ref().expect("just set");
            progress(Progress::Seeding { path });
            let places = seed::Places { work: repo.workdir(), worktree: dir, cargo_target: target, own };
            seeds.push(seed::seed(&spec.name, path, &places));
        }
        let mut evidence = run_one(repo, spec, ctx, dir, target, &by, &|pgid| lock.record(Some(pgid)), progress)?;
        evidence.inputs = key.map(|k| k.to_string());
        if let Some(s) = signing {
            s.sign(repo, std::slice::from_mut(&mut evidence))?;
        }
        let line = evidence.line();
        let message = format!("orchestrate: gate {} {}", spec.name, evidence.verdict.as_str());
        repo.append_note(EVIDENCE_REF, ctx.tree, &line, &message)?;
        if let (Some(key), true) = (key, evidence.verdict != Verdict::Error) {
            repo.append_note(EVIDENCE_REF, key, &line, &message)?;
        }
        stopped |= spec.required && evidence.verdict != Verdict::Pass && !ctx.all;
        outcomes.push(Outcome { evidence, cached: false, required: spec.required });
    }
    if !pending.is_empty() {
        // Signed together, with one run of ssh-keygen.
        if let Some(s) = signing {
            s.sign(repo, &mut pending)?;
        }
        let text: String = pending.iter().map(Evidence::line).collect();
        repo.append_note(EVIDENCE_REF, ctx.tree, &text, "orchestrate: gates")?;
    }
    Ok(Ran { outcomes, seeds })
}

#[allow(clippy::too_many_arguments)]
fn run_one(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    dir: &Path,
    target: &Path,
    by: &str,
    started: &dyn Fn(u32),
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Evidence, Error> {
    let script = spec.config.run.clone().unwrap_or_default();
    // Cargo builds in the gate's own target directory, whatever the user's environment or
    // cargo configuration says (`CARGO_TARGET_DIR`, `build.target-dir`, `build.build-dir`):
    // a gate never writes into, nor builds on, the user's artifacts. The gate's `env` may
    // name another.
    let target = target.to_str().ok_or_else(|| Error::Io {
        gate: spec.name.clone(),
        message: format!("the gate's cargo target directory is not UTF-8: {}", target.display()),
    })?;
    let mut env: Vec<(String, String)> =
        vec![("CARGO_TARGET_DIR".into(), target.into()), ("CARGO_BUILD_BUILD_DIR".into(), target.into())];
    env.extend(spec.config.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.push(("ORCHESTRATE_GATE".into(), spec.name.clone()));
    env.push(("ORCHESTRATE_STAGE".into(), ctx.stage.as_str().into()));
    env.push(("ORCHESTRATE_TREE".into(), ctx.tree.to_string()));
    if let Some(f) = &ctx.feature {
        env.push(("ORCHESTRATE_FEATURE".into(), f.clone()));
    }
    if let Some(p) = ctx.phase {
        env.push(("ORCHESTRATE_PHASE".into(), p.to_string()));
    }
    // A report left in the gate worktree (or committed in the snapshot) must not pass for this
    // run's: remove it first, so whatever is there afterwards was written now.
    let report_was_there = match spec.config.report.as_deref() {
        Some(report) => match remove_report(dir, report) {
            Ok(was_there) => was_there,
            Err(why) => {
                let mut e = Evidence::begin(spec, ctx, by);
                e.verdict = Verdict::Error;
                e.summary = "report path refused".into();
                e.reasons.push(format!("`report = \"{}\"` {why}; nothing was run", report.escape_debug()));
                return Ok(e);
            }
        },
        None => false,
    };
    let job = runner::Job {
        script: &script,
        dir,
        env,
        timeout: spec.timeout,
        started: Some(started),
        count_tests: matches!(spec.kind, Kind::Tests | Kind::Coverage),
    };
    let finished = runner::run(&job, &mut |elapsed| progress(Progress::Running { gate: &spec.name, elapsed }))
        .map_err(|e| Error::Io { gate: spec.name.clone(), message: e.to_string() })?;
    let exit_code = match finished.ending {
        runner::Ending::Interrupted => return Err(Error::Interrupted),
        runner::Ending::Exited(code) => Some(code),
        runner::Ending::Signalled | runner::Ending::TimedOut => None,
    };
    let mut e = Evidence::begin(spec, ctx, by);
    e.command = Some(script.clone());
    e.exit_code = exit_code;
    e.duration_ms = u64::try_from(finished.duration.as_millis()).unwrap_or(u64::MAX);
    e.output_tail = crate::secrets::builtin().map_or_else(|| finished.tail.clone(), |s| s.redact_text(&finished.tail));
    match finished.ending {
        runner::Ending::TimedOut => {
            e.verdict = Verdict::Error;
            e.summary = format!("timed out after {}s", spec.timeout.as_secs());
            e.reasons.push(format!("the command ran longer than timeout = {}s and was killed", spec.timeout.as_secs()));
            return Ok(e);
        }
        runner::Ending::Signalled => {
            // Something outside the gate ended it (the OOM killer, a kill): no verdict on the code.
            e.verdict = Verdict::Error;
            e.summary = "killed by a signal".into();
            e.reasons.push("the command was killed by a signal: it did not reach a verdict".into());
            return Ok(e);
        }
        // The shell's own codes for a command it could not find or run: the environment failed,
        // not the code under test. Never cached, so the gate runs again once the tool is there.
        runner::Ending::Exited(code @ (126 | 127)) => {
            e.verdict = Verdict::Error;
            e.summary = if code == 127 { "command not found" } else { "command not executable" }.into();
            let said = e.output_tail.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
            e.reasons.push(format!(
                "`{script}` exited with {code}: {}{}",
                if code == 127 {
                    "a command it runs is not installed or not on PATH"
                } else {
                    "a command it runs cannot be executed"
                },
                if said.is_empty() { String::new() } else { format!(" ({said})") }
            ));
            return Ok(e);
        }
        runner::Ending::Exited(_) | runner::Ending::Interrupted => {}
    }
    let code = exit_code.unwrap_or(-1);
    match spec.kind {
        Kind::Command => {
            e.summary = format!("exit {code}");
            if code != 0 {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!("`{script}` exited with {code}"));
            }
        }
        Kind::Tests => judge_tests(spec, &finished, code, &mut e),
        Kind::Coverage => {
            coverage::judge(repo, spec, ctx, dir, &finished, code, report_was_there, &mut e)?;
            // The test counts of the run, so a tests gate can take its verdict from it (`from`).
            if let Some((runner, counts)) = finished.counts.or_else(|| test_counts::parse(&finished.tail)) {
                e.figures.insert(
                    "tests".into(),
                    serde_json::json!({
                        "runner": runner, "passed": counts.passed, "failed": counts.failed, "skipped": counts.skipped,
                    }),
                );
            }
        }
        Kind::Secrets | Kind::Scope | Kind::Audit => unreachable!("built-in gates run no command"),
        Kind::Metric | Kind::Scanner => match fresh_report(repo, spec, ctx, dir, &finished, report_was_there)? {
            Err((summary, reason)) => {
                e.verdict = Verdict::Error;
                e.summary = summary.into();
                e.reasons.push(reason);
            }
            Ok(bytes) if spec.kind == Kind::Metric => judge_metric(spec, code, &bytes, &mut e),
            Ok(bytes) => judge_scanner(spec, &bytes, &scanner_baseline(repo, spec, ctx)?, &mut e),
        },
    }
    Ok(e)
}

/// The secrets gate: scan what the snapshot adds over its base (added lines only), with the
/// gitleaks configuration and baseline as they are in the snapshot itself.
fn secrets_gate(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
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
    let gitleaks_path = cfg.gitleaks.clone().unwrap_or_else(|| ".gitleaks.toml".into());
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

/// The diff from the base to the snapshot, computed once per run.
fn diff_of<'c>(repo: &Repo, ctx: &'c Context) -> Result<&'c [crate::git::FileChange], Error> {
    if let Some(d) = ctx.diff.get() {
        return Ok(d);
    }
    let d = repo.diff_trees(ctx.base, ctx.tree)?;
    Ok(ctx.diff.get_or_init(|| d))
}

/// Whether `path` is one of the feature's own documents: a Markdown file directly in
/// `plans/<feature>/` (the plan, the phase reports). Nothing else there is exempt from scope or
/// from the integration branch's rule: code, scripts and links are not documents.
pub fn is_plan_document(feature: &str, path: &str) -> bool {
    path.strip_prefix("plans/")
        .and_then(|rest| rest.strip_prefix(feature))
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|name| name.strip_suffix(".md"))
        .is_some_and(|stem| !stem.contains('/') && !stem.is_empty())
}

/// Whether `path` is inside one of the phase's path patterns (`*` stays within a directory,
/// `**` crosses them; a plain path covers the directory below it).
pub fn in_scope(path: &str, patterns: &[String]) -> bool {
    use gix::bstr::ByteSlice;
    let mode = gix::glob::wildmatch::Mode::NO_MATCH_SLASH_LITERAL;
    patterns.iter().any(|p| {
        let p = p.trim_end_matches('/');
        gix::glob::wildmatch(p.as_bytes().as_bstr(), path.as_bytes().as_bstr(), mode)
            || (!p.contains(['*', '?', '[']) && path.starts_with(&format!("{p}/")))
    })
}

/// The scope gate: on a phase, every file the change touches is one the plan lists for it (the
/// feature's own `plans/<feature>/` is always in scope).
fn scope_gate(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
    let start = std::time::Instant::now();
    let mut e = Evidence::begin(spec, ctx, by);
    match (&ctx.scope, ctx.base) {
        (None, _) => e.summary = "not on a phase".into(),
        (Some(paths), _) if paths.is_empty() => {
            e.summary = "the plan lists no paths".into();
            e.reasons.push("note: list the phase's `paths` in the plan so its scope can be checked".into());
        }
        (Some(_), None) => e.summary = "nothing to compare with".into(),
        (Some(paths), Some(_)) => {
            let changed: Vec<&String> = diff_of(repo, ctx)?.iter().map(|c| &c.path).collect();
            let outside: Vec<&String> = changed
                .iter()
                .copied()
                .filter(|f| {
                    !ctx.feature.as_deref().is_some_and(|name| is_plan_document(name, f)) && !in_scope(f, paths)
                })
                .collect();
            e.figures.insert("files".into(), changed.len().into());
            e.summary = format!("{} of {} files outside", outside.len(), changed.len());
            if !outside.is_empty() {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!(
                    "outside the phase's paths ({}): {}",
                    paths.join(", "),
                    outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ));
                e.figures.insert("outside".into(), outside.iter().map(|s| s.as_str()).collect::<Vec<_>>().into());
            }
        }
    }
    e.duration_ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(e)
}

#[derive(Deserialize)]
struct Baseline {
    fingerprints: Vec<String>,
}

/// A report path inside the gate worktree, or why it is refused: it must stay below `dir`
/// and may not pass through a symlink (which could point anywhere).
pub(crate) fn inside(dir: &Path, name: &str) -> Result<PathBuf, String> {
    config::confined(name).map_err(str::to_string)?;
    let mut path = dir.to_path_buf();
    for part in Path::new(name).components() {
        match part {
            std::path::Component::Normal(p) => path.push(p),
            std::path::Component::CurDir => {}
            _ => return Err("leaves the gate worktree".into()),
        }
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err("passes through a symlink, which could point outside the repository".into());
        }
    }
    Ok(path)
}

/// Remove a report an earlier run (or the snapshot) left in the gate worktree, so whatever is
/// there after the run was written by it. Only a regular file inside the worktree is removed.
fn remove_report(dir: &Path, name: &str) -> Result<bool, String> {
    let path = inside(dir, name)?;
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(std::fs::remove_file(&path).is_ok()),
        Ok(_) => Err("is not a regular file".into()),
        Err(_) => Ok(false),
    }
}

/// Where the last report a gate accepted is remembered (its blob id and the tree it was for):
/// `<common dir>/orchestrate/reports/<gate>`, hashed so any gate name is a file name.
fn last_report_path(repo: &Repo, gate: &str) -> PathBuf {
    let key = crate::git::blob_id(gate.as_bytes()).to_hex_with_len(16).to_string();
    repo.common_dir().join("orchestrate").join("reports").join(key)
}

/// Whether a report carries the time it was made (coverage.py's `meta.timestamp`, Cobertura's
/// `timestamp`, `JaCoCo`'s `<sessioninfo>`, bandit's `generated_at`): two runs never write the
/// same bytes, so an identical one is a copy. Reports without one (lcov, llvm-cov, Go) can
/// legitimately come out byte for byte the same from two trees that differ elsewhere.
fn carries_run_time(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    [&b"\"timestamp\""[..], b"timestamp=\"", b"<sessioninfo", b"\"generated_at\""]
        .iter()
        .any(|needle| memchr::memmem::find(head, needle).is_some())
}

/// A fresh report's content is this run's: not a copy of a file committed in the snapshot
/// (`cp old.json coverage.json`), and, when it carries its run's time, not the report this gate
/// accepted for another tree. The same tree run again (`--force`) may give the same report.
/// Accepted reports are remembered for the next run.
fn not_copied(repo: &Repo, spec: &Spec, ctx: &Context, name: &str, bytes: &[u8]) -> Result<Result<(), String>, Error> {
    // Whitespace alone says nothing of where it came from (an empty `__init__.py` is not the
    // source of an empty report); its parser judges it.
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Ok(()));
    }
    let blob = crate::git::blob_id(bytes);
    let copies: Vec<String> = repo.paths_of_blob(ctx.tree, blob)?.into_iter().filter(|p| p != name).collect();
    if let Some(copy) = copies.first() {
        return Ok(Err(format!(
            "stale report: `{name}` was not written by this run: it is byte for byte `{copy}`, committed in the snapshot"
        )));
    }
    let memo = last_report_path(repo, &spec.name);
    let tree = ctx.tree.to_string();
    if let Ok(text) = std::fs::read_to_string(&memo) {
        let mut it = text.split_whitespace();
        if let (Some(last_blob), Some(last_tree)) = (it.next(), it.next()) {
            if last_blob.parse::<ObjectId>().is_ok_and(|b| b == blob) && last_tree != tree && carries_run_time(bytes) {
                return Ok(Err(format!(
                    "stale report: `{name}` was not written by this run: it is byte for byte the report of the run on tree {}, time stamp included",
                    &last_tree[..last_tree.len().min(12)]
                )));
            }
        }
    }
    if let Some(parent) = memo.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let _ = std::fs::write(&memo, format!("{blob} {tree}\n"));
    Ok(Ok(()))
}

/// The report a gate's command wrote during this run. The report was removed from the gate
/// worktree before the run, so one that exists now is fresh; a copy that kept an old time
/// (`cp -p`) is still caught (file times are coarse, hence the margin), and so is a copy of a
/// committed file or of an earlier run's report ([`not_copied`]).
fn fresh_report(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    dir: &Path,
    finished: &runner::Finished,
    was_there: bool,
) -> Result<Result<Vec<u8>, (&'static str, String)>, Error> {
    let name = spec.config.report.as_deref().unwrap_or_default();
    let bytes = match read_report(dir, name, finished, was_there) {
        Ok(bytes) => bytes,
        Err(refused) => return Ok(Err(refused)),
    };
    Ok(match not_copied(repo, spec, ctx, name, &bytes)? {
        Ok(()) => Ok(bytes),
        Err(why) => Err(("stale report", why)),
    })
}

fn read_report(
    dir: &Path,
    name: &str,
    finished: &runner::Finished,
    was_there: bool,
) -> Result<Vec<u8>, (&'static str, String)> {
    let path = inside(dir, name).map_err(|why| ("report path refused", format!("`{name}` {why}")))?;
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return Err(if was_there {
            (
                "stale report",
                format!("stale report: `{name}` was not written by this run (an older copy was there before it)"),
            )
        } else {
            ("no report", format!("`{name}` does not exist after the run: does `run` write it there?"))
        });
    };
    if !meta.is_file() {
        return Err(("report path refused", format!("`{name}` is not a regular file (a symlink or a directory)")));
    }
    if meta.modified().is_ok_and(|m| m + Duration::from_secs(2) < finished.started) {
        return Err((
            "stale report",
            format!("stale report: `{name}` was not written by this run (it is older than the run's start)"),
        ));
    }
    std::fs::read(&path).map_err(|e| ("unreadable report", format!("cannot read `{name}`: {e}")))
}

fn judge_metric(spec: &Spec, code: i32, bytes: &[u8], e: &mut Evidence) {
    let cfg = &spec.config;
    let path = cfg.path.as_deref().unwrap_or_default();
    match metric::read(bytes, path, cfg.scale.unwrap_or(1.0)) {
        Err(reason) => {
            e.verdict = Verdict::Error;
            e.summary = "unreadable metric".into();
            e.reasons.push(format!("{}: {reason}", cfg.report.as_deref().unwrap_or_default()));
        }
        Ok(value) => {
            e.figures.insert("value".into(), serde_json::json!(value));
            let bounds: Vec<String> = [cfg.min.map(|m| format!("min {m}")), cfg.max.map(|m| format!("max {m}"))]
                .into_iter()
                .flatten()
                .collect();
            e.summary = format!("{path} = {value} ({})", bounds.join(", "));
            if cfg.min.is_some_and(|m| value < m) || cfg.max.is_some_and(|m| value > m) {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!("{path} is {value}, outside {}", bounds.join(" and ")));
            } else if code != 0 {
                e.verdict = Verdict::Fail;
                e.reasons.push(format!("the command exited with {code}"));
            }
        }
    }
}

/// A scanner gate's accepted findings: the ids in its `baseline` file, read from the tree of
/// the committed configuration (a change cannot accept its own findings). One id a line
/// (`RUSTSEC-2020-0071`, or an id and its place: `B102 ./src/a.py:4`); `#` starts a comment.
fn scanner_baseline(repo: &Repo, spec: &Spec, ctx: &Context) -> Result<std::collections::HashSet<String>, Error> {
    let Some(path) = spec.config.baseline.as_deref() else { return Ok(std::collections::HashSet::new()) };
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

fn judge_scanner(spec: &Spec, bytes: &[u8], accepted: &std::collections::HashSet<String>, e: &mut Evidence) {
    let name = spec.config.scanner.as_deref().unwrap_or_default();
    let threshold = spec.config.fail_on.as_deref().and_then(scanner::Severity::parse).unwrap_or(scanner::Severity::Low);
    let scan = match scanner::parse(name, bytes) {
        Ok(scan) => scan,
        Err(reason) => {
            e.verdict = Verdict::Error;
            e.summary = "unreadable report".into();
            e.reasons.push(format!("fail-closed: {reason}"));
            return;
        }
    };
    let is_accepted =
        |f: &scanner::Finding| accepted.contains(&f.id) || accepted.contains(&format!("{} {}", f.id, f.place));
    let warnings_block = spec.config.warnings.as_deref() == Some("fail");
    let (known, new): (Vec<&scanner::Finding>, Vec<&scanner::Finding>) =
        scan.findings.iter().partition(|f| is_accepted(f));
    e.figures.insert("scanned".into(), scan.scanned.into());
    e.figures.insert("findings".into(), scan.findings.len().into());
    if !known.is_empty() {
        e.figures.insert("accepted".into(), known.len().into());
    }
    if !scan.warnings.is_empty() {
        e.figures.insert("warnings".into(), scan.warnings.len().into());
    }
    let mut blocking: Vec<&scanner::Finding> = new.into_iter().filter(|f| f.severity >= threshold).collect();
    let warned: Vec<&scanner::Finding> = scan.warnings.iter().filter(|w| !is_accepted(w)).collect();
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

fn judge_tests(spec: &Spec, finished: &runner::Finished, code: i32, e: &mut Evidence) {
    if spec.config.counts == Some(false) {
        // The configuration says this runner prints no summary the tool reads: the exit code
        // decides alone.
        e.summary = format!("exit {code} (counts = false)");
        if code != 0 {
            e.verdict = Verdict::Fail;
            e.reasons.push(format!("the test command exited with {code}"));
        }
        return;
    }
    let Some((runner, counts)) = finished.counts else {
        e.verdict = Verdict::Error;
        e.summary = format!("exit {code}, no test summary recognised");
        e.reasons.push(format!(
            "no test summary recognised in the output (read: {}): the tests gate cannot tell what ran; its output's tail is below",
            test_counts::RUNNERS.join(", ")
        ));
        return;
    };
    e.figures.insert("runner".into(), runner.into());
    e.figures.insert("passed".into(), counts.passed.into());
    e.figures.insert("failed".into(), counts.failed.into());
    e.figures.insert("skipped".into(), counts.skipped.into());
    if counts.failed_files > 0 {
        e.figures.insert("failed_files".into(), counts.failed_files.into());
    }
    e.summary = format!("{} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.skipped);
    // pytest exits 5 when it collected nothing (unittest too, from Python 3.12): that is "no
    // test ran", not a failure of one.
    let nothing_ran = counts.passed == 0 && counts.failed == 0;
    let code_ok = code == 0 || (nothing_ran && matches!(runner, "pytest" | "unittest") && code == 5);
    if counts.failed_files > 0 {
        e.verdict = Verdict::Fail;
        let n = counts.failed_files;
        e.summary = format!("{}, {n} test file{} failed", e.summary, if n == 1 { "" } else { "s" });
        e.reasons.push(format!(
            "{n} test file{} failed as a whole (it did not load or run): its tests are not counted (exit {code})",
            if n == 1 { "" } else { "s" }
        ));
    } else if nothing_ran && !spec.config.allow_no_tests.unwrap_or(false) {
        e.verdict = Verdict::Fail;
        e.reasons.push(
            "no test ran: a run that tests nothing proves nothing (set allow_no_tests = true to accept it)".into(),
        );
    } else if !code_ok || counts.failed > 0 {
        e.verdict = Verdict::Fail;
        e.reasons.push(format!(
            "{} test{} failed (exit {code})",
            counts.failed,
            if counts.failed == 1 { "" } else { "s" }
        ));
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn only_markdown_directly_in_the_feature_s_folder_is_a_plan_document() {
        use super::is_plan_document as doc;
        assert!(doc("x", "plans/x/plan.md"));
        assert!(doc("x", "plans/x/phase-1-complete.md"));
        for not in [
            "plans/x/conftest.py",
            "plans/x/sub/a.md",
            "plans/xy/plan.md",
            "plans/x/.md",
            "plans/x/srclink",
            "src/plans/x/a.md",
        ] {
            assert!(!doc("x", not), "{not}");
        }
    }
}
