//! The audit gate (what a phase does to the checks themselves) and the approval policy
//! (`approvals.require`: any, tty, signed), each tried as an agent would try it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use crate::common::TestRepo;

const TESTS_PY: &str = "\
import pytest


def test_add():
    assert 1 + 1 == 2
    assert 2 + 2 == 4


def test_sub():
    assert 2 - 1 == 1
";

/// A repository whose `area1/tests/test_calc.py` exists at the fork point, with feature `x`
/// started (plan approved) and phase 1 checked out. `config` is committed first.
fn phase_with_tests(config: &str) -> TestRepo {
    let t = TestRepo::new();
    t.configure(config);
    t.commit_file("area1/tests/test_calc.py", TESTS_PY, "test: calc");
    t.started_and_approved("x", 2);
    t.run(["phase", "start", "1"]).ok();
    t
}

/// The audit's findings on the phase's tip, by running its review stage.
fn audit(t: &TestRepo) -> serde_json::Value {
    let run = t.run(["gate", "--stage", "review", "--json"]);
    let json = run.json();
    json["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["gate"] == "audit")
        .cloned()
        .unwrap_or_else(|| panic!("no audit gate ran: {json}"))
}

fn ids(gate: &serde_json::Value) -> Vec<String> {
    gate["figures"]["findings"]
        .as_array()
        .map(|a| a.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn the_audit_runs_unconfigured_and_a_clean_phase_passes_it() {
    let t = phase_with_tests("");
    t.commit_file(
        "area1/tests/test_calc.py",
        &format!("{TESTS_PY}\n\ndef test_mul():\n    assert 2 * 2 == 4\n"),
        "test(x): mul",
    );
    let gate = audit(&t);
    assert_eq!(gate["verdict"], "pass", "{gate}");
    assert!(ids(&gate).is_empty(), "{gate}");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
}

#[test]
fn each_way_of_gaming_the_tests_is_a_finding_with_its_place() {
    let t = phase_with_tests("");
    // Skip one test, drop an assertion from another, remove a third, and exclude new code.
    let gamed = "\
import pytest


@pytest.mark.skip(reason=\"later\")
def test_add():
    assert 1 + 1 == 2
";
    t.write("area1/tests/test_calc.py", gamed);
    t.write("area1/calc.py", "def f(x):  # pragma: no cover\n    return x\n");
    t.write("area1/web/sum.test.js", "it.skip('adds', () => {});\nxit('subs', () => {});\n");
    t.write("area1/lib.rs", "#[test]\n#[ignore]\nfn slow() {}\n");
    t.write("area1/web/app.js", "/* istanbul ignore next */\nfunction f() {}\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "feat(x): work"]);
    let gate = audit(&t);
    assert_eq!(gate["verdict"], "fail", "{gate}");
    let found = ids(&gate);
    for id in [
        "audit:skip-marker:area1/tests/test_calc.py:4",
        "audit:test-removed:area1/tests/test_calc.py:9",
        "audit:assertions-removed:area1/tests/test_calc.py:6",
        "audit:coverage-exclusion:area1/calc.py:1",
        "audit:skip-marker:area1/web/sum.test.js:1",
        "audit:skip-marker:area1/web/sum.test.js:2",
        "audit:skip-marker:area1/lib.rs:2",
        "audit:coverage-exclusion:area1/web/app.js:1",
    ] {
        assert!(found.iter().any(|f| f == id), "{id} missing from {found:?}");
    }
    let reasons = gate["reasons"].to_string();
    assert!(reasons.contains("area1/tests/test_calc.py:9: test `test_sub` removed"), "{reasons}");
    assert!(reasons.contains("skip marker `pytest.mark.skip` added"), "{reasons}");
}

#[test]
fn deleting_a_test_file_and_weakening_coverage_and_ci_configuration_are_findings() {
    let t = phase_with_tests("");
    t.git(["rm", "-q", "area1/tests/test_calc.py"]);
    t.write(".coveragerc", "[run]\nomit =\n    area1/*\n");
    t.write("area1/pyproject.toml", "[tool.coverage.report]\nexclude_also = [\"def f\"]\n");
    t.write("area1/conftest.py", "def pytest_collection_modifyitems(items):\n    items.clear()\n");
    t.write("area1/jest.config.js", "module.exports = { coveragePathIgnorePatterns: ['src'] };\n");
    t.write(".github/workflows/ci.yml", "on: push\n");
    t.write("area1/coverage.json", "{\"files\": {}}\n");
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "chore(x): tidy"]);
    let found = ids(&audit(&t));
    for id in [
        "audit:report-committed:area1/coverage.json:1",
        "audit:test-deleted:area1/tests/test_calc.py:1",
        "audit:coverage-exclusion:.coveragerc:2",
        "audit:coverage-exclusion:.coveragerc:3",
        "audit:coverage-exclusion:area1/pyproject.toml:2",
        "audit:test-config:area1/conftest.py:1",
        "audit:test-config:area1/jest.config.js:1",
        "audit:coverage-exclusion:area1/jest.config.js:1",
        "audit:test-config:.github/workflows/ci.yml:1",
    ] {
        assert!(found.iter().any(|f| f == id), "{id} missing from {found:?}");
    }
}

#[test]
fn a_phase_that_weakens_the_gate_configuration_is_reported() {
    let config = "[gates.tests]\nrun = \"true\"\nstage = \"review\"\nallow_no_tests = true\n\n[gates.coverage]\nrun = \"true\"\nreport = \"c.json\"\nmin = 80\nstage = \"review\"\n\n[gates.lint]\nrun = \"true\"\nstage = \"review\"\n";
    let t = phase_with_tests(config);
    let weaker = "[gates.tests]\nrun = \"echo 1 passed\"\nstage = \"review\"\nallow_no_tests = true\nrequired = false\n\n[gates.coverage]\nrun = \"true\"\nreport = \"c.json\"\nmin = 50\nstage = \"review\"\nseed = [\"target\"]\n\n[approvals]\nrequire = \"any\"\n";
    t.commit_file(".orchestrate.toml", weaker, "chore(x): gates");
    let gate = audit(&t);
    let reasons = gate["reasons"].to_string();
    assert!(reasons.contains(".orchestrate.toml:2: gate `tests`: `run` changed"), "{reasons}");
    assert!(reasons.contains(".orchestrate.toml:5: gate `tests`: `required = false` set"), "{reasons}");
    assert!(reasons.contains(".orchestrate.toml:10: gate `coverage`: `min` lowered from 80 to 50"), "{reasons}");
    assert!(reasons.contains("gate `lint` removed"), "{reasons}");
    // Seeding trusts the work tree's build output: a phase that adds it is said too.
    assert!(reasons.contains(".orchestrate.toml:12: gate `coverage`: `seed = [\\\"target\\\"]` set"), "{reasons}");
}

#[test]
fn fewer_tests_run_than_at_the_fork_point_is_a_finding() {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return;
    }
    t.configure("[gates.tests]\nrun = \"python3 -m pytest -q area1\"\n");
    t.commit_file("area1/tests/test_calc.py", TESTS_PY, "test: calc");
    t.started_and_approved("x", 2);
    // The fork point's tests run (as they do before a phase starts from it).
    t.run(["gate", "--stage", "pre-push"]).ok();
    t.run(["phase", "start", "1"]).ok();
    // The test goes; with it, the number of tests run.
    t.commit_file("area1/tests/test_calc.py", &TESTS_PY.replace("def test_sub", "def _sub"), "refactor(x): calc");
    t.run(["gate", "--stage", "pre-push"]).ok();
    let gate = audit(&t);
    let reasons = gate["reasons"].to_string();
    assert!(reasons.contains("gate `tests` ran 1 tests, fewer than the 2 it ran at the fork point"), "{reasons}");
    assert!(ids(&gate).contains(&"audit:tests-fewer:tests".to_string()), "{gate}");
}

const CALC_PY: &str = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n";

const CALC_TESTS_PY: &str = "from area1.calc import add, sub\n\n\ndef test_add():\n    assert add(1, 1) == 2\n\n\ndef test_sub():\n    assert sub(2, 1) == 1\n";

/// Coverage measured by coverage.py under pytest, for real: the phase lowers the coverage of the
/// project's code (`coverage-lower`), then carries the figure over `min` with a test file that
/// runs lines of its own (`tests-in-coverage`), each found against the fork point's evidence.
#[test]
fn lower_coverage_and_tests_counted_as_covered_code_are_findings() {
    let t = TestRepo::new();
    if !t.with_python_tools() {
        return;
    }
    // The project measures area1, its tests included (coverage.py's `--source` takes both).
    t.configure("[gates.coverage]\nrun = \"python3 -m coverage run --source=area1 -m pytest -q area1 && python3 -m coverage json -o coverage.json\"\nreport = \"coverage.json\"\nmin = 70\nstage = \"pre-push\"\n");
    t.write("area1/__init__.py", "");
    t.write("area1/tests/__init__.py", "");
    t.write("area1/calc.py", CALC_PY);
    t.write("area1/tests/test_calc.py", CALC_TESTS_PY);
    t.git(["add", "-A"]);
    t.git(["commit", "-q", "-m", "feat: calc"]);
    t.started_and_approved("x", 2);
    t.run(["gate", "--stage", "pre-push"]).ok();
    t.run(["phase", "start", "1"]).ok();
    // New code, untested: the coverage of the code falls, and the gate fails.
    let untested = format!("{CALC_PY}\n\ndef mul(a, b):\n    c = a * b\n    d = c\n    return d\n\n\ndef div(a, b):\n    c = a / b\n    return c\n");
    t.commit_file("area1/calc.py", &untested, "feat(x): mul and div");
    assert!(t.run(["gate", "--stage", "pre-push"]).code(1).stdout.contains("68.8 % (min 70)"));
    let gate = audit(&t);
    assert!(ids(&gate).contains(&"audit:coverage-lower:coverage".to_string()), "{gate}");
    let reasons = gate["reasons"].to_string();
    assert!(
        reasons.contains("coverage of the project's code fell from 100 % at the fork point to 54.55 %"),
        "{reasons}"
    );
    assert!(!ids(&gate).iter().any(|i| i.starts_with("audit:tests-in-coverage")), "{gate}");
    // A long test file that runs lines of its own: the gate passes, the code is no better tested.
    let padding = (0..60).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "    x{i} = {i}");
        s
    });
    t.commit_file(
        "area1/tests/test_more.py",
        &format!("def test_more():\n{padding}    assert x0 == 0\n"),
        "test(x): more",
    );
    t.run(["gate", "--stage", "pre-push"]).ok();
    let gate = audit(&t);
    assert!(ids(&gate).contains(&"audit:tests-in-coverage:coverage".to_string()), "{gate}");
    assert!(ids(&gate).contains(&"audit:coverage-lower:coverage".to_string()), "{gate}");
    let reasons = gate["reasons"].to_string();
    assert!(reasons.contains("area1/tests/test_more.py:1: gate `coverage` counts test files as covered code (area1/tests/test_more.py, area1/tests/test_calc.py"), "{reasons}");
    assert!(reasons.contains("passes min 70, the code alone is 54.55 %"), "{reasons}");
}

