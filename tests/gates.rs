//! Gates on real git, real pytest and coverage.py: verdicts for the right reason, evidence in
//! notes keyed by tree, cache hits and fingerprint misses, and the user's work tree untouched
//! through pass, fail, Ctrl-C and SIGKILL.

use std::time::{Duration, Instant};

use crate::common::TestRepo;

const CALC: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";
const TEST_ADD: &str = "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'src'))\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n";

/// A small Python project with pytest and coverage gates; `min` is the coverage floor. `None`
/// (with a message) where the Python tools cannot be had.
fn python_project(extra: &str) -> Option<TestRepo> {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return None;
    }
    t.write("src/calc.py", CALC);
    t.write("tests/test_calc.py", TEST_ADD);
    t.write(
        ".orchestrate.toml",
        &format!(
            "[gates.tests]\nrun = \"python3 -m pytest -q -p no:cacheprovider\"\n\n[gates.coverage]\nrun = \"python3 -m coverage run --source=src -m pytest -q -p no:cacheprovider && python3 -m coverage json -o coverage.json\"\nreport = \"coverage.json\"\n{extra}"
        ),
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "feat: calc"]);
    Some(t)
}

#[test]
fn tests_and_coverage_gates_judge_for_the_right_reason() {
    let Some(t) = python_project("min = 80\n") else { return };
    let run = t.run(["gate", "--json", "--all"]).code(1);
    let report = run.json();
    let gates = report["gates"].as_array().unwrap();
    let tests = gates.iter().find(|g| g["gate"] == "tests").unwrap();
    assert_eq!(tests["verdict"], "pass");
    assert_eq!((tests["figures"]["runner"].as_str(), tests["figures"]["passed"].as_u64()), (Some("pytest"), Some(1)));
    let cov = gates.iter().find(|g| g["gate"] == "coverage").unwrap();
    assert_eq!(cov["verdict"], "fail", "{cov}");
    assert_eq!(cov["figures"]["percent"], 75.0, "3 of 4 statements run: sub() is never called");
    assert!(cov["reasons"][0].as_str().unwrap().contains("coverage 75.0 % is below the minimum 80 %"));
    assert_eq!(report["passed"], false);

    // Cover sub(): both pass.
    t.write("tests/test_sub.py", &TEST_ADD.replace("add", "sub").replace("(1, 2) == 3", "(3, 2) == 1"));
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "test: sub"]);
    let run = t.run(["gate"]).ok();
    assert_eq!(verdict(&run.stdout, "coverage").as_deref(), Some("pass"), "{}", run.stdout);
    assert!(run.stdout.contains("100.0 % (min 80)"), "{}", run.stdout);
    assert!(run.stdout.contains("2 passed, 0 failed, 0 skipped"), "{}", run.stdout);
}

#[test]
fn a_failing_test_and_a_run_without_tests_fail() {
    let Some(t) = python_project("") else { return };
    t.write("tests/test_calc.py", &TEST_ADD.replace("== 3", "== 4"));
    t.git(["commit", "-qam", "test: wrong"]);
    let report = t.run(["gate", "--only", "tests", "--json"]).code(1).json();
    let g = &report["gates"][0];
    assert_eq!((g["verdict"].as_str(), g["figures"]["failed"].as_u64()), (Some("fail"), Some(1)));
    assert!(g["output_tail"].as_str().unwrap().contains("assert 3 == 4"), "the output is kept");

    t.git(["rm", "-q", "tests/test_calc.py"]);
    t.git(["commit", "-qm", "test: none"]);
    let report = t.run(["gate", "--only", "tests", "--json"]).code(1).json();
    assert!(report["gates"][0]["reasons"][0].as_str().unwrap().starts_with("no test ran"), "{report}");
}

