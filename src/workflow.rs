//! The workflow's domain: a repository's features, their plans and where each stands, derived
//! from the event log (notes), the plan file and branch tips. Commands call this; it calls git.
//! It never prints and never asks the user anything.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::git::notes::{NotesTree, EVENTS_REF};
use crate::git::{ObjectId, Repo};
use crate::plan::{self, Plan};
use crate::state::{self, Event, Feature, PhaseApproved, PlanApproved, What};

/// The object a feature's log is attached to: a blob whose content names the feature, so every
/// clone computes the same id without any branch existing.
pub fn feature_key(feature: &str) -> ObjectId {
    crate::git::blob_id(key_content(feature).as_bytes())
}

fn key_content(feature: &str) -> String {
    format!("git-orchestrate feature {feature}\n")
}

pub fn plan_path(feature: &str) -> String {
    format!("plans/{feature}/plan.md")
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureState {
    #[default]
    AwaitingPlanApproval,
    InProgress,
    AwaitingFinish,
    Finished,
    /// The feature's event log holds a line that is not a valid event: nothing is decided on
    /// it until `doctor --repair` (or a hand edit) removes the line.
    Corrupt,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseState {
    #[default]
    Planned,
    Active,
    AwaitingReview,
    Approved,
}

impl FeatureState {
    pub fn as_str(self) -> &'static str {
        match self {
            FeatureState::AwaitingPlanApproval => "awaiting-plan-approval",
            FeatureState::InProgress => "in-progress",
            FeatureState::AwaitingFinish => "awaiting-finish",
            FeatureState::Finished => "finished",
            FeatureState::Corrupt => "corrupt",
        }
    }
}

impl PhaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseState::Planned => "planned",
            PhaseState::Active => "active",
            PhaseState::AwaitingReview => "awaiting-review",
            PhaseState::Approved => "approved",
        }
    }
}

/// Where a feature stands: what `status` shows and what commands decide on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeatureView {
    pub name: String,
    pub title: String,
    pub state: FeatureState,
    pub base: String,
    pub branch: String,
    pub plan: String,
    /// The plan approval is recorded but the plan changed since: it no longer counts.
    pub plan_approval_void: bool,
    pub plan_approved_by: Option<String>,
    /// Who must act next, and on what.
    pub waiting_for: String,
    /// The command that moves the feature on.
    pub next: Option<String>,
    pub phases: Vec<PhaseView>,
    pub events: usize,
    pub created_at: String,
    /// Set when the plan could not be read or is invalid.
    pub problem: Option<String>,
    /// The commit that brought the feature into its base, once finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_as: Option<String>,
    /// Branches missing here that were read from their remote-tracking copies:
    /// `branch → origin/branch`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub read_from_remote: BTreeMap<String, String>,
    /// The integration branch is gone here and on every remote: the command that restores it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<String>,
    /// Decisions taken apart in two clones, and how the log settled them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub divergent: Vec<String>,
    /// The approval records of the log (newest last) and the policy they are checked under,
    /// for the text that says who approved and whether it verifies.
    #[serde(skip)]
    pub approvals: Vec<Event>,
    #[serde(skip)]
    pub policy: Option<ApprovalPolicy>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PhaseView {
    pub id: u32,
    pub title: String,
    pub owner: String,
    pub state: PhaseState,
    pub branch: String,
    pub fork: Option<String>,
    pub depends_on: Vec<u32>,
    pub approved_by: Option<String>,
    /// Gates a person let through at approval, `<gate>: <reason>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Audit findings a person accepted at approval, `audit:<id>: <reason>`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    pub commit: Option<String>,
    /// Each configured gate's verdict for the phase: `pass`, `fail`, `stale` or `none`.
    pub gates: BTreeMap<String, &'static str>,
    /// Each judged gate's figure ("24 passed, 0 failed", "96.2 % (min 80)").
    pub figures: BTreeMap<String, String>,
    /// The tip the owner submitted for review.
    pub submitted: Option<String>,
    /// The reviewer's reason, while a phase sent back for revision is being worked on.
    pub changes_requested: Option<String>,
    /// Whether the phase's branch holds commits past its fork point.
    pub has_work: bool,
}

/// A repository seen as a set of orchestrated features.
pub struct Workflow<'r> {
    pub repo: &'r Repo,
    pub config: &'r Config,
}

/// A feature's log, its fold, and its plan as committed on the integration branch.
pub struct Loaded {
    pub log: Vec<Event>,
    pub feature: Feature,
    pub plan: Result<(Plan, ObjectId)>,
}

impl<'r> Workflow<'r> {
    pub fn new(repo: &'r Repo, config: &'r Config) -> Self {
        Self { repo, config }
    }

    /// The feature's event log, in fold order (empty if the feature is unknown). A bad line
    /// anywhere in it is an error: what acts on a feature fails closed.
    pub fn log(&self, feature: &str) -> Result<Vec<Event>> {
        let key = feature_key(feature);
        let note = self.repo.note(EVENTS_REF, key)?;
        Ok(match note {
            Some(bytes) => state::parse_log(&place_for(feature, key), &bytes)?,
            None => Vec::new(),
        })
    }

    /// How errors name the note on `key`: by its feature, when the key object says which.
    fn place(&self, key: ObjectId) -> String {
        let name = self.repo.read_blob(key).ok().and_then(|b| {
            let text = String::from_utf8(b).ok()?;
            let name = text.strip_prefix("git-orchestrate feature ")?.strip_suffix('\n')?.to_string();
            crate::plan::valid_slug(&name).then_some(name)
        });
        match name {
            Some(name) => place_for(&name, key),
            None => format!("{EVENTS_REF} note on object {key}"),
        }
    }

    /// Every bad line of every feature's log (for `doctor` and `hooks install`).
    pub fn damage(&self) -> Result<Vec<state::Error>> {
        let mut out = Vec::new();
        for (key, bytes) in self.repo.notes(EVENTS_REF)? {
            let parsed = state::parse_log_lenient(&self.place(key), &bytes);
            out.extend(parsed.bad);
        }
        Ok(out)
    }

    /// Rewrite each damaged log without its bad lines, keeping every valid record as written
    /// (one notes commit per log, by compare-and-swap). Returns what was dropped.
    pub fn repair(&self) -> Result<Vec<state::Error>> {
        let mut dropped = Vec::new();
        for (key, bytes) in self.repo.notes(EVENTS_REF)? {
            let place = self.place(key);
            if state::parse_log_lenient(&place, &bytes).bad.is_empty() {
                continue;
            }
            let message = format!("orchestrate: doctor --repair drops the bad lines of {place}");
            let edited =
                self.repo.rewrite_note(EVENTS_REF, key, &message, |text| state::without_bad_lines(&place, text))?;
            dropped.extend(edited.unwrap_or_default());
        }
        Ok(dropped)
    }

