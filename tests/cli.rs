//! The command line's contract: help with examples, exit codes, completions, man page.

use crate::common::TestRepo;

#[test]
fn help_snapshot() {
    let t = TestRepo::empty();
    let run = t.run(["--help"]).ok();
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn every_subcommand_has_help_with_examples() {
    let t = TestRepo::empty();
    for cmd in [
        vec!["init"],
        vec!["start"],
        vec!["plan", "lint"],
        vec!["plan", "show"],
        vec!["approve", "plan"],
        vec!["approve", "phase"],
        vec!["phase", "start"],
        vec!["phase", "brief"],
        vec!["status"],
        vec!["gate"],
        vec!["doctor"],
        vec!["hooks", "install"],
        vec!["secrets", "scan"],
        vec!["coverage", "show"],
        vec!["log"],
        vec!["trust"],
        vec!["completions"],
        vec!["man"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let run = t.run(&args).ok();
        assert!(run.stdout.contains("Examples:"), "{cmd:?} has no examples:\n{}", run.stdout);
    }
}

#[test]
fn usage_errors_exit_2() {
    let t = TestRepo::empty();
    let run = t.run(["frobnicate"]).code(2);
    assert!(run.stderr.contains("error: unrecognized subcommand 'frobnicate'"), "{}", run.stderr);
    t.run(["start", "x", "--phases", "0"]).code(2);
}

#[test]
fn completions_and_man_page() {
    let t = TestRepo::empty();
    let bash = t.run(["completions", "bash"]).ok().stdout;
    assert!(bash.contains("approve") && bash.contains("phase"), "{bash}");
    let man = t.run(["man"]).ok().stdout;
    assert!(
        man.starts_with(".ie \\n(.g .ds Aq") || man.contains(".TH git-orchestrate"),
        "{}",
        &man[..200.min(man.len())]
    );
}

#[test]
fn a_closed_pipe_is_quiet() {
    let t = TestRepo::empty();
    let mut child = t
        .command(crate::common::BIN, &t.dir)
        .args(["completions", "zsh"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn init_is_idempotent_and_keeps_a_users_config() {
    let t = TestRepo::new();
    t.git(["rm", "-q", ".orchestrate.toml"]);
    t.write("Cargo.toml", "[package]\nname = \"x\"\n");
    let first = t.run(["init", "--json"]).ok().json();
    assert_eq!(first["config_written"], true);
    assert_eq!(first["kinds"], serde_json::json!(["cargo"]));
    let config = t.read(".orchestrate.toml");
    assert!(config.contains("[gates.tests]\nrun = \"cargo test\"\n"), "{config}");
    assert_eq!(t.git(["config", "notes.orchestrate.mergeStrategy"]).trim(), "cat_sort_uniq");
    assert_eq!(t.git(["config", "--get-all", "notes.rewriteRef"]).trim(), "refs/notes/orchestrate*");
    let second = t.run(["init", "--json"]).ok().json();
    assert_eq!(second["config_written"], false);
    assert_eq!(second["git_config"], serde_json::json!([]));
    assert_eq!(t.git(["config", "--get-all", "notes.rewriteRef"]).trim(), "refs/notes/orchestrate*");
    std::fs::write(t.dir.join(".orchestrate.toml"), "# mine\n[branches]\n").unwrap();
    t.run(["init"]).ok();
    assert_eq!(t.read(".orchestrate.toml"), "# mine\n[branches]\n");
}

#[test]
fn the_tour_runs_the_loop_and_leaves_the_callers_repository_alone() {
    let t = TestRepo::new();
    let refs = t.git(["for-each-ref"]);
    let git_dir = t.dir.join(".git");
    // As if run from inside a hook of the test repository: GIT_DIR points at it.
    let run = t.run_env(&[("GIT_DIR", git_dir.to_str().unwrap()), ("CLAUDECODE", "1")], ["tour"]).ok();
    for line in [
        "$ git orchestrate approve plan --yes -m \"plan looks good\"",
        "approved phase 3 of jwt-auth",
        "feat(jwt-auth): frontend integration",
        "feat(jwt-auth): database schema",
    ] {
        assert!(
            run.stderr.contains(line) || run.stdout.contains(line),
            "missing {line:?}:\n{}\n{}",
            run.stdout,
            run.stderr
        );
    }
    assert!(run.stdout.contains("awaiting-finish"), "{}", run.stdout);
    assert_eq!(t.git(["for-each-ref"]), refs, "the caller's repository is untouched");
    assert_eq!(t.read(".orchestrate.toml"), crate::common::ANY, "the caller's configuration is untouched");
}
