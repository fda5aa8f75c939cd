//! `git orchestrate doctor`: is this repository set up so that the loop is really enforced?
//! Each check says what it found and how to fix it.

use std::fmt::Write as _;

use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::output::{self, Paint, Ui};

/// Check the setup: git, the binary on PATH, the hooks git will really run, notes settings,
/// the configuration and every feature's plan.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate doctor\n  git orchestrate doctor --json\n  git orchestrate doctor --repair   # drop the bad lines of damaged event logs"
)]
pub struct Args {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Rewrite each damaged event log without its bad lines, keeping every valid record (a new
    /// notes commit; the old log stays in the notes history), and say what was dropped.
    #[arg(long)]
    pub repair: bool,
}

#[derive(Serialize)]
struct Check {
    check: String,
    ok: bool,
    detail: String,
    fix: Option<String>,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let repo = &ctx.repo;
    if args.repair {
        let dropped = ctx.workflow().repair()?;
        if dropped.is_empty() {
            ui.status("no event log is damaged: nothing to repair");
        }
        for d in &dropped {
            ui.status(&format!("dropped {d}"));
        }
        if !dropped.is_empty() {
            ui.success(&format!(
                "repaired: {} bad line{} dropped, every valid record kept",
                dropped.len(),
                if dropped.len() == 1 { "" } else { "s" }
            ));
        }
    }
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
        for (name, gate) in &ctx.config.gates {
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
        let gate = ctx.config.gates.get(name);
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

    let damage = ctx.workflow().damage()?;
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
    let overview = ctx.workflow().overview();
    match &overview {
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

    let failed = checks.iter().filter(|c| !c.ok).count();
    if args.json {
        ui.json(&serde_json::json!({ "ok": failed == 0, "checks": checks }))?;
    } else {
        let mut text = String::new();
        for c in &checks {
            let mark = if c.ok { output::paint(Paint::Ok, "ok ") } else { output::paint(Paint::Bad, "bad") };
            let _ = writeln!(text, "{mark}  {:<24} {}", output::escape(&c.check), output::escape(&c.detail));
            if let Some(fix) = &c.fix {
                let _ = writeln!(text, "     {:<24} fix: {}", "", output::escape(fix));
            }
        }
        ui.out(text.trim_end())?;
    }
    if failed > 0 {
        return Err(Error::blocked(format!("{failed} check{} failed", if failed == 1 { "" } else { "s" })));
    }
    Ok(())
}
