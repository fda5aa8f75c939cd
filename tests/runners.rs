//! Every common runner read right: real pytest, unittest, cargo, vitest and jest runs in
//! projects made here; coverage figures against each producer's own total; scanners graded by
//! their reports; every gate kind's failure shown with the command's own output; reports that
//! were copied rather than written refused.

use crate::common::{node_tools, TestRepo};

/// Run one gate and return (exit code, its JSON record).
fn gate(t: &TestRepo, name: &str) -> (i32, serde_json::Value) {
    let run = t.run(["gate", "--only", name, "--force", "--json"]);
    assert!(!run.stdout.is_empty(), "gate {name} gave no report:\n{}", run.stderr);
    let json = run.json();
    (run.code, json["gates"][0].clone())
}

fn commit_all(t: &TestRepo, message: &str) {
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", message]);
}

fn reasons(g: &serde_json::Value) -> String {
    g["reasons"]
        .as_array()
        .map(|r| r.iter().map(|x| x.as_str().unwrap_or_default()).collect::<Vec<_>>().join("\n"))
        .unwrap_or_default()
}

// ---- test counts -------------------------------------------------------------------------

#[test]
fn output_without_a_recognised_summary_is_an_error_unless_counts_are_off() {
    let t = TestRepo::new();
    t.configure("[gates.tests]\nrun = \"echo 'all fine, trust me'\"\n\n[gates.legacy]\nkind = \"tests\"\nrun = \"echo custom runner done\"\ncounts = false\n");
    let (code, g) = gate(&t, "tests");
    assert_eq!((code, g["verdict"].as_str()), (1, Some("error")), "{g}");
    assert!(reasons(&g).contains("no test summary recognised"), "{g}");
    // The output's tail is shown where a person reads it, not only in --json.
    let run = t.run(["gate", "--only", "tests", "--force"]).code(1);
    assert!(run.stderr.contains("| all fine, trust me"), "{}", run.stderr);
    let (code, g) = gate(&t, "legacy");
    assert_eq!((code, g["verdict"].as_str()), (0, Some("pass")), "{g}");
}

