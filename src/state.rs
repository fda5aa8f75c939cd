//! The event log and what it folds into. Each feature's log is a git note of JSON lines, one
//! event a line, so logs written in two clones merge by union. Nothing "current" is stored:
//! state is always derived by folding the log. This module knows events, not git.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::git::ObjectId;

#[derive(Debug, thiserror::Error)]
#[error("{place}: line {line} of the event log is not a valid event: {reason}")]
pub struct Error {
    pub place: String,
    pub line: usize,
    pub reason: String,
}

impl Error {
    pub fn hint(&self) -> String {
        format!(
            "the note was edited by hand or damaged; inspect it with `git notes --ref=orchestrate show {}`, then run `git orchestrate doctor --repair` to drop the bad lines (line {}), keeping every valid record",
            self.place.rsplit(' ').next().unwrap_or_default(),
            self.line
        )
    }
}

/// The largest `seq` a log may hold. Past 2^53 JSON readers lose exactness, and no log grows
/// that long: a larger clock was written by hand, and would make the next one wrap.
pub const MAX_SEQ: u64 = 1 << 53;

/// The largest phase id an event may name.
pub const MAX_PHASE: u32 = 9999;

/// The lanes a feature can take besides the full plan: one phase, no separate plan approval.
pub const LANES: &[&str] = &["bugfix", "hotfix"];

/// One record of the log. `seq` is a Lamport clock (one more than the highest seen when it was
/// written), so merged logs keep causal order even when clocks disagree; `id` breaks ties.
///
/// On disk an event is one flat JSON object: `{"seq":…,"ts":…,"id":…,"by":…,"event":"…",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct Event {
    pub seq: u64,
    pub ts: String,
    pub id: String,
    pub by: String,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Created {
        feature: String,
        title: String,
        base: String,
        branch: String,
        plan: String,
        commit: ObjectId,
        /// `bugfix` or `hotfix`: one phase, whose review is the only pause point before finish.
        lane: Option<String>,
    },
    PlanApproved {
        plan_blob: ObjectId,
        note: Option<String>,
        /// The agent environment the approval was given from, when the user opted in.
        agent: Option<String>,
        given: Given,
    },
    PhaseStarted {
        phase: u32,
        branch: String,
        fork: ObjectId,
    },
    PhaseApproved {
        phase: u32,
        commit: ObjectId,
        tree: ObjectId,
        note: Option<String>,
        agent: Option<String>,
        /// Gates a person let through without passing evidence: `<gate>: <reason>`.
        overrides: Vec<String>,
        /// Audit findings a person accepted by name: `audit:<id>: <reason>`.
        accepted: Vec<String>,
        given: Given,
    },
    /// A gate skipped on a phase's snapshot (`ORCHESTRATE_SKIP`). Verdicts live only in
    /// `refs/notes/orchestrate-evidence`; logs written before that also hold `pass`/`fail` here.
    GateRun {
        phase: u32,
        gate: String,
        tree: ObjectId,
        fingerprint: String,
        verdict: String,
    },
    /// The owner says the phase is ready for review, at `commit` (its branch tip then).
    PhaseSubmitted {
        phase: u32,
        commit: ObjectId,
    },
    /// A reviewer sent the phase back to its owner (`NEEDS_REVISION`), with the reason.
    ChangesRequested {
        phase: u32,
        commit: ObjectId,
        note: Option<String>,
    },
    /// The finish pause point: a person approved merging the integration tip `commit`.
    FinishApproved {
        commit: ObjectId,
        note: Option<String>,
        agent: Option<String>,
    },
    /// The feature reached its base: `commit` is the merge (or the base tip that holds it).
    Finished {
        commit: ObjectId,
        strategy: String,
    },
    /// An event written by a newer version: kept in the log with its name, ignored by the fold.
    Unknown {
        name: String,
    },
}

/// How an approval was given: from what (`terminal`, `--yes` without one), and its signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Given {
    /// `terminal`, or `--yes without a terminal`; absent in logs written before it was recorded.
    pub via: Option<String>,
    /// An SSH signature (armored) over the event's line without it ([`Event::signed_payload`]).
    pub sig: Option<String>,
}