#[test]
fn evidence_is_cached_by_tree_and_a_changed_threshold_misses() {
    let Some(t) = python_project("min = 50\n") else { return };
    let first = t.run(["gate", "--only", "coverage", "--json"]).ok().json();
    assert_eq!(first["gates"][0]["cached"], false);
    let second = t.run(["gate", "--only", "coverage", "--json"]).ok().json();
    assert_eq!(second["gates"][0]["cached"], true, "same tree, same configuration: no re-run");
    // An amend of the message only keeps the tree: still a hit.
    t.git(["commit", "-q", "--amend", "-m", "feat: calc (reworded)"]);
    assert_eq!(t.run(["gate", "--only", "coverage", "--json"]).ok().json()["gates"][0]["cached"], true);
    assert_eq!(t.run(["gate", "--only", "coverage", "--force", "--json"]).ok().json()["gates"][0]["cached"], false);
    // A changed threshold is another fingerprint.
    let config = t.read(".orchestrate.toml").replace("min = 50", "min = 60");
    t.configure(&config);
    let third = t.run(["gate", "--only", "coverage", "--json"]).ok().json();
    assert_eq!(third["gates"][0]["cached"], false);
    assert_ne!(third["gates"][0]["fingerprint"], first["gates"][0]["fingerprint"]);

    // The evidence is readable from git notes, on the tree.
    let tree = t.rev("HEAD~1^{tree}");
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &tree]);
    let records: Vec<serde_json::Value> = note.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "the first run and the forced one");
    for r in &records {
        assert_eq!(r["tree"], tree.as_str());
        assert_eq!(r["gate"], "coverage");
        for key in
            ["verdict", "fingerprint", "command", "exit_code", "duration_ms", "figures", "tools", "output_tail", "ts"]
        {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
}

#[test]
fn changed_lines_are_measured_and_uncovered_ones_listed() {
    let Some(t) = python_project("min_changed = 90\n") else { return };
    t.write("src/calc.py", &format!("{CALC}\n\ndef mul(a, b):\n    r = a * b\n    return r\n"));
    t.git(["commit", "-qam", "feat: mul"]);
    let report = t.run(["gate", "--only", "coverage", "--json"]).code(1).json();
    let g = &report["gates"][0];
    assert_eq!(g["figures"]["uncovered_changed_lines"], serde_json::json!(["src/calc.py:10-11"]), "{g}");
    // Line 9 (`def mul`) runs at import; the body does not.
    assert!(g["reasons"].to_string().contains("changed lines are 33.3 % covered, below the minimum 90 %"), "{g}");
    assert_eq!(
        (g["figures"]["changed_lines_total"].as_u64(), g["figures"]["changed_lines_covered"].as_u64()),
        (Some(3), Some(1))
    );
}

#[test]
fn stale_missing_and_broken_reports_are_errors() {
    let t = TestRepo::new();
    t.write("coverage.json", "{\"files\": {\"a.py\": {\"executed_lines\": [1], \"missing_lines\": []}}}");
    t.write("a.py", "x = 1\n");
    t.write(".orchestrate.toml", "[gates.coverage]\nrun = \"true\"\nreport = \"coverage.json\"\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: committed report"]);
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["verdict"], "error");
    assert!(
        g["reasons"][0].as_str().unwrap().starts_with("stale report: `coverage.json` was not written by this run"),
        "{g}"
    );
    // A copy that keeps an old time is stale too.
    t.configure("[gates.coverage]\nrun = \"cp -p /etc/hostname c.json\"\nreport = \"c.json\"\n");
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["summary"], "stale report", "{g}");

    t.configure("[gates.coverage]\nrun = \"printf '{\\\\n  \\\"files\\\": [' > cov.json\"\nreport = \"cov.json\"\nformat = \"coverage-py-json\"\n");
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["summary"], "broken report", "{g}");
    assert!(g["reasons"][0].as_str().unwrap().starts_with("cov.json: line 2:"), "{g}");

    t.configure("[gates.coverage]\nrun = \"true\"\nreport = \"nowhere.json\"\n");
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert!(g["reasons"][0].as_str().unwrap().contains("`nowhere.json` does not exist after the run"), "{g}");
    // Errors are never cached: the next run tries again.
    assert_eq!(t.run(["gate", "--json"]).code(1).json()["gates"][0]["cached"], false);
}

#[test]
fn cobertura_and_lcov_from_coverage_py_agree() {
    for (cmd, report, format) in [("xml -o cov.xml", "cov.xml", "cobertura"), ("lcov -o cov.info", "cov.info", "lcov")]
    {
        let Some(t) = python_project("") else { return };
        let config = format!(
            "[gates.cov2]\nkind = \"coverage\"\nrun = \"python3 -m coverage run --source=src -m pytest -q -p no:cacheprovider && python3 -m coverage {cmd}\"\nreport = \"{report}\"\nmin = 70\n"
        );
        t.configure(&config);
        let g = t.run(["gate", "--json"]).ok().json()["gates"][0].clone();
        assert_eq!(g["figures"]["format"], format, "detected");
        assert_eq!(g["figures"]["percent"], 75.0, "{format}: {g}");
    }
}

