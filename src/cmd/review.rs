//! `git orchestrate review [N]`: the phase-review pause point, its arguments and the review as
//! text. [`crate::ops::review`] measures the phase against its fork point, or, with
//! `--request-changes -m REASON`, sends it back to its owner.

use super::Ctx;
use crate::error::Result;
use crate::output::{self, Ui};

/// Review a phase: its diff against the fork point, its gates, coverage of the changed lines,
/// scope, time spent, and where to look first.
///
/// Gates that never ran on the phase's tip run now. Approve it with `git orchestrate approve
/// phase N`, or send it back with `--request-changes -m REASON` (recorded; shown in `status`
/// and in the next brief).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  git orchestrate review\n  git orchestrate review 2 --json\n  git orchestrate review 2 --request-changes -m \"cover the refresh path\""
)]
pub struct Args {
    /// The phase (default: the one checked out, else the one awaiting review).
    pub phase: Option<u32>,
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Send the phase back to its owner (`NEEDS_REVISION`), with the reason in -m.
    #[arg(long, requires = "message")]
    pub request_changes: bool,
    /// The reason for --request-changes.
    #[arg(long, short = 'm', value_name = "REASON")]
    pub message: Option<String>,
    /// Print the review as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(args.feature.as_deref())?)?;
    let (repo, config) = (&ctx.repo, &ctx.config);
    if args.request_changes {
        let reason = args.message.as_deref().unwrap_or_default();
        let sent = crate::ops::review::send_back(repo, config, &loaded, args.phase, reason)?;
        let (id, name) = (sent.phase, &loaded.feature.name);
        ui.success(&format!("phase {id} of {name} goes back to its owner: {}", output::escape(&sent.reason)));
        ui.hint(&format!("the owner sees it in: git orchestrate phase brief {id} --feature {name}"));
        return Ok(());
    }
    let mut progress = ui.progress();
    let review = crate::ops::review::review_phase(
        repo,
        config,
        &loaded,
        args.phase,
        false,
        &mut super::gate_progress(&mut progress),
    );
    progress.clear();
    let review = review?;
    if args.json {
        return Ok(ui.json(&review)?);
    }
    ui.out(&super::show::review(&review))?;
    Ok(())
}
