//! Gates: checks with a verdict, run by the tool itself on an exact snapshot (a tree), recorded
//! as evidence in git notes keyed by that tree. The same tree with the same gate configuration
//! is never gated twice. This module decides and records; it never prints.

pub mod audit;
pub mod coverage;
pub mod metric;
pub mod runner;
pub mod scanner;
pub mod test_counts;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{self, Stage};
use crate::git::{ObjectId, Repo};

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
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Command,
    Tests,
    Coverage,
    Metric,
    Scanner,
    Secrets,
    Scope,
    Audit,
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

/// The keys a plan's `[phase.gates.<name>]` may set: thresholds and stages. Plan text is
/// written by whoever plans (often an agent): it never sets a command, its environment or the
/// report a verdict is read from.
pub const PLAN_TUNABLE: &[&str] = &["min", "min_changed", "max", "fail_on", "stage", "timeout"];

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
        let kind = match config.kind.as_deref().unwrap_or(match name {
            "tests" => "tests",
            "coverage" => "coverage",
            "secrets" => "secrets",
            "scope" => "scope",
            "audit" => "audit",
            _ if config.scanner.is_some() => "scanner",
            _ => "command",
        }) {
            "command" => Kind::Command,
            "tests" => Kind::Tests,
            "coverage" => Kind::Coverage,
            "metric" => Kind::Metric,
            "scanner" => Kind::Scanner,
            "secrets" => Kind::Secrets,
            "scope" => Kind::Scope,
            "audit" if name == "audit" => Kind::Audit,
            "audit" => return Err(err("the audit gate is built in: configure it as [gates.audit]".into())),
            other => {
                return Err(err(format!(
                    "unknown kind `{other}` (known: command, tests, coverage, metric, scanner, secrets, scope, audit)"
                )));
            }
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
        if !matches!(kind, Kind::Secrets | Kind::Scope | Kind::Audit)
            && config.run.as_deref().is_none_or(|r| r.trim().is_empty())
        {
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
        let stage = config.stage.unwrap_or(if matches!(kind, Kind::Secrets | Kind::Scope | Kind::Audit) {
            Stage::PreCommit
        } else {
            Stage::PrePush
        });
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
        let measures_change = matches!(self.kind, Kind::Secrets | Kind::Scope | Kind::Audit)
            || (self.kind == Kind::Coverage && self.config.min_changed.is_some());
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
        }
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
    /// The configuration's commands, when this user has not trusted them: then no command runs.
    pub untrusted: Option<crate::trust::Commands>,
    /// The tree of the commit the judging configuration was read from (its gitleaks
    /// configuration and secrets baseline are read there too).
    pub config_tree: Option<ObjectId>,
}

pub struct Outcome {
    pub evidence: Evidence,
    pub cached: bool,
    pub required: bool,
}

/// Earlier evidence for this gate, tree and configuration, if it reached a verdict.
/// Among a tree's `records` (from [`evidence_for`]), the newest that reached a verdict for this
/// gate and configuration.
pub fn cached<'e>(records: &'e [Evidence], spec: &Spec) -> Option<&'e Evidence> {
    records
        .iter()
        .rev()
        .find(|e| e.gate == spec.name && e.fingerprint == spec.fingerprint && e.verdict != Verdict::Error)
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
    let tree = tree.to_string();
    // A record copied from another tree's note is not evidence for this one.
    Ok(String::from_utf8_lossy(&note)
        .lines()
        .filter_map(|l| serde_json::from_str::<Evidence>(l).ok())
        .filter(|e| e.tree == tree)
        .collect())
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
}

