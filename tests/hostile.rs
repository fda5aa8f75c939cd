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
