//! Hooks on real `git commit` and `git push`: installed, chained, restored, honouring
//! core.hooksPath, gating phase branches and staying silent elsewhere.

use crate::common::TestRepo;

fn aws() -> String {
    format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O")
}

/// A repository with hooks installed, a secrets gate, and phase 1 of `x` started.
fn on_phase() -> TestRepo {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t
}

fn files(t: &TestRepo) -> Vec<(String, Vec<u8>)> {
    ["README.md", "notes dir/ü.txt"].iter().map(|p| (p.to_string(), std::fs::read(t.dir.join(p)).unwrap())).collect()
}

#[test]
fn off_feature_branches_are_not_touched() {
    let t = TestRepo::new();
    t.run(["init"]).ok();
    let status = t.run(["hooks", "status"]).ok().stdout;
    assert!(status.contains("pre-commit          fires"), "{status}");
    t.write("a.txt", &format!("not a feature: {}\n", aws()));
    t.git(["add", "a.txt"]);
    let run = t.git_try(["commit", "-m", "whatever, not conventional"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stderr, "", "nothing at all on a branch with nothing to do");
}

#[test]
fn a_secret_is_blocked_at_commit_and_the_work_tree_is_intact() {
    let t = on_phase();
    t.write("README.md", "hello\nunstaged edit\n");
    t.write("notes dir/ü.txt", "untracked\n");
    let before = files(&t);
    t.write("area1/config.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "area1/config.py"]);
    let head = t.rev("HEAD");
    let run = t.git_try(["commit", "-m", "feat(x): config"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("secrets: area1/config.py:1: AWS access key id"), "{}", run.stderr);
    assert!(!run.stderr.contains(&aws()));
    assert_eq!(t.rev("HEAD"), head, "nothing was committed");
    assert_eq!(files(&t), before, "unstaged and untracked work is byte-identical");
    assert_eq!(t.git(["diff", "--cached", "--name-only"]), "area1/config.py\n", "the staged change stays staged");
    // The fix goes through.
    t.write("area1/config.py", "KEY = os.environ[\"KEY\"]\n");
    t.git(["add", "area1/config.py"]);
    let run = t.git_try(["commit", "-m", "feat(x): config from the environment"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(files(&t), before);
}

/// A JSON Web Token, assembled so that none sits in this file.
fn jwt() -> String {
    format!(
        "{}.{}.{}",
        "eyJhbGciOiJIUzI1NiIs".to_string() + "InR5cCI6IkpXVCJ9",
        "eyJzdWIiOiIxMjM0NTY3ODkwIn0",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
}

#[test]
fn a_jwt_and_a_generic_api_key_are_blocked_at_commit_and_placeholders_pass() {
    let t = on_phase();
    let head = t.rev("HEAD");
    for (file, secret, rule) in [
        ("area1/client.js", jwt(), "JSON Web Token"),
        ("area1/settings.py", "q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1".to_string(), "secret-like name"),
    ] {
        t.write(file, &format!("api_key = \"{secret}\"\n"));
        t.git(["add", file]);
        let run = t.git_try(["commit", "-m", "feat(x): client"]);
        assert_ne!(run.code, 0, "{file}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("secrets: {file}:1: ")) && run.stderr.contains(rule), "{}", run.stderr);
        assert!(!run.stderr.contains(&secret[8..]), "the secret is never shown: {}", run.stderr);
        assert_eq!(t.rev("HEAD"), head, "nothing was committed");
        t.git(["rm", "-q", "--cached", file]);
        std::fs::remove_file(t.dir.join(file)).unwrap();
    }
    // Placeholders, variables, UUIDs and hashes go through.
    t.write(
        "area1/settings.py",
        "api_key = \"your_api_key_here\"\ntoken = \"${GITHUB_TOKEN}\"\n\
         secret_sha = \"da39a3ee5e6b4b0d3255bfef95601890afd80709\"\n\
         credentialsId = \"29f63271-dc2f-4734-8221-5b31b5169bac\"\npassword = os.environ[\"PASSWORD\"]\n",
    );
    t.git(["add", "area1/settings.py"]);
    let run = t.git_try(["commit", "-m", "feat(x): settings"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn commit_all_is_judged_on_gits_temporary_index() {
    let t = on_phase();
    t.commit_file("area1/settings.py", "KEY = None\n", "feat(x): settings");
    t.write("area1/settings.py", &format!("KEY = \"{}\"\n", aws()));
    let run = t.git_try(["commit", "-a", "-m", "feat(x): key"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("AWS access key id"), "{}", run.stderr);
    let run = t.git_try(["commit", "-m", "feat(x): key", "--", "area1/settings.py"]);
    assert_ne!(run.code, 0, "git commit <paths> too: {}", run.stderr);
}

#[test]
fn messages_are_generated_and_linted() {
    let t = on_phase();
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    // No -m: the message comes from the phase's template (GIT_EDITOR=: keeps it as is).
    let run = t.git_try(["commit", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(t.git(["log", "-1", "--format=%s"]).trim(), "feat(x): database schema");
    let body = t.git(["log", "-1", "--format=%b"]);
    assert!(body.contains("- area1/a.txt (new, +1)"), "the body says what was staged: {body}");
    assert!(body.contains("Feature: x\nPhase: 1/2"), "{body}");
    assert!(!body.contains("Approved-by"), "no approval yet: {body}");
    let trailers = t.git(["log", "-1", "--format=%(trailers:only,unfold)"]);
    assert_eq!(trailers.trim(), "Feature: x\nPhase: 1/2", "git reads them as trailers");
    t.write("area1/b.txt", "b\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "updated stuff"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("the first line must be `type(scope): subject`"), "{}", run.stderr);
    let run = t.git_try(["commit", "-m", &format!("feat(x): token {}", aws())]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("AWS access key id (AKIA…(20 chars))"), "{}", run.stderr);
    let run = t.git_try(["commit", "-m", "feat(x): b"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_existing_hook_keeps_running_and_comes_back_on_uninstall() {
    let t = TestRepo::new();
    let hook = t.dir.join(".git/hooks/pre-commit");
    let original = "#!/bin/sh\necho mine >> \"$(git rev-parse --git-dir)/mine.log\"\n";
    std::fs::write(&hook, original).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let changes = t.run(["hooks", "install", "--json"]).ok().json();
    assert_eq!(changes["hooks"][0], serde_json::json!({"hook": "pre-commit", "action": "chained"}));
    t.commit_file("a.txt", "a\n", "chore: a");
    assert_eq!(std::fs::read_to_string(t.dir.join(".git/mine.log")).unwrap(), "mine\n", "the user's hook ran");
    // Install again: idempotent, the kept hook is not lost.
    t.run(["hooks", "install"]).ok();
    assert!(t.run(["hooks", "status"]).ok().stdout.contains("runs your previous hook first"));
    t.run(["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), original, "restored byte for byte");
    assert!(!t.dir.join(".git/hooks/pre-commit.orchestrate-chained").exists());
    for h in ["commit-msg", "pre-push", "prepare-commit-msg", "pre-merge-commit"] {
        assert!(!t.dir.join(".git/hooks").join(h).exists(), "{h} removed");
    }
}

#[test]
fn a_failing_chained_hook_still_blocks() {
    let t = TestRepo::new();
    let hook = t.dir.join(".git/hooks/pre-commit");
    std::fs::write(&hook, "#!/bin/sh\necho 'lint failed' >&2\nexit 3\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    t.run(["hooks", "install"]).ok();
    t.write("a.txt", "a\n");
    t.git(["add", "a.txt"]);
    let run = t.git_try(["commit", "-m", "chore: a"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("lint failed"), "{}", run.stderr);
    // On a feature branch the binary runs it, and says whose hook failed.
    t.git(["reset", "-q"]);
    t.started_and_approved("x", 1);
    t.write("b.txt", "b\n");
    t.git(["add", "b.txt"]);
    let run = t.git_try(["commit", "-m", "chore: b"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("your own pre-commit hook"), "{}", run.stderr);
}

#[test]
fn core_hooks_path_is_honoured_or_refused() {
    let t = TestRepo::new();
    t.git(["config", "core.hooksPath", "tools/hooks"]);
    let run = t.run(["hooks", "install", "--json"]).ok().json();
    assert!(run["dir"].as_str().unwrap().ends_with("tools/hooks"), "{run}");
    assert!(t.dir.join("tools/hooks/pre-commit").exists());
    assert!(t.run(["hooks", "status"]).ok().stdout.contains("(core.hooksPath = tools/hooks)"));
    // In the work tree every shim stays in place: linking them in and out would show in status.
    t.commit_file("a.txt", "a\n", "chore: a");
    assert!(
        t.dir.join("tools/hooks/commit-msg").exists()
            && !t.dir.join("tools/hooks/commit-msg.orchestrate-shim").exists()
    );
    // husky rewrites its directory: refused, with what to do instead.
    t.git(["config", "core.hooksPath", ".husky/_"]);
    let run = t.run(["hooks", "install"]).code(1);
    assert!(run.stderr.contains("core.hooksPath is .husky/_, which husky manages"), "{}", run.stderr);
    assert!(run.stderr.contains(".husky/pre-commit:  git orchestrate hook pre-commit \"$@\""), "{}", run.stderr);
}

#[test]
fn an_absolute_core_hooks_path_outside_the_repository_is_honoured() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    let dir = t.root.join("shared hooks");
    t.git(["config", "core.hooksPath", dir.to_str().unwrap()]);
    let run = t.run(["hooks", "install", "--json"]).ok().json();
    assert_eq!(run["dir"].as_str().unwrap(), dir.to_str().unwrap());
    assert!(!t.dir.join(".git/hooks/pre-commit").exists(), "nothing where git does not look");
    t.commit_file("a.txt", "a\n", "whatever");
    assert!(!dir.join("commit-msg").exists(), "unlinked there outside a feature");
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t.write("area1/a.txt", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "feat(x): a"]);
    assert!(run.stderr.contains("AWS access key id"), "gated from there: {}", run.stderr);
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "not conventional"]);
    assert!(run.stderr.contains("the first line must be"), "and linted: {}", run.stderr);
}

#[test]
fn linked_worktrees_share_the_hooks() {
    let t = on_phase();
    let wt = t.root.join("second tree");
    t.git(["worktree", "add", "-q", wt.to_str().unwrap(), "orchestrate/x/main"]);
    t.git_in(&wt, ["switch", "-q", "-c", "scratch"]);
    std::fs::write(wt.join("b.txt"), "b\n").unwrap();
    t.git_in(&wt, ["add", "b.txt"]);
    let out = t.command("git", &wt).args(["commit", "-q", "-m", "anything goes off-feature"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // On the phase branch checked out here, the hook fires in the other worktree too.
    t.write("area1/k.py", &format!("K = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    assert_ne!(t.git_try(["commit", "-m", "feat(x): k"]).code, 0);
}

#[test]
fn an_approved_phase_takes_no_more_commits_and_skips_are_recorded() {
    let t = TestRepo::new();
    t.commit_file(
        ".orchestrate.toml",
        "[gates.lint]\nrun = \"false\"\nstage = \"pre-commit\"\nrequired = false\n\n[gates.secrets]\n",
        "chore: gates",
    );
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t.write("area1/a", "a\n");
    t.git(["add", "-A"]);
    let run = t.run_env(&[("ORCHESTRATE_SKIP", "lint")], ["gate", "--stage", "pre-commit"]).ok();
    assert!(run.stderr.contains("skipping gate lint (ORCHESTRATE_SKIP); the skip is recorded"), "{}", run.stderr);
    assert!(t.events("x").iter().any(|e| e["event"] == "gate-run" && e["verdict"] == "skipped" && e["gate"] == "lint"));
    let run = t.run_env(&[("ORCHESTRATE_SKIP", "secrets")], ["gate", "--stage", "pre-commit"]).code(1);
    assert!(run.stderr.contains("gate `secrets` is required: ORCHESTRATE_SKIP cannot skip it"), "{}", run.stderr);
    t.git(["commit", "-q", "-m", "feat(x): a"]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    t.git(["switch", "-q", "orchestrate/x/1-database-schema"]);
    t.write("area1/late", "late\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "feat(x): late"]);
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains("phase 1 of x is approved and squashed"), "{}", run.stderr);
}

/// `on_phase` with a bare remote named origin.
fn with_remote() -> TestRepo {
    let t = on_phase();
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "origin", "main"]);
    t
}

#[test]
fn no_verify_is_caught_at_push_until_the_commit_is_gated() {
    let t = with_remote();
    t.commit_file("area1/ok.txt", "fine\n", "feat(x): gated commit");
    t.write("area1/skipped.txt", "not gated\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): skipped the hooks"]);
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_ne!(run.code, 0, "the push is refused");
    assert!(run.stderr.contains("has no passing `secrets` evidence: was it made with --no-verify?"), "{}", run.stderr);
    let short = t.rev("HEAD")[..10].to_string();
    assert!(run.stderr.contains(&format!("git orchestrate gate --rev {short} --stage pre-commit")), "{}", run.stderr);
    // Gating the commit records its evidence; the push goes through.
    t.run(["gate", "--rev", &short, "--stage", "pre-commit"]).ok();
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_message_that_skipped_commit_msg_is_caught_at_push() {
    let t = with_remote();
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    // The tree is gated (its evidence is there), only the message skipped its hook.
    t.run(["gate", "--stage", "pre-commit"]).ok();
    t.git(["commit", "-q", "--no-verify", "-m", "wip"]);
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_ne!(run.code, 0, "the push is refused");
    let short = t.rev("HEAD")[..10].to_string();
    assert!(
        run.stderr.contains(&format!("the message of commit {short} on orchestrate/x/1-database-schema needs work")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("the first line must be `type(scope): subject`"), "{}", run.stderr);
    t.git(["commit", "-q", "--amend", "--no-verify", "-m", "feat(x): a"]);
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn pre_push_runs_the_push_gates_and_guards_the_base() {
    let t = TestRepo::new();
    t.commit_file(
        ".orchestrate.toml",
        "[gates.secrets]\n\n[gates.slowcheck]\nrun = \"test -f area1/ready\"\nstage = \"pre-push\"\n",
        "chore: gates",
    );
    t.run(["hooks", "install"]).ok();
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["remote", "add", "origin", remote.to_str().unwrap()]);
    t.git(["push", "-q", "origin", "main"]);
    t.started_and_approved("x", 1);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/work", "w\n", "feat(x): work");
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_ne!(run.code, 0, "the pre-push gate fails");
    assert!(run.stderr.contains("gate slowcheck did not pass"), "{}", run.stderr);
    t.commit_file("area1/ready", "r\n", "feat(x): ready");
    let run = t.git_try(["push", "-q", "origin", "orchestrate/x/1-database-schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Deleting a branch pushes no commit: allowed.
    let run = t.git_try(["push", "-q", "origin", "--delete", "orchestrate/x/1-database-schema"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The feature's commits may not reach main before finish.
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
    t.git(["switch", "-q", "main"]);
    t.git(["merge", "-q", "--ff-only", "orchestrate/x/main"]);
    let run = t.git_try(["push", "-q", "origin", "main"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("this push brings feature x into main, and the feature is not finished"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_scope_gate_keeps_a_phase_to_its_paths() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n\n[gates.scope]\n", "chore: gates");
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    // Phase 1 may touch area1/**; its own plan folder is always fine.
    t.write("area1/deep/ok.txt", "ok\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "feat(x): in scope"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    t.write("area2/not-mine.txt", "no\n");
    t.write("README.md", "changed\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "feat(x): out of scope"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("scope: outside the phase's paths (area1/**): README.md, area2/not-mine.txt"),
        "{}",
        run.stderr
    );
}

#[test]
fn scope_patterns() {
    use git_orchestrate::gates::in_scope;
    let p = |v: &[&str]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    assert!(in_scope("app/models/user.py", &p(&["app/models/**"])));
    assert!(in_scope("src/lib.rs", &p(&["src/*.rs"])));
    assert!(!in_scope("src/sub/lib.rs", &p(&["src/*.rs"])), "* stays in its directory");
    assert!(in_scope("docs/a/b.md", &p(&["docs"])), "a plain directory covers what is below it");
    assert!(!in_scope("docs2/a.md", &p(&["docs"])));
    assert!(in_scope("dir with space/ü.txt", &p(&["dir with space/**"])));
}

#[test]
fn a_changed_configuration_goes_through_the_binary_and_refreshes_the_shims() {
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    let shim = t.dir.join(".git/hooks/pre-commit");
    assert!(std::fs::read_to_string(&shim).unwrap().contains("refs/heads/orchestrate/*"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    t.write(
        ".orchestrate.toml",
        "[branches]\nintegration = \"work/{feature}/main\"\nphase = \"work/{feature}/{phase}-{slug}\"\n",
    );
    t.git(["add", "-A"]);
    t.git(["switch", "-q", "-c", "work/x/main"]);
    let run = t.git_try(["commit", "-q", "-m", "chore: new layout"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(&shim).unwrap();
    assert!(text.contains("refs/heads/work/*") && !text.contains("refs/heads/orchestrate/*"), "{text}");
}

fn slow_phase() -> TestRepo {
    let t = TestRepo::new();
    t.commit_file(
        ".orchestrate.toml",
        "[gates.slow]\nrun = \"touch \\\"$ORCHESTRATE_MARK\\\"; sleep 5\"\nstage = \"pre-commit\"\n",
        "chore: slow gate",
    );
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 1);
    t.run(["phase", "start"]).ok();
    t
}

/// Start `git commit` in its own process group, wait until the gate command runs, signal the
/// whole group (as a terminal's Ctrl-C does), and return git's exit status.
fn interrupted_commit(t: &TestRepo, signal: &str) -> Option<i32> {
    use std::os::unix::process::CommandExt;
    let mark = t.root.join("gate-started");
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["commit", "-q", "-m", "feat(x): slow"]);
    let child = cmd.env("ORCHESTRATE_MARK", &mark).process_group(0).spawn().unwrap();
    let start = std::time::Instant::now();
    while !mark.exists() && start.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(mark.exists(), "the gate started");
    // `--`: a negative pid names the process group, not another option.
    let status =
        std::process::Command::new("kill").args(["-s", signal, "--", &format!("-{}", child.id())]).status().unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap().status.code()
}

#[test]
fn interrupted_and_killed_hooks_leave_the_work_alone() {
    for signal in ["INT", "KILL"] {
        let t = slow_phase();
        t.write("README.md", "hello\nunstaged edit\n");
        t.write("notes dir/ü.txt", "untracked\n");
        t.write("area1/staged.txt", "staged\n");
        t.git(["add", "area1/staged.txt"]);
        let before = files(&t);
        let head = t.rev("HEAD");
        let code = interrupted_commit(&t, signal);
        assert_ne!(code, Some(0), "{signal}: the commit did not happen");
        assert_eq!(t.rev("HEAD"), head, "{signal}");
        assert_eq!(files(&t), before, "{signal}: unstaged and untracked work is byte-identical");
        let _ = std::fs::remove_file(t.dir.join(".git/index.lock"));
        assert_eq!(t.git(["diff", "--cached", "--name-only"]), "area1/staged.txt\n", "{signal}: still staged");
    }
}

#[test]
fn commits_during_a_rebase_are_judged_for_the_branch_being_rebased() {
    let t = on_phase();
    t.commit_file("area1/one.txt", "1\n", "feat(x): one");
    t.commit_file("area1/two.txt", "2\n", "feat(x): two");
    // Stop at the last commit to edit it: HEAD is detached while the rebase runs.
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["rebase", "-q", "-i", "HEAD~1"]).env("GIT_SEQUENCE_EDITOR", "sed -i -e 's/^pick/edit/'");
    assert!(cmd.status().unwrap().success());
    assert_eq!(t.git(["rev-parse", "--abbrev-ref", "HEAD"]).trim(), "HEAD", "detached during the rebase");
    t.write("area1/two.txt", &format!("K = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "--amend", "-m", "feat(x): two, with a key"]);
    assert_ne!(run.code, 0, "the hook knew the branch being rebased");
    assert!(run.stderr.contains("AWS access key id"), "{}", run.stderr);
    t.git(["rebase", "--abort"]);
}

#[test]
fn doctor_tells_what_is_missing_and_how_to_fix_it() {
    let t = TestRepo::new();
    let run = t.run(["doctor"]).code(1);
    assert!(run.stdout.contains("bad  hook pre-commit"), "{}", run.stdout);
    assert!(run.stdout.contains("fix: git orchestrate hooks install"), "{}", run.stdout);
    assert!(run.stdout.contains("bad  notes merge strategy"), "{}", run.stdout);
    t.run(["init"]).ok();
    let report = t.run(["doctor", "--json"]).json();
    let bad: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    // The test environment has no git-orchestrate on PATH; everything else is in order.
    assert!(bad.iter().all(|c| *c == "binary on PATH"), "{bad:?}");
}

/// `doctor --json` is the report as the operation returns it: its keys in the order they always
/// had (alphabetical), each failed check with its fix, each passed one without.
#[test]
fn doctor_json_keeps_its_key_order() {
    let t = TestRepo::new();
    let run = t.run(["doctor", "--json"]).code(1);
    assert!(
        run.stdout
            .starts_with("{\n  \"checks\": [\n    {\n      \"check\": \"git\",\n      \"detail\": \"git version "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.ends_with("\n  ],\n  \"ok\": false\n}\n"), "{}", run.stdout);
    let report = run.json();
    for c in report["checks"].as_array().unwrap() {
        let keys: Vec<&String> = c.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["check", "detail", "fix", "ok"], "{c}");
        assert_eq!(c["fix"].is_null(), c["ok"] == true, "{c}");
    }
}

#[test]
fn a_merge_into_a_phase_branch_is_gated_like_a_commit() {
    let t = on_phase();
    t.git(["switch", "-q", "-c", "scratch"]);
    t.commit_file("area1/leak.py", &format!("K = \"{}\"\n", aws()), "chore: not a feature branch, not gated");
    t.git(["switch", "-q", "orchestrate/x/1-database-schema"]);
    let run = t.git_try(["merge", "--no-ff", "-m", "feat(x): merge scratch", "scratch"]);
    assert_ne!(run.code, 0, "pre-merge-commit ran the gates");
    assert!(run.stderr.contains("AWS access key id"), "{}", run.stderr);
    let _ = t.git_try(["merge", "--abort"]);
}

#[test]
fn the_scope_gate_knows_its_phase_during_a_rebase() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.scope]\n", "chore: gates");
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 1);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/one.txt", "1\n", "feat(x): one");
    t.commit_file("area1/two.txt", "2\n", "feat(x): two");
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["rebase", "-q", "-i", "HEAD~1"]).env("GIT_SEQUENCE_EDITOR", "sed -i -e 's/^pick/edit/'");
    assert!(cmd.status().unwrap().success());
    t.write("README.md", "outside the phase\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "--amend", "-m", "feat(x): two, and more"]);
    assert_ne!(run.code, 0, "HEAD is detached, yet the phase's paths apply");
    assert!(run.stderr.contains("outside the phase's paths (area1/**): README.md"), "{}", run.stderr);
    t.git(["rebase", "--abort"]);
}

#[test]
fn status_reads_the_tips_evidence_and_commits_do_not_grow_the_features_log() {
    let t = on_phase();
    let gates = |t: &TestRepo| t.run(["status", "--json"]).ok().json()["features"][0]["phases"][0]["gates"].clone();
    assert_eq!(gates(&t)["secrets"], "none", "nothing gated yet");
    let events = t.events("x").len();
    t.write("area1/a.txt", "one\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "feat(x): one"]);
    assert_eq!(gates(&t)["secrets"], "pass", "the hook's evidence on the tip's tree");
    // A blocked attempt judged another tree; the tip still passed.
    t.write("area1/b.txt", &format!("k = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    assert_ne!(t.git_try(["commit", "-m", "feat(x): two"]).code, 0);
    assert_eq!(gates(&t)["secrets"], "pass", "a blocked attempt does not change the tip's verdict");
    // Committing that very tree with --no-verify does not escape its evidence.
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): two"]);
    assert_eq!(gates(&t)["secrets"], "fail", "the tree was judged before");
    // A tree never judged: the earlier verdicts are stale.
    t.write(
        "area1/b.txt",
        "clean again
",
    );
    t.git(["commit", "-q", "--no-verify", "-am", "feat(x): unchecked"]);
    assert_eq!(gates(&t)["secrets"], "stale");
    assert_eq!(t.events("x").len(), events, "evidence lives in its own notes, not in the feature's log");
}

#[test]
fn a_table_on_a_terminal_and_plain_lines_otherwise() {
    let t = on_phase();
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    let piped = t.run(["gate", "--stage", "pre-commit"]).ok().stdout;
    assert!(piped.starts_with("secrets pass 0 secrets, 0 warnings ("), "one plain line per gate: {piped}");
    assert!(!piped.contains("verdict"), "no header off a terminal: {piped}");
    // script(1) gives the command a terminal.
    let gate = format!("{} gate --stage pre-commit", crate::common::BIN);
    let out = t.command("script", &t.dir).args(["-qec", &gate, "/dev/null"]).output().unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(shown.contains("gate     verdict  figure"), "a table on a terminal: {shown}");
    assert!(shown.contains("secrets  pass"), "{shown}");
}

#[test]
fn branches_made_under_an_earlier_pattern_stay_gated() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    t.run(["hooks", "install"]).ok();
    // Phase 1 may change the configuration (the scope gate allows it).
    t.started_with(
        "x",
        &TestRepo::plan_text("x", 2).replacen("\"area1/**\"]", "\"area1/**\", \".orchestrate.toml\"]", 1),
    );
    t.run(["phase", "start"]).ok();
    let branch = t.head_branch();
    assert!(branch.starts_with("orchestrate/x/1-"), "{branch}");
    t.write(
        ".orchestrate.toml",
        "[gates.secrets]\n\n[branches]\nintegration = \"feat/{feature}\"\nphase = \"feat/{feature}-{phase}\"\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "chore(x): new branch names"]);
    let shim = std::fs::read_to_string(t.dir.join(".git/hooks/pre-commit")).unwrap();
    assert!(shim.contains(&branch), "the shims were refreshed with the feature's branches: {shim}");
    // The phase's branch no longer fits the patterns; its commits are gated all the same.
    t.write("area1/settings.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "feat(x): a key"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("aws-access-key-id"), "{}", run.stderr);
    t.write("area1/settings.py", "KEY = \"from the environment\"\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "no type here"]);
    assert!(run.stderr.contains("the first line must be `type(scope): subject`"), "{}", run.stderr);
    t.git(["commit", "-q", "-m", "feat(x): settings"]);
}

#[test]
fn during_a_rebase_the_phase_being_rebased_is_the_default_and_is_not_approved() {
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    // Two phases that may run side by side.
    t.started_with("x", &TestRepo::plan_text("x", 2).replace("id = 2\n", "id = 2\ndepends_on = []\n"));
    t.run(["phase", "start", "1"]).ok();
    t.commit_file("area1/one.txt", "1\n", "feat(x): one");
    t.git(["switch", "-q", "orchestrate/x/main"]);
    t.run(["phase", "start", "2"]).ok();
    t.commit_file("area2/a.txt", "a\n", "feat(x): a");
    t.commit_file("area2/b.txt", "b\n", "feat(x): b");
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["rebase", "-q", "-i", "HEAD~1"]).env("GIT_SEQUENCE_EDITOR", "sed -i -e 's/^pick/edit/'");
    assert!(cmd.status().unwrap().success());
    // HEAD is detached; phase 1 comes first, yet the phase worked on is 2.
    assert_eq!(t.run(["phase", "brief", "--json"]).ok().json()["phase"], 2);
    let run = t.run(["approve", "phase", "--yes"]).code(1);
    assert!(run.stderr.contains("a rebase of orchestrate/x/2-"), "{}", run.stderr);
    t.git(["rebase", "--abort"]);
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
}

/// The commit-msg shim lets a plainly fine message through without starting the binary. It must
/// never let through what the binary would refuse: every message it passes, the binary passes.
#[test]
fn the_commit_msg_shim_only_passes_what_the_binary_passes() {
    let t = on_phase();
    // The shim, pointing at a binary that is not there: reaching for it fails.
    let shim = std::fs::read_to_string(t.dir.join(".git/hooks/commit-msg")).unwrap();
    let bin = crate::common::BIN.replace('\'', "'\\''");
    let lone = t.root.join("commit-msg");
    std::fs::write(&lone, shim.replace(&bin, "/nonexistent/git-orchestrate")).unwrap();
    let key = aws();
    let wordy = "word ".repeat(25);
    let fast = [
        "feat(x): add the table\n",
        "fix: a bug\n\nWhy it broke.\n",
        "chore(deps/x_y.z-1)!: bump\n",
        "docs!: rewrite\n# Please enter the commit message\n",
        "refactor(core): tidy\n",
    ];
    let slow = [
        format!("feat(x): token {key}\n"),
        format!("feat(x): y\n\nkey: {}\n", key.to_lowercase()),
        "feat(x): y\n\nSee https://example.com/a\n".into(),
        format!("feat(x): y\n\n{wordy}\n"),
        "feat(x): y\nno blank line\n".into(),
        "feat(a)(b): c\n".into(),
        "feat(a(b): c\n".into(),
        "feat( x): y\n".into(),
        "feat():  y\n".into(),
        "feat(x):\ty\n".into(),
        "feature: x\n".into(),
        "Feat: x\n".into(),
        "updated stuff\n".into(),
        "\n\n".into(),
        "# only a comment\n".into(),
        "Merge branch 'main'\n".into(),
        format!("feat(x): {}\n", "é".repeat(60)),
        "fix: -----BEGIN RSA PRIVATE KEY-----\n".into(),
    ];
    let file = t.root.join("MSG");
    let shim_passes = |message: &str| {
        std::fs::write(&file, message).unwrap();
        let mut sh = t.command("sh", &t.dir);
        sh.env("PATH", "/usr/bin:/bin").arg(&lone).arg(&file);
        sh.output().unwrap().status.success()
    };
    let binary_passes = |message: &str| {
        std::fs::write(&file, message).unwrap();
        t.run(["hook", "commit-msg", file.to_str().unwrap()]).code == 0
    };
    for m in fast {
        assert!(shim_passes(m), "plainly fine, passed in sh: {m:?}");
        assert!(binary_passes(m), "and the binary agrees: {m:?}");
    }
    for m in &slow {
        assert!(!shim_passes(m), "goes to the binary: {m:?}");
    }
    // And through git: a plain message commits, a secret in the message is still refused.
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", &format!("feat(x): token {key}")]);
    assert!(run.stderr.contains("AWS access key id"), "{}", run.stderr);
    t.git(["commit", "-q", "-m", "feat(x): a"]);
}

/// The message prepare-commit-msg writes, as `ops::hook::prepared_message` decides it: the phase's
/// commit message above git's own comment lines; nothing over a message already written, nor off
/// a phase branch.
#[test]
fn a_message_is_prepared_only_for_a_phase_commit_without_one() {
    use git_orchestrate::{git::Repo, ops::hook::prepared_message, workflow::Workflow};
    let t = on_phase();
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    let repo = Repo::discover(&t.dir).unwrap();
    let config = git_orchestrate::cmd::committed_config(&repo).unwrap();
    let loaded = Workflow::new(&repo, &config).load("x").unwrap();
    let branch = t.head_branch();

    let comments = "\n# Please enter the commit message for your changes.\n#\n";
    let written = prepared_message(&repo, &loaded, &branch, comments).unwrap().expect("a phase commit's message");
    assert!(written.starts_with("feat(x): database schema\n"), "{written}");
    assert!(written.contains("- area1/a.txt (new, +1)"), "the staged change, measured: {written}");
    assert!(written.ends_with(&format!("\n\n{comments}")), "git's lines are kept below: {written}");
    assert!(prepared_message(&repo, &loaded, &branch, "").unwrap().is_some(), "an empty file gets one");

    let mine = "fix(x): my own words\n# Please enter the commit message\n";
    assert_eq!(prepared_message(&repo, &loaded, &branch, mine).unwrap(), None, "a message is never rewritten");
    assert_eq!(prepared_message(&repo, &loaded, "   \nfoo", "").unwrap(), None, "no phase's branch");
    assert_eq!(prepared_message(&repo, &loaded, &loaded.feature.branch, "").unwrap(), None, "the integration branch");
}

/// A shim older than the committed configuration is reinstalled by the next hook that runs;
/// an up-to-date one, or one that is not ours, is left alone.
#[test]
fn only_a_stale_shim_of_ours_is_refreshed() {
    use git_orchestrate::{git::Repo, ops::hook::refresh_stale_shims};
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    let repo = Repo::discover(&t.dir).unwrap();
    assert!(refresh_stale_shims(&repo, "pre-commit").unwrap().is_none(), "the shim is newer than the configuration");
    t.write(".orchestrate.toml", "[gates.secrets]\n");
    let config = std::fs::File::options().write(true).open(t.dir.join(".orchestrate.toml")).unwrap();
    config.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
    let refreshed = refresh_stale_shims(&repo, "pre-commit").unwrap().expect("a stale shim is refreshed");
    assert_eq!(refreshed.changes.len(), git_orchestrate::hooks::HOOKS.len());
    assert!(refresh_stale_shims(&repo, "no-such-hook").unwrap().is_none(), "not ours");
}

/// A configuration edit that leaves the branch prefixes alone leaves the shims' text alone: the
/// refresh must still make them newer, or every later commit pays for the binary.
#[test]
fn a_refresh_that_changes_no_shim_still_restores_the_fast_path() {
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    let shim = t.dir.join(".git/hooks/pre-commit");
    let config = t.dir.join(".orchestrate.toml");
    let before = std::fs::read_to_string(&shim).unwrap();
    t.write(
        ".orchestrate.toml",
        &format!("{}\n[gates.lint]\nrun = \"true\"\n", std::fs::read_to_string(&config).unwrap()),
    );
    let age = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    std::fs::File::options().write(true).open(&shim).unwrap().set_modified(age).unwrap();
    // A commit off every feature: the shim sees a newer configuration and calls the binary.
    t.write("notes.txt", "x\n");
    t.git(["add", "notes.txt"]);
    t.git(["commit", "-q", "-m", "docs: notes"]);
    assert_eq!(std::fs::read_to_string(&shim).unwrap(), before, "the prefixes did not change");
    let modified = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    assert!(modified(&shim) >= modified(&config), "the shim is newer than the configuration again");
}

/// The message hooks, kept aside and linked in on a feature's branches, are refreshed alike:
/// else every commit on a phase would run the binary twice more, for ever.
#[test]
fn a_refresh_on_a_phase_makes_the_linked_message_hooks_newer_too() {
    let t = on_phase();
    let hooks = t.dir.join(".git/hooks");
    let config = t.dir.join(".orchestrate.toml");
    let age = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    for name in ["pre-commit", "pre-merge-commit", "pre-push", "commit-msg", "prepare-commit-msg"] {
        for file in [hooks.join(name), hooks.join(format!("{name}.orchestrate-shim"))] {
            if let Ok(f) = std::fs::File::options().write(true).open(&file) {
                f.set_modified(age).unwrap();
            }
        }
    }
    t.write("area1/a.txt", "a\n");
    t.git(["add", "area1/a.txt"]);
    t.git(["commit", "-q", "-m", "feat(x): a"]);
    let modified = |p: &std::path::Path| std::fs::metadata(p).unwrap().modified().unwrap();
    let stale: Vec<&str> = ["pre-commit", "commit-msg", "prepare-commit-msg"]
        .into_iter()
        .filter(|h| hooks.join(h).exists() && modified(&hooks.join(h)) < modified(&config))
        .collect();
    assert!(stale.is_empty(), "still older than the configuration after the refresh: {stale:?}");
    assert!(hooks.join("commit-msg").exists(), "linked in on the phase's branch");
}

#[test]
fn a_generated_message_details_twenty_files_and_counts_the_rest() {
    let t = on_phase();
    for i in 0..30 {
        t.write(&format!("area1/f{i:02}.txt"), "x\ny\n");
    }
    t.git(["add", "-A"]);
    t.git(["commit", "-q"]);
    let body = t.git(["log", "-1", "--format=%b"]);
    assert!(body.contains("- area1/f00.txt (new, +2)\n"), "{body}");
    assert!(body.contains("- area1/f19.txt (new, +2)\n- and 10 more files\n"), "{body}");
    assert!(!body.contains("f20.txt"), "{body}");
}

#[test]
fn an_older_shim_is_reported_and_install_updates_it() {
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    let path = t.dir.join(".git/hooks/pre-push");
    let current = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, current.replace("git-orchestrate-hook v4 ", "git-orchestrate-hook v3 ")).unwrap();
    let status = t.run(["hooks", "status"]).ok().stdout;
    assert!(
        status.contains("an older shim (it works, more slowly): git orchestrate hooks install updates it"),
        "{status}"
    );
    let doctor = t.run(["doctor"]).stdout;
    assert!(doctor.contains("fires") && doctor.contains("an older shim"), "{doctor}");
    t.run(["hooks", "install"]).ok();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), current);
    assert!(!t.run(["hooks", "status"]).ok().stdout.contains("older"));
}

fn is_link_of(a: &std::path::Path, b: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

#[test]
fn off_feature_a_commit_runs_one_hook_and_on_a_feature_branch_all_three() {
    let t = TestRepo::new();
    t.commit_file(".orchestrate.toml", "[gates.secrets]\n", "chore: gates");
    t.run(["hooks", "install"]).ok();
    let hooks = t.dir.join(".git/hooks");
    for h in ["prepare-commit-msg", "commit-msg"] {
        assert!(is_link_of(&hooks.join(h), &hooks.join(format!("{h}.orchestrate-shim"))), "{h} linked in at install");
    }
    let status = t.run(["hooks", "status"]).ok().stdout;
    assert!(status.contains("commit-msg          fires on feature branches (pre-commit links it in)"), "{status}");

    // Outside a feature, the first commit takes the message hooks away: git finds none to run.
    t.commit_file("a.txt", "a\n", "not conventional, and nobody minds");
    for h in ["prepare-commit-msg", "commit-msg"] {
        assert!(!hooks.join(h).exists(), "{h} unlinked outside a feature");
        assert!(hooks.join(format!("{h}.orchestrate-shim")).exists(), "{h} kept aside");
    }
    let run = t.run(["doctor"]);
    assert!(run.stdout.contains("fires on feature branches, linked in by pre-commit"), "{}", run.stdout);

    // On a phase branch, pre-commit links them back in before git looks for them: the very
    // first commit there is linted, and one without a message gets the generated one.
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
    t.write("area1/a.txt", "a\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-m", "updated stuff"]);
    assert_ne!(run.code, 0, "linted on the first commit after the switch");
    assert!(run.stderr.contains("the first line must be `type(scope): subject`"), "{}", run.stderr);
    t.git(["commit", "-q", "-m", "feat(x): a"]);
    t.git(["switch", "-q", "main"]);
    t.commit_file("b.txt", "b\n", "off again");
    assert!(!hooks.join("prepare-commit-msg").exists());
    t.git(["switch", "-q", "-"]);
    t.write("area1/c.txt", "c\n");
    t.git(["add", "-A"]);
    let run = t.git_try(["commit", "-q"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(t.git(["log", "-1", "--format=%s"]).trim(), "feat(x): database schema", "generated");

    t.run(["hooks", "uninstall"]).ok();
    let left: Vec<_> = std::fs::read_dir(&hooks)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".sample"))
        .collect();
    assert!(left.is_empty(), "uninstall leaves nothing of ours: {left:?}");
}

#[test]
fn a_message_hook_of_the_users_is_never_unlinked_or_lost() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestRepo::new();
    t.run(["hooks", "install"]).ok();
    let hooks = t.dir.join(".git/hooks");
    let mine = "#!/bin/sh\necho mine >> \"$(git rev-parse --git-dir)/mine.log\"\n";

    // Put in place of the link (a new file, as most editors and tools write).
    let hook = hooks.join("commit-msg");
    std::fs::remove_file(&hook).unwrap();
    std::fs::write(&hook, mine).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    t.commit_file("a.txt", "a\n", "chore: a");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), mine, "not unlinked: it is not ours");
    assert_eq!(std::fs::read_to_string(t.dir.join(".git/mine.log")).unwrap(), "mine\n", "and it ran");
    t.run(["hooks", "install"]).ok();
    assert_eq!(std::fs::read_to_string(hooks.join("commit-msg.orchestrate-chained")).unwrap(), mine, "kept, chained");
    assert!(!hooks.join("commit-msg.orchestrate-shim").exists());
    t.run(["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), mine, "restored byte for byte");

    // Edited in place, through the hard link: the kept-aside shim changed with it.
    t.run(["hooks", "install"]).ok();
    let hook = hooks.join("prepare-commit-msg");
    std::fs::write(&hook, mine).unwrap();
    t.commit_file("b.txt", "b\n", "chore: b");
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), mine, "an edited hook is not unlinked");
    t.run(["hooks", "install"]).ok();
    assert_eq!(std::fs::read_to_string(hooks.join("prepare-commit-msg.orchestrate-chained")).unwrap(), mine);
    t.run(["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), mine);
}

#[test]
fn a_secret_in_a_binary_file_is_blocked_at_commit() {
    let t = on_phase();
    let mut data = b"\x00\x01\x02BLOB header\x00".to_vec();
    data.extend_from_slice(aws().as_bytes());
    data.extend_from_slice(b"\x00\xff\xfe trailer");
    std::fs::create_dir_all(t.dir.join("area1")).unwrap();
    std::fs::write(t.dir.join("area1/blob.bin"), &data).unwrap();
    t.git(["add", "area1/blob.bin"]);
    assert_eq!(t.git(["diff", "--cached", "--numstat"]), "-\t-\tarea1/blob.bin\n", "git calls it binary");
    let head = t.rev("HEAD");
    let run = t.git_try(["commit", "-m", "feat(x): blob"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    // In a binary file, a "line" is a run between NUL bytes: the token is in the third.
    assert!(run.stderr.contains("secrets: area1/blob.bin:3: AWS access key id"), "{}", run.stderr);
    assert!(!run.stderr.contains(&aws()) && !run.stderr.contains('\0'), "{}", run.stderr);
    assert_eq!(t.rev("HEAD"), head, "nothing was committed");

    // A binary file without a secret goes in; text replacing it is scanned whole.
    std::fs::write(t.dir.join("area1/blob.bin"), b"\x00\x01 nothing here").unwrap();
    t.git(["add", "area1/blob.bin"]);
    let run = t.git_try(["commit", "-m", "feat(x): blob"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    t.write("area1/blob.bin", &format!("now text\nKEY={}\n", aws()));
    t.git(["add", "area1/blob.bin"]);
    let run = t.git_try(["commit", "-m", "feat(x): text blob"]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("secrets: area1/blob.bin:2: AWS access key id"), "{}", run.stderr);
}