/// Run `specs` on the snapshot. `progress` is told which gate runs and for how long.
pub fn run(
    repo: &Repo,
    specs: &[Spec],
    ctx: &Context,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<Outcome>, Error> {
    let by = repo.identity().map(|i| i.to_string()).unwrap_or_default();
    let mut outcomes = Vec::new();
    let mut worktree: Option<(WorktreeLock, PathBuf)> = None;
    let mut pending = String::new();
    let records = if ctx.force { Vec::new() } else { evidence_for(repo, ctx.tree)? };
    for spec in specs {
        // The review audit reads other gates' evidence, which may have changed since: never cached.
        if !(ctx.force || spec.kind == Kind::Audit && spec.stage == Stage::Review) {
            if let Some(evidence) = cached(&records, spec) {
                outcomes.push(Outcome { evidence: evidence.clone(), cached: true, required: spec.required });
                continue;
            }
        }
        if matches!(spec.kind, Kind::Secrets | Kind::Scope | Kind::Audit) {
            let evidence = match spec.kind {
                Kind::Secrets => secrets_gate(repo, spec, ctx, &by)?,
                Kind::Scope => scope_gate(repo, spec, ctx, &by)?,
                _ => audit::gate(repo, spec, ctx, &by)?,
            };
            // Built-in gates take milliseconds: their evidence is written together below.
            pending.push_str(&(serde_json::to_string(&evidence).expect("evidence serializes") + "\n"));
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
            worktree = Some((lock, path));
        }
        let (lock, dir) = worktree.as_ref().expect("prepared above");
        let evidence = run_one(repo, spec, ctx, dir, &by, &|pgid| lock.record(Some(pgid)), progress)?;
        repo.append_note(
            EVIDENCE_REF,
            ctx.tree,
            &(serde_json::to_string(&evidence).expect("evidence serializes") + "\n"),
            &format!("orchestrate: gate {} {}", spec.name, evidence.verdict.as_str()),
        )?;
        outcomes.push(Outcome { evidence, cached: false, required: spec.required });
    }
    if !pending.is_empty() {
        repo.append_note(EVIDENCE_REF, ctx.tree, &pending, "orchestrate: gates")?;
    }
    Ok(outcomes)
}

fn run_one(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    dir: &Path,
    by: &str,
    started: &dyn Fn(u32),
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Evidence, Error> {
    let script = spec.config.run.clone().unwrap_or_default();
    let mut env: Vec<(String, String)> = spec.config.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
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
    let job = runner::Job { script: &script, dir, env, timeout: spec.timeout, started: Some(started) };
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
        Kind::Coverage => coverage::judge(repo, spec, ctx, dir, &finished, code, report_was_there, &mut e)?,
        Kind::Secrets | Kind::Scope | Kind::Audit => unreachable!("built-in gates run no command"),
        Kind::Metric | Kind::Scanner => {
            match fresh_report(dir, spec.config.report.as_deref().unwrap_or_default(), &finished, report_was_there) {
                Err((summary, reason)) => {
                    e.verdict = Verdict::Error;
                    e.summary = summary.into();
                    e.reasons.push(reason);
                }
                Ok(bytes) if spec.kind == Kind::Metric => judge_metric(spec, code, &bytes, &mut e),
                Ok(bytes) => judge_scanner(spec, &bytes, &mut e),
            }
        }
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
fn inside(dir: &Path, name: &str) -> Result<PathBuf, String> {
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

/// The report a gate's command wrote during this run. The report was removed from the gate
/// worktree before the run, so one that exists now is fresh; a copy that kept an old time
/// (`cp -p`) is still caught (file times are coarse, hence the margin).
fn fresh_report(
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

fn judge_scanner(spec: &Spec, bytes: &[u8], e: &mut Evidence) {
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
    e.figures.insert("scanned".into(), scan.scanned.into());
    e.figures.insert("findings".into(), scan.findings.len().into());
    let blocking: Vec<&scanner::Finding> = scan.findings.iter().filter(|f| f.severity >= threshold).collect();
    e.summary = format!(
        "{} finding{} ({} at {}+), {} scanned",
        scan.findings.len(),
        if scan.findings.len() == 1 { "" } else { "s" },
        blocking.len(),
        threshold.as_str(),
        scan.scanned
    );
    e.reasons.extend(scan.notes.iter().map(|n| format!("note: {n}")));
    if !scan.problems.is_empty() || scan.scanned == 0 {
        e.verdict = Verdict::Error;
        e.reasons.extend(scan.problems.iter().map(|p| format!("fail-closed: {p}")));
        if scan.scanned == 0 && scan.problems.is_empty() {
            e.reasons.push(format!("fail-closed: {name} scanned nothing"));
        }
        return;
    }
    if !blocking.is_empty() {
        e.verdict = Verdict::Fail;
        for f in &blocking {
            e.reasons.push(format!("{} {} at {}: {}", f.severity.as_str(), f.id, f.place, f.message));
        }
    }
}

fn judge_tests(spec: &Spec, finished: &runner::Finished, code: i32, e: &mut Evidence) {
    if let Some((runner, counts)) = test_counts::parse(&finished.tail) {
        e.figures.insert("runner".into(), runner.into());
        e.figures.insert("passed".into(), counts.passed.into());
        e.figures.insert("failed".into(), counts.failed.into());
        e.figures.insert("skipped".into(), counts.skipped.into());
        e.summary = format!("{} passed, {} failed, {} skipped", counts.passed, counts.failed, counts.skipped);
        // pytest exits 5 when it collected nothing: that is "no test ran", not a failure of one.
        let nothing_ran = counts.passed == 0 && counts.failed == 0;
        let code_ok = code == 0 || (nothing_ran && runner == "pytest" && code == 5);
        if nothing_ran && !spec.config.allow_no_tests.unwrap_or(false) {
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
    } else {
        e.summary = format!("exit {code} (no test summary recognised)");
        if code != 0 {
            e.verdict = Verdict::Fail;
            e.reasons.push(format!("the test command exited with {code}"));
        }
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
    for name in only {
        if !config.gates.contains_key(name) && name != "audit" {
            let known = config.gates.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(Error::Config { gate: name.clone(), message: format!("is not configured (gates: {known})") });
        }
    }
    let mut out = Vec::new();
    for (name, gate) in &config.gates {
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
