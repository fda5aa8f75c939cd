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

/// Append one raw line to `feature`'s event log, as a hand edit or a fetched note could.
fn append_raw(t: &TestRepo, feature: &str, line: &str) {
    let key = t.hash_blob(&format!("git-orchestrate feature {feature}\n"));
    t.git(["notes", "--ref=orchestrate", "append", "-m", line, &key]);
}

/// The line number `needle` sits on in `feature`'s note, as the tool counts them.
fn line_of(t: &TestRepo, feature: &str, needle: &str) -> usize {
    let key = t.hash_blob(&format!("git-orchestrate feature {feature}\n"));
    let note = t.git(["notes", "--ref=orchestrate", "show", &key]);
    note.split('\n').position(|l| l.contains(needle)).expect("the line is in the note") + 1
}

const ZERO: &str = "0000000000000000000000000000000000000000";

/// A branch name with a newline and a command substitution, from the notes, once made every
/// shim a syntax error (every commit on every branch failed) and could run the command.
#[test]
fn a_branch_name_with_a_newline_in_the_notes_never_reaches_a_shim() {
    let t = TestRepo::new();
    t.run(["start", "f"]).ok();
    t.git(["switch", "-q", "main"]);
    let evil = serde_json::json!({
        "seq": 5, "ts": "2026-01-01T00:00:00Z", "id": "evil", "by": "mallory",
        "event": "phase-started", "phase": 1, "branch": "evil\n$(touch pwned)", "fork": ZERO,
    });
    append_raw(&t, "f", &evil.to_string());
    let line = line_of(&t, "f", "\"evil\"");
    let install = t.run(["hooks", "install"]).ok();
    assert!(install.stderr.contains(&format!("line {line}")), "{}", install.stderr);
    for hook in ["pre-commit", "commit-msg"] {
        let shim = std::fs::read_to_string(t.dir.join(".git/hooks").join(hook)).unwrap();
        assert!(!shim.contains("pwned"), "{hook}:\n{shim}");
        let syntax = t.command("sh", &t.dir).args(["-n", &format!(".git/hooks/{hook}")]).output().unwrap();
        assert!(syntax.status.success(), "{hook}: {}", String::from_utf8_lossy(&syntax.stderr));
    }
    t.commit_file("a.txt", "a\n", "chore: a commit on main");
    assert!(!t.dir.join("pwned").exists() && !t.dir.join(".git/pwned").exists());

    let status = t.run(["status"]).ok();
    assert!(status.stdout.contains("corrupt"), "{}", status.stdout);
    assert!(status.stdout.contains(&format!("line {line}")), "{}", status.stdout);
    assert!(status.stdout.contains("branch"), "{}", status.stdout);
    let doctor = t.run(["doctor"]);
    assert_ne!(doctor.code, 0);
    assert!(
        doctor.stdout.contains("note for feature `f`") && doctor.stdout.contains(&format!("line {line}")),
        "{}",
        doctor.stdout
    );
}

/// `seq` `u64::MAX` once made the next event wrap to 0 and sort first: the approval printed
/// "approved" and counted for nothing.
#[test]
fn a_huge_seq_never_swallows_the_next_approval() {
    let t = TestRepo::new();
    let plan = t.root.join("plan.md");
    std::fs::write(&plan, TestRepo::plan_text("f", 1)).unwrap();
    t.run(["start", "f", "--plan", plan.to_str().unwrap()]).ok();
    let line =
        r#"{"seq":18446744073709551615,"ts":"2026-01-01T00:00:00Z","id":"huge","by":"x","event":"from-the-future"}"#;
    append_raw(&t, "f", line);
    let approve = t.run(["approve", "plan", "--yes"]);
    assert!(!approve.stderr.contains("panicked"), "{}", approve.stderr);
    if approve.code == 0 {
        let status = t.run(["status", "--json"]).ok().json();
        assert_eq!(status["features"][0]["state"], "in-progress", "approved means approved");
    } else {
        let at = line_of(&t, "f", "\"huge\"");
        assert!(approve.stderr.contains("error: refs/notes/orchestrate note for feature `f`"), "{}", approve.stderr);
        assert!(approve.stderr.contains(&format!("line {at}")) && approve.stderr.contains("seq"), "{}", approve.stderr);
        assert!(!approve.stderr.contains("approved plan"), "{}", approve.stderr);
    }
}

