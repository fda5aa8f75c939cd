//! `git orchestrate approve plan|phase|finish`: the human pause points. Their arguments, the
//! question put to the person (through the Ui), and what they say; [`crate::ops::approve`]
//! checks each approval before the question and gives it after.

use super::{confirm_human, Ctx};
use crate::error::Result;
use crate::ops::approve::{self, Approved, Note, PhaseRequest, Prepared, PullRequestClosed};
use crate::ops::sync::AutoPush;
use crate::output::{self, Ui};

/// Record a pause-point approval (a person, in a terminal).
///
/// Approvals are refused inside an AI agent's environment; without a terminal they need --yes.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: ApproveWhat,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// The feature (default: the one whose branch is checked out).
    #[arg(long)]
    pub feature: Option<String>,
    /// Confirm without being asked (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// A note recorded with the approval.
    #[arg(long, short = 'm', value_name = "NOTE")]
    pub message: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum ApproveWhat {
    /// Approve the plan as committed on the integration branch. Editing it later voids this.
    #[command(
        after_help = "Examples:\n  git orchestrate approve plan\n  git orchestrate approve plan --feature jwt-auth --yes -m \"reviewed with the team\""
    )]
    Plan(Common),
    /// Approve the finish: the final gates passed and complete.md is on the integration branch
    /// (`git orchestrate finish` put it there); the next `finish` merges exactly that tip.
    #[command(
        after_help = "Examples:\n  git orchestrate approve finish\n  git orchestrate approve finish --feature jwt-auth --yes"
    )]
    Finish(Common),
    /// Approve a phase: squash its branch into one commit on the integration branch.
    #[command(after_help = "Examples:\n  git orchestrate approve phase\n  git orchestrate approve phase 2 --yes")]
    Phase {
        /// The phase (default: the one checked out, or the one awaiting review).
        phase: Option<u32>,
        /// Approve although this required gate does not pass: a person's named decision, with
        /// the reason given in -m. Recorded, and shown in status, the log and the commit.
        #[arg(long = "override", value_name = "GATE")]
        overrides: Vec<String>,
        /// Accept one audit finding by its id (`audit:skip-marker:tests/test_x.py:12`): a
        /// person's named decision, with the reason given in -m. Recorded, and shown in status,
        /// the log and the commit.
        #[arg(long = "accept", value_name = "FINDING")]
        accepts: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(ui: &Ui, ctx: &Ctx, args: &Args) -> Result<()> {
    let common = match &args.what {
        ApproveWhat::Plan(c) | ApproveWhat::Finish(c) | ApproveWhat::Phase { common: c, .. } => c,
    };
    let note = Note::checked(common.message.as_deref())?;
    match &args.what {
        ApproveWhat::Plan(common) => plan(ui, ctx, common, note),
        ApproveWhat::Finish(common) => finish(ui, ctx, common, note),
        ApproveWhat::Phase { phase: n, overrides, accepts, common } => {
            phase(ui, ctx, PhaseRequest { phase: *n, overrides, accepts, note }, common)
        }
    }
}

fn render(ui: &Ui, json: bool, a: &Approved) -> Result<()> {
    if json {
        return Ok(ui.json(a)?);
    }
    if a.already {
        ui.status(&format!("{} of {} was already approved by {}", a.approved, a.feature, a.by));
    } else {
        ui.success(&format!("approved {} of {} ({})", a.approved, a.feature, a.by));
    }
    match &a.shared {
        Some(AutoPush::Done { remote }) => ui.status(&format!("shared with {remote}")),
        Some(AutoPush::Failed { remote, why }) => ui.warn(&format!(
            "not shared with {remote} ({}): the approval stands; `git orchestrate sync` shares it later",
            output::escape(why.lines().next().unwrap_or_default())
        )),
        Some(AutoPush::Off) | None => {}
    }
    if let Some(next) = &a.next {
        ui.hint(&format!("next: {next}"));
    }
    Ok(())
}

fn plan(ui: &Ui, ctx: &Ctx, c: &Common, note: Note) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(c.feature.as_deref())?)?;
    let pending = match approve::prepare_plan(&ctx.repo, &ctx.config, &loaded, note)? {
        Prepared::Already(done) => return render(ui, c.json, &done),
        Prepared::Ask(pending) => pending,
    };
    // Every gate the plan tunes is shown before the question: what is approved is seen.
    for t in &pending.tuned {
        ui.warn(&format!(
            "phase {} overrides gate {}: {} = {} (.orchestrate.toml: {})",
            t.phase,
            t.gate.escape_debug(),
            t.key,
            t.value,
            t.was
        ));
    }
    let consent = confirm_human(ui, &ctx.repo, pending.require, c.yes, &pending.question)?;
    render(ui, c.json, &approve::approve_plan(&ctx.repo, &ctx.config, pending, consent)?)
}

fn phase(ui: &Ui, ctx: &Ctx, req: PhaseRequest<'_>, c: &Common) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.feature(c.feature.as_deref())?)?;
    let mut progress = ui.progress();
    let prepared =
        approve::prepare_phase(&ctx.repo, &ctx.config, &loaded, req, &mut super::gate_progress(&mut progress));
    progress.clear();
    let pending = match prepared? {
        Prepared::Already(done) => return render(ui, c.json, &done),
        Prepared::Ask(pending) => pending,
    };
    for o in &pending.overrides {
        ui.warn(&format!("overriding gate {o}"));
    }
    for a in &pending.accepts {
        ui.warn(&format!("accepting audit finding {}", output::escape(a)));
    }
    let consent = confirm_human(ui, &ctx.repo, pending.require, c.yes, &pending.question)?;
    let done = approve::approve_phase(&ctx.repo, &ctx.config, pending, consent)?;
    render(ui, c.json, &done)?;
    match &done.pull_request {
        None | Some(PullRequestClosed::Closed) => {}
        Some(PullRequestClosed::Command(command)) => {
            ui.hint(&format!("close its pull request: {}", output::escape(command)));
        }
        Some(PullRequestClosed::StillOpen { branch, why }) => {
            ui.warn(&format!("the pull request of {branch} is still open: {why}"));
        }
    }
    Ok(())
}

fn finish(ui: &Ui, ctx: &Ctx, c: &Common, note: Note) -> Result<()> {
    let loaded = ctx.workflow().load(&ctx.workflow().finishing_feature(c.feature.as_deref())?)?;
    let pending = match approve::prepare_finish(&ctx.repo, &loaded, note)? {
        Prepared::Already(done) => return render(ui, c.json, &done),
        Prepared::Ask(pending) => pending,
    };
    let consent = confirm_human(ui, &ctx.repo, pending.require, c.yes, &pending.question)?;
    let mut progress = ui.progress();
    let done =
        approve::approve_finish(&ctx.repo, &ctx.config, pending, consent, &mut super::gate_progress(&mut progress));
    progress.clear();
    render(ui, c.json, &done?)
}
