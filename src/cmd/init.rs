//! `git orchestrate init`: its arguments, and what it says. [`crate::ops::init`] writes a
//! commented `.orchestrate.toml` tuned to the project, git's notes configuration and the hooks.

use std::path::Path;

use serde::Serialize;

use crate::config;
use crate::error::Result;
use crate::git::Repo;
use crate::output::{self, Ui};

/// Set up this repository: .orchestrate.toml (if absent), git's notes settings, the hooks.
///
/// The configuration proposes tests and coverage gates for the project kinds it detects (cargo,
/// pytest, vitest/jest, go) from the repository's files, with the tools installed here; it says
/// what it could not set up and why. The built-in secrets and scope gates are on without it. An existing .orchestrate.toml is
/// kept as it is and only checked. Running init again changes nothing.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  git orchestrate init\n  git orchestrate init --json")]
pub struct Args {
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    config: String,
    config_written: bool,
    kinds: Vec<&'static str>,
    /// The gates written (on), by name.
    gates: Vec<String>,
    /// What could not be set up, and why.
    not_set_up: Vec<String>,
    git_config: Vec<String>,
    hooks: Vec<crate::hooks::Change>,
}

pub fn run(ui: &Ui, dir: &Path, args: &Args) -> Result<()> {
    let repo = Repo::discover(dir)?;
    let done = crate::ops::init::init(&repo)?;
    let (detection, written, git_config) = (done.detection, done.config_written, done.git_config);
    let hooks = match done.hooks {
        Ok(installed) => {
            super::show::warn_damage(ui, &installed.damage);
            installed.changes
        }
        Err(e) => {
            ui.warn(&format!("hooks not installed: {}", e.message));
            for h in &e.hints {
                ui.hint(h);
            }
            Vec::new()
        }
    };
    if args.json {
        return Ok(ui.json(&Report {
            config: config::FILE.into(),
            config_written: written,
            kinds: detection.kinds,
            gates: if written {
                detection.gates.iter().filter(|g| g.found).map(|g| g.name.clone()).collect()
            } else {
                Vec::new()
            },
            not_set_up: if written { detection.missing } else { Vec::new() },
            git_config,
            hooks,
        })?);
    }
    if !hooks.is_empty() {
        let chained = hooks.iter().filter(|c| c.action == crate::hooks::Action::Chained).count();
        let kept = if chained > 0 { format!(" ({chained} of your own kept, run first)") } else { String::new() };
        ui.status(&format!("installed hooks: {}{kept}", crate::hooks::HOOKS.join(", ")));
    }
    if written {
        let kinds = &detection.kinds;
        let what = if kinds.is_empty() { String::new() } else { format!(" for {}", kinds.join(", ")) };
        ui.success(&format!("wrote {}{what}", config::FILE));
        let on: Vec<&str> = detection.gates.iter().filter(|g| g.found).map(|g| g.name.as_str()).collect();
        let mut built_in = crate::gates::registry::names(|k| k.on_by_default).collect::<Vec<_>>().join(", ");
        built_in.push_str(" (built in, pre-commit)");
        ui.status(&format!(
            "gates: {}",
            if on.is_empty() { built_in } else { format!("{}, {built_in}", on.join(", ")) }
        ));
        if kinds.is_empty() {
            ui.warn("no project kind was recognised (cargo, pytest, npm, go): add a tests gate by hand");
        }
        for why in &detection.missing {
            ui.warn(&format!("not set up: {}", output::escape(why)));
        }
        ui.hint(&format!(
            "review it and commit it (git add {0} && git commit -m \"chore: gates\"): gates judge with the committed configuration",
            config::FILE
        ));
    } else {
        ui.status(&format!("kept {} as it is (it is valid)", config::FILE));
    }
    for line in &git_config {
        ui.status(&format!("set {line}"));
    }
    if git_config.is_empty() {
        ui.status("git's notes configuration was already in place");
    }
    ui.hint("next: git orchestrate start <feature>");
    Ok(())
}