/// A malformed object id was read back with `.ok()` and quietly moved the phase to review.
#[test]
fn a_malformed_fork_id_is_an_error_not_a_state_change() {
    let t = TestRepo::new();
    t.started_and_approved("f", 1);
    t.run(["phase", "start"]).ok();
    let branch = t.head_branch();
    let forged = serde_json::json!({
        "seq": 50, "ts": "2026-01-01T00:00:00Z", "id": "forged", "by": "mallory",
        "event": "phase-started", "phase": 1, "branch": branch, "fork": "z".repeat(40),
    });
    append_raw(&t, "f", &forged.to_string());
    let status = t.run(["status", "--json"]).ok().json();
    let f = &status["features"][0];
    assert_eq!(f["state"], "corrupt", "{status}");
    assert!(f["problem"].as_str().unwrap().contains("fork"), "{status}");
    let brief = t.run(["phase", "brief"]);
    assert_ne!(brief.code, 0);
    assert!(brief.stderr.contains("is not an object id"), "{}", brief.stderr);
}

/// One feature's bad line is that feature's problem: the others still show, in text and JSON.
#[test]
fn one_damaged_log_leaves_the_other_features_visible() {
    let t = TestRepo::new();
    t.started_and_approved("good", 1);
    t.git(["switch", "-q", "main"]);
    t.started_and_approved("bad", 1);
    append_raw(&t, "bad", "this is not json");
    let at = line_of(&t, "bad", "not json");
    let json = t.run(["status", "--json"]).ok().json();
    let features = json["features"].as_array().unwrap();
    assert_eq!(features.len(), 2, "{json}");
    assert_eq!(features[0]["name"], "bad");
    assert_eq!(features[0]["state"], "corrupt");
    assert!(features[0]["problem"].as_str().unwrap().contains(&format!("line {at}")), "{json}");
    assert_eq!(features[1]["name"], "good");
    assert_eq!(features[1]["state"], "in-progress");
    let text = t.run(["status"]).ok();
    assert!(text.stdout.contains("good") && text.stdout.contains("in-progress"), "{}", text.stdout);
    assert!(text.stdout.contains("corrupt") && text.stdout.contains("doctor --repair"), "{}", text.stdout);
}

/// `gate` on a phase branch of a feature whose log is damaged fails closed: it used to run
/// without the feature's context, as if the branch belonged to none.
#[test]
fn gate_on_a_feature_branch_with_a_damaged_log_fails_closed() {
    let t = TestRepo::new();
    t.started_and_approved("f", 1);
    t.run(["phase", "start"]).ok();
    t.run(["gate"]).ok();
    append_raw(&t, "f", "{\"seq\": 1");
    let gate = t.run(["gate"]);
    assert_eq!(gate.code, 1, "{}{}", gate.stdout, gate.stderr);
    assert!(gate.stderr.contains("error: refs/notes/orchestrate note for feature `f`"), "{}", gate.stderr);
    assert!(gate.stderr.contains("doctor --repair"), "{}", gate.stderr);
}

/// `doctor --repair` drops exactly the bad lines, keeps every valid record byte for byte, says
/// what it dropped, and the feature is back.
#[test]
fn doctor_repair_drops_only_the_bad_lines() {
    let t = TestRepo::new();
    t.started_and_approved("f", 1);
    let key = t.hash_blob("git-orchestrate feature f\n");
    let before = t.git(["notes", "--ref=orchestrate", "show", &key]);
    let old_tip = t.rev("refs/notes/orchestrate");
    append_raw(&t, "f", "garbage line");
    let at = line_of(&t, "f", "garbage");
    let doctor = t.run(["doctor", "--json"]);
    let checks = doctor.json()["checks"].clone();
    let log = checks.as_array().unwrap().iter().find(|c| c["check"] == "event log").unwrap().clone();
    assert_eq!(log["ok"], false);
    assert!(
        log["detail"].as_str().unwrap().contains(&format!("note for feature `f`, object {key}: line {at}")),
        "{log}"
    );
    assert!(log["fix"].as_str().unwrap().contains("doctor --repair"), "{log}");

    let repair = t.run(["doctor", "--repair"]);
    assert!(
        repair
            .stderr
            .contains(&format!("dropped refs/notes/orchestrate note for feature `f`, object {key}: line {at}")),
        "{}",
        repair.stderr
    );
    assert!(repair.stderr.contains("1 bad line dropped"), "{}", repair.stderr);
    let after = t.git(["notes", "--ref=orchestrate", "show", &key]);
    let valid = |text: &str| text.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(valid(&after), valid(&before), "every valid record kept as written");
    // A new notes commit on top: the damaged log stays in the history.
    let parent = t.rev("refs/notes/orchestrate^");
    assert_ne!(parent, old_tip);
    assert_eq!(t.rev("refs/notes/orchestrate^^"), old_tip);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "in-progress");
    let again = t.run(["doctor", "--repair"]);
    assert!(again.stderr.contains("nothing to repair"), "{}", again.stderr);
}

