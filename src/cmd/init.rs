//! `git orchestrate init`: a commented `.orchestrate.toml` tuned to the project, and git's notes
//! configuration. Idempotent; never overwrites a file the user has.

use std::path::Path;

use serde::Serialize;

use crate::config;
use crate::error::{Error, Result};
use crate::git::{notes::EVENTS_REF, Repo};
use crate::output;
use crate::render::Renderer;

/// Set up this repository: .orchestrate.toml (if absent), git's notes settings, the hooks.
///
/// The configuration proposes gate commands for the project kinds it detects (cargo, pytest,
/// npm, go) from the repository's files and the tools on PATH. An existing .orchestrate.toml is
/// kept as it is and only checked. Running init again changes nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  git orchestrate init\n  git orchestrate init --json")]
pub struct Args {
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Detected {
    name: String,
    tool: &'static str,
    run: &'static str,
    found: bool,
}

#[derive(Serialize)]
struct Report {
    config: String,
    config_written: bool,
    kinds: Vec<&'static str>,
    git_config: Vec<String>,
    hooks: Vec<crate::hooks::Change>,
}

/// Project kinds: the files that mark one, the tool it needs, and the command that tests it.
const KINDS: &[(&str, &[&str], &str, &str)] = &[
    ("cargo", &["Cargo.toml"], "cargo", "cargo test --all-targets"),
    ("pytest", &["pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini"], "pytest", "pytest -q"),
    ("npm", &["package.json"], "npm", "npm test --silent"),
    ("go", &["go.mod"], "go", "go test ./..."),
];

/// What the project is, from its files, and the gates that would test it. The first kind's gate
/// is `tests`; further kinds get `tests-<kind>`.
fn detect(root: &Path) -> (Vec<&'static str>, Vec<Detected>) {
    let mut kinds = Vec::new();
    let mut gates = Vec::new();
    for &(kind, files, tool, run) in KINDS {
        if files.iter().any(|f| root.join(f).exists()) {
            let name = if kinds.is_empty() { "tests".to_string() } else { format!("tests-{kind}") };
            let found = which::which_in(tool, crate::env::path(), root).is_ok();
            kinds.push(kind);
            gates.push(Detected { name, tool, run, found });
        }
    }
    (kinds, gates)
}

pub fn run(dir: &Path, args: &Args) -> Result<()> {
    let repo = Repo::discover(dir)?;
    let root = repo.workdir().to_path_buf();
    let path = root.join(config::FILE);
    let (kinds, gates) = detect(&root);
    let written = if path.exists() {
        let text =
            std::fs::read_to_string(&path).map_err(|e| Error::usage(format!("cannot read {}: {e}", config::FILE)))?;
        config::Config::parse(config::FILE, &text)?;
        false
    } else {
        let text = Renderer::new(None).render(
            "orchestrate.toml",
            minijinja::context! { kinds => &kinds, gates => minijinja::value::Serde(&gates) },
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
    let git_config = configure_notes(&repo)?;
    let hooks = match super::hooks::install(&repo) {
        Ok(changes) => changes,
        Err(e) => {
            output::warn(&format!("hooks not installed: {}", e.message));
            for h in &e.hints {
                output::hint(h);
            }
            Vec::new()
        }
    };
    if args.json {
        return Ok(output::json(&Report {
            config: config::FILE.into(),
            config_written: written,
            kinds,
            git_config,
            hooks,
        })?);
    }
    if !hooks.is_empty() {
        let chained = hooks.iter().filter(|c| c.action == crate::hooks::Action::Chained).count();
        let kept = if chained > 0 { format!(" ({chained} of your own kept, run first)") } else { String::new() };
        output::status(&format!("installed hooks: {}{kept}", crate::hooks::HOOKS.join(", ")));
    }
    if written {
        let what = if kinds.is_empty() { String::new() } else { format!(" for {}", kinds.join(", ")) };
        output::success(&format!("wrote {}{what}", config::FILE));
        output::hint(&format!(
            "review it and commit it (git add {0} && git commit -m \"chore: gates\"): gates judge with the committed configuration",
            config::FILE
        ));
    } else {
        output::status(&format!("kept {} as it is (it is valid)", config::FILE));
    }
    for line in &git_config {
        output::status(&format!("set {line}"));
    }
    if git_config.is_empty() {
        output::status("git's notes configuration was already in place");
    }
    output::hint("next: git orchestrate start <feature>");
    Ok(())
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
            repo.cli().args(["config", "--local", key, value]).run()?;
            changed.push(format!("{key}={value}"));
        }
    }
    let rewrite = repo.cli().args(["config", "--local", "--get-all", "notes.rewriteRef"]).output()?;
    if !rewrite.stdout.lines().any(|l| l == EVENTS_REF || l == "refs/notes/orchestrate*") {
        repo.cli().args(["config", "--local", "--add", "notes.rewriteRef", "refs/notes/orchestrate*"]).run()?;
        changed.push("notes.rewriteRef+=refs/notes/orchestrate*".into());
    }
    Ok(changed)
}