/// The flat shape of an event on disk. Parsing this directly (rather than a flattened, tagged
/// enum, which serde buffers field by field) keeps `status` on a 10 000-event log fast.
#[derive(Default, Serialize, Deserialize)]
struct Wire {
    seq: u64,
    ts: String,
    id: String,
    by: String,
    event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feature: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plan_blob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phase: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fork: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tree: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    verdict: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    overrides: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lane: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    accepted: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    via: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
}

impl From<Event> for Wire {
    fn from(e: Event) -> Self {
        let mut w = Wire { seq: e.seq, ts: e.ts, id: e.id, by: e.by, event: e.what.name().into(), ..Wire::default() };
        match e.what {
            What::Created { feature, title, base, branch, plan, commit, lane } => {
                w.lane = lane;
                (w.feature, w.title, w.base, w.branch, w.plan, w.commit) =
                    (Some(feature), Some(title), Some(base), Some(branch), Some(plan), Some(commit.to_string()));
            }
            What::PlanApproved { plan_blob, note, agent, given } => {
                (w.plan_blob, w.note, w.agent, w.via, w.sig) =
                    (Some(plan_blob.to_string()), note, agent, given.via, given.sig);
            }
            What::PhaseStarted { phase, branch, fork } => {
                (w.phase, w.branch, w.fork) = (Some(phase), Some(branch), Some(fork.to_string()));
            }
            What::PhaseApproved { phase, commit, tree, note, agent, overrides, accepted, given } => {
                (w.phase, w.commit, w.tree, w.note, w.agent, w.overrides, w.accepted) =
                    (Some(phase), Some(commit.to_string()), Some(tree.to_string()), note, agent, overrides, accepted);
                (w.via, w.sig) = (given.via, given.sig);
            }
            What::GateRun { phase, gate, tree, fingerprint, verdict } => {
                (w.phase, w.gate, w.tree, w.fingerprint, w.verdict) =
                    (Some(phase), Some(gate), Some(tree.to_string()), Some(fingerprint), Some(verdict));
            }
            What::PhaseSubmitted { phase, commit } => (w.phase, w.commit) = (Some(phase), Some(commit.to_string())),
            What::ChangesRequested { phase, commit, note } => {
                (w.phase, w.commit, w.note) = (Some(phase), Some(commit.to_string()), note);
            }
            What::FinishApproved { commit, note, agent } => {
                (w.commit, w.note, w.agent) = (Some(commit.to_string()), note, agent);
            }
            What::Finished { commit, strategy } => (w.commit, w.strategy) = (Some(commit.to_string()), Some(strategy)),
            What::Unknown { name } => w.event = name,
        }
        w
    }
}

impl TryFrom<Wire> for Event {
    type Error = String;

