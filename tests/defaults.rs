//! Out of the box: the built-in gates on without configuration, `init` proposing gates that
//! work for the project it finds, the shell integration, and no wasted gate runs.

use crate::common::TestRepo;

fn aws() -> String {
    format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O")
}

/// Hooks installed, feature `x` started from a two-phase plan, phase 1 checked out.
fn on_phase(t: &TestRepo) {
    t.run(["hooks", "install"]).ok();
    t.started_and_approved("x", 2);
    t.run(["phase", "start"]).ok();
}

fn commit_key(t: &TestRepo) -> crate::common::Run {
    t.write("area1/settings.py", &format!("KEY = \"{}\"\n", aws()));
    t.git(["add", "area1/settings.py"]);
    t.git_try(["commit", "-q", "-m", "feat(x): settings"])
}

#[test]
fn a_staged_key_on_a_phase_is_refused_with_no_configuration_at_all() {
    let t = TestRepo::new();
    on_phase(&t);
    let run = commit_key(&t);
    assert_ne!(run.code, 0, "the commit went through:\n{}", run.stderr);
    assert!(run.stderr.contains("AWS access key id"), "{}", run.stderr);
    assert!(run.stderr.contains("gate secrets did not pass"), "{}", run.stderr);
}

#[test]
fn a_staged_key_on_a_phase_is_refused_with_the_configuration_init_writes() {
    let t = TestRepo::new();
    t.without_config();
    t.run(["init"]).ok();
    // The tests approve with --yes and no terminal, which only `approvals.require = "any"` allows.
    let config = t.read(".orchestrate.toml");
    t.write(".orchestrate.toml", &config);
    t.git(["add", ".orchestrate.toml"]);
    t.git(["commit", "-q", "--no-verify", "-m", "chore: gates"]);
    on_phase(&t);
    let run = commit_key(&t);
    assert_ne!(run.code, 0, "the commit went through:\n{}", run.stderr);
    assert!(run.stderr.contains("gate secrets did not pass"), "{}", run.stderr);
}

#[test]
fn a_file_outside_the_phase_s_paths_is_refused_without_configuration() {
    let t = TestRepo::new();
    on_phase(&t);
    t.write("area2/other.txt", "not mine\n");
    t.git(["add", "area2/other.txt"]);
    let run = t.git_try(["commit", "-q", "-m", "feat(x): wander"]);
    assert_ne!(run.code, 0, "the commit went through:\n{}", run.stderr);
    assert!(run.stderr.contains("outside the phase's paths (area1/**): area2/other.txt"), "{}", run.stderr);
}

#[test]
fn a_built_in_gate_switched_off_is_said_everywhere() {
    let t = TestRepo::new();
    t.configure("[gates.secrets]\nenabled = false\n");
    on_phase(&t);
    let run = commit_key(&t).code(0);
    assert!(run.stderr.contains("gate secrets is off (`enabled = false`"), "{}", run.stderr);
    let gate = t.run(["gate", "--stage", "pre-commit", "--rev", "HEAD"]).ok();
    assert!(gate.stderr.contains("gate secrets is off"), "{}", gate.stderr);
    assert!(gate.stdout.contains("scope pass"), "scope still runs: {}", gate.stdout);
    assert!(!gate.stdout.contains("secrets pass"), "{}", gate.stdout);
    let status = t.run(["status", "--json"]).ok().json();
    let gates = &status["features"][0]["phases"][0]["gates"];
    assert_eq!(gates["secrets"], "off", "{status}");
    assert_eq!(gates["scope"], "pass", "{status}");
    let doctor = t.run(["doctor", "--json"]).json();
    let check = doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "gate secrets").unwrap().clone();
    assert_eq!(check["ok"], false, "{doctor}");
    assert!(check["detail"].as_str().unwrap().starts_with("off: [gates.secrets] enabled = false"), "{doctor}");
    let scope = doctor["checks"].as_array().unwrap().iter().find(|c| c["check"] == "gate scope").unwrap().clone();
    assert_eq!(scope["detail"], "on (built in)", "{doctor}");
}

#[test]
fn a_built_in_gate_made_optional_warns_and_does_not_block() {
    let t = TestRepo::new();
    t.configure("[gates.secrets]\nrequired = false\n");
    on_phase(&t);
    let run = commit_key(&t).code(0);
    assert!(run.stderr.contains("AWS access key id"), "the finding is shown: {}", run.stderr);
}

