//! The event log in notes: concurrent writers lose nothing, other notes are left alone.

use std::fmt::Write as _;
use std::process::Stdio;

use crate::common::TestRepo;

const WRITERS: usize = 8;
const EACH: u32 = 50;

/// Not a test on its own: the body of one writer process, started by
/// `eight_processes_writing_fifty_events_each_keep_all_400`.
#[test]
#[ignore = "run as a child process by the concurrency test"]
fn concurrent_writer_child() {
    use git_orchestrate::{
        config::Config,
        git::Repo,
        state::{PhaseStarted, What},
        workflow::Workflow,
    };
    #[allow(clippy::disallowed_methods)]
    let (Ok(repo), Ok(writer)) = (std::env::var("ORCH_TEST_REPO"), std::env::var("ORCH_TEST_WRITER")) else {
        return;
    };
    let writer: u32 = writer.parse().unwrap();
    let repo = Repo::discover(std::path::Path::new(&repo)).unwrap();
    let config = Config::default();
    let flow = Workflow::new(&repo, &config);
    for i in 0..EACH {
        let log = flow.log("race").unwrap();
        let what = What::PhaseStarted(PhaseStarted {
            phase: writer * 1000 + i + 1,
            branch: format!("w{writer}"),
            fork: git_orchestrate::git::ObjectId::from_hex("0".repeat(40).as_bytes()).unwrap(),
        });
        flow.record("race", &log, what).unwrap();
    }
}

#[test]
fn eight_processes_writing_fifty_events_each_keep_all_400() {
    let t = TestRepo::new();
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            t.command(&me, &t.dir)
                .args(["--exact", "notes::concurrent_writer_child", "--ignored", "--quiet", "--test-threads=1"])
                .env("ORCH_TEST_REPO", &t.dir)
                .env("ORCH_TEST_WRITER", w.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let events = t.events("race");
    assert_eq!(events.len(), WRITERS * EACH as usize, "every record is kept");
    let mut phases: Vec<u64> = events.iter().map(|e| e["phase"].as_u64().unwrap()).collect();
    phases.sort_unstable();
    phases.dedup();
    assert_eq!(phases.len(), 400, "each record exactly once");
    // The notes ref is a plain history of single-parent commits: one per append.
    let count = t.git(["rev-list", "--count", "refs/notes/orchestrate"]);
    assert_eq!(count.trim(), "400");
}

#[test]
fn other_notes_are_left_alone() {
    let t = TestRepo::new();
    t.git(["notes", "add", "-m", "a reviewer's note", "HEAD"]);
    t.git(["notes", "--ref=review", "add", "-m", "another tool", "HEAD"]);
    let before = t.git(["for-each-ref", "refs/notes/commits", "refs/notes/review"]);
    t.started_and_approved("x", 1);
    assert_eq!(t.git(["for-each-ref", "refs/notes/commits", "refs/notes/review"]), before);
    assert_eq!(t.git(["notes", "show", "main"]).trim(), "a reviewer's note");
}

#[test]
fn a_log_written_by_git_with_fanout_is_still_read() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    // Enough unrelated notes in the same ref make git rewrite the tree with fanout: 300 of
    // them laid flat beside the feature's (one process each: mktree, commit-tree), then one
    // more added by `git notes`, which writes the whole tree with the fanout it chooses.
    let line = r#"{"seq":1,"ts":"2026-01-01T00:00:00Z","id":"f","by":"x","event":"other-tool"}"#;
    let note = t.hash_blob(&format!("{line}\n"));
    let mut listing = t.git(["ls-tree", "refs/notes/orchestrate"]);
    // Keys spread over the whole id space, as object ids are (splitmix64).
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in 0..300u64 {
        let _ = writeln!(listing, "100644 blob {note}\t{:016x}{:016x}{:08x}", mix(i), mix(i + 1000), i);
    }
    let mut mktree = t.command("git", &t.dir);
    mktree.arg("mktree").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = mktree.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), listing.as_bytes()).unwrap();
    drop(child.stdin.take());
    let flat = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let parent = t.rev("refs/notes/orchestrate");
    let commit = t.git(["commit-tree", flat.trim(), "-p", &parent, "-m", "filler"]);
    t.git(["update-ref", "refs/notes/orchestrate", commit.trim()]);
    let one_more = t.hash_blob("filler\n");
    t.git(["notes", "--ref=orchestrate", "add", "-m", line, &one_more]);
    let tree = t.git(["ls-tree", "refs/notes/orchestrate"]);
    assert!(tree.lines().any(|l| l.contains(" tree ")), "git used fanout:\n{}", &tree[..tree.len().min(400)]);
    t.run(["approve", "plan", "--yes"]).ok();
    let events = t.events("x");
    assert_eq!(events.len(), 2);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "in-progress");
}

