//! One file per subcommand, each with its `Args` and a `run`. Commands turn arguments into calls
//! on the domain (`workflow`, `plan`, `state`) and write what they find through the
//! [`Ui`] `dispatch` hands them.

pub mod approve;
pub mod completions;
pub mod coverage;
pub mod doctor;
pub mod finish;
pub mod gate;
pub mod hook;
pub mod hooks;
pub mod init;
pub mod log;
pub mod phase;
pub mod plan;
pub mod review;
pub mod secrets;
pub mod show;
pub mod start;
pub mod status;
pub mod sync;
pub mod tour;
pub mod trust;
pub mod verify;

use std::path::Path;

use crate::cli::{Cli, Command};
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::git::Repo;
use crate::ops::approve::{Approver, Consent};
use crate::output::{Progress, Ui};
use crate::workflow::Workflow;

/// Show a gate run's progress: the running gate on a terminal, and once on stderr that it
/// waits for another run.
pub fn gate_progress<'p, 'ui>(
    progress: &'p mut Progress<'ui>,
) -> impl FnMut(crate::gates::Progress<'_>) + use<'p, 'ui> {
    move |p| match p {
        crate::gates::Progress::Running { gate, elapsed } => {
            progress.show(&format!("running {gate} … {:.0}s", elapsed.as_secs_f64()));
        }
        crate::gates::Progress::Waiting { holder } => {
            progress.clear();
            say_waiting(progress.ui(), holder);
        }
        crate::gates::Progress::Seeding { path } => {
            progress.show(&format!("seeding {} from your work tree …", crate::output::escape(path)));
        }
    }
}

/// Say what became of a pull request: opened (its address), or the body file and the command.
pub fn say_pull_request(ui: &Ui, pr: &crate::ops::review::PullRequest, branch: &str) {
    let e = crate::output::escape;
    if let Some(url) = &pr.opened {
        ui.success(&format!("opened the pull request: {}", e(url)));
    } else {
        ui.status(&format!("pushed {}; the pull request's body is in {}", e(branch), pr.body_file.display()));
        ui.hint(&format!("gh is not on PATH: open it with {}", e(&pr.command)));
    }
}

/// Say once on stderr that this gate run waits for another one.
pub fn say_waiting(ui: &Ui, holder: u32) {
    ui.status(&format!("waiting for another gate run (pid {holder}) to finish …"));
}

/// Run a command, writing and asking through `ui`.
pub fn dispatch(ui: &Ui, cli: Cli) -> Result<()> {
    let dir = match &cli.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir().map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?,
    };
    match cli.command {
        Command::Init(args) => init::run(ui, &dir, &args),
        Command::Start(args) => start::run(ui, &Ctx::open(&dir)?, &args),
        Command::Plan(args) => plan::run(ui, &Ctx::open(&dir)?, &args),
        Command::Approve(args) => approve::run(ui, &Ctx::open(&dir)?, &args),
        Command::Phase(args) => phase::run(ui, &Ctx::open(&dir)?, &args),
        Command::Status(args) => status::run(ui, &Ctx::open(&dir)?, &args),
        Command::Sync(args) => sync::run(ui, &Ctx::open(&dir)?, &args),
        Command::Verify(args) => verify::run(ui, &Ctx::open(&dir)?, &args),
        Command::Gate(args) => gate::run(ui, &Ctx::open(&dir)?, &args),
        Command::Trust(args) => trust::run(ui, &Ctx::open(&dir)?, &args),
        Command::Review(args) => review::run(ui, &Ctx::open(&dir)?, &args),
        Command::Finish(args) => finish::run(ui, &Ctx::open(&dir)?, &args),
        Command::Log(args) => log::run(ui, &Ctx::open(&dir)?, &args),
        Command::Tour(args) => tour::run(ui, &args),
        Command::Hooks(args) => hooks::run(ui, &Ctx::open(&dir)?, &args),
        Command::Hook(args) => hook::run(ui, &dir, &args),
        Command::Doctor(args) => doctor::run(ui, &Ctx::open(&dir)?, &args),
        Command::Secrets(args) => secrets::run(ui, &dir, &args),
        Command::Coverage(args) => coverage::run(ui, &args),
        Command::Completions(args) => completions::run(ui, &args),
        Command::Man(args) => completions::man(ui, &args),
    }
}

/// An open repository and its configuration: what every command works on.
pub struct Ctx {
    pub repo: Repo,
    pub config: Config,
}

impl Ctx {
    pub fn open(dir: &Path) -> Result<Self> {
        let repo = Repo::discover(dir)?;
        let config = committed_config(&repo)?;
        Ok(Self { repo, config })
    }

    pub fn workflow(&self) -> Workflow<'_> {
        Workflow::new(&self.repo, &self.config)
    }

    /// The feature a command means (see [`Workflow::feature_meant`]).
    pub fn feature(&self, explicit: Option<&str>) -> Result<String> {
        self.workflow().feature_meant(explicit)
    }
}

/// The configuration committed at HEAD (the defaults when none is): what every command works
/// with. Gates go further and take the feature's (see [`crate::ops::judging_config`]). An
/// uncommitted edit of `.orchestrate.toml` changes nothing until it is committed.
pub fn committed_config(repo: &Repo) -> Result<Config> {
    let head = repo.resolve_commit("HEAD")?;
    Ok(crate::ops::config_at(repo, head)?.0)
}

pub use crate::workflow::load_config;

/// Set by `tour` for its own throwaway repository, where it approves as the demonstration.
static TOUR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Ask for an approval: [`crate::ops::approve::approver`] says who may give it and whether to
/// ask; the question is asked here. Every approval passes here: the operation it hands the
/// [`Consent`] to never asks.
pub fn confirm_human(ui: &Ui, repo: &Repo, require: config::Require, yes: bool, question: &str) -> Result<Consent> {
    if TOUR.load(std::sync::atomic::Ordering::Relaxed) {
        // The tour approves on the reader's behalf in its own throwaway repository.
        return Ok(Consent { agent: Some("the tour".into()), via: "the tour".into() });
    }
    match crate::ops::approve::approver(repo, require, ui.interactive(), yes)? {
        Approver::Given(consent) => Ok(consent),
        Approver::Ask(consent) if ui.confirm(question)? => Ok(consent),
        Approver::Ask(_) => Err(Error::blocked("not approved")),
    }
}