#[test]
fn the_gate_sees_the_staged_snapshot_not_the_work_tree() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.content]\nrun = \"grep -q staged file.txt\"\nstage = \"pre-commit\"\n");
    t.write("file.txt", "committed\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: base"]);
    t.write("file.txt", "staged\n");
    t.git(["add", "file.txt"]);
    t.write("file.txt", "unstaged edit\n");
    t.run(["gate", "--stage", "pre-commit"]).ok();
    assert_eq!(t.read("file.txt"), "unstaged edit\n");
    // git commit <paths> and commit -a judge a temporary index: GIT_INDEX_FILE names it.
    let tmp_index = t.root.join("tmp-index");
    let mut cmd = t.command("git", &t.dir);
    cmd.args(["read-tree", "HEAD"]).env("GIT_INDEX_FILE", &tmp_index);
    assert!(cmd.status().unwrap().success());
    let run = t.run_env(&[("GIT_INDEX_FILE", tmp_index.to_str().unwrap())], ["gate", "--stage", "pre-commit"]);
    assert_eq!(run.code, 1, "the temporary index holds `committed`:\n{}", run.stdout);
}

#[test]
fn commands_get_context_in_the_environment_and_not_gits() {
    let t = TestRepo::new();
    t.write(
        ".orchestrate.toml",
        "[gates.env]\nrun = 'test \"$ORCHESTRATE_FEATURE\" = ctx && test \"$ORCHESTRATE_PHASE\" = 1 && test -z \"$GIT_DIR$GIT_INDEX_FILE\" && test \"$ORCHESTRATE_GATE\" = env'\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: config"]);
    t.started_and_approved("ctx", 1);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/a", "a\n", "work");
    let git_dir = t.dir.join(".git");
    t.run_env(&[("GIT_DIR", git_dir.to_str().unwrap())], ["gate"]).ok();
    let s = t.run(["status", "--json"]).ok().json();
    assert_eq!(s["features"][0]["phases"][0]["gates"]["env"], "pass");
    // New work makes the verdict stale.
    t.commit_file("area1/b", "b\n", "more work");
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["phases"][0]["gates"]["env"], "stale");
}

#[test]
fn a_timeout_is_an_error_and_kills_the_command() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.slow]\nrun = \"sleep 30\"\ntimeout = 1\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: slow"]);
    let start = Instant::now();
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!((g["verdict"].as_str(), g["summary"].as_str()), (Some("error"), Some("timed out after 1s")));
}

fn snapshot(t: &TestRepo) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in ["file.txt", "untracked dir/ü.txt", ".orchestrate.toml"] {
        out.push((entry.to_string(), std::fs::read(t.dir.join(entry)).unwrap()));
    }
    out
}