    /// Append an event that follows `log`.
    pub fn record(&self, feature: &str, log: &[Event], what: What) -> Result<Event> {
        let mut events = self.record_all(feature, log, vec![what])?;
        Ok(events.pop().expect("one event in, one out"))
    }

    /// Append several events in one write.
    pub fn record_all(&self, feature: &str, log: &[Event], whats: Vec<What>) -> Result<Vec<Event>> {
        self.record_signed(feature, log, whats, false)
    }

    /// Append an approval, signed with the user's git signing key when `sign` (the signature
    /// covers the event's whole line, see [`Event::signed_payload`]).
    pub fn record_approval(&self, feature: &str, log: &[Event], what: What, sign: bool) -> Result<Event> {
        let mut events = self.record_signed(feature, log, vec![what], sign)?;
        Ok(events.pop().expect("one event in, one out"))
    }

    fn record_signed(&self, feature: &str, log: &[Event], whats: Vec<What>, sign: bool) -> Result<Vec<Event>> {
        let by = self.repo.identity()?.to_string();
        if log.iter().any(|e| e.seq >= state::MAX_SEQ) {
            return Err(Error::blocked(format!(
                "the event log of {feature} has reached the largest sequence number; no event can follow it"
            ))
            .hint(
                "the log was edited by hand: run `git orchestrate doctor` and remove the record with the huge `seq`",
            ));
        }
        let mut seen: Vec<Event> = log.to_vec();
        let mut lines = String::new();
        let mut events = Vec::new();
        for what in whats {
            // Notes travel to every clone: what a person wrote (a note, a title) must not carry
            // a secret there.
            if let Some(text) = what.free_text() {
                refuse_secret(text)?;
            }
            let mut event = Event::new(&seen, &by, what);
            if sign {
                let sig = self.repo.ssh_sign(crate::git::sign::NAMESPACE, event.signed_payload().as_bytes()).map_err(
                    |e| {
                        Error::from(e)
                            .cause("approvals.require = \"signed\": each approval is signed with your git signing key")
                    },
                )?;
                if let What::PlanApproved(PlanApproved { sig: slot, .. })
                | What::PhaseApproved(PhaseApproved { sig: slot, .. }) = &mut event.what
                {
                    *slot = Some(sig);
                }
            }
            // Never write what a reader would refuse.
            event.check().map_err(|reason| {
                Error::blocked(format!("refusing to record a {} event: {reason}", event.what.name()))
            })?;
            lines.push_str(&event.to_line());
            seen.push(event.clone());
            events.push(event);
        }
        let Some(last) = events.last() else { return Ok(events) };
        let key = feature_key(feature);
        if log.is_empty() {
            // Make the key object real, so `git notes show` and friends can resolve it.
            self.repo.write_blob(key_content(feature).as_bytes())?;
        }
        let message = format!("orchestrate: {} {}", feature, last.what.name());
        self.repo.append_note(EVENTS_REF, key, &lines, &message)?;
        Ok(events)
    }

    pub fn load(&self, feature: &str) -> Result<Loaded> {
        self.load_log(self.log(feature)?).ok_or_else(|| {
            Error::usage(format!("unknown feature `{feature}`"))
                .hint("`git orchestrate status` lists the features; `git orchestrate start <feature>` creates one")
        })
    }

    /// Every feature's log with its fold (logs that start no feature are left out). Bad lines
    /// are skipped here, so one damaged log does not hide the others: whatever acts on a
    /// feature reads its log again with [`Self::log`], which refuses them.
    pub fn features(&self) -> Result<Vec<(Vec<Event>, Feature)>> {
        let mut out = Vec::new();
        for (key, bytes) in self.repo.notes(EVENTS_REF)? {
            let log = state::parse_log_lenient(&format!("{EVENTS_REF} note on object {key}"), &bytes).events;
            if let Some(f) = state::fold(&log) {
                out.push((log, f));
            }
        }
        Ok(out)
    }

    /// The feature a command means: the one named (`--feature`), else the one whose branch is
    /// checked out. **The one rule** of which feature a command acts on.
    pub fn feature_meant(&self, feature: Option<&str>) -> Result<String> {
        if let Some(f) = feature {
            return Ok(f.to_string());
        }
        let branch = self.repo.working_branch()?;
        if let Some(b) = &branch {
            if let Some(owner) = self.owner_of(b)? {
                return Ok(owner.feature.name);
            }
        }
        let mut names: Vec<String> = self.features()?.into_iter().map(|(_, f)| f.name).collect();
        let on = branch.map_or_else(|| "a detached HEAD".to_string(), |b| format!("branch {b}"));
        let err = Error::usage(format!("{on} belongs to no feature"));
        Err(if names.is_empty() {
            err.hint("start one with: git orchestrate start <feature>")
        } else {
            names.sort();
            err.hint(format!("name one with --feature: {}", names.join(", ")))
        })
    }

    /// [`Self::feature_meant`], or, off any feature's branches, the one feature that waits for
    /// its finish (`finish` and `approve finish` are usually run from the base).
    pub fn finishing_feature(&self, named: Option<&str>) -> Result<String> {
        self.feature_meant(named).or_else(|err| {
            let waiting: Vec<String> = self
                .overview()?
                .into_iter()
                .filter(|f| f.state == FeatureState::AwaitingFinish)
                .map(|f| f.name)
                .collect();
            match waiting.as_slice() {
                [one] => Ok(one.clone()),
                _ => Err(err),
            }
        })
    }

    /// The feature a run is in the context of, if any: the one named, else the one whose branch
    /// is checked out (an error, not `None`, when that feature's log is damaged: callers fail
    /// closed). Gates also run outside any feature.
    pub fn context_feature(&self, named: Option<&str>) -> Result<Option<Loaded>> {
        if let Some(name) = named {
            return self.load(name).map(Some);
        }
        match self.repo.working_branch()? {
            Some(branch) => self.owner_of(&branch),
            None => Ok(None),
        }
    }

