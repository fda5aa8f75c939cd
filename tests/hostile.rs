//! Hostile input: planted files and symlinks, corrupt or forged notes, escape sequences in data.
//! Each test plants what an attacker (or an accident) could, and checks that the tool neither
//! follows it, nor runs it, nor passes it on raw.

use crate::common::TestRepo;

/// The pid the next process is likely to get (the last one created, from /proc/loadavg).
fn last_pid() -> u32 {
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    loadavg.split_whitespace().last().and_then(|p| p.parse().ok()).unwrap_or(1)
}

/// `tour` once used `$TMPDIR/git-orchestrate-tour-<pid>`: a symlink planted there made it run
/// in, and then delete, whatever the link pointed at.
#[test]
fn the_tour_never_follows_a_symlink_planted_at_a_predictable_name() {
    let t = TestRepo::new();
    let tmp = t.root.join("tmp");
    let victim = t.root.join("victim");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("precious.txt"), "keep me\n").unwrap();
    // Pids are handed out in order: cover the next few thousand.
    let from = last_pid();
    for pid in from..from + 3000 {
        std::os::unix::fs::symlink(&victim, tmp.join(format!("git-orchestrate-tour-{pid}"))).unwrap();
    }
    t.run_env(&[("TMPDIR", tmp.to_str().unwrap())], ["tour"]).ok();
    assert_eq!(std::fs::read_to_string(victim.join("precious.txt")).unwrap(), "keep me\n");
    assert!(!victim.join(".git").exists(), "the tour ran inside the symlink's target");
    // Every planted link is still there, and the tour left no directory of its own behind.
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(left.len(), 3000, "{left:?}");
    assert!(left.iter().all(|p| p.is_symlink()));
}

const MARKER: &str = "SECRET-FROM-OUTSIDE-THE-REPOSITORY";

/// A template override that is a symlink to a file outside the repository is refused, naming
/// the file; its content never reaches the brief.
#[test]
fn a_template_override_linked_outside_the_repository_is_refused() {
    let t = TestRepo::new();
    t.started_and_approved("f", 1);
    t.run(["phase", "start"]).ok();
    let outside = t.root.join("outside.md");
    std::fs::write(&outside, format!("{MARKER}\n")).unwrap();
    std::fs::create_dir_all(t.dir.join(".orchestrate/templates")).unwrap();
    std::os::unix::fs::symlink(&outside, t.dir.join(".orchestrate/templates/brief.md")).unwrap();
    let run = t.run(["phase", "brief"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains(MARKER) && !run.stderr.contains(MARKER), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("error: template .orchestrate/templates/brief.md"), "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: "), "{}", run.stderr);
}

/// The same through a linked directory: `.orchestrate/templates` pointing outside.
#[test]
fn a_template_directory_linked_outside_the_repository_is_refused() {
    let t = TestRepo::new();
    t.started_and_approved("f", 1);
    t.run(["phase", "start"]).ok();
    let outside = t.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("brief.md"), format!("{MARKER}\n")).unwrap();
    std::fs::create_dir_all(t.dir.join(".orchestrate")).unwrap();
    std::os::unix::fs::symlink(&outside, t.dir.join(".orchestrate/templates")).unwrap();
    let run = t.run(["phase", "brief"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains(MARKER) && !run.stderr.contains(MARKER), "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("error: template .orchestrate/templates"), "{}", run.stderr);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    // A regular override inside the repository still works.
    std::fs::remove_file(t.dir.join(".orchestrate/templates")).unwrap();
    t.write(".orchestrate/templates/brief.md", "my brief for {{ feature }}\n");
    let run = t.run(["phase", "brief"]).ok();
    assert_eq!(run.stdout, "my brief for f\n");
}