#[test]
fn a_finding_blocks_the_approval_until_a_person_accepts_it_by_name() {
    let t = phase_with_tests("");
    t.commit_file(
        "area1/tests/test_calc.py",
        &TESTS_PY.replace("def test_sub", "@pytest.mark.skip\ndef test_sub"),
        "test(x): skip",
    );
    // The commit went through (the pre-commit audit warns); the approval is blocked.
    let before = t.rev("orchestrate/x/main");
    let run = t.run(["phase", "submit"]).code(1);
    assert!(run.stderr.contains("audit did not pass"), "{}", run.stderr);
    assert!(run.stderr.contains("area1/tests/test_calc.py:9: skip marker `pytest.mark.skip` added"), "{}", run.stderr);
    assert_eq!(t.rev("orchestrate/x/main"), before);
    let id = "audit:skip-marker:area1/tests/test_calc.py:9";
    // The whole gate cannot be overridden; an accept needs a reason and a real finding.
    assert!(t
        .run(["approve", "phase", "--yes", "--override", "audit", "-m", "x"])
        .code(2)
        .stderr
        .contains("accepted by name"));
    assert!(t.run(["approve", "phase", "--yes", "--accept", id]).code(2).stderr.contains("needs the reason"));
    let wrong = t.run(["approve", "phase", "--yes", "--accept", "audit:skip-marker:nope:1", "-m", "x"]).code(2);
    assert!(wrong.stderr.contains(id), "the refusal lists the findings: {}", wrong.stderr);
    t.run(["approve", "phase", "--yes", "--accept", id, "-m", "flaky on CI, tracked in #7"]).ok();
    let body = t.git(["log", "-1", "--format=%B", "orchestrate/x/main"]);
    assert!(body.contains(&format!("Audit-Accepted: {id}: flaky on CI, tracked in #7")), "{body}");
    let events = t.events("x");
    assert_eq!(events.last().unwrap()["accepted"][0], format!("{id}: flaky on CI, tracked in #7"));
    assert!(t.run(["status"]).ok().stdout.contains(&format!("audit finding accepted: {id}")));
    assert!(t.run(["log"]).ok().stdout.contains(&format!("accepted {id}")));
}