fn signal_test(signal: &str) -> (TestRepo, Vec<(String, Vec<u8>)>, std::process::Output) {
    let t = TestRepo::new();
    let marker = t.root.join("started");
    t.write(".orchestrate.toml", &format!("[gates.slow]\nrun = \"touch '{}'; sleep 5\"\n", marker.display()));
    t.write("file.txt", "committed\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: slow gate"]);
    t.write("file.txt", "unstaged edit\n");
    t.write("untracked dir/ü.txt", "untracked\n");
    let before = snapshot(&t);
    let child = t
        .command(crate::common::BIN, &t.dir)
        .args(["gate"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !marker.exists() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(marker.exists(), "the gate command started");
    let kill = std::process::Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let _ = child_kill_noop(&mut None);
    (t, before, out)
}

fn child_kill_noop(_: &mut Option<()>) -> Option<()> {
    None
}

#[test]
fn ctrl_c_stops_the_gate_with_130_and_leaves_the_work_tree_alone() {
    let (t, before, out) = signal_test("-INT");
    assert_eq!(out.status.code(), Some(130), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(snapshot(&t), before);
    assert_eq!(t.git(["status", "--porcelain"]), " M file.txt\n?? \"untracked dir/\"\n");
    // Nothing was recorded for an interrupted run.
    assert!(t.git_try(["notes", "--ref=orchestrate-evidence", "list"]).stdout.is_empty());
}

#[test]
fn sigkill_leaves_the_work_tree_alone_and_the_next_run_recovers() {
    let (t, before, out) = signal_test("-KILL");
    assert_eq!(out.status.code(), None, "killed");
    assert_eq!(snapshot(&t), before);
    // The killed run's lock went with it; the gate worktree is reset and the gate runs.
    let config = "[gates.quick]\nrun = \"test -f file.txt && grep -q committed file.txt\"\n";
    t.configure(config);
    t.run(["gate"]).ok();
    assert_eq!(t.read("file.txt"), "unstaged edit\n");
}

#[test]
fn bandit_runs_for_real_and_fails_closed() {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return;
    }
    t.write(".orchestrate.toml", "[gates.bandit]\nscanner = \"bandit\"\nrun = \"python3 -m bandit -r src -q -f json -o .orchestrate-bandit.json\"\n");
    t.write("src/ok.py", "def add(a, b):\n    return a + b\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: clean code"]);
    let g = t.run(["gate", "--json"]).ok().json()["gates"][0].clone();
    assert_eq!((g["verdict"].as_str(), g["figures"]["scanned"].as_u64()), (Some("pass"), Some(1)), "{g}");

    t.write("src/bad.py", "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: shell"]);
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["verdict"], "fail", "{g}");
    assert!(g["reasons"].to_string().contains("high B602 at src/bad.py:5"), "{g}");

    // A file bandit cannot parse: bandit exits 0 with the error in its JSON. We fail closed.
    t.git(["rm", "-q", "src/bad.py"]);
    t.write("src/broken.py", "def (:\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "broken"]);
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["verdict"], "error", "{g}");
    assert!(g["reasons"].to_string().contains("fail-closed: bandit could not scan src/broken.py"), "{g}");

    // Scanning nothing is no evidence either.
    t.configure("[gates.bandit]\nscanner = \"bandit\"\nrun = \"python3 -m bandit -r empty -q -f json -o .orchestrate-bandit.json; true\"\n");
    std::fs::create_dir_all(t.dir.join("empty")).unwrap();
    let g = t.run(["gate", "--json"]).code(1).json()["gates"][0].clone();
    assert!(g["reasons"].to_string().contains("fail-closed"), "{g}");
}

#[test]
fn recorded_scanner_outputs_fail_closed_end_to_end() {
    let t = TestRepo::new();
    t.write("fixtures/pip-audit-offline.json", r#"{"dependencies": [{"name": "requests", "skip_reason": "Could not reach the vulnerability service"}], "fixes": []}"#);
    t.write(
        "fixtures/npm-enolock.json",
        r#"{"error": {"code": "ENOLOCK", "summary": "This command requires an existing lockfile."}}"#,
    );
    t.write(
        ".orchestrate.toml",
        "[gates.pip]\nscanner = \"pip-audit\"\nrun = \"{ cat fixtures/pip-audit-offline.json; echo; } > .orchestrate-pip-audit.json\"\n\n[gates.npm]\nscanner = \"npm-audit\"\nrun = \"{ cat fixtures/npm-enolock.json; echo; } > .orchestrate-npm-audit.json; exit 1\"\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: scanners"]);
    // --all: the first error would otherwise stop the second gate.
    let report = t.run(["gate", "--json", "--all"]).code(1).json();
    let by = |name: &str| report["gates"].as_array().unwrap().iter().find(|g| g["gate"] == name).unwrap().clone();
    assert_eq!(by("pip")["verdict"], "error");
    assert!(by("pip")["reasons"].to_string().contains("pip-audit skipped every dependency"));
    assert_eq!(by("npm")["verdict"], "error");
    assert!(by("npm")["reasons"].to_string().contains("npm audit failed: ENOLOCK"));
}

#[test]
fn metric_gate_holds_a_number_to_its_bounds() {
    let t = TestRepo::new();
    t.write(
        ".orchestrate.toml",
        "[gates.a11y]\nkind = \"metric\"\nrun = \"echo '{\\\"categories\\\": {\\\"accessibility\\\": {\\\"score\\\": 0.93}}}' > lh.json\"\nreport = \"lh.json\"\npath = \"categories.accessibility.score\"\nscale = 100\nmin = 95\n\n[gates.latency]\nkind = \"metric\"\nrun = \"echo '{\\\"p95_ms\\\": 42}' > perf.json\"\nreport = \"perf.json\"\npath = \"p95_ms\"\nmax = 50\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: metrics"]);
    let report = t.run(["gate", "--json", "--all"]).code(1).json();
    let by = |name: &str| report["gates"].as_array().unwrap().iter().find(|g| g["gate"] == name).unwrap().clone();
    assert_eq!(by("a11y")["verdict"], "fail");
    assert!(
        by("a11y")["reasons"][0].as_str().unwrap().starts_with("categories.accessibility.score is 93"),
        "{}",
        by("a11y")
    );
    assert_eq!(by("latency")["verdict"], "pass");
    assert_eq!(by("latency")["summary"], "p95_ms = 42 (max 50)");
}