    /// The feature whose integration or phase branch `branch` is, loaded.
    pub fn owner_of(&self, branch: &str) -> Result<Option<Loaded>> {
        // The branch patterns name the feature: one note to read instead of every feature's.
        for name in self.config.branches.features_in(branch) {
            if let Some(loaded) = self.load_log(self.log(&name)?).filter(|l| l.feature.owns(branch)) {
                return Ok(Some(loaded));
            }
        }
        // A branch made under an earlier pattern: ask every feature, then read the owner's log
        // again in full, so a damaged one fails closed here too.
        let Some((_, f)) = self.features()?.into_iter().find(|(_, f)| f.owns(branch)) else { return Ok(None) };
        Ok(self.load_log(self.log(&f.name)?))
    }

    /// A feature from its log (`None`: the log starts no feature), with its committed plan.
    pub fn load_log(&self, log: Vec<Event>) -> Option<Loaded> {
        let feature = state::fold(&log)?;
        let plan = self.committed_plan(&feature);
        Some(Loaded { log, feature, plan })
    }

    /// The plan as committed at the tip of the integration branch (or, if that branch is gone,
    /// in the commit that created the feature), with its blob id.
    pub fn committed_plan(&self, f: &Feature) -> Result<(Plan, ObjectId)> {
        let tip = match self.repo.branch_tip(&f.branch)? {
            Some(tip) => Some(tip),
            None => self.remote_copy(&f.branch)?.map(|(_, id)| id),
        };
        self.committed_plan_at(f, tip)
    }

    /// The tip of `f`'s integration branch here, or why there is none: a remote has it (the
    /// command that brings it), or it is gone everywhere (the command that restores it).
    pub fn integration_tip(&self, f: &Feature) -> Result<ObjectId> {
        if let Some(tip) = self.repo.branch_tip(&f.branch)? {
            return Ok(tip);
        }
        let err = Error::blocked(format!("integration branch {} is not here", f.branch));
        Err(match self.remote_copy(&f.branch)? {
            Some((copy, _)) => err.hint(format!("{copy} has it: `git orchestrate sync` creates it here")),
            None => err.hint(format!("it is gone on every remote too; restore it: {}", restore_command(f))),
        })
    }

    /// A remote-tracking copy of `branch` (`origin/<branch>` and the like), for a branch missing
    /// here: the remote of `[sync] remote` first, then the others by name.
    pub fn remote_copy(&self, branch: &str) -> Result<Option<(String, ObjectId)>> {
        let mut remotes: Vec<String> =
            self.repo.remote_branches()?.into_iter().filter(|(_, b)| b == branch).map(|(r, _)| r).collect();
        remotes.sort_by(|a, b| self.remote_rank(a).cmp(&self.remote_rank(b)));
        for remote in remotes {
            if let Some(id) = self.repo.ref_id(&format!("refs/remotes/{remote}/{branch}"))? {
                return Ok(Some((format!("{remote}/{branch}"), id)));
            }
        }
        Ok(None)
    }

