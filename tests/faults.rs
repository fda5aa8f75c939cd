//! Faults around the gate worktree: a killed run, a concurrent run, processes a gate leaves
//! running, a repository moved or copied. Each one must leave the next gated commit working.

use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{TestRepo, BIN};

/// Whether `pid` names a live process (a zombie is not one: it has ended).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.trim().parse().unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// Wait (bounded) until the gate command has written `path`.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(path.exists(), "{} appeared", path.display());
}

/// Quote a path for a gate command in `.orchestrate.toml` (a TOML basic string holding sh).
fn sh(path: &Path) -> String {
    format!("'{}'", path.display())
}

#[test]
fn background_processes_a_gate_started_end_with_it() {
    let t = TestRepo::new();
    let pid_file = t.root.join("bg.pid");
    t.configure(&format!("[gates.bg]\nrun = \"(sleep 30 & echo $! > {}); true\"\n", sh(&pid_file)));
    t.run(["gate"]).ok();
    let pid = read_pid(&pid_file);
    assert!(!alive(pid), "the background `sleep` (pid {pid}) was ended with the gate");
}

#[test]
fn a_killed_run_s_leftover_group_is_ended_by_the_next_run() {
    let t = TestRepo::new();
    let (pid_file, started) = (t.root.join("sleep.pid"), t.root.join("started"));
    t.configure(&format!(
        "[gates.slow]\nrun = \"sleep 30 & echo $! > {}; touch {}; wait\"\n",
        sh(&pid_file),
        sh(&started)
    ));
    let mut child = t.command(BIN, &t.dir).arg("gate").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    wait_for(&started);
    let pid = read_pid(&pid_file);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(alive(pid), "the killed run left its command running");
    // The next run gets the lock at once (its holder is dead) and ends the leftovers first.
    t.configure("[gates.quick]\nrun = \"true\"\n");
    t.run(["gate"]).ok();
    assert!(!alive(pid), "the leftover `sleep` (pid {pid}) was ended by the next run");
}

#[test]
fn a_second_gate_run_waits_for_the_first_and_both_pass() {
    let t = TestRepo::new();
    let (started, release) = (t.root.join("started"), t.root.join("release"));
    // The first run holds the gate worktree until the test releases it (bounded, never forever).
    t.configure(&format!(
        "[gates.held]\nrun = \"touch {s}; i=0; while [ ! -f {r} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; test -f {r}\"\n",
        s = sh(&started),
        r = sh(&release)
    ));
    let other = t.root.join("other worktree");
    t.git(["worktree", "add", "-q", "--detach", other.to_str().unwrap()]);
    let first = t.command(BIN, &t.dir).arg("gate").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    wait_for(&started);
    let mut second = t.command(BIN, &other).arg("gate").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stderr = second.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            let _ = tx.send(line.clone());
            lines.push(line);
        }
        lines
    });
    let mut waiting = false;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
        if line.contains("waiting for another gate run") {
            waiting = true;
            break;
        }
    }
    std::fs::write(&release, "").unwrap();
    let first = first.wait_with_output().unwrap();
    let second_status = second.wait().unwrap();
    let lines = reader.join().unwrap();
    assert!(waiting, "the second run said it waits: {lines:?}");
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    assert_eq!(second_status.code(), Some(0), "{lines:?}");
    let said = lines.iter().filter(|l| l.contains("waiting for another gate run")).count();
    assert_eq!(said, 1, "said once: {lines:?}");
}