#[test]
fn a_phase_overrides_its_gates_and_optional_gates_only_warn() {
    let t = TestRepo::new();
    t.write(
        ".orchestrate.toml",
        "[gates.strict]\nrun = \"sleep 1.5\"\n\n[gates.phase2-only]\nrun = \"true\"\nphases = [2]\n\n[gates.advisory]\nrun = \"false\"\nrequired = false\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: gates"]);
    let plan = TestRepo::plan_text("ov", 2)
        .replace("risks = [\"risk 1\"]\n", "risks = [\"risk 1\"]\n[phase.gates.strict]\ntimeout = 1\n");
    t.started_with("ov", &plan);
    t.run(["phase", "start"]).ok();
    t.commit_file("area1/a", "a\n", "work");
    // Phase 1 tunes strict's timeout to 1s: it times out there; phase2-only does not run;
    // advisory warns.
    let run = t.run(["gate"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(verdict(&run.stdout, "strict").as_deref(), Some("error"), "{}", run.stdout);
    assert_eq!(verdict(&run.stdout, "phase2-only"), None, "{}", run.stdout);
    assert_eq!(verdict(&run.stdout, "advisory").as_deref(), Some("fail"), "{}", run.stdout);
    assert!(run.stdout.contains(", optional)"), "{}", run.stdout);
    assert!(run.stderr.contains("error: gate strict did not pass"), "{}", run.stderr);
    // Outside the phase (no override) strict passes and only the optional gate fails: exit 0.
    t.git(["switch", "-q", "main"]);
    let run = t.run(["gate"]).ok();
    assert_eq!(verdict(&run.stdout, "strict").as_deref(), Some("pass"), "{}", run.stdout);
    assert_eq!(verdict(&run.stdout, "phase2-only").as_deref(), Some("pass"), "{}", run.stdout);
}

/// The verdict of a gate, from its line (`<gate> <verdict> …`).
fn verdict(table: &str, gate: &str) -> Option<String> {
    table.lines().find_map(|l| {
        let mut cols = l.split_whitespace();
        (cols.next() == Some(gate)).then(|| cols.next().unwrap_or_default().to_string())
    })
}

#[test]
fn bad_gate_configuration_is_a_usage_error() {
    let t = TestRepo::new();
    t.configure("[gates.cov]\nkind = \"coverage\"\nrun = \"true\"\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains("gate `cov`: a coverage gate needs `report`"), "{}", run.stderr);
    t.configure("[gates.x]\nscanner = \"trivy\"\n");
    let run = t.run(["gate"]).code(2);
    assert!(run.stderr.contains("unknown scanner `trivy`"), "{}", run.stderr);
    t.configure("[gates.x]\nrun = \"true\"\n");
    let run = t.run(["gate", "--only", "nope"]).code(2);
    assert!(run.stderr.contains("gate `nope`: is not configured (gates: x, secrets, scope)"), "{}", run.stderr);
}

/// A fake AWS key id, assembled so that no literal token sits in this file.
fn fake_aws() -> String {
    format!("{}{}", "AKIA", "Z7QW4R2T5Y6U3I2O")
}

#[test]
fn a_staged_secret_is_blocked_and_never_shown() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.secrets]\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: secrets gate"]);
    t.write("app/settings.py", &format!("DEBUG = False\nAWS_ACCESS_KEY_ID = \"{}\"\n", fake_aws()));
    t.git(["add", "-A"]);
    let run = t.run(["gate", "--stage", "pre-commit"]).code(1);
    assert!(
        run.stderr.contains("secrets: app/settings.py:2: AWS access key id (aws-access-key-id) AKIA…(20 chars)"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains(&fake_aws()) && !run.stderr.contains(&fake_aws()), "the secret is never printed");
    let tree = t.git(["write-tree"]).trim().to_string();
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &tree]);
    assert!(note.contains("aws-access-key-id") && !note.contains(&fake_aws()), "the evidence holds it redacted");

    // The allow marker on the line lets it through.
    t.write(
        "app/settings.py",
        &format!("DEBUG = False\nAWS_ACCESS_KEY_ID = \"{}\"  # orchestrate:allow-secret\n", fake_aws()),
    );
    t.git(["add", "-A"]);
    t.run(["gate", "--stage", "pre-commit"]).ok();
}

