//! Commands run in-process through the library with a captured `Ui`: what they write is read back
//! as strings, nothing reaches the test's own stdout or stderr, and the exit code is the one the
//! binary gives.

use clap::Parser;
use git_orchestrate::cli::Cli;
use git_orchestrate::output::Ui;

use crate::common::TestRepo;

/// Run `args` in `t`'s repository through the library, with a captured Ui.
fn captured(t: &TestRepo, args: &[&str]) -> (u8, Ui) {
    let dir = t.dir.to_str().unwrap();
    let cli = Cli::try_parse_from(["git-orchestrate", "-C", dir].iter().chain(args)).unwrap();
    let ui = Ui::capture();
    (git_orchestrate::run_with(&ui, cli), ui)
}

#[test]
fn status_json_is_captured_as_the_binary_prints_it() {
    let t = TestRepo::new();
    let file = t.root.join("plan.md");
    std::fs::write(&file, TestRepo::plan_text("jwt-auth", 2)).unwrap();
    t.run(["start", "jwt-auth", "--plan", file.to_str().unwrap()]).ok();

    let (code, ui) = captured(&t, &["status", "--json"]);
    assert_eq!(code, 0, "stderr:\n{}", ui.stderr());
    let json: serde_json::Value = serde_json::from_str(&ui.stdout()).expect("captured stdout is JSON");
    assert_eq!(json["features"][0]["name"], "jwt-auth");
    assert_eq!(json["features"][0]["state"], "awaiting-plan-approval");
    assert_eq!(json, t.run(["status", "--json"]).ok().json(), "the same JSON as the binary's");
    assert_eq!(ui.stderr(), "");

    // The human form: the table on stdout, without colour (a captured Ui is no terminal).
    let (code, ui) = captured(&t, &["status"]);
    assert_eq!(code, 0);
    assert!(ui.stdout().starts_with("jwt-auth — JWT authentication with refresh tokens  [awaiting-plan-approval]\n"));
    assert!(!ui.stdout().contains('\u{1b}'), "{:?}", ui.stdout());

    // A question nobody can answer: refused (whichever refusal comes first in this process's
    // environment), stdin never read, nothing approved.
    let (code, ui) = captured(&t, &["approve", "plan", "--feature", "jwt-auth"]);
    assert_ne!(code, 0);
    assert!(ui.stderr().starts_with("error: "), "{}", ui.stderr());
    assert_eq!(t.run(["status", "--json"]).ok().json()["features"][0]["state"], "awaiting-plan-approval");
}

#[test]
fn an_error_and_its_exit_code_are_captured() {
    let t = TestRepo::new();
    t.write("plans/bad/plan.md", "+++\nfeature = \"bad\"\n+++\n");
    // Absolute: a relative `--file` is read from the process's directory, not `-C`'s.
    let file = t.dir.join("plans/bad/plan.md");
    let file = file.to_str().unwrap();
    let (code, ui) = captured(&t, &["plan", "lint", "--file", file]);
    let binary = t.run(["plan", "lint", "--file", file]);
    assert_eq!(i32::from(code), binary.code);
    assert_ne!(code, 0);
    assert_eq!(ui.stdout(), binary.stdout, "the diagnostics, on stdout");
    assert_eq!(ui.stderr(), binary.stderr, "the error, on stderr");
    assert!(ui.stderr().starts_with(&format!("error: {file} has 2 errors")), "{}", ui.stderr());
}