    fn try_from(w: Wire) -> Result<Self, String> {
        fn need<T>(value: Option<T>, event: &str, field: &str) -> Result<T, String> {
            value.ok_or_else(|| format!("a `{event}` event needs `{field}`"))
        }
        // Object ids are parsed here, once: the fold and every reader get `ObjectId`s.
        fn id(value: Option<String>, event: &str, field: &str) -> Result<ObjectId, String> {
            let hex = need(value, event, field)?;
            object_id(field, &hex)?;
            ObjectId::from_hex(hex.as_bytes()).map_err(|e| format!("`{field}`: {e}"))
        }
        let e = w.event.as_str();
        let what = match e {
            "created" => What::Created {
                feature: need(w.feature, e, "feature")?,
                title: need(w.title, e, "title")?,
                base: need(w.base, e, "base")?,
                branch: need(w.branch, e, "branch")?,
                plan: need(w.plan, e, "plan")?,
                commit: id(w.commit, e, "commit")?,
                lane: w.lane,
            },
            "plan-approved" => What::PlanApproved {
                plan_blob: id(w.plan_blob, e, "plan_blob")?,
                note: w.note,
                agent: w.agent,
                given: Given { via: w.via, sig: w.sig },
            },
            "phase-started" => What::PhaseStarted {
                phase: need(w.phase, e, "phase")?,
                branch: need(w.branch, e, "branch")?,
                fork: id(w.fork, e, "fork")?,
            },
            "phase-approved" => What::PhaseApproved {
                phase: need(w.phase, e, "phase")?,
                commit: id(w.commit, e, "commit")?,
                tree: id(w.tree, e, "tree")?,
                note: w.note,
                agent: w.agent,
                overrides: w.overrides,
                accepted: w.accepted,
                given: Given { via: w.via, sig: w.sig },
            },
            "gate-run" => What::GateRun {
                phase: need(w.phase, e, "phase")?,
                gate: need(w.gate, e, "gate")?,
                tree: id(w.tree, e, "tree")?,
                fingerprint: need(w.fingerprint, e, "fingerprint")?,
                verdict: need(w.verdict, e, "verdict")?,
            },
            "phase-submitted" => {
                What::PhaseSubmitted { phase: need(w.phase, e, "phase")?, commit: id(w.commit, e, "commit")? }
            }
            "changes-requested" => What::ChangesRequested {
                phase: need(w.phase, e, "phase")?,
                commit: id(w.commit, e, "commit")?,
                note: w.note,
            },
            "finish-approved" => {
                What::FinishApproved { commit: id(w.commit, e, "commit")?, note: w.note, agent: w.agent }
            }
            "finished" => {
                What::Finished { commit: id(w.commit, e, "commit")?, strategy: need(w.strategy, e, "strategy")? }
            }
            _ => What::Unknown { name: w.event },
        };
        let event = Event { seq: w.seq, ts: w.ts, id: w.id, by: w.by, what };
        event.check()?;
        Ok(event)
    }
}

/// Whether `value` is a full object id as the tool writes them: 40 lowercase hex digits.
fn object_id(field: &str, value: &str) -> Result<(), String> {
    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(format!("`{field}` is not an object id (40 lowercase hex digits): {value:?}"))
    }
}

fn branch(field: &str, value: &str) -> Result<(), String> {
    crate::git::Repo::validate_branch_name(value)
        .map_err(|_| format!("`{field}` is not a valid branch name: {value:?}"))
}

fn phase_id(phase: u32) -> Result<(), String> {
    if (1..=MAX_PHASE).contains(&phase) {
        Ok(())
    } else {
        Err(format!("`phase` {phase} is out of range (1 to {MAX_PHASE})"))
    }
}

/// A name printed and matched on (a gate): no control characters.
fn plain(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(char::is_control) {
        Err(format!("`{field}` is empty or holds control characters: {value:?}"))
    } else {
        Ok(())
    }
}

impl Event {
    /// Refuse values the tool never writes: they come from a hand edit or a hostile clone, and
    /// the fold, the hooks and the terminal must never act on them.
    pub fn check(&self) -> Result<(), String> {
        if self.seq > MAX_SEQ {
            return Err(format!("`seq` {} is out of range (at most 2^53)", self.seq));
        }
        match &self.what {
            What::Created { feature, title: _, base, branch: b, plan, lane, .. } => {
                if lane.as_deref().is_some_and(|l| !LANES.contains(&l)) {
                    return Err(format!("`lane` is not a lane ({}): {lane:?}", LANES.join(", ")));
                }
                if !crate::plan::valid_slug(feature) {
                    return Err(format!("`feature` is not a valid feature name ([a-z0-9][a-z0-9-]*): {feature:?}"));
                }
                branch("base", base)?;
                branch("branch", b)?;
                let relative =
                    std::path::Path::new(plan).components().all(|c| matches!(c, std::path::Component::Normal(_)));
                if plan.is_empty() || !relative || plan.chars().any(char::is_control) {
                    return Err(format!("`plan` is not a path inside the repository: {plan:?}"));
                }
                Ok(())
            }
            What::PlanApproved { .. } | What::FinishApproved { .. } => Ok(()),
            What::PhaseStarted { phase, branch: b, .. } => {
                phase_id(*phase)?;
                branch("branch", b)
            }
            What::PhaseApproved { phase, .. }
            | What::PhaseSubmitted { phase, .. }
            | What::ChangesRequested { phase, .. } => phase_id(*phase),
            What::GateRun { phase, gate, fingerprint, verdict, .. } => {
                phase_id(*phase)?;
                plain("gate", gate)?;
                if fingerprint.chars().any(char::is_control) {
                    return Err(format!("`fingerprint` holds control characters: {fingerprint:?}"));
                }
                plain("verdict", verdict)
            }
            What::Finished { strategy, .. } => plain("strategy", strategy),
            What::Unknown { name } => plain("event", name),
        }
    }
}