    /// Which remote's copy of a branch is read first: `[sync] remote`, then the others by name.
    fn remote_rank<'a>(&self, remote: &'a str) -> (bool, &'a str) {
        (remote != self.config.sync.remote, remote)
    }

    /// Local branch tips, with the remote-tracking copy of each branch missing here (see
    /// [`Self::remote_copy`]), and which were taken from where: `branch → origin/branch`.
    fn branch_tips(&self) -> Result<(HashMap<String, ObjectId>, HashMap<String, String>)> {
        let mut tips = self.repo.branches_under("")?;
        let mut copies = HashMap::new();
        let mut remote: Vec<((String, String), ObjectId)> = self.repo.remote_branch_tips()?.into_iter().collect();
        remote.sort_by(|((ra, ba), _), ((rb, bb), _)| (ba, self.remote_rank(ra)).cmp(&(bb, self.remote_rank(rb))));
        for ((r, b), id) in remote {
            if let std::collections::hash_map::Entry::Vacant(slot) = tips.entry(b.clone()) {
                copies.insert(b.clone(), format!("{r}/{b}"));
                slot.insert(id);
            }
        }
        Ok((tips, copies))
    }

    /// [`Self::committed_plan`] with the branch tip already looked up.
    fn committed_plan_at(&self, f: &Feature, tip: Option<ObjectId>) -> Result<(Plan, ObjectId)> {
        let tip = match tip {
            Some(tip) => tip,
            None => self
                .repo
                .resolve_commit(&state_commit(f))?
                .ok_or_else(|| Error::blocked(format!("branch {} is gone and the plan cannot be found", f.branch)))?,
        };
        let blob = self.repo.blob_at(tip, &f.plan)?.ok_or_else(|| {
            Error::blocked(format!("{} is missing on {}", f.plan, f.branch))
                .hint(format!("restore it: git checkout {} -- {}", f.branch, f.plan))
        })?;
        let bytes = self.repo.read_blob(blob)?;
        let plan = plan::parse(&f.plan, &bytes, Some(&f.name), &self.config.gate_names())?;
        // A lane's plan needs no approval of its own because it is one phase: never more.
        if let Some(lane) = &f.lane {
            if plan.phases.len() != 1 {
                return Err(Error::blocked(format!(
                    "{}: a {lane} lane has exactly one phase, and the committed plan has {}",
                    f.plan,
                    plan.phases.len()
                ))
                .hint("put the plan back to one phase; larger work is a feature of its own, with an approved plan"));
            }
        }
        Ok((plan, blob))
    }

    /// Every feature that has a log, folded and joined with its plan and branches.
    ///
    /// Features are independent, so a large repository's are read on every core, each thread
    /// with its own handle on the repository.
    pub fn overview(&self) -> Result<Vec<FeatureView>> {
        const PER_THREAD: usize = 32;
        let (branches, copies) = self.branch_tips()?;
        let entries = self.repo.note_entries(EVENTS_REF)?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let threads = cores.min(entries.len().div_ceil(PER_THREAD)).max(1);
        let mut out = if threads == 1 {
            self.views(&entries, &branches, &copies)?
        } else {
            let chunk = entries.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let handles: Vec<_> = entries
                    .chunks(chunk)
                    .map(|part| {
                        let repo = self.repo.clone();
                        let (config, branches, copies) = (self.config, &branches, &copies);
                        scope.spawn(move || Workflow::new(&repo, config).views(part, branches, copies))
                    })
                    .collect();
                let mut all = Vec::new();
                for handle in handles {
                    all.extend(handle.join().expect("a status thread does not panic")?);
                }
                Ok::<_, Error>(all)
            })?
        };
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn views(
        &self,
        entries: &[(ObjectId, ObjectId)],
        branches: &HashMap<String, ObjectId>,
        copies: &HashMap<String, String>,
    ) -> Result<Vec<FeatureView>> {
        let mut out = Vec::with_capacity(entries.len());
        let evidence = self.repo.notes_tree(crate::gates::EVIDENCE_REF)?;
        for (key, blob) in entries {
            let place = format!("{EVENTS_REF} note on object {key}");
            let parsed = state::parse_log_lenient(&place, &self.repo.read_blob(*blob)?);
            if let Some(first) = parsed.bad.first() {
                // Reported for this feature alone; the others still show.
                let place = self.place(*key);
                let first = state::Error { place, line: first.line, reason: first.reason.clone() };
                let name = state::fold(&parsed.events).map(|f| f.name);
                out.push(corrupt_view(name.unwrap_or_else(|| key.to_string()), &first, parsed.bad.len()));
                continue;
            }
            let log = parsed.events;
            let Some(feature) = state::fold(&log) else { continue };
            let plan = self.committed_plan_with(&feature, branches);
            out.push(self.view(
                &feature,
                &log,
                plan.as_ref().map_err(|e| e.message.clone()),
                branches,
                copies,
                evidence.as_ref(),
            )?);
        }
        Ok(out)
    }

    fn committed_plan_with(&self, f: &Feature, branches: &HashMap<String, ObjectId>) -> Result<(Plan, ObjectId)> {
        match branches.get(&f.branch) {
            Some(tip) => self.committed_plan_at(f, Some(*tip)),
            None => self
                .committed_plan_at(f, None)
                .map_err(|e| Error::blocked(format!("{} (branch {} is missing)", e.message, f.branch))),
        }
    }

    /// The view of one loaded feature.
    pub fn view_of(&self, loaded: &Loaded) -> Result<FeatureView> {
        let (branches, copies) = self.branch_tips()?;
        let evidence = self.repo.notes_tree(crate::gates::EVIDENCE_REF)?;
        let plan = loaded.plan.as_ref().map_err(|e| e.message.clone());
        self.view(&loaded.feature, &loaded.log, plan, &branches, &copies, evidence.as_ref())
    }

    fn view(
        &self,
        f: &Feature,
        log: &[Event],
        plan: std::result::Result<&(Plan, ObjectId), String>,
        branches: &HashMap<String, ObjectId>,
        copies: &HashMap<String, String>,
        evidence: Option<&NotesTree>,
    ) -> Result<FeatureView> {
        // Verdicts are read under the configuration that judges the feature, and its policy:
        // both read once.
        let commit = judging_commit(self.repo, Some(f))?;
        let judging = config_at(self.repo, commit)?;
        let policy = approval_policy_at(self.repo, f, commit, &judging.0, judging.1)?;
        let signing = signing_of(&policy);
        let judging = Some(judging);
        let (plan, plan_blob, problem) = match plan {
            Ok((p, blob)) => (Some(p), Some(*blob), None),
            Err(e) => (None, None, Some(e)),
        };
        let approved = f.plan_approved_as(plan_blob);
        let void = f.plan_approval.is_some() && !approved && plan_blob.is_some();

        let mut phases = Vec::new();
        let untuned = std::cell::RefCell::new(HashMap::new());
        let ids: Vec<u32> = match plan {
            Some(p) => p.phases.iter().map(|p| p.id).collect(),
            None => f.phases.keys().copied().collect(),
        };
        for id in ids {
            let def = plan.and_then(|p| p.phase(id));
            let rec = f.phases.get(&id);
            let tip = rec.and_then(|r| branches.get(&r.branch).copied());
            let state = phase_state(rec, rec.and_then(|r| r.fork), tip);
            let branch = match (rec, def) {
                (Some(r), _) => r.branch.clone(),
                (None, Some(d)) => self.config.branches.phase(&f.name, id, &d.slug()),
                (None, None) => String::new(),
            };
            let mut figures = BTreeMap::new();
            phases.push(PhaseView {
                id,
                title: def.map(|d| d.title.clone()).unwrap_or_default(),
                owner: def.map(|d| d.owner.clone()).unwrap_or_default(),
                state,
                branch,
                fork: rec.map(|r| r.fork.map(|f| f.to_string()).unwrap_or_default()),
                depends_on: def.map(|d| d.depends_on.clone()).unwrap_or_default(),
                approved_by: rec.and_then(|r| r.approval.as_ref().map(|a| a.by.clone())),
                overrides: rec.and_then(|r| r.approval.as_ref().map(|a| a.overrides.clone())).unwrap_or_default(),
                accepted: rec.and_then(|r| r.approval.as_ref().map(|a| a.accepted.clone())).unwrap_or_default(),
                commit: rec.and_then(|r| r.approval.as_ref().map(|a| a.what.to_string())),
                gates: self.gate_states(
                    f,
                    id,
                    def,
                    branches,
                    evidence,
                    judging.as_ref(),
                    signing.as_ref(),
                    &untuned,
                    &mut figures,
                )?,
                figures,
                submitted: rec.and_then(|r| r.submitted.map(|s| s.to_string())),
                changes_requested: rec
                    .and_then(|r| r.changes_requested.as_ref())
                    .filter(|_| state == PhaseState::Active)
                    .map(|c| c.note.clone().unwrap_or_else(|| "(no reason given)".into())),
                has_work: tip.is_some_and(|t| Some(t) != rec.and_then(|r| r.fork)),
            });
        }

        let mut read_from_remote = BTreeMap::new();
        for branch in std::iter::once(&f.branch).chain(f.phases.values().map(|p| &p.branch)) {
            if let Some(copy) = copies.get(branch) {
                read_from_remote.insert(branch.clone(), copy.clone());
            }
        }
        // The integration branch holds the plan and every approved phase: when it is gone
        // everywhere, the last commit the tool made on it brings it back.
        let restore = (f.finished.is_none() && !branches.contains_key(&f.branch)).then(|| restore_command(f));
        let state = if f.finished.is_some() {
            FeatureState::Finished
        } else if !approved {
            FeatureState::AwaitingPlanApproval
        } else if !phases.is_empty() && phases.iter().all(|p| p.state == PhaseState::Approved) {
            FeatureState::AwaitingFinish
        } else {
            FeatureState::InProgress
        };
        let flag = format!(" --feature {}", f.name);
        let (waiting_for, next) = match state {
            FeatureState::AwaitingPlanApproval if problem.is_some() => {
                ("a valid plan (author)".to_string(), Some(format!("git orchestrate plan lint{flag}")))
            }
            FeatureState::AwaitingPlanApproval => {
                let why = if void { "re-approval of the changed plan (human)" } else { "plan approval (human)" };
                (why.to_string(), Some(format!("git orchestrate approve plan{flag}")))
            }
            FeatureState::AwaitingFinish if f.finish_approval.is_some() => {
                ("the merge into the base".to_string(), Some(format!("git orchestrate finish{flag}")))
            }
            FeatureState::AwaitingFinish => (
                "finish: final gates, complete.md, approval (human)".to_string(),
                Some(format!("git orchestrate finish{flag}")),
            ),
            FeatureState::Finished => ("nothing: merged".to_string(), None),
            FeatureState::InProgress => next_step(&phases, &flag),
            FeatureState::Corrupt => {
                ("a repair of the event log (human)".to_string(), Some("git orchestrate doctor --repair".to_string()))
            }
        };
        Ok(FeatureView {
            name: f.name.clone(),
            title: plan.map_or_else(|| f.title.clone(), |p| p.title.clone()),
            state,
            base: f.base.clone(),
            branch: f.branch.clone(),
            plan: f.plan.clone(),
            plan_approval_void: void,
            plan_approved_by: f.plan_approval.as_ref().filter(|_| approved).map(|a| a.by.clone()).or_else(|| {
                f.lane
                    .as_ref()
                    .filter(|_| approved)
                    .map(|l| format!("no one: a {l} lane's phase review is its pause point"))
            }),
            waiting_for,
            next,
            phases,
            events: f.events,
            created_at: f.created_at.clone(),
            problem,
            merged_as: f.finished.as_ref().map(|d| d.what.to_string()),
            read_from_remote,
            restore,
            divergent: f.divergent.clone(),
            approvals: log
                .iter()
                .filter(|e| matches!(e.what, What::PlanApproved(_) | What::PhaseApproved(_)))
                .cloned()
                .collect(),
            policy: Some(policy),
        })
    }
}

