//! The second half of the loop: submit, review, request changes, the phase report, finish.

use crate::common::TestRepo;

/// Gates: secrets and scope (built in) and a tests gate at pre-push; feature `f`, two phases.
fn feature() -> TestRepo {
    let t = TestRepo::new();
    t.configure("[gates.tests]\nrun = \"test ! -e area1/broken && echo '2 passed in 0.01s'\"\nstage = \"pre-push\"\n");
    t.started_and_approved("f", 2);
    t
}

fn phase(t: &TestRepo, n: u32, files: &[(&str, &str)]) {
    t.run(["phase", "start", &n.to_string()]).ok();
    for (path, text) in files {
        t.commit_file(path, text, &format!("feat(f): {path}"));
    }
}

fn state(t: &TestRepo, n: usize) -> String {
    t.run(["status", "--json"]).ok().json()["features"][0]["phases"][n]["state"].as_str().unwrap().to_string()
}

#[test]
fn request_changes_then_fix_submit_and_approve() {
    let t = feature();
    phase(&t, 1, &[("area1/a.txt", "a\n")]);
    assert_eq!(state(&t, 0), "active", "a commit alone asks for no review");
    t.run(["phase", "submit"]).ok();
    assert_eq!(state(&t, 0), "awaiting-review");
    // The review: files, gates, where to look.
    let review = t.run(["review", "--json"]).ok().json();
    assert_eq!(review["files"][0]["path"], "area1/a.txt");
    assert_eq!(review["files"][0]["status"], "created");
    assert_eq!(review["added"], 1);
    assert!(review["gates"].as_array().unwrap().iter().any(|g| g["gate"] == "tests" && g["verdict"] == "pass"));
    // Sent back: active again, the reason in status and in the brief.
    t.run(["review", "--request-changes", "-m", "test the empty input"]).ok();
    assert_eq!(state(&t, 0), "active");
    assert!(t.run(["status"]).ok().stdout.contains("changes requested: test the empty input"));
    let brief = t.run(["phase", "brief"]).ok().stdout;
    assert!(brief.contains("sent this phase back (NEEDS_REVISION): test the empty input"), "{brief}");
    // Approving it now is refused: it is not submitted.
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("is not submitted for review"), "{}", run.stderr);
    t.commit_file("area1/empty.txt", "\n", "test(f): the empty input");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes", "-m", "good now"]).ok();
    assert_eq!(state(&t, 0), "approved");
}

#[test]
fn a_failing_gate_keeps_a_phase_from_review() {
    let t = feature();
    phase(&t, 1, &[("area1/broken", "x\n")]);
    let run = t.run(["phase", "submit"]).code(1);
    assert!(run.stderr.contains("phase 1 of f is not ready for review: tests did not pass"), "{}", run.stderr);
    assert_eq!(state(&t, 0), "active");
}

#[test]
fn the_phase_report_and_trailers_carry_the_evidence_s_figures() {
    let t = feature();
    phase(&t, 1, &[("area1/a.txt", "one\ntwo\n")]);
    t.run(["phase", "submit"]).ok();
    let review = t.run(["review", "--json"]).ok().json();
    t.run(["approve", "phase", "--yes", "-m", "reviewed with care"]).ok();
    let report = t.git(["show", "orchestrate/f/main:plans/f/phase-1-complete.md"]);
    let tests = review["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "tests").unwrap()["summary"].clone();
    assert_eq!(tests, "2 passed, 0 failed, 0 skipped");
    assert!(report.contains("tests: 2 passed, 0 failed, 0 skipped"), "the figure from the evidence:\n{report}");
    assert!(report.contains("| `area1/a.txt` | created | +2 −0 |"), "{report}");
    assert!(report.contains("reviewed with care"), "{report}");
    assert!(report.contains(&format!("reviewed tree {}", review["tree"].as_str().unwrap())), "{report}");
    let message = t.git(["log", "-1", "--format=%B", "orchestrate/f/main"]);
    assert!(message.contains("Tests: 2/2"), "{message}");
    assert!(message.contains("Review: reviewed with care"), "{message}");
    // Writing the report changes no verdict: status reads the reviewed tree's evidence.
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["phases"][0]["gates"]["tests"], "pass", "{s}");
}