impl What {
    /// Text a person wrote into the event (a title, an approval note), if any.
    pub fn free_text(&self) -> Option<&str> {
        match self {
            What::Created { title, .. } => Some(title),
            What::PlanApproved { note, .. }
            | What::PhaseApproved { note, .. }
            | What::ChangesRequested { note, .. }
            | What::FinishApproved { note, .. } => note.as_deref(),
            _ => None,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            What::Created { .. } => "created",
            What::PlanApproved { .. } => "plan-approved",
            What::PhaseStarted { .. } => "phase-started",
            What::PhaseApproved { .. } => "phase-approved",
            What::GateRun { .. } => "gate-run",
            What::PhaseSubmitted { .. } => "phase-submitted",
            What::ChangesRequested { .. } => "changes-requested",
            What::FinishApproved { .. } => "finish-approved",
            What::Finished { .. } => "finished",
            What::Unknown { name } => name,
        }
    }
}

/// A unique id: time, process and a counter, mixed with per-process randomness. Under a test
/// clock, derived from the event itself, so a snapshot is the same on every run.
fn new_id(seq: u64, by: &str, what: &What) -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if crate::env::test_now().is_some() {
        let text = format!("{seq}\n{by}\n{what:?}\n{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        return crate::git::blob_id(text.as_bytes()).to_hex_with_len(24).to_string();
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(jiff::Timestamp::now().as_nanosecond().unsigned_abs());
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut id = String::new();
    let _ = write!(id, "{:016x}{:08x}", h.finish(), std::process::id());
    id
}

impl Event {
    /// A new event that follows everything in `log`.
    pub fn new(log: &[Event], by: &str, what: What) -> Self {
        // Logs are checked when read (`seq` at most MAX_SEQ), so this never saturates there.
        let seq = log.iter().map(|e| e.seq).max().unwrap_or(0).saturating_add(1);
        let now = crate::env::now();
        let ts = now.round(jiff::Unit::Microsecond).unwrap_or(now);
        let id = new_id(seq, by, &what);
        Self { seq, ts: ts.to_string(), id, by: by.into(), what }
    }

    /// What an approval's signature covers: the event's line without its signature.
    pub fn signed_payload(&self) -> String {
        let mut unsigned = self.clone();
        if let What::PlanApproved { given, .. } | What::PhaseApproved { given, .. } = &mut unsigned.what {
            given.sig = None;
        }
        unsigned.to_line()
    }

    /// The line stored in the note.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("events always serialize");
        line.push('\n');
        line
    }
}

/// Parse a note's lines into events in log order. `place` names the note in errors. Any line
/// that is not a valid event fails the whole log: what acts on a feature fails closed.
pub fn parse_log(place: &str, text: &[u8]) -> Result<Vec<Event>, Error> {
    let parsed = parse_log_lenient(place, text);
    match parsed.bad.into_iter().next() {
        Some(err) => Err(err),
        None => Ok(parsed.events),
    }
}

/// A note read line by line: the valid events in log order, and an error for each bad line.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub bad: Vec<Error>,
}

/// One line of a note (without its newline), parsed. `Ok(None)`: a blank line.
fn parse_line(place: &str, number: usize, line: &[u8]) -> Result<Option<Event>, Error> {
    let error = |reason: String| Error { place: place.into(), line: number, reason };
    let line = std::str::from_utf8(line).map_err(|e| error(e.to_string()))?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line).map(Some).map_err(|e| error(e.to_string()))
}