#[test]
fn only_added_lines_count_and_a_baseline_accepts_known_findings() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.secrets]\n");
    t.write("legacy.cfg", &format!("key = {}\n", fake_aws()));
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: legacy (before the gate existed)"]);
    // An unrelated change: the secret already in HEAD is not added again.
    t.write("README.md", "hello\nmore\n");
    t.git(["add", "-A"]);
    t.run(["gate", "--stage", "pre-commit"]).ok();
    // Copying it elsewhere adds it; a baseline with its fingerprint accepts it.
    t.write("copy.cfg", &format!("key = {}\n", fake_aws()));
    t.git(["add", "-A"]);
    let report = t.run(["gate", "--stage", "pre-commit", "--json"]).code(1).json();
    let fingerprint = report["gates"][0]["figures"]["findings"][0]["fingerprint"].as_str().unwrap().to_string();
    // The baseline is configuration: staged with the change it would accept, it accepts nothing.
    t.write(".orchestrate/secrets-baseline.json", &format!("{{\"fingerprints\": [\"{fingerprint}\"]}}"));
    t.git(["add", "-A"]);
    t.run(["gate", "--stage", "pre-commit"]).code(1);
    // Committed first (as configuration is), it accepts the known finding.
    t.git(["restore", "--staged", "copy.cfg"]);
    t.git(["commit", "-qm", "chore: accept the legacy key"]);
    t.git(["add", "copy.cfg"]);
    t.run(["gate", "--stage", "pre-commit"]).ok();
}

#[test]
fn gitleaks_config_in_the_repository_is_used_and_generic_keys_block() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.secrets]\n");
    t.write(
        ".gitleaks.toml",
        "[[rules]]\nid = \"acme-token\"\ndescription = \"ACME token\"\nregex = '''acme_live_[a-z0-9]{24}'''\nkeywords = [\"acme_live_\"]\n",
    );
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: gitleaks rules"]);
    t.write("a.txt", "token = acme_live_ab12cd34ef56gh78ij90kl12\n");
    t.git(["add", "-A"]);
    let run = t.run(["gate", "--stage", "pre-commit"]).code(1);
    assert!(run.stderr.contains("(acme-token) acme…(34 chars)"), "{}", run.stderr);
    // A high-entropy value assigned to a secret-like name blocks too (it used to only warn).
    t.write("a.txt", "api_key = \"q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1\"\n");
    t.git(["add", "-A"]);
    let run = t.run(["gate", "--stage", "pre-commit"]).code(1);
    assert!(run.stderr.contains("(generic-api-key) q8Zr…(23 chars)"), "{}", run.stderr);
}

#[test]
fn a_bad_gitleaks_regex_names_the_rule() {
    let t = TestRepo::new();
    t.configure("[gates.secrets]\n");
    t.commit_file(".gitleaks.toml", "[[rules]]\nid = \"lookahead\"\nregex = '''token(?=x)'''\n", "chore: rules");
    let run = t.run(["gate", "--stage", "pre-commit"]).code(2);
    assert!(
        run.stderr.contains("gate `secrets`: .gitleaks.toml: rule `lookahead`: its regex cannot be used"),
        "{}",
        run.stderr
    );
}

#[test]
fn command_output_is_redacted_before_it_is_kept() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", &format!("[gates.leaky]\nrun = \"echo deploying with {}; exit 1\"\n", fake_aws()));
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: leaky"]);
    let report = t.run(["gate", "--json"]).code(1).json();
    let tail = report["gates"][0]["output_tail"].as_str().unwrap();
    assert_eq!(tail, "deploying with AKIA…(20 chars)\n");
}

