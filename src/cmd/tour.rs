//! `git orchestrate tour`: the whole loop in a throwaway repository, every pause point shown.
//! It runs the real commands through the same dispatch the command line uses.

use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::output::Ui;

/// A guided run of plan → phases → review → commits in a throwaway repository.
///
/// Non-interactive: approvals are given with --yes, as a person would at each pause point.
/// Nothing outside the temporary directory is read or written.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate tour\n  git orchestrate tour --keep   # keep the repository to look around"
)]
pub struct Args {
    /// Keep the throwaway repository and print where it is.
    #[arg(long)]
    pub keep: bool,
}

const PLAN: &str = r#"+++
feature = "jwt-auth"
title   = "JWT authentication with refresh tokens"
base    = "main"

[[phase]]
id    = 1
title = "Database schema"
owner = "maat"
tasks = ["User table", "JWTToken table", "indexes on user(email) and token(user_id, token)"]
tests = ["user table exists", "unique email", "migration up and down"]
paths = ["migrations/**"]
risks = ["zero-downtime migration"]

[[phase]]
id    = 2
title = "Backend services"
owner = "hermes"
tasks = ["JWTService: generate, verify, refresh", "POST /auth/login, POST /auth/refresh"]
tests = ["generate JWT with claims", "verify signature", "refresh returns a new token"]
paths = ["app/auth/**", "tests/auth/**"]

[[phase]]
id    = 3
title = "Frontend integration"
owner = "aphrodite"
type  = "feat"
tasks = ["LoginForm", "useAuth hook"]
tests = ["form submits email and password", "logout clears tokens"]
paths = ["web/**"]
+++

# JWT authentication with refresh tokens

Login with email and password, 15-minute access tokens, 7-day refresh tokens.
"#;

struct Tour<'ui> {
    ui: &'ui Ui,
    dir: PathBuf,
    step: u32,
}

impl Tour<'_> {
    fn heading(&mut self, text: &str) {
        self.step += 1;
        self.ui.status(&format!("\n── {}. {text} ──", self.step));
    }

    fn say(&self, text: &str) {
        self.ui.status(text);
    }

    /// Run one of our own commands inside the tour repository, showing it first.
    fn run(&self, args: &[&str]) -> Result<()> {
        let shown: Vec<String> =
            args.iter().map(|a| if a.contains(' ') { format!("\"{a}\"") } else { (*a).to_string() }).collect();
        self.ui.status(&format!("$ git orchestrate {}", shown.join(" ")));
        let dir = self.dir.to_string_lossy().into_owned();
        let mut command_line = vec!["git-orchestrate", "-C", &dir];
        command_line.extend_from_slice(args);
        let cli =
            Cli::try_parse_from(command_line).map_err(|e| Error::usage(format!("tour step is malformed: {e}")))?;
        super::dispatch(self.ui, cli)
    }

    /// Run one of our own commands that the tour shows failing (a blocked gate).
    fn run_expecting_failure(&self, args: &[&str]) -> Result<()> {
        match self.run(args) {
            Ok(()) => Err(Error::blocked(format!("tour step `{}` was expected to be refused", args.join(" ")))),
            Err(err) => {
                self.ui.error(&err);
                Ok(())
            }
        }
    }

    fn repo(&self) -> Result<Repo> {
        Ok(Repo::discover(&self.dir)?)
    }

    /// `git show <rev>:<path>`, as the tour shows it.
    fn show(&self, rev: &str, path: &str) -> Result<()> {
        let text = self.repo()?.file_at(rev, path)?.unwrap_or_default();
        self.ui.status(&format!("$ git show {rev}:{path}\n{}", text.trim_end()));
        Ok(())
    }

    fn work(&self, files: &[(&str, &str)], message: &str) -> Result<()> {
        for (path, text) in files {
            let p = self.dir.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, text)?;
        }
        let repo = self.repo()?;
        repo.stage(&files.iter().map(|(path, _)| *path).collect::<Vec<_>>())?;
        repo.commit_staged(message)?;
        self.ui.status(&format!("  (the owner commits: {message})"));
        Ok(())
    }
}

fn make_repo(dir: &Path) -> Result<()> {
    let repo = crate::git::init_repository(dir, "main", "Tour Guide", "tour@example.com")?;
    std::fs::write(dir.join("README.md"), "# demo app\n")?;
    repo.stage(&["README.md"])?;
    repo.commit_staged("chore: initial commit")?;
    Ok(())
}