/// Parse a note's lines, keeping every valid event and reporting each bad line, for reports
/// that must go on (`status`, `doctor`) and for the repair.
pub fn parse_log_lenient(place: &str, text: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        match parse_line(place, i + 1, line.strip_suffix(b"\r").unwrap_or(line)) {
            Ok(None) => {}
            // A union merge can leave the same record twice; it happened once.
            Ok(Some(event)) => {
                if seen.insert(event.id.clone()) {
                    parsed.events.push(event);
                }
            }
            Err(e) => parsed.bad.push(e),
        }
    }
    parsed.events.sort_by(|a, b| (a.seq, &a.ts, &a.id).cmp(&(b.seq, &b.ts, &b.id)));
    parsed
}

/// A note's text without its bad lines (each valid line kept byte for byte), and what was
/// dropped. `None` when there is nothing to drop.
pub fn without_bad_lines(place: &str, text: &[u8]) -> Option<(Vec<u8>, Vec<Error>)> {
    let mut kept = Vec::with_capacity(text.len());
    let mut dropped = Vec::new();
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        match parse_line(place, i + 1, line.strip_suffix(b"\r").unwrap_or(line)) {
            Ok(Some(_)) => {
                kept.extend_from_slice(line);
                kept.push(b'\n');
            }
            Ok(None) => {}
            Err(e) => dropped.push(e),
        }
    }
    (!dropped.is_empty()).then_some((kept, dropped))
}

/// A feature as its log tells it.
#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub title: String,
    pub base: String,
    pub branch: String,
    pub plan: String,
    /// The commit that added the plan: where the plan is read when the branch is gone.
    pub created_commit: ObjectId,
    pub created_by: String,
    pub created_at: String,
    pub plan_approval: Option<Approval>,
    pub phases: BTreeMap<u32, PhaseRecord>,
    /// The last recorded run (a skip) of each gate on each phase: (phase, gate) → run.
    pub gate_runs: BTreeMap<(u32, String), GateRunRecord>,
    /// `bugfix` or `hotfix`: one phase, no separate plan approval (the phase review is the pause
    /// point).
    pub lane: Option<String>,
    /// The finish approval: `what` is the integration tip it approved.
    pub finish_approval: Option<Approval>,
    /// The feature reached its base: the merge commit, who recorded it, when.
    pub finished: Option<Approval>,
    pub events: usize,
    /// Decisions two clones took apart that contradict each other, and how the fold settled
    /// each (see [`fold`]).
    pub divergent: Vec<String>,
}

impl Feature {
    /// Whether the plan's approval covers `plan_blob`, the plan as committed now. A lane's plan
    /// (one phase) needs no approval of its own: its phase review is the pause point.
    pub fn plan_approved_as(&self, plan_blob: Option<crate::git::ObjectId>) -> bool {
        if self.lane.is_some() && plan_blob.is_some() {
            return true;
        }
        self.plan_approval.as_ref().is_some_and(|a| Some(a.what) == plan_blob)
    }

