//! Every refusal of the core loop: a clear message, the right exit code, nothing changed.

use crate::common::TestRepo;

fn branches(t: &TestRepo) -> String {
    t.git(["for-each-ref", "--format=%(refname)", "refs/heads", "refs/notes"])
}

#[test]
fn start_refuses_a_bad_slug() {
    let t = TestRepo::new();
    for bad in ["JWT", "-x", "a_b", "a--b", "x-", "ü", ""] {
        let run = t.run(["start", "--", bad]).code(2);
        assert!(run.stderr.contains("is not a valid feature name"), "{bad}: {}", run.stderr);
        assert!(run.stderr.contains("hint: use lowercase letters"), "{}", run.stderr);
    }
    assert_eq!(branches(&t), "refs/heads/main\n");
}

#[test]
fn start_refuses_an_unborn_head() {
    let t = TestRepo::empty();
    t.git(["init", "-q", "-b", "main"]);
    let run = t.run(["start", "x"]).code(1);
    assert!(run.stderr.contains("error: branch main has no commits yet"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: make a first commit"), "{}", run.stderr);
}

#[test]
fn start_refuses_an_unknown_base() {
    let t = TestRepo::new();
    let run = t.run(["start", "x", "--base", "nope"]).code(2);
    assert!(run.stderr.contains("unknown base branch `nope`"), "{}", run.stderr);
    assert_eq!(branches(&t), "refs/heads/main\n");
}

#[test]
fn start_refuses_staged_changes_and_leaves_them_staged() {
    let t = TestRepo::new();
    t.write("staged.txt", "mine\n");
    t.git(["add", "staged.txt"]);
    let run = t.run(["start", "x"]).code(1);
    assert!(run.stderr.contains("the index has staged changes"), "{}", run.stderr);
    assert_eq!(t.git(["status", "--porcelain"]), "A  staged.txt\n");
    assert_eq!(branches(&t), "refs/heads/main\n", "no branch, no notes");
}

#[test]
fn start_refuses_an_existing_feature_or_branch() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    t.git(["switch", "-q", "main"]);
    let run = t.run(["start", "x"]).code(1);
    assert!(run.stderr.contains("feature `x` already exists"), "{}", run.stderr);
    t.git(["branch", "orchestrate/y/main"]);
    let run = t.run(["start", "y"]).code(1);
    assert!(run.stderr.contains("branch orchestrate/y/main already exists"), "{}", run.stderr);
}

#[test]
fn start_rolls_back_when_git_cannot_switch() {
    let t = TestRepo::new();
    // An untracked file where the plan would go: switching would overwrite it, git refuses.
    t.write("plans/x/plan.md", "my own notes\n");
    let run = t.run(["start", "x"]).code(1);
    assert!(run.stderr.contains("your files are as they were"), "{}", run.stderr);
    assert_eq!(t.read("plans/x/plan.md"), "my own notes\n");
    assert_eq!(branches(&t), "refs/heads/main\n", "the new branch is removed, no event recorded");
    assert_eq!(t.head_branch(), "main");
}

#[test]
fn phase_start_waits_for_the_plan_approval() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    let run = t.run(["phase", "start", "next"]).code(1);
    assert!(run.stderr.contains("cannot start a phase of x: the plan awaits approval"), "{}", run.stderr);
    assert!(
        run.stderr.contains("hint: a person approves it first: git orchestrate approve plan --feature x"),
        "{}",
        run.stderr
    );
}

