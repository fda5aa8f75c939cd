//! `git orchestrate gate`: run the configured gates on the exact snapshot being judged, print a
//! table, record evidence. Exit 1 when a required gate does not pass.

use super::Ctx;
use crate::config::Stage;
use crate::error::Result;
use crate::ops;
use crate::output::Ui;

/// Run the gates on a snapshot and record the evidence in git notes, keyed by its tree.
///
/// The snapshot is the index for `--stage pre-commit`, else a commit (HEAD, or --rev). Commands
/// run in a separate gate worktree in your cache directory, and cargo in the gate's own target
/// directory, so your work tree and your build are never changed.
/// A tree already gated with the same configuration is not run again (--force runs it). On a
/// terminal the result is a table; elsewhere one `<gate> <verdict> <figure> (<time>)` line per
/// gate.
#[derive(Debug, clap::Args)]
#[allow(clippy::struct_excessive_bools)] // independent command-line flags
#[command(
    after_help = "Examples:\n  git orchestrate gate\n  git orchestrate gate --stage pre-push --json\n  git orchestrate gate --only tests,coverage --force\n  git orchestrate gate --stage pre-commit   # judge what is staged"
)]
pub struct Args {
    /// Only the gates of this stage (default: every configured gate).
    #[arg(long, value_enum)]
    pub stage: Option<Stage>,
    /// Only these gates (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "GATES")]
    pub only: Vec<String>,
    /// The commit to judge (default: HEAD; with --stage pre-commit, the index).
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,
    /// The phase whose overrides and fork point apply (default: the checked-out phase).
    #[arg(long)]
    pub phase: Option<u32>,
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Run even when evidence for this tree and configuration exists.
    #[arg(long)]
    pub force: bool,
    /// Run every gate, even after a required gate failed (by default the gates that run a
    /// command stop at the first required failure; the hooks always do).
    #[arg(long)]
    pub all: bool,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run the configuration's commands even if you have not trusted them (for CI; see
    /// `git orchestrate trust`).
    #[arg(long)]
    pub trust: bool,
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let flow = ctx.workflow();
    let loaded = flow.context_feature(args.feature.as_deref())?;
    let req = ops::GateRequest {
        stage: args.stage,
        only: &args.only,
        rev: args.rev.as_deref(),
        phase: args.phase,
        force: args.force,
        all: args.all,
        trust: args.trust,
    };
    let mut progress = ui.progress();
    let report = ops::gate(&ctx.repo, loaded.as_ref(), &req, &mut super::gate_progress(&mut progress));
    progress.clear();
    super::show::gate(ui, &report?, args.json, false)
}