    /// The commits the tool made itself: the plan commit, each phase's squash, and what finish
    /// approved (the integration tip with `complete.md`).
    pub fn tool_commits(&self) -> Vec<ObjectId> {
        std::iter::once(self.created_commit)
            .chain(self.phases.values().filter_map(|p| p.approval.as_ref().map(|a| a.what)))
            .chain(self.finish_approval.as_ref().map(|a| a.what))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct GateRunRecord {
    pub tree: ObjectId,
    pub fingerprint: String,
    pub verdict: String,
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub by: String,
    pub at: String,
    /// What was approved: the plan blob, or the phase's squash commit.
    pub what: ObjectId,
    /// The agent environment it was given from (the user opted in), if any.
    pub agent: Option<String>,
    /// Gates let through by a person's named decision: `<gate>: <reason>`.
    pub overrides: Vec<String>,
    /// For a phase: the tree the reviewer approved (its evidence is recorded there).
    pub tree: Option<ObjectId>,
    /// Audit findings a person accepted by name: `audit:<id>: <reason>`.
    pub accepted: Vec<String>,
    /// From what it was given (`terminal`, `--yes without a terminal`), when recorded.
    pub via: Option<String>,
    /// The signed payload and its signature, when the approval was signed.
    pub signature: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct PhaseRecord {
    pub branch: String,
    /// The commit the phase branched from (`None`: the log records no start of the phase).
    pub fork: Option<ObjectId>,
    pub started_by: String,
    pub started_at: String,
    pub approval: Option<Approval>,
    /// The branch tip the owner submitted for review, until changes are requested.
    pub submitted: Option<ObjectId>,
    /// The last request for changes: by, when, the commit it reviewed, and the reason.
    pub changes_requested: Option<ChangesRequested>,
}

#[derive(Debug, Clone)]
pub struct ChangesRequested {
    pub by: String,
    pub at: String,
    pub commit: ObjectId,
    pub note: Option<String>,
}

/// Fold a feature's log into its state. Returns `None` when the log has no `created` event.
///
/// Logs written in several clones merge by union, so two clones can take contradicting
/// decisions on one subject. The fold settles them the same way everywhere, and records each
/// in [`Feature::divergent`]:
/// - a phase approved twice (two squash commits): the later record in log order stands;
/// - a phase sent back after it was approved: the approval stands, the request is set aside
///   (the tool refuses to send back an approved phase, so the request was made without seeing it);
/// - an approval and a request for changes written concurrently (the same Lamport `seq`: neither
///   saw the other): the later in log order stands, as always, and it is named;
/// - two approvals of different plan texts written concurrently: the later in log order stands.
pub fn fold(events: &[Event]) -> Option<Feature> {
    let mut feature: Option<Feature> = None;
    // The seq of the plan approval in force, and of each phase's last request for changes.
    let mut plan_seq = 0;
    let mut request_seq: BTreeMap<u32, u64> = BTreeMap::new();
    for e in events {
        if let What::Created { feature: name, title, base, branch, plan, commit, lane } = &e.what {
            feature = Some(Feature {
                name: name.clone(),
                title: title.clone(),
                base: base.clone(),
                branch: branch.clone(),
                plan: plan.clone(),
                created_commit: *commit,
                created_by: e.by.clone(),
                created_at: e.ts.clone(),
                lane: lane.clone(),
                plan_approval: None,
                phases: BTreeMap::new(),
                gate_runs: BTreeMap::new(),
                finish_approval: None,
                finished: None,
                events: 0,
                divergent: Vec::new(),
            });
        }
        let Some(f) = feature.as_mut() else { continue };
        f.events += 1;
        match &e.what {
            What::PlanApproved { plan_blob, agent, given, .. } => {
                if let Some(old) = f.plan_approval.as_ref().filter(|a| a.what != *plan_blob && plan_seq == e.seq) {
                    f.divergent.push(format!(
                        "the plan was approved as two different texts at once: {} by {} and {} by {}; the second stands",
                        short(old.what),
                        old.by,
                        short(*plan_blob),
                        e.by
                    ));
                }
                plan_seq = e.seq;
                f.plan_approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *plan_blob,
                    agent: agent.clone(),
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: given.via.clone(),
                    signature: given.sig.clone().map(|sig| (e.signed_payload(), sig)),
                });
            }
            What::PhaseStarted { phase, branch, fork } => {
                let p = f.phases.entry(*phase).or_default();
                *p = PhaseRecord {
                    branch: branch.clone(),
                    fork: Some(*fork),
                    started_by: e.by.clone(),
                    started_at: e.ts.clone(),
                    approval: p.approval.clone(),
                    submitted: None,
                    changes_requested: p.changes_requested.clone(),
                };
            }
            What::PhaseApproved { phase, commit, tree, agent, overrides, accepted, given, .. } => {
                let p = f.phases.entry(*phase).or_default();
                if let Some(old) = p.approval.as_ref().filter(|a| a.what != *commit) {
                    f.divergent.push(format!(
                        "phase {phase} was approved twice: as {} by {} and as {} by {}; the second stands",
                        short(old.what),
                        old.by,
                        short(*commit),
                        e.by
                    ));
                } else if let Some(req) =
                    p.changes_requested.as_ref().filter(|_| request_seq.get(phase) == Some(&e.seq))
                {
                    f.divergent.push(format!(
                        "phase {phase} was sent back by {} and approved by {} at once; the approval stands",
                        req.by, e.by
                    ));
                }
                f.phases.entry(*phase).or_default().approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: agent.clone(),
                    overrides: overrides.clone(),
                    accepted: accepted.clone(),
                    via: given.via.clone(),
                    signature: given.sig.clone().map(|sig| (e.signed_payload(), sig)),
                    tree: Some(*tree),
                });
            }
            What::PhaseSubmitted { phase, commit } => {
                f.phases.entry(*phase).or_default().submitted = Some(*commit);
            }
            What::ChangesRequested { phase, commit, note } => {
                let p = f.phases.entry(*phase).or_default();
                if let Some(a) = &p.approval {
                    f.divergent.push(format!(
                        "phase {phase} was approved by {} and sent back by {} in another clone; the approval stands",
                        a.by, e.by
                    ));
                    continue;
                }
                request_seq.insert(*phase, e.seq);
                p.submitted = None;
                p.changes_requested =
                    Some(ChangesRequested { by: e.by.clone(), at: e.ts.clone(), commit: *commit, note: note.clone() });
            }
            What::FinishApproved { commit, agent, .. } => {
                f.finish_approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: agent.clone(),
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: None,
                    signature: None,
                });
            }
            What::Finished { commit, .. } => {
                f.finished = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: None,
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: None,
                    signature: None,
                });
            }
            What::GateRun { phase, gate, tree, fingerprint, verdict } => {
                f.gate_runs.insert(
                    (*phase, gate.clone()),
                    GateRunRecord { tree: *tree, fingerprint: fingerprint.clone(), verdict: verdict.clone() },
                );
            }
            What::Created { .. } | What::Unknown { .. } => {}
        }
    }
    feature
}