/// Both phases approved.
fn done() -> TestRepo {
    let t = feature();
    phase(&t, 1, &[("area1/a.txt", "a\n")]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    phase(&t, 2, &[("area2/b.txt", "b\n")]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    t
}

#[test]
fn finish_gates_writes_complete_md_waits_for_approval_and_merges_into_a_base_that_moved() {
    let t = done();
    // The base moves meanwhile.
    t.git(["switch", "-q", "main"]);
    t.commit_file("CHANGES.md", "elsewhere\n", "docs: a change on main");
    let base_before = t.rev("main");
    let run = t.run(["finish"]).ok();
    assert!(run.stderr.contains("merged main into orchestrate/f/main first"), "{}", run.stderr);
    assert!(run.stderr.contains("approve finish"), "{}", run.stderr);
    assert_eq!(t.rev("main"), base_before, "nothing reaches the base before the approval");
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-finish");
    let complete = t.git(["show", "orchestrate/f/main:plans/f/complete.md"]);
    assert!(complete.contains("| 1. Database schema | @maat |"), "{complete}");
    assert!(complete.contains("Phases: 2 complete"), "{complete}");
    // Merging before the approval is refused at push, and finish says what it waits for.
    t.run(["approve", "finish", "--yes"]).ok();
    t.run(["finish"]).ok();
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["state"], "finished", "{s}");
    assert_eq!(s["features"][0]["merged_as"], t.rev("main").as_str(), "{s}");
    assert!(t.run(["status"]).ok().stdout.contains(&format!("merged into main as {}", &t.rev("main")[..10])));
    assert_eq!(t.rev("main^1"), base_before, "a merge commit on top of the moved base");
    assert_eq!(t.rev("main^2"), t.rev("orchestrate/f/main"));
    let message = t.git(["log", "-1", "--format=%B", "main"]);
    assert!(
        message.starts_with("feat: JWT authentication with refresh tokens\n\n- feat(f): database schema"),
        "{message}"
    );
    assert!(message.contains("See: plans/f/complete.md"), "{message}");
    assert_eq!(t.read("CHANGES.md"), "elsewhere\n");
    assert!(t.dir.join("plans/f/complete.md").exists());
    // The phase branches are cleaned up.
    assert!(t.git(["branch", "--list", "orchestrate/f/1-*"]).trim().is_empty());
}

#[test]
fn finish_is_refused_on_a_failing_final_gate() {
    let t = done();
    // The final gate fails on the integration tip (a plan-folder note named like the file
    // the tests gate refuses would not do: make the base bring it).
    t.git(["switch", "-q", "main"]);
    t.commit_file("area1/broken", "x\n", "chore: break the build");
    let run = t.run(["finish"]).code(1);
    assert!(run.stderr.contains("f cannot finish: tests did not pass"), "{}", run.stderr);
    assert_ne!(t.git_try(["cat-file", "-e", "orchestrate/f/main:plans/f/complete.md"]).code, 0, "no complete.md");
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-finish");
    let run = t.run(["approve", "finish", "--yes"]).code(1);
    assert!(run.stderr.contains("not ready to finish"), "{}", run.stderr);
}

#[test]
fn a_merge_made_by_hand_is_recognised_after_the_gates_and_the_approval() {
    let t = done();
    t.git(["switch", "-q", "main"]);
    t.git(["merge", "-q", "--no-ff", "-m", "Merge the feature by hand", "orchestrate/f/main"]);
    let merged = t.rev("main");
    let run = t.run(["finish"]).ok();
    assert!(run.stderr.contains("merged by hand"), "{}", run.stderr);
    t.run(["approve", "finish", "--yes"]).ok();
    t.run(["finish"]).ok();
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["state"], "finished");
    assert_eq!(t.rev("main"), merged, "nothing new is made");
    assert!(t.events("f").iter().any(|e| e["event"] == "finished" && e["strategy"] == "by-hand"));
}