#[test]
fn secrets_scan_and_coverage_show_commands() {
    let t = TestRepo::new();
    t.write("conf/prod.env", &format!("A=1\nAWS_KEY={}\n", fake_aws()));
    t.write("conf/dev.env", "A=2\n");
    let run = t.run(["secrets", "scan", "conf"]).code(1);
    assert!(
        run.stdout.starts_with("conf/prod.env:2: secret: AWS access key id (aws-access-key-id) AKIA…(20 chars)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains(&fake_aws()));
    let json = t.run(["secrets", "scan", "conf/dev.env", "--json"]).ok().json();
    assert_eq!((json["secrets"].as_u64(), json["bytes"].as_u64()), (Some(0), Some(4)));

    t.write("cov.info", "TN:\nSF:src/a.py\nDA:1,1\nDA:2,0\nend_of_record\n");
    let report = t.run(["coverage", "show", "cov.info", "--json"]).ok().json();
    assert_eq!(
        (report["format"].as_str(), report["covered"].as_u64(), report["total"].as_u64()),
        (Some("lcov"), Some(1), Some(2))
    );
    t.write("broken.xml", "<coverage>\n<class filename=\"a\">\n<line number=\"x\" hits=\"1\"/>");
    let run = t.run(["coverage", "show", "broken.xml"]).code(2);
    assert!(
        run.stderr.contains("broken.xml: line 3: <line> needs a numeric `number` (as cobertura)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_secret_in_a_commit_message_or_an_approval_note_is_caught() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.secrets]\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", &format!("chore: rotate {}", fake_aws())]);
    let run = t.run(["gate", "--rev", "HEAD"]).code(1);
    assert!(run.stderr.contains("(commit message):1: AWS access key id"), "{}", run.stderr);
    t.run(["start", "x"]).ok();
    let run = t.run(["approve", "plan", "--yes", "-m", &format!("uses {}", fake_aws())]).code(1);
    assert!(
        run.stderr.contains("refusing to record a AWS access key id (AKIA…(20 chars)) in git notes"),
        "{}",
        run.stderr
    );
    assert!(!t.git(["notes", "--ref=orchestrate", "list"]).is_empty());
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-plan-approval");
}

#[test]
fn unmeasured_changed_files_are_listed_and_can_fail() {
    let Some(t) = python_project("min_changed = 50\n") else { return };
    t.write("lib/extra.py", "def f():\n    return 1\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: extra, outside the measured source"]);
    let g = t.run(["gate", "--only", "coverage", "--json"]).ok().json()["gates"][0].clone();
    assert_eq!(g["figures"]["unmeasured"], serde_json::json!(["lib/extra.py"]), "{g}");
    assert!(
        g["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("warning: changed files absent from the report (unmeasured): lib/extra.py"),
        "{g}"
    );
    let config = t.read(".orchestrate.toml").replace("[approvals]", "unmeasured = \"fail\"\n\n[approvals]");
    t.configure(&config);
    // The same commit, judged by the configuration committed now.
    let g = t.run(["gate", "--only", "coverage", "--rev", "HEAD~1", "--json"]).code(1).json()["gates"][0].clone();
    assert_eq!(g["verdict"], "fail", "{g}");
}

#[test]
fn unstaged_and_untracked_work_is_byte_identical_through_a_pass_and_a_fail() {
    let t = TestRepo::new();
    t.write(".orchestrate.toml", "[gates.check]\nrun = \"test -f pass-marker\"\n");
    t.write("file.txt", "committed\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "chore: base"]);
    t.write("file.txt", "unstaged edit\n");
    t.write("untracked dir/ü.txt", "untracked\n");
    let before = snapshot(&t);
    t.run(["gate"]).code(1);
    assert_eq!(snapshot(&t), before, "after a failing gate");
    t.commit_file("pass-marker", "", "chore: marker");
    t.write("file.txt", "unstaged edit\n");
    t.run(["gate"]).ok();
    assert_eq!(snapshot(&t), before, "after a passing gate");
    assert_eq!(t.git(["status", "--porcelain"]), " M file.txt\n?? \"untracked dir/\"\n");
}

#[test]
fn cargo_test_runs_as_a_tests_gate() {
    let t = TestRepo::new();
    t.write("Cargo.toml", "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    t.write("src/lib.rs", "pub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 2), 4); }\n\n#[test]\nfn adds_zero() { assert_eq!(add(2, 0), 2); }\n");
    t.write(".orchestrate.toml", "[gates.tests]\nrun = \"cargo test --offline --quiet\"\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-qm", "feat: tiny crate"]);
    let g = t.run_with_cargo(["gate", "--json"]).ok().json()["gates"][0].clone();
    assert_eq!(
        (g["figures"]["runner"].as_str(), g["figures"]["passed"].as_u64()),
        (Some("cargo test"), Some(2)),
        "{g}"
    );
}