#[test]
fn a_finding_kind_configured_to_warn_does_not_block() {
    let t = phase_with_tests("[gates.audit]\nwarn = [\"skip-marker\"]\n");
    t.commit_file(
        "area1/tests/test_calc.py",
        &TESTS_PY.replace("def test_sub", "@pytest.mark.skip\ndef test_sub"),
        "test(x): skip",
    );
    let gate = audit(&t);
    assert_eq!(gate["verdict"], "pass", "{gate}");
    assert!(gate["reasons"].to_string().contains("warning: area1/tests/test_calc.py:9"), "{gate}");
    t.run(["phase", "submit"]).ok();
    t.run(["approve", "phase", "--yes"]).ok();
}

// ---- approvals.require ----

/// Run the binary with stdin, stdout and stderr on a pseudo-terminal (`script`), as a person
/// at a terminal would. `None` where `script` is not installed.
fn on_a_terminal(t: &TestRepo, args: &str) -> Option<(i32, String)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: `script` (util-linux) is not installed, so no terminal can be given");
        return None;
    }
    let bin = env!("CARGO_BIN_EXE_git-orchestrate");
    let out = t
        .command("script", &t.dir)
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .output()
        .expect("script runs");
    Some((out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned()))
}

#[test]
fn under_tty_yes_without_a_terminal_is_refused_and_a_terminal_approves() {
    let t = TestRepo::new();
    t.configure("[approvals]\nrequire = \"tty\"\n");
    let file = t.root.join("x-plan.md");
    std::fs::write(&file, TestRepo::plan_text("x", 1)).unwrap();
    t.run(["start", "x", "--plan", file.to_str().unwrap()]).ok();
    let run = t.run(["approve", "plan", "--yes"]).code(1);
    assert!(run.stderr.contains("needs a person at a terminal"), "{}", run.stderr);
    // No hint tells how to turn the policy off.
    assert!(!run.stderr.contains("require = \"any\""), "{}", run.stderr);
    assert!(t.events("x").iter().all(|e| e["event"] != "plan-approved"));
    // From an agent's environment, even a terminal is refused.
    let agent = t.run_env(&[("CLAUDECODE", "1")], ["approve", "plan", "--yes"]).code(1);
    assert!(agent.stderr.contains("runs inside Claude Code"), "{}", agent.stderr);
    let Some((code, out)) = on_a_terminal(&t, "approve plan --yes") else { return };
    assert_eq!(code, 0, "{out}");
    let approved = t.events("x").into_iter().find(|e| e["event"] == "plan-approved").unwrap();
    assert_eq!(approved["via"], "terminal");
    assert!(t
        .run(["status"])
        .ok()
        .stdout
        .contains("plan approved by Ada Lovelace <ada@example.com> (terminal; unsigned)"));
}