/// A coverage gate whose command counts its runs in `counter` (outside the repository), prints
/// a pytest summary with `tests`, and writes an lcov report; a tests gate reads its run.
fn counted_config(counter: &std::path::Path, tests: &str, inputs: &str) -> String {
    format!(
        "[gates.coverage]\nrun = '''echo run >> {}; echo \"==== {tests} in 0.01s ====\"; printf \"SF:src/a.py\\nDA:1,1\\nend_of_record\\n\" > lcov.info'''\nreport = \"lcov.info\"\nformat = \"lcov\"\n{inputs}\n[gates.tests]\nfrom = \"coverage\"\n{inputs}\n",
        counter.display()
    )
}

fn runs(counter: &std::path::Path) -> usize {
    std::fs::read_to_string(counter).map_or(0, |s| s.lines().count())
}

fn verdicts(run: &crate::common::Run) -> Vec<(String, String, bool)> {
    run.json()["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (g["gate"].as_str().unwrap().to_string(), g["verdict"].as_str().unwrap().to_string(), g["cached"] == true)
        })
        .collect()
}

#[test]
fn one_run_serves_the_tests_and_the_coverage_gate() {
    let t = TestRepo::new();
    let counter = t.root.join("runs");
    t.commit_file("src/a.py", "x = 1\n", "feat: a");
    t.configure(&counted_config(&counter, "2 passed", ""));
    let run = t.run(["gate", "--only", "tests", "--json"]).ok();
    assert_eq!(runs(&counter), 1, "the suite ran once");
    let gates = run.json()["gates"].clone();
    assert_eq!(gates[0]["gate"], "coverage", "the source runs first: {gates}");
    assert_eq!(gates[1]["gate"], "tests");
    assert_eq!(gates[1]["summary"], "2 passed, 0 failed, 0 skipped", "{gates}");
    assert_eq!(gates[1]["figures"]["from"], "coverage");
    assert_eq!(gates[0]["figures"]["tests"]["passed"], 2, "the coverage run records its counts: {gates}");

    // A failing test in the coverage run fails the tests gate, still with one run.
    t.configure(&counted_config(&counter, "1 failed, 1 passed", ""));
    let run = t.run(["gate", "--json", "--all"]).code(1);
    assert_eq!(runs(&counter), 2);
    let tests = verdicts(&run).into_iter().find(|(g, _, _)| g == "tests").unwrap();
    assert_eq!(tests.1, "fail", "{}", run.stdout);
}

#[test]
fn a_change_outside_a_gate_s_inputs_runs_nothing_again() {
    let t = TestRepo::new();
    let counter = t.root.join("runs");
    t.commit_file("src/a.py", "x = 1\n", "feat: a");
    t.configure(&counted_config(&counter, "3 passed", "inputs = [\"src/**\"]"));
    t.run(["gate"]).ok();
    assert_eq!(runs(&counter), 1);

    // Docs only: a new tree, the same inputs.
    t.commit_file("docs/guide.md", "# guide\n", "docs: guide");
    let run = t.run(["gate", "--json"]).ok();
    assert_eq!(runs(&counter), 1, "nothing ran again for a docs-only change");
    let v = verdicts(&run);
    assert!(v.contains(&("coverage".into(), "pass".into(), true)), "{v:?}");
    assert!(v.contains(&("tests".into(), "pass".into(), true)), "{v:?}");
    // The verdict is recorded for the new tree too, where status and pre-push look.
    let tree = t.rev("HEAD^{tree}");
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &tree]);
    assert!(note.contains("\"gate\":\"coverage\""), "{note}");

    // A change inside the inputs runs the gate again.
    t.commit_file("src/a.py", "x = 2\n", "feat: a again");
    t.run(["gate"]).ok();
    assert_eq!(runs(&counter), 2, "a change to src/ re-runs the suite");
}

#[test]
fn gates_stop_at_the_first_required_failure_unless_all_are_asked_for() {
    let t = TestRepo::new();
    let counter = t.root.join("runs");
    let c = counter.display();
    t.configure(&format!(
        "[gates.a-first]\nrun = \"echo a >> {c}; exit 1\"\n[gates.b-second]\nrun = \"echo b >> {c}\"\n"
    ));
    let run = t.run(["gate"]).code(1);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "a\n", "b-second did not run");
    assert!(run.stderr.contains("not run, after a required gate failed: b-second"), "{}", run.stderr);
    assert!(run.stdout.contains("secrets pass"), "the built-in gates still run: {}", run.stdout);
    let run = t.run(["gate", "--all", "--json"]).code(1);
    assert_eq!(std::fs::read_to_string(&counter).unwrap(), "a\nb\n", "--all runs every gate");
    assert_eq!(run.json()["not_run"], serde_json::json!([]));
}

fn on_path(tool: &str) -> bool {
    #[allow(clippy::disallowed_methods)]
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(tool).is_file())
}

/// Commit what `init` wrote, as its hint says.
fn commit_config(t: &TestRepo) {
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "--no-verify", "-m", "chore: gates"]);
}

