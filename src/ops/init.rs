//! Setting a repository up: a commented `.orchestrate.toml` tuned to the project (the kinds it
//! detects, with the tools installed here), git's notes configuration, and the hooks.
//! Idempotent; never overwrites a file the user has.

use std::path::Path;

use serde::Serialize;

use crate::config;
use crate::error::{Error, Result};
use crate::git::{notes::EVENTS_REF, Repo};
use crate::render::Renderer;

/// A gate `init` proposes: its `[gates.<name>]` lines, commented out when its tool is missing.
#[derive(Debug, Serialize)]
pub struct Proposed {
    pub name: String,
    /// `key = value` lines, values as TOML.
    pub lines: Vec<String>,
    pub found: bool,
    /// A coverage gate (the template suggests thresholds).
    pub coverage: bool,
    /// Why it is commented out, and how to get the tool.
    pub why: Option<String>,
}

/// What `init` found: the project kinds, the gates for them, what it could not set up.
#[derive(Debug, Default)]
pub struct Detection {
    pub kinds: Vec<&'static str>,
    pub gates: Vec<Proposed>,
    /// What could not be set up, and why.
    pub missing: Vec<String>,
}

fn line(key: &str, value: &str) -> String {
    format!("{key} = {}", toml::Value::String(value.into()))
}

impl Detection {
    /// Propose `[gates.<name>]` (named `<name>-<kind>` when an earlier kind took the name).
    fn propose(&mut self, name: &str, kind: &str, lines: Vec<String>, missing: Option<String>) {
        let name = if self.gates.iter().any(|g| g.name == name) { format!("{name}-{kind}") } else { name.to_string() };
        if let Some(why) = &missing {
            self.missing.push(format!("{name}: {why}"));
        }
        let coverage = name.starts_with("coverage");
        self.gates.push(Proposed { name, lines, found: missing.is_none(), coverage, why: missing });
    }
}

/// What the project is, from its files, and gates that work for it with the tools installed
/// here: tests and coverage for cargo, pytest, vitest/jest (npm) and go.
fn detect(root: &Path) -> Detection {
    let on_path = |tool: &str| which::which_in(tool, crate::env::path(), root).is_ok();
    let exists = |f: &str| root.join(f).exists();
    let mut d = Detection::default();
    if exists("Cargo.toml") {
        d.kinds.push("cargo");
        // No --all-targets: benches that need nightly would fail it; doctests run by default.
        let tests = vec![line("run", "cargo test"), line("stage", "pre-push")];
        let found = on_path("cargo");
        d.propose("tests", "cargo", tests, (!found).then(|| "cargo is not on PATH: install Rust with rustup".into()));
        let coverage = if on_path("cargo-llvm-cov") {
            Some("cargo llvm-cov --lcov --output-path lcov.info")
        } else if on_path("cargo-tarpaulin") {
            Some("cargo tarpaulin --out Lcov --output-dir .")
        } else {
            None
        };
        let lines =
            coverage_lines(coverage.unwrap_or("cargo llvm-cov --lcov --output-path lcov.info"), "lcov.info", "lcov");
        let why = coverage.is_none().then(|| {
            "cargo-llvm-cov and cargo-tarpaulin are not installed: `cargo install cargo-llvm-cov`".to_string()
        });
        d.propose("coverage", "cargo", lines, why);
    }
    if ["pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini"].iter().any(|f| exists(f)) {
        d.kinds.push("pytest");
        let python = if on_path("python3") { "python3" } else { "python" };
        let pytest = crate::gates::runner::probe(&format!("{python} -c 'import pytest'"), root);
        let coverage = pytest && crate::gates::runner::probe(&format!("{python} -c 'import coverage'"), root);
        if coverage {
            // One run serves both: the coverage run's test counts decide the tests gate.
            let run = format!(
                "{python} -m coverage run -m pytest -q; s=$?; {python} -m coverage json -q -o coverage.json; exit $s"
            );
            d.propose("coverage", "pytest", coverage_lines(&run, "coverage.json", "coverage-py-json"), None);
            let from = d.gates.last().map_or_else(|| "coverage".to_string(), |g| g.name.clone());
            d.propose("tests", "pytest", vec![line("from", &from), line("stage", "pre-push")], None);
        } else {
            let why =
                (!pytest).then(|| format!("pytest is not installed for {python}: `{python} -m pip install pytest`"));
            d.propose(
                "tests",
                "pytest",
                vec![line("run", &format!("{python} -m pytest -q")), line("stage", "pre-push")],
                why,
            );
            let lines = coverage_lines(
                &format!("{python} -m coverage run -m pytest -q; s=$?; {python} -m coverage json -q -o coverage.json; exit $s"),
                "coverage.json",
                "coverage-py-json",
            );
            d.propose(
                "coverage",
                "pytest",
                lines,
                Some(format!("coverage.py is not installed for {python}: `{python} -m pip install coverage`")),
            );
        }
    }
    if exists("package.json") {
        d.kinds.push("npm");
        node(root, &mut d);
    }
    if exists("go.mod") {
        d.kinds.push("go");
        let why = (!on_path("go")).then(|| "go is not on PATH: install Go".to_string());
        d.propose("tests", "go", vec![line("run", "go test ./..."), line("stage", "pre-push")], why.clone());
        let lines = coverage_lines("go test -coverprofile=coverage.out ./...", "coverage.out", "go-coverprofile");
        d.propose("coverage", "go", lines, why);
    }
    d
}