impl Workflow<'_> {
    /// Each configured gate's verdict on the phase as it is now, read from the evidence notes:
    /// `pass`/`fail` for the tree at the phase's tip (an approved phase: its squash commit) with
    /// the current configuration, `skipped` when that run was skipped, `stale` when the gate
    /// judged only earlier commits of the phase or another configuration, `none` when it never
    /// judged the phase, `off` when the configuration switches it off (`enabled = false`).
    #[allow(clippy::too_many_arguments)]
    fn gate_states(
        &self,
        f: &Feature,
        phase: u32,
        def: Option<&crate::plan::Phase>,
        branches: &HashMap<String, ObjectId>,
        evidence: Option<&NotesTree>,
        judging: Option<&(Config, Option<ObjectId>)>,
        signing: Option<&crate::gates::signing::Signing>,
        untuned: &std::cell::RefCell<HashMap<String, Option<crate::gates::Spec>>>,
        figures: &mut BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, &'static str>> {
        const HISTORY: usize = 100;
        let mut out = BTreeMap::new();
        let Some((config, config_blob)) = judging else { return Ok(out) };
        for name in config.disabled_gates() {
            out.insert(name, "off");
        }
        let rec = f.phases.get(&phase);
        let tip = match rec {
            Some(r) => match &r.approval {
                Some(a) => Some(a.what),
                None => branches.get(&r.branch).copied(),
            },
            None => None,
        };
        let fork = rec.and_then(|r| r.fork);
        // Under `signed`, a record that does not verify is not shown as evidence at all.
        let records = |tree: ObjectId| match evidence {
            Some(notes) => {
                let all = crate::gates::evidence_in(notes, tree).unwrap_or_default();
                match signing {
                    Some(s) => s.admitted(all).unwrap_or_default(),
                    None => all,
                }
            }
            None => Vec::new(),
        };
        // An approved phase was judged on the tree its reviewer approved (the squash may add
        // the phase report beside it).
        let reviewed = rec.and_then(|r| r.approval.as_ref()).and_then(|a| a.tree);
        let tip_tree = reviewed.or_else(|| tip.and_then(|t| self.repo.commit_tree(t).ok()));
        let at_tip = tip_tree.map(records).unwrap_or_default();
        // Evidence on the phase's earlier commits (first parents back to the fork), read only
        // when a gate has none at the tip.
        let earlier_cell = std::cell::OnceCell::new();
        let earlier = || -> &Vec<crate::gates::Evidence> {
            earlier_cell.get_or_init(|| {
                let mut all = Vec::new();
                let mut next = tip.filter(|_| rec.is_some_and(|r| r.approval.is_none()));
                for _ in 0..HISTORY {
                    let Some(commit) = next.filter(|c| Some(*c) != fork) else { break };
                    let parents = self.repo.commit_parents(commit).unwrap_or_default();
                    next = parents.first().copied();
                    if Some(commit) != tip {
                        all.extend(self.repo.commit_tree(commit).map(records).unwrap_or_default());
                    }
                }
                all
            })
        };
        let base = fork.and_then(|c| self.repo.commit_tree(c).ok());
        let key = crate::gates::Key {
            config_blob: *config_blob,
            phase: Some(phase),
            base,
            scope: def.map(|d| d.paths.as_slice()),
        };
        let in_effect = config.gates_in_effect();
        // A gate the phase does not tune resolves the same for every phase: once per feature.
        let resolve = |name: &str| {
            let gate = in_effect.iter().find(|(n, _)| n == name).map(|(_, g)| g)?;
            let overrides = def.and_then(|d| d.gates.get(name)).and_then(toml::Value::as_table);
            let spec = match overrides {
                Some(_) => crate::gates::Spec::resolve(name, gate, overrides).ok(),
                None => untuned
                    .borrow_mut()
                    .entry(name.to_string())
                    .or_insert_with(|| crate::gates::Spec::resolve(name, gate, None).ok())
                    .clone(),
            };
            spec.map(|s| s.bound(&key))
        };
        for (name, gate) in in_effect.iter().filter(|(n, _)| config.lane_allows(f.lane.as_deref(), n)) {
            let source = gate.from.as_deref().map(|from| resolve(from).map(|s| s.fingerprint));
            let (Some(mut spec), false) = (resolve(name), matches!(source, Some(None))) else {
                out.insert(name.clone(), "none");
                continue;
            };
            if let Some(Some(fingerprint)) = source {
                spec.bind_source(&fingerprint);
            }
            let run = f.gate_runs.get(&(phase, name.clone()));
            let run_tree = run.map(|r| r.tree);
            let skipped = run.is_some_and(|r| r.verdict == state::RunVerdict::Skipped)
                && tip_tree.is_some()
                && run_tree == tip_tree;
            let found = crate::gates::cached(&at_tip, &spec, None)?;
            if let Some(e) = found {
                figures.insert(name.clone(), e.summary.clone());
            }
            let state = match found {
                Some(e) if e.verdict == crate::gates::Verdict::Pass => "pass",
                Some(_) => "fail",
                None if skipped => "skipped",
                None if at_tip.iter().any(|e| e.gate == *name) || earlier().iter().any(|e| e.gate == *name) => "stale",
                None => "none",
            };
            out.insert(name.clone(), state);
        }
        Ok(out)
    }
}