#[test]
fn init_proposes_working_gates_for_a_cargo_crate() {
    let t = TestRepo::new();
    t.without_config();
    t.write("Cargo.toml", "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    t.write(
        "src/lib.rs",
        "/// ```\n/// assert_eq!(tiny::add(1, 1), 2);\n/// ```\npub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 2), 4); }\n",
    );
    t.write(".gitignore", "target/\n");
    let init = t.run(["init", "--json"]).ok().json();
    let config = t.read(".orchestrate.toml");
    assert!(config.contains("[gates.tests]\nrun = \"cargo test\"\n"), "{config}");
    assert!(!config.contains("--all-targets"), "benches that need nightly would fail: {config}");
    assert!(config.contains("[gates.secrets]") && config.contains("[gates.scope]"), "named in the template: {config}");
    assert_eq!(init["gates"][0], "tests");
    if !on_path("cargo-llvm-cov") && !on_path("cargo-tarpaulin") {
        assert_eq!(
            init["not_set_up"][0],
            "coverage: cargo-llvm-cov and cargo-tarpaulin are not installed: `cargo install cargo-llvm-cov`"
        );
        assert!(config.contains("# Not set up: cargo-llvm-cov and cargo-tarpaulin are not installed"), "{config}");
        assert!(config.contains("# [gates.coverage]\n# run = \"cargo llvm-cov"), "commented out: {config}");
    }
    let text = t.run(["init"]).ok();
    assert!(text.stderr.contains("kept .orchestrate.toml"), "{}", text.stderr);
    std::fs::remove_file(t.dir.join(".orchestrate.toml")).unwrap();
    let text = t.run(["init"]).ok();
    assert!(text.stderr.contains("review it and commit it"), "{}", text.stderr);
    commit_config(&t);

    let run = t.run_with_cargo(["gate", "--json"]).ok();
    let tests = run.json()["gates"].as_array().unwrap().iter().find(|g| g["gate"] == "tests").unwrap().clone();
    assert_eq!(tests["figures"]["passed"], 2, "the unit test and the doctest ran: {tests}");
}

#[test]
fn init_proposes_tests_and_coverage_from_one_run_for_pytest() {
    let t = TestRepo::new();
    t.without_config();
    if !t.with_python_tools() {
        return;
    }
    t.write("pyproject.toml", "[project]\nname = \"tiny\"\nversion = \"0.1.0\"\n");
    t.write("tiny.py", "def add(a, b):\n    return a + b\n");
    t.write("test_tiny.py", "from tiny import add\n\ndef test_add():\n    assert add(2, 2) == 4\n");
    t.write(".gitignore", "__pycache__/\n.coverage\ncoverage.json\n");
    let init = t.run(["init", "--json"]).ok().json();
    assert_eq!(init["gates"], serde_json::json!(["coverage", "tests"]), "{init}");
    assert_eq!(init["not_set_up"], serde_json::json!([]), "{init}");
    let config = t.read(".orchestrate.toml");
    assert!(config.contains("report = \"coverage.json\""), "{config}");
    assert!(config.contains("[gates.tests]\nfrom = \"coverage\""), "{config}");
    commit_config(&t);
    let run = t.run(["gate", "--json"]).ok();
    let gates = run.json()["gates"].clone();
    let tests = gates.as_array().unwrap().iter().find(|g| g["gate"] == "tests").unwrap().clone();
    assert_eq!(tests["summary"], "1 passed, 0 failed, 0 skipped", "{gates}");
    let coverage = gates.as_array().unwrap().iter().find(|g| g["gate"] == "coverage").unwrap().clone();
    assert_eq!(coverage["verdict"], "pass", "{gates}");
}

#[test]
fn init_says_what_it_could_not_set_up_for_a_node_project() {
    let t = TestRepo::new();
    t.without_config();
    t.write(
        "package.json",
        "{\"name\": \"tiny\", \"scripts\": {\"test\": \"vitest run\"}, \"devDependencies\": {\"vitest\": \"^3.0.0\"}}\n",
    );
    let init = t.run(["init", "--json"]).ok().json();
    assert_eq!(init["kinds"], serde_json::json!(["npm"]));
    assert_eq!(init["gates"], serde_json::json!([]), "vitest is not installed: nothing on: {init}");
    assert_eq!(
        init["not_set_up"],
        serde_json::json!([
            "tests: vitest is in package.json but not installed: `npm install`",
            "coverage: vitest is in package.json but not installed: `npm install`"
        ])
    );
    let config = t.read(".orchestrate.toml");
    assert!(config.contains("# run = \"npx vitest run\""), "{config}");
    assert!(config.contains("--coverage.reporter=lcov"), "{config}");

    // Installed (a stand-in binary where npm puts it), without a coverage provider.
    let t = TestRepo::new();
    t.without_config();
    t.write("package.json", "{\"devDependencies\": {\"vitest\": \"^3.0.0\"}}\n");
    t.write("node_modules/.bin/vitest", "#!/bin/sh\n");
    let init = t.run(["init", "--json"]).ok().json();
    assert_eq!(init["gates"], serde_json::json!(["tests"]));
    assert_eq!(
        init["not_set_up"][0], "coverage: vitest has no coverage provider: `npm install -D @vitest/coverage-v8`",
        "{init}"
    );
}