#[test]
fn phase_start_waits_for_the_phases_it_depends_on() {
    let t = TestRepo::new();
    t.started_and_approved("x", 3);
    let run = t.run(["phase", "start", "2"]).code(1);
    assert!(run.stderr.contains("phase 2 depends on phase 1, which is not approved yet"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: start it: git orchestrate phase start 1"), "{}", run.stderr);
    t.run(["phase", "start", "1"]).ok();
    t.commit_file("area1/a", "a\n", "work");
    let run = t.run(["phase", "start", "2"]).code(1);
    assert!(run.stderr.contains("hint: finish it: git orchestrate phase brief 1"), "{}", run.stderr);
    t.run(["phase", "submit", "1"]).ok();
    let run = t.run(["phase", "start", "2"]).code(1);
    assert!(run.stderr.contains("hint: approve it: git orchestrate approve phase 1"), "{}", run.stderr);
    let run = t.run(["phase", "start", "next"]).code(1);
    assert!(run.stderr.contains("no phase can start now: phase 1 is awaiting-review"), "{}", run.stderr);
}

#[test]
fn unknown_phase_and_unknown_feature_are_usage_errors() {
    let t = TestRepo::new();
    t.started_and_approved("x", 3);
    let run = t.run(["phase", "start", "9"]).code(2);
    assert!(run.stderr.contains("error: x has no phase 9"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: phases are 1, 2, 3"), "{}", run.stderr);
    let run = t.run(["phase", "brief", "0"]).code(2);
    assert!(run.stderr.contains("x has no phase 0"), "{}", run.stderr);
    let run = t.run(["phase", "start", "two"]).code(2);
    assert!(run.stderr.contains("`two` is not a phase id"), "{}", run.stderr);
    let run = t.run(["status", "--feature", "nope"]).code(2);
    assert!(run.stderr.contains("unknown feature `nope`"), "{}", run.stderr);
    let run = t.run(["approve", "plan", "--feature", "nope", "--yes"]).code(2);
    assert!(run.stderr.contains("unknown feature `nope`"), "{}", run.stderr);
    t.git(["switch", "-q", "main"]);
    let run = t.run(["log"]).code(2);
    assert!(run.stderr.contains("branch main belongs to no feature"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: name one with --feature: x"), "{}", run.stderr);
}

#[test]
fn approve_phase_needs_a_started_phase_with_commits() {
    let t = TestRepo::new();
    t.started_and_approved("x", 2);
    let run = t.run(["approve", "phase", "1", "--yes"]).code(1);
    assert!(run.stderr.contains("phase 1 of x has not started"), "{}", run.stderr);
    t.run(["phase", "start"]).ok();
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("phase 1 has no commits on orchestrate/x/1-database-schema yet"), "{}", run.stderr);
}

#[test]
fn approvals_need_a_terminal_or_yes() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    let run = t.run(["approve", "plan"]).code(2);
    assert!(run.stderr.contains("approving needs a terminal to ask on, or --yes"), "{}", run.stderr);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-plan-approval");
}

#[test]
fn approvals_are_refused_inside_an_agent() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    for var in ["CLAUDECODE", "CODEX_SANDBOX", "CURSOR_AGENT", "ORCHESTRATE_AGENT"] {
        let run = t.run_env(&[(var, "1")], ["approve", "plan", "--yes"]).code(1);
        assert!(run.stderr.contains("approvals are human pause points"), "{var}: {}", run.stderr);
    }
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-plan-approval");
    // The refusal never tells the agent how to turn the guard off.
    let run = t.run_env(&[("CLAUDECODE", "1")], ["approve", "plan", "--yes"]).code(1);
    assert!(!run.stderr.contains("allowAgentApprovals") && !run.stderr.contains("git config"), "{}", run.stderr);
    // What an agent can set from inside the repository does not open it.
    t.git(["config", "orchestrate.allowAgentApprovals", "true"]);
    t.git(["config", "--worktree", "orchestrate.allowAgentApprovals", "true"]);
    t.run_env(
        &[("CLAUDECODE", "1"), ("GIT_CONFIG_PARAMETERS", "'orchestrate.allowAgentApprovals'='true'")],
        ["approve", "plan", "--yes"],
    )
    .code(1);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-plan-approval");
    // The user's own opt-in does, and the approval says where it came from.
    t.git(["config", "--global", "orchestrate.allowAgentApprovals", "true"]);
    t.run_env(&[("CLAUDECODE", "1")], ["approve", "plan", "--yes"]).ok();
    assert_eq!(t.events("x").last().unwrap()["agent"], "Claude Code");
    assert!(t.run(["log"]).ok().stdout.contains("from inside Claude Code"));
}

#[test]
fn editing_the_plan_voids_its_approval() {
    let t = TestRepo::new();
    t.started_and_approved("x", 2);
    let plan = t.read("plans/x/plan.md").replace("task 2a", "task 2a, bigger");
    t.write("plans/x/plan.md", &plan);
    let run = t.run(["approve", "plan", "--yes"]).code(0);
    assert!(run.stderr.contains("already approved"), "the committed plan is still the approved one");
    t.git(["commit", "-qam", "docs: widen phase 2"]);
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["state"], "awaiting-plan-approval");
    assert_eq!(s["features"][0]["plan_approval_void"], true);
    let text = t.run(["status"]).ok().stdout;
    assert!(text.contains("void: the plan changed after it was approved"), "{text}");
    let run = t.run(["phase", "start"]).code(1);
    assert!(run.stderr.contains("the plan changed since it was approved"), "{}", run.stderr);
    t.run(["approve", "plan", "--yes"]).ok();
    t.run(["phase", "start"]).ok();
}

#[test]
fn approve_plan_refuses_uncommitted_plan_edits() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    let plan = t.read("plans/x/plan.md").replace("Phase 1", "Schema");
    t.write("plans/x/plan.md", &plan);
    let run = t.run(["approve", "plan", "--yes"]).code(1);
    assert!(run.stderr.contains("plans/x/plan.md has edits that are not committed"), "{}", run.stderr);
}

#[test]
fn approve_plan_refuses_an_invalid_committed_plan() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    let plan = t.read("plans/x/plan.md").replace("id         = 2", "id         = 7");
    t.write("plans/x/plan.md", &plan);
    t.git(["commit", "-qam", "break it"]);
    let run = t.run(["approve", "plan", "--yes"]).code(1);
    assert!(run.stderr.contains("plans/x/plan.md:"), "{}", run.stderr);
    assert!(run.stderr.contains("expected 2, found 7"), "{}", run.stderr);
    let s = t.run(["status", "--json"]).ok().json();
    assert!(s["features"][0]["problem"].as_str().unwrap().contains("expected 2, found 7"));
}

