//! Runs one gate command: `sh -c` in its own process group, with git's repository variables
//! removed, a timeout, and the output kept as a bounded tail. On timeout or Ctrl-C the whole
//! group is killed, grandchildren included; when the script exits, whatever it left running in
//! its group is ended too. Besides the `git` module, the only place that starts a process.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How much of a command's output is kept (its end).
pub const TAIL_BYTES: usize = 64 * 1024;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Exited(i32),
    /// Killed by a signal we did not send.
    Signalled,
    TimedOut,
    Interrupted,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub ending: Ending,
    pub started: SystemTime,
    pub duration: Duration,
    /// The last [`TAIL_BYTES`] of stdout and stderr, interleaved as written, without terminal
    /// escapes.
    pub tail: String,
    /// The test runner's summary read from every line of the output (not only the tail), when
    /// the job asked for it ([`Job::count_tests`]).
    pub counts: Option<(&'static str, super::test_counts::Counts)>,
}

/// What to run.
pub struct Job<'a> {
    pub script: &'a str,
    pub dir: &'a Path,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Told the process group's id as soon as the command runs (the caller records it, so a
    /// later run can end what a killed run left behind).
    pub started: Option<&'a dyn Fn(u32)>,
    /// Read test counts from every line of the output as it is written.
    pub count_tests: bool,
}

/// The longest line the test counter reads whole; the rest of a longer line is not a summary.
const MAX_LINE: usize = 64 * 1024;

/// Set when the user presses Ctrl-C (or we get SIGTERM) while a gate runs. Registering the
/// handler replaces the default "die at once", so the running group can be killed first.
pub fn interrupted() -> &'static AtomicBool {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            let _ = signal_hook::flag::register(signal, Arc::clone(&flag));
        }
        flag
    })
}

/// Send `signal` to a process group; false when the group has no process at all.
fn kill_group(pgid: u32, signal: rustix::process::Signal) -> bool {
    i32::try_from(pgid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .is_some_and(|pid| rustix::process::kill_process_group(pid, signal).is_ok())
}

/// How long a group gets between TERM and KILL.
const GRACE: Duration = Duration::from_secs(2);

/// End a process group: TERM, then KILL what is still alive after [`GRACE`]. Returns at once
/// when the group is empty.
fn end_group(pgid: u32) {
    if pgid == 0 || !kill_group(pgid, rustix::process::Signal::TERM) {
        return;
    }
    let grace = Instant::now();
    while group_alive(pgid) && grace.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_group(pgid, rustix::process::Signal::KILL);
}

/// One process of a group, as `/proc` shows it.
#[cfg(target_os = "linux")]
struct Member {
    pid: u32,
    zombie: bool,
}

/// The processes whose process group is `pgid` (from `/proc/<pid>/stat`: the fields after the
/// command's closing parenthesis are state, ppid, pgrp).
#[cfg(target_os = "linux")]
fn members(group: u32) -> Vec<Member> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.filter_map(|entry| {
        let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let mut fields = stat.rsplit_once(") ")?.1.split_whitespace();
        let state = fields.next()?;
        let pgrp: u32 = fields.nth(1)?.parse().ok()?;
        (pgrp == group).then(|| Member { pid, zombie: state == "Z" })
    })
    .collect()
}

/// Whether a process of the group still runs (a zombie has ended: it only waits to be reaped,
/// which an orphan's new parent may never do).
fn group_alive(pgid: u32) -> bool {
    #[cfg(target_os = "linux")]
    {
        members(pgid).iter().any(|m| !m.zombie)
    }
    #[cfg(not(target_os = "linux"))]
    {
        i32::try_from(pgid)
            .ok()
            .and_then(rustix::process::Pid::from_raw)
            .is_some_and(|pid| rustix::process::test_kill_process_group(pid).is_ok())
    }
}

/// End the process group a killed gate run left running, if it still does: only when one of
/// its live processes works inside `dir` (the gate worktree), so a group that merely reuses the
/// number is never signalled. (A pid is not handed out while a group of that id has members, so
/// a live member inside the gate worktree is the gate's.) Returns whether a group was ended.
pub fn end_leftover_group(pgid: u32, dir: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(dir) = dir.canonicalize() else { return false };
        let ours = members(pgid)
            .iter()
            .filter(|m| !m.zombie)
            .any(|m| std::fs::read_link(format!("/proc/{}/cwd", m.pid)).is_ok_and(|cwd| cwd.starts_with(&dir)));
        if ours {
            end_group(pgid);
        }
        ours
    }
    #[cfg(not(target_os = "linux"))]
    {
        // Without /proc the processes cannot be told apart from an unrelated group: leave them.
        let _ = (pgid, dir);
        false
    }
}