const ESC: char = '\u{1b}';

#[track_caller]
fn no_raw_escape(run: &crate::common::Run, what: &str) {
    assert!(
        !run.stdout.contains(ESC) && !run.stderr.contains(ESC),
        "{what} printed a raw ESC:\n{:?}\n{:?}",
        run.stdout,
        run.stderr
    );
}

/// Escape sequences in a plan's tasks, in a committer's name (an event's `by`), in a
/// file name and in a gate's name reach no terminal raw: colour is off (`NO_COLOR`), so any ESC
/// in the output came from the data.
#[test]
fn escape_sequences_from_data_never_reach_the_terminal() {
    let t = TestRepo::new();
    t.commit_file(
        ".orchestrate.toml",
        "[gates.\"evil\\u001b]0;owned\\u0007\"]\nrun = \"true\"\n\n[gates.scope]\n",
        "chore: gates",
    );
    // Plan text with control characters is refused by lint, whose errors show them escaped.
    let hostile = TestRepo::plan_text("f", 1)
        .replace("task 1a", "task \\u001b]8;;x\\u0007 1a")
        .replace("task 1b", "task \\u001b[2J 1b");
    let bad = t.root.join("hostile-plan.md");
    std::fs::write(&bad, hostile).unwrap();
    let lint = t.run(["plan", "lint", "--file", bad.to_str().unwrap()]);
    assert_ne!(lint.code, 0);
    no_raw_escape(&lint, "plan lint");
    let file = t.root.join("plan.md");
    std::fs::write(&file, TestRepo::plan_text("f", 1)).unwrap();
    let eve = [("GIT_COMMITTER_NAME", "Eve \u{1b}[31m"), ("GIT_AUTHOR_NAME", "Eve \u{1b}[31m")];
    t.run_env(&eve, ["start", "f", "--plan", file.to_str().unwrap()]).ok();
    t.run_env(&eve, ["approve", "plan", "--yes"]).ok();
    t.run_env(&eve, ["phase", "start"]).ok();
    let name = "outside\u{1b}[5m.txt";
    t.write(name, "x\n");
    t.git(["add", "--", name]);
    t.git(["commit", "-q", "-m", "feat: a file"]);

    let brief = t.run(["phase", "brief"]).ok();
    no_raw_escape(&brief, "phase brief");
    let show = t.run(["plan", "show"]).ok();
    no_raw_escape(&show, "plan show");
    let log = t.run(["log"]).ok();
    no_raw_escape(&log, "log");
    assert!(log.stdout.contains("Eve \\u{1b}[31m"), "{}", log.stdout);
    no_raw_escape(&t.run(["status"]).ok(), "status");
    let gate = t.run(["gate"]);
    no_raw_escape(&gate, "gate");
    assert!(gate.stdout.contains("evil\\u{1b}]0;owned\\u{7} pass"), "{}", gate.stdout);
    assert!(gate.stderr.contains("outside\\u{1b}[5m.txt"), "{}", gate.stderr);
    no_raw_escape(&t.run(["doctor"]), "doctor");

    let lcov = t.root.join("lcov.info");
    std::fs::write(&lcov, format!("SF:{name}\nDA:1,1\nend_of_record\n")).unwrap();
    let coverage = t.run(["coverage", "show", lcov.to_str().unwrap()]).ok();
    no_raw_escape(&coverage, "coverage show");
    assert!(coverage.stdout.contains("outside\\u{1b}[5m.txt"), "{}", coverage.stdout);
}