#[test]
fn bash_completes_git_orchestrate_through_git_s_completion() {
    let t = TestRepo::new();
    let script = t.run(["completions", "bash"]).ok().stdout;
    let file = t.root.join("completion.bash");
    std::fs::write(&file, script).unwrap();
    // git's completion calls _git_orchestrate with the words as typed after `git`.
    let probe = format!(
        "source {}; declare -F _git_orchestrate >/dev/null || exit 3\nCOMP_WORDS=(git orchestrate ga); COMP_CWORD=2; _git_orchestrate; echo \"${{COMPREPLY[*]}}\"\nCOMP_WORDS=(git orchestrate gate --stage p); COMP_CWORD=4; _git_orchestrate; echo \"${{COMPREPLY[*]}}\"",
        file.display()
    );
    let out = t.command("bash", &t.dir).args(["-c", &probe]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "gate\npre-commit pre-push\n");
}

/// The binary under the name git runs it by, alone in a directory to put first on PATH.
fn binary_on_path(t: &TestRepo) -> String {
    let bin = t.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_git-orchestrate"), bin.join("git-orchestrate")).unwrap();
    #[allow(clippy::disallowed_methods)]
    let path = std::env::var("PATH").unwrap_or_default();
    format!("{}:{path}", bin.display())
}

#[test]
fn fish_completes_git_orchestrate_both_ways() {
    let t = TestRepo::new();
    if t.command("fish", &t.dir).arg("--version").output().is_err() {
        eprintln!("SKIPPED: fish is not installed here");
        return;
    }
    let file = t.root.join("git-orchestrate.fish");
    std::fs::write(&file, t.run(["completions", "fish"]).ok().stdout).unwrap();
    let probe = format!(
        "source {}; complete -C 'git-orchestrate sta'; echo ---; complete -C 'git orchestrate sta'; echo ---; complete -C 'git orchestrate gate --stage p'",
        file.display()
    );
    let out =
        t.command("fish", &t.dir).env("PATH", binary_on_path(&t)).args(["--no-config", "-c", &probe]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let parts: Vec<&str> = text.split("---\n").collect();
    assert_eq!(parts.len(), 3, "{text}");
    for (i, part) in parts.iter().enumerate().take(2) {
        let names: Vec<&str> = part.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(names, ["start", "status"], "probe {i}: {text}");
    }
    let stages: Vec<&str> = parts[2].lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(stages, ["pre-commit", "pre-push"], "{text}");
}

#[test]
fn zsh_registers_the_completion_for_git_orchestrate() {
    let t = TestRepo::new();
    if t.command("zsh", &t.dir).arg("--version").output().is_err() {
        eprintln!("SKIPPED: zsh is not installed here");
        return;
    }
    let dir = t.root.join("zfunc");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("_git-orchestrate"), t.run(["completions", "zsh"]).ok().stdout).unwrap();
    // compinit reads the `#compdef` line; zsh's git completion calls `_git-orchestrate` for
    // `git orchestrate`, so the function must load and be bound to the command.
    let probe = format!(
        "fpath=({} $fpath); autoload -U compinit; compinit -u -D; print -r -- $_comps[git-orchestrate]; autoload +X _git-orchestrate && print loaded",
        dir.display()
    );
    let out = t.command("zsh", &t.dir).env("PATH", binary_on_path(&t)).args(["-fc", &probe]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "_git-orchestrate\nloaded\n");
}

#[test]
fn the_man_page_names_no_page_that_does_not_exist() {
    let t = TestRepo::new();
    let page = t.run(["man"]).ok().stdout;
    assert!(!page.contains("(1)"), "clap's list of per-subcommand pages is gone: {page}");
    assert!(page.contains("\\fBgit orchestrate gate\\fR"), "{page}");
    let file = t.root.join("git-orchestrate.1");
    std::fs::write(&file, &page).unwrap();
    let out = t.command("man", &t.dir).arg("-l").arg(&file).env("MANPAGER", "cat").output();
    match out {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("SUBCOMMANDS"), "{text}");
        }
        _ => eprintln!("SKIPPED: man cannot render pages on this machine"),
    }
}
