//! A report a gate's command writes: removed from the gate worktree before the run, so one
//! there afterwards was written by it; read fresh (not older than the run, not a copy of a
//! committed file or of the report this gate accepted for another tree); never read through a
//! symlink or outside the gate worktree.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::engine::Run;
use super::{config, runner, Context, Error, Evidence, Spec, Verdict};
use crate::git::{ObjectId, Repo};

/// This run's report, or `None` when it is refused: then the evidence says why, with an
/// `error` verdict (no report, a stale one, a path refused, an unreadable file).
pub(super) fn fresh(
    repo: &Repo,
    spec: &Spec,
    ctx: &Context,
    run: &Run<'_>,
    e: &mut Evidence,
) -> Result<Option<Vec<u8>>, Error> {
    Ok(match fresh_report(repo, spec, ctx, run.dir, run.finished, run.report_was_there)? {
        Ok(bytes) => Some(bytes),
        Err((summary, reason)) => {
            e.verdict = Verdict::Error;
            e.summary = summary.into();
            e.reasons.push(reason);
            None
        }
    })
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
pub(super) fn remove_report(dir: &Path, name: &str) -> Result<bool, String> {
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
