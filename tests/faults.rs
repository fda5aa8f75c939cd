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

/// A gate command that fails inside a `.git` directory (as jest and other runners skip such
/// paths) and checks that git works in the gate worktree as in any work tree.
const GIT_AWARE: &str = r#"
[gates.check]
stage = "pre-commit"
run = '''
case "$PWD" in */.git/*) echo "inside a .git directory: $PWD"; exit 1;; esac
test "$(git rev-parse --show-toplevel)" = "$(pwd -P)"
git status --short
git log -1 --format=%H
test -f README.md
'''
"#;

/// Hooks installed, the git-aware gate at pre-commit, phase 1 of `x` started.
fn gated_phase() -> TestRepo {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", GIT_AWARE, "chore: gates");
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 1);
    t.run(["phase", "start"]).ok();
    t
}

/// Commit a new file in `dir` through the installed hooks; panics unless it went through.
fn gated_commit(t: &TestRepo, dir: &Path, file: &str) {
    std::fs::create_dir_all(dir.join("area1")).unwrap();
    std::fs::write(dir.join("area1").join(file), format!("{file}\n")).unwrap();
    t.git_in(dir, ["add", "-A"]);
    let out = t.command("git", dir).args(["commit", "-q", "-m", &format!("feat(x): add {file}")]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let evidence = t.git_in(dir, ["notes", "--ref=orchestrate-evidence", "show", "HEAD^{tree}"]);
    assert!(evidence.contains(r#""gate":"check""#) && evidence.contains(r#""verdict":"pass""#), "{evidence}");
}

/// Every file under `dir`, with its content.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_gate_worktree_is_outside_every_git_directory_and_git_works_in_it() {
    let t = TestRepo::new();
    t.configure(&GIT_AWARE.replace("stage = \"pre-commit\"\n", ""));
    t.run(["gate"]).ok();
}

#[test]
fn a_moved_repository_keeps_gating_commits() {
    let t = gated_phase();
    gated_commit(&t, &t.dir, "before.txt");
    let moved = t.root.join("moved dir ü").join("repo");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&t.dir, &moved).unwrap();
    gated_commit(&t, &moved, "after.txt");
}

#[test]
fn a_copy_gates_on_its_own_and_never_changes_the_original() {
    let t = gated_phase();
    gated_commit(&t, &t.dir, "one.txt");
    let copy = t.root.join("a copy");
    let cp = std::process::Command::new("cp").arg("-a").arg(&t.dir).arg(&copy).status().unwrap();
    assert!(cp.success());
    let original = files_under(&t.dir.join(".git"));
    gated_commit(&t, &copy, "two.txt");
    assert!(files_under(&t.dir.join(".git")) == original, "the copy's gated commit changed the original's .git");
    // The original still gates, and the copy's history is its own.
    gated_commit(&t, &t.dir, "three.txt");
    assert!(!t.dir.join("area1/two.txt").exists());
    assert_eq!(t.git_in(&copy, ["log", "-1", "--format=%s"]).trim(), "feat(x): add two.txt");
}

#[test]
fn an_old_gate_worktree_under_the_git_dir_is_removed_and_pruned() {
    let t = TestRepo::new();
    t.configure("[gates.quick]\nrun = \"true\"\n");
    // Where earlier versions kept it, registered with `git worktree`.
    let old = t.dir.join(".git/orchestrate/worktree");
    t.git(["worktree", "add", "-q", "--detach", old.to_str().unwrap()]);
    t.run(["gate"]).ok();
    assert!(!old.exists());
    let list = t.git(["worktree", "list", "--porcelain"]);
    assert_eq!(list.matches("worktree ").count(), 1, "{list}");
}

#[test]
fn doctor_reports_where_the_gate_worktree_is_and_whether_it_is_sound() {
    let t = TestRepo::new();
    t.configure("[gates.quick]\nrun = \"true\"\n");
    t.run(["init"]).ok();
    t.run(["gate"]).ok();
    let check = |t: &TestRepo| {
        let report = t.run(["doctor", "--json"]).json();
        report["checks"].as_array().unwrap().iter().find(|c| c["check"] == "gate worktree").cloned().unwrap()
    };
    let sound = check(&t);
    assert_eq!(sound["ok"], true, "{sound}");
    let place = sound["detail"].as_str().unwrap().to_string();
    assert!(place.contains("git-orchestrate") && !place.contains("/.git/"), "{place}");
    // A worktree whose .git file points elsewhere is reported, and the next run mends it.
    let dot_git = files_under(t.home()).into_iter().find(|(p, _)| p.ends_with(".git") && p.is_file()).unwrap().0;
    std::fs::write(&dot_git, "gitdir: /nowhere\n").unwrap();
    assert_eq!(check(&t)["ok"], false);
    t.run(["gate", "--force"]).ok();
    assert_eq!(check(&t)["ok"], true);
}