/// Evidence notes spread into `ab/cd…` directories once a directory holds 256 of them, as git
/// does, so an append never rewrites an unbounded tree; git and the tool still read every note.
#[test]
fn a_crowded_notes_tree_fans_out_and_every_reader_finds_the_notes() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    // 300 notes at the top level, made by git itself.
    let blob = t.hash_blob("{}\n");
    let listing = (1..=300u32).map(|i| format!("100644 blob {blob}\t{i:040x}")).collect::<Vec<_>>().join("\n") + "\n";
    let mut mktree = t.command("git", &t.dir);
    mktree.arg("mktree").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = mktree.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), listing.as_bytes()).unwrap();
    drop(child.stdin.take());
    let tree = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
    let commit = t.git(["commit-tree", tree.trim(), "-m", "notes"]);
    t.git(["update-ref", "refs/notes/orchestrate-evidence", commit.trim()]);

    t.write("a.txt", "a\n");
    t.git(["add", "a.txt"]);
    let staged = t.git(["write-tree"]).trim().to_string();
    t.run(["gate", "--stage", "pre-commit"]).ok();
    let paths = t.git(["ls-tree", "-r", "--name-only", "refs/notes/orchestrate-evidence"]);
    let fanned = format!("{}/{}", &staged[..2], &staged[2..]);
    assert!(paths.lines().any(|p| p == fanned), "the new note sits at {fanned}");
    assert_eq!(paths.lines().count(), 301, "the other notes stay where they were");
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &staged]);
    assert!(note.contains("\"gate\":\"secrets\""), "git reads it: {note}");
    let again = t.run(["gate", "--stage", "pre-commit"]).ok();
    assert!(again.stdout.contains("cached"), "and so does the tool: {}", again.stdout);
}

/// The tool writes its small objects itself, uncompressed (src/git/loose.rs), and large ones
/// through gix: git must read both, `git fsck` must find nothing wrong, and `git gc` must pack
/// them like any other.
#[test]
fn objects_the_tool_writes_pass_git_fsck_and_survive_gc() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    t.write("a.txt", "a\n");
    t.git(["add", "a.txt"]);
    let staged = t.git(["write-tree"]).trim().to_string();
    // Every forced run appends a record to the same tree's note: the note is grown to 64 KB of
    // the tool's own records, and the next run writes it past 64 KB (more than one stored block).
    t.run(["gate", "--stage", "pre-commit", "--force"]).ok();
    let record = t.git(["notes", "--ref=orchestrate-evidence", "show", &staged]);
    let grown = t.root.join("grown");
    std::fs::write(&grown, record.repeat(64 * 1024 / record.len() + 1)).unwrap();
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-F", grown.to_str().unwrap(), &staged]);
    t.run(["gate", "--stage", "pre-commit", "--force"]).ok();
    let blob = t.git(["notes", "--ref=orchestrate-evidence", "list", &staged]);
    let size = t.git(["cat-file", "-s", blob.trim()]).trim().parse::<usize>().unwrap();
    assert!(size > 64 * 1024 + record.len() / 2, "the tool wrote a note past 64 KB: {size}");
    let fsck = t.git_try(["fsck", "--full", "--strict", "--no-dangling"]);
    assert_eq!(fsck.code, 0, "git fsck: {}{}", fsck.stdout, fsck.stderr);
    let commit = t.git(["cat-file", "-p", "refs/notes/orchestrate-evidence"]);
    assert!(commit.starts_with("tree ") && commit.contains("\nparent ") && commit.contains("\ncommitter "), "{commit}");
    // A loose object the tool wrote: stored uncompressed, and exactly what git hashes.
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &staged]);
    assert_eq!(t.hash_blob(&note), t.git(["notes", "--ref=orchestrate-evidence", "list", &staged]).trim());

    t.git(["gc", "--quiet", "--prune=now"]);
    let loose = t.git(["count-objects"]);
    assert!(loose.starts_with("0 objects"), "gc packed everything: {loose}");
    assert_eq!(t.git(["notes", "--ref=orchestrate-evidence", "show", &staged]), note);
    let again = t.run(["gate", "--stage", "pre-commit"]).ok();
    assert!(again.stdout.contains("cached"), "evidence still found after gc: {}", again.stdout);
}