fn place_for(feature: &str, key: ObjectId) -> String {
    format!("{EVENTS_REF} note for feature `{feature}`, object {key}")
}

/// What `status` shows of a feature whose log has bad lines: the first of them, and the repair.
fn corrupt_view(name: String, first: &state::Error, bad: usize) -> FeatureView {
    let more = if bad > 1 {
        format!(" (and {} more bad line{})", bad - 1, if bad == 2 { "" } else { "s" })
    } else {
        String::new()
    };
    FeatureView {
        name,
        state: FeatureState::Corrupt,
        waiting_for: "a repair of the event log (human)".into(),
        next: Some("git orchestrate doctor --repair".into()),
        problem: Some(format!("{first}{more}")),
        ..FeatureView::default()
    }
}

/// The command that brings a deleted integration branch back: at the last commit the tool made
/// on it (the newest phase squash, else the plan commit).
fn restore_command(f: &Feature) -> String {
    let last = f
        .phases
        .values()
        .filter_map(|p| p.approval.as_ref().map(|a| (a.at.as_str(), a.what)))
        .max()
        .map_or(f.created_commit, |(_, c)| c);
    format!("git branch {} {}", f.branch, last.to_hex_with_len(12))
}

fn state_commit(f: &Feature) -> String {
    f.created_commit.to_string()
}

impl FeatureView {
    /// The phase that may start next: the first planned one whose dependencies are all approved.
    pub fn startable(&self) -> Option<&PhaseView> {
        startable(&self.phases)
    }

    /// The phase meant when a command names none: **the one rule** (`approve phase`, `review`,
    /// `request-changes`, `phase brief`, `phase submit`). The phase whose branch is checked out
    /// (`branch`: during a rebase, the branch being rebased), when it was started; else, for a
    /// review, the one phase awaiting review; for work, the first active or awaiting review,
    /// else the first planned.
    pub fn phase_meant(&self, branch: Option<&str>, purpose: Purpose) -> Result<u32> {
        if let Some(p) = self.phases.iter().find(|p| Some(p.branch.as_str()) == branch) {
            if p.fork.is_some() {
                return Ok(p.id);
            }
            // The branch of a phase this clone never saw start (fetched without the notes):
            // work on it is that phase's, never another's.
            if purpose == Purpose::Work {
                return Err(Error::blocked(format!(
                    "branch {} is phase {}'s, and the log here records no start of it",
                    p.branch, p.id
                ))
                .hint(format!(
                    "`git orchestrate sync` brings the log from the remote, or `git orchestrate phase start {}` starts it",
                    p.id
                )));
            }
        }
        let waiting: Vec<u32> =
            self.phases.iter().filter(|p| p.state == PhaseState::AwaitingReview).map(|p| p.id).collect();
        let status = "`git orchestrate status` shows where things stand";
        match purpose {
            Purpose::Review(command) => match waiting.as_slice() {
                [one] => Ok(*one),
                [] => Err(Error::blocked(format!("no phase of {} awaits review", self.name))
                    .hint(format!("commit the phase's work on its branch and submit it, or name one: git orchestrate {command} <N>; {status}"))),
                many => {
                    let list = many.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
                    Err(Error::usage(format!("phases {list} await review: say which"))
                        .hint(format!("git orchestrate {command} {}", many[0])))
                }
            },
            Purpose::Work => self
                .phases
                .iter()
                .find(|p| matches!(p.state, PhaseState::Active | PhaseState::AwaitingReview))
                .or_else(|| self.phases.iter().find(|p| p.state == PhaseState::Planned))
                .map(|p| p.id)
                .ok_or_else(|| {
                    Error::usage(format!("every phase of {} is approved: there is no phase to work on", self.name))
                        .hint(format!("name a phase, or finish the feature; {status}"))
                }),
        }
    }

    /// The phases phase `id` depends on that are not approved yet (none: it may start).
    pub fn unapproved_dependencies(&self, id: u32) -> Vec<u32> {
        let deps = self.phases.iter().find(|p| p.id == id).map(|p| p.depends_on.as_slice()).unwrap_or_default();
        deps.iter().copied().filter(|d| !approved(&self.phases, *d)).collect()
    }
}

fn approved(phases: &[PhaseView], id: u32) -> bool {
    phases.iter().any(|p| p.id == id && p.state == PhaseState::Approved)
}

/// Which phase may start next: the one rule, for `status` and for `phase start`.
fn startable(phases: &[PhaseView]) -> Option<&PhaseView> {
    phases.iter().find(|p| p.state == PhaseState::Planned && p.depends_on.iter().all(|d| approved(phases, *d)))
}

fn next_step(phases: &[PhaseView], flag: &str) -> (String, Option<String>) {
    if let Some(p) = phases.iter().find(|p| p.state == PhaseState::AwaitingReview) {
        return (format!("review of phase {} (human)", p.id), Some(format!("git orchestrate review {}{flag}", p.id)));
    }
    if let Some(p) = phases.iter().find(|p| p.state == PhaseState::Active) {
        let work = if p.changes_requested.is_some() { "revision" } else { "work" };
        let next = if p.has_work {
            format!("git orchestrate phase submit {}{flag}", p.id)
        } else {
            format!("git orchestrate phase brief {}{flag}", p.id)
        };
        return (format!("phase {} {work} (@{})", p.id, p.owner), Some(next));
    }
    if let Some(p) = startable(phases) {
        return (
            format!("start of phase {} (@{})", p.id, p.owner),
            Some(format!("git orchestrate phase start {}{flag}", p.id)),
        );
    }
    ("nothing startable".to_string(), None)
}

/// What a command wants the phase it did not name for (see [`FeatureView::phase_meant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// To review, approve or send back: the phase awaiting review. Names the command for hints.
    Review(&'static str),
    /// To brief or submit: the phase being worked on, else the next one.
    Work,
}

/// What approvals of a feature must come from, and the allowed signers that verify them.
#[derive(Debug, Clone)]
pub struct ApprovalPolicy {
    pub require: crate::config::Require,
    /// Where the allowed-signers file is, and its content in the judging tree (if committed).
    pub allowed_signers: (String, Option<Vec<u8>>),
}

