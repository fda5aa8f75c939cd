//! `git orchestrate trust`: consent to run the commands a repository's committed configuration
//! names. Shows them; [`crate::ops::trust_commands`] finds them and records their hash in your
//! own configuration directory.

use std::fmt::Write as _;

use serde::Serialize;

use super::Ctx;
use crate::error::Result;
use crate::output::{self, Ui};

/// Trust the commands of the committed .orchestrate.toml on this machine.
///
/// A repository's configuration names commands (each gate's `run` and `env`); a fresh clone's
/// would run them on the first gated commit or push. They run only once you have trusted their
/// content hash, which is recorded in your own configuration directory
/// ($XDG_CONFIG_HOME/git-orchestrate/trusted), outside every repository. A changed command set
/// has another hash and needs trust again. CI, which runs what its own repository says, sets
/// `ORCHESTRATE_TRUST_CONFIG=1` or passes `gate --trust` instead.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate trust --show   # what would run, and whether it is trusted\n  git orchestrate trust          # trust it\n  git orchestrate trust --feature jwt-auth"
)]
pub struct Args {
    /// Only show the commands and whether they are trusted.
    #[arg(long)]
    pub show: bool,
    /// The feature whose configuration (on its integration branch) to trust (default: the one
    /// checked out; off a feature, the configuration committed at HEAD).
    #[arg(long)]
    pub feature: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report<'a> {
    hash: &'a str,
    trusted: bool,
    commands: &'a [crate::trust::Command],
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let flow = ctx.workflow();
    let feature = flow.context_feature(args.feature.as_deref())?.map(|l| l.feature);
    let crate::ops::Trust { commands, trusted, recorded } =
        crate::ops::trust_commands(&ctx.repo, feature.as_ref(), !args.show)?;
    if args.json {
        return Ok(ui.json(&Report { hash: &commands.hash, trusted, commands: &commands.commands })?);
    }
    if commands.commands.is_empty() {
        ui.status("the committed configuration runs no command: nothing to trust");
        return Ok(());
    }
    let mut text = String::new();
    for c in &commands.commands {
        let env: String = c.env.iter().fold(String::new(), |s, (k, v)| s + k + "=" + v + " ");
        let _ = writeln!(text, "{}: {}{}", output::escape(&c.gate), output::escape(&env), output::escape(&c.run));
        if !c.seed.is_empty() {
            let _ = writeln!(
                text,
                "{}: copies {} from your work tree into its build caches, once, before its first run",
                output::escape(&c.gate),
                output::escape(&c.seed.join(", "))
            );
        }
    }
    ui.out(&text)?;
    let short = &commands.hash[..12];
    match recorded {
        Some(path) => ui.success(&format!("trusted these commands ({short}), recorded in {}", path.display())),
        None if trusted => ui.status(&format!("these commands ({short}) are trusted")),
        None => ui.status(&format!("these commands ({short}) are not trusted: gates that run them stop")),
    }
    Ok(())
}