#[test]
fn a_finished_feature_reaches_its_base_through_a_gated_push() {
    let t = done();
    t.run(["hooks", "install"]).ok();
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "--no-verify", "origin", "main"]);
    t.run(["finish"]).ok();
    // Before the finish is approved and done, the base does not take the feature.
    t.git(["switch", "-q", "main"]);
    let run = t.git_try(["push", "-q", "origin", "orchestrate/f/main:main"]);
    assert!(run.stderr.contains("the feature is not finished"), "{}", run.stderr);
    t.run(["approve", "finish", "--yes"]).ok();
    t.run(["finish", "--strategy", "squash"]).ok();
    let run = t.git_try(["push", "-q", "origin", "main"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(t.git(["rev-list", "--count", "main"]).trim(), "3", "squash: one commit for the feature");
}

#[test]
fn a_bugfix_lane_is_one_phase_whose_review_is_the_pause_point() {
    let t = TestRepo::new();
    t.configure(
        "[gates.tests]\nrun = \"echo '1 passed in 0.01s'\"\nstage = \"pre-push\"\n\n[gates.slow-e2e]\nrun = \"exit 1\"\nstage = \"pre-push\"\n\n[lanes.bugfix]\ngates = [\"tests\"]\n",
    );
    t.run(["start", "fix-login", "--lane", "bugfix"]).ok();
    let plan = t.read("plans/fix-login/plan.md");
    assert_eq!(plan.matches("[[phase]]").count(), 1, "{plan}");
    // No separate plan approval: the phase can start at once.
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["state"], "in-progress", "{s}");
    t.run(["phase", "start"]).ok();
    let paths = plan.lines().find(|l| l.starts_with("paths")).unwrap_or_default().to_string();
    let area = paths.split('"').nth(1).unwrap_or("src/**").trim_end_matches("/**").to_string();
    t.commit_file(&format!("{area}/fix.txt"), "fixed\n", "fix(fix-login): the fix");
    // The lane's gate set: the failing e2e gate is not part of it.
    let submit = t.run(["phase", "submit", "--json"]).ok().json();
    let gates: Vec<&str> = submit["gates"].as_array().unwrap().iter().map(|g| g["gate"].as_str().unwrap()).collect();
    assert!(gates.contains(&"tests") && !gates.contains(&"slow-e2e"), "{gates:?}");
    t.run(["approve", "phase", "--yes"]).ok();
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-finish");
    // A lane never grows into an unapproved multi-phase plan.
    let two = TestRepo::plan_text("big", 2);
    let file = t.root.join("big.md");
    std::fs::write(&file, two).unwrap();
    let run = t.run(["start", "big", "--lane", "hotfix", "--plan", file.to_str().unwrap()]).code(2);
    assert!(run.stderr.contains("a hotfix lane has exactly one phase"), "{}", run.stderr);
}

/// A bare remote `origin`, and a `gh` stand-in that records its arguments (when `fake_gh`).
fn with_remote(t: &TestRepo, fake_gh: bool) -> Option<String> {
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "origin", "main"]);
    if !fake_gh {
        return None;
    }
    let bin = t.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = t.root.join("gh.log");
    std::fs::write(
        bin.join("gh"),
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho https://example.com/pr/1\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("gh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    #[allow(clippy::disallowed_methods)]
    Some(format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default()))
}