/// Run `job`, calling `tick` about every 100 ms with the time elapsed.
pub fn run(job: &Job<'_>, tick: &mut dyn FnMut(Duration)) -> std::io::Result<Finished> {
    let interrupted = interrupted();
    let started = SystemTime::now();
    let clock = Instant::now();
    let mut expr = duct::cmd("sh", ["-c", job.script]).dir(job.dir).stdin_null().stderr_to_stdout().unchecked();
    for var in crate::env::GIT_REPO_VARS {
        expr = expr.env_remove(var);
    }
    for (k, v) in &job.env {
        expr = expr.env(k, v);
    }
    let expr = expr.before_spawn(|cmd| {
        cmd.process_group(0);
        Ok(())
    });
    let reader = Arc::new(expr.reader()?);
    let pgid = reader.pids().first().copied().unwrap_or(0);
    if let Some(started) = job.started {
        started(pgid);
    }
    let tail = Arc::new(Mutex::new(Vec::<u8>::new()));
    let counter = Arc::new(Mutex::new(job.count_tests.then(super::test_counts::Counter::default)));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    {
        let (reader, tail, counter) = (Arc::clone(&reader), Arc::clone(&tail), Arc::clone(&counter));
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            let mut partial = Vec::<u8>::new();
            let feed = |counter: &Mutex<Option<super::test_counts::Counter>>, line: &[u8]| {
                if let Some(c) = counter.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_mut() {
                    c.line(&String::from_utf8_lossy(line));
                }
            };
            while let Ok(n) = (&*reader).read(&mut buf) {
                if n == 0 {
                    break;
                }
                if job_counts(&counter) {
                    let mut rest = &buf[..n];
                    while let Some(end) = rest.iter().position(|b| *b == b'\n') {
                        if partial.len() + end <= MAX_LINE {
                            partial.extend_from_slice(&rest[..end]);
                        }
                        feed(&counter, &partial);
                        partial.clear();
                        rest = &rest[end + 1..];
                    }
                    let room = MAX_LINE.saturating_sub(partial.len()).min(rest.len());
                    partial.extend_from_slice(&rest[..room]);
                }
                let mut t = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                t.extend_from_slice(&buf[..n]);
                if t.len() > 2 * TAIL_BYTES {
                    let cut = t.len() - TAIL_BYTES;
                    t.drain(..cut);
                }
            }
            if !partial.is_empty() {
                feed(&counter, &partial);
            }
            let _ = done_tx.send(());
        });
    }
    let mut last_tick = Instant::now();
    let ending = loop {
        if let Some(output) = reader.try_wait()? {
            // What the script started in the background ends with it.
            end_group(pgid);
            break output.status.code().map_or(Ending::Signalled, Ending::Exited);
        }
        let stop = if interrupted.load(Ordering::Relaxed) {
            Some(Ending::Interrupted)
        } else if clock.elapsed() >= job.timeout {
            Some(Ending::TimedOut)
        } else {
            None
        };
        if let Some(ending) = stop {
            kill_group(pgid, rustix::process::Signal::TERM);
            let grace = Instant::now();
            while reader.try_wait()?.is_none() && grace.elapsed() < GRACE {
                std::thread::sleep(Duration::from_millis(10));
            }
            kill_group(pgid, rustix::process::Signal::KILL);
            let _ = reader.kill();
            end_group(pgid);
            break ending;
        }
        if last_tick.elapsed() >= Duration::from_millis(100) {
            tick(clock.elapsed());
            last_tick = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // The reader ends when every writer of the pipe is gone; a process that escaped the group
    // could hold it open, so wait a little, not forever.
    let _ = done_rx.recv_timeout(Duration::from_secs(2));
    let bytes = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let start = bytes.len().saturating_sub(TAIL_BYTES);
    let raw = String::from_utf8_lossy(&bytes[start..]);
    let mut tail = String::with_capacity(raw.len());
    for line in raw.split_inclusive('\n') {
        let (text, newline) = line.strip_suffix('\n').map_or((line, ""), |t| (t, "\n"));
        tail.push_str(&super::test_counts::strip_ansi(text));
        tail.push_str(newline);
    }
    let counts = counter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .and_then(super::test_counts::Counter::finish);
    Ok(Finished { ending, started, duration: clock.elapsed(), tail, counts })
}

/// Whether the job reads test counts.
fn job_counts(counter: &Mutex<Option<super::test_counts::Counter>>) -> bool {
    counter.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some()
}

/// Whether `script` succeeds in `dir` within a few seconds (for `init`'s questions such as
/// "can python3 import pytest?"). Its output is dropped.
pub fn probe(script: &str, dir: &Path) -> bool {
    let job = Job { script, dir, env: Vec::new(), timeout: Duration::from_secs(20), started: None, count_tests: false };
    run(&job, &mut |_| {}).is_ok_and(|f| f.ending == Ending::Exited(0))
}

/// Run a user's own hook (kept beside ours) with git's arguments and environment, its output
/// going straight to the terminal, `stdin` fed to it. Returns its exit code.
pub fn run_hook(path: &Path, args: &[std::ffi::OsString], stdin: Option<&[u8]>) -> std::io::Result<i32> {
    let mut expr = duct::cmd(path, args).unchecked();
    expr = match stdin {
        Some(bytes) => expr.stdin_bytes(bytes.to_vec()),
        None => expr.stdin_null(),
    };
    let out = expr.run()?;
    Ok(out.status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job<'a>(script: &'a str, dir: &'a Path, timeout: Duration) -> Job<'a> {
        Job { script, dir, env: vec![("GREETING".into(), "hi".into())], timeout, started: None, count_tests: true }
    }

    #[test]
    fn exit_code_output_and_env() {
        let dir = std::env::temp_dir();
        let f =
            run(&job("echo \"$GREETING\"; echo err >&2; exit 3", &dir, Duration::from_secs(10)), &mut |_| {}).unwrap();
        assert_eq!(f.ending, Ending::Exited(3));
        assert_eq!(f.tail, "hi\nerr\n");
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("grandchild-survived");
        let script = format!("(sleep 1; touch '{}') & sleep 30", marker.display());
        let f = run(&job(&script, dir.path(), Duration::from_millis(200)), &mut |_| {}).unwrap();
        assert_eq!(f.ending, Ending::TimedOut);
        assert!(f.duration < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!marker.exists(), "the grandchild was killed with its group");
    }

    #[test]
    fn the_tail_is_bounded() {
        let dir = std::env::temp_dir();
        let f = run(&job("yes 0123456789 | head -c 1000000; echo END", &dir, Duration::from_secs(10)), &mut |_| {})
            .unwrap();
        assert!(f.tail.len() <= TAIL_BYTES);
        assert!(f.tail.ends_with("END\n"));
    }

    #[test]
    fn counts_come_from_the_whole_output_not_the_tail() {
        // A failing binary first, then 3 000 lines of output, then 300 more binaries: every
        // `test result:` line counts, the early failure included.
        let dir = std::env::temp_dir();
        let script = "echo 'test result: FAILED. 4 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s'; \
             yes 'test some::long::module::path::name ... ok' | head -n 3000; \
             i=0; while [ $i -lt 300 ]; do echo 'test result: ok. 10 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s'; i=$((i+1)); done";
        let f = run(&job(script, &dir, Duration::from_secs(20)), &mut |_| {}).unwrap();
        assert!(!f.tail.contains("FAILED"), "the failure is out of the tail");
        let (runner, counts) = f.counts.unwrap();
        assert_eq!((runner, counts.passed, counts.failed), ("cargo test", 3004, 1));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_leftover_group_is_ended_only_when_it_works_in_the_gate_worktree() {
        use std::os::unix::process::CommandExt as _;
        let (gate, elsewhere) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let spawn = |dir: &Path| {
            std::process::Command::new("sleep").arg("30").current_dir(dir).process_group(0).spawn().unwrap()
        };
        // A group with the recorded number that works elsewhere is not a gate's: left alone.
        let mut unrelated = spawn(elsewhere.path());
        assert!(!end_leftover_group(unrelated.id(), gate.path()));
        assert!(unrelated.try_wait().unwrap().is_none(), "the unrelated group still runs");
        unrelated.kill().unwrap();
        unrelated.wait().unwrap();
        // One working inside the gate worktree is ended.
        let mut leftover = spawn(gate.path());
        assert!(end_leftover_group(leftover.id(), gate.path()));
        assert!(leftover.wait().unwrap().code().is_none(), "ended by a signal");
    }
}
