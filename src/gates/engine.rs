//! The run: the gates of a selection in order, each answered from the evidence cache when it
//! can be, else judged — the built-in gates on the snapshot's objects, the others by running
//! their command in the gate worktree (held by one run at a time) and handing what it left to
//! their kind's judge — and recorded.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::evidence::{cached, evidence_for, inputs_key};
use super::{
    audit, command, coverage, metric, report, runner, scanner, scope, secrets, seed, tests, Context, Error, Evidence,
    Kind, Spec, Verdict, EVIDENCE_REF,
};
use crate::config::Stage;
use crate::git::{ObjectId, Repo};

pub struct Outcome {
    pub evidence: Evidence,
    pub cached: bool,
    pub required: bool,
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
            let evidence = judge_built_in(repo, spec, ctx, &by)?;
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
            let mut evidence = tests::from(spec, &from.evidence, ctx, &by);
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
        Some(report) => match report::remove_report(dir, report) {
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
    let run = Run { dir, finished: &finished, code: exit_code.unwrap_or(-1), report_was_there };
    judge_run(repo, spec, ctx, &run, &mut e)?;
    Ok(e)
}

/// What a gate's command left for its kind's judge.
pub(super) struct Run<'a> {
    /// The gate worktree it ran in.
    pub dir: &'a Path,
    pub finished: &'a runner::Finished,
    /// Its exit code.
    pub code: i32,
    /// Whether a file was at the gate's `report` path before the run (it was removed).
    pub report_was_there: bool,
}

/// A built-in gate's verdict: its kind's code reads the snapshot's objects.
fn judge_built_in(repo: &Repo, spec: &Spec, ctx: &Context, by: &str) -> Result<Evidence, Error> {
    match spec.kind {
        Kind::Secrets => secrets::gate(repo, spec, ctx, by),
        Kind::Scope => scope::gate(repo, spec, ctx, by),
        Kind::Audit => audit::gate(repo, spec, ctx, by),
        Kind::Command | Kind::Tests | Kind::Coverage | Kind::Metric | Kind::Scanner => {
            unreachable!("a gate that runs a command is judged on its run")
        }
    }
}

/// The verdict on a command's run that exited, by its gate's kind.
fn judge_run(repo: &Repo, spec: &Spec, ctx: &Context, run: &Run<'_>, e: &mut Evidence) -> Result<(), Error> {
    match spec.kind {
        Kind::Command => command::judge(spec, run, e),
        Kind::Tests => tests::judge(spec, run.finished, run.code, e),
        Kind::Coverage => coverage::judge_run(repo, spec, ctx, run, e)?,
        Kind::Metric => metric::judge_run(repo, spec, ctx, run, e)?,
        Kind::Scanner => scanner::gate::judge_run(repo, spec, ctx, run, e)?,
        Kind::Secrets | Kind::Scope | Kind::Audit => unreachable!("built-in gates run no command"),
    }
    Ok(())
}