/// An object id shortened for a message.
fn short(id: ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(digit: &str) -> ObjectId {
        ObjectId::from_hex(digit.repeat(40).as_bytes()).unwrap()
    }

    fn created() -> What {
        What::Created {
            feature: "f".into(),
            title: "T".into(),
            base: "main".into(),
            branch: "orchestrate/f/main".into(),
            plan: "plans/f/plan.md".into(),
            commit: hex("0"),
            lane: None,
        }
    }

    #[test]
    fn union_merged_logs_fold_in_causal_order() {
        let a = Event::new(&[], "A <a@x>", created());
        let b = Event::new(
            std::slice::from_ref(&a),
            "B <b@x>",
            What::PlanApproved { plan_blob: hex("1"), note: None, agent: None, given: Given::default() },
        );
        // A union merge (cat_sort_uniq) sorts lines and may duplicate them.
        let mut lines = [b.to_line(), a.to_line(), b.to_line()];
        lines.sort();
        let log = parse_log("test", lines.concat().as_bytes()).unwrap();
        assert_eq!(log, vec![a, b]);
        let f = fold(&log).unwrap();
        assert_eq!(f.plan_approval.unwrap().by, "B <b@x>");
        assert_eq!(f.events, 2);
    }

    #[test]
    fn decisions_taken_apart_settle_the_same_way_in_any_order_and_are_named() {
        let a = Event::new(&[], "A <a@x>", created());
        let started = Event::new(
            std::slice::from_ref(&a),
            "A <a@x>",
            What::PhaseStarted { phase: 1, branch: "b1".into(), fork: hex("0") },
        );
        let base = vec![a, started];
        // Both written on the same log, neither seeing the other.
        let approved = Event::new(
            &base,
            "A <a@x>",
            What::PhaseApproved {
                phase: 1,
                commit: hex("1"),
                tree: hex("2"),
                note: None,
                agent: None,
                overrides: Vec::new(),
                accepted: Vec::new(),
                given: Given::default(),
            },
        );
        let sent_back = Event::new(
            &base,
            "B <b@x>",
            What::ChangesRequested { phase: 1, commit: hex("3"), note: Some("more".into()) },
        );
        assert_eq!(approved.seq, sent_back.seq);
        let one = [base.clone(), vec![approved.clone(), sent_back.clone()]].concat();
        let other = [base.clone(), vec![sent_back, approved]].concat();
        let (x, y) = (
            fold(&parse_log("x", one.iter().map(Event::to_line).collect::<String>().as_bytes()).unwrap()).unwrap(),
            fold(&parse_log("y", other.iter().map(Event::to_line).collect::<String>().as_bytes()).unwrap()).unwrap(),
        );
        for f in [&x, &y] {
            assert!(f.phases[&1].approval.is_some(), "the approval stands");
            assert_eq!(f.divergent.len(), 1, "{:?}", f.divergent);
        }
        assert_eq!(x.divergent, y.divergent, "the same settlement whatever order the union wrote");
        // One clone's plain sequence is no divergence.
        assert!(fold(&base).unwrap().divergent.is_empty());
    }

    #[test]
    fn unknown_events_are_kept_but_ignored() {
        let line = r#"{"seq":1,"ts":"2026-01-01T00:00:00Z","id":"x","by":"A","event":"from-the-future","extra":1}"#;
        let log = parse_log("test", line.as_bytes()).unwrap();
        assert_eq!(log[0].what, What::Unknown { name: "from-the-future".into() });
        assert!(fold(&log).is_none());
    }

    #[test]
    fn values_the_tool_never_writes_are_refused() {
        let line = |fields: &str| format!(r#"{{"seq":1,"ts":"t","id":"x","by":"A",{fields}}}"#);
        let fork = hex("0");
        for (fields, why) in [
            (format!(r#""event":"phase-started","phase":1,"branch":"a\nb","fork":"{fork}""#), "branch"),
            (format!(r#""event":"phase-started","phase":0,"branch":"a","fork":"{fork}""#), "phase"),
            (r#""event":"phase-started","phase":1,"branch":"a","fork":"HEAD""#.to_string(), "fork"),
            (r#""event":"plan-approved","plan_blob":"ABC""#.to_string(), "plan_blob"),
            (
                format!(
                    r#""event":"created","feature":"Bad Name","title":"t","base":"main","branch":"b","plan":"p","commit":"{fork}""#
                ),
                "feature",
            ),
            (
                format!(
                    r#""event":"created","feature":"f","title":"t","base":"main","branch":"b","plan":"../x","commit":"{fork}""#
                ),
                "plan",
            ),
        ] {
            let err = parse_log("note", line(&fields).as_bytes()).unwrap_err();
            assert!(err.reason.contains(why), "{fields}: {err}");
        }
        let huge = r#"{"seq":18446744073709551615,"ts":"t","id":"x","by":"A","event":"plan-approved","plan_blob":"0000000000000000000000000000000000000000"}"#;
        assert!(parse_log("note", huge.as_bytes()).unwrap_err().reason.contains("seq"));
    }

    #[test]
    fn a_bad_line_is_dropped_and_every_valid_line_kept_as_written() {
        let a = Event::new(&[], "A", created()).to_line();
        let b = Event::new(
            &[],
            "B",
            What::PlanApproved { plan_blob: hex("1"), note: None, agent: None, given: Given::default() },
        )
        .to_line();
        let text = format!("{a}\n{{broken\n{b}");
        let (kept, dropped) = without_bad_lines("note", text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(kept).unwrap(), format!("{a}{b}"));
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].line, 3);
        let parsed = parse_log_lenient("note", text.as_bytes());
        assert_eq!((parsed.events.len(), parsed.bad.len()), (2, 1));
        assert!(without_bad_lines("note", format!("{a}{b}").as_bytes()).is_none());
    }

    #[test]
    fn corrupt_line_names_its_place() {
        let good = Event::new(&[], "A", created()).to_line();
        let err = parse_log("feature f", format!("{good}not json\n").as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("feature f: line 2"));
    }
}