pub fn run(ui: &Ui, args: &Args) -> Result<()> {
    // A tour started from inside a hook must not follow GIT_DIR back to the real repository.
    crate::env::forget_git_repository();
    super::TOUR.store(true, std::sync::atomic::Ordering::Relaxed);
    crate::env::trust_this_process();
    // One stream, so the tour can be paged: what the commands say on stderr goes to stdout.
    ui.merge_stderr_into_stdout();
    // Created exclusively under a random name: nothing planted in the temporary directory (a
    // symlink at a name we would pick) is ever followed, written into or deleted.
    let tmp = tempfile::Builder::new()
        .prefix("git-orchestrate-tour-")
        .tempdir()
        .map_err(|e| Error::blocked(format!("cannot create the tour's temporary directory: {e}")))?;
    let dir = tmp.path().canonicalize()?;
    let result = tour(ui, &dir);
    if args.keep || result.is_err() {
        let _ = tmp.keep();
        ui.status(&format!("\nthe tour repository is kept at {}", dir.display()));
    } else {
        // Removes the directory it created, and nothing a symlink inside it points at.
        drop(tmp);
    }
    result
}

/// The demo project's test runner: runs every `tests/test_*.sh`, reports like pytest does.
const RUNNER: &str = r#"#!/bin/sh
# The tour's test runner: each tests/test_*.sh is a test; its exit code is its verdict.
passed=0; failed=0
for t in tests/test_*.sh; do
    if sh "$t"; then passed=$((passed+1)); else failed=$((failed+1)); echo "FAILED $t"; fi
done
echo "$passed passed, $failed failed in 0.01s"
[ "$failed" -eq 0 ]
"#;

/// With Python: unittest under the standard library's tracer, which writes a real lcov report
/// (no package needed).
const PY_RUNNER: &str = r#"# The tour's test runner: unittest under the standard library's tracer, writing lcov.
import os
import sys
import trace
import unittest

root = os.getcwd()
sys.path.insert(0, root)
tracer = trace.Trace(count=1, trace=0, ignoredirs=[sys.prefix, sys.exec_prefix])
result = {}


def run():
    suite = unittest.defaultTestLoader.discover("tests", top_level_dir=root)
    result["ok"] = unittest.TextTestRunner(verbosity=1).run(suite).wasSuccessful()


tracer.runfunc(run)
counts = tracer.results().counts
with open("coverage.lcov", "w") as out:
    for dirpath, _, files in sorted(os.walk("app")):
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(dirpath, name)
            full = os.path.abspath(path)
            lines = sorted(n for n in trace._find_executable_linenos(full) if n > 0)
            if lines:
                out.write(f"SF:{path}\n")
                for n in lines:
                    out.write(f"DA:{n},{counts.get((full, n), 0)}\n")
                out.write("end_of_record\n")
sys.exit(0 if result["ok"] else 1)
"#;

const PY_CONFIG: &str = r#"# The tour's gates: secrets, scope and the audit on every phase commit (built in); the tests,
# with coverage of every changed line, before a push and at review: one run serves both.
[gates.coverage]
run         = "python3 tests/run.py"
report      = "coverage.lcov"
format      = "lcov"
min_changed = 100
stage       = "pre-push"

[gates.tests]
from  = "coverage"
stage = "pre-push"
"#;

const TEST_README: &str = "import unittest\n\nfrom app.version import VERSION\n\n\nclass Version(unittest.TestCase):\n    def test_version(self):\n        self.assertEqual(VERSION, \"0.1\")\n";
const TEST_FORGED: &str = "import unittest\n\nfrom app.auth.jwt import verify\n\n\nclass Forged(unittest.TestCase):\n    def test_never_issued(self):\n        self.assertFalse(verify(\"\"))\n";
const JWT: &str = "def generate(user_id):\n    return f\"token-{user_id}\"\n\n\ndef verify(token):\n    return token.startswith(\"token-\")\n";
const TEST_GENERATE: &str = "import unittest\n\nfrom app.auth.jwt import generate\n\n\nclass Generate(unittest.TestCase):\n    def test_generate(self):\n        self.assertEqual(generate(7), \"token-7\")\n";
const TEST_VERIFY: &str = "import unittest\n\nfrom app.auth.jwt import verify\n\n\nclass Verify(unittest.TestCase):\n    def test_verify(self):\n        self.assertTrue(verify(\"token-7\"))\n        self.assertFalse(verify(\"forged\"))\n";

const CONFIG: &str = r#"# The tour's gates: secrets and scope on every phase commit, the tests before a push and at review.
[gates.secrets]

[gates.scope]

[gates.tests]
run   = "sh tests/run.sh"
stage = "pre-push"
"#;