#[test]
fn the_default_policy_is_tty() {
    let t = TestRepo::new();
    t.configure("[approvals]\n");
    let file = t.root.join("x-plan.md");
    std::fs::write(&file, TestRepo::plan_text("x", 1)).unwrap();
    t.run(["start", "x", "--plan", file.to_str().unwrap()]).ok();
    let run = t.run(["approve", "plan", "--yes"]).code(1);
    assert!(run.stderr.contains("approvals.require = \"tty\""), "{}", run.stderr);
}

/// An ed25519 key pair in `dir`, made by ssh-keygen. `None` (with a message) without ssh-keygen.
fn keypair(dir: &Path, name: &str) -> Option<(std::path::PathBuf, String)> {
    let key = dir.join(name);
    let made = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"]).arg(&key).output();
    match made {
        Ok(out) if out.status.success() => {}
        _ => {
            eprintln!("SKIPPED: ssh-keygen cannot make a key here");
            return None;
        }
    }
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    Some((key, public.trim().to_string()))
}

#[test]
fn signed_approvals_verify_and_forged_or_altered_ones_are_refused() {
    let Some(t) = signed_feature(2) else { return };
    // Without a terminal: refused, signed or not.
    assert!(t.run(["approve", "plan", "--yes"]).code(1).stderr.contains("needs a person at a terminal"));
    let Some((code, out)) = on_a_terminal(&t, "approve plan --yes") else { return };
    assert_eq!(code, 0, "{out}");
    let approved = t.events("x").into_iter().find(|e| e["event"] == "plan-approved").unwrap();
    assert!(approved["sig"].as_str().unwrap().contains("BEGIN SSH SIGNATURE"), "{approved}");
    let status = t.run(["status"]).ok().stdout;
    assert!(status.contains("signed by ada@example.com, verified"), "{status}");

    // Phase 1's work, and an approval line written by hand with `git notes append`.
    t.run(["phase", "start", "1"]).ok();
    t.commit_file("area1/a.txt", "a\n", "feat(x): work");
    let note_key = t.hash_blob("git-orchestrate feature x\n");
    let tip = t.rev("HEAD");
    let tree = t.rev("HEAD^{tree}");
    let forged = format!(
        "{{\"seq\":99,\"ts\":\"2026-01-01T00:00:00Z\",\"id\":\"forged\",\"by\":\"Ada Lovelace <ada@example.com>\",\"event\":\"phase-approved\",\"phase\":1,\"commit\":\"{tip}\",\"tree\":\"{tree}\",\"via\":\"terminal\"}}"
    );
    t.git(["notes", "--ref=orchestrate", "append", "--no-separator", "-m", &forged, &note_key]);
    let status = t.run(["status"]).ok().stdout;
    assert!(status.contains("(unverified)"), "{status}");
    assert!(status.contains("unsigned, and approvals.require = \"signed\""), "{status}");
    // Nothing is approved on top of it.
    t.run(["phase", "start", "2"]).ok();
    t.commit_file("area2/b.txt", "b\n", "feat(x): more");
    let refused = t.run(["approve", "phase", "2", "--yes"]).code(1);
    assert!(refused.stderr.contains("the approval of phase 1 recorded at 2026-01-01T00:00:00Z"), "{}", refused.stderr);
    assert!(refused.stderr.contains("does not verify"), "{}", refused.stderr);
}