#[test]
fn python_unittest_counts_and_an_empty_run_fails() {
    let t = TestRepo::new();
    t.write("tests/__init__.py", "");
    t.write(
        "tests/test_calc.py",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        self.assertEqual(1 + 1, 2)\n\n    def test_bad(self):\n        self.assertEqual(1 + 1, 3)\n\n    @unittest.skip('later')\n    def test_later(self):\n        pass\n",
    );
    t.write(".orchestrate.toml", "[gates.tests]\nrun = \"python3 -m unittest discover -s tests -t .\"\n\n[gates.empty]\nkind = \"tests\"\nrun = \"python3 -m unittest discover -s nothing-here -t . || true; mkdir -p e && python3 -m unittest discover -s e\"\n");
    commit_all(&t, "test: unittest");
    let (code, g) = gate(&t, "tests");
    assert_eq!(code, 1);
    assert_eq!(g["figures"]["runner"], "unittest", "{g}");
    assert_eq!(
        (g["figures"]["passed"].as_u64(), g["figures"]["failed"].as_u64(), g["figures"]["skipped"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{g}"
    );
    // `Ran 0 tests … OK` exits 0 on Python 3.11: a run that tests nothing never passes.
    let (code, g) = gate(&t, "empty");
    assert_eq!((code, g["verdict"].as_str()), (1, Some("fail")), "{g}");
    assert!(reasons(&g).contains("no test ran"), "{g}");
}

#[test]
fn pytest_9_subtests_summary_is_read() {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return;
    }
    let version = t
        .command("python3", &t.dir)
        .args(["-c", "import pytest; print(pytest.__version__.split('.')[0])"])
        .output()
        .unwrap();
    if String::from_utf8_lossy(&version.stdout).trim().parse::<u32>().unwrap_or(0) < 9 {
        eprintln!("SKIPPED: pytest 9 (built-in subtests) is not the one installed here");
        return;
    }
    t.write("tests/test_sub.py", "def test_many(subtests):\n    for i in range(3):\n        with subtests.test(i=i):\n            assert i >= 0\n\n\ndef test_plain():\n    assert True\n");
    t.configure("[gates.tests]\nrun = \"python3 -m pytest -q -p no:cacheprovider tests\"\n");
    commit_all(&t, "test: subtests");
    let (code, g) = gate(&t, "tests");
    assert_eq!(code, 0, "{g}");
    assert_eq!((g["figures"]["runner"].as_str(), g["figures"]["passed"].as_u64()), (Some("pytest"), Some(2)), "{g}");
}

#[test]
fn cargo_test_counts_sum_every_binary() {
    let t = TestRepo::new();
    t.write("Cargo.toml", "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n");
    t.write("src/lib.rs", "pub fn add(a: u32, b: u32) -> u32 { a + b }\n\n#[test]\nfn adds() { assert_eq!(add(2, 2), 4); }\n\n#[test]\nfn adds_zero() { assert_eq!(add(2, 0), 2); }\n");
    t.write("tests/it.rs", "#[test]\nfn wrong() { assert_eq!(tiny::add(1, 1), 3); }\n");
    t.write(".gitignore", "target/\nCargo.lock\n");
    t.configure("[gates.tests]\nrun = \"cargo test --offline --quiet --no-fail-fast\"\ntimeout = 600\n");
    commit_all(&t, "feat: tiny crate");
    // The toolchain the suite itself runs with (the test's HOME is a temp dir).
    let run = t.run_with_cargo(["gate", "--only", "tests", "--json"]);
    let (code, g) = (run.code, run.json()["gates"][0].clone());
    assert_eq!(code, 1, "{g}");
    assert_eq!(g["figures"]["runner"], "cargo test", "{g}");
    assert_eq!((g["figures"]["passed"].as_u64(), g["figures"]["failed"].as_u64()), (Some(2), Some(1)), "{g}");
}

/// A vitest or jest project: `tests` maps file names to contents; the gate runs `command`.
fn node_project(files: &[(&str, &str)], config: &str) -> Option<TestRepo> {
    let tools = match node_tools() {
        Ok(dir) => dir,
        Err(why) => {
            eprintln!("SKIPPED: this test needs vitest and jest from npm, which cannot be had here: {why}");
            return None;
        }
    };
    let t = TestRepo::new();
    t.write("package.json", "{\"name\": \"web\", \"private\": true}\n");
    for (path, text) in files {
        t.write(path, text);
    }
    let bin = tools.join("node_modules").join(".bin");
    t.configure(&config.replace("BIN", bin.to_str().unwrap()));
    commit_all(&t, "test: node project");
    Some(t)
}

#[test]
fn vitest_coloured_summary_is_read_and_an_empty_run_fails() {
    let files =
        [("src/a.test.js", "test('one', () => { expect(1).toBe(1) })\ntest('two', () => { expect(2).toBe(2) })\n")];
    // vitest colours its summary when told to (CI systems set FORCE_COLOR), even into a pipe.
    let config = "[gates.tests]\nrun = \"BIN/vitest run --globals\"\nenv = { FORCE_COLOR = \"1\" }\n\n[gates.none]\nkind = \"tests\"\nrun = \"BIN/vitest run --globals --passWithNoTests no-such-file\"\nenv = { FORCE_COLOR = \"1\" }\n";
    let Some(t) = node_project(&files, config) else { return };
    let (code, g) = gate(&t, "tests");
    assert_eq!(code, 0, "{g}");
    assert_eq!((g["figures"]["runner"].as_str(), g["figures"]["passed"].as_u64()), (Some("vitest"), Some(2)), "{g}");
    assert!(!g["output_tail"].as_str().unwrap().contains('\u{1b}'), "escapes are stripped from the tail");
    // "No test files found, exiting with code 0": nothing ran, nothing passes.
    let (code, g) = gate(&t, "none");
    assert_eq!((code, g["verdict"].as_str()), (1, Some("error")), "{g}");
}

#[test]
fn vitest_and_jest_test_files_that_fail_whole_fail_the_gate() {
    let files = [
        ("a.test.js", "test('ok', () => { expect(1).toBe(1) })\n"),
        ("b.test.js", "require('./does-not-exist');\ntest('never', () => {})\n"),
    ];
    let config = "[gates.vitest]\nkind = \"tests\"\nrun = \"BIN/vitest run --globals\"\nenv = { FORCE_COLOR = \"1\" }\n\n[gates.jest]\nkind = \"tests\"\nrun = \"BIN/jest --ci\"\n";
    let Some(t) = node_project(&files, config) else { return };
    for name in ["vitest", "jest"] {
        let (code, g) = gate(&t, name);
        assert_eq!((code, g["verdict"].as_str()), (1, Some("fail")), "{g}");
        assert_eq!(g["figures"]["failed_files"].as_u64(), Some(1), "{name}: {g}");
        assert!(reasons(&g).contains("1 test file failed as a whole"), "{g}");
    }
}

// ---- kinds -------------------------------------------------------------------------------

#[test]
fn a_measuring_gate_without_kind_is_inferred_or_refused() {
    let t = TestRepo::new();
    t.write("src/a.py", "x = 1\ny = 2\n");
    commit_all(&t, "feat: a");
    t.configure("[gates.cov]\nrun = \"printf 'SF:src/a.py\\\\nDA:1,1\\\\nDA:2,0\\\\nLF:2\\\\nLH:1\\\\nend_of_record\\\\n' > lcov.info\"\nreport = \"lcov.info\"\nmin = 90\n");
    let (code, g) = gate(&t, "cov");
    assert_eq!((code, g["kind"].as_str(), g["verdict"].as_str()), (1, Some("coverage"), Some("fail")), "{g}");
    assert!(reasons(&g).contains("coverage 50.0 % is below the minimum 90 %"), "{g}");
    // A threshold on a gate that can only be a command gate is refused, with its place.
    t.configure("[gates.lint]\nrun = \"true\"\n\n[gates.perf]\nrun = \"true\"\nmax = 50\n");
    let run = t.run(["gate", "--only", "lint"]).code(2);
    assert!(run.stderr.contains(".orchestrate.toml:6:1: gates.perf sets `max`"), "{}", run.stderr);
    assert!(run.stderr.contains("hint: set `kind`"), "{}", run.stderr);
}

// ---- coverage ----------------------------------------------------------------------------

/// The gate's figure and the producer's own, for one coverage.py report (with branch coverage,
/// where coverage.py's JSON percentage counts branches too).
#[test]
fn coverage_py_reports_agree_with_coverage_py_s_own_totals() {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return;
    }
    t.write(
        "src/calc.py",
        "def add(a, b):\n    if a > 100:\n        return 0\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    );
    t.write("tests/test_calc.py", "import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'src'))\nfrom calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n");
    let cov = "python3 -m coverage run --branch --source=src -m pytest -q -p no:cacheprovider";
    t.configure(&format!(
        "[gates.json]\nkind = \"coverage\"\nrun = \"{cov} && python3 -m coverage json -o c.json\"\nreport = \"c.json\"\n\n[gates.xml]\nkind = \"coverage\"\nrun = \"{cov} && python3 -m coverage xml -o c.xml\"\nreport = \"c.xml\"\n\n[gates.lcov]\nkind = \"coverage\"\nrun = \"{cov} && python3 -m coverage lcov -o c.info\"\nreport = \"c.info\"\n"
    ));
    commit_all(&t, "feat: calc");
    // Each producer's figure, from the report it writes (made here in the work tree).
    let made = t.command("sh", &t.dir).args(["-c", &format!("{cov} && python3 -m coverage json -o c.json && python3 -m coverage xml -o c.xml && python3 -m coverage lcov -o c.info")]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let json: serde_json::Value = serde_json::from_str(&t.read("c.json")).unwrap();
    let own_json = json["totals"]["percent_covered"].as_f64().unwrap();
    let xml = t.read("c.xml");
    let rate: f64 = xml.split("line-rate=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let lcov = t.read("c.info");
    let sum =
        |key: &str| lcov.lines().filter_map(|l| l.strip_prefix(key)).map(|n| n.parse::<f64>().unwrap()).sum::<f64>();
    let own_lcov = sum("LH:") * 100.0 / sum("LF:");
    for (name, own) in [("json", own_json), ("xml", rate * 100.0), ("lcov", own_lcov)] {
        let (code, g) = gate(&t, name);
        assert_eq!(code, 0, "{g}");
        let figure = g["figures"]["percent"].as_f64().unwrap();
        assert!((figure - own).abs() < 0.01, "{name}: the gate says {figure}, coverage.py says {own}");
    }
}

#[test]
fn jest_cobertura_is_counted_as_jest_counts_it() {
    let files = [
        ("src/m.js", "function add(a, b) {\n  return a + b;\n}\nfunction unused(a) {\n  if (a > 1) {\n    return a * 2;\n  }\n  return a;\n}\nmodule.exports = { add, unused };\n"),
        ("src/m.test.js", "const { add } = require('./m');\ntest('adds', () => { expect(add(1, 2)).toBe(3) });\n"),
    ];
    let config = "[gates.coverage]\nrun = \"BIN/jest --ci --coverage --coverageReporters=cobertura\"\nreport = \"coverage/cobertura-coverage.xml\"\n";
    let Some(t) = node_project(&files, config) else { return };
    let (_, g) = gate(&t, "coverage");
    let tail = g["output_tail"].as_str().unwrap_or_default().to_string();
    // The report's own rate: lines-covered / lines-valid over the classes' <lines>.
    assert_eq!(g["figures"]["lines_total"].as_u64(), Some(5), "{g}\n{tail}");
    assert_eq!(g["figures"]["percent"].as_f64(), Some(40.0), "{g}");
}

#[test]
fn a_failing_coverage_gate_lists_uncovered_changed_lines_and_ignores_test_files() {
    let t = TestRepo::new();
    t.write("src/a.py", "x = 1\n");
    t.configure("[gates.coverage]\nrun = \"printf 'SF:src/a.py\\\\nDA:1,1\\\\nDA:2,0\\\\nDA:3,0\\\\nend_of_record\\\\n' > lcov.info\"\nreport = \"lcov.info\"\nmin = 90\n");
    t.write("src/a.py", "x = 1\ny = 2\nz = 3\n");
    t.write("tests/test_a.py", "def test_a():\n    pass\n");
    t.write("src/b_test.go", "package b\n");
    commit_all(&t, "feat: more lines");
    let run = t.run(["gate", "--only", "coverage", "--force"]).code(1);
    // Off a terminal too, the failing gate names the changed lines no test runs.
    assert!(run.stderr.contains("uncovered changed lines: src/a.py:2-3"), "{}", run.stderr);
    assert!(!run.stderr.contains("unmeasured"), "test files are not unmeasured source: {}", run.stderr);
}

// ---- every kind shows its command's output on failure --------------------------------------

#[test]
fn every_gate_kind_shows_its_command_s_output_when_it_fails() {
    let t = TestRepo::new();
    t.configure(
        "[gates.coverage]\nrun = \"echo 'error[E0432]: unresolved import' >&2; exit 101\"\nreport = \"lcov.info\"\n\n[gates.deps]\nscanner = \"cargo-audit\"\nrun = \"echo 'error: could not fetch advisory database'; exit 1\"\n\n[gates.size]\nkind = \"metric\"\nrun = \"echo 'bundle step crashed'; exit 2\"\nreport = \"m.json\"\npath = \"kb\"\nmax = 10\n",
    );
    for (name, said) in [
        ("coverage", "| error[E0432]: unresolved import"),
        ("deps", "| error: could not fetch advisory database"),
        ("size", "| bundle step crashed"),
    ] {
        let run = t.run(["gate", "--only", name, "--force"]).code(1);
        assert!(run.stderr.contains(said), "{name}: {}", run.stderr);
    }
}

// ---- scanners ----------------------------------------------------------------------------

const CARGO_AUDIT: &str = r#"{"database": {"advisory-count": 900, "last-commit": "abc", "last-updated": "2026-11-30T00:00:00Z"}, "lockfile": {"dependency-count": 120}, "settings": {"target_arch": [], "target_os": [], "severity": null, "ignore": [], "informational_warnings": ["unmaintained", "unsound", "notice"]}, "vulnerabilities": {"found": true, "count": 2, "list": [{"advisory": {"id": "RUSTSEC-2023-0001", "package": "tokio", "title": "reject_remote_clients Configuration corruption", "description": "…", "date": "2023-01-04", "aliases": ["GHSA-7rrj-xr53-82p7"], "related": [], "collection": "crates", "categories": [], "keywords": [], "cvss": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "informational": null, "references": [], "source": null, "url": null, "withdrawn": null, "license": "CC0-1.0"}, "versions": {"patched": [">=1.18.4"], "unaffected": []}, "affected": null, "package": {"name": "tokio", "version": "1.18.0"}}, {"advisory": {"id": "RUSTSEC-2020-0071", "package": "time", "title": "Potential segfault in the time crate", "cvss": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:H", "informational": null}, "versions": {"patched": [">=0.2.23"], "unaffected": []}, "affected": null, "package": {"name": "time", "version": "0.1.43"}}]}, "warnings": {"unmaintained": [{"kind": "unmaintained", "package": {"name": "ansi_term", "version": "0.12.1"}, "advisory": {"id": "RUSTSEC-2021-0139", "package": "ansi_term", "title": "ansi_term is Unmaintained", "cvss": null, "informational": "unmaintained"}, "affected": null, "versions": {"patched": [], "unaffected": []}}], "yanked": [{"kind": "yanked", "package": {"name": "half", "version": "2.3.0"}, "advisory": null, "affected": null, "versions": null}]}}"#;

#[test]
fn cargo_audit_is_graded_by_cvss_warned_and_baselined() {
    let t = TestRepo::new();
    // The report comes from the command (a heredoc), not from a file of the snapshot.
    let run = format!("cat > .orchestrate-cargo-audit.json <<'EOF'\n{CARGO_AUDIT}\nEOF");
    t.configure(&format!("[gates.deps]\nscanner = \"cargo-audit\"\nrun = '''\n{run}\n'''\nfail_on = \"critical\"\n"));
    let (code, g) = gate(&t, "deps");
    // CVSS 9.8 is critical: it fails a gate that fails on critical; the 5.9 one does not.
    assert_eq!((code, g["verdict"].as_str()), (1, Some("fail")), "{g}");
    let why = reasons(&g);
    assert!(why.contains("critical RUSTSEC-2023-0001 at tokio 1.18.0"), "{why}");
    assert!(!why.contains("RUSTSEC-2020-0071 at"), "{why}");
    assert!(why.contains("warning: RUSTSEC-2021-0139 at ansi_term 0.12.1: unmaintained"), "{why}");
    assert!(why.contains("warning: yanked:half at half 2.3.0: yanked"), "{why}");
    // A baseline committed with the configuration accepts the known advisory: only new ones fail.
    t.write(".orchestrate/audit-baseline", "# accepted until tokio is upgraded\nRUSTSEC-2023-0001\n");
    commit_all(&t, "chore: accept RUSTSEC-2023-0001 for now");
    t.configure(&format!("[gates.deps]\nscanner = \"cargo-audit\"\nrun = '''\n{run}\n'''\nfail_on = \"critical\"\nbaseline = \".orchestrate/audit-baseline\"\n"));
    let (code, g) = gate(&t, "deps");
    assert_eq!((code, g["verdict"].as_str()), (0, Some("pass")), "{g}");
    assert_eq!(g["figures"]["accepted"].as_u64(), Some(1), "{g}");
    // Warnings block when the configuration says so.
    t.configure(&format!("[gates.deps]\nscanner = \"cargo-audit\"\nrun = '''\n{run}\n'''\nfail_on = \"critical\"\nbaseline = \".orchestrate/audit-baseline\"\nwarnings = \"fail\"\n"));
    let (code, g) = gate(&t, "deps");
    assert_eq!(code, 1, "{g}");
    assert!(reasons(&g).contains("medium yanked:half at half 2.3.0"), "{g}");
}

#[test]
fn an_empty_scan_passes_only_where_allowed_and_npm_errors_say_why() {
    let t = TestRepo::new();
    t.configure("[gates.pip]\nscanner = \"pip-audit\"\nrun = \"echo '{\\\"dependencies\\\": [], \\\"fixes\\\": []}' > .orchestrate-pip-audit.json\"\n\n[gates.lib]\nscanner = \"pip-audit\"\nrun = \"echo '{\\\"dependencies\\\": [], \\\"fixes\\\": []}' > .orchestrate-pip-audit.json\"\nallow_empty = true\n\n[gates.npm]\nscanner = \"npm-audit\"\nrun = \"echo '{\\\"message\\\": \\\"403 Forbidden - POST https://registry.example/-/npm/v1/security/advisories/bulk\\\", \\\"statusCode\\\": 403, \\\"error\\\": {}}' > .orchestrate-npm-audit.json; exit 1\"\n");
    assert_eq!(gate(&t, "pip").1["verdict"], "error");
    let (code, g) = gate(&t, "lib");
    assert_eq!((code, g["verdict"].as_str()), (0, Some("pass")), "{g}");
    let (_, g) = gate(&t, "npm");
    assert!(reasons(&g).contains("npm audit failed: 403 Forbidden - POST https://registry.example/-/npm/v1/security/advisories/bulk (HTTP 403)"), "{g}");
}

// ---- fresh reports -----------------------------------------------------------------------

#[test]
fn a_copied_report_is_not_this_run_s() {
    let t = TestRepo::new();
    t.write("src/a.py", "x = 1\n");
    t.write("old/coverage.json", r#"{"meta": {"timestamp": "2026-01-01T00:00:00"}, "files": {"src/a.py": {"executed_lines": [1], "missing_lines": []}}}"#);
    commit_all(&t, "feat: a, and an old report");
    t.configure("[gates.coverage]\nrun = \"cp old/coverage.json coverage.json\"\nreport = \"coverage.json\"\n");
    let (code, g) = gate(&t, "coverage");
    assert_eq!((code, g["verdict"].as_str()), (1, Some("error")), "{g}");
    assert!(reasons(&g).contains("byte for byte `old/coverage.json`"), "{g}");
    // A report kept outside the snapshot and copied in on every run: the first is accepted,
    // the same bytes (time stamp included) for another tree are not.
    let outside = t.root.join("kept.json");
    std::fs::write(&outside, r#"{"meta": {"timestamp": "2026-02-01T00:00:00"}, "files": {"src/a.py": {"executed_lines": [1], "missing_lines": []}}}"#).unwrap();
    t.configure(&format!(
        "[gates.coverage]\nrun = \"cp '{}' coverage.json\"\nreport = \"coverage.json\"\n",
        outside.display()
    ));
    let (code, g) = gate(&t, "coverage");
    assert_eq!(code, 0, "{g}");
    // The same tree run again (--force) may write the same report.
    assert_eq!(gate(&t, "coverage").0, 0);
    t.commit_file("src/a.py", "x = 2\n", "feat: change");
    let (code, g) = gate(&t, "coverage");
    assert_eq!((code, g["verdict"].as_str()), (1, Some("error")), "{g}");
    assert!(reasons(&g).contains("byte for byte the report of the run on tree"), "{g}");
}