fn tour(ui: &Ui, dir: &Path) -> Result<()> {
    let mut t = Tour { ui, dir: dir.to_path_buf(), step: 0 };
    ui.status("A tour of git-orchestrate: one feature, three phases, every pause point.");
    make_repo(dir)?;

    t.heading("set up the repository: gates, committed (gates judge with the committed configuration)");
    t.run(&["init"])?;
    let python = which::which("python3").is_ok();
    if python {
        t.work(
            &[
                (".orchestrate.toml", PY_CONFIG),
                ("tests/run.py", PY_RUNNER),
                ("tests/__init__.py", ""),
                ("tests/test_readme.py", TEST_README),
                ("tests/auth/__init__.py", ""),
                ("app/__init__.py", ""),
                ("app/version.py", "VERSION = \"0.1\"\n"),
                ("app/auth/__init__.py", ""),
            ],
            "chore: gates and a test runner",
        )?;
    } else {
        t.say("(python3 is not on PATH: the tour's tests are shell scripts, and coverage is not gated)");
        t.work(
            &[(".orchestrate.toml", CONFIG), ("tests/run.sh", RUNNER), ("tests/test_readme.sh", "test -f README.md\n")],
            "chore: gates and a test runner",
        )?;
    }
    t.say("The configuration's commands run only once you trust them; the tour trusts its own.");

    t.heading("turn the feature into a plan (athena's job), on its own branch");
    let plan = dir.join(".git").join("tour-plan.md");
    std::fs::write(&plan, PLAN)?;
    t.run(&["start", "jwt-auth", "--plan", &plan.to_string_lossy()])?;
    t.run(&["plan", "lint"])?;
    t.run(&["status"])?;

    t.heading("⏸ pause point 1: a person approves the plan");
    t.say("The approval is pinned to the plan's content: editing the plan later voids it.");
    t.run(&["approve", "plan", "--yes", "-m", "plan looks good"])?;

    let work: [(&[(&str, &str)], &str); 3] = [
        (
            &[("migrations/001_users.sql", "create table users (id int primary key, email text unique);\n")],
            "test: user table migration",
        ),
        (&[("app/auth/jwt.py", JWT), ("tests/auth/test_generate.py", TEST_GENERATE)], "feat: jwt service"),
        (&[("web/LoginForm.tsx", "export function LoginForm() {}\n")], "feat: login form"),
    ];
    for (n, (files, message)) in work.iter().enumerate() {
        let n = n + 1;
        t.heading(&format!("phase {n}: branch off and hand it to its owner (zeus delegates)"));
        t.run(&["phase", "start", "next"])?;
        t.run(&["phase", "brief"])?;
        t.work(files, message)?;
        t.heading(&format!("phase {n}: the owner submits it; every gate of every stage runs on its tip"));
        if n == 2 && python {
            t.say("verify() has no test: coverage of the changed lines blocks the submission, and names them.");
            t.run_expecting_failure(&["phase", "submit"])?;
            t.say("The owner adds the missing test; only what changed is gated again.");
            t.work(&[("tests/auth/test_verify.py", TEST_VERIFY)], "test: verify")?;
        }
        t.run(&["phase", "submit"])?;
        if n == 2 {
            t.heading("⏸ pause point 2: the reviewer sends phase 2 back (NEEDS_REVISION)");
            t.run(&["review", "2", "--request-changes", "-m", "also test a token that was never issued"])?;
            t.run(&["status"])?;
            t.say("The owner sees the reason in the brief, adds the test, and submits again.");
            t.work(&[("tests/auth/test_forged.py", TEST_FORGED)], "test: a token never issued")?;
            t.run(&["phase", "submit"])?;
        }
        t.heading(&format!("⏸ pause point 2: a person reviews phase {n}; it lands as one commit with its report"));
        t.run(&["review"])?;
        t.run(&["approve", "phase", "--yes", "-m", "reviewed"])?;
    }

    t.heading("where it all stands: state from git notes, one commit per phase");
    t.run(&["status"])?;
    t.run(&["log"])?;
    t.show("orchestrate/jwt-auth/main", "plans/jwt-auth/phase-1-complete.md")?;

    t.heading("⏸ pause point 3: finish — the final gates, complete.md, a person's approval, the merge");
    t.run(&["finish"])?;
    t.run(&["approve", "finish", "--yes", "-m", "ship it"])?;
    t.run(&["finish"])?;
    let commits = t.repo()?.oneline_log("main", 6)?;
    ui.status(&format!("$ git log --oneline -6 main\n{}", commits.trim_end()));
    t.show("main", "plans/jwt-auth/complete.md")?;
    t.run(&["status"])?;
    ui.success("That is the loop. In your own repository: git orchestrate init, then git orchestrate start <feature>.");
    Ok(())
}