#[test]
fn a_corrupt_note_is_named_not_ignored() {
    let t = TestRepo::new();
    t.run(["start", "x"]).ok();
    let key = t.hash_blob("git-orchestrate feature x\n");
    t.git(["notes", "--ref=orchestrate", "append", "--no-separator", "-m", "{not json", &key]);
    // `status` reports it for that feature; a command acting on the feature refuses it.
    let run = t.run(["status"]).ok();
    assert!(run.stdout.contains("line 2 of the event log is not a valid event"), "{}", run.stdout);
    let run = t.run(["log", "--feature", "x"]).code(1);
    assert!(run.stderr.contains("line 2 of the event log is not a valid event"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: the note was edited by hand or damaged"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn outside_a_repository_is_a_usage_error() {
    let t = TestRepo::empty();
    let run = t.run(["status"]).code(2);
    assert!(run.stderr.starts_with("error: not inside a git repository"), "{}", run.stderr);
}

#[test]
fn a_bad_config_names_its_line() {
    let t = TestRepo::new();
    t.configure("[branches]\nintegration = \"orchestrate/{feature}\"\nphase = \"orchestrate/{feature}/{phase}\"\n");
    let run = t.run(["status"]).code(2);
    assert!(
        run.stderr.contains(".orchestrate.toml:3:1: branch `orchestrate/sample-feature/1` cannot live beside"),
        "{}",
        run.stderr
    );
    t.configure("[gates.tests]\nrun = 'x'\nstage = \"sometimes\"\n");
    let run = t.run(["status"]).code(2);
    assert!(run.stderr.contains(".orchestrate.toml:3:9: unknown variant `sometimes`"), "{}", run.stderr);
}

#[test]
fn a_git_older_than_the_minimum_is_refused_with_the_version_to_install() {
    let t = TestRepo::new();
    // A `git` that says it is 2.30 and does the rest as the real one.
    let real =
        String::from_utf8(std::process::Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
            .unwrap();
    let bin = t.root.join("old-git");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = bin.join("git");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nfor a; do [ \"$a\" = --version ] && echo 'git version 2.30.0' && exit 0; done\nexec '{}' \"$@\"\n",
            real.trim()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    #[allow(clippy::disallowed_methods)]
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let plan = t.root.join("plan.md");
    std::fs::write(&plan, TestRepo::plan_text("x", 1)).unwrap();
    let run = t.run_env(&[("PATH", &path)], ["start", "x", "--plan", plan.to_str().unwrap()]).code(1);
    assert!(
        run.stderr.contains("error: git version 2.30.0 is too old: git-orchestrate needs git 2.40 or newer"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: install git 2.40 or newer"), "{}", run.stderr);
    assert_eq!(branches(&t), "refs/heads/main\n", "nothing was made");
    let doctor = t.run_env(&[("PATH", &path)], ["doctor", "--json"]);
    assert!(doctor.stdout.contains("git version 2.30.0"), "{}", doctor.stdout);
}
