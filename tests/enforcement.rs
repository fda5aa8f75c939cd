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
    let report = t.run(["gate", "--json"]).code(1).json();
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
    let t = configured("[gates.tests]\nrun = \"true\"\nstage = \"pre-commit\"\n");
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