#[test]
fn submit_and_finish_open_pull_requests_with_the_measured_review_as_their_body() {
    let t = feature();
    with_remote(&t, false);
    phase(&t, 1, &[("area1/a.txt", "a\n")]);
    // Without gh: the branches are pushed, the body is written, the command is given.
    let run = t.run(["phase", "submit", "--pr"]).ok();
    assert!(
        run.stderr.contains("gh is not on PATH: open it with gh pr create --base orchestrate/f/main"),
        "{}",
        run.stderr
    );
    let remote = t.git(["ls-remote", "origin"]);
    assert!(remote.contains("refs/heads/orchestrate/f/1-database-schema"), "{remote}");
    let body_file = t.dir.join(".git/orchestrate/pr/orchestrate_f_1-database-schema.md");
    let body = std::fs::read_to_string(&body_file).unwrap();
    assert!(body.contains("Phase 1 of f: Database schema") && body.contains("area1/a.txt"), "{body}");
    assert!(!body.contains('\u{1b}'), "no terminal codes in a body");

    // With gh: it is run with the base, the head and the body file.
    let t = feature();
    let path = with_remote(&t, true).unwrap();
    phase(&t, 1, &[("area1/a.txt", "a\n")]);
    let run = t.run_env(&[("PATH", &path)], ["phase", "submit", "--pr"]).ok();
    assert!(run.stderr.contains("opened the pull request: https://example.com/pr/1"), "{}", run.stderr);
    let args = std::fs::read_to_string(t.root.join("gh.log")).unwrap();
    assert!(args.contains("--base\norchestrate/f/main\n--head\norchestrate/f/1-database-schema\n"), "{args}");
    // Approving closes the loop on that pull request, naming the squash.
    t.run_env(&[("PATH", &path)], ["approve", "phase", "--yes"]).ok();
    let args = std::fs::read_to_string(t.root.join("gh.log")).unwrap();
    let squash = t.rev("orchestrate/f/main");
    assert!(args.starts_with("pr\nclose\norchestrate/f/1-database-schema\n--comment\n"), "{args}");
    assert!(args.contains(&squash), "{args}");
    assert_eq!(t.git(["rev-parse", "refs/remotes/origin/orchestrate/f/main"]).trim(), squash, "pushed");
    phase(&t, 2, &[("area2/b.txt", "b\n")]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    let run = t.run_env(&[("PATH", &path)], ["finish", "--pr"]).ok();
    assert!(run.stderr.contains("opened the pull request"), "{}", run.stderr);
    let args = std::fs::read_to_string(t.root.join("gh.log")).unwrap();
    assert!(args.contains("--base\nmain\n--head\norchestrate/f/main\n"), "{args}");

    // A base the forge protects takes the pull request without --pr (gh answers `true`).
    let t = done();
    let path = with_remote(&t, true).unwrap();
    let gh = t.root.join("bin/gh");
    let log = t.root.join("gh.log");
    std::fs::write(
        &gh,
        format!(
            "#!/bin/sh
if [ \"$1\" = api ]; then echo true; exit 0; fi
printf '%s\\n' \"$@\" > '{}'
echo https://example.com/pr/2
",
            log.display()
        ),
    )
    .unwrap();
    let run = t.run_env(&[("PATH", &path)], ["finish"]).ok();
    assert!(run.stderr.contains("main is protected: the feature goes through a pull request"), "{}", run.stderr);
    assert!(run.stderr.contains("opened the pull request: https://example.com/pr/2"), "{}", run.stderr);
}

#[test]
fn the_squash_counts_lines_lost_and_no_secret_reaches_an_artifact() {
    let t = TestRepo::new();
    t.configure("[gates.tests]\nrun = \"echo '2 passed in 0.01s'\"\nstage = \"pre-push\"\n");
    t.started_with(
        "f",
        &TestRepo::plan_text("f", 2).replace("paths = [\"area2/**\"]", "paths = [\"area2/**\", \"area1/a.txt\"]"),
    );
    // Phase 1 creates a file; phase 2 rewrites part of it.
    phase(&t, 1, &[("area1/a.txt", "one\ntwo\nthree\n")]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    t.run(["phase", "start", "2"]).ok();
    t.commit_file("area1/a.txt", "one\n2\n", "feat(f): rewrite");
    t.commit_file("area2/b.txt", "b\n", "feat(f): b");
    t.run(["phase", "submit"]).ok();
    // A note with a secret is refused before anything is squashed.
    let key = format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O");
    let before = t.rev("orchestrate/f/main");
    let run = t.run(["approve", "phase", "--yes", "-m", &format!("deploy with {key}")]).code(1);
    assert!(run.stderr.contains("refusing to record"), "{}", run.stderr);
    assert_eq!(t.rev("orchestrate/f/main"), before);
    t.run(["approve", "phase", "--yes", "-m", "fine"]).ok();
    let message = t.git(["log", "-1", "--format=%B", "orchestrate/f/main"]);
    assert!(message.contains("- area1/a.txt (+1 −2)"), "lines added and removed:\n{message}");
    let everything = t.git(["log", "-p", "orchestrate/f/main"]);
    assert!(!everything.contains(&key), "no secret in any commit or report");
}