#[test]
fn an_altered_signed_approval_no_longer_verifies() {
    let Some(t) = signed_feature(1) else { return };
    let Some((code, out)) = on_a_terminal(&t, "approve plan --yes -m lgtm") else { return };
    assert_eq!(code, 0, "{out}");
    // Someone rewrites the note, changing the approval's note but keeping its signature.
    let note_key = t.hash_blob("git-orchestrate feature x\n");
    let note = t.git(["notes", "--ref=orchestrate", "show", &note_key]);
    let altered = note.replace("\"note\":\"lgtm\"", "\"note\":\"lgtm, and ship phase 2 too\"");
    assert_ne!(note, altered);
    t.git(["notes", "--ref=orchestrate", "add", "-f", "-m", altered.trim_end(), &note_key]);
    let status = t.run(["status"]).ok().stdout;
    assert!(status.contains("plan approval unverified"), "{status}");
    assert!(status.contains("does not verify for ada@example.com"), "{status}");
    assert!(t.run(["log"]).ok().stdout.contains("unverified: the signature does not verify"));
}

/// The evidence notes' lines for `tree`.
fn evidence_lines(t: &TestRepo, tree: &str) -> Vec<serde_json::Value> {
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", tree]);
    note.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn under_signed_evidence_is_signed_and_unsigned_forged_or_altered_evidence_never_passes() {
    let gate =
        "[gates.tests]\nrun = 'echo run >> \"$HOME/runs\"; test -f area1/ok'\nstage = \"pre-commit\"\ncounts = false\n";
    let Some(t) = signed_feature_with(1, gate) else { return };
    let runs = t.home().join("runs");
    let count = || std::fs::read_to_string(&runs).unwrap_or_default().lines().count();
    let Some((code, out)) = on_a_terminal(&t, "approve plan --yes") else { return };
    assert_eq!(code, 0, "{out}");
    t.run(["hooks", "install"]).ok();
    t.run(["phase", "start", "1"]).ok();

    // A commit through the hooks: every record of its tree is signed.
    t.write("area1/ok", "ok\n");
    t.git(["add", "area1/ok"]);
    t.git(["commit", "-q", "-m", "feat(x): ok"]);
    assert_eq!(count(), 1);
    let tree = t.rev("HEAD^{tree}");
    let records = evidence_lines(&t, &tree);
    assert!(records.len() >= 2, "{records:?}");
    for r in &records {
        assert!(r["sig"].as_str().is_some_and(|s| s.contains("BEGIN SSH SIGNATURE")), "unsigned record: {r}");
    }
    // Signed evidence is reused: gating the same tree again runs nothing.
    t.run(["gate", "--stage", "pre-commit"]).ok();
    assert_eq!(count(), 1, "verified evidence is a cache hit");

    // An altered record (another verdict's figures under the old signature) is a cache miss.
    let note = t.git(["notes", "--ref=orchestrate-evidence", "show", &tree]);
    let altered = note.replace("\"duration_ms\":", "\"duration_ms\":1");
    assert_ne!(note, altered);
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", altered.trim_end(), &tree]);
    t.run(["gate", "--stage", "pre-commit"]).ok();
    assert_eq!(count(), 2, "an altered signed record no longer counts: the gate ran again");

    // A commit made with --no-verify whose gate fails, and a passing record written by hand.
    t.git(["rm", "-q", "area1/ok"]);
    t.write("area1/work.txt", "w\n");
    t.git(["add", "area1/work.txt"]);
    t.git(["commit", "-q", "--no-verify", "-m", "feat(x): no ok"]);
    let bad = t.rev("HEAD^{tree}");
    let mut forged = records.iter().find(|r| r["gate"] == "tests").unwrap().clone();
    forged["tree"] = bad.clone().into();
    forged.as_object_mut().unwrap().remove("sig");
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", &forged.to_string(), &bad]);
    // Not a pass: the gate runs, and fails.
    let gated = t.run(["gate", "--stage", "pre-commit", "--rev", "HEAD", "--phase", "1", "--feature", "x"]).code(1);
    assert!(gated.stdout.contains("tests"), "{}", gated.stdout);
    assert_eq!(count(), 3, "an unsigned record is never a cache hit");
    // The same record, signed with a key the allowed signers do not list: not a pass either.
    let (mallory, _) = keypair(&t.root, "mallory").unwrap();
    let payload = t.root.join("payload");
    std::fs::write(&payload, forged.to_string()).unwrap();
    let signed = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "git-orchestrate-evidence", "-f"])
        .arg(&mallory)
        .arg(&payload)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", String::from_utf8_lossy(&signed.stderr));
    forged["sig"] = std::fs::read_to_string(payload.with_extension("sig")).unwrap().into();
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", &forged.to_string(), &bad]);
    t.run(["gate", "--stage", "pre-commit", "--rev", "HEAD", "--phase", "1", "--feature", "x"]).code(1);
    assert_eq!(count(), 4, "a signature by a key nobody allowed is never a cache hit");
    // And pre-push does not take the forged record for the --no-verify commit.
    let remote = t.root.join("remote.git");
    t.git(["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.git(["notes", "--ref=orchestrate-evidence", "add", "-f", "-m", &forged.to_string(), &bad]);
    let pushed = t.git_try(["push", remote.to_str().unwrap(), "HEAD"]);
    assert_ne!(pushed.code, 0, "{}", pushed.stderr);
    assert!(pushed.stderr.contains("no signed, passing `tests` evidence"), "{}", pushed.stderr);
}

/// Ada's ssh key signs approvals, the allowed-signers file and `approvals.require = "signed"` are
/// committed, and feature `x` with `phases` phases is started. `None` without `ssh-keygen`.
fn signed_feature(phases: u32) -> Option<TestRepo> {
    signed_feature_with(phases, "")
}

/// [`signed_feature`], with `config` added to the committed configuration.
fn signed_feature_with(phases: u32, config: &str) -> Option<TestRepo> {
    let t = TestRepo::new();
    let (key, public) = keypair(&t.root, "ada")?;
    t.git(["config", "gpg.format", "ssh"]);
    t.git(["config", "user.signingkey", key.to_str().unwrap()]);
    t.write(".orchestrate/allowed_signers", &format!("ada@example.com {public}\n"));
    t.git(["add", ".orchestrate/allowed_signers"]);
    t.configure(&format!("[approvals]\nrequire = \"signed\"\n{config}"));
    let file = t.root.join("x-plan.md");
    std::fs::write(&file, TestRepo::plan_text("x", phases)).unwrap();
    t.run(["start", "x", "--plan", file.to_str().unwrap()]).ok();
    Some(t)
}