#[test]
fn secrets_scan_skips_what_git_ignores_and_reads_the_repositorys_gitleaks_configuration() {
    let t = TestRepo::new();
    let key = format!("API_KEY = \"{}\"\n", "q8Zr3Lm7Vx2Pw9Kt4Hn6Bj1");
    t.write(".gitignore", "node_modules/\n*.log\n");
    t.write("node_modules/lib/index.js", &key);
    t.write("debug.log", &format!("{key}{}\n", fake_aws()));
    t.write("src/app.py", &format!("KEY = \"{}\"\n", fake_aws()));
    let json = t.run(["secrets", "scan", ".", "--json"]).code(1).json();
    let paths: Vec<&str> = json["findings"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["src/app.py"], "ignored files are not scanned: {json}");
    assert_eq!(json["ignored"], 2, "{json}");
    let run = t.run(["secrets", "scan", "."]).code(1);
    assert!(run.stdout.trim_end().ends_with("; 2 paths ignored by git"), "{}", run.stdout);
    // Named, an ignored file is scanned.
    let json = t.run(["secrets", "scan", "node_modules/lib/index.js", "--json"]).code(1).json();
    assert_eq!(json["findings"][0]["rule"], "generic-api-key", "{json}");
    // A tracked file is scanned even if an ignore rule matches it.
    t.git(["add", "-f", "debug.log"]);
    let json = t.run(["secrets", "scan", ".", "--json"]).code(1).json();
    assert_eq!(json["findings"].as_array().unwrap().len(), 3, "{json}");
    t.git(["rm", "-q", "--cached", "debug.log"]);

    // The repository's .gitleaks.toml is read without --gitleaks: its allowlist holds.
    t.write(".gitleaks.toml", "[allowlist]\npaths = ['''^src/app\\.py$''']\n");
    t.run(["secrets", "scan", "."]).ok();
    // The secrets gate names another file: that one is read, from the work tree or the commit.
    t.commit_file(".orchestrate.toml", "[gates.secrets]\ngitleaks = \"config/leaks.toml\"\n", "chore: gates");
    t.run(["secrets", "scan", "."]).code(1);
    t.commit_file("config/leaks.toml", "[allowlist]\npaths = ['''^src/''']\n", "chore: allowlist");
    std::fs::remove_file(t.dir.join("config/leaks.toml")).unwrap();
    t.run(["secrets", "scan", "."]).ok();
    // Outside any repository, a scan works as before.
    let outside = crate::common::tempdir();
    std::fs::write(outside.path().join("a.env"), &key).unwrap();
    let json = t.run(["secrets", "scan", outside.path().to_str().unwrap(), "--json"]).code(1).json();
    assert_eq!((json["secrets"].as_u64(), json["ignored"].as_u64()), (Some(1), Some(0)), "{json}");
}

#[test]
fn secrets_scan_reads_binary_files_and_reports_what_it_cannot_scan() {
    let t = TestRepo::new();
    let mut data = b"\x00\x00header\x00".to_vec();
    data.extend_from_slice(fake_aws().as_bytes());
    data.push(0);
    std::fs::write(t.dir.join("blob.bin"), &data).unwrap();
    let run = t.run(["secrets", "scan", "blob.bin"]).code(1);
    assert!(run.stdout.starts_with("blob.bin:4: secret: AWS access key id"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("in {} bytes", data.len())), "{}", run.stdout);

    std::fs::create_dir_all(t.dir.join("dir")).unwrap();
    t.write("dir/ok.txt", "nothing\n");
    let fifo = t.dir.join("dir/pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    std::os::unix::fs::symlink("/etc/passwd", t.dir.join("dir/link")).unwrap();

    // Named, a FIFO is not read (a read would wait for a writer): an error, not "0 secrets".
    let run = t.run(["secrets", "scan", "dir/pipe"]).code(2);
    assert!(
        run.stderr.contains("warning: not scanned: dir/pipe: not a regular file (a FIFO, socket or device)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("error: could not scan dir/pipe: not a regular file"), "{}", run.stderr);
    assert!(run.stdout.contains("; 1 path not scanned"), "{}", run.stdout);
    let run = t.run(["secrets", "scan", "dir/link", "missing.txt"]).code(2);
    assert!(run.stderr.contains("not scanned: dir/link: a symbolic link"), "{}", run.stderr);
    assert!(run.stderr.contains("not scanned: missing.txt: cannot read it"), "{}", run.stderr);
    assert!(run.stderr.contains("error: could not scan dir/link (and 1 more)"), "{}", run.stderr);

    // Found by walking a directory, each is reported, and what could be read was.
    let json = t.run(["secrets", "scan", "dir", "--json"]).ok().json();
    assert_eq!(json["bytes"], 8);
    let skipped: Vec<&str> = json["skipped"].as_array().unwrap().iter().map(|s| s["path"].as_str().unwrap()).collect();
    assert_eq!(skipped, ["dir/link", "dir/pipe"]);
}