/// The approval policy of `feature`: the stricter of the configuration committed where the
/// feature started and the one that judges it now (an approval recorded by hand cannot lower
/// it by naming a commit of its own). The allowed signers come from the judging tree.
pub fn approval_policy(repo: &Repo, feature: &Feature) -> Result<ApprovalPolicy> {
    let judging = judging_commit(repo, Some(feature))?;
    let (now, blob) = config_at(repo, judging)?;
    approval_policy_at(repo, feature, judging, &now, blob)
}

/// [`approval_policy`] with the judging commit and its configuration already read.
fn approval_policy_at(
    repo: &Repo,
    feature: &Feature,
    judging: Option<ObjectId>,
    now: &Config,
    now_blob: Option<ObjectId>,
) -> Result<ApprovalPolicy> {
    use crate::config::Require;
    let rank = |r: Require| match r {
        Require::Any => 0,
        Require::Tty => 1,
        Require::Signed => 2,
    };
    let created = Some(feature.created_commit).filter(|c| repo.commit_tree(*c).is_ok());
    // The configuration at the start is most often the one judging now: parsed once, then.
    let start_blob = match created {
        Some(c) => repo.blob_at(c, crate::config::FILE)?,
        None => None,
    };
    let at_start =
        if start_blob == now_blob { now.approvals.require } else { config_at(repo, created)?.0.approvals.require };
    let require = std::cmp::max_by_key(at_start, now.approvals.require, |r| rank(*r));
    let path = now.approvals.allowed_signers().to_string();
    let mut content = None;
    for commit in [judging, created].into_iter().flatten() {
        if let Some(blob) = repo.tree_blob(repo.commit_tree(commit)?, &path)? {
            content = Some(blob);
            break;
        }
    }
    Ok(ApprovalPolicy { require, allowed_signers: (path, content) })
}

/// The evidence policy a policy sets: signed records only, under `signed`.
fn signing_of(policy: &ApprovalPolicy) -> Option<crate::gates::signing::Signing> {
    let (path, content) = &policy.allowed_signers;
    (policy.require == crate::config::Require::Signed)
        .then(|| crate::gates::signing::Signing::new(path.clone(), content.clone()))
}

/// The evidence policy of a feature (see [`approval_policy`]), or outside any feature, of the
/// configuration at HEAD: under `signed`, only records that verify count.
pub fn evidence_signing(repo: &Repo, feature: Option<&Feature>) -> Result<Option<crate::gates::signing::Signing>> {
    if let Some(f) = feature {
        return Ok(signing_of(&approval_policy(repo, f)?));
    }
    let judging = judging_commit(repo, None)?;
    signing_under(repo, &config_at(repo, judging)?.0, judging)
}

/// The evidence policy of `config`, read at `judging` (outside any feature): the allowed
/// signers are read only when the policy is `signed`.
pub fn signing_under(
    repo: &Repo,
    config: &Config,
    judging: Option<ObjectId>,
) -> Result<Option<crate::gates::signing::Signing>> {
    if config.approvals.require != crate::config::Require::Signed {
        return Ok(None);
    }
    let path = config.approvals.allowed_signers().to_string();
    let content = match judging {
        Some(c) => repo.tree_blob(repo.commit_tree(c)?, &path)?,
        None => None,
    };
    Ok(Some(crate::gates::signing::Signing::new(path, content)))
}

/// The configuration committed in `commit` (the defaults when it has none), and its blob.
pub fn config_at(repo: &Repo, commit: Option<ObjectId>) -> Result<(Config, Option<ObjectId>)> {
    let Some(commit) = commit else { return Ok((Config::default(), None)) };
    let Some(blob) = repo.blob_at(commit, crate::config::FILE)? else { return Ok((Config::default(), None)) };
    let bytes = repo.read_blob(blob)?;
    let config = Config::parse(crate::config::FILE, &String::from_utf8_lossy(&bytes)).map_err(|e| {
        crate::error::Error::from(e)
            .hint(format!("this is the configuration committed in {}", commit.to_hex_with_len(10)))
    })?;
    Ok((config, Some(blob)))
}

/// The commit whose configuration judges: on a feature, the newest commit the tool itself made on
/// its integration branch (the last approved phase's squash, else the plan commit), so neither
/// a hand-made commit on that branch nor anything in a phase can change it; elsewhere HEAD.
pub fn judging_commit(repo: &Repo, feature: Option<&Feature>) -> Result<Option<ObjectId>> {
    let Some(f) = feature else { return Ok(repo.resolve_commit("HEAD")?) };
    Ok(repo.newest_descendant(f.tool_commits())?)
}

/// The configuration that judges a snapshot: the one committed at [`judging_commit`], never
/// the work tree's, so an unstaged edit weakens nothing and a phase that edits the
/// configuration is not judged by its own edit. Returns its blob id too.
pub fn judging_config(repo: &Repo, feature: Option<&Feature>) -> Result<(Config, Option<ObjectId>)> {
    config_at(repo, judging_commit(repo, feature)?)
}

/// The phase-state rule: approved once an approval is recorded; awaiting review once its branch
/// has moved past its fork point; active while it has not; planned before it starts.
pub fn phase_state(rec: Option<&state::PhaseRecord>, fork: Option<ObjectId>, tip: Option<ObjectId>) -> PhaseState {
    let submitted = |r: &state::PhaseRecord| tip.is_some_and(|t| Some(t) != fork && r.submitted == Some(t));
    match rec {
        None => PhaseState::Planned,
        Some(r) if r.approval.is_some() => PhaseState::Approved,
        // Commits alone do not ask for review: the owner submits the tip, and a later commit
        // takes the phase back to work.
        Some(r) if submitted(r) => PhaseState::AwaitingReview,
        Some(_) => PhaseState::Active,
    }
}

/// Refuse text a person wrote (a note, a title) that carries a secret: it would travel to every
/// clone in the notes, and into commit messages and reports.
pub fn refuse_secret(text: &str) -> Result<()> {
    let Some(scanner) = crate::secrets::builtin() else { return Ok(()) };
    let mut found = Vec::new();
    scanner.scan("(note)", 1, text, &mut found);
    if let Some(f) = found.iter().find(|f| !f.warning) {
        return Err(Error::blocked(format!("refusing to record a {} ({}) in git notes", f.description, f.redacted))
            .hint("remove the secret from the note (-m) or from the plan, and run the command again"));
    }
    Ok(())
}