fn coverage_lines(run: &str, report: &str, format: &str) -> Vec<String> {
    vec![line("run", run), line("report", report), line("format", format), line("stage", "pre-push")]
}

/// A package.json project: vitest or jest (with their coverage provider) when installed in
/// `node_modules`, else the `test` script through npm.
fn node(root: &Path, d: &mut Detection) {
    let json: serde_json::Value =
        std::fs::read(root.join("package.json")).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let declared =
        |dep: &str| ["dependencies", "devDependencies"].iter().any(|k| json.get(k).and_then(|d| d.get(dep)).is_some());
    let installed = |bin: &str| root.join("node_modules/.bin").join(bin).exists();
    let runner = ["vitest", "jest"].into_iter().find(|r| declared(r));
    let Some(runner) = runner else {
        let has_test = json.pointer("/scripts/test").and_then(serde_json::Value::as_str).is_some();
        let why = if !has_test {
            Some("package.json has no `test` script and neither vitest nor jest is a dependency".to_string())
        } else if which::which_in("npm", crate::env::path(), root).is_err() {
            Some("npm is not on PATH: install Node.js".into())
        } else {
            None
        };
        d.propose("tests", "npm", vec![line("run", "npm test --silent"), line("stage", "pre-push")], why);
        d.missing.push("coverage: neither vitest nor jest is a dependency in package.json".into());
        return;
    };
    let not_installed =
        (!installed(runner)).then(|| format!("{runner} is in package.json but not installed: `npm install`"));
    let (tests, coverage, provider) = if runner == "vitest" {
        (
            "npx vitest run",
            "npx vitest run --coverage --coverage.reporter=lcov --coverage.reporter=json-summary",
            declared("@vitest/coverage-v8") || declared("@vitest/coverage-istanbul"),
        )
    } else {
        ("npx jest", "npx jest --coverage --coverageReporters=lcov --coverageReporters=json-summary", true)
    };
    d.propose("tests", "npm", vec![line("run", tests), line("stage", "pre-push")], not_installed.clone());
    let why = not_installed.or_else(|| {
        (!provider).then(|| "vitest has no coverage provider: `npm install -D @vitest/coverage-v8`".to_string())
    });
    d.propose("coverage", "npm", coverage_lines(coverage, "coverage/lcov.info", "lcov"), why);
}

/// What `init` did.
pub struct InitReport {
    /// What the project is, and the gates proposed for it.
    pub detection: Detection,
    /// `.orchestrate.toml` was written (else an existing one was kept, and is valid).
    pub config_written: bool,
    /// The git settings changed (`key=value`, `key+=value`).
    pub git_config: Vec<String>,
    /// The hooks installed, or why not (which fails nothing).
    pub hooks: std::result::Result<super::HooksInstalled, Error>,
}

/// Set the repository up: `.orchestrate.toml` written from what the project is (an existing one
/// is kept and checked), git's notes settings, the hooks.
pub fn init(repo: &Repo) -> Result<InitReport> {
    let root = repo.workdir().to_path_buf();
    let path = root.join(config::FILE);
    let detection = detect(&root);
    let config_written = if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::usage(format!("cannot read {}: {e}", config::FILE)))?;
        config::Config::parse(config::FILE, &text)?;
        false
    } else {
        let text = Renderer::new(None).render(
            "orchestrate.toml",
            minijinja::context! {
                kinds => &detection.kinds, gates => minijinja::value::Serde(&detection.gates),
            },
        )?;
        // create_new: if another process wrote the file meanwhile, theirs stays.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| Error::blocked(format!("cannot write {}: {e}", config::FILE)))?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        true
    };
    let git_config = configure_notes(repo)?;
    let hooks = super::install_hooks(repo);
    Ok(InitReport { detection, config_written, git_config, hooks })
}

/// Notes settings: our log merges by union of lines, and rewrites carry notes along. Returns the
/// settings that were changed.
fn configure_notes(repo: &Repo) -> Result<Vec<String>> {
    let wanted = [
        ("notes.orchestrate.mergeStrategy", "cat_sort_uniq"),
        ("notes.rewrite.amend", "true"),
        ("notes.rewrite.rebase", "true"),
    ];
    let mut changed = Vec::new();
    for (key, value) in wanted {
        if repo.config_string(key).as_deref() != Some(value) {
            repo.set_local_config(key, value)?;
            changed.push(format!("{key}={value}"));
        }
    }
    let rewrite = repo.local_config_values("notes.rewriteRef")?;
    if !rewrite.iter().any(|l| l == EVENTS_REF || l == "refs/notes/orchestrate*") {
        repo.add_local_config("notes.rewriteRef", "refs/notes/orchestrate*")?;
        changed.push("notes.rewriteRef+=refs/notes/orchestrate*".into());
    }
    // A plain `git fetch` brings the team's notes beside ours (never over them); `sync` merges.
    let remote = crate::workflow::load_config(repo.workdir()).map_or_else(|_| "origin".into(), |c| c.sync.remote);
    if repo.remotes()?.contains(&remote) {
        let key = format!("remote.{remote}.fetch");
        let spec = crate::git::remote::notes_fetch_refspec(&remote);
        if !repo.local_config_values(&key)?.contains(&spec) {
            repo.add_local_config(&key, &spec)?;
            changed.push(format!("{key}+={spec}"));
        }
    }
    Ok(changed)
}
