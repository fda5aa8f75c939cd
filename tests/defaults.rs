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
    t.run(["init"]).ok();
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
