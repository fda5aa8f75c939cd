//! Snapshots of the main outputs, made on a fixed clock (`ORCHESTRATE_TEST_NOW`) with fixed
//! commit dates, so they are the same on every run and machine. Temporary paths, object ids,
//! fingerprints and durations are filtered.

use crate::common::{Run, TestRepo};

const NOW: &str = "2026-01-01T12:00:00Z";

fn run(t: &TestRepo, args: &[&str]) -> Run {
    t.run_env(&[("ORCHESTRATE_TEST_NOW", NOW)], args)
}

fn snapshot(name: &str, t: &TestRepo, text: &str) {
    let root = t.root.display().to_string();
    let text = text.replace(&root, "[ROOT]");
    insta::with_settings!({
        filters => vec![
            (r"\b[0-9a-f]{40}\b", "[OID]"),
            (r"\b[0-9a-f]{24}\b", "[ID]"),
            (r"\b[0-9a-f]{16}\b", "[FP]"),
            (r"\b[0-9a-f]{7,12}\b", "[SHORT]"),
            (r"\(\d+\.\ds", "(N.Ns"),
            (r"Ran (\d+) tests? in [\d.]+s", "Ran $1 tests in N.NNNs"),
            (r#""duration_ms": \d+"#, r#""duration_ms": N"#),
        ],
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// A feature with one phase done and approved, the second started and gated.
fn journey() -> TestRepo {
    let t = TestRepo::new();
    t.configure(
        "[gates.secrets]\n\n[gates.scope]\n\n[gates.tests]\nrun = \"echo '3 passed in 0.01s'\"\nstage = \"pre-push\"\n",
    );
    let file = t.root.join("jwt-plan.md");
    std::fs::write(&file, TestRepo::plan_text("jwt-auth", 3)).unwrap();
    run(&t, &["start", "jwt-auth", "--plan", file.to_str().unwrap()]).ok();
    run(&t, &["approve", "plan", "--yes", "-m", "looks good"]).ok();
    run(&t, &["phase", "start"]).ok();
    t.commit_file("area1/schema.sql", "create table users (id int);\n", "feat(jwt-auth): user table");
    run(&t, &["gate", "--stage", "pre-commit", "--rev", "HEAD"]).ok();
    run(&t, &["phase", "submit"]).ok();
    run(&t, &["approve", "phase", "--yes", "-m", "reviewed"]).ok();
    run(&t, &["phase", "start"]).ok();
    t.commit_file("area2/jwt.py", "def generate():\n    return 'token'\n", "feat(jwt-auth): jwt service");
    t
}

#[test]
fn the_main_outputs_are_stable() {
    let t = journey();
    snapshot("status", &t, &run(&t, &["status"]).ok().stdout);
    snapshot("status_json", &t, &run(&t, &["status", "--json"]).ok().stdout);
    snapshot("log", &t, &run(&t, &["log"]).ok().stdout);
    snapshot("brief", &t, &run(&t, &["phase", "brief"]).ok().stdout);
    snapshot("gate", &t, &run(&t, &["gate"]).ok().stdout);
    let squash = t.git(["log", "-1", "--format=%B", "orchestrate/jwt-auth/main"]);
    snapshot("phase_commit", &t, &squash);
}

#[test]
fn the_tour_runs_to_completion_on_one_stream() {
    let t = TestRepo::new();
    if which_python().is_none() {
        eprintln!("SKIPPED: the tour's snapshot is of its Python project, and python3 is not on PATH");
        return;
    }
    let run = run(&t, &["tour"]).ok();
    assert!(run.stderr.is_empty(), "the tour writes one stream: {}", run.stderr);
    let text = regex_lite_tmp(&run.stdout);
    for step in ["phase submit", "--request-changes", "approve phase", "approve finish", "complete.md", "[finished]"] {
        assert!(text.contains(step), "the tour shows {step}");
    }
    snapshot("tour", &t, &text);
}

/// The tour's temporary directory has a random name: filtered out.
fn regex_lite_tmp(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("git-orchestrate-tour-") {
            Some(i) => {
                let start = l[..i].rfind(char::is_whitespace).map_or(0, |s| s + 1);
                let end = l[i..].find(|c: char| c.is_whitespace() || c == ')').map_or(l.len(), |e| i + e);
                format!("{}[TOUR]{}", &l[..start], &l[end..])
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `python3` on PATH (the tour's project is Python when it is there).
fn which_python() -> Option<std::path::PathBuf> {
    #[allow(clippy::disallowed_methods)]
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("python3")).find(|p| p.is_file())
}