/// The configuration in the work tree (for `init` and `hooks install`, which set up what the
/// next commit of it will use).
pub fn load_config(root: &std::path::Path) -> Result<Config> {
    let path: std::path::PathBuf = root.join(crate::config::FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Config::parse(crate::config::FILE, &text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
        Err(e) => Err(Error::usage(format!("cannot read {}: {e}", crate::config::FILE))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{fold, ChangesRequested, Created, Event, PhaseStarted, PhaseSubmitted, What};

    fn id(n: u8) -> ObjectId {
        ObjectId::from_hex(format!("{n:02x}").repeat(20).as_bytes()).unwrap()
    }

    /// A log: created, plan approved, phase 1 started (forked at `id(1)`), then `more`.
    fn log(more: Vec<What>) -> Vec<Event> {
        let mut log = Vec::new();
        let mut whats = vec![
            What::Created(Created {
                feature: "f".into(),
                title: "T".into(),
                base: "main".into(),
                branch: "orchestrate/f/main".into(),
                plan: "plans/f/plan.md".into(),
                commit: id(9),
                lane: None,
            }),
            What::PlanApproved(PlanApproved { plan_blob: id(8), note: None, agent: None, via: None, sig: None }),
            What::PhaseStarted(PhaseStarted { phase: 1, branch: "orchestrate/f/1-a".into(), fork: id(1) }),
        ];
        whats.extend(more);
        for what in whats {
            let e = Event::new(&log, "A <a@x>", what);
            log.push(e);
        }
        log
    }

    #[test]
    fn the_phase_meant_is_the_checked_out_one_else_what_the_command_needs() {
        let phase = |id: u32, state: PhaseState, started: bool| PhaseView {
            id,
            state,
            branch: format!("orchestrate/f/{id}"),
            fork: started.then(|| "f".repeat(40)),
            ..PhaseView::default()
        };
        let view = |phases| FeatureView { name: "f".into(), phases, ..FeatureView::default() };
        let review = Purpose::Review("review");
        let f = view(vec![
            phase(1, PhaseState::Approved, true),
            phase(2, PhaseState::AwaitingReview, true),
            phase(3, PhaseState::Planned, false),
        ]);
        // Off every phase branch: the one awaiting review, for reviews and for work alike.
        assert_eq!(f.phase_meant(Some("main"), review).unwrap(), 2);
        assert_eq!(f.phase_meant(None, Purpose::Work).unwrap(), 2);
        // On a phase's branch: that phase, whatever waits elsewhere.
        assert_eq!(f.phase_meant(Some("orchestrate/f/1"), review).unwrap(), 1);
        // A branch named like a phase that never started is no phase's to review; work on it
        // is refused, never taken for another phase's.
        assert_eq!(f.phase_meant(Some("orchestrate/f/3"), review).unwrap(), 2);
        let err = f.phase_meant(Some("orchestrate/f/3"), Purpose::Work).unwrap_err();
        assert!(err.message.contains("phase 3's, and the log here records no start"), "{}", err.message);
        // Nothing awaits review: a review names the command; work takes the next planned.
        let f = view(vec![phase(1, PhaseState::Approved, true), phase(2, PhaseState::Planned, false)]);
        let err = f.phase_meant(None, Purpose::Review("approve phase")).unwrap_err();
        assert!(err.message.contains("no phase of f awaits review"), "{}", err.message);
        assert!(err.hints[0].contains("git orchestrate approve phase <N>"), "{:?}", err.hints);
        assert_eq!(f.phase_meant(None, Purpose::Work).unwrap(), 2);
        // Two await review (clones apart): a review must be told which.
        let f = view(vec![phase(1, PhaseState::AwaitingReview, true), phase(2, PhaseState::AwaitingReview, true)]);
        assert!(f.phase_meant(None, review).unwrap_err().message.contains("phases 1, 2 await review"));
        let f = view(vec![phase(1, PhaseState::Approved, true)]);
        assert!(f.phase_meant(None, Purpose::Work).unwrap_err().message.contains("every phase of f is approved"));
    }

    #[test]
    fn a_phase_is_planned_then_active_then_awaiting_review_then_approved() {
        let f = fold(&log(Vec::new())).unwrap();
        assert_eq!(phase_state(f.phases.get(&2), None, None), PhaseState::Planned);
        let rec = f.phases.get(&1);
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(1))), PhaseState::Active, "no commit past the fork");
        assert_eq!(phase_state(rec, Some(id(1)), None), PhaseState::Active, "branch gone: not under review");
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(2))), PhaseState::Active, "commits alone ask no review");
        let submitted = fold(&log(vec![What::PhaseSubmitted(PhaseSubmitted { phase: 1, commit: id(2) })])).unwrap();
        let rec = submitted.phases.get(&1);
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(2))), PhaseState::AwaitingReview);
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(3))), PhaseState::Active, "a later commit: back to work");
        let sent_back = fold(&log(vec![
            What::PhaseSubmitted(PhaseSubmitted { phase: 1, commit: id(2) }),
            What::ChangesRequested(ChangesRequested { phase: 1, commit: id(2), note: Some("more tests".into()) }),
        ]))
        .unwrap();
        let rec = sent_back.phases.get(&1);
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(2))), PhaseState::Active);
        assert_eq!(rec.unwrap().changes_requested.as_ref().unwrap().note.as_deref(), Some("more tests"));
        let approved = log(vec![What::PhaseApproved(PhaseApproved {
            phase: 1,
            commit: id(3),
            tree: id(4),
            note: None,
            agent: None,
            overrides: vec!["tests: flaky".into()],
            accepted: Vec::new(),
            via: None,
            sig: None,
        })]);
        let f = fold(&approved).unwrap();
        let rec = f.phases.get(&1);
        assert_eq!(phase_state(rec, Some(id(1)), Some(id(2))), PhaseState::Approved);
        assert_eq!(rec.unwrap().approval.as_ref().unwrap().overrides, ["tests: flaky"]);
    }

    #[test]
    fn the_plan_approval_counts_only_for_the_approved_blob() {
        let f = fold(&log(Vec::new())).unwrap();
        assert!(f.plan_approved_as(Some(id(8))));
        assert!(!f.plan_approved_as(Some(id(7))), "an edited plan voids it");
        assert!(!f.plan_approved_as(None));
    }

    #[test]
    fn a_restarted_phase_keeps_its_approval_and_takes_the_new_fork() {
        let f = fold(&log(vec![What::PhaseStarted(PhaseStarted {
            phase: 1,
            branch: "orchestrate/f/1-a".into(),
            fork: id(5),
        })]))
        .unwrap();
        assert_eq!(f.phases[&1].fork, Some(id(5)));
        assert_eq!(f.tool_commits(), [id(9)]);
    }
}
