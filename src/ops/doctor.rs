//! Is this repository set up so that the loop is really enforced? Each check says what it found
//! and how to fix it: git, the binary on PATH, the hooks git will really run, notes settings, the
//! gate worktree and its build cache, the built-in gates, the event logs and every feature's plan.

use serde::Serialize;

use crate::config::Config;
use crate::error::Result;
use crate::git::Repo;
use crate::workflow::Workflow;

/// One check. Its fields are in alphabetical order: the order of `doctor --json`'s keys.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked (`git`, `hook pre-commit`, `event log` …).
    pub check: String,
    /// What was found.
    pub detail: String,
    /// How to fix it, for a check that failed (`None` for one that passed).
    pub fix: Option<String>,
    pub ok: bool,
}

/// Every check, in the order they are shown. Its fields are in alphabetical order: the order of
/// `doctor --json`'s keys.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub checks: Vec<Check>,
    /// Whether every check passed.
    pub ok: bool,
}

impl DoctorReport {
    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.ok).count()
    }
}

/// Run every check on `repo`, under `config` (the configuration committed at HEAD).
pub fn check(repo: &Repo, config: &Config) -> Result<DoctorReport> {
    let flow = Workflow::new(repo, config);
    let mut checks = Vec::new();
    let mut add = |check: &str, ok: bool, detail: String, fix: Option<String>| {
        checks.push(Check { check: check.into(), ok, detail, fix: if ok { None } else { fix } });
    };

    let (version, said) = repo.git_version().unwrap_or(((0, 0), "git not found".into()));
    let min = crate::git::MIN_GIT;
    add("git", version >= min, said, Some(format!("install git {}.{} or newer", min.0, min.1)));

    let on_path = which::which_in("git-orchestrate", crate::env::path(), repo.workdir()).ok();
    add(
        "binary on PATH",
        on_path.is_some(),
        on_path.map_or_else(|| "git-orchestrate is not on PATH".into(), |p| p.display().to_string()),
        Some("run ./install.sh, or add the directory holding git-orchestrate to PATH".into()),
    );

    let dir = repo.hooks_dir();
    for s in crate::hooks::status(&dir.path) {
        add(
            &format!("hook {}", s.hook),
            s.fires,
            match (s.fires, &s.problem) {
                (true, None) if s.feature_branches_only => {
                    format!("fires on feature branches, linked in by pre-commit ({})", dir.path.display())
                }
                (true, None) => format!("fires ({})", dir.path.display()),
                (true, Some(p)) => format!("fires ({}); {p}", dir.path.display()),
                (false, p) => p.clone().unwrap_or_default(),
            },
            Some("git orchestrate hooks install".into()),
        );
    }

    let merge = repo.config_string("notes.orchestrate.mergeStrategy");
    add(
        "notes merge strategy",
        merge.as_deref() == Some("cat_sort_uniq"),
        merge.unwrap_or_else(|| "unset".into()),
        Some(
            "git orchestrate init (sets notes.orchestrate.mergeStrategy = cat_sort_uniq, so logs merge by union)"
                .into(),
        ),
    );

    match repo.gate_worktree_status() {
        Ok(wt) => add(
            "gate worktree",
            wt.problem.is_none(),
            match (&wt.problem, wt.exists) {
                (Some(p), _) => p.clone(),
                (None, true) => wt.path.display().to_string(),
                (None, false) => format!("{} (made by the first gate run)", wt.path.display()),
            },
            Some("git orchestrate gate (each gate run rebuilds the gate worktree)".into()),
        ),
        Err(e) => add("gate worktree", false, e.to_string(), None),
    }
    // Where gate commands build with cargo, and what the configuration seeds it from.
    if let Ok(target) = repo.gate_target_path() {
        let mut seeds: Vec<String> = Vec::new();
        for (name, gate) in &config.gates {
            for path in &gate.seed {
                seeds.push(format!("{path} (gate {name})"));
            }
        }
        let made = if target.exists() { "" } else { ", made by the first gate run that builds" };
        let seeded = if seeds.is_empty() {
            String::new()
        } else {
            format!("; seeded once from your work tree's {}", seeds.join(", "))
        };
        add(
            "gate build cache",
            true,
            format!("{} (CARGO_TARGET_DIR of gate commands{made}){seeded}", target.display()),
            None,
        );
    }

    // The built-in gates need no tool: they are on unless the configuration says otherwise.
    for name in crate::gates::registry::names(|k| k.on_by_default) {
        let gate = config.gates.get(name);
        let off = gate.is_some_and(|g| g.enabled == Some(false));
        let optional = gate.is_some_and(|g| g.required == Some(false));
        add(
            &format!("gate {name}"),
            !off && !optional,
            if off {
                format!("off: [gates.{name}] enabled = false in {}", crate::config::FILE)
            } else if optional {
                format!("optional: [gates.{name}] required = false in {} (it warns, never blocks)", crate::config::FILE)
            } else {
                "on (built in)".into()
            },
            Some(format!("remove `enabled`/`required` from [gates.{name}] in {} and commit it", crate::config::FILE)),
        );
    }

    let damage = flow.damage()?;
    add(
        "event log",
        damage.is_empty(),
        if damage.is_empty() {
            "every record is valid".into()
        } else {
            damage.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        },
        Some("git orchestrate doctor --repair (drops the bad lines, keeps every valid record)".into()),
    );

    let mut feature_problems = Vec::new();
    match &flow.overview() {
        Ok(features) => {
            for f in features.iter().filter(|f| f.state != crate::workflow::FeatureState::Corrupt) {
                if let Some(p) = &f.problem {
                    feature_problems.push(format!("{}: {p}", f.name));
                }
            }
            add(
                "feature plans",
                feature_problems.is_empty(),
                if feature_problems.is_empty() {
                    format!("{} feature(s), every plan valid", features.len())
                } else {
                    feature_problems.join("; ")
                },
                Some("git orchestrate plan lint --feature <name>".into()),
            );
        }
        Err(e) => add("event log", false, e.message.clone(), e.hints.first().cloned()),
    }

    let ok = checks.iter().all(|c| c.ok);
    Ok(DoctorReport { checks, ok })
}

/// `doctor --repair`, asked for by a person: rewrite each damaged event log without its bad
/// lines, keeping every valid record. Returns what was dropped, one line per bad record.
pub fn repair(repo: &Repo, config: &Config) -> Result<Vec<String>> {
    Ok(Workflow::new(repo, config).repair()?.iter().map(ToString::to_string).collect())
}
